// SPDX-License-Identifier: Apache-2.0
/*
 * gw_ring.c - ring pushes: a task on this host sends a large message to
 * another site by writing it into segment slots of a ring in shared memory
 * that the gateway made, instead of uploading it through a socket.
 *
 * DESIGN. A push over HTTP costs the machine the task's socket write, the
 * gateway's socket read and a copy into a stream slot before the
 * gateway hashes the segment and forwards it (about 0.4 of the 0.9 CPU-s
 * per GiB the sending daemon spends; docs/internals/gateway.md). In a
 * ring push the stream's slots are GW_RING_PUSH_SLOTS segments of a file
 * in GW_RING_DIR that both map: the task copies segment k into slot
 * k % slots once the gateway has said that slot is free, and steps: "k+1
 * segments are written". The step hashes the new segments where they lie
 * and hands them to the forwarder, which sends them from the slot as
 * usual (gw_stream_wait, gw_stream_sent); the step's answer says whether
 * the slot of the next segment is free and, after the last, whether the
 * message was delivered. The gateway verifies nothing the task claims
 * beyond the slot discipline: a segment sealed into a slot that still
 * holds an unsent one fails the push; a task that rewrites a slot after
 * sealing only corrupts its own message, which the partner's SHA-256
 * check then refuses.
 *
 * The key is reserved at the open, committed (forwarding) at the step
 * that seals the last segment and recorded as sent (or removed, so that
 * the task may send again) by the step that sees the forward's end. A
 * push that no step touched for scheduler.ring_push_idle is abandoned by the
 * timer thread (gw_ring_expire), and gateway_stop abandons every one.
 * Ring pushes live in the gateway's list under its lock; a step marks its
 * push busy, so steps of one push are serial and the timer leaves it.
 */
#include "ff_setup.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include "clock.h"
#include "gw_int.h"
#include "log.h"
#include "mem.h"

struct gw_ring_push {
	struct gw_ring_push *next;
	uint64_t id;
	struct gw_key key;
	struct gw_stream *s;              /* one reference */
	int64_t touched;                  /* monotonic ms of the last step's end */
	bool busy;                        /* a step is running */
	bool committed;                   /* the key is forwarding (last segment sealed) */
};

/* ---- the stream side ---- */

/* A stream whose slots are a ring that a task on this host writes. */
static struct gw_stream *gw_ring_stream(const char *prefix, uint64_t total,
					struct ff_error *err)
{
	uint64_t nseg = total / GW_SEG_SIZE + (total % GW_SEG_SIZE != 0);
	uint64_t nslots = nseg < GW_RING_PUSH_SLOTS ? nseg : GW_RING_PUSH_SLOTS;
	struct gw_body *ring = gw_body_new_ring(prefix, nslots * GW_SEG_SIZE, err);
	struct gw_stream *s = ring ? gw_stream_alloc(total, ring, err) : NULL;
	if (!s) {
		gw_body_free(ring);
		return NULL;
	}
	s->ring = true;
	s->nslots = (size_t)nslots;
	for (size_t i = 0; i < s->nslots; i++)
		s->slot[i] = ring->ring + i * GW_SEG_SIZE;
	return s;
}

/*
 * Segments [s->sealed, written) are in their slots: each is hashed where
 * it lies and handed to the forwarder. Fails when the task wrote one into
 * a slot whose segment was not sent yet.
 */
static int gw_ring_seal(struct gw_stream *s, uint64_t written, struct ff_error *err)
{
	for (uint64_t k = s->sealed; k < written; k++) {
		size_t i = (size_t)(k % s->nslots);
		uint64_t off = k * GW_SEG_SIZE;
		size_t len = (size_t)(s->total - off < GW_SEG_SIZE ? s->total - off : GW_SEG_SIZE);
		pthread_mutex_lock(&s->lock);
		int64_t held = s->slot_seg[i];
		pthread_mutex_unlock(&s->lock);
		if (held >= 0)
			return ff_error_set(err, FF_EPROTO, "segment %llu was written into slot %zu "
					    "while it still held segment %lld, not yet sent: wait "
					    "until a step says the slot is free",
					    (unsigned long long)k, i, (long long)held);
		unsigned char sha[32];
		sign_sha256(s->slot[i], len, sha);
		pthread_mutex_lock(&s->lock);
		memcpy(s->sha[k], sha, 32);
		s->loc[k] = (signed char)i;
		s->slot_seg[i] = (int64_t)k;
		s->avail = off + len;
		s->sealed = k + 1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	return FF_OK;
}

/* Waits up to ms for segment need's slot to be free or the forward to end. */
static void gw_ring_wait(struct gw_stream *s, uint64_t need, int64_t ms, bool *free_,
			 bool *done)
{
	struct timespec ts;
	gw_deadline(&ts, ms);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		*done = s->fwd_done;
		*free_ = !*done && need < s->nseg && s->slot_seg[need % s->nslots] < 0;
		if (*done || *free_ || s->stop ||
		    pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- the gateway's list ---- */

static struct gw_ring_push *gw_ring_take(struct gateway *gw, uint64_t id)
{
	for (struct gw_ring_push **pp = &gw->ring_pushes; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct gw_ring_push *p = *pp;
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

/* A push leaves: its key is released (or recorded as sent) and its stream goes. */
static void gw_ring_finish(struct gateway *gw, struct gw_ring_push *p, bool sent)
{
	if (!sent)
		gw_stream_abandon(p->s);
	if (p->committed)
		gw_store_forwarded(gw->store, &p->key, p->id, sent);
	else
		gw_store_cancel(gw->store, &p->key, p->id);
	gw_stream_unref(p->s);
	ff_free(p);
}

int gateway_ring_open(struct gateway *gw, const struct gw_key *k, uint64_t total,
		      const char *url, struct gw_ring_open *out, struct ff_error *err)
{
	struct gw_ring_push *p = ff_calloc(1, sizeof(*p));
	if (!p)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	p->id = gateway_next_id(gw);
	p->key = *k;
	int ret = gw_store_reserve(gw->store, k, p->id, err);
	if (ret) {
		ff_free(p);
		return ret;
	}
	p->s = gw_ring_stream(gw->ring_prefix, total, err);
	ret = p->s ? gateway_forward_stream(gw, k, p->id, p->s, url, err)
		   : (err->code ? err->code : FF_ENOMEM);
	if (ret) {
		gw_store_cancel(gw->store, k, p->id);
		gw_stream_unref(p->s);
		ff_free(p);
		return ret;
	}
	atomic_fetch_add((_Atomic uint64_t *)&gw->ring_pushes_opened, 1);
	out->id = p->id;
	out->slots = p->s->nslots;
	snprintf(out->path, sizeof(out->path), "%s", p->s->body->path);
	p->touched = clock_mono_ms();
	pthread_mutex_lock(&gw->lock);
	bool stopping = gw->stopping;
	if (!stopping) {
		p->next = gw->ring_pushes;
		gw->ring_pushes = p;
		pthread_cond_signal(&gw->timer_cond); /* a new idle deadline */
	}
	pthread_mutex_unlock(&gw->lock);
	if (stopping) {
		gw_ring_finish(gw, p, false);
		return ff_error_set(err, FF_ECANCELED, "the site's daemon is stopping");
	}
	return FF_OK;
}

static bool gw_ring_same_key(const struct gw_key *a, const struct gw_key *b)
{
	return !strcmp(a->session, b->session) && !strcmp(a->tag, b->tag) &&
	       !strcmp(a->src_role, b->src_role) && !strcmp(a->src_party, b->src_party) &&
	       !strcmp(a->dst_role, b->dst_role) && !strcmp(a->dst_party, b->dst_party);
}

/* The push id names, checked against the key, marked busy; NULL with err. */
static struct gw_ring_push *gw_ring_claim(struct gateway *gw, uint64_t id,
					  const struct gw_key *k, struct ff_error *err)
{
	pthread_mutex_lock(&gw->lock);
	struct gw_ring_push *p = gw->ring_pushes;
	while (p && p->id != id)
		p = p->next;
	bool ok = p && gw_ring_same_key(&p->key, k) && !p->busy;
	if (ok)
		p->busy = true;
	pthread_mutex_unlock(&gw->lock);
	if (!ok)
		ff_error_set(err, FF_EPARAM, p && p->busy ? "ring push %llu is in another step"
			     : "no ring push %llu for this message (ended, abandoned after %lld ms "
			     "without a step, or never opened)", (unsigned long long)id,
			     (long long)gw->ring_idle_ms);
	return ok ? p : NULL;
}

/* A step is over: the push stays (touched) or leaves the list. */
static void gw_ring_release(struct gateway *gw, struct gw_ring_push *p, bool leave)
{
	pthread_mutex_lock(&gw->lock);
	p->busy = false;
	p->touched = clock_mono_ms();
	if (leave)
		gw_ring_take(gw, p->id);
	pthread_mutex_unlock(&gw->lock);
}

int gateway_ring_step(struct gateway *gw, uint64_t id, const struct gw_key *k,
		      uint64_t written, uint64_t need, struct gw_ring_step *out,
		      struct ff_error *err)
{
	struct gw_ring_push *p = gw_ring_claim(gw, id, k, err);
	if (!p)
		return err->code;
	struct gw_stream *s = p->s;
	if (written > s->nseg || written < s->sealed) {
		/* a bad count changes nothing */
		ff_error_set(err, FF_EPARAM, "'written' must be %llu to %llu segments",
			     (unsigned long long)s->sealed, (unsigned long long)s->nseg);
		gw_ring_release(gw, p, false);
		return FF_EPARAM;
	}
	int ret = gw_ring_seal(s, written, err);
	void *none = NULL;
	struct gw_body *nobody = NULL;
	if (!ret && written == s->nseg && !p->committed) {
		ret = gw_store_commit(gw->store, k, id, &nobody, true, &none, err);
		p->committed = !ret;
	}
	if (!ret)
		gw_ring_wait(s, need, GW_RING_STEP_WAIT_MS, &out->free, &out->done);
	if (!ret && out->done) {
		pthread_mutex_lock(&s->lock);
		ret = s->fwd_ret;
		if (ret)
			*err = s->fwd_err;
		out->tries = s->fwd_tries;
		pthread_mutex_unlock(&s->lock);
		if (!ret && !p->committed)
			ret = ff_error_set(err, FF_EPROTO, "the message was delivered before its last "
					   "segment was written");
	}
	out->size = s->total;
	bool leave = ret || out->done;
	gw_ring_release(gw, p, leave);
	if (leave)
		gw_ring_finish(gw, p, !ret);
	return ret;
}

int64_t gw_ring_expire(struct gateway *gw, int64_t now, struct gw_ring_push **gone)
{
	int64_t next = INT64_MAX;
	for (struct gw_ring_push **pp = &gw->ring_pushes; *pp;) {
		struct gw_ring_push *p = *pp;
		int64_t due = p->touched + gw->ring_idle_ms;
		if (p->busy || due > now) {
			next = !p->busy && due < next ? due : next;
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->next = *gone;
		*gone = p;
	}
	return next;
}

void gw_ring_drop(struct gateway *gw, struct gw_ring_push *gone, const char *why)
{
	for (struct gw_ring_push *p = gone, *nx; p; p = nx) {
		nx = p->next;
		char what[400];
		ff_log(FF_LOG_WARN, "gateway: %s abandoned: %s",
		       gw_key_text(&p->key, what, sizeof(what)), why);
		gw_ring_finish(gw, p, false);
	}
}

struct gw_ring_push *gw_ring_take_all(struct gateway *gw)
{
	struct gw_ring_push *all = NULL;
	for (struct gw_ring_push **pp = &gw->ring_pushes; *pp;) {
		struct gw_ring_push *p = *pp;
		if (p->busy) {
			/* its step ends soon and finds the forward stopped */
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->next = all;
		all = p;
	}
	return all;
}
