// SPDX-License-Identifier: Apache-2.0
/*
 * sched_view.c - what a step reads from the scheduler tables, and the
 * compare-and-set updates it makes.
 */
#include "ff_setup.h"
#include "clock.h"
#include "jsonx.h"
#include "mem.h"
#include "sched_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

int sched_parties_flatten(const char *json, struct fed_target **out, size_t *n)
{
	json_t *arr = json ? json_loads(json, 0, NULL) : NULL;
	size_t cap = 0, i;
	json_t *p;
	*out = NULL;
	*n = 0;
	json_array_foreach(arr, i, p)
		cap += json_array_size(json_object_get(p, "party_id"));
	*out = ff_calloc(cap ? cap : 1, sizeof(**out));
	if (!*out) {
		json_decref(arr);
		return FF_ENOMEM;
	}
	json_array_foreach(arr, i, p) {
		size_t k;
		json_t *pid;
		json_array_foreach(json_object_get(p, "party_id"), k, pid) {
			struct fed_target *t = &(*out)[(*n)++];
			snprintf(t->role, sizeof(t->role), "%s", jsonx_str(p, "role"));
			jsonx_scalar_text(pid, t->party_id, sizeof(t->party_id));
		}
	}
	json_decref(arr);
	return FF_OK;
}

static int sched_view_job_cb(void *arg, const struct store_row *row)
{
	struct sched_view *v = arg;
	snprintf(v->status, sizeof(v->status), "%s", store_col_text(row, "f_status"));
	v->cancel = store_col_int(row, "f_cancel_signal") != 0;
	v->rerun = store_col_int(row, "f_rerun_signal") != 0;
	v->progress = store_col_int(row, "f_progress");
	const char *sp = store_col_text(row, "f_scheduler_party_id");
	snprintf(v->scheduler, sizeof(v->scheduler), "%s", sp ? sp : "");
	return sched_parties_flatten(store_col_text(row, "f_parties"), &v->parties, &v->nparties);
}

static int sched_view_task_cb(void *arg, const struct store_row *row)
{
	struct sched_view *v = arg;
	struct sched_task *t = ff_realloc(v->tasks, (v->ntasks + 1) * sizeof(*t));
	if (!t)
		return FF_ENOMEM;
	v->tasks = t;
	t = &v->tasks[v->ntasks++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", store_col_text(row, "f_task_name"));
	snprintf(t->task_id, sizeof(t->task_id), "%s", store_col_text(row, "f_task_id"));
	t->version = store_col_int(row, "f_task_version");
	snprintf(t->status, sizeof(t->status), "%s", store_col_text(row, "f_status"));
	t->auto_retries = store_col_int(row, "f_auto_retries");
	const char *st = store_col_text(row, "f_sync_type");
	snprintf(t->sync_type, sizeof(t->sync_type), "%s", st ? st : "callback");
	const char *deps = store_col_text(row, "f_dependencies");
	t->deps = deps ? json_loads(deps, 0, NULL) : NULL;
	if (!t->deps)
		t->deps = json_array();
	return FF_OK;
}

static int sched_view_party_cb(void *arg, const struct store_row *row)
{
	struct sched_view *v = arg;
	const char *name = store_col_text(row, "f_task_name");
	struct sched_task *t = sched_view_task(v, name);
	if (!t || t->version != store_col_int(row, "f_task_version"))
		return FF_OK;
	size_t n = t->nparties + 1;
	struct fed_target *p = ff_realloc(t->parties, n * sizeof(*p));
	if (!p)
		return FF_ENOMEM;
	t->parties = p;
	char (*ps)[32] = ff_realloc(t->party_status, n * sizeof(*ps));
	if (!ps)
		return FF_ENOMEM;
	t->party_status = ps;
	struct fed_target *tg = &t->parties[t->nparties];
	memset(tg, 0, sizeof(*tg));
	snprintf(tg->role, sizeof(tg->role), "%s", store_col_text(row, "f_role"));
	snprintf(tg->party_id, sizeof(tg->party_id), "%s", store_col_text(row, "f_party_id"));
	snprintf(t->party_status[t->nparties], 32, "%s", store_col_text(row, "f_status"));
	t->nparties = n;
	return FF_OK;
}

int sched_view_load(struct site *s, const char *job_id, struct sched_view *v,
		    struct ff_error *err)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->job_id, sizeof(v->job_id), "%s", job_id);
	struct store_val a[] = { SV_TEXT(job_id) };
	int ret = store_exec(s->db, "SELECT f_status, f_cancel_signal, f_rerun_signal, f_progress,"
			     " f_scheduler_party_id, f_parties FROM t_schedule_job WHERE f_job_id = ?",
			     a, 1, sched_view_job_cb, v, NULL, err);
	if (!ret && !v->status[0])
		return ff_error_set(err, FF_ENOJOB, "no scheduled job '%s' on this site", job_id);
	/* latest version per task, in creation (topological) order */
	if (!ret)
		ret = store_exec(s->db,
			"SELECT s.* FROM t_schedule_task_status s WHERE s.f_job_id = ? AND"
			" s.f_task_version = (SELECT MAX(f_task_version) FROM t_schedule_task_status"
			" WHERE f_job_id = s.f_job_id AND f_task_id = s.f_task_id) ORDER BY s.f_seq",
			a, 1, sched_view_task_cb, v, NULL, err);
	if (!ret)
		ret = store_exec(s->db, "SELECT f_task_name, f_task_version, f_role, f_party_id,"
				 " f_status FROM t_schedule_task WHERE f_job_id = ? ORDER BY"
				 " f_task_version, f_role, f_party_id", a, 1, sched_view_party_cb, v,
				 NULL, err);
	if (ret)
		sched_view_release(v);
	return ret;
}

void sched_view_release(struct sched_view *v)
{
	for (size_t i = 0; i < v->ntasks; i++) {
		json_decref(v->tasks[i].deps);
		ff_free(v->tasks[i].parties);
		ff_free(v->tasks[i].party_status);
	}
	ff_free(v->tasks);
	ff_free(v->parties);
	memset(v, 0, sizeof(*v));
}

struct sched_task *sched_view_task(struct sched_view *v, const char *name)
{
	for (size_t i = 0; i < v->ntasks; i++)
		if (!strcmp(v->tasks[i].name, name))
			return &v->tasks[i];
	return NULL;
}

int sched_set_job_status(struct site *s, const char *job_id, const char *from,
			 const char *to, const char *error, bool *changed)
{
	*changed = false;
	if (!status_job_can(from, to))
		return FF_OK;
	int64_t now = clock_now_ms(), ch = 0;
	bool end = status_is_end(to), start = !strcmp(to, ST_RUNNING);
	struct store_val a[] = {
		SV_TEXT(to), SV_INT(now), SV_INT(end), SV_INT(now), SV_INT(end), SV_INT(now),
		SV_INT(start), SV_INT(now), SV_INT(end), SV_TEXT(error), SV_TEXT(job_id), SV_TEXT(from),
	};
	int ret = store_exec(s->db,
		"UPDATE t_schedule_job SET f_status = ?, f_update_time = ?,"
		" f_end_time = CASE WHEN ? = 1 THEN ? ELSE f_end_time END,"
		" f_elapsed = CASE WHEN ? = 1 AND f_start_time IS NOT NULL THEN ? - f_start_time"
		" ELSE f_elapsed END,"
		" f_start_time = CASE WHEN ? = 1 AND f_start_time IS NULL THEN ? ELSE f_start_time END,"
		" f_tag = CASE WHEN ? = 1 THEN 'job_end' ELSE f_tag END,"
		" f_error_report = COALESCE(?, f_error_report)"
		" WHERE f_job_id = ? AND f_status = ?",
		a, FF_ARRAY_SIZE(a), NULL, NULL, &ch, NULL);
	*changed = !ret && ch == 1;
	return ret;
}

int sched_set_task_status(struct site *s, const char *job_id, const char *task_id,
			  long long version, const char *from, const char *to, bool *changed)
{
	*changed = false;
	if (!status_task_can(from, to))
		return FF_OK;
	int64_t ch = 0;
	struct store_val a[] = { SV_TEXT(to), SV_INT(clock_now_ms()), SV_TEXT(job_id),
				 SV_TEXT(task_id), SV_INT(version), SV_TEXT(from) };
	int ret = store_exec(s->db, "UPDATE t_schedule_task_status SET f_status = ?,"
			     " f_update_time = ? WHERE f_job_id = ? AND f_task_id = ? AND"
			     " f_task_version = ? AND f_status = ?", a, FF_ARRAY_SIZE(a),
			     NULL, NULL, &ch, NULL);
	*changed = !ret && ch == 1;
	return ret;
}

int sched_set_party_status(struct site *s, const char *job_id, const char *task_id,
			   long long version, const char *role, const char *party_id,
			   const char *status, const char *error, bool force)
{
	/* one statement: the allowed previous statuses are in the WHERE clause
	 * (force: any); only when nothing changed is the row looked for */
	char from[STATUS_SOURCES_MAX];
	status_task_sources(status, from, sizeof(from));
	int64_t now = clock_now_ms(), ch = 0;
	bool end = status_is_end(status), start = !strcmp(status, ST_RUNNING);
	struct store_val a[] = { SV_TEXT(status), SV_INT(now), SV_INT(start), SV_INT(now),
				 SV_INT(end), SV_INT(now), SV_TEXT(error), SV_TEXT(job_id),
				 SV_TEXT(task_id), SV_INT(version), SV_TEXT(role), SV_TEXT(party_id),
				 SV_INT(force), SV_TEXT(from) };
	int ret = store_exec(s->db, "UPDATE t_schedule_task SET f_status = ?, f_update_time = ?,"
			     " f_start_time = CASE WHEN ? = 1 THEN ? ELSE f_start_time END,"
			     " f_end_time = CASE WHEN ? = 1 THEN ? ELSE f_end_time END,"
			     " f_error_report = COALESCE(?, f_error_report)"
			     " WHERE f_job_id = ? AND f_task_id = ? AND f_task_version = ? AND"
			     " f_role = ? AND f_party_id = ? AND (? = 1 OR"
			     " instr(?, ',' || f_status || ',') > 0)", a, FF_ARRAY_SIZE(a),
			     NULL, NULL, &ch, NULL);
	if (ret || ch)
		return ret;
	char *old = NULL;
	ret = store_get_text(s->db, "SELECT f_status FROM t_schedule_task WHERE f_job_id = ?"
			     " AND f_task_id = ? AND f_task_version = ? AND f_role = ? AND"
			     " f_party_id = ?", a + 7, 5 /* the key, as in the UPDATE */, &old,
			     NULL);
	ff_free(old);
	return ret == FF_ENOTFOUND ? FF_ENOTASK : ret;
}

struct sched_reason {
	char *out;
	size_t n;
};

static int sched_reason_cb(void *arg, const struct store_row *row)
{
	struct sched_reason *r = arg;
	const char *e = store_col_text(row, "f_error_report");
	snprintf(r->out, r->n, "task %s %s on %s %s%s%s", store_col_text(row, "f_task_name"),
		 store_col_text(row, "f_status"), store_col_text(row, "f_role"),
		 store_col_text(row, "f_party_id"), e && *e ? ": " : "", e && *e ? e : "");
	return FF_OK;
}

void sched_failure_reason(struct site *s, const char *job_id, char *out, size_t n)
{
	struct sched_reason r = { out, n };
	out[0] = '\0';
	struct store_val a[] = { SV_TEXT(job_id) };
	/* prefer a party that failed by itself over one stopped because of it */
	store_exec(s->db, "SELECT f_task_name, f_role, f_party_id, f_status, f_error_report FROM"
		   " t_schedule_task WHERE f_job_id = ? AND f_status IN ('failed', 'timeout',"
		   " 'canceled') ORDER BY (f_error_report LIKE 'stopped%') ,"
		   " (f_error_report IS NULL OR f_error_report = ''), f_update_time LIMIT 1",
		   a, 1, sched_reason_cb, &r, NULL, NULL);
}
