// SPDX-License-Identifier: Apache-2.0
/* api_site.c - /v2/site and /v2/server pages (spec §1.3.9). */
#include "ff_setup.h"
#include "api.h"
#include "auth/sign.h"
#include "clock.h"
#include "site.h"
#include "store.h"

static int api_partner_cb(void *arg, const struct store_row *row)
{
	struct jw *w = arg;
	jw_obj(w);
	jw_kstr(w, "party_id", store_col_text(row, "f_party_id"));
	jw_kstr(w, "url", store_col_text(row, "f_url"));
	jw_kstr(w, "public_key", store_col_text(row, "f_public_key"));
	jw_end(w);
	return FF_OK;
}

/* This site's identity and its route table (the partners it trusts). */
static void api_site_info(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	if (!db) {
		api_fail_err(r, FF_EIO, &err);
		return;
	}
	struct jw w;
	api_ok_begin(r, &w);
	jw_obj(&w);
	jw_kstr(&w, "party_id", s->cfg.party_id);
	jw_kstr(&w, "mode", s->cfg.mode);
	jw_kstr(&w, "url", s->cfg.advertise_url);
	jw_kstr(&w, "public_key", s->key ? s->key->pk_b64 : NULL);
	jw_key(&w, "partners");
	jw_arr(&w);
	store_exec(db, "SELECT f_party_id, f_url, f_public_key FROM t_site_route ORDER BY"
		   " f_party_id", NULL, 0, api_partner_cb, &w, NULL, NULL);
	jw_end(&w);
	jw_end(&w);
	api_ok_end(r, &w, NULL);
}

static void api_server_fateflow(struct http_req *r)
{
	struct site *s = api_site(r);
	char id[300];
	snprintf(id, sizeof(id), "flow-%s-%d", s->cfg.host, s->cfg.port);
	struct jw w;
	api_ok_begin(r, &w);
	jw_obj(&w);
	jw_key(&w, id);
	jw_obj(&w);
	jw_kstr(&w, "instance_id", id);
	jw_kint(&w, "timestamp", s->start_ms);
	jw_kstr(&w, "version", FF_VERSION);
	jw_kstr(&w, "host", s->cfg.host);
	jw_kint(&w, "grpc_port", 0);
	jw_kint(&w, "http_port", s->cfg.port);
	jw_end(&w);
	jw_end(&w);
	api_ok_end(r, &w, NULL);
}

/* The configuration as FATE's ServerRegistry shows it, without secrets. */
static void api_server_all(struct http_req *r)
{
	struct site *s = api_site(r);
	const struct config *c = &s->cfg;
	struct jw w;
	api_ok_begin(r, &w);
	jw_obj(&w);
	jw_key(&w, "FATEFLOW");
	jw_obj(&w);
	jw_kstr(&w, "host", c->host);
	jw_kint(&w, "http_port", c->port);
	jw_kstr(&w, "party_id", c->party_id);
	jw_kstr(&w, "mode", c->mode);
	jw_kstr(&w, "version", FF_VERSION);
	jw_end(&w);
	jw_key(&w, "COMPUTING");
	jw_obj(&w);
	jw_kstr(&w, "engine", c->computing_engine);
	jw_kint(&w, "cores", c->engine_cores);
	jw_kint(&w, "nodes", c->engine_nodes);
	jw_end(&w);
	jw_key(&w, "DEFAULT_PROVIDER");
	jw_obj(&w);
	jw_kstr(&w, "name", c->provider_name);
	jw_kstr(&w, "version", c->provider_version);
	jw_kstr(&w, "device", c->provider_device);
	jw_end(&w);
	jw_end(&w);
	api_ok_end(r, &w, NULL);
}

static const struct http_route api_site_table[] = {
	{ "GET", "/v2/site/info/query", api_site_info, HTTP_RT_READ, NULL },
	{ "GET", "/v2/server/fateflow", api_server_fateflow, HTTP_RT_READ, NULL },
	{ "GET", "/v2/server/query/all", api_server_all, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_site_table);
