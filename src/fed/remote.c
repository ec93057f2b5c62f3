// SPDX-License-Identifier: Apache-2.0
/*
 * remote.c - libcurl multi on the core loop, signing, retries.
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

struct remote {
	struct site *site;
	CURLM *multi;
	struct ev_timer timer;
	size_t inflight;
	struct remote_req *reqs;    /* every request in flight (for release) */
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
	char endpoint[96];
	char url[400];
	int attempt;
	struct ev_timer retry;
	remote_done_cb cb;
	void *arg;
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
	ff_free(q->body);
	ff_buf_release(&q->resp);
	ff_free(q);
}

static void remote_finish(struct remote_req *q, json_t *env)
{
	struct remote *rm = q->rm;
	ev_timer_stop(rm->site->loop, &q->retry);
	rm->inflight--;
	remote_done_cb cb = q->cb;
	void *arg = q->arg;
	remote_req_free(q);
	cb(arg, env);
}

static json_t *remote_unreachable(const struct remote_req *q, const char *why)
{
	char msg[600];
	snprintf(msg, sizeof(msg), "Federated schedule error: party %s did not answer %s after %d "
		 "attempts (%s)", q->party, q->endpoint, q->attempt, why);
	return json_pack("{s:i,s:s}", "code", 104, "message", msg);
}

static int remote_start(struct remote_req *q);

static void remote_retry_fire(struct ev_timer *t)
{
	struct remote_req *q = ff_container_of(t, struct remote_req, retry);
	if (remote_start(q))
		remote_finish(q, remote_unreachable(q, "cannot start the request"));
}

/* One attempt ended without a usable answer: back off and try again. */
static void remote_failed_attempt(struct remote_req *q, const char *why)
{
	struct site *s = q->rm->site;
	if (q->attempt >= s->cfg.command_tries) {
		ff_log(FF_LOG_WARN, "command %s to party %s failed: %s", q->endpoint, q->party, why);
		remote_finish(q, remote_unreachable(q, why));
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
	remote_finish(q, env);
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

int remote_send(struct site *s, const char *party_id, const char *endpoint,
		const json_t *body, remote_done_cb cb, void *arg)
{
	struct route rt;
	struct ff_error err = FF_ERROR_INIT;
	struct remote_req *q = ff_calloc(1, sizeof(*q));
	if (!q)
		return FF_ENOMEM;
	q->rm = s->remote;
	q->cb = cb;
	q->arg = arg;
	ff_buf_init(&q->resp, 64 << 20);
	ev_timer_init(&q->retry, remote_retry_fire);
	snprintf(q->party, sizeof(q->party), "%s", party_id);
	snprintf(q->endpoint, sizeof(q->endpoint), "%s", endpoint);
	q->rm->inflight++;
	q->next = q->rm->reqs;
	if (q->next)
		q->next->prev = q;
	q->rm->reqs = q;
	int ret = route_get(s->db, party_id, &rt, &err);
	if (ret) {
		char msg[400];
		snprintf(msg, sizeof(msg), "Federated schedule error: %s", ff_error_msg(&err, ret));
		remote_finish(q, json_pack("{s:i,s:s}", "code", 104, "message", msg));
		return FF_OK;
	}
	snprintf(q->url, sizeof(q->url), "%s/v2%s", rt.url, endpoint);
	q->body = jsonx_dumps(body);
	q->body_len = q->body ? strlen(q->body) : 0;
	if (!q->body || remote_start(q)) {
		remote_finish(q, remote_unreachable(q, "cannot start the request"));
		return FF_OK;
	}
	return FF_OK;
}

void remote_release(struct site *s)
{
	struct remote *rm = s->remote;
	if (!rm)
		return;
	ev_timer_stop(s->loop, &rm->timer);
	/* requests still in flight are dropped without answers: we are exiting */
	while (rm->reqs)
		remote_req_free(rm->reqs);
	if (rm->multi)
		curl_multi_cleanup(rm->multi);
	FF_FREE_AND_NULL(s->remote);
}
