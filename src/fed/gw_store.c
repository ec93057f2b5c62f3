// SPDX-License-Identifier: Apache-2.0
/*
 * gw_store.c - the gateway's message index and message bodies.
 *
 * DESIGN. One entry per message key in a chained hash table under one
 * mutex. The lock is held only for index updates, never for I/O: bodies
 * are written by their upload without it, and the bodies an operation
 * removes are freed (close, unlink) after it is released. An entry moves
 *   WAIT -> RECV -> READY -> TAKEN          (destination here)
 *   RECV -> FWD -> SENT                     (destination at another site)
 * WAIT is a receiver parked before the sender started; RECV an upload in
 * progress, owned by its id; TAKEN and SENT stay as small records so that
 * the same key is refused later (exactly once), until gateway_drop removes
 * them with the task. A dropped (session, destination) becomes a TOMB
 * entry for an hour so that late messages for a finished task are refused
 * instead of stored forever.
 *
 * Keys are packed as their six fields separated by NUL bytes, so entries
 * cost a couple of hundred bytes and drop can read the fields in place.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clock.h"
#include "gw_int.h"
#include "mem.h"

#define GW_TOMB_MS (3600 * 1000)
#define GW_KEY_PACKED_MAX (GW_SESSION_MAX + 5 * GW_NAME_MAX + 6)

/* ---- keys ---- */

bool gw_name_ok(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
		if (!ok || n >= max)
			return false;
	}
	return n > 0;
}

int gw_key_check(const struct gw_key *k, struct ff_error *err)
{
	const char *names[] = { "session", "tag", "src_role", "src_party", "dst_role",
				"dst_party" };
	const char *vals[] = { k->session, k->tag, k->src_role, k->src_party, k->dst_role,
			       k->dst_party };
	for (size_t i = 0; i < FF_ARRAY_SIZE(vals); i++) {
		size_t max = i == 0 ? GW_SESSION_MAX : GW_NAME_MAX;
		if (!gw_name_ok(vals[i], max))
			return ff_error_set(err, FF_EPARAM, "bad message %s '%.60s': expected 1 to %zu"
					    " characters of [A-Za-z0-9_.:-]", names[i], vals[i], max);
	}
	return FF_OK;
}

int gw_key_query(const struct gw_key *k, const char *msg_id, struct ff_buf *out)
{
	ff_buf_reset(out);
	int ret = ff_buf_addf(out, "session=%s&tag=%s&src_role=%s&src_party=%s&dst_role=%s"
			      "&dst_party=%s", k->session, k->tag, k->src_role, k->src_party,
			      k->dst_role, k->dst_party);
	if (!ret && msg_id)
		ret = ff_buf_addf(out, "&msg_id=%s", msg_id);
	return ret;
}

const char *gw_key_text(const struct gw_key *k, char *buf, size_t n)
{
	snprintf(buf, n, "message '%s' from %s %s to %s %s", k->tag, k->src_role, k->src_party,
		 k->dst_role, k->dst_party);
	return buf;
}

/* ---- bodies ---- */

static _Atomic uint64_t gw_mem_total;

uint64_t gw_body_mem_used(void)
{
	return atomic_load(&gw_mem_total);
}

static bool gw_mem_charge(uint64_t n)
{
	uint64_t now = atomic_fetch_add(&gw_mem_total, n) + n;
	if (now <= GATEWAY_MEM_BUDGET)
		return true;
	atomic_fetch_sub(&gw_mem_total, n);
	return false;
}

static int gw_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return ff_from_errno(errno);
		p += w;
		n -= (size_t)w;
	}
	return FF_OK;
}

/* Moves the body to a new spill file (what is in memory first). */
static int gw_body_spill(struct gw_body *b, struct ff_error *err)
{
	char uuid[33];
	clock_uuid_hex(uuid);
	b->path = ff_asprintf("%s/%s.msg", b->dir, uuid);
	if (!b->path)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	b->fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0) {
		int e = errno;
		FF_FREE_AND_NULL(b->path);
		return ff_error_set(err, ff_from_errno(e), "cannot create spill file in '%s': %s",
				    b->dir, strerror(e));
	}
	int ret = gw_write_all(b->fd, b->mem.buf, b->mem.len);
	if (ret)
		return ff_error_set(err, ret, "cannot write spill file '%s': %s", b->path,
				    strerror(-ret));
	ff_buf_release(&b->mem);
	atomic_fetch_sub(&gw_mem_total, b->charged);
	b->charged = 0;
	return FF_OK;
}

struct gw_body *gw_body_new(const char *dir, uint64_t expect, bool hash, struct ff_error *err)
{
	struct gw_body *b = ff_calloc(1, sizeof(*b));
	if (!b) {
		ff_error_set(err, FF_ENOMEM, "out of memory");
		return NULL;
	}
	b->fd = -1;
	b->dir = dir;
	b->hashing = hash;
	ff_buf_init(&b->mem, (size_t)GATEWAY_MEM_MAX);
	if (hash)
		sign_sha256_init(&b->sha);
	if (expect != UINT64_MAX && expect > GATEWAY_MEM_MAX && gw_body_spill(b, err)) {
		gw_body_free(b);
		return NULL;
	}
	return b;
}

int gw_body_write(struct gw_body *b, const void *data, size_t n, struct ff_error *err)
{
	if (!n)
		return FF_OK;
	if (b->hashing)
		sign_sha256_update(&b->sha, data, n);
	b->size += n;
	if (b->fd < 0) {
		if (b->mem.len + n <= GATEWAY_MEM_MAX && gw_mem_charge(n)) {
			b->charged += n;
			if (!ff_buf_add(&b->mem, data, n))
				return FF_OK;
			return ff_error_set(err, FF_ENOMEM, "out of memory");
		}
		int ret = gw_body_spill(b, err);
		if (ret)
			return ret;
	}
	int ret = gw_write_all(b->fd, data, n);
	if (ret)
		return ff_error_set(err, ret, "cannot write spill file '%s': %s", b->path,
				    strerror(-ret));
	return FF_OK;
}

void gw_body_sha(struct gw_body *b, unsigned char out[32])
{
	sign_sha256_final(&b->sha, out);
	b->hashing = false;
}

int gw_body_dup_fd(const struct gw_body *b)
{
	return b->fd < 0 ? -1 : open(b->path, O_RDONLY | O_CLOEXEC);
}

void gw_body_free(struct gw_body *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->path)
		unlink(b->path);
	ff_free(b->path);
	ff_buf_release(&b->mem);
	atomic_fetch_sub(&gw_mem_total, b->charged);
	ff_free(b);
}

/* ---- the index ---- */

enum gw_state { GW_WAIT, GW_RECV, GW_READY, GW_TAKEN, GW_FWD, GW_SENT, GW_TOMB };

enum { GW_F_SESSION, GW_F_TAG, GW_F_SRC_ROLE, GW_F_SRC_PARTY, GW_F_DST_ROLE, GW_F_DST_PARTY,
       GW_NFIELDS };

struct gw_entry {
	struct gw_entry *next;
	uint64_t hash;
	enum gw_state state;
	uint64_t owner;                   /* upload id while RECV or FWD */
	struct gw_body *body;             /* READY */
	void *waiter;                     /* WAIT or RECV */
	int64_t expires;                  /* TOMB */
	char msg_id[GW_MSG_ID_LEN + 1];   /* delivery id of a partner's message */
	uint16_t off[GW_NFIELDS];
	uint32_t klen;
	char k[];                         /* the packed key */
};

struct gw_packed {
	char k[GW_KEY_PACKED_MAX];
	uint16_t off[GW_NFIELDS];
	uint32_t len;
	uint64_t hash;
};

struct gw_store {
	pthread_mutex_t lock;
	struct gw_entry **buckets;
	size_t nbuckets;                  /* a power of two */
	size_t count;
};

static void gw_pack(struct gw_packed *p, const char *const f[GW_NFIELDS])
{
	uint32_t n = 0;
	for (size_t i = 0; i < GW_NFIELDS; i++) {
		size_t l = strnlen(f[i], i == 0 ? GW_SESSION_MAX : GW_NAME_MAX);
		p->off[i] = (uint16_t)n;
		memcpy(p->k + n, f[i], l);
		n += (uint32_t)l;
		p->k[n++] = '\0';
	}
	p->len = n;
	uint64_t h = 1469598103934665603ULL;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p->k[i]) * 1099511628211ULL;
	p->hash = h;
}

static void gw_pack_key(struct gw_packed *p, const struct gw_key *k)
{
	const char *f[GW_NFIELDS] = { k->session, k->tag, k->src_role, k->src_party,
				      k->dst_role, k->dst_party };
	gw_pack(p, f);
}

/* The tombstone key of (session, destination): empty tag and source. */
static void gw_pack_tomb(struct gw_packed *p, const char *session, const char *role,
			 const char *party)
{
	const char *f[GW_NFIELDS] = { session, "", "", "", role, party };
	gw_pack(p, f);
}

static const char *gw_field(const struct gw_entry *e, int i)
{
	return e->k + e->off[i];
}

int gw_store_new(struct gw_store **out)
{
	struct gw_store *st = ff_calloc(1, sizeof(*st));
	if (!st)
		return FF_ENOMEM;
	st->nbuckets = 1024;
	st->buckets = ff_calloc(st->nbuckets, sizeof(*st->buckets));
	if (!st->buckets) {
		ff_free(st);
		return FF_ENOMEM;
	}
	pthread_mutex_init(&st->lock, NULL);
	*out = st;
	return FF_OK;
}

void gw_store_free(struct gw_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct gw_entry *e = st->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			gw_body_free(e->body);
			ff_free(e);
		}
	}
	pthread_mutex_destroy(&st->lock);
	ff_free(st->buckets);
	ff_free(st);
}

static struct gw_entry **gw_slot(struct gw_store *st, const struct gw_packed *p)
{
	struct gw_entry **pp = &st->buckets[p->hash & (st->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == p->hash && (*pp)->klen == p->len && !memcmp((*pp)->k, p->k, p->len))
			break;
	return pp;
}

static void gw_grow(struct gw_store *st)
{
	size_t nb = st->nbuckets * 2;
	struct gw_entry **b = ff_calloc(nb, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct gw_entry *e = st->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	ff_free(st->buckets);
	st->buckets = b;
	st->nbuckets = nb;
}

static struct gw_entry *gw_insert(struct gw_store *st, const struct gw_packed *p,
				  enum gw_state state)
{
	struct gw_entry *e = ff_calloc(1, sizeof(*e) + p->len);
	if (!e)
		return NULL;
	e->hash = p->hash;
	e->state = state;
	e->klen = p->len;
	memcpy(e->off, p->off, sizeof(e->off));
	memcpy(e->k, p->k, p->len);
	if (st->count >= st->nbuckets)
		gw_grow(st);
	struct gw_entry **b = &st->buckets[p->hash & (st->nbuckets - 1)];
	e->next = *b;
	*b = e;
	st->count++;
	return e;
}

/* Unlinks *pp and frees the entry; its body is returned to be freed unlocked. */
static struct gw_body *gw_remove(struct gw_store *st, struct gw_entry **pp)
{
	struct gw_entry *e = *pp;
	struct gw_body *b = e->body;
	*pp = e->next;
	st->count--;
	ff_free(e);
	return b;
}

/* FF_ECANCELED when the destination of k ended (an unexpired tombstone). */
static int gw_tomb_check(struct gw_store *st, const struct gw_key *k, struct ff_error *err)
{
	struct gw_packed t;
	gw_pack_tomb(&t, k->session, k->dst_role, k->dst_party);
	struct gw_entry **pp = gw_slot(st, &t);
	if (!*pp)
		return FF_OK;
	if ((*pp)->expires <= clock_mono_ms()) {
		gw_remove(st, pp);
		return FF_OK;
	}
	char what[400];
	return ff_error_set(err, FF_ECANCELED, "%s refused: the task of %s %s in session '%s'"
			    " has ended", gw_key_text(k, what, sizeof(what)), k->dst_role,
			    k->dst_party, k->session);
}

int gw_store_reserve(struct gw_store *st, const struct gw_key *k, uint64_t id,
		     const char *msg_id, bool *again, struct ff_error *err)
{
	struct gw_packed p;
	char what[400];
	gw_pack_key(&p, k);
	*again = false;
	pthread_mutex_lock(&st->lock);
	int ret = gw_tomb_check(st, k, err);
	struct gw_entry *e = ret ? NULL : *gw_slot(st, &p);
	if (ret) {
		/* refused */
	} else if (!e) {
		e = gw_insert(st, &p, GW_RECV);
		if (!e)
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	} else if (e->state == GW_WAIT) {
		e->state = GW_RECV;
	} else if (msg_id && e->msg_id[0] && !strcmp(e->msg_id, msg_id) &&
		   (e->state == GW_READY || e->state == GW_TAKEN)) {
		*again = true;
		e = NULL;
	} else {
		ret = ff_error_set(err, FF_EEXIST, "%s in session '%s' was already %s: each tag is "
				   "sent once per destination; use a new tag for a new message",
				   gw_key_text(k, what, sizeof(what)), k->session,
				   e->state == GW_RECV ? "being sent" : "sent");
		e = NULL;
	}
	if (e) {
		e->owner = id;
		snprintf(e->msg_id, sizeof(e->msg_id), "%s", msg_id ? msg_id : "");
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

void gw_store_cancel(struct gw_store *st, const struct gw_key *k, uint64_t id)
{
	struct gw_packed p;
	gw_pack_key(&p, k);
	pthread_mutex_lock(&st->lock);
	struct gw_entry **pp = gw_slot(st, &p);
	if (*pp && (*pp)->owner == id && ((*pp)->state == GW_RECV || (*pp)->state == GW_FWD)) {
		if ((*pp)->waiter) {
			(*pp)->state = GW_WAIT;
			(*pp)->owner = 0;
			(*pp)->msg_id[0] = '\0';
		} else {
			gw_remove(st, pp);
		}
	}
	pthread_mutex_unlock(&st->lock);
}

int gw_store_commit(struct gw_store *st, const struct gw_key *k, uint64_t id,
		    struct gw_body **body, bool remote, void **waiter, struct ff_error *err)
{
	struct gw_packed p;
	char what[400];
	gw_pack_key(&p, k);
	*waiter = NULL;
	int ret = FF_OK;
	pthread_mutex_lock(&st->lock);
	struct gw_entry *e = *gw_slot(st, &p);
	if (!e || e->state != GW_RECV || e->owner != id) {
		ret = ff_error_set(err, FF_ECANCELED, "%s dropped: the task of %s %s in session "
				   "'%s' has ended", gw_key_text(k, what, sizeof(what)), k->dst_role,
				   k->dst_party, k->session);
	} else if (remote) {
		e->state = GW_FWD;
	} else if (e->waiter) {
		*waiter = e->waiter;
		e->waiter = NULL;
		e->state = GW_TAKEN;
	} else {
		e->body = *body;
		*body = NULL;
		e->state = GW_READY;
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

void gw_store_forwarded(struct gw_store *st, const struct gw_key *k, uint64_t id, bool ok)
{
	struct gw_packed p;
	gw_pack_key(&p, k);
	pthread_mutex_lock(&st->lock);
	struct gw_entry **pp = gw_slot(st, &p);
	if (*pp && (*pp)->state == GW_FWD && (*pp)->owner == id) {
		if (ok)
			(*pp)->state = GW_SENT;
		else
			gw_remove(st, pp);
	}
	pthread_mutex_unlock(&st->lock);
}

int gw_store_take(struct gw_store *st, const struct gw_key *k, void *waiter,
		  struct gw_body **body, void **replaced, struct ff_error *err)
{
	struct gw_packed p;
	char what[400];
	gw_pack_key(&p, k);
	*body = NULL;
	*replaced = NULL;
	pthread_mutex_lock(&st->lock);
	int ret = gw_tomb_check(st, k, err);
	struct gw_entry *e = ret ? NULL : *gw_slot(st, &p);
	if (ret) {
		/* refused */
	} else if (!e) {
		e = gw_insert(st, &p, GW_WAIT);
		if (e)
			e->waiter = waiter;
		ret = e ? FF_EAGAIN : ff_error_set(err, FF_ENOMEM, "out of memory");
	} else if (e->state == GW_WAIT || e->state == GW_RECV) {
		*replaced = e->waiter;
		e->waiter = waiter;
		ret = FF_EAGAIN;
	} else if (e->state == GW_READY) {
		*body = e->body;
		e->body = NULL;
		e->state = GW_TAKEN;
	} else if (e->state == GW_TAKEN) {
		ret = ff_error_set(err, FF_EEXIST, "%s in session '%s' was already received",
				   gw_key_text(k, what, sizeof(what)), k->session);
	} else {
		ret = ff_error_set(err, FF_EPARAM, "%s is for another site: receive it there",
				   gw_key_text(k, what, sizeof(what)));
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

bool gw_store_unwait(struct gw_store *st, const struct gw_key *k, void *waiter)
{
	struct gw_packed p;
	gw_pack_key(&p, k);
	bool was = false;
	pthread_mutex_lock(&st->lock);
	struct gw_entry **pp = gw_slot(st, &p);
	if (*pp && (*pp)->waiter == waiter) {
		was = true;
		(*pp)->waiter = NULL;
		if ((*pp)->state == GW_WAIT)
			gw_remove(st, pp);
	}
	pthread_mutex_unlock(&st->lock);
	return was;
}

static bool gw_drop_match(const struct gw_entry *e, const char *session, const char *role,
			  const char *party, int64_t now)
{
	if (e->state == GW_TOMB)
		return e->expires <= now;
	if (strcmp(gw_field(e, GW_F_SESSION), session))
		return false;
	if (!strcmp(gw_field(e, GW_F_DST_ROLE), role) && !strcmp(gw_field(e, GW_F_DST_PARTY), party))
		return true;
	return (e->state == GW_FWD || e->state == GW_SENT) &&
	       !strcmp(gw_field(e, GW_F_SRC_ROLE), role) &&
	       !strcmp(gw_field(e, GW_F_SRC_PARTY), party);
}

int gw_store_drop(struct gw_store *st, const char *session, const char *role,
		  const char *party_id, void ***waiters, size_t *n)
{
	struct gw_body **bodies = NULL;
	size_t nb = 0, cap = 0, nw = 0, wcap = 0;
	void **ws = NULL;
	int ret = FF_OK;
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->nbuckets && !ret; i++) {
		struct gw_entry **pp = &st->buckets[i];
		while (*pp && !ret) {
			struct gw_entry *e = *pp;
			if (!gw_drop_match(e, session, role, party_id, now)) {
				pp = &e->next;
				continue;
			}
			if (e->waiter && nw == wcap) {
				void **g = ff_realloc(ws, (wcap = wcap * 2 + 8) * sizeof(*ws));
				if (!g) {
					ret = FF_ENOMEM;
					break;
				}
				ws = g;
			}
			if (e->body && nb == cap) {
				struct gw_body **g = ff_realloc(bodies, (cap = cap * 2 + 8) * sizeof(*g));
				if (!g) {
					ret = FF_ENOMEM;
					break;
				}
				bodies = g;
			}
			if (e->waiter)
				ws[nw++] = e->waiter;
			struct gw_body *b = gw_remove(st, pp);
			if (b)
				bodies[nb++] = b;
		}
	}
	struct gw_packed t;
	gw_pack_tomb(&t, session, role, party_id);
	struct gw_entry *tomb = *gw_slot(st, &t);
	if (!tomb)
		tomb = gw_insert(st, &t, GW_TOMB);
	if (tomb)
		tomb->expires = now + GW_TOMB_MS;
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < nb; i++)
		gw_body_free(bodies[i]);
	ff_free(bodies);
	*waiters = ws;
	*n = nw;
	return ret;
}

void gw_store_stats(struct gw_store *st, struct gateway_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->nbuckets; i++) {
		for (const struct gw_entry *e = st->buckets[i]; e; e = e->next) {
			if (e->state == GW_TOMB) {
				out->dropped++;
				continue;
			}
			out->messages++;
			out->waiting += e->waiter != NULL;
			out->ready += e->state == GW_READY;
			out->receiving += e->state == GW_RECV;
			out->forwarding += e->state == GW_FWD;
			out->done += e->state == GW_TAKEN || e->state == GW_SENT;
		}
	}
	pthread_mutex_unlock(&st->lock);
	out->mem_bytes = gw_body_mem_used();
}
