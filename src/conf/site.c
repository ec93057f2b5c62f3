// SPDX-License-Identifier: Apache-2.0
/* site.c - site-wide helpers: party locality and per-job logs. */
#include "ff_setup.h"
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs.h"
#include "log.h"
#include "mem.h"
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

/*
 * Open job log files, most recently used kept: a job writes several lines
 * per task, and an open per line (a path walk, and a create for the first)
 * was a good part of a task's cost. Job logs are never deleted while the
 * daemon runs, so a cached descriptor stays valid. Any thread may log.
 */
#define JOBLOG_FDS 32
/* <logs>/<job>_<name>: FATE's names, flat (see exec_task_log_base) */
#define SITE_JOBLOG "fate_flow_schedule.log"
#define SITE_JOBLOG_ERRORS "fate_flow_schedule_error.log"

struct joblog_fd {
	char key[128];      /* <job_id>_<file name> */
	int fd;
	uint64_t used;
};

static struct joblog_fd joblog_fds[JOBLOG_FDS];
static uint64_t joblog_tick;
static pthread_mutex_t joblog_lock = PTHREAD_MUTEX_INITIALIZER;

static int joblog_open(const char *dir, const char *key)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT && !fs_mkdirs(dir, 0755, NULL))
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return fd;
}

/* The cached descriptor of <dir>/<job>_<name> (opened, evicting the oldest,
 * if need be). */
static int joblog_fd(const char *dir, const char *job_id, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), "%s_%s", job_id, name);
	struct joblog_fd *slot = &joblog_fds[0];
	for (size_t i = 0; i < JOBLOG_FDS; i++) {
		struct joblog_fd *e = &joblog_fds[i];
		if (e->used && !strcmp(e->key, key)) {
			e->used = ++joblog_tick;
			return e->fd;
		}
		if (e->used < slot->used)
			slot = e;
	}
	int fd = joblog_open(dir, key);
	if (fd < 0)
		return -1;
	if (slot->used)
		close(slot->fd);
	snprintf(slot->key, sizeof(slot->key), "%s", key);
	slot->fd = fd;
	slot->used = ++joblog_tick;
	return fd;
}

static void site_joblog_file(const char *dir, const char *job_id, const char *name,
			     int level, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&joblog_lock);
	int fd = joblog_fd(dir, job_id, name);
	if (fd >= 0)
		ff_log_vwrite_fd(fd, level, fmt, ap);
	pthread_mutex_unlock(&joblog_lock);
}

void site_joblog_close_all(void)
{
	pthread_mutex_lock(&joblog_lock);
	for (size_t i = 0; i < JOBLOG_FDS; i++) {
		if (joblog_fds[i].used)
			close(joblog_fds[i].fd);
		joblog_fds[i].used = 0;
	}
	pthread_mutex_unlock(&joblog_lock);
}

char *site_joblog_path(const struct site *s, const char *job_id, bool errors)
{
	return ff_asprintf("%s/%s_%s", s->cfg.log_dir, job_id,
			   errors ? SITE_JOBLOG_ERRORS : SITE_JOBLOG);
}

void site_joblog(const struct site *s, const char *job_id, int level,
		 const char *fmt, ...)
{
	const char *dir = s->cfg.log_dir;
	if (!fs_name_ok(job_id, 64))
		return;
	va_list ap;
	va_start(ap, fmt);
	site_joblog_file(dir, job_id, SITE_JOBLOG, level, fmt, ap);
	va_end(ap);
	if (level >= FF_LOG_WARN) {
		va_start(ap, fmt);
		site_joblog_file(dir, job_id, SITE_JOBLOG_ERRORS, level, fmt, ap);
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
