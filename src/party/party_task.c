// SPDX-License-Identifier: Apache-2.0
/*
 * party_task.c - partner task commands: cores, start, collect, federated
 * status, stop, rerun (spec §1.5, §7.1).
 */
#include "ff_setup.h"
#include "clock.h"
#include "exec/exec.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "party_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

json_t *party_task_apply(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_task_key k;
	int ret = party_key_from_json(body, &k, &err);
	if (!ret)
		ret = party_job_begin(s, k.job_id, k.role, k.party_id, &err);
	if (!ret)
		ret = party_task_resource_apply(s, &k, &err);
	return ret ? party_fail(ret, &err) : party_ok();
}

json_t *party_task_return(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_task_key k;
	int ret = party_key_from_json(body, &k, &err);
	if (!ret)
		ret = party_task_resource_return(s, &k, &err);
	return ret ? party_fail(ret, &err) : party_ok();
}



static int party_task_row_cb(void *arg, const struct store_row *row)
{
	struct party_task_row *t = arg;
	t->found = true;
	snprintf(t->party_status, sizeof(t->party_status), "%s",
		 store_col_text(row, "f_party_status"));
	snprintf(t->task_name, sizeof(t->task_name), "%s", store_col_text(row, "f_task_name"));
	const char *c = store_col_text(row, "f_component");
	snprintf(t->component, sizeof(t->component), "%s", c ? c : "");
	const char *p = store_col_text(row, "f_provider_name");
	snprintf(t->provider, sizeof(t->provider), "%s", p ? p : "");
	snprintf(t->exec_id, sizeof(t->exec_id), "%s", store_col_text(row, "f_execution_id"));
	t->timeout = store_col_int(row, "f_timeout");
	t->cores = store_col_int(row, "f_task_cores");
	t->run_pid = store_col_int(row, "f_run_pid");
	t->run_start = store_col_int(row, "f_run_start");
	t->start_time = store_col_int(row, "f_start_time");
	const char *plan = store_col_text(row, "f_component_parameters");
	t->plan = plan ? json_loads(plan, 0, NULL) : NULL;
	return FF_OK;
}

int party_task_load(struct site *s, const struct party_task_key *k,
		    struct party_task_row *t, struct ff_error *err)
{
	struct store_val a[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				 SV_TEXT(k->role), SV_TEXT(k->party_id) };
	int ret = store_exec(s->db, "SELECT f_party_status, f_task_name, f_component,"
			     " f_provider_name, f_execution_id, f_timeout, f_task_cores,"
			     " f_run_pid, f_run_start, f_start_time,"
			     " f_component_parameters FROM t_task WHERE f_job_id = ? AND"
			     " f_task_id = ? AND f_task_version = ? AND f_role = ? AND f_party_id = ?",
			     a, 5, party_task_row_cb, t, NULL, err);
	if (!ret && !t->found)
		ret = ff_error_set(err, FF_ENOTASK, "no task '%s' version %lld for %s %s",
				   k->task_id, k->version, k->role, k->party_id);
	if (!ret && !t->plan)
		ret = ff_error_set(err, FF_ETASKSTART, "task '%s' has no stored plan", k->task_id);
	return ret;
}

static int party_task_record_run(struct site *s, const struct party_task_key *k,
				 struct ff_error *err)
{
	int64_t now = clock_now_ms();
	struct store_val a[] = { SV_TEXT(s->cfg.host), SV_INT(s->cfg.port),
				 SV_INT(now), SV_INT(now), SV_TEXT(k->job_id), SV_TEXT(k->task_id),
				 SV_INT(k->version), SV_TEXT(k->role), SV_TEXT(k->party_id) };
	return store_exec(s->db, "UPDATE t_task SET f_run_ip = ?, f_run_port = ?,"
			  " f_start_time = ?, f_update_time = ? WHERE f_job_id = ? AND f_task_id = ?"
			  " AND f_task_version = ? AND f_role = ? AND f_party_id = ?",
			  a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
}

void party_task_pid(struct site *s, const struct party_task_key *k, pid_t pid,
		    long long start_ticks)
{
	struct store_val a[] = { SV_INT(pid), SV_INT(start_ticks), SV_INT(clock_now_ms()),
				 SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				 SV_TEXT(k->role), SV_TEXT(k->party_id) };
	store_exec(s->db, "UPDATE t_task SET f_run_pid = ?, f_run_start = ?, f_update_time = ?"
		   " WHERE f_job_id = ? AND f_task_id = ? AND f_task_version = ? AND f_role = ? AND"
		   " f_party_id = ?", a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, NULL);
}

/* The task's federated status (f_status) as the scheduler sees it; CAS. */
int party_task_set_fed_status(struct site *s, const struct party_task_key *k,
			      const char *status, struct ff_error *err)
{
	char *old = NULL;
	struct store_val key[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				   SV_TEXT(k->role), SV_TEXT(k->party_id) };
	int ret = store_get_text(s->db, "SELECT f_status FROM t_task WHERE f_job_id = ? AND"
				 " f_task_id = ? AND f_task_version = ? AND f_role = ? AND"
				 " f_party_id = ?", key, 5, &old, err);
	if (ret == FF_ENOTFOUND)
		ret = ff_error_set(err, FF_ENOTASK, "no task '%s'", k->task_id);
	if (!ret && status_task_can(old, status)) {
		struct store_val a[] = { SV_TEXT(status), SV_INT(clock_now_ms()), SV_TEXT(k->job_id),
					 SV_TEXT(k->task_id), SV_INT(k->version), SV_TEXT(k->role),
					 SV_TEXT(k->party_id), SV_TEXT(old) };
		ret = store_exec(s->db, "UPDATE t_task SET f_status = ?, f_update_time = ? WHERE"
				 " f_job_id = ? AND f_task_id = ? AND f_task_version = ? AND"
				 " f_role = ? AND f_party_id = ? AND f_status = ?",
				 a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	}
	ff_free(old);
	return ret;
}

/*
 * waiting -> running is the claim on a task version: only the start that
 * wins it spawns the process, so a start sent again (a retry, a scheduler
 * restarted) never runs a version twice. A daemon killed after the claim
 * finds the task running on restart and adopts or ends it (party_recover).
 */
json_t *party_task_start(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_task_key k;
	struct party_task_row t = { 0 };
	bool changed = false;
	pid_t pid = 0;
	int ret = party_key_from_json(body, &k, &err);
	if (store_txn_depth(s->db) > 0) {
		/* the claim below would not be on disk before the spawn */
		ff_error_set(&err, FF_ETASKSTART, "task start inside a transaction");
		return party_fail(FF_ETASKSTART, &err);
	}
	const char *fed_status = jsonx_str(body, "status");
	/* the federated status and the claim commit together, before the spawn */
	bool txn = !ret && !store_txn_begin(s->db, NULL);
	if (!ret && fed_status && status_is_task(fed_status))
		ret = party_task_set_fed_status(s, &k, fed_status, &err);
	if (!ret)
		ret = party_task_load(s, &k, &t, &err);
	bool claimable = !ret && !strcmp(t.party_status, ST_WAITING);
	if (claimable && json_is_true(json_object_get(body, "apply"))) {
		/* folded start (sched_start_task): the job starts here and the
		 * task takes its cores in the claim's transaction; without cores
		 * nothing of it is kept and the scheduler resumes it later */
		ret = party_job_begin(s, k.job_id, k.role, k.party_id, &err);
		if (!ret)
			ret = party_task_resource_apply(s, &k, &err);
		if (ret) {
			if (txn)
				store_txn_abort(s->db);
			json_decref(t.plan);
			return party_fail(ret, &err);
		}
	}
	struct ff_error serr = FF_ERROR_INIT;
	if (claimable && party_task_set_party_status(s, &k, ST_RUNNING, NULL, &changed, &serr) == 0 &&
	    !changed)
		claimable = false; /* another start claimed it first */
	if (txn && store_txn_commit(s->db, NULL) && !ret)
		ret = ff_error_set(&err, FF_EIO, "cannot commit the start of task '%s'", k.task_id);
	if (ret == FF_EPARAM || ret == FF_ENOTASK) {
		json_decref(t.plan);
		return party_fail(ret, &err);
	}
	if (!ret && !claimable) {
		/* a repeated start of a started task is not an error; the scheduler
		 * evidently missed its status, so it hears it again */
		json_decref(t.plan);
		if (strcmp(t.party_status, ST_WAITING))
			party_report(s, &k, t.party_status);
		return party_ok();
	}
	if (!ret) {
		struct exec_task_spec spec = {
			.key = k, .task_name = t.task_name, .component = t.component,
			.provider_name = t.provider, .execution_id = t.exec_id, .plan = t.plan,
			.timeout = t.timeout, .cores = t.cores,
		};
		/* the pid (recorded when spawned) and the run details: one commit */
		txn = !store_txn_begin(s->db, NULL);
		ret = exec_task_start(s, &spec, &pid, &err);
		if (!ret)
			ret = party_task_record_run(s, &k, &err);
		if (txn && store_txn_commit(s->db, NULL) && !ret)
			ret = ff_error_set(&err, FF_EIO, "cannot record the start of task '%s'",
					   k.task_id);
	}
	json_decref(t.plan);
	if (ret) {
		if (!changed) /* waiting -> failed is not a legal move (spec §4.3) */
			party_task_set_party_status(s, &k, ST_RUNNING, NULL, &changed, &serr);
		party_task_ended(s, &k, ST_FAILED, ff_error_msg(&err, ret));
		return party_fail(FF_ETASKSTART, &err);
	}
	site_joblog(s, k.job_id, FF_LOG_INFO, "task %s version %lld %s %s started pid=%d",
		    k.task_id, k.version, k.role, k.party_id, (int)pid);
	/* no running report: this answer tells the scheduler (sched_start_started) */
	return party_ok();
}

static int party_collect_cb(void *arg, const struct store_row *row)
{
	json_t **out = arg;
	*out = json_object();
	static const char *const cols[] = {
		"f_job_id", "f_task_id", "f_task_version", "f_role", "f_party_id", "f_status",
		"f_party_status", "f_start_time", "f_update_time", "f_end_time", "f_elapsed",
		"f_error_report",
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(cols); i++) {
		const struct store_val *v = store_col(row, cols[i]);
		json_t *j = !v || v->type == STORE_NULL ? json_null()
			  : v->type == STORE_INT ? json_integer(v->i)
			  : json_string(v->s);
		json_object_set_new(*out, cols[i] + 2, j);
	}
	return FF_OK;
}

json_t *party_task_collect(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_task_key k;
	json_t *data = NULL;
	int ret = party_key_from_json(body, &k, &err);
	if (ret)
		return party_fail(ret, &err);
	struct store_val a[] = { SV_TEXT(k.job_id), SV_TEXT(k.task_id), SV_INT(k.version),
				 SV_TEXT(k.role), SV_TEXT(k.party_id) };
	ret = store_exec(s->db, "SELECT * FROM t_task WHERE f_job_id = ? AND f_task_id = ? AND"
			 " f_task_version = ? AND f_role = ? AND f_party_id = ?", a, 5,
			 party_collect_cb, &data, NULL, &err);
	if (!ret && !data)
		ret = ff_error_set(&err, FF_ENOTASK, "no task '%s' version %lld for %s %s",
				   k.task_id, k.version, k.role, k.party_id);
	if (ret)
		return party_fail(ret, &err);
	json_t *env = party_ok();
	json_object_set_new(env, "data", data);
	return env;
}

json_t *party_task_status_update(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_task_key k;
	int ret = party_key_from_json(body, &k, &err);
	const char *status = jsonx_str(body, "status");
	if (!ret && !status_is_task(status))
		ret = ff_error_set(&err, FF_EPARAM, "invalid task status '%s'", status ? status : "");
	if (!ret)
		ret = party_task_set_fed_status(s, &k, status, &err);
	if (ret)
		return party_fail(ret == FF_EPARAM || ret == FF_ENOTASK ? ret : FF_ETASKUPDATE, &err);
	return party_ok();
}

int party_stop_task(struct site *s, const struct party_task_key *k, const char *status,
		    const char *reason, struct ff_error *err)
{
	bool changed = false;
	int ret = exec_task_kill(s, k);
	if (ret)
		return ff_error_set(err, FF_ETASKKILL, "cannot kill task '%s' on %s %s", k->task_id,
				    k->role, k->party_id);
	party_task_drop_messages(s, k);
	char why[300];
	snprintf(why, sizeof(why), "stopped (%s)%s%s", status, reason ? ": " : "",
		 reason ? reason : "");
	ret = party_task_set_party_status(s, k, status, why, &changed, err);
	struct store_val a[] = { SV_INT(clock_now_ms()), SV_TEXT(k->job_id), SV_TEXT(k->task_id),
				 SV_INT(k->version), SV_TEXT(k->role), SV_TEXT(k->party_id) };
	store_exec(s->db, "UPDATE t_task SET f_kill_status = 1, f_update_time = ? WHERE"
		   " f_job_id = ? AND f_task_id = ? AND f_task_version = ? AND f_role = ? AND"
		   " f_party_id = ?", a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, NULL);
	party_task_resource_return(s, k, NULL);
	if (changed) {
		site_joblog(s, k->job_id, FF_LOG_INFO, "task %s version %lld %s %s stopped: %s",
			    k->task_id, k->version, k->role, k->party_id, status);
		party_report(s, k, status);
	}
	return ret;
}

json_t *party_task_stop(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_task_key k;
	int ret = party_key_from_json(body, &k, &err);
	const char *status = jsonx_str(body, "status");
	if (!status)
		status = ST_FAILED;
	if (!ret && !status_is_task(status))
		ret = ff_error_set(&err, FF_EPARAM, "invalid task status '%s'", status);
	if (!ret)
		ret = party_stop_task(s, &k, status, jsonx_str(body, "reason"), &err);
	return ret ? party_fail(ret == FF_EPARAM ? ret : FF_ETASKKILL, &err) : party_ok();
}

json_t *party_task_rerun(struct site *s, const json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	struct party_task_key k;
	long long nv = 0;
	int ret = party_key_from_json(body, &k, &err);
	if (!ret && (!jsonx_as_int(json_object_get(body, "new_version"), &nv) || nv <= k.version))
		ret = ff_error_set(&err, FF_EPARAM, "missing or invalid 'new_version'");
	if (ret)
		return party_fail(ret, &err);
	char exec_id[256];
	snprintf(exec_id, sizeof(exec_id), "%s_%lld_%s_%s", k.task_id, nv, k.role, k.party_id);
	int64_t now = clock_now_ms();
	struct store_val a[] = { SV_INT(nv), SV_TEXT(exec_id), SV_INT(now), SV_INT(now),
				 SV_TEXT(k.job_id), SV_TEXT(k.task_id), SV_INT(k.version),
				 SV_TEXT(k.role), SV_TEXT(k.party_id) };
	ret = store_exec(s->db,
		"INSERT INTO t_task (f_job_id, f_task_id, f_task_version, f_role, f_party_id,"
		" f_protocol, f_task_name, f_component, f_execution_id, f_scheduler_party_id,"
		" f_status, f_party_status, f_component_parameters, f_task_run, f_task_cores,"
		" f_provider_name, f_sync_type, f_timeout, f_launcher_name, f_auto_retries,"
		" f_create_time, f_update_time)"
		" SELECT f_job_id, f_task_id, ?, f_role, f_party_id, f_protocol, f_task_name,"
		" f_component, ?, f_scheduler_party_id, 'waiting', 'waiting',"
		" f_component_parameters, f_task_run, f_task_cores, f_provider_name, f_sync_type,"
		" f_timeout, f_launcher_name, f_auto_retries, ?, ? FROM t_task WHERE f_job_id = ?"
		" AND f_task_id = ? AND f_task_version = ? AND f_role = ? AND f_party_id = ?"
		" ON CONFLICT DO NOTHING",
		a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, &err);
	return ret ? party_fail(ret, &err) : party_ok();
}
