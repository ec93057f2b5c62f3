// SPDX-License-Identifier: Apache-2.0
/* tracking.c - data output records and table metas. */
#include "ff_setup.h"
#include "clock.h"
#include "jsonx.h"
#include "mem.h"
#include "store.h"
#include "tracking.h"

static json_t *tracking_json_col(const struct store_row *row, const char *col, bool list)
{
	const char *s = store_col_text(row, col);
	json_t *j = s && *s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	return j ? j : (list ? json_array() : json_object());
}

static json_t *tracking_table_obj(const struct store_row *row)
{
	const char *ns = store_col_text(row, "f_namespace");
	const char *name = store_col_text(row, "f_name");
	const char *engine = store_col_text(row, "f_engine");
	const struct store_val *cnt = store_col(row, "f_count");
	json_t *addr = tracking_json_col(row, "f_address", false);
	const char *path = jsonx_str(addr, "path");
	/* FATE's address.engine_path: a bound path (engine path/file) is file:// */
	bool file = engine && (!strcmp(engine, "path") || !strcmp(engine, "file"));
	char *engine_path = path ? ff_asprintf("%s://%s", file ? "file" : engine ? engine
									    : "standalone", path)
				 : NULL;
	json_t *o = json_pack("{s:s?,s:s?,s:o,s:o,s:s?,s:s?,s:o,s:s?}",
			      "namespace", ns, "name", name,
			      "count", cnt && cnt->type == STORE_INT ? json_integer(cnt->i) : json_null(),
			      "meta", tracking_json_col(row, "f_data_meta", false),
			      "engine", engine, "path", engine_path,
			      "source", tracking_json_col(row, "f_source", false),
			      "data_type", store_col_text(row, "f_data_type"));
	json_object_set_new(o, "partitions", json_integer(store_col_int(row, "f_partitions")));
	json_object_set_new(o, "display", tracking_json_col(row, "f_part_of_data", true));
	ff_free(engine_path);
	json_decref(addr);
	return o;
}

struct tracking_list {
	json_t *arr;
};

static int tracking_list_cb(void *arg, const struct store_row *row)
{
	struct tracking_list *l = arg;
	json_t *o = tracking_table_obj(row);
	const char *uri = store_col_text(row, "f_uri");
	json_object_set_new(o, "uri", json_string(uri ? uri : ""));
	/* the tracking row names the table even if its meta is gone */
	if (!json_object_get(o, "namespace") || json_is_null(json_object_get(o, "namespace"))) {
		json_object_set_new(o, "namespace", json_string(store_col_text(row, "t_namespace")));
		json_object_set_new(o, "name", json_string(store_col_text(row, "t_name")));
	}
	json_object_set_new(o, "has_meta", json_boolean(store_col(row, "f_engine") &&
						       store_col(row, "f_engine")->type != STORE_NULL));
	json_array_append_new(l->arr, o);
	return FF_OK;
}

int tracking_query(struct store *db, const char *job_id, const char *role,
		   const char *party_id, const char *task_name, const char *output_key,
		   json_t **out, struct ff_error *err)
{
	struct tracking_list l = { .arr = json_array() };
	struct store_val a[] = { SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id),
				 SV_TEXT(task_name), SV_TEXT(output_key), SV_TEXT(job_id),
				 SV_TEXT(role), SV_TEXT(party_id), SV_TEXT(task_name),
				 SV_TEXT(output_key) };
	int ret = store_exec(db,
		"SELECT t.f_uri, t.f_namespace AS t_namespace, t.f_name AS t_name, m.* FROM"
		" t_tracking_data_output t LEFT JOIN t_storage_table_meta m ON"
		" m.f_namespace = t.f_namespace AND m.f_name = t.f_name"
		" WHERE t.f_job_id = ? AND t.f_role = ? AND t.f_party_id = ? AND t.f_task_name = ?"
		" AND t.f_output_key = ? AND t.f_task_version = (SELECT MAX(f_task_version) FROM"
		" t_tracking_data_output WHERE f_job_id = ? AND f_role = ? AND f_party_id = ? AND"
		" f_task_name = ? AND f_output_key = ?) ORDER BY t.f_index",
		a, FF_ARRAY_SIZE(a), tracking_list_cb, &l, NULL, err);
	if (!ret && json_array_size(l.arr) == 0)
		ret = ff_error_set(err, FF_ENOTFOUND, "task '%s' of job '%s' has no output '%s' for %s %s",
				   task_name, job_id, output_key, role, party_id);
	if (ret) {
		json_decref(l.arr);
		return ret;
	}
	*out = l.arr;
	return FF_OK;
}

static int tracking_keys_cb(void *arg, const struct store_row *row)
{
	json_t *by_key = arg;
	const char *key = store_col_text(row, "f_output_key");
	json_t *list = json_object_get(by_key, key ? key : "");
	if (!list) {
		list = json_array();
		if (json_object_set_new(by_key, key ? key : "", list))
			return FF_ENOMEM;
	}
	struct tracking_list l = { .arr = list };
	return tracking_list_cb(&l, row);
}

int tracking_task_outputs(struct store *db, const char *job_id, const char *role,
			  const char *party_id, const char *task_name, json_t **out,
			  struct ff_error *err)
{
	json_t *by_key = json_object();
	struct store_val a[] = { SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id),
				 SV_TEXT(task_name), SV_TEXT(job_id), SV_TEXT(role),
				 SV_TEXT(party_id), SV_TEXT(task_name) };
	int ret = by_key ? store_exec(db,
		"SELECT t.f_output_key, t.f_uri, t.f_namespace AS t_namespace, t.f_name AS t_name,"
		" m.* FROM t_tracking_data_output t LEFT JOIN t_storage_table_meta m ON"
		" m.f_namespace = t.f_namespace AND m.f_name = t.f_name"
		" WHERE t.f_job_id = ? AND t.f_role = ? AND t.f_party_id = ? AND t.f_task_name = ?"
		" AND t.f_task_version = (SELECT MAX(f_task_version) FROM t_tracking_data_output"
		" WHERE f_job_id = ? AND f_role = ? AND f_party_id = ? AND f_task_name = ?)"
		" ORDER BY t.f_output_key, t.f_index",
		a, FF_ARRAY_SIZE(a), tracking_keys_cb, by_key, NULL, err) : FF_ENOMEM;
	if (ret) {
		json_decref(by_key);
		return ret;
	}
	*out = by_key;
	return FF_OK;
}

static int tracking_one_cb(void *arg, const struct store_row *row)
{
	json_t **out = arg;
	*out = tracking_table_obj(row);
	return FF_OK;
}

int tracking_table(struct store *db, const char *namespace_, const char *name,
		   json_t **out, struct ff_error *err)
{
	*out = NULL;
	struct store_val a[] = { SV_TEXT(namespace_), SV_TEXT(name) };
	int ret = store_exec(db, "SELECT * FROM t_storage_table_meta WHERE f_namespace = ? AND"
			     " f_name = ?", a, 2, tracking_one_cb, out, NULL, err);
	if (!ret && !*out)
		ret = ff_error_set(err, FF_ENOTABLE, "no table with namespace '%s' and name '%s'",
				   namespace_, name);
	return ret;
}

static int tracking_save_meta(struct store *db, const struct tracking_record *r, int64_t now,
			      struct ff_error *err)
{
	json_t *addr = json_pack("{s:s?,s:s?,s:s?}", "path", r->path, "namespace", r->namespace_,
				 "name", r->name);
	char *addr_s = jsonx_dumps(addr);
	char *meta_s = r->data_meta ? jsonx_dumps(r->data_meta) : NULL;
	char *src_s = r->source ? jsonx_dumps(r->source) : NULL;
	char *smp_s = r->samples ? jsonx_dumps(r->samples) : NULL;
	json_decref(addr);
	struct store_val a[] = {
		SV_TEXT(r->name), SV_TEXT(r->namespace_), SV_TEXT(addr_s),
		SV_TEXT(r->engine ? r->engine : "standalone"), SV_INT(r->partitions),
		SV_TEXT(meta_s), r->count >= 0 ? SV_INT(r->count) : SV_NULL, SV_TEXT(smp_s),
		SV_TEXT(src_s), SV_TEXT(r->data_type), SV_INT(now), SV_INT(now),
	};
	int ret = addr_s ? store_exec(db,
		"INSERT INTO t_storage_table_meta (f_name, f_namespace, f_address, f_engine,"
		" f_partitions, f_data_meta, f_count, f_part_of_data, f_source, f_data_type,"
		" f_create_time, f_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (f_name, f_namespace) DO UPDATE SET f_address = excluded.f_address,"
		" f_engine = excluded.f_engine, f_partitions = excluded.f_partitions,"
		" f_data_meta = excluded.f_data_meta, f_count = excluded.f_count,"
		" f_part_of_data = excluded.f_part_of_data, f_source = excluded.f_source,"
		" f_data_type = excluded.f_data_type, f_update_time = excluded.f_update_time",
		a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err) : FF_ENOMEM;
	ff_free(addr_s);
	ff_free(meta_s);
	ff_free(src_s);
	ff_free(smp_s);
	return ret;
}

int tracking_save(struct store *db, const struct tracking_record *r, struct ff_error *err)
{
	int64_t now = clock_now_ms();
	int ret = store_txn_begin(db, err);
	if (ret)
		return ret;
	struct store_val a[] = {
		SV_TEXT(r->job_id), SV_TEXT(r->task_id), SV_INT(r->task_version),
		SV_TEXT(r->task_name), SV_TEXT(r->role), SV_TEXT(r->party_id),
		SV_TEXT(r->output_key), SV_INT(r->index), SV_TEXT(r->uri ? r->uri : ""),
		SV_TEXT(r->namespace_), SV_TEXT(r->name), SV_INT(now), SV_INT(now),
	};
	ret = store_exec(db,
		"INSERT INTO t_tracking_data_output (f_job_id, f_task_id, f_task_version,"
		" f_task_name, f_role, f_party_id, f_output_key, f_index, f_uri, f_namespace,"
		" f_name, f_create_time, f_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT DO NOTHING", a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	if (!ret && r->uri && *r->uri)
		ret = tracking_save_meta(db, r, now, err);
	if (ret) {
		store_txn_abort(db);
		return ret;
	}
	return store_txn_commit(db, err);
}
