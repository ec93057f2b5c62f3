// SPDX-License-Identifier: Apache-2.0
/*
 * api_gateway.c - the /v2/gateway routes: a local task sends (push) and
 * receives (pull) a message, a partner's gateway delivers one (deliver),
 * and counters (stats). docs/internals/gateway.md is the protocol.
 *
 * Uploads (push, deliver) are streamed: libmicrohttpd hands the body to
 * the chunk callbacks on its worker thread, which hash it (when it goes
 * to or comes from another site) and write it to memory or a spill file
 * as it comes, so no message is ever held whole and no byte is read
 * twice. The first chunk checks the request and reserves the key, so a
 * duplicate or a forged delivery stores nothing; a refused upload's
 * remaining bytes are read and dropped and the handler then answers with
 * the reason (the chunk callback cannot carry a message of its own).
 *
 * A push to another site larger than GW_SEG_SIZE becomes a stream: its
 * first chunk starts the forward, which sends each segment as soon as the
 * upload completed it. A partner's delivery is the whole message or one
 * segment of it ("off" and "total" in the signed query); segments of one
 * message arrive in order and append to its partial entry.
 */
#include "ff_setup.h"
#include "api.h"
#include "auth/sign.h"
#include "clock.h"
#include "gw_int.h"
#include "log.h"
#include "mem.h"
#include "route.h"
#include "site.h"

#define API_GW_WAIT_DEFAULT_MS 30000
#define API_GW_WAIT_MAX_MS 120000

/* One upload (push or deliver) in progress; the request's user slot. */
struct api_gw_up {
	struct gateway *gw;
	struct gw_key key;
	uint64_t id;
	bool reserved;        /* push: the key is ours until commit or cancel */
	bool claimed;         /* deliver: the message is ours until seg_end or seg_abort */
	bool committed;       /* the upload reached its end (commit, seg_end or discard) */
	bool remote;          /* push to another site's party */
	bool again;           /* a partner's retry of stored bytes: drop them */
	bool busy;            /* refused for now: the sender may try again */
	int ret;              /* refusal, answered by the handler */
	struct ff_error err;
	struct gw_body *body;
	struct gw_stream *stream;  /* push forwarded while it uploads */
	char url[256];             /* ... to this site */
	bool hashing;
	struct sign_sha256_state sha;
	uint64_t got;              /* bytes of this request */
	unsigned char claimed_sha[32];
	char msg_id[GW_MSG_ID_LEN + 1];
	uint64_t off, total;       /* deliver: the segment (total GW_WHOLE: all of it) */
};

static void api_gw_up_free(void *p)
{
	struct api_gw_up *up = p;
	if (up->stream) {
		if (!up->committed)
			gw_stream_abandon(up->stream);
		gw_stream_unref(up->stream);
	}
	if (up->reserved && !up->committed)
		gw_store_cancel(up->gw->store, &up->key, up->id);
	/* a delivery that broke off: the partial keeps what was verified */
	if (up->claimed && !up->committed)
		gw_store_seg_abort(up->gw->store, &up->key, up->id, &up->body, false);
	gw_body_free(up->body);
	ff_free(up);
}

static int api_gw_field(struct http_req *r, const char *name, char *out, size_t n,
			struct ff_error *err)
{
	const char *v = http_req_arg(r, name);
	if (!v || !*v)
		return ff_error_set(err, FF_EPARAM, "missing required parameter '%s'", name);
	if (strlen(v) >= n)
		return ff_error_set(err, FF_EPARAM, "parameter '%s' is longer than %zu characters",
				    name, n - 1);
	snprintf(out, n, "%s", v);
	return FF_OK;
}

static int api_gw_key(struct http_req *r, struct gw_key *k, struct ff_error *err)
{
	int ret = api_gw_field(r, "session", k->session, sizeof(k->session), err);
	if (!ret)
		ret = api_gw_field(r, "tag", k->tag, sizeof(k->tag), err);
	if (!ret)
		ret = api_gw_field(r, "src_role", k->src_role, sizeof(k->src_role), err);
	if (!ret)
		ret = api_gw_field(r, "src_party", k->src_party, sizeof(k->src_party), err);
	if (!ret)
		ret = api_gw_field(r, "dst_role", k->dst_role, sizeof(k->dst_role), err);
	if (!ret)
		ret = api_gw_field(r, "dst_party", k->dst_party, sizeof(k->dst_party), err);
	if (!ret)
		ret = gw_key_check(k, err);
	return ret;
}

static int api_gw_local(struct site *s, const char *party, const char *what,
			struct ff_error *err)
{
	if (site_is_local_party(s, party))
		return FF_OK;
	return ff_error_set(err, FF_EPARAM, "party '%s' is not run by this site (party %s): %s",
			    party, s->cfg.party_id, what);
}

/* A decimal number of 1..20 digits without overflow; false otherwise. */
static bool api_gw_u64(const char *v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i = 0;
	if (!v)
		return false;
	for (; v[i]; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 20)
			return false;
		unsigned d = (unsigned)(v[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return i > 0;
}

static uint64_t api_gw_length(struct http_req *r)
{
	uint64_t v;
	return api_gw_u64(http_req_header(r, "Content-Length"), &v) ? v : UINT64_MAX;
}

static int api_gw_hex32(const char *hex, unsigned char out[32])
{
	if (!hex || strlen(hex) != 64)
		return FF_EINVAL;
	for (size_t i = 0; i < 32; i++) {
		unsigned v = 0;
		for (size_t j = 0; j < 2; j++) {
			char c = hex[2 * i + j];
			unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
				   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
				   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
			if (d > 15)
				return FF_EINVAL;
			v = v * 16 + d;
		}
		out[i] = (unsigned char)v;
	}
	return FF_OK;
}

/*
 * A delivery must be signed by a partner in the route table, over the
 * canonical query (with the segment's place, if it is one) and the
 * announced SHA-256 of the body (checked against the bytes at the end),
 * and may only carry that partner's own messages.
 */
static int api_gw_verify(struct http_req *r, struct api_gw_up *up, struct ff_error *err)
{
	const char *party = http_req_header(r, "X-Fedflow-Party");
	struct ff_buf query = FF_BUF_INIT_MAX(4096);
	struct route rt;
	int ret;
	if (!party || !*party)
		return ff_error_set(err, FF_EVERIFY, "request is not signed: a delivery needs the "
				    "X-Fedflow-Party, -Timestamp, -Nonce and -Signature headers");
	struct store *db = http_req_db(r, err);
	if (!db)
		return err->code ? err->code : FF_EIO;
	ret = route_get(db, party, &rt, err);
	if (ret == FF_ENOTFOUND)
		return ff_error_set(err, FF_EVERIFY, "party '%.64s' is not a partner of this site "
				    "(not in its route table)", party);
	if (ret)
		return ret;
	if (api_gw_hex32(http_req_header(r, "X-Fedflow-Content-Sha256"), up->claimed_sha))
		return ff_error_set(err, FF_EVERIFY, "verify failed: missing or malformed "
				    "X-Fedflow-Content-Sha256 header");
	if (up->total == GW_WHOLE ? gw_key_query(&up->key, up->msg_id, &query)
				  : gw_key_query_seg(&up->key, up->msg_id, up->off, up->total, &query))
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	ret = sign_verify(rt.public_key, http_req_method(r), http_req_path(r), query.buf,
			  http_req_header(r, "X-Fedflow-Timestamp"),
			  http_req_header(r, "X-Fedflow-Nonce"),
			  http_req_header(r, "X-Fedflow-Signature"), up->claimed_sha, clock_now_ms(),
			  err);
	ff_buf_release(&query);
	if (!ret && strcmp(party, up->key.src_party))
		ret = ff_error_set(err, FF_EVERIFY, "party '%s' cannot deliver messages of party '%s'",
				   party, up->key.src_party);
	return ret;
}

/* The delivery's msg_id and, for a segment, its place: off and total. */
static int api_gw_deliver_args(struct http_req *r, struct api_gw_up *up, uint64_t len,
			       struct ff_error *err)
{
	const char *id = http_req_arg(r, "msg_id");
	const char *off = http_req_arg(r, "off"), *total = http_req_arg(r, "total");
	if (!id || strlen(id) != GW_MSG_ID_LEN || !gw_name_ok(id, GW_MSG_ID_LEN))
		return ff_error_set(err, FF_EVERIFY, "a delivery needs a 'msg_id' of %d characters",
				    GW_MSG_ID_LEN);
	snprintf(up->msg_id, sizeof(up->msg_id), "%s", id);
	up->off = 0;
	up->total = GW_WHOLE;
	if (!off && !total)
		return FF_OK;
	if (!api_gw_u64(off, &up->off) || !api_gw_u64(total, &up->total) ||
	    up->total == GW_WHOLE)
		return ff_error_set(err, FF_EPARAM, "a segment needs 'off' and 'total' as byte counts");
	if (len == UINT64_MAX || len == 0 || up->off >= up->total || len > up->total - up->off)
		return ff_error_set(err, FF_EPARAM, "segment of %llu bytes at byte %llu does not fit "
				    "a message of %llu bytes (Content-Length is required)",
				    (unsigned long long)(len == UINT64_MAX ? 0 : len),
				    (unsigned long long)up->off, (unsigned long long)up->total);
	return FF_OK;
}

/* A partner's delivery: checked, then the message (or segment) claimed. */
static int api_gw_start_deliver(struct http_req *r, struct api_gw_up *up)
{
	struct site *s = api_site(r);
	struct ff_error *err = &up->err;
	uint64_t len = api_gw_length(r);
	int ret = api_gw_key(r, &up->key, err);
	if (!ret)
		ret = api_gw_deliver_args(r, up, len, err);
	if (!ret)
		ret = api_gw_verify(r, up, err);
	if (!ret)
		ret = api_gw_local(s, up->key.dst_party, "deliver to the destination's site", err);
	bool ring = false;
	if (!ret) {
		up->id = gateway_next_id(up->gw);
		ret = gw_store_seg_begin_ring(up->gw->store, &up->key, up->id, up->msg_id, up->off,
					      len == UINT64_MAX ? 0 : len, up->total, &up->body,
					      &up->again, &ring, err);
		up->claimed = !ret && !up->again;
		up->busy = ret == FF_EAGAIN;
	}
	if (up->claimed && !up->body && ring && up->gw->ring_prefix) {
		/* no ring (memory budget, no memory file system): a spill file */
		struct ff_error rerr = FF_ERROR_INIT;
		up->body = gw_body_new_ring(up->gw->ring_prefix, GW_RING_SIZE, &rerr);
		if (!up->body)
			ff_log(FF_LOG_WARN, "gateway: %s; receiving into a spill file instead",
			       rerr.msg);
	}
	if (up->claimed && !up->body) {
		uint64_t size = up->total == GW_WHOLE ? len : up->total;
		up->body = gw_body_new(up->gw->dir, size, err);
		if (!up->body)
			ret = err->code ? err->code : FF_ENOMEM;
		else if (size != UINT64_MAX)
			gw_body_prealloc(up->body, size);
	} else if (up->claimed && up->body->size != up->off) {
		/* the tail of an attempt that broke off */
		ret = gw_body_truncate(up->body, up->off, err);
	}
	up->hashing = up->claimed;
	if (up->hashing)
		sign_sha256_init(&up->sha);
	if (ret)
		ff_log(FF_LOG_WARN, "gateway: refused delivery from %s (party %.64s): %s",
		       http_req_peer(r), http_req_header(r, "X-Fedflow-Party") ?
		       http_req_header(r, "X-Fedflow-Party") : "-", ff_error_msg(err, ret));
	return ret;
}

/* The route of a destination party, read on this thread's connection. */
static int api_gw_route(struct http_req *r, struct store *db, struct api_gw_up *up)
{
	struct route rt;
	struct ff_error *err = &up->err;
	if (!db && !(db = http_req_db(r, err)))
		return err->code ? err->code : FF_EIO;
	int ret = route_get(db, up->key.dst_party, &rt, err);
	if (ret == FF_ENOTFOUND)
		return ff_error_set(err, FF_ENOROUTE, "cannot send message '%s' to %s %s: party "
				    "'%s' is not in this site's route table; add it with 'fedflowd "
				    "partner add'", up->key.tag, up->key.dst_role, up->key.dst_party,
				    up->key.dst_party);
	if (!ret)
		snprintf(up->url, sizeof(up->url), "%s", rt.url);
	return ret;
}

/* A local task's send: checked, the key reserved, a stream started. */
static int api_gw_start_push(struct http_req *r, struct api_gw_up *up)
{
	struct site *s = api_site(r);
	struct ff_error *err = &up->err;
	uint64_t len = api_gw_length(r);
	int ret = api_gw_key(r, &up->key, err);
	if (!ret)
		ret = api_gw_local(s, up->key.src_party, "a task sends through its own site", err);
	up->remote = !ret && !site_is_local_party(s, up->key.dst_party);
	/* large and of known size: forwarded while it uploads (a worker thread) */
	bool stream = up->remote && len != UINT64_MAX && len > GW_SEG_SIZE;
	if (!ret && stream)
		ret = api_gw_route(r, NULL, up);
	if (!ret) {
		up->id = gateway_next_id(up->gw);
		ret = gw_store_reserve(up->gw->store, &up->key, up->id, err);
		up->reserved = !ret;
	}
	if (!ret && stream) {
		up->stream = gw_stream_new(up->gw->dir, len, err);
		ret = !up->stream ? (err->code ? err->code : FF_ENOMEM)
			: gateway_forward_stream(up->gw, &up->key, up->id, up->stream, up->url, err);
	} else if (!ret) {
		up->body = gw_body_new(up->gw->dir, len, err);
		if (!up->body)
			ret = err->code ? err->code : FF_ENOMEM;
		else if (len != UINT64_MAX)
			gw_body_prealloc(up->body, len);
		up->hashing = up->remote;
		if (up->hashing)
			sign_sha256_init(&up->sha);
	}
	return ret;
}

/* The upload state of r, made and started on first use. */
static struct api_gw_up *api_gw_up(struct http_req *r, bool deliver)
{
	struct api_gw_up *up = http_req_user(r);
	if (up)
		return up;
	up = ff_calloc(1, sizeof(*up));
	if (!up)
		return NULL;
	http_req_set_user(r, up, api_gw_up_free);
	up->total = GW_WHOLE;
	up->gw = gateway_get(api_site(r), &up->err);
	if (!up->gw)
		up->ret = up->err.code ? up->err.code : FF_ENOMEM;
	else
		up->ret = deliver ? api_gw_start_deliver(r, up) : api_gw_start_push(r, up);
	return up;
}

static int api_gw_chunk(struct http_req *r, const char *data, size_t n, bool deliver)
{
	struct api_gw_up *up = api_gw_up(r, deliver);
	if (!up)
		return FF_ENOMEM;
	up->got += n;
	if (up->ret || up->again)
		return FF_OK; /* read and dropped; the handler answers */
	if (up->stream) {
		up->ret = gw_stream_write(up->stream, data, n, &up->err);
		return FF_OK;
	}
	if (up->hashing)
		sign_sha256_update(&up->sha, data, n);
	up->ret = gw_body_write(up->body, data, n, &up->err);
	return FF_OK;
}

static int api_gw_push_chunk(struct http_req *r, const char *data, size_t n)
{
	return api_gw_chunk(r, data, n, false);
}

static int api_gw_deliver_chunk(struct http_req *r, const char *data, size_t n)
{
	return api_gw_chunk(r, data, n, true);
}

static void api_gw_ok_size(struct http_req *r, uint64_t size, bool again)
{
	json_t *data = json_pack("{s:I,s:b}", "size", (json_int_t)size, "again", again);
	api_ok_json(r, data, NULL);
	json_decref(data);
}

/* Frees a body that will not be kept before answering (no spill file left behind). */
static void api_gw_drop_body(struct api_gw_up *up)
{
	gw_body_free(up->body);
	up->body = NULL;
}

/* A refusal; busy ones tell the sending gateway to try again later. */
static void api_gw_refuse(struct http_req *r, struct api_gw_up *up)
{
	if (!up->busy) {
		api_fail_err(r, up->ret, &up->err);
		return;
	}
	json_t *env = json_pack("{s:i,s:s,s:{s:b}}", "code", ff_api_code(up->ret), "message",
				ff_error_msg(&up->err, up->ret), "data", "retry", 1);
	if (!env) {
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	api_reply_json(r, env);
	json_decref(env);
}

/* Stores a complete local message or hands it to its waiting receiver. */
static int api_gw_commit_local(struct api_gw_up *up)
{
	void *waiter = NULL;
	int ret = gw_store_commit(up->gw->store, &up->key, up->id, &up->body, false, &waiter,
				  &up->err);
	if (ret)
		return ret;
	up->committed = true;
	if (waiter) {
		gateway_hand_over(up->gw, waiter, up->body);
		up->body = NULL;
	}
	return FF_OK;
}

/* Core thread: a streamed push is complete; the forward answers it. */
static void api_gw_push_stream(struct http_req *r, struct api_gw_up *up)
{
	struct gw_body *none = NULL;
	void *nobody = NULL;
	int ret = gw_store_commit(up->gw->store, &up->key, up->id, &none, true, &nobody, &up->err);
	up->committed = !ret;
	gateway_stream_done(up->gw, r, &up->key, up->id, up->stream, !ret);
	if (ret)
		api_fail_err(r, ret, &up->err);
}

/* Core thread: a local task's message is complete. */
static void api_gw_push(struct http_req *r)
{
	struct api_gw_up *up = api_gw_up(r, false);
	if (!up) {
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	if (up->ret) {
		api_fail_err(r, up->ret, &up->err);
		return;
	}
	if (up->stream) {
		api_gw_push_stream(r, up);
		return;
	}
	uint64_t size = up->body->size;
	if (!up->remote) {
		int ret = api_gw_commit_local(up);
		if (ret)
			api_fail_err(r, ret, &up->err);
		else
			api_gw_ok_size(r, size, false);
		return;
	}
	unsigned char sha[32];
	sign_sha256_final(&up->sha, sha);
	up->hashing = false;
	int ret = api_gw_route(r, api_site(r)->db, up);
	void *none = NULL;
	if (!ret)
		ret = gw_store_commit(up->gw->store, &up->key, up->id, &up->body, true, &none,
				      &up->err);
	if (ret) {
		api_fail_err(r, ret, &up->err);
		return;
	}
	up->committed = true;
	struct gw_body *b = up->body;
	up->body = NULL;
	gateway_forward(up->gw, r, &up->key, up->id, b, sha, up->url);
}

/* Worker thread: a partner's delivery (a message or a segment) is complete. */
static void api_gw_deliver(struct http_req *r)
{
	struct api_gw_up *up = api_gw_up(r, true);
	if (!up) {
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	if (up->ret) {
		api_gw_refuse(r, up);
		return;
	}
	if (up->again) {
		api_gw_ok_size(r, up->got, true);
		return;
	}
	unsigned char sha[32];
	char what[400];
	sign_sha256_final(&up->sha, sha);
	up->hashing = false;
	if (memcmp(sha, up->claimed_sha, 32)) {
		/* tampered or broken: the whole message goes, nothing is kept */
		up->committed = true;
		gw_store_seg_abort(up->gw->store, &up->key, up->id, &up->body, true);
		api_gw_drop_body(up);
		int ret = ff_error_set(&up->err, FF_EVERIFY, "verify failed: the body of %s does not "
				       "match its signed SHA-256",
				       gw_key_text(&up->key, what, sizeof(what)));
		ff_log(FF_LOG_WARN, "gateway: refused delivery from %s: %s", http_req_peer(r),
		       up->err.msg);
		api_fail_err(r, ret, &up->err);
		return;
	}
	void *waiter = NULL;
	bool complete = false;
	struct gw_follow fl;
	int ret = gw_store_seg_end_follow(up->gw->store, &up->key, up->id, &up->body, &waiter,
					  &complete, &fl, &up->err);
	if (ret) {
		api_gw_drop_body(up);
		api_fail_err(r, ret, &up->err);
		return;
	}
	up->committed = true;
	if (waiter) {
		/* the receiver, or a follower's news of this segment (body kept) */
		gateway_hand_follow(up->gw, waiter, up->body, &fl);
		up->body = NULL;
	}
	api_gw_ok_size(r, up->got, false);
}

/* A request from this host (whose task can open the daemon's files). */
static bool api_gw_loopback(const struct http_req *r)
{
	const char *peer = http_req_peer(r);
	return !strncmp(peer, "127.", 4) || !strcmp(peer, "::1") ||
	       !strncmp(peer, "::ffff:127.", 11);
}

/* Core thread: a local task asks for a message (long poll). */
static void api_gw_pull(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct gw_key k;
	struct site *s = api_site(r);
	long long wait = API_GW_WAIT_DEFAULT_MS;
	const char *w = http_req_arg(r, "wait");
	int ret = api_gw_key(r, &k, &err);
	if (!ret)
		ret = api_gw_local(s, k.dst_party, "a task receives at its own site", &err);
	if (!ret && w && *w) {
		char *end;
		wait = strtoll(w, &end, 10);
		if (*end || wait < 0)
			ret = ff_error_set(&err, FF_EPARAM, "parameter 'wait' must be milliseconds >= 0");
		if (wait > API_GW_WAIT_MAX_MS)
			wait = API_GW_WAIT_MAX_MS;
	}
	struct gateway *gw = ret ? NULL : gateway_get(s, &err);
	if (!ret && !gw)
		ret = err.code ? err.code : FF_ENOMEM;
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	/* file=1: the task reads a spilled message from its file itself */
	const char *file = http_req_arg(r, "file");
	bool as_file = file && !strcmp(file, "1") && api_gw_loopback(r);
	/* follow=1 (attach) or follow=<token>&seen=<bytes read>: it follows a partial */
	struct gw_follow fl = { 0 };
	const char *follow = http_req_arg(r, "follow"), *seen = http_req_arg(r, "seen");
	if (follow && (!api_gw_u64(follow, &fl.id) || (fl.id > 1 && !api_gw_u64(seen, &fl.seen)))) {
		api_fail(r, FF_EPARAM, "parameter 'follow' must be 1 or a token, with 'seen' "
			 "bytes for a token");
		return;
	}
	fl.want = follow != NULL;
	if (fl.id == 1)
		fl.id = 0; /* attach */
	gateway_pull(gw, r, &k, wait, as_file, &fl);
}

static void api_gw_stats(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct gateway_stats st;
	int ret = gateway_stats(api_site(r), &st, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	json_t *data = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
				 "messages", (json_int_t)st.messages, "ready", (json_int_t)st.ready,
				 "receiving", (json_int_t)st.receiving,
				 "waiting", (json_int_t)st.waiting,
				 "forwarding", (json_int_t)st.forwarding, "done", (json_int_t)st.done,
				 "dropped", (json_int_t)st.dropped,
				 "mem_bytes", (json_int_t)st.mem_bytes,
				 "spill_bytes", (json_int_t)st.spill_bytes,
				 "spill_files", (json_int_t)st.spill_files,
				 "followed", (json_int_t)st.followed, "rings", (json_int_t)st.rings,
				 "ring_pushes", (json_int_t)st.ring_pushes);
	api_ok_json(r, data, NULL);
	json_decref(data);
}

/* ---- ring pushes (src/fed/gw_ring.c) ---- */

/* A required byte or segment count argument. */
static int api_gw_count(struct http_req *r, const char *name, uint64_t *out,
			struct ff_error *err)
{
	if (!api_gw_u64(http_req_arg(r, name), out))
		return ff_error_set(err, FF_EPARAM, "parameter '%s' must be a count (decimal)", name);
	return FF_OK;
}

static void api_gw_ring_none(struct http_req *r)
{
	json_t *data = json_pack("{s:b}", "ring", 0);
	api_ok_json(r, data, NULL);
	json_decref(data);
}

/*
 * Worker thread: a task on this host opens a ring push for a large
 * message to another site. {"ring": false} when the gateway offers none
 * (another host, no memory file system, the budget): the task pushes.
 */
static void api_gw_ring_open(struct http_req *r)
{
	struct api_gw_up up = { .total = GW_WHOLE };
	struct site *s = api_site(r);
	struct gw_ring_open o;
	uint64_t size = 0;
	up.gw = gateway_get(s, &up.err);
	int ret = up.gw ? FF_OK : (up.err.code ? up.err.code : FF_ENOMEM);
	if (!ret)
		ret = api_gw_key(r, &up.key, &up.err);
	if (!ret)
		ret = api_gw_local(s, up.key.src_party, "a task sends through its own site", &up.err);
	if (!ret)
		ret = api_gw_count(r, "size", &size, &up.err);
	if (ret) {
		api_fail_err(r, ret, &up.err);
		return;
	}
	/* a small message, or one that stays here, is pushed as usual */
	if (!api_gw_loopback(r) || !up.gw->ring_prefix || size <= GW_SEG_SIZE ||
	    site_is_local_party(s, up.key.dst_party)) {
		api_gw_ring_none(r);
		return;
	}
	ret = api_gw_route(r, NULL, &up);
	if (!ret)
		ret = gateway_ring_open(up.gw, &up.key, size, up.url, &o, &up.err);
	if (ret == FF_ENOMEM) {
		api_gw_ring_none(r);
		return;
	}
	if (ret) {
		api_fail_err(r, ret, &up.err);
		return;
	}
	json_t *data = json_pack("{s:s,s:I,s:I,s:I}", "ring", o.path, "slots", (json_int_t)o.slots,
				 "segment", (json_int_t)GW_SEG_SIZE, "push", (json_int_t)o.id);
	api_ok_json(r, data, NULL);
	json_decref(data);
}

/*
 * Worker thread: a ring push's step: segments [0, written) are in their
 * slots; the answer says whether the slot of segment `need` is free and
 * whether the message was delivered (waits up to GW_RING_STEP_WAIT_MS).
 */
static void api_gw_ring_step(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct gw_ring_step st = { 0 };
	struct gw_key k;
	uint64_t id = 0, written = 0, need = 0;
	struct gateway *gw = gateway_get(api_site(r), &err);
	int ret = gw ? FF_OK : (err.code ? err.code : FF_ENOMEM);
	if (!ret)
		ret = api_gw_key(r, &k, &err);
	if (!ret)
		ret = api_gw_count(r, "push", &id, &err);
	if (!ret)
		ret = api_gw_count(r, "written", &written, &err);
	if (!ret)
		ret = api_gw_count(r, "need", &need, &err);
	if (!ret)
		ret = gateway_ring_step(gw, id, &k, written, need, &st, &err);
	if (ret) {
		api_fail_err(r, ret, &err);
		return;
	}
	json_t *data = json_pack("{s:b,s:b,s:I,s:i}", "free", st.free, "done", st.done, "size",
				 (json_int_t)st.size, "tries", st.tries);
	api_ok_json(r, data, NULL);
	json_decref(data);
}

static const struct http_route api_gateway_table[] = {
	{ "POST", "/v2/gateway/push", api_gw_push, HTTP_RT_CORE | HTTP_RT_STREAM,
	  api_gw_push_chunk },
	{ "GET", "/v2/gateway/pull", api_gw_pull, HTTP_RT_CORE, NULL },
	{ "POST", "/v2/gateway/deliver", api_gw_deliver, HTTP_RT_READ | HTTP_RT_STREAM,
	  api_gw_deliver_chunk },
	{ "GET", "/v2/gateway/stats", api_gw_stats, HTTP_RT_READ, NULL },
	{ "POST", "/v2/gateway/push/ring", api_gw_ring_open, HTTP_RT_READ, NULL },
	{ "POST", "/v2/gateway/push/ring/step", api_gw_ring_step, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_gateway_table);
