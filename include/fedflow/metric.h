/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fedflow/metric.h - libfedflow: metrics in FATE's shape (spec §10.2).
 *
 * A metric is {name, type, groups: [{name, index}], step_axis, data}. Three
 * shapes cover what components log:
 *   - a scalar: data [{"metric": v, "step": null, "timestamp": t}]
 *     (ff_metric_scalar, e.g. an AUC);
 *   - a series: one point per step, data [{"metric": v, "step": s,
 *     "timestamp": t}, ...] (struct ff_metric_series: points are collected
 *     in memory and sent as one metric by ff_metric_series_flush, as
 *     FATE's StepMetrics do; e.g. the loss per iteration);
 *   - an object: data is any JSON object (ff_metric_object, e.g. a ROC
 *     curve {"fpr": [...], "tpr": [...], "thresholds": [...]}).
 * Each call is one POST to fedflowd's worker API (ff_task_metric);
 * /v2/output/metric/query returns the metrics in the order they were sent.
 *
 * groups (may be NULL = []) is borrowed; ff_metric_groups builds FATE's
 * [{"name": n, "index": null}, ...] list. Timestamps are seconds since the
 * epoch as a real number. Errors as ff_task_metric. Not thread-safe.
 */
#ifndef FEDFLOW_METRIC_H
#define FEDFLOW_METRIC_H

#include <jansson.h>
#include <stddef.h>
#include "fedflow/task.h"

#ifndef FF_EXPORT
#define FF_EXPORT __attribute__((visibility("default")))
#endif

/* [{"name": names[i], "index": null}...] (new reference, NULL on OOM). */
FF_EXPORT json_t *ff_metric_groups(const char *const *names, size_t n);

FF_EXPORT int ff_metric_scalar(struct ff_task *t, const char *name, const char *type,
			       const json_t *groups, double value, struct ff_error *err);
/* data: an object, reference stolen. */
FF_EXPORT int ff_metric_object(struct ff_task *t, const char *name, const char *type,
			       const json_t *groups, json_t *data, struct ff_error *err);

struct ff_metric_series {
	char *name;
	char *type;
	char *step_axis;
	json_t *groups;
	json_t *points;
};
#define FF_METRIC_SERIES_INIT { 0 }

/* Starts a series (strings copied, groups borrowed; NULL type/axis allowed). */
FF_EXPORT int ff_metric_series_init(struct ff_metric_series *s, const char *name,
				    const char *type, const json_t *groups,
				    const char *step_axis);
/* Appends the point (step, value). */
FF_EXPORT int ff_metric_series_add(struct ff_metric_series *s, long long step, double value);
/* Sends every point collected so far as one metric and empties the series. */
FF_EXPORT int ff_metric_series_flush(struct ff_task *t, struct ff_metric_series *s,
				     struct ff_error *err);
FF_EXPORT void ff_metric_series_release(struct ff_metric_series *s);

#endif
