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
 *   - struct gw_store: the index of every message of this site, one entry
 *     per key with its state (waiting, receiving, ready, taken, forwarding,
 *     sent), under one mutex;
 *   - struct gw_forward: threads that push messages for other sites to
 *     their gateways, signed, with retries;
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
/* "message 'tag' from guest 9999 to host 10000" into buf. */
const char *gw_key_text(const struct gw_key *k, char *buf, size_t n);

/* ---- bodies ---- */

struct gw_body {
	uint64_t size;            /* bytes written */
	struct ff_buf mem;        /* the bytes while fd < 0 */
	int fd;                   /* spill file, -1 while in memory */
	char *path;               /* spill file path (owned), unlinked on free */
	const char *dir;          /* spill folder (borrowed from the gateway) */
	size_t charged;           /* bytes counted against the memory budget */
	bool hashing;
	struct sign_sha256_state sha;
};

/*
 * New empty body. expect is the announced size (UINT64_MAX when unknown):
 * above GW_MEM_MAX, or when the process-wide memory budget has no room,
 * the body goes to a file in dir from the first byte. hash: keep a
 * SHA-256 of the bytes. dir is borrowed and must outlive the body.
 * Returns owned (gw_body_free) or NULL with err set.
 */
struct gw_body *gw_body_new(const char *dir, uint64_t expect, bool hash, struct ff_error *err);
/* Appends n bytes (spills when the memory part would pass its limits). */
int gw_body_write(struct gw_body *b, const void *data, size_t n, struct ff_error *err);
/* The SHA-256 of everything written (hash must have been requested). */
void gw_body_sha(struct gw_body *b, unsigned char out[32]);
/*
 * A new read-only descriptor of a spilled body (owned by the caller, whose
 * reads do not disturb the body), or -1 for a body in memory.
 */
int gw_body_dup_fd(const struct gw_body *b);
/* Frees memory, closes and deletes the spill file. NULL is fine. */
void gw_body_free(struct gw_body *b);
/* Bytes held in memory by all bodies of the process. */
uint64_t gw_body_mem_used(void);

/* ---- the index ---- */

struct gw_store;

int gw_store_new(struct gw_store **out);
/* Frees every entry and body. Waiters still registered are forgotten. */
void gw_store_free(struct gw_store *st);

/*
 * Reserves k for an upload identified by id (unique per upload). FF_EEXIST
 * when the message was already sent or is being sent, FF_ECANCELED when
 * its destination task ended (gateway_drop). For a delivery retried by a
 * partner (same msg_id as the stored message) *again is set and FF_OK
 * returned without a reservation: the caller discards the body.
 */
int gw_store_reserve(struct gw_store *st, const struct gw_key *k, uint64_t id,
		     const char *msg_id, bool *again, struct ff_error *err);
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
 * Unregisters waiter from k. False when it was no longer registered (a
 * message was handed to it, or it was replaced or dropped meanwhile).
 */
bool gw_store_unwait(struct gw_store *st, const struct gw_key *k, void *waiter);

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
	struct gw_body *body;             /* owned by the job */
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

struct gateway {
	struct site *site;
	char *dir;                        /* <home>/gateway */
	struct gw_store *store;
	struct gw_forward *fwd;           /* NULL once stopped */
	uint64_t next_id;                 /* atomic */
	/* under lock: parked receivers (deadlines, shutdown) */
	pthread_mutex_t lock;
	struct gw_waiter *waiters;
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
 * again). A parked r is answered later by another thread.
 */
void gateway_pull(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		  int64_t wait_ms);
/*
 * Hands a committed local message to the waiter gw_store_commit returned
 * and answers it (any thread; takes ownership of body).
 */
void gateway_hand_over(struct gateway *gw, void *waiter, struct gw_body *body);
/*
 * Forwards a committed remote message to url (core thread; takes
 * ownership of body); r (suspended) is answered by the forwarder thread
 * when the message was delivered or failed.
 */
void gateway_forward(struct gateway *gw, struct http_req *r, const struct gw_key *k,
		     uint64_t id, struct gw_body *body, const unsigned char sha[32],
		     const char *url);

#endif
