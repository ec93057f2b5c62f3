// SPDX-License-Identifier: Apache-2.0
/* ff_metric.c - scalar, series and object metrics (see fedflow/metric.h). */
#include "ff_setup.h"
#include <time.h>
#include "fedflow/metric.h"
#include "mem.h"

static double ff_metric_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

json_t *ff_metric_groups(const char *const *names, size_t n)
{
	json_t *g = json_array();
	for (size_t i = 0; g && i < n; i++) {
		if (json_array_append_new(g, json_pack("{s:s,s:n}", "name", names[i], "index"))) {
			json_decref(g);
			return NULL;
		}
	}
	return g;
}

int ff_metric_scalar(struct ff_task *t, const char *name, const char *type,
		     const json_t *groups, double value, struct ff_error *err)
{
	json_t *data = json_pack("[{s:f,s:n,s:f}]", "metric", value, "step", "timestamp",
				 ff_metric_now());
	if (!data)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	return ff_task_metric(t, name, type, groups, NULL, data, err);
}

int ff_metric_object(struct ff_task *t, const char *name, const char *type,
		     const json_t *groups, json_t *data, struct ff_error *err)
{
	if (!json_is_object(data)) {
		json_decref(data);
		return ff_error_set(err, FF_EINVAL, "metric '%s': data must be an object", name);
	}
	return ff_task_metric(t, name, type, groups, NULL, data, err);
}

int ff_metric_series_init(struct ff_metric_series *s, const char *name, const char *type,
			  const json_t *groups, const char *step_axis)
{
	memset(s, 0, sizeof(*s));
	s->name = ff_strdup(name);
	s->type = type ? ff_strdup(type) : NULL;
	s->step_axis = step_axis ? ff_strdup(step_axis) : NULL;
	s->groups = groups ? json_deep_copy(groups) : json_array();
	s->points = json_array();
	if (!s->name || (type && !s->type) || (step_axis && !s->step_axis) || !s->groups ||
	    !s->points) {
		ff_metric_series_release(s);
		return FF_ENOMEM;
	}
	return FF_OK;
}

int ff_metric_series_add(struct ff_metric_series *s, long long step, double value)
{
	json_t *p = json_pack("{s:f,s:I,s:f}", "metric", value, "step", (json_int_t)step,
			      "timestamp", ff_metric_now());
	return p && !json_array_append_new(s->points, p) ? FF_OK : FF_ENOMEM;
}

int ff_metric_series_flush(struct ff_task *t, struct ff_metric_series *s, struct ff_error *err)
{
	if (json_array_size(s->points) == 0)
		return FF_OK;
	json_t *data = s->points;
	s->points = json_array();
	if (!s->points) {
		s->points = data;
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	return ff_task_metric(t, s->name, s->type, s->groups, s->step_axis, data, err);
}

void ff_metric_series_release(struct ff_metric_series *s)
{
	ff_free(s->name);
	ff_free(s->type);
	ff_free(s->step_axis);
	json_decref(s->groups);
	json_decref(s->points);
	memset(s, 0, sizeof(*s));
}
