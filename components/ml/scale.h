/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scale.h - feature scaling as FATE's `feature_scale` component does it:
 * fit on training data, keep a small model, transform any data in place.
 *
 * standard:  x' = (x - mean) / std, mean and std (ddof 1, as FATE's
 *            DataFrame.std) of the training column. A constant training
 *            column (min == max) is stored with std = 0 and transformed with
 *            divisor 1, so it becomes 0 — FATE divides by its std and
 *            produces NaN there (0/0); this library refuses to emit NaN.
 * min_max:   scale = (range_max - range_min) / (max - min), with the data
 *            range replaced by 1 when it is below 1e-6 (as FATE);
 *            scale_min = min * scale;
 *            x' = x * scale - scale_min + range_min, clipped to
 *            [range_min, range_max] when strict_range is set.
 *            FATE 2.x computes x * scale - (scale_min + range_min) (sign slip;
 *            its docstring has + range_min): identical for the default
 *            feature_range [0, 1], different otherwise; this library follows
 *            the documented formula.
 *
 * Only the selected columns are touched; the others pass through. Inputs
 * with NaN or infinity in a selected column are FF_EINVAL naming the column.
 * Pure functions, no global state; a model may be shared read-only between
 * threads.
 */
#ifndef FF_ML_SCALE_H
#define FF_ML_SCALE_H

#include <stddef.h>
#include <stdbool.h>
#include "err.h"

enum scale_method {
	SCALE_STANDARD,
	SCALE_MIN_MAX,
};

/*
 * A fitted scaler. All arrays have ncols entries, indexed like cols[]
 * (cols[k] is the data column the k-th entry applies to). The arrays a
 * method does not use are NULL. Components serialize these fields as they
 * are; scale_model_alloc prepares an empty model for deserialization.
 */
struct scale_model {
	enum scale_method method;
	size_t ncols;
	size_t *cols;       /* scaled column indexes, in selection order */
	double *mean;       /* standard */
	double *std;        /* standard; 0 for a constant training column */
	double *scale;      /* min_max */
	double *scale_min;  /* min_max */
	double *range_min;  /* min_max */
	double *range_max;  /* min_max */
	bool strict_range;  /* min_max */
};
#define SCALE_MODEL_INIT { .method = SCALE_STANDARD, .ncols = 0 }

/*
 * Allocates the arrays of an empty model for `method` and ncols (> 0)
 * columns, zero-filled. m must be SCALE_MODEL_INIT or released. Returns
 * FF_OK, FF_EINVAL or FF_ENOMEM (m then stays empty).
 */
int scale_model_alloc(struct scale_model *m, enum scale_method method,
		      size_t ncols, struct ff_error *err);

/* Frees the arrays of m and resets it to SCALE_MODEL_INIT. NULL is a no-op. */
void scale_model_release(struct scale_model *m);

/*
 * Fits a standard scaler on the selected columns sel[0..nsel) of x (nsel 0
 * and sel NULL select every column, in order). m must be SCALE_MODEL_INIT
 * or released; on error it is left released. Needs rows >= 2 (std with
 * ddof 1). Borrows x and sel. Returns FF_OK, FF_EINVAL or FF_ENOMEM.
 */
int scale_fit_standard(struct scale_model *m, const double *x, size_t rows,
		       size_t cols, size_t stride, const size_t *sel,
		       size_t nsel, struct ff_error *err);

/*
 * Fits a min-max scaler on the selected columns (as scale_fit_standard).
 * range_min/range_max hold one bound per selected column; NULL for both
 * means FATE's default feature_range [0, 1] for every column. Each pair
 * must be finite with range_min <= range_max. Returns FF_OK, FF_EINVAL or
 * FF_ENOMEM.
 */
int scale_fit_min_max(struct scale_model *m, const double *x, size_t rows,
		      size_t cols, size_t stride, const size_t *sel,
		      size_t nsel, const double *range_min,
		      const double *range_max, bool strict_range,
		      struct ff_error *err);

/*
 * Transforms the model's columns of x in place (x has cols columns, every
 * model column must be < cols). All inputs are checked before anything is
 * written, so on error x is unchanged. Returns FF_OK or FF_EINVAL.
 */
int scale_transform(const struct scale_model *m, double *x, size_t rows,
		    size_t cols, size_t stride, struct ff_error *err);

#endif
