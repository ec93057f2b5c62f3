/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - shared helpers of the API pages and the route table.
 *
 * Every answer is FATE-Flow's envelope {code, message, data, job_id} with
 * keys left out when they have no value. Arguments: GET reads the query
 * string; POST reads the JSON body whatever the Content-Type, and falls
 * back to the query string (FATE clients are not consistent about it).
 * One file per page (api_job.c, api_provider.c, ...); each exports its
 * routes through api_<page>_routes().
 */
#ifndef FF_API_H
#define FF_API_H

#include <jansson.h>
#include "http.h"
#include "jw.h"
#include "store.h"

struct site;

/* All routes of fedflowd, for http_server_start. */
const struct http_route *api_routes(size_t *n);

/* The site of the request (core-thread routes only for mutable parts). */
struct site *api_site(struct http_req *r);

/*
 * Argument as text (query or JSON body; numbers and booleans turned into
 * text). NULL when absent or null. The pointer lives as long as the request.
 */
const char *api_arg(struct http_req *r, const char *key);
/* Argument as an integer; dflt when absent; FF_EPARAM when not a number. */
int api_arg_int(struct http_req *r, const char *key, long long dflt, long long *out);
/* Argument as a bool (true/false/1/0/True/False). */
int api_arg_bool(struct http_req *r, const char *key, bool dflt, bool *out);
/* JSON member of the body (borrowed) or NULL. */
json_t *api_body_get(struct http_req *r, const char *key);

/*
 * Checks that every listed argument is present (NULL-terminated list).
 * On a missing one answers 5001 naming it and returns false.
 */
bool api_require(struct http_req *r, const char *const *keys);
/* Answers 5001 when a POST body was sent but is not JSON; true if it did. */
bool api_reject_bad_json(struct http_req *r);

/* {"code": <api code of ret>, "message": msg} and finishes the request. */
void api_fail(struct http_req *r, int ret, const char *msg);
void api_fail_err(struct http_req *r, int ret, const struct ff_error *err);
/* {"code": code, "message": msg} with an explicit FATE code. */
void api_fail_code(struct http_req *r, int code, const char *msg);

/*
 * Success with data written by the caller into the response:
 *   struct jw w; api_ok_begin(r, &w); ...write exactly one value...;
 *   api_ok_end(r, &w, job_id);
 * job_id may be NULL. message is "success". A writer error becomes 6000.
 */
void api_ok_begin(struct http_req *r, struct jw *w);
void api_ok_end(struct http_req *r, struct jw *w, const char *job_id);
/* Success with a jansson value as data (borrowed; NULL -> no data key). */
void api_ok_json(struct http_req *r, const json_t *data, const char *job_id);
/* Success with a message and no data. */
void api_ok_msg(struct http_req *r, const char *message);
/* Sends a whole envelope given as jansson (borrowed) and finishes. */
void api_reply_json(struct http_req *r, const json_t *envelope);


#endif

/* ---- building filtered SELECTs from request arguments ---- */

#define API_Q_MAX_ARGS 32
struct api_q {
	struct ff_buf sql;
	struct store_val args[API_Q_MAX_ARGS];
	size_t nargs;
	bool where;
	int err;
};

void api_q_init(struct api_q *q, const char *select);
void api_q_release(struct api_q *q);
/* AND col = value (skipped when value is NULL or empty) */
void api_q_eq(struct api_q *q, const char *col, const char *value);
void api_q_eq_int(struct api_q *q, const char *col, long long value);
/* AND col LIKE %value% (skipped when NULL/empty) */
void api_q_like(struct api_q *q, const char *col, const char *value);
/* AND col IN (values...) (skipped when n == 0) */
void api_q_in(struct api_q *q, const char *col, const char *const *values, size_t n);
/* Appends raw SQL (ORDER BY ..., LIMIT ...). */
void api_q_raw(struct api_q *q, const char *sql);
void api_q_limit(struct api_q *q, long long limit, long long offset);
