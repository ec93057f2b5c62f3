// SPDX-License-Identifier: Apache-2.0
/*
 * test_ml_stats.c - unit tests of components/ml/stats.c against numpy/scipy
 * numbers from tests/reference/ml_ref.py (test_ml_ref.h).
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "err.h"
#include "stats.h"
#include "test_ml_ref.h"
#include "test_ml_util.h"

/* Guest x0..x9 of the breast data as a 569 x 10 view of a 12-column CSV. */
static void load_guest(struct ml_csv *g, const double **x)
{
	ml_csv_load("breast_hetero_guest.csv", g);
	assert_int_equal(g->rows, 569);
	*x = g->v + 2;
}

static void test_describe_breast(void **state)
{
	(void)state;
	struct ml_csv g;
	const double *x;
	struct stats_column c[10], u[10], d0[10];
	struct ff_error err = FF_ERROR_INIT;

	load_guest(&g, &x);
	assert_int_equal(stats_describe(x, 569, 10, 12, 1, true, c, &err), FF_OK);
	assert_int_equal(stats_describe(x, 569, 10, 12, 1, false, u, &err), FF_OK);
	assert_int_equal(stats_describe(x, 569, 10, 12, 0, true, d0, &err), FF_OK);
	for (size_t j = 0; j < 10; j++) {
		assert_int_equal(c[j].count, 569);
		assert_int_equal(c[j].missing, 0);
		ML_ASSERT_CLOSE(c[j].missing_ratio, 0.0, 0);
		ML_ASSERT_CLOSE(c[j].mean, REF_ST_MEAN[j], 1e-13);
		ML_ASSERT_CLOSE(c[j].sum, REF_ST_SUM[j], 1e-12);
		ML_ASSERT_CLOSE(c[j].std, REF_ST_STD1[j], 1e-12);
		ML_ASSERT_CLOSE(c[j].var, REF_ST_STD1[j] * REF_ST_STD1[j], 1e-12);
		ML_ASSERT_CLOSE(d0[j].var, REF_ST_VAR0[j], 1e-12);
		ML_ASSERT_CLOSE(c[j].min, REF_ST_MIN[j], 0);
		ML_ASSERT_CLOSE(c[j].max, REF_ST_MAX[j], 0);
		ML_ASSERT_CLOSE(c[j].median, REF_ST_MEDIAN_FATE[j], 0);
		/* standardized data: the means are ~1e-9..1e-18, so cv only
		 * checks its definition here; test_missing_and_small checks a
		 * well-conditioned value */
		ML_ASSERT_CLOSE(c[j].cv, c[j].std / c[j].mean, 1e-15);
		ML_ASSERT_CLOSE(c[j].skewness, REF_ST_SKEW_BIASED[j], 1e-11);
		ML_ASSERT_CLOSE(c[j].kurtosis, REF_ST_KURT_BIASED[j], 1e-11);
		ML_ASSERT_CLOSE(u[j].skewness, REF_ST_SKEW_UNBIASED[j], 1e-11);
		ML_ASSERT_CLOSE(u[j].kurtosis, REF_ST_KURT_UNBIASED[j], 1e-11);
	}
	ml_csv_release(&g);
}

static void test_quantiles(void **state)
{
	(void)state;
	struct ml_csv g;
	const double *x;
	double out[6];
	struct ff_error err = FF_ERROR_INIT;

	load_guest(&g, &x);
	assert_int_equal(stats_column_quantiles(x, 569, 12, 3, REF_ST_QLEVELS, 6,
						STATS_Q_LINEAR, out, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(out, REF_ST_Q_LINEAR_X3, 6, 1e-15);
	assert_int_equal(stats_column_quantiles(x, 569, 12, 3, REF_ST_QLEVELS, 6,
						STATS_Q_LOWER, out, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(out, REF_ST_Q_LOWER_X3, 6, 0);
	assert_int_equal(stats_column_quantiles(x, 569, 12, 3, REF_ST_QLEVELS, 6,
						STATS_Q_HIGHER, out, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(out, REF_ST_Q_HIGHER_X3, 6, 0);
	assert_int_equal(stats_column_quantiles(x, 569, 12, 3, REF_ST_QLEVELS, 6,
						STATS_Q_FATE, out, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(out, REF_ST_Q_FATE_X3, 6, 0);
	ml_csv_release(&g);
}

static void test_missing_and_small(void **state)
{
	(void)state;
	/* two columns: [4, NaN, 1, 3, 2] and all-NaN */
	const double x[10] = { 4, NAN, NAN, NAN, 1, NAN, 3, NAN, 2, NAN };
	struct stats_column c[2];
	struct ff_error err = FF_ERROR_INIT;
	double med;

	assert_int_equal(stats_describe(x, 5, 2, 2, 1, false, c, &err), FF_OK);
	assert_int_equal(c[0].count, 5);
	assert_int_equal(c[0].missing, 1);
	ML_ASSERT_CLOSE(c[0].missing_ratio, 0.2, 1e-15);
	ML_ASSERT_CLOSE(c[0].mean, 2.5, 1e-15);
	ML_ASSERT_CLOSE(c[0].sum, 10.0, 0);
	ML_ASSERT_CLOSE(c[0].median, REF_ST_SMALL_MEDIAN_FATE, 0);
	ML_ASSERT_CLOSE(c[0].cv, sqrt(5.0 / 3.0) / 2.5, 1e-15);
	ML_ASSERT_CLOSE(c[0].skewness, REF_ST_SMALL_SKEW_UNBIASED, 1e-14);
	ML_ASSERT_CLOSE(c[0].kurtosis, REF_ST_SMALL_KURT_UNBIASED, 1e-14);
	assert_int_equal(c[1].missing, 5);
	assert_true(isnan(c[1].mean) && isnan(c[1].median) && isnan(c[1].std));
	assert_int_equal(stats_column_quantiles(x, 5, 2, 0, (double[]){ 0.5 }, 1,
						STATS_Q_LINEAR, &med, &err), FF_OK);
	ML_ASSERT_CLOSE(med, REF_ST_SMALL_MEDIAN_LINEAR, 0);
	/* unbiased skewness/kurtosis need 3/4 values: NaN below */
	assert_int_equal(stats_describe(x + 4, 2, 1, 4, 1, false, c, &err), FF_OK);
	assert_true(isnan(c[0].skewness) && isnan(c[0].kurtosis));
	/* ddof >= values: NaN variance */
	assert_int_equal(stats_describe(x, 1, 1, 2, 1, true, c, &err), FF_OK);
	assert_true(isnan(c[0].var));
	ML_ASSERT_CLOSE(c[0].median, 4.0, 0);
}

static void test_constant_column(void **state)
{
	(void)state;
	const double x[6] = { 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 };
	struct stats_column c, u;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(stats_describe(x, 6, 1, 1, 1, true, &c, &err), FF_OK);
	assert_int_equal(stats_describe(x, 6, 1, 1, 1, false, &u, &err), FF_OK);
	ML_ASSERT_CLOSE(c.std, 0.0, 1e-15);
	/* FATE: m2 below 1e-14 counts as zero -> skew 0, kurt -3 / corrected */
	ML_ASSERT_CLOSE(c.skewness, 0.0, 0);
	ML_ASSERT_CLOSE(c.kurtosis, -3.0, 0);
	ML_ASSERT_CLOSE(u.kurtosis, -3.0 * 25.0 / (4.0 * 3.0), 1e-15);
	ML_ASSERT_CLOSE(c.median, 0.1, 0);
}

static void test_bad_input(void **state)
{
	(void)state;
	const double x[4] = { 1, 2, INFINITY, 4 };
	struct stats_column c[2];
	double out;
	struct ff_error err = FF_ERROR_INIT;

	ML_ASSERT_ERR(stats_describe(NULL, 2, 2, 2, 1, true, c, &err), FF_EINVAL,
		      err, "null");
	ML_ASSERT_ERR(stats_describe(x, 0, 2, 2, 1, true, c, &err), FF_EINVAL,
		      err, "no rows");
	ML_ASSERT_ERR(stats_describe(x, 2, 0, 2, 1, true, c, &err), FF_EINVAL,
		      err, "no columns");
	ML_ASSERT_ERR(stats_describe(x, 2, 2, 1, 1, true, c, &err), FF_EINVAL,
		      err, "stride");
	ML_ASSERT_ERR(stats_describe(x, 2, 2, 2, 1, true, NULL, &err), FF_EINVAL,
		      err, "output");
	ML_ASSERT_ERR(stats_describe(x, 2, 2, 2, 1, true, c, &err), FF_EINVAL,
		      err, "column 0 at row 1");
	ML_ASSERT_ERR(stats_column_quantiles(x, 2, 2, 0, (double[]){ 1.5 }, 1,
					     STATS_Q_LINEAR, &out, &err),
		      FF_EINVAL, err, "outside [0, 1]");
	ML_ASSERT_ERR(stats_column_quantiles(x, 2, 2, 0, (double[]){ NAN }, 1,
					     STATS_Q_LINEAR, &out, &err),
		      FF_EINVAL, err, "outside [0, 1]");
	ML_ASSERT_ERR(stats_column_quantiles(x, 2, 2, 0, NULL, 0, STATS_Q_LINEAR,
					     &out, &err), FF_EINVAL, err, "levels");
	ML_ASSERT_ERR(stats_column_quantiles(x, 2, 2, 0, (double[]){ 0.5 }, 1,
					     STATS_Q_LINEAR, &out, &err),
		      FF_EINVAL, err, "column 0 at row 1");
	ML_ASSERT_ERR(stats_column_quantiles((double[]){ NAN, NAN }, 2, 1, 0,
					     (double[]){ 0.5 }, 1,
					     STATS_Q_LINEAR, &out, &err),
		      FF_EINVAL, err, "no values");
	ML_ASSERT_ERR(stats_column_quantiles(x, 2, 2, 2, (double[]){ 0.5 }, 1,
					     STATS_Q_LINEAR, &out, &err),
		      FF_EINVAL, err, "shape");
}

static void test_oom(void **state)
{
	(void)state;
	const double x[4] = { 1, 2, 3, 4 };
	struct stats_column c;
	double out;
	struct ff_error err = FF_ERROR_INIT;

	ff_mem_fail_after(1);
	ML_ASSERT_ERR(stats_describe(x, 4, 1, 1, 1, true, &c, &err), FF_ENOMEM,
		      err, "allocate");
	ff_mem_fail_after(1);
	ML_ASSERT_ERR(stats_column_quantiles(x, 4, 1, 0, (double[]){ 0.5 }, 1,
					     STATS_Q_FATE, &out, &err),
		      FF_ENOMEM, err, "allocate");
	ff_mem_fail_after(0);
	assert_int_equal(ff_mem_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe_breast),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_missing_and_small),
		cmocka_unit_test(test_constant_column),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
