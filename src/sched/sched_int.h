/* SPDX-License-Identifier: Apache-2.0 */
/* sched_int.h - shared between the scheduler's files only. */
#ifndef FF_SCHED_INT_H
#define FF_SCHED_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "ev.h"
#include "fed.h"
#include "sched.h"

/* In-memory companion of one scheduled job; rebuilt freely from the store. */
struct sched_job {
	struct sched_job *next;     /* hash chain */
	struct sched *sched;
	char job_id[32];
	int inflight;               /* command sequences in progress */
	bool dirty;                 /* a step is wanted (an event, a sequence's end) */
	bool step_queued;
	struct ev_defer step_defer;
	struct ev_timer poll_timer; /* poll sync mode */
	bool poll_active;
	bool res_blocked;           /* a task start found no cores: wait for an event */
	uint64_t events;            /* kicks so far (events from outside) */
	uint64_t blocked_epoch;     /* events when the start that found no cores began */
	bool single_start;          /* starting one task at a time after contention */
	bool single_failed;         /* ... and even that found no cores */
	bool end_syncing;           /* telling the parties how the job ended */
	bool resuming;              /* a start cut short is being finished */
};

struct sched {
	struct site *site;
	struct sched_job *buckets[1024];
	size_t njobs;
	/* the waiting queue is processed one admission at a time */
	bool queue_busy;
	bool queue_dirty;
	bool queue_starved;         /* the last pass stopped at a job without cores */
	bool queue_queued;
	struct ev_defer queue_defer;
	char **queue_ids;
	size_t queue_n, queue_i;
	size_t queue_done;          /* jobs this pass admitted or failed */
	struct ev_timer sweep_timer;
};

/* One task's latest version as the scheduler sees it. */
struct sched_task {
	char name[64];
	char task_id[128];
	long long version;
	char status[32];
	long long auto_retries;
	char sync_type[16];
	json_t *deps;               /* array of producer task names (owned) */
	struct fed_target *parties; /* owned */
	char (*party_status)[32];   /* owned, one per party */
	size_t nparties;
	const char *fed_status;     /* computed this step (static string) */
};

struct sched_view {
	char job_id[32];
	char status[32];
	bool cancel;
	bool rerun;
	long long progress;
	char scheduler[64];
	struct fed_target *parties; /* job parties (owned) */
	size_t nparties;
	struct sched_task *tasks;   /* seq order (owned) */
	size_t ntasks;
};

/* sched.c */
struct sched_job *sched_job_get(struct sched *sc, const char *job_id);
/* A command sequence holds the job while it runs; when the last one ends
 * the job is stepped again - unless every sequence that ended since the
 * last step dropped it quietly (it changed nothing a step would act on)
 * and no event came in. */
void sched_job_hold(struct sched_job *j);
void sched_job_drop(struct sched_job *j);
void sched_job_drop_quiet(struct sched_job *j);
/* An event that needs no step of its own (e.g. a party finished a task
 * whose other parties still run): counted, so a start waiting for cores
 * knows something happened. */
void sched_note(struct site *s, const char *job_id);
/* Starts the job's status collection timer (poll sync mode; in callback
 * mode the liveness check of other sites) unless it runs. */
void sched_poll_arm(struct sched_job *j, bool poll);

/* sched_view.c: loads/frees what a step needs */
/* [{role, party_id: [..]}] JSON -> flat targets (owned array). */
int sched_parties_flatten(const char *json, struct fed_target **out, size_t *n);
int sched_view_load(struct site *s, const char *job_id, struct sched_view *v,
		    struct ff_error *err);
void sched_view_release(struct sched_view *v);
struct sched_task *sched_view_task(struct sched_view *v, const char *name);
/* compare-and-set of schedule statuses */
int sched_set_job_status(struct site *s, const char *job_id, const char *from,
			 const char *to, const char *error, bool *changed);
int sched_set_task_status(struct site *s, const char *job_id, const char *task_id,
			  long long version, const char *from, const char *to, bool *changed);
int sched_set_party_status(struct site *s, const char *job_id, const char *task_id,
			   long long version, const char *role, const char *party_id,
			   const char *status, const char *error, bool force);
/* "task b failed on host 10000: <error>" for the first interrupted party task. */
void sched_failure_reason(struct site *s, const char *job_id, char *out, size_t n);
/* Fire-and-forget partner fan-out that holds the job while in flight. */
void sched_send(struct sched_job *j, const char *command, json_t *body,
		const struct fed_target *t, size_t n);

/* sched_create.c */

void sched_create_job(struct site *s, const json_t *body, fed_reply_fn reply, void *ctx);

/* sched_queue.c */
void sched_queue_step(struct sched *sc);
/* Whether a new job may take its cores with its creation (job/create
 * "apply"): yes unless the queue's last pass stopped at a job the parties
 * had no cores for - then everything queues behind it, in order, until a
 * pass gets through. Jobs that only wait for a pass in progress can lose
 * the last free cores to a new job this way (then they are the ones that
 * stop the pass, and from then on nothing passes them). */
bool sched_queue_open(struct sched *sc);
/* Admits job_id, created waiting with its cores on every party, outside
 * the queue's pass (or kicks the queue when it cannot). */
void sched_admit_eager(struct sched *sc, const char *job_id);

/* sched_run.c */
void sched_step(struct sched_job *j);
void sched_poll_start(struct sched_job *j);

/* sched_stop.c */
void sched_stop_job(struct site *s, const json_t *body, fed_reply_fn reply, void *ctx);
void sched_rerun_job(struct site *s, const json_t *body, fed_reply_fn reply, void *ctx);
/* Creates version+1 of a task on every party; runs done(j) afterwards. */
void sched_retry_task(struct sched_job *j, const struct sched_task *t, bool auto_retry);
/* Ends a job everywhere: status sync, then stop of what still runs. */
void sched_finish_job(struct sched_job *j, const struct sched_view *v, const char *status,
		      const char *reason);
/* The sync half of it, for a job whose end is recorded already. */
void sched_finish_sync(struct sched_job *j, const struct sched_view *v, const char *status,
		       const char *reason);

/* helpers */
json_t *sched_env(int code, const char *message);

#endif
