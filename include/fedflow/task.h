/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fedflow/task.h - libfedflow: what a component process gets from fedflowd.
 *
 * fedflowd starts `<provider> component execute --config FILE
 * --execution-final-meta-path FILE`. FILE is FATE's TaskConfigSpec
 * (JSON, which is also YAML): the task's identity, its parameters, its
 * resolved input artifacts ({uri, metadata, type_name}), the URIs where
 * its outputs must go, and the runtime conf (federation peers, gateway,
 * log folder). A component:
 *
 *   struct ff_task *t;
 *   ff_task_load(config, meta, &t, &err);   // parse, set up logs
 *   ... read ff_task_param_*, ff_task_input, write outputs ...
 *   ff_task_add_output(t, "data", "output_data", artifact);
 *   return ff_task_finish(t, FF_OK, NULL);   // writes the final meta
 *
 * Ownership: json_t values returned by accessors are borrowed from the
 * task and live until ff_task_free. Not thread-safe per task.
 */
#ifndef FEDFLOW_TASK_H
#define FEDFLOW_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include "err.h"

struct ff_task;

enum ff_task_level { FF_TASK_DEBUG = 10, FF_TASK_INFO = 20, FF_TASK_WARN = 30,
		     FF_TASK_ERROR = 40 };

/* Loads the TaskConfigSpec at config_path; meta_path is where
 * ff_task_finish writes the execution final meta. */
int ff_task_load(const char *config_path, const char *meta_path, struct ff_task **out,
		 struct ff_error *err);
void ff_task_free(struct ff_task *t);

/* Identity (never NULL; "" when the config lacks the field). */
const char *ff_task_job_id(const struct ff_task *t);
const char *ff_task_task_id(const struct ff_task *t);
const char *ff_task_name(const struct ff_task *t);
const char *ff_task_component(const struct ff_task *t);
const char *ff_task_role(const struct ff_task *t);
const char *ff_task_party_id(const struct ff_task *t);
const char *ff_task_stage(const struct ff_task *t);
const char *ff_task_execution_id(const struct ff_task *t);
long long ff_task_version(const struct ff_task *t);
/* The whole config (borrowed). */
const json_t *ff_task_config(const struct ff_task *t);

/* Parameters: dflt when absent or null; FF_EINVAL (message naming the
 * parameter and the expected type) when present with a wrong type. */
const json_t *ff_task_param(const struct ff_task *t, const char *name);
int ff_task_param_int(const struct ff_task *t, const char *name, long long dflt,
		      long long *out, struct ff_error *err);
int ff_task_param_double(const struct ff_task *t, const char *name, double dflt,
			 double *out, struct ff_error *err);
int ff_task_param_bool(const struct ff_task *t, const char *name, bool dflt, bool *out,
		       struct ff_error *err);
/* String parameter (borrowed) or dflt. */
int ff_task_param_str(const struct ff_task *t, const char *name, const char *dflt,
		      const char **out, struct ff_error *err);

/* Input artifacts of key: count (0 when absent) and each one. */
size_t ff_task_input_count(const struct ff_task *t, const char *key);
const json_t *ff_task_input(const struct ff_task *t, const char *key, size_t i);
/* Output URI assigned to key, or NULL. */
const char *ff_task_output_uri(const struct ff_task *t, const char *key);
const char *ff_task_output_type(const struct ff_task *t, const char *key);

/*
 * Records an output artifact in the final meta: kind is "data", "model"
 * or "metric"; artifact is {uri, metadata, type_name} (reference stolen).
 * Several calls with one key make a list.
 */
int ff_task_add_output(struct ff_task *t, const char *kind, const char *key, json_t *artifact);

/*
 * Writes the execution final meta ({status: {code, exceptions}, io_meta})
 * and returns the process exit code to use (0 on success, 1 otherwise).
 * code is FF_OK or an error; message describes it.
 */
int ff_task_finish(struct ff_task *t, int code, const char *message);

/* One line into the task's log files (root/INFO, root/ERROR, ...). */
void ff_task_log(struct ff_task *t, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Logs a metric in FATE's shape to fedflowd (the metric output URI or the
 * worker API): name, type (may be NULL), groups (array or NULL), step_axis
 * (may be NULL), data (array or object, reference stolen).
 */
int ff_task_metric(struct ff_task *t, const char *name, const char *type,
		   const json_t *groups, const char *step_axis, json_t *data,
		   struct ff_error *err);

/* Runtime peers of this task: count and (role, party_id) of each. */
size_t ff_task_peer_count(const struct ff_task *t);
int ff_task_peer(const struct ff_task *t, size_t i, const char **role, const char **party_id);

#endif
