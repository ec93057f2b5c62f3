// SPDX-License-Identifier: Apache-2.0
/*
 * test_ml_metrics.c - unit tests of components/ml/metrics.c against
 * scikit-learn and a numpy re-implementation of FATE's evaluation tables,
 * both from tests/reference/ml_ref.py (test_ml_ref.h).
 */
#include "ff_setup.h"
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "err.h"
#include "metrics.h"
#include "test_ml_ref.h"
#include "test_ml_util.h"

#define NB FF_ARRAY_SIZE(REF_B_SCORE)
#define NBIG FF_ARRAY_SIZE(REF_BIG_SCORE)

static void test_binary_small(void **state)
{
	(void)state;
	double auc, ks, kt, fpr[NB + 1], tpr[NB + 1], thr[NB + 1];
	size_t np;
	struct metrics_confusion c;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(metrics_auc(REF_B_SCORE, REF_B_LABEL, NB, &auc, &err), FF_OK);
	ML_ASSERT_CLOSE(auc, REF_B_AUC, 1e-15);
	assert_int_equal(metrics_roc_curve(REF_B_SCORE, REF_B_LABEL, NB, fpr, tpr,
					   thr, &np, &err), FF_OK);
	assert_int_equal(np, FF_ARRAY_SIZE(REF_B_ROC_FPR));
	ML_ASSERT_ARRAY_CLOSE(fpr, REF_B_ROC_FPR, np, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(tpr, REF_B_ROC_TPR, np, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(thr, REF_B_ROC_THR, np, 1e-15);
	assert_int_equal(metrics_ks(REF_B_SCORE, REF_B_LABEL, NB, &ks, &kt, &err),
			 FF_OK);
	ML_ASSERT_CLOSE(ks, REF_B_KS, 1e-15);
	/* FATE: predicted positive = score > threshold */
	assert_int_equal(metrics_confusion_at(REF_B_SCORE, REF_B_LABEL, NB, 0.5, &c,
					      &err), FF_OK);
	assert_int_equal(c.tp + c.fp + c.tn + c.fn, NB);
	ML_ASSERT_CLOSE(metrics_precision(&c), REF_B_PRECISION, 1e-15);
	ML_ASSERT_CLOSE(metrics_recall(&c), REF_B_RECALL, 1e-15);
	ML_ASSERT_CLOSE(metrics_accuracy(&c), REF_B_ACCURACY, 1e-15);
	ML_ASSERT_CLOSE(metrics_f1(&c), REF_B_F1, 1e-15);
	/* nothing predicted positive: precision and f1 0 (zero_division) */
	assert_int_equal(metrics_confusion_at(REF_B_SCORE, REF_B_LABEL, NB, 2.0, &c,
					      &err), FF_OK);
	assert_int_equal(c.tp + c.fp, 0);
	ML_ASSERT_CLOSE(metrics_precision(&c), 0.0, 0);
	ML_ASSERT_CLOSE(metrics_f1(&c), 0.0, 0);
	ML_ASSERT_CLOSE(metrics_recall(&c), 0.0, 0);
}

static void test_binary_big(void **state)
{
	(void)state;
	double auc, ks, *fpr, *tpr, *thr;
	size_t np;
	struct ff_error err = FF_ERROR_INIT;

	fpr = ff_calloc(3 * (NBIG + 1), sizeof(double));
	assert_non_null(fpr);
	tpr = fpr + NBIG + 1;
	thr = tpr + NBIG + 1;
	assert_int_equal(metrics_auc(REF_BIG_SCORE, REF_BIG_LABEL, NBIG, &auc, &err),
			 FF_OK);
	ML_ASSERT_CLOSE(auc, REF_BIG_AUC, 1e-14);
	assert_int_equal(metrics_ks(REF_BIG_SCORE, REF_BIG_LABEL, NBIG, &ks, NULL,
				    &err), FF_OK);
	ML_ASSERT_CLOSE(ks, REF_BIG_KS, 1e-14);
	assert_int_equal(metrics_roc_curve(REF_BIG_SCORE, REF_BIG_LABEL, NBIG, fpr,
					   tpr, thr, &np, &err), FF_OK);
	assert_int_equal(np, REF_BIG_NPOINTS);
	ML_ASSERT_CLOSE(fpr[np - 1], 1.0, 0);
	ML_ASSERT_CLOSE(tpr[np - 1], 1.0, 0);
	ff_free(fpr);
}

static void test_fate_tables(void **state)
{
	(void)state;
	struct metrics_ks_table t;
	struct metrics_curve_table lift, gain;
	struct metrics_confusion conf[METRICS_CUTS], c;
	double thr[METRICS_CUTS], cuts[METRICS_CUTS];
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(metrics_ks_table(REF_B_SCORE, REF_B_LABEL, NB, &t, &err),
			 FF_OK);
	ML_ASSERT_CLOSE(t.ks, REF_B_FATE_KS, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(t.tpr, REF_B_FATE_KS_TPR, METRICS_CUTS + 1, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(t.fpr, REF_B_FATE_KS_FPR, METRICS_CUTS + 1, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(t.threshold, REF_B_FATE_KS_THR, METRICS_CUTS + 1, 0);
	ML_ASSERT_CLOSE(t.cuts[37], 0.37, 0);
	ML_ASSERT_CLOSE(t.cuts[METRICS_CUTS], 1.0, 0);
	assert_int_equal(metrics_ks_table(REF_BIG_SCORE, REF_BIG_LABEL, NBIG, &t,
					  &err), FF_OK);
	ML_ASSERT_CLOSE(t.ks, REF_BIG_FATE_KS, 1e-15);

	assert_int_equal(metrics_lift_table(REF_BIG_SCORE, REF_BIG_LABEL, NBIG,
					    &lift, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(lift.threshold, REF_BIG_LIFT_THR, METRICS_CUTS, 0);
	ML_ASSERT_ARRAY_CLOSE(lift.x1, REF_BIG_LIFT_X1, METRICS_CUTS, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(lift.y1, REF_BIG_LIFT_Y1, METRICS_CUTS, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(lift.x0, REF_BIG_LIFT_X0, METRICS_CUTS, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(lift.y0, REF_BIG_LIFT_Y0, METRICS_CUTS, 1e-15);
	assert_int_equal(metrics_gain_table(REF_BIG_SCORE, REF_BIG_LABEL, NBIG,
					    &gain, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(gain.y1, REF_BIG_GAIN_Y1, METRICS_CUTS, 1e-15);
	ML_ASSERT_ARRAY_CLOSE(gain.y0, REF_BIG_GAIN_Y0, METRICS_CUTS, 1e-15);
	/* 15 scores, 11 distinct: thresholds repeat; lift/gain edge values */
	assert_int_equal(metrics_lift_table(REF_B_SCORE, REF_B_LABEL, NB, &lift,
					    &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(lift.threshold, REF_B_LIFT_THR, METRICS_CUTS, 0);
	ML_ASSERT_ARRAY_CLOSE(lift.y1, REF_B_LIFT_Y1, METRICS_CUTS, 1e-15);
	assert_int_equal(metrics_gain_table(REF_B_SCORE, REF_B_LABEL, NB, &gain,
					    &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(gain.y0, REF_B_GAIN_Y0, METRICS_CUTS, 1e-15);

	/* the confusion table agrees with confusion_at at every cut */
	assert_int_equal(metrics_cuts_by_index(REF_BIG_SCORE, NBIG, thr, cuts, &err),
			 FF_OK);
	assert_int_equal(metrics_confusion_table(REF_BIG_SCORE, REF_BIG_LABEL, NBIG,
						 thr, METRICS_CUTS, conf, &err), FF_OK);
	for (size_t k = 0; k < METRICS_CUTS; k += 9) {
		assert_int_equal(metrics_confusion_at(REF_BIG_SCORE, REF_BIG_LABEL,
						      NBIG, thr[k], &c, &err), FF_OK);
		assert_memory_equal(&c, &conf[k], sizeof(c));
	}
	assert_int_equal(metrics_cuts_by_step(REF_BIG_SCORE, NBIG, thr, cuts, &err),
			 FF_OK);
	ML_ASSERT_ARRAY_CLOSE(thr, REF_BIG_LIFT_THR, METRICS_CUTS, 0);
	ML_ASSERT_CLOSE(cuts[7], 0.07, 1e-17);
}

static void test_multi(void **state)
{
	(void)state;
	struct metrics_class *c = NULL;
	size_t nc, n = FF_ARRAY_SIZE(REF_M_TRUE);
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(metrics_multi_counts(REF_M_TRUE, REF_M_PRED, n, &c, &nc,
					      &err), FF_OK);
	assert_int_equal(nc, 5);
	assert_int_equal(c[4].label, 4);
	assert_int_equal(c[4].support, 0);
	assert_int_equal(c[4].predicted, 1);
	assert_int_equal(c[3].support, 3);
	assert_int_equal(c[3].tp, 2);
	ML_ASSERT_CLOSE(metrics_multi_accuracy(c, nc, n), REF_M_ACCURACY, 1e-15);
	ML_ASSERT_CLOSE(metrics_multi_precision(c, nc), REF_M_PRECISION, 1e-15);
	ML_ASSERT_CLOSE(metrics_multi_recall(c, nc), REF_M_RECALL, 1e-15);
	ff_free(c);
	ML_ASSERT_ERR(metrics_multi_counts(REF_M_TRUE, REF_M_PRED, 0, &c, &nc, &err),
		      FF_EINVAL, err, "no labels");
	assert_null(c);
	ML_ASSERT_ERR(metrics_multi_counts(NULL, REF_M_PRED, 3, &c, &nc, &err),
		      FF_EINVAL, err, "no labels");
	ff_mem_fail_after(2);
	ML_ASSERT_ERR(metrics_multi_counts(REF_M_TRUE, REF_M_PRED, n, &c, &nc, &err),
		      FF_ENOMEM, err, "allocate");
	ff_mem_fail_after(0);
	assert_null(c);
}

static void test_regression(void **state)
{
	(void)state;
	struct metrics_regression r;
	size_t n = FF_ARRAY_SIZE(REF_R_TRUE);
	const double ct[4] = { 2, 2, 2, 2 }, cp[4] = { 2, 2, 2.1, 2 };
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(metrics_regression(REF_R_TRUE, REF_R_PRED, n, &r, &err),
			 FF_OK);
	ML_ASSERT_CLOSE(r.mse, REF_R_MSE, 1e-15);
	ML_ASSERT_CLOSE(r.rmse, REF_R_RMSE, 1e-15);
	ML_ASSERT_CLOSE(r.mae, REF_R_MAE, 1e-15);
	ML_ASSERT_CLOSE(r.r2, REF_R_R2, 1e-15);
	ML_ASSERT_CLOSE(r.explained_variance, REF_R_EV, 1e-15);
	ML_ASSERT_CLOSE(r.median_ae, REF_R_MEDAE, 1e-15);
	assert_int_equal(metrics_regression(REF_R_TRUE, REF_R_PRED, 8, &r, &err),
			 FF_OK);
	ML_ASSERT_CLOSE(r.median_ae, REF_R_MEDAE_EVEN, 1e-15);
	/* constant y_true: sklearn's force_finite */
	assert_int_equal(metrics_regression(ct, cp, 4, &r, &err), FF_OK);
	ML_ASSERT_CLOSE(r.r2, REF_R_CONST_R2, 0);
	ML_ASSERT_CLOSE(r.explained_variance, REF_R_CONST_EV, 0);
	assert_int_equal(metrics_regression(ct, ct, 4, &r, &err), FF_OK);
	ML_ASSERT_CLOSE(r.r2, REF_R_CONST_R2_PERFECT, 0);
	assert_int_equal(metrics_regression(ct, cp, 1, &r, &err), FF_OK);
	assert_true(isnan(r.r2) && isnan(r.explained_variance));
	ML_ASSERT_CLOSE(r.mse, 0.0, 0);
}

static void test_bad_input(void **state)
{
	(void)state;
	const double s[4] = { 0.1, 0.4, 0.35, 0.8 };
	const double ones[4] = { 1, 1, 1, 1 };
	const double half[4] = { 0, 1, 0.5, 1 };
	const double nan_s[4] = { 0.1, NAN, 0.3, 0.4 };
	const double y[4] = { 0, 0, 1, 1 };
	double auc, ks, a[5], b[5], c3[5], thr[METRICS_CUTS], cuts[METRICS_CUTS];
	size_t np;
	struct metrics_confusion c;
	struct metrics_ks_table t;
	struct metrics_curve_table ct;
	struct metrics_regression r;
	struct ff_error err = FF_ERROR_INIT;

	ML_ASSERT_ERR(metrics_auc(s, ones, 4, &auc, &err), FF_EINVAL, err,
		      "one class");
	ML_ASSERT_ERR(metrics_ks(s, ones, 4, &ks, NULL, &err), FF_EINVAL, err,
		      "one class");
	ML_ASSERT_ERR(metrics_roc_curve(s, ones, 4, a, b, c3, &np, &err), FF_EINVAL,
		      err, "one class");
	ML_ASSERT_ERR(metrics_ks_table(s, ones, 4, &t, &err), FF_EINVAL, err,
		      "one class");
	ML_ASSERT_ERR(metrics_auc(s, half, 4, &auc, &err), FF_EINVAL, err,
		      "index 2 is 0.5");
	ML_ASSERT_ERR(metrics_auc(nan_s, y, 4, &auc, &err), FF_EINVAL, err,
		      "'score' at index 1");
	ML_ASSERT_ERR(metrics_auc(s, y, 0, &auc, &err), FF_EINVAL, err, "empty");
	ML_ASSERT_ERR(metrics_auc(s, y, 4, NULL, &err), FF_EINVAL, err, "null");
	ML_ASSERT_ERR(metrics_roc_curve(s, y, 4, NULL, b, c3, &np, &err), FF_EINVAL,
		      err, "null");
	ML_ASSERT_ERR(metrics_confusion_at(s, y, 4, NAN, &c, &err), FF_EINVAL, err,
		      "threshold");
	ML_ASSERT_ERR(metrics_confusion_at(s, half, 4, 0.5, &c, &err), FF_EINVAL,
		      err, "not 0 or 1");
	ML_ASSERT_ERR(metrics_confusion_table(s, y, 4, thr, 0, &c, &err), FF_EINVAL,
		      err, "no thresholds");
	ML_ASSERT_ERR(metrics_confusion_table(s, y, 4, (double[]){ NAN }, 1, &c,
					      &err), FF_EINVAL, err, "threshold");
	ML_ASSERT_ERR(metrics_cuts_by_index(nan_s, 4, thr, cuts, &err), FF_EINVAL,
		      err, "index 1");
	ML_ASSERT_ERR(metrics_cuts_by_step(s, 0, thr, cuts, &err), FF_EINVAL, err,
		      "empty");
	ML_ASSERT_ERR(metrics_lift_table(s, half, 4, &ct, &err), FF_EINVAL, err,
		      "not 0 or 1");
	ML_ASSERT_ERR(metrics_gain_table(s, y, 4, NULL, &err), FF_EINVAL, err,
		      "null");
	ML_ASSERT_ERR(metrics_regression(s, nan_s, 4, &r, &err), FF_EINVAL, err,
		      "'y_pred' at index 1");
	ML_ASSERT_ERR(metrics_regression(s, s, 0, &r, &err), FF_EINVAL, err,
		      "empty");
	/* one class is fine for the threshold metrics (FATE computes them) */
	assert_int_equal(metrics_lift_table(s, ones, 4, &ct, &err), FF_OK);
	ML_ASSERT_CLOSE(ct.y0[0], DBL_MAX, 0);
	ff_mem_fail_after(1);
	ML_ASSERT_ERR(metrics_auc(s, y, 4, &auc, &err), FF_ENOMEM, err, "allocate");
	ff_mem_fail_after(1);
	ML_ASSERT_ERR(metrics_regression(s, s, 4, &r, &err), FF_ENOMEM, err,
		      "allocate");
	ff_mem_fail_after(2);
	ML_ASSERT_ERR(metrics_ks_table(s, y, 4, &t, &err), FF_ENOMEM, err,
		      "allocate");
	ff_mem_fail_after(0);
	assert_int_equal(ff_mem_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_small),
		cmocka_unit_test(test_binary_big),
		cmocka_unit_test(test_fate_tables),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_regression),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
