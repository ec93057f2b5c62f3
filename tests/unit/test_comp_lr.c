// SPDX-License-Identifier: Apache-2.0
/*
 * test_comp_lr.c - coordinated_lr's protocol (comp_lr_*_train) over the
 * in-process channel: on the breast data split guest/host as FATE ships
 * it, the federated weights and losses must equal the centralized
 * reference trainer (components/ml lr_train) on the pooled data up to the
 * 23-bit fixed point; also with two hosts, L1 + adam + a scheduler, and
 * the failures: truncated messages, misaligned rows, bad labels, a key
 * below 1024 bits. Every failure must end every party (no hang).
 */
#include "ff_setup.h"
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "comp_lr.h"
#include "metrics.h"
#include "test_comp_util.h"
#include "test_ml_util.h"

/* One split of the pooled breast matrix among guest and hosts. */
struct lr_case {
	struct ml_breast b;
	struct comp_lr_params p;
	size_t nhosts;
	size_t cols[4][2];     /* [party] = {first column, count}; party 0 = guest */
	double *part[4];       /* row-major copies */
	double *y;             /* guest labels (may be altered) */
	unsigned char digest[4][32];
	struct comp_lr_fit fit[4];
	struct comp_lr_stats st[4];
	double losses[64];
	unsigned nlosses;
};

static void lr_case_init(struct lr_case *c, size_t nhosts)
{
	memset(c, 0, sizeof(*c));
	ml_breast_load(&c->b);
	comp_lr_params_default(&c->p);
	c->p.nthreads = 2;
	c->nhosts = nhosts;
	if (nhosts == 1) {
		c->cols[0][0] = 0, c->cols[0][1] = 10;
		c->cols[1][0] = 10, c->cols[1][1] = 20;
	} else {
		c->cols[0][0] = 0, c->cols[0][1] = 10;
		c->cols[1][0] = 10, c->cols[1][1] = 12;
		c->cols[2][0] = 22, c->cols[2][1] = 8;
	}
	for (size_t k = 0; k <= nhosts; k++) {
		size_t d = c->cols[k][1];
		c->part[k] = ff_calloc(c->b.rows * d, sizeof(double));
		assert_non_null(c->part[k]);
		for (size_t i = 0; i < c->b.rows; i++)
			memcpy(c->part[k] + i * d, c->b.x + i * 30 + c->cols[k][0], d * sizeof(double));
		memset(c->digest[k], 7, 32);
	}
	c->y = ff_calloc(c->b.rows, sizeof(double));
	memcpy(c->y, c->b.y, c->b.rows * sizeof(double));
}

static void lr_case_release(struct lr_case *c)
{
	for (size_t k = 0; k < 4; k++) {
		ff_free(c->part[k]);
		comp_lr_fit_release(&c->fit[k]);
	}
	ff_free(c->y);
	ml_breast_release(&c->b);
}

static struct lr_case *lr_case_of(struct tc_party *p)
{
	return p->arg;
}

static int lr_guest_fn(struct tc_party *p, struct comp_net *net, struct ff_error *err)
{
	struct lr_case *c = lr_case_of(p);
	return comp_lr_guest_train(net, &c->p, c->part[0], c->b.rows, c->cols[0][1], c->y,
				   c->digest[0], NULL, &c->fit[0], &c->st[0], err);
}

static int lr_host_fn(struct tc_party *p, struct comp_net *net, struct ff_error *err)
{
	struct lr_case *c = lr_case_of(p);
	size_t k = !strcmp(p->party, "10000") ? 1 : 2;
	return comp_lr_host_train(net, &c->p, c->part[k], c->b.rows, c->cols[k][1], c->digest[k],
				  NULL, &c->fit[k], &c->st[k], err);
}

static void lr_loss_cb(void *ctx, unsigned epoch, double loss, bool conv)
{
	struct lr_case *c = ctx;
	(void)conv;
	if (epoch < 64)
		c->losses[epoch] = loss;
	c->nlosses = epoch + 1;
}

static int lr_arbiter_fn(struct tc_party *p, struct comp_net *net, struct ff_error *err)
{
	struct lr_case *c = lr_case_of(p);
	return comp_lr_arbiter_train(net, &c->p, lr_loss_cb, c, &c->fit[3], &c->st[3], err);
}

static size_t lr_parties(struct lr_case *c, struct tc_party *ps)
{
	size_t n = 0;
	ps[n++] = (struct tc_party){ .role = "guest", .party = "9999", .fn = lr_guest_fn, .arg = c };
	ps[n++] = (struct tc_party){ .role = "host", .party = "10000", .fn = lr_host_fn, .arg = c };
	if (c->nhosts > 1)
		ps[n++] = (struct tc_party){ .role = "host", .party = "10002", .fn = lr_host_fn,
					     .arg = c };
	ps[n++] = (struct tc_party){ .role = "arbiter", .party = "10001", .fn = lr_arbiter_fn,
				     .arg = c };
	return n;
}

/* The reference trainer's options for the case's parameters. */
static void lr_ref_opts(const struct comp_lr_params *p, struct lr_train_opts *o)
{
	lr_train_opts_default(o);
	o->epochs = p->epochs;
	o->batch_size = p->batch_size;
	o->optimizer = p->optimizer;
	o->optim = p->optim;
	o->scheduler = p->sched;
	o->sched = p->sched_p;
	o->penalty = p->penalty;
	o->alpha = p->alpha;
	o->fit_intercept = p->fit_intercept;
	o->init = LR_INIT_ZEROS;
	o->early_stop = p->early_stop;
	o->tol = p->tol;
}

/*
 * Federated == centralized: weights to 2e-5, losses to 1e-5 (fixed point).
 * With p.row_order the reference trains on the pooled rows in that order.
 */
static void lr_check_against_reference(struct lr_case *c)
{
	struct lr_train_opts o;
	struct lr_model m = LR_MODEL_INIT;
	struct ff_error err = FF_ERROR_INIT;
	size_t rows = c->b.rows;
	double *x = ff_calloc(rows * 30, sizeof(double)), *y = ff_calloc(rows, sizeof(double));
	assert_non_null(x);
	assert_non_null(y);
	for (size_t i = 0; i < rows; i++) {
		size_t r = c->p.row_order ? c->p.row_order[i] : i;
		memcpy(x + i * 30, c->b.x + r * 30, 30 * sizeof(double));
		y[i] = c->b.y[r];
	}
	lr_ref_opts(&c->p, &o);
	if (c->nhosts > 1)
		o.early_stop = LR_STOP_WEIGHT_DIFF;
	assert_int_equal(lr_train(x, rows, 30, 30, y, &o, &m, &err), FF_OK);
	ff_free(x);
	ff_free(y);
	assert_int_equal(c->fit[0].epochs_run, m.epochs_run);
	assert_int_equal(c->fit[3].epochs_run, m.epochs_run);
	assert_int_equal(c->fit[3].converged, m.converged);
	/* guest: its 10 coefficients and the intercept (last in both) */
	ML_ASSERT_ARRAY_CLOSE(c->fit[0].w, m.w, 10, 2e-5);
	ML_ASSERT_CLOSE(c->fit[0].w[10], m.w[30], 2e-5);
	for (size_t k = 1; k <= c->nhosts; k++)
		ML_ASSERT_ARRAY_CLOSE(c->fit[k].w, m.w + c->cols[k][0], c->cols[k][1], 2e-5);
	if (c->nhosts == 1) {
		assert_int_equal(c->nlosses, m.epochs_run);
		ML_ASSERT_ARRAY_CLOSE(c->losses, m.loss, m.epochs_run, 1e-5);
	} else {
		for (unsigned e = 0; e < c->nlosses; e++)
			assert_true(isnan(c->losses[e])); /* FATE: no loss with several hosts */
	}
	lr_model_release(&m);
}

static void test_lr_matches_reference_rmsprop(void **state)
{
	(void)state;
	struct lr_case c;
	struct tc_party ps[4];
	lr_case_init(&c, 1);
	/* FATE's breast benchmark optimizer, zeros init, constant lr */
	c.p.optimizer = OPTIM_RMSPROP;
	optim_params_default(OPTIM_RMSPROP, &c.p.optim);
	c.p.optim.lr = 0.15;
	c.p.alpha = 0.01;
	c.p.batch_size = 240;
	c.p.epochs = 6;
	c.p.init = LR_INIT_ZEROS;
	c.p.sched = SCHED_CONSTANT;
	c.p.sched_p.factor = 1.0;
	c.p.tol = 0;
	size_t n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	lr_check_against_reference(&c);
	/* the operation counts of bench/lr's cost model: 3 batches per epoch */
	assert_int_equal(c.st[0].enc, 6 * 569);
	assert_int_equal(c.st[1].enc, 6 * (569 + 3 * 2));
	assert_int_equal(c.st[0].matvec, 6 * 569 * (11 + 1));
	assert_int_equal(c.st[1].matvec, 6 * 569 * 20);
	assert_int_equal(c.st[3].dec, 6 * 3 * (11 + 20 + 1));
	double *score = ff_calloc(569, sizeof(double));
	double auc = 0;
	/* the trained model separates the classes (sanity, not the quality gate) */
	for (size_t i = 0; i < 569; i++) {
		double z = c.fit[0].w[10];
		for (size_t j = 0; j < 10; j++)
			z += c.part[0][i * 10 + j] * c.fit[0].w[j];
		for (size_t j = 0; j < 20; j++)
			z += c.part[1][i * 20 + j] * c.fit[1].w[j];
		score[i] = z;
	}
	assert_int_equal(metrics_auc(score, c.b.y, 569, &auc, NULL), FF_OK);
	print_message("federated breast AUC (6 epochs) %.4f\n", auc);
	assert_true(auc > 0.98);
	ff_free(score);
	lr_case_release(&c);
}

static void test_lr_matches_reference_two_hosts(void **state)
{
	(void)state;
	struct lr_case c;
	struct tc_party ps[4];
	lr_case_init(&c, 2);
	c.p.optimizer = OPTIM_SGD;
	optim_params_default(OPTIM_SGD, &c.p.optim);
	c.p.optim.lr = 0.1;
	c.p.batch_size = 200;
	c.p.epochs = 5;
	c.p.init = LR_INIT_ZEROS;
	c.p.tol = 0;
	size_t n = lr_parties(&c, ps);
	assert_int_equal(n, 4);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	lr_check_against_reference(&c);
	lr_case_release(&c);
}

static void test_lr_matches_reference_l1_adam(void **state)
{
	(void)state;
	struct lr_case c;
	struct tc_party ps[4];
	lr_case_init(&c, 1);
	c.p.optimizer = OPTIM_ADAM;
	optim_params_default(OPTIM_ADAM, &c.p.optim);
	c.p.optim.lr = 0.05;
	c.p.penalty = LR_PENALTY_L1;
	c.p.alpha = 0.001;
	c.p.batch_size = 100;
	c.p.epochs = 4;
	c.p.init = LR_INIT_ZEROS;
	c.p.sched = SCHED_STEP;
	c.p.sched_p.step_size = 2;
	c.p.sched_p.gamma = 0.5;
	c.p.early_stop = LR_STOP_ABS;
	c.p.tol = 1e-9;
	size_t n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	lr_check_against_reference(&c);
	lr_case_release(&c);
}

static void test_lr_converges_early(void **state)
{
	(void)state;
	struct lr_case c;
	struct tc_party ps[4];
	lr_case_init(&c, 1);
	c.p.init = LR_INIT_ZEROS;
	c.p.epochs = 30;
	c.p.tol = 0.5; /* diff: stops at the second epoch */
	size_t n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	assert_true(c.fit[3].converged);
	assert_true(c.fit[0].epochs_run < 30);
	assert_int_equal(c.fit[0].epochs_run, c.fit[1].epochs_run);
	lr_check_against_reference(&c);
	lr_case_release(&c);
}

/* FATE's batch order: rows sorted by sample id, bytewise, ties by row. */
static void test_lr_sid_order(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	size_t *o = (size_t *)1;
	const char *ids[] = { "a10", "a2", "a1", "a2", "A9", "a\xc3\xa9", "a~" };
	assert_int_equal(comp_lr_sid_order(ids, 7, &o, &err), FF_OK);
	assert_non_null(o);
	/* "A9" < "a1" < "a10" < "a2" (row 1) < "a2" (row 3) < "a~" < "aé" (0xc3 > '~') */
	const size_t want[] = { 4, 2, 0, 1, 3, 6, 5 };
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(o[i], want[i]);
	ff_free(o);
	/* already sorted (also with equal neighbours), one row, no rows: NULL */
	const char *sorted[] = { "x1", "x1", "x10", "x2" };
	o = (size_t *)1;
	assert_int_equal(comp_lr_sid_order(sorted, 4, &o, &err), FF_OK);
	assert_null(o);
	o = (size_t *)1;
	assert_int_equal(comp_lr_sid_order(ids, 1, &o, &err), FF_OK);
	assert_null(o);
	o = (size_t *)1;
	assert_int_equal(comp_lr_sid_order(ids, 0, &o, &err), FF_OK);
	assert_null(o);
	/* fedflow's extend_sid ids (prefix + row number) sort as strings:
	 * rows 0, 1, 10, 100, 101, ..., 109, 11, 110, ... */
	char (*buf)[48] = ff_calloc(569, sizeof(*buf));
	const char **sid = ff_calloc(569, sizeof(*sid));
	assert_non_null(buf);
	assert_non_null(sid);
	for (size_t i = 0; i < 569; i++) {
		snprintf(buf[i], sizeof(buf[i]), "9f5ed17f93e1a7934aaa8d2c9ad57847%zu", i);
		sid[i] = buf[i];
	}
	assert_int_equal(comp_lr_sid_order(sid, 569, &o, &err), FF_OK);
	assert_non_null(o);
	const size_t head[] = { 0, 1, 10, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 11,
				110 };
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		assert_int_equal(o[i], head[i]);
	assert_int_equal(o[568], 99);
	ff_free(o);
	ff_free(sid);
	ff_free(buf);
}

/*
 * Batches in sample-id order (what the component passes as row_order): the
 * federated weights equal the reference trained on the rows in that order,
 * and the order matters (the reference in file order gives other weights).
 */
static void test_lr_row_order_matches_reference(void **state)
{
	(void)state;
	struct lr_case c;
	struct tc_party ps[4];
	struct ff_error err = FF_ERROR_INIT;
	lr_case_init(&c, 1);
	char (*buf)[16] = ff_calloc(c.b.rows, sizeof(*buf));
	const char **sid = ff_calloc(c.b.rows, sizeof(*sid));
	size_t *order = NULL;
	assert_non_null(buf);
	assert_non_null(sid);
	for (size_t i = 0; i < c.b.rows; i++) {
		snprintf(buf[i], sizeof(buf[i]), "s%zu", i);
		sid[i] = buf[i];
	}
	assert_int_equal(comp_lr_sid_order(sid, c.b.rows, &order, &err), FF_OK);
	assert_non_null(order);
	c.p.row_order = order;
	c.p.optimizer = OPTIM_RMSPROP;
	optim_params_default(OPTIM_RMSPROP, &c.p.optim);
	c.p.optim.lr = 0.15;
	c.p.alpha = 0.01;
	c.p.batch_size = 240;
	c.p.epochs = 4;
	c.p.init = LR_INIT_ZEROS;
	c.p.sched = SCHED_LINEAR;
	c.p.sched_p.start_factor = 0.7;
	c.p.sched_p.total_iters = 1000;
	c.p.tol = 0;
	size_t n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	lr_check_against_reference(&c);
	/* the same training in file order ends elsewhere */
	struct lr_train_opts o;
	struct lr_model m = LR_MODEL_INIT;
	lr_ref_opts(&c.p, &o);
	assert_int_equal(lr_train(c.b.x, c.b.rows, 30, 30, c.b.y, &o, &m, &err), FF_OK);
	double diff = 0;
	for (size_t j = 0; j < 10; j++)
		diff = fmax(diff, fabs(c.fit[0].w[j] - m.w[j]));
	assert_true(diff > 1e-3);
	lr_model_release(&m);
	ff_free(order);
	ff_free(sid);
	ff_free(buf);
	lr_case_release(&c);
}

/* A fault on one message: every party ends with an error, the receiver names it. */
static void lr_fault_case(const char *prefix, const char *from, enum comp_memhub_fault f,
			  size_t victim, const char *needle)
{
	struct lr_case c;
	struct tc_party ps[4];
	lr_case_init(&c, 1);
	c.p.init = LR_INIT_ZEROS;
	c.p.epochs = 2;
	c.p.batch_size = 300;
	size_t n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, prefix, from, f, NULL), (int)n);
	TC_ASSERT_FAILED_WITH(ps[victim], needle);
	lr_case_release(&c);
}

static void test_lr_truncated_and_garbled_messages(void **state)
{
	(void)state;
	/* party index: 0 guest, 1 host, 2 arbiter */
	lr_fault_case("lr.e0.b0.xw", "host", COMP_FAULT_TRUNCATE, 0,
		      "malformed message 'lr.e0.b0.xw' from host 10000");
	lr_fault_case("lr.e0.b1.d", "guest", COMP_FAULT_TRUNCATE, 1,
		      "malformed message 'lr.e0.b1.d' from guest 9999");
	lr_fault_case("lr.e1.b0.g", "host", COMP_FAULT_EMPTY, 2,
		      "malformed message 'lr.e1.b0.g' from host 10000");
	lr_fault_case("lr.e0.b0.gback", "arbiter", COMP_FAULT_TRUNCATE, 0,
		      "malformed message 'lr.e0.b0.gback' from arbiter 10001");
	lr_fault_case("lr.pubkey", "arbiter", COMP_FAULT_GARBLE, 1, "different public keys");
	lr_fault_case("lr.setup", "guest", COMP_FAULT_TRUNCATE, 2,
		      "malformed message 'lr.setup' from guest 9999");
	lr_fault_case("lr.e0.converge", "arbiter", COMP_FAULT_EMPTY, 1,
		      "malformed message 'lr.e0.converge'");
}

static void test_lr_bad_inputs(void **state)
{
	(void)state;
	struct lr_case c;
	struct tc_party ps[4];
	size_t n;

	/* rows not aligned: the host's sample ids differ */
	lr_case_init(&c, 1);
	c.p.epochs = 1;
	memset(c.digest[1], 8, 32);
	n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), (int)n);
	TC_ASSERT_FAILED_WITH(ps[1], "not aligned");
	TC_ASSERT_FAILED_WITH(ps[0], "host 10000 failed: data of guest");
	lr_case_release(&c);

	/* a label that is not 0/1 */
	lr_case_init(&c, 1);
	c.y[17] = 2;
	n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), (int)n);
	TC_ASSERT_FAILED_WITH(ps[0], "label is 2 at row 18");
	lr_case_release(&c);

	/* a key below FATE's minimum */
	lr_case_init(&c, 1);
	c.p.key_bits = 512;
	n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), (int)n);
	TC_ASSERT_FAILED_WITH(ps[2], "512 is below the minimum of 1024");
	TC_ASSERT_FAILED_WITH(ps[0], "arbiter 10001 failed");
	lr_case_release(&c);

	/* a feature too large for the fixed point */
	lr_case_init(&c, 1);
	c.part[1][5] = 1e40;
	n = lr_parties(&c, ps);
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), (int)n);
	TC_ASSERT_FAILED_WITH(ps[1], "too large for 23-bit fixed point");
	lr_case_release(&c);

	/* epochs differ between guest and host */
	lr_case_init(&c, 1);
	n = lr_parties(&c, ps);
	struct lr_case c2 = c;
	c2.p.epochs = 3;
	ps[1].arg = &c2;
	assert_int_equal(tc_run(ps, n, NULL, NULL, COMP_FAULT_NONE, NULL), (int)n);
	TC_ASSERT_FAILED_WITH(ps[1], "epochs differ");
	c.fit[1] = c2.fit[1];
	lr_case_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lr_matches_reference_rmsprop),
		cmocka_unit_test(test_lr_matches_reference_two_hosts),
		cmocka_unit_test(test_lr_matches_reference_l1_adam),
		cmocka_unit_test(test_lr_converges_early),
		cmocka_unit_test(test_lr_sid_order),
		cmocka_unit_test(test_lr_row_order_matches_reference),
		cmocka_unit_test(test_lr_truncated_and_garbled_messages),
		cmocka_unit_test(test_lr_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
