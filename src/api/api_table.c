// SPDX-License-Identifier: Apache-2.0
/*
 * api_table.c - the /v2/table page (spec §1.3.3): query a table's meta,
 * bind a server path as a table, delete a table (meta and data).
 */
#include "ff_setup.h"
#include "api.h"
#include "data/table_meta.h"
#include "data/tracking.h"
#include "jsonx.h"
#include "site.h"

/* namespace and name of the request, checked; answers 5001 itself. */
static bool api_table_names(struct http_req *r, const char **ns, const char **name)
{
	static const char *const req[] = { "namespace", "name", NULL };
	if (!api_require(r, req))
		return false;
	*ns = api_arg(r, "namespace");
	*name = api_arg(r, "name");
	const char *keys[] = { "namespace", "name" };
	for (size_t i = 0; i < 2; i++) {
		json_t *v = api_body_get(r, keys[i]);
		if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
			api_fail_code(r, 5001, "namespace and name must not contain a NUL character");
			return false;
		}
	}
	struct ff_error err = FF_ERROR_INIT;
	int ret = table_name_check(*ns, *name, &err);
	if (ret)
		api_fail_err(r, ret, &err);
	return !ret;
}

static void api_table_query(struct http_req *r)
{
	const char *ns, *name;
	if (!api_table_names(r, &ns, &name))
		return;
	bool display = false;
	if (api_arg_bool(r, "display", false, &display)) {
		api_fail_code(r, 5001, "display: expected true or false");
		return;
	}
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	json_t *t = NULL;
	int ret = db ? tracking_table(db, ns, name, &t, &err) : FF_EIO;
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	if (!display)
		json_object_del(t, "display");
	api_ok_json(r, t, NULL);
	json_decref(t);
}

static void api_table_reply(struct http_req *r, const char *ns, const char *name,
			    const char *path)
{
	json_t *d = json_pack("{s:s,s:s,s:s*}", "name", name, "namespace", ns, "path", path);
	api_ok_json(r, d, NULL);
	json_decref(d);
}

static void api_table_delete(struct http_req *r)
{
	struct site *s = api_site(r);
	const char *ns, *name;
	if (!api_table_names(r, &ns, &name))
		return;
	struct ff_error err = FF_ERROR_INIT;
	int ret = table_meta_delete(s->db, s->cfg.data_dir, ns, name, &err);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_table_reply(r, ns, name, NULL);
}

static void api_table_bind(struct http_req *r)
{
	struct site *s = api_site(r);
	const char *ns, *name;
	static const char *const req[] = { "path", NULL };
	if (!api_table_names(r, &ns, &name) || !api_require(r, req))
		return;
	const char *path = api_arg(r, "path");
	json_t *pv = api_body_get(r, "path");
	if (json_is_string(pv) && strlen(json_string_value(pv)) != json_string_length(pv)) {
		api_fail_code(r, 5001, "path must not contain a NUL character");
		return;
	}
	struct ff_error err = FF_ERROR_INIT;
	int ret = table_meta_bind(s->db, ns, name, path, &err);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_table_reply(r, ns, name, path);
}

static const struct http_route api_table_table[] = {
	{ "GET", "/v2/table/query", api_table_query, HTTP_RT_READ, NULL },
	{ "POST", "/v2/table/delete", api_table_delete, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/table/bind/path", api_table_bind, HTTP_RT_CORE, NULL },
};

HTTP_ROUTES(api_table_table);
