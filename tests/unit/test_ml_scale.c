// SPDX-License-Identifier: Apache-2.0
/*
 * test_ml_scale.c - unit tests of components/ml/scale.c. Breast numbers come
 * from tests/reference/ml_ref.py (test_ml_ref.h); the small min-max cases are
 * computed by hand in the comments.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "err.h"
#include "scale.h"
#include "test_ml_ref.h"
#include "test_ml_util.h"

static void test_standard_breast(void **state)
{
	(void)state;
	struct ml_breast b;
	struct scale_model m = SCALE_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;
	size_t sel[20];
	double *orig;

	ml_breast_load(&b);
	orig = ff_malloc(b.rows * b.cols * sizeof(double));
	assert_non_null(orig);
	memcpy(orig, b.x, b.rows * b.cols * sizeof(double));
	for (size_t k = 0; k < 20; k++)
		sel[k] = 10 + k; /* the host's 20 columns */
	assert_int_equal(scale_fit_standard(&m, b.x, b.rows, 30, 30, sel, 20, &err),
			 FF_OK);
	assert_int_equal(m.method, SCALE_STANDARD);
	assert_int_equal(m.ncols, 20);
	assert_null(m.scale);
	ML_ASSERT_ARRAY_CLOSE(m.mean, REF_SC_MEAN, 20, 1e-14);
	ML_ASSERT_ARRAY_CLOSE(m.std, REF_SC_STD, 20, 1e-13);
	assert_int_equal(scale_transform(&m, b.x, b.rows, 30, 30, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(b.x + 10, REF_SC_ROW0, 20, 1e-12);
	ML_ASSERT_ARRAY_CLOSE(b.x + 568 * 30 + 10, REF_SC_ROW568, 20, 1e-12);
	/* guest columns untouched */
	for (size_t i = 0; i < b.rows; i++)
		assert_memory_equal(b.x + i * 30, orig + i * 30, 10 * sizeof(double));
	scale_model_release(&m);
	assert_null(m.mean);
	ff_free(orig);
	ml_breast_release(&b);
}

static void test_standard_constant(void **state)
{
	(void)state;
	/* col 0 constant 0.1 (rounded mean is not exactly 0.1), col 1 varies */
	double x[8] = { 0.1, 1, 0.1, 2, 0.1, 3, 0.1, 4 };
	struct scale_model m = SCALE_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(scale_fit_standard(&m, x, 4, 2, 2, NULL, 0, &err), FF_OK);
	assert_int_equal(m.ncols, 2);
	assert_int_equal(m.cols[0], 0);
	assert_int_equal(m.cols[1], 1);
	ML_ASSERT_CLOSE(m.std[0], 0.0, 0);
	ML_ASSERT_CLOSE(m.std[1], sqrt(5.0 / 3.0), 1e-15);
	assert_int_equal(scale_transform(&m, x, 4, 2, 2, &err), FF_OK);
	for (size_t i = 0; i < 4; i++) {
		assert_true(fabs(x[2 * i]) < 1e-16); /* not NaN as FATE's 0/0 */
		ML_ASSERT_CLOSE(x[2 * i + 1], ((double)i + 1.0 - 2.5) / sqrt(5.0 / 3.0),
				1e-15);
	}
	scale_model_release(&m);
}

static void test_min_max(void **state)
{
	(void)state;
	/* column 1 = [1, 3, 5, 9]: scale = 1/8, scale_min = 1/8 */
	const double train[8] = { 0, 1, 0, 3, 0, 5, 0, 9 };
	double x[10] = { 7, 1, 7, 3, 7, 9, 7, 11, 7, -1 };
	size_t sel = 1;
	struct scale_model m = SCALE_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(scale_fit_min_max(&m, train, 4, 2, 2, &sel, 1, NULL, NULL,
					   true, &err), FF_OK);
	ML_ASSERT_CLOSE(m.scale[0], 0.125, 0);
	ML_ASSERT_CLOSE(m.scale_min[0], 0.125, 0);
	ML_ASSERT_CLOSE(m.range_min[0], 0.0, 0);
	ML_ASSERT_CLOSE(m.range_max[0], 1.0, 0);
	assert_true(m.strict_range);
	assert_int_equal(scale_transform(&m, x, 5, 2, 2, &err), FF_OK);
	const double strict[5] = { 0.0, 0.25, 1.0, 1.0, 0.0 }; /* 11, -1 clipped */

	for (size_t i = 0; i < 5; i++) {
		ML_ASSERT_CLOSE(x[2 * i + 1], strict[i], 1e-15);
		ML_ASSERT_CLOSE(x[2 * i], 7.0, 0);
	}
	scale_model_release(&m);

	/* not strict: 11 -> 1.25, -1 -> -0.25 */
	double y[2] = { 11, -1 };

	assert_int_equal(scale_fit_min_max(&m, train + 1, 4, 1, 2, NULL, 0, NULL,
					   NULL, false, &err), FF_OK);
	assert_int_equal(scale_transform(&m, y, 2, 1, 1, &err), FF_OK);
	ML_ASSERT_CLOSE(y[0], 1.25, 1e-15);
	ML_ASSERT_CLOSE(y[1], -0.25, 1e-15);
	scale_model_release(&m);

	/* feature_range [-1, 1]: x' = x * 2/8 - 2/8 + (-1); 1 -> -1, 9 -> 1.
	 * (FATE 2.x computes x*scale - (scale_min + range_min), which maps
	 * 1 to +1: the documented formula is followed here.) */
	double z[4] = { 1, 9, 5, 3 };
	const double lo = -1.0, hi = 1.0;

	assert_int_equal(scale_fit_min_max(&m, train + 1, 4, 1, 2, NULL, 0, &lo, &hi,
					   true, &err), FF_OK);
	assert_int_equal(scale_transform(&m, z, 4, 1, 1, &err), FF_OK);
	ML_ASSERT_CLOSE(z[0], -1.0, 1e-15);
	ML_ASSERT_CLOSE(z[1], 1.0, 1e-15);
	ML_ASSERT_CLOSE(z[2], 0.0, 1e-15);
	ML_ASSERT_CLOSE(z[3], -0.5, 1e-15);
	scale_model_release(&m);

	/* data range below 1e-6 counts as 1: [2, 2, 2] -> scale 1, min 2 */
	const double flat[3] = { 2, 2, 2 };
	double f[2] = { 2.0, 2.5 };

	assert_int_equal(scale_fit_min_max(&m, flat, 3, 1, 1, NULL, 0, NULL, NULL,
					   true, &err), FF_OK);
	ML_ASSERT_CLOSE(m.scale[0], 1.0, 0);
	assert_int_equal(scale_transform(&m, f, 2, 1, 1, &err), FF_OK);
	ML_ASSERT_CLOSE(f[0], 0.0, 0);
	ML_ASSERT_CLOSE(f[1], 0.5, 0);
	scale_model_release(&m);
}

static void test_model_alloc(void **state)
{
	(void)state;
	struct scale_model m = SCALE_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;
	double x[2] = { 3, 5 };

	assert_int_equal(scale_model_alloc(&m, SCALE_STANDARD, 1, &err), FF_OK);
	assert_non_null(m.mean);
	assert_null(m.range_min);
	/* a deserialized model: x' = (x - 1) / 2 */
	m.cols[0] = 0;
	m.mean[0] = 1.0;
	m.std[0] = 2.0;
	assert_int_equal(scale_transform(&m, x, 2, 1, 1, &err), FF_OK);
	ML_ASSERT_CLOSE(x[0], 1.0, 0);
	ML_ASSERT_CLOSE(x[1], 2.0, 0);
	m.std[0] = -1.0;
	ML_ASSERT_ERR(scale_transform(&m, x, 2, 1, 1, &err), FF_EINVAL, err,
		      "not finite");
	scale_model_release(&m);
	ML_ASSERT_ERR(scale_model_alloc(&m, SCALE_MIN_MAX, 0, &err), FF_EINVAL, err,
		      "no columns");
	ML_ASSERT_ERR(scale_model_alloc(&m, (enum scale_method)9, 1, &err),
		      FF_EINVAL, err, "unknown");
	ff_mem_fail_after(2);
	ML_ASSERT_ERR(scale_model_alloc(&m, SCALE_MIN_MAX, 3, &err), FF_ENOMEM, err,
		      "allocate");
	ff_mem_fail_after(0);
	assert_null(m.cols);
	scale_model_release(NULL);
}

static void test_bad_input(void **state)
{
	(void)state;
	double x[6] = { 1, NAN, 2, 5, 3, 6 };
	struct scale_model m = SCALE_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;
	size_t sel0 = 0, sel1 = 1, dup[2] = { 0, 0 }, far = 2;
	const double lo = 1.0, hi = 0.0, inf = INFINITY;

	ML_ASSERT_ERR(scale_fit_standard(&m, x, 3, 2, 2, NULL, 0, &err), FF_EINVAL,
		      err, "column 1 at row 0");
	/* NaN in a column that is not selected is fine */
	assert_int_equal(scale_fit_standard(&m, x, 3, 2, 2, &sel0, 1, &err), FF_OK);
	assert_int_equal(scale_transform(&m, x, 3, 1, 2, &err), FF_OK);
	assert_true(isnan(x[1]));
	scale_model_release(&m);
	ML_ASSERT_ERR(scale_fit_standard(&m, x, 3, 2, 2, &sel1, 1, &err), FF_EINVAL,
		      err, "column 1");
	ML_ASSERT_ERR(scale_fit_standard(&m, x, 3, 2, 2, dup, 2, &err), FF_EINVAL,
		      err, "selected twice");
	ML_ASSERT_ERR(scale_fit_standard(&m, x, 3, 2, 2, &far, 1, &err), FF_EINVAL,
		      err, "out of range");
	ML_ASSERT_ERR(scale_fit_standard(&m, x, 1, 2, 2, &sel0, 1, &err), FF_EINVAL,
		      err, "at least 2 rows");
	ML_ASSERT_ERR(scale_fit_standard(&m, x, 0, 2, 2, NULL, 0, &err), FF_EINVAL,
		      err, "no rows");
	ML_ASSERT_ERR(scale_fit_standard(&m, NULL, 3, 2, 2, NULL, 0, &err),
		      FF_EINVAL, err, "null");
	ML_ASSERT_ERR(scale_fit_min_max(&m, x, 3, 2, 2, &sel0, 1, &lo, &hi, true,
					&err), FF_EINVAL, err, "bad feature range");
	ML_ASSERT_ERR(scale_fit_min_max(&m, x, 3, 2, 2, &sel0, 1, &lo, &inf, true,
					&err), FF_EINVAL, err, "bad feature range");
	ML_ASSERT_ERR(scale_fit_min_max(&m, x, 3, 2, 2, &sel0, 1, &lo, NULL, true,
					&err), FF_EINVAL, err, "both bounds");
	assert_null(m.cols);

	/* transform: NaN in a model column leaves x untouched */
	double t[4] = { 1, 2, 3, 4 };
	double u[4] = { 1, 2, NAN, 4 };

	assert_int_equal(scale_fit_standard(&m, t, 2, 2, 2, NULL, 0, &err), FF_OK);
	ML_ASSERT_ERR(scale_transform(&m, u, 2, 2, 2, &err), FF_EINVAL, err,
		      "column 0 at row 1");
	ML_ASSERT_CLOSE(u[0], 1.0, 0);
	ML_ASSERT_ERR(scale_transform(&m, t, 2, 1, 1, &err), FF_EINVAL, err,
		      "out of range");
	scale_model_release(&m);
	ML_ASSERT_ERR(scale_transform(&m, t, 2, 2, 2, &err), FF_EINVAL, err,
		      "empty");
	ff_mem_fail_after(1);
	ML_ASSERT_ERR(scale_fit_standard(&m, t, 2, 2, 2, NULL, 0, &err), FF_ENOMEM,
		      err, "allocate");
	ff_mem_fail_after(0);
	assert_int_equal(ff_mem_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standard_breast),
		cmocka_unit_test(test_standard_constant),
		cmocka_unit_test(test_min_max),
		cmocka_unit_test(test_model_alloc),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
