// SPDX-License-Identifier: Apache-2.0
/*
 * gateway.c - the site's gateway object, the receivers waiting for
 * messages, the hand-off of forwarded messages, and task-end drops.
 *
 * DESIGN. Message bytes never pass through the core thread: uploads are
 * written by libmicrohttpd's worker threads (api_gateway.c), bodies are
 * served from memory or sendfile'd from their spill file by the same
 * threads, and forwards run on gw_forward's threads. The core thread only
 * matches: a receive (long poll) must be answered later, and the HTTP
 * server parks ("suspends") only core-thread routes, so receives and the
 * answers to forwarded sends are decided here. A parked receiver is a
 * struct gw_waiter, registered in the store under its key and owned by
 * its request; whoever completes the message (an upload on any thread)
 * takes it out of the store under the store's lock and posts it to the
 * core thread, which answers it. A waiter is therefore answered exactly
 * once: by the hand-off, its timer, a newer receive of the same key, or
 * a drop - each first removes it from the store, or finds it gone.
 */
#include "ff_setup.h"
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include "api/api.h"
#include "clock.h"
#include "fs.h"
#include "gw_int.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "site.h"

#define GW_FWD_THREADS 4

static pthread_mutex_t gw_init_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gateway *_Atomic gw_the;

struct gw_waiter {
	struct gateway *gw;
	struct http_req *r;
	struct gw_key key;
	struct ev_timer timer;
	struct ev_msg msg;
	struct gw_body *body;     /* handed over, answered on the core thread */
	bool answered;
};

static void gw_destroy(struct gateway *gw)
{
	if (!gw)
		return;
	gw_forward_stop(gw->fwd);
	gw_store_free(gw->store);
	ff_free(gw->dir);
	ff_free(gw);
}

static int gw_create(struct site *s, struct gateway **out, struct ff_error *err)
{
	struct gateway *gw = ff_calloc(1, sizeof(*gw));
	int ret = gw ? FF_OK : FF_ENOMEM;
	if (!ret && !(gw->dir = ff_asprintf("%s/gateway", s->cfg.home)))
		ret = FF_ENOMEM;
	if (ret) {
		gw_destroy(gw);
		return ff_error_set(err, ret, "out of memory");
	}
	gw->site = s;
	/* spill files of an earlier run belong to tasks that are gone */
	fs_rm_rf(gw->dir);
	ret = fs_mkdirs(gw->dir, 0700, err);
	if (!ret && gw_store_new(&gw->store))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		ret = gw_forward_start(&gw->fwd, s->key, s->cfg.party_id, GW_FWD_THREADS,
				       (int)s->cfg.command_tries, (long)s->cfg.command_timeout_ms, err);
	if (ret) {
		gw_destroy(gw);
		return ret;
	}
	*out = gw;
	return FF_OK;
}

struct gateway *gateway_get(struct site *s, struct ff_error *err)
{
	struct gateway *gw = atomic_load(&gw_the);
	if (gw)
		return gw;
	pthread_mutex_lock(&gw_init_lock);
	gw = atomic_load(&gw_the);
	if (!gw && !gw_create(s, &gw, err))
		atomic_store(&gw_the, gw);
	pthread_mutex_unlock(&gw_init_lock);
	return gw;
}

int gateway_init(struct site *s, struct ff_error *err)
{
	return gateway_get(s, err) ? FF_OK : (err && err->code ? err->code : FF_ENOMEM);
}

void gateway_release(struct site *s)
{
	pthread_mutex_lock(&gw_init_lock);
	struct gateway *gw = atomic_exchange(&gw_the, NULL);
	pthread_mutex_unlock(&gw_init_lock);
	gw_destroy(gw);
}

uint64_t gateway_next_id(struct gateway *gw)
{
	return atomic_fetch_add((_Atomic uint64_t *)&gw->next_id, 1) + 1;
}

/* ---- receivers ---- */

static void gw_waiter_free(void *p)
{
	struct gw_waiter *w = p;
	if (!w->answered) {
		/* only when the server drops a parked request (daemon stop) */
		gw_store_unwait(w->gw->store, &w->key, w);
		if (ev_timer_active(&w->timer))
			ev_timer_stop(w->gw->site->loop, &w->timer);
	}
	gw_body_free(w->body);
	ff_free(w);
}

/* Answers with the message itself (core thread; takes body). */
static void gw_answer_body(struct gw_waiter *w, struct gw_body *body)
{
	struct http_req *r = w->r;
	w->answered = true;
	if (ev_timer_active(&w->timer))
		ev_timer_stop(w->gw->site->loop, &w->timer);
	if (body->fd >= 0) {
		int fd = gw_body_dup_fd(body);
		if (fd < 0) {
			char what[400], msg[600];
			snprintf(msg, sizeof(msg), "cannot reopen the spill file of %s: %s",
				 gw_key_text(&w->key, what, sizeof(what)), strerror(errno));
			api_fail(r, FF_EIO, msg);
			gw_body_free(body);
			return;
		}
		http_req_send_fd(r, fd, body->size, "application/octet-stream", NULL);
	} else {
		/* hand the memory over instead of copying it */
		struct ff_buf *out = http_req_out(r);
		struct ff_buf tmp = *out;
		*out = body->mem;
		body->mem = tmp;
		http_req_set_ctype(r, "application/octet-stream");
	}
	gw_body_free(body);
	http_req_finish(r);
}

static void gw_answer_not_yet(struct gw_waiter *w)
{
	w->answered = true;
	if (ev_timer_active(&w->timer))
		ev_timer_stop(w->gw->site->loop, &w->timer);
	json_t *data = json_pack("{s:b}", "ready", 0);
	api_ok_json(w->r, data, NULL);
	json_decref(data);
}

static void gw_answer_error(struct gw_waiter *w, int ret, const char *msg)
{
	w->answered = true;
	if (ev_timer_active(&w->timer))
		ev_timer_stop(w->gw->site->loop, &w->timer);
	api_fail(w->r, ret, msg);
}

static void gw_waiter_timeout(struct ev_timer *t)
{
	struct gw_waiter *w = ff_container_of(t, struct gw_waiter, timer);
	/* gone from the store: a hand-off is already posted to us */
	if (gw_store_unwait(w->gw->store, &w->key, w))
		gw_answer_not_yet(w);
}

static void gw_waiter_wake(struct ev_msg *m)
{
	struct gw_waiter *w = ff_container_of(m, struct gw_waiter, msg);
	struct gw_body *b = w->body;
	w->body = NULL;
	gw_answer_body(w, b);
}

void gateway_hand_over(struct gateway *gw, void *waiter, struct gw_body *body)
{
	struct gw_waiter *w = waiter;
	w->body = body;
	ev_post(gw->site->loop, &w->msg, gw_waiter_wake);
}

void gateway_pull(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		  int64_t wait_ms)
{
	struct ff_error err = FF_ERROR_INIT;
	struct gw_waiter *w = ff_calloc(1, sizeof(*w));
	if (!w) {
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	w->gw = gw;
	w->r = r;
	w->key = *k;
	ev_timer_init(&w->timer, gw_waiter_timeout);
	http_req_set_user(r, w, gw_waiter_free);
	struct gw_body *body = NULL;
	void *replaced = NULL;
	int ret = gw_store_take(gw->store, k, w, &body, &replaced, &err);
	if (replaced)
		gw_answer_not_yet(replaced);
	if (ret == FF_EAGAIN) {
		ev_timer_start(gw->site->loop, &w->timer, wait_ms);
		return;
	}
	if (ret) {
		w->answered = true;
		api_fail_err(r, ret, &err);
		return;
	}
	gw_answer_body(w, body);
}

/* ---- answers to forwarded sends ---- */

static void gw_fwd_finish(struct ev_msg *m)
{
	struct gw_fwd_job *j = ff_container_of(m, struct gw_fwd_job, msg);
	struct gateway *gw = atomic_load(&gw_the);
	struct http_req *r = j->arg;
	if (gw)
		gw_store_forwarded(gw->store, &j->key, j->id, j->ret == FF_OK);
	if (j->ret) {
		ff_log(FF_LOG_WARN, "gateway: %s", j->err.msg);
		api_fail_err(r, j->ret, &j->err);
	} else {
		json_t *data = json_pack("{s:I,s:i}", "size", (json_int_t)j->body->size, "tries",
					 j->tries);
		api_ok_json(r, data, NULL);
		json_decref(data);
	}
	gw_body_free(j->body);
	ff_free(j);
}

/* On a forwarder thread: back to the core thread for the answer. */
static void gw_fwd_done(struct gw_fwd_job *j)
{
	struct gateway *gw = atomic_load(&gw_the);
	if (!gw) {
		/* stopping: the request is dropped with the server */
		gw_body_free(j->body);
		ff_free(j);
		return;
	}
	ev_post(gw->site->loop, &j->msg, gw_fwd_finish);
}

void gateway_forward(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		     uint64_t id, struct gw_body *body, const unsigned char sha[32],
		     const char *url)
{
	struct gw_fwd_job *j = ff_calloc(1, sizeof(*j));
	if (!j) {
		gw_store_forwarded(gw->store, k, id, false);
		gw_body_free(body);
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	j->key = *k;
	j->id = id;
	clock_uuid_hex(j->msg_id);
	j->body = body;
	memcpy(j->sha, sha, 32);
	snprintf(j->url, sizeof(j->url), "%s", url);
	j->done = gw_fwd_done;
	j->arg = r;
	gw_forward_submit(gw->fwd, j);
}

/* ---- task end ---- */

void gateway_drop(struct site *s, const char *session, const char *role, const char *party_id)
{
	struct gateway *gw = atomic_load(&gw_the);
	if (!gw || !session || !role || !party_id)
		return;
	void **ws = NULL;
	size_t n = 0;
	if (gw_store_drop(gw->store, session, role, party_id, &ws, &n))
		ff_log(FF_LOG_WARN, "gateway: out of memory dropping session %s", session);
	for (size_t i = 0; i < n; i++) {
		struct gw_waiter *w = ws[i];
		char what[400], msg[600];
		snprintf(msg, sizeof(msg), "%s dropped: the task of %s %s in session '%s' has ended",
			 gw_key_text(&w->key, what, sizeof(what)), role, party_id, session);
		gw_answer_error(w, FF_ECANCELED, msg);
	}
	ff_free(ws);
}

/* ---- stats ---- */

int gateway_stats(struct site *s, struct gateway_stats *out, struct ff_error *err)
{
	struct gateway *gw = gateway_get(s, err);
	if (!gw)
		return err && err->code ? err->code : FF_ENOMEM;
	gw_store_stats(gw->store, out);
	/* spill files on disk, including uploads and forwards in progress */
	DIR *d = opendir(gw->dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct stat sb;
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &sb, 0))
			continue;
		out->spill_files++;
		out->spill_bytes += (uint64_t)sb.st_size;
	}
	if (d)
		closedir(d);
	return FF_OK;
}
