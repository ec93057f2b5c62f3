// SPDX-License-Identifier: Apache-2.0
/* site.c - site-wide helpers: party locality and per-job logs. */
#include "ff_setup.h"
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs.h"
#include "log.h"
#include "site.h"

bool site_is_standalone(const struct site *s)
{
	return !strcmp(s->cfg.mode, "standalone");
}

bool site_is_local_party(const struct site *s, const char *party_id)
{
	return site_is_standalone(s) || !strcmp(party_id, "0") ||
	       !strcmp(party_id, s->cfg.party_id);
}

static void site_joblog_file(const char *dir, const char *name, int level,
			     const char *fmt, va_list ap)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT && !fs_mkdirs(dir, 0755, NULL))
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	ff_log_vwrite_fd(fd, level, fmt, ap);
	close(fd);
}

void site_joblog(const struct site *s, const char *job_id, int level,
		 const char *fmt, ...)
{
	char dir[PATH_MAX];
	if (!fs_name_ok(job_id, 64))
		return;
	snprintf(dir, sizeof(dir), "%s/%s", s->cfg.log_dir, job_id);
	va_list ap;
	va_start(ap, fmt);
	site_joblog_file(dir, "fate_flow_schedule.log", level, fmt, ap);
	va_end(ap);
	if (level >= FF_LOG_WARN) {
		va_start(ap, fmt);
		site_joblog_file(dir, "fate_flow_schedule_error.log", level, fmt, ap);
		va_end(ap);
	}
	if (level >= FF_LOG_WARN || ff_log_threshold <= FF_LOG_DEBUG) {
		char line[1024];
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		ff_log_write(level, "job_id=%s %s", job_id, line);
	}
}
