// SPDX-License-Identifier: Apache-2.0
/*
 * test_ml_lr.c - unit tests of components/ml/lr.c. The trainer runs FATE's
 * coordinated-LR loop on the pooled breast data and is compared step for
 * step with the numpy re-implementation in tests/reference/ml_ref.py
 * (test_ml_ref.h), and its AUC with scikit-learn's LogisticRegression.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "err.h"
#include "lr.h"
#include "metrics.h"
#include "test_ml_ref.h"
#include "test_ml_util.h"

static double train_auc(const struct ml_breast *b, const struct lr_model *m)
{
	double *p = ff_calloc(b->rows, sizeof(double));
	double auc = 0.0;
	struct ff_error err = FF_ERROR_INIT;

	assert_non_null(p);
	assert_int_equal(lr_predict_proba(b->x, b->rows, b->cols, b->cols, m->w,
					  m->fit_intercept, p, &err), FF_OK);
	assert_int_equal(metrics_auc(p, b->y, b->rows, &auc, &err), FF_OK);
	ff_free(p);
	return auc;
}

static void check_run(const struct ml_breast *b, const struct lr_train_opts *o,
		      const double *w, const double *loss, unsigned epochs,
		      bool converged, double auc)
{
	struct lr_model m = LR_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;
	size_t nw = 30 + (o->fit_intercept ? 1 : 0);

	if (lr_train(b->x, b->rows, 30, 30, b->y, o, &m, &err))
		fail_msg("lr_train: %s", err.msg);
	assert_int_equal(m.n_features, 30);
	assert_int_equal(m.epochs_run, epochs);
	assert_int_equal(m.converged, converged);
	ML_ASSERT_ARRAY_CLOSE(m.w, w, nw, 1e-9);
	ML_ASSERT_ARRAY_CLOSE(m.loss, loss, epochs, 1e-10);
	ML_ASSERT_CLOSE(train_auc(b, &m), auc, 1e-9);
	lr_model_release(&m);
	assert_null(m.w);
}

static void test_fate_benchmark_breast(void **state)
{
	(void)state;
	struct ml_breast b;
	struct lr_train_opts o;
	struct lr_model m = LR_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;
	double auc;

	ml_breast_load(&b);
	/* FATE's breast benchmark: rmsprop lr 0.15, l2 0.01, batch 240,
	 * 20 epochs, random_uniform seed 42, constant lr, diff tol 1e-5 */
	lr_train_opts_default(&o);
	o.optimizer = OPTIM_RMSPROP;
	optim_params_default(OPTIM_RMSPROP, &o.optim);
	o.optim.lr = 0.15;
	o.alpha = 0.01;
	o.batch_size = 240;
	o.epochs = 20;
	o.init_seed = 42;
	o.scheduler = SCHED_CONSTANT;
	o.sched.factor = 1.0;
	o.tol = 1e-5;
	check_run(&b, &o, REF_LR_BENCH_W, REF_LR_BENCH_LOSS, REF_LR_BENCH_EPOCHS,
		  REF_LR_BENCH_CONVERGED, REF_LR_BENCH_AUC);
	/* quality gate: within FATE's 1 % of sklearn's LogisticRegression */
	assert_int_equal(lr_train(b.x, b.rows, 30, 30, b.y, &o, &m, &err), FF_OK);
	auc = train_auc(&b, &m);
	print_message("breast train AUC %.4f (sklearn %.4f)\n", auc,
		      REF_LR_SKLEARN_AUC);
	assert_true(auc >= 0.99 * REF_LR_SKLEARN_AUC);
	lr_model_release(&m);

	/* plain LR with the exact gradient, same optimizer code */
	o.gradient = LR_GRAD_EXACT;
	assert_int_equal(lr_train(b.x, b.rows, 30, 30, b.y, &o, &m, &err), FF_OK);
	auc = train_auc(&b, &m);
	print_message("breast train AUC exact gradient %.4f\n", auc);
	assert_true(auc >= 0.99 * REF_LR_SKLEARN_AUC);
	lr_model_release(&m);
	ml_breast_release(&b);
}

static void test_fate_loops_breast(void **state)
{
	(void)state;
	struct ml_breast b;
	struct lr_train_opts o;

	ml_breast_load(&b);
	/* train_lr.yaml's lr_0 with zeros init: full batch sgd 0.01, l2 1.0 */
	lr_train_opts_default(&o);
	o.epochs = 10;
	o.init = LR_INIT_ZEROS;
	check_run(&b, &o, REF_LR_YAML_W, REF_LR_YAML_LOSS, REF_LR_YAML_EPOCHS,
		  REF_LR_YAML_CONVERGED, REF_LR_YAML_AUC);

	/* L1 (epoch 0 zeroes the coefficients) + adam + linear warm-up */
	lr_train_opts_default(&o);
	o.epochs = 4;
	o.batch_size = 100;
	o.optimizer = OPTIM_ADAM;
	optim_params_default(OPTIM_ADAM, &o.optim);
	o.optim.lr = 0.05;
	o.penalty = LR_PENALTY_L1;
	o.alpha = 0.001;
	o.init = LR_INIT_RANDOM;
	o.init_seed = 3;
	o.tol = 0.0;
	o.sched.start_factor = 0.5;
	o.sched.total_iters = 2;
	check_run(&b, &o, REF_LR_L1_W, REF_LR_L1_LOSS, REF_LR_L1_EPOCHS,
		  REF_LR_L1_CONVERGED, REF_LR_L1_AUC);

	/* exact gradient, adagrad, no intercept, weight_diff stop, step lr */
	lr_train_opts_default(&o);
	o.epochs = 30;
	o.batch_size = 64;
	o.optimizer = OPTIM_ADAGRAD;
	optim_params_default(OPTIM_ADAGRAD, &o.optim);
	o.optim.lr = 0.1;
	o.penalty = LR_PENALTY_NONE;
	o.alpha = 0.0;
	o.fit_intercept = false;
	o.init = LR_INIT_ONES;
	o.early_stop = LR_STOP_WEIGHT_DIFF;
	o.tol = 0.05;
	o.scheduler = SCHED_STEP;
	o.sched.step_size = 5;
	o.sched.gamma = 0.5;
	o.gradient = LR_GRAD_EXACT;
	check_run(&b, &o, REF_LR_EXACT_W, REF_LR_EXACT_LOSS, REF_LR_EXACT_EPOCHS,
		  REF_LR_EXACT_CONVERGED, REF_LR_EXACT_AUC);
	ml_breast_release(&b);
}

static void test_init_and_rng(void **state)
{
	(void)state;
	double w[5], v[5];
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(lr_init_param(LR_INIT_RANDOM_UNIFORM, 0, 42, w, 5, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(w, REF_RNG_UNIFORM_SEED42, 5, 0);
	assert_int_equal(lr_init_param(LR_INIT_RANDOM, 0, 7, w, 5, &err), FF_OK);
	ML_ASSERT_ARRAY_CLOSE(w, REF_RNG_NORMAL_SEED7, 5, 1e-15);
	assert_int_equal(lr_init_param(LR_INIT_RANDOM_UNIFORM, 0, 43, v, 5, &err), FF_OK);
	assert_true(memcmp(v, REF_RNG_UNIFORM_SEED42, sizeof(v)) != 0);
	assert_int_equal(lr_init_param(LR_INIT_CONSTS, -2.5, 0, w, 5, &err), FF_OK);
	ML_ASSERT_CLOSE(w[4], -2.5, 0);
	assert_int_equal(lr_init_param(LR_INIT_ONES, 0, 0, w, 5, &err), FF_OK);
	ML_ASSERT_CLOSE(w[0], 1.0, 0);
	assert_int_equal(lr_init_param(LR_INIT_ZEROS, 0, 0, w, 5, &err), FF_OK);
	ML_ASSERT_CLOSE(w[3], 0.0, 0);
	ML_ASSERT_ERR(lr_init_param(LR_INIT_CONSTS, NAN, 0, w, 5, &err), FF_EINVAL,
		      err, "fill_val");
	ML_ASSERT_ERR(lr_init_param(LR_INIT_ZEROS, 0, 0, w, 0, &err), FF_EINVAL,
		      err, "no weights");
	ML_ASSERT_ERR(lr_init_param((enum lr_init)9, 0, 0, w, 5, &err), FF_EINVAL,
		      err, "unknown");
}

static void test_pieces(void **state)
{
	(void)state;
	/* 3 rows x 2 features, stride 3; w = (0.5, -1), intercept 0.25 */
	const double x[9] = { 1, 2, 99, 0, -1, 99, 3, 0.5, 99 };
	const double w[3] = { 0.5, -1, 0.25 };
	const double y01[3] = { 1, 0, 1 }, wt[3] = { 1, 2, 0.5 };
	double xw[3], ypm[3], d[3], g[3];
	struct ff_error err = FF_ERROR_INIT;

	ML_ASSERT_CLOSE(lr_sigmoid(0), 0.5, 0);
	ML_ASSERT_CLOSE(lr_sigmoid(800), 1.0, 0);
	ML_ASSERT_CLOSE(lr_sigmoid(-800), 0.0, 0);
	ML_ASSERT_CLOSE(lr_sigmoid(-2), 1.0 / (1.0 + exp(2)), 1e-16);
	assert_int_equal(lr_labels_pm1(y01, 3, ypm, &err), FF_OK);
	ML_ASSERT_CLOSE(ypm[0], 1, 0);
	ML_ASSERT_CLOSE(ypm[1], -1, 0);
	lr_linear(x, 3, 2, 3, w, true, xw);
	/* 0.5 - 2 + 0.25, 0 + 1 + 0.25, 1.5 - 0.5 + 0.25 */
	ML_ASSERT_CLOSE(xw[0], -1.25, 0);
	ML_ASSERT_CLOSE(xw[1], 1.25, 0);
	ML_ASSERT_CLOSE(xw[2], 1.25, 0);
	lr_taylor_d(xw, ypm, NULL, 3, d);
	/* d = xw/4 - y/2 */
	ML_ASSERT_CLOSE(d[0], -0.8125, 0);
	ML_ASSERT_CLOSE(d[1], 0.8125, 0);
	ML_ASSERT_CLOSE(d[2], -0.1875, 0);
	lr_gradient(x, 3, 2, 3, d, true, g);
	ML_ASSERT_CLOSE(g[0], (-0.8125 + 3 * -0.1875) / 3, 1e-16);
	ML_ASSERT_CLOSE(g[1], (2 * -0.8125 - 0.8125 + 0.5 * -0.1875) / 3, 1e-16);
	ML_ASSERT_CLOSE(g[2], (-0.8125 + 0.8125 - 0.1875) / 3, 1e-16);
	lr_taylor_d(xw, ypm, wt, 3, d);
	ML_ASSERT_CLOSE(d[1], 1.625, 0);
	ML_ASSERT_CLOSE(d[2], -0.09375, 0);
	ML_ASSERT_CLOSE(lr_taylor_loss((double[]){ 0, 0 }, (double[]){ 1, -1 }, 2),
			M_LN2, 1e-16);
	ML_ASSERT_CLOSE(lr_taylor_loss(xw, ypm, 3),
			(3 * M_LN2 - 0.5 * (-1.25 - 1.25 + 1.25)
			 + 0.125 * 3 * 1.5625) / 3, 1e-15);
	ML_ASSERT_CLOSE(lr_logistic_loss(xw, ypm, 3),
			(2 * log1p(exp(1.25)) + log1p(exp(-1.25))) / 3, 1e-15);
	ML_ASSERT_CLOSE(lr_logistic_loss((double[]){ -800 }, (double[]){ 1 }, 1),
			800.0, 1e-15);

	/* penalties: intercept (last) never in the L2 gradient */
	double gg[3] = { 1, 1, 1 };

	lr_penalty_grad(gg, w, 3, true, LR_PENALTY_L2, 0.1);
	ML_ASSERT_CLOSE(gg[0], 1.05, 1e-16);
	ML_ASSERT_CLOSE(gg[1], 0.9, 1e-16);
	ML_ASSERT_CLOSE(gg[2], 1.0, 0);
	lr_penalty_grad(gg, w, 3, false, LR_PENALTY_L2, 0.1);
	ML_ASSERT_CLOSE(gg[2], 1.025, 1e-16);
	lr_penalty_grad(gg, w, 3, false, LR_PENALTY_L1, 0.1);
	ML_ASSERT_CLOSE(gg[2], 1.025, 1e-16);
	ML_ASSERT_CLOSE(lr_penalty_loss(w, 3, LR_PENALTY_L2, 0.1),
			0.05 * (0.25 + 1 + 0.0625), 1e-16);
	ML_ASSERT_CLOSE(lr_penalty_loss(w, 3, LR_PENALTY_L1, 0.1), 0.175, 1e-16);
	ML_ASSERT_CLOSE(lr_penalty_loss(w, 3, LR_PENALTY_NONE, 0.1), 0.0, 0);

	/* L1 update: epoch 0 zeroes coefficients, keeps the intercept */
	double u[3] = { 0.5, -1, 0.25 };
	const double delta[3] = { 0.1, 0.1, 0.1 };

	lr_update(u, delta, 3, true, LR_PENALTY_L1, 0.1, 0.2, 0);
	ML_ASSERT_CLOSE(u[0], 0.0, 0);
	ML_ASSERT_CLOSE(u[1], 0.0, 0);
	ML_ASSERT_CLOSE(u[2], 0.15, 1e-16);
	/* epoch 4: shrink = 0.1 * 0.2 / 2 = 0.01 */
	double v[3] = { 0.5, -1, 0.005 };

	lr_update(v, delta, 3, false, LR_PENALTY_L1, 0.1, 0.2, 4);
	ML_ASSERT_CLOSE(v[0], 0.39, 1e-15);
	ML_ASSERT_CLOSE(v[1], -1.09, 1e-15);
	ML_ASSERT_CLOSE(v[2], -0.085, 1e-15);
	/* a coefficient smaller than the threshold becomes exactly 0 */
	double s1[1] = { 0.105 };

	lr_update(s1, delta, 1, false, LR_PENALTY_L1, 0.1, 0.2, 4);
	ML_ASSERT_CLOSE(s1[0], 0.0, 0);
}

static void test_conv_and_batches(void **state)
{
	(void)state;
	struct lr_conv c;
	struct ff_error err = FF_ERROR_INIT;
	const double dz[2] = { 0.03, 0.04 };
	size_t order[10], order2[10], bs, nb;
	enum lr_penalty pen;
	enum lr_init ini;
	enum lr_early_stop es;

	assert_int_equal(lr_conv_init(&c, LR_STOP_DIFF, 1e-3, &err), FF_OK);
	assert_false(lr_conv_check(&c, 1.0, NULL, 0)); /* never on epoch 1 */
	assert_false(lr_conv_check(&c, 0.99, NULL, 0));
	assert_true(lr_conv_check(&c, 0.9895, NULL, 0));
	assert_int_equal(lr_conv_init(&c, LR_STOP_ABS, 0.5, &err), FF_OK);
	assert_false(lr_conv_check(&c, 0.51, NULL, 0));
	assert_true(lr_conv_check(&c, 0.5, NULL, 0));
	assert_int_equal(lr_conv_init(&c, LR_STOP_WEIGHT_DIFF, 0.05, &err), FF_OK);
	assert_false(lr_conv_check(&c, 0, dz, 2)); /* norm 0.05 is not < 0.05 */
	assert_true(lr_conv_check(&c, 0, (double[]){ 0.03, 0.039 }, 2));
	ML_ASSERT_ERR(lr_conv_init(&c, LR_STOP_DIFF, -1, &err), FF_EINVAL, err, "tol");
	ML_ASSERT_ERR(lr_conv_init(&c, (enum lr_early_stop)7, 1, &err), FF_EINVAL,
		      err, "unknown");

	assert_int_equal(lr_batches(10, 3, false, 0, order, &bs, &nb, &err), FF_OK);
	assert_int_equal(bs, 3);
	assert_int_equal(nb, 4);
	assert_int_equal(order[9], 9);
	assert_int_equal(lr_batches(10, 0, false, 0, order, &bs, &nb, &err), FF_OK);
	assert_int_equal(bs, 10);
	assert_int_equal(nb, 1);
	assert_int_equal(lr_batches(10, 240, false, 0, order, &bs, &nb, &err), FF_OK);
	assert_int_equal(bs, 10);
	assert_int_equal(lr_batches(10, 4, true, 5, order, &bs, &nb, &err), FF_OK);
	assert_int_equal(nb, 3);
	assert_int_equal(lr_batches(10, 4, true, 5, order2, &bs, &nb, &err), FF_OK);
	assert_memory_equal(order, order2, sizeof(order));
	bool seen[10] = { false };
	bool moved = false;

	for (size_t i = 0; i < 10; i++) {
		assert_false(seen[order[i]]);
		seen[order[i]] = true;
		moved = moved || order[i] != i;
	}
	assert_true(moved);
	assert_int_equal(lr_batches(10, 4, true, 6, order2, &bs, &nb, &err), FF_OK);
	assert_true(memcmp(order, order2, sizeof(order)) != 0);
	ML_ASSERT_ERR(lr_batches(0, 4, false, 0, order, &bs, &nb, &err), FF_EINVAL,
		      err, "no rows");

	assert_int_equal(lr_penalty_parse("l1", &pen, &err), FF_OK);
	assert_int_equal(pen, LR_PENALTY_L1);
	assert_int_equal(lr_init_parse("random_uniform", &ini, &err), FF_OK);
	assert_int_equal(ini, LR_INIT_RANDOM_UNIFORM);
	assert_int_equal(lr_early_stop_parse("weight_diff", &es, &err), FF_OK);
	assert_int_equal(es, LR_STOP_WEIGHT_DIFF);
	ML_ASSERT_ERR(lr_penalty_parse("L3", &pen, &err), FF_EINVAL, err, "'L3'");
	ML_ASSERT_ERR(lr_init_parse("xavier", &ini, &err), FF_EINVAL, err, "'xavier'");
	ML_ASSERT_ERR(lr_early_stop_parse(NULL, &es, &err), FF_EINVAL, err,
		      "unknown");
}

static void test_shuffled_training(void **state)
{
	(void)state;
	/* separable toy data: y = 1 iff x0 > 0 */
	double x[40], y[20];
	struct lr_train_opts o;
	struct lr_model a = LR_MODEL_INIT, b = LR_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;

	for (size_t i = 0; i < 20; i++) {
		x[2 * i] = ((double)i - 9.5) / 5.0;
		x[2 * i + 1] = (double)(i % 3) - 1.0;
		y[i] = i >= 10;
	}
	lr_train_opts_default(&o);
	o.init = LR_INIT_ZEROS;
	o.batch_size = 7;
	o.shuffle = true;
	o.shuffle_seed = 11;
	o.optim.lr = 0.5;
	o.alpha = 0.0;
	o.tol = 0.0;
	assert_int_equal(lr_train(x, 20, 2, 2, y, &o, &a, &err), FF_OK);
	assert_int_equal(lr_train(x, 20, 2, 2, y, &o, &b, &err), FF_OK);
	assert_memory_equal(a.w, b.w, 3 * sizeof(double));
	assert_true(a.w[0] > 0.5); /* learns the sign of x0 */
	assert_true(a.loss[19] < a.loss[0]);
	lr_model_release(&a);
	lr_model_release(&b);
}

static void test_bad_input(void **state)
{
	(void)state;
	double x[6] = { 1, 2, 3, 4, 5, 6 };
	double y[3] = { 0, 1, 1 };
	double p[3];
	struct lr_train_opts o;
	struct lr_model m = LR_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;

	lr_train_opts_default(&o);
	x[3] = NAN;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_EINVAL, err,
		      "column 1 at row 1");
	ML_ASSERT_ERR(lr_predict_proba(x, 3, 2, 2, (double[]){ 1, 1, 0 }, true, p,
				       &err), FF_EINVAL, err, "column 1 at row 1");
	x[3] = 4;
	ML_ASSERT_ERR(lr_predict_proba(x, 3, 2, 2, (double[]){ 1, INFINITY, 0 },
				       true, p, &err), FF_EINVAL, err, "index 1");
	ML_ASSERT_ERR(lr_train(x, 0, 2, 2, y, &o, &m, &err), FF_EINVAL, err,
		      "no rows");
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, NULL, &o, &m, &err), FF_EINVAL, err,
		      "label");
	y[2] = 2;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_EINVAL, err,
		      "row 2 is 2");
	y[2] = 1;
	ML_ASSERT_ERR(lr_labels_pm1((double[]){ 1, NAN }, 2, p, &err), FF_EINVAL,
		      err, "index 1");
	o.epochs = 0;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_EINVAL, err,
		      "epochs");
	lr_train_opts_default(&o);
	o.alpha = -1;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_EINVAL, err, "alpha");
	lr_train_opts_default(&o);
	o.optim.lr = -0.1;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_EINVAL, err,
		      "learning rate");
	assert_null(m.w);
	lr_train_opts_default(&o);
	o.penalty = (enum lr_penalty)9;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_EINVAL, err,
		      "penalty");
	lr_train_opts_default(&o);
	o.tol = NAN;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_EINVAL, err, "tol");
	/* diverging sgd hits FATE's 1e8 overflow check */
	lr_train_opts_default(&o);
	o.optim.lr = 1e12;
	o.init = LR_INIT_ZEROS;
	ML_ASSERT_ERR(lr_train(x, 3, 2, 2, y, &o, &m, &err), FF_ERANGE, err,
		      "exceeds");
	assert_null(m.w);
	lr_train_opts_default(&o);
	for (unsigned long k = 1; k <= 12; k++) {
		ff_mem_fail_after(k);
		int rc = lr_train(x, 3, 2, 2, y, &o, &m, &err);

		ff_mem_fail_after(0);
		if (rc == FF_OK) {
			lr_model_release(&m);
			break;
		}
		assert_int_equal(rc, FF_ENOMEM);
		assert_null(m.w);
	}
	assert_int_equal(ff_mem_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fate_benchmark_breast),
		cmocka_unit_test(test_fate_loops_breast),
		cmocka_unit_test(test_init_and_rng),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_conv_and_batches),
		cmocka_unit_test(test_shuffled_training),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
