// SPDX-License-Identifier: Apache-2.0
/*
 * binning.c - split points, bin assignment, event counts and WOE/IV
 * (rules and formulas in binning.h).
 */
#include "ff_setup.h"
#include <math.h>
#include "binning.h"
#include "mat.h"
#include "mem.h"
#include "stats.h"

/* Sorts p[0..n) and removes duplicates in place; returns the new count. */
static size_t binning_unique(double *p, size_t n)
{
	size_t k = 0;

	qsort(p, n, sizeof(*p), mat_cmp_double);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || p[i] != p[k - 1])
			p[k++] = p[i];
	return k;
}

static int binning_check_column(const double *x, size_t rows, size_t stride,
				size_t col, size_t n_bins, const double *out,
				const size_t *n_out, struct ff_error *err)
{
	if (!out || !n_out)
		return ff_error_set(err, FF_EINVAL, "output array is null");
	if (n_bins < 2)
		return ff_error_set(err, FF_EINVAL, "n_bins must be at least 2, got %zu",
				    n_bins);
	if (!x || rows == 0)
		return ff_error_set(err, FF_EINVAL, "column %zu has no rows", col);
	if (stride <= col)
		return ff_error_set(err, FF_EINVAL,
				    "column %zu is outside stride %zu", col, stride);
	return mat_check_column_finite(x, rows, stride, col, err);
}

int binning_quantile_splits(const double *x, size_t rows, size_t stride,
			    size_t col, size_t n_bins, double relative_error,
			    double *out, size_t *n_out, struct ff_error *err)
{
	double *s = NULL;
	size_t n;
	int ret = binning_check_column(x, rows, stride, col, n_bins, out, n_out,
				       err);

	if (ret)
		goto out;
	if (!(relative_error >= 0.0 && relative_error < 1.0)) {
		ret = ff_error_set(err, FF_EINVAL,
				   "relative_error %g is outside [0, 1)",
				   relative_error);
		goto out;
	}
	ret = stats_sorted_column(x, rows, stride, col, &s, &n, err);
	if (ret)
		goto out;
	/* FATE: q = list(np.arange(0, 1, 1/n_bins)) + [1.0], the 0 level
	 * dropped. arange's i-th value is i * step, bit for bit. */
	double step = 1.0 / (double)n_bins;

	for (size_t i = 1; i < n_bins; i++)
		out[i - 1] = stats_sorted_quantile(s, n, (double)i * step,
						   STATS_Q_FATE);
	out[n_bins - 1] = stats_sorted_quantile(s, n, 1.0, STATS_Q_FATE);
	*n_out = binning_unique(out, n_bins);
out:
	ff_free(s);
	return ret;
}

int binning_bucket_splits(const double *x, size_t rows, size_t stride,
			  size_t col, size_t n_bins, double *out,
			  size_t *n_out, struct ff_error *err)
{
	int ret = binning_check_column(x, rows, stride, col, n_bins, out, n_out,
				       err);
	double lo, hi;

	if (ret)
		return ret;
	lo = hi = x[col];
	for (size_t i = 1; i < rows; i++) {
		double v = x[i * stride + col];

		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	double dist = (hi - lo) / (double)n_bins;

	for (size_t i = 1; i < n_bins; i++)
		out[i - 1] = lo + (double)i * dist;
	out[n_bins - 1] = hi;
	*n_out = binning_unique(out, n_bins);
	return FF_OK;
}

int binning_manual_splits(const double *pts, size_t n, double *out,
			  size_t *n_out, struct ff_error *err)
{
	int ret = mat_check_vec(pts, n, "split points", err);

	if (ret)
		return ret;
	if (!out || !n_out)
		return ff_error_set(err, FF_EINVAL, "output array is null");
	memcpy(out, pts, n * sizeof(*out));
	*n_out = binning_unique(out, n);
	return FF_OK;
}

size_t binning_bin_of(double v, const double *p, size_t k)
{
	size_t lo = 0, hi = k - 1;

	/* Smallest i < k-1 with v <= p[i]; the last bin is open above. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v <= p[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int binning_assign(const double *x, size_t rows, size_t stride, size_t col,
		   const double *p, size_t k, size_t *bins,
		   struct ff_error *err)
{
	int ret = mat_check_vec(p, k, "split points", err);

	if (ret)
		return ret;
	for (size_t i = 1; i < k; i++)
		if (!(p[i - 1] < p[i]))
			return ff_error_set(err, FF_EINVAL,
					    "split points are not strictly ascending at index %zu",
					    i);
	if (!x || rows == 0 || !bins)
		return ff_error_set(err, FF_EINVAL, "column %zu has no rows", col);
	if (stride <= col)
		return ff_error_set(err, FF_EINVAL,
				    "column %zu is outside stride %zu", col, stride);
	ret = mat_check_column_finite(x, rows, stride, col, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < rows; i++)
		bins[i] = binning_bin_of(x[i * stride + col], p, k);
	return FF_OK;
}

int binning_counts(const size_t *bins, const double *label, size_t rows,
		   size_t n_bins, double *event, double *nonevent,
		   struct ff_error *err)
{
	if (!bins || !label || rows == 0)
		return ff_error_set(err, FF_EINVAL, "no rows to count");
	if (n_bins == 0 || !event || !nonevent)
		return ff_error_set(err, FF_EINVAL, "no bins to count into");
	for (size_t i = 0; i < rows; i++) {
		if (bins[i] >= n_bins)
			return ff_error_set(err, FF_EINVAL,
					    "bin %zu of row %zu is out of range (%zu bins)",
					    bins[i], i, n_bins);
		if (label[i] != 0.0 && label[i] != 1.0)
			return ff_error_set(err, FF_EINVAL,
					    "label of row %zu is %g, not 0 or 1",
					    i, label[i]);
	}
	for (size_t b = 0; b < n_bins; b++)
		event[b] = nonevent[b] = 0.0;
	for (size_t i = 0; i < rows; i++) {
		if (label[i] == 1.0)
			event[bins[i]] += 1.0;
		else
			nonevent[bins[i]] += 1.0;
	}
	return FF_OK;
}

void binning_woe_release(struct binning_woe *w)
{
	if (!w)
		return;
	ff_free(w->event_rate);
	ff_free(w->non_event_rate);
	ff_free(w->woe);
	ff_free(w->iv_bin);
	*w = (struct binning_woe)BINNING_WOE_INIT;
}

static bool binning_monotonic(const double *v, size_t n)
{
	bool inc = true, dec = true;

	for (size_t i = 1; i < n; i++) {
		inc = inc && v[i] >= v[i - 1];
		dec = dec && v[i] <= v[i - 1];
	}
	return inc || dec;
}

int binning_woe_iv(const double *event, const double *nonevent,
		   size_t n_bins, double adjustment, struct binning_woe *w,
		   struct ff_error *err)
{
	double te, tn;
	int ret;

	*w = (struct binning_woe)BINNING_WOE_INIT;
	ret = mat_check_vec(event, n_bins, "event count", err);
	if (!ret)
		ret = mat_check_vec(nonevent, n_bins, "non-event count", err);
	if (ret)
		return ret;
	if (!(isfinite(adjustment) && adjustment > 0.0))
		return ff_error_set(err, FF_EINVAL,
				    "adjustment_factor %g must be positive",
				    adjustment);
	for (size_t b = 0; b < n_bins; b++)
		if (event[b] < 0.0 || nonevent[b] < 0.0)
			return ff_error_set(err, FF_EINVAL,
					    "negative count in bin %zu", b);
	FF_ALLOC_ARRAY(w->event_rate, n_bins);
	FF_ALLOC_ARRAY(w->non_event_rate, n_bins);
	FF_ALLOC_ARRAY(w->woe, n_bins);
	FF_ALLOC_ARRAY(w->iv_bin, n_bins);
	if (!w->event_rate || !w->non_event_rate || !w->woe || !w->iv_bin) {
		binning_woe_release(w);
		return ff_error_set(err, FF_ENOMEM, "cannot allocate %zu bins", n_bins);
	}
	w->n_bins = n_bins;
	/* FATE: `col_event_count.sum() or 1`. */
	te = mat_sum(event, n_bins);
	tn = mat_sum(nonevent, n_bins);
	te = te == 0.0 ? 1.0 : te;
	tn = tn == 0.0 ? 1.0 : tn;
	w->iv = w->iv_all = 0.0;
	for (size_t b = 0; b < n_bins; b++) {
		/* Same operation order as FATE: (count == 0) * a + count / total. */
		double er = (event[b] == 0.0 ? adjustment : 0.0) + event[b] / te;
		double nr = (nonevent[b] == 0.0 ? adjustment : 0.0) + nonevent[b] / tn;

		w->event_rate[b] = er;
		w->non_event_rate[b] = nr;
		w->woe[b] = log(er / nr);
		w->iv_bin[b] = (er - nr) * w->woe[b];
		w->iv_all += w->iv_bin[b];
		if (b >= 1)
			w->iv += w->iv_bin[b];
	}
	w->monotonic = binning_monotonic(w->woe, n_bins);
	return FF_OK;
}
