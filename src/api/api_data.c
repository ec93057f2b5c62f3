// SPDX-License-Identifier: Apache-2.0
/*
 * api_data.c - the /v2/data page (spec §1.3.2, §9.1): upload a CSV that is
 * on the server or streamed in a multipart body, run a download job, and
 * download a table as FATE's tar.gz.
 *
 * Uploads are local jobs (src/data/upload.h): the request is checked here
 * (names, parameters, the file, whether the table exists) so that the
 * common mistakes are answered at once with a FATE code, and the job is
 * then created and answered {job_id, data: {name, namespace}} before it
 * runs. Upload to an existing table is refused with 7002 unless the
 * request says drop=true (the name FATE uses for the same choice in
 * /v2/data/component/dataframe/transformer); the old table is then
 * replaced only when the new one is complete. While an upload job into a
 * table has not ended, a second one is refused (7002) even with drop: both
 * would write the table's folder and meta, each half winning.
 */
#include "ff_setup.h"
#include <sys/stat.h>
#include <unistd.h>
#include "api.h"
#include "clock.h"
#include "data/download.h"
#include "data/table_meta.h"
#include "data/upload.h"
#include "fedflow/table.h"
#include "fs.h"
#include "http_form.h"
#include "jsonx.h"
#include "mem.h"
#include "site.h"

/* ---- argument helpers ---- */

/*
 * Text argument of the JSON body or query string. A JSON string hiding a
 * NUL ("a\u0000b") is refused: it would be cut short as a C string.
 * Answers 5001 itself and returns false when the value is bad.
 */
static bool api_data_text(struct http_req *r, const char *key, const char **out)
{
	json_t *v = api_body_get(r, key);
	*out = api_arg(r, key);
	if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s: must not contain a NUL character", key);
		api_fail_code(r, 5001, msg);
		return false;
	}
	return true;
}

/* Namespace and name (both, or neither when allow_none): answers 5001 itself. */
static bool api_data_names(struct http_req *r, const char **ns, const char **name,
			   bool allow_none)
{
	if (!api_data_text(r, "namespace", ns) || !api_data_text(r, "name", name))
		return false;
	if (allow_none && (!*ns || !**ns) && (!*name || !**name)) {
		*ns = *name = NULL;
		return true;
	}
	struct ff_error err = FF_ERROR_INIT;
	int ret = table_name_check(*ns, *name, &err);
	if (ret)
		api_fail_err(r, ret, &err);
	return !ret;
}

/* ---- upload (both forms) ---- */

struct api_upload {
	struct http_req *req;
	char *ns;
	char *name;
	char *path;           /* server-side folder of a download job, or NULL */
	char *temp_file;      /* a multipart upload's file, removed if the job is not made */
};

/* Removes a multipart upload's file and its folder (before any answer). */
static void api_upload_drop_temp(struct api_upload *u)
{
	if (!u->temp_file)
		return;
	unlink(u->temp_file);
	char *slash = strrchr(u->temp_file, '/');
	if (slash) {
		*slash = '\0';
		rmdir(u->temp_file);
	}
	FF_FREE_AND_NULL(u->temp_file);
}

static void api_upload_free(struct api_upload *u)
{
	api_upload_drop_temp(u);
	ff_free(u->ns);
	ff_free(u->name);
	ff_free(u->path);
	ff_free(u->temp_file);
	ff_free(u);
}

static void api_upload_done(void *arg, int code, const char *message, const char *job_id)
{
	struct api_upload *u = arg;
	if (code) {
		api_upload_drop_temp(u);
		api_fail_code(u->req, code, message);
		api_upload_free(u);
		return;
	}
	FF_FREE_AND_NULL(u->temp_file); /* the job owns it now */
	struct jw w;
	api_ok_begin(u->req, &w);
	jw_obj(&w);
	jw_kstr(&w, "name", u->name);
	jw_kstr(&w, "namespace", u->ns);
	if (u->path)
		jw_kstr(&w, "path", u->path);
	jw_end(&w);
	api_ok_end(u->req, &w, job_id);
	api_upload_free(u);
}

/*
 * Checks and submits an upload. params holds the upload parameters (file,
 * head, partitions, meta, extend_sid); namespace/name are added here.
 * Takes ownership of temp_file (deleted unless the job is created).
 */
static void api_upload_submit(struct http_req *r, json_t *params, const char *ns,
			      const char *name, bool drop, char *temp_file)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	struct ff_csv_opts o;
	char uuid[37];
	struct api_upload *u = ff_calloc(1, sizeof(*u));
	if (!u) {
		if (temp_file)
			unlink(temp_file);
		ff_free(temp_file);
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	u->req = r;
	u->temp_file = temp_file;
	if (!ns) {
		/* FATE: namespace "upload", a uuid1 as the name */
		char hex[33];
		clock_uuid_hex(hex);
		snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
			 hex + 16, hex + 20);
		ns = "upload";
		name = uuid;
	}
	u->ns = ff_strdup(ns);
	u->name = ff_strdup(name);
	int ret = u->ns && u->name ? FF_OK : FF_ENOMEM;
	if (!ret)
		ret = ff_csv_opts_from_json(&o, params, &err);
	if (!ret && !drop && table_meta_exists(s->db, ns, name))
		ret = ff_error_set(&err, FF_ETABLEEXISTS, "table '%s' in namespace '%s' exists: "
				   "delete it first or send \"drop\": true to replace it", name, ns);
	char running[64];
	if (!ret && upload_running(s, ns, name, running, sizeof(running)))
		ret = ff_error_set(&err, FF_ETABLEEXISTS, "table '%s' in namespace '%s' is being "
				   "written by job %s: wait until it ends, then upload again "
				   "(with \"drop\": true to replace it)", name, ns, running);
	if (!ret && (json_object_set_new(params, "namespace", json_string(ns)) ||
		     json_object_set_new(params, "name", json_string(name)) ||
		     json_object_set_new(params, "drop", json_boolean(drop)) ||
		     json_object_set_new(params, "is_temp_file", json_boolean(temp_file != NULL))))
		ret = FF_ENOMEM;
	if (!ret)
		ret = upload_submit_local(s, "upload_0", "upload", params, NULL,
					  api_upload_done, u, &err);
	if (ret) {
		api_upload_drop_temp(u);
		api_fail_err(r, ret, &err);
		api_upload_free(u);
	}
}

/* A server-side file: absolute, or relative to the site's home. */
static char *api_upload_path(struct site *s, const char *file)
{
	if (file[0] == '/')
		return fs_abspath(file);
	char *joined = ff_asprintf("%s/%s", s->cfg.home, file);
	char *abs = joined ? fs_abspath(joined) : NULL;
	ff_free(joined);
	return abs;
}

static void api_data_upload(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "file", "head", "partitions", "meta", NULL };
	const char *file, *ns, *name;
	if (!api_require(r, req) || !api_data_text(r, "file", &file) ||
	    !api_data_names(r, &ns, &name, true))
		return;
	json_t *meta = api_body_get(r, "meta");
	if (!json_is_object(meta)) {
		api_fail_code(r, 5001, "meta: expected an object (delimiter, label_name, "
			      "match_id_name, ...)");
		return;
	}
	bool drop = false;
	if (api_arg_bool(r, "drop", false, &drop)) {
		api_fail_code(r, 5001, "drop: expected true or false");
		return;
	}
	char *path = api_upload_path(s, file);
	struct stat st;
	if (!path || stat(path, &st) || !S_ISREG(st.st_mode)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "no found file: '%s' is not a regular file on the server",
			 path ? path : file);
		ff_free(path);
		api_fail_code(r, 8001, msg);
		return;
	}
	json_t *params = json_pack("{s:s,s:O?,s:O?,s:O,s:O*}", "file", path,
				   "head", api_body_get(r, "head"),
				   "partitions", api_body_get(r, "partitions"), "meta", meta,
				   "extend_sid", api_body_get(r, "extend_sid"));
	ff_free(path);
	if (!params) {
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	api_upload_submit(r, params, ns, name, drop, NULL);
	json_decref(params);
}

static int api_upload_chunk(struct http_req *r, const char *data, size_t n)
{
	return http_form_chunk(r, data, n, api_site(r)->cfg.temp_dir);
}

/* A form field as JSON: booleans and integers from their text ("True", "16"). */
static int api_form_value(const struct http_form *f, const char *key, char kind, json_t **out,
			  struct ff_error *err)
{
	const char *v = http_form_field(f, key);
	*out = NULL;
	if (!v || !*v)
		return FF_OK;
	bool b;
	char *end;
	switch (kind) {
	case 'b':
		if (!jsonx_text_bool(v, &b))
			return ff_error_set(err, FF_EPARAM, "%s: expected true or false, got '%.40s'",
					    key, v);
		*out = json_boolean(b);
		return FF_OK;
	case 'i': {
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (errno || *end || end == v)
			return ff_error_set(err, FF_EPARAM, "%s: expected an integer, got '%.40s'",
					    key, v);
		*out = json_integer(n);
		return FF_OK;
	}
	default:
		if (jsonx_parse(v, strlen(v), out, err) || !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			return ff_error_set(err, FF_EPARAM, "%s: expected a JSON object, got '%.60s'",
					    key, v);
		}
		return FF_OK;
	}
}

/*
 * Moves the uploaded part to <temps>/upload-<uuid>/<client file name> so
 * that import errors name the user's file. Returns the new path (owned).
 */
static char *api_upload_keep(struct site *s, struct http_form *f, struct ff_error *err)
{
	const struct http_form_file *ff = http_form_file(f, "file");
	const char *base = ff && ff->filename ? strrchr(ff->filename, '/') : NULL;
	base = base ? base + 1 : ff ? ff->filename : NULL;
	if (!base || !fs_name_ok(base, 200))
		base = "upload.csv";
	char hex[33];
	clock_uuid_hex(hex);
	char *dir = ff_asprintf("%s/upload-%s", s->cfg.temp_dir, hex);
	char *dst = dir ? ff_asprintf("%s/%s", dir, base) : NULL;
	char *src = http_form_take_file(f, "file");
	int ret = dst && src ? fs_mkdirs(dir, 0700, err) : FF_ENOMEM;
	if (!ret && rename(src, dst))
		ret = ff_error_set(err, ff_from_errno(errno), "cannot keep the uploaded file: %s",
				   strerror(errno));
	if (ret) {
		if (src)
			unlink(src);
		if (dir)
			rmdir(dir);
		FF_FREE_AND_NULL(dst);
	}
	ff_free(src);
	ff_free(dir);
	return dst;
}

static void api_data_upload_file(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	struct http_form *f = http_form_get(r, &err);
	int ret = f ? FF_OK : err.code ? err.code : FF_ENOFILE;
	if (!ret && !http_form_file(f, "file"))
		ret = ff_error_set(&err, FF_ENOFILE, "no found file: the form has no 'file' part");
	static const char *const req[] = { "head", "partitions", "meta" };
	for (size_t i = 0; !ret && i < FF_ARRAY_SIZE(req); i++)
		if (!http_form_field(f, req[i]))
			ret = ff_error_set(&err, FF_EPARAM, "missing required form field '%s'", req[i]);
	const char *ns = f ? http_form_field(f, "namespace") : NULL;
	const char *name = f ? http_form_field(f, "name") : NULL;
	if (!ret && ((ns && *ns) || (name && *name)))
		ret = table_name_check(ns, name, &err);
	else if (!ret)
		ns = name = NULL;
	json_t *head = NULL, *parts = NULL, *meta = NULL, *sid = NULL, *drop = NULL;
	if (!ret)
		ret = api_form_value(f, "head", 'b', &head, &err);
	if (!ret)
		ret = api_form_value(f, "partitions", 'i', &parts, &err);
	if (!ret)
		ret = api_form_value(f, "meta", 'o', &meta, &err);
	if (!ret)
		ret = api_form_value(f, "extend_sid", 'b', &sid, &err);
	if (!ret)
		ret = api_form_value(f, "drop", 'b', &drop, &err);
	char *file = NULL;
	if (!ret && !(file = api_upload_keep(s, f, &err)))
		ret = err.code ? err.code : FF_ENOMEM;
	json_t *params = ret ? NULL : json_pack("{s:s,s:O?,s:O?,s:O?,s:O*}", "file", file,
						 "head", head, "partitions", parts, "meta", meta,
						 "extend_sid", sid);
	json_decref(head);
	json_decref(parts);
	json_decref(meta);
	json_decref(sid);
	/* the part is now ours (or refused): drop the rest before answering */
	http_form_discard_req(r);
	if (ret || !params) {
		if (file)
			unlink(file);
		ff_free(file);
		json_decref(drop);
		json_decref(params);
		api_fail_err(r, ret ? ret : FF_ENOMEM, &err);
		return;
	}
	api_upload_submit(r, params, ns, name, json_is_true(drop), file);
	json_decref(drop);
	json_decref(params);
}

/* ---- download job ---- */

static void api_data_download_component(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "namespace", "name", "path", NULL };
	const char *ns, *name, *path;
	if (!api_require(r, req) || !api_data_names(r, &ns, &name, false) ||
	    !api_data_text(r, "path", &path))
		return;
	struct ff_error err = FF_ERROR_INIT;
	struct table_info ti;
	int ret = table_meta_get(s->db, ns, name, &ti, &err);
	if (!ret && strcmp(ti.engine, "standalone"))
		ret = ff_error_set(&err, FF_EPARAM, "table '%s' in namespace '%s' is bound to a path "
				   "(engine '%s'): nothing to download", name, ns, ti.engine);
	table_info_release(&ti);
	struct api_upload *u = ret ? NULL : ff_calloc(1, sizeof(*u));
	char *abs = ret ? NULL : api_upload_path(s, path);
	json_t *params = json_pack("{s:s,s:s,s:s?}", "namespace", ns, "name", name, "path", abs);
	if (!ret && (!u || !abs || !params))
		ret = FF_ENOMEM;
	if (!ret) {
		u->req = r;
		u->ns = ff_strdup(ns);
		u->name = ff_strdup(name);
		u->path = abs;
		abs = NULL;
		ret = u->ns && u->name ? upload_submit_local(s, "download_0", "download", params,
							     NULL, api_upload_done, u, &err)
				       : FF_ENOMEM;
	}
	if (ret) {
		api_fail_err(r, ret, &err);
		if (u)
			api_upload_free(u);
	}
	ff_free(abs);
	json_decref(params);
}

/* ---- dataframe transformer job ---- */

/*
 * The source table of a transformer: data_warehouse {name, namespace}, an
 * existing table. Answers the error itself and returns false when bad.
 */
static bool api_transformer_source(struct http_req *r, const char **ns, const char **name)
{
	struct site *s = api_site(r);
	json_t *dw = api_body_get(r, "data_warehouse");
	*ns = jsonx_str(dw, "namespace");
	*name = jsonx_str(dw, "name");
	struct ff_error err = FF_ERROR_INIT;
	int ret = json_is_object(dw) && *ns && *name ? FF_OK
		: ff_error_set(&err, FF_EPARAM, "data_warehouse: expected {\"name\": ..., "
			       "\"namespace\": ...} naming the table to transform");
	if (!ret)
		ret = table_name_check(*ns, *name, &err);
	if (!ret && !table_meta_exists(s->db, *ns, *name))
		ret = ff_error_set(&err, FF_ENOTABLE, "data_warehouse: no table '%s' in namespace "
				   "'%s': upload it first", *name, *ns);
	if (ret)
		api_fail_err(r, ret, &err);
	return !ret;
}

/*
 * FATE's /v2/data/component/dataframe/transformer: a local job that turns
 * a table into the dataframe table (namespace, name). drop (default true,
 * as FATE) replaces an existing target; false answers 7002.
 */
static void api_data_transformer(struct http_req *r)
{
	struct site *s = api_site(r);
	static const char *const req[] = { "data_warehouse", "namespace", "name", NULL };
	const char *ns, *name, *src_ns, *src_name, *site_name = NULL;
	bool drop = true;
	if (!api_require(r, req) || !api_data_names(r, &ns, &name, false) ||
	    !api_transformer_source(r, &src_ns, &src_name) ||
	    !api_data_text(r, "site_name", &site_name))
		return;
	if (api_arg_bool(r, "drop", true, &drop)) {
		api_fail_code(r, 5001, "drop: expected true or false");
		return;
	}
	struct ff_error err = FF_ERROR_INIT;
	char running[64];
	int ret = FF_OK;
	if (!drop && table_meta_exists(s->db, ns, name))
		ret = ff_error_set(&err, FF_ETABLEEXISTS, "table '%s' in namespace '%s' exists: "
				   "delete it first or send \"drop\": true to replace it", name, ns);
	else if (upload_running(s, ns, name, running, sizeof(running)))
		ret = ff_error_set(&err, FF_ETABLEEXISTS, "table '%s' in namespace '%s' is being "
				   "written by job %s: wait until it ends, then try again", name, ns,
				   running);
	struct api_upload *u = ret ? NULL : ff_calloc(1, sizeof(*u));
	json_t *params = json_pack("{s:s,s:s,s:s?}", "namespace", ns, "name", name,
				   "site_name", site_name && *site_name ? site_name : NULL);
	json_t *inputs = json_pack("{s:{s:{s:{s:s,s:s}}}}", "data", "table", "data_warehouse",
				   "name", src_name, "namespace", src_ns);
	if (!ret && (!u || !params || !inputs))
		ret = FF_ENOMEM;
	if (!ret) {
		u->req = r;
		u->ns = ff_strdup(ns);
		u->name = ff_strdup(name);
		ret = u->ns && u->name ? upload_submit_local(s, "transformer_0",
							     "dataframe_transformer", params, inputs,
							     api_upload_done, u, &err)
				       : FF_ENOMEM;
	}
	if (ret) {
		api_fail_err(r, ret, &err);
		if (u)
			api_upload_free(u);
	}
	json_decref(params);
	json_decref(inputs);
}

/* ---- download (tar.gz) ---- */

static void api_data_download(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	const char *ns = api_arg(r, "namespace"), *name = api_arg(r, "name");
	int ret = table_name_check(ns, name, &err);
	struct store *db = ret ? NULL : http_req_db(r, &err);
	struct table_info ti = TABLE_INFO_INIT;
	if (!ret && !db)
		ret = FF_EIO;
	if (!ret)
		ret = table_meta_get(db, ns, name, &ti, &err);
	if (!ret && (strcmp(ti.engine, "standalone") || !ti.path || !ff_table_exists(ti.path)))
		ret = ff_error_set(&err, FF_ENOTABLE, "table '%s' in namespace '%s' has no "
				   "standalone data to download (engine '%s')", name, ns, ti.engine);
	int fd = -1;
	uint64_t size = 0;
	if (!ret) {
		struct download_item it = { "data/0.csv", "data/0.meta", ti.path, FF_CSV_WITH_SID };
		ret = download_tgz(&it, 1, s->cfg.temp_dir, &fd, &size, &err);
	}
	table_info_release(&ti);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	char *fname = ff_asprintf("download_data_%s_%s.tar.gz", ns, name);
	http_req_send_fd(r, fd, size, "application/gzip", fname);
	ff_free(fname);
	http_req_finish(r);
}

static const struct http_route api_data_table[] = {
	{ "POST", "/v2/data/component/upload", api_data_upload, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/data/component/upload/file", api_data_upload_file,
	  HTTP_RT_CORE | HTTP_RT_STREAM, api_upload_chunk },
	{ "POST", "/v2/data/component/download", api_data_download_component, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/data/component/dataframe/transformer", api_data_transformer, HTTP_RT_CORE,
	  NULL },
	{ "GET", "/v2/data/download", api_data_download, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_data_table);
