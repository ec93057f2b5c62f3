// SPDX-License-Identifier: Apache-2.0
/*
 * test_ml_selection.c - unit tests of components/ml/selection.c. The small
 * cases follow FATE's filter code (hetero_feature_selection.py) by hand, as
 * the comments show; the IV case uses the breast IVs of
 * tests/reference/ml_ref.py (test_ml_ref.h).
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "err.h"
#include "selection.h"
#include "test_ml_ref.h"
#include "test_ml_util.h"

static void assert_mask(const bool *got, const char *want)
{
	for (size_t i = 0; want[i]; i++)
		if (got[i] != (want[i] == '1'))
			fail_msg("mask[%zu] = %d, want pattern %s", i, got[i], want);
}

static void test_threshold(void **state)
{
	(void)state;
	const double m[5] = { 0.05, 0.1, NAN, 0.3, 0.1 };
	bool k[5];
	struct ff_error err = FF_ERROR_INIT;

	/* take_high: m >= 0.1; NaN never passes */
	assert_int_equal(selection_filter(m, 5, SELECTION_THRESHOLD, 0.1, true, k,
					  &err), FF_OK);
	assert_mask(k, "01011");
	assert_int_equal(selection_filter(m, 5, SELECTION_THRESHOLD, 0.1, false, k,
					  &err), FF_OK);
	assert_mask(k, "11001");
}

static void test_top_k(void **state)
{
	(void)state;
	/* stable descending order: 0.9(1) 0.9(5) 0.5(0) 0.5(2) 0.1(4) NaN(3) */
	const double m[6] = { 0.5, 0.9, 0.5, NAN, 0.1, 0.9 };
	bool k[6];
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_K, 3, true, k, &err),
			 FF_OK);
	assert_mask(k, "110001");
	/* ascending: 0.1(4) 0.5(0) 0.5(2) 0.9(1) 0.9(5) NaN(3) */
	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_K, 2, false, k, &err),
			 FF_OK);
	assert_mask(k, "100010");
	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_K, 4, false, k, &err),
			 FF_OK);
	assert_mask(k, "111010");
	/* FATE: k == 0 keeps everything; k >= n keeps everything (NaN too) */
	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_K, 0, true, k, &err),
			 FF_OK);
	assert_mask(k, "111111");
	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_K, 10, true, k, &err),
			 FF_OK);
	assert_mask(k, "111111");
	/* top_percentile: k = ceil(6 * p) */
	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_PERCENTILE, 0.34, true,
					  k, &err), FF_OK);
	assert_mask(k, "110001");
	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_PERCENTILE, 0.5, true,
					  k, &err), FF_OK);
	assert_mask(k, "110001");
	assert_int_equal(selection_filter(m, 6, SELECTION_TOP_PERCENTILE, 0.0, true,
					  k, &err), FF_OK);
	assert_mask(k, "111111");
}

static void test_breast_iv_filter(void **state)
{
	(void)state;
	bool k[30], top[30];
	struct ff_error err = FF_ERROR_INIT;
	size_t kept = 0;

	/* train_lr.yaml: iv threshold 0.1, keep_one: 27 of 30 kept */
	assert_int_equal(selection_filter(REF_BN_IV, 30, SELECTION_THRESHOLD, 0.1,
					  true, k, &err), FF_OK);
	for (size_t i = 0; i < 30; i++) {
		assert_int_equal(k[i], REF_BN_IV_KEEP[i]);
		kept += k[i];
	}
	assert_int_equal(kept, 27);
	/* chained with top_k 5: the 5 largest IVs among the kept */
	assert_int_equal(selection_filter(REF_BN_IV, 30, SELECTION_TOP_K, 5, true,
					  top, &err), FF_OK);
	selection_and(k, top, 30);
	kept = 0;
	for (size_t i = 0; i < 30; i++) {
		size_t above = 0;

		for (size_t j = 0; j < 30; j++)
			above += REF_BN_IV[j] > REF_BN_IV[i];
		assert_int_equal(k[i], above < 5);
		kept += k[i];
	}
	assert_int_equal(kept, 5);
}

static void test_manual(void **state)
{
	(void)state;
	const bool prev[5] = { true, true, true, true, false };
	const size_t out[2] = { 1, 3 }, keep = 4, both = 3, far = 5;
	const size_t all[5] = { 0, 1, 2, 3, 4 };
	bool m[5];
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(selection_manual(5, out, 2, &keep, 1, prev, m, &err), FF_OK);
	assert_mask(m, "10101"); /* keep_col overrides prev, as FATE */
	assert_int_equal(selection_manual(5, out, 2, NULL, 0, NULL, m, &err), FF_OK);
	assert_mask(m, "10101");
	ML_ASSERT_ERR(selection_manual(5, out, 2, &both, 1, prev, m, &err),
		      FF_EINVAL, err, "both");
	ML_ASSERT_ERR(selection_manual(5, &far, 1, NULL, 0, prev, m, &err),
		      FF_EINVAL, err, "out of range");
	ML_ASSERT_ERR(selection_manual(5, out, 2, &far, 1, prev, m, &err),
		      FF_EINVAL, err, "keep_col index 5");
	ML_ASSERT_ERR(selection_manual(5, all, 5, NULL, 0, prev, m, &err),
		      FF_EINVAL, err, "all columns");
	ML_ASSERT_ERR(selection_manual(0, NULL, 0, NULL, 0, NULL, m, &err),
		      FF_EINVAL, err, "no features");
	ML_ASSERT_ERR(selection_manual(5, NULL, 1, NULL, 0, NULL, m, &err),
		      FF_EINVAL, err, "null");
}

static void test_keep_one(void **state)
{
	(void)state;
	const bool prev[4] = { false, true, true, false };
	const double m[4] = { 9, 0.2, 0.7, NAN };
	const double nan4[4] = { NAN, NAN, NAN, NAN };
	bool mask[4] = { false, false, false, false };
	size_t chosen;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(selection_keep_one(mask, 4, prev, m, true, &chosen, &err),
			 FF_OK);
	assert_int_equal(chosen, 2);
	assert_mask(mask, "0010");
	/* already has a feature: unchanged */
	assert_int_equal(selection_keep_one(mask, 4, prev, m, false, &chosen, &err),
			 FF_OK);
	assert_int_equal(chosen, SIZE_MAX);
	assert_mask(mask, "0010");
	mask[2] = false;
	assert_int_equal(selection_keep_one(mask, 4, prev, m, false, &chosen, &err),
			 FF_OK);
	assert_int_equal(chosen, 1);
	mask[1] = false;
	assert_int_equal(selection_keep_one(mask, 4, prev, NULL, true, &chosen, &err),
			 FF_OK);
	assert_int_equal(chosen, 1);
	mask[1] = false;
	assert_int_equal(selection_keep_one(mask, 4, prev, nan4, true, &chosen, &err),
			 FF_OK);
	assert_int_equal(chosen, 1);
	mask[1] = false;
	assert_int_equal(selection_keep_one(mask, 4, NULL, m, true, NULL, &err),
			 FF_OK);
	assert_mask(mask, "1000");
	mask[0] = false;
	ML_ASSERT_ERR(selection_keep_one(mask, 4, (bool[4]){ 0 }, m, true, &chosen,
					 &err), FF_EINVAL, err, "no previously");
	ML_ASSERT_ERR(selection_keep_one(NULL, 4, NULL, m, true, &chosen, &err),
		      FF_EINVAL, err, "no features");
}

static void test_bad_input(void **state)
{
	(void)state;
	const double m[3] = { 1, 2, 3 };
	bool k[3];
	enum selection_filter f;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(selection_filter_parse("top_percentile", &f, &err), FF_OK);
	assert_int_equal(f, SELECTION_TOP_PERCENTILE);
	assert_int_equal(selection_filter_parse("threshold", &f, &err), FF_OK);
	assert_int_equal(f, SELECTION_THRESHOLD);
	ML_ASSERT_ERR(selection_filter_parse("top-k", &f, &err), FF_EINVAL, err,
		      "'top-k'");
	ML_ASSERT_ERR(selection_filter_parse(NULL, &f, &err), FF_EINVAL, err,
		      "unknown");
	ML_ASSERT_ERR(selection_filter(m, 3, SELECTION_TOP_K, 1.5, true, k, &err),
		      FF_EINVAL, err, "integer");
	ML_ASSERT_ERR(selection_filter(m, 3, SELECTION_TOP_K, -1, true, k, &err),
		      FF_EINVAL, err, "integer");
	ML_ASSERT_ERR(selection_filter(m, 3, SELECTION_TOP_PERCENTILE, 1.5, true, k,
				       &err), FF_EINVAL, err, "outside [0, 1]");
	ML_ASSERT_ERR(selection_filter(m, 3, SELECTION_THRESHOLD, NAN, true, k,
				       &err), FF_EINVAL, err, "not finite");
	ML_ASSERT_ERR(selection_filter(m, 0, SELECTION_THRESHOLD, 1, true, k, &err),
		      FF_EINVAL, err, "no features");
	ML_ASSERT_ERR(selection_filter(m, 3, (enum selection_filter)7, 1, true, k,
				       &err), FF_EINVAL, err, "unknown");
	ff_mem_fail_after(1);
	ML_ASSERT_ERR(selection_filter(m, 3, SELECTION_TOP_K, 1, true, k, &err),
		      FF_ENOMEM, err, "allocate");
	ff_mem_fail_after(0);
	assert_int_equal(ff_mem_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_top_k),
		cmocka_unit_test(test_breast_iv_filter),
		cmocka_unit_test(test_manual),
		cmocka_unit_test(test_keep_one),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
