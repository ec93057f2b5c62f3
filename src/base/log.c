// SPDX-License-Identifier: Apache-2.0
/* log.c - single-line, single-write log records. */
#include "ff_setup.h"
#include <stdarg.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>
#include "log.h"

int ff_log_threshold = FF_LOG_INFO;
static int log_fd = 2;

void ff_log_set_fd(int fd)
{
	log_fd = fd;
}

void ff_log_set_level(int level)
{
	ff_log_threshold = level;
}

const char *ff_log_level_name(int level)
{
	if (level >= FF_LOG_ERROR)
		return "ERROR";
	if (level >= FF_LOG_WARN)
		return "WARNING";
	if (level >= FF_LOG_INFO)
		return "INFO";
	return "DEBUG";
}

int ff_log_parse_level(const char *s)
{
	if (!s)
		return -1;
	if (!strcasecmp(s, "debug"))
		return FF_LOG_DEBUG;
	if (!strcasecmp(s, "info"))
		return FF_LOG_INFO;
	if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
		return FF_LOG_WARN;
	if (!strcasecmp(s, "error"))
		return FF_LOG_ERROR;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s && !*end && v >= 0 && v <= 50)
		return (int)v;
	return -1;
}

void ff_log_vwrite_fd(int fd, int level, const char *fmt, va_list ap)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(tv.tv_usec / 1000), ff_log_level_name(level));
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	for (size_t i = (size_t)n; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	ssize_t w = write(fd, line, len);
	(void)w;
}

void ff_log_write(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ff_log_vwrite_fd(log_fd, level, fmt, ap);
	va_end(ap);
}

void ff_bug(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ff_log_write(FF_LOG_ERROR, "BUG at %s:%d: %s", file, line, msg);
	abort();
}
