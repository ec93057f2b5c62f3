/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sched.h - the DAG scheduler of the jobs this site schedules.
 *
 * Event-driven: a submit, a task report, a stop, a rerun or cores given
 * back wake the step that follows at once (sched_kick / sched_queue_kick,
 * run as deferred calls on the core loop). Nothing on the normal path
 * waits for a timer; one slow sweep (scheduler.sweep_interval) re-steps
 * every running job as a safety net, and poll-mode jobs collect their
 * parties' task statuses every scheduler.poll_interval.
 *
 * The scheduler talks to parties only through src/fed with FATE's
 * partner commands; its own state is t_schedule_job, t_schedule_task and
 * t_schedule_task_status (spec §3.2), changed by compare-and-set. At most
 * one step or command sequence of a job is in flight at a time, so a job
 * is never stepped twice concurrently; events that arrive meanwhile mark
 * it dirty and it is stepped again when the sequence ends.
 *
 * Core thread only.
 */
#ifndef FF_SCHED_H
#define FF_SCHED_H

#include <jansson.h>
#include "err.h"
#include "fed.h"

struct site;

int sched_init(struct site *s, struct ff_error *err);
void sched_release(struct site *s);

/*
 * Scheduler commands ("job/create", "task/report", "job/stop",
 * "job/rerun"), from the HTTP scheduler page or in process via src/fed.
 * reply(ctx, envelope) is called exactly once, maybe later.
 */
void sched_command(struct site *s, const char *command, const json_t *body,
		   fed_reply_fn reply, void *ctx);

/* Wakes the step of one job / the waiting queue. */
void sched_kick(struct site *s, const char *job_id);
void sched_queue_kick(struct site *s);

/* FF_ERESLIMIT when the parties this daemon plays need more cores than it has. */
struct dag_job;
int sched_check_local_cores(struct site *s, const struct dag_job *d, struct ff_error *err);

/*
 * After a restart: fails jobs whose creation was cut short, repeats the
 * end-of-job sync of ended jobs whose parties may not all know, then
 * sweeps. Starts of tasks cut short are resumed by the steps themselves.
 */
void sched_recover(struct site *s);

/* Re-steps every unfinished job (startup recovery and the safety sweep). */
void sched_sweep(struct site *s);

#endif
