/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dag_int.h - what the files of src/dag share; not for other modules.
 *
 * dag_parse (dag.c, with the message and typed-access helpers) runs in
 * phases over a private deep copy of the DAGSchema (job->schema), each
 * phase in its own file:
 *   dag_validate.c  top level, dag.parties, shape of tasks and party_tasks
 *   dag_conf.c      dag.conf with site defaults, TaskConfSpec checks,
 *                   providers, job and task cores
 *   dag_deps.c      dependencies, cycle check, topological order,
 *                   dag_dependency
 *   dag_resolve.c   per-party tasks: conf merge, parameters, inputs,
 *                   provider and component checks, artifact keys
 * Later phases rely on the shapes earlier phases checked, so they read
 * the schema without re-checking types.
 *
 * Messages: every DAG error is FF_EDAG and starts with the JSON path of
 * the offending value ("dag.tasks.lr_0.conf.timeout: ..."); list items
 * are written "[i]". Paths are truncated at DAG_PATH_MAX.
 */
#ifndef FF_DAG_INT_H
#define FF_DAG_INT_H

#include <jansson.h>
#include <stdbool.h>
#include "dag.h"
#include "err.h"

#define DAG_PATH_MAX 200

/* Parse state shared by the phases of one dag_parse call. */
struct dag__st {
	struct dag_job *job;
	const struct dag_ctx *ctx;      /* never NULL (an empty ctx if none given) */
	struct ff_error *err;
	json_t *dag;                    /* schema.dag, borrowed from job->schema */
	json_t *tasks;                  /* dag.tasks, borrowed */
	const char *engine;             /* ctx->computing_engine or "standalone" */
	json_t *task_run;               /* default engine_run (owned) */
	long long task_timeout;         /* default timeout, seconds */
};

/* ---- messages and paths (dag.c) ---- */

/* Sets "path: <formatted>" with FF_EDAG and returns FF_EDAG. */
int dag__fail(struct ff_error *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * "path: expected <what>, got <type>", or for a missing value
 * "path: missing required field (expected <what>)". Returns FF_EDAG.
 */
int dag__expected(struct ff_error *err, const char *path, const char *what,
		  const json_t *got);
/* snprintf into out[DAG_PATH_MAX]; silently truncates. */
void dag__pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- typed member access, JSON null counts as absent (dag.c) ---- */

/* obj[key], NULL when obj is not an object or the member is absent/null. */
json_t *dag__get(const json_t *obj, const char *key);
/* Optional member of a type: *out NULL when absent; FF_EDAG on a wrong type. */
int dag__opt_object(const json_t *obj, const char *key, const char *path,
		    json_t **out, struct ff_error *err);
int dag__opt_array(const json_t *obj, const char *key, const char *path,
		   json_t **out, struct ff_error *err);
int dag__opt_string(const json_t *obj, const char *key, const char *path,
		    const char **out, struct ff_error *err);
/* Optional integer >= min (no strings, no reals); *set tells if present. */
int dag__opt_int(const json_t *obj, const char *key, const char *path,
		 long long min, long long *out, bool *set, struct ff_error *err);
/* Optional list of strings. */
int dag__opt_str_list(const json_t *obj, const char *key, const char *path,
		      bool non_empty, struct ff_error *err);

/* ---- scalars and names (dag_validate.c) ---- */

/*
 * Scalar as text: strings as-is, integers in decimal, reals (only when
 * allow_real) in their shortest round-trip form ("2.0", "2.1"). Checks
 * the result fits out[n] and is not empty.
 */
int dag__scalar_text(const json_t *v, bool allow_real, const char *path,
		     char *out, size_t n, struct ff_error *err);
/* 1..max bytes of [A-Za-z0-9_.-], not starting with '.'. */
bool dag__name_ok(const char *s, size_t max);
/* A party id (string or integer) as checked text. */
int dag__party_id_text(const json_t *v, const char *path, char out[DAG_ID_MAX],
		       struct ff_error *err);

/* ---- parties (dag_validate.c) ---- */

/*
 * Checks a [PartySpec] list at path and turns integer party ids into
 * strings in place. With job non-NULL every (role, party_id) must be one
 * of job->parties. An empty list is accepted.
 */
int dag__check_party_list(json_t *list, const char *path,
			  const struct dag_job *job, struct ff_error *err);
/* True when a checked [PartySpec] list names (role, party_id). */
bool dag__parties_contain(const json_t *list, const char *role, const char *party_id);
/* True when the task (its spec in dag.tasks) runs at (role, party_id). */
bool dag__task_runs_at(const struct dag_job *job, const json_t *task_spec,
		       const char *role, const char *party_id);

/* ---- inputs (dag_validate.c) ---- */

/*
 * Calls fn for every (type, key) input of a checked task spec that has a
 * source: type "data"|"model", source one of the three channel sources,
 * chans the channel object or list. Stops at and returns fn's first
 * non-zero result.
 */
typedef int (*dag__input_fn)(const char *type, const char *key, const char *source,
			     json_t *chans, void *arg);
int dag__for_each_input(const json_t *task_spec, dag__input_fn fn, void *arg);
/* Channels under a source: 1 for an object, the length for a list. */
size_t dag__chan_count(const json_t *chans);
json_t *dag__chan_at(const json_t *chans, size_t i);
/* Whether a channel reaches the consumer at p (spec §2.6 step 6). */
bool dag__channel_applies(const struct dag_job *job, const char *source,
			  const json_t *chan, const struct dag_party *p);

/* ---- phases ---- */

int dag__check_top(struct dag__st *st);                 /* dag_validate.c */
int dag__check_parties(struct dag__st *st);             /* dag_validate.c */
int dag__check_tasks(struct dag__st *st);               /* dag_validate.c */
int dag__resolve_conf(struct dag__st *st);              /* dag_conf.c */
int dag__order_tasks(struct dag__st *st);               /* dag_deps.c */
int dag__resolve_tasks(struct dag__st *st);             /* dag_resolve.c */
int dag__check_artifacts(struct dag__st *st);           /* dag_resolve.c */
int dag__resolve_cores(struct dag__st *st);             /* dag_conf.c */

/* ---- conf helpers (dag_conf.c) ---- */

/* Checks a TaskConfSpec dict (engine_run, provider, timeout, launcher_name). */
int dag__check_task_conf(const json_t *conf, const char *path, struct ff_error *err);
/* Splits "name:version@device" (parts may be empty or "*"); false if malformed. */
bool dag__provider_split(const char *s, char name[DAG_ID_MAX], char version[DAG_ID_MAX],
			 char device[DAG_ID_MAX]);
/*
 * Resolves a merged conf.provider (string or NULL) with the ctx defaults
 * and checks it is registered. *out is owned (ff_free).
 */
int dag__resolve_provider(const struct dag__st *st, const char *given,
			  const char *path, const struct dag_party *party, char **out);
/* Cores one party task accounts for (0 for arbiter). */
long long dag__engine_cores(const struct dag__st *st, const json_t *engine_run);

#endif
