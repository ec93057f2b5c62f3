// SPDX-License-Identifier: Apache-2.0
/*
 * comp_statistics.c - the `statistics` component (guest and host, local):
 * per-column statistics of input_data into a json model that
 * hetero_feature_selection's statistics filter reads. NaN counts as
 * missing here (every other component refuses it). Numbers:
 * components/ml/stats.h.
 *
 * Model: {"meta": {"model_type": "statistics", "metrics": [...]},
 *         "data": {"metrics_summary": {metric: {col: value}}}}
 * Metrics: count, sum, max, min, mean, median, std, var (or variance),
 * coefficient_of_variation, missing_count, missing_ratio, skewness,
 * kurtosis, and percentiles written "P%" (0 <= P <= 100, FATE's quantile).
 */
#include "ff_setup.h"
#include <math.h>
#include <stdlib.h>
#include "comp.h"
#include "comp_util.h"
#include "jsonx.h"
#include "mem.h"
#include "stats.h"

#define STAT_ROLES "guest,host"

static json_t *stat_describe(void)
{
	json_t *params = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}",
		"metrics", comp_param_desc("list", json_pack("[s,s,s,s]", "mean", "std", "min", "max"),
					   true, "statistics to compute"),
		"ddof", comp_param_desc("int", json_integer(1), true, "delta degrees of freedom"),
		"bias", comp_param_desc("bool", json_true(), true, "biased skewness and kurtosis"),
		"relative_error", comp_param_desc("float", json_real(1e-3), true,
						  "quantile error (fedflow's quantiles are exact)"),
		"skip_col", comp_param_desc("list", NULL, true, "columns left out"),
		"use_anonymous", comp_param_desc("bool", json_false(), true,
						 "skip_col holds anonymous names"));
	return comp_describe(STAT_ROLES, "default,train", params,
		json_pack("{s:o}", "input_data",
			  comp_art("dataframe", false, false, STAT_ROLES, "default,train")),
		NULL, NULL,
		json_pack("{s:o}", "output_model",
			  comp_art("json_model", false, false, STAT_ROLES, "default,train")),
		comp_metric_out(STAT_ROLES, "default,train"));
}

/* Value of metric name for column c, or FF_EINVAL for an unknown metric. */
static int stat_value(const char *name, const struct stats_column *c, const struct comp_frame *f,
		      size_t col, double *v, struct ff_error *err)
{
	if (!strcmp(name, "count"))
		*v = (double)(c->count - c->missing);
	else if (!strcmp(name, "sum"))
		*v = c->sum;
	else if (!strcmp(name, "max"))
		*v = c->max;
	else if (!strcmp(name, "min"))
		*v = c->min;
	else if (!strcmp(name, "mean"))
		*v = c->mean;
	else if (!strcmp(name, "median"))
		*v = c->median;
	else if (!strcmp(name, "std"))
		*v = c->std;
	else if (!strcmp(name, "var") || !strcmp(name, "variance"))
		*v = c->var;
	else if (!strcmp(name, "coefficient_of_variation"))
		*v = c->cv;
	else if (!strcmp(name, "missing_count"))
		*v = (double)c->missing;
	else if (!strcmp(name, "missing_ratio"))
		*v = c->missing_ratio;
	else if (!strcmp(name, "skewness"))
		*v = c->skewness;
	else if (!strcmp(name, "kurtosis"))
		*v = c->kurtosis;
	else {
		size_t n = strlen(name);
		char *end;
		double p = n > 1 && name[n - 1] == '%' ? strtod(name, &end) : NAN;
		if (!(p >= 0 && p <= 100) || end != name + n - 1)
			return ff_error_set(err, FF_EINVAL, "parameter 'metrics': unknown statistic '%s'",
					    name);
		double q = p / 100.0;
		if (c->count == c->missing) {
			*v = NAN;
			return FF_OK;
		}
		return stats_column_quantiles(f->ds.x, f->ds.n, f->ds.d, col, &q, 1, STATS_Q_FATE, v,
					      err);
	}
	return FF_OK;
}

static int stat_run(struct ff_task *t, struct ff_error *err)
{
	struct comp_frame f = COMP_FRAME_INIT;
	const char **metrics = NULL, **skip = NULL;
	size_t nm = 0, nskip = 0, *keep = NULL, nkeep = 0;
	bool has_m, has_skip, bias, anon;
	long long ddof;
	struct stats_column *sc = NULL;
	json_t *summary = NULL, *model = NULL;
	static const char *dflt[] = { "mean", "std", "min", "max" };
	int ret = comp_param_strs(t, "metrics", &metrics, &nm, &has_m, err);
	if (!ret)
		ret = comp_param_strs(t, "skip_col", &skip, &nskip, &has_skip, err);
	if (!ret)
		ret = ff_task_param_int(t, "ddof", 1, &ddof, err);
	if (!ret)
		ret = ff_task_param_bool(t, "bias", true, &bias, err);
	if (!ret)
		ret = ff_task_param_bool(t, "use_anonymous", false, &anon, err);
	if (ret)
		goto out;
	if (ddof < 0 || ddof > 1000) {
		ret = ff_error_set(err, FF_EINVAL, "parameter 'ddof' must be between 0 and 1000");
		goto out;
	}
	const char *const *mlist = has_m ? metrics : dflt;
	size_t mcount = has_m ? nm : FF_ARRAY_SIZE(dflt);
	ret = comp_frame_load(t, "input_data", 0, COMP_FRAME_ALLOW_NAN, &f, err);
	if (ret)
		goto out;
	keep = ff_calloc(f.ds.d ? f.ds.d : 1, sizeof(*keep));
	sc = ff_calloc(f.ds.d ? f.ds.d : 1, sizeof(*sc));
	summary = json_object();
	if (!keep || !sc || !summary) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	char anon_name[160];
	for (size_t j = 0; j < f.ds.d; j++) {
		bool skipped = false;
		comp_anon_name(ff_task_role(t), ff_task_party_id(t), j, anon_name, sizeof(anon_name));
		for (size_t k = 0; k < nskip && !skipped; k++)
			skipped = !strcmp(skip[k], anon ? anon_name : f.schema->feature_names[j]);
		if (!skipped)
			keep[nkeep++] = j;
	}
	ret = stats_describe(f.ds.x, f.ds.n, f.ds.d, f.ds.d, (unsigned)ddof, bias, sc, err);
	if (ret)
		goto out;
	for (size_t m = 0; m < mcount; m++) {
		json_t *per = json_object();
		json_object_set_new(summary, mlist[m], per);
		for (size_t k = 0; k < nkeep; k++) {
			double v;
			ret = stat_value(mlist[m], &sc[keep[k]], &f, keep[k], &v, err);
			if (ret)
				goto out;
			json_object_set_new(per, f.schema->feature_names[keep[k]], comp_json_real(v));
		}
	}
	model = json_pack("{s:{s:s,s:o},s:{s:O}}", "meta", "model_type", "statistics", "metrics",
			  comp_json_strs(mlist, mcount), "data", "metrics_summary", summary);
	ret = model ? comp_model_save(t, "output_model", model, NULL, err)
		    : ff_error_set(err, FF_ENOMEM, "out of memory");
out:
	json_decref(model);
	json_decref(summary);
	ff_free(sc);
	ff_free(keep);
	ff_free(metrics);
	ff_free(skip);
	comp_frame_release(&f);
	return ret;
}

const struct comp comp_statistics = { "statistics", stat_describe, stat_run };
COMP_REGISTER(comp_statistics);
