// SPDX-License-Identifier: Apache-2.0
/*
 * api_model.c - the /v2/model page (spec §1.3.5): export a model (every
 * stored output of model_id/model_version at one role and party) as a zip
 * on the server, import such a zip under a model_id/model_version, delete
 * models. load, migrate, store and restore are FATE's no-op stubs.
 */
#include "ff_setup.h"
#include <limits.h>
#include "api.h"
#include "fs.h"
#include "http_form.h"
#include "jsonx.h"
#include "mem.h"
#include "model/model.h"
#include "site.h"

/* Every listed argument, when present, must be a safe name; answers 5001 itself. */
static bool api_model_names(struct http_req *r, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *v = api_arg(r, *keys);
		json_t *j = api_body_get(r, *keys);
		bool nul = json_is_string(j) && strlen(json_string_value(j)) != json_string_length(j);
		if (!v || (!nul && fs_name_ok(v, MODEL_NAME_MAX)))
			continue;
		char msg[200];
		snprintf(msg, sizeof(msg), "%s '%.60s' is not a valid name (no '/', NUL, control "
			 "characters or leading '.')", *keys, v);
		api_fail_code(r, 5001, msg);
		return false;
	}
	return true;
}

static void api_model_export(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "model_id", "model_version", "role", "party_id", "path",
					   NULL };
	static const char *const names[] = { "model_id", "model_version", "role", "party_id",
					     NULL };
	if (!api_require(r, req) || !api_model_names(r, names))
		return;
	struct model_filter f = { .model_id = api_arg(r, "model_id"),
				  .model_version = api_arg(r, "model_version"),
				  .role = api_arg(r, "role"), .party_id = api_arg(r, "party_id") };
	const char *path = api_arg(r, "path");
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	char *dir = path[0] == '/' ? fs_abspath(path) : NULL;
	char *zip = dir ? ff_asprintf("%s/%s_%s_%s_%s.zip", dir, f.model_id, f.model_version,
				      f.role, f.party_id) : NULL;
	size_t n = 0;
	int ret = !db ? FF_EIO
		: path[0] != '/' ? ff_error_set(&err, FF_EPARAM, "path: expected an absolute "
						"directory on the server, got '%.100s'", path)
		: !zip ? FF_ENOMEM : fs_mkdirs(dir, 0755, &err);
	if (!ret)
		ret = model_export(db, s->cfg.model_dir, &f, zip, &n, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
	} else {
		json_t *d = json_pack("{s:s,s:I}", "path", zip, "count", (json_int_t)n);
		api_ok_json(r, d, NULL);
		json_decref(d);
	}
	ff_free(dir);
	ff_free(zip);
}

static int api_model_chunk(struct http_req *r, const char *data, size_t n)
{
	return http_form_chunk(r, data, n, api_site(r)->cfg.temp_dir);
}

static void api_model_import(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	struct http_form *f = http_form_get(r, &err);
	const struct http_form_file *file = f ? http_form_file(f, "file") : NULL;
	const char *mid = f ? http_form_field(f, "model_id") : NULL;
	const char *ver = f ? http_form_field(f, "model_version") : NULL;
	int ret = FF_OK;
	size_t n = 0;
	if (!f)
		ret = err.code ? err.code : FF_ENOFILE;
	else if (!file)
		ret = ff_error_set(&err, FF_ENOFILE, "no found file: the form has no 'file' part "
				   "(the model zip)");
	else if (!mid || !ver || !*mid || !*ver)
		ret = ff_error_set(&err, FF_EPARAM, "missing required form field 'model_id' or "
				   "'model_version'");
	else
		ret = model_import(s->db, s->cfg.model_dir, s->cfg.temp_dir, mid, ver, file->path,
				   &n, &err);
	json_t *d = ret ? NULL : json_pack("{s:s,s:s,s:I}", "model_id", mid, "model_version", ver,
					   "count", (json_int_t)n);
	/* the uploaded zip goes before the answer does */
	http_form_discard_req(r);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_ok_json(r, d, NULL);
	json_decref(d);
}

static void api_model_delete(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "model_id", "model_version", NULL };
	if (!api_require(r, req))
		return;
	struct model_filter f = {
		.model_id = api_arg(r, "model_id"), .model_version = api_arg(r, "model_version"),
		.role = api_arg(r, "role"), .party_id = api_arg(r, "party_id"),
		.task_name = api_arg(r, "task_name"), .output_key = api_arg(r, "output_key"),
	};
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

/* FATE-Flow 2.x keeps these as stubs that answer success. */
static void api_model_stub(struct http_req *r)
{
	api_ok_msg(r, "success");
}

static const struct http_route api_model_table[] = {
	{ "POST", "/v2/model/export", api_model_export, HTTP_RT_READ, NULL },
	{ "POST", "/v2/model/import", api_model_import, HTTP_RT_CORE | HTTP_RT_STREAM,
	  api_model_chunk },
	{ "POST", "/v2/model/delete", api_model_delete, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/model/load", api_model_stub, HTTP_RT_READ, NULL },
	{ "POST", "/v2/model/migrate", api_model_stub, HTTP_RT_READ, NULL },
	{ "POST", "/v2/model/store", api_model_stub, HTTP_RT_READ, NULL },
	{ "POST", "/v2/model/restore", api_model_stub, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_model_table);
