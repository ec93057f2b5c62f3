/* SPDX-License-Identifier: Apache-2.0 */
/*
 * comp_memnet.h - an in-process implementation of the component channel
 * (struct comp_net): the party tasks of one federated task run as threads
 * of one process and exchange messages through a shared hub with the fed
 * API's semantics (tag-addressed, exactly once per (tag, source,
 * destination), order-free, receive timeout). Used by the protocol tests,
 * bench/lr and fedflow-algo-local; never by fedflowd.
 *
 * Faults for tests: a hub can alter the first message whose tag starts with
 * a prefix and that a given role sends (truncate, garble, empty), to prove
 * that receivers fail with a clear error. comp_memhub_abort wakes every
 * waiting receiver with FF_ECANCELED (used when one party failed).
 *
 * Thread-safe: any number of endpoints of one hub may be used from
 * different threads (one endpoint per thread).
 */
#ifndef COMP_MEMNET_H
#define COMP_MEMNET_H

#include <stdint.h>
#include "comp_util.h"

struct comp_memhub;

enum comp_memhub_fault {
	COMP_FAULT_NONE,
	COMP_FAULT_TRUNCATE, /* drop the second half of the message */
	COMP_FAULT_GARBLE,   /* flip every 7th byte of the second half */
	COMP_FAULT_EMPTY,    /* deliver zero bytes */
};

int comp_memhub_new(struct comp_memhub **out);
/* Frees the hub and undelivered messages; endpoints must be closed first. */
void comp_memhub_free(struct comp_memhub *h);
/* Declares a party; do it for every party before the first message. */
int comp_memhub_add(struct comp_memhub *h, const char *role, const char *party);
/* Endpoint of (role, party) (declared); free with comp_net_close. */
int comp_memhub_net(struct comp_memhub *h, const char *role, const char *party,
		    struct comp_net **out, struct ff_error *err);
/* Receive timeout in ms (default 600000; 0 = forever). */
void comp_memhub_set_timeout(struct comp_memhub *h, int64_t ms);
/* Wakes all receivers, now and later, with FF_ECANCELED and why. */
void comp_memhub_abort(struct comp_memhub *h, const char *why);
void comp_memhub_fault(struct comp_memhub *h, const char *tag_prefix, const char *from_role,
		       enum comp_memhub_fault f);
/* Bytes and messages sent through the hub so far. */
uint64_t comp_memhub_bytes(struct comp_memhub *h);
uint64_t comp_memhub_messages(struct comp_memhub *h);

/*
 * Hooks that route comp_net_open of any task to the hub (the task's role and
 * party id pick the endpoint) and collect metrics into a JSON array per
 * (role, party): {"role", "party_id", "task", "name", "type", "data"}.
 */
void comp_memhub_install_hooks(struct comp_memhub *h);
/* The metrics collected (borrowed; valid until the hub is freed). */
json_t *comp_memhub_metrics(struct comp_memhub *h);

#endif
