/* SPDX-License-Identifier: Apache-2.0 */
/*
 * comp_util.h - what the algorithm components of the built-in provider
 * share (comp_util.c, comp_frame.c, comp_model.c): the message channel
 * between the party tasks of one federated task, a checked message codec,
 * parameter helpers, dense data frames read from and written to tables,
 * JSON models and metrics.
 *
 * Channel. Components talk to their peers only through struct comp_net,
 * whose default implementation is libfedflow's fed API (fedflow/fed.h):
 * guest, host and arbiter may run in three different fedflowd sites. An
 * in-process implementation (comp_memnet.c: threads and a shared hub) is
 * installed with comp_hooks_set by tests, bench/lr and fedflow-algo-local;
 * the component code cannot tell the two apart.
 *
 * Messages. Every message starts with a 4-byte magic and a status byte.
 * A party that fails sends an error status with its message in place of
 * the next message its peer waits for (comp_net_send_error), so the peer
 * fails at once with "host 9998 failed: ..." instead of waiting for the
 * receive timeout. Readers check every length before reading: a truncated
 * or malformed message is FF_EPROTO naming the tag, the peer and the
 * offset, never a crash.
 *
 * Errors follow err.h; every err may be NULL. Not thread-safe unless a
 * function says so (the hooks are process-global and set before any task
 * runs).
 */
#ifndef COMP_UTIL_H
#define COMP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "err.h"
#include "fedflow/table.h"
#include "fedflow/task.h"

struct paillier_pub;
struct paillier_vec;

/* ------------------------------------------------------------- channel */

struct comp_net_ops {
	int (*send)(void *impl, const char *tag, const char *role, const char *party,
		    const void *data, size_t len, struct ff_error *err);
	/* *data owned by the caller, freed with free_buf */
	int (*recv)(void *impl, const char *tag, const char *role, const char *party,
		    void **data, size_t *len, struct ff_error *err);
	void (*free_buf)(void *data);
	/* party ids of role (borrowed), count in *n */
	const char *const *(*parties)(void *impl, const char *role, size_t *n);
	void (*close)(void *impl);
};

/* One party's end of the channel. role/party are this party's. */
struct comp_net {
	const struct comp_net_ops *ops;
	void *impl;
	char role[32];
	char party[96];
};

/*
 * Process-global hooks for in-process runs (tests, bench, local tool):
 * net_open replaces the fed API, metric replaces ff_task_metric (data is
 * stolen). NULL members keep the default. Set before tasks run.
 */
struct comp_hooks {
	void *ctx;
	int (*net_open)(void *ctx, struct ff_task *t, struct comp_net **out,
			struct ff_error *err);
	int (*metric)(void *ctx, struct ff_task *t, const char *name, const char *type,
		      json_t *data, struct ff_error *err);
};
void comp_hooks_set(const struct comp_hooks *h);

/* Opens the channel of task t (hooks, else the fed API). Free with comp_net_close. */
int comp_net_open(struct ff_task *t, struct comp_net **out, struct ff_error *err);
void comp_net_close(struct comp_net *n);
/* Party ids of role in the task (borrowed), count in *n; NULL when none. */
const char *const *comp_net_parties(struct comp_net *net, const char *role, size_t *n);

/* ------------------------------------------------------------- messages */

#define COMP_MSG_MAGIC "FFM1"
#define COMP_MSG_OK 0
#define COMP_MSG_FAILED 1
/* a single message body may not exceed this (refused on both sides) */
#define COMP_MSG_MAX ((size_t)4 << 30)

/* Message writer; errors are sticky and reported by comp_net_send. */
struct comp_msgw {
	unsigned char *buf;
	size_t len, cap;
	int ret;
};
void comp_msgw_init(struct comp_msgw *w);
void comp_msgw_release(struct comp_msgw *w);
void comp_msgw_u64(struct comp_msgw *w, uint64_t v);
void comp_msgw_f64(struct comp_msgw *w, double v);
/* count, then the values */
void comp_msgw_f64v(struct comp_msgw *w, const double *v, size_t n);
void comp_msgw_u64v(struct comp_msgw *w, const uint64_t *v, size_t n);
/* length, then the bytes */
void comp_msgw_bytes(struct comp_msgw *w, const void *data, size_t n);
void comp_msgw_str(struct comp_msgw *w, const char *s);
/* count, ciphertext size, then the ciphertexts (fixed width) */
void comp_msgw_cts(struct comp_msgw *w, const struct paillier_pub *pub,
		   const struct paillier_vec *c);
/* public key bytes (length-prefixed) */
void comp_msgw_pub(struct comp_msgw *w, const struct paillier_pub *pub);

/* Sends w (consumed: released on return). */
int comp_net_send(struct comp_net *net, const char *tag, const char *role, const char *party,
		  struct comp_msgw *w, struct ff_error *err);
/* Same message to every party of role. */
int comp_net_broadcast(struct comp_net *net, const char *tag, const char *role,
		       struct comp_msgw *w, struct ff_error *err);
/*
 * Best effort: tells (role, party) that this party failed, as the message
 * it waits for under tag. Errors are ignored (the peer then times out).
 */
void comp_net_send_error(struct comp_net *net, const char *tag, const char *role,
			 const char *party, const char *why);
/* comp_net_send_error to every party of role. */
void comp_net_broadcast_error(struct comp_net *net, const char *tag, const char *role,
			      const char *why);

/* Message reader over a received buffer (owned). */
struct comp_msgr {
	struct comp_net *net;
	unsigned char *data;
	size_t len, off;
	char tag[136];
	char peer[136];   /* "host 9998" */
};
/*
 * Receives tag from (role, party) and checks magic and status: a peer's
 * error status is FF_ECOMPONENT "host 9998 failed: <its message>".
 * Release r with comp_msgr_release in every case.
 */
int comp_net_recv(struct comp_net *net, const char *tag, const char *role, const char *party,
		  struct comp_msgr *r, struct ff_error *err);
void comp_msgr_release(struct comp_msgr *r);
int comp_msgr_u64(struct comp_msgr *r, uint64_t *v, struct ff_error *err);
int comp_msgr_f64(struct comp_msgr *r, double *v, struct ff_error *err);
/* Exactly n values expected (FF_EPROTO otherwise). */
int comp_msgr_f64v(struct comp_msgr *r, double *out, size_t n, struct ff_error *err);
/* Any count up to max: *out owned (ff_free), count in *n. */
int comp_msgr_f64v_alloc(struct comp_msgr *r, double **out, size_t *n, size_t max,
			 struct ff_error *err);
int comp_msgr_u64v_alloc(struct comp_msgr *r, uint64_t **out, size_t *n, size_t max,
			 struct ff_error *err);
/* Borrowed view of a length-prefixed byte string (valid while r lives). */
int comp_msgr_bytes(struct comp_msgr *r, const unsigned char **p, size_t *n, size_t max,
		    struct ff_error *err);
/* Owned NUL-terminated copy of a string of at most max bytes (no NUL inside). */
int comp_msgr_str(struct comp_msgr *r, char **out, size_t max, struct ff_error *err);
/*
 * Ciphertexts under pub: exactly n when n != SIZE_MAX, else any count up to
 * the remaining bytes. c must be PAILLIER_VEC_INIT or released; filled on
 * success. Out-of-range ciphertexts are FF_EPROTO.
 */
int comp_msgr_cts(struct comp_msgr *r, const struct paillier_pub *pub,
		  struct paillier_vec *c, size_t n, struct ff_error *err);
/* Public key into an initialised pub (checked by paillier_pub_from_bytes). */
int comp_msgr_pub(struct comp_msgr *r, struct paillier_pub *pub, struct ff_error *err);
/* No bytes may remain. */
int comp_msgr_end(struct comp_msgr *r, struct ff_error *err);

/* ----------------------------------------------------------- parameters */

/*
 * List parameter of strings: a JSON array of strings or null/absent (then
 * *present = false and *n = 0). Owned array of borrowed strings (ff_free).
 */
int comp_param_strs(struct ff_task *t, const char *name, const char ***out, size_t *n,
		    bool *present, struct ff_error *err);
/* List parameter of non-negative integers (same rules). Owned (ff_free). */
int comp_param_idxs(struct ff_task *t, const char *name, size_t **out, size_t *n,
		    bool *present, struct ff_error *err);
/* Object parameter or NULL (borrowed); FF_EINVAL if present and not an object. */
int comp_param_obj(struct ff_task *t, const char *name, const json_t **out,
		   struct ff_error *err);
/*
 * FATE's he_param {kind: "paillier", key_length: 1024}: kind must be
 * paillier, key_length >= PAILLIER_MIN_BITS (the refusal names both).
 */
int comp_he_param(struct ff_task *t, unsigned *key_bits, struct ff_error *err);
/* Worker threads for crypto batches: engine_run cores (or task cores) capped by CPUs. */
unsigned comp_threads(struct ff_task *t);

/* ----------------------------------------------------------- data frames */

#define COMP_FRAME_LABEL 1u      /* the table must have a label column */
#define COMP_FRAME_ALLOW_NAN 2u  /* NaN allowed in features (statistics: missing) */
#define COMP_FRAME_ALLOW_EMPTY 4u /* zero rows is not an error */
#define COMP_FRAME_NO_IDS 8u     /* do not load sample/match ids */

/*
 * One input table, dense: ds.x is n x d row-major, ds.label/ds.weight n
 * each (NULL without), ds.sid/ds.mid the ids. Feature names in schema.
 */
struct comp_frame {
	struct ff_table *tbl;
	struct ff_dataset ds;
	const struct ff_schema *schema; /* borrowed from tbl */
	const json_t *art;              /* the input artifact (borrowed from the task) */
	const char *key;
};
#define COMP_FRAME_INIT { .tbl = NULL, .ds = FF_DATASET_INIT }

/*
 * Loads input artifact idx of key. Checks: the input exists, the table
 * opens, it has rows (an empty table says "... has no rows (psi found no
 * common ids?)"), a label when asked, and every value finite (the error
 * names the column and the sample id).
 */
int comp_frame_load(struct ff_task *t, const char *key, size_t idx, unsigned flags,
		    struct comp_frame *f, struct ff_error *err);
/* Loads an already open table (tests, local runs). Takes ownership of tbl. */
int comp_frame_from_table(struct ff_table *tbl, const char *key, unsigned flags,
			  struct comp_frame *f, struct ff_error *err);
void comp_frame_release(struct comp_frame *f);
/* Feature index of name or -1. */
long comp_frame_col(const struct comp_frame *f, const char *name);
/* BLAKE2b-256 of the sample ids in row order (alignment check between parties). */
void comp_frame_sid_hash(const struct comp_frame *f, unsigned char out[32]);

/*
 * An output table: rows taken from a source frame (row index src_rows[i],
 * or row i when src_rows is NULL), ids from the source unless sids[i] is
 * given, features from x (n x d row-major, names in names[d]; x NULL =
 * the source row's features under the source names) and the
 * label/weight of the source row when the source has them and with_label
 * is set. Written at the URI of output key out_key and recorded in the
 * final meta.
 */
struct comp_out_table {
	const struct comp_frame *src;
	size_t n;
	const size_t *src_rows;       /* NULL = identity */
	const char *const *sids;      /* NULL = the source's */
	size_t d;
	const char *const *names;
	const double *x;
	bool with_label;
	bool with_weight;
	const double *label;          /* overrides the source label (NULL = source) */
	const char *label_name;       /* when label is given and src has none */
};
int comp_frame_write(struct ff_task *t, const char *out_key, const struct comp_out_table *o,
		     struct ff_error *err);

/* Anonymous column name of feature j of a party: "<role>_<party>_x<j>". */
void comp_anon_name(const char *role, const char *party, size_t j, char *out, size_t n);
/*
 * Columns chosen by a name-list parameter (col_param) or an index-list
 * parameter (idx_param, may be NULL); neither given = every feature (*all).
 * Names may be anonymous names when anon. *sel owned (ff_free). An unknown
 * name, an index out of range, both parameters, or a repeat is FF_EINVAL.
 */
int comp_select_cols(struct ff_task *t, const struct comp_frame *f, const char *col_param,
		     const char *idx_param, bool anon, size_t **sel, size_t *nsel, bool *all,
		     struct ff_error *err);

/* ---------------------------------------------------------------- models */

/*
 * Writes model (borrowed) as the JSON model of output key (ff_model_save_json)
 * with overview md (stolen, may be NULL).
 */
int comp_model_save(struct ff_task *t, const char *key, const json_t *model, json_t *md,
		    struct ff_error *err);
/* Model input idx of key: *out new reference. FF_ENOMODEL when absent. */
int comp_model_load(struct ff_task *t, const char *key, size_t idx, json_t **out,
		    struct ff_error *err);

/* --------------------------------------------------------------- metrics */

/*
 * Logs one metric (hook or ff_task_metric; data stolen). A metric that
 * cannot be delivered is logged as a warning and does not fail the task.
 */
void comp_metric(struct ff_task *t, const char *name, const char *type, json_t *data);

/* ------------------------------------------------- descriptions (describe) */

/* FATE artifact spec: types/roles/stages are comma-separated lists. */
json_t *comp_art(const char *types, bool optional, bool is_multi, const char *roles,
		 const char *stages);
/* FATE parameter spec {type, default (stolen; NULL = null), optional, description}. */
json_t *comp_param_desc(const char *type, json_t *dflt, bool optional, const char *desc);
/* {"metric": json_metric artifact} for the metric outputs. */
json_t *comp_metric_out(const char *roles, const char *stages);

/* json helpers: array of doubles / strings (new references, NULL on OOM) */
json_t *comp_json_doubles(const double *v, size_t n);
json_t *comp_json_strs(const char *const *v, size_t n);
/* A finite double as a JSON real, non-finite as null (JSON has no NaN). */
json_t *comp_json_real(double v);

#endif
