// SPDX-License-Identifier: Apache-2.0
/*
 * api_fed.c - the /v2/partner and /v2/scheduler pages (spec §1.4-1.5):
 * the HTTP entry of the same command handlers src/fed calls in process.
 */
#include "ff_setup.h"
#include "api.h"
#include "auth/sign.h"
#include "clock.h"
#include "jsonx.h"
#include "log.h"
#include "route.h"
#include "fed.h"
#include "party/party.h"
#include "sched/sched.h"
#include "site.h"

/*
 * Partner and scheduler commands come from other sites (in standalone mode
 * they never arrive over HTTP): each must carry a valid signature of a
 * party in this site's route table. A refused request changes nothing.
 */
static bool api_fed_verify(struct http_req *r)
{
	struct site *s = api_site(r);
	struct ff_error err = FF_ERROR_INIT;
	const char *party = http_req_header(r, "X-Fedflow-Party");
	struct route rt;
	int ret;
	if (!party || !*party) {
		ret = ff_error_set(&err, FF_EVERIFY, "request is not signed: site-to-site commands "
				   "need the X-Fedflow-Party, -Timestamp, -Nonce and -Signature headers");
	} else {
		ret = route_get(s->db, party, &rt, &err);
		if (ret)
			ret = ff_error_set(&err, FF_EVERIFY, "party '%s' is not a partner of this "
					   "site (not in its route table)", party);
	}
	if (!ret) {
		unsigned char sha[32];
		const struct ff_buf *b = http_req_body(r);
		sign_sha256(b->buf, b->len, sha);
		ret = sign_verify(rt.public_key, http_req_method(r), http_req_path(r), "",
				  http_req_header(r, "X-Fedflow-Timestamp"),
				  http_req_header(r, "X-Fedflow-Nonce"),
				  http_req_header(r, "X-Fedflow-Signature"), sha, clock_now_ms(), &err);
	}
	if (ret) {
		ff_log(FF_LOG_WARN, "refused %s from %s: %s", http_req_path(r), http_req_peer(r),
		       ff_error_msg(&err, ret));
		api_fail_err(r, ret, &err);
		return false;
	}
	return true;
}

/* A partner command must be for a party this site plays. */
static bool api_partner_target_ok(struct http_req *r, const json_t *body)
{
	struct site *s = api_site(r);
	char party[64] = "";
	jsonx_scalar_text(json_object_get(body, "party_id"), party, sizeof(party));
	if (!party[0] || site_is_local_party(s, party))
		return true;
	char msg[200];
	snprintf(msg, sizeof(msg), "this site is party %s, not %s", s->cfg.party_id, party);
	api_fail_code(r, 5005, msg);
	return false;
}

/* The verified command body (new reference; {} when there was none), or
 * NULL after answering a refusal. */
static json_t *api_fed_body(struct http_req *r)
{
	if (api_reject_bad_json(r) || !api_fed_verify(r))
		return NULL;
	json_t *body = http_req_json(r);
	return json_is_object(body) ? json_incref(body) : json_object();
}

static void api_partner(struct http_req *r)
{
	json_t *body = api_fed_body(r);
	if (!body)
		return;
	if (api_partner_target_ok(r, body)) {
		json_t *env = party_command(api_site(r), http_req_path_tail(r), body);
		api_reply_json(r, env);
		json_decref(env);
	}
	json_decref(body);
}

static void api_scheduler_reply(void *ctx, json_t *env)
{
	api_reply_json(ctx, env);
	json_decref(env);
}

static void api_scheduler(struct http_req *r)
{
	json_t *body = api_fed_body(r);
	if (!body)
		return;
	sched_command(api_site(r), http_req_path_tail(r), body, api_scheduler_reply, r);
	json_decref(body);
}

static const struct http_route api_partner_table[] = {
	{ "POST", "/v2/partner/", api_partner, HTTP_RT_CORE | HTTP_RT_PREFIX, NULL },
};

static const struct http_route api_scheduler_table[] = {
	{ "POST", "/v2/scheduler/", api_scheduler, HTTP_RT_CORE | HTTP_RT_PREFIX, NULL },
};

HTTP_ROUTES(api_partner_table);

HTTP_ROUTES(api_scheduler_table);
