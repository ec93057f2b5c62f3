// SPDX-License-Identifier: Apache-2.0
/* metric.c - save, query and delete task metrics. */
#include "ff_setup.h"
#include "clock.h"
#include "jsonx.h"
#include "mem.h"
#include "metric.h"
#include "store.h"

static int metric_check(const json_t *m, size_t i, struct ff_error *err)
{
	if (!json_is_object(m) || !jsonx_str(m, "name"))
		return ff_error_set(err, FF_EPARAM, "data[%zu]: a metric needs a 'name'", i);
	const json_t *g = json_object_get(m, "groups");
	if (g && !json_is_array(g) && !json_is_null(g))
		return ff_error_set(err, FF_EPARAM, "data[%zu].groups: expected a list", i);
	const json_t *d = json_object_get(m, "data");
	if (!d || !(json_is_array(d) || json_is_object(d)))
		return ff_error_set(err, FF_EPARAM, "data[%zu].data: expected a list or an object", i);
	return FF_OK;
}

int metric_save(struct store *db, const struct metric_task *t, const json_t *list,
		struct ff_error *err)
{
	if (!json_is_array(list))
		return ff_error_set(err, FF_EPARAM, "metrics must be a list of metric objects");
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m) {
		int ret = metric_check(m, i, err);
		if (ret)
			return ret;
	}
	int64_t now = clock_now_ms();
	int ret = store_txn_begin(db, err);
	json_array_foreach(list, i, m) {
		if (ret)
			break;
		const json_t *g = json_object_get(m, "groups");
		char *groups = jsonx_dumps(json_is_array(g) ? g : json_array());
		char *data = jsonx_dumps(json_object_get(m, "data"));
		struct store_val a[] = {
			SV_TEXT(t->job_id), SV_TEXT(t->role), SV_TEXT(t->party_id),
			SV_TEXT(t->task_name), SV_TEXT(t->task_id), SV_INT(t->task_version),
			SV_TEXT(jsonx_str(m, "name")), SV_TEXT(jsonx_str(m, "type")), SV_TEXT(groups),
			SV_TEXT(jsonx_str(m, "step_axis")), SV_TEXT(data), SV_INT(now), SV_INT(now),
		};
		ret = groups && data ? store_exec(db,
			"INSERT INTO t_metric (f_job_id, f_role, f_party_id, f_task_name, f_task_id,"
			" f_task_version, f_name, f_type, f_groups, f_step_axis, f_data,"
			" f_create_time, f_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err) : FF_ENOMEM;
		ff_free(groups);
		ff_free(data);
	}
	if (ret) {
		store_txn_abort(db);
		return ret;
	}
	return store_txn_commit(db, err);
}

struct metric_q {
	const json_t *filters;
	bool keys_only;
	struct jw *w;
	json_t *seen;     /* keys_only: distinct keys */
};

static bool metric_match(const struct store_row *row, const json_t *f)
{
	if (!json_is_object(f))
		return true;
	const char *keys[] = { "name", "type", "step_axis" };
	const char *cols[] = { "f_name", "f_type", "f_step_axis" };
	for (size_t i = 0; i < 3; i++) {
		const char *want = jsonx_str(f, keys[i]);
		const char *have = store_col_text(row, cols[i]);
		if (want && (!have || strcmp(want, have)))
			return false;
	}
	const json_t *g = json_object_get(f, "groups");
	if (g && !json_is_null(g)) {
		const char *gs = store_col_text(row, "f_groups");
		json_t *have = gs ? json_loads(gs, 0, NULL) : NULL;
		bool eq = have && json_equal(have, g);
		json_decref(have);
		return eq;
	}
	return true;
}

static int metric_q_cb(void *arg, const struct store_row *row)
{
	struct metric_q *q = arg;
	if (!metric_match(row, q->filters))
		return FF_OK;
	const char *name = store_col_text(row, "f_name");
	const char *type = store_col_text(row, "f_type");
	const char *axis = store_col_text(row, "f_step_axis");
	const char *groups = store_col_text(row, "f_groups");
	if (q->keys_only) {
		char *k = ff_asprintf("%s|%s|%s|%s", name ? name : "", type ? type : "",
				      axis ? axis : "", groups ? groups : "");
		if (!k)
			return FF_ENOMEM;
		bool dup = json_object_get(q->seen, k) != NULL;
		json_object_set_new(q->seen, k, json_true());
		ff_free(k);
		if (dup)
			return FF_OK;
	}
	jw_obj(q->w);
	jw_kstr(q->w, "name", name);
	jw_kstr(q->w, "type", type);
	jw_key(q->w, "groups");
	jw_raw(q->w, groups, groups ? strlen(groups) : 0);
	jw_kstr(q->w, "step_axis", axis);
	if (!q->keys_only) {
		const char *data = store_col_text(row, "f_data");
		jw_key(q->w, "data");
		jw_raw(q->w, data, data ? strlen(data) : 0);
	}
	jw_end(q->w);
	return q->w->err;
}

int metric_query(struct store *db, const char *job_id, const char *role,
		 const char *party_id, const char *task_name, const json_t *filters,
		 bool keys_only, struct jw *w, struct ff_error *err)
{
	struct metric_q q = { .filters = filters, .keys_only = keys_only, .w = w,
			      .seen = json_object() };
	struct store_val a[] = { SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id),
				 SV_TEXT(task_name), SV_TEXT(job_id), SV_TEXT(role),
				 SV_TEXT(party_id), SV_TEXT(task_name) };
	jw_arr(w);
	int ret = store_exec(db,
		"SELECT f_name, f_type, f_groups, f_step_axis, f_data FROM t_metric WHERE"
		" f_job_id = ? AND f_role = ? AND f_party_id = ? AND f_task_name = ? AND"
		" f_task_version = (SELECT MAX(f_task_version) FROM t_metric WHERE f_job_id = ? AND"
		" f_role = ? AND f_party_id = ? AND f_task_name = ?) ORDER BY f_id",
		a, FF_ARRAY_SIZE(a), metric_q_cb, &q, NULL, err);
	jw_end(w);
	json_decref(q.seen);
	return ret;
}

int metric_delete(struct store *db, const char *job_id, const char *role,
		  const char *party_id, const char *task_name, int64_t *n, struct ff_error *err)
{
	struct store_val a[] = { SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id),
				 SV_TEXT(task_name) };
	return store_exec(db, "DELETE FROM t_metric WHERE f_job_id = ? AND f_role = ? AND"
			  " f_party_id = ? AND f_task_name = ?", a, 4, NULL, NULL, n, err);
}
