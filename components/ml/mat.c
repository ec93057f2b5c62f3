// SPDX-License-Identifier: Apache-2.0
/*
 * mat.c - validation helpers and dense products shared by the ml modules.
 * Small products run as plain loops; from MAT_BLAS_MIN elements on they go
 * to OpenBLAS, where the blocking and vectorisation pay for the call.
 */
#include "ff_setup.h"
#include <math.h>
#include <cblas.h>
#include "mat.h"
#include "mem.h"

/* Below this many matrix elements a loop beats the BLAS call overhead. */
#define MAT_BLAS_MIN 4096

int mat_check_shape(const double *x, size_t rows, size_t cols, size_t stride,
		    const char *what, struct ff_error *err)
{
	size_t last;

	if (!x)
		return ff_error_set(err, FF_EINVAL, "matrix '%s' is null", what);
	if (rows == 0)
		return ff_error_set(err, FF_EINVAL, "matrix '%s' has no rows", what);
	if (cols == 0)
		return ff_error_set(err, FF_EINVAL, "matrix '%s' has no columns",
				    what);
	if (stride < cols)
		return ff_error_set(err, FF_EINVAL,
				    "matrix '%s' has stride %zu below %zu columns",
				    what, stride, cols);
	if (!ff_st_mult(rows - 1, stride, &last) || !ff_st_add(last, cols, &last)
	    || last > SIZE_MAX / sizeof(double))
		return ff_error_set(err, FF_EINVAL, "matrix '%s' is too large", what);
	return FF_OK;
}

int mat_check_column_finite(const double *x, size_t rows, size_t stride,
			    size_t col, struct ff_error *err)
{
	for (size_t i = 0; i < rows; i++)
		if (!isfinite(x[i * stride + col]))
			return ff_error_set(err, FF_EINVAL,
					    "non-finite value in column %zu at row %zu",
					    col, i);
	return FF_OK;
}

int mat_check_finite(const double *x, size_t rows, size_t cols, size_t stride,
		     const char *what, struct ff_error *err)
{
	int ret = mat_check_shape(x, rows, cols, stride, what, err);

	if (ret)
		return ret;
	/* Row-major scan is cache friendly; report the lowest bad column of the
	 * first bad row, which is also what a column-wise scan reports first
	 * for that row. */
	for (size_t i = 0; i < rows; i++)
		for (size_t j = 0; j < cols; j++)
			if (!isfinite(x[i * stride + j]))
				return ff_error_set(err, FF_EINVAL,
						    "non-finite value in column %zu at row %zu",
						    j, i);
	return FF_OK;
}

int mat_check_vec(const double *v, size_t n, const char *what,
		  struct ff_error *err)
{
	if (!v)
		return ff_error_set(err, FF_EINVAL, "vector '%s' is null", what);
	if (n == 0)
		return ff_error_set(err, FF_EINVAL, "vector '%s' is empty", what);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return ff_error_set(err, FF_EINVAL,
					    "non-finite value in '%s' at index %zu",
					    what, i);
	return FF_OK;
}

int mat_check_selection(const size_t *sel, size_t nsel, size_t cols,
			struct ff_error *err)
{
	if (nsel == 0)
		return FF_OK;
	if (!sel)
		return ff_error_set(err, FF_EINVAL, "column selection is null");
	for (size_t k = 0; k < nsel; k++) {
		if (sel[k] >= cols)
			return ff_error_set(err, FF_EINVAL,
					    "selected column %zu is out of range (%zu columns)",
					    sel[k], cols);
		/* Selections are short (feature counts); quadratic is fine. */
		for (size_t l = 0; l < k; l++)
			if (sel[l] == sel[k])
				return ff_error_set(err, FF_EINVAL,
						    "column %zu is selected twice",
						    sel[k]);
	}
	return FF_OK;
}

static bool mat_use_blas(size_t rows, size_t cols, size_t stride)
{
	/* cblas takes int dimensions. */
	if (rows > INT32_MAX || cols > INT32_MAX || stride > INT32_MAX)
		return false;
	return rows * cols >= MAT_BLAS_MIN;
}

void mat_gemv(const double *x, size_t rows, size_t cols, size_t stride,
	      const double *w, double bias, double *out)
{
	if (mat_use_blas(rows, cols, stride)) {
		for (size_t i = 0; i < rows; i++)
			out[i] = bias;
		cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)rows, (int)cols, 1.0,
			    x, (int)stride, w, 1, 1.0, out, 1);
		return;
	}
	for (size_t i = 0; i < rows; i++) {
		const double *r = x + i * stride;
		double s = 0.0;

		for (size_t j = 0; j < cols; j++)
			s += r[j] * w[j];
		out[i] = s + bias;
	}
}

void mat_gemv_t(const double *x, size_t rows, size_t cols, size_t stride,
		const double *v, double alpha, double *out)
{
	if (mat_use_blas(rows, cols, stride)) {
		cblas_dgemv(CblasRowMajor, CblasTrans, (int)rows, (int)cols, alpha,
			    x, (int)stride, v, 1, 0.0, out, 1);
		return;
	}
	for (size_t j = 0; j < cols; j++)
		out[j] = 0.0;
	for (size_t i = 0; i < rows; i++) {
		const double *r = x + i * stride;

		for (size_t j = 0; j < cols; j++)
			out[j] += r[j] * v[i];
	}
	for (size_t j = 0; j < cols; j++)
		out[j] *= alpha;
}

double mat_sum(const double *v, size_t n)
{
	double s = 0.0, c = 0.0;

	for (size_t i = 0; i < n; i++) {
		double t = s + v[i];

		if (fabs(s) >= fabs(v[i]))
			c += (s - t) + v[i];
		else
			c += (v[i] - t) + s;
		s = t;
	}
	return s + c;
}

double mat_dot(const double *a, const double *b, size_t n)
{
	double s = 0.0, c = 0.0;

	for (size_t i = 0; i < n; i++) {
		double p = a[i] * b[i];
		double t = s + p;

		if (fabs(s) >= fabs(p))
			c += (s - t) + p;
		else
			c += (p - t) + s;
		s = t;
	}
	return s + c;
}

int mat_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}
