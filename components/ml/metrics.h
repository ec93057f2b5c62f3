/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - evaluation metrics with the definitions FATE 2.x's
 * `evaluation` component uses (python/fate/ml/evaluation: scikit-learn for
 * the single values, its own threshold tables for the curves).
 *
 * Binary inputs: scores (finite) and labels exactly 0 or 1, n > 0.
 *   auc         area under the ROC curve, ties handled as sklearn's
 *               roc_auc_score (one ROC point per distinct score, trapezoids).
 *               Needs both classes (FF_EINVAL otherwise, as sklearn raises).
 *   roc curve   sklearn's roc_curve(drop_intermediate=False): a first point
 *               (0, 0) with threshold max(score) + 1 (sklearn <= 1.2; 1.3+
 *               writes +inf, which JSON cannot carry), then one point per
 *               distinct score, descending; predicted positive = score >= t.
 *   ks          max over the ROC points of TPR - FPR (exact). FATE's own
 *               `ks` value is the maximum of its 100-row table
 *               (metrics_ks_table), which can be slightly lower.
 *   at a threshold (FATE: predicted positive = score > threshold, strict):
 *               confusion counts, precision tp/(tp+fp), recall tp/(tp+fn),
 *               accuracy, f1; a zero denominator gives 0 (sklearn's
 *               zero_division default).
 *   FATE tables (shapes as FATE logs them):
 *     cuts by index (KS, confusion matrix): scores sorted descending s[];
 *               for c = 0..99, cut = c/100 and threshold = s[int(n * cut)].
 *     cuts by step (lift, gain, precision/recall tables): the distinct
 *               scores sorted descending u[] (size m); for c = 0..99,
 *               cut = c * 0.01 and threshold = u[int(m * cut)].
 *     ks table: 101 rows tpr, fpr, threshold, cut (the cuts by index, then
 *               a last row 1, 1, 0, 1); FATE's ks = max of the first 100
 *               tpr - fpr.
 *     lift/gain: per cut-by-step threshold, for label 1 and for label 0
 *               (counts swapped): x = (tp + fp)/n; lift y = precision /
 *               ((tp + fn)/n) (precision 1 when tp + fp = 0, DBL_MAX when
 *               there are no positives); gain y = tp/(tp + fn) (1 when no
 *               positives).
 * Multi-class (integer labels): accuracy; macro precision and recall over
 *   the sorted union of true and predicted labels, a class with a zero
 *   denominator contributing 0 (sklearn).
 * Regression: mse, rmse, mae, r2 and explained_variance (sklearn >= 1.1
 *   force_finite: a constant y_true gives 1 for a perfect prediction, else
 *   0; NaN for n < 2), median absolute error (mean of the two middle values
 *   for even n).
 *
 * Pure functions, no global state, thread-safe. Allocating functions say so
 * and return FF_ENOMEM on failure.
 */
#ifndef FF_ML_METRICS_H
#define FF_ML_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* FATE's table length (cuts 0.00 .. 0.99). */
#define METRICS_CUTS 100

struct metrics_confusion {
	size_t tp, fp, tn, fn;
};

/* AUC of scores against 0/1 labels (allocates a sorted copy). */
int metrics_auc(const double *score, const double *label, size_t n,
		double *auc, struct ff_error *err);

/*
 * ROC curve: fpr, tpr, thr each hold at least n + 1 entries (caller's);
 * *npoints receives the number written (distinct scores + 1).
 * Allocates a sorted copy.
 */
int metrics_roc_curve(const double *score, const double *label, size_t n,
		      double *fpr, double *tpr, double *thr, size_t *npoints,
		      struct ff_error *err);

/* Exact KS = max(TPR - FPR) and the score threshold where it is reached
 * (threshold may be NULL). Needs both classes. Allocates. */
int metrics_ks(const double *score, const double *label, size_t n,
	       double *ks, double *threshold, struct ff_error *err);

/* Confusion counts with predicted positive = score > threshold. */
int metrics_confusion_at(const double *score, const double *label, size_t n,
			 double threshold, struct metrics_confusion *c,
			 struct ff_error *err);

/* Derived values of a confusion; 0 for a zero denominator. */
double metrics_precision(const struct metrics_confusion *c);
double metrics_recall(const struct metrics_confusion *c);
double metrics_accuracy(const struct metrics_confusion *c);
double metrics_f1(const struct metrics_confusion *c);

/*
 * FATE's threshold cuts (see the file comment): thr[METRICS_CUTS] and
 * cuts[METRICS_CUTS] (caller's). Allocates a sorted copy.
 */
int metrics_cuts_by_index(const double *score, size_t n, double *thr,
			  double *cuts, struct ff_error *err);
int metrics_cuts_by_step(const double *score, size_t n, double *thr,
			 double *cuts, struct ff_error *err);

/*
 * Confusion counts at each of thr[0..k) (predicted positive = score > t):
 * out[0..k) (caller's). O((n + k) log n). Allocates.
 */
int metrics_confusion_table(const double *score, const double *label,
			    size_t n, const double *thr, size_t k,
			    struct metrics_confusion *out,
			    struct ff_error *err);

/* FATE's ks_table (101 rows) and its ks value. */
struct metrics_ks_table {
	double tpr[METRICS_CUTS + 1];
	double fpr[METRICS_CUTS + 1];
	double threshold[METRICS_CUTS + 1];
	double cuts[METRICS_CUTS + 1];
	double ks;
};

/* Fills t; needs both classes (FATE asserts it). Allocates. */
int metrics_ks_table(const double *score, const double *label, size_t n,
		     struct metrics_ks_table *t, struct ff_error *err);

/* FATE's lift or gain table: per cut-by-step threshold, x and y for
 * label 1 (x1, y1) and label 0 (x0, y0). */
struct metrics_curve_table {
	double threshold[METRICS_CUTS];
	double x1[METRICS_CUTS], y1[METRICS_CUTS];
	double x0[METRICS_CUTS], y0[METRICS_CUTS];
};

int metrics_lift_table(const double *score, const double *label, size_t n,
		       struct metrics_curve_table *t, struct ff_error *err);
int metrics_gain_table(const double *score, const double *label, size_t n,
		       struct metrics_curve_table *t, struct ff_error *err);

/* Per-class counts of a multi-class prediction. */
struct metrics_class {
	int64_t label;
	size_t support;    /* true count */
	size_t predicted;  /* predicted count */
	size_t tp;
};

/*
 * Counts per label over the sorted union of y_true and y_pred:
 * *out (owned, free with ff_free) and *nclass. n > 0. Allocates.
 */
int metrics_multi_counts(const int64_t *y_true, const int64_t *y_pred,
			 size_t n, struct metrics_class **out, size_t *nclass,
			 struct ff_error *err);

/* accuracy = Σ tp / n; macro precision/recall as in the file comment. */
double metrics_multi_accuracy(const struct metrics_class *c, size_t nclass,
			      size_t n);
double metrics_multi_precision(const struct metrics_class *c, size_t nclass);
double metrics_multi_recall(const struct metrics_class *c, size_t nclass);

struct metrics_regression {
	double mse, rmse, mae, r2, explained_variance, median_ae;
};

/* All regression metrics of y_pred against y_true (finite, n > 0).
 * Allocates a scratch array for the median. */
int metrics_regression(const double *y_true, const double *y_pred, size_t n,
		       struct metrics_regression *out, struct ff_error *err);

#endif
