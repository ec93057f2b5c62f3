// SPDX-License-Identifier: Apache-2.0
/*
 * test_ml_binning.c - unit tests of components/ml/binning.c. Breast split
 * points, counts, WOE and IV come from tests/reference/ml_ref.py
 * (test_ml_ref.h), a numpy re-implementation of FATE 2.x's binning.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "binning.h"
#include "err.h"
#include "test_ml_ref.h"
#include "test_ml_util.h"

static void test_breast_quantile_iv(void **state)
{
	(void)state;
	struct ml_breast b;
	struct ff_error err = FF_ERROR_INIT;
	double sp[10], ev[10], ne[10];
	size_t n, *bins;

	ml_breast_load(&b);
	bins = ff_calloc(b.rows, sizeof(*bins));
	assert_non_null(bins);
	for (size_t j = 0; j < 30; j++) {
		struct binning_woe w = BINNING_WOE_INIT;

		assert_int_equal(binning_quantile_splits(b.x, b.rows, 30, j, 10,
							 BINNING_DEFAULT_ERROR, sp, &n,
							 &err), FF_OK);
		assert_int_equal(n, 10);
		ML_ASSERT_ARRAY_CLOSE(sp, REF_BN_SPLITS + 10 * j, 10, 0);
		assert_int_equal(binning_assign(b.x, b.rows, 30, j, sp, n, bins, &err),
				 FF_OK);
		assert_int_equal(binning_counts(bins, b.y, b.rows, n, ev, ne, &err),
				 FF_OK);
		assert_int_equal(binning_woe_iv(ev, ne, n, BINNING_DEFAULT_ADJUSTMENT,
						&w, &err), FF_OK);
		assert_int_equal(w.n_bins, 10);
		ML_ASSERT_CLOSE(w.iv, REF_BN_IV[j], 1e-13);
		ML_ASSERT_CLOSE(w.iv_all, REF_BN_IV_ALL[j], 1e-13);
		/* the IV filter of train_lr.yaml (threshold 0.1) */
		assert_int_equal(w.iv >= 0.1, REF_BN_IV_KEEP[j]);
		if (j == 0) {
			ML_ASSERT_ARRAY_CLOSE(ev, REF_BN_EVENT_X0, 10, 0);
			ML_ASSERT_ARRAY_CLOSE(ne, REF_BN_NONEVENT_X0, 10, 0);
			ML_ASSERT_ARRAY_CLOSE(w.woe, REF_BN_WOE_X0, 10, 1e-14);
			ML_ASSERT_ARRAY_CLOSE(w.iv_bin, REF_BN_IVBIN_X0, 10, 1e-14);
		}
		binning_woe_release(&w);
		assert_null(w.woe);
	}
	assert_int_equal(binning_bucket_splits(b.x, b.rows, 30, 5, 10, sp, &n, &err),
			 FF_OK);
	assert_int_equal(n, 10);
	ML_ASSERT_ARRAY_CLOSE(sp, REF_BN_BUCKET_X5, 10, 1e-15);
	ff_free(bins);
	ml_breast_release(&b);
}

static void test_bin_rule(void **state)
{
	(void)state;
	const double p[3] = { 1, 2, 3 };
	const double x[7] = { 0.5, 1, 1.5, 2, 2.5, 3, 100 };
	const size_t want[7] = { 0, 0, 1, 1, 2, 2, 2 };
	size_t bins[7];
	struct ff_error err = FF_ERROR_INIT;

	/* upper bound inclusive; above the last point: last bin */
	assert_int_equal(binning_assign(x, 7, 1, 0, p, 3, bins, &err), FF_OK);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(bins[i], want[i]);
	assert_int_equal(binning_bin_of(-1e300, p, 3), 0);
	assert_int_equal(binning_bin_of(5, p, 1), 0);
}

static void test_duplicates_and_manual(void **state)
{
	(void)state;
	/* discrete column: FATE's ranks 1..9 give 0 x7, 1, 1; max 1 */
	const double d[10] = { 1, 0, 0, 1, 0, 0, 1, 0, 0, 0 };
	const double flat[4] = { 2, 2, 2, 2 };
	const double pts[5] = { 3, 1, 2, 3, 1 };
	double sp[10];
	size_t n;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(binning_quantile_splits(d, 10, 1, 0, 10, 1e-6, sp, &n, &err),
			 FF_OK);
	assert_int_equal(n, 2);
	ML_ASSERT_CLOSE(sp[0], 0.0, 0);
	ML_ASSERT_CLOSE(sp[1], 1.0, 0);
	assert_int_equal(binning_bucket_splits(flat, 4, 1, 0, 5, sp, &n, &err), FF_OK);
	assert_int_equal(n, 1);
	ML_ASSERT_CLOSE(sp[0], 2.0, 0);
	/* equal width over [0, 1] with 4 bins */
	assert_int_equal(binning_bucket_splits(d, 10, 1, 0, 4, sp, &n, &err), FF_OK);
	assert_int_equal(n, 4);
	ML_ASSERT_CLOSE(sp[0], 0.25, 0);
	ML_ASSERT_CLOSE(sp[2], 0.75, 0);
	ML_ASSERT_CLOSE(sp[3], 1.0, 0);
	assert_int_equal(binning_manual_splits(pts, 5, sp, &n, &err), FF_OK);
	assert_int_equal(n, 3);
	ML_ASSERT_CLOSE(sp[0], 1.0, 0);
	ML_ASSERT_CLOSE(sp[1], 2.0, 0);
	ML_ASSERT_CLOSE(sp[2], 3.0, 0);
}

static void test_woe_adjustment(void **state)
{
	(void)state;
	/* empty event bin 0 and empty non-event bin 1: E = 8, N = 6 */
	const double ev[3] = { 0, 5, 3 }, ne[3] = { 4, 0, 2 };
	const double er[3] = { 0.5, 5.0 / 8, 3.0 / 8 };
	const double nr[3] = { 4.0 / 6, 0.5, 2.0 / 6 };
	struct binning_woe w = BINNING_WOE_INIT;
	struct ff_error err = FF_ERROR_INIT;
	double iv = 0.0;

	assert_int_equal(binning_woe_iv(ev, ne, 3, 0.5, &w, &err), FF_OK);
	for (size_t b = 0; b < 3; b++) {
		double woe = log(er[b] / nr[b]);

		ML_ASSERT_CLOSE(w.event_rate[b], er[b], 1e-15);
		ML_ASSERT_CLOSE(w.non_event_rate[b], nr[b], 1e-15);
		ML_ASSERT_CLOSE(w.woe[b], woe, 1e-15);
		ML_ASSERT_CLOSE(w.iv_bin[b], (er[b] - nr[b]) * woe, 1e-15);
		if (b > 0)
			iv += (er[b] - nr[b]) * woe;
	}
	ML_ASSERT_CLOSE(w.iv, iv, 1e-15);
	ML_ASSERT_CLOSE(w.iv_all, iv + w.iv_bin[0], 1e-15);
	assert_false(w.monotonic); /* woe: -0.29, +0.22, +0.12 */
	binning_woe_release(&w);

	/* no events at all: E counts as 1, every event rate is the adjustment */
	const double z[2] = { 0, 0 }, n2[2] = { 1, 3 };

	assert_int_equal(binning_woe_iv(z, n2, 2, 0.5, &w, &err), FF_OK);
	ML_ASSERT_CLOSE(w.event_rate[0], 0.5, 0);
	ML_ASSERT_CLOSE(w.woe[1], log(0.5 / 0.75), 1e-15);
	assert_true(w.monotonic);
	binning_woe_release(&w);
}

static void test_bad_input(void **state)
{
	(void)state;
	const double x[4] = { 1, 2, NAN, 4 };
	const double ok[4] = { 1, 2, 3, 4 };
	const double y[4] = { 0, 1, 2, 1 };
	const size_t bins[4] = { 0, 1, 0, 5 };
	const double neg[2] = { 1, -1 }, pos[2] = { 1, 1 };
	double sp[4];
	size_t n, b[4];
	struct binning_woe w = BINNING_WOE_INIT;
	struct ff_error err = FF_ERROR_INIT;

	ML_ASSERT_ERR(binning_quantile_splits(x, 4, 1, 0, 4, 1e-6, sp, &n, &err),
		      FF_EINVAL, err, "column 0 at row 2");
	ML_ASSERT_ERR(binning_quantile_splits(ok, 4, 1, 0, 1, 1e-6, sp, &n, &err),
		      FF_EINVAL, err, "n_bins");
	ML_ASSERT_ERR(binning_quantile_splits(ok, 4, 1, 0, 4, 1.0, sp, &n, &err),
		      FF_EINVAL, err, "relative_error");
	ML_ASSERT_ERR(binning_quantile_splits(ok, 0, 1, 0, 4, 1e-6, sp, &n, &err),
		      FF_EINVAL, err, "no rows");
	ML_ASSERT_ERR(binning_quantile_splits(ok, 4, 1, 1, 4, 1e-6, sp, &n, &err),
		      FF_EINVAL, err, "outside stride");
	ML_ASSERT_ERR(binning_quantile_splits(ok, 4, 1, 0, 4, 1e-6, NULL, &n, &err),
		      FF_EINVAL, err, "output");
	ML_ASSERT_ERR(binning_bucket_splits(x, 4, 1, 0, 4, sp, &n, &err), FF_EINVAL,
		      err, "column 0 at row 2");
	ML_ASSERT_ERR(binning_manual_splits(x, 4, sp, &n, &err), FF_EINVAL, err,
		      "index 2");
	ML_ASSERT_ERR(binning_manual_splits(ok, 0, sp, &n, &err), FF_EINVAL, err,
		      "empty");
	ML_ASSERT_ERR(binning_assign(ok, 4, 1, 0, (double[]){ 2, 1 }, 2, b, &err),
		      FF_EINVAL, err, "ascending");
	ML_ASSERT_ERR(binning_assign(ok, 4, 1, 0, (double[]){ 1, 1 }, 2, b, &err),
		      FF_EINVAL, err, "ascending");
	ML_ASSERT_ERR(binning_assign(x, 4, 1, 0, ok, 4, b, &err), FF_EINVAL, err,
		      "column 0 at row 2");
	ML_ASSERT_ERR(binning_assign(ok, 4, 1, 0, ok, 0, b, &err), FF_EINVAL, err,
		      "empty");
	ML_ASSERT_ERR(binning_counts(bins, ok, 4, 6, sp, sp, &err), FF_EINVAL, err,
		      "not 0 or 1");
	ML_ASSERT_ERR(binning_counts(bins, y, 4, 6, sp, sp, &err), FF_EINVAL, err,
		      "row 2");
	ML_ASSERT_ERR(binning_counts(bins, (double[]){ 0, 1, 0, 1 }, 4, 4, sp, sp,
				     &err), FF_EINVAL, err, "out of range");
	ML_ASSERT_ERR(binning_counts(bins, y, 0, 4, sp, sp, &err), FF_EINVAL, err,
		      "no rows");
	ML_ASSERT_ERR(binning_woe_iv(neg, pos, 2, 0.5, &w, &err), FF_EINVAL, err,
		      "negative count in bin 1");
	ML_ASSERT_ERR(binning_woe_iv(pos, pos, 2, 0.0, &w, &err), FF_EINVAL, err,
		      "adjustment_factor");
	ML_ASSERT_ERR(binning_woe_iv(pos, (double[]){ 1, NAN }, 2, 0.5, &w, &err),
		      FF_EINVAL, err, "index 1");
	ML_ASSERT_ERR(binning_woe_iv(pos, pos, 0, 0.5, &w, &err), FF_EINVAL, err,
		      "empty");
	ff_mem_fail_after(2);
	ML_ASSERT_ERR(binning_woe_iv(pos, pos, 2, 0.5, &w, &err), FF_ENOMEM, err,
		      "allocate");
	ff_mem_fail_after(1);
	ML_ASSERT_ERR(binning_quantile_splits(ok, 4, 1, 0, 4, 1e-6, sp, &n, &err),
		      FF_ENOMEM, err, "allocate");
	ff_mem_fail_after(0);
	assert_null(w.woe);
	assert_int_equal(ff_mem_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breast_quantile_iv),
		cmocka_unit_test(test_bin_rule),
		cmocka_unit_test(test_duplicates_and_manual),
		cmocka_unit_test(test_woe_adjustment),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
