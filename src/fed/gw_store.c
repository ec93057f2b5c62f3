// SPDX-License-Identifier: Apache-2.0
/*
 * gw_store.c - the gateway's message index, message bodies and streams.
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
 * A partner's message that comes in segments (one signed request each,
 * in order) stays RECV between its segments: owner 0, the verified bytes
 * ("have") in the entry's body, the sender's msg_id and the message's
 * total size. The next segment's request claims the entry (owner = its
 * id) and takes the body to append to; at its end the body goes back, or
 * on to READY / the receiver with the last byte. So a message becomes
 * visible only whole, and a receiver never sees a partial one - unless it
 * follows it (struct gw_follow): a receiver on this host that asks to is
 * named the partial's file and its verified bytes, the message is its own
 * from then on (follow_id, its token, refuses everyone else), and it
 * frees what it read, so that the next segments' writes reuse those
 * page-cache pages. A followed partial is never rewritten from byte 0:
 * a sender starting over gets a new file, and the follower a new token.
 *
 * A stream (struct gw_stream) is the sending side of the same thing: the
 * task's upload writes the body and closes a SHA-256 per segment, and the
 * forwarder, on another thread, waits for each segment and sends it.
 *
 * Keys are packed as their six fields separated by NUL bytes, so entries
 * cost a couple of hundred bytes and drop can read the fields in place.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "fs.h"
#include "gw_int.h"
#include "log.h"
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

int gw_key_query_seg(const struct gw_key *k, const char *msg_id, uint64_t off, uint64_t total,
		     struct ff_buf *out)
{
	int ret = gw_key_query(k, msg_id, out);
	if (!ret)
		ret = ff_buf_addf(out, "&off=%llu&total=%llu", (unsigned long long)off,
				  (unsigned long long)total);
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
	int ret = fs_write_all(b->fd, b->mem.buf, b->mem.len);
	if (ret)
		return ff_error_set(err, ret, "cannot write spill file '%s': %s", b->path,
				    strerror(-ret));
	ff_buf_release(&b->mem);
	atomic_fetch_sub(&gw_mem_total, b->charged);
	b->charged = 0;
	return FF_OK;
}

struct gw_body *gw_body_new(const char *dir, uint64_t expect, struct ff_error *err)
{
	struct gw_body *b = ff_calloc(1, sizeof(*b));
	if (!b) {
		ff_error_set(err, FF_ENOMEM, "out of memory");
		return NULL;
	}
	b->fd = -1;
	b->dir = dir;
	ff_buf_init(&b->mem, (size_t)GATEWAY_MEM_MAX);
	if (expect != UINT64_MAX && expect > GATEWAY_MEM_MAX && gw_body_spill(b, err)) {
		gw_body_free(b);
		return NULL;
	}
	return b;
}

struct gw_body *gw_body_new_ring(const char *prefix, uint64_t ring_size, struct ff_error *err)
{
	char uuid[33];
	struct gw_body *b = ff_calloc(1, sizeof(*b));
	if (!b || !gw_mem_charge(ring_size)) {
		ff_free(b);
		ff_error_set(err, FF_ENOMEM, "no memory for a ring of %llu bytes",
			     (unsigned long long)ring_size);
		return NULL;
	}
	b->charged = (size_t)ring_size;
	clock_uuid_hex(uuid);
	b->fd = -1;
	b->path = ff_asprintf("%s%s", prefix, uuid);
	if (b->path)
		b->fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0 || ftruncate(b->fd, (off_t)ring_size)) {
		ff_error_set(err, b->path ? ff_from_errno(errno) : FF_ENOMEM,
			     "cannot make a ring '%s': %s", b->path ? b->path : prefix, strerror(errno));
		gw_body_free(b);
		return NULL;
	}
	void *m = mmap(NULL, (size_t)ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (m == MAP_FAILED) {
		ff_error_set(err, ff_from_errno(errno), "cannot map the ring '%s': %s", b->path,
			     strerror(errno));
		gw_body_free(b);
		return NULL;
	}
	b->ring = m;
	b->ring_size = ring_size;
	return b;
}

/* n bytes at the ring's write position (b->size), wrapping around. */
static void gw_ring_write(struct gw_body *b, const char *p, size_t n)
{
	while (n) {
		uint64_t at = b->size % b->ring_size;
		size_t take = (size_t)(b->ring_size - at) < n ? (size_t)(b->ring_size - at) : n;
		memcpy(b->ring + at, p, take);
		b->size += take;
		p += take;
		n -= take;
	}
}

int gw_body_write(struct gw_body *b, const void *data, size_t n, struct ff_error *err)
{
	if (!n)
		return FF_OK;
	if (b->ring) {
		gw_ring_write(b, data, n);
		return FF_OK;
	}
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
	int ret = fs_write_all(b->fd, data, n);
	if (ret)
		return ff_error_set(err, ret, "cannot write spill file '%s': %s", b->path,
				    strerror(-ret));
	return FF_OK;
}

void gw_body_prealloc(struct gw_body *b, uint64_t size)
{
	if (b->fd >= 0 && !b->ring && size > b->size && size <= (uint64_t)INT64_MAX)
		(void)fallocate(b->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size);
}

int gw_body_truncate(struct gw_body *b, uint64_t size, struct ff_error *err)
{
	if (size > b->size)
		return ff_error_set(err, FF_EINVAL, "cannot grow a message body by truncating it");
	if (b->ring) {
		/* the bytes past size are simply written again */
	} else if (b->fd < 0) {
		size_t cut = b->mem.len - (size_t)size;
		b->mem.len = (size_t)size;
		b->mem.buf[size] = '\0';
		b->charged -= cut;
		atomic_fetch_sub(&gw_mem_total, cut);
	} else if (ftruncate(b->fd, (off_t)size) || lseek(b->fd, (off_t)size, SEEK_SET) < 0) {
		int e = errno;
		return ff_error_set(err, ff_from_errno(e), "cannot cut spill file '%s': %s", b->path,
				    strerror(e));
	}
	b->size = size;
	return FF_OK;
}

int gw_body_dup_fd(const struct gw_body *b)
{
	return b->fd < 0 ? -1 : open(b->path, O_RDONLY | O_CLOEXEC);
}

/* A ring's mapping goes and its memory leaves the budget (its reader has its own). */
static void gw_ring_unmap(struct gw_body *b)
{
	if (!b->ring)
		return;
	munmap(b->ring, (size_t)b->ring_size);
	b->ring = NULL;
	atomic_fetch_sub(&gw_mem_total, b->charged);
	b->charged = 0;
}

const char *gw_body_hand_off(struct gw_body *b)
{
	gw_ring_unmap(b);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	return b->path;
}

void gw_body_free(struct gw_body *b)
{
	if (!b)
		return;
	gw_ring_unmap(b);
	if (b->fd >= 0)
		close(b->fd);
	if (b->path)
		unlink(b->path);
	ff_free(b->path);
	ff_buf_release(&b->mem);
	atomic_fetch_sub(&gw_mem_total, b->charged);
	ff_free(b);
}

/* ---- streams ---- */

void gw_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

struct gw_stream *gw_stream_alloc(uint64_t total, struct gw_body *body, struct ff_error *err)
{
	if (total <= GATEWAY_MEM_MAX) {
		ff_error_set(err, FF_EINVAL, "a stream is for messages above %llu bytes",
			     (unsigned long long)GATEWAY_MEM_MAX);
		return NULL;
	}
	struct gw_stream *s = ff_calloc(1, sizeof(*s));
	uint64_t nseg = total / GW_SEG_SIZE + (total % GW_SEG_SIZE != 0);
	if (!s || nseg > SIZE_MAX / 32 || !(s->sha = ff_malloc((size_t)nseg * 32)) ||
	    !(s->loc = ff_malloc((size_t)nseg))) {
		if (s) {
			ff_free(s->sha);
			ff_free(s);
		}
		ff_error_set(err, FF_ENOMEM, "out of memory");
		return NULL;
	}
	s->body = body;
	for (size_t i = 0; i < GW_STREAM_SLOTS_MAX; i++)
		s->slot_seg[i] = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->refs = 1;
	s->total = total;
	s->nseg = nseg;
	s->fill = -1;
	sign_sha256_init(&s->seg_sha);
	return s;
}

struct gw_stream *gw_stream_new(const char *dir, uint64_t total, struct ff_error *err)
{
	struct gw_body *body = NULL;
	if (total > GATEWAY_MEM_MAX && !(body = gw_body_new(dir, total, err)))
		return NULL;
	struct gw_stream *s = gw_stream_alloc(total, body, err);
	if (!s) {
		gw_body_free(body);
		return NULL;
	}
	/* as many slots as the budget allows; none is fine (all to the file) */
	for (; s->nslots < GW_STREAM_SLOTS && s->nslots < s->nseg; s->nslots++) {
		if (!gw_mem_charge(GW_SEG_SIZE))
			break;
		if (!(s->slot[s->nslots] = ff_malloc((size_t)GW_SEG_SIZE))) {
			atomic_fetch_sub(&gw_mem_total, GW_SEG_SIZE);
			break;
		}
	}
	return s;
}

void gw_stream_ref(struct gw_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->refs++;
	pthread_mutex_unlock(&s->lock);
}

/* Frees the slots (under lock, or at the end); a ring's are its body's. */
static void gw_stream_free_slots(struct gw_stream *s)
{
	if (s->ring)
		return;
	for (size_t i = 0; i < s->nslots; i++) {
		ff_free(s->slot[i]);
		s->slot[i] = NULL;
		atomic_fetch_sub(&gw_mem_total, GW_SEG_SIZE);
	}
	s->nslots = 0;
}

void gw_stream_unref(struct gw_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	int left = --s->refs;
	pthread_mutex_unlock(&s->lock);
	if (left > 0)
		return;
	if (left < 0)
		FF_BUG("gateway stream released more often than referenced");
	gw_stream_free_slots(s);
	gw_body_free(s->body);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	ff_free(s->loc);
	ff_free(s->sha);
	ff_free(s);
}

void gw_stream_release(struct gw_stream *s)
{
	pthread_mutex_lock(&s->lock);
	/* whole message delivered: the upload wrote its last byte before */
	if (s->avail == s->total)
		gw_stream_free_slots(s);
	pthread_mutex_unlock(&s->lock);
}

/*
 * A segment starts: a free slot, waiting a little for the forwarder to
 * give one back, else the file. False when the stream ended meanwhile.
 */
static bool gw_stream_place(struct gw_stream *s, uint64_t seg)
{
	struct timespec ts;
	bool timed = false;
	pthread_mutex_lock(&s->lock);
	s->fill = -1;
	while (s->nslots && !s->stop && !s->abandoned) {
		for (size_t i = 0; i < s->nslots && s->fill < 0; i++)
			if (s->slot_seg[i] < 0)
				s->fill = (int)i;
		if (s->fill >= 0)
			break;
		if (!timed) {
			gw_deadline(&ts, GW_STREAM_SLOT_WAIT_MS);
			timed = true;
		}
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (s->fill >= 0)
		s->slot_seg[s->fill] = (int64_t)seg;
	s->loc[seg] = (signed char)s->fill;
	bool go = !s->stop && !s->abandoned;
	pthread_mutex_unlock(&s->lock);
	return go;
}

/* Closes the current segment: its hash is kept and the forwarder woken. */
static void gw_stream_seal(struct gw_stream *s)
{
	uint64_t seg = (s->written - 1) / GW_SEG_SIZE;
	unsigned char sha[32];
	sign_sha256_final(&s->seg_sha, sha);
	sign_sha256_init(&s->seg_sha);
	s->seg_fill = 0;
	pthread_mutex_lock(&s->lock);
	memcpy(s->sha[seg], sha, 32);
	s->avail = s->written;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int gw_pwrite_all(int fd, const char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return ff_from_errno(errno);
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return FF_OK;
}

int gw_stream_write(struct gw_stream *s, const void *data, size_t n, struct ff_error *err)
{
	const char *p = data;
	pthread_mutex_lock(&s->lock);
	bool drop = s->stop || s->abandoned;
	pthread_mutex_unlock(&s->lock);
	if (drop)
		return FF_OK;
	if (n > s->total - s->written)
		return ff_error_set(err, FF_E2BIG, "the upload is longer than its announced %llu bytes",
				    (unsigned long long)s->total);
	while (n) {
		if (s->seg_fill == 0 && !gw_stream_place(s, s->written / GW_SEG_SIZE))
			return FF_OK; /* the forward ended: the rest is dropped */
		size_t take = (size_t)(GW_SEG_SIZE - s->seg_fill) < n
			? (size_t)(GW_SEG_SIZE - s->seg_fill) : n;
		if (s->fill >= 0) {
			memcpy(s->slot[s->fill] + s->seg_fill, p, take);
		} else {
			int ret = gw_pwrite_all(s->body->fd, p, take, s->written);
			if (ret)
				return ff_error_set(err, ret, "cannot write spill file '%s': %s",
						    s->body->path, strerror(-ret));
		}
		sign_sha256_update(&s->seg_sha, p, take);
		s->seg_fill += take;
		s->written += take;
		p += take;
		n -= take;
		if (s->seg_fill == GW_SEG_SIZE || s->written == s->total)
			gw_stream_seal(s);
	}
	return FF_OK;
}

void gw_stream_abandon(struct gw_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->abandoned = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void gw_stream_stop(struct gw_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int gw_stream_wait(struct gw_stream *s, uint64_t seg, int64_t wait_ms, unsigned char sha[32],
		   uint64_t *off, uint64_t *len, const char **mem)
{
	if (seg >= s->nseg)
		return FF_EINVAL;
	*off = seg * GW_SEG_SIZE;
	*len = s->total - *off < GW_SEG_SIZE ? s->total - *off : GW_SEG_SIZE;
	*mem = NULL;
	struct timespec ts;
	gw_deadline(&ts, wait_ms);
	int ret = FF_OK;
	pthread_mutex_lock(&s->lock);
	while (s->avail < *off + *len && !s->abandoned && !s->stop) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (s->avail >= *off + *len) {
		memcpy(sha, s->sha[seg], 32);
		*mem = s->loc[seg] >= 0 ? s->slot[s->loc[seg]] : NULL;
	} else {
		ret = s->abandoned || s->stop ? FF_ECANCELED : FF_EAGAIN;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void gw_stream_sent(struct gw_stream *s, uint64_t seg)
{
	pthread_mutex_lock(&s->lock);
	if (seg < s->nseg && s->loc[seg] >= 0 && s->slot_seg[s->loc[seg]] == (int64_t)seg) {
		s->slot_seg[s->loc[seg]] = -1;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- the index ---- */

enum gw_state { GW_WAIT, GW_RECV, GW_READY, GW_TAKEN, GW_FWD, GW_SENT, GW_TOMB };

enum { GW_F_SESSION, GW_F_TAG, GW_F_SRC_ROLE, GW_F_SRC_PARTY, GW_F_DST_ROLE, GW_F_DST_PARTY,
       GW_NFIELDS };

struct gw_entry {
	struct gw_entry *next;
	uint64_t hash;
	enum gw_state state;
	uint64_t owner;                   /* upload id while RECV or FWD, 0: none */
	struct gw_body *body;             /* READY, or a partial's verified bytes */
	uint64_t total;                   /* a delivery in segments: its size */
	uint64_t have;                    /* ... and the bytes verified so far */
	void *waiter;                     /* WAIT or RECV */
	int64_t expires;                  /* TOMB */
	char msg_id[GW_MSG_ID_LEN + 1];   /* delivery id of a partner's message */
	/*
	 * A receiver following a partner's partial message (gw_follow):
	 * follow_id is its token (0: nobody follows), fpath the file the
	 * verified bytes are in (owned), and while a follower's pull is parked
	 * here (waiter_follows) waiter_token and waiter_seen are its token and
	 * the bytes it has.
	 */
	uint64_t follow_id;
	char *fpath;
	/*
	 * A partial received into a ring (ring: its size, 0: a file): the
	 * bytes its follower has read (follow_seen) bound where the next
	 * segment may write.
	 */
	uint64_t ring, follow_seen;
	bool waiter_follows;
	uint64_t waiter_token, waiter_seen;
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
	uint64_t follow_seq;              /* the last follow token given */
	uint64_t followed;                /* attaches, for the stats */
	uint64_t rings;                   /* partials received into a ring */
	pthread_cond_t ring_cond;         /* a follower of a ring read more (CLOCK_MONOTONIC) */
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
	st->follow_seq = 1; /* tokens start at 2: "follow=1" asks to attach */
	st->buckets = ff_calloc(st->nbuckets, sizeof(*st->buckets));
	if (!st->buckets) {
		ff_free(st);
		return FF_ENOMEM;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->ring_cond, &ca);
	pthread_condattr_destroy(&ca);
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
			ff_free(e->fpath);
			ff_free(e);
		}
	}
	pthread_cond_destroy(&st->ring_cond);
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
	ff_free(e->fpath);
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

/* The entry of a partner's message is forgotten (a receiver keeps waiting). */
static struct gw_body *gw_forget(struct gw_store *st, struct gw_entry **pp)
{
	struct gw_entry *e = *pp;
	if (!e->waiter)
		return gw_remove(st, pp);
	struct gw_body *b = e->body;
	e->body = NULL;
	e->state = GW_WAIT;
	e->owner = 0;
	e->msg_id[0] = '\0';
	e->total = e->have = 0;
	e->follow_id = 0;
	e->ring = e->follow_seen = 0;
	FF_FREE_AND_NULL(e->fpath);
	return b;
}

/* Claims a message nobody is writing for request id, from byte 0. */
static void gw_claim_new(struct gw_entry *e, uint64_t id, const char *msg_id, uint64_t total)
{
	e->state = GW_RECV;
	e->owner = id;
	snprintf(e->msg_id, sizeof(e->msg_id), "%s", msg_id);
	e->total = total;
	e->have = 0;
	/* a follower of an earlier attempt attaches again and starts over */
	e->follow_id = 0;
	e->ring = e->follow_seen = 0;
	FF_FREE_AND_NULL(e->fpath);
}

int gw_store_reserve(struct gw_store *st, const struct gw_key *k, uint64_t id,
		     struct ff_error *err)
{
	struct gw_packed p;
	char what[400];
	gw_pack_key(&p, k);
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
	} else {
		ret = ff_error_set(err, FF_EEXIST, "%s in session '%s' was already %s: each tag is "
				   "sent once per destination; use a new tag for a new message",
				   gw_key_text(k, what, sizeof(what)), k->session,
				   e->state == GW_RECV ? "being sent" : "sent");
		e = NULL;
	}
	if (e) {
		e->owner = id;
		e->msg_id[0] = '\0';
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
	struct gw_body *old = NULL;
	if (*pp && (*pp)->owner == id && ((*pp)->state == GW_RECV || (*pp)->state == GW_FWD))
		old = gw_forget(st, pp);
	pthread_mutex_unlock(&st->lock);
	gw_body_free(old);
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

/* A partner's partial message with verified bytes in a file: a follower may attach. */
static bool gw_followable(const struct gw_entry *e)
{
	return e->state == GW_RECV && e->msg_id[0] && e->total != GW_WHOLE && e->have > 0 &&
	       e->fpath;
}

/* Fills fl with e's partial, for the follower with token e->follow_id. */
static void gw_follow_out(struct gw_entry *e, struct gw_follow *fl)
{
	fl->id = e->follow_id;
	fl->partial = true;
	fl->have = e->have;
	fl->total = e->total;
	fl->ring = e->ring;
	fl->path = ff_strdup(e->fpath);
}

/* Parks waiter in e (replacing an older one, handed back in *replaced). */
static void gw_park(struct gw_entry *e, void *waiter, const struct gw_follow *fl,
		    void **replaced)
{
	*replaced = e->waiter;
	e->waiter = waiter;
	e->waiter_follows = fl && fl->want;
	e->waiter_token = fl ? fl->id : 0;
	e->waiter_seen = fl ? fl->seen : 0;
}

int gw_store_take_follow(struct gw_store *st, const struct gw_key *k, void *waiter,
			 struct gw_follow *fl, struct gw_body **body, void **replaced,
			 struct ff_error *err)
{
	struct gw_packed p;
	char what[400];
	gw_pack_key(&p, k);
	*body = NULL;
	*replaced = NULL;
	uint64_t token = fl && fl->want ? fl->id : 0;
	if (fl) {
		fl->id = 0;
		fl->partial = false;
		fl->ring = 0;
		fl->path = NULL;
	}
	pthread_mutex_lock(&st->lock);
	int ret = gw_tomb_check(st, k, err);
	struct gw_entry *e = ret ? NULL : *gw_slot(st, &p);
	bool mine = e && e->follow_id && token == e->follow_id;
	/* what the follower has read frees room in its ring */
	if (mine && e->ring && fl->seen > e->follow_seen && fl->seen <= e->have) {
		e->follow_seen = fl->seen;
		pthread_cond_broadcast(&st->ring_cond);
	}
	if (fl && fl->want)
		fl->id = token;
	if (ret) {
		/* refused */
	} else if (!e) {
		e = gw_insert(st, &p, GW_WAIT);
		if (e)
			gw_park(e, waiter, fl, replaced);
		ret = e ? FF_EAGAIN : ff_error_set(err, FF_ENOMEM, "out of memory");
	} else if (e->follow_id && !mine) {
		/* followed by another receiver: it has the message */
		ret = ff_error_set(err, FF_EEXIST, "%s in session '%s' was already received",
				   gw_key_text(k, what, sizeof(what)), k->session);
	} else if (mine && e->state == GW_RECV && e->have > fl->seen) {
		gw_follow_out(e, fl);
	} else if (!mine && fl && fl->want && gw_followable(e)) {
		/* attach: the message is this receiver's from now on */
		e->follow_id = ++st->follow_seq;
		st->followed++;
		*replaced = e->waiter;
		e->waiter = NULL;
		gw_follow_out(e, fl);
		if (!fl->path) {
			e->follow_id = 0;
			st->followed--;
		}
	} else if (e->state == GW_WAIT || e->state == GW_RECV) {
		gw_park(e, waiter, fl, replaced);
		ret = FF_EAGAIN;
	} else if (e->state == GW_READY || (mine && e->state == GW_TAKEN && e->body)) {
		/* complete; a follower gets the rest of the file it follows */
		if (fl)
			fl->id = mine ? e->follow_id : 0;
		*body = e->body;
		e->body = NULL;
		e->state = GW_TAKEN;
		e->follow_id = 0;
	} else if (e->state == GW_TAKEN) {
		ret = ff_error_set(err, FF_EEXIST, "%s in session '%s' was already received",
				   gw_key_text(k, what, sizeof(what)), k->session);
	} else {
		ret = ff_error_set(err, FF_EPARAM, "%s is for another site: receive it there",
				   gw_key_text(k, what, sizeof(what)));
	}
	if (!ret && fl && fl->partial && !fl->path)
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int gw_store_take(struct gw_store *st, const struct gw_key *k, void *waiter,
		  struct gw_body **body, void **replaced, struct ff_error *err)
{
	return gw_store_take_follow(st, k, waiter, NULL, body, replaced, err);
}

int gw_store_keep(struct gw_store *st, const struct gw_key *k, struct gw_body **body)
{
	struct gw_packed p;
	gw_pack_key(&p, k);
	int ret = FF_ECANCELED;
	pthread_mutex_lock(&st->lock);
	struct gw_entry *e = *gw_slot(st, &p);
	if (e && e->state == GW_TAKEN && !e->body) {
		e->body = *body;
		*body = NULL;
		ret = FF_OK;
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

/*
 * The next segment of a partial in a ring may only overwrite what its
 * follower has read: waits (the lock released) until it has, up to
 * GW_RING_WAIT_MS. *ep is looked up again after every wait.
 */
static int gw_ring_room(struct gw_store *st, const struct gw_key *k, const struct gw_packed *p,
			struct gw_entry **ep, const char *msg_id, uint64_t off, uint64_t len,
			const char *what, struct ff_error *err)
{
	struct timespec ts;
	bool timed = false;
	struct gw_entry *e = *ep;
	while (e && e->state == GW_RECV && e->ring && !e->owner && off > 0 && off == e->have &&
	       !strcmp(e->msg_id, msg_id) && off + len > e->follow_seen + e->ring) {
		if (len > e->ring)
			return ff_error_set(err, FF_EPROTO, "segment of %llu bytes of %s in session "
					    "'%s' is larger than its receiver's ring of %llu bytes",
					    (unsigned long long)len, what, k->session,
					    (unsigned long long)e->ring);
		if (!timed) {
			gw_deadline(&ts, GW_RING_WAIT_MS);
			timed = true;
		}
		if (pthread_cond_timedwait(&st->ring_cond, &st->lock, &ts) == ETIMEDOUT)
			return ff_error_set(err, FF_EAGAIN, "%s in session '%s': its receiver has read "
					    "%llu of the %llu bytes before this segment, which needs "
					    "them read: try again", what, k->session,
					    (unsigned long long)e->follow_seen, (unsigned long long)off);
		int ret = gw_tomb_check(st, k, err);
		if (ret)
			return ret;
		e = *ep = *gw_slot(st, p);
	}
	return FF_OK;
}

/* A new message's body is a ring when its receiver waits to follow it. */
static bool gw_ring_wanted(const struct gw_entry *e, uint64_t len)
{
	return e->waiter && e->waiter_follows && len <= GW_RING_SIZE / 2;
}

int gw_store_seg_begin(struct gw_store *st, const struct gw_key *k, uint64_t id,
		       const char *msg_id, uint64_t off, uint64_t len, uint64_t total,
		       struct gw_body **body, bool *again, struct ff_error *err)
{
	bool ring;
	return gw_store_seg_begin_ring(st, k, id, msg_id, off, len, total, body, again, &ring,
				       err);
}

int gw_store_seg_begin_ring(struct gw_store *st, const struct gw_key *k, uint64_t id,
			    const char *msg_id, uint64_t off, uint64_t len, uint64_t total,
			    struct gw_body **body, bool *again, bool *ring,
			    struct ff_error *err)
{
	struct gw_packed p;
	char what[400];
	gw_pack_key(&p, k);
	gw_key_text(k, what, sizeof(what));
	struct gw_body *stale = NULL;
	*body = NULL;
	*again = false;
	*ring = false;
	pthread_mutex_lock(&st->lock);
	int ret = gw_tomb_check(st, k, err);
	struct gw_entry *e = ret ? NULL : *gw_slot(st, &p);
	if (!ret)
		ret = gw_ring_room(st, k, &p, &e, msg_id, off, len, what, err);
	bool same = e && e->msg_id[0] && !strcmp(e->msg_id, msg_id);
	if (ret) {
		/* refused */
	} else if (!e || e->state == GW_WAIT) {
		if (off != 0) {
			ret = ff_error_set(err, FF_EPROTO, "segment at byte %llu of %s in session '%s' "
					   "has no start here: send the message again",
					   (unsigned long long)off, what, k->session);
		} else if (!e && !(e = gw_insert(st, &p, GW_RECV))) {
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		} else {
			gw_claim_new(e, id, msg_id, total);
			*ring = total != GW_WHOLE && gw_ring_wanted(e, len);
		}
	} else if ((e->state == GW_READY || e->state == GW_TAKEN) && same) {
		*again = true;
	} else if (e->state != GW_RECV) {
		ret = ff_error_set(err, FF_EEXIST, "%s in session '%s' was already sent: each tag is "
				   "sent once per destination; use a new tag for a new message",
				   what, k->session);
	} else if (e->owner) {
		ret = same ? ff_error_set(err, FF_EAGAIN, "%s in session '%s' is being received "
					  "(delivery '%s'): try again", what, k->session, msg_id)
			   : ff_error_set(err, FF_EEXIST, "%s in session '%s' was already being sent",
					  what, k->session);
	} else if (!e->msg_id[0]) {
		/* a local upload broke off and left the entry to no one */
		ret = ff_error_set(err, FF_EEXIST, "%s in session '%s' was already being sent", what,
				   k->session);
	} else if (!same && off == 0) {
		/*
		 * The sender gave the old delivery up: start over in its body,
		 * or in a new one when a receiver follows the old one (it reads
		 * and frees the old file's bytes; they must not be rewritten).
		 */
		if (e->follow_id || e->ring)
			stale = e->body;
		else
			*body = e->body;
		e->body = NULL;
		gw_claim_new(e, id, msg_id, total);
		*ring = gw_ring_wanted(e, len);
	} else if (same && total == e->total && off + len <= e->have) {
		*again = true;
	} else if (same && total == e->total && off == e->have) {
		e->owner = id;
		*body = e->body;
		e->body = NULL;
	} else {
		ret = ff_error_set(err, FF_EPROTO, "segment at byte %llu of %llu of %s in session '%s' "
				   "does not follow the %llu bytes received of %llu",
				   (unsigned long long)off, (unsigned long long)total, what, k->session,
				   (unsigned long long)e->have, (unsigned long long)e->total);
	}
	pthread_mutex_unlock(&st->lock);
	gw_body_free(stale);
	return ret;
}

int gw_store_seg_end_follow(struct gw_store *st, const struct gw_key *k, uint64_t id,
			    struct gw_body **body, void **waiter, bool *complete,
			    struct gw_follow *fl, struct ff_error *err)
{
	struct gw_packed p;
	char what[400];
	gw_pack_key(&p, k);
	*waiter = NULL;
	*complete = false;
	fl->id = 0;
	fl->partial = false;
	fl->path = NULL;
	int ret = FF_OK;
	pthread_mutex_lock(&st->lock);
	struct gw_entry *e = *gw_slot(st, &p);
	if (!e || e->state != GW_RECV || e->owner != id) {
		ret = ff_error_set(err, FF_ECANCELED, "%s dropped: the task of %s %s in session "
				   "'%s' has ended", gw_key_text(k, what, sizeof(what)), k->dst_role,
				   k->dst_party, k->session);
	} else if (e->total != GW_WHOLE && (*body)->size < e->total) {
		e->have = (*body)->size;
		e->body = *body;
		*body = NULL;
		e->owner = 0;
		if (!e->fpath && e->body->path)
			e->fpath = ff_strdup(e->body->path);
		if (e->body->ring && !e->ring) {
			e->ring = e->body->ring_size;
			st->rings++;
		}
		/* a parked follower hears of the new bytes (a new one attaches) */
		if (e->waiter && e->waiter_follows && gw_followable(e) &&
		    (!e->follow_id || (e->waiter_token == e->follow_id &&
				       e->have > e->waiter_seen))) {
			uint64_t was = e->follow_id;
			if (!e->follow_id) {
				e->follow_id = ++st->follow_seq;
				st->followed++;
			}
			gw_follow_out(e, fl);
			if (fl->path) {
				*waiter = e->waiter;
				e->waiter = NULL;
			} else {
				/* out of memory: it hears of it at the next segment */
				fl->partial = false;
				st->followed -= !was;
				e->follow_id = was;
			}
		}
	} else {
		*complete = true;
		e->have = e->total = (*body)->size;
		e->owner = 0;
		bool followed = e->follow_id != 0;
		if (e->waiter && (!followed || (e->waiter_follows &&
						e->waiter_token == e->follow_id))) {
			*waiter = e->waiter;
			e->waiter = NULL;
			fl->id = e->follow_id;
			e->follow_id = 0;
			e->state = GW_TAKEN;
		} else {
			/* a followed message waits for its follower's next pull */
			e->body = *body;
			*body = NULL;
			e->state = followed ? GW_TAKEN : GW_READY;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int gw_store_seg_end(struct gw_store *st, const struct gw_key *k, uint64_t id,
		     struct gw_body **body, void **waiter, bool *complete, struct ff_error *err)
{
	struct gw_follow fl = { 0 };
	int ret = gw_store_seg_end_follow(st, k, id, body, waiter, complete, &fl, err);
	ff_free(fl.path);
	return ret;
}

void gw_store_seg_abort(struct gw_store *st, const struct gw_key *k, uint64_t id,
			struct gw_body **body, bool discard)
{
	struct gw_packed p;
	gw_pack_key(&p, k);
	struct gw_body *old = NULL;
	pthread_mutex_lock(&st->lock);
	struct gw_entry **pp = gw_slot(st, &p);
	struct gw_entry *e = *pp;
	if (e && e->state == GW_RECV && e->owner == id) {
		if (discard || e->have == 0 || !*body) {
			old = gw_forget(st, pp);
		} else {
			e->body = *body;
			*body = NULL;
			e->owner = 0;
		}
	}
	pthread_mutex_unlock(&st->lock);
	gw_body_free(old);
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
	out->followed = st->followed;
	out->rings = st->rings;
	pthread_mutex_unlock(&st->lock);
	out->mem_bytes = gw_body_mem_used();
}
