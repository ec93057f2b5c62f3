/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway.h - fedflowd's message gateway: the byte messages the party tasks
 * of one federated task exchange (libfedflow's fedflow/fed.h).
 *
 * A message goes task -> its site's gateway -> the destination site's
 * gateway -> the destination task, identified by (session, tag, source
 * role and party, destination role and party), where the session is the
 * task's federation id "<task_id>_<version>". When this daemon runs the
 * destination party (standalone mode, or the site's own party) the message
 * is stored here until the destination task takes it; otherwise it is
 * forwarded, signed with the site key, to the destination party's gateway
 * from the route table. Bodies above GATEWAY_MEM_MAX are spilled to files
 * under <home>/gateway/. A large message to another site is forwarded in
 * separately signed segments while its task is still uploading it, and
 * becomes visible at the destination only whole (a receiver on the
 * destination's host may follow its verified segments as they arrive).
 * Each key is accepted once and received once.
 * docs/internals/gateway.md describes routes, headers and failures.
 *
 * The HTTP side lives in src/api/api_gateway.c and registers itself. The
 * gateway is created on first use; gateway_init and gateway_release let
 * the daemon do it at start and stop instead.
 */
#ifndef FF_GATEWAY_H
#define FF_GATEWAY_H

#include <stdint.h>
#include "err.h"

struct site;

#define GATEWAY_MEM_MAX ((uint64_t)1 << 20)      /* larger bodies go to disk */
#define GATEWAY_MEM_BUDGET ((uint64_t)64 << 20)  /* all bodies in memory */

struct gateway_stats {
	uint64_t messages;       /* keys known (waiting, in transit, stored, done) */
	uint64_t ready;          /* stored, not yet received */
	uint64_t receiving;      /* uploads in progress */
	uint64_t waiting;        /* receivers parked on a message */
	uint64_t forwarding;     /* being pushed to another site */
	uint64_t done;           /* received or forwarded (kept for exactly-once) */
	uint64_t dropped;        /* (session, destination) pairs refusing messages */
	uint64_t mem_bytes;      /* body bytes (and stream segment slots) in memory */
	uint64_t spill_bytes;    /* body bytes held in spill files */
	uint64_t spill_files;
	uint64_t followed;       /* messages taken by a follower (while they arrived) */
	uint64_t rings;          /* partners' messages received into a ring */
	uint64_t ring_pushes;    /* tasks' sends through a ring (opened) */
};

/*
 * Creates the gateway of s: empties and recreates <home>/gateway (messages
 * of an earlier run belong to tasks that no longer exist) and starts the
 * forwarder threads. Optional (done on first use otherwise). Core thread,
 * after the store is open; FF_OK when already done.
 */
int gateway_init(struct site *s, struct ff_error *err);
/*
 * Answers every parked receive ("the site's daemon is stopping"), stops
 * the forwarder threads (transfers in flight fail and their senders are
 * answered) and refuses new receives. libmicrohttpd aborts the process
 * when it is stopped with a request still suspended, so call this after
 * the core loop ended and BEFORE http_server_stop. Idempotent.
 */
void gateway_stop(struct site *s);
/*
 * gateway_stop if not done, then frees every message and the gateway.
 * Call AFTER http_server_stop (no request may still use the gateway) and
 * before the core loop is freed. Idempotent.
 */
void gateway_release(struct site *s);

/*
 * The task of (role, party_id) in session ended: drops the messages
 * addressed to it (answering its parked receives with an error), forgets
 * the forward records of messages it sent, and refuses messages for it
 * that arrive later (for an hour). session is the task's federation id,
 * "<task_id>_<task_version>". Core thread; a no-op before the gateway
 * exists.
 */
void gateway_drop(struct site *s, const char *session, const char *role, const char *party_id);

/* Counters for the stats route and tests (thread-safe). */
int gateway_stats(struct site *s, struct gateway_stats *out, struct ff_error *err);

#endif
