// SPDX-License-Identifier: Apache-2.0
/*
 * api_job.c - the /v2/job page (spec §1.3.1): submit, query, stop,
 * rerun, list, clean, queue clean, tasks, notes, dependency, data view.
 */
#include "ff_setup.h"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "api.h"
#include "clock.h"
#include "dag/dag.h"
#include "exec/exec.h"
#include "fed.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "model/model.h"
#include "provider/provider.h"
#include "sched/sched.h"
#include "site.h"
#include "status.h"

/* ---- submit ---- */

struct api_submit {
	struct http_req *req;
	struct site *site;
	char user[128];
	json_t *schema;
};

/* The DAG itself is kept in the store (t_job.f_dag, t_schedule_job.f_dag). */
static void api_submit_record(struct api_submit *a, const char *job_id)
{
	struct site *s = a->site;
	if (a->user[0]) {
		struct store_val v[] = { SV_TEXT(a->user), SV_TEXT(job_id) };
		store_exec(s->db, "UPDATE t_job SET f_user_name = ? WHERE f_job_id = ?", v, 2,
			   NULL, NULL, NULL, NULL);
	}
}

static void api_submit_done(struct fed_call *call, void *arg)
{
	struct api_submit *a = arg;
	const struct fed_result *r = &call->res[0];
	const char *job_id = jsonx_str(r->resp, "job_id");
	if (r->code == 0 && job_id)
		api_submit_record(a, job_id);
	if (r->resp)
		api_reply_json(a->req, r->resp);
	else
		api_fail_code(a->req, r->code ? r->code : 104, r->message);
	json_decref(a->schema);
	ff_free(a);
}

/* Submit-time check of dag.conf.inheritance (spec §4.9): 1007 when the
 * source job or one of its tasks is missing here or did not succeed. */
static int api_check_inheritance(struct site *s, const json_t *inh, struct ff_error *err)
{
	if (!inh)
		return FF_OK;
	const char *src = jsonx_str(inh, "job_id");
	const json_t *list = json_object_get(inh, "task_list");
	if (!src || !json_array_size(list))
		return ff_error_set(err, FF_EINHERIT, "dag.conf.inheritance needs job_id and a "
				    "non-empty task_list");
	int64_t n = 0;
	struct store_val a[] = { SV_TEXT(src) };
	store_get_int(s->db, "SELECT COUNT(*) FROM t_job WHERE f_job_id = ?", a, 1, &n, NULL);
	if (n == 0)
		return ff_error_set(err, FF_EINHERIT, "dag.conf.inheritance.job_id: no job '%s' on "
				    "this site", src);
	size_t i;
	json_t *name;
	json_array_foreach(list, i, name) {
		const char *tn = json_string_value(name);
		int64_t ok = 0, all = 0;
		struct store_val b[] = { SV_TEXT(src), SV_TEXT(tn) };
		store_get_int(s->db, "SELECT COUNT(*) FROM t_task t WHERE f_job_id = ? AND"
			      " f_task_name = ?", b, 2, &all, NULL);
		store_get_int(s->db, "SELECT COUNT(*) FROM t_task t WHERE f_job_id = ? AND"
			      " f_task_name = ? AND f_party_status IN ('success', 'pass') AND"
			      " f_task_version = (SELECT MAX(f_task_version) FROM t_task x WHERE"
			      " x.f_job_id = t.f_job_id AND x.f_task_name = t.f_task_name AND"
			      " x.f_role = t.f_role AND x.f_party_id = t.f_party_id)", b, 2, &ok, NULL);
		if (!tn || all == 0)
			return ff_error_set(err, FF_EINHERIT, "dag.conf.inheritance.task_list: job "
					    "'%s' has no task '%s'", src, tn ? tn : "?");
		if (ok == 0)
			return ff_error_set(err, FF_EINHERIT, "dag.conf.inheritance.task_list: task "
					    "'%s' of job '%s' did not succeed", tn, src);
	}
	return FF_OK;
}

static void api_job_submit(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	if (api_reject_bad_json(r))
		return;
	json_t *body = http_req_json(r);
	json_t *schema = json_object_get(body, "dag_schema");
	if (!schema && json_object_get(body, "dag"))
		schema = body; /* a bare DAGSchema is accepted too */
	if (!json_is_object(schema)) {
		api_fail_code(r, 1000, "dag_schema: expected the DAG as an object "
			      "({\"dag_schema\": {\"schema_version\": ..., \"dag\": ...}})");
		return;
	}
	struct dag_ctx ctx;
	struct dag_job *job = NULL;
	const char *sch = jsonx_str(jsonx_path(schema, "dag.conf"), "scheduler_party_id");
	provider_dag_ctx(s, &ctx, sch && !strcmp(sch, "0"));
	int ret = dag_parse(schema, &ctx, &job, &err);
	if (!ret)
		ret = sched_check_local_cores(s, job, &err);
	if (!ret)
		ret = api_check_inheritance(s, job->inheritance, &err);
	if (!ret)
		ret = model_warehouse_check(s->db, job->schema, &err);
	if (ret) {
		dag_job_free(job);
		api_fail_err(r, ret, &err);
		return;
	}
	struct api_submit *a = ff_calloc(1, sizeof(*a));
	if (!a) {
		dag_job_free(job);
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	a->req = r;
	a->site = s;
	a->schema = json_incref(job->schema);
	const char *user = http_req_header(r, "user-name");
	snprintf(a->user, sizeof(a->user), "%s", user ? user : "");
	char scheduler[64];
	snprintf(scheduler, sizeof(scheduler), "%s", job->scheduler_party_id);
	dag_job_free(job);
	if (fed_scheduler_send(s, scheduler, "job/create", a->schema, api_submit_done, a)) {
		json_decref(a->schema);
		ff_free(a);
		api_fail(r, FF_ENOMEM, NULL);
	}
}

/* ---- queries (worker threads, read-only) ---- */

static void api_rows(struct http_req *r, struct api_q *q, int empty_code, const char *empty_msg)
{
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	if (!db || q->err) {
		api_fail_err(r, db ? q->err : FF_EIO, &err);
		return;
	}
	struct jw w;
	size_t n = 0;
	api_ok_begin(r, &w);
	jw_arr(&w);
	int ret = store_rows_json(db, q->sql.buf, q->args, q->nargs, &w, &n, &err);
	jw_end(&w);
	if (ret)
		api_fail_err(r, ret, &err);
	else if (n == 0 && empty_code)
		api_fail_code(r, empty_code, empty_msg);
	else
		api_ok_end(r, &w, NULL);
}

static void api_job_query(struct http_req *r)
{
	const char *st[8];
	size_t nst = http_req_args(r, "status", st, 8);
	const char *job_id = api_arg(r, "job_id"), *role = api_arg(r, "role");
	const char *party = api_arg(r, "party_id");
	const char *one_status = api_arg(r, "status");
	if (!job_id && !role && !party && !one_status) {
		api_fail_code(r, 1001, "no found job: give job_id, role, party_id or status");
		return;
	}
	struct api_q q;
	api_q_init(&q, "SELECT * FROM t_job");
	api_q_eq(&q, "f_job_id", job_id);
	api_q_eq(&q, "f_role", role);
	api_q_eq(&q, "f_party_id", party);
	if (nst > 1)
		api_q_in(&q, "f_status", st, nst);
	else
		api_q_eq(&q, "f_status", one_status);
	api_q_raw(&q, " ORDER BY f_create_time DESC, f_role, f_party_id LIMIT 1000");
	api_rows(r, &q, 1001, "no found job");
	api_q_release(&q);
}

static void api_task_query(struct http_req *r)
{
	struct api_q q;
	api_q_init(&q, "SELECT t.* FROM t_task t");
	api_q_eq(&q, "t.f_job_id", api_arg(r, "job_id"));
	api_q_eq(&q, "t.f_role", api_arg(r, "role"));
	api_q_eq(&q, "t.f_party_id", api_arg(r, "party_id"));
	api_q_eq(&q, "t.f_party_status", api_arg(r, "status"));
	api_q_eq(&q, "t.f_task_name", api_arg(r, "task_name"));
	api_q_eq(&q, "t.f_task_id", api_arg(r, "task_id"));
	long long ver = -1;
	if (api_arg_int(r, "task_version", -1, &ver)) {
		api_q_release(&q);
		api_fail_code(r, 5001, "task_version: expected an integer");
		return;
	}
	if (ver >= 0)
		api_q_eq_int(&q, "t.f_task_version", ver);
	else
		api_q_raw(&q, q.where ? " AND" : " WHERE");
	if (ver < 0)
		api_q_raw(&q, " t.f_task_version = (SELECT MAX(x.f_task_version) FROM t_task x WHERE"
			  " x.f_job_id = t.f_job_id AND x.f_task_id = t.f_task_id AND"
			  " x.f_role = t.f_role AND x.f_party_id = t.f_party_id)");
	api_q_raw(&q, " ORDER BY t.f_create_time, t.f_task_name, t.f_role, t.f_party_id LIMIT 5000");
	api_rows(r, &q, 2000, "no found task");
	api_q_release(&q);
}

static int api_page(struct http_req *r, long long *limit, long long *offset)
{
	long long page = 1;
	if (api_arg_int(r, "limit", 0, limit) || api_arg_int(r, "page", 1, &page))
		return FF_EPARAM;
	*offset = *limit > 0 && page > 1 ? *limit * (page - 1) : 0;
	return FF_OK;
}

struct api_list_ctx {
	struct jw *w;
	const char *partner;
	size_t n;
};

/* Job rows plus "partners": every party id of the job but this row's own. */
static int api_job_list_cb(void *arg, const struct store_row *row)
{
	struct api_list_ctx *c = arg;
	const char *ps = store_col_text(row, "f_parties");
	const char *own = store_col_text(row, "f_party_id");
	json_t *parties = ps ? json_loads(ps, 0, NULL) : NULL;
	json_t *partners = json_array();
	size_t i, k;
	json_t *p, *pid;
	json_array_foreach(parties, i, p) json_array_foreach(json_object_get(p, "party_id"), k, pid) {
		char id[64];
		if (jsonx_scalar_text(pid, id, sizeof(id)) || (own && !strcmp(id, own)))
			continue;
		bool dup = false;
		size_t m;
		json_t *e;
		json_array_foreach(partners, m, e)
			dup |= !strcmp(json_string_value(e), id);
		if (!dup)
			json_array_append_new(partners, json_string(id));
	}
	json_decref(parties);
	bool keep = true;
	if (c->partner && *c->partner) {
		keep = false;
		json_array_foreach(partners, i, p)
			keep |= strstr(json_string_value(p), c->partner) != NULL;
	}
	if (keep) {
		struct ff_buf *out = c->w->out;
		store_row_json(row, c->w);
		/* reopen the object to add partners: drop its closing brace */
		ff_buf_setlen(out, out->len - 1);
		c->w->depth++;
		jw_key(c->w, "partners");
		char *pj = jsonx_dumps(partners);
		jw_raw(c->w, pj, pj ? strlen(pj) : 0);
		ff_free(pj);
		jw_end(c->w);
		c->n++;
	}
	json_decref(partners);
	return c->w->err;
}

/*
 * Answers {count, data: [...]} for a filtered query: count before paging
 * (FATE's), rows of the requested page rendered by row_cb (NULL: rows as
 * they are). Releases q.
 */
static void api_paged(struct http_req *r, struct api_q *q, store_row_cb row_cb, void *arg)
{
	struct ff_error err = FF_ERROR_INIT;
	long long limit, offset;
	struct store *db = http_req_db(r, &err);
	if (api_page(r, &limit, &offset)) {
		api_fail_code(r, 5001, "limit and page must be integers");
		api_q_release(q);
		return;
	}
	int64_t count = 0;
	if (db && !q->err) {
		struct api_q cq;
		api_q_init(&cq, "SELECT COUNT(*) FROM (");
		api_q_raw(&cq, q->sql.buf);
		api_q_raw(&cq, ")");
		memcpy(cq.args, q->args, sizeof(q->args));
		cq.nargs = q->nargs;
		store_get_int(db, cq.sql.buf, cq.args, cq.nargs, &count, NULL);
		api_q_release(&cq);
	}
	api_q_limit(q, limit, offset);
	if (!db || q->err) {
		api_fail_err(r, db ? q->err : FF_EIO, &err);
		api_q_release(q);
		return;
	}
	struct jw w;
	api_ok_begin(r, &w);
	jw_obj(&w);
	jw_kint(&w, "count", count);
	jw_key(&w, "data");
	jw_arr(&w);
	struct api_list_ctx *c = arg;
	if (c)
		c->w = &w;
	int ret = row_cb ? store_exec(db, q->sql.buf, q->args, q->nargs, row_cb, arg, NULL, &err)
			 : store_rows_json(db, q->sql.buf, q->args, q->nargs, &w, NULL, &err);
	jw_end(&w);
	jw_end(&w);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_ok_end(r, &w, NULL);
	api_q_release(q);
}

static void api_job_list(struct http_req *r)
{
	const char *roles[8], *sts[8];
	size_t nroles = http_req_args(r, "role", roles, 8);
	size_t nsts = http_req_args(r, "status", sts, 8);
	struct api_q q;
	api_q_init(&q, "SELECT * FROM t_job WHERE f_tag != 'submit_failed'");
	q.where = true;
	api_q_like(&q, "f_job_id", api_arg(r, "job_id"));
	api_q_like(&q, "f_description", api_arg(r, "description"));
	api_q_like(&q, "f_party_id", api_arg(r, "party_id"));
	api_q_in(&q, "f_role", roles, nroles);
	api_q_in(&q, "f_status", sts, nsts);
	const char *order = api_arg(r, "order");
	api_q_raw(&q, order && !strcmp(order, "asc") ? " ORDER BY f_create_time ASC"
						     : " ORDER BY f_create_time DESC");
	struct api_list_ctx c = { .partner = api_arg(r, "partner") };
	api_paged(r, &q, api_job_list_cb, &c);
}

static void api_task_list(struct http_req *r)
{
	struct api_q q;
	api_q_init(&q, "SELECT * FROM t_task");
	api_q_eq(&q, "f_job_id", api_arg(r, "job_id"));
	api_q_eq(&q, "f_role", api_arg(r, "role"));
	api_q_eq(&q, "f_party_id", api_arg(r, "party_id"));
	api_q_eq(&q, "f_task_name", api_arg(r, "task_name"));
	const char *order = api_arg(r, "order");
	api_q_raw(&q, order && !strcmp(order, "desc") ? " ORDER BY f_create_time DESC"
						      : " ORDER BY f_create_time ASC");
	api_paged(r, &q, NULL, NULL);
}

/* ---- stop, rerun, queue clean, clean, notes (core thread) ---- */

struct api_sched_call {
	struct http_req *req;
};

static void api_sched_reply(struct fed_call *call, void *arg)
{
	struct http_req *r = arg;
	const struct fed_result *res = &call->res[0];
	if (res->resp)
		api_reply_json(r, res->resp);
	else
		api_fail_code(r, res->code ? res->code : 104, res->message);
}

static int api_job_scheduler(struct site *s, const char *job_id, char *out, size_t n)
{
	char *sp = NULL;
	struct store_val a[] = { SV_TEXT(job_id) };
	int ret = store_get_text(s->db, "SELECT f_scheduler_party_id FROM t_job WHERE f_job_id = ?"
				 " LIMIT 1", a, 1, &sp, NULL);
	if (!ret)
		snprintf(out, n, "%s", sp ? sp : "");
	ff_free(sp);
	return ret;
}

static void api_job_to_scheduler(struct http_req *r, const char *command, const char *stop_status)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "job_id", NULL };
	if (!api_require(r, req))
		return;
	const char *job_id = api_arg(r, "job_id");
	char scheduler[64];
	if (api_job_scheduler(s, job_id, scheduler, sizeof(scheduler))) {
		char msg[160];
		snprintf(msg, sizeof(msg), "no found job '%s' on this site", job_id);
		api_fail_code(r, 1001, msg);
		return;
	}
	json_t *b = json_pack("{s:s}", "job_id", job_id);
	if (stop_status)
		json_object_set_new(b, "stop_status", json_string(stop_status));
	if (fed_scheduler_send(s, scheduler, command, b, api_sched_reply, r))
		api_fail(r, FF_ENOMEM, NULL);
	json_decref(b);
}

static void api_job_stop(struct http_req *r)
{
	api_job_to_scheduler(r, "job/stop", ST_CANCELED);
}

static void api_job_rerun(struct http_req *r)
{
	api_job_to_scheduler(r, "job/rerun", NULL);
}

struct api_qclean {
	struct http_req *req;
	json_t *result;
	size_t pending;
};

struct api_qclean_item {
	struct api_qclean *c;
	char job_id[32];
};

static void api_qclean_item_done(struct fed_call *call, void *arg)
{
	struct api_qclean_item *it = arg;
	struct api_qclean *c = it->c;
	const struct fed_result *res = &call->res[0];
	json_t *v = res->resp ? json_incref(res->resp)
			      : json_pack("{s:i,s:s?}", "code", res->code, "message", res->message);
	json_object_set_new(c->result, it->job_id, v);
	ff_free(it);
	if (--c->pending == 0) {
		api_ok_json(c->req, c->result, NULL);
		json_decref(c->result);
		ff_free(c);
	}
}

static int api_qclean_cb(void *arg, const struct store_row *row)
{
	struct api_qclean *c = arg;
	struct api_qclean_item *it = ff_calloc(1, sizeof(*it));
	if (!it)
		return FF_ENOMEM;
	it->c = c;
	snprintf(it->job_id, sizeof(it->job_id), "%s", store_col_text(row, "f_job_id"));
	json_t *b = json_pack("{s:s,s:s}", "job_id", it->job_id, "stop_status", ST_CANCELED);
	c->pending++;
	if (fed_scheduler_send(api_site(c->req), store_col_text(row, "f_scheduler_party_id"),
			       "job/stop", b, api_qclean_item_done, it)) {
		c->pending--;
		ff_free(it);
	}
	json_decref(b);
	return FF_OK;
}

static void api_job_queue_clean(struct http_req *r)
{
	struct site *s = api_site(r);
	struct api_qclean *c = ff_calloc(1, sizeof(*c));
	if (!c) {
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	c->req = r;
	c->result = json_object();
	c->pending = 1;
	store_exec(s->db, "SELECT DISTINCT f_job_id, f_scheduler_party_id FROM t_job WHERE"
		   " f_status = 'waiting'", NULL, 0, api_qclean_cb, c, NULL, NULL);
	if (--c->pending == 0) {
		api_ok_json(r, c->result, NULL);
		json_decref(c->result);
		ff_free(c);
	}
}

/* Deletes everything this site holds about a job, outputs included. */
static int api_job_rm_entry(void *arg, const char *path, const char *rest)
{
	(void)arg;
	(void)rest;
	fs_rm_rf(path);
	return 0;
}

static int api_job_delete_local(struct site *s, const char *job_id, struct ff_error *err)
{
	static const char *const sql[] = {
		"DELETE FROM t_metric WHERE f_job_id = ?",
		"DELETE FROM t_storage_table_meta WHERE EXISTS (SELECT 1 FROM t_tracking_data_output t"
		" WHERE t.f_job_id = ? AND t.f_uri != '' AND t.f_namespace ="
		" t_storage_table_meta.f_namespace AND t.f_name = t_storage_table_meta.f_name)",
		"DELETE FROM t_tracking_data_output WHERE f_job_id = ?",
		"DELETE FROM t_task WHERE f_job_id = ?",
		"DELETE FROM t_job WHERE f_job_id = ?",
		"DELETE FROM t_schedule_task WHERE f_job_id = ?",
		"DELETE FROM t_schedule_task_status WHERE f_job_id = ?",
		"DELETE FROM t_schedule_job WHERE f_job_id = ?",
	};
	/* models first, packages included (a package another job still names
	 * stays); the job's rows go after, so a failed clean can be repeated */
	struct model_filter mf = { .job_id = job_id };
	int ret = model_delete(s->db, s->cfg.model_dir, &mf, NULL, err);
	if (ret == FF_ENOMODEL) {
		ff_error_clear(err);
		ret = FF_OK;
	}
	if (ret)
		return ret;
	struct store_val a[] = { SV_TEXT(job_id) };
	ret = store_txn_begin(s->db, err);
	for (size_t i = 0; !ret && i < FF_ARRAY_SIZE(sql); i++)
		ret = store_exec(s->db, sql[i], a, 1, NULL, NULL, NULL, err);
	if (ret) {
		store_txn_abort(s->db);
		return ret;
	}
	ret = store_txn_commit(s->db, err);
	/* task output tables live under <data>/<job_id>_<task> */
	char prefix[80];
	snprintf(prefix, sizeof(prefix), "%s_", job_id);
	fs_each_prefixed(s->cfg.data_dir, prefix, api_job_rm_entry, NULL);
	exec_task_dirs_remove(s, job_id);
	return ret;
}

struct api_clean {
	struct http_req *req;
	char job_id[32];
};

static void api_job_clean_stopped(struct fed_call *call, void *arg)
{
	struct api_clean *c = arg;
	struct ff_error err = FF_ERROR_INIT;
	int ret = api_job_delete_local(call->site, c->job_id, &err);
	if (ret)
		api_fail_err(c->req, ret, &err);
	else
		api_ok_msg(c->req, "success");
	ff_free(c);
}

static void api_job_clean(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "job_id", NULL };
	if (!api_require(r, req))
		return;
	struct api_clean *c = ff_calloc(1, sizeof(*c));
	char scheduler[64];
	if (!c || api_job_scheduler(s, api_arg(r, "job_id"), scheduler, sizeof(scheduler))) {
		ff_free(c);
		api_fail_code(r, 1001, "no found job on this site");
		return;
	}
	c->req = r;
	snprintf(c->job_id, sizeof(c->job_id), "%s", api_arg(r, "job_id"));
	json_t *b = json_pack("{s:s,s:s}", "job_id", c->job_id, "stop_status", ST_CANCELED);
	if (fed_scheduler_send(s, scheduler, "job/stop", b, api_job_clean_stopped, c)) {
		ff_free(c);
		api_fail(r, FF_ENOMEM, NULL);
	}
	json_decref(b);
}

static void api_job_notes(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "job_id", "role", "party_id", "notes", NULL };
	if (!api_require(r, req))
		return;
	int64_t ch = 0;
	struct store_val a[] = { SV_TEXT(api_arg(r, "notes")), SV_INT(clock_now_ms()),
				 SV_TEXT(api_arg(r, "job_id")), SV_TEXT(api_arg(r, "role")),
				 SV_TEXT(api_arg(r, "party_id")) };
	struct ff_error err = FF_ERROR_INIT;
	int ret = store_exec(s->db, "UPDATE t_job SET f_description = ?, f_update_time = ? WHERE"
			     " f_job_id = ? AND f_role = ? AND f_party_id = ?", a, 5, NULL, NULL,
			     &ch, &err);
	if (ret)
		api_fail_err(r, ret, &err);
	else if (ch == 0)
		api_fail_code(r, 1001, "no found job");
	else
		api_ok_msg(r, "success");
}

/* ---- dependency and data view (read-only) ---- */

static int api_dag_cb(void *arg, const struct store_row *row)
{
	char **out = arg;
	if (!*out)
		*out = ff_strdup(store_col_text(row, "f_dag"));
	return FF_OK;
}

static json_t *api_load_dag(struct http_req *r, struct dag_job **job)
{
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	char *dag = NULL;
	struct store_val a[] = { SV_TEXT(api_arg(r, "job_id")), SV_TEXT(api_arg(r, "role")),
				 SV_TEXT(api_arg(r, "party_id")) };
	if (db)
		store_exec(db, "SELECT f_dag FROM t_job WHERE f_job_id = ? AND f_role = ? AND"
			   " f_party_id = ?", a, 3, api_dag_cb, &dag, NULL, NULL);
	json_t *schema = dag ? json_loads(dag, 0, NULL) : NULL;
	ff_free(dag);
	if (!schema) {
		api_fail_code(r, 1001, "no found job");
		return NULL;
	}
	/* no provider or component checks here: the job exists already */
	struct site *s = api_site(r);
	struct dag_ctx ctx = { .local_party_id = "0",
			       .default_provider_name = s->cfg.provider_name,
			       .default_provider_version = s->cfg.provider_version,
			       .default_provider_device = s->cfg.provider_device };
	int ret = dag_parse(schema, &ctx, job, &err);
	if (ret) {
		json_decref(schema);
		api_fail_err(r, ret, &err);
		return NULL;
	}
	return schema;
}

static void api_job_dependency(struct http_req *r)
{
	static const char *const req[] = { "job_id", "role", "party_id", NULL };
	if (!api_require(r, req))
		return;
	struct dag_job *job = NULL;
	json_t *schema = api_load_dag(r, &job);
	if (!schema)
		return;
	json_t *d = dag_dependency(job, api_arg(r, "role"), api_arg(r, "party_id"));
	api_ok_json(r, d, NULL);
	json_decref(d);
	dag_job_free(job);
	json_decref(schema);
}

static void api_job_data_view(struct http_req *r)
{
	static const char *const req[] = { "job_id", "role", "party_id", NULL };
	if (!api_require(r, req))
		return;
	struct dag_job *job = NULL;
	json_t *schema = api_load_dag(r, &job);
	if (!schema)
		return;
	json_t *view = json_object();
	for (size_t i = 0; i < job->ntasks; i++) {
		const struct dag_task *t = &job->tasks[i];
		if (strcmp(t->component, "reader"))
			continue;
		for (size_t k = 0; k < t->nptasks; k++) {
			const struct dag_party_task *pt = &t->ptasks[k];
			json_t *role = json_object_get(view, pt->party.role);
			if (!role) {
				role = json_object();
				json_object_set_new(view, pt->party.role, role);
			}
			json_t *list = json_object_get(role, pt->party.party_id);
			if (!list) {
				list = json_array();
				json_object_set_new(role, pt->party.party_id, list);
			}
			json_array_append_new(list, json_pack("{s:O?,s:O?}", "name",
				json_object_get(pt->parameters, "name"), "namespace",
				json_object_get(pt->parameters, "namespace")));
		}
	}
	json_t *data = json_pack("{s:s,s:s,s:o}", "role", api_arg(r, "role"), "party_id",
				 api_arg(r, "party_id"), "data_view", view);
	api_ok_json(r, data, NULL);
	json_decref(data);
	dag_job_free(job);
	json_decref(schema);
}

/* ---- log download: tar.gz of a job's files in the flat logs folder ---- */

static int api_tar_add_file(struct archive *a, const char *full, const char *name,
			    const struct stat *st, struct ff_error *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, st->st_size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, st->st_mtime, 0);
	FILE *f = fopen(full, "rb");
	int ret = FF_OK;
	if (archive_write_header(a, e) != ARCHIVE_OK || !f) {
		ret = ff_error_set(err, FF_EIO, "cannot archive '%s'", name);
	} else {
		char buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			if (archive_write_data(a, buf, n) < 0)
				break;
	}
	if (f)
		fclose(f);
	archive_entry_free(e);
	return ret;
}

/* full (a file, or a folder and everything in it) as name in the archive */
static int api_tar_add(struct archive *a, const char *full, const char *name,
		       struct ff_error *err)
{
	struct stat st;
	if (lstat(full, &st))
		return FF_OK;
	if (S_ISREG(st.st_mode))
		return api_tar_add_file(a, full, name, &st, err);
	if (!S_ISDIR(st.st_mode))
		return FF_OK;
	DIR *d = opendir(full);
	struct dirent *de;
	int ret = FF_OK;
	while (!ret && d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *f2 = ff_asprintf("%s/%s", full, de->d_name);
		char *n2 = ff_asprintf("%s/%s", name, de->d_name);
		ret = f2 && n2 ? api_tar_add(a, f2, n2, err) : FF_ENOMEM;
		ff_free(f2);
		ff_free(n2);
	}
	if (d)
		closedir(d);
	return ret;
}

/*
 * The name in the archive of <job>_<rest> in the logs folder: the layout
 * FATE's download has, a folder per party. "fate_flow_schedule*.log" stays
 * as it is, "<role>_<party>_<task>[.log]" becomes "<role>-<party>/<task>[.log]".
 */
static char *api_log_entry_name(const char *rest)
{
	const char *u1 = strchr(rest, '_');
	const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
	if (!strncmp(rest, "fate_flow_schedule", 18) || !u2)
		return ff_strdup(rest);
	return ff_asprintf("%.*s-%.*s/%s", (int)(u1 - rest), rest, (int)(u2 - u1 - 1), u1 + 1,
			   u2 + 1);
}

struct api_tar_job {
	struct archive *a;
	struct ff_error *err;
};

static int api_tar_add_log_entry(void *arg, const char *path, const char *rest)
{
	struct api_tar_job *t = arg;
	char *name = api_log_entry_name(rest);
	int ret = name ? api_tar_add(t->a, path, name, t->err) : FF_ENOMEM;
	ff_free(name);
	return ret;
}

static int api_tar_add_job_logs(struct archive *a, const char *log_dir, const char *job_id,
				struct ff_error *err)
{
	char prefix[80];
	snprintf(prefix, sizeof(prefix), "%s_", job_id);
	struct api_tar_job t = { a, err };
	return fs_each_prefixed(log_dir, prefix, api_tar_add_log_entry, &t);
}

static void api_job_log_download(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	static const char *const req[] = { "job_id", NULL };
	if (!api_require(r, req))
		return;
	const char *job_id = api_arg(r, "job_id");
	char tmpl[PATH_MAX], name[128];
	/* every job has a scheduler log on every site that knows it */
	char *sched = fs_name_ok(job_id, 64) && !strchr(job_id, '_')
		      ? site_joblog_path(s, job_id, false) : NULL;
	bool known = sched && fs_exists(sched);
	ff_free(sched);
	if (!known) {
		api_fail_code(r, 8001, "no found file or dir: this site has no logs of that job");
		return;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/joblog.XXXXXX", s->cfg.temp_dir);
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		api_fail_code(r, 6000, "cannot create a temporary file in the site's temps folder");
		return;
	}
	unlink(tmpl); /* the open descriptor keeps it until it is sent */
	struct archive *a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	int ret = archive_write_open_fd(a, fd) == ARCHIVE_OK ? FF_OK
		  : ff_error_set(&err, FF_EIO, "cannot write the archive");
	if (!ret)
		ret = api_tar_add_job_logs(a, s->cfg.log_dir, job_id, &err);
	archive_write_close(a);
	archive_write_free(a);
	struct stat st;
	if (ret || fstat(fd, &st) || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		api_fail_err(r, ret ? ret : FF_EIO, &err);
		return;
	}
	snprintf(name, sizeof(name), "job_%s_log.tar.gz", job_id);
	http_req_send_fd(r, fd, (uint64_t)st.st_size, "application/gzip", name);
	http_req_finish(r);
}

static const struct http_route api_job_table[] = {
	{ "POST", "/v2/job/submit", api_job_submit, HTTP_RT_CORE, NULL },
	{ "GET", "/v2/job/query", api_job_query, HTTP_RT_READ, NULL },
	{ "POST", "/v2/job/stop", api_job_stop, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/job/rerun", api_job_rerun, HTTP_RT_CORE, NULL },
	{ "GET", "/v2/job/list/query", api_job_list, HTTP_RT_READ, NULL },
	{ "GET", "/v2/job/task/query", api_task_query, HTTP_RT_READ, NULL },
	{ "GET", "/v2/job/task/list/query", api_task_list, HTTP_RT_READ, NULL },
	{ "POST", "/v2/job/queue/clean", api_job_queue_clean, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/job/notes/add", api_job_notes, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/job/clean", api_job_clean, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/job/log/download", api_job_log_download, HTTP_RT_READ, NULL },
	{ "GET", "/v2/job/dag/dependency", api_job_dependency, HTTP_RT_READ, NULL },
	{ "GET", "/v2/job/data/view", api_job_data_view, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_job_table);
