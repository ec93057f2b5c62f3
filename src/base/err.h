/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h - the one fedflow error enum and the error-detail out-parameter.
 *
 * Every fallible function returns int: FF_OK (0) or a negative enum ff_err.
 * System failures map to -errno (FF_EIO == -EIO ...). Project failures live
 * below -1000 and each carries the FATE-Flow API code that the HTTP layer
 * puts in the envelope, so an error keeps its meaning from the store up to
 * the client without a translation table in every handler.
 *
 * Details for humans travel in struct ff_error: a fixed 256-byte message
 * filled by the callee. Messages are lowercase, have no trailing period,
 * state the error first and quote the subject: "cannot open 'jobs.db'".
 * Every err argument may be NULL.
 */
#ifndef FF_ERR_H
#define FF_ERR_H

#include <errno.h>

/* X(name, value, fate_api_code, default message) */
#define FF_ERR_MAP(X)                                                        \
	X(OK, 0, 0, "success")                                                   \
	X(EPERM, -EPERM, 5005, "operation not permitted")                        \
	X(ENOENT, -ENOENT, 8001, "no such file or directory")                    \
	X(EIO, -EIO, 6000, "input/output error")                                 \
	X(ENOMEM, -ENOMEM, 6000, "out of memory")                                \
	X(EACCES, -EACCES, 5005, "permission denied")                            \
	X(EEXIST, -EEXIST, 8002, "already exists")                               \
	X(EINVAL, -EINVAL, 5001, "invalid argument")                             \
	X(ENOSPC, -ENOSPC, 6000, "no space left on device")                      \
	X(ERANGE, -ERANGE, 5001, "value out of range")                           \
	X(EAGAIN, -EAGAIN, 6000, "resource temporarily unavailable")             \
	X(ETIMEDOUT, -ETIMEDOUT, 104, "timed out")                               \
	X(ECONNREFUSED, -ECONNREFUSED, 104, "connection refused")                \
	X(E2BIG, -E2BIG, 5001, "too large")                                      \
	X(ECHILD, -ECHILD, 2006, "no child process")                             \
	X(ESRCH, -ESRCH, 2003, "no such process")                                \
	X(EPROTO, -1000, 6000, "protocol error")                                 \
	X(EPARAM, -1001, 5001, "invalid request parameter")                      \
	X(EDAG, -1002, 1000, "job params error")                                 \
	X(ENOJOB, -1003, 1001, "no found job")                                   \
	X(EJOBCREATE, -1004, 1002, "create job failed")                          \
	X(EJOBUPDATE, -1005, 1003, "update job does not take effect")           \
	X(EJOBKILL, -1006, 1004, "kill job failed")                              \
	X(ERESOURCE, -1007, 1005, "job resource exception")                      \
	X(ERESLIMIT, -1008, 1006, "resource limit exceeded")                     \
	X(EINHERIT, -1009, 1007, "inheritance failed")                           \
	X(ENOTASK, -1010, 2000, "no found task")                                 \
	X(ETASKSTART, -1011, 2001, "start task failed")                          \
	X(ETASKUPDATE, -1012, 2002, "update task does not take effect")         \
	X(ETASKKILL, -1013, 2003, "kill task failed")                            \
	X(ETASKRES, -1014, 2004, "task resource exception")                      \
	X(ENOMODEL, -1015, 2005, "no found model output")                        \
	X(ETASKRUN, -1016, 2006, "task run failed")                              \
	X(ECOMPONENT, -1017, 2007, "component run failed")                       \
	X(ENORESULT, -1018, 2008, "no found run result")                         \
	X(ESTANDALONE, -1019, 3000, "site is standalone")                        \
	X(EPROVIDER, -1020, 4000, "provider params error")                       \
	X(EDEVICE, -1021, 4001, "provider device not supported")                 \
	X(EEXPIRED, -1022, 5000, "request expired")                              \
	X(ENOAPPID, -1023, 5002, "no found appid")                               \
	X(EVERIFY, -1024, 5003, "verify failed")                                 \
	X(EAUTH, -1025, 5004, "authentication failed")                           \
	X(ENOFILE, -1026, 5007, "no found file")                                 \
	X(EWORKER, -1027, 5008, "component output exception")                    \
	X(EROLE, -1028, 5009, "role type error")                                 \
	X(ESERVER, -1029, 6000, "server exception")                              \
	X(ENOSERVER, -1030, 6003, "no found server")                             \
	X(ENOTABLE, -1031, 7001, "no found table")                               \
	X(ETABLEEXISTS, -1032, 7002, "table exists")                             \
	X(ENOTFOUND, -1033, 8001, "no found file or dir")                        \
	X(EFEDERATED, -1034, 104, "federated schedule error")                    \
	X(ECONFLICT, -1035, 6000, "concurrent update conflict")                  \
	X(ETOOBIG, -1036, 5001, "request body too large")                        \
	X(ENOROUTE, -1037, 6000, "no such route")                                \
	X(EDATA, -1038, 5001, "bad data")                                        \
	X(ECANCELED, -1039, 6000, "canceled")

enum ff_err {
#define FF_ERR_ENUM(name, value, code, msg) FF_##name = (value),
	FF_ERR_MAP(FF_ERR_ENUM)
#undef FF_ERR_ENUM
};

/* Fixed-size error detail; see the file comment for the message rules. */
#define FF_ERROR_MSG_MAX 256
struct ff_error {
	int code;                    /* the enum ff_err, FF_OK when unset */
	char msg[FF_ERROR_MSG_MAX];  /* NUL-terminated, may be empty */
};
#define FF_ERROR_INIT { .code = 0, .msg = "" }

/* Short default message of an error code ("no found job"). Never NULL. */
const char *ff_strerror(int code);
/* Symbolic name ("FF_ENOJOB"); "FF_E?" for unknown codes. */
const char *ff_errname(int code);
/* FATE-Flow API code carried in the HTTP envelope (1001 for FF_ENOJOB). */
int ff_api_code(int code);
/* Maps a positive or negative errno to its ff_err (unknown -> FF_EIO). */
int ff_from_errno(int e);

/*
 * Records code and a formatted message in err (if non-NULL) and returns
 * code, so callers can write `return ff_error_set(err, FF_EDAG, ...)`.
 * An existing message is overwritten. Newlines are replaced by spaces.
 */
int ff_error_set(struct ff_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "prefix: ", keeping the code. */
void ff_error_prefix(struct ff_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Message of err, or the code's default when err has none. */
const char *ff_error_msg(const struct ff_error *err, int code);
void ff_error_clear(struct ff_error *err);

#endif
