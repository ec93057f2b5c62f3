// SPDX-License-Identifier: Apache-2.0
/*
 * sched.c - job actors, kicks, command dispatch, task reports, the sweep.
 */
#include "ff_setup.h"
#include "clock.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "party/party.h"
#include "sched_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

static size_t sched_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)(h % 1024);
}

static void sched_poll_cb(struct ev_timer *t);

struct sched_job *sched_job_get(struct sched *sc, const char *job_id)
{
	size_t b = sched_hash(job_id);
	for (struct sched_job *j = sc->buckets[b]; j; j = j->next)
		if (!strcmp(j->job_id, job_id))
			return j;
	struct sched_job *j = ff_calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->sched = sc;
	snprintf(j->job_id, sizeof(j->job_id), "%s", job_id);
	ev_timer_init(&j->poll_timer, sched_poll_cb);
	j->next = sc->buckets[b];
	sc->buckets[b] = j;
	sc->njobs++;
	return j;
}

static void sched_job_forget(struct sched_job *j)
{
	struct sched *sc = j->sched;
	struct sched_job **pp = &sc->buckets[sched_hash(j->job_id)];
	for (; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	ev_timer_stop(sc->site->loop, &j->poll_timer);
	sc->njobs--;
	ff_free(j);
}

/*
 * Runs a wanted step (dirty) once no sequence holds the job, and forgets a
 * job that needs nothing more (no sequence, no step, no timer). Queued by
 * kicks and by the end of every sequence (sched_job_release).
 */
static void sched_step_defer(struct ev_defer *d)
{
	struct sched_job *j = ff_container_of(d, struct sched_job, step_defer);
	j->step_queued = false;
	if (j->inflight > 0)
		return; /* the last sequence to end queues it again */
	if (j->dirty) {
		j->dirty = false;
		sched_step(j);
	}
	/* a step that started nothing and needs no timer can be forgotten */
	if (j->inflight == 0 && !j->dirty && !j->step_queued && !j->poll_active)
		sched_job_forget(j);
}

static void sched_job_queue(struct sched_job *j)
{
	if (!j->step_queued) {
		j->step_queued = true;
		ev_defer(j->sched->site->loop, &j->step_defer, sched_step_defer);
	}
}

void sched_kick(struct site *s, const char *job_id)
{
	struct sched_job *j = sched_job_get(s->sched, job_id);
	if (!j)
		return;
	j->events++; /* something happened: cores may be free again */
	j->single_failed = false;
	j->dirty = true;
	if (j->inflight == 0)
		sched_job_queue(j);
}

void sched_note(struct site *s, const char *job_id)
{
	size_t b = sched_hash(job_id);
	for (struct sched_job *j = s->sched->buckets[b]; j; j = j->next)
		if (!strcmp(j->job_id, job_id)) {
			j->events++;
			j->single_failed = false;
			return;
		}
}

void sched_job_hold(struct sched_job *j)
{
	j->inflight++;
}

static void sched_job_release(struct sched_job *j)
{
	ff_assert(j->inflight > 0);
	if (--j->inflight == 0)
		sched_job_queue(j);
}

void sched_job_drop(struct sched_job *j)
{
	j->dirty = true; /* the sequence that held the job ended: look again */
	sched_job_release(j);
}

void sched_job_drop_quiet(struct sched_job *j)
{
	sched_job_release(j);
}

static void sched_queue_defer(struct ev_defer *d)
{
	struct sched *sc = ff_container_of(d, struct sched, queue_defer);
	sc->queue_queued = false;
	if (sc->queue_busy) {
		sc->queue_dirty = true;
		return;
	}
	sched_queue_step(sc);
}

void sched_queue_kick(struct site *s)
{
	struct sched *sc = s->sched;
	if (sc->queue_busy) {
		sc->queue_dirty = true;
		return;
	}
	if (!sc->queue_queued) {
		sc->queue_queued = true;
		ev_defer(s->loop, &sc->queue_defer, sched_queue_defer);
	}
}

json_t *sched_env(int code, const char *message)
{
	return json_pack("{s:i,s:s}", "code", code, "message", message);
}

static int sched_live_party_cb(void *arg, const struct store_row *row)
{
	if (!status_is_end(store_col_text(row, "f_status")))
		*(bool *)arg = true;
	return FF_OK;
}

/*
 * A party's success while another party of the task still runs changes
 * nothing a step acts on (the task stays running): the report of the
 * last party steps the job. Every other report does at once.
 */
static bool sched_report_needs_step(struct site *s, const struct party_task_key *k,
				    const char *status)
{
	bool live = false;
	if (strcmp(status, ST_SUCCESS))
		return true;
	struct store_val a[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version) };
	if (store_exec(s->db, "SELECT f_status FROM t_schedule_task WHERE f_job_id = ? AND"
		       " f_task_id = ? AND f_task_version = ?", a, 3, sched_live_party_cb, &live,
		       NULL, NULL))
		return true;
	return !live;
}

/* Callback sync mode: a party reports a task's party status. */
static void sched_task_report(struct site *s, const json_t *body, fed_reply_fn reply, void *ctx)
{
	struct party_task_key k;
	struct ff_error err = FF_ERROR_INIT;
	int ret = party_key_from_json(body, &k, &err);
	const char *status = jsonx_str(body, "status");
	if (!ret && !status_is_task(status))
		ret = ff_error_set(&err, FF_EPARAM, "invalid task status '%s'", status ? status : "");
	if (!ret)
		ret = sched_set_party_status(s, k.job_id, k.task_id, k.version, k.role, k.party_id,
					     status, jsonx_str(body, "error"), false);
	if (ret) {
		reply(ctx, sched_env(ff_api_code(ret == FF_EPARAM ? ret : FF_ETASKUPDATE),
				     ff_error_msg(&err, ret)));
		return;
	}
	/* a party that was cut off reports a task of a job that ended meanwhile:
	 * tell it to stop that task */
	char *job_status = NULL;
	struct store_val a[] = { SV_TEXT(k.job_id) };
	store_get_text(s->db, "SELECT f_status FROM t_schedule_job WHERE f_job_id = ?", a, 1,
		       &job_status, NULL);
	json_t *env = sched_env(0, "success");
	if (job_status && status_is_end(job_status) && !status_is_end(status)) {
		json_object_set_new(env, "data", json_pack("{s:b,s:s}", "stop", 1, "status",
							   status_is_interrupt(job_status) ? job_status
											   : ST_CANCELED));
		site_joblog(s, k.job_id, FF_LOG_WARN, "%s %s reported task %s %s after the job ended "
			    "(%s): told to stop it", k.role, k.party_id, k.task_id, status, job_status);
	}
	ff_free(job_status);
	if (sched_report_needs_step(s, &k, status))
		sched_kick(s, k.job_id);
	else
		sched_note(s, k.job_id);
	reply(ctx, env);
}

void sched_command(struct site *s, const char *command, const json_t *body,
		   fed_reply_fn reply, void *ctx)
{
	if (!strcmp(command, "job/create"))
		sched_create_job(s, body, reply, ctx);
	else if (!strcmp(command, "task/report"))
		sched_task_report(s, body, reply, ctx);
	else if (!strcmp(command, "job/stop"))
		sched_stop_job(s, body, reply, ctx);
	else if (!strcmp(command, "job/rerun"))
		sched_rerun_job(s, body, reply, ctx);
	else if (!strcmp(command, "queue/kick")) {
		/* a party gave cores back: jobs waiting here may fit now */
		sched_queue_kick(s);
		reply(ctx, sched_env(0, "success"));
	}
	else if (!strcmp(command, "party/back")) {
		/* a party restarted: what it missed meanwhile, it hears now */
		sched_sweep(s);
		reply(ctx, sched_env(0, "success"));
	}
	else {
		char msg[160];
		snprintf(msg, sizeof(msg), "unknown scheduler command '%s'", command);
		reply(ctx, sched_env(6000, msg));
	}
}

static int sched_sweep_cb(void *arg, const struct store_row *row)
{
	struct site *s = arg;
	sched_kick(s, store_col_text(row, "f_job_id"));
	return FF_OK;
}

static void sched_resync_ended(struct site *s);

void sched_sweep(struct site *s)
{
	struct ff_error err = FF_ERROR_INIT;
	int ret = store_exec(s->db, "SELECT f_job_id FROM t_schedule_job WHERE f_status ="
			     " 'running' OR f_rerun_signal = 1", NULL, 0, sched_sweep_cb, s,
			     NULL, &err);
	if (ret)
		ff_log(FF_LOG_ERROR, "scheduler sweep failed: %s", ff_error_msg(&err, ret));
	sched_resync_ended(s);
	sched_queue_kick(s);
}

static int sched_ids_cb(void *arg, const struct store_row *row)
{
	json_t *ids = arg;
	json_array_append_new(ids, json_string(store_col_text(row, "f_job_id")));
	return FF_OK;
}

/* Runs fn on each job sql selects (job ids in its first column). */
static void sched_each_job(struct site *s, const char *sql,
			   void (*fn)(struct sched_job *j, const struct sched_view *v))
{
	json_t *ids = json_array();
	store_exec(s->db, sql, NULL, 0, sched_ids_cb, ids, NULL, NULL);
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		struct sched_view v;
		if (sched_view_load(s, json_string_value(id), &v, NULL))
			continue;
		struct sched_job *j = sched_job_get(s->sched, v.job_id);
		if (j)
			fn(j, &v);
		sched_view_release(&v);
	}
	json_decref(ids);
}

static void sched_recover_created(struct sched_job *j, const struct sched_view *v)
{
	sched_finish_job(j, v, ST_FAILED, "fedflowd restarted while the job was being created;"
			 " submit it again");
}

static void sched_resync_one(struct sched_job *j, const struct sched_view *v)
{
	sched_finish_sync(j, v, v->status, NULL);
}

/*
 * Ended jobs some party has not heard the end of (it was down or out of
 * reach): tell them again. Runs after a restart, on each sweep and when a
 * party says it is back; gives up on jobs ended over a day ago.
 */
static void sched_resync_ended(struct site *s)
{
	char sql[300];
	snprintf(sql, sizeof(sql), "SELECT f_job_id FROM t_schedule_job WHERE f_status IN"
		 " ('success', 'failed', 'canceled', 'timeout') AND f_end_scheduling_updates = 0"
		 " AND COALESCE(f_end_time, 0) > %lld", (long long)(clock_now_ms() - 86400000LL));
	sched_each_job(s, sql, sched_resync_one);
}

void sched_recover(struct site *s)
{
	sched_each_job(s, "SELECT f_job_id FROM t_schedule_job WHERE f_status = 'ready'",
		       sched_recover_created);
	sched_sweep(s);
}

static void sched_sweep_timer(struct ev_timer *t)
{
	struct sched *sc = ff_container_of(t, struct sched, sweep_timer);
	sched_sweep(sc->site);
	ev_timer_start(sc->site->loop, t, sc->site->cfg.sweep_interval_ms);
}

static void sched_on_free(struct site *s)
{
	sched_queue_kick(s);
}

int sched_init(struct site *s, struct ff_error *err)
{
	s->sched = ff_calloc(1, sizeof(*s->sched));
	if (!s->sched)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	s->sched->site = s;
	ev_timer_init(&s->sched->sweep_timer, sched_sweep_timer);
	ev_timer_start(s->loop, &s->sched->sweep_timer, s->cfg.sweep_interval_ms);
	party_on_resource_free(s, sched_on_free);
	return FF_OK;
}

void sched_release(struct site *s)
{
	struct sched *sc = s->sched;
	if (!sc)
		return;
	ev_timer_stop(s->loop, &sc->sweep_timer);
	for (size_t i = 0; i < FF_ARRAY_SIZE(sc->buckets); i++) {
		struct sched_job *j = sc->buckets[i];
		while (j) {
			struct sched_job *n = j->next;
			ev_timer_stop(s->loop, &j->poll_timer);
			ff_free(j);
			j = n;
		}
	}
	for (size_t i = 0; i < sc->queue_n; i++)
		ff_free(sc->queue_ids[i]);
	ff_free(sc->queue_ids);
	FF_FREE_AND_NULL(s->sched);
}

/* ---- fire-and-forget fan-out holding the job ---- */

struct sched_send_ctx {
	struct sched_job *job;
};

static void sched_send_done(struct fed_call *c, void *arg)
{
	struct sched_job *j = arg;
	if (!fed_all_ok(c)) {
		char msg[300];
		fed_first_error(c, msg, sizeof(msg));
		site_joblog(c->site, j->job_id, FF_LOG_WARN, "command %s failed: %s", c->endpoint, msg);
		sched_job_drop(j);
		return;
	}
	sched_job_drop_quiet(j); /* told: nothing new to look at */
}

void sched_send(struct sched_job *j, const char *command, json_t *body,
		const struct fed_target *t, size_t n)
{
	sched_job_hold(j);
	if (fed_partner_fanout(j->sched->site, command, body, t, n, sched_send_done, j))
		sched_job_drop(j);
	json_decref(body);
}

/* ---- poll sync mode ---- */

static void sched_poll_cb(struct ev_timer *t)
{
	struct sched_job *j = ff_container_of(t, struct sched_job, poll_timer);
	j->poll_active = false;
	sched_poll_start(j);
}
