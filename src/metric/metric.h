/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metric.h - task metrics in FATE's shape (spec §10.2).
 *
 * A metric is {name, type, groups: [{name, index}], step_axis, data}; data
 * is a list of points ({metric, step, timestamp}) or an object. All
 * metrics live in one table (t_metric) tagged with the task that logged
 * them; reads take the task's latest version.
 */
#ifndef FF_METRIC_H
#define FF_METRIC_H

#include <jansson.h>
#include "err.h"
#include "jw.h"

struct store;

struct metric_task {
	const char *job_id, *role, *party_id, *task_name, *task_id;
	long long task_version;
};

/* Inserts every MetricData of list (a JSON array); FF_EPARAM on bad shape. */
int metric_save(struct store *db, const struct metric_task *t, const json_t *list,
		struct ff_error *err);
/*
 * Writes the metrics of (job, role, party, task) at its latest version as
 * a JSON array into w; filters (may be NULL) match name/type/step_axis
 * exactly and groups by JSON equality. keys_only renders without data.
 */
int metric_query(struct store *db, const char *job_id, const char *role,
		 const char *party_id, const char *task_name, const json_t *filters,
		 bool keys_only, struct jw *w, struct ff_error *err);
/* Deletes every metric of (job, role, party, task_name); *n deleted. */
int metric_delete(struct store *db, const char *job_id, const char *role,
		  const char *party_id, const char *task_name, int64_t *n, struct ff_error *err);

#endif
