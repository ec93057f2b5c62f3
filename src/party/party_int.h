/* SPDX-License-Identifier: Apache-2.0 */
/* party_int.h - shared between the participant's files only. */
#ifndef FF_PARTY_INT_H
#define FF_PARTY_INT_H

#include "party.h"

struct party {
	void (*on_free)(struct site *s);
	/* job of the scheduler command being answered that may give cores
	 * back; its scheduler kicks its own queue when the answer arrives */
	const char *answering_job;
};

/* A t_task row as the start and the recovery need it (plan owned). */
struct party_task_row {
	bool found;
	char party_status[32];
	char task_name[64];
	char component[128];
	char provider[200];
	char exec_id[256];
	long long timeout;
	long long cores;
	long long run_pid;
	long long run_start;
	long long start_time;
	json_t *plan;
};
int party_task_load(struct site *s, const struct party_task_key *k,
		    struct party_task_row *t, struct ff_error *err);

/* Command handlers: return an envelope (new reference). */
json_t *party_job_create(struct site *s, const json_t *body);
json_t *party_job_status_update(struct site *s, const json_t *body);
json_t *party_job_update(struct site *s, const json_t *body);
json_t *party_job_apply(struct site *s, const json_t *body);
json_t *party_job_return(struct site *s, const json_t *body);
json_t *party_job_start(struct site *s, const json_t *body);
json_t *party_job_stop(struct site *s, const json_t *body);
json_t *party_job_clean(struct site *s, const json_t *body);
json_t *party_task_apply(struct site *s, const json_t *body);
json_t *party_task_return(struct site *s, const json_t *body);
json_t *party_task_start(struct site *s, const json_t *body);
json_t *party_task_collect(struct site *s, const json_t *body);
json_t *party_task_status_update(struct site *s, const json_t *body);
json_t *party_task_stop(struct site *s, const json_t *body);
json_t *party_task_rerun(struct site *s, const json_t *body);

/* Moves t_task.f_status (the federated status) when the transition table
 * allows; FF_ENOTASK when this party has no such task version. */
int party_task_set_fed_status(struct site *s, const struct party_task_key *k,
			      const char *status, struct ff_error *err);

/*
 * Starts this party's part of a job (waiting -> running, inheritance).
 * job/start does it, and so does the first task/resource/apply of a job
 * still waiting here: the scheduler sends job/start only to parties that
 * get no task at once (see sched_queue.c).
 */
int party_job_begin(struct site *s, const char *job_id, const char *role,
		    const char *party_id, struct ff_error *err);

/* Envelope helpers. */
json_t *party_ok(void);
json_t *party_fail(int ret, const struct ff_error *err);

/* Stops one task: kills its process group, sets party_status, kill_status. */
int party_stop_task(struct site *s, const struct party_task_key *k, const char *status,
		    const char *reason, struct ff_error *err);
/* Tells the scheduler about a party status change (callback mode). */
void party_report(struct site *s, const struct party_task_key *k, const char *status);
/* Drops the gateway messages of a task version that ended or was stopped. */
void party_task_drop_messages(struct site *s, const struct party_task_key *k);
void party_notify_free(struct site *s);
/* Inherits the listed finished tasks of an earlier job (party_inherit.c). */
int party_inherit(struct site *s, const char *job_id, const char *role, const char *party_id,
		  const json_t *inheritance, struct ff_error *err);

#endif
