// SPDX-License-Identifier: Apache-2.0
/*
 * sched_create.c - creating a job on every party (spec §5.5b):
 * validate and resolve the DAG, record the scheduler's rows, send
 * job/create to every party (which creates it waiting), then record the
 * task plan and move the scheduler's row to waiting. A failure anywhere
 * fails the job everywhere with a message naming the party.
 */
#include "ff_setup.h"
#include "clock.h"
#include "dag/dag.h"
#include "fault.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "provider/provider.h"
#include "sched_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

struct sched_create {
	struct site *site;
	struct dag_job *dag;
	char job_id[32];
	json_t *body;               /* what every party gets */
	struct fed_target *targets;
	size_t ntargets;
	fed_reply_fn reply;
	void *ctx;
	bool eager;                 /* job/create also applies the job's cores */
	char error[600];
};

static void sched_create_free(struct sched_create *c)
{
	dag_job_free(c->dag);
	json_decref(c->body);
	ff_free(c->targets);
	ff_free(c);
}

static int sched_create_targets(struct sched_create *c)
{
	c->targets = ff_calloc(c->dag->nparties ? c->dag->nparties : 1, sizeof(*c->targets));
	if (!c->targets)
		return FF_ENOMEM;
	for (size_t i = 0; i < c->dag->nparties; i++) {
		snprintf(c->targets[i].role, sizeof(c->targets[i].role), "%s", c->dag->parties[i].role);
		snprintf(c->targets[i].party_id, sizeof(c->targets[i].party_id), "%s",
			 c->dag->parties[i].party_id);
	}
	c->ntargets = c->dag->nparties;
	return FF_OK;
}

static int sched_insert_job(struct sched_create *c, struct ff_error *err)
{
	struct dag_job *d = c->dag;
	char *dag_s = jsonx_dumps(d->schema);
	char *parties_s = jsonx_dumps(jsonx_path(d->schema, "dag.parties"));
	int64_t now = clock_now_ms();
	struct store_val a[] = {
		SV_TEXT(c->job_id), SV_INT(d->priority), SV_TEXT(dag_s), SV_TEXT(parties_s),
		SV_TEXT(d->initiator_party_id), SV_TEXT(d->scheduler_party_id),
		SV_INT(d->job_cores), SV_TEXT(d->sync_type), SV_INT(now), SV_INT(now),
	};
	int ret = dag_s && parties_s ? store_exec(c->site->db,
		"INSERT INTO t_schedule_job (f_job_id, f_priority, f_dag, f_parties,"
		" f_initiator_party_id, f_scheduler_party_id, f_status, f_cores, f_sync_type,"
		" f_create_time, f_update_time) VALUES (?, ?, ?, ?, ?, ?, 'ready', ?, ?, ?, ?)",
		a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err) : FF_ENOMEM;
	ff_free(dag_s);
	ff_free(parties_s);
	return ret;
}

static int sched_insert_task(struct sched_create *c, size_t seq, int64_t now,
			     struct ff_error *err)
{
	const struct dag_task *t = &c->dag->tasks[seq];
	char task_id[128];
	snprintf(task_id, sizeof(task_id), "%s_%s", c->job_id, t->name);
	json_t *deps = json_array();
	for (size_t i = 0; i < t->ndeps; i++)
		json_array_append_new(deps, json_string(t->deps[i]));
	char *deps_s = jsonx_dumps(deps);
	json_decref(deps);
	struct store_val a[] = { SV_TEXT(c->job_id), SV_TEXT(task_id), SV_TEXT(t->name),
				 SV_INT(c->dag->auto_retries), SV_TEXT(c->dag->sync_type),
				 SV_INT((int64_t)seq), SV_TEXT(deps_s), SV_INT(now), SV_INT(now) };
	int ret = deps_s ? store_exec(c->site->db,
		"INSERT INTO t_schedule_task_status (f_job_id, f_task_id, f_task_version,"
		" f_task_name, f_status, f_auto_retries, f_sync_type, f_seq, f_dependencies,"
		" f_create_time, f_update_time) VALUES (?, ?, 0, ?, 'waiting', ?, ?, ?, ?, ?, ?)",
		a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err) : FF_ENOMEM;
	ff_free(deps_s);
	for (size_t i = 0; !ret && i < t->nptasks; i++) {
		struct store_val b[] = { SV_TEXT(c->job_id), SV_TEXT(task_id),
					 SV_TEXT(t->ptasks[i].party.role),
					 SV_TEXT(t->ptasks[i].party.party_id), SV_TEXT(t->name),
					 SV_TEXT(t->component), SV_INT(now), SV_INT(now) };
		ret = store_exec(c->site->db,
			"INSERT INTO t_schedule_task (f_job_id, f_task_id, f_task_version, f_role,"
			" f_party_id, f_task_name, f_component, f_status, f_create_time,"
			" f_update_time) VALUES (?, ?, 0, ?, ?, ?, ?, 'waiting', ?, ?)",
			b, FF_ARRAY_SIZE(b), NULL, NULL, NULL, err);
	}
	return ret;
}

static int sched_insert_tasks(struct sched_create *c, struct ff_error *err)
{
	int64_t now = clock_now_ms();
	int ret = store_txn_begin(c->site->db, err);
	for (size_t i = 0; !ret && i < c->dag->ntasks; i++)
		ret = sched_insert_task(c, i, now, err);
	if (ret) {
		store_txn_abort(c->site->db);
		return ret;
	}
	return store_txn_commit(c->site->db, err);
}

static void sched_create_failed_sync(struct fed_call *call, void *arg)
{
	struct sched_create *c = arg;
	bool changed;
	sched_set_job_status(c->site, c->job_id, ST_READY, ST_FAILED, c->error, &changed);
	json_t *env = json_pack("{s:i,s:s,s:s,s:{}}", "code", 1002, "message", c->error,
				"job_id", c->job_id, "data");
	c->reply(c->ctx, env);
	sched_create_free(c);
}

static void sched_create_fail(struct sched_create *c)
{
	site_joblog(c->site, c->job_id, FF_LOG_ERROR, "job creation failed: %s", c->error);
	json_t *body = json_pack("{s:s,s:s}", "job_id", c->job_id, "status", ST_FAILED);
	if (fed_partner_fanout(c->site, "job/status/update", body, c->targets, c->ntargets,
			       sched_create_failed_sync, c))
		sched_create_failed_sync(NULL, c);
	json_decref(body);
}

static void sched_create_returned(struct fed_call *call, void *arg)
{
	struct sched_create *c = arg;
	sched_queue_kick(c->site);
	sched_create_free(c);
}

/*
 * After an eager create: every party that took the job's cores -> the job
 * is admitted at once; otherwise those that took them give them back and
 * the job waits in the queue like any other (which also deals with a
 * party that can never hold it).
 */
static void sched_create_admit(struct sched_create *c, struct fed_call *call)
{
	struct fed_target *back = c->eager ? ff_calloc(call->n, sizeof(*back)) : NULL;
	size_t nback = 0;
	bool all = c->eager;
	for (size_t i = 0; c->eager && i < call->n; i++) {
		const json_t *rc = json_object_get(json_object_get(call->res[i].resp, "data"),
						   "resource_code");
		if (json_is_integer(rc) && json_integer_value(rc) == 0) {
			if (back)
				back[nback++] = call->res[i].target;
		} else {
			all = false;
		}
	}
	if (all) {
		sched_admit_eager(c->site->sched, c->job_id);
		sched_create_free(c);
	} else if (!back || !nback) {
		sched_create_returned(NULL, c);
	} else {
		json_t *b = json_pack("{s:s}", "job_id", c->job_id);
		if (fed_partner_fanout(c->site, "job/resource/return", b, back, nback,
				       sched_create_returned, c))
			sched_create_returned(NULL, c);
		json_decref(b);
	}
	ff_free(back);
}

static void sched_create_parties_done(struct fed_call *call, void *arg)
{
	struct sched_create *c = arg;
	struct ff_error err = FF_ERROR_INIT;
	if (!fed_all_ok(call)) {
		char msg[400];
		fed_first_error(call, msg, sizeof(msg));
		snprintf(c->error, sizeof(c->error), "job creation failed at %s", msg);
		sched_create_fail(c);
		return;
	}
	int ret = sched_insert_tasks(c, &err);
	if (ret) {
		snprintf(c->error, sizeof(c->error), "%s", ff_error_msg(&err, ret));
		sched_create_fail(c);
		return;
	}
	/* the parties created the job waiting already: no sync to send */
	bool changed;
	sched_set_job_status(c->site, c->job_id, ST_READY, ST_WAITING, NULL, &changed);
	site_joblog(c->site, c->job_id, FF_LOG_INFO, "job created on %zu parties, waiting",
		    c->ntargets);
	json_t *env = json_pack("{s:i,s:s,s:s,s:{s:s,s:s}}", "code", 0, "message", "success",
				"job_id", c->job_id, "data", "model_id",
				c->dag->model_id ? c->dag->model_id : c->job_id, "model_version",
				c->dag->model_version ? c->dag->model_version : "0");
	c->reply(c->ctx, env);
	sched_create_admit(c, call);
}

/*
 * Parties this daemon plays share its cores: in standalone mode a job whose
 * parties together need more than the site has could never start.
 */
int sched_check_local_cores(struct site *s, const struct dag_job *d, struct ff_error *err)
{
	long long need = 0;
	for (size_t i = 0; i < d->nparties; i++)
		if (strcmp(d->parties[i].role, "arbiter") &&
		    site_is_local_party(s, d->parties[i].party_id))
			need += d->job_cores;
	if (s->cfg.engine_cores > 0 && need > s->cfg.engine_cores)
		return ff_error_set(err, FF_ERESLIMIT,
				    "job needs %lld cores on this site (%lld per party) but the site "
				    "has %lld: lower dag.conf.cores or raise computing.cores",
				    need, d->job_cores, s->cfg.engine_cores);
	return FF_OK;
}

static int sched_create_prepare(struct sched_create *c, const json_t *body,
				struct ff_error *err)
{
	struct dag_ctx ctx;
	json_t *schema = json_pack("{s:O?,s:O?,s:O?}", "schema_version",
				   json_object_get(body, "schema_version"), "kind",
				   json_object_get(body, "kind"), "dag", json_object_get(body, "dag"));
	const char *sch = jsonx_str(jsonx_path(schema, "dag.conf"), "scheduler_party_id");
	provider_dag_ctx(c->site, &ctx, sch && !strcmp(sch, "0"));
	const char *ini = jsonx_str(jsonx_path(schema, "dag.conf"), "initiator_party_id");
	if (ini)
		ctx.local_party_id = ini; /* keep the initiator the submit named */
	int ret = dag_parse(schema, &ctx, &c->dag, err);
	json_decref(schema);
	if (ret)
		return ret;
	ret = sched_check_local_cores(c->site, c->dag, err);
	if (ret)
		return ret;
	clock_job_id(c->job_id);
	ret = dag_job_set_id(c->dag, c->job_id);
	if (!ret)
		ret = sched_create_targets(c);
	if (ret)
		return ret;
	c->body = json_deep_copy(c->dag->schema);
	json_object_set_new(c->body, "job_id", json_string(c->job_id));
	return sched_insert_job(c, err);
}

void sched_create_job(struct site *s, const json_t *body, fed_reply_fn reply, void *ctx)
{
	struct ff_error err = FF_ERROR_INIT;
	struct sched_create *c = ff_calloc(1, sizeof(*c));
	if (!c) {
		reply(ctx, sched_env(6000, "out of memory"));
		return;
	}
	c->site = s;
	c->reply = reply;
	c->ctx = ctx;
	int ret = sched_create_prepare(c, body, &err);
	if (ret) {
		json_t *env = sched_env(ret == FF_ERESLIMIT || ret == FF_EDAG ? ff_api_code(ret) : 1002,
					ff_error_msg(&err, ret));
		reply(ctx, env);
		sched_create_free(c);
		return;
	}
	fault_point("sched.create");
	/* no job waits for cores: the parties may as well apply its cores now */
	c->eager = sched_queue_open(s->sched);
	if (c->eager)
		json_object_set_new(c->body, "apply", json_true());
	if (fed_partner_fanout(s, "job/create", c->body, c->targets, c->ntargets,
			       sched_create_parties_done, c)) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		sched_create_fail(c);
	}
}
