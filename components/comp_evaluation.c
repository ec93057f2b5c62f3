// SPDX-License-Identifier: Apache-2.0
/*
 * comp_evaluation.c - the `evaluation` component: binary, multi-class or
 * regression metrics of prediction tables (local, no messages), logged as
 * one metric in FATE's shape:
 *   name "evaluation", type "evaluation",
 *   data {<producer task name>: {<dataset type>: [ {"metric", "val"}, ...]}}
 * where a table metric's val is {column: [values]} (pandas orient "list")
 * and KS is the pair [ks, ks_table] as FATE's MetricEnsemble writes it.
 * Dataset types come from a "type" column (coordinated_lr writes 0 for
 * train_set, 1 validate_set, 2 test_set); without one the set is "origin".
 * Binary defaults (FATE's get_binary_metrics): auc, ks + ks_table,
 * confusion_matrix, gain, lift, biclass_precision_table,
 * biclass_recall_table, biclass_accuracy_table, fscore_table, plus
 * roc_curve (fpr, tpr, threshold), which FATE 2.x does not have.
 * Numbers: components/ml/metrics.h.
 */
#include "ff_setup.h"
#include <float.h>
#include <math.h>
#include "comp.h"
#include "comp_util.h"
#include "jsonx.h"
#include "mem.h"
#include "metrics.h"

#define EVAL_ROLES "guest,host"
#define EVAL_STAGES "default,train,predict"

enum eval_setting { EVAL_BINARY, EVAL_MULTI, EVAL_REGRESSION };

static json_t *eval_describe(void)
{
	json_t *params = json_pack("{s:o,s:o,s:o,s:o}",
		"default_eval_setting", comp_param_desc("str", json_string("binary"), true,
							"binary, multi or regression"),
		"metrics", comp_param_desc("list", NULL, true, "metric names (None: the setting's)"),
		"predict_column_name", comp_param_desc("str", NULL, true,
						       "None: predict_score (predict_result for multi)"),
		"label_column_name", comp_param_desc("str", NULL, true, "None: the label column"));
	return comp_describe(EVAL_ROLES, EVAL_STAGES, params,
		json_pack("{s:o}", "input_datas",
			  comp_art("dataframe", false, true, EVAL_ROLES, EVAL_STAGES)),
		NULL, NULL, NULL, comp_metric_out(EVAL_ROLES, EVAL_STAGES));
}

static json_t *eval_result(const char *name, json_t *val)
{
	return json_pack("{s:s,s:o}", "metric", name, "val", val ? val : json_null());
}

static json_t *eval_conf_cols(const struct metrics_confusion *c, size_t k, const char *which)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < k; i++) {
		size_t v = which[1] == 'p' ? (which[0] == 't' ? c[i].tp : c[i].fp)
					   : (which[0] == 't' ? c[i].tn : c[i].fn);
		json_array_append_new(a, json_integer((json_int_t)v));
	}
	return a;
}

/* FATE's BiClassMetric step cut with add_to_end: 101 thresholds. */
static int eval_step_cuts(const double *s, size_t n, double *thr, double *cuts,
			  struct ff_error *err)
{
	int ret = metrics_cuts_by_step(s, n, thr, cuts, err);
	if (ret)
		return ret;
	double mn = thr[0];
	for (size_t i = 1; i < METRICS_CUTS; i++)
		mn = thr[i] < mn ? thr[i] : mn;
	thr[METRICS_CUTS] = mn - 0.001;
	cuts[METRICS_CUTS] = 1.0;
	return FF_OK;
}

static int eval_binary_one(const char *m, const double *s, const double *y, size_t n,
			   json_t *out, struct ff_error *err)
{
	double thr[METRICS_CUTS + 1], cuts[METRICS_CUTS + 1];
	struct metrics_confusion cm[METRICS_CUTS + 1];
	int ret = FF_OK;
	if (!strcmp(m, "auc")) {
		double auc;
		ret = metrics_auc(s, y, n, &auc, err);
		if (!ret)
			json_array_append_new(out, eval_result("auc", json_real(auc)));
	} else if (!strcmp(m, "ks")) {
		struct metrics_ks_table *t = ff_calloc(1, sizeof(*t));
		ret = t ? metrics_ks_table(s, y, n, t, err) : FF_ENOMEM;
		if (!ret)
			json_array_append_new(out, json_pack("[o,o]", eval_result("ks", json_real(t->ks)),
				eval_result("ks_table", json_pack("{s:o,s:o,s:o,s:o}",
					"tpr", comp_json_doubles(t->tpr, METRICS_CUTS + 1),
					"fpr", comp_json_doubles(t->fpr, METRICS_CUTS + 1),
					"threshold", comp_json_doubles(t->threshold, METRICS_CUTS + 1),
					"cuts", comp_json_doubles(t->cuts, METRICS_CUTS + 1)))));
		ff_free(t);
	} else if (!strcmp(m, "roc_curve")) {
		double *fpr = ff_calloc(n + 1, sizeof(double)), *tpr = ff_calloc(n + 1, sizeof(double)),
		       *th = ff_calloc(n + 1, sizeof(double));
		size_t np = 0;
		ret = fpr && tpr && th ? metrics_roc_curve(s, y, n, fpr, tpr, th, &np, err) : FF_ENOMEM;
		if (!ret)
			json_array_append_new(out, eval_result("roc_curve", json_pack("{s:o,s:o,s:o}",
				"fpr", comp_json_doubles(fpr, np), "tpr", comp_json_doubles(tpr, np),
				"threshold", comp_json_doubles(th, np))));
		ff_free(fpr);
		ff_free(tpr);
		ff_free(th);
	} else if (!strcmp(m, "confusion_matrix")) {
		ret = metrics_cuts_by_index(s, n, thr, cuts, err);
		if (!ret)
			ret = metrics_confusion_table(s, y, n, thr, METRICS_CUTS, cm, err);
		if (!ret)
			json_array_append_new(out, eval_result(m, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}",
				"tp", eval_conf_cols(cm, METRICS_CUTS, "tp"),
				"tn", eval_conf_cols(cm, METRICS_CUTS, "tn"),
				"fp", eval_conf_cols(cm, METRICS_CUTS, "fp"),
				"fn", eval_conf_cols(cm, METRICS_CUTS, "fn"),
				"cuts", comp_json_doubles(cuts, METRICS_CUTS),
				"threshold", comp_json_doubles(thr, METRICS_CUTS))));
	} else if (!strcmp(m, "gain") || !strcmp(m, "lift")) {
		struct metrics_curve_table *t = ff_calloc(1, sizeof(*t));
		bool gain = !strcmp(m, "gain");
		ret = !t ? FF_ENOMEM : gain ? metrics_gain_table(s, y, n, t, err)
					   : metrics_lift_table(s, y, n, t, err);
		if (!ret) {
			json_t *xs = json_array(), *ys = json_array();
			for (size_t i = 0; i < METRICS_CUTS; i++) {
				json_array_append_new(xs, json_pack("[o,o]", comp_json_real(t->x0[i]),
								    comp_json_real(t->x1[i])));
				json_array_append_new(ys, json_pack("[o,o]", comp_json_real(t->y0[i]),
								    comp_json_real(t->y1[i])));
			}
			json_array_append_new(out, eval_result(m, json_pack("{s:o,s:o,s:o}",
				gain ? "gainx" : "liftx", xs, gain ? "gainy" : "lifty", ys,
				"threshold", comp_json_doubles(t->threshold, METRICS_CUTS))));
		}
		ff_free(t);
	} else if (!strcmp(m, "biclass_precision_table") || !strcmp(m, "biclass_recall_table") ||
		   !strcmp(m, "biclass_accuracy_table")) {
		ret = eval_step_cuts(s, n, thr, cuts, err);
		if (!ret)
			ret = metrics_confusion_table(s, y, n, thr, METRICS_CUTS + 1, cm, err);
		if (ret)
			return ret;
		char kind = m[8]; /* p, r, a */
		size_t k = kind == 'a' ? METRICS_CUTS : METRICS_CUTS + 1;
		double v[METRICS_CUTS + 1];
		for (size_t i = 0; i < k; i++) {
			double tp = (double)cm[i].tp, fp = (double)cm[i].fp, fn = (double)cm[i].fn,
			       tn = (double)cm[i].tn;
			v[i] = kind == 'p' ? (tp + fp > 0 ? tp / (tp + fp) : 1.0)
			     : kind == 'r' ? (tp + fn > 0 ? tp / (tp + fn) : NAN)
					   : (tp + tn) / (tp + tn + fp + fn);
		}
		json_array_append_new(out, eval_result(m, json_pack("{s:o,s:o,s:o}",
			kind == 'p' ? "p" : kind == 'r' ? "r" : "accuracy", comp_json_doubles(v, k),
			"threshold", comp_json_doubles(thr, k), "cuts", comp_json_doubles(cuts, k))));
	} else if (!strcmp(m, "fscore_table")) {
		ret = metrics_cuts_by_step(s, n, thr, cuts, err);
		for (size_t i = 0; i < METRICS_CUTS; i++)
			thr[i] = (double)i * 0.01;
		if (!ret)
			ret = metrics_confusion_table(s, y, n, thr, METRICS_CUTS, cm, err);
		if (ret)
			return ret;
		double f[METRICS_CUTS];
		for (size_t i = 0; i < METRICS_CUTS; i++) {
			double tp = (double)cm[i].tp, fp = (double)cm[i].fp, fn = (double)cm[i].fn;
			double p = tp + fp > 0 ? tp / (tp + fp) : 1.0;
			double r = tp + fn > 0 ? tp / (tp + fn) : 0.0;
			double den = p + r;
			f[i] = 2 * p * r / (den == 0 ? 1e-6 : den);
		}
		json_array_append_new(out, eval_result(m, json_pack("{s:o,s:o,s:o}",
			"f_score", comp_json_doubles(f, METRICS_CUTS),
			"threshold", comp_json_doubles(thr, METRICS_CUTS),
			"cuts", comp_json_doubles(cuts, METRICS_CUTS))));
	} else if (!strncmp(m, "binary_", 7)) {
		struct metrics_confusion c;
		ret = metrics_confusion_at(s, y, n, 0.5, &c, err);
		if (ret)
			return ret;
		double v = !strcmp(m, "binary_accuracy") ? metrics_accuracy(&c)
			 : !strcmp(m, "binary_precision") ? metrics_precision(&c)
			 : !strcmp(m, "binary_recall") ? metrics_recall(&c)
			 : !strcmp(m, "binary_f1_score") ? metrics_f1(&c) : NAN;
		if (isnan(v))
			return ff_error_set(err, FF_EINVAL, "unknown metric '%s'", m);
		json_array_append_new(out, eval_result(m, json_real(v)));
	} else {
		return ff_error_set(err, FF_EINVAL, "metric '%s' is not supported for binary "
				    "evaluation", m);
	}
	if (ret == FF_ENOMEM)
		return ff_error_set(err, ret, "out of memory");
	if (ret)
		ff_error_prefix(err, "metric '%s'", m);
	return ret;
}

static int eval_multi_one(const char *m, const double *s, const double *y, size_t n,
			  json_t *out, struct ff_error *err)
{
	int64_t *yt = ff_calloc(n + 1, sizeof(*yt)), *yp = ff_calloc(n + 1, sizeof(*yp));
	struct metrics_class *c = NULL;
	size_t nc = 0;
	int ret = yt && yp ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; !ret && i < n; i++) {
		if (s[i] != nearbyint(s[i]) || y[i] != nearbyint(y[i]))
			ret = ff_error_set(err, FF_EDATA, "multi-class evaluation needs integer labels "
					   "and predictions (row %zu)", i + 1);
		yt[i] = (int64_t)y[i];
		yp[i] = (int64_t)s[i];
	}
	if (!ret)
		ret = metrics_multi_counts(yt, yp, n, &c, &nc, err);
	if (!ret) {
		/* FATE's MultiPrecision/MultiRecall use average='micro': the accuracy */
		double acc = metrics_multi_accuracy(c, nc, n);
		if (!strcmp(m, "multi_accuracy") || !strcmp(m, "multi_precision") ||
		    !strcmp(m, "multi_recall"))
			json_array_append_new(out, eval_result(m, json_real(acc)));
		else
			ret = ff_error_set(err, FF_EINVAL, "metric '%s' is not supported for multi-class "
					   "evaluation", m);
	}
	ff_free(c);
	ff_free(yt);
	ff_free(yp);
	return ret;
}

static int eval_regression_one(const char *m, const double *s, const double *y, size_t n,
			       json_t *out, struct ff_error *err)
{
	struct metrics_regression r;
	int ret = metrics_regression(y, s, n, &r, err);
	if (ret)
		return ret;
	double v = !strcmp(m, "rmse") ? r.rmse : !strcmp(m, "mae") ? r.mae : !strcmp(m, "mse") ? r.mse
		 : !strcmp(m, "r2_score") ? r.r2 : !strcmp(m, "explained_variance") ? r.explained_variance
		 : !strcmp(m, "median_absolute_error") ? r.median_ae : NAN;
	if (isnan(v) && strcmp(m, "r2_score") && strcmp(m, "explained_variance"))
		return ff_error_set(err, FF_EINVAL, "metric '%s' is not supported for regression", m);
	json_array_append_new(out, eval_result(m, comp_json_real(v)));
	return FF_OK;
}

static const char *eval_type_name(double code, char *buf, size_t n)
{
	if (code == 0)
		return "train_set";
	if (code == 1)
		return "validate_set";
	if (code == 2)
		return "test_set";
	snprintf(buf, n, "type_%g", code);
	return buf;
}

struct eval_opts {
	enum eval_setting setting;
	const char *const *metrics;
	size_t nm;
	const char *pred_col, *label_col;
};

static int eval_table(struct ff_task *t, const struct eval_opts *o, const struct comp_frame *f,
		      json_t *per_task, struct ff_error *err)
{
	long pc = comp_frame_col(f, o->pred_col);
	if (pc < 0)
		return ff_error_set(err, FF_EDATA, "input '%s' has no column '%s' to evaluate", f->key,
				    o->pred_col);
	const double *label = NULL;
	long lc = o->label_col ? comp_frame_col(f, o->label_col) : -1;
	if (lc < 0) {
		if (!f->ds.label || (o->label_col && strcmp(o->label_col, f->schema->label_name)))
			return ff_error_set(err, FF_EDATA, "input '%s' has no label column%s%s", f->key,
					    o->label_col ? " " : "", o->label_col ? o->label_col : "");
		label = f->ds.label;
	}
	long tc = comp_frame_col(f, "type");
	size_t n = f->ds.n, d = f->ds.d;
	double *s = ff_malloc((n + 1) * sizeof(double)), *y = ff_malloc((n + 1) * sizeof(double));
	double types[8];
	size_t ntypes = 0;
	int ret = s && y ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; !ret && i < n && tc >= 0; i++) {
		double v = f->ds.x[i * d + (size_t)tc];
		size_t k = 0;
		while (k < ntypes && types[k] != v)
			k++;
		if (k == ntypes && ntypes < FF_ARRAY_SIZE(types))
			types[ntypes++] = v;
	}
	if (tc < 0)
		ntypes = 1;
	for (size_t k = 0; !ret && k < ntypes; k++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (tc >= 0 && f->ds.x[i * d + (size_t)tc] != types[k])
				continue;
			s[m] = f->ds.x[i * d + (size_t)pc];
			y[m] = label ? label[i] : f->ds.x[i * d + (size_t)lc];
			m++;
		}
		char buf[32];
		const char *tname = tc >= 0 ? eval_type_name(types[k], buf, sizeof(buf)) : "origin";
		json_t *res = json_array();
		json_object_set_new(per_task, tname, res);
		for (size_t q = 0; q < o->nm && !ret; q++) {
			const char *mname = o->metrics[q];
			if (o->setting == EVAL_BINARY)
				ret = eval_binary_one(mname, s, y, m, res, err);
			else if (o->setting == EVAL_MULTI)
				ret = eval_multi_one(mname, s, y, m, res, err);
			else
				ret = eval_regression_one(mname, s, y, m, res, err);
		}
		if (!ret && o->setting == EVAL_BINARY) {
			double auc = NAN, ks = NAN;
			metrics_auc(s, y, m, &auc, NULL);
			metrics_ks(s, y, m, &ks, NULL, NULL);
			ff_task_log(t, FF_TASK_INFO, "evaluation %s %s: %zu rows, auc %.6f, ks %.6f",
				    f->key, tname, m, auc, ks);
		}
	}
	ff_free(s);
	ff_free(y);
	return ret;
}

static int eval_run(struct ff_task *t, struct ff_error *err)
{
	struct eval_opts o = { 0 };
	const char *setting;
	const char **mlist = NULL;
	bool has_m;
	json_t *data = json_object();
	static const char *const binary[] = { "auc", "ks", "confusion_matrix", "gain", "lift",
		"biclass_precision_table", "biclass_recall_table", "biclass_accuracy_table",
		"fscore_table", "roc_curve" };
	static const char *const multi[] = { "multi_accuracy", "multi_precision", "multi_recall" };
	static const char *const regr[] = { "rmse", "mae", "mse", "r2_score" };
	if (!strcmp(ff_task_role(t), "arbiter"))
		return FF_OK; /* FATE: nothing to evaluate on the arbiter */
	int ret = ff_task_param_str(t, "default_eval_setting", "binary", &setting, err);
	if (!ret)
		ret = comp_param_strs(t, "metrics", &mlist, &o.nm, &has_m, err);
	if (!ret)
		ret = ff_task_param_str(t, "predict_column_name", NULL, &o.pred_col, err);
	if (!ret)
		ret = ff_task_param_str(t, "label_column_name", NULL, &o.label_col, err);
	if (ret)
		goto out;
	if (!strcmp(setting, "binary")) {
		o.setting = EVAL_BINARY;
		o.metrics = binary, o.nm = has_m ? o.nm : FF_ARRAY_SIZE(binary);
	} else if (!strcmp(setting, "multi")) {
		o.setting = EVAL_MULTI;
		o.metrics = multi, o.nm = has_m ? o.nm : FF_ARRAY_SIZE(multi);
	} else if (!strcmp(setting, "regression")) {
		o.setting = EVAL_REGRESSION;
		o.metrics = regr, o.nm = has_m ? o.nm : FF_ARRAY_SIZE(regr);
	} else {
		ret = ff_error_set(err, FF_EINVAL, "parameter 'default_eval_setting': '%s' is not one "
				   "of binary, multi, regression", setting);
		goto out;
	}
	if (has_m)
		o.metrics = mlist;
	if (!o.pred_col)
		o.pred_col = o.setting == EVAL_MULTI && !has_m ? "predict_result" : "predict_score";
	const char *key = ff_task_input_count(t, "input_datas") ? "input_datas" : "input_data";
	size_t nin = ff_task_input_count(t, key);
	if (!nin) {
		ret = ff_error_set(err, FF_EDATA, "evaluation has no input_datas");
		goto out;
	}
	for (size_t i = 0; i < nin && !ret; i++) {
		struct comp_frame f = COMP_FRAME_INIT;
		ret = comp_frame_load(t, key, i, COMP_FRAME_NO_IDS, &f, err);
		if (ret)
			break;
		const char *tn = jsonx_str(jsonx_path(f.art, "metadata.source"), "task_name");
		char name[64];
		if (!tn || !*tn) {
			snprintf(name, sizeof(name), "input_%zu", i);
			tn = name;
		}
		json_t *per = json_object_get(data, tn);
		if (!per) {
			per = json_object();
			json_object_set_new(data, tn, per);
		}
		ret = eval_table(t, &o, &f, per, err);
		comp_frame_release(&f);
	}
	if (!ret) {
		comp_metric(t, "evaluation", "evaluation", data);
		data = NULL;
	}
out:
	json_decref(data);
	ff_free(mlist);
	return ret;
}

const struct comp comp_evaluation = { "evaluation", eval_describe, eval_run };
COMP_REGISTER(comp_evaluation);
