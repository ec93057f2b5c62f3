// SPDX-License-Identifier: Apache-2.0
/*
 * comp_scale.c - the `feature_scale` component (guest and host, local):
 * train fits a standard or min-max scaler on the chosen columns, writes
 * the scaled train data and the model; predict applies a model to
 * test_data. Numbers: components/ml/scale.h.
 *
 * Model (json_model):
 *   {"meta": {"model_type": "feature_scale", "method", "select_col",
 *             "strict_range"},
 *    "data": {"select_col": [...], standard: "mean"/"std": {col: v},
 *             min_max: "scale"/"scale_min"/"range_min"/"range_max": {col: v}}}
 */
#include "ff_setup.h"
#include "comp.h"
#include "comp_util.h"
#include "jsonx.h"
#include "mem.h"
#include "scale.h"

#define SCALE_ROLES "guest,host"

static json_t *scale_describe(void)
{
	json_t *params = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}",
		"method", comp_param_desc("str", json_string("standard"), true,
					  "standard or min_max"),
		"feature_range", comp_param_desc("list", json_pack("[f,f]", 0.0, 1.0), true,
						 "[min, max] for every column, or {col: [min, max]}"),
		"scale_col", comp_param_desc("list", NULL, true, "columns to scale (None: all)"),
		"scale_idx", comp_param_desc("list", NULL, true, "column indexes to scale"),
		"strict_range", comp_param_desc("bool", json_true(), true,
						"clip min_max output to feature_range"),
		"use_anonymous", comp_param_desc("bool", json_false(), true,
						 "scale_col holds anonymous names"));
	return comp_describe(SCALE_ROLES, "train,predict", params,
		json_pack("{s:o,s:o}",
			  "train_data", comp_art("dataframe", true, false, SCALE_ROLES, "train"),
			  "test_data", comp_art("dataframe", true, false, SCALE_ROLES, "predict")),
		json_pack("{s:o}", "input_model",
			  comp_art("json_model", true, false, SCALE_ROLES, "predict")),
		json_pack("{s:o,s:o}",
			  "train_output_data", comp_art("dataframe", true, false, SCALE_ROLES, "train"),
			  "test_output_data", comp_art("dataframe", true, false, SCALE_ROLES, "predict")),
		json_pack("{s:o}", "output_model",
			  comp_art("json_model", true, false, SCALE_ROLES, "train")),
		comp_metric_out(SCALE_ROLES, "train,predict"));
}

/* feature_range for selected column name: null -> [0, 1]. */
static int scale_range(const json_t *fr, const char *col, double *lo, double *hi,
		       struct ff_error *err)
{
	*lo = 0.0;
	*hi = 1.0;
	const json_t *r = fr;
	if (json_is_object(fr))
		r = json_object_get(fr, col);
	if (!r || json_is_null(r))
		return FF_OK;
	if (!json_is_array(r) || json_array_size(r) != 2 ||
	    !jsonx_as_double(json_array_get(r, 0), lo) || !jsonx_as_double(json_array_get(r, 1), hi))
		return ff_error_set(err, FF_EINVAL, "parameter 'feature_range': expected [min, max]%s%s",
				    json_is_object(fr) ? " for column " : "", json_is_object(fr) ? col : "");
	if (!(*lo <= *hi))
		return ff_error_set(err, FF_EINVAL, "parameter 'feature_range': min %g is above max %g",
				    *lo, *hi);
	return FF_OK;
}

static json_t *scale_col_map(const struct comp_frame *f, const struct scale_model *m,
			     const double *v)
{
	json_t *o = json_object();
	for (size_t k = 0; o && k < m->ncols; k++)
		json_object_set_new(o, f->schema->feature_names[m->cols[k]], comp_json_real(v[k]));
	return o;
}

static json_t *scale_to_model(const struct comp_frame *f, const struct scale_model *m)
{
	json_t *cols = json_array();
	for (size_t k = 0; k < m->ncols; k++)
		json_array_append_new(cols, json_string(f->schema->feature_names[m->cols[k]]));
	json_t *data = json_pack("{s:O}", "select_col", cols);
	if (m->method == SCALE_STANDARD) {
		json_object_set_new(data, "mean", scale_col_map(f, m, m->mean));
		json_object_set_new(data, "std", scale_col_map(f, m, m->std));
	} else {
		json_object_set_new(data, "scale", scale_col_map(f, m, m->scale));
		json_object_set_new(data, "scale_min", scale_col_map(f, m, m->scale_min));
		json_object_set_new(data, "range_min", scale_col_map(f, m, m->range_min));
		json_object_set_new(data, "range_max", scale_col_map(f, m, m->range_max));
	}
	json_t *model = json_pack("{s:{s:s,s:s,s:o,s:b},s:o}", "meta", "model_type", "feature_scale",
				  "method", m->method == SCALE_STANDARD ? "standard" : "min_max",
				  "select_col", cols, "strict_range", m->strict_range, "data", data);
	return model;
}

static int scale_train(struct ff_task *t, struct ff_error *err)
{
	struct comp_frame f = COMP_FRAME_INIT;
	struct scale_model m = SCALE_MODEL_INIT;
	const char *method;
	const json_t *fr = ff_task_param(t, "feature_range");
	bool strict, anon, all;
	size_t *sel = NULL, nsel = 0;
	double *lo = NULL, *hi = NULL;
	json_t *model = NULL;
	int ret = ff_task_param_str(t, "method", "standard", &method, err);
	if (!ret)
		ret = ff_task_param_bool(t, "strict_range", true, &strict, err);
	if (!ret)
		ret = ff_task_param_bool(t, "use_anonymous", false, &anon, err);
	if (ret)
		return ret;
	if (strcmp(method, "standard") && strcmp(method, "min_max"))
		return ff_error_set(err, FF_EINVAL, "parameter 'method': '%s' is not one of standard, "
				    "min_max", method);
	ret = comp_frame_load(t, "train_data", 0, 0, &f, err);
	if (!ret)
		ret = comp_select_cols(t, &f, "scale_col", "scale_idx", anon, &sel, &nsel, &all, err);
	if (ret)
		goto out;
	if (nsel == 0) {
		ret = ff_error_set(err, FF_EINVAL, "no column to scale");
		goto out;
	}
	if (!strcmp(method, "standard")) {
		if (f.ds.n < 2) {
			ret = ff_error_set(err, FF_EDATA, "input 'train_data' has %zu row: standard "
					   "scaling needs at least 2", f.ds.n);
			goto out;
		}
		ret = scale_fit_standard(&m, f.ds.x, f.ds.n, f.ds.d, f.ds.d, sel, nsel, err);
	} else {
		lo = ff_calloc(nsel, sizeof(*lo));
		hi = ff_calloc(nsel, sizeof(*hi));
		if (!lo || !hi) {
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; !ret && k < nsel; k++)
			ret = scale_range(fr, f.schema->feature_names[sel[k]], &lo[k], &hi[k], err);
		if (!ret)
			ret = scale_fit_min_max(&m, f.ds.x, f.ds.n, f.ds.d, f.ds.d, sel, nsel, lo, hi,
						strict, err);
	}
	if (ret)
		goto out;
	for (size_t k = 0; k < m.ncols; k++)
		if (m.method == SCALE_STANDARD && m.std[k] == 0)
			ff_task_log(t, FF_TASK_WARN, "column '%s' is constant: scaled to 0",
				    f.schema->feature_names[m.cols[k]]);
	model = scale_to_model(&f, &m);
	ret = scale_transform(&m, f.ds.x, f.ds.n, f.ds.d, f.ds.d, err);
	if (ret)
		goto out;
	struct comp_out_table o = { .src = &f, .n = f.ds.n, .d = f.ds.d,
				    .names = (const char *const *)f.schema->feature_names,
				    .x = f.ds.x, .with_label = true, .with_weight = true };
	ret = comp_frame_write(t, "train_output_data", &o, err);
	if (!ret)
		ret = model ? comp_model_save(t, "output_model", model, NULL, err) : FF_ENOMEM;
out:
	json_decref(model);
	ff_free(sel);
	ff_free(lo);
	ff_free(hi);
	scale_model_release(&m);
	comp_frame_release(&f);
	return ret;
}

/* Rebuilds a scaler for frame f from a model; columns matched by name. */
static int scale_from_model(const json_t *model, const struct comp_frame *f,
			    struct scale_model *m, struct ff_error *err)
{
	const char *method = jsonx_str(json_object_get(model, "meta"), "method");
	const json_t *data = json_object_get(model, "data");
	const json_t *cols = json_object_get(data, "select_col");
	if (!method || !json_is_array(cols) || !json_array_size(cols))
		return ff_error_set(err, FF_EDATA, "input_model is not a feature_scale model");
	enum scale_method sm = !strcmp(method, "min_max") ? SCALE_MIN_MAX : SCALE_STANDARD;
	size_t n = json_array_size(cols);
	int ret = scale_model_alloc(m, sm, n, err);
	if (ret)
		return ret;
	bool strict = true;
	jsonx_as_bool(jsonx_path(model, "meta.strict_range"), &strict);
	m->strict_range = strict;
	const char *keys[4] = { "mean", "std", NULL, NULL };
	double *dst[4] = { m->mean, m->std, NULL, NULL };
	if (sm == SCALE_MIN_MAX) {
		keys[0] = "scale", keys[1] = "scale_min", keys[2] = "range_min", keys[3] = "range_max";
		dst[0] = m->scale, dst[1] = m->scale_min, dst[2] = m->range_min, dst[3] = m->range_max;
	}
	for (size_t k = 0; k < n; k++) {
		const char *name = json_string_value(json_array_get(cols, k));
		long j = name ? comp_frame_col(f, name) : -1;
		if (j < 0)
			return ff_error_set(err, FF_EDATA, "column '%s' of the scale model is not in "
					    "input '%s'", name ? name : "?", f->key);
		m->cols[k] = (size_t)j;
		for (size_t q = 0; q < 4 && keys[q]; q++)
			if (!jsonx_as_double(json_object_get(json_object_get(data, keys[q]), name),
					     &dst[q][k]))
				return ff_error_set(err, FF_EDATA, "scale model has no %s for '%s'",
						    keys[q], name);
	}
	return FF_OK;
}

static int scale_predict(struct ff_task *t, struct ff_error *err)
{
	struct comp_frame f = COMP_FRAME_INIT;
	struct scale_model m = SCALE_MODEL_INIT;
	json_t *model = NULL;
	int ret = comp_model_load(t, "input_model", 0, &model, err);
	if (!ret)
		ret = comp_frame_load(t, "test_data", 0, 0, &f, err);
	if (!ret)
		ret = scale_from_model(model, &f, &m, err);
	if (!ret)
		ret = scale_transform(&m, f.ds.x, f.ds.n, f.ds.d, f.ds.d, err);
	if (!ret) {
		struct comp_out_table o = { .src = &f, .n = f.ds.n, .d = f.ds.d,
					    .names = (const char *const *)f.schema->feature_names,
					    .x = f.ds.x, .with_label = true, .with_weight = true };
		ret = comp_frame_write(t, "test_output_data", &o, err);
	}
	json_decref(model);
	scale_model_release(&m);
	comp_frame_release(&f);
	return ret;
}

static int scale_run(struct ff_task *t, struct ff_error *err)
{
	const char *stage = ff_task_stage(t);
	if (!strcmp(stage, "predict"))
		return scale_predict(t, err);
	if (!strcmp(stage, "train") || !strcmp(stage, "default"))
		return scale_train(t, err);
	return ff_error_set(err, FF_EINVAL, "feature_scale has no stage '%s'", stage);
}

const struct comp comp_feature_scale = { "feature_scale", scale_describe, scale_run };
COMP_REGISTER(comp_feature_scale);
