/* SPDX-License-Identifier: Apache-2.0 */
/*
 * party.h - the participant: what a site does for each (job, role, party)
 * it takes part in (spec §1.5, §5.4, §7).
 *
 * All partner commands enter through party_command (from the HTTP partner
 * page or, in process, from src/fed) with FATE's names and bodies and
 * answer an envelope. The participant owns t_job, t_task and the engine
 * registry on its site: it creates the local job and task rows, applies
 * and returns cores, starts and stops task processes through src/exec,
 * and reports every party-status change of a task to the job's scheduler
 * (callback sync mode).
 *
 * Core thread only.
 */
#ifndef FF_PARTY_H
#define FF_PARTY_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include "err.h"

struct site;

struct party_task_key {
	char job_id[32];
	char task_id[128];
	long long version;
	char role[64];
	char party_id[64];
};

int party_init(struct site *s, struct ff_error *err);
void party_release(struct site *s);

/* Runs a partner command; returns the answer envelope (new reference). */
json_t *party_command(struct site *s, const char *command, const json_t *body);

/*
 * Called by src/exec when a task process ended (or was found dead):
 * status is success/failed/timeout, error (may be NULL) goes into
 * t_task.f_error_report. Moves party_status (compare-and-set), returns the
 * task's cores and reports to the scheduler.
 */
void party_task_ended(struct site *s, const struct party_task_key *k,
		      const char *status, const char *error);

/* Called by src/exec with a task's (new) process: recorded for adoption. */
void party_task_pid(struct site *s, const struct party_task_key *k, pid_t pid,
		    long long start_ticks);

/*
 * After a restart: every task this site ran that is still "running" is
 * either adopted (its process still runs: it is watched again) or ended
 * from its final meta (success when it finished while fedflowd was down).
 */
void party_recover_tasks(struct site *s);

/* Registered by the scheduler: runs when cores are given back on this site. */
/* After a restart: tells the schedulers of unfinished jobs here that this site is back. */
void party_announce_back(struct site *s);
void party_on_resource_free(struct site *s, void (*cb)(struct site *s));

/* Engine registry: registers/updates this site's cores from its config. */
int party_resource_register(struct site *s, struct ff_error *err);

/* Resource operations (party_resource.c); FF_OK, FF_ERESOURCE, FF_ERESLIMIT. */
int party_job_resource_apply(struct site *s, const char *job_id, const char *role,
			     const char *party_id, struct ff_error *err);
int party_job_resource_return(struct site *s, const char *job_id, const char *role,
			      const char *party_id, struct ff_error *err);
int party_task_resource_apply(struct site *s, const struct party_task_key *k,
			      struct ff_error *err);
int party_task_resource_return(struct site *s, const struct party_task_key *k,
			       struct ff_error *err);

/* Moves t_task.f_party_status old -> new when the transition table allows. */
int party_task_set_party_status(struct site *s, const struct party_task_key *k,
				const char *status, const char *error, bool *changed,
				struct ff_error *err);
/* Moves t_job.f_status (transition-checked); end statuses return cores. */
int party_job_set_status(struct site *s, const char *job_id, const char *role,
			 const char *party_id, const char *status, const char *reason,
			 bool *changed, struct ff_error *err);

struct store_row;
/* Fills a key from a t_task row (f_job_id, f_task_id, f_task_version, f_role, f_party_id). */
void party_key_from_row(const struct store_row *row, struct party_task_key *k);

/* A list of task keys read from the store (party_keys_cb fills it). */
struct party_keys {
	struct party_task_key *keys;
	size_t n;
};
/* store_exec row callback: appends the row's task key to a struct party_keys. */
int party_keys_cb(void *arg, const struct store_row *row);
/* Fills a key from a command body (job_id, task_id, task_version, role, party_id). */
int party_key_from_json(const json_t *body, struct party_task_key *k, struct ff_error *err);

#endif
