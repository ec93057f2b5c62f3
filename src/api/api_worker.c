// SPDX-License-Identifier: Apache-2.0
/*
 * api_worker.c - the /v2/worker page (spec §1.6): what task processes of
 * this site call. Tasks are found by execution_id (latest version).
 *
 * Built-in components never need model/save and model/download: fedflowd
 * packs their model outputs and unpacks their model inputs itself (the
 * executor, spec §7.4). The two routes serve providers that run FATE's own
 * wrapper and talk to the worker API as they would to FATE-Flow.
 */
#include "ff_setup.h"
#include <unistd.h>
#include "api.h"
#include "data/tracking.h"
#include "http_form.h"
#include "jsonx.h"
#include "mem.h"
#include "metric/metric.h"
#include "model/model.h"
#include "party/party.h"
#include "site.h"
#include "status.h"

struct api_task_ref {
	bool found;
	struct party_task_key key;
	char task_name[64];
};

static int api_task_ref_cb(void *arg, const struct store_row *row)
{
	struct api_task_ref *t = arg;
	t->found = true;
	snprintf(t->key.job_id, sizeof(t->key.job_id), "%s", store_col_text(row, "f_job_id"));
	snprintf(t->key.task_id, sizeof(t->key.task_id), "%s", store_col_text(row, "f_task_id"));
	t->key.version = store_col_int(row, "f_task_version");
	snprintf(t->key.role, sizeof(t->key.role), "%s", store_col_text(row, "f_role"));
	snprintf(t->key.party_id, sizeof(t->key.party_id), "%s", store_col_text(row, "f_party_id"));
	snprintf(t->task_name, sizeof(t->task_name), "%s", store_col_text(row, "f_task_name"));
	return FF_OK;
}

/* Finds the task of an execution id; answers 2000 itself when unknown. */
static bool api_task_ref(struct http_req *r, struct store *db, const char *eid,
			 struct api_task_ref *t)
{
	memset(t, 0, sizeof(*t));
	struct store_val a[] = { SV_TEXT(eid) };
	if (eid)
		store_exec(db, "SELECT f_job_id, f_task_id, f_task_version, f_role, f_party_id,"
			   " f_task_name FROM t_task WHERE f_execution_id = ? ORDER BY"
			   " f_task_version DESC LIMIT 1", a, 1, api_task_ref_cb, t, NULL, NULL);
	if (!t->found) {
		char msg[300];
		snprintf(msg, sizeof(msg), "no found task with execution_id '%s'", eid ? eid : "");
		api_fail_code(r, 2000, msg);
	}
	return t->found;
}

static void api_worker_status(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "execution_id", "status", NULL };
	if (!api_require(r, req))
		return;
	struct api_task_ref t;
	if (!api_task_ref(r, s->db, api_arg(r, "execution_id"), &t))
		return;
	const char *status = api_arg(r, "status");
	if (!status_is_task(status)) {
		api_fail_code(r, 5001, "status: expected a task status");
		return;
	}
	/*
	 * The executor records success itself once the process has ended
	 * and its outputs are recorded; an early success report would let
	 * the next task start before the outputs exist. Failures and the
	 * error text are taken at once.
	 */
	if (strcmp(status, ST_SUCCESS) && strcmp(status, ST_PASS)) {
		const char *error = api_arg(r, "error");
		bool changed;
		struct ff_error err = FF_ERROR_INIT;
		int ret = party_task_set_party_status(s, &t.key, status, error, &changed, &err);
		if (ret) {
			api_fail_err(r, ret, &err);
			return;
		}
	}
	api_ok_msg(r, "success");
}

static void api_worker_metric_save(struct http_req *r)
{
	struct site *s = api_site(r);
	if (api_reject_bad_json(r))
		return;
	const char *eid = http_req_path_tail(r);
	if (!*eid)
		eid = api_arg(r, "execution_id");
	else if (*eid == '/')
		eid++;
	struct api_task_ref t;
	if (!api_task_ref(r, s->db, eid, &t))
		return;
	struct metric_task mt = { .job_id = t.key.job_id, .role = t.key.role,
				  .party_id = t.key.party_id, .task_name = t.task_name,
				  .task_id = t.key.task_id, .task_version = t.key.version };
	struct ff_error err = FF_ERROR_INIT;
	int ret = metric_save(s->db, &mt, api_body_get(r, "data"), &err);
	if (ret)
		api_fail_code(r, 5008, ff_error_msg(&err, ret));
	else
		api_ok_msg(r, "success");
}

static void api_worker_tracking_query(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	if (!db) {
		api_fail_err(r, FF_EIO, &err);
		return;
	}
	json_t *out = NULL;
	const char *ns = api_arg(r, "namespace"), *name = api_arg(r, "name");
	int ret;
	if (ns && name) {
		json_t *t = NULL;
		ret = tracking_table(db, ns, name, &t, &err);
		if (!ret) {
			out = json_array();
			json_array_append_new(out, t);
		}
	} else {
		ret = tracking_query(db, api_arg(r, "job_id"), api_arg(r, "role"),
				     api_arg(r, "party_id"), api_arg(r, "task_name"),
				     api_arg(r, "output_key"), &out, &err);
		if (ret == FF_ENOTFOUND) {
			api_fail_code(r, 2005, "failed");
			return;
		}
	}
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	api_ok_json(r, out, NULL);
	json_decref(out);
}

static void api_worker_tracking_save(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "execution_id", "output_key", "namespace", "name", NULL };
	if (!api_require(r, req))
		return;
	struct api_task_ref t;
	if (!api_task_ref(r, s->db, api_arg(r, "execution_id"), &t))
		return;
	long long index = 0, partitions = 16, count = -1;
	api_arg_int(r, "index", 0, &index);
	api_arg_int(r, "partitions", 16, &partitions);
	jsonx_as_int(jsonx_path(api_body_get(r, "overview"), "count"), &count);
	const char *uri = api_arg(r, "uri");
	const char *path = uri ? strstr(uri, "://") : NULL;
	struct tracking_record rec = {
		.job_id = t.key.job_id, .task_id = t.key.task_id, .task_name = t.task_name,
		.role = t.key.role, .party_id = t.key.party_id,
		.output_key = api_arg(r, "output_key"), .task_version = t.key.version,
		.index = index, .uri = uri ? uri : "", .namespace_ = api_arg(r, "namespace"),
		.name = api_arg(r, "name"), .engine = "standalone",
		.data_type = api_arg(r, "data_type"), .path = path ? path + 3 : NULL,
		.data_meta = api_body_get(r, "meta_data"), .source = api_body_get(r, "source"),
		.samples = jsonx_path(api_body_get(r, "overview"), "samples"),
		.count = count, .partitions = partitions,
	};
	struct ff_error err = FF_ERROR_INIT;
	int ret = tracking_save(s->db, &rec, &err);
	if (ret)
		api_fail_code(r, 5008, ff_error_msg(&err, ret));
	else
		api_ok_msg(r, "success");
}

static int api_worker_model_chunk(struct http_req *r, const char *data, size_t n)
{
	return http_form_chunk(r, data, n, api_site(r)->cfg.temp_dir);
}

/* multipart: model_id, model_version, execution_id, output_key, type_name, file (a tar) */
static void api_worker_model_save(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	struct http_form *f = http_form_get(r, &err);
	if (!f) {
		http_form_discard_req(r);
		api_fail_err(r, err.code ? err.code : FF_ENOFILE, &err);
		return;
	}
	const struct http_form_file *file = http_form_file(f, "file");
	const char *okey = http_form_field(f, "output_key");
	if (!file || !okey) {
		http_form_discard_req(r);
		api_fail_code(r, file ? 5001 : 5007, file ? "missing required form field 'output_key'"
					       : "no found file: the form has no 'file' part");
		return;
	}
	/* the package is ours from here; nothing may touch r after an answer */
	char *tar = http_form_take_file(f, "file");
	http_form_discard_req(r);
	struct api_task_ref t;
	if (!tar || !api_task_ref(r, s->db, http_form_field(f, "execution_id"), &t)) {
		if (tar)
			unlink(tar);
		else
			api_fail(r, FF_ENOMEM, NULL);
		ff_free(tar);
		return;
	}
	char job_mid[128] = "", job_ver[64] = "";
	struct store_val a[] = { SV_TEXT(t.key.job_id), SV_TEXT(t.key.role), SV_TEXT(t.key.party_id) };
	char *mid = NULL, *ver = NULL;
	if (!store_get_text(s->db, "SELECT f_model_id FROM t_job WHERE f_job_id = ? AND f_role = ?"
			    " AND f_party_id = ?", a, 3, &mid, NULL))
		snprintf(job_mid, sizeof(job_mid), "%s", mid);
	if (!store_get_text(s->db, "SELECT f_model_version FROM t_job WHERE f_job_id = ? AND"
			    " f_role = ? AND f_party_id = ?", a, 3, &ver, NULL))
		snprintf(job_ver, sizeof(job_ver), "%s", ver);
	ff_free(mid);
	ff_free(ver);
	const char *fmid = http_form_field(f, "model_id"), *fver = http_form_field(f, "model_version");
	struct model_record rec = {
		.job_id = t.key.job_id,
		.key = { fmid && *fmid ? fmid : job_mid[0] ? job_mid : t.key.job_id,
			 fver && *fver ? fver : job_ver[0] ? job_ver : "0", t.key.role,
			 t.key.party_id, t.task_name, okey },
		.type_name = http_form_field(f, "type_name"),
	};
	int ret = model_save(s->db, s->cfg.model_dir, &rec, tar, true, &err);
	if (ret)
		unlink(tar);
	ff_free(tar);
	if (ret)
		api_fail_code(r, ret == FF_EPARAM ? 5001 : 5008, ff_error_msg(&err, ret));
	else
		api_ok_msg(r, "success");
}

static void api_worker_model_download(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	struct model_filter f = {
		.model_id = api_arg(r, "model_id"), .model_version = api_arg(r, "model_version"),
		.role = api_arg(r, "role"), .party_id = api_arg(r, "party_id"),
		.task_name = api_arg(r, "task_name"), .output_key = api_arg(r, "output_key"),
	};
	int fd = -1;
	uint64_t size = 0;
	char *name = NULL;
	int ret = !db ? FF_EIO
		: !f.model_id || !f.model_version || !f.task_name || !f.output_key
		? ff_error_set(&err, FF_EPARAM, "model_id, model_version, role, party_id, task_name "
			       "and output_key are required")
		: model_open(db, s->cfg.model_dir, &f, &fd, &size, &name, &err);
	if (ret) {
		api_fail_code(r, 5008, ff_error_msg(&err, ret));
		return;
	}
	http_req_send_fd(r, fd, size, "application/x-tar", name);
	ff_free(name);
	http_req_finish(r);
}

static const struct http_route api_worker_table[] = {
	{ "POST", "/v2/worker/task/status", api_worker_status, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/worker/metric/save", api_worker_metric_save, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/worker/metric/save/", api_worker_metric_save,
	  HTTP_RT_CORE | HTTP_RT_PREFIX, NULL },
	{ "GET", "/v2/worker/data/tracking/query", api_worker_tracking_query, HTTP_RT_READ, NULL },
	{ "POST", "/v2/worker/data/tracking/save", api_worker_tracking_save, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/worker/model/save", api_worker_model_save, HTTP_RT_CORE | HTTP_RT_STREAM,
	  api_worker_model_chunk },
	{ "GET", "/v2/worker/model/download", api_worker_model_download, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_worker_table);
