// SPDX-License-Identifier: Apache-2.0
/*
 * remote.c - libcurl multi on the core loop, signing, retries, and the
 * batching of commands to one partner.
 *
 * DESIGN (batches). A partner with REMOTE_PEER_BUSY batchable requests in
 * flight gets further commands queued, in order; when one of its requests
 * ends, everything queued (up to REMOTE_BATCH_MAX) leaves as one signed
 * POST /v2/fed/batch, which the partner runs in order and answers with one
 * envelope per command (api_fed.c). Under load that is one signature, one
 * HTTP exchange and (at the partner) one commit for many commands instead
 * of one each; a lone command is sent as before, with no added wait. Only
 * commands a partner answers at once are batched (remote_batchable): a
 * slow one must not hold up the ones queued behind it. A failed batch is
 * retried whole; after the last attempt each of its commands gets its own
 * 104 answer naming the party and the command.
 */
#include "ff_setup.h"
#include <curl/curl.h>
#include <sys/epoll.h>
#include "auth/sign.h"
#include "ev.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "remote.h"
#include "route.h"
#include "site.h"

#define REMOTE_PEER_BUSY 2     /* batchable requests in flight per partner */
#define REMOTE_BATCH_MAX 64    /* commands per batch */
#define REMOTE_BATCH_BYTES (4 << 20) /* and their bodies' bytes, past the first */

/* One command: alone in a request, or one of a batch. */
struct remote_cmd {
	struct remote_cmd *next;
	char endpoint[96];
	char *body;
	size_t body_len;
	remote_done_cb cb;
	void *arg;
};

/* A partner's batchable traffic: requests in flight and the queue behind them. */
struct remote_peer {
	struct remote_peer *next;
	char party[64];
	unsigned busy;
	struct remote_cmd *head, **tail;
};

struct remote {
	struct site *site;
	CURLM *multi;
	struct ev_timer timer;
	size_t inflight;            /* commands sent or queued, not yet answered */
	struct remote_req *reqs;    /* every request in flight (for release) */
	struct remote_peer *peers;
	/* counters for /metrics (read from other threads: atomic) */
	uint64_t n_cmds, n_reqs, n_batches;
};

struct remote_sock {
	struct ev_io io;
	struct remote *rm;
};

struct remote_req {
	struct remote *rm;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	size_t body_len;
	struct ff_buf resp;
	char party[64];
	char endpoint[96];          /* of the request: the command's, or /fed/batch */
	char url[400];
	int attempt;
	struct ev_timer retry;
	struct remote_cmd *cmds;    /* owned; more than one: a batch */
	size_t ncmds;
	struct remote_peer *peer;   /* set when it counts in peer->busy */
	char error[CURL_ERROR_SIZE];
	struct remote_req *next, *prev;
};

static void remote_check_done(struct remote *rm);

/* ---- curl <-> loop glue ---- */

static void remote_io_cb(struct ev_io *io, uint32_t revents)
{
	struct remote_sock *rs = ff_container_of(io, struct remote_sock, io);
	int flags = 0, running;
	if (revents & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	struct remote *rm = rs->rm;
	curl_multi_socket_action(rm->multi, io->fd, flags, &running);
	remote_check_done(rm);
}

static int remote_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct remote *rm = userp;
	struct remote_sock *rs = socketp;
	struct ev_loop *loop = rm->site->loop;
	if (what == CURL_POLL_REMOVE) {
		if (rs) {
			ev_io_stop(loop, &rs->io);
			ff_free(rs);
			curl_multi_assign(rm->multi, s, NULL);
		}
		return 0;
	}
	uint32_t ev = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	if (!rs) {
		rs = ff_calloc(1, sizeof(*rs));
		if (!rs)
			return -1;
		rs->rm = rm;
		rs->io.fd = s;
		rs->io.events = ev;
		rs->io.cb = remote_io_cb;
		if (ev_io_start(loop, &rs->io)) {
			ff_free(rs);
			return -1;
		}
		curl_multi_assign(rm->multi, s, rs);
	} else {
		ev_io_modify(loop, &rs->io, ev);
	}
	return 0;
}

static void remote_timer_fire(struct ev_timer *t)
{
	struct remote *rm = ff_container_of(t, struct remote, timer);
	int running;
	curl_multi_socket_action(rm->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	remote_check_done(rm);
}

static int remote_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct remote *rm = userp;
	if (timeout_ms < 0)
		ev_timer_stop(rm->site->loop, &rm->timer);
	else
		ev_timer_start(rm->site->loop, &rm->timer, timeout_ms);
	return 0;
}

/*
 * The multi handle is made at the first command, not at start: creating it
 * initialises OpenSSL (about 1.7 MB of touched pages), which a site that
 * runs only local jobs never needs. Runs on the core loop only.
 */
static CURLM *remote_multi(struct remote *rm)
{
	if (rm->multi)
		return rm->multi;
	rm->multi = curl_multi_init();
	if (!rm->multi)
		return NULL;
	curl_multi_setopt(rm->multi, CURLMOPT_SOCKETFUNCTION, remote_socket_cb);
	curl_multi_setopt(rm->multi, CURLMOPT_SOCKETDATA, rm);
	curl_multi_setopt(rm->multi, CURLMOPT_TIMERFUNCTION, remote_timer_cb);
	curl_multi_setopt(rm->multi, CURLMOPT_TIMERDATA, rm);
	curl_multi_setopt(rm->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
	return rm->multi;
}

int remote_init(struct site *s, struct ff_error *err)
{
	struct remote *rm = ff_calloc(1, sizeof(*rm));
	if (!rm)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	rm->site = s;
	ev_timer_init(&rm->timer, remote_timer_fire);
	s->remote = rm;
	return FF_OK;
}

size_t remote_inflight(const struct site *s)
{
	return s->remote ? s->remote->inflight : 0;
}

void remote_stats(const struct site *s, struct remote_stats *out)
{
	const struct remote *rm = s->remote;
	out->commands = rm ? __atomic_load_n(&rm->n_cmds, __ATOMIC_RELAXED) : 0;
	out->requests = rm ? __atomic_load_n(&rm->n_reqs, __ATOMIC_RELAXED) : 0;
	out->batches = rm ? __atomic_load_n(&rm->n_batches, __ATOMIC_RELAXED) : 0;
}

/* ---- requests ---- */

static void remote_req_free(struct remote_req *q)
{
	struct remote *rm = q->rm;
	if (q->prev)
		q->prev->next = q->next;
	else if (rm->reqs == q)
		rm->reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	ev_timer_stop(rm->site->loop, &q->retry);
	if (q->easy) {
		curl_multi_remove_handle(q->rm->multi, q->easy);
		curl_easy_cleanup(q->easy);
	}
	curl_slist_free_all(q->hdrs);
	if (q->ncmds > 1)
		ff_free(q->body); /* a batch's own text; a single one is its command's */
	ff_buf_release(&q->resp);
	ff_free(q);
}

static void remote_cmd_free(struct remote_cmd *c)
{
	ff_free(c->body);
	ff_free(c);
}

/* Frees a list of commands never answered (the daemon is exiting). */
static void remote_cmds_drop(struct remote_cmd *c)
{
	while (c) {
		struct remote_cmd *next = c->next;
		remote_cmd_free(c);
		c = next;
	}
}

static json_t *remote_unreachable(const char *party, const char *endpoint, int attempts,
				  const char *why)
{
	char msg[600];
	snprintf(msg, sizeof(msg), "Federated schedule error: party %s did not answer %s after %d "
		 "attempts (%s)", party, endpoint, attempts, why);
	return json_pack("{s:i,s:s}", "code", 104, "message", msg);
}

/* The answer of command i of a batch whose request answered env. */
static json_t *remote_batch_answer(const json_t *env, size_t i, size_t n)
{
	const json_t *data = json_object_get(env, "data");
	long long code = -1;
	jsonx_as_int(json_object_get(env, "code"), &code);
	if (code != 0)
		return json_deep_copy(env); /* refused whole (e.g. its signature) */
	if (!json_is_array(data) || json_array_size(data) != n ||
	    !json_is_object(json_array_get(data, i)))
		return json_pack("{s:i,s:s}", "code", 6002, "message",
				 "the partner's answer to a batch of commands is malformed");
	return json_incref(json_array_get(data, i));
}

static void remote_pump(struct remote *rm, struct remote_peer *p);

/*
 * Gives each of cmds (owned, n of them) its answer: from env, the
 * partner's answer (borrowed), or, when env is NULL, unreachable for the
 * reason why after attempts.
 */
static void remote_answer(struct remote *rm, const char *party, int attempts,
			  struct remote_cmd *cmds, size_t n, const json_t *env, const char *why)
{
	rm->inflight -= n;
	for (size_t i = 0; cmds; i++) {
		struct remote_cmd *c = cmds;
		cmds = c->next;
		json_t *a = !env ? remote_unreachable(party, c->endpoint, attempts, why)
			  : n > 1 ? remote_batch_answer(env, i, n) : json_incref((json_t *)env);
		c->cb(c->arg, a);
		remote_cmd_free(c);
	}
}

/* The request is over (env: the partner's answer, stolen; NULL:
 * unreachable for the reason why); the partner's queue moves on. */
static void remote_finish(struct remote_req *q, json_t *env, const char *why)
{
	struct remote *rm = q->rm;
	struct remote_cmd *cmds = q->cmds;
	size_t n = q->ncmds;
	struct remote_peer *peer = q->peer;
	char party[64], reason[CURL_ERROR_SIZE + 64];
	int attempts = q->attempt;
	snprintf(party, sizeof(party), "%s", q->party);
	/* why may point into q (its curl error buffer) */
	snprintf(reason, sizeof(reason), "%s", why ? why : "");
	q->cmds = NULL;
	remote_req_free(q);
	if (peer)
		peer->busy--;
	remote_answer(rm, party, attempts, cmds, n, env, reason);
	json_decref(env);
	if (peer)
		remote_pump(rm, peer);
}

static int remote_start(struct remote_req *q);

static void remote_retry_fire(struct ev_timer *t)
{
	struct remote_req *q = ff_container_of(t, struct remote_req, retry);
	if (remote_start(q))
		remote_finish(q, NULL, "cannot start the request");
}

/* One attempt ended without a usable answer: back off and try again. */
static void remote_failed_attempt(struct remote_req *q, const char *why)
{
	struct site *s = q->rm->site;
	if (q->attempt >= s->cfg.command_tries) {
		ff_log(FF_LOG_WARN, "command %s to party %s failed: %s", q->endpoint, q->party, why);
		remote_finish(q, NULL, why);
		return;
	}
	curl_multi_remove_handle(q->rm->multi, q->easy);
	curl_easy_cleanup(q->easy);
	q->easy = NULL;
	/* 0.5 s, 2 s, 8 s ...: long enough for a partner restarting */
	int64_t delay = 500LL << (2 * (q->attempt - 1 < 3 ? q->attempt - 1 : 3));
	ev_timer_start(s->loop, &q->retry, delay);
}

static void remote_done(struct remote_req *q, CURLcode rc)
{
	long status = 0;
	if (rc != CURLE_OK) {
		remote_failed_attempt(q, q->error[0] ? q->error : curl_easy_strerror(rc));
		return;
	}
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	json_t *env = NULL;
	struct ff_error err = FF_ERROR_INIT;
	if (jsonx_parse(q->resp.buf, q->resp.len, &env, &err) || !json_is_object(env)) {
		json_decref(env);
		char why[200];
		snprintf(why, sizeof(why), "HTTP %ld with an answer that is not JSON", status);
		remote_failed_attempt(q, why);
		return;
	}
	remote_finish(q, env, NULL);
}

static void remote_check_done(struct remote *rm)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(rm->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct remote_req *q = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		if (q)
			remote_done(q, m->data.result);
	}
}

static size_t remote_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct remote_req *q = arg;
	return ff_buf_add(&q->resp, data, size * n) ? 0 : size * n;
}

static int remote_headers(struct remote_req *q)
{
	struct site *s = q->rm->site;
	unsigned char sha[32];
	struct sign_headers h;
	char path[128], line[256];
	snprintf(path, sizeof(path), "/v2%s", q->endpoint);
	sign_sha256(q->body, q->body_len, sha);
	int ret = sign_request(s->key, s->cfg.party_id, "POST", path, "", sha, &h);
	if (ret)
		return ret;
	curl_slist_free_all(q->hdrs);
	q->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	q->hdrs = curl_slist_append(q->hdrs, "Expect:");
	snprintf(line, sizeof(line), "X-Fedflow-Party: %s", h.party);
	q->hdrs = curl_slist_append(q->hdrs, line);
	snprintf(line, sizeof(line), "X-Fedflow-Timestamp: %s", h.timestamp);
	q->hdrs = curl_slist_append(q->hdrs, line);
	snprintf(line, sizeof(line), "X-Fedflow-Nonce: %s", h.nonce);
	q->hdrs = curl_slist_append(q->hdrs, line);
	snprintf(line, sizeof(line), "X-Fedflow-Signature: %s", h.signature);
	q->hdrs = curl_slist_append(q->hdrs, line);
	return q->hdrs ? FF_OK : FF_ENOMEM;
}

/* One attempt: fresh signature (new nonce and timestamp), new handle. */
static int remote_start(struct remote_req *q)
{
	struct site *s = q->rm->site;
	q->attempt++;
	ff_buf_reset(&q->resp);
	q->error[0] = '\0';
	int ret = remote_headers(q);
	if (ret)
		return ret;
	q->easy = curl_easy_init();
	if (!q->easy)
		return FF_ENOMEM;
	CURL *e = q->easy;
	curl_easy_setopt(e, CURLOPT_URL, q->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, remote_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_PRIVATE, q);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->error);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->cfg.command_timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg.command_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	CURLM *multi = remote_multi(q->rm);
	return multi && curl_multi_add_handle(multi, e) == CURLM_OK ? FF_OK : FF_EIO;
}

/* Commands a partner answers at once (the scheduler's job/create, stop and
 * rerun wait for other parties: they go alone). */
static bool remote_batchable(const char *endpoint)
{
	return !strncmp(endpoint, "/partner/", 9) || !strcmp(endpoint, "/scheduler/task/report") ||
	       !strcmp(endpoint, "/scheduler/queue/kick") || !strcmp(endpoint, "/scheduler/party/back");
}

static struct remote_peer *remote_peer_get(struct remote *rm, const char *party_id)
{
	for (struct remote_peer *p = rm->peers; p; p = p->next)
		if (!strcmp(p->party, party_id))
			return p;
	struct remote_peer *p = ff_calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->party, sizeof(p->party), "%s", party_id);
	p->tail = &p->head;
	p->next = rm->peers;
	rm->peers = p;
	return p;
}

/* {"commands":[{"endpoint":E,"body":B},...]} from the commands' texts. */
static char *remote_batch_body(const struct remote_cmd *cmds, size_t *len)
{
	struct ff_buf b;
	ff_buf_init(&b, 2 * REMOTE_BATCH_BYTES + 64 * (size_t)REMOTE_BATCH_MAX);
	int ret = ff_buf_addstr(&b, "{\"commands\":[");
	for (const struct remote_cmd *c = cmds; c && !ret; c = c->next) {
		ret = ff_buf_addf(&b, "%s{\"endpoint\":\"%s\",\"body\":", c == cmds ? "" : ",",
				  c->endpoint);
		if (!ret)
			ret = ff_buf_add(&b, c->body, c->body_len);
		if (!ret)
			ret = ff_buf_addstr(&b, "}");
	}
	if (!ret)
		ret = ff_buf_addstr(&b, "]}");
	if (ret) {
		ff_buf_release(&b);
		return NULL;
	}
	return ff_buf_detach(&b, len);
}

/* Sends cmds (n of them, owned) to party_id in one request. */
static void remote_request(struct remote *rm, const char *party_id, struct remote_cmd *cmds,
			   size_t n, struct remote_peer *peer)
{
	struct site *s = rm->site;
	struct route rt;
	struct ff_error err = FF_ERROR_INIT;
	struct remote_req *q = ff_calloc(1, sizeof(*q));
	if (!q) {
		remote_answer(rm, party_id, 0, cmds, n, NULL, "out of memory");
		return;
	}
	q->rm = rm;
	q->cmds = cmds;
	q->ncmds = n;
	q->peer = peer;
	__atomic_fetch_add(&rm->n_cmds, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rm->n_reqs, 1, __ATOMIC_RELAXED);
	if (n > 1)
		__atomic_fetch_add(&rm->n_batches, 1, __ATOMIC_RELAXED);
	if (peer)
		peer->busy++;
	ff_buf_init(&q->resp, 64 << 20);
	ev_timer_init(&q->retry, remote_retry_fire);
	snprintf(q->party, sizeof(q->party), "%s", party_id);
	snprintf(q->endpoint, sizeof(q->endpoint), "%s", n > 1 ? "/fed/batch" : cmds->endpoint);
	q->next = rm->reqs;
	if (q->next)
		q->next->prev = q;
	rm->reqs = q;
	int ret = route_get(s->db, party_id, &rt, &err);
	if (ret) {
		char msg[400];
		snprintf(msg, sizeof(msg), "Federated schedule error: %s", ff_error_msg(&err, ret));
		remote_finish(q, json_pack("{s:i,s:s}", "code", 104, "message", msg), NULL);
		return;
	}
	snprintf(q->url, sizeof(q->url), "%s/v2%s", rt.url, q->endpoint);
	if (n > 1) {
		q->body = remote_batch_body(cmds, &q->body_len);
	} else {
		q->body = cmds->body;
		q->body_len = cmds->body_len;
	}
	if (!q->body || remote_start(q))
		remote_finish(q, NULL, "cannot start the request");
}

/* Sends what waits for p while it has room: everything queued in one batch. */
static void remote_pump(struct remote *rm, struct remote_peer *p)
{
	while (p->head && p->busy < REMOTE_PEER_BUSY) {
		struct remote_cmd *cmds = p->head, *last = cmds;
		size_t n = 1, bytes = cmds->body_len;
		while (last->next && n < REMOTE_BATCH_MAX &&
		       bytes + last->next->body_len <= REMOTE_BATCH_BYTES) {
			last = last->next;
			bytes += last->body_len;
			n++;
		}
		p->head = last->next;
		if (!p->head)
			p->tail = &p->head;
		last->next = NULL;
		remote_request(rm, p->party, cmds, n, p);
	}
}

int remote_send(struct site *s, const char *party_id, const char *endpoint,
		const json_t *body, remote_done_cb cb, void *arg)
{
	struct remote *rm = s->remote;
	struct remote_cmd *c = ff_calloc(1, sizeof(*c));
	if (!c)
		return FF_ENOMEM;
	c->cb = cb;
	c->arg = arg;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
	c->body = jsonx_dumps(body);
	if (!c->body) {
		ff_free(c);
		return FF_ENOMEM;
	}
	c->body_len = strlen(c->body);
	rm->inflight++;
	struct remote_peer *p = remote_batchable(endpoint) ? remote_peer_get(rm, party_id) : NULL;
	if (!p) {
		remote_request(rm, party_id, c, 1, NULL);
		return FF_OK;
	}
	/* behind what is queued already: commands to a partner keep their order */
	*p->tail = c;
	p->tail = &c->next;
	remote_pump(rm, p);
	return FF_OK;
}

void remote_release(struct site *s)
{
	struct remote *rm = s->remote;
	if (!rm)
		return;
	ev_timer_stop(s->loop, &rm->timer);
	/* requests still in flight are dropped without answers: we are exiting */
	while (rm->reqs) {
		remote_cmds_drop(rm->reqs->cmds);
		remote_req_free(rm->reqs);
	}
	while (rm->peers) {
		struct remote_peer *p = rm->peers;
		rm->peers = p->next;
		remote_cmds_drop(p->head);
		ff_free(p);
	}
	if (rm->multi)
		curl_multi_cleanup(rm->multi);
	FF_FREE_AND_NULL(s->remote);
}
