// SPDX-License-Identifier: Apache-2.0
/*
 * selection.c - FATE's feature-selection filters (rules in selection.h).
 */
#include "ff_setup.h"
#include <math.h>
#include "mem.h"
#include "selection.h"

int selection_filter_parse(const char *name, enum selection_filter *out,
			   struct ff_error *err)
{
	static const struct {
		const char *name;
		enum selection_filter type;
	} names[] = {
		{ "threshold", SELECTION_THRESHOLD },
		{ "top_k", SELECTION_TOP_K },
		{ "top_percentile", SELECTION_TOP_PERCENTILE },
	};

	for (size_t i = 0; name && i < FF_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].type;
			return FF_OK;
		}
	return ff_error_set(err, FF_EINVAL, "unknown filter type '%s'",
			    name ? name : "(null)");
}

/* true when metric a ranks strictly before metric b (NaN ranks last). */
static bool selection_before(double a, double b, bool take_high)
{
	if (isnan(a))
		return false;
	if (isnan(b))
		return true;
	return take_high ? a > b : a < b;
}

/* Keeps the k best of metric[0..n); a stable insertion of indexes, so equal
 * metrics keep their original order (pandas mergesort). */
static int selection_top_k(const double *metric, size_t n, size_t k,
			   bool take_high, bool *keep, struct ff_error *err)
{
	size_t *order = NULL;

	for (size_t i = 0; i < n; i++)
		keep[i] = k == 0;
	if (k == 0)
		return FF_OK;
	FF_ALLOC_ARRAY(order, n);
	if (!order)
		return ff_error_set(err, FF_ENOMEM, "cannot allocate %zu indexes", n);
	/* Stable merge-free sort: n is a feature count, insertion is fine. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && selection_before(metric[i], metric[order[j - 1]],
						 take_high)) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t r = 0; r < k && r < n; r++)
		keep[order[r]] = true;
	ff_free(order);
	return FF_OK;
}

int selection_filter(const double *metric, size_t n,
		     enum selection_filter type, double param, bool take_high,
		     bool *keep, struct ff_error *err)
{
	if (!metric || !keep || n == 0)
		return ff_error_set(err, FF_EINVAL, "no features to filter");
	if (!isfinite(param))
		return ff_error_set(err, FF_EINVAL, "filter parameter is not finite");
	switch (type) {
	case SELECTION_THRESHOLD:
		for (size_t i = 0; i < n; i++)
			keep[i] = take_high ? metric[i] >= param : metric[i] <= param;
		return FF_OK;
	case SELECTION_TOP_K:
		if (param < 0.0 || param != floor(param))
			return ff_error_set(err, FF_EINVAL,
					    "top_k needs a non-negative integer, got %g",
					    param);
		return selection_top_k(metric, n,
				       param >= (double)n ? n : (size_t)param,
				       take_high, keep, err);
	case SELECTION_TOP_PERCENTILE:
		if (param < 0.0 || param > 1.0)
			return ff_error_set(err, FF_EINVAL,
					    "top_percentile %g is outside [0, 1]",
					    param);
		return selection_top_k(metric, n,
				       (size_t)ceil((double)n * param), take_high,
				       keep, err);
	default:
		return ff_error_set(err, FF_EINVAL, "unknown filter type %d",
				    (int)type);
	}
}

void selection_and(bool *mask, const bool *other, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mask[i] = mask[i] && other[i];
}

static int selection_check_idx(const size_t *idx, size_t cnt, size_t n,
			       const char *what, struct ff_error *err)
{
	if (cnt && !idx)
		return ff_error_set(err, FF_EINVAL, "%s list is null", what);
	for (size_t k = 0; k < cnt; k++)
		if (idx[k] >= n)
			return ff_error_set(err, FF_EINVAL,
					    "%s index %zu is out of range (%zu features)",
					    what, idx[k], n);
	return FF_OK;
}

int selection_manual(size_t n, const size_t *filter_out, size_t nf,
		     const size_t *keep, size_t nk, const bool *prev,
		     bool *out, struct ff_error *err)
{
	int ret;

	if (n == 0 || !out)
		return ff_error_set(err, FF_EINVAL, "no features to select");
	if (nf >= n)
		return ff_error_set(err, FF_EINVAL,
				    "filter_out_col should not be all columns");
	ret = selection_check_idx(filter_out, nf, n, "filter_out_col", err);
	if (!ret)
		ret = selection_check_idx(keep, nk, n, "keep_col", err);
	if (ret)
		return ret;
	for (size_t a = 0; a < nf; a++)
		for (size_t b = 0; b < nk; b++)
			if (filter_out[a] == keep[b])
				return ff_error_set(err, FF_EINVAL,
						    "column %zu is in both keep_col and filter_out_col",
						    keep[b]);
	for (size_t i = 0; i < n; i++)
		out[i] = prev ? prev[i] : true;
	for (size_t a = 0; a < nf; a++)
		out[filter_out[a]] = false;
	for (size_t b = 0; b < nk; b++)
		out[keep[b]] = true;
	return FF_OK;
}

int selection_keep_one(bool *mask, size_t n, const bool *prev,
		       const double *metric, bool take_high, size_t *chosen,
		       struct ff_error *err)
{
	size_t best = SIZE_MAX, first = SIZE_MAX;

	if (chosen)
		*chosen = SIZE_MAX;
	if (!mask || n == 0)
		return ff_error_set(err, FF_EINVAL, "no features to select");
	for (size_t i = 0; i < n; i++)
		if (mask[i])
			return FF_OK;
	for (size_t i = 0; i < n; i++) {
		if (prev && !prev[i])
			continue;
		if (first == SIZE_MAX)
			first = i;
		if (metric && !isnan(metric[i])
		    && (best == SIZE_MAX
			|| selection_before(metric[i], metric[best], take_high)))
			best = i;
	}
	if (first == SIZE_MAX)
		return ff_error_set(err, FF_EINVAL,
				    "keep_one: no previously selected feature");
	if (best == SIZE_MAX)
		best = first;
	mask[best] = true;
	if (chosen)
		*chosen = best;
	return FF_OK;
}
