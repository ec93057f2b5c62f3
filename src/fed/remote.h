/* SPDX-License-Identifier: Apache-2.0 */
/*
 * remote.h - signed commands to other sites, asynchronously.
 *
 * libcurl's multi interface runs inside the core loop (its sockets are
 * loop watchers, its timeout a loop timer), so a slow or dead partner
 * never blocks the scheduler: the command completes later, like a local
 * one. Each command is a POST of JSON to <partner url>/v2<endpoint>,
 * signed with this site's key (src/auth/sign.h). Transport failures and
 * answers that are not JSON are retried with exponential backoff up to
 * federated_command_trys attempts; then the result is a FATE 104 envelope
 * whose message names the party and the command. Commands to a partner
 * that already has requests in flight are queued and sent together, as
 * one POST /v2/fed/batch (see remote.c). Core thread only, except
 * remote_stats.
 */
#ifndef FF_REMOTE_H
#define FF_REMOTE_H

#include <jansson.h>
#include <stdint.h>
#include "err.h"

struct site;

/* Receives the answer envelope (reference stolen), never NULL. */
typedef void (*remote_done_cb)(void *arg, json_t *envelope);

int remote_init(struct site *s, struct ff_error *err);
void remote_release(struct site *s);

/* Sends body to party_id's endpoint ("/partner/job/create"). */
int remote_send(struct site *s, const char *party_id, const char *endpoint,
		const json_t *body, remote_done_cb cb, void *arg);

/* Commands in flight (for tests and metrics). Core thread. */
size_t remote_inflight(const struct site *s);

/* Commands sent to partners, the requests that carried them, and how many
 * of those were batches; counted since start. Any thread. */
struct remote_stats {
	uint64_t commands;
	uint64_t requests;
	uint64_t batches;
};
void remote_stats(const struct site *s, struct remote_stats *out);

#endif
