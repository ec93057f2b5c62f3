// SPDX-License-Identifier: Apache-2.0
/*
 * sched_run.c - one step of a running job (spec §5.1 step 2, §5.2).
 *
 * A step is a reconciliation: from the parties' task statuses it computes
 * every task's federated status (§4.5) and the job's status (§4.6),
 * records what changed (compare-and-set), tells the parties, starts every
 * task whose producers all succeeded, retries failed tasks that have
 * auto_retries left (as a new task version, without failing the job
 * first as FATE-Flow does), and ends the job when its status is final.
 * Every action it takes is recorded before it is sent, so a repeated step
 * does nothing twice.
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

static json_t *sched_task_body(const char *job_id, const struct sched_task *t)
{
	return json_pack("{s:s,s:s,s:I}", "job_id", job_id, "task_id", t->task_id,
			 "task_version", (json_int_t)t->version);
}

/* ---- starting one task ---- */

struct sched_start {
	struct sched_job *job;
	struct sched_task t;        /* copy: name, id, version, parties */
	uint64_t epoch;             /* job events when this start began */
	bool resume;                /* finishing a start cut short */
	bool folded;                /* task/start applies the task cores itself */
	bool quiet;                 /* it started everywhere: nothing for a step */
};

static void sched_start_free(struct sched_start *st)
{
	if (st->resume)
		st->job->resuming = false;
	if (st->quiet)
		sched_job_drop_quiet(st->job);
	else
		sched_job_drop(st->job);
	ff_free(st->t.parties);
	ff_free(st);
}

static void sched_start_started(struct fed_call *call, void *arg)
{
	struct sched_start *st = arg;
	struct site *s = call->site;
	bool txn = !store_txn_begin(s->db, NULL); /* one commit for every party */
	for (size_t i = 0; i < call->n; i++) {
		const struct fed_result *r = &call->res[i];
		if (r->code == 0) {
			/* it runs there (or ran): a report lost in a restart must not
			 * leave it waiting here, or its start would be resumed forever */
			sched_set_party_status(s, st->job->job_id, st->t.task_id, st->t.version,
					       r->target.role, r->target.party_id, ST_RUNNING, NULL,
					       false);
			continue;
		}
		if (r->code == 2004 && st->folded) {
			/* no task cores there after all: the party stays waiting and
			 * its start is resumed (apply, then start) after an event */
			st->job->res_blocked = true;
			st->job->blocked_epoch = st->epoch;
			site_joblog(s, st->job->job_id, FF_LOG_INFO, "task %s waits for cores on %s %s: %s",
				    st->t.name, r->target.role, r->target.party_id, r->message);
			continue;
		}
		/* the party could not start it: its part of the task failed */
		sched_set_party_status(s, st->job->job_id, st->t.task_id, st->t.version,
				       r->target.role, r->target.party_id, ST_FAILED, r->message, true);
		site_joblog(s, st->job->job_id, FF_LOG_ERROR, "task %s cannot start on %s %s: %s",
			    st->t.name, r->target.role, r->target.party_id, r->message);
	}
	if (txn && store_txn_commit(s->db, NULL))
		ff_log(FF_LOG_ERROR, "cannot record the start of a task of job_id=%s",
		       st->job->job_id);
	/* running everywhere: the next thing to look at is a report; what the
	 * step after this start would do is watch the other sites */
	bool remote = false;
	for (size_t i = 0; i < st->t.nparties; i++)
		remote |= !site_is_local_party(s, st->t.parties[i].party_id);
	/* not when a report came in meanwhile (sched_note): it may have been
	 * the last one, waiting for this start to be recorded */
	st->quiet = fed_all_ok(call) && !st->resume && !st->job->res_blocked &&
		    st->job->events == st->epoch;
	if (st->quiet && (remote || !strcmp(st->t.sync_type, "poll")))
		sched_poll_arm(st->job, !strcmp(st->t.sync_type, "poll"));
	sched_start_free(st);
}

static void sched_start_returned(struct fed_call *call, void *arg)
{
	sched_start_free(arg);
}

/*
 * Sends task/start to every party of the start. It carries the federated
 * status (FATE syncs it first, in a command of its own) and, when folded,
 * "apply": the party takes the task cores in the same transaction as its
 * claim, which saves a task/resource/apply per party.
 */
static void sched_start_send(struct site *s, struct sched_start *st)
{
	bool changed;
	st->job->res_blocked = false; /* cores were there: start freely again */
	st->job->single_start = false;
	st->job->single_failed = false;
	sched_set_task_status(s, st->job->job_id, st->t.task_id, st->t.version, ST_WAITING,
			      ST_RUNNING, &changed);
	fault_point("sched.start");
	json_t *b = sched_task_body(st->job->job_id, &st->t);
	json_object_set_new(b, "status", json_string(ST_RUNNING));
	if (st->folded)
		json_object_set_new(b, "apply", json_true());
	if (!b || fed_partner_fanout(s, "task/start", b, st->t.parties, st->t.nparties,
				     sched_start_started, st))
		sched_start_free(st);
	json_decref(b);
}

static void sched_start_applied(struct fed_call *call, void *arg)
{
	struct sched_start *st = arg;
	struct site *s = call->site;
	if (fed_all_ok(call)) {
		sched_start_send(s, st);
		return;
	}
	struct fed_target *back = ff_calloc(call->n, sizeof(*back));
	size_t nback = 0;
	for (size_t i = 0; i < call->n; i++) {
		const struct fed_result *r = &call->res[i];
		if (r->code == 0) {
			if (back)
				back[nback++] = r->target;
		} else if (r->code == 2004) {
			/* wait for cores, unless an event came in since this start began */
			st->job->res_blocked = true;
			st->job->blocked_epoch = st->epoch;
			if (st->job->single_start)
				st->job->single_failed = true;
		} else {
			sched_set_party_status(s, st->job->job_id, st->t.task_id, st->t.version,
					       r->target.role, r->target.party_id, ST_FAILED, r->message,
					       true);
			site_joblog(s, st->job->job_id, FF_LOG_ERROR,
				    "task %s cannot get cores on %s %s: %s", st->t.name,
				    r->target.role, r->target.party_id, r->message);
		}
	}
	json_t *b = sched_task_body(st->job->job_id, &st->t);
	if (!back || fed_partner_fanout(s, "task/resource/return", b, back, nback,
					sched_start_returned, st))
		sched_start_free(st);
	json_decref(b);
	ff_free(back);
}

/*
 * Starts a task: task/resource/apply on every party, all or nothing, then
 * task/start. folded: task/start alone, each party applying its task cores
 * as it claims the task - only when no other task of the job holds cores
 * anywhere (sched_step), so the apply cannot fail for want of the cores
 * of a sibling task.
 */
static void sched_start_task(struct sched_job *j, const struct sched_task *t, bool resume,
			     bool folded)
{
	struct sched_start *st = ff_calloc(1, sizeof(*st));
	if (!st)
		return;
	st->resume = resume;
	j->resuming |= resume;
	st->t = *t;
	st->t.deps = NULL;
	st->t.party_status = NULL;
	st->t.parties = ff_calloc(t->nparties ? t->nparties : 1, sizeof(*t->parties));
	if (!st->t.parties) {
		ff_free(st);
		return;
	}
	memcpy(st->t.parties, t->parties, t->nparties * sizeof(*t->parties));
	st->job = j;
	st->epoch = j->events;
	st->folded = folded;
	sched_job_hold(j);
	if (folded) {
		sched_start_send(j->sched->site, st);
		return;
	}
	json_t *b = sched_task_body(j->job_id, t);
	if (fed_partner_fanout(j->sched->site, "task/resource/apply", b, st->t.parties,
			       st->t.nparties, sched_start_applied, st))
		sched_start_free(st);
	json_decref(b);
}

static void sched_resume_start(struct sched_job *j, const struct sched_task *t)
{
	struct sched_task sub = *t;
	struct fed_target tg[64];
	if (j->resuming)
		return; /* one resumed start at a time; its answers update the view */
	sub.nparties = 0;
	for (size_t k = 0; k < t->nparties && sub.nparties < FF_ARRAY_SIZE(tg); k++)
		if (!strcmp(t->party_status[k], ST_WAITING))
			tg[sub.nparties++] = t->parties[k];
	if (!sub.nparties)
		return;
	sub.parties = tg;
	site_joblog(j->sched->site, j->job_id, FF_LOG_INFO,
		    "task %s: resuming its start on %zu parties", t->name, sub.nparties);
	sched_start_task(j, &sub, true, false);
}

/* ---- the step ---- */

static bool sched_deps_done(struct sched_view *v, const struct sched_task *t)
{
	size_t i;
	json_t *d;
	json_array_foreach(t->deps, i, d) {
		const struct sched_task *p = sched_view_task(v, json_string_value(d));
		if (!p || !status_is_success(p->fed_status))
			return false;
	}
	return true;
}

/* Whether a task of the job runs (or is being started) at some party. */
static bool sched_any_live(const struct sched_view *v)
{
	for (size_t i = 0; i < v->ntasks; i++) {
		const struct sched_task *t = &v->tasks[i];
		if (!strcmp(t->fed_status, ST_RUNNING))
			return true;
		for (size_t k = 0; k < t->nparties; k++)
			if (!status_is_end(t->party_status[k]) &&
			    strcmp(t->party_status[k], ST_WAITING))
				return true;
	}
	return false;
}

/* Waiting (recorded and computed) with every producer done. */
static bool sched_task_ready(struct sched_view *v, const struct sched_task *t)
{
	return !strcmp(t->fed_status, ST_WAITING) && !strcmp(t->status, ST_WAITING) &&
	       sched_deps_done(v, t);
}

/* Starts the step's ready tasks (n of them, from index first), after its commit. */
static void sched_step_starts(struct sched_job *j, struct sched_view *v, size_t first, size_t n,
			      bool folded)
{
	for (size_t i = first; n > 0 && i < v->ntasks; i++) {
		struct sched_task *t = &v->tasks[i];
		if (!sched_task_ready(v, t))
			continue;
		sched_start_task(j, t, false, folded);
		n--;
	}
}

/* Parties of t whose status is not final (they still need a stop). */
static size_t sched_live_parties(const struct sched_task *t, struct fed_target *out)
{
	size_t n = 0;
	for (size_t i = 0; i < t->nparties; i++)
		if (!status_is_end(t->party_status[i]))
			out[n++] = t->parties[i];
	return n;
}

/* Records a task's new federated status; false when the table refused it. */
static bool sched_task_changed(struct sched_job *j, struct sched_task *t)
{
	struct site *s = j->sched->site;
	bool changed;
	sched_set_task_status(s, j->job_id, t->task_id, t->version, t->status, t->fed_status,
			      &changed);
	if (!changed) {
		t->fed_status = t->status; /* a move the table refuses: keep what is stored */
		return false;
	}
	site_joblog(s, j->job_id, status_is_interrupt(t->fed_status) ? FF_LOG_WARN : FF_LOG_INFO,
		    "task %s version %lld: %s -> %s", t->name, t->version, t->status, t->fed_status);
	return true;
}

/*
 * Tells the parties a task's new federated status (unless the job ends in
 * this step: its end carries every task's status, see sched_finish_sync),
 * and stops the task where it still runs once it ended.
 */
static void sched_task_announce(struct sched_job *j, const struct sched_task *t,
				bool job_ends)
{
	json_t *b;
	if (!job_ends) {
		b = sched_task_body(j->job_id, t);
		json_object_set_new(b, "status", json_string(t->fed_status));
		sched_send(j, "task/status/update", b, t->parties, t->nparties);
	}
	if (!status_is_end(t->fed_status) || t->nparties == 0)
		return;
	struct fed_target *live = ff_calloc(t->nparties, sizeof(*live));
	size_t n = live ? sched_live_parties(t, live) : 0;
	if (n) {
		char reason[300] = "";
		for (size_t i = 0; i < t->nparties && !reason[0]; i++)
			if (status_is_interrupt(t->party_status[i]))
				snprintf(reason, sizeof(reason), "task %s ended %s on %s %s", t->name,
					 t->party_status[i], t->parties[i].role, t->parties[i].party_id);
		b = sched_task_body(j->job_id, t);
		json_object_set_new(b, "status", json_string(t->fed_status));
		if (reason[0])
			json_object_set_new(b, "reason", json_string(reason));
		sched_send(j, "task/stop", b, live, n);
	}
	ff_free(live);
}

/* tell: false when the job ends in this step (its end status carries it). */
static void sched_progress(struct sched_job *j, struct sched_view *v, bool tell)
{
	size_t done = 0;
	for (size_t i = 0; i < v->ntasks; i++)
		if (status_is_end(v->tasks[i].fed_status))
			done++;
	long long p = v->ntasks ? (long long)(done * 100 / v->ntasks) : 100;
	if (p <= v->progress)
		return;
	struct store_val a[] = { SV_INT(p), SV_INT(clock_now_ms()), SV_TEXT(j->job_id), SV_INT(p) };
	store_exec(j->sched->site->db, "UPDATE t_schedule_job SET f_progress = ?, f_update_time = ?"
		   " WHERE f_job_id = ? AND f_progress < ?", a, 4, NULL, NULL, NULL, NULL);
	if (!tell)
		return;
	json_t *b = json_pack("{s:s,s:I}", "job_id", j->job_id, "progress", (json_int_t)p);
	sched_send(j, "job/update", b, v->parties, v->nparties);
}

void sched_step(struct sched_job *j)
{
	struct site *s = j->sched->site;
	struct sched_view v;
	struct ff_error err = FF_ERROR_INIT;
	int ret = sched_view_load(s, j->job_id, &v, &err);
	if (ret) {
		if (ret != FF_ENOJOB)
			ff_log(FF_LOG_ERROR, "job step failed job_id=%s: %s", j->job_id,
			       ff_error_msg(&err, ret));
		return;
	}
	if (strcmp(v.status, ST_RUNNING)) {
		/* waiting jobs belong to the queue, which cores given back wake */
		sched_view_release(&v);
		return;
	}
	/*
	 * What a step records, and what the commands it runs in process on
	 * this site's parties record, commit once, at its end: before any of
	 * its commands leaves for another site (they are sent from the loop).
	 * A step never starts a task process itself: task/start is sent from
	 * the answer of the task's resource apply, outside any transaction.
	 */
	bool txn = !store_txn_begin(s->db, NULL);
	bool interrupt = false, poll = false;
	const char **fed = ff_calloc(v.ntasks ? v.ntasks : 1, sizeof(*fed));
	bool *changed = ff_calloc(v.ntasks ? v.ntasks : 1, sizeof(*changed));
	if (!changed) {
		ff_free(fed);
		fed = NULL; /* out of memory: the sweep steps the job again */
	}
	for (size_t i = 0; fed && i < v.ntasks; i++) {
		struct sched_task *t = &v.tasks[i];
		const char **ps = ff_calloc(t->nparties ? t->nparties : 1, sizeof(*ps));
		for (size_t k = 0; ps && k < t->nparties; k++)
			ps[k] = t->party_status[k];
		t->fed_status = ps ? status_federated_task(ps, t->nparties) : NULL;
		ff_free(ps);
		if (!t->fed_status)
			t->fed_status = t->status;
		changed[i] = strcmp(t->fed_status, t->status) && sched_task_changed(j, t);
		if (!strcmp(t->sync_type, "poll") && !status_is_end(t->fed_status))
			poll = true;
		bool retry = !v.cancel && t->auto_retries > 0 &&
			     (!strcmp(t->fed_status, ST_FAILED) || !strcmp(t->fed_status, ST_TIMEOUT));
		if (retry) {
			sched_retry_task(j, t, true);
			fed[i] = ST_WAITING;
			continue;
		}
		interrupt |= status_is_interrupt(t->fed_status);
		fed[i] = t->fed_status;
	}
	/*
	 * Ready tasks start together unless starts of this job found no free
	 * task cores: then nothing starts until an event came in, and after
	 * it one task at a time, so two tasks can never each hold the cores
	 * of one party and both fail (FATE starts one task at a time always).
	 */
	bool running = false;
	for (size_t i = 0; fed && i < v.ntasks; i++)
		running |= !strcmp(v.tasks[i].fed_status, ST_RUNNING);
	/* waiting only helps when a running task will end and give cores back;
	 * otherwise the starts only got in each other's way: go one by one now.
	 * A single start that still finds no cores waits for the sweep. */
	bool blocked = j->res_blocked && j->blocked_epoch == j->events &&
		       (running || j->single_failed);
	bool single = j->res_blocked;
	/* a start cut short (by a restart, or a lost command): finish it for the
	 * parties that never started; their start is idempotent. Not while a
	 * start waits for cores and nothing happened since: it would find none */
	bool stalled = j->res_blocked && j->blocked_epoch == j->events;
	for (size_t i = 0; fed && !v.cancel && !stalled && i < v.ntasks; i++)
		if (!strcmp(v.tasks[i].status, ST_RUNNING))
			sched_resume_start(j, &v.tasks[i]);
	enum status_sched_code code = STATUS_SCHED_NO_NEXT;
	size_t nready = 0, first = 0;
	for (size_t i = 0; fed && !v.cancel && !interrupt && i < v.ntasks; i++) {
		if (!sched_task_ready(&v, &v.tasks[i]))
			continue;
		code = STATUS_SCHED_HAVE_NEXT;
		if (blocked)
			continue;
		if (!nready++)
			first = i;
		if (single) {
			blocked = true; /* one at a time */
			j->single_start = true;
		}
	}
	/* one task to start and no task of the job live anywhere: its start
	 * applies the cores itself (sent after this step's commit, as a start
	 * must not be inside a transaction: sched_step_starts) */
	bool folded = nready == 1 && !single && !j->resuming && !sched_any_live(&v);
	const char *job_status = fed ? status_job_from_tasks(fed, v.ntasks, code, v.cancel) : NULL;
	bool ends = job_status && status_is_end(job_status);
	for (size_t i = 0; changed && i < v.ntasks; i++)
		if (changed[i])
			sched_task_announce(j, &v.tasks[i], ends);
	sched_progress(j, &v, !ends);
	bool remote = false;
	for (size_t i = 0; i < v.ntasks && !remote; i++)
		for (size_t k = 0; k < v.tasks[i].nparties && !strcmp(v.tasks[i].status, ST_RUNNING);
		     k++)
			remote |= !site_is_local_party(s, v.tasks[i].parties[k].party_id);
	if (ends) {
		char reason[600] = "";
		if (status_is_interrupt(job_status))
			sched_failure_reason(s, j->job_id, reason, sizeof(reason));
		sched_finish_job(j, &v, job_status, reason[0] ? reason : NULL);
	}
	else if (poll || remote) {
		sched_poll_arm(j, poll);
	}
	ff_free(fed);
	ff_free(changed);
	if (txn && store_txn_commit(s->db, NULL))
		ff_log(FF_LOG_ERROR, "cannot commit the step of job_id=%s", j->job_id);
	sched_step_starts(j, &v, first, nready, folded);
	sched_view_release(&v);
}

/* ---- poll sync mode, and liveness of other sites in callback mode ---- */

void sched_poll_arm(struct sched_job *j, bool poll)
{
	struct site *s = j->sched->site;
	if (j->poll_active)
		return;
	/* poll mode collects statuses; callback mode still checks that the
	 * other sites are alive, so a vanished site fails the job */
	j->poll_active = true;
	ev_timer_start(s->loop, &j->poll_timer,
		       poll ? s->cfg.poll_interval_ms : s->cfg.liveness_interval_ms);
}

struct sched_poll {
	struct sched_job *job;
	size_t pending;
};

struct sched_poll_task {
	struct sched_poll *poll;
	char task_id[128];
	long long version;
};

static void sched_poll_release(struct sched_poll *p)
{
	if (--p->pending)
		return;
	sched_job_drop(p->job);
	ff_free(p);
}

static void sched_poll_done(struct fed_call *call, void *arg)
{
	struct sched_poll_task *pt = arg;
	struct sched_poll *p = pt->poll;
	for (size_t i = 0; i < call->n; i++) {
		const struct fed_result *r = &call->res[i];
		json_t *d = json_object_get(r->resp, "data");
		const char *st = jsonx_str(d, "party_status");
		if (r->code == 104) {
			/* the site is gone: its part of the task failed */
			sched_set_party_status(call->site, p->job->job_id, pt->task_id, pt->version,
					       r->target.role, r->target.party_id, ST_FAILED, r->message,
					       true);
			site_joblog(call->site, p->job->job_id, FF_LOG_ERROR, "%s", r->message);
			continue;
		}
		if (r->code || !st)
			continue;
		sched_set_party_status(call->site, p->job->job_id, pt->task_id, pt->version,
				       r->target.role, r->target.party_id, st,
				       jsonx_str(d, "error_report"), false);
	}
	ff_free(pt);
	sched_poll_release(p);
}

/* Collects the statuses of the running tasks (poll mode: every party;
 * callback mode: only parties at other sites, to notice a dead site). */
void sched_poll_start(struct sched_job *j)
{
	struct site *s = j->sched->site;
	struct sched_view v;
	if (sched_view_load(s, j->job_id, &v, NULL))
		return;
	struct sched_poll *p = ff_calloc(1, sizeof(*p));
	if (!p || strcmp(v.status, ST_RUNNING)) {
		ff_free(p);
		sched_view_release(&v);
		return;
	}
	p->job = j;
	p->pending = 1; /* guard until every fan-out is issued */
	sched_job_hold(j);
	for (size_t i = 0; i < v.ntasks; i++) {
		struct sched_task *t = &v.tasks[i];
		if (strcmp(t->status, ST_RUNNING))
			continue;
		bool poll = !strcmp(t->sync_type, "poll");
		struct fed_target *tg = ff_calloc(t->nparties ? t->nparties : 1, sizeof(*tg));
		size_t n = 0;
		for (size_t k = 0; tg && k < t->nparties; k++)
			if (poll || !site_is_local_party(s, t->parties[k].party_id))
				tg[n++] = t->parties[k];
		struct sched_poll_task *pt = n ? ff_calloc(1, sizeof(*pt)) : NULL;
		if (pt) {
			pt->poll = p;
			snprintf(pt->task_id, sizeof(pt->task_id), "%s", t->task_id);
			pt->version = t->version;
			json_t *b = sched_task_body(j->job_id, t);
			p->pending++;
			if (fed_partner_fanout(s, "task/collect", b, tg, n, sched_poll_done, pt)) {
				p->pending--;
				ff_free(pt);
			}
			json_decref(b);
		}
		ff_free(tg);
	}
	sched_poll_release(p);
	sched_view_release(&v);
}
