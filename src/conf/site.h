/* SPDX-License-Identifier: Apache-2.0 */
/*
 * site.h - the running site: configuration plus the handles every daemon
 * module reaches through one pointer.
 *
 * fedflowd builds one struct site at start (src/server) and hands it to
 * every module. Each module keeps its private state behind its own opaque
 * pointer here. Everything in it belongs to the core thread except cfg and
 * dsn, which are read-only after start and may be read by any thread.
 */
#ifndef FF_SITE_H
#define FF_SITE_H

#include <stdbool.h>
#include "config.h"

struct ev_loop;
struct store;
struct http_server;
struct sched;
struct party;
struct exec;
struct fed;
struct provider_cache;
struct detect;
struct sign_key;
struct remote;

struct site {
	struct config cfg;
	struct ev_loop *loop;        /* the core loop */
	struct store *db;            /* the writer connection (core thread) */
	struct http_server *http;
	struct sched *sched;
	struct party *party;
	struct exec *exec;
	struct fed *fed;
	struct remote *remote;       /* commands to other sites (src/fed/remote.h) */
	struct provider_cache *providers;
	struct detect *detect;
	struct sign_key *key;        /* this site's Ed25519 key pair (read-only) */
	int64_t start_ms;
};

/* True when this daemon plays every party (standalone mode). */
bool site_is_standalone(const struct site *s);
/* True when (party_id) is run by this daemon. "0" (local jobs) always is. */
bool site_is_local_party(const struct site *s, const char *party_id);

/*
 * Appends one line to the job's scheduler log (<logs>/<job>_fate_flow_schedule.log,
 * and <job>_fate_flow_schedule_error.log for warnings and errors), which the
 * log API serves as log_type schedule_info / schedule_error. Thread-safe.
 */
void site_joblog(const struct site *s, const char *job_id, int level,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The path of a job's scheduler log, or of its error log (owned). */
char *site_joblog_path(const struct site *s, const char *job_id, bool errors);

/* Closes the job log files site_joblog keeps open (at stop). */
void site_joblog_close_all(void);

#endif
