// SPDX-License-Identifier: Apache-2.0
/*
 * sched_queue.c - admitting waiting jobs (spec §4.10, §5.1 step 1).
 *
 * Waiting jobs are taken by priority, then age. Each admission applies
 * the job's cores on every party, all or nothing: if one party cannot,
 * the others give theirs back and the queue stops there (strict priority:
 * a big job first in line is not starved by small ones behind it) until
 * cores are given back somewhere, which kicks the queue again. Unlike
 * FATE-Flow, which starts one job per 2 s, every job that fits is
 * admitted in one pass.
 */
#include "ff_setup.h"
#include "fault.h"
#include "log.h"
#include "mem.h"
#include "sched_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

/*
 * A pass reads at most this many waiting jobs: it usually stops at the
 * first one without cores, and a long queue read whole on every pass (one
 * per job that ends) would cost its length each time.
 */
#define SCHED_QUEUE_PAGE 32
#define SCHED_QUEUE_PAGE_SQL " LIMIT 32"

struct sched_admit {
	struct sched *sc;
	struct sched_job *job;
	char job_id[32];
	struct fed_target *targets;
	size_t ntargets;
	bool fatal;              /* a party refused for good (1006, unreachable, ...) */
	bool eager;              /* cores came with the create: not part of a queue pass */
	char error[400];
};

static void sched_queue_next(struct sched *sc);

static void sched_admit_free(struct sched_admit *a)
{
	if (a->job)
		sched_job_drop(a->job);
	ff_free(a->targets);
	ff_free(a);
}

/* starved: the pass stopped at a job the parties had no cores for. */
static void sched_queue_end(struct sched *sc, bool starved)
{
	sc->queue_starved = starved;
	for (size_t i = 0; i < sc->queue_n; i++)
		ff_free(sc->queue_ids[i]);
	FF_FREE_AND_NULL(sc->queue_ids);
	sc->queue_n = sc->queue_i = 0;
	sc->queue_busy = false;
	if (sc->queue_dirty) {
		sc->queue_dirty = false;
		sched_queue_kick(sc->site);
	}
}

static void sched_admit_started(struct fed_call *call, void *arg)
{
	struct sched_admit *a = arg;
	struct site *s = a->sc->site;
	bool changed;
	sched_set_job_status(s, a->job_id, ST_WAITING, ST_RUNNING, NULL, &changed);
	if (call && !fed_all_ok(call)) {
		char msg[300];
		fed_first_error(call, msg, sizeof(msg));
		site_joblog(s, a->job_id, FF_LOG_WARN, "job start partly failed: %s", msg);
	}
	site_joblog(s, a->job_id, FF_LOG_INFO, "job admitted and running");
	struct sched *sc = a->sc;
	bool eager = a->eager;
	if (!eager)
		sc->queue_done++;
	sched_admit_free(a); /* drops the job: its first step follows */
	if (!eager)
		sched_queue_next(sc);
}

static void sched_admit_returned(struct fed_call *call, void *arg)
{
	struct sched_admit *a = arg;
	struct sched *sc = a->sc;
	struct site *s = sc->site;
	if (a->fatal) {
		/* cannot be admitted: fail it instead of blocking the queue */
		bool changed;
		sched_set_job_status(s, a->job_id, ST_WAITING, ST_FAILED, a->error, &changed);
		site_joblog(s, a->job_id, FF_LOG_ERROR, "job failed: %s", a->error);
		json_t *b = json_pack("{s:s,s:s}", "job_id", a->job_id, "status", ST_FAILED);
		sched_send(a->job, "job/status/update", b, a->targets, a->ntargets);
		sched_admit_free(a);
		sc->queue_done++;
		sched_queue_next(sc);
		return;
	}
	site_joblog(s, a->job_id, FF_LOG_INFO, "job waits for cores: %s", a->error);
	sched_admit_free(a);
	sched_queue_end(sc, true); /* strict order: wait until cores are given back */
}

static int sched_root_party_cb(void *arg, const struct store_row *row)
{
	struct sched_admit *a = arg;
	const char *role = store_col_text(row, "f_role");
	const char *pid = store_col_text(row, "f_party_id");
	for (size_t i = 0; i < a->ntargets; i++)
		if (!strcmp(a->targets[i].role, role) && !strcmp(a->targets[i].party_id, pid))
			a->targets[i] = a->targets[--a->ntargets];
	return FF_OK;
}

/*
 * Drops from a->targets the parties that need no job/start: on a job's
 * first admission, a party of a task without producers gets that task's
 * task/resource/apply right away, and that starts the job there too
 * (party_job_begin) - one command fewer per party. Reruns and jobs that
 * inherit tasks (inherited tasks never start) keep the job/start for all.
 */
static void sched_admit_start_targets(struct sched_admit *a)
{
	struct site *s = a->sc->site;
	struct store_val k[] = { SV_TEXT(a->job_id) };
	int64_t started = 1;
	if (store_get_int(s->db, "SELECT COUNT(*) FROM t_schedule_task_status WHERE f_job_id = ?"
			  " AND (f_task_version > 0 OR f_status <> 'waiting')", k, 1, &started,
			  NULL) || started)
		return;
	/* SQLite's JSON reader: cheaper than building the whole DAG as a tree */
	int64_t inh = 1;
	if (store_get_int(s->db, "SELECT json_valid(f_dag) = 0 OR json_type(f_dag,"
			  " '$.dag.conf.inheritance') IS NOT NULL FROM t_schedule_job WHERE"
			  " f_job_id = ?", k, 1, &inh, NULL) || inh)
		return;
	store_exec(s->db, "SELECT DISTINCT t.f_role, t.f_party_id FROM t_schedule_task t JOIN"
		   " t_schedule_task_status st ON st.f_job_id = t.f_job_id AND st.f_task_id ="
		   " t.f_task_id AND st.f_task_version = t.f_task_version WHERE t.f_job_id = ? AND"
		   " st.f_dependencies = '[]'", k, 1, sched_root_party_cb, a, NULL, NULL);
}

/* Every party holds the job's cores: start it there (where needed). */
static void sched_admit_go(struct fed_call *call, struct sched_admit *a)
{
	fault_point("sched.admit");
	sched_admit_start_targets(a);
	json_t *b = json_pack("{s:s}", "job_id", a->job_id);
	if (fed_partner_fanout(a->sc->site, "job/start", b, a->targets, a->ntargets,
			       sched_admit_started, a))
		sched_admit_started(call, a);
	json_decref(b);
}

static void sched_admit_applied(struct fed_call *call, void *arg)
{
	struct sched_admit *a = arg;
	struct site *s = a->sc->site;
	if (fed_all_ok(call)) {
		sched_admit_go(call, a);
		return;
	}
	/* give back what was taken; remember why it failed */
	struct fed_target *back = ff_calloc(a->ntargets, sizeof(*back));
	size_t nback = 0;
	for (size_t i = 0; i < call->n; i++) {
		if (call->res[i].code == 0 && back)
			back[nback++] = call->res[i].target;
		else if (call->res[i].code != 1005)
			a->fatal = true; /* 1005 = not enough free cores now */
	}
	fed_first_error(call, a->error, sizeof(a->error));
	json_t *b = json_pack("{s:s}", "job_id", a->job_id);
	if (!back || fed_partner_fanout(s, "job/resource/return", b, back, nback,
					sched_admit_returned, a))
		sched_admit_returned(call, a);
	json_decref(b);
	ff_free(back);
}

struct sched_admit_row {
	struct sched_admit *a;
	bool waiting;
	int64_t cancel;
	int ret;
};

static int sched_admit_load_cb(void *arg, const struct store_row *row)
{
	struct sched_admit_row *r = arg;
	const char *status = store_col_text(row, "f_status");
	r->waiting = status && !strcmp(status, ST_WAITING);
	r->cancel = store_col_int(row, "f_cancel_signal");
	if (r->waiting)
		r->ret = sched_parties_flatten(store_col_text(row, "f_parties"), &r->a->targets,
					       &r->a->ntargets);
	return FF_OK;
}

/* Cancels a waiting job that was stopped before it was admitted. */
static void sched_cancel_waiting(struct sched *sc, struct sched_admit *a)
{
	bool changed;
	sched_set_job_status(sc->site, a->job_id, ST_WAITING, ST_CANCELED, "canceled while waiting",
			     &changed);
	site_joblog(sc->site, a->job_id, FF_LOG_INFO, "job canceled while waiting");
	json_t *b = json_pack("{s:s,s:s}", "job_id", a->job_id, "status", ST_CANCELED);
	sched_send(a->job, "job/status/update", b, a->targets, a->ntargets);
	sched_admit_free(a);
	sc->queue_done++;
}

/*
 * Loads a waiting job for its admission and holds it; NULL when it is gone,
 * no longer waiting, busy with a stop, or was canceled (then it is ended).
 */
static struct sched_admit *sched_admit_load(struct sched *sc, const char *job_id)
{
	struct site *s = sc->site;
	struct sched_admit *a = ff_calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->sc = sc;
	snprintf(a->job_id, sizeof(a->job_id), "%s", job_id);
	struct store_val k[] = { SV_TEXT(job_id) };
	struct sched_admit_row r = { .a = a };
	int ret = store_exec(s->db, "SELECT f_status, f_cancel_signal, f_parties FROM"
			     " t_schedule_job WHERE f_job_id = ?", k, 1, sched_admit_load_cb, &r,
			     NULL, NULL);
	bool waiting = !ret && !r.ret && r.waiting;
	int64_t cancel = r.cancel;
	a->job = waiting ? sched_job_get(sc, job_id) : NULL;
	if (!a->job || a->job->inflight > 0) {
		/* gone, no longer waiting, or busy with a stop: skip it this pass */
		a->job = NULL;
		sched_admit_free(a);
		return NULL;
	}
	sched_job_hold(a->job);
	if (cancel) {
		sched_cancel_waiting(sc, a);
		return NULL;
	}
	return a;
}

static bool sched_admit(struct sched *sc, const char *job_id)
{
	struct site *s = sc->site;
	struct sched_admit *a = sched_admit_load(sc, job_id);
	if (!a)
		return false;
	json_t *b = json_pack("{s:s}", "job_id", job_id);
	if (!b || fed_partner_fanout(s, "job/resource/apply", b, a->targets,
						      a->ntargets, sched_admit_applied, a)) {
		json_decref(b);
		sched_admit_free(a);
		return false;
	}
	json_decref(b);
	return true;
}

static void sched_queue_next(struct sched *sc)
{
	while (sc->queue_i < sc->queue_n) {
		const char *id = sc->queue_ids[sc->queue_i++];
		if (sched_admit(sc, id))
			return; /* continues in the admission's callbacks */
	}
	/* a full page went through: the next one follows in a pass of its own
	 * (not when every job of it was skipped: the same page would come back) */
	if (sc->queue_n == SCHED_QUEUE_PAGE && sc->queue_done > 0)
		sc->queue_dirty = true;
	sched_queue_end(sc, false);
}

static int sched_queue_load_cb(void *arg, const struct store_row *row)
{
	struct sched *sc = arg;
	char **ids = ff_realloc(sc->queue_ids, (sc->queue_n + 1) * sizeof(*ids));
	if (!ids)
		return FF_ENOMEM;
	sc->queue_ids = ids;
	ids[sc->queue_n] = ff_strdup(store_col_text(row, "f_job_id"));
	if (!ids[sc->queue_n])
		return FF_ENOMEM;
	sc->queue_n++;
	return FF_OK;
}

void sched_queue_step(struct sched *sc)
{
	struct ff_error err = FF_ERROR_INIT;
	sc->queue_busy = true;
	sc->queue_dirty = false;
	sc->queue_done = 0;
	int ret = store_exec(sc->site->db, "SELECT f_job_id FROM t_schedule_job WHERE f_status ="
			     " 'waiting' ORDER BY f_priority DESC, f_create_time ASC, f_job_id ASC"
			     SCHED_QUEUE_PAGE_SQL,
			     NULL, 0, sched_queue_load_cb, sc, NULL, &err);
	if (ret)
		ff_log(FF_LOG_ERROR, "cannot read the waiting queue: %s", ff_error_msg(&err, ret));
	sched_queue_next(sc);
}

bool sched_queue_open(struct sched *sc)
{
	return !sc->queue_starved;
}

void sched_admit_eager(struct sched *sc, const char *job_id)
{
	struct sched_admit *a = sched_admit_load(sc, job_id);
	if (!a) {
		sched_queue_kick(sc->site); /* the queue sorts it out (cores are idempotent) */
		return;
	}
	a->eager = true;
	site_joblog(sc->site, job_id, FF_LOG_INFO, "job got its cores with its creation");
	sched_admit_go(NULL, a);
}
