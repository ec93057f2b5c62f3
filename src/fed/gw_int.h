/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_int.h - internals shared by the gateway's files (gateway.c, gw_store.c,
 * gw_forward.c, api/api_gateway.c). Other modules use gateway.h only.
 *
 * A message is identified by its key (session, tag, source role/party,
 * destination role/party); docs/internals/gateway.md has the protocol.
 * Pieces:
 *   - struct gw_body: one message body being written or held: in memory up
 *     to GW_MEM_MAX (within a process-wide budget), else in a spill file;
 *   - struct gw_stream: a large message to another site while its task
 *     uploads it: the body plus the SHA-256 of each GW_SEG_SIZE segment,
 *     read by the forwarder as the segments complete;
 *   - struct gw_store: the index of every message of this site, one entry
 *     per key with its state (waiting, receiving, ready, taken, forwarding,
 *     sent), under one mutex, including partners' messages that arrive
 *     in segments;
 *   - struct gw_forward: threads that push messages for other sites to
 *     their gateways, signed, with retries, a large one segment by segment
 *     while it is still being uploaded;
 *   - gateway.c: the site's gateway object, the long-poll waiters of
 *     receiving tasks and their deadlines, shutdown.
 */
#ifndef FF_GW_INT_H
#define FF_GW_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "auth/sign.h"
#include "buf.h"
#include "err.h"
#include "gateway.h"

struct http_req;
struct site;

#define GW_SESSION_MAX 255     /* characters of a session (federation id) */
#define GW_NAME_MAX 128        /* characters of a tag, role or party id */
#define GW_MSG_ID_LEN 32       /* hex characters of a delivery id */
/*
 * A message to another site larger than this, of known size, is forwarded
 * in segments of this size, each its own signed delivery, while the task
 * is still uploading it (docs/internals/gateway.md, "Segments").
 */
#ifndef GW_SEG_SIZE
#define GW_SEG_SIZE ((uint64_t)8 << 20)
#endif
/*
 * A stream keeps up to this many segments in memory (charged to the
 * gateway's memory budget) for the forwarder, reused from segment to
 * segment; a segment starts in a file when none is free within
 * GW_STREAM_SLOT_WAIT_MS.
 */
#ifndef GW_STREAM_SLOTS
#define GW_STREAM_SLOTS 3
#endif
#define GW_STREAM_SLOT_WAIT_MS 50
/*
 * A task on this host may instead write a large message for another site
 * straight into this many segment slots of a ring in shared memory that
 * the gateway made (a "ring push", gw_ring.c): no socket, no copy in the
 * gateway, which hashes each segment where the task put it and forwards
 * it from there. Steps wait up to GW_RING_STEP_WAIT_MS; a ring push no
 * step touched for scheduler.ring_push_idle is abandoned (its task is gone).
 */
#define GW_RING_PUSH_SLOTS 4
#define GW_RING_STEP_WAIT_MS 200
#define GW_STREAM_SLOTS_MAX (GW_STREAM_SLOTS > GW_RING_PUSH_SLOTS ? GW_STREAM_SLOTS \
			     : GW_RING_PUSH_SLOTS)
/*
 * A partner's message whose receiver on this host follows it from its
 * first segment is received into a ring of this many bytes of shared
 * memory (a file in GW_RING_DIR) instead of a spill file: the receiver
 * maps it and copies the verified bytes out, so the bytes never go
 * through the page cache of a disk file (docs/internals/gateway.md,
 * "Rings"). A segment waits up to GW_RING_WAIT_MS for its room (the
 * receiver to read what it would overwrite), then is refused for now.
 */
#ifndef GW_RING_SIZE
#define GW_RING_SIZE ((uint64_t)32 << 20)
#endif
#define GW_RING_WAIT_MS 1000
#define GW_RING_DIR "/dev/shm"
/* gw_store_seg_begin's total for a delivery that is the whole message. */
#define GW_WHOLE UINT64_MAX

/* The identity of one message; every field is [A-Za-z0-9_.:-]+. */
struct gw_key {
	char session[GW_SESSION_MAX + 1];
	char tag[GW_NAME_MAX + 1];
	char src_role[GW_NAME_MAX + 1];
	char src_party[GW_NAME_MAX + 1];
	char dst_role[GW_NAME_MAX + 1];
	char dst_party[GW_NAME_MAX + 1];
};

/* True when s is 1..max characters of [A-Za-z0-9_.:-]. */
bool gw_name_ok(const char *s, size_t max);
/* Checks every field; err names the bad one. */
int gw_key_check(const struct gw_key *k, struct ff_error *err);
/*
 * The canonical query of a message request, fields in a fixed order:
 * "session=S&tag=T&src_role=..&src_party=..&dst_role=..&dst_party=.."
 * plus "&msg_id=M" when msg_id is not NULL. Field values need no
 * escaping (gw_key_check). Signed as the request's query.
 */
int gw_key_query(const struct gw_key *k, const char *msg_id, struct ff_buf *out);
/*
 * The canonical query of one segment of a message: gw_key_query's with
 * msg_id, then "&off=O&total=N" (decimal byte offset of the segment and
 * size of the whole message). Signed, so a segment cannot be moved.
 */
int gw_key_query_seg(const struct gw_key *k, const char *msg_id, uint64_t off, uint64_t total,
		     struct ff_buf *out);
/* "message 'tag' from guest 9999 to host 10000" into buf. */
const char *gw_key_text(const struct gw_key *k, char *buf, size_t n);

/* ---- bodies ---- */

/*
 * A body is written by one thread at a time (its upload); the fields are
 * read by others only once it is complete, except path and fd of a body
 * spilled from its first byte, which never change (gw_stream).
 */
struct gw_body {
	uint64_t size;            /* bytes written */
	struct ff_buf mem;        /* the bytes while fd < 0 */
	int fd;                   /* spill file, -1 while in memory */
	char *path;               /* spill file path (owned), unlinked on free */
	const char *dir;          /* spill folder (borrowed from the gateway) */
	size_t charged;           /* bytes counted against the memory budget */
	char *ring;               /* a ring: fd's file mapped, ring_size bytes; */
	uint64_t ring_size;       /* byte x of the message is at x % ring_size */
};

/*
 * New empty body. expect is the announced size (UINT64_MAX when unknown):
 * above GW_MEM_MAX, or when the process-wide memory budget has no room,
 * the body goes to a file in dir from the first byte. dir is borrowed and
 * must outlive the body. Returns owned (gw_body_free) or NULL with err set.
 */
struct gw_body *gw_body_new(const char *dir, uint64_t expect, struct ff_error *err);
/*
 * New empty body in a ring of ring_size bytes: a new file "<prefix><uuid>"
 * (prefix names a folder on a memory file system and the gateway), mapped
 * shared, charged to the memory budget. Writes wrap around; the caller
 * makes sure that they never overwrite bytes its reader has not read.
 * NULL with err set when the budget, the folder or the mapping says no.
 */
struct gw_body *gw_body_new_ring(const char *prefix, uint64_t ring_size, struct ff_error *err);
/* Appends n bytes (spills when the memory part would pass its limits). */
int gw_body_write(struct gw_body *b, const void *data, size_t n, struct ff_error *err);
/*
 * Reserves disk blocks for a spilled body that will grow to size bytes
 * (its visible size stays what was written): appending to reserved blocks
 * is cheaper than allocating them write by write. Best effort: a file
 * system that cannot do it just allocates later. No-op in memory.
 */
void gw_body_prealloc(struct gw_body *b, uint64_t size);
/*
 * Cuts the body back to its first size bytes (size <= b->size): the tail
 * of a segment whose delivery broke off, before it is sent again.
 */
int gw_body_truncate(struct gw_body *b, uint64_t size, struct ff_error *err);
/*
 * A new read-only descriptor of a spilled body (owned by the caller, whose
 * reads do not disturb the body), or -1 for a body in memory.
 */
int gw_body_dup_fd(const struct gw_body *b);
/*
 * A spilled body handed to its receiver as a file (the receiver, a task
 * on this host, opens the file and deletes it): closes the descriptor, so
 * that the file's blocks go with the receiver's last descriptor. What is
 * left of b only deletes the file when freed, in case the receiver did
 * not. Returns the file's path (borrowed from b).
 */
const char *gw_body_hand_off(struct gw_body *b);
/* Frees memory, closes and deletes the spill file. NULL is fine. */
void gw_body_free(struct gw_body *b);
/* Bytes held in memory by all bodies of the process. */
uint64_t gw_body_mem_used(void);

/* ---- streams: a message forwarded while it is uploaded ---- */

/*
 * The upload (one thread: gw_stream_write, then gw_stream_abandon if it
 * breaks off) puts each GW_SEG_SIZE segment in a memory slot, or in the
 * spill file when no slot frees up within GW_STREAM_SLOT_WAIT_MS (the
 * forwarder is behind), and closes the segment's SHA-256 at its end; the
 * forwarder waits for segments with gw_stream_wait, sends them from the
 * slot or the file (its own descriptor) and gives the slot back with
 * gw_stream_sent. Memory stays at GW_STREAM_SLOTS segments whatever the
 * size, and the bytes the forwarder keeps up with never touch the disk.
 * The push handler and the end of the forward meet in the fields under
 * "rendezvous" (gateway.c). Reference counted: the upload and the forward
 * job hold one each.
 */
struct gw_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;              /* a segment completed or a slot freed, or the end */
	int refs;                         /* under lock */
	struct gw_body *body;             /* the spill file (from the first byte) */
	uint64_t total;                   /* announced size of the message */
	uint64_t nseg;
	char *slot[GW_STREAM_SLOTS_MAX];  /* segment buffers, charged to the budget */
	size_t nslots;
	bool ring;                        /* a ring push: the slots are the body's ring */
	/* under lock */
	int64_t slot_seg[GW_STREAM_SLOTS_MAX]; /* segment a slot holds, -1: free */
	signed char *loc;                 /* per segment: its slot, -1: the file */
	uint64_t avail;                   /* bytes of complete segments */
	unsigned char (*sha)[32];         /* per segment, valid below avail */
	bool abandoned;                   /* the upload broke off */
	bool stop;                        /* the forward ended: drop what still comes */
	/* the upload's own */
	uint64_t written;
	int fill;                         /* slot of the segment being written, -1: file */
	struct sign_sha256_state seg_sha;
	uint64_t seg_fill;
	/* rendezvous of the push handler and the forward's end, under lock */
	bool fwd_done, handler_in;
	void *answer_to;                  /* the push request, NULL when nobody waits */
	int fwd_ret, fwd_tries;
	struct ff_error fwd_err;
	/* a ring push: segments hashed and handed to the forwarder (under lock) */
	uint64_t sealed;
};

/*
 * New stream of total bytes (> GW_MEM_MAX; its spill file is made in dir
 * at once), one reference, with as many memory slots as the budget
 * allows. Returns owned (gw_stream_unref) or NULL with err set.
 */
struct gw_stream *gw_stream_new(const char *dir, uint64_t total, struct ff_error *err);
/*
 * The common part: a stream of total bytes with no slots, taking body
 * (its spill file, or ring) on success. NULL with err set.
 */
struct gw_stream *gw_stream_alloc(uint64_t total, struct gw_body *body, struct ff_error *err);
/* A monotonic deadline ms from now (for CLOCK_MONOTONIC condition variables). */
void gw_deadline(struct timespec *ts, int64_t ms);
void gw_stream_ref(struct gw_stream *s);
/* Drops a reference; the last frees slots and body (deleting its file). NULL is fine. */
void gw_stream_unref(struct gw_stream *s);
/*
 * The upload's bytes, in order: hashed and put in a slot or the file; each
 * completed segment wakes the forwarder. May wait up to
 * GW_STREAM_SLOT_WAIT_MS at a segment's start for a slot. Once the forward
 * ended (stop) the bytes are dropped (FF_OK): the push is answered with
 * the forward's outcome. More bytes than total is FF_E2BIG.
 */
int gw_stream_write(struct gw_stream *s, const void *data, size_t n, struct ff_error *err);
/* The upload broke off: a waiting forwarder gives up. */
void gw_stream_abandon(struct gw_stream *s);
/* The forward ended: later bytes are dropped, waiters wake. */
void gw_stream_stop(struct gw_stream *s);
/*
 * Waits up to wait_ms for segment seg (0-based) to be complete. FF_OK with
 * its SHA-256 in sha, its place in the message in *off and *len, and its
 * bytes in *mem (a slot, valid until gw_stream_sent) or, when *mem is
 * NULL, in the spill file at *off. FF_EAGAIN: not yet, ask again;
 * FF_ECANCELED: abandoned or stopped.
 */
int gw_stream_wait(struct gw_stream *s, uint64_t seg, int64_t wait_ms, unsigned char sha[32],
		   uint64_t *off, uint64_t *len, const char **mem);
/* Segment seg was delivered: its slot is free for a later segment. */
void gw_stream_sent(struct gw_stream *s, uint64_t seg);
/*
 * The forward delivered the whole message: gives the slots' memory back
 * now (no segment is written any more), not only at the last reference.
 */
void gw_stream_release(struct gw_stream *s);

/* ---- the index ---- */

struct gw_store;

int gw_store_new(struct gw_store **out);
/* Frees every entry and body. Waiters still registered are forgotten. */
void gw_store_free(struct gw_store *st);

/*
 * Reserves k for a local task's upload identified by id (unique per
 * upload). FF_EEXIST when the message was already sent or is being sent,
 * FF_ECANCELED when its destination task ended (gateway_drop).
 */
int gw_store_reserve(struct gw_store *st, const struct gw_key *k, uint64_t id,
		     struct ff_error *err);
/* Forgets the reservation of a failed or abandoned upload. */
void gw_store_cancel(struct gw_store *st, const struct gw_key *k, uint64_t id);
/*
 * Completes upload id. Local (remote false): the body goes to the waiting
 * receiver (*waiter set, *body left for the caller to hand over) or into
 * the store (*body set to NULL, the store owns it). Remote: the message is
 * marked forwarding; *body stays with the caller. FF_ECANCELED when the
 * reservation is gone (the destination task ended meanwhile).
 */
int gw_store_commit(struct gw_store *st, const struct gw_key *k, uint64_t id,
		    struct gw_body **body, bool remote, void **waiter, struct ff_error *err);
/* A forward of upload id ended: sent (kept as a record) or forgotten. */
void gw_store_forwarded(struct gw_store *st, const struct gw_key *k, uint64_t id, bool ok);
/*
 * A receiver asks for k. FF_OK: *body is the message (owned by the caller;
 * the message is marked taken). FF_EAGAIN: not there yet, waiter is now
 * registered for it (*replaced gets a previous waiter of the same key,
 * which the caller must answer). Errors: already received (FF_EEXIST),
 * destination ended (FF_ECANCELED), not a local destination (FF_EPARAM).
 */
int gw_store_take(struct gw_store *st, const struct gw_key *k, void *waiter,
		  struct gw_body **body, void **replaced, struct ff_error *err);
/*
 * A receiver on this host following a partner's message that arrives in
 * segments (docs/internals/gateway.md, "Following a message"): it reads
 * the verified bytes from the partial's spill file while the rest
 * arrives, and frees them from the file as it goes. The first follow pull
 * attaches (the message is taken then: nobody else receives it), later
 * ones carry the token and the bytes read.
 */
struct gw_follow {
	bool want;             /* in: the receiver follows partial messages */
	uint64_t id;           /* in: its token, 0 to attach; out: the answer's token */
	uint64_t seen;         /* in: bytes it has read */
	bool partial;          /* out: a partial to follow (have, total, path) */
	uint64_t have, total;
	uint64_t ring;         /* out: path is a ring of this size (0: a plain file) */
	char *path;            /* out: owned by the caller (ff_free) */
};

/*
 * gw_store_take for a receiver that may follow (fl NULL: one that does
 * not). Besides gw_store_take's outcomes: FF_OK with *body NULL and
 * fl->partial: attached to (or more bytes of) a partial message; FF_OK
 * with *body and fl->id != 0: the followed message is complete, *body is
 * its file (the rest after fl->seen is to be read). A followed message is
 * refused (FF_EEXIST, "already received") to every pull without its
 * token. A follower whose token is stale (the sender started the message
 * over) attaches again with a new token and starts from byte 0.
 */
int gw_store_take_follow(struct gw_store *st, const struct gw_key *k, void *waiter,
			 struct gw_follow *fl, struct gw_body **body, void **replaced,
			 struct ff_error *err);
/*
 * Keeps the handed-off body (gw_body_hand_off) of the taken message k with
 * its record, so that gateway_drop deletes its file when the task ends if
 * the receiver did not. FF_ECANCELED when the record is gone (dropped
 * meanwhile): *body stays with the caller.
 */
int gw_store_keep(struct gw_store *st, const struct gw_key *k, struct gw_body **body);
/*
 * Unregisters waiter from k. False when it was no longer registered (a
 * message was handed to it, or it was replaced or dropped meanwhile).
 */
bool gw_store_unwait(struct gw_store *st, const struct gw_key *k, void *waiter);

/*
 * Partners' deliveries. One request carries the whole message (total
 * GW_WHOLE, off 0) or bytes [off, off + len) of a message of total bytes
 * sent in segments, in order, all with the same msg_id. The message is
 * received (READY, or handed to its receiver) only when its last byte was
 * verified; until then it is a partial entry (counted as receiving) that
 * keeps the verified segments in its body.
 *
 * gw_store_seg_begin claims the message for request id:
 *  - FF_OK: write the segment into *body. *body is NULL for a new message
 *    (the caller makes the body) or the partial's body, to be cut back to
 *    off (gw_body_truncate) when a broken-off attempt left more;
 *  - FF_OK with *again: the message or this segment was already stored
 *    with this msg_id (a retry whose answer was lost): answer success, keep
 *    nothing;
 *  - FF_EAGAIN: another request is writing this msg_id (a retry overtook
 *    a broken connection not yet noticed): the sender tries again later;
 *  - FF_EPROTO: the segment does not follow what was received (off is not
 *    the next byte, or total differs);
 *  - FF_EEXIST: sent already or being sent with another msg_id;
 *  - FF_ECANCELED: the destination task ended.
 * A partial whose sender gave up (a new msg_id starting at offset 0) is
 * replaced: its body is handed out to be reused from byte 0.
 */
int gw_store_seg_begin(struct gw_store *st, const struct gw_key *k, uint64_t id,
		       const char *msg_id, uint64_t off, uint64_t len, uint64_t total,
		       struct gw_body **body, bool *again, struct ff_error *err);
/*
 * gw_store_seg_begin that also says, in *ring, whether the caller should
 * make the new body a ring (gw_body_new_ring): a new message in segments
 * whose receiver already waits to follow it. A segment of a partial in a
 * ring waits (up to GW_RING_WAIT_MS) until its follower has read what the
 * segment would overwrite; FF_EAGAIN when it did not.
 */
int gw_store_seg_begin_ring(struct gw_store *st, const struct gw_key *k, uint64_t id,
			    const char *msg_id, uint64_t off, uint64_t len, uint64_t total,
			    struct gw_body **body, bool *again, bool *ring,
			    struct ff_error *err);
/*
 * Segment of request id verified; (*body)->size bytes are now held. The
 * last segment completes the message: it goes to the waiting receiver
 * (*waiter set, *body left for the caller to hand over) or into the store
 * (*body NULL); *complete says which happened. Otherwise the body is kept
 * by the partial entry (*body NULL). FF_ECANCELED when the claim is gone
 * (the destination task ended meanwhile): the caller frees *body.
 */
int gw_store_seg_end(struct gw_store *st, const struct gw_key *k, uint64_t id,
		     struct gw_body **body, void **waiter, bool *complete, struct ff_error *err);
/*
 * gw_store_seg_end that also hands a parked follower its news: with a
 * segment that is not the last, *waiter may be set with fl->partial (the
 * verified bytes to follow, fl->path owned by the caller); with the last
 * one, fl->id is the follower's token when *waiter follows the message.
 * A followed message completed while its follower is not parked stays
 * (taken) until the follower's next pull.
 */
int gw_store_seg_end_follow(struct gw_store *st, const struct gw_key *k, uint64_t id,
			    struct gw_body **body, void **waiter, bool *complete,
			    struct gw_follow *fl, struct ff_error *err);
/*
 * Request id's segment failed. discard (the bytes did not match their
 * signed SHA-256), or nothing verified yet: the whole message is
 * forgotten (a waiting receiver keeps waiting) and *body stays for the
 * caller to free. Otherwise (the request broke off) the partial keeps the
 * body (*body NULL) for the sender's retry.
 */
void gw_store_seg_abort(struct gw_store *st, const struct gw_key *k, uint64_t id,
			struct gw_body **body, bool discard);

/*
 * Drops the messages of session addressed to (role, party_id) and the
 * forward records sent by it, refuses later ones for an hour, and hands
 * back the receivers that were waiting for them (array owned by the
 * caller: ff_free; *n entries). Bodies are freed.
 */
int gw_store_drop(struct gw_store *st, const char *session, const char *role,
		  const char *party_id, void ***waiters, size_t *n);
void gw_store_stats(struct gw_store *st, struct gateway_stats *out);

/* ---- forwarding to other sites ---- */

struct gw_forward;
struct gw_fwd_job;
typedef void (*gw_fwd_done_cb)(struct gw_fwd_job *j);

struct gw_fwd_job {
	struct gw_fwd_job *next;
	struct gw_key key;
	uint64_t id;                      /* the upload's reservation */
	char msg_id[GW_MSG_ID_LEN + 1];   /* same for every attempt */
	/*
	 * Either a complete body (owned by the job) with its SHA-256, sent as
	 * one delivery, or a stream (one reference held by the job) sent
	 * segment by segment as the upload completes them.
	 */
	struct gw_body *body;
	struct gw_stream *stream;
	unsigned char sha[32];
	char url[256];                    /* destination site's base URL */
	/* result, set before done runs */
	int ret;
	struct ff_error err;
	int tries;
	/*
	 * done runs once, after the last attempt, on a forwarder thread (or
	 * in gw_forward_stop for a job that never started); it owns j.
	 */
	gw_fwd_done_cb done;
	void *arg, *arg2;
};

/*
 * Starts nthreads forwarder threads. key and party_id (this site's) are
 * borrowed and must outlive the forwarder. tries >= 1 attempts per message
 * on connection failures, with backoff from 500 ms doubling to 8 s;
 * connect_ms bounds each connection attempt.
 */
int gw_forward_start(struct gw_forward **out, const struct sign_key *key,
		     const char *party_id, int nthreads, int tries, long connect_ms,
		     struct ff_error *err);
/* Queues j (ownership passes to the forwarder until done runs). */
void gw_forward_submit(struct gw_forward *fw, struct gw_fwd_job *j);
/*
 * Aborts transfers in flight and queued jobs (their done runs with
 * FF_ECANCELED), joins the threads, frees fw. NULL is fine.
 */
void gw_forward_stop(struct gw_forward *fw);

/* ---- the gateway object (gateway.c) ---- */

struct gw_waiter;
struct gw_linger;

struct gateway {
	struct site *site;
	char *dir;                        /* <home>/gateway */
	char *ring_prefix;                /* GW_RING_DIR/ffgw-<pid>-<hash of dir>-, NULL: none */
	struct gw_store *store;
	struct gw_forward *fwd;           /* NULL once stopped */
	uint64_t next_id;                 /* atomic */
	/* under lock: parked receivers (deadlines, shutdown) */
	pthread_mutex_t lock;
	struct gw_waiter *waiters;
	struct gw_linger *lingers;        /* held descriptors of handed-over files */
	struct gw_ring_push *ring_pushes; /* tasks' sends through rings (gw_ring.c) */
	int64_t ring_idle_ms;             /* scheduler.ring_push_idle */
	uint64_t ring_pushes_opened;      /* atomic, for the stats */
	bool stopping;
	pthread_cond_t timer_cond;        /* CLOCK_MONOTONIC */
	pthread_t timer;
	bool timer_started, timer_quit;
};

/* The site's gateway, made on first use (thread-safe); NULL with err. */
struct gateway *gateway_get(struct site *s, struct ff_error *err);
/* A fresh upload id (thread-safe). */
uint64_t gateway_next_id(struct gateway *gw);

/*
 * Receive side (core thread, a suspended request): answers r with the
 * message k if it is there, else parks r until the message arrives or
 * wait_ms passed (then the answer says "not yet" and the task asks
 * again). A parked r is answered later by another thread. as_file: the
 * receiver runs on this host and reads a spilled message from its file
 * itself; the answer then names the file instead of carrying the bytes.
 * follow (borrowed; NULL or want false: none): such a receiver also
 * follows a partner's message while its segments arrive (gw_follow).
 * follow (borrowed; NULL or want false: none): such a receiver also
 * follows a partner's message while its segments arrive (gw_follow).
 */
void gateway_pull(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		  int64_t wait_ms, bool as_file, const struct gw_follow *follow);
/*
 * Hands a committed local message to the waiter gw_store_commit returned
 * and answers it (any thread; takes ownership of body).
 */
void gateway_hand_over(struct gateway *gw, void *waiter, struct gw_body *body);
/*
 * Answers the waiter gw_store_seg_end_follow returned: with fl->partial,
 * the follower's news (body NULL; fl->path is freed); else as
 * gateway_hand_over, telling a follower (fl->id) the file's end.
 */
void gateway_hand_follow(struct gateway *gw, void *waiter, struct gw_body *body,
			 struct gw_follow *fl);
/*
 * Forwards a committed remote message to url (core thread; takes
 * ownership of body); r (suspended) is answered by the forwarder thread
 * when the message was delivered or failed.
 */
void gateway_forward(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		     uint64_t id, struct gw_body *body, const unsigned char sha[32],
		     const char *url);
/*
 * Starts forwarding stream s (reserved as upload id) to url while it is
 * uploaded (worker thread, first chunk). The job takes its own reference.
 * FF_ECANCELED when the gateway is stopping.
 */
int gateway_forward_stream(struct gateway *gw, const struct gw_key *k, uint64_t id,
			   struct gw_stream *s, const char *url, struct ff_error *err);
/*
 * The push handler of a streamed message (core thread, upload complete,
 * message committed as forwarding): r is answered with the forward's
 * outcome, now if it ended already, else by the forwarder when it does.
 * committed false (the commit failed and r was answered): the forward is
 * stopped and nobody is answered.
 */
void gateway_stream_done(struct gateway *gw, struct http_req *r, const struct gw_key *k,
			 uint64_t id, struct gw_stream *s, bool committed);

/* ---- ring pushes (gw_ring.c) ---- */

struct gw_ring_push;

/* What a task needs to write into a ring push. */
struct gw_ring_open {
	uint64_t id;              /* the push, for its steps */
	size_t slots;             /* segment k goes into slot k % slots */
	char path[512];           /* the ring: slots * GW_SEG_SIZE bytes */
};

/* A step's outcome. */
struct gw_ring_step {
	bool free;                /* the slot of segment `need` may be written */
	bool done;                /* the message was delivered (FF_OK) */
	uint64_t size;
	int tries;                /* attempts of the delivery that took most */
};

/*
 * A task's send of total bytes (> GW_SEG_SIZE) to the site at url through
 * a ring (gw->ring_prefix must be set): reserves the key, makes the ring
 * and starts the forward. Errors as a push (duplicate: FF_EEXIST) or
 * FF_ENOMEM when the memory budget has no room for the ring.
 */
int gateway_ring_open(struct gateway *gw, const struct gw_key *k, uint64_t total,
		      const char *url, struct gw_ring_open *out, struct ff_error *err);
/*
 * Push id's task has written segments [0, written): the new ones are
 * hashed where they lie and forwarded. Then waits up to
 * GW_RING_STEP_WAIT_MS until the slot of segment need is free or the
 * forward ended (out). A push ends with the step that sees the end of its
 * forward (done, or its error). FF_EPARAM for a push id unknown for k or
 * a written count out of range; FF_EPROTO when a segment was written into
 * a slot not yet free (the push fails).
 */
int gateway_ring_step(struct gateway *gw, uint64_t id, const struct gw_key *k,
		      uint64_t written, uint64_t need, struct gw_ring_step *out,
		      struct ff_error *err);
/*
 * Under gw->lock (the timer thread): moves the pushes idle for
 * gw->ring_idle_ms to *gone; returns the next time one may expire.
 */
int64_t gw_ring_expire(struct gateway *gw, int64_t now, struct gw_ring_push **gone);
/* Under gw->lock: takes every push not in a step (shutdown). */
struct gw_ring_push *gw_ring_take_all(struct gateway *gw);
/* Without gw->lock: abandons the pushes taken, logging why. */
void gw_ring_drop(struct gateway *gw, struct gw_ring_push *gone, const char *why);

#endif
