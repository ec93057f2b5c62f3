/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - fedflow's one logging macro.
 *
 *   ff_log(FF_LOG_INFO, "job started job_id=%s cores=%d", id, cores);
 *
 * The level is checked before the arguments are evaluated. Each record is
 * one line ("<utc time> <LEVEL> <message>"), written with a single write()
 * so records from several threads never interleave; embedded newlines are
 * replaced. Log where an error is handled, not where it is first returned.
 * Numeric and crypto code never logs. Thread-safe.
 */
#ifndef FF_LOG_H
#define FF_LOG_H

#include <stdarg.h>

enum ff_log_level {
	FF_LOG_DEBUG = 10,
	FF_LOG_INFO = 20,
	FF_LOG_WARN = 30,
	FF_LOG_ERROR = 40,
};

extern int ff_log_threshold;

#define ff_log(level, ...)                              \
	do {                                                \
		if ((level) >= ff_log_threshold)                \
			ff_log_write((level), __VA_ARGS__);         \
	} while (0)

void ff_log_write(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Formats one record into line (without newline handling of level). */
void ff_log_vwrite_fd(int fd, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Sends records to fd (default 2). The fd stays owned by the caller. */
void ff_log_set_fd(int fd);
void ff_log_set_level(int level);
/* "debug", "info", "warn"/"warning", "error" or a number; -1 if unknown. */
int ff_log_parse_level(const char *s);
const char *ff_log_level_name(int level);

/*
 * Logs an unrecoverable programmer error with its location and aborts.
 * Never for conditions input can cause.
 */
#define FF_BUG(...) ff_bug(__FILE__, __LINE__, __VA_ARGS__)
void ff_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
#define ff_assert(cond) \
	do { if (!(cond)) FF_BUG("assertion failed: %s", #cond); } while (0)

#endif
