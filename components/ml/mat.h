/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mat.h - shared helpers of the ml library: input validation and the few
 * dense products the algorithms need.
 *
 * Every matrix in components/ml is row-major and described by
 * (x, rows, cols, stride): element (i, j) is x[i * stride + j], stride >=
 * cols. A "column" argument names a column of such a matrix. Vectors are
 * plain arrays of n doubles.
 *
 * The products go through OpenBLAS (cblas_dgemv) when the problem is large
 * enough for the call overhead to pay, and through a plain loop otherwise;
 * both sum in a fixed order for a given shape, so results are reproducible
 * run to run on one machine.
 *
 * All functions are pure: no I/O, no logging, no global state. Thread-safe.
 */
#ifndef FF_ML_MAT_H
#define FF_ML_MAT_H

#include <stddef.h>
#include "err.h"

/*
 * Checks the shape arguments of a matrix: x non-NULL, rows > 0, cols > 0,
 * stride >= cols, and (rows - 1) * stride + cols fits in size_t.
 * `what` names the argument in the message ("matrix 'x' has no rows").
 * Returns FF_OK or FF_EINVAL.
 */
int mat_check_shape(const double *x, size_t rows, size_t cols, size_t stride,
		    const char *what, struct ff_error *err);

/*
 * Checks that column `col` of the matrix has only finite values. On the
 * first NaN or infinity returns FF_EINVAL with "non-finite value in column
 * <col> at row <i>". The shape must already be valid.
 */
int mat_check_column_finite(const double *x, size_t rows, size_t stride,
			    size_t col, struct ff_error *err);

/* mat_check_shape followed by mat_check_column_finite on every column. */
int mat_check_finite(const double *x, size_t rows, size_t cols, size_t stride,
		     const char *what, struct ff_error *err);

/*
 * Checks a vector: v non-NULL, n > 0 and every value finite. The message
 * names `what` and the index ("non-finite value in 'label' at index 3").
 */
int mat_check_vec(const double *v, size_t n, const char *what,
		  struct ff_error *err);

/*
 * Checks a column selection: every index < cols and no index twice.
 * sel may be NULL only when nsel == 0. Returns FF_OK or FF_EINVAL.
 */
int mat_check_selection(const size_t *sel, size_t nsel, size_t cols,
			struct ff_error *err);

/*
 * out[i] = sum_j x[i, j] * w[j] + bias, for i < rows (matrix-vector product).
 * out must hold rows doubles and must not alias x or w.
 */
void mat_gemv(const double *x, size_t rows, size_t cols, size_t stride,
	      const double *w, double bias, double *out);

/*
 * out[j] = alpha * sum_i x[i, j] * v[i], for j < cols (transposed product).
 * out must hold cols doubles and must not alias x or v.
 */
void mat_gemv_t(const double *x, size_t rows, size_t cols, size_t stride,
		const double *v, double alpha, double *out);

/* Sum of v[0..n) with compensated (Neumaier) summation. */
double mat_sum(const double *v, size_t n);

/* Dot product of a and b with compensated summation. */
double mat_dot(const double *a, const double *b, size_t n);

/* Comparison function for qsort of doubles (ascending; no NaN expected). */
int mat_cmp_double(const void *a, const void *b);

#endif
