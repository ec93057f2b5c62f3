// SPDX-License-Identifier: Apache-2.0
/*
 * api_output.c - the /v2/output page (spec §1.3.4, §10): a task's metrics,
 * models and data outputs. Every route names the task with job_id, role,
 * party_id and task_name; a task that does not exist there is 2000.
 *
 * Two answers keep FATE's quirk of having no envelope (spec §1.3.4):
 * /v2/output/data/table and /v2/output/data/display return the bare object
 * {output_key: [...]}, as FATE-Flow's views do; errors are still envelopes.
 */
#include "ff_setup.h"
#include "api.h"
#include "data/download.h"
#include "data/tracking.h"
#include "fedflow/table.h"
#include "jsonx.h"
#include "mem.h"
#include "metric/metric.h"
#include "model/model.h"
#include "site.h"

#define API_OUTPUT_PREVIEW_ROWS 100

struct api_task {
	const char *job_id, *role, *party_id, *task_name;
};

/*
 * The task of the request: checks the four arguments (5001) and that the
 * task exists (2000). Answers itself and returns NULL on failure.
 */
static struct store *api_output_task(struct http_req *r, struct store *db, struct api_task *t)
{
	static const char *const req[] = { "job_id", "role", "party_id", "task_name", NULL };
	if (!api_require(r, req))
		return NULL;
	t->job_id = api_arg(r, "job_id");
	t->role = api_arg(r, "role");
	t->party_id = api_arg(r, "party_id");
	t->task_name = api_arg(r, "task_name");
	struct ff_error err = FF_ERROR_INIT;
	if (!db && !(db = http_req_db(r, &err))) {
		api_fail_err(r, FF_EIO, &err);
		return NULL;
	}
	struct store_val a[] = { SV_TEXT(t->job_id), SV_TEXT(t->role), SV_TEXT(t->party_id),
				 SV_TEXT(t->task_name) };
	int64_t n = 0;
	int ret = store_get_int(db, "SELECT COUNT(*) FROM t_task WHERE f_job_id = ? AND f_role = ?"
				" AND f_party_id = ? AND f_task_name = ?", a, 4, &n, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return NULL;
	}
	if (n == 0) {
		char msg[400];
		snprintf(msg, sizeof(msg), "no found task '%s' of job '%s' for %s %s", t->task_name,
			 t->job_id, t->role, t->party_id);
		api_fail_code(r, 2000, msg);
		return NULL;
	}
	return db;
}

/* ---- metrics ---- */

/* Filters from a JSON body "filters" object or name/type/step_axis/groups arguments. */
static json_t *api_metric_filters(struct http_req *r)
{
	json_t *f = api_body_get(r, "filters");
	if (json_is_object(f))
		return json_incref(f);
	const char *text = http_req_arg(r, "filters");
	json_t *parsed = text ? json_loads(text, 0, NULL) : NULL;
	if (json_is_object(parsed))
		return parsed;
	json_decref(parsed);
	json_t *o = json_object();
	const char *keys[] = { "name", "type", "step_axis" };
	for (size_t i = 0; o && i < FF_ARRAY_SIZE(keys); i++) {
		const char *v = http_req_arg(r, keys[i]);
		if (v)
			json_object_set_new(o, keys[i], json_string(v));
	}
	const char *g = http_req_arg(r, "groups");
	json_t *gj = g ? json_loads(g, 0, NULL) : NULL;
	if (o && json_is_array(gj))
		json_object_set(o, "groups", gj);
	json_decref(gj);
	return o;
}

static void api_metric_query_common(struct http_req *r, bool keys_only)
{
	struct api_task t;
	struct store *db = api_output_task(r, NULL, &t);
	if (!db)
		return;
	json_t *filters = keys_only ? NULL : api_metric_filters(r);
	struct ff_error err = FF_ERROR_INIT;
	struct jw w;
	api_ok_begin(r, &w);
	int ret = metric_query(db, t.job_id, t.role, t.party_id, t.task_name, filters, keys_only,
			       &w, &err);
	json_decref(filters);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_ok_end(r, &w, NULL);
}

static void api_metric_keys(struct http_req *r)
{
	api_metric_query_common(r, true);
}

static void api_metric_query(struct http_req *r)
{
	api_metric_query_common(r, false);
}

static void api_metric_delete(struct http_req *r)
{
	struct site *s = api_site(r);
	struct api_task t;
	if (!api_output_task(r, s->db, &t))
		return;
	struct ff_error err = FF_ERROR_INIT;
	int64_t n = 0;
	int ret = metric_delete(s->db, t.job_id, t.role, t.party_id, t.task_name, &n, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	json_t *d = json_boolean(n > 0);
	api_ok_json(r, d, NULL);
	json_decref(d);
}

/* ---- models ---- */

static void api_model_filter(const struct api_task *t, struct model_filter *f)
{
	*f = (struct model_filter){ .job_id = t->job_id, .role = t->role, .party_id = t->party_id,
				    .task_name = t->task_name };
}

static void api_output_model_query(struct http_req *r)
{
	struct site *s = api_site(r);
	struct api_task t;
	struct store *db = api_output_task(r, NULL, &t);
	if (!db)
		return;
	struct model_filter f;
	api_model_filter(&t, &f);
	struct ff_error err = FF_ERROR_INIT;
	json_t *models = NULL;
	int ret = model_read(db, s->cfg.model_dir, &f, &models, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	api_ok_json(r, models, NULL);
	json_decref(models);
}

/* Sends the newest stored package matching f as application/x-tar. */
static void api_send_model(struct http_req *r, struct store *db, const char *model_dir,
			   const struct model_filter *f)
{
	struct ff_error err = FF_ERROR_INIT;
	int fd = -1;
	uint64_t size = 0;
	char *name = NULL;
	int ret = model_open(db, model_dir, f, &fd, &size, &name, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	http_req_send_fd(r, fd, size, "application/x-tar", name);
	ff_free(name);
	http_req_finish(r);
}

static void api_output_model_download(struct http_req *r)
{
	struct site *s = api_site(r);
	struct api_task t;
	struct store *db = api_output_task(r, NULL, &t);
	if (!db)
		return;
	struct model_filter f;
	api_model_filter(&t, &f);
	api_send_model(r, db, s->cfg.model_dir, &f);
}

static void api_output_model_delete(struct http_req *r)
{
	struct site *s = api_site(r);
	struct api_task t;
	if (!api_output_task(r, s->db, &t))
		return;
	struct model_filter f;
	api_model_filter(&t, &f);
	struct ff_error err = FF_ERROR_INIT;
	int64_t n = 0;
	int ret = model_delete(s->db, s->cfg.model_dir, &f, &n, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	json_t *d = json_pack("{s:b}", "count", n > 0);
	api_ok_json(r, d, NULL);
	json_decref(d);
}

/* ---- data ---- */

/* "standalone:///a/b" -> "/a/b" when it is a standalone table folder. */
static const char *api_table_dir(const json_t *tbl)
{
	const char *engine = jsonx_str(tbl, "engine");
	const char *p = jsonx_str(tbl, "path");
	if (!engine || strcmp(engine, "standalone") || !p || strncmp(p, "standalone://", 13))
		return NULL;
	p += 13;
	return ff_table_exists(p) ? p : NULL;
}

/* Task outputs or an answered error (NULL). */
static json_t *api_output_tables(struct http_req *r, struct api_task *t)
{
	struct store *db = api_output_task(r, NULL, t);
	if (!db)
		return NULL;
	struct ff_error err = FF_ERROR_INIT;
	json_t *outs = NULL;
	int ret = tracking_task_outputs(db, t->job_id, t->role, t->party_id, t->task_name, &outs,
					&err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return NULL;
	}
	return outs;
}

/* A bare JSON object as the whole answer (FATE's un-enveloped views). */
static void api_output_bare(struct http_req *r, json_t *o)
{
	struct ff_buf *out = http_req_out(r);
	ff_buf_reset(out);
	if (jsonx_dump(o, out))
		api_fail_code(r, 6000, "cannot render the answer");
	else
		http_req_finish(r);
}

static void api_output_data_table(struct http_req *r)
{
	struct api_task t;
	json_t *outs = api_output_tables(r, &t);
	if (!outs)
		return;
	json_t *res = json_object();
	const char *key;
	json_t *list;
	json_object_foreach(outs, key, list) {
		json_t *arr = json_array();
		size_t i;
		json_t *tbl;
		json_array_foreach(list, i, tbl)
			json_array_append_new(arr, json_pack("{s:O,s:O}", "namespace",
							     json_object_get(tbl, "namespace"), "name",
							     json_object_get(tbl, "name")));
		json_object_set_new(res, key, arr);
	}
	api_output_bare(r, res);
	json_decref(res);
	json_decref(outs);
}

static void api_output_data_display(struct http_req *r)
{
	struct api_task t;
	json_t *outs = api_output_tables(r, &t);
	if (!outs)
		return;
	json_t *res = json_object();
	const char *key;
	json_t *list;
	json_object_foreach(outs, key, list) {
		json_t *arr = json_array();
		size_t i;
		json_t *tbl;
		json_array_foreach(list, i, tbl) {
			if (!json_is_true(json_object_get(tbl, "has_meta")))
				continue; /* FATE shows tables that still have a meta */
			const char *dir = api_table_dir(tbl);
			json_t *rows = NULL;
			if (!dir || download_preview(dir, API_OUTPUT_PREVIEW_ROWS, &rows, NULL))
				rows = json_incref(json_object_get(tbl, "display"));
			json_array_append_new(arr, json_pack("{s:o,s:O,s:O}", "data",
							     rows ? rows : json_array(), "metadata",
							     json_object_get(tbl, "meta"), "total",
							     json_object_get(tbl, "count")));
		}
		json_object_set_new(res, key, arr);
	}
	api_output_bare(r, res);
	json_decref(res);
	json_decref(outs);
}

static void api_output_data_download(struct http_req *r)
{
	struct site *s = api_site(r);
	struct api_task t;
	json_t *outs = api_output_tables(r, &t);
	if (!outs)
		return;
	struct ff_error err = FF_ERROR_INIT;
	size_t cap = 0, n = 0;
	const char *key;
	json_t *list;
	json_object_foreach(outs, key, list)
		cap += json_array_size(list);
	struct download_item *items = ff_calloc(cap ? cap : 1, sizeof(*items));
	char **names = ff_calloc(2 * (cap ? cap : 1), sizeof(*names));
	int ret = items && names ? FF_OK : FF_ENOMEM;
	json_object_foreach(ret ? NULL : outs, key, list) {
		size_t i;
		json_t *tbl;
		json_array_foreach(list, i, tbl) {
			const char *dir = api_table_dir(tbl);
			if (!dir)
				continue;
			names[2 * n] = ff_asprintf("%s/%zu.csv", key, i);
			names[2 * n + 1] = ff_asprintf("%s/%zu.meta", key, i);
			items[n] = (struct download_item){ names[2 * n], names[2 * n + 1], dir, 0 };
			n++;
			if (!names[2 * n - 2] || !names[2 * n - 1])
				ret = FF_ENOMEM;
		}
	}
	if (!ret && n == 0)
		ret = ff_error_set(&err, FF_ENOTABLE, "no found table: task '%s' of job '%s' has no "
				   "data output for %s %s", t.task_name, t.job_id, t.role,
				   t.party_id);
	int fd = -1;
	uint64_t size = 0;
	if (!ret)
		ret = download_tgz(items, n, s->cfg.temp_dir, &fd, &size, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
	} else {
		char *fname = ff_asprintf("%s_%s_%s_%s.tar.gz", t.job_id, t.role, t.party_id,
					  t.task_name);
		http_req_send_fd(r, fd, size, "application/gzip", fname);
		ff_free(fname);
		http_req_finish(r);
	}
	for (size_t i = 0; names && i < 2 * n; i++)
		ff_free(names[i]);
	ff_free(names);
	ff_free(items);
	json_decref(outs);
}

static const struct http_route api_output_table[] = {
	{ "GET", "/v2/output/metric/key/query", api_metric_keys, HTTP_RT_READ, NULL },
	{ "GET", "/v2/output/metric/query", api_metric_query, HTTP_RT_READ, NULL },
	{ "POST", "/v2/output/metric/delete", api_metric_delete, HTTP_RT_CORE, NULL },
	{ "GET", "/v2/output/model/query", api_output_model_query, HTTP_RT_READ, NULL },
	{ "GET", "/v2/output/model/download", api_output_model_download, HTTP_RT_READ, NULL },
	{ "POST", "/v2/output/model/delete", api_output_model_delete, HTTP_RT_CORE, NULL },
	{ "GET", "/v2/output/data/download", api_output_data_download, HTTP_RT_READ, NULL },
	{ "GET", "/v2/output/data/table", api_output_data_table, HTTP_RT_READ, NULL },
	{ "GET", "/v2/output/data/display", api_output_data_display, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_output_table);
