// SPDX-License-Identifier: Apache-2.0
/* api_provider.c - the /v2/provider page (spec §1.3.7). */
#include "ff_setup.h"
#include "api.h"
#include "provider/provider.h"
#include "site.h"

static void api_provider_register(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	if (api_reject_bad_json(r))
		return;
	bool created = false;
	int ret = provider_register(api_site(r), http_req_json(r), &created, &err);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_ok_msg(r, created ? "create success" : "update success");
}

static void api_provider_query(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	if (!db) {
		api_fail_err(r, FF_EIO, &err);
		return;
	}
	struct api_q q;
	api_q_init(&q, "SELECT f_provider_name, f_name, f_version, f_device, f_metadata,"
		   " f_create_time, f_update_time FROM t_provider_info");
	api_q_eq(&q, "f_name", api_arg(r, "name"));
	api_q_eq(&q, "f_version", api_arg(r, "version"));
	api_q_eq(&q, "f_device", api_arg(r, "device"));
	api_q_eq(&q, "f_provider_name", api_arg(r, "provider_name"));
	api_q_raw(&q, " ORDER BY f_create_time");
	struct jw w;
	api_ok_begin(r, &w);
	jw_arr(&w);
	int ret = q.err ? q.err : store_rows_json(db, q.sql.buf, q.args, q.nargs, &w, NULL, &err);
	jw_end(&w);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_ok_end(r, &w, NULL);
	api_q_release(&q);
}

static void api_provider_delete(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	if (api_reject_bad_json(r))
		return;
	int64_t n = 0;
	int ret = provider_delete(api_site(r), api_arg(r, "name"), api_arg(r, "version"),
				  api_arg(r, "device"), api_arg(r, "provider_name"), &n, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	struct jw w;
	api_ok_begin(r, &w);
	jw_bool(&w, n > 0);
	api_ok_end(r, &w, NULL);
}

static const struct http_route api_provider_table[] = {
	{ "POST", "/v2/provider/register", api_provider_register, HTTP_RT_CORE, NULL },
	{ "GET", "/v2/provider/query", api_provider_query, HTTP_RT_READ, NULL },
	{ "POST", "/v2/provider/delete", api_provider_delete, HTTP_RT_CORE, NULL },
};

HTTP_ROUTES(api_provider_table);
