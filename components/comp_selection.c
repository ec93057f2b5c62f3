// SPDX-License-Identifier: Apache-2.0
/*
 * comp_selection.c - the `hetero_feature_selection` component. Methods run
 * in the given order, each starting from the previous mask:
 *   manual      filter_out_col / keep_col (local)
 *   iv          guest: filters its columns by the binning model's IV and,
 *               with select_federated, the hosts' columns by the IVs it
 *               computed for them, then sends each host its mask:
 *                 guest -> host  selection.selected_mask_iv
 *                   (count, then anonymous name + keep flag per column)
 *               host: applies the received mask (FATE: the host does no
 *               IV filtering of its own)
 *   statistics  filters by the statistics model's values (local)
 * keep_one keeps one column when a method would drop them all: the best by
 * the method's first metric (FATE picks at random; see docs/internals/ml.md).
 * Columns outside select_col pass through untouched.
 *
 * Model (train_output_model): {"meta": {"model_type": "selection",
 * "method", "select_col", "keep_one"}, "data": {"selected", "dropped",
 * "steps": [{"method", "selected_mask", "metrics", "host_selected_mask"}]}}.
 */
#include "ff_setup.h"
#include <math.h>
#include "comp.h"
#include "comp_util.h"
#include "jsonx.h"
#include "mem.h"
#include "selection.h"

#define SEL_ROLES "guest,host"
#define SEL_TAG_IV "selection.selected_mask_iv"
#define SEL_MAX_FILTERS 64

struct sel_filter {
	const char *metric;
	enum selection_filter type;
	double param;
	bool take_high;
};

struct sel_ctx {
	struct ff_task *t;
	const struct comp_frame *f;
	size_t n;            /* header columns */
	size_t *cols;        /* feature index of header column k */
	bool *mask;          /* current */
	bool keep_one;
	json_t *models;      /* array of input models */
	json_t *steps;
	struct comp_net *net;
	bool guest;
};

static json_t *sel_describe(void)
{
	json_t *iv = json_pack("{s:[s],s:s,s:f,s:b,s:s,s:f,s:b,s:b}", "metrics", "iv", "filter_type",
			       "threshold", "threshold", 1.0, "take_high", 1, "host_filter_type",
			       "threshold", "host_thresholds", 1.0, "host_take_high", 1,
			       "select_federated", 1);
	json_t *stat = json_pack("{s:[s],s:s,s:f,s:b}", "metrics", "mean", "filter_type",
				 "threshold", "threshold", 1.0, "take_high", 1);
	json_t *params = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		"method", comp_param_desc("list", json_pack("[s]", "manual"), false,
					  "selection methods in order: manual, iv, statistics"),
		"select_col", comp_param_desc("list", NULL, true, "columns considered (None: all)"),
		"iv_param", comp_param_desc("dict", iv, true, "iv filter"),
		"statistic_param", comp_param_desc("dict", stat, true, "statistics filter"),
		"manual_param", comp_param_desc("dict", json_pack("{s:[],s:[]}", "filter_out_col",
								 "keep_col"), true, "manual filter"),
		"keep_one", comp_param_desc("bool", json_true(), true,
					    "keep at least one column of select_col"),
		"use_anonymous", comp_param_desc("bool", json_false(), true,
						 "column parameters hold anonymous names"));
	return comp_describe(SEL_ROLES, "train,predict", params,
		json_pack("{s:o,s:o}",
			  "train_data", comp_art("dataframe", true, false, SEL_ROLES, "train"),
			  "test_data", comp_art("dataframe", true, false, SEL_ROLES, "predict")),
		json_pack("{s:o,s:o}",
			  "input_models", comp_art("json_model", true, true, SEL_ROLES, "train"),
			  "input_model", comp_art("json_model", true, false, SEL_ROLES, "predict")),
		json_pack("{s:o,s:o}",
			  "train_output_data", comp_art("dataframe", true, false, SEL_ROLES, "train"),
			  "test_output_data", comp_art("dataframe", true, false, SEL_ROLES, "predict")),
		json_pack("{s:o}", "train_output_model",
			  comp_art("json_model", true, false, SEL_ROLES, "train")),
		comp_metric_out(SEL_ROLES, "train,predict"));
}

/* Element i of a FATE filter list field (a scalar counts as a list of one). */
static const json_t *sel_list_at(const json_t *v, size_t i)
{
	if (json_is_array(v))
		return json_array_get(v, json_array_size(v) == 1 ? 0 : i);
	return v;
}

/* FATE StandardFilterParam: parallel lists broadcast to the longest. */
static int sel_filters(const json_t *p, const char *pname, const char *dflt_metric,
		       struct sel_filter *out, size_t *n, struct ff_error *err)
{
	const char *keys[] = { "metrics", "filter_type", "threshold", "take_high" };
	size_t len = 1;
	for (size_t k = 0; k < 4; k++) {
		const json_t *v = json_object_get(p, keys[k]);
		if (json_is_array(v) && json_array_size(v) > len)
			len = json_array_size(v);
	}
	for (size_t k = 0; k < 4; k++) {
		const json_t *v = json_object_get(p, keys[k]);
		if (json_is_array(v) && json_array_size(v) != 1 && json_array_size(v) != len)
			return ff_error_set(err, FF_EINVAL, "%s.%s has %zu entries where %zu are expected",
					    pname, keys[k], json_array_size(v), len);
	}
	if (len > SEL_MAX_FILTERS)
		return ff_error_set(err, FF_EINVAL, "%s has more than %d filters", pname,
				    SEL_MAX_FILTERS);
	for (size_t i = 0; i < len; i++) {
		const json_t *m = sel_list_at(json_object_get(p, "metrics"), i);
		const json_t *ft = sel_list_at(json_object_get(p, "filter_type"), i);
		const json_t *th = sel_list_at(json_object_get(p, "threshold"), i);
		const json_t *hi = sel_list_at(json_object_get(p, "take_high"), i);
		out[i].metric = m && json_is_string(m) ? json_string_value(m) : dflt_metric;
		const char *fts = ft && json_is_string(ft) ? json_string_value(ft) : "threshold";
		if (!strcmp(fts, "percentile"))
			fts = "top_percentile";
		int ret = selection_filter_parse(fts, &out[i].type, err);
		if (ret)
			return ret;
		out[i].param = 1.0;
		if (th && !json_is_null(th) && !jsonx_as_double(th, &out[i].param))
			return ff_error_set(err, FF_EINVAL, "%s.threshold is not a number", pname);
		out[i].take_high = true;
		if (hi && !json_is_null(hi) && !jsonx_as_bool(hi, &out[i].take_high))
			return ff_error_set(err, FF_EINVAL, "%s.take_high is not a bool", pname);
	}
	*n = len;
	return FF_OK;
}

/* The input model of model_type type, or NULL. */
static const json_t *sel_model(const struct sel_ctx *c, const char *type)
{
	size_t i;
	json_t *m;
	json_array_foreach(c->models, i, m)
		if (!strcmp(jsonx_str(json_object_get(m, "meta"), "model_type") ?
			    jsonx_str(json_object_get(m, "meta"), "model_type") : "", type))
			return m;
	return NULL;
}

static json_t *sel_mask_obj(const char *const *names, const bool *mask, size_t n)
{
	json_t *o = json_object();
	for (size_t k = 0; o && k < n; k++)
		json_object_set_new(o, names[k], json_boolean(mask[k]));
	return o;
}

/*
 * Applies filters to metric values vals[filter][k] (NaN = no value) over n
 * columns: mask = prev AND every filter; keep_one on prev.
 */
static int sel_apply(const struct sel_filter *fl, size_t nf, double *const *vals, size_t n,
		     const bool *prev, bool keep_one, bool *mask, struct ff_error *err)
{
	bool *keep = ff_calloc(n ? n : 1, sizeof(*keep));
	if (!keep)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret = FF_OK;
	for (size_t k = 0; k < n; k++)
		mask[k] = prev ? prev[k] : true;
	for (size_t i = 0; i < nf && !ret; i++) {
		ret = selection_filter(vals[i], n, fl[i].type, fl[i].param, fl[i].take_high, keep, err);
		if (!ret)
			selection_and(mask, keep, n);
	}
	if (!ret && keep_one && n)
		ret = selection_keep_one(mask, n, prev, nf ? vals[0] : NULL,
					 nf ? fl[0].take_high : true, NULL, err);
	ff_free(keep);
	return ret;
}

static int sel_manual(struct sel_ctx *c, json_t *step, struct ff_error *err)
{
	const json_t *mp = NULL;
	size_t *out = NULL, *keep = NULL, no = 0, nk = 0;
	bool *prev = NULL;
	int ret = comp_param_obj(c->t, "manual_param", &mp, err);
	if (ret)
		return ret;
	const json_t *lists[2] = { json_object_get(mp, "filter_out_col"),
				   json_object_get(mp, "keep_col") };
	size_t **dst[2] = { &out, &keep }, *cnt[2] = { &no, &nk };
	prev = ff_malloc((c->n ? c->n : 1) * sizeof(*prev));
	if (!prev)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	memcpy(prev, c->mask, c->n * sizeof(*prev));
	for (size_t l = 0; l < 2 && !ret; l++) {
		size_t len = json_array_size(lists[l]);
		*dst[l] = ff_calloc(len + 1, sizeof(size_t));
		if (!*dst[l]) {
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
			break;
		}
		for (size_t i = 0; i < len && !ret; i++) {
			const char *name = json_string_value(json_array_get(lists[l], i));
			size_t k = 0;
			for (; name && k < c->n; k++)
				if (!strcmp(c->f->schema->feature_names[c->cols[k]], name))
					break;
			if (!name || k == c->n)
				ret = ff_error_set(err, FF_EINVAL, "manual_param: column '%s' is not in "
						   "select_col or the header", name ? name : "?");
			else
				(*dst[l])[(*cnt[l])++] = k;
		}
	}
	if (!ret)
		ret = selection_manual(c->n, out, no, keep, nk, prev, c->mask, err);
	if (!ret && c->keep_one)
		ret = selection_keep_one(c->mask, c->n, prev, NULL, true, NULL, err);
	ff_free(out);
	ff_free(keep);
	ff_free(prev);
	(void)step;
	return ret;
}

/* Values of metric for the header columns from {col: v} (missing: NaN). */
static void sel_values(const struct sel_ctx *c, const json_t *percol, double *v)
{
	for (size_t k = 0; k < c->n; k++) {
		v[k] = NAN;
		jsonx_as_double(json_object_get(percol, c->f->schema->feature_names[c->cols[k]]), &v[k]);
	}
}

static int sel_standard(struct sel_ctx *c, const char *method, json_t *step,
			struct ff_error *err)
{
	bool is_iv = !strcmp(method, "iv");
	const char *pname = is_iv ? "iv_param" : "statistic_param";
	const json_t *p = NULL;
	struct sel_filter fl[SEL_MAX_FILTERS];
	size_t nf = 0;
	double *vals[SEL_MAX_FILTERS] = { 0 };
	bool *prev = NULL;
	int ret = comp_param_obj(c->t, pname, &p, err);
	json_t *def = NULL;
	if (!ret && !p) {
		def = is_iv ? json_pack("{s:s,s:f}", "metrics", "iv", "threshold", 1.0)
			    : json_pack("{s:s,s:f}", "metrics", "mean", "threshold", 1.0);
		p = def;
	}
	if (!ret)
		ret = sel_filters(p, pname, is_iv ? "iv" : "mean", fl, &nf, err);
	if (ret)
		goto out;
	const json_t *model = sel_model(c, is_iv ? "binning" : "statistics");
	if (!model) {
		ret = ff_error_set(err, FF_EINVAL, "method '%s' needs a %s model in input_models",
				   method, is_iv ? "binning" : "statistics");
		goto out;
	}
	if (is_iv && !c->guest) {
		ret = FF_OK; /* the host's iv mask comes from the guest */
		goto out;
	}
	const json_t *summary = jsonx_path(model, "data.metrics_summary");
	json_t *shown = json_object();
	json_object_set_new(step, "metrics", shown);
	for (size_t i = 0; i < nf; i++) {
		const json_t *percol = json_object_get(summary, fl[i].metric);
		if (!json_is_object(percol)) {
			ret = ff_error_set(err, FF_EINVAL, "metric '%s' is not in the %s model",
					   fl[i].metric, is_iv ? "binning" : "statistics");
			goto out;
		}
		vals[i] = ff_calloc(c->n + 1, sizeof(double));
		if (!vals[i]) {
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
			goto out;
		}
		sel_values(c, percol, vals[i]);
		if (!is_iv)
			for (size_t k = 0; k < c->n; k++)
				if (c->mask[k] && isnan(vals[i][k])) {
					ret = ff_error_set(err, FF_EINVAL, "the statistics model has no "
							   "'%s' for column '%s'", fl[i].metric,
							   c->f->schema->feature_names[c->cols[k]]);
					goto out;
				}
		json_object_set_new(shown, fl[i].metric, json_deep_copy(percol));
	}
	prev = ff_malloc((c->n ? c->n : 1) * sizeof(*prev));
	if (!prev) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(prev, c->mask, c->n * sizeof(*prev));
	ret = sel_apply(fl, nf, vals, c->n, prev, c->keep_one, c->mask, err);
out:
	for (size_t i = 0; i < nf; i++)
		ff_free(vals[i]);
	ff_free(prev);
	json_decref(def);
	return ret;
}

/* Guest: masks of every host's columns by the binning model's host IVs, sent to the hosts. */
static int sel_guest_hosts(struct sel_ctx *c, json_t *step, struct ff_error *err)
{
	const json_t *p = NULL;
	struct sel_filter fl[SEL_MAX_FILTERS];
	size_t nf = 0, nh;
	int ret = comp_param_obj(c->t, "iv_param", &p, err);
	json_t *def = NULL;
	if (!ret && !p)
		p = def = json_pack("{s:s,s:f}", "metrics", "iv", "threshold", 1.0);
	if (!ret)
		ret = sel_filters(p, "iv_param", "iv", fl, &nf, err);
	const char *const *hosts = comp_net_parties(c->net, "host", &nh);
	const json_t *hm = jsonx_path(sel_model(c, "binning"), "data.host_metrics_summary");
	json_t *hmask = json_object();
	json_object_set_new(step, "host_selected_mask", hmask);
	for (size_t h = 0; h < nh && !ret; h++) {
		const json_t *percol[SEL_MAX_FILTERS];
		const json_t *first = NULL;
		for (size_t i = 0; i < nf; i++) {
			percol[i] = jsonx_path(json_object_get(hm, hosts[h]), fl[i].metric);
			if (!json_is_object(percol[i])) {
				ret = ff_error_set(err, FF_EINVAL, "the binning model has no '%s' of host "
						   "%s (local_only or skip_metrics?)", fl[i].metric, hosts[h]);
				break;
			}
			first = first ? first : percol[i];
		}
		if (ret || !first)
			break;
		size_t n = json_object_size(first), k = 0;
		const char **names = ff_calloc(n + 1, sizeof(*names));
		bool *mask = ff_calloc(n + 1, sizeof(*mask));
		double *vals[SEL_MAX_FILTERS] = { 0 };
		const char *name;
		json_t *v;
		ret = names && mask ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
		json_object_foreach((json_t *)first, name, v)
			if (names)
				names[k++] = name;
		for (size_t i = 0; i < nf && !ret; i++) {
			vals[i] = ff_calloc(n + 1, sizeof(double));
			if (!vals[i]) {
				ret = ff_error_set(err, FF_ENOMEM, "out of memory");
				break;
			}
			for (size_t q = 0; q < n; q++) {
				vals[i][q] = NAN;
				jsonx_as_double(json_object_get(percol[i], names[q]), &vals[i][q]);
			}
		}
		if (!ret)
			ret = sel_apply(fl, nf, vals, n, NULL, c->keep_one, mask, err);
		if (!ret) {
			json_object_set_new(hmask, hosts[h], sel_mask_obj(names, mask, n));
			struct comp_msgw w;
			comp_msgw_init(&w);
			comp_msgw_u64(&w, n);
			for (size_t q = 0; q < n; q++) {
				comp_msgw_str(&w, names[q]);
				comp_msgw_u64(&w, mask[q]);
			}
			ret = comp_net_send(c->net, SEL_TAG_IV, "host", hosts[h], &w, err);
		}
		for (size_t i = 0; i < nf; i++)
			ff_free(vals[i]);
		ff_free(names);
		ff_free(mask);
	}
	json_decref(def);
	return ret;
}

/* Host: AND the guest's iv mask into the current one (by anonymous name). */
static int sel_host_iv(struct sel_ctx *c, json_t *step, struct ff_error *err)
{
	size_t ng;
	const char *const *guests = comp_net_parties(c->net, "guest", &ng);
	struct comp_msgr r;
	uint64_t n = 0;
	bool *got = ff_calloc(c->n + 1, sizeof(*got)), *seen = ff_calloc(c->n + 1, sizeof(*seen));
	int ret = got && seen ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret && ng != 1)
		ret = ff_error_set(err, FF_EINVAL, "selection needs exactly one guest");
	if (!ret)
		ret = comp_net_recv(c->net, SEL_TAG_IV, "guest", guests[0], &r, err);
	else
		memset(&r, 0, sizeof(r));
	if (!ret)
		ret = comp_msgr_u64(&r, &n, err);
	char anon[160];
	for (uint64_t i = 0; !ret && i < n; i++) {
		char *name = NULL;
		uint64_t keep = 0;
		ret = comp_msgr_str(&r, &name, 159, err);
		if (!ret)
			ret = comp_msgr_u64(&r, &keep, err);
		for (size_t k = 0; !ret && k < c->n; k++) {
			comp_anon_name(ff_task_role(c->t), ff_task_party_id(c->t), c->cols[k], anon,
				       sizeof(anon));
			if (!strcmp(anon, name)) {
				got[k] = keep != 0;
				seen[k] = true;
			}
		}
		ff_free(name);
	}
	if (!ret)
		ret = comp_msgr_end(&r, err);
	for (size_t k = 0; !ret && k < c->n; k++) {
		if (c->mask[k] && !seen[k])
			ret = ff_error_set(err, FF_EDATA, "the guest's iv selection has no result for "
					   "column '%s' (was it binned?)",
					   c->f->schema->feature_names[c->cols[k]]);
		c->mask[k] = c->mask[k] && got[k];
	}
	(void)step;
	comp_msgr_release(&r);
	ff_free(got);
	ff_free(seen);
	return ret;
}

static int sel_header(struct sel_ctx *c, bool anon, struct ff_error *err)
{
	bool all;
	int ret = comp_select_cols(c->t, c->f, "select_col", NULL, anon, &c->cols, &c->n, &all, err);
	if (ret)
		return ret;
	c->mask = ff_calloc(c->n + 1, sizeof(*c->mask));
	if (!c->mask)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t k = 0; k < c->n; k++)
		c->mask[k] = true;
	return FF_OK;
}

/* Output: the frame without the header columns whose mask is false. */
static int sel_write(struct ff_task *t, const struct comp_frame *f, const bool *drop,
		     const char *key, struct ff_error *err)
{
	size_t d = 0;
	for (size_t j = 0; j < f->ds.d; j++)
		d += !drop[j];
	const char **names = ff_calloc(d + 1, sizeof(*names));
	double *x = ff_malloc((f->ds.n * d + 1) * sizeof(double));
	int ret = FF_OK;
	if (!names || !x) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0, q = 0; j < f->ds.d; j++)
		if (!drop[j])
			names[q++] = f->schema->feature_names[j];
	for (size_t i = 0; i < f->ds.n; i++)
		for (size_t j = 0, q = 0; j < f->ds.d; j++)
			if (!drop[j])
				x[i * d + q++] = f->ds.x[i * f->ds.d + j];
	struct comp_out_table o = { .src = f, .n = f->ds.n, .d = d, .names = names, .x = x,
				    .with_label = true, .with_weight = true };
	ret = comp_frame_write(t, key, &o, err);
out:
	ff_free(names);
	ff_free(x);
	return ret;
}

static int sel_load_models(struct sel_ctx *c, struct ff_error *err)
{
	c->models = json_array();
	size_t n = ff_task_input_count(c->t, "input_models");
	for (size_t i = 0; i < n; i++) {
		json_t *m = NULL;
		int ret = comp_model_load(c->t, "input_models", i, &m, err);
		if (ret)
			return ret;
		json_array_append_new(c->models, m);
	}
	return FF_OK;
}

static int sel_train(struct ff_task *t, struct ff_error *err)
{
	struct comp_frame f = COMP_FRAME_INIT;
	struct sel_ctx c = { .t = t, .f = &f, .guest = !strcmp(ff_task_role(t), "guest") };
	const char **methods = NULL;
	size_t nm = 0;
	bool has_m, anon, need_net = false;
	bool *drop = NULL;
	json_t *model = NULL;
	int ret = comp_param_strs(t, "method", &methods, &nm, &has_m, err);
	if (!ret)
		ret = ff_task_param_bool(t, "keep_one", true, &c.keep_one, err);
	if (!ret)
		ret = ff_task_param_bool(t, "use_anonymous", false, &anon, err);
	if (ret)
		goto out;
	const char *dflt[] = { "manual" };
	const char **ml = has_m ? methods : dflt;
	nm = has_m ? nm : 1;
	bool federated = true;
	const json_t *ivp = ff_task_param(t, "iv_param");
	if (ivp)
		jsonx_as_bool(json_object_get(ivp, "select_federated"), &federated);
	for (size_t i = 0; i < nm; i++) {
		if (!strcmp(ml[i], "binning"))
			ml[i] = "iv";
		if (strcmp(ml[i], "manual") && strcmp(ml[i], "iv") && strcmp(ml[i], "statistics")) {
			ret = ff_error_set(err, FF_EINVAL, "parameter 'method': '%s' is not one of manual,"
					   " iv, statistics", ml[i]);
			goto out;
		}
		need_net = need_net || (!strcmp(ml[i], "iv") && federated);
	}
	if (need_net && (ret = comp_net_open(t, &c.net, err)))
		goto out;
	ret = comp_frame_load(t, "train_data", 0, 0, &f, err);
	if (!ret)
		ret = sel_load_models(&c, err);
	if (!ret)
		ret = sel_header(&c, anon, err);
	if (ret)
		goto out;
	c.steps = json_array();
	for (size_t i = 0; i < nm && !ret; i++) {
		json_t *step = json_pack("{s:s}", "method", ml[i]);
		json_array_append_new(c.steps, step);
		if (!strcmp(ml[i], "manual"))
			ret = sel_manual(&c, step, err);
		else
			ret = sel_standard(&c, ml[i], step, err);
		if (!ret && !strcmp(ml[i], "iv") && federated)
			ret = c.guest ? sel_guest_hosts(&c, step, err) : sel_host_iv(&c, step, err);
		if (!ret) {
			const char **names = ff_calloc(c.n + 1, sizeof(*names));
			for (size_t k = 0; names && k < c.n; k++)
				names[k] = f.schema->feature_names[c.cols[k]];
			if (names)
				json_object_set_new(step, "selected_mask", sel_mask_obj(names, c.mask, c.n));
			ff_free(names);
		}
	}
	if (ret)
		goto out;
	drop = ff_calloc(f.ds.d + 1, sizeof(*drop));
	json_t *kept = json_array(), *dropped = json_array(), *header = json_array();
	for (size_t k = 0; drop && k < c.n; k++) {
		const char *name = f.schema->feature_names[c.cols[k]];
		drop[c.cols[k]] = !c.mask[k];
		json_array_append_new(header, json_string(name));
		json_array_append_new(c.mask[k] ? kept : dropped, json_string(name));
	}
	ff_task_log(t, FF_TASK_INFO, "selection keeps %zu of %zu columns",
		    json_array_size(kept), c.n);
	model = json_pack("{s:{s:s,s:o,s:o,s:b},s:{s:o,s:o,s:O}}", "meta", "model_type",
			  "selection", "method", comp_json_strs(ml, nm), "select_col", header,
			  "keep_one", c.keep_one, "data", "selected", kept, "dropped", dropped,
			  "steps", c.steps);
	if (!drop || !model) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	ret = comp_model_save(t, "train_output_model", model, NULL, err);
	if (!ret)
		ret = sel_write(t, &f, drop, "train_output_data", err);
out:
	if (ret && c.net) {
		if (c.guest)
			comp_net_broadcast_error(c.net, SEL_TAG_IV, "host", ff_error_msg(err, ret));
	}
	json_decref(model);
	json_decref(c.steps);
	json_decref(c.models);
	ff_free(drop);
	ff_free(c.cols);
	ff_free(c.mask);
	ff_free(methods);
	comp_net_close(c.net);
	comp_frame_release(&f);
	return ret;
}

static int sel_predict(struct ff_task *t, struct ff_error *err)
{
	struct comp_frame f = COMP_FRAME_INIT;
	json_t *model = NULL;
	bool *drop = NULL;
	int ret = comp_model_load(t, "input_model", 0, &model, err);
	if (!ret)
		ret = comp_frame_load(t, "test_data", 0, 0, &f, err);
	if (ret)
		goto out;
	const json_t *dropped = jsonx_path(model, "data.dropped");
	if (!json_is_array(dropped)) {
		ret = ff_error_set(err, FF_EDATA, "input_model is not a selection model");
		goto out;
	}
	drop = ff_calloc(f.ds.d + 1, sizeof(*drop));
	if (!drop) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	size_t i;
	json_t *v;
	json_array_foreach(dropped, i, v) {
		long j = json_string_value(v) ? comp_frame_col(&f, json_string_value(v)) : -1;
		if (j >= 0)
			drop[j] = true;
	}
	ret = sel_write(t, &f, drop, "test_output_data", err);
out:
	ff_free(drop);
	json_decref(model);
	comp_frame_release(&f);
	return ret;
}

static int sel_run(struct ff_task *t, struct ff_error *err)
{
	const char *stage = ff_task_stage(t), *role = ff_task_role(t);
	if (strcmp(role, "guest") && strcmp(role, "host"))
		return ff_error_set(err, FF_EROLE, "hetero_feature_selection runs on guest and host, "
				    "not '%s'", role);
	if (!strcmp(stage, "predict"))
		return sel_predict(t, err);
	if (!strcmp(stage, "train") || !strcmp(stage, "default"))
		return sel_train(t, err);
	return ff_error_set(err, FF_EINVAL, "hetero_feature_selection has no stage '%s'", stage);
}

const struct comp comp_hetero_feature_selection = { "hetero_feature_selection", sel_describe,
						    sel_run };
COMP_REGISTER(comp_hetero_feature_selection);
