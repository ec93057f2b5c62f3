/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fedflow/fed.h - messages between the tasks of one federated task.
 *
 * The party tasks of one DAG task (e.g. lr_0 at guest 9999, host 10000
 * and arbiter 10001) exchange byte messages identified by a tag. A
 * message goes task -> own site's fedflowd gateway -> destination site's
 * gateway -> destination task; in standalone mode the one daemon plays
 * every gateway and the same calls work. Properties:
 *   - any size: bodies are streamed, and a gateway spills messages above
 *     a threshold to disk instead of holding them in memory; a task whose
 *     gateway is on its host (a loopback address) reads a spilled message
 *     it receives straight from the gateway's spill file, which it opens
 *     and deletes (the task needs read access to the daemon's home);
 *   - exactly once per (job, task, version, tag, source, destination):
 *     sending the same tag to the same party twice is an error, and a
 *     receive returns each message once;
 *   - order-free: recv(tag) waits for that tag whatever else arrived;
 *   - a receive waits at most the timeout (default 10 minutes, set with
 *     ff_fed_set_timeout, or in seconds with the task parameter
 *     "federation_timeout" or conf "federation_timeout"), then fails with
 *     FF_ETIMEDOUT and a message naming tag and peer: "timed out after
 *     600 s waiting for message 'x' from host 10000". A send waits at most
 *     the same timeout for its site's gateway to accept the message (when
 *     the destination is at another site: until that site stored it);
 *   - the messages of a task are dropped when the task ends.
 * Errors of send and receive: FF_EEXIST (the tag was already sent to that
 * party, or already received), FF_ETIMEDOUT, FF_ECANCELED (the peer's task
 * ended), FF_EFEDERATED (the destination's site refused or could not be
 * reached after retries), FF_EINVAL (bad tag or peer), FF_ECONNREFUSED or
 * FF_EIO (the own site's gateway cannot be reached); err says which
 * message and peer.
 * Tags are 1..128 characters of [A-Za-z0-9_.:-]; use one tag per logical
 * message and include loop counters ("lr.epoch3.batch7.grad").
 *
 * Ownership: received buffers are owned by the caller (free with
 * ff_fed_free). Not thread-safe per struct ff_fed.
 */
#ifndef FEDFLOW_FED_H
#define FEDFLOW_FED_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct ff_task;
struct ff_fed;

/* Reads conf.federation of the task config (gateway, session, parties). */
int ff_fed_open(struct ff_task *t, struct ff_fed **out, struct ff_error *err);
void ff_fed_close(struct ff_fed *f);
/* Receive timeout in milliseconds (0 = wait forever). */
void ff_fed_set_timeout(struct ff_fed *f, int64_t ms);

/* This task's own role and party id. */
const char *ff_fed_role(const struct ff_fed *f);
const char *ff_fed_party_id(const struct ff_fed *f);
/* Party ids of the task's parties with a role (borrowed; count in *n). */
const char *const *ff_fed_parties(const struct ff_fed *f, const char *role, size_t *n);

/* Sends len bytes to (role, party_id). */
int ff_fed_send(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		const void *data, size_t len, struct ff_error *err);
/*
 * Waits for the message tag from (role, party_id); *data owned (ff_fed_free;
 * one extra NUL byte follows the message), *len its size.
 */
int ff_fed_recv(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		void **data, size_t *len, struct ff_error *err);
void ff_fed_free(void *data);

/* Streams len bytes read from fd (from its current offset) to the peer. */
int ff_fed_send_fd(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		   int fd, uint64_t len, struct ff_error *err);
/*
 * Receives into fd (written from its current offset) without holding the
 * message in memory; *len gets the size. A regular file is written while
 * a large message from another site arrives (the gateway on this host);
 * should its sender start the message over, the file is cut back to the
 * starting offset and written again.
 */
int ff_fed_recv_fd(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		   int fd, uint64_t *len, struct ff_error *err);

/*
 * Sends the same bytes to every party of role (e.g. every host), in
 * ff_fed_parties order, skipping this task's own (role, party); stops at
 * the first failure.
 */
int ff_fed_broadcast(struct ff_fed *f, const char *tag, const char *role, const void *data,
		     size_t len, struct ff_error *err);
/*
 * Receives tag from every party of role, in ff_fed_parties order:
 * datas[i]/lens[i] for party i (arrays and buffers owned: ff_fed_free
 * each buffer and both arrays). This task's own (role, party), if listed,
 * gets NULL and 0.
 */
int ff_fed_gather(struct ff_fed *f, const char *tag, const char *role, void ***datas,
		  size_t **lens, size_t *n, struct ff_error *err);

#endif
