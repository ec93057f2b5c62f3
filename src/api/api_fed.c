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
#include "mem.h"
#include "sched/sched.h"
#include "site.h"
#include "store.h"

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

/* A partner command must be for a party this site plays: NULL when it is,
 * else the refusal's envelope. */
static json_t *api_partner_target_refusal(struct site *s, const json_t *body)
{
	char party[64] = "";
	jsonx_scalar_text(json_object_get(body, "party_id"), party, sizeof(party));
	if (!party[0] || site_is_local_party(s, party))
		return NULL;
	char msg[200];
	snprintf(msg, sizeof(msg), "this site is party %s, not %s", s->cfg.party_id, party);
	return json_pack("{s:i,s:s}", "code", 5005, "message", msg);
}

static bool api_partner_target_ok(struct http_req *r, const json_t *body)
{
	json_t *env = api_partner_target_refusal(api_site(r), body);
	if (env)
		api_reply_json(r, env);
	json_decref(env);
	return !env;
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

/* ---- batches of commands (sent by src/fed/remote.c under load) ---- */

#define API_BATCH_MAX 64

struct api_batch;

struct api_batch_slot {
	struct api_batch *b;
	size_t i;
};

struct api_batch {
	struct http_req *r;
	json_t *answers;               /* one envelope per command, in order */
	size_t pending;                /* answers to come, +1 while issuing */
	struct api_batch_slot *slots;
};

static void api_batch_release(struct api_batch *b)
{
	if (--b->pending)
		return;
	json_t *env = json_pack("{s:i,s:s,s:O}", "code", 0, "message", "success", "data",
				b->answers);
	if (env)
		api_reply_json(b->r, env);
	else
		api_fail_code(b->r, 6000, "out of memory");
	json_decref(env);
	json_decref(b->answers);
	ff_free(b->slots);
	ff_free(b);
}

static void api_batch_reply(void *ctx, json_t *env)
{
	struct api_batch_slot *sl = ctx;
	json_array_set_new(sl->b->answers, sl->i, env ? env : json_null());
	api_batch_release(sl->b);
}

/*
 * Commands that run in the batch's shared transaction: one commit for
 * them all. Not task/start (its claim must be on disk before the spawn)
 * and not the scheduler's commands that wait for other parties.
 */
static bool api_batch_shared(const char *endpoint)
{
	return (!strncmp(endpoint, "/partner/", 9) && strcmp(endpoint, "/partner/task/start")) ||
	       !strcmp(endpoint, "/scheduler/task/report");
}

/* Commits the shared transaction of commands [from, to); if that fails,
 * none of them happened and their answers say so. */
static void api_batch_commit(struct site *s, struct api_batch *b, bool *open, size_t from,
			     size_t to)
{
	if (!*open)
		return;
	*open = false;
	if (!store_txn_commit(s->db, NULL))
		return;
	for (size_t i = from; i < to; i++)
		json_array_set_new(b->answers, i, json_pack("{s:i,s:s}", "code", 6000, "message",
					"cannot commit a batch of commands on this site"));
}

static void api_batch_one(struct site *s, struct api_batch *b, size_t i, const json_t *item)
{
	const char *ep = jsonx_str(item, "endpoint");
	const json_t *body = json_object_get(item, "body");
	json_t *env = NULL;
	if (!ep || !json_is_object(body)) {
		env = json_pack("{s:i,s:s}", "code", 5001, "message",
				"a batched command needs an endpoint and an object body");
	} else if (!strncmp(ep, "/partner/", 9)) {
		env = api_partner_target_refusal(s, body);
		if (!env)
			env = party_command(s, ep + 9, body);
	} else if (!strncmp(ep, "/scheduler/", 11)) {
		b->pending++;
		sched_command(s, ep + 11, body, api_batch_reply, &b->slots[i]);
		return;
	} else {
		env = json_pack("{s:i,s:s}", "code", 5001, "message", "unknown endpoint in a batch");
	}
	json_array_set_new(b->answers, i, env ? env : json_null());
}

/*
 * POST /v2/fed/batch {"commands":[{"endpoint":"/partner/job/create","body":{...}},...]}:
 * one signature for all; each command runs in order as if sent alone and
 * the answer's data holds their envelopes in the same order.
 */
static void api_fed_batch(struct http_req *r)
{
	struct site *s = api_site(r);
	json_t *body = api_fed_body(r);
	if (!body)
		return;
	const json_t *cmds = json_object_get(body, "commands");
	size_t n = json_array_size(cmds);
	struct api_batch *b = n && n <= API_BATCH_MAX ? ff_calloc(1, sizeof(*b)) : NULL;
	if (b) {
		b->slots = ff_calloc(n, sizeof(*b->slots));
		b->answers = json_array();
	}
	for (size_t i = 0; b && b->answers && i < n; i++)
		json_array_append_new(b->answers, json_null());
	if (!b || !b->slots || json_array_size(b->answers) != n) {
		if (b) {
			json_decref(b->answers);
			ff_free(b->slots);
			ff_free(b);
		}
		api_fail_code(r, 5001, n ? "a batch holds 1 to 64 commands" : "'commands' must be a"
			      " non-empty array of {endpoint, body}");
		json_decref(body);
		return;
	}
	b->r = r;
	b->pending = 1;
	bool open = false;
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_array_get(cmds, i);
		const char *ep = jsonx_str(item, "endpoint");
		b->slots[i] = (struct api_batch_slot){ b, i };
		bool shared = ep && api_batch_shared(ep);
		if (!shared)
			api_batch_commit(s, b, &open, from, i);
		else if (!open && !store_txn_begin(s->db, NULL)) {
			open = true;
			from = i;
		}
		api_batch_one(s, b, i, item);
	}
	api_batch_commit(s, b, &open, from, n);
	json_decref(body);
	api_batch_release(b);
}

static const struct http_route api_batch_table[] = {
	{ "POST", "/v2/fed/batch", api_fed_batch, HTTP_RT_CORE, NULL },
};

HTTP_ROUTES(api_batch_table);

static const struct http_route api_partner_table[] = {
	{ "POST", "/v2/partner/", api_partner, HTTP_RT_CORE | HTTP_RT_PREFIX, NULL },
};

static const struct http_route api_scheduler_table[] = {
	{ "POST", "/v2/scheduler/", api_scheduler, HTTP_RT_CORE | HTTP_RT_PREFIX, NULL },
};

HTTP_ROUTES(api_partner_table);

HTTP_ROUTES(api_scheduler_table);
