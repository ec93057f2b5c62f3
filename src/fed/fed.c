// SPDX-License-Identifier: Apache-2.0
/*
 * fed.c - command fan-out: in-process delivery for parties this daemon
 * runs; remote parties go through fed_remote (site mode).
 */
#include "ff_setup.h"
#include "fed.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "remote.h"
#include "site.h"

struct fed {
	fed_partner_fn partner;
	fed_sched_fn sched;
};

int fed_init(struct site *s, struct ff_error *err)
{
	s->fed = ff_calloc(1, sizeof(*s->fed));
	if (!s->fed)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	return FF_OK;
}

void fed_release(struct site *s)
{
	FF_FREE_AND_NULL(s->fed);
}

void fed_set_handlers(struct site *s, fed_partner_fn partner, fed_sched_fn sched)
{
	s->fed->partner = partner;
	s->fed->sched = sched;
}

static void fed_call_free(struct fed_call *c)
{
	for (size_t i = 0; i < c->n; i++) {
		ff_free(c->res[i].message);
		json_decref(c->res[i].resp);
	}
	ff_free(c->res);
	ff_free(c);
}

static void fed_done_defer(struct ev_defer *d)
{
	struct fed_call *c = ff_container_of(d, struct fed_call, defer);
	c->cb(c, c->arg);
	fed_call_free(c);
}

/* Records an answer envelope (stolen reference) as result i. */
static void fed_set_result(struct fed_call *c, size_t i, json_t *env)
{
	struct fed_result *r = &c->res[i];
	long long code = 6000;
	const char *msg = "no answer";
	if (json_is_object(env)) {
		if (!jsonx_as_int(json_object_get(env, "code"), &code))
			code = 6002;
		msg = jsonx_str(env, "message");
		if (!msg)
			msg = code ? "failed" : "success";
	}
	r->code = (int)code;
	r->message = ff_strdup(msg);
	r->resp = env;
	if (--c->pending == 0)
		ev_defer(c->site->loop, &c->defer, fed_done_defer);
}

struct fed_remote_ctx {
	struct fed_call *call;
	size_t index;
};

static void fed_remote_done(void *arg, json_t *envelope)
{
	struct fed_remote_ctx *rc = arg;
	fed_set_result(rc->call, rc->index, envelope);
	ff_free(rc);
}

/* Result i of c comes from party_id over the signed command channel. */
static void fed_send_remote(struct fed_call *c, size_t i, const char *party_id,
			    const json_t *body)
{
	struct fed_remote_ctx *rc = ff_calloc(1, sizeof(*rc));
	if (rc) {
		rc->call = c;
		rc->index = i;
	}
	if (!rc || remote_send(c->site, party_id, c->endpoint, body, fed_remote_done, rc)) {
		ff_free(rc);
		fed_set_result(c, i, json_pack("{s:i,s:s}", "code", 6000, "message", "out of memory"));
	}
}

static struct fed_call *fed_call_new(struct site *s, const char *endpoint, size_t n,
				     fed_done_cb cb, void *arg)
{
	struct fed_call *c = ff_calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->res = ff_calloc(n ? n : 1, sizeof(*c->res));
	if (!c->res) {
		ff_free(c);
		return NULL;
	}
	c->site = s;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
	c->n = n;
	c->pending = n;
	c->cb = cb;
	c->arg = arg;
	return c;
}

int fed_partner_fanout(struct site *s, const char *command, const json_t *body,
		       const struct fed_target *targets, size_t n, fed_done_cb cb, void *arg)
{
	char endpoint[96];
	snprintf(endpoint, sizeof(endpoint), "/partner/%s", command);
	struct fed_call *c = fed_call_new(s, endpoint, n, cb, arg);
	if (!c)
		return FF_ENOMEM;
	if (n == 0) {
		ev_defer(s->loop, &c->defer, fed_done_defer);
		return FF_OK;
	}
	for (size_t i = 0; i < n; i++) {
		c->res[i].target = targets[i];
		json_t *b = body ? json_deep_copy(body) : json_object();
		json_object_set_new(b, "role", json_string(targets[i].role));
		json_object_set_new(b, "party_id", json_string(targets[i].party_id));
		if (site_is_local_party(s, targets[i].party_id)) {
			json_t *env = s->fed->partner(s, command, b);
			fed_set_result(c, i, env);
		} else {
			fed_send_remote(c, i, targets[i].party_id, b);
		}
		json_decref(b);
	}
	return FF_OK;
}

static void fed_sched_reply(void *ctx, json_t *envelope)
{
	struct fed_call *c = ctx;
	fed_set_result(c, 0, envelope);
}

int fed_scheduler_send(struct site *s, const char *scheduler_party_id,
		       const char *command, const json_t *body, fed_done_cb cb, void *arg)
{
	char endpoint[96];
	snprintf(endpoint, sizeof(endpoint), "/scheduler/%s", command);
	struct fed_call *c = fed_call_new(s, endpoint, 1, cb, arg);
	if (!c)
		return FF_ENOMEM;
	snprintf(c->res[0].target.role, sizeof(c->res[0].target.role), "scheduler");
	snprintf(c->res[0].target.party_id, sizeof(c->res[0].target.party_id), "%s",
		 scheduler_party_id);
	if (site_is_local_party(s, scheduler_party_id)) {
		s->fed->sched(s, command, body, fed_sched_reply, c);
	} else {
		fed_send_remote(c, 0, scheduler_party_id, body);
	}
	return FF_OK;
}

bool fed_all_ok(const struct fed_call *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->res[i].code != 0)
			return false;
	return true;
}

void fed_first_error(const struct fed_call *c, char *buf, size_t n)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct fed_result *r = &c->res[i];
		if (r->code == 0)
			continue;
		snprintf(buf, n, "%s %s: %s", r->target.role, r->target.party_id,
			 r->message ? r->message : "failed");
		return;
	}
	snprintf(buf, n, "no error");
}
