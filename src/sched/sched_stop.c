// SPDX-License-Identifier: Apache-2.0
/*
 * sched_stop.c - ending, stopping and rerunning jobs and retrying tasks
 * (spec §4.7, §4.8).
 *
 * Differences from FATE-Flow, on purpose: every party stops with the
 * requested status (FATE's partners always use failed), so all sites end
 * with the same status; an automatic retry makes a new task version while
 * the job keeps running (no failed -> waiting -> running flapping, no
 * second resource application).
 */
#include "ff_setup.h"
#include "clock.h"
#include "fault.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "sched_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

/* ---- finishing a job ---- */

struct sched_finish {
	struct sched_job *job;
	char status[32];
	char reason[600];
	struct fed_target *parties;
	size_t nparties;
	bool all_told;
};

/* Every party answered (one that never had the job has nothing to end). */
static bool sched_all_told(const struct fed_call *call)
{
	for (size_t i = 0; i < call->n; i++)
		if (call->res[i].code != 0 && call->res[i].code != ff_api_code(FF_ENOJOB))
			return false;
	return true;
}

static void sched_finish_free(struct sched_finish *f)
{
	struct site *s = f->job->sched->site;
	if (f->all_told) {
		/* a restart or a sweep need not tell them again */
		struct store_val a[] = { SV_TEXT(f->job->job_id) };
		store_exec(s->db, "UPDATE t_schedule_job SET f_end_scheduling_updates = 1 WHERE"
			   " f_job_id = ?", a, 1, NULL, NULL, NULL, NULL);
	} else {
		site_joblog(s, f->job->job_id, FF_LOG_WARN, "not every party heard that the job "
			    "ended: they are told again when they come back");
	}
	f->job->end_syncing = false;
	sched_job_drop(f->job);
	ff_free(f->parties);
	ff_free(f);
	sched_queue_kick(s); /* cores were given back */
}

static void sched_finish_stopped(struct fed_call *call, void *arg)
{
	struct sched_finish *f = arg;
	f->all_told = f->all_told && sched_all_told(call);
	if (!fed_all_ok(call)) {
		char msg[300];
		fed_first_error(call, msg, sizeof(msg));
		site_joblog(call->site, f->job->job_id, FF_LOG_WARN, "job stop partly failed: %s", msg);
	}
	sched_finish_free(f);
}

static void sched_finish_synced(struct fed_call *call, void *arg)
{
	struct sched_finish *f = arg;
	f->all_told = sched_all_told(call);
	if (!fed_all_ok(call)) {
		char msg[300];
		fed_first_error(call, msg, sizeof(msg));
		site_joblog(call->site, f->job->job_id, FF_LOG_WARN,
			    "job status sync partly failed: %s", msg);
	}
	if (!strcmp(f->status, ST_SUCCESS)) {
		sched_finish_free(f);
		return;
	}
	/* kill whatever may still run anywhere */
	json_t *b = json_pack("{s:s,s:s,s:s}", "job_id", f->job->job_id, "stop_status", f->status,
			      "reason", "the job ended");
	if (fed_partner_fanout(call->site, "job/stop", b, f->parties, f->nparties,
			       sched_finish_stopped, f))
		sched_finish_free(f);
	json_decref(b);
}

void sched_finish_job(struct sched_job *j, const struct sched_view *v, const char *status,
		      const char *reason)
{
	struct site *s = j->sched->site;
	bool changed;
	sched_set_job_status(s, j->job_id, v->status, status, reason, &changed);
	if (!changed)
		return;
	site_joblog(s, j->job_id, !strcmp(status, ST_SUCCESS) ? FF_LOG_INFO : FF_LOG_WARN,
		    "job ended: %s%s%s", status, reason ? ": " : "", reason ? reason : "");
	fault_point("sched.finish");
	sched_finish_sync(j, v, status, reason);
}

/*
 * [{task_id, task_version, status}] of every task's latest version: the
 * end of a job carries the federated statuses its last step found (the
 * parties are not sent a task/status/update of their own for them), and
 * repeats them when it is sent again.
 */
static json_t *sched_finish_tasks(const struct sched_view *v)
{
	json_t *tasks = json_array();
	for (size_t i = 0; tasks && i < v->ntasks; i++) {
		const struct sched_task *t = &v->tasks[i];
		json_array_append_new(tasks, json_pack("{s:s,s:I,s:s}", "task_id", t->task_id,
						       "task_version", (json_int_t)t->version,
						       "status", t->fed_status ? t->fed_status
									       : t->status));
	}
	return tasks;
}

void sched_finish_sync(struct sched_job *j, const struct sched_view *v, const char *status,
		       const char *reason)
{
	struct site *s = j->sched->site;
	if (j->end_syncing)
		return; /* already telling them */
	struct sched_finish *f = ff_calloc(1, sizeof(*f));
	if (!f)
		return;
	j->end_syncing = true;
	f->job = j;
	snprintf(f->status, sizeof(f->status), "%s", status);
	snprintf(f->reason, sizeof(f->reason), "%s", reason ? reason : "");
	f->parties = ff_calloc(v->nparties ? v->nparties : 1, sizeof(*f->parties));
	if (!f->parties) {
		j->end_syncing = false;
		ff_free(f);
		return;
	}
	memcpy(f->parties, v->parties, v->nparties * sizeof(*f->parties));
	f->nparties = v->nparties;
	sched_job_hold(j);
	json_t *b = json_pack("{s:s,s:s}", "job_id", j->job_id, "status", status);
	if (reason)
		json_object_set_new(b, "reason", json_string(reason));
	json_object_set_new(b, "tasks", sched_finish_tasks(v));
	if (fed_partner_fanout(s, "job/status/update", b, f->parties, f->nparties,
			       sched_finish_synced, f))
		sched_finish_free(f);
	json_decref(b);
}

/* ---- retrying a task as a new version ---- */

typedef void (*sched_retry_cb)(void *arg, bool ok);

struct sched_retry {
	struct sched_job *job;
	struct sched_task t;
	long long retries_left;
	sched_retry_cb cb;
	void *cb_arg;
};

static void sched_retry_free(struct sched_retry *r, bool ok)
{
	if (r->cb)
		r->cb(r->cb_arg, ok);
	sched_job_drop(r->job);
	json_decref(r->t.deps);
	ff_free(r->t.parties);
	ff_free(r);
}

static int sched_retry_record(struct sched_retry *r, struct ff_error *err)
{
	struct site *s = r->job->sched->site;
	int64_t now = clock_now_ms();
	char *deps = jsonx_dumps(r->t.deps);
	long long nv = r->t.version + 1;
	int ret = store_txn_begin(s->db, err);
	struct store_val a[] = { SV_INT(nv), SV_INT(r->retries_left), SV_INT(now), SV_INT(now),
				 SV_TEXT(r->job->job_id), SV_TEXT(r->t.task_id), SV_INT(r->t.version) };
	if (!ret)
		ret = store_exec(s->db,
			"INSERT INTO t_schedule_task_status (f_job_id, f_task_id, f_task_version,"
			" f_task_name, f_status, f_auto_retries, f_sync_type, f_seq, f_dependencies,"
			" f_create_time, f_update_time) SELECT f_job_id, f_task_id, ?, f_task_name,"
			" 'waiting', ?, f_sync_type, f_seq, f_dependencies, ?, ? FROM"
			" t_schedule_task_status WHERE f_job_id = ? AND f_task_id = ? AND"
			" f_task_version = ? ON CONFLICT DO NOTHING", a, FF_ARRAY_SIZE(a),
			NULL, NULL, NULL, err);
	struct store_val b[] = { SV_INT(nv), SV_INT(now), SV_INT(now), SV_TEXT(r->job->job_id),
				 SV_TEXT(r->t.task_id), SV_INT(r->t.version) };
	if (!ret)
		ret = store_exec(s->db,
			"INSERT INTO t_schedule_task (f_job_id, f_task_id, f_task_version, f_role,"
			" f_party_id, f_task_name, f_component, f_parties, f_status, f_create_time,"
			" f_update_time) SELECT f_job_id, f_task_id, ?, f_role, f_party_id,"
			" f_task_name, f_component, f_parties, 'waiting', ?, ? FROM t_schedule_task"
			" WHERE f_job_id = ? AND f_task_id = ? AND f_task_version = ?"
			" ON CONFLICT DO NOTHING", b, FF_ARRAY_SIZE(b), NULL, NULL, NULL, err);
	if (!ret)
		ret = store_txn_commit(s->db, err);
	else
		store_txn_abort(s->db);
	ff_free(deps);
	return ret;
}

/* A retry that cannot happen must not be tried again forever. */
static void sched_retry_disable(struct sched_retry *r)
{
	struct store_val a[] = { SV_TEXT(r->job->job_id), SV_TEXT(r->t.task_id),
				 SV_INT(r->t.version) };
	store_exec(r->job->sched->site->db, "UPDATE t_schedule_task_status SET f_auto_retries = 0"
		   " WHERE f_job_id = ? AND f_task_id = ? AND f_task_version = ?", a, 3,
		   NULL, NULL, NULL, NULL);
}

static void sched_retry_rerun_done(struct fed_call *call, void *arg)
{
	struct sched_retry *r = arg;
	struct ff_error err = FF_ERROR_INIT;
	int ret = FF_OK;
	if (!fed_all_ok(call)) {
		char msg[300];
		fed_first_error(call, msg, sizeof(msg));
		ret = ff_error_set(&err, FF_EFEDERATED, "rerun refused by %s", msg);
	}
	if (!ret)
		ret = sched_retry_record(r, &err);
	if (ret) {
		sched_retry_disable(r);
		site_joblog(call->site, r->job->job_id, FF_LOG_ERROR, "task %s cannot be rerun: %s",
			    r->t.name, ff_error_msg(&err, ret));
	} else {
		site_joblog(call->site, r->job->job_id, FF_LOG_INFO,
			    "task %s rerun as version %lld (%lld automatic retries left)", r->t.name,
			    r->t.version + 1, r->retries_left);
	}
	sched_retry_free(r, ret == FF_OK);
}

static void sched_retry_stopped(struct fed_call *call, void *arg)
{
	struct sched_retry *r = arg;
	json_t *b = json_pack("{s:s,s:s,s:I,s:I}", "job_id", r->job->job_id, "task_id",
			      r->t.task_id, "task_version", (json_int_t)r->t.version,
			      "new_version", (json_int_t)(r->t.version + 1));
	if (fed_partner_fanout(call->site, "task/rerun", b, r->t.parties, r->t.nparties,
			       sched_retry_rerun_done, r))
		sched_retry_free(r, false);
	json_decref(b);
}

static void sched_retry_start(struct sched_job *j, const struct sched_task *t, bool auto_retry,
			      sched_retry_cb cb, void *cb_arg)
{
	struct sched_retry *r = ff_calloc(1, sizeof(*r));
	if (!r) {
		if (cb)
			cb(cb_arg, false);
		return;
	}
	r->job = j;
	r->t = *t;
	r->t.party_status = NULL;
	r->t.deps = json_incref(t->deps);
	r->t.parties = ff_calloc(t->nparties ? t->nparties : 1, sizeof(*t->parties));
	r->retries_left = auto_retry ? t->auto_retries - 1 : t->auto_retries;
	r->cb = cb;
	r->cb_arg = cb_arg;
	sched_job_hold(j);
	if (!r->t.parties) {
		sched_retry_free(r, false);
		return;
	}
	memcpy(r->t.parties, t->parties, t->nparties * sizeof(*t->parties));
	const char *st = t->fed_status ? t->fed_status : t->status;
	json_t *b = json_pack("{s:s,s:s,s:I,s:s}", "job_id", j->job_id, "task_id", t->task_id,
			      "task_version", (json_int_t)t->version, "status",
			      status_is_end(st) ? st : ST_CANCELED);
	if (fed_partner_fanout(j->sched->site, "task/stop", b, r->t.parties, r->t.nparties,
			       sched_retry_stopped, r))
		sched_retry_free(r, false);
	json_decref(b);
}

void sched_retry_task(struct sched_job *j, const struct sched_task *t, bool auto_retry)
{
	sched_retry_start(j, t, auto_retry, NULL, NULL);
}

/* ---- stop requested by a user or a party ---- */

struct sched_stop {
	struct site *site;
	struct sched_job *job;
	fed_reply_fn reply;
	void *ctx;
	char status[32];        /* the stop status */
	char reason[200];
	bool end_now;           /* not admitted yet: end it here, not in a step */
	struct fed_target *parties;
	size_t nparties;
};

static void sched_stop_done(struct fed_call *call, void *arg)
{
	struct sched_stop *st = arg;
	json_t *env;
	if (fed_all_ok(call)) {
		env = sched_env(0, "success");
	} else {
		char msg[300];
		fed_first_error(call, msg, sizeof(msg));
		char full[400];
		snprintf(full, sizeof(full), "stop failed on %s", msg);
		env = sched_env(1004, full);
	}
	if (st->end_now) {
		bool changed;
		sched_set_job_status(st->site, st->job->job_id, ST_WAITING, st->status,
				     st->reason[0] ? st->reason : "stopped before it was admitted",
				     &changed);
		if (changed) {
			site_joblog(st->site, st->job->job_id, FF_LOG_INFO, "job %s while waiting",
				    st->status);
			json_t *b = json_pack("{s:s,s:s,s:s}", "job_id", st->job->job_id, "status",
					      st->status, "reason",
					      st->reason[0] ? st->reason : "stopped before it was admitted");
			sched_send(st->job, "job/status/update", b, st->parties, st->nparties);
		}
	}
	st->reply(st->ctx, env);
	sched_job_drop(st->job);
	ff_free(st->parties);
	ff_free(st);
}

static int sched_set_cancel(struct site *s, const char *job_id)
{
	int64_t now = clock_now_ms();
	struct store_val a[] = { SV_INT(now), SV_INT(now), SV_TEXT(job_id) };
	return store_exec(s->db, "UPDATE t_schedule_job SET f_cancel_signal = 1, f_cancel_time = ?,"
			  " f_update_time = ? WHERE f_job_id = ?", a, 3, NULL, NULL, NULL, NULL);
}

void sched_stop_job(struct site *s, const json_t *body, fed_reply_fn reply, void *ctx)
{
	struct sched_view v;
	struct ff_error err = FF_ERROR_INIT;
	const char *job_id = jsonx_str(body, "job_id");
	const char *st = jsonx_str(body, "stop_status");
	if (!st || !status_is_interrupt(st))
		st = ST_CANCELED;
	int ret = job_id ? sched_view_load(s, job_id, &v, &err)
			 : ff_error_set(&err, FF_EPARAM, "missing 'job_id'");
	if (ret) {
		reply(ctx, sched_env(ff_api_code(ret), ff_error_msg(&err, ret)));
		return;
	}
	if (status_is_end(v.status)) {
		char msg[200];
		snprintf(msg, sizeof(msg), "job '%s' already ended with status %s: nothing to stop",
			 job_id, v.status);
		reply(ctx, sched_env(1003, msg));
		sched_view_release(&v);
		return;
	}
	if (!strcmp(st, ST_CANCELED))
		sched_set_cancel(s, job_id);
	site_joblog(s, job_id, FF_LOG_INFO, "stop requested: %s", st);
	struct sched_job *j = sched_job_get(s->sched, job_id);
	struct sched_stop *sp = j ? ff_calloc(1, sizeof(*sp)) : NULL;
	if (!sp) {
		reply(ctx, sched_env(6000, "out of memory"));
		sched_view_release(&v);
		return;
	}
	sp->site = s;
	sp->job = j;
	sp->reply = reply;
	sp->ctx = ctx;
	snprintf(sp->status, sizeof(sp->status), "%s", st);
	const char *why = jsonx_str(body, "reason");
	snprintf(sp->reason, sizeof(sp->reason), "%s", why ? why : "");
	sp->end_now = !strcmp(v.status, ST_WAITING);
	sp->parties = ff_calloc(v.nparties ? v.nparties : 1, sizeof(*sp->parties));
	if (sp->parties)
		memcpy(sp->parties, v.parties, v.nparties * sizeof(*sp->parties));
	sp->nparties = sp->parties ? v.nparties : 0;
	sched_job_hold(j);
	json_t *b = json_pack("{s:s,s:s,s:s}", "job_id", job_id, "stop_status", st, "reason",
			      "stop requested");
	if (fed_partner_fanout(s, "job/stop", b, v.parties, v.nparties, sched_stop_done, sp)) {
		sched_job_drop(j);
		ff_free(sp->parties);
		ff_free(sp);
		reply(ctx, sched_env(6000, "out of memory"));
	}
	json_decref(b);
	sched_view_release(&v);
}

/* ---- manual rerun of the failed, canceled and timed-out tasks ---- */

struct sched_rerun {
	struct site *site;
	struct sched_job *job;
	size_t pending;
	bool failed;
	char job_status[32];
	struct fed_target *parties;
	size_t nparties;
	fed_reply_fn reply;
	void *ctx;
};

/* Every party is waiting again: let the queue admit it (after the drop,
 * so the job is no longer busy when the queue looks). */
static void sched_rerun_waiting(struct fed_call *call, void *arg)
{
	struct sched_job *j = arg;
	sched_queue_kick(j->sched->site);
	sched_job_drop(j);
}

static void sched_rerun_finish(struct sched_rerun *r)
{
	struct site *s = r->site;
	if (r->failed) {
		r->reply(r->ctx, sched_env(1003, "rerun failed on a party: see the job's schedule log"));
	} else {
		struct store_val a[] = { SV_INT(clock_now_ms()), SV_TEXT(r->job->job_id) };
		store_exec(s->db, "UPDATE t_schedule_job SET f_cancel_signal = 0, f_rerun_signal = 0,"
			   " f_end_scheduling_updates = 0, f_update_time = ? WHERE f_job_id = ?",
			   a, 2, NULL, NULL, NULL, NULL);
		if (status_is_end(r->job_status)) {
			bool changed;
			sched_set_job_status(s, r->job->job_id, r->job_status, ST_WAITING, NULL, &changed);
			json_t *b = json_pack("{s:s,s:s}", "job_id", r->job->job_id, "status", ST_WAITING);
			sched_job_hold(r->job);
			if (fed_partner_fanout(s, "job/status/update", b, r->parties, r->nparties,
					       sched_rerun_waiting, r->job))
				sched_rerun_waiting(NULL, r->job);
			json_decref(b);
		}
		site_joblog(s, r->job->job_id, FF_LOG_INFO, "job rerun requested");
		r->reply(r->ctx, sched_env(0, "success"));
	}
	sched_job_drop(r->job);
	ff_free(r->parties);
	ff_free(r);
}

static void sched_rerun_task_done(void *arg, bool ok)
{
	struct sched_rerun *r = arg;
	if (!ok)
		r->failed = true;
	if (--r->pending == 0)
		sched_rerun_finish(r);
}

void sched_rerun_job(struct site *s, const json_t *body, fed_reply_fn reply, void *ctx)
{
	struct sched_view v;
	struct ff_error err = FF_ERROR_INIT;
	const char *job_id = jsonx_str(body, "job_id");
	int ret = job_id ? sched_view_load(s, job_id, &v, &err)
			 : ff_error_set(&err, FF_EPARAM, "missing 'job_id'");
	if (ret) {
		reply(ctx, sched_env(ff_api_code(ret), ff_error_msg(&err, ret)));
		return;
	}
	struct sched_job *j = sched_job_get(s->sched, job_id);
	struct sched_rerun *r = j ? ff_calloc(1, sizeof(*r)) : NULL;
	size_t todo = 0;
	for (size_t i = 0; i < v.ntasks; i++)
		if (status_is_interrupt(v.tasks[i].status))
			todo++;
	if (!r || todo == 0 || (j && j->inflight > 0)) {
		char msg[200];
		snprintf(msg, sizeof(msg), !r ? "out of memory"
			 : todo == 0 ? "job '%s' has no failed, canceled or timed-out task to rerun"
				     : "job '%s' is busy; try the rerun again", job_id);
		reply(ctx, sched_env(r ? 1003 : 6000, msg));
		ff_free(r);
		sched_view_release(&v);
		return;
	}
	r->site = s;
	r->job = j;
	r->reply = reply;
	r->ctx = ctx;
	snprintf(r->job_status, sizeof(r->job_status), "%s", v.status);
	r->parties = ff_calloc(v.nparties ? v.nparties : 1, sizeof(*r->parties));
	if (r->parties)
		memcpy(r->parties, v.parties, v.nparties * sizeof(*r->parties));
	r->nparties = v.nparties;
	sched_job_hold(j);
	r->pending = todo + 1;
	for (size_t i = 0; i < v.ntasks; i++)
		if (status_is_interrupt(v.tasks[i].status))
			sched_retry_start(j, &v.tasks[i], false, sched_rerun_task_done, r);
	sched_rerun_task_done(r, true);
	sched_view_release(&v);
}
