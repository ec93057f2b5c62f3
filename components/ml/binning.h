/* SPDX-License-Identifier: Apache-2.0 */
/*
 * binning.h - feature binning and WOE/IV, as FATE 2.x's
 * hetero_feature_binning computes them (python/fate/ml/feature_binning).
 *
 * Split points. A column is cut by k split points p[0] < ... < p[k-1]; the
 * last one is the column maximum (quantile, bucket) or the user's last
 * point (manual). Bin assignment follows FATE's torch.bucketize(right=False)
 * with the last boundary replaced by +inf:
 *     bin(x) = smallest i with x <= p[i], and k-1 when x > p[k-2]
 * i.e. bins are upper-bound inclusive, (p[i-1], p[i]], and values above the
 * training maximum fall in the last bin. Duplicate split points are removed
 * (FATE counts bins as the number of unique points but bucketizes with the
 * duplicates; deduplicating first makes both agree).
 *
 *   quantile: levels q_i = i * (1/n_bins) for i = 1..n_bins-1 (numpy arange
 *             arithmetic), then 1.0; each split point is the STATS_Q_FATE
 *             quantile (stats.h), which equals FATE's Greenwald-Khanna answer
 *             when 2·relative_error·rows < 1 (default 1e-6: up to 500,000
 *             rows). The summary is exact (sorting, O(n log n) time and one
 *             copy of the column), fine for columns up to a few million rows.
 *   bucket:   equal width: min + i * (max - min)/n_bins for i = 1..n_bins-1,
 *             then max (FATE's DataFrame.qcut).
 *   manual:   the given points, sorted and deduplicated.
 *
 * WOE/IV per bin b with event count e_b (label 1) and non-event count n_b,
 * E = Σ e_b and N = Σ n_b (each replaced by 1 when 0), a = adjustment_factor:
 *     event_rate_b     = e_b / E + (e_b == 0 ? a : 0)
 *     non_event_rate_b = n_b / N + (n_b == 0 ? a : 0)
 *     woe_b = ln(event_rate_b / non_event_rate_b)
 *     iv_b  = (event_rate_b - non_event_rate_b) * woe_b
 *     iv    = Σ_{b >= 1} iv_b     (FATE 2.x: `col_bin_iv[1:].sum()`, the
 *                                  first bin is left out of the total)
 *     iv_all = Σ_b iv_b           (the textbook IV, FATE 1.x)
 * Feature selection with FATE parity uses `iv`.
 *
 * Pure functions, no global state, thread-safe. Values must be finite
 * (FF_EINVAL naming the column otherwise).
 */
#ifndef FF_ML_BINNING_H
#define FF_ML_BINNING_H

#include <stddef.h>
#include <stdbool.h>
#include "err.h"

/* FATE's defaults. */
#define BINNING_DEFAULT_BINS 10
#define BINNING_DEFAULT_ERROR 1e-6
#define BINNING_DEFAULT_ADJUSTMENT 0.5

/*
 * Quantile split points of column `col` of x (rows, stride): writes at most
 * n_bins points to out (caller's, n_bins entries) and their count to
 * *n_out (1..n_bins). n_bins >= 2; relative_error must be in [0, 1) and is
 * otherwise unused (the summary is exact, see the file comment). Returns
 * FF_OK, FF_EINVAL or FF_ENOMEM.
 */
int binning_quantile_splits(const double *x, size_t rows, size_t stride,
			    size_t col, size_t n_bins, double relative_error,
			    double *out, size_t *n_out, struct ff_error *err);

/* Equal-width split points of column `col` (same contract as above). */
int binning_bucket_splits(const double *x, size_t rows, size_t stride,
			  size_t col, size_t n_bins, double *out,
			  size_t *n_out, struct ff_error *err);

/*
 * Manual split points: copies pts[0..n) to out (n entries), sorted and
 * deduplicated, count in *n_out. Points must be finite and n > 0.
 */
int binning_manual_splits(const double *pts, size_t n, double *out,
			  size_t *n_out, struct ff_error *err);

/*
 * Bin of a single value for split points p[0..k) (ascending, unique, k > 0):
 * the rule of the file comment. No checks; O(log k).
 */
size_t binning_bin_of(double v, const double *p, size_t k);

/*
 * Assigns every row of column `col` to its bin: bins[i] for i < rows
 * (caller's array). Split points as binning_bin_of, validated (ascending,
 * unique, finite). Returns FF_OK or FF_EINVAL.
 */
int binning_assign(const double *x, size_t rows, size_t stride, size_t col,
		   const double *p, size_t k, size_t *bins,
		   struct ff_error *err);

/*
 * Event and non-event counts per bin: event[b] = number of rows in bin b
 * with label 1, nonevent[b] = rows in bin b with label 0 (both caller's,
 * n_bins entries, overwritten). Labels must be exactly 0 or 1; every bin
 * index must be < n_bins. Returns FF_OK or FF_EINVAL.
 */
int binning_counts(const size_t *bins, const double *label, size_t rows,
		   size_t n_bins, double *event, double *nonevent,
		   struct ff_error *err);

/* WOE/IV of one feature; per-bin arrays have n_bins entries. */
struct binning_woe {
	size_t n_bins;
	double *event_rate;
	double *non_event_rate;
	double *woe;
	double *iv_bin;
	double iv;      /* FATE 2.x: bins 1..n_bins-1 */
	double iv_all;  /* all bins */
	bool monotonic; /* woe non-decreasing or non-increasing (pandas rule) */
};
#define BINNING_WOE_INIT { .n_bins = 0 }

/* Frees the arrays of w and resets it to BINNING_WOE_INIT. NULL is a no-op. */
void binning_woe_release(struct binning_woe *w);

/*
 * Computes WOE/IV (formulas in the file comment) from event/nonevent counts
 * (finite, >= 0; n_bins > 0). The counts may come from another party (the
 * host's decrypted histogram). adjustment must be finite and > 0. w must be
 * BINNING_WOE_INIT or released; on success it owns its arrays (free with
 * binning_woe_release). Returns FF_OK, FF_EINVAL or FF_ENOMEM.
 */
int binning_woe_iv(const double *event, const double *nonevent,
		   size_t n_bins, double adjustment, struct binning_woe *w,
		   struct ff_error *err);

#endif
