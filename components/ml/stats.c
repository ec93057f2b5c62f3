// SPDX-License-Identifier: Apache-2.0
/*
 * stats.c - per-column statistics and quantiles (formulas in stats.h).
 * Each column is copied once into a scratch array of its non-missing values;
 * moments are two-pass over that copy and the median sorts it in place.
 */
#include "ff_setup.h"
#include <math.h>
#include "mat.h"
#include "mem.h"
#include "stats.h"

/* FATE's FLOATING_POINT_ZERO: below this m_2 counts as zero. */
#define STATS_M2_ZERO 1e-14

double stats_sorted_quantile(const double *s, size_t n, double q,
			     enum stats_qmethod method)
{
	double h, a, b, t;
	size_t lo, r;

	switch (method) {
	case STATS_Q_FATE:
		/* GK query with no error band: the element of rank ⌊q n⌋
		 * (1-based), and the first element for ranks below 1. */
		r = (size_t)floor(q * (double)n);
		if (r < 1)
			r = 1;
		if (r > n)
			r = n;
		return s[r - 1];
	case STATS_Q_LOWER:
		return s[(size_t)floor((double)(n - 1) * q)];
	case STATS_Q_HIGHER:
		lo = (size_t)ceil((double)(n - 1) * q);
		return s[lo < n ? lo : n - 1];
	case STATS_Q_LINEAR:
	default:
		h = (double)(n - 1) * q;
		lo = (size_t)floor(h);
		if (lo >= n - 1)
			return s[n - 1];
		t = h - (double)lo;
		a = s[lo];
		b = s[lo + 1];
		/* numpy's _lerp: interpolate from the nearer end so that t = 1
		 * gives b exactly. */
		if (t >= 0.5)
			return b - (b - a) * (1.0 - t);
		return a + (b - a) * t;
	}
}

/* Copies the non-missing values of a column into buf; returns their count
 * or sets *bad to the row of an infinite value. */
static size_t stats_gather(const double *x, size_t rows, size_t stride,
			   size_t col, double *buf, size_t *bad)
{
	size_t m = 0;

	*bad = SIZE_MAX;
	for (size_t i = 0; i < rows; i++) {
		double v = x[i * stride + col];

		if (isnan(v))
			continue;
		if (isinf(v)) {
			*bad = i;
			return 0;
		}
		buf[m++] = v;
	}
	return m;
}

static void stats_nan(struct stats_column *c)
{
	c->sum = c->mean = c->var = c->std = NAN;
	c->min = c->max = c->median = c->cv = NAN;
	c->skewness = c->kurtosis = NAN;
}

static void stats_moments(const double *v, size_t m, unsigned ddof, bool bias,
			  struct stats_column *c)
{
	double min = v[0], max = v[0];
	double s2 = 0.0, s3 = 0.0, s4 = 0.0;
	double dm = (double)m;

	c->sum = mat_sum(v, m);
	c->mean = c->sum / dm;
	for (size_t i = 0; i < m; i++) {
		double d = v[i] - c->mean, d2 = d * d;

		s2 += d2;
		s3 += d2 * d;
		s4 += d2 * d2;
		if (v[i] < min)
			min = v[i];
		if (v[i] > max)
			max = v[i];
	}
	c->min = min;
	c->max = max;
	c->var = m > ddof ? s2 / (dm - (double)ddof) : NAN;
	c->std = sqrt(c->var);
	c->cv = c->std / c->mean;

	double m2 = s2 / dm, m3 = s3 / dm, m4 = s4 / dm;

	if (fabs(m2) < STATS_M2_ZERO) {
		m3 = 0.0;
		m4 = 0.0;
		m2 = 1.0;
	}
	double g1 = m3 / pow(m2, 1.5);
	double g2 = m4 / (m2 * m2);

	if (bias) {
		c->skewness = g1;
		c->kurtosis = g2 - 3.0;
		return;
	}
	c->skewness = m < 3 ? NAN : sqrt(dm * (dm - 1.0)) / (dm - 2.0) * g1;
	c->kurtosis = m < 4 ? NAN
		: (dm - 1.0) / ((dm - 2.0) * (dm - 3.0))
			* ((dm + 1.0) * g2 - 3.0 * (dm - 1.0));
}

int stats_describe(const double *x, size_t rows, size_t cols, size_t stride,
		   unsigned ddof, bool bias, struct stats_column *out,
		   struct ff_error *err)
{
	int ret = mat_check_shape(x, rows, cols, stride, "x", err);
	double *buf = NULL;

	if (ret)
		goto out;
	if (!out) {
		ret = ff_error_set(err, FF_EINVAL, "output array is null");
		goto out;
	}
	FF_ALLOC_ARRAY(buf, rows);
	if (!buf) {
		ret = ff_error_set(err, FF_ENOMEM, "cannot allocate %zu rows", rows);
		goto out;
	}
	for (size_t j = 0; j < cols; j++) {
		struct stats_column *c = &out[j];
		size_t bad;
		size_t m = stats_gather(x, rows, stride, j, buf, &bad);

		if (bad != SIZE_MAX) {
			ret = ff_error_set(err, FF_EINVAL,
					   "non-finite value in column %zu at row %zu",
					   j, bad);
			goto out;
		}
		c->count = rows;
		c->missing = rows - m;
		c->missing_ratio = (double)c->missing / (double)rows;
		if (m == 0) {
			stats_nan(c);
			continue;
		}
		stats_moments(buf, m, ddof, bias, c);
		qsort(buf, m, sizeof(*buf), mat_cmp_double);
		c->median = stats_sorted_quantile(buf, m, 0.5, STATS_Q_FATE);
	}
out:
	ff_free(buf);
	return ret;
}

int stats_sorted_column(const double *x, size_t rows, size_t stride,
			size_t col, double **out, size_t *n,
			struct ff_error *err)
{
	double *buf = NULL;
	size_t bad, m;
	int ret = FF_OK;

	*out = NULL;
	*n = 0;
	if (!x || rows == 0 || stride <= col) {
		ret = ff_error_set(err, FF_EINVAL, "column %zu: bad matrix shape",
				   col);
		goto out;
	}
	FF_ALLOC_ARRAY(buf, rows);
	if (!buf) {
		ret = ff_error_set(err, FF_ENOMEM, "cannot allocate %zu rows", rows);
		goto out;
	}
	m = stats_gather(x, rows, stride, col, buf, &bad);
	if (bad != SIZE_MAX) {
		ret = ff_error_set(err, FF_EINVAL,
				   "non-finite value in column %zu at row %zu",
				   col, bad);
		goto out;
	}
	if (m == 0) {
		ret = ff_error_set(err, FF_EINVAL, "column %zu has no values", col);
		goto out;
	}
	qsort(buf, m, sizeof(*buf), mat_cmp_double);
	*out = buf;
	*n = m;
	buf = NULL;
out:
	ff_free(buf);
	return ret;
}

int stats_column_quantiles(const double *x, size_t rows, size_t stride,
			   size_t col, const double *q, size_t nq,
			   enum stats_qmethod method, double *out,
			   struct ff_error *err)
{
	double *s = NULL;
	size_t n;
	int ret;

	if (!q || nq == 0 || !out)
		return ff_error_set(err, FF_EINVAL, "no quantile levels given");
	for (size_t k = 0; k < nq; k++)
		if (!(q[k] >= 0.0 && q[k] <= 1.0))
			return ff_error_set(err, FF_EINVAL,
					    "quantile level %g is outside [0, 1]",
					    q[k]);
	ret = stats_sorted_column(x, rows, stride, col, &s, &n, err);
	if (ret)
		goto out;
	for (size_t k = 0; k < nq; k++)
		out[k] = stats_sorted_quantile(s, n, q[k], method);
out:
	ff_free(s);
	return ret;
}
