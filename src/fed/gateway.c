// SPDX-License-Identifier: Apache-2.0
/*
 * gateway.c - the site's gateway object, the receivers waiting for
 * messages, the answers to forwarded sends, task-end drops and shutdown.
 *
 * DESIGN. Message bytes never pass through the core thread: uploads are
 * written by libmicrohttpd's worker threads (api_gateway.c), bodies are
 * served from memory or sendfile'd from their spill file by the same
 * threads, and forwards run on gw_forward's threads. The HTTP server parks
 * ("suspends") only core-thread routes, so a receive (long poll) and a
 * send that waits for its forward enter through the core thread; they are
 * answered later by whichever thread completes them, with
 * http_req_finish, which only resumes the connection and is safe from any
 * thread (nothing here posts back to the core loop, so nothing is lost
 * when the loop stops).
 *
 * A message to another site larger than GW_SEG_SIZE is forwarded while
 * its task still uploads it (gw_stream, forwarded in segments): the job is
 * submitted from the upload's first chunk on a worker thread, so
 * submissions take the gateway's lock to meet gateway_stop safely. The
 * push handler (core thread, upload complete) and the end of the forward
 * meet in the stream's rendezvous fields; the later of the two answers
 * the task.
 *
 * A parked receive is a struct gw_waiter, owned by its request. It sits
 * in the store entry of its key and in the gateway's list of waiters
 * (deadlines, shutdown). Whoever takes it out of the store entry - an
 * upload completing the message, the timer thread at its deadline, a
 * newer receive of the same key, a drop, gateway_stop - owns it and
 * answers it, once, after removing it from the list. Lock order: the
 * gateway's lock may be held while the store's is taken, never the
 * reverse.
 */
#include "ff_setup.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include "api/api.h"
#include "clock.h"
#include "fs.h"
#include "gw_int.h"
#include "http.h"
#include "log.h"
#include "mem.h"
#include "site.h"

#define GW_FWD_THREADS 4
/*
 * How long the gateway holds a descriptor of a file it handed to a
 * receiver. The receiver deletes the file and reads it; the last close
 * of a deleted file frees its page cache (about 65 ms per GiB), and with
 * the gateway's descriptor still open that cost falls on the timer
 * thread instead of the receiving task. A receiver slower than this
 * just pays it itself.
 */
#define GW_LINGER_MS 2000

static pthread_mutex_t gw_init_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gateway *_Atomic gw_the;

struct gw_waiter {
	struct gw_waiter *prev, *next;    /* the gateway's list, under its lock */
	bool in_list;
	int64_t deadline;                 /* monotonic ms */
	struct gateway *gw;
	struct http_req *r;
	struct gw_key key;
	bool as_file;                     /* the receiver reads spill files itself */
	struct gw_follow follow;          /* ... and follows partial ones (want) */
	bool answered;
};

/* A held descriptor of a handed-over file, closed by the timer thread. */
struct gw_linger {
	struct gw_linger *next;
	int fd;
	int64_t until;                    /* monotonic ms */
};

/* ---- the waiter list (callers hold gw->lock) ---- */

static void gw_list_add(struct gateway *gw, struct gw_waiter *w)
{
	w->prev = NULL;
	w->next = gw->waiters;
	if (gw->waiters)
		gw->waiters->prev = w;
	gw->waiters = w;
	w->in_list = true;
}

static void gw_list_remove(struct gateway *gw, struct gw_waiter *w)
{
	if (!w->in_list)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		gw->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->in_list = false;
}

/* ---- answers (by the waiter's owner, any thread) ---- */

/* Holds a descriptor of a file handed over until GW_LINGER_MS from now. */
static void gw_linger(struct gateway *gw, int fd)
{
	struct gw_linger *l = fd >= 0 ? ff_malloc(sizeof(*l)) : NULL;
	if (!l) {
		if (fd >= 0)
			close(fd);
		return;
	}
	l->fd = fd;
	l->until = clock_mono_ms() + GW_LINGER_MS;
	pthread_mutex_lock(&gw->lock);
	l->next = gw->lingers;
	gw->lingers = l;
	pthread_cond_signal(&gw->timer_cond);
	pthread_mutex_unlock(&gw->lock);
}

static void gw_linger_close(struct gw_linger *l)
{
	for (struct gw_linger *nx; l; l = nx) {
		nx = l->next;
		close(l->fd);
		ff_free(l);
	}
}

/*
 * A receiver on this host that reads the spill file itself: the answer
 * names the file instead of carrying its bytes, which saves this daemon
 * the sendfile and the receiver the socket reads (one copy out of the
 * page cache instead of three copies and a TCP hop), and the file is
 * read while the daemon goes on. The receiver deletes the file once it
 * has opened it; the taken record keeps what is left of the body, so that
 * the task's end deletes the file if the receiver did not.
 */
static void gw_answer_file(struct gw_waiter *w, struct gw_body *body, uint64_t follow)
{
	struct http_req *r = w->r;
	uint64_t size = body->size, ring = body->ring_size;
	gw_linger(w->gw, fcntl(body->fd, F_DUPFD_CLOEXEC, 0));
	char *path = ff_strdup(gw_body_hand_off(body));
	int ret = path ? gw_store_keep(w->gw->store, &w->key, &body) : FF_ENOMEM;
	w->answered = true;
	if (ret) {
		char what[400], msg[600];
		snprintf(msg, sizeof(msg), "%s dropped: its task ended",
			 gw_key_text(&w->key, what, sizeof(what)));
		gw_body_free(body);
		api_fail(r, ret, ret == FF_ENOMEM ? NULL : msg);
	} else {
		json_t *data = json_pack("{s:b,s:s,s:I}", "ready", 1, "file", path, "size",
					 (json_int_t)size);
		/* the end of a followed message: the rest of the file it reads */
		if (data && follow)
			json_object_set_new(data, "follow", json_integer((json_int_t)follow));
		if (data && ring)
			json_object_set_new(data, "ring", json_integer((json_int_t)ring));
		api_ok_json(r, data, NULL);
		json_decref(data);
	}
	ff_free(path);
}

static void gw_answer_body(struct gw_waiter *w, struct gw_body *body, uint64_t follow)
{
	struct http_req *r = w->r;
	/* a ring that went round holds only its follower's last bytes (never
	 * handed to anyone else: gw_store_take_follow) */
	if (body->ring && body->size > body->ring_size && !follow) {
		char what[400], msg[600];
		snprintf(msg, sizeof(msg), "%s is only in its follower's ring",
			 gw_key_text(&w->key, what, sizeof(what)));
		gw_body_free(body);
		w->answered = true;
		api_fail(r, FF_EIO, msg);
		return;
	}
	if (body->fd >= 0 && w->as_file) {
		gw_answer_file(w, body, follow);
		return;
	}
	w->answered = true;
	if (body->fd >= 0) {
		int fd = gw_body_dup_fd(body);
		if (fd < 0) {
			char what[400], msg[600];
			snprintf(msg, sizeof(msg), "cannot reopen the spill file of %s: %s",
				 gw_key_text(&w->key, what, sizeof(what)), strerror(errno));
			gw_body_free(body);
			api_fail(r, FF_EIO, msg);
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

/*
 * A follower's news: the partial message's file, its size and how many of
 * its bytes are verified. The follower reads up to there, frees what it
 * read from the file and asks again with its token (fl->path is freed).
 */
static void gw_answer_partial(struct gw_waiter *w, struct gw_follow *fl)
{
	w->answered = true;
	json_t *data = json_pack("{s:b,s:b,s:s,s:I,s:I,s:I}", "ready", 1, "partial", 1, "file",
				 fl->path, "size", (json_int_t)fl->total, "have",
				 (json_int_t)fl->have, "follow", (json_int_t)fl->id);
	FF_FREE_AND_NULL(fl->path);
	/* the file is a ring: byte x of the message is at x % ring */
	if (data && fl->ring)
		json_object_set_new(data, "ring", json_integer((json_int_t)fl->ring));
	if (!data) {
		api_fail(w->r, FF_ENOMEM, NULL);
		return;
	}
	api_ok_json(w->r, data, NULL);
	json_decref(data);
}

static void gw_answer_not_yet(struct gw_waiter *w)
{
	w->answered = true;
	json_t *data = json_pack("{s:b}", "ready", 0);
	api_ok_json(w->r, data, NULL);
	json_decref(data);
}

static void gw_answer_error(struct gw_waiter *w, int ret, const char *msg)
{
	w->answered = true;
	api_fail(w->r, ret, msg);
}

/* ---- deadlines ---- */

static void *gw_timer_main(void *arg)
{
	struct gateway *gw = arg;
	pthread_mutex_lock(&gw->lock);
	while (!gw->timer_quit) {
		int64_t now = clock_mono_ms(), next = INT64_MAX;
		struct gw_waiter *due = NULL;
		for (struct gw_waiter *w = gw->waiters, *nx; w; w = nx) {
			nx = w->next;
			if (w->deadline > now) {
				next = w->deadline < next ? w->deadline : next;
				continue;
			}
			gw_list_remove(gw, w);
			/* taken meanwhile: its new owner answers it */
			if (gw_store_unwait(gw->store, &w->key, w)) {
				w->next = due;
				due = w;
			}
		}
		struct gw_ring_push *idle = NULL;
		int64_t ring_next = gw_ring_expire(gw, now, &idle);
		next = ring_next < next ? ring_next : next;
		struct gw_linger *expired = NULL;
		for (struct gw_linger **pp = &gw->lingers; *pp;) {
			struct gw_linger *l = *pp;
			if (l->until > now) {
				next = l->until < next ? l->until : next;
				pp = &l->next;
				continue;
			}
			*pp = l->next;
			l->next = expired;
			expired = l;
		}
		if (due || expired || idle) {
			pthread_mutex_unlock(&gw->lock);
			char why[64];
			snprintf(why, sizeof(why), "its task made no step for %lld ms",
				 (long long)gw->ring_idle_ms);
			gw_ring_drop(gw, idle, why);
			for (struct gw_waiter *w = due, *nx; w; w = nx) {
				nx = w->next;
				w->next = NULL;
				gw_answer_not_yet(w);
			}
			gw_linger_close(expired);
			pthread_mutex_lock(&gw->lock);
			continue;
		}
		if (next == INT64_MAX) {
			pthread_cond_wait(&gw->timer_cond, &gw->lock);
		} else {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000),
					       .tv_nsec = (long)(next % 1000) * 1000000L };
			pthread_cond_timedwait(&gw->timer_cond, &gw->lock, &ts);
		}
	}
	pthread_mutex_unlock(&gw->lock);
	return NULL;
}

/*
 * Deletes the rings (GW_RING_DIR/ffgw-<pid>-<hash of the folder>-<uuid>)
 * of this gateway's folder and, when sweep, those of every daemon that is
 * gone: a daemon killed before its receivers took their messages leaves
 * them behind, and they are memory.
 */
static void gw_ring_clean(struct gateway *gw, bool sweep)
{
	if (!gw->ring_prefix)
		return;
	const char *mine = strchr(gw->ring_prefix + strlen(GW_RING_DIR "/ffgw-"), '-');
	DIR *d = opendir(GW_RING_DIR);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end;
		if (strncmp(de->d_name, "ffgw-", 5))
			continue;
		long pid = strtol(de->d_name + 5, &end, 10);
		bool same = *end == '-' && !strncmp(end, mine, strlen(mine));
		bool gone = *end == '-' && pid > 0 && pid <= INT_MAX && kill((pid_t)pid, 0) &&
			    errno == ESRCH;
		if (same || (sweep && gone))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
}

/* Rings need GW_RING_DIR on a memory file system; without it, none. */
static void gw_ring_setup(struct gateway *gw)
{
	struct statfs sf;
	if (access(GW_RING_DIR, W_OK | X_OK) || statfs(GW_RING_DIR, &sf) ||
	    sf.f_type != TMPFS_MAGIC) {
		ff_log(FF_LOG_INFO, "gateway: no writable tmpfs at %s: partners' messages are "
		       "received into spill files only", GW_RING_DIR);
		return;
	}
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the folder: one name per site */
	for (const char *p = gw->dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	gw->ring_prefix = ff_asprintf("%s/ffgw-%ld-%016llx-", GW_RING_DIR, (long)getpid(),
				      (unsigned long long)h);
	gw_ring_clean(gw, true);
}

/* ---- life ---- */

static void gw_destroy(struct gateway *gw)
{
	if (!gw)
		return;
	gw_forward_stop(gw->fwd);
	if (gw->timer_started) {
		pthread_mutex_lock(&gw->lock);
		gw->timer_quit = true;
		pthread_cond_signal(&gw->timer_cond);
		pthread_mutex_unlock(&gw->lock);
		pthread_join(gw->timer, NULL);
	}
	gw_ring_drop(gw, gw_ring_take_all(gw), "the site's daemon stopped");
	gw_linger_close(gw->lingers);
	gw_store_free(gw->store);
	pthread_cond_destroy(&gw->timer_cond);
	pthread_mutex_destroy(&gw->lock);
	gw_ring_clean(gw, false);
	ff_free(gw->ring_prefix);
	ff_free(gw->dir);
	ff_free(gw);
}

static int gw_create(struct site *s, struct gateway **out, struct ff_error *err)
{
	struct gateway *gw = ff_calloc(1, sizeof(*gw));
	if (!gw)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	pthread_mutex_init(&gw->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&gw->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	gw->site = s;
	gw->ring_idle_ms = s->cfg.ring_push_idle_ms;
	int ret = (gw->dir = ff_asprintf("%s/gateway", s->cfg.home)) ? FF_OK
		: ff_error_set(err, FF_ENOMEM, "out of memory");
	/* spill files of an earlier run belong to tasks that are gone */
	if (!ret) {
		fs_rm_rf(gw->dir);
		ret = fs_mkdirs(gw->dir, 0700, err);
	}
	if (!ret)
		gw_ring_setup(gw);
	if (!ret && gw_store_new(&gw->store))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		ret = gw_forward_start(&gw->fwd, s->key, s->cfg.party_id, GW_FWD_THREADS,
				       (int)s->cfg.command_tries, (long)s->cfg.command_timeout_ms, err);
	if (!ret) {
		int rc = pthread_create(&gw->timer, NULL, gw_timer_main, gw);
		if (rc)
			ret = ff_error_set(err, ff_from_errno(rc), "cannot start the gateway timer: %s",
					   strerror(rc));
		gw->timer_started = !rc;
	}
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

void gateway_stop(struct site *s)
{
	struct gateway *gw = atomic_load(&gw_the);
	if (!gw)
		return;
	struct gw_waiter *mine = NULL;
	pthread_mutex_lock(&gw->lock);
	gw->stopping = true;
	struct gw_ring_push *rings = gw_ring_take_all(gw);
	while (gw->waiters) {
		struct gw_waiter *w = gw->waiters;
		gw_list_remove(gw, w);
		if (gw_store_unwait(gw->store, &w->key, w)) {
			w->next = mine;
			mine = w;
		}
	}
	pthread_mutex_unlock(&gw->lock);
	for (struct gw_waiter *w = mine, *nx; w; w = nx) {
		nx = w->next;
		w->next = NULL;
		gw_answer_error(w, FF_ECANCELED, "the site's daemon is stopping");
	}
	gw_ring_drop(gw, rings, "the site's daemon is stopping");
	/* transfers in flight fail and their senders are answered */
	pthread_mutex_lock(&gw->lock);
	struct gw_forward *fwd = gw->fwd;
	gw->fwd = NULL;
	pthread_mutex_unlock(&gw->lock);
	gw_forward_stop(fwd);
}

void gateway_release(struct site *s)
{
	gateway_stop(s);
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
		/* a request dropped unanswered (server stop): forget it */
		pthread_mutex_lock(&w->gw->lock);
		gw_list_remove(w->gw, w);
		gw_store_unwait(w->gw->store, &w->key, w);
		pthread_mutex_unlock(&w->gw->lock);
	}
	ff_free(w);
}

void gateway_hand_over(struct gateway *gw, void *waiter, struct gw_body *body)
{
	struct gw_follow none = { 0 };
	gateway_hand_follow(gw, waiter, body, &none);
}

void gateway_hand_follow(struct gateway *gw, void *waiter, struct gw_body *body,
			 struct gw_follow *fl)
{
	struct gw_waiter *w = waiter;
	pthread_mutex_lock(&gw->lock);
	gw_list_remove(gw, w);
	pthread_mutex_unlock(&gw->lock);
	if (fl->partial)
		gw_answer_partial(w, fl);
	else
		gw_answer_body(w, body, fl->id);
}

void gateway_pull(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		  int64_t wait_ms, bool as_file, const struct gw_follow *follow)
{
	struct ff_error err = FF_ERROR_INIT;
	struct gw_waiter *w = ff_calloc(1, sizeof(*w));
	struct gw_body *body = NULL;
	struct gw_waiter *replaced = NULL;
	void *rep = NULL;
	if (!w) {
		api_fail(r, FF_ENOMEM, NULL);
		return;
	}
	w->gw = gw;
	w->r = r;
	w->key = *k;
	w->as_file = as_file;
	if (as_file && follow && follow->want)
		w->follow = *follow;
	struct gw_follow fl = w->follow;
	http_req_set_user(r, w, gw_waiter_free);
	int ret;
	pthread_mutex_lock(&gw->lock);
	if (gw->stopping) {
		ret = ff_error_set(&err, FF_ECANCELED, "the site's daemon is stopping");
	} else {
		ret = gw_store_take_follow(gw->store, k, w, w->follow.want ? &fl : NULL, &body, &rep,
					   &err);
		replaced = rep;
		if (replaced)
			gw_list_remove(gw, replaced);
		if (ret == FF_EAGAIN) {
			w->deadline = clock_mono_ms() + wait_ms;
			gw_list_add(gw, w);
			pthread_cond_signal(&gw->timer_cond);
		}
	}
	pthread_mutex_unlock(&gw->lock);
	/* a newer receive of the same key: the older one asks again */
	if (replaced)
		gw_answer_not_yet(replaced);
	/* parked: from here on another thread may answer r at any time */
	if (ret == FF_EAGAIN)
		return;
	if (ret) {
		w->answered = true;
		api_fail_err(r, ret, &err);
		return;
	}
	if (fl.partial)
		gw_answer_partial(w, &fl);
	else
		gw_answer_body(w, body, fl.id);
}

/* ---- answers to forwarded sends (on a forwarder thread) ---- */

static void gw_fwd_done(struct gw_fwd_job *j)
{
	struct gateway *gw = j->arg2;
	struct http_req *r = j->arg;
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

/* Queues j unless the gateway stops (any thread); false when it does. */
static bool gw_submit(struct gateway *gw, struct gw_fwd_job *j)
{
	pthread_mutex_lock(&gw->lock);
	bool ok = !gw->stopping && gw->fwd;
	if (ok)
		gw_forward_submit(gw->fwd, j);
	pthread_mutex_unlock(&gw->lock);
	return ok;
}

void gateway_forward(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		     uint64_t id, struct gw_body *body, const unsigned char sha[32],
		     const char *url)
{
	struct gw_fwd_job *j = ff_calloc(1, sizeof(*j));
	if (j) {
		j->key = *k;
		j->id = id;
		clock_uuid_hex(j->msg_id);
		j->body = body;
		memcpy(j->sha, sha, 32);
		snprintf(j->url, sizeof(j->url), "%s", url);
		j->done = gw_fwd_done;
		j->arg = r;
		j->arg2 = gw;
	}
	if (!j || !gw_submit(gw, j)) {
		gw_store_forwarded(gw->store, k, id, false);
		gw_body_free(body);
		api_fail(r, j ? FF_ECANCELED : FF_ENOMEM, j ? "the site's daemon is stopping" : NULL);
		ff_free(j);
	}
}

/* ---- streamed forwards ---- */

/* Both sides met: records the outcome and answers the task (any thread). */
static void gw_stream_answer(struct gateway *gw, struct http_req *r, const struct gw_key *k,
			     uint64_t id, struct gw_stream *s)
{
	gw_store_forwarded(gw->store, k, id, s->fwd_ret == FF_OK);
	if (s->fwd_ret) {
		ff_log(FF_LOG_WARN, "gateway: %s", s->fwd_err.msg);
		api_fail_err(r, s->fwd_ret, &s->fwd_err);
		return;
	}
	json_t *data = json_pack("{s:I,s:i}", "size", (json_int_t)s->total, "tries", s->fwd_tries);
	api_ok_json(r, data, NULL);
	json_decref(data);
}

/* The forward of a stream ended (forwarder thread); it owns j. */
static void gw_fwd_stream_done(struct gw_fwd_job *j)
{
	struct gateway *gw = j->arg2;
	struct gw_stream *s = j->stream;
	/* the memory goes back before the task hears of it */
	if (!j->ret)
		gw_stream_release(s);
	pthread_mutex_lock(&s->lock);
	s->fwd_done = true;
	s->fwd_ret = j->ret;
	s->fwd_err = j->err;
	s->fwd_tries = j->tries;
	if (j->ret)
		s->stop = true; /* the rest of the upload is dropped */
	pthread_cond_broadcast(&s->cond);
	struct http_req *r = s->handler_in ? s->answer_to : NULL;
	s->answer_to = NULL;
	pthread_mutex_unlock(&s->lock);
	if (r)
		gw_stream_answer(gw, r, &j->key, j->id, s);
	gw_stream_unref(s);
	ff_free(j);
}

int gateway_forward_stream(struct gateway *gw, const struct gw_key *k, uint64_t id,
			   struct gw_stream *s, const char *url, struct ff_error *err)
{
	struct gw_fwd_job *j = ff_calloc(1, sizeof(*j));
	if (!j)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	j->key = *k;
	j->id = id;
	clock_uuid_hex(j->msg_id);
	j->stream = s;
	snprintf(j->url, sizeof(j->url), "%s", url);
	j->done = gw_fwd_stream_done;
	j->arg2 = gw;
	gw_stream_ref(s);
	if (!gw_submit(gw, j)) {
		gw_stream_unref(s);
		ff_free(j);
		return ff_error_set(err, FF_ECANCELED, "the site's daemon is stopping");
	}
	return FF_OK;
}

void gateway_stream_done(struct gateway *gw, struct http_req *r, const struct gw_key *k,
			 uint64_t id, struct gw_stream *s, bool committed)
{
	pthread_mutex_lock(&s->lock);
	s->handler_in = true;
	bool done = s->fwd_done;
	if (!committed) {
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
	} else if (!done) {
		s->answer_to = r;
	}
	pthread_mutex_unlock(&s->lock);
	/* the outcome fields are written once, before fwd_done */
	if (committed && done)
		gw_stream_answer(gw, r, k, id, s);
}

/* ---- task end ---- */

void gateway_drop(struct site *s, const char *session, const char *role, const char *party_id)
{
	struct gateway *gw = atomic_load(&gw_the);
	if (!gw || !session || !role || !party_id)
		return;
	void **ws = NULL;
	size_t n = 0;
	pthread_mutex_lock(&gw->lock);
	int ret = gw_store_drop(gw->store, session, role, party_id, &ws, &n);
	for (size_t i = 0; i < n; i++)
		gw_list_remove(gw, ws[i]);
	pthread_mutex_unlock(&gw->lock);
	if (ret)
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
	out->ring_pushes = atomic_load((_Atomic uint64_t *)&gw->ring_pushes_opened);
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
