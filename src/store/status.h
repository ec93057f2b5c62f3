/* SPDX-License-Identifier: Apache-2.0 */
/*
 * status.h - job and task statuses, their transition tables and FATE's
 * multi-party status rules (spec §4).
 *
 * Statuses travel as FATE's strings everywhere (API, database, partner
 * commands); this module is the one place that knows which moves are
 * legal and how several parties' statuses combine. Pure functions,
 * thread-safe.
 */
#ifndef FF_STATUS_H
#define FF_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#define ST_WAITING "waiting"
#define ST_READY "ready"
#define ST_RUNNING "running"
#define ST_CANCELED "canceled"
#define ST_TIMEOUT "timeout"
#define ST_FAILED "failed"
#define ST_PASS "pass"
#define ST_SUCCESS "success"

/* Level in FATE's StatusSet order (waiting 0 ... finished 8); -1 unknown. */
int status_level(const char *s);
bool status_is_job(const char *s);
bool status_is_task(const char *s);
/* canceled, timeout, failed, pass, success */
bool status_is_end(const char *s);
/* canceled, timeout, failed */
bool status_is_interrupt(const char *s);
bool status_is_success(const char *s);   /* pass, success */

/* Transition tables (§4.2 jobs, §4.3 tasks). Same -> same is refused. */
bool status_job_can(const char *from, const char *to);
bool status_task_can(const char *from, const char *to);
/*
 * The statuses a job (task) may move to `to` from, as ",a,b," into out
 * (n bytes; STATUS_SOURCES_MAX is enough): for one-statement
 * compare-and-set updates, "... AND instr(?, ',' || f_status || ',') > 0".
 */
#define STATUS_SOURCES_MAX 96
void status_job_sources(const char *to, char *out, size_t n);
void status_task_sources(const char *to, char *out, size_t n);

/*
 * Federated task status of one task version from its parties' statuses
 * (§4.5). Returns a static string; "failed" for n == 0; NULL when the
 * combination is not covered by FATE's rules (caller logs and retries).
 */
const char *status_federated_task(const char *const *party, size_t n);

/* Scheduling result of one step, for status_job_from_tasks (§4.6). */
enum status_sched_code {
	STATUS_SCHED_NO_NEXT = 2,
	STATUS_SCHED_HAVE_NEXT = 3,
};
/*
 * Job status from the federated statuses of its latest task versions
 * (§4.6) and whether this step started a task. NULL when FATE's rules do
 * not cover the combination. cancel_signal turns waiting into canceled.
 */
const char *status_job_from_tasks(const char *const *task, size_t n,
				  enum status_sched_code code, bool cancel_signal);

#endif
