// SPDX-License-Identifier: Apache-2.0
/*
 * api_fed.c - the /v2/partner and /v2/scheduler pages (spec §1.4-1.5):
 * the HTTP entry of the same command handlers src/fed calls in process.
 */
#include "ff_setup.h"
#include "api.h"
#include "fed.h"
#include "party/party.h"
#include "sched/sched.h"
#include "site.h"

static void api_partner(struct http_req *r)
{
	if (api_reject_bad_json(r))
		return;
	json_t *body = http_req_json(r);
	json_t *empty = NULL;
	if (!json_is_object(body))
		body = empty = json_object();
	json_t *env = party_command(api_site(r), http_req_path_tail(r), body);
	api_reply_json(r, env);
	json_decref(env);
	json_decref(empty);
}

static void api_scheduler_reply(void *ctx, json_t *env)
{
	api_reply_json(ctx, env);
	json_decref(env);
}

static void api_scheduler(struct http_req *r)
{
	if (api_reject_bad_json(r))
		return;
	json_t *body = http_req_json(r);
	json_t *empty = NULL;
	if (!json_is_object(body))
		body = empty = json_object();
	sched_command(api_site(r), http_req_path_tail(r), body, api_scheduler_reply, r);
	json_decref(empty);
}

static const struct http_route api_partner_table[] = {
	{ "POST", "/v2/partner/", api_partner, HTTP_RT_CORE | HTTP_RT_PREFIX, NULL },
};

static const struct http_route api_scheduler_table[] = {
	{ "POST", "/v2/scheduler/", api_scheduler, HTTP_RT_CORE | HTTP_RT_PREFIX, NULL },
};

HTTP_ROUTES(api_partner_table);

HTTP_ROUTES(api_scheduler_table);
