/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fed.h - the command channel between a job's scheduler and its parties.
 *
 * The scheduler (src/sched) and the participant (src/party) talk only
 * through this interface, with FATE-Flow's command names and JSON bodies
 * (spec §1.4-1.5): the scheduler fans a partner command out to a set of
 * (role, party_id) targets and gets one result per target; a participant
 * sends scheduler commands (task report, job stop, rerun) to the job's
 * scheduler party. A target run by this daemon (standalone mode, or the
 * site's own party) is served in process by calling the same command
 * handler that the HTTP partner/scheduler pages call; other targets go
 * over signed HTTP (site mode). Either way results arrive asynchronously
 * on the core thread, never inside the call that issued them.
 *
 * Core thread only.
 */
#ifndef FF_FED_H
#define FF_FED_H

#include <jansson.h>
#include <stdbool.h>
#include "err.h"
#include "ev.h"

struct site;

struct fed_target {
	char role[64];
	char party_id[64];
};

struct fed_result {
	struct fed_target target;
	int code;           /* FATE code of the answer; 104 when unreachable */
	char *message;      /* owned */
	json_t *resp;       /* whole answer (owned reference) or NULL */
};

struct fed_call;
typedef void (*fed_done_cb)(struct fed_call *call, void *arg);

struct fed_call {
	struct site *site;
	char endpoint[96];          /* "/partner/job/create" */
	size_t n;
	size_t pending;
	struct fed_result *res;     /* n results, target order */
	fed_done_cb cb;
	void *arg;
	struct ev_defer defer;
};

/*
 * Partner command handler of this daemon: runs command (e.g. "job/create")
 * with body and returns the answer envelope (new reference). Installed by
 * src/party at start.
 */
typedef json_t *(*fed_partner_fn)(struct site *s, const char *command, const json_t *body);
/*
 * Scheduler command handler of this daemon; answers by calling reply(ctx,
 * envelope) exactly once, possibly later (job creation fans out first).
 */
typedef void (*fed_reply_fn)(void *ctx, json_t *envelope);
typedef void (*fed_sched_fn)(struct site *s, const char *command, const json_t *body,
			     fed_reply_fn reply, void *ctx);

void fed_set_handlers(struct site *s, fed_partner_fn partner, fed_sched_fn sched);
int fed_init(struct site *s, struct ff_error *err);
void fed_release(struct site *s);

/*
 * Sends endpoint ("/partner/<command>") to every target with body plus
 * {"role", "party_id"} of that target. cb runs once, after every target
 * answered or failed; the call and its results are freed after cb
 * returns. Returns FF_ENOMEM only; delivery failures are results.
 */
int fed_partner_fanout(struct site *s, const char *command, const json_t *body,
		       const struct fed_target *targets, size_t n, fed_done_cb cb, void *arg);
/* Sends "/scheduler/<command>" to the scheduler party; cb gets one result. */
int fed_scheduler_send(struct site *s, const char *scheduler_party_id,
		       const char *command, const json_t *body, fed_done_cb cb, void *arg);

/* True when every result has code 0. */
bool fed_all_ok(const struct fed_call *c);
/* "host 10000: <message>" of the first failed result, into buf. */
void fed_first_error(const struct fed_call *c, char *buf, size_t n);

#endif
