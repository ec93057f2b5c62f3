/* SPDX-License-Identifier: Apache-2.0 */
/*
 * selection.h - the feature filters of FATE 2.x's hetero_feature_selection
 * (python/fate/ml/feature_selection/hetero_feature_selection.py).
 *
 * A selection is a bool mask over n features (true = keep). The pieces:
 *   - selection_filter: one filter over one metric (iv, a statistic, ...):
 *       threshold       keep m >= t (take_high) or m <= t (take_low)
 *       top_k           keep the k best by a stable sort (descending for
 *                       take_high, ascending otherwise; NaN ranks last);
 *                       k = 0 keeps everything (FATE), k >= n keeps all
 *       top_percentile  top_k with k = ceil(n * p), p in [0, 1]
 *     NaN never passes a threshold. The ranking of top_k/top_percentile is
 *     over all n features, not only the previously kept ones (as FATE).
 *   - selection_and: FATE chains filters (several per metric, several
 *     metrics, several methods) by AND-ing masks.
 *   - selection_manual: filter_out_col / keep_col by index.
 *   - selection_keep_one: when nothing is left, keep one feature. FATE picks
 *     a *random* previously kept feature (random.choice); this library picks
 *     the best one by the given metric (ties: lowest index), or the lowest
 *     previously kept index when there is no metric, so results are
 *     reproducible.
 *
 * Pure functions, no global state, thread-safe.
 */
#ifndef FF_ML_SELECTION_H
#define FF_ML_SELECTION_H

#include <stddef.h>
#include <stdbool.h>
#include "err.h"

enum selection_filter {
	SELECTION_THRESHOLD,
	SELECTION_TOP_K,
	SELECTION_TOP_PERCENTILE,
};

/*
 * Parses "threshold", "top_k" or "top_percentile" into *out.
 * Returns FF_OK or FF_EINVAL.
 */
int selection_filter_parse(const char *name, enum selection_filter *out,
			   struct ff_error *err);

/*
 * Applies one filter to metric[0..n) (NaN allowed, meaning "no value") and
 * writes keep[0..n) (caller's). param is the threshold, k (a non-negative
 * integer) or the percentile in [0, 1]. Allocates a scratch index for the
 * ranking filters. Returns FF_OK, FF_EINVAL or FF_ENOMEM.
 */
int selection_filter(const double *metric, size_t n,
		     enum selection_filter type, double param, bool take_high,
		     bool *keep, struct ff_error *err);

/* mask[i] = mask[i] && other[i] for i < n. */
void selection_and(bool *mask, const bool *other, size_t n);

/*
 * Manual selection over n features: out[i] = prev[i] (all true when prev
 * is NULL), then false for every index in filter_out, then true for every
 * index in keep (even if prev dropped it, as FATE's `loc[keep_col] = True`).
 * Errors (FF_EINVAL): an index >= n, an index in both lists, or nf >= n
 * (FATE refuses to filter out every column).
 */
int selection_manual(size_t n, const size_t *filter_out, size_t nf,
		     const size_t *keep, size_t nk, const bool *prev,
		     bool *out, struct ff_error *err);

/*
 * keep_one: if mask[0..n) has no true entry, sets one. The candidate set is
 * prev (NULL = all features); among candidates, the best by metric (highest
 * when take_high, else lowest; NaN never best) wins, ties by lowest index;
 * without a usable metric (metric NULL or all NaN) the lowest candidate
 * index wins. *chosen gets the index set, or SIZE_MAX when the mask already
 * had a feature (chosen may be NULL). FF_EINVAL when there is no candidate.
 */
int selection_keep_one(bool *mask, size_t n, const bool *prev,
		       const double *metric, bool take_high, size_t *chosen,
		       struct ff_error *err);

#endif
