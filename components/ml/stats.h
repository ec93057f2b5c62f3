/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.h - per-column descriptive statistics, as FATE's `statistics`
 * component reports them, and quantiles with an explicit method.
 *
 * Missing values are NaN: they are counted in `missing` and left out of every
 * other statistic. Infinite values are an error (FF_EINVAL naming the column).
 * Matrices are row-major (x, rows, cols, stride), see mat.h.
 *
 * Formulas (m = non-missing values of the column, x̄ their mean,
 * m_k = (1/m) Σ (x - x̄)^k the central moments):
 *   sum, min, max, mean = sum / m
 *   var  = Σ (x - x̄)² / (m - ddof)              (NaN when m <= ddof)
 *   std  = sqrt(var)
 *   coefficient_of_variation = std / mean        (IEEE: ±inf or NaN at mean 0)
 *   skewness: biased  g1 = m_3 / m_2^1.5
 *             unbiased G1 = sqrt(m (m-1)) / (m-2) * g1   (NaN when m < 3)
 *   kurtosis (excess): biased  g2 = m_4 / m_2² - 3
 *             unbiased G2 = (m-1) / ((m-2)(m-3)) * ((m+1) m_4 / m_2² - 3 (m-1))
 *                                                        (NaN when m < 4)
 *   as FATE: when |m_2| < 1e-14 (a constant column) m_3 and m_4 count as 0
 *   and m_2 as 1, so skewness is 0 and kurtosis -3 (biased) or
 *   -3 (m-1)² / ((m-2)(m-3)) (unbiased).
 *   median = FATE's quantile 0.5 (STATS_Q_FATE below).
 * Where this differs from FATE 2.x on purpose (docs/internals/ml.md):
 *   - FATE passes `unbiased=~bias` (Python bitwise not of a bool, always
 *     truthy), so FATE always reports the unbiased skewness/kurtosis; here
 *     `bias` means what it says. Pass bias=false to get FATE's numbers.
 *   - FATE's sums include NaN (so a column with a missing value reports NaN
 *     everywhere); here missing values are skipped.
 *   - var is computed two-pass, not as (Σx² - n x̄²)/(n - ddof).
 *
 * All functions are pure (no I/O, no global state) and thread-safe.
 */
#ifndef FF_ML_STATS_H
#define FF_ML_STATS_H

#include <stddef.h>
#include <stdbool.h>
#include "err.h"

/*
 * Quantile methods for sorted values s[0..n) and a level q in [0, 1]:
 *   STATS_Q_LINEAR  numpy's default: h = (n-1) q, s[⌊h⌋] + (h-⌊h⌋)(s[⌊h⌋+1]-s[⌊h⌋])
 *   STATS_Q_LOWER   s[⌊(n-1) q⌋]
 *   STATS_Q_HIGHER  s[⌈(n-1) q⌉]
 *   STATS_Q_FATE    s[max(1, ⌊q n⌋) - 1]: what FATE's Greenwald-Khanna summary
 *                   (fate_utils quantile) answers when 2·relative_error·n < 1,
 *                   i.e. whenever it keeps every value (binning's default
 *                   1e-6 up to 500,000 rows). For larger errors GK answers any
 *                   value within rank ±relative_error·n; this exact answer is
 *                   one of them, but not necessarily the same one.
 */
enum stats_qmethod {
	STATS_Q_LINEAR,
	STATS_Q_LOWER,
	STATS_Q_HIGHER,
	STATS_Q_FATE,
};

/* Statistics of one column; see the file comment for the formulas. */
struct stats_column {
	size_t count;    /* rows, missing included (FATE's "count") */
	size_t missing;  /* NaN entries (FATE's "missing_count") */
	double missing_ratio; /* missing / count */
	double sum;
	double mean;
	double var;
	double std;
	double min;
	double max;
	double median;   /* STATS_Q_FATE at q = 0.5 */
	double cv;       /* coefficient_of_variation = std / mean */
	double skewness;
	double kurtosis; /* excess kurtosis */
};

/*
 * Computes every statistic of every column: out[j] for j < cols (out holds
 * cols entries, owned by the caller). ddof is the delta degrees of freedom
 * of var/std (FATE default 1); bias selects the biased skewness/kurtosis.
 * A column whose values are all missing gets NaN statistics (count and
 * missing still set). Borrows x. Allocates a scratch column (FF_ENOMEM).
 * Returns FF_OK, FF_EINVAL (bad shape, infinite value) or FF_ENOMEM.
 */
int stats_describe(const double *x, size_t rows, size_t cols, size_t stride,
		   unsigned ddof, bool bias, struct stats_column *out,
		   struct ff_error *err);

/*
 * Quantile of already sorted finite values s[0..n), n > 0, q in [0, 1]
 * (not checked: the caller validated them). Pure arithmetic, no errors.
 */
double stats_sorted_quantile(const double *s, size_t n, double q,
			     enum stats_qmethod method);

/*
 * Quantiles of column `col` at the levels q[0..nq): out[k] for k < nq.
 * Missing values (NaN) are skipped; a column with no values, a level outside
 * [0, 1] or an infinite value is FF_EINVAL. Borrows x, q; out is the
 * caller's. Sorting cost O(m log m) and one scratch copy of the column.
 */
int stats_column_quantiles(const double *x, size_t rows, size_t stride,
			   size_t col, const double *q, size_t nq,
			   enum stats_qmethod method, double *out,
			   struct ff_error *err);

/*
 * Copies the non-missing values of column `col` into a new array, sorted
 * ascending: *out (owned, free with ff_free) and *n. A column with no values
 * or with an infinite value is FF_EINVAL; FF_ENOMEM on allocation failure.
 */
int stats_sorted_column(const double *x, size_t rows, size_t stride,
			size_t col, double **out, size_t *n,
			struct ff_error *err);

#endif
