// SPDX-License-Identifier: Apache-2.0
/*
 * model.c - model meta rows, the task view, export, import and the
 * model_warehouse check (see model.h).
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clock.h"
#include "data/archive.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"
#include "model.h"
#include "store.h"

#define MODEL_ENGINE "file"

/* ---- save ---- */

int model_save(struct store *db, const char *model_dir, const struct model_record *rec,
	       const char *tar_path, bool move, struct ff_error *err)
{
	char *key = NULL, *metas_s = NULL;
	json_t *metas = NULL;
	int ret = model_store_key(&rec->key, &key, err);
	if (!ret)
		ret = model_store_metas(tar_path, &metas, err);
	if (!ret && json_array_size(metas) == 0)
		ret = ff_error_set(err, FF_EDATA, "model package for '%s' holds no meta", key);
	if (!ret && !(metas_s = jsonx_dumps(metas)))
		ret = FF_ENOMEM;
	if (!ret)
		ret = model_store_put(model_dir, key, tar_path, move, err);
	if (ret)
		goto out;
	int64_t now = clock_now_ms();
	const struct model_key *k = &rec->key;
	struct store_val del[] = { SV_TEXT(key), SV_TEXT(MODEL_ENGINE) };
	struct store_val ins[] = {
		SV_TEXT(k->model_id), SV_TEXT(k->model_version), SV_TEXT(rec->job_id ? rec->job_id : ""),
		SV_TEXT(k->role), SV_TEXT(k->party_id), SV_TEXT(k->task_name), SV_TEXT(key),
		SV_TEXT(k->output_key), SV_TEXT(rec->type_name ? rec->type_name : ""),
		SV_TEXT(metas_s), SV_TEXT(MODEL_ENGINE), SV_INT(now), SV_INT(now),
	};
	if ((ret = store_txn_begin(db, err)))
		goto out;
	ret = store_exec(db, "DELETE FROM t_model_meta WHERE f_storage_key = ? AND"
			 " f_storage_engine = ?", del, FF_ARRAY_SIZE(del), NULL, NULL, NULL, err);
	if (!ret)
		ret = store_exec(db, "INSERT INTO t_model_meta (f_model_id, f_model_version, f_job_id,"
				 " f_role, f_party_id, f_task_name, f_storage_key, f_output_key,"
				 " f_type_name, f_meta_data, f_storage_engine, f_create_time,"
				 " f_update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				 ins, FF_ARRAY_SIZE(ins), NULL, NULL, NULL, err);
	if (ret)
		store_txn_abort(db);
	else
		ret = store_txn_commit(db, err);
out:
	json_decref(metas);
	ff_free(metas_s);
	ff_free(key);
	return ret;
}

/* ---- find ---- */

struct model_q {
	struct ff_buf sql;
	struct store_val args[8];
	size_t n;
};

static void model_q_eq(struct model_q *q, const char *col, const char *v)
{
	if (!v || !*v)
		return;
	ff_buf_addf(&q->sql, " AND %s = ?", col);
	q->args[q->n++] = SV_TEXT(v);
}

static void model_q_build(struct model_q *q, const char *select, const struct model_filter *f)
{
	ff_buf_init(&q->sql, 4096);
	q->n = 0;
	ff_buf_addstr(&q->sql, select);
	ff_buf_addstr(&q->sql, " WHERE f_storage_engine = '" MODEL_ENGINE "'");
	model_q_eq(q, "f_job_id", f->job_id);
	model_q_eq(q, "f_model_id", f->model_id);
	model_q_eq(q, "f_model_version", f->model_version);
	model_q_eq(q, "f_role", f->role);
	model_q_eq(q, "f_party_id", f->party_id);
	model_q_eq(q, "f_task_name", f->task_name);
	model_q_eq(q, "f_output_key", f->output_key);
}

static int model_row_cb(void *arg, const struct store_row *row)
{
	json_t *rows = arg;
	json_t *o = json_object();
	if (!o)
		return FF_ENOMEM;
	for (size_t i = 0; i < row->ncols; i++) {
		const char *name = row->names[i];
		const struct store_val *v = &row->vals[i];
		const char *key = !strncmp(name, "f_", 2) ? name + 2 : name;
		json_t *j;
		if (v->type == STORE_INT)
			j = json_integer(v->i);
		else if (v->type != STORE_TEXT)
			j = json_null();
		else if (!strcmp(key, "meta_data"))
			j = json_loads(v->s, 0, NULL);
		else
			j = json_string(v->s);
		json_object_set_new(o, key, j ? j : json_null());
	}
	return json_array_append_new(rows, o) ? FF_ENOMEM : FF_OK;
}

int model_find(struct store *db, const struct model_filter *f, json_t **rows,
	       struct ff_error *err)
{
	struct model_q q;
	json_t *list = json_array();
	model_q_build(&q, "SELECT * FROM t_model_meta", f);
	ff_buf_addstr(&q.sql, " ORDER BY f_create_time DESC, f_storage_key");
	int ret = !list || !q.sql.len ? FF_ENOMEM
		: store_exec(db, q.sql.buf, q.args, q.n, model_row_cb, list, NULL, err);
	ff_buf_release(&q.sql);
	if (!ret && json_array_size(list) == 0)
		ret = ff_error_set(err, FF_ENOMODEL, "no found model output (model_id '%s', "
				   "model_version '%s', job '%s', %s %s, task '%s', output '%s')",
				   f->model_id ? f->model_id : "*",
				   f->model_version ? f->model_version : "*",
				   f->job_id ? f->job_id : "*", f->role ? f->role : "*",
				   f->party_id ? f->party_id : "*", f->task_name ? f->task_name : "*",
				   f->output_key ? f->output_key : "*");
	if (ret) {
		json_decref(list);
		return ret;
	}
	*rows = list;
	return FF_OK;
}

int model_open(struct store *db, const char *model_dir, const struct model_filter *f, int *fd,
	       uint64_t *size, char **output_key, struct ff_error *err)
{
	json_t *rows = NULL;
	int ret = model_find(db, f, &rows, err);
	const json_t *row = ret ? NULL : json_array_get(rows, 0);
	const char *key = jsonx_str(row, "storage_key");
	char *path = key ? model_store_path(model_dir, key) : NULL;
	struct stat st;
	int d = -1;
	if (!ret && !path)
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret && ((d = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(d, &st)))
		ret = ff_error_set(err, FF_ENOMODEL, "the package of model '%s' is missing: %s", key,
				   strerror(errno));
	if (!ret && !(*output_key = ff_strdup(jsonx_str(row, "output_key") ?
					      jsonx_str(row, "output_key") : "model")))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (ret) {
		if (d >= 0)
			close(d);
	} else {
		*fd = d;
		*size = (uint64_t)st.st_size;
	}
	ff_free(path);
	json_decref(rows);
	return ret;
}

/* ---- delete ---- */

int model_delete(struct store *db, const char *model_dir, const struct model_filter *f,
		 int64_t *n, struct ff_error *err)
{
	json_t *rows = NULL;
	int ret = model_find(db, f, &rows, err);
	if (ret)
		return ret;
	struct model_q q;
	model_q_build(&q, "DELETE FROM t_model_meta", f);
	ret = q.sql.len ? store_exec(db, q.sql.buf, q.args, q.n, NULL, NULL, n, err) : FF_ENOMEM;
	ff_buf_release(&q.sql);
	/* packages go once their rows are gone; a package another row still
	 * names (the same storage key under another job) stays */
	size_t i;
	json_t *row;
	json_array_foreach(ret ? NULL : rows, i, row) {
		const char *key = jsonx_str(row, "storage_key");
		int64_t left = 0;
		struct store_val a[] = { SV_TEXT(key) };
		if (key && !store_get_int(db, "SELECT COUNT(*) FROM t_model_meta WHERE f_storage_key"
					  " = ?", a, 1, &left, NULL) && left == 0)
			model_store_delete(model_dir, key);
	}
	json_decref(rows);
	return ret;
}

/* ---- the task view ---- */

int model_read(struct store *db, const char *model_dir, const struct model_filter *f,
	       json_t **out, struct ff_error *err)
{
	json_t *rows = NULL, *res = json_object();
	int ret = res ? model_find(db, f, &rows, err) : FF_ENOMEM;
	size_t i;
	json_t *row;
	json_array_foreach(ret ? NULL : rows, i, row) {
		const char *okey = jsonx_str(row, "output_key");
		if (!okey || json_object_get(res, okey))
			continue; /* newest first: an older package of the key is hidden */
		char *path = model_store_path(model_dir, jsonx_str(row, "storage_key"));
		json_t *m = NULL;
		ret = path ? model_store_read(path, &m, err) : FF_ENOMEM;
		ff_free(path);
		if (ret)
			break;
		json_object_set_new(res, okey, m);
	}
	json_decref(rows);
	if (ret) {
		json_decref(res);
		return ret;
	}
	*out = res;
	return FF_OK;
}

/* ---- export ---- */

int model_export(struct store *db, const char *model_dir, const struct model_filter *f,
		 const char *zip_path, size_t *n, struct ff_error *err)
{
	json_t *rows = NULL;
	struct archive_out *w = NULL;
	char uuid[33];
	clock_uuid_hex(uuid);
	char *tmp = ff_asprintf("%s.tmp-%s", zip_path, uuid);
	int ret = tmp ? model_find(db, f, &rows, err) : FF_ENOMEM;
	if (!ret)
		ret = archive_out_open_path(&w, tmp, ARCHIVE_KIND_ZIP, err);
	size_t i, count = 0;
	json_t *row;
	json_array_foreach(ret ? NULL : rows, i, row) {
		const char *key = jsonx_str(row, "storage_key");
		char *path = key ? model_store_path(model_dir, key) : NULL;
		ret = path ? archive_out_add_file(w, key, path, err) : FF_EDATA;
		ff_free(path);
		if (ret)
			break;
		count++;
	}
	if (!ret)
		ret = archive_out_close(w, err);
	archive_out_free(w);
	if (!ret && rename(tmp, zip_path))
		ret = ff_error_set(err, ff_from_errno(errno), "cannot write '%s': %s", zip_path,
				   strerror(errno));
	if (ret && tmp)
		unlink(tmp);
	ff_free(tmp);
	json_decref(rows);
	if (n)
		*n = ret ? 0 : count;
	return ret;
}

/* ---- import ---- */

struct model_import_ctx {
	const char *scratch;
	const char *model_id, *model_version;
	json_t *items;        /* [{storage_key parts..., path}] */
	struct ff_error *err;
};

static int model_import_cb(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	struct model_import_ctx *c = arg;
	char buf[1024];
	struct model_key k;
	int ret = model_store_key_parse(name, buf, sizeof(buf), &k, c->err);
	if (ret) {
		ff_error_prefix(c->err, "model zip entry '%.100s'", name);
		return ret;
	}
	char *path = ff_asprintf("%s/%zu", c->scratch, json_array_size(c->items));
	ret = path ? archive_in_to_file(in, path, c->err) : FF_ENOMEM;
	if (!ret)
		ret = json_array_append_new(c->items, json_pack("{s:s,s:s,s:s,s:s,s:s}", "role", k.role,
								"party_id", k.party_id, "task_name",
								k.task_name, "output_key", k.output_key,
								"path", path)) ? FF_ENOMEM : FF_OK;
	ff_free(path);
	return ret;
}

int model_import(struct store *db, const char *model_dir, const char *temp_dir,
		 const char *model_id, const char *model_version, const char *zip_path,
		 size_t *n, struct ff_error *err)
{
	char uuid[33];
	clock_uuid_hex(uuid);
	char *scratch = ff_asprintf("%s/model-import-%s", temp_dir, uuid);
	struct model_import_ctx c = { .scratch = scratch, .model_id = model_id,
				      .model_version = model_version, .items = json_array(),
				      .err = err };
	struct model_key probe = { model_id, model_version, "r", "p", "t", "o" };
	char *probe_key = NULL;
	int ret = scratch && c.items ? model_store_key(&probe, &probe_key, err) : FF_ENOMEM;
	if (!ret)
		ret = fs_mkdirs(scratch, 0700, err);
	if (!ret)
		ret = archive_walk(zip_path, model_import_cb, &c, err);
	if (!ret && json_array_size(c.items) == 0)
		ret = ff_error_set(err, FF_EDATA, "the model zip holds no model "
				   "(entries model_id/model_version/role/party_id/task_name/output_key)");
	/* every package must have its metas before anything is stored */
	size_t i;
	json_t *it;
	json_array_foreach(ret ? NULL : c.items, i, it) {
		json_t *metas = NULL;
		ret = model_store_metas(jsonx_str(it, "path"), &metas, err);
		if (!ret && json_array_size(metas) == 0)
			ret = ff_error_set(err, FF_EDATA, "model zip entry for task '%s' output '%s' "
					   "holds no meta", jsonx_str(it, "task_name"),
					   jsonx_str(it, "output_key"));
		if (!ret)
			json_object_set(it, "type_name", json_object_get(json_array_get(metas, 0),
									 "type_name"));
		json_decref(metas);
		if (ret)
			break;
	}
	json_array_foreach(ret ? NULL : c.items, i, it) {
		struct model_record rec = {
			.job_id = "",
			.key = { model_id, model_version, jsonx_str(it, "role"), jsonx_str(it, "party_id"),
				 jsonx_str(it, "task_name"), jsonx_str(it, "output_key") },
			.type_name = jsonx_str(it, "type_name"),
		};
		ret = model_save(db, model_dir, &rec, jsonx_str(it, "path"), true, err);
		if (ret)
			break;
	}
	if (n)
		*n = ret ? 0 : json_array_size(c.items);
	if (scratch)
		fs_rm_rf(scratch);
	ff_free(scratch);
	ff_free(probe_key);
	json_decref(c.items);
	return ret;
}

/* ---- model_warehouse check ---- */

static int model_exists(struct store *db, const char *path, const json_t *ref,
			struct ff_error *err)
{
	char mid[256], ver[128];
	if (jsonx_scalar_text(json_object_get(ref, "model_id"), mid, sizeof(mid)) || !mid[0])
		return ff_error_set(err, FF_EDAG, "%s: model_warehouse needs a model_id", path);
	const json_t *v = json_object_get(ref, "model_version");
	if (!v || json_is_null(v))
		snprintf(ver, sizeof(ver), "0");
	else if (jsonx_scalar_text(v, ver, sizeof(ver)))
		return ff_error_set(err, FF_EDAG, "%s.model_version: expected a string or an integer",
				    path);
	struct store_val a[] = { SV_TEXT(mid), SV_TEXT(ver) };
	int64_t cnt = 0;
	int ret = store_get_int(db, "SELECT COUNT(*) FROM t_model_meta WHERE f_model_id = ? AND"
				" f_model_version = ?", a, 2, &cnt, err);
	if (ret)
		return ret;
	if (cnt == 0)
		return ff_error_set(err, FF_EDAG, "%s: no stored model with model_id '%s' and "
				    "model_version '%s' (see /v2/model/import)", path, mid, ver);
	return FF_OK;
}

int model_warehouse_check(struct store *db, const json_t *dag_schema, struct ff_error *err)
{
	const json_t *dag = json_object_get(dag_schema, "dag");
	const json_t *mw = jsonx_path(dag, "conf.model_warehouse");
	int ret = FF_OK;
	if (mw && !json_is_null(mw))
		ret = model_exists(db, "dag.conf.model_warehouse", mw, err);
	const char *tname;
	json_t *t;
	json_object_foreach((json_t *)json_object_get(dag, "tasks"), tname, t) {
		const char *key;
		json_t *in;
		json_object_foreach(jsonx_path(t, "inputs.model"), key, in) {
			json_t *chans = json_object_get(in, "model_warehouse");
			json_t *arr = json_is_array(chans) ? json_incref(chans)
				     : chans ? json_pack("[O]", chans) : json_array();
			size_t i;
			json_t *ch;
			json_array_foreach(arr, i, ch) {
				if (ret || !json_object_get(ch, "model_id"))
					continue;
				char path[256];
				snprintf(path, sizeof(path), "dag.tasks.%s.inputs.model.%s", tname, key);
				ret = model_exists(db, path, ch, err);
			}
			json_decref(arr);
		}
		if (ret)
			break;
	}
	return ret;
}
