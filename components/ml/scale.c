// SPDX-License-Identifier: Apache-2.0
/*
 * scale.c - standard and min-max scaling (contract and formulas in scale.h).
 */
#include "ff_setup.h"
#include <math.h>
#include "mat.h"
#include "mem.h"
#include "scale.h"

/* FATE's "safe division" floor for the min-max data range. */
#define SCALE_MIN_RANGE 1e-6

void scale_model_release(struct scale_model *m)
{
	if (!m)
		return;
	ff_free(m->cols);
	ff_free(m->mean);
	ff_free(m->std);
	ff_free(m->scale);
	ff_free(m->scale_min);
	ff_free(m->range_min);
	ff_free(m->range_max);
	*m = (struct scale_model)SCALE_MODEL_INIT;
}

int scale_model_alloc(struct scale_model *m, enum scale_method method,
		      size_t ncols, struct ff_error *err)
{
	bool ok;

	*m = (struct scale_model)SCALE_MODEL_INIT;
	if (ncols == 0)
		return ff_error_set(err, FF_EINVAL, "scaler has no columns");
	if (method != SCALE_STANDARD && method != SCALE_MIN_MAX)
		return ff_error_set(err, FF_EINVAL, "unknown scale method %d",
				    (int)method);
	m->method = method;
	m->ncols = ncols;
	FF_ALLOC_ARRAY(m->cols, ncols);
	ok = m->cols != NULL;
	if (method == SCALE_STANDARD) {
		FF_ALLOC_ARRAY(m->mean, ncols);
		FF_ALLOC_ARRAY(m->std, ncols);
		ok = ok && m->mean && m->std;
	} else {
		FF_ALLOC_ARRAY(m->scale, ncols);
		FF_ALLOC_ARRAY(m->scale_min, ncols);
		FF_ALLOC_ARRAY(m->range_min, ncols);
		FF_ALLOC_ARRAY(m->range_max, ncols);
		ok = ok && m->scale && m->scale_min && m->range_min && m->range_max;
	}
	if (!ok) {
		scale_model_release(m);
		return ff_error_set(err, FF_ENOMEM, "cannot allocate scaler of %zu columns",
				    ncols);
	}
	return FF_OK;
}

/* Validates x and the selection, allocates m and fills m->cols. */
static int scale_prepare(struct scale_model *m, enum scale_method method,
			 const double *x, size_t rows, size_t cols,
			 size_t stride, const size_t *sel, size_t nsel,
			 struct ff_error *err)
{
	size_t n = nsel ? nsel : cols;
	int ret;

	*m = (struct scale_model)SCALE_MODEL_INIT;
	ret = mat_check_shape(x, rows, cols, stride, "x", err);
	if (ret)
		return ret;
	ret = mat_check_selection(sel, nsel, cols, err);
	if (ret)
		return ret;
	ret = scale_model_alloc(m, method, n, err);
	if (ret)
		return ret;
	for (size_t k = 0; k < n; k++) {
		m->cols[k] = nsel ? sel[k] : k;
		ret = mat_check_column_finite(x, rows, stride, m->cols[k], err);
		if (ret) {
			scale_model_release(m);
			return ret;
		}
	}
	return FF_OK;
}

int scale_fit_standard(struct scale_model *m, const double *x, size_t rows,
		       size_t cols, size_t stride, const size_t *sel,
		       size_t nsel, struct ff_error *err)
{
	int ret = scale_prepare(m, SCALE_STANDARD, x, rows, cols, stride, sel,
				nsel, err);

	if (ret)
		return ret;
	if (rows < 2) {
		scale_model_release(m);
		return ff_error_set(err, FF_EINVAL,
				    "standard scaling needs at least 2 rows, got %zu",
				    rows);
	}
	for (size_t k = 0; k < m->ncols; k++) {
		size_t c = m->cols[k];
		double s = 0.0, comp = 0.0, ss = 0.0;
		double lo = x[c], hi = x[c];

		/* Compensated column sum, then a second pass for the squared
		 * deviations: stable for columns far from zero. */
		for (size_t i = 0; i < rows; i++) {
			double v = x[i * stride + c], t = s + v;

			comp += fabs(s) >= fabs(v) ? (s - t) + v : (v - t) + s;
			s = t;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		double mean = (s + comp) / (double)rows;

		for (size_t i = 0; i < rows; i++) {
			double d = x[i * stride + c] - mean;

			ss += d * d;
		}
		m->mean[k] = mean;
		/* min == max: every value equal, the true std is 0 even if the
		 * rounded mean leaves a residue of 1e-17. */
		m->std[k] = lo == hi ? 0.0 : sqrt(ss / (double)(rows - 1));
	}
	return FF_OK;
}

int scale_fit_min_max(struct scale_model *m, const double *x, size_t rows,
		      size_t cols, size_t stride, const size_t *sel,
		      size_t nsel, const double *range_min,
		      const double *range_max, bool strict_range,
		      struct ff_error *err)
{
	int ret;

	if ((range_min == NULL) != (range_max == NULL))
		return ff_error_set(err, FF_EINVAL,
				    "feature range needs both bounds or neither");
	ret = scale_prepare(m, SCALE_MIN_MAX, x, rows, cols, stride, sel, nsel,
			    err);
	if (ret)
		return ret;
	m->strict_range = strict_range;
	for (size_t k = 0; k < m->ncols; k++) {
		size_t c = m->cols[k];
		double lo = x[c], hi = x[c];
		double rmin = range_min ? range_min[k] : 0.0;
		double rmax = range_max ? range_max[k] : 1.0;

		if (!isfinite(rmin) || !isfinite(rmax) || rmin > rmax) {
			scale_model_release(m);
			return ff_error_set(err, FF_EINVAL,
					    "bad feature range [%g, %g] for column %zu",
					    rmin, rmax, c);
		}
		for (size_t i = 1; i < rows; i++) {
			double v = x[i * stride + c];

			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		double range = hi - lo;

		if (range < SCALE_MIN_RANGE)
			range = 1.0;
		m->range_min[k] = rmin;
		m->range_max[k] = rmax;
		m->scale[k] = (rmax - rmin) / range;
		m->scale_min[k] = lo * m->scale[k];
	}
	return FF_OK;
}

static int scale_check_model(const struct scale_model *m, size_t cols,
			     struct ff_error *err)
{
	if (!m || m->ncols == 0 || !m->cols)
		return ff_error_set(err, FF_EINVAL, "scaler model is empty");
	if (m->method == SCALE_STANDARD ? !m->mean || !m->std
	    : !m->scale || !m->scale_min || !m->range_min || !m->range_max)
		return ff_error_set(err, FF_EINVAL, "scaler model is incomplete");
	for (size_t k = 0; k < m->ncols; k++) {
		if (m->cols[k] >= cols)
			return ff_error_set(err, FF_EINVAL,
					    "scaler column %zu is out of range (%zu columns)",
					    m->cols[k], cols);
		bool ok = m->method == SCALE_STANDARD
			? isfinite(m->mean[k]) && isfinite(m->std[k]) && m->std[k] >= 0
			: isfinite(m->scale[k]) && isfinite(m->scale_min[k])
				&& isfinite(m->range_min[k]) && isfinite(m->range_max[k]);
		if (!ok)
			return ff_error_set(err, FF_EINVAL,
					    "scaler parameters of column %zu are not finite",
					    m->cols[k]);
	}
	return FF_OK;
}

int scale_transform(const struct scale_model *m, double *x, size_t rows,
		    size_t cols, size_t stride, struct ff_error *err)
{
	int ret = mat_check_shape(x, rows, cols, stride, "x", err);

	if (ret)
		return ret;
	ret = scale_check_model(m, cols, err);
	if (ret)
		return ret;
	for (size_t k = 0; k < m->ncols; k++) {
		ret = mat_check_column_finite(x, rows, stride, m->cols[k], err);
		if (ret)
			return ret;
	}
	for (size_t k = 0; k < m->ncols; k++) {
		size_t c = m->cols[k];

		if (m->method == SCALE_STANDARD) {
			double mu = m->mean[k];
			double sd = m->std[k] > 0.0 ? m->std[k] : 1.0;

			for (size_t i = 0; i < rows; i++)
				x[i * stride + c] = (x[i * stride + c] - mu) / sd;
			continue;
		}
		double sc = m->scale[k], smin = m->scale_min[k];
		double lo = m->range_min[k], hi = m->range_max[k];

		for (size_t i = 0; i < rows; i++) {
			double v = x[i * stride + c] * sc - smin + lo;

			if (m->strict_range)
				v = v < lo ? lo : v > hi ? hi : v;
			x[i * stride + c] = v;
		}
	}
	return FF_OK;
}
