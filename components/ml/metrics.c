// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.c - binary, multi-class and regression metrics (definitions in
 * metrics.h). The binary ones sort (score, label) pairs once, descending,
 * and read every count from prefix sums of positives.
 */
#include "ff_setup.h"
#include <float.h>
#include <math.h>
#include "mat.h"
#include "mem.h"
#include "metrics.h"

struct metrics_pair {
	double s;
	bool pos;
};

/* Descending by score; ties keep no particular order (counts only). */
static int metrics_cmp_desc(const void *a, const void *b)
{
	double x = ((const struct metrics_pair *)a)->s;
	double y = ((const struct metrics_pair *)b)->s;

	return (x < y) - (x > y);
}

/* Sorted pairs plus prefix counts: cum[k] = positives among the first k. */
struct metrics_sorted {
	struct metrics_pair *p;
	size_t *cum;
	size_t n, npos, nneg;
};

static void metrics_sorted_release(struct metrics_sorted *s)
{
	ff_free(s->p);
	ff_free(s->cum);
}

static int metrics_check_binary(const double *score, const double *label,
				size_t n, struct ff_error *err)
{
	int ret = mat_check_vec(score, n, "score", err);

	if (!ret)
		ret = mat_check_vec(label, n, "label", err);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (label[i] != 0.0 && label[i] != 1.0)
			return ff_error_set(err, FF_EINVAL,
					    "label at index %zu is %g, not 0 or 1",
					    i, label[i]);
	return FF_OK;
}

static int metrics_sort(const double *score, const double *label, size_t n,
			bool need_both, struct metrics_sorted *s,
			struct ff_error *err)
{
	int ret = metrics_check_binary(score, label, n, err);

	*s = (struct metrics_sorted){ .n = n };
	if (ret)
		return ret;
	FF_ALLOC_ARRAY(s->p, n);
	FF_ALLOC_ARRAY(s->cum, n + 1);
	if (!s->p || !s->cum) {
		metrics_sorted_release(s);
		return ff_error_set(err, FF_ENOMEM, "cannot allocate %zu scores", n);
	}
	for (size_t i = 0; i < n; i++)
		s->p[i] = (struct metrics_pair){ score[i], label[i] == 1.0 };
	qsort(s->p, n, sizeof(*s->p), metrics_cmp_desc);
	s->cum[0] = 0;
	for (size_t i = 0; i < n; i++)
		s->cum[i + 1] = s->cum[i] + (s->p[i].pos ? 1 : 0);
	s->npos = s->cum[n];
	s->nneg = n - s->npos;
	if (need_both && (s->npos == 0 || s->nneg == 0)) {
		metrics_sorted_release(s);
		return ff_error_set(err, FF_EINVAL,
				    "only one class present in the labels");
	}
	return FF_OK;
}

/* Number of sorted scores strictly greater than t. */
static size_t metrics_count_above(const struct metrics_sorted *s, double t)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->p[mid].s > t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct metrics_confusion metrics_conf_k(const struct metrics_sorted *s,
					       size_t k)
{
	struct metrics_confusion c;

	c.tp = s->cum[k];
	c.fp = k - c.tp;
	c.fn = s->npos - c.tp;
	c.tn = s->nneg - c.fp;
	return c;
}

int metrics_roc_curve(const double *score, const double *label, size_t n,
		      double *fpr, double *tpr, double *thr, size_t *npoints,
		      struct ff_error *err)
{
	struct metrics_sorted s;
	size_t k = 0;
	int ret;

	if (!fpr || !tpr || !thr || !npoints)
		return ff_error_set(err, FF_EINVAL, "output array is null");
	ret = metrics_sort(score, label, n, true, &s, err);
	if (ret)
		return ret;
	fpr[0] = tpr[0] = 0.0;
	thr[0] = s.p[0].s + 1.0;
	k = 1;
	for (size_t i = 0; i < n; i++) {
		/* One point after the last element of each run of equal scores. */
		if (i + 1 < n && s.p[i + 1].s == s.p[i].s)
			continue;
		struct metrics_confusion c = metrics_conf_k(&s, i + 1);

		tpr[k] = (double)c.tp / (double)s.npos;
		fpr[k] = (double)c.fp / (double)s.nneg;
		thr[k] = s.p[i].s;
		k++;
	}
	*npoints = k;
	metrics_sorted_release(&s);
	return FF_OK;
}

int metrics_auc(const double *score, const double *label, size_t n,
		double *auc, struct ff_error *err)
{
	struct metrics_sorted s;
	double area = 0.0;
	size_t prev_tp = 0, prev_fp = 0;
	int ret;

	if (!auc)
		return ff_error_set(err, FF_EINVAL, "output is null");
	ret = metrics_sort(score, label, n, true, &s, err);
	if (ret)
		return ret;
	/* Trapezoids in count units: Δfp * (tp + tp_prev) / 2, summed exactly
	 * (integers below 2^53 for any realistic n), one final division. */
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && s.p[i + 1].s == s.p[i].s)
			continue;
		struct metrics_confusion c = metrics_conf_k(&s, i + 1);

		area += (double)(c.fp - prev_fp) * (double)(c.tp + prev_tp);
		prev_tp = c.tp;
		prev_fp = c.fp;
	}
	*auc = area / (2.0 * (double)s.npos * (double)s.nneg);
	metrics_sorted_release(&s);
	return FF_OK;
}

int metrics_ks(const double *score, const double *label, size_t n,
	       double *ks, double *threshold, struct ff_error *err)
{
	struct metrics_sorted s;
	double best = 0.0, best_t;
	int ret;

	if (!ks)
		return ff_error_set(err, FF_EINVAL, "output is null");
	ret = metrics_sort(score, label, n, true, &s, err);
	if (ret)
		return ret;
	best_t = s.p[0].s + 1.0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && s.p[i + 1].s == s.p[i].s)
			continue;
		struct metrics_confusion c = metrics_conf_k(&s, i + 1);
		double d = (double)c.tp / (double)s.npos
			- (double)c.fp / (double)s.nneg;

		if (d > best) {
			best = d;
			best_t = s.p[i].s;
		}
	}
	*ks = best;
	if (threshold)
		*threshold = best_t;
	metrics_sorted_release(&s);
	return FF_OK;
}

int metrics_confusion_at(const double *score, const double *label, size_t n,
			 double threshold, struct metrics_confusion *c,
			 struct ff_error *err)
{
	int ret = metrics_check_binary(score, label, n, err);

	if (ret)
		return ret;
	if (!c || !isfinite(threshold))
		return ff_error_set(err, FF_EINVAL, "bad threshold or output");
	*c = (struct metrics_confusion){ 0 };
	for (size_t i = 0; i < n; i++) {
		bool pred = score[i] > threshold, pos = label[i] == 1.0;

		if (pred && pos)
			c->tp++;
		else if (pred)
			c->fp++;
		else if (pos)
			c->fn++;
		else
			c->tn++;
	}
	return FF_OK;
}

static double metrics_ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

double metrics_precision(const struct metrics_confusion *c)
{
	return metrics_ratio(c->tp, c->tp + c->fp);
}

double metrics_recall(const struct metrics_confusion *c)
{
	return metrics_ratio(c->tp, c->tp + c->fn);
}

double metrics_accuracy(const struct metrics_confusion *c)
{
	return metrics_ratio(c->tp + c->tn, c->tp + c->tn + c->fp + c->fn);
}

double metrics_f1(const struct metrics_confusion *c)
{
	/* sklearn: 2 tp / (2 tp + fp + fn), 0 when that is 0/0. */
	return metrics_ratio(2 * c->tp, 2 * c->tp + c->fp + c->fn);
}

int metrics_cuts_by_index(const double *score, size_t n, double *thr,
			  double *cuts, struct ff_error *err)
{
	double *s = NULL;
	int ret = mat_check_vec(score, n, "score", err);

	if (ret)
		return ret;
	if (!thr || !cuts)
		return ff_error_set(err, FF_EINVAL, "output array is null");
	FF_ALLOC_ARRAY(s, n);
	if (!s)
		return ff_error_set(err, FF_ENOMEM, "cannot allocate %zu scores", n);
	memcpy(s, score, n * sizeof(*s));
	qsort(s, n, sizeof(*s), mat_cmp_double);
	for (size_t c = 0; c < METRICS_CUTS; c++) {
		/* FATE: cuts = [c / 100 ...]; idx = int(n * cut) into the
		 * descending array, i.e. n - 1 - idx into the ascending one. */
		double cut = (double)c / 100.0;
		size_t idx = (size_t)((double)n * cut);

		cuts[c] = cut;
		thr[c] = s[n - 1 - idx];
	}
	ff_free(s);
	return FF_OK;
}

int metrics_cuts_by_step(const double *score, size_t n, double *thr,
			 double *cuts, struct ff_error *err)
{
	double *s = NULL;
	size_t m = 0;
	int ret = mat_check_vec(score, n, "score", err);

	if (ret)
		return ret;
	if (!thr || !cuts)
		return ff_error_set(err, FF_EINVAL, "output array is null");
	FF_ALLOC_ARRAY(s, n);
	if (!s)
		return ff_error_set(err, FF_ENOMEM, "cannot allocate %zu scores", n);
	memcpy(s, score, n * sizeof(*s));
	qsort(s, n, sizeof(*s), mat_cmp_double);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || s[i] != s[m - 1])
			s[m++] = s[i];
	for (size_t c = 0; c < METRICS_CUTS; c++) {
		/* np.arange(0, 1, 0.01): c * 0.01 */
		double cut = (double)c * 0.01;
		size_t idx = (size_t)((double)m * cut);

		cuts[c] = cut;
		thr[c] = s[m - 1 - idx];
	}
	ff_free(s);
	return FF_OK;
}

int metrics_confusion_table(const double *score, const double *label,
			    size_t n, const double *thr, size_t k,
			    struct metrics_confusion *out,
			    struct ff_error *err)
{
	struct metrics_sorted s;
	int ret;

	if (!thr || !out || k == 0)
		return ff_error_set(err, FF_EINVAL, "no thresholds given");
	ret = mat_check_vec(thr, k, "threshold", err);
	if (ret)
		return ret;
	ret = metrics_sort(score, label, n, false, &s, err);
	if (ret)
		return ret;
	for (size_t j = 0; j < k; j++)
		out[j] = metrics_conf_k(&s, metrics_count_above(&s, thr[j]));
	metrics_sorted_release(&s);
	return FF_OK;
}

int metrics_ks_table(const double *score, const double *label, size_t n,
		     struct metrics_ks_table *t, struct ff_error *err)
{
	struct metrics_sorted s;
	int ret;

	if (!t)
		return ff_error_set(err, FF_EINVAL, "output is null");
	ret = metrics_sort(score, label, n, true, &s, err);
	if (ret)
		return ret;
	ret = metrics_cuts_by_index(score, n, t->threshold, t->cuts, err);
	if (ret)
		goto out;
	t->ks = -INFINITY;
	for (size_t c = 0; c < METRICS_CUTS; c++) {
		struct metrics_confusion m =
			metrics_conf_k(&s, metrics_count_above(&s, t->threshold[c]));

		t->tpr[c] = (double)m.tp / (double)s.npos;
		t->fpr[c] = (double)m.fp / (double)s.nneg;
		if (t->tpr[c] - t->fpr[c] > t->ks)
			t->ks = t->tpr[c] - t->fpr[c];
	}
	t->tpr[METRICS_CUTS] = t->fpr[METRICS_CUTS] = 1.0;
	t->cuts[METRICS_CUTS] = 1.0;
	t->threshold[METRICS_CUTS] = 0.0;
out:
	metrics_sorted_release(&s);
	return ret;
}

/* FATE's _lift_helper / _gain_helper for one label type. */
static void metrics_lift_gain(size_t tp, size_t fp, size_t fn, size_t n,
			      bool lift, double *x, double *y)
{
	double dn = (double)n;

	*x = (double)(tp + fp) / dn;
	if (lift) {
		double num = tp + fp == 0 ? 1.0 : (double)tp / (double)(tp + fp);
		double den = (double)(tp + fn) / dn;

		*y = den == 0.0 ? DBL_MAX : num / den;
	} else {
		*y = tp + fn == 0 ? 1.0 : (double)tp / (double)(tp + fn);
	}
}

static int metrics_curve(const double *score, const double *label, size_t n,
			 bool lift, struct metrics_curve_table *t,
			 struct ff_error *err)
{
	struct metrics_confusion conf[METRICS_CUTS];
	double cuts[METRICS_CUTS];
	int ret;

	if (!t)
		return ff_error_set(err, FF_EINVAL, "output is null");
	ret = metrics_check_binary(score, label, n, err);
	if (!ret)
		ret = metrics_cuts_by_step(score, n, t->threshold, cuts, err);
	if (!ret)
		ret = metrics_confusion_table(score, label, n, t->threshold,
					      METRICS_CUTS, conf, err);
	if (ret)
		return ret;
	for (size_t c = 0; c < METRICS_CUTS; c++) {
		const struct metrics_confusion *m = &conf[c];

		metrics_lift_gain(m->tp, m->fp, m->fn, n, lift, &t->x1[c], &t->y1[c]);
		/* label 0: tp <-> tn, fp <-> fn */
		metrics_lift_gain(m->tn, m->fn, m->fp, n, lift, &t->x0[c], &t->y0[c]);
	}
	return FF_OK;
}

int metrics_lift_table(const double *score, const double *label, size_t n,
		       struct metrics_curve_table *t, struct ff_error *err)
{
	return metrics_curve(score, label, n, true, t, err);
}

int metrics_gain_table(const double *score, const double *label, size_t n,
		       struct metrics_curve_table *t, struct ff_error *err)
{
	return metrics_curve(score, label, n, false, t, err);
}

static int metrics_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Index of label v in the sorted unique labels u[0..m). */
static size_t metrics_find(const int64_t *u, size_t m, int64_t v)
{
	size_t lo = 0, hi = m;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int metrics_multi_counts(const int64_t *y_true, const int64_t *y_pred,
			 size_t n, struct metrics_class **out, size_t *nclass,
			 struct ff_error *err)
{
	int64_t *u = NULL;
	struct metrics_class *c = NULL;
	size_t m = 0, both;
	int ret = FF_OK;

	if (!out || !nclass)
		return ff_error_set(err, FF_EINVAL, "output is null");
	*out = NULL;
	*nclass = 0;
	if (!y_true || !y_pred || n == 0)
		return ff_error_set(err, FF_EINVAL, "no labels given");
	if (!ff_st_mult(n, 2, &both))
		return ff_error_set(err, FF_EINVAL, "too many labels");
	FF_ALLOC_ARRAY(u, both);
	if (!u) {
		ret = ff_error_set(err, FF_ENOMEM, "cannot allocate %zu labels", both);
		goto out;
	}
	memcpy(u, y_true, n * sizeof(*u));
	memcpy(u + n, y_pred, n * sizeof(*u));
	qsort(u, both, sizeof(*u), metrics_cmp_i64);
	for (size_t i = 0; i < both; i++)
		if (m == 0 || u[i] != u[m - 1])
			u[m++] = u[i];
	FF_ALLOC_ARRAY(c, m);
	if (!c) {
		ret = ff_error_set(err, FF_ENOMEM, "cannot allocate %zu classes", m);
		goto out;
	}
	for (size_t k = 0; k < m; k++)
		c[k] = (struct metrics_class){ .label = u[k] };
	for (size_t i = 0; i < n; i++) {
		size_t a = metrics_find(u, m, y_true[i]);
		size_t b = metrics_find(u, m, y_pred[i]);

		c[a].support++;
		c[b].predicted++;
		if (a == b)
			c[a].tp++;
	}
	*out = c;
	*nclass = m;
	c = NULL;
out:
	ff_free(u);
	ff_free(c);
	return ret;
}

double metrics_multi_accuracy(const struct metrics_class *c, size_t nclass,
			      size_t n)
{
	size_t tp = 0;

	for (size_t k = 0; k < nclass; k++)
		tp += c[k].tp;
	return metrics_ratio(tp, n);
}

double metrics_multi_precision(const struct metrics_class *c, size_t nclass)
{
	double s = 0.0;

	for (size_t k = 0; k < nclass; k++)
		s += metrics_ratio(c[k].tp, c[k].predicted);
	return nclass ? s / (double)nclass : 0.0;
}

double metrics_multi_recall(const struct metrics_class *c, size_t nclass)
{
	double s = 0.0;

	for (size_t k = 0; k < nclass; k++)
		s += metrics_ratio(c[k].tp, c[k].support);
	return nclass ? s / (double)nclass : 0.0;
}

/* sklearn's force_finite rule for r2 and explained variance. */
static double metrics_score(double num, double den)
{
	if (den == 0.0)
		return num == 0.0 ? 1.0 : 0.0;
	return 1.0 - num / den;
}

int metrics_regression(const double *y_true, const double *y_pred, size_t n,
		       struct metrics_regression *out, struct ff_error *err)
{
	double *a = NULL;
	double se = 0.0, ae = 0.0, mean_t, mean_r = 0.0, st = 0.0, sr = 0.0;
	int ret = mat_check_vec(y_true, n, "y_true", err);

	if (!ret)
		ret = mat_check_vec(y_pred, n, "y_pred", err);
	if (ret)
		return ret;
	if (!out)
		return ff_error_set(err, FF_EINVAL, "output is null");
	FF_ALLOC_ARRAY(a, n);
	if (!a)
		return ff_error_set(err, FF_ENOMEM, "cannot allocate %zu values", n);
	mean_t = mat_sum(y_true, n) / (double)n;
	for (size_t i = 0; i < n; i++) {
		double r = y_true[i] - y_pred[i];

		se += r * r;
		a[i] = fabs(r);
		ae += a[i];
		mean_r += r;
	}
	mean_r /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double dt = y_true[i] - mean_t;
		double dr = y_true[i] - y_pred[i] - mean_r;

		st += dt * dt;
		sr += dr * dr;
	}
	out->mse = se / (double)n;
	out->rmse = sqrt(out->mse);
	out->mae = ae / (double)n;
	out->r2 = n < 2 ? NAN : metrics_score(se, st);
	out->explained_variance = n < 2 ? NAN : metrics_score(sr, st);
	qsort(a, n, sizeof(*a), mat_cmp_double);
	out->median_ae = n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2.0;
	ff_free(a);
	return FF_OK;
}
