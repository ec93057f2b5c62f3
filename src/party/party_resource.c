// SPDX-License-Identifier: Apache-2.0
/*
 * party_resource.c - cores of this site (spec §5.4).
 *
 * Every apply and return is a pair of compare-and-set updates in one
 * transaction: the job's (or task's) f_resource_in_use flag flips first,
 * and only if it flipped does the counter move. So a retried or duplicated
 * command can never take or give back cores twice, and a crash between
 * the two statements cannot happen (they commit together).
 */
#include "ff_setup.h"
#include "clock.h"
#include "fault.h"
#include "config.h"
#include "log.h"
#include "party_int.h"
#include "site.h"
#include "store.h"

int party_resource_register(struct site *s, struct ff_error *err)
{
	const struct config *c = &s->cfg;
	int64_t now = clock_now_ms();
	struct store_val a[] = {
		SV_TEXT(c->computing_engine), SV_INT(c->engine_cores), SV_INT(c->engine_cores),
		SV_INT(c->engine_nodes), SV_INT(now), SV_INT(now),
		SV_INT(c->engine_cores), SV_INT(c->engine_cores), SV_INT(c->engine_nodes), SV_INT(now),
	};
	/* On update keep what is in use: remaining moves by the change of total. */
	return store_exec(s->db,
		"INSERT INTO t_engine_registry (f_engine_type, f_engine_name, f_cores,"
		" f_remaining_cores, f_nodes, f_create_time, f_update_time)"
		" VALUES ('computing', ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (f_engine_name, f_engine_type) DO UPDATE SET"
		" f_remaining_cores = f_remaining_cores + (? - f_cores), f_cores = ?,"
		" f_nodes = ?, f_update_time = ?",
		a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
}

struct party_job_cores {
	int64_t cores;
	int64_t in_use;
	bool found;
};

static int party_job_cores_cb(void *arg, const struct store_row *row)
{
	struct party_job_cores *c = arg;
	c->found = true;
	c->cores = store_col_int(row, "f_cores");
	c->in_use = store_col_int(row, "f_resource_in_use");
	return FF_OK;
}

static int party_engine_free(struct site *s, int64_t *total, int64_t *remaining,
			     struct ff_error *err)
{
	struct store_val a[] = { SV_TEXT(s->cfg.computing_engine) };
	int ret = store_get_int(s->db, "SELECT f_cores FROM t_engine_registry WHERE"
				" f_engine_type = 'computing' AND f_engine_name = ?",
				a, 1, total, err);
	if (!ret)
		ret = store_get_int(s->db, "SELECT f_remaining_cores FROM t_engine_registry WHERE"
				    " f_engine_type = 'computing' AND f_engine_name = ?",
				    a, 1, remaining, err);
	return ret;
}

static int party_job_cores_load(struct site *s, const char *job_id, const char *role,
				const char *party_id, struct party_job_cores *jc,
				struct ff_error *err)
{
	struct store_val k[] = { SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id) };
	return store_exec(s->db, "SELECT f_cores, f_resource_in_use FROM t_job WHERE"
			  " f_job_id = ? AND f_role = ? AND f_party_id = ?",
			  k, 3, party_job_cores_cb, jc, NULL, err);
}

int party_job_resource_apply(struct site *s, const char *job_id, const char *role,
			     const char *party_id, struct ff_error *err)
{
	struct party_job_cores jc = { 0 };
	int ret = party_job_cores_load(s, job_id, role, party_id, &jc, err);
	if (ret)
		return ret;
	if (!jc.found)
		return ff_error_set(err, FF_ENOJOB, "no job '%s' for %s %s on this site",
				    job_id, role, party_id);
	if (jc.in_use)
		return FF_OK;
	int64_t total = 0, remaining = 0;
	ret = party_engine_free(s, &total, &remaining, err);
	if (ret)
		return ret;
	if (jc.cores > total)
		return ff_error_set(err, FF_ERESLIMIT,
				    "job needs %lld cores but %s %s has only %lld: lower dag.conf.cores",
				    (long long)jc.cores, role, party_id, (long long)total);
	int64_t now = clock_now_ms(), ch = 0;
	ret = store_txn_begin(s->db, err);
	if (ret)
		return ret;
	struct store_val a[] = { SV_TEXT(s->cfg.computing_engine), SV_INT(now), SV_INT(now),
				 SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id) };
	ret = store_exec(s->db, "UPDATE t_job SET f_engine_name = ?, f_resource_in_use = 1,"
			 " f_apply_resource_time = ?, f_update_time = ? WHERE f_job_id = ? AND"
			 " f_role = ? AND f_party_id = ? AND f_resource_in_use = 0",
			 a, FF_ARRAY_SIZE(a), NULL, NULL, &ch, err);
	if (!ret && ch == 1 && jc.cores > 0) {
		struct store_val b[] = { SV_INT(jc.cores), SV_INT(now),
					 SV_TEXT(s->cfg.computing_engine), SV_INT(jc.cores) };
		ret = store_exec(s->db, "UPDATE t_engine_registry SET f_remaining_cores ="
				 " f_remaining_cores - ?, f_update_time = ? WHERE f_engine_type ="
				 " 'computing' AND f_engine_name = ? AND f_remaining_cores >= ?",
				 b, FF_ARRAY_SIZE(b), NULL, NULL, &ch, err);
		if (!ret && ch == 0)
			ret = ff_error_set(err, FF_ERESOURCE,
					   "not enough free cores on %s %s: need %lld, %lld of %lld free",
					   role, party_id, (long long)jc.cores, (long long)remaining,
					   (long long)total);
	}
	if (ret) {
		store_txn_abort(s->db);
		return ret;
	}
	ret = store_txn_commit(s->db, err);
	fault_point("party.apply"); /* cores taken, the scheduler not told */
	return ret;
}

int party_job_resource_return(struct site *s, const char *job_id, const char *role,
			      const char *party_id, struct ff_error *err)
{
	struct party_job_cores jc = { 0 };
	int ret = party_job_cores_load(s, job_id, role, party_id, &jc, err);
	if (ret || !jc.found || !jc.in_use)
		return ret;
	int64_t now = clock_now_ms(), ch = 0;
	ret = store_txn_begin(s->db, err);
	if (ret)
		return ret;
	struct store_val a[] = { SV_INT(now), SV_INT(now), SV_TEXT(job_id), SV_TEXT(role),
				 SV_TEXT(party_id) };
	ret = store_exec(s->db, "UPDATE t_job SET f_resource_in_use = 0, f_return_resource_time = ?,"
			 " f_update_time = ? WHERE f_job_id = ? AND f_role = ? AND f_party_id = ?"
			 " AND f_resource_in_use = 1", a, FF_ARRAY_SIZE(a), NULL, NULL, &ch, err);
	if (!ret && ch == 1 && jc.cores > 0) {
		struct store_val b[] = { SV_INT(jc.cores), SV_INT(jc.cores), SV_INT(now),
					 SV_TEXT(s->cfg.computing_engine) };
		ret = store_exec(s->db, "UPDATE t_engine_registry SET f_remaining_cores ="
				 " CASE WHEN f_remaining_cores + ? > f_cores THEN f_cores ELSE f_remaining_cores + ? END,"
				 " f_update_time = ? WHERE f_engine_type = 'computing' AND f_engine_name = ?",
				 b, FF_ARRAY_SIZE(b), NULL, NULL, NULL, err);
	}
	if (ret) {
		store_txn_abort(s->db);
		return ret;
	}
	ret = store_txn_commit(s->db, err);
	if (!ret && ch == 1) {
		ff_log(FF_LOG_DEBUG, "cores returned job_id=%s role=%s party_id=%s cores=%lld",
		       job_id, role, party_id, (long long)jc.cores);
		party_notify_free(s);
	}
	return ret;
}

struct party_task_res {
	int64_t cores;
	int64_t in_use;
	bool found;
	bool ended;     /* already ended (e.g. inherited): takes no cores */
};

static int party_task_res_cb(void *arg, const struct store_row *row)
{
	struct party_task_res *t = arg;
	t->found = true;
	t->cores = store_col_int(row, "f_task_cores");
	t->in_use = store_col_int(row, "f_resource_in_use");
	const char *ps = store_col_text(row, "f_party_status");
	t->ended = ps && (!strcmp(ps, "success") || !strcmp(ps, "pass") || !strcmp(ps, "failed") ||
			  !strcmp(ps, "canceled") || !strcmp(ps, "timeout"));
	return FF_OK;
}

static int party_task_res_load(struct site *s, const struct party_task_key *k,
			       struct party_task_res *t, struct ff_error *err)
{
	struct store_val a[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				 SV_TEXT(k->role), SV_TEXT(k->party_id) };
	int ret = store_exec(s->db, "SELECT f_task_cores, f_resource_in_use, f_party_status FROM"
			     " t_task WHERE"
			     " f_job_id = ? AND f_task_id = ? AND f_task_version = ? AND"
			     " f_role = ? AND f_party_id = ?", a, 5, party_task_res_cb, t, NULL, err);
	if (!ret && !t->found)
		ret = ff_error_set(err, FF_ENOTASK, "no task '%s' version %lld for %s %s",
				   k->task_id, k->version, k->role, k->party_id);
	return ret;
}

/* Flips the task flag and moves job cores by delta in one transaction. */
static int party_task_res_move(struct site *s, const struct party_task_key *k,
			       const struct party_task_res *t, bool apply, struct ff_error *err)
{
	int64_t now = clock_now_ms(), ch = 0;
	int ret = store_txn_begin(s->db, err);
	if (ret)
		return ret;
	struct store_val a[] = { SV_INT(apply ? 1 : 0), SV_INT(now), SV_TEXT(k->job_id),
				 SV_TEXT(k->task_id), SV_INT(k->version), SV_TEXT(k->role),
				 SV_TEXT(k->party_id), SV_INT(apply ? 0 : 1) };
	ret = store_exec(s->db, "UPDATE t_task SET f_resource_in_use = ?, f_update_time = ?"
			 " WHERE f_job_id = ? AND f_task_id = ? AND f_task_version = ? AND"
			 " f_role = ? AND f_party_id = ? AND f_resource_in_use = ?",
			 a, FF_ARRAY_SIZE(a), NULL, NULL, &ch, err);
	if (!ret && ch == 1 && t->cores > 0) {
		int64_t d = apply ? -t->cores : t->cores;
		struct store_val b[] = { SV_INT(d), SV_INT(d), SV_INT(now),
					 SV_TEXT(k->job_id), SV_TEXT(k->role), SV_TEXT(k->party_id),
					 SV_INT(apply ? t->cores : 0) };
		ret = store_exec(s->db, "UPDATE t_job SET f_remaining_cores = CASE WHEN"
				 " f_remaining_cores + ? > f_cores THEN f_cores ELSE f_remaining_cores + ?"
				 " END, f_update_time = ? WHERE f_job_id = ? AND"
				 " f_role = ? AND f_party_id = ? AND f_remaining_cores >= ?",
				 b, FF_ARRAY_SIZE(b), NULL, NULL, &ch, err);
		if (!ret && ch == 0)
			ret = ff_error_set(err, FF_ETASKRES,
					   "job '%s' has no free task cores on %s %s (task needs %lld)",
					   k->job_id, k->role, k->party_id, (long long)t->cores);
	}
	if (ret) {
		store_txn_abort(s->db);
		return ret;
	}
	return store_txn_commit(s->db, err);
}

int party_task_resource_apply(struct site *s, const struct party_task_key *k,
			      struct ff_error *err)
{
	struct party_task_res t = { 0 };
	int ret = party_task_res_load(s, k, &t, err);
	if (ret || t.in_use || t.ended)
		return ret;
	return party_task_res_move(s, k, &t, true, err);
}

int party_task_resource_return(struct site *s, const struct party_task_key *k,
			       struct ff_error *err)
{
	struct party_task_res t = { 0 };
	int ret = party_task_res_load(s, k, &t, err);
	if (ret || !t.in_use)
		return ret;
	return party_task_res_move(s, k, &t, false, err);
}
