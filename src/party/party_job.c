// SPDX-License-Identifier: Apache-2.0
/*
 * party_job.c - partner job commands: create, status, progress, cores,
 * start, stop (spec §1.5, §5.5c).
 */
#include "ff_setup.h"
#include "clock.h"
#include "fault.h"
#include "dag/dag.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "party_int.h"
#include "provider/provider.h"
#include "site.h"
#include "status.h"
#include "store.h"

struct party_ids {
	char job_id[32];
	char role[64];
	char party_id[64];
};

static int party_ids_get(const json_t *body, struct party_ids *ids, struct ff_error *err)
{
	const char *keys[] = { "job_id", "role", "party_id" };
	char *outs[] = { ids->job_id, ids->role, ids->party_id };
	size_t lens[] = { sizeof(ids->job_id), sizeof(ids->role), sizeof(ids->party_id) };
	for (size_t i = 0; i < 3; i++) {
		const json_t *v = json_object_get(body, keys[i]);
		if (!v || jsonx_scalar_text(v, outs[i], lens[i]) || !outs[i][0])
			return ff_error_set(err, FF_EPARAM, "missing or invalid '%s'", keys[i]);
	}
	return FF_OK;
}

/* The PreTaskConfigSpec-like plan kept in t_task.f_component_parameters. */
static json_t *party_task_plan(const struct dag_job *job, const char *job_id,
			       const struct dag_task *t, const struct dag_party_task *pt,
			       const char *task_id, const char *exec_id)
{
	json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:I,s:s,s:s,s:s,s:I}",
		"job_id", job_id, "task_id", task_id, "task_version", "0", "task_name", t->name,
		"party_task_id", exec_id, "component", t->component, "role", pt->party.role,
		"party_id", pt->party.party_id, "stage", t->stage, "provider_name", pt->provider,
		"parameters", pt->parameters, "input_artifacts", pt->inputs, "conf", pt->conf,
		"engine_run", pt->engine_run, "computing_partitions",
		(json_int_t)job->computing_partitions, "model_id", job->model_id ? job->model_id : job_id,
		"model_version", job->model_version ? job->model_version : "0",
		"launcher_name", pt->launcher_name, "timeout", (json_int_t)pt->timeout);
	json_t *tp = json_array();
	for (size_t i = 0; i < t->nptasks; i++)
		json_array_append_new(tp, json_pack("{s:s,s:s}", "role", t->ptasks[i].party.role,
						    "party_id", t->ptasks[i].party.party_id));
	json_object_set_new(p, "task_parties", tp);
	return p;
}

static int party_insert_task(struct site *s, const struct dag_job *job, const char *job_id,
			     const struct dag_task *t, const struct dag_party_task *pt,
			     int64_t now, struct ff_error *err)
{
	char task_id[128], exec_id[256];
	snprintf(task_id, sizeof(task_id), "%s_%s", job_id, t->name);
	snprintf(exec_id, sizeof(exec_id), "%s_0_%s_%s", task_id, pt->party.role, pt->party.party_id);
	json_t *plan = party_task_plan(job, job_id, t, pt, task_id, exec_id);
	char *plan_s = plan ? jsonx_dumps(plan) : NULL;
	char *run_s = jsonx_dumps(pt->engine_run);
	json_decref(plan);
	int ret = FF_ENOMEM;
	if (plan_s && run_s) {
		struct store_val a[] = {
			SV_TEXT(job_id), SV_TEXT(task_id), SV_TEXT(pt->party.role),
			SV_TEXT(pt->party.party_id), SV_TEXT(t->name), SV_TEXT(t->component),
			SV_TEXT(exec_id), SV_TEXT(job->scheduler_party_id), SV_TEXT(plan_s),
			SV_TEXT(run_s), SV_INT(pt->task_cores), SV_TEXT(pt->provider),
			SV_TEXT(job->sync_type), SV_INT(pt->timeout), SV_TEXT(pt->launcher_name),
			SV_INT(job->auto_retries), SV_INT(now), SV_INT(now),
		};
		ret = store_exec(s->db,
			"INSERT INTO t_task (f_job_id, f_task_id, f_task_version, f_role, f_party_id,"
			" f_task_name, f_component, f_execution_id, f_scheduler_party_id, f_status,"
			" f_party_status, f_component_parameters, f_task_run, f_task_cores,"
			" f_provider_name, f_sync_type, f_timeout, f_launcher_name, f_auto_retries,"
			" f_create_time, f_update_time) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, 'waiting',"
			" 'waiting', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	}
	ff_free(plan_s);
	ff_free(run_s);
	return ret;
}

/*
 * The job is created waiting: the scheduler sends no waiting sync of its
 * own (if its creation fails elsewhere, the failure moves it on from
 * waiting just as from ready).
 */
static int party_insert_job(struct site *s, const struct dag_job *job, const char *job_id,
			    const struct party_ids *ids, int64_t now, struct ff_error *err)
{
	char *dag_s = jsonx_dumps(job->schema);
	char *parties_s = jsonx_dumps(jsonx_path(job->schema, "dag.parties"));
	char *inh_s = job->inheritance ? jsonx_dumps(job->inheritance) : NULL;
	long long cores = strcmp(ids->role, "arbiter") ? job->job_cores : 0;
	int ret = FF_ENOMEM;
	if (dag_s && parties_s) {
		struct store_val a[] = {
			SV_TEXT(job_id), SV_TEXT(ids->role), SV_TEXT(ids->party_id), SV_TEXT(dag_s),
			SV_TEXT(parties_s), SV_TEXT(job->initiator_party_id),
			SV_TEXT(job->scheduler_party_id), SV_TEXT(inh_s),
			SV_TEXT(job->model_id ? job->model_id : job_id),
			SV_TEXT(job->model_version ? job->model_version : "0"),
			SV_INT(cores), SV_INT(cores), SV_INT(now), SV_INT(now),
		};
		ret = store_exec(s->db,
			"INSERT INTO t_job (f_job_id, f_role, f_party_id, f_dag, f_parties,"
			" f_initiator_party_id, f_scheduler_party_id, f_status, f_inheritance,"
			" f_model_id, f_model_version, f_cores, f_remaining_cores, f_create_time,"
			" f_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, ?)"
			" ON CONFLICT DO NOTHING",
			a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	}
	ff_free(dag_s);
	ff_free(parties_s);
	ff_free(inh_s);
	return ret;
}

/* Keeps the initiator/scheduler ids the DAG arrived with (set upstream). */
static void party_keep_conf_ids(struct dag_job *job, const json_t *schema)
{
	const char *ini = jsonx_str(jsonx_path(schema, "dag.conf"), "initiator_party_id");
	const char *sch = jsonx_str(jsonx_path(schema, "dag.conf"), "scheduler_party_id");
	if (ini)
		snprintf(job->initiator_party_id, sizeof(job->initiator_party_id), "%s", ini);
	if (sch)
		snprintf(job->scheduler_party_id, sizeof(job->scheduler_party_id), "%s", sch);
}

json_t *party_job_create(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	struct dag_job *job = NULL;
	struct dag_ctx ctx;
	int ret = party_ids_get(body, &ids, &err);
	if (ret)
		return party_fail(ret, &err);
	json_t *schema = json_pack("{s:O?,s:O?,s:O?}", "schema_version",
				   json_object_get(body, "schema_version"), "kind",
				   json_object_get(body, "kind"), "dag", json_object_get(body, "dag"));
	const char *sch = jsonx_str(jsonx_path(schema, "dag.conf"), "scheduler_party_id");
	provider_dag_ctx(s, &ctx, sch && !strcmp(sch, "0"));
	ret = dag_parse(schema, &ctx, &job, &err);
	json_decref(schema);
	if (ret) {
		ff_error_prefix(&err, "%s %s cannot create job", ids.role, ids.party_id);
		return party_fail(FF_EJOBCREATE, &err);
	}
	party_keep_conf_ids(job, body);
	dag_job_set_id(job, ids.job_id);
	if (!dag_has_party(job, ids.role, ids.party_id)) {
		ff_error_set(&err, FF_EJOBCREATE, "%s %s is not a party of job '%s'", ids.role,
			     ids.party_id, ids.job_id);
		dag_job_free(job);
		return party_fail(FF_EJOBCREATE, &err);
	}
	int64_t now = clock_now_ms();
	ret = store_txn_begin(s->db, &err);
	if (!ret)
		ret = party_insert_job(s, job, ids.job_id, &ids, now, &err);
	for (size_t i = 0; !ret && i < job->ntasks; i++) {
		const struct dag_party_task *pt = dag_find_ptask(&job->tasks[i], ids.role, ids.party_id);
		if (pt)
			ret = party_insert_task(s, job, ids.job_id, &job->tasks[i], pt, now, &err);
	}
	/* an eager create (sched_create_job: nothing waits in the scheduler's
	 * queue) also applies the job's cores, in the same transaction; the job
	 * is created either way and the answer says whether the cores came */
	struct ff_error rerr = FF_ERROR_INIT;
	int rret = FF_OK;
	bool apply = !ret && json_is_true(json_object_get(body, "apply"));
	if (apply)
		rret = party_job_resource_apply(s, ids.job_id, ids.role, ids.party_id, &rerr);
	if (!ret)
		ret = store_txn_commit(s->db, &err);
	else
		store_txn_abort(s->db);
	dag_job_free(job);
	if (ret)
		return party_fail(FF_EJOBCREATE, &err);
	fault_point("party.create"); /* created, the scheduler not told */
	site_joblog(s, ids.job_id, FF_LOG_INFO, "job created on %s %s", ids.role, ids.party_id);
	json_t *env = party_ok();
	if (apply)
		json_object_set_new(env, "data", json_pack("{s:i,s:s}", "resource_code",
			rret ? ff_api_code(rret) : 0, "resource_message",
			rret ? ff_error_msg(&rerr, rret) : "success"));
	return env;
}

/*
 * The end of a job carries the federated status of every task (the
 * scheduler sends no task/status/update of its own for the step that ended
 * the job): [{task_id, task_version, status}]. Tasks this party has no
 * part in are skipped.
 */
static int party_job_tasks_update(struct site *s, const struct party_ids *ids,
				  const json_t *tasks, struct ff_error *err)
{
	size_t i;
	const json_t *t;
	json_array_foreach(tasks, i, t) {
		struct party_task_key k = { 0 };
		const char *status = jsonx_str(t, "status");
		snprintf(k.job_id, sizeof(k.job_id), "%s", ids->job_id);
		snprintf(k.role, sizeof(k.role), "%s", ids->role);
		snprintf(k.party_id, sizeof(k.party_id), "%s", ids->party_id);
		if (jsonx_scalar_text(json_object_get(t, "task_id"), k.task_id, sizeof(k.task_id)) ||
		    !jsonx_as_int(json_object_get(t, "task_version"), &k.version) ||
		    !status_is_task(status))
			return ff_error_set(err, FF_EPARAM, "invalid 'tasks[%zu]'", i);
		int ret = party_task_set_fed_status(s, &k, status, err);
		if (ret && ret != FF_ENOTASK)
			return ret;
	}
	return FF_OK;
}

json_t *party_job_status_update(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	bool changed;
	int ret = party_ids_get(body, &ids, &err);
	const char *status = jsonx_str(body, "status");
	if (!ret && !status_is_job(status))
		ret = ff_error_set(&err, FF_EPARAM, "invalid job status '%s'", status ? status : "");
	if (!ret)
		ret = party_job_tasks_update(s, &ids, json_object_get(body, "tasks"), &err);
	if (!ret) {
		s->party->answering_job = ids.job_id;
		ret = party_job_set_status(s, ids.job_id, ids.role, ids.party_id, status,
					   jsonx_str(body, "reason"), &changed, &err);
		s->party->answering_job = NULL;
	}
	if (ret)
		return party_fail(ret == FF_EPARAM || ret == FF_ENOJOB ? ret : FF_EJOBUPDATE, &err);
	return party_ok();
}

json_t *party_job_update(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	double progress = 0;
	int ret = party_ids_get(body, &ids, &err);
	if (!ret && !jsonx_as_double(json_object_get(body, "progress"), &progress))
		ret = ff_error_set(&err, FF_EPARAM, "missing or invalid 'progress'");
	if (ret)
		return party_fail(ret, &err);
	struct store_val a[] = { SV_INT((int64_t)progress), SV_INT(clock_now_ms()),
				 SV_TEXT(ids.job_id), SV_TEXT(ids.role), SV_TEXT(ids.party_id),
				 SV_INT((int64_t)progress) };
	ret = store_exec(s->db, "UPDATE t_job SET f_progress = ?, f_update_time = ? WHERE"
			 " f_job_id = ? AND f_role = ? AND f_party_id = ? AND f_progress < ?",
			 a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, &err);
	return ret ? party_fail(FF_EJOBUPDATE, &err) : party_ok();
}

json_t *party_job_apply(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	int ret = party_ids_get(body, &ids, &err);
	if (!ret)
		ret = party_job_resource_apply(s, ids.job_id, ids.role, ids.party_id, &err);
	return ret ? party_fail(ret, &err) : party_ok();
}

json_t *party_job_return(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	int ret = party_ids_get(body, &ids, &err);
	if (!ret) {
		s->party->answering_job = ids.job_id;
		ret = party_job_resource_return(s, ids.job_id, ids.role, ids.party_id, &err);
		s->party->answering_job = NULL;
	}
	return ret ? party_fail(ret == FF_EPARAM ? ret : FF_ERESOURCE, &err) : party_ok();
}

static int party_inherit_cb(void *arg, const struct store_row *row)
{
	char **out = arg;
	const char *v = store_col_text(row, "f_inheritance");
	*out = v ? ff_strdup(v) : NULL;
	return FF_OK;
}

/*
 * waiting -> running, and the inheritance of finished tasks of an earlier
 * job when the move happened (both commit with the command, so a repeated
 * start has nothing left to do).
 */
int party_job_begin(struct site *s, const char *job_id, const char *role,
		    const char *party_id, struct ff_error *err)
{
	bool changed;
	char *inh = NULL;
	int ret = party_job_set_status(s, job_id, role, party_id, ST_RUNNING, NULL, &changed,
				       err);
	struct store_val a[] = { SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id) };
	if (!ret && changed)
		ret = store_exec(s->db, "SELECT f_inheritance FROM t_job WHERE f_job_id = ? AND"
				 " f_role = ? AND f_party_id = ?", a, 3, party_inherit_cb, &inh,
				 NULL, err);
	json_t *inheritance = inh ? json_loads(inh, 0, NULL) : NULL;
	if (!ret && json_is_object(inheritance)) {
		ret = party_inherit(s, job_id, role, party_id, inheritance, err);
		if (ret) {
			site_joblog(s, job_id, FF_LOG_ERROR, "inheritance failed on %s %s: %s",
				    role, party_id, ff_error_msg(err, ret));
			party_job_set_status(s, job_id, role, party_id, ST_FAILED,
					     ff_error_msg(err, ret), &changed, NULL);
		}
	}
	json_decref(inheritance);
	ff_free(inh);
	return ret;
}

json_t *party_job_start(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	int ret = party_ids_get(body, &ids, &err);
	if (!ret)
		ret = party_job_begin(s, ids.job_id, ids.role, ids.party_id, &err);
	return ret ? party_fail(ret, &err) : party_ok();
}

json_t *party_job_stop(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	int ret = party_ids_get(body, &ids, &err);
	if (ret)
		return party_fail(ret, &err);
	const char *st = jsonx_str(body, "stop_status");
	if (!st || !status_is_interrupt(st))
		st = ST_FAILED;
	struct party_keys live = { 0 };
	struct store_val a[] = { SV_TEXT(ids.job_id), SV_TEXT(ids.role), SV_TEXT(ids.party_id) };
	ret = store_exec(s->db, "SELECT f_job_id, f_task_id, f_task_version, f_role, f_party_id"
			 " FROM t_task WHERE f_job_id = ? AND f_role = ? AND f_party_id = ? AND"
			 " f_party_status = 'running'", a, 3, party_keys_cb, &live, NULL, &err);
	int failures = 0;
	for (size_t i = 0; !ret && i < live.n; i++)
		if (party_stop_task(s, &live.keys[i], st, jsonx_str(body, "reason"), &err))
			failures++;
	ff_free(live.keys);
	if (ret || failures)
		return party_fail(FF_EJOBKILL, &err);
	return party_ok();
}

json_t *party_job_clean(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_ids ids;
	int ret = party_ids_get(body, &ids, &err);
	if (ret)
		return party_fail(ret, &err);
	party_job_resource_return(s, ids.job_id, ids.role, ids.party_id, NULL);
	struct store_val a[] = { SV_TEXT(ids.job_id), SV_TEXT(ids.role), SV_TEXT(ids.party_id) };
	ret = store_exec(s->db, "DELETE FROM t_task WHERE f_job_id = ? AND f_role = ? AND"
			 " f_party_id = ?", a, 3, NULL, NULL, NULL, &err);
	if (!ret)
		ret = store_exec(s->db, "DELETE FROM t_job WHERE f_job_id = ? AND f_role = ? AND"
				 " f_party_id = ?", a, 3, NULL, NULL, NULL, &err);
	return ret ? party_fail(ret, &err) : party_ok();
}
