// SPDX-License-Identifier: Apache-2.0
/*
 * test_ml_optim.c - unit tests of components/ml/optim.c: every optimizer
 * step for step against the numpy re-implementation of torch.optim in
 * tests/reference/ml_ref.py (test_ml_ref.h), the schedulers epoch for epoch,
 * and every parameter check.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "err.h"
#include "optim.h"
#include "test_ml_ref.h"
#include "test_ml_util.h"

struct opt_kv {
	const char *key;
	double value;
};

/* Same order as OPT_CASES in ml_ref.py. */
static const struct {
	const char *method;
	struct opt_kv kv[4];
} opt_cases[] = {
	{ "sgd", { { NULL, 0 } } },
	{ "sgd", { { "momentum", 0.9 }, { "dampening", 0.1 }, { "weight_decay", 0.01 } } },
	{ "sgd", { { "momentum", 0.9 }, { "nesterov", 1 } } },
	{ "rmsprop", { { NULL, 0 } } },
	{ "rmsprop", { { "centered", 1 }, { "momentum", 0.5 }, { "weight_decay", 0.1 },
		       { "alpha", 0.9 } } },
	{ "adam", { { NULL, 0 } } },
	{ "adam", { { "amsgrad", 1 }, { "weight_decay", 0.05 }, { "betas.0", 0.8 } } },
	{ "adamw", { { "weight_decay", 0.01 } } },
	{ "adagrad", { { "lr_decay", 0.1 }, { "initial_accumulator_value", 0.1 } } },
	{ "adadelta", { { NULL, 0 } } },
	{ "adamax", { { NULL, 0 } } },
	{ "nadam", { { NULL, 0 } } },
	{ "radam", { { NULL, 0 } } },
	{ "asgd", { { "lambd", 0.1 }, { "t0", 3 } } },
	{ "rprop", { { NULL, 0 } } },
};

static void test_optimizers_vs_reference(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;

	assert_int_equal(FF_ARRAY_SIZE(opt_cases), REF_OPT_NCASES);
	for (size_t c = 0; c < FF_ARRAY_SIZE(opt_cases); c++) {
		enum optim_method m;
		struct optim_params p;
		struct optim o = OPTIM_INIT;
		double delta[4];

		assert_int_equal(optim_method_parse(opt_cases[c].method, &m, &err), FF_OK);
		assert_string_equal(optim_method_name(m), opt_cases[c].method);
		optim_params_default(m, &p);
		assert_int_equal(optim_params_set(&p, m, "lr", REF_OPT_LRS[0], &err),
				 FF_OK);
		for (size_t k = 0; k < 4 && opt_cases[c].kv[k].key; k++)
			assert_int_equal(optim_params_set(&p, m, opt_cases[c].kv[k].key,
							  opt_cases[c].kv[k].value, &err),
					 FF_OK);
		assert_int_equal(optim_init(&o, m, &p, 4, &err), FF_OK);
		for (size_t t = 0; t < 8; t++) {
			assert_int_equal(optim_step(&o, REF_OPT_GRADS + 4 * t,
						    REF_OPT_LRS[t], delta, &err), FF_OK);
			for (size_t i = 0; i < 4; i++) {
				double want = REF_OPT_DELTAS[c][4 * t + i];

				if (!(fabs(delta[i] - want) <= 1e-14 * fmax(1e-3, fabs(want))))
					fail_msg("case %zu (%s) step %zu param %zu: %.17g != %.17g",
						 c, opt_cases[c].method, t, i, delta[i], want);
			}
		}
		assert_int_equal(o.step, 8);
		optim_release(&o);
		assert_null(o.param);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	struct optim_params p;

	optim_params_default(OPTIM_RMSPROP, &p);
	ML_ASSERT_CLOSE(p.lr, 1e-2, 0);
	ML_ASSERT_CLOSE(p.alpha, 0.99, 0);
	ML_ASSERT_CLOSE(p.eps, 1e-8, 0);
	ML_ASSERT_CLOSE(p.momentum, 0.0, 0);
	assert_false(p.centered);
	optim_params_default(OPTIM_ADAM, &p);
	ML_ASSERT_CLOSE(p.lr, 1e-3, 0);
	ML_ASSERT_CLOSE(p.beta1, 0.9, 0);
	ML_ASSERT_CLOSE(p.beta2, 0.999, 0);
	ML_ASSERT_CLOSE(p.weight_decay, 0.0, 0);
	optim_params_default(OPTIM_ADAMW, &p);
	ML_ASSERT_CLOSE(p.weight_decay, 1e-2, 0);
	optim_params_default(OPTIM_ADAGRAD, &p);
	ML_ASSERT_CLOSE(p.eps, 1e-10, 0);
	optim_params_default(OPTIM_ADADELTA, &p);
	ML_ASSERT_CLOSE(p.lr, 1.0, 0);
	ML_ASSERT_CLOSE(p.rho, 0.9, 0);
	ML_ASSERT_CLOSE(p.eps, 1e-6, 0);
	optim_params_default(OPTIM_ASGD, &p);
	ML_ASSERT_CLOSE(p.alpha, 0.75, 0);
	ML_ASSERT_CLOSE(p.t0, 1e6, 0);
}

static void test_schedulers(void **state)
{
	(void)state;
	struct sched_params p;
	struct sched s;
	enum sched_method m;
	struct ff_error err = FF_ERROR_INIT;
	const struct {
		const char *name;
		double factor, start, end;
		unsigned long total, step_size;
		double gamma;
		const double *want;
		bool defaults;
	} cases[] = {
		{ "constant", 0.5, 0, 0, 3, 0, 0, REF_SCHED_CONSTANT, false },
		{ "linear", 0, 0.25, 1.0, 4, 0, 0, REF_SCHED_LINEAR, false },
		{ "linear", 0, 0, 0, 0, 0, 0, REF_SCHED_LINEAR_DEFAULT, true },
		{ "step", 0, 0, 0, 0, 2, 0.5, REF_SCHED_STEP, false },
	};

	for (size_t c = 0; c < FF_ARRAY_SIZE(cases); c++) {
		assert_int_equal(sched_method_parse(cases[c].name, &m, &err), FF_OK);
		sched_params_default(&p);
		if (!cases[c].defaults) {
			if (m == SCHED_CONSTANT) {
				p.factor = cases[c].factor;
				p.total_iters = cases[c].total;
			} else if (m == SCHED_LINEAR) {
				p.start_factor = cases[c].start;
				p.end_factor = cases[c].end;
				p.total_iters = cases[c].total;
			} else {
				p.step_size = cases[c].step_size;
				p.gamma = cases[c].gamma;
			}
		}
		assert_int_equal(sched_init(&s, m, &p, 0.1, &err), FF_OK);
		for (size_t e = 0; e < 10; e++) {
			if (!(fabs(s.lr - cases[c].want[e]) <= 1e-16))
				fail_msg("%s epoch %zu: lr %.17g != %.17g", cases[c].name, e,
					 s.lr, cases[c].want[e]);
			sched_step(&s);
		}
	}
	/* FATE's default: linear with start_factor 1.0 is a constant lr */
	sched_params_default(&p);
	p.start_factor = 1.0;
	assert_int_equal(sched_init(&s, SCHED_LINEAR, &p, 0.01, &err), FF_OK);
	for (int e = 0; e < 8; e++, sched_step(&s))
		ML_ASSERT_CLOSE(s.lr, 0.01, 0);
}

static void test_bad_params(void **state)
{
	(void)state;
	struct optim_params p;
	struct optim o = OPTIM_INIT;
	struct sched_params sp;
	struct sched s;
	enum optim_method m;
	enum sched_method sm;
	double g[2] = { 1, NAN }, d[2];
	struct ff_error err = FF_ERROR_INIT;

	ML_ASSERT_ERR(optim_method_parse("SGD", &m, &err), FF_EINVAL, err, "'SGD'");
	ML_ASSERT_ERR(optim_method_parse(NULL, &m, &err), FF_EINVAL, err, "unknown");
	assert_string_equal(optim_method_name((enum optim_method)99), "?");
	optim_params_default(OPTIM_ADAM, &p);
	ML_ASSERT_ERR(optim_params_set(&p, OPTIM_ADAM, "momentum", 0.9, &err),
		      FF_EINVAL, err, "'adam' has no parameter 'momentum'");
	ML_ASSERT_ERR(optim_params_set(&p, OPTIM_ADAM, "betas", 0.9, &err),
		      FF_EINVAL, err, "no parameter");
	ML_ASSERT_ERR(optim_params_set(&p, OPTIM_ADAM, "amsgrad", 2, &err),
		      FF_EINVAL, err, "0 or 1");
	ML_ASSERT_ERR(optim_params_set(&p, OPTIM_RPROP, "weight_decay", 0.1, &err),
		      FF_EINVAL, err, "no parameter");

	p.beta2 = 1.0;
	ML_ASSERT_ERR(optim_init(&o, OPTIM_ADAM, &p, 2, &err), FF_EINVAL, err,
		      "betas");
	optim_params_default(OPTIM_SGD, &p);
	p.lr = -1;
	ML_ASSERT_ERR(optim_init(&o, OPTIM_SGD, &p, 2, &err), FF_EINVAL, err,
		      "learning rate");
	p.lr = 0.1;
	p.nesterov = true;
	ML_ASSERT_ERR(optim_init(&o, OPTIM_SGD, &p, 2, &err), FF_EINVAL, err,
		      "nesterov");
	p.nesterov = false;
	p.weight_decay = NAN;
	ML_ASSERT_ERR(optim_init(&o, OPTIM_SGD, &p, 2, &err), FF_EINVAL, err,
		      "weight_decay");
	p.weight_decay = 0;
	ML_ASSERT_ERR(optim_init(&o, OPTIM_SGD, &p, 0, &err), FF_EINVAL, err,
		      "needs parameters");
	optim_params_default(OPTIM_RPROP, &p);
	p.eta_plus = 0.9;
	ML_ASSERT_ERR(optim_init(&o, OPTIM_RPROP, &p, 2, &err), FF_EINVAL, err,
		      "etas");
	optim_params_default(OPTIM_ADADELTA, &p);
	p.rho = 1.5;
	ML_ASSERT_ERR(optim_init(&o, OPTIM_ADADELTA, &p, 2, &err), FF_EINVAL, err,
		      "rho");
	ML_ASSERT_ERR(optim_init(&o, (enum optim_method)42, &p, 2, &err), FF_EINVAL,
		      err, "unknown");
	ML_ASSERT_ERR(optim_step(&o, g, 0.1, d, &err), FF_EINVAL, err,
		      "not initialised");

	optim_params_default(OPTIM_ADAM, &p);
	assert_int_equal(optim_init(&o, OPTIM_ADAM, &p, 2, &err), FF_OK);
	ML_ASSERT_ERR(optim_step(&o, g, 0.1, d, &err), FF_EINVAL, err,
		      "gradient at index 1");
	assert_int_equal(o.step, 0);
	ML_ASSERT_ERR(optim_step(&o, (double[]){ 1, 2 }, INFINITY, d, &err),
		      FF_EINVAL, err, "learning rate");
	optim_release(&o);
	ff_mem_fail_after(3);
	ML_ASSERT_ERR(optim_init(&o, OPTIM_ADAM, &p, 2, &err), FF_ENOMEM, err,
		      "allocate");
	ff_mem_fail_after(0);
	assert_null(o.param);
	optim_release(NULL);

	ML_ASSERT_ERR(sched_method_parse("cosine", &sm, &err), FF_EINVAL, err,
		      "'cosine'");
	sched_params_default(&sp);
	sp.factor = 1.5;
	ML_ASSERT_ERR(sched_init(&s, SCHED_CONSTANT, &sp, 0.1, &err), FF_EINVAL, err,
		      "factor");
	sched_params_default(&sp);
	sp.start_factor = 0.0;
	ML_ASSERT_ERR(sched_init(&s, SCHED_LINEAR, &sp, 0.1, &err), FF_EINVAL, err,
		      "start_factor");
	sched_params_default(&sp);
	sp.end_factor = 2.0;
	ML_ASSERT_ERR(sched_init(&s, SCHED_LINEAR, &sp, 0.1, &err), FF_EINVAL, err,
		      "end_factor");
	sched_params_default(&sp);
	sp.step_size = 0;
	ML_ASSERT_ERR(sched_init(&s, SCHED_STEP, &sp, 0.1, &err), FF_EINVAL, err,
		      "step");
	sched_params_default(&sp);
	ML_ASSERT_ERR(sched_init(&s, SCHED_STEP, &sp, -0.1, &err), FF_EINVAL, err,
		      "base learning rate");
	ML_ASSERT_ERR(sched_init(&s, (enum sched_method)5, &sp, 0.1, &err),
		      FF_EINVAL, err, "unknown");
	assert_int_equal(ff_mem_used(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_optimizers_vs_reference),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_schedulers),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
