// SPDX-License-Identifier: Apache-2.0
/*
 * comp_binning.c - the `hetero_feature_binning` component. Each party cuts
 * its own columns (quantile, bucket, manual; category columns keep one bin
 * per value). The guest computes WOE/IV of its columns from its labels;
 * for the hosts' columns (unless skip_metrics or local_only):
 *
 *   guest -> hosts  binning.enc_y        public key, row count, sample-id
 *                                        digest, E(y_i) for every row
 *   host  -> guest  binning.event_count  per host column (anonymous name):
 *                                        bin count k, rows per bin, and
 *                                        E(sum of y in bin), re-randomised
 *   guest: decrypts, event = sum y, non-event = rows - event, WOE/IV.
 *
 * The host learns nothing about the labels (Paillier, key owned by the
 * guest); the guest learns each host bin's size and event count (FATE
 * learns the same) but not the host's split points or values: sums are
 * re-randomised so the guest cannot tell which of its ciphertexts were
 * multiplied together.
 *
 * transform_method: bin_idx replaces binned values by their bin index;
 * woe (guest only; a host leaves its data unchanged, as FATE's parameter
 * note says) by the bin's WOE; null writes the data unchanged.
 */
#include "ff_setup.h"
#include <math.h>
#include "binning.h"
#include "comp.h"
#include "comp_util.h"
#include "crypto_par.h"
#include "jsonx.h"
#include "mem.h"
#include "paillier.h"
#include "stats.h"

#define BIN_ROLES "guest,host"
#define BIN_TAG_Y "binning.enc_y"
#define BIN_TAG_COUNT "binning.event_count"
#define BIN_MAX_BINS 100000

struct bin_col {
	size_t col;          /* feature index */
	bool category;
	size_t k;            /* bins */
	double *pts;         /* k split points */
	size_t *bins;        /* bin of every row (train) */
	double *event, *nonevent;
	struct binning_woe woe;
	bool has_metrics;
	char anon[160];
};

struct bin_opts {
	const char *method;
	long long n_bins;
	double rel_err, adjust;
	const json_t *split_pt;
	const char *transform;
	bool skip_metrics, local_only, anon;
	unsigned key_bits;
};

struct bin_state {
	size_t n;
	struct bin_col *c;
};

static void bin_state_release(struct bin_state *s)
{
	for (size_t i = 0; s->c && i < s->n; i++) {
		ff_free(s->c[i].pts);
		ff_free(s->c[i].bins);
		ff_free(s->c[i].event);
		ff_free(s->c[i].nonevent);
		binning_woe_release(&s->c[i].woe);
	}
	ff_free(s->c);
	memset(s, 0, sizeof(*s));
}

static json_t *bin_describe(void)
{
	json_t *params = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		"method", comp_param_desc("str", json_string("quantile"), true,
					  "quantile, bucket or manual"),
		"n_bins", comp_param_desc("int", json_integer(10), true, "bins per column (>= 2)"),
		"split_pt_dict", comp_param_desc("dict", NULL, true, "manual: {col: [points]}"),
		"bin_col", comp_param_desc("list", NULL, true, "columns to bin (None: all)"),
		"bin_idx", comp_param_desc("list", NULL, true, "column indexes to bin"),
		"category_col", comp_param_desc("list", NULL, true, "categorical columns"),
		"category_idx", comp_param_desc("list", NULL, true, "categorical column indexes"),
		"use_anonymous", comp_param_desc("bool", json_false(), true,
						 "column parameters hold anonymous names"),
		"transform_method", comp_param_desc("str", NULL, true, "woe, bin_idx or None"),
		"skip_metrics", comp_param_desc("bool", json_false(), true, "do not compute WOE/IV"),
		"local_only", comp_param_desc("bool", json_false(), true, "no host metrics"),
		"relative_error", comp_param_desc("float", json_real(1e-6), true,
						  "quantile error (fedflow's quantiles are exact)"),
		"adjustment_factor", comp_param_desc("float", json_real(0.5), true,
						     "added to empty event/non-event rates"),
		"he_param", comp_param_desc("dict", json_pack("{s:s,s:i}", "kind", "paillier",
							      "key_length", 1024), true,
					    "Paillier key for the hosts' metrics (>= 1024 bits)"));
	return comp_describe(BIN_ROLES, "train,predict", params,
		json_pack("{s:o,s:o}",
			  "train_data", comp_art("dataframe", true, false, BIN_ROLES, "train"),
			  "test_data", comp_art("dataframe", true, false, BIN_ROLES, "predict")),
		json_pack("{s:o}", "input_model",
			  comp_art("json_model", true, false, BIN_ROLES, "predict")),
		json_pack("{s:o,s:o}",
			  "train_output_data", comp_art("dataframe", true, false, BIN_ROLES, "train"),
			  "test_output_data", comp_art("dataframe", true, false, BIN_ROLES, "predict")),
		json_pack("{s:o}", "output_model",
			  comp_art("json_model", true, false, BIN_ROLES, "train")),
		comp_metric_out(BIN_ROLES, "train,predict"));
}

static int bin_opts_load(struct ff_task *t, struct bin_opts *o, struct ff_error *err)
{
	memset(o, 0, sizeof(*o));
	int ret = ff_task_param_str(t, "method", "quantile", &o->method, err);
	if (!ret)
		ret = ff_task_param_int(t, "n_bins", 10, &o->n_bins, err);
	if (!ret)
		ret = ff_task_param_double(t, "relative_error", 1e-6, &o->rel_err, err);
	if (!ret)
		ret = ff_task_param_double(t, "adjustment_factor", 0.5, &o->adjust, err);
	if (!ret)
		ret = ff_task_param_str(t, "transform_method", NULL, &o->transform, err);
	if (!ret)
		ret = ff_task_param_bool(t, "skip_metrics", false, &o->skip_metrics, err);
	if (!ret)
		ret = ff_task_param_bool(t, "local_only", false, &o->local_only, err);
	if (!ret)
		ret = ff_task_param_bool(t, "use_anonymous", false, &o->anon, err);
	if (!ret)
		ret = comp_param_obj(t, "split_pt_dict", &o->split_pt, err);
	if (!ret)
		ret = comp_he_param(t, &o->key_bits, err);
	if (ret)
		return ret;
	if (strcmp(o->method, "quantile") && strcmp(o->method, "bucket") && strcmp(o->method, "manual"))
		return ff_error_set(err, FF_EINVAL, "parameter 'method': '%s' is not one of quantile, "
				    "bucket, manual", o->method);
	if (o->n_bins < 2 || o->n_bins > BIN_MAX_BINS)
		return ff_error_set(err, FF_EINVAL, "parameter 'n_bins' must be between 2 and %d",
				    BIN_MAX_BINS);
	if (!(o->rel_err > 0 && o->rel_err <= 1))
		return ff_error_set(err, FF_EINVAL, "parameter 'relative_error' must be in (0, 1]");
	if (!(o->adjust > 0) || !isfinite(o->adjust))
		return ff_error_set(err, FF_EINVAL, "parameter 'adjustment_factor' must be > 0");
	if (o->transform && strcmp(o->transform, "woe") && strcmp(o->transform, "bin_idx"))
		return ff_error_set(err, FF_EINVAL, "parameter 'transform_method': '%s' is not one of "
				    "woe, bin_idx", o->transform);
	if (!strcmp(o->method, "manual") && !o->split_pt)
		return ff_error_set(err, FF_EINVAL, "method 'manual' needs 'split_pt_dict'");
	return FF_OK;
}

/* Split points of one column into c (pts owned). */
static int bin_fit_col(const struct comp_frame *f, const struct bin_opts *o, struct bin_col *c,
		       struct ff_error *err)
{
	const char *name = f->schema->feature_names[c->col];
	size_t cap = (size_t)o->n_bins;
	int ret;
	if (c->category) {
		double *s = NULL;
		size_t n = 0;
		ret = stats_sorted_column(f->ds.x, f->ds.n, f->ds.d, c->col, &s, &n, err);
		if (ret)
			return ret;
		size_t u = 0;
		for (size_t i = 0; i < n; i++)
			if (!u || s[i] != s[u - 1])
				s[u++] = s[i];
		if (u > BIN_MAX_BINS) {
			ff_free(s);
			return ff_error_set(err, FF_EINVAL, "category column '%s' has more than %d "
					    "values", name, BIN_MAX_BINS);
		}
		c->pts = s;
		c->k = u;
		return FF_OK;
	}
	const json_t *manual = NULL;
	if (!strcmp(o->method, "manual")) {
		manual = json_object_get(o->split_pt, name);
		if (!json_is_array(manual) || !json_array_size(manual))
			return ff_error_set(err, FF_EINVAL, "split_pt_dict has no split points for "
					    "column '%s'", name);
		cap = json_array_size(manual);
	}
	c->pts = ff_calloc(cap, sizeof(double));
	if (!c->pts)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	if (manual) {
		double *pts = ff_calloc(cap, sizeof(double));
		if (!pts)
			return ff_error_set(err, FF_ENOMEM, "out of memory");
		ret = FF_OK;
		for (size_t i = 0; i < cap && !ret; i++)
			if (!jsonx_as_double(json_array_get(manual, i), &pts[i]))
				ret = ff_error_set(err, FF_EINVAL, "split_pt_dict['%s'][%zu] is not a "
						   "number", name, i);
		if (!ret)
			ret = binning_manual_splits(pts, cap, c->pts, &c->k, err);
		ff_free(pts);
	} else if (!strcmp(o->method, "quantile")) {
		ret = binning_quantile_splits(f->ds.x, f->ds.n, f->ds.d, c->col, (size_t)o->n_bins,
					      o->rel_err < 1 ? o->rel_err : 0.999, c->pts, &c->k, err);
	} else {
		ret = binning_bucket_splits(f->ds.x, f->ds.n, f->ds.d, c->col, (size_t)o->n_bins,
					    c->pts, &c->k, err);
	}
	if (ret)
		ff_error_prefix(err, "column '%s'", name);
	return ret;
}

/* Columns to bin (and category columns) and their split points and bins. */
static int bin_fit(struct ff_task *t, const struct comp_frame *f, const struct bin_opts *o,
		   struct bin_state *s, struct ff_error *err)
{
	size_t *sel = NULL, nsel = 0, *cat = NULL, ncat = 0;
	bool all, cat_all;
	int ret = comp_select_cols(t, f, "bin_col", "bin_idx", o->anon, &sel, &nsel, &all, err);
	if (!ret && (ff_task_param(t, "category_col") || ff_task_param(t, "category_idx")))
		ret = comp_select_cols(t, f, "category_col", "category_idx", o->anon, &cat, &ncat,
				       &cat_all, err);
	if (ret)
		goto out;
	s->c = ff_calloc(nsel + ncat + 1, sizeof(*s->c));
	if (!s->c) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	/* FATE: bin columns minus category columns, then the category columns */
	for (size_t k = 0; k < nsel; k++) {
		bool is_cat = false;
		for (size_t q = 0; q < ncat && !is_cat; q++)
			is_cat = cat[q] == sel[k];
		if (!is_cat)
			s->c[s->n++].col = sel[k];
	}
	for (size_t q = 0; q < ncat; q++) {
		s->c[s->n].col = cat[q];
		s->c[s->n++].category = true;
	}
	for (size_t i = 0; i < s->n && !ret; i++) {
		struct bin_col *c = &s->c[i];
		comp_anon_name(ff_task_role(t), ff_task_party_id(t), c->col, c->anon, sizeof(c->anon));
		ret = bin_fit_col(f, o, c, err);
	}
out:
	ff_free(sel);
	ff_free(cat);
	return ret;
}

/* Bin of every row of every binned column (c->bins). */
static int bin_assign_all(const struct comp_frame *f, struct bin_state *s, struct ff_error *err)
{
	for (size_t i = 0; i < s->n; i++) {
		struct bin_col *c = &s->c[i];
		ff_free(c->bins);
		c->bins = ff_malloc((f->ds.n ? f->ds.n : 1) * sizeof(*c->bins));
		if (!c->bins)
			return ff_error_set(err, FF_ENOMEM, "out of memory");
		int ret = binning_assign(f->ds.x, f->ds.n, f->ds.d, c->col, c->pts, c->k, c->bins, err);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int bin_check_labels(const struct comp_frame *f, struct ff_error *err)
{
	for (size_t i = 0; i < f->ds.n; i++)
		if (f->ds.label[i] != 0 && f->ds.label[i] != 1)
			return ff_error_set(err, FF_EDATA, "hetero_feature_binning needs binary labels "
					    "0/1: label '%s' is %g at row %zu", f->schema->label_name,
					    f->ds.label[i], i + 1);
	return FF_OK;
}

static int bin_metrics_col(struct bin_col *c, double adjust, struct ff_error *err)
{
	binning_woe_release(&c->woe);
	int ret = binning_woe_iv(c->event, c->nonevent, c->k, adjust, &c->woe, err);
	c->has_metrics = !ret;
	return ret;
}

/* --------------------------------------------------------- host protocol */

struct bin_host_ctx {
	const struct paillier_pub *pub;
	const struct paillier_vec *ey;
	struct bin_state *s;
	struct paillier_vec *sums;   /* one vector per column */
	const struct paillier_djn *djn;
	size_t n;
};

/* One column: sums[b] = prod of E(y_i) over rows in bin b, re-randomised. */
static int bin_host_col(void *arg, size_t j, unsigned tid)
{
	(void)tid;
	struct bin_host_ctx *x = arg;
	struct bin_col *c = &x->s->c[j];
	struct paillier_vec *v = &x->sums[j];
	for (size_t b = 0; b < c->k; b++)
		mpz_set_ui(v->v[b], 1); /* E(0) with r = 1, re-randomised below */
	for (size_t i = 0; i < x->n; i++)
		paillier_add(x->pub, v->v[c->bins[i]], v->v[c->bins[i]], x->ey->v[i]);
	int ret = FF_OK;
	for (size_t b = 0; b < c->k && !ret; b++)
		ret = paillier_obfuscate_djn(x->djn, v->v[b], v->v[b], NULL);
	return ret;
}

static int bin_host_protocol(struct comp_net *net, const struct comp_frame *f,
			     struct bin_state *s, unsigned nthreads, struct ff_error *err)
{
	size_t ng;
	const char *const *guests = comp_net_parties(net, "guest", &ng);
	if (ng != 1)
		return ff_error_set(err, FF_EINVAL, "hetero_feature_binning needs exactly one guest");
	struct comp_msgr r;
	struct paillier_pub pub;
	struct paillier_vec ey = PAILLIER_VEC_INIT;
	struct paillier_djn djn;
	struct paillier_vec *sums = NULL;
	uint64_t n = 0;
	const unsigned char *digest;
	size_t dlen;
	unsigned char mine[32];
	paillier_pub_init(&pub);
	paillier_djn_init(&djn);
	int ret = comp_net_recv(net, BIN_TAG_Y, "guest", guests[0], &r, err);
	if (!ret)
		ret = comp_msgr_pub(&r, &pub, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &n, err);
	if (!ret)
		ret = comp_msgr_bytes(&r, &digest, &dlen, 32, err);
	if (ret)
		goto out;
	comp_frame_sid_hash(f, mine);
	if (n != f->ds.n || dlen != 32 || memcmp(digest, mine, 32)) {
		ret = ff_error_set(err, FF_EDATA, "data of guest (%llu rows) and host (%zu rows) are "
				   "not aligned: run psi first", (unsigned long long)n, f->ds.n);
		goto out;
	}
	ret = comp_msgr_cts(&r, &pub, &ey, f->ds.n, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	if (!ret)
		ret = paillier_djn_setup(&djn, &pub, 0, err);
	if (ret)
		goto out;
	sums = ff_calloc(s->n + 1, sizeof(*sums));
	if (!sums) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < s->n && !ret; j++)
		ret = paillier_vec_init(&sums[j], s->c[j].k);
	if (ret) {
		ret = ff_error_set(err, ret, "out of memory");
		goto out;
	}
	struct bin_host_ctx x = { .pub = &pub, .ey = &ey, .s = s, .sums = sums, .djn = &djn,
				  .n = f->ds.n };
	ret = crypto_par_units(s->n, nthreads, bin_host_col, &x);
	if (ret) {
		ret = ff_error_set(err, ret, "cannot sum encrypted labels per bin");
		goto out;
	}
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_u64(&w, s->n);
	for (size_t j = 0; j < s->n; j++) {
		struct bin_col *c = &s->c[j];
		uint64_t *cnt = ff_calloc(c->k, sizeof(*cnt));
		if (!cnt) {
			comp_msgw_release(&w);
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < f->ds.n; i++)
			cnt[c->bins[i]]++;
		comp_msgw_str(&w, c->anon);
		comp_msgw_u64v(&w, cnt, c->k);
		comp_msgw_cts(&w, &pub, &sums[j]);
		ff_free(cnt);
	}
	ret = comp_net_send(net, BIN_TAG_COUNT, "guest", guests[0], &w, err);
out:
	comp_msgr_release(&r);
	for (size_t j = 0; sums && j < s->n; j++)
		paillier_vec_release(&sums[j]);
	ff_free(sums);
	paillier_vec_release(&ey);
	paillier_djn_release(&djn);
	paillier_pub_release(&pub);
	return ret;
}

/* -------------------------------------------------------- guest protocol */

struct bin_host_cols {
	char party[96];
	size_t n;
	struct bin_col *c;   /* anon, k, event, nonevent, woe */
};

static void bin_host_cols_release(struct bin_host_cols *h, size_t nh)
{
	for (size_t i = 0; h && i < nh; i++) {
		struct bin_state s = { h[i].n, h[i].c };
		bin_state_release(&s);
	}
	ff_free(h);
}

static int bin_guest_recv_host(struct comp_net *net, const struct paillier_priv *priv,
			       const char *host, double adjust, unsigned nthreads,
			       struct bin_host_cols *hc, struct ff_error *err)
{
	struct comp_msgr r;
	uint64_t ncol = 0;
	int ret = comp_net_recv(net, BIN_TAG_COUNT, "host", host, &r, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &ncol, err);
	if (!ret && ncol > 1000000)
		ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from host %s: %llu columns",
				   BIN_TAG_COUNT, host, (unsigned long long)ncol);
	if (ret)
		goto out;
	snprintf(hc->party, sizeof(hc->party), "%s", host);
	hc->c = ff_calloc((size_t)ncol + 1, sizeof(*hc->c));
	if (!hc->c) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < ncol && !ret; j++) {
		struct bin_col *c = &hc->c[j];
		char *name = NULL;
		uint64_t *cnt = NULL;
		size_t k = 0;
		struct paillier_vec ev = PAILLIER_VEC_INIT, em = PAILLIER_VEC_INIT;
		hc->n = j + 1;
		ret = comp_msgr_str(&r, &name, sizeof(c->anon) - 1, err);
		if (!ret)
			ret = comp_msgr_u64v_alloc(&r, &cnt, &k, BIN_MAX_BINS, err);
		if (!ret && k == 0)
			ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from host %s: column "
					   "without bins", BIN_TAG_COUNT, host);
		if (!ret)
			ret = comp_msgr_cts(&r, &priv->pub, &ev, k, err);
		if (!ret) {
			snprintf(c->anon, sizeof(c->anon), "%s", name);
			c->k = k;
			c->event = ff_calloc(k, sizeof(double));
			c->nonevent = ff_calloc(k, sizeof(double));
			if (!c->event || !c->nonevent || paillier_vec_init(&em, k))
				ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		}
		if (!ret)
			ret = paillier_decrypt_vec(priv, &em, &ev, nthreads, err);
		for (size_t b = 0; !ret && b < k; b++) {
			/* a count beyond the bin size is a lie or a corrupted message */
			if (mpz_cmp_ui(em.v[b], (unsigned long)cnt[b]) > 0)
				ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from host %s: "
						   "event count above the bin size", BIN_TAG_COUNT, host);
			else {
				c->event[b] = (double)mpz_get_ui(em.v[b]);
				c->nonevent[b] = (double)cnt[b] - c->event[b];
			}
		}
		if (!ret)
			ret = bin_metrics_col(c, adjust, err);
		ff_free(name);
		ff_free(cnt);
		paillier_vec_release(&ev);
		paillier_vec_release(&em);
	}
	if (!ret)
		ret = comp_msgr_end(&r, err);
out:
	comp_msgr_release(&r);
	return ret;
}

static int bin_guest_protocol(struct comp_net *net, const struct comp_frame *f, unsigned bits,
			      double adjust, unsigned nthreads, struct bin_host_cols **out,
			      size_t *nout, struct ff_error *err)
{
	size_t nh;
	const char *const *hosts = comp_net_parties(net, "host", &nh);
	struct paillier_priv priv;
	struct paillier_djn djn;
	struct paillier_vec ey = PAILLIER_VEC_INIT;
	struct bin_host_cols *hc = NULL;
	unsigned char digest[32];
	paillier_priv_init(&priv);
	paillier_djn_init(&djn);
	*out = NULL;
	*nout = 0;
	int ret = paillier_keygen(&priv, bits, err);
	if (!ret)
		ret = paillier_djn_setup(&djn, &priv.pub, 0, err);
	if (!ret)
		ret = paillier_vec_init(&ey, f->ds.n) ? ff_error_set(err, FF_ENOMEM, "out of memory")
						      : FF_OK;
	if (!ret)
		ret = paillier_encrypt_fixed_vec(NULL, &djn, &ey, f->ds.label, 0, nthreads, err);
	if (ret)
		goto out;
	comp_frame_sid_hash(f, digest);
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_pub(&w, &priv.pub);
	comp_msgw_u64(&w, f->ds.n);
	comp_msgw_bytes(&w, digest, 32);
	comp_msgw_cts(&w, &priv.pub, &ey);
	ret = comp_net_broadcast(net, BIN_TAG_Y, "host", &w, err);
	if (ret)
		goto out;
	hc = ff_calloc(nh + 1, sizeof(*hc));
	if (!hc) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nh && !ret; i++) {
		*nout = i + 1;
		ret = bin_guest_recv_host(net, &priv, hosts[i], adjust, nthreads, &hc[i], err);
	}
	*out = hc;
	hc = NULL;
out:
	bin_host_cols_release(hc, nh);
	paillier_vec_release(&ey);
	paillier_djn_release(&djn);
	paillier_priv_release(&priv);
	return ret;
}

/* ----------------------------------------------------------------- model */

static json_t *bin_bins_obj(const double *v, size_t k)
{
	json_t *o = json_object();
	char key[32];
	for (size_t b = 0; o && b < k; b++) {
		snprintf(key, sizeof(key), "%zu", b);
		json_object_set_new(o, key, comp_json_real(v[b]));
	}
	return o;
}

/* FATE's metrics_summary for columns c[0..n) named by names(i). */
static json_t *bin_summary(const struct bin_col *c, size_t n, const char *const *names)
{
	json_t *s = json_pack("{s:{},s:{},s:{},s:{},s:{},s:{},s:{},s:{},s:{}}", "event_count",
			      "non_event_count", "event_rate", "non_event_rate", "woe", "iv_array",
			      "is_monotonic", "iv", "iv_all");
	for (size_t i = 0; s && i < n; i++) {
		if (!c[i].has_metrics)
			continue;
		const char *name = names[i];
		size_t k = c[i].k;
		json_object_set_new(json_object_get(s, "event_count"), name, bin_bins_obj(c[i].event, k));
		json_object_set_new(json_object_get(s, "non_event_count"), name,
				    bin_bins_obj(c[i].nonevent, k));
		json_object_set_new(json_object_get(s, "event_rate"), name,
				    bin_bins_obj(c[i].woe.event_rate, k));
		json_object_set_new(json_object_get(s, "non_event_rate"), name,
				    bin_bins_obj(c[i].woe.non_event_rate, k));
		json_object_set_new(json_object_get(s, "woe"), name, bin_bins_obj(c[i].woe.woe, k));
		json_object_set_new(json_object_get(s, "iv_array"), name,
				    bin_bins_obj(c[i].woe.iv_bin, k));
		json_object_set_new(json_object_get(s, "is_monotonic"), name,
				    json_boolean(c[i].woe.monotonic));
		json_object_set_new(json_object_get(s, "iv"), name, comp_json_real(c[i].woe.iv));
		json_object_set_new(json_object_get(s, "iv_all"), name, comp_json_real(c[i].woe.iv_all));
	}
	return s;
}

static json_t *bin_to_model(const struct comp_frame *f, const struct bin_opts *o,
			    const struct bin_state *s, const struct bin_host_cols *hc, size_t nh,
			    bool guest)
{
	const char **names = ff_calloc(s->n + 1, sizeof(*names));
	json_t *bin_col = json_array(), *cat_col = json_array(), *split = json_object(),
	       *count = json_object();
	for (size_t i = 0; names && i < s->n; i++) {
		const char *name = f->schema->feature_names[s->c[i].col];
		names[i] = name;
		json_array_append_new(s->c[i].category ? cat_col : bin_col, json_string(name));
		json_object_set_new(split, name, comp_json_doubles(s->c[i].pts, s->c[i].k));
		json_object_set_new(count, name, json_integer((json_int_t)s->c[i].k));
	}
	json_t *data = json_pack("{s:s,s:O,s:O,s:o,s:o,s:f,s:s?}", "method", o->method,
				 "bin_col", bin_col, "category_col", cat_col, "split_pt_dict", split,
				 "bin_count_dict", count, "adjustment_factor", o->adjust,
				 "transform_method", o->transform);
	bool metrics = guest && !o->skip_metrics && names;
	if (metrics) {
		json_object_set_new(data, "metrics_summary", bin_summary(s->c, s->n, names));
		json_t *host = json_object();
		for (size_t h = 0; h < nh; h++) {
			const char **an = ff_calloc(hc[h].n + 1, sizeof(*an));
			for (size_t j = 0; an && j < hc[h].n; j++)
				an[j] = hc[h].c[j].anon;
			if (an)
				json_object_set_new(host, hc[h].party, bin_summary(hc[h].c, hc[h].n, an));
			ff_free(an);
		}
		json_object_set_new(data, "host_metrics_summary", host);
	}
	ff_free(names);
	return json_pack("{s:o,s:{s:s,s:o,s:b,s:o,s:o,s:s}}", "data", data, "meta", "method",
			 o->method, "metrics", metrics ? json_pack("[s]", "iv") : json_array(),
			 "local_only", o->local_only, "bin_col", bin_col, "category_col", cat_col,
			 "model_type", "binning");
}

/* Transforms the binned columns of f in place (bin_idx or woe). */
static int bin_transform(struct ff_task *t, struct comp_frame *f, const struct bin_state *s,
			 const char *method, struct ff_error *err)
{
	if (!method)
		return FF_OK;
	bool woe = !strcmp(method, "woe");
	if (woe && strcmp(ff_task_role(t), "guest")) {
		ff_task_log(t, FF_TASK_WARN, "host does not transform to woe values: data unchanged");
		return FF_OK;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct bin_col *c = &s->c[i];
		if (woe && !c->has_metrics)
			return ff_error_set(err, FF_EINVAL, "transform_method 'woe' needs the woe of "
					    "column '%s' (skip_metrics is set?)",
					    f->schema->feature_names[c->col]);
		for (size_t r = 0; r < f->ds.n; r++) {
			double *v = &f->ds.x[r * f->ds.d + c->col];
			size_t b = binning_bin_of(*v, c->pts, c->k);
			*v = woe ? c->woe.woe[b] : (double)b;
		}
	}
	return FF_OK;
}

static int bin_write(struct ff_task *t, struct comp_frame *f, const char *key,
		     struct ff_error *err)
{
	struct comp_out_table o = { .src = f, .n = f->ds.n, .d = f->ds.d,
				    .names = (const char *const *)f->schema->feature_names,
				    .x = f->ds.x, .with_label = true, .with_weight = true };
	return comp_frame_write(t, key, &o, err);
}

static int bin_train(struct ff_task *t, struct ff_error *err)
{
	struct bin_opts o;
	struct comp_frame f = COMP_FRAME_INIT;
	struct bin_state s = { 0 };
	struct bin_host_cols *hc = NULL;
	size_t nh = 0;
	struct comp_net *net = NULL;
	json_t *model = NULL;
	bool guest = !strcmp(ff_task_role(t), "guest");
	int ret = bin_opts_load(t, &o, err);
	if (ret)
		return ret;
	bool federated = !o.skip_metrics && !o.local_only;
	if (federated) {
		ret = comp_net_open(t, &net, err);
		if (ret)
			return ret;
	}
	ret = comp_frame_load(t, "train_data", 0, guest ? COMP_FRAME_LABEL : 0, &f, err);
	if (!ret && guest)
		ret = bin_check_labels(&f, err);
	if (!ret)
		ret = bin_fit(t, &f, &o, &s, err);
	if (!ret)
		ret = bin_assign_all(&f, &s, err);
	for (size_t i = 0; !ret && guest && !o.skip_metrics && i < s.n; i++) {
		struct bin_col *c = &s.c[i];
		c->event = ff_calloc(c->k, sizeof(double));
		c->nonevent = ff_calloc(c->k, sizeof(double));
		if (!c->event || !c->nonevent)
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		if (!ret)
			ret = binning_counts(c->bins, f.ds.label, f.ds.n, c->k, c->event, c->nonevent,
					     err);
		if (!ret)
			ret = bin_metrics_col(c, o.adjust, err);
	}
	if (ret)
		goto out;
	if (federated && guest)
		ret = bin_guest_protocol(net, &f, o.key_bits, o.adjust, comp_threads(t), &hc, &nh, err);
	else if (federated)
		ret = bin_host_protocol(net, &f, &s, comp_threads(t), err);
	if (ret)
		goto out;
	model = bin_to_model(&f, &o, &s, hc, nh, guest);
	ret = model ? comp_model_save(t, "output_model", model, NULL, err)
		    : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		ret = bin_transform(t, &f, &s, o.transform, err);
	if (!ret)
		ret = bin_write(t, &f, "train_output_data", err);
out:
	if (ret && net) {
		if (guest)
			comp_net_broadcast_error(net, BIN_TAG_Y, "host", ff_error_msg(err, ret));
		else
			comp_net_broadcast_error(net, BIN_TAG_COUNT, "guest", ff_error_msg(err, ret));
	}
	json_decref(model);
	bin_host_cols_release(hc, nh);
	bin_state_release(&s);
	comp_frame_release(&f);
	comp_net_close(net);
	return ret;
}

/* Rebuilds split points (and woe) of the model's columns for frame f. */
static int bin_from_model(const json_t *model, const struct comp_frame *f, struct bin_state *s,
			  struct ff_error *err)
{
	const json_t *data = json_object_get(model, "data");
	const json_t *split = json_object_get(data, "split_pt_dict");
	const json_t *woe = jsonx_path(data, "metrics_summary.woe");
	if (!json_is_object(split))
		return ff_error_set(err, FF_EDATA, "input_model is not a binning model");
	s->c = ff_calloc(json_object_size(split) + 1, sizeof(*s->c));
	if (!s->c)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	const char *name;
	json_t *pts;
	json_object_foreach((json_t *)split, name, pts) {
		struct bin_col *c = &s->c[s->n];
		long j = comp_frame_col(f, name);
		if (j < 0)
			return ff_error_set(err, FF_EDATA, "column '%s' of the binning model is not in "
					    "input '%s'", name, f->key);
		size_t k = json_array_size(pts);
		c->col = (size_t)j;
		c->k = k;
		c->pts = ff_calloc(k + 1, sizeof(double));
		s->n++;
		if (!c->pts || !k)
			return ff_error_set(err, k ? FF_ENOMEM : FF_EDATA, "binning model column '%s' "
					    "has no split points", name);
		for (size_t b = 0; b < k; b++)
			if (!jsonx_as_double(json_array_get(pts, b), &c->pts[b]))
				return ff_error_set(err, FF_EDATA, "binning model column '%s' has a "
						    "bad split point", name);
		const json_t *w = json_object_get(woe, name);
		if (json_is_object(w)) {
			c->woe.woe = ff_calloc(k, sizeof(double));
			if (!c->woe.woe)
				return ff_error_set(err, FF_ENOMEM, "out of memory");
			c->woe.n_bins = k;
			c->has_metrics = true;
			char key[32];
			for (size_t b = 0; b < k && c->has_metrics; b++) {
				snprintf(key, sizeof(key), "%zu", b);
				c->has_metrics = jsonx_as_double(json_object_get(w, key), &c->woe.woe[b]);
			}
		}
	}
	return FF_OK;
}

static int bin_predict(struct ff_task *t, struct ff_error *err)
{
	struct comp_frame f = COMP_FRAME_INIT;
	struct bin_state s = { 0 };
	json_t *model = NULL;
	const char *method;
	int ret = ff_task_param_str(t, "transform_method", NULL, &method, err);
	if (!ret && method && strcmp(method, "woe") && strcmp(method, "bin_idx"))
		ret = ff_error_set(err, FF_EINVAL, "parameter 'transform_method': '%s' is not one of "
				   "woe, bin_idx", method);
	if (!ret)
		ret = comp_model_load(t, "input_model", 0, &model, err);
	if (!ret)
		ret = comp_frame_load(t, "test_data", 0, 0, &f, err);
	if (!ret)
		ret = bin_from_model(model, &f, &s, err);
	if (!ret)
		ret = bin_transform(t, &f, &s, method, err);
	if (!ret)
		ret = bin_write(t, &f, "test_output_data", err);
	json_decref(model);
	bin_state_release(&s);
	comp_frame_release(&f);
	return ret;
}

static int bin_run(struct ff_task *t, struct ff_error *err)
{
	const char *stage = ff_task_stage(t), *role = ff_task_role(t);
	if (strcmp(role, "guest") && strcmp(role, "host"))
		return ff_error_set(err, FF_EROLE, "hetero_feature_binning runs on guest and host, not "
				    "'%s'", role);
	if (!strcmp(stage, "predict"))
		return bin_predict(t, err);
	if (!strcmp(stage, "train") || !strcmp(stage, "default"))
		return bin_train(t, err);
	return ff_error_set(err, FF_EINVAL, "hetero_feature_binning has no stage '%s'", stage);
}

const struct comp comp_hetero_feature_binning = { "hetero_feature_binning", bin_describe,
						  bin_run };
COMP_REGISTER(comp_hetero_feature_binning);
