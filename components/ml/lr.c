// SPDX-License-Identifier: Apache-2.0
/*
 * lr.c - logistic-regression pieces of FATE's coordinated LR and the
 * centralized reference trainer (contract and formulas in lr.h).
 */
#include "ff_setup.h"
#include <math.h>
#include "lr.h"
#include "mat.h"
#include "mem.h"

/* FATE's check_overflow threshold on the weights. */
#define LR_OVERFLOW 1e8

struct lr_name {
	const char *name;
	int value;
};

static int lr_parse(const struct lr_name *names, size_t n, const char *what,
		    const char *name, int *out, struct ff_error *err)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].value;
			return FF_OK;
		}
	return ff_error_set(err, FF_EINVAL, "unknown %s '%s'", what,
			    name ? name : "(null)");
}

int lr_penalty_parse(const char *name, enum lr_penalty *out,
		     struct ff_error *err)
{
	static const struct lr_name names[] = {
		{ "l1", LR_PENALTY_L1 }, { "l2", LR_PENALTY_L2 },
		{ "none", LR_PENALTY_NONE },
	};
	int v, ret = lr_parse(names, FF_ARRAY_SIZE(names), "penalty", name, &v,
			      err);

	if (!ret)
		*out = (enum lr_penalty)v;
	return ret;
}

int lr_init_parse(const char *name, enum lr_init *out, struct ff_error *err)
{
	static const struct lr_name names[] = {
		{ "zeros", LR_INIT_ZEROS }, { "ones", LR_INIT_ONES },
		{ "consts", LR_INIT_CONSTS }, { "random", LR_INIT_RANDOM },
		{ "random_uniform", LR_INIT_RANDOM_UNIFORM },
	};
	int v, ret = lr_parse(names, FF_ARRAY_SIZE(names), "init method", name,
			      &v, err);

	if (!ret)
		*out = (enum lr_init)v;
	return ret;
}

int lr_early_stop_parse(const char *name, enum lr_early_stop *out,
			struct ff_error *err)
{
	static const struct lr_name names[] = {
		{ "diff", LR_STOP_DIFF }, { "abs", LR_STOP_ABS },
		{ "weight_diff", LR_STOP_WEIGHT_DIFF },
	};
	int v, ret = lr_parse(names, FF_ARRAY_SIZE(names), "early stop rule",
			      name, &v, err);

	if (!ret)
		*out = (enum lr_early_stop)v;
	return ret;
}

double lr_sigmoid(double z)
{
	if (z >= 0.0)
		return 1.0 / (1.0 + exp(-z));
	double e = exp(z);

	return e / (1.0 + e);
}

int lr_labels_pm1(const double *y, size_t n, double *out,
		  struct ff_error *err)
{
	int ret = mat_check_vec(y, n, "label", err);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		out[i] = fabs(y[i] - 1.0) < 1e-8 ? 1.0 : -1.0;
	return FF_OK;
}

/* splitmix64 (Vigna), used to expand the seed into the xoshiro state. */
static uint64_t lr_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct lr_rng {
	uint64_t s[4];
};

static void lr_rng_seed(struct lr_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = lr_splitmix(&seed);
}

static uint64_t lr_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** 1.0 (Blackman, Vigna). */
static uint64_t lr_rng_next(struct lr_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = lr_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = lr_rotl(s[3], 45);
	return out;
}

/* U[0, 1) with 53 random bits. */
static double lr_rng_uniform(struct lr_rng *r)
{
	return (double)(lr_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, bound), bound > 0, without modulo bias. */
static uint64_t lr_rng_below(struct lr_rng *r, uint64_t bound)
{
	uint64_t lim = UINT64_MAX - UINT64_MAX % bound;
	uint64_t v;

	do
		v = lr_rng_next(r);
	while (v >= lim);
	return v % bound;
}

int lr_init_param(enum lr_init method, double fill, uint64_t seed, double *w,
		  size_t n, struct ff_error *err)
{
	struct lr_rng r;

	if (!w || n == 0)
		return ff_error_set(err, FF_EINVAL, "no weights to initialise");
	switch (method) {
	case LR_INIT_ZEROS:
	case LR_INIT_ONES:
	case LR_INIT_CONSTS:
		if (method == LR_INIT_CONSTS && !isfinite(fill))
			return ff_error_set(err, FF_EINVAL, "fill_val is not finite");
		for (size_t i = 0; i < n; i++)
			w[i] = method == LR_INIT_ZEROS ? 0.0
				: method == LR_INIT_ONES ? 1.0 : fill;
		return FF_OK;
	case LR_INIT_RANDOM_UNIFORM:
		lr_rng_seed(&r, seed);
		for (size_t i = 0; i < n; i++)
			w[i] = lr_rng_uniform(&r);
		return FF_OK;
	case LR_INIT_RANDOM:
		lr_rng_seed(&r, seed);
		for (size_t i = 0; i < n; i += 2) {
			/* Box-Muller; 1 - u keeps the log argument in (0, 1]. */
			double u1 = 1.0 - lr_rng_uniform(&r);
			double u2 = lr_rng_uniform(&r);
			double rad = sqrt(-2.0 * log(u1));

			w[i] = rad * cos(2.0 * M_PI * u2);
			if (i + 1 < n)
				w[i + 1] = rad * sin(2.0 * M_PI * u2);
		}
		return FF_OK;
	default:
		return ff_error_set(err, FF_EINVAL, "unknown init method %d",
				    (int)method);
	}
}

void lr_linear(const double *x, size_t rows, size_t cols, size_t stride,
	       const double *w, bool fit_intercept, double *xw)
{
	mat_gemv(x, rows, cols, stride, w, fit_intercept ? w[cols] : 0.0, xw);
}

void lr_taylor_d(const double *xw, const double *y, const double *weight,
		 size_t n, double *d)
{
	for (size_t i = 0; i < n; i++) {
		d[i] = 0.25 * xw[i] - 0.5 * y[i];
		if (weight)
			d[i] *= weight[i];
	}
}

double lr_taylor_loss(const double *xw, const double *y, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += M_LN2 - 0.5 * y[i] * xw[i] + 0.125 * xw[i] * xw[i];
	return s / (double)n;
}

double lr_logistic_loss(const double *xw, const double *y, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++) {
		double z = -y[i] * xw[i];

		/* ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|) */
		s += (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
	}
	return s / (double)n;
}

void lr_gradient(const double *x, size_t rows, size_t cols, size_t stride,
		 const double *d, bool fit_intercept, double *g)
{
	double inv = 1.0 / (double)rows;

	mat_gemv_t(x, rows, cols, stride, d, inv, g);
	if (fit_intercept)
		g[cols] = mat_sum(d, rows) * inv;
}

void lr_penalty_grad(double *g, const double *w, size_t n,
		     bool fit_intercept, enum lr_penalty penalty, double alpha)
{
	size_t m = fit_intercept && n > 0 ? n - 1 : n;

	if (penalty != LR_PENALTY_L2)
		return;
	for (size_t i = 0; i < m; i++)
		g[i] += alpha * w[i];
}

double lr_penalty_loss(const double *w, size_t n, enum lr_penalty penalty,
		       double alpha)
{
	double s = 0.0;

	if (penalty == LR_PENALTY_L2)
		return 0.5 * alpha * mat_dot(w, w, n);
	if (penalty == LR_PENALTY_L1) {
		for (size_t i = 0; i < n; i++)
			s += fabs(w[i]);
		return alpha * s;
	}
	return 0.0;
}

void lr_update(double *w, const double *delta, size_t n, bool fit_intercept,
	       enum lr_penalty penalty, double alpha, double lr,
	       unsigned long epoch)
{
	size_t m = fit_intercept && n > 0 ? n - 1 : n;

	for (size_t i = 0; i < n; i++)
		w[i] -= delta[i];
	if (penalty != LR_PENALTY_L1)
		return;
	/* FATE: shrinkage_val = alpha * lr / sqrt(iters), iters = epoch; at
	 * epoch 0 numpy gives +inf, and max(0, |w| - inf) is 0. */
	double shrink = epoch == 0 ? INFINITY : alpha * (lr / sqrt((double)epoch));

	for (size_t i = 0; i < m; i++) {
		double a = fabs(w[i]) - shrink;

		w[i] = a > 0.0 ? copysign(a, w[i]) : 0.0;
	}
}

int lr_predict_proba(const double *x, size_t rows, size_t cols,
		     size_t stride, const double *w, bool fit_intercept,
		     double *p, struct ff_error *err)
{
	int ret = mat_check_finite(x, rows, cols, stride, "x", err);

	if (!ret)
		ret = mat_check_vec(w, cols + (fit_intercept ? 1 : 0), "weight", err);
	if (ret)
		return ret;
	if (!p)
		return ff_error_set(err, FF_EINVAL, "output array is null");
	lr_linear(x, rows, cols, stride, w, fit_intercept, p);
	for (size_t i = 0; i < rows; i++)
		p[i] = lr_sigmoid(p[i]);
	return FF_OK;
}

int lr_conv_init(struct lr_conv *c, enum lr_early_stop method, double tol,
		 struct ff_error *err)
{
	if (!(isfinite(tol) && tol >= 0.0))
		return ff_error_set(err, FF_EINVAL, "tol %g must be finite and >= 0",
				    tol);
	if (method != LR_STOP_DIFF && method != LR_STOP_ABS
	    && method != LR_STOP_WEIGHT_DIFF)
		return ff_error_set(err, FF_EINVAL, "unknown early stop rule %d",
				    (int)method);
	*c = (struct lr_conv){ .method = method, .tol = tol };
	return FF_OK;
}

bool lr_conv_check(struct lr_conv *c, double loss, const double *epoch_delta,
		   size_t n)
{
	bool conv = false;

	switch (c->method) {
	case LR_STOP_DIFF:
		conv = c->has_prev && fabs(c->prev - loss) < c->tol;
		c->prev = loss;
		c->has_prev = true;
		break;
	case LR_STOP_ABS:
		conv = loss <= c->tol;
		break;
	case LR_STOP_WEIGHT_DIFF:
		conv = sqrt(mat_dot(epoch_delta, epoch_delta, n)) < c->tol;
		break;
	}
	return conv;
}

int lr_batches(size_t n, size_t batch_size, bool shuffle, uint64_t seed,
	       size_t *order, size_t *batch_size_out, size_t *nbatch,
	       struct ff_error *err)
{
	size_t bs;

	if (n == 0)
		return ff_error_set(err, FF_EINVAL, "no rows to batch");
	if (!order || !batch_size_out || !nbatch)
		return ff_error_set(err, FF_EINVAL, "output array is null");
	bs = batch_size == 0 || batch_size > n ? n : batch_size;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (shuffle) {
		struct lr_rng r;

		lr_rng_seed(&r, seed);
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)lr_rng_below(&r, (uint64_t)i + 1);
			size_t t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	}
	*batch_size_out = bs;
	*nbatch = (n + bs - 1) / bs;
	return FF_OK;
}

void lr_train_opts_default(struct lr_train_opts *o)
{
	*o = (struct lr_train_opts){
		.epochs = 20,
		.optimizer = OPTIM_SGD,
		.scheduler = SCHED_LINEAR,
		.penalty = LR_PENALTY_L2,
		.alpha = 1.0,
		.fit_intercept = true,
		.init = LR_INIT_RANDOM_UNIFORM,
		.early_stop = LR_STOP_DIFF,
		.tol = 1e-4,
		.gradient = LR_GRAD_TAYLOR,
	};
	optim_params_default(OPTIM_SGD, &o->optim);
	o->optim.lr = 1e-2;
	sched_params_default(&o->sched);
	o->sched.start_factor = 1.0;
}

void lr_model_release(struct lr_model *m)
{
	if (!m)
		return;
	ff_free(m->w);
	ff_free(m->loss);
	*m = (struct lr_model)LR_MODEL_INIT;
}

/* Scratch buffers of one training run. */
struct lr_work {
	double *g, *delta, *epoch_delta, *xw, *d, *ypm, *yb, *xb;
	size_t *order;
};

static void lr_work_release(struct lr_work *s)
{
	ff_free(s->g);
	ff_free(s->delta);
	ff_free(s->epoch_delta);
	ff_free(s->xw);
	ff_free(s->d);
	ff_free(s->ypm);
	ff_free(s->yb);
	ff_free(s->xb);
	ff_free(s->order);
}

static int lr_check_train(const double *x, size_t rows, size_t cols,
			  size_t stride, const double *y,
			  const struct lr_train_opts *o, struct lr_model *m,
			  struct ff_error *err)
{
	int ret;

	if (!o || !m)
		return ff_error_set(err, FF_EINVAL, "no options or model");
	ret = mat_check_finite(x, rows, cols, stride, "x", err);
	if (!ret)
		ret = mat_check_vec(y, rows, "label", err);
	if (ret)
		return ret;
	for (size_t i = 0; i < rows; i++)
		if (y[i] != 0.0 && y[i] != 1.0)
			return ff_error_set(err, FF_EINVAL,
					    "label of row %zu is %g, not 0 or 1",
					    i, y[i]);
	if (o->epochs == 0)
		return ff_error_set(err, FF_EINVAL, "epochs must be positive");
	if (!(isfinite(o->alpha) && o->alpha >= 0.0))
		return ff_error_set(err, FF_EINVAL, "penalty alpha %g is invalid",
				    o->alpha);
	if (o->penalty != LR_PENALTY_NONE && o->penalty != LR_PENALTY_L1
	    && o->penalty != LR_PENALTY_L2)
		return ff_error_set(err, FF_EINVAL, "unknown penalty %d",
				    (int)o->penalty);
	if (o->gradient != LR_GRAD_TAYLOR && o->gradient != LR_GRAD_EXACT)
		return ff_error_set(err, FF_EINVAL, "unknown gradient %d",
				    (int)o->gradient);
	return FF_OK;
}

static int lr_work_alloc(struct lr_work *s, size_t rows, size_t cols,
			 size_t nw, bool gather, struct ff_error *err)
{
	size_t cells;

	FF_ALLOC_ARRAY(s->g, nw);
	FF_ALLOC_ARRAY(s->delta, nw);
	FF_ALLOC_ARRAY(s->epoch_delta, nw);
	FF_ALLOC_ARRAY(s->xw, rows);
	FF_ALLOC_ARRAY(s->d, rows);
	FF_ALLOC_ARRAY(s->ypm, rows);
	FF_ALLOC_ARRAY(s->yb, rows);
	FF_ALLOC_ARRAY(s->order, rows);
	if (gather) {
		if (!ff_st_mult(rows, cols, &cells))
			return ff_error_set(err, FF_ENOMEM, "batch matrix too large");
		FF_ALLOC_ARRAY(s->xb, cells);
	}
	if (!s->g || !s->delta || !s->epoch_delta || !s->xw || !s->d || !s->ypm
	    || !s->yb || !s->order || (gather && !s->xb))
		return ff_error_set(err, FF_ENOMEM, "cannot allocate training state");
	return FF_OK;
}

/* One mini-batch: gradient, optimizer step, weight update. Returns the
 * batch loss through *loss. */
static int lr_train_batch(const double *xb, size_t h, size_t cols,
			  size_t stride, const double *yb, const double *y01,
			  const struct lr_train_opts *o, struct optim *opt,
			  double lr, unsigned long epoch, struct lr_model *m,
			  struct lr_work *s, double *loss, struct ff_error *err)
{
	size_t nw = cols + (o->fit_intercept ? 1 : 0);
	int ret;

	lr_linear(xb, h, cols, stride, m->w, o->fit_intercept, s->xw);
	if (o->gradient == LR_GRAD_TAYLOR) {
		lr_taylor_d(s->xw, yb, NULL, h, s->d);
		*loss = lr_taylor_loss(s->xw, yb, h);
	} else {
		for (size_t i = 0; i < h; i++)
			s->d[i] = lr_sigmoid(s->xw[i]) - y01[i];
		*loss = lr_logistic_loss(s->xw, yb, h);
	}
	*loss += lr_penalty_loss(m->w, nw, o->penalty, o->alpha);
	lr_gradient(xb, h, cols, stride, s->d, o->fit_intercept, s->g);
	lr_penalty_grad(s->g, m->w, nw, o->fit_intercept, o->penalty, o->alpha);
	ret = optim_step(opt, s->g, lr, s->delta, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < nw; i++)
		s->epoch_delta[i] += s->delta[i];
	lr_update(m->w, s->delta, nw, o->fit_intercept, o->penalty, o->alpha, lr,
		  epoch);
	for (size_t i = 0; i < nw; i++)
		if (!(fabs(m->w[i]) <= LR_OVERFLOW))
			return ff_error_set(err, FF_ERANGE,
					    "weight %zu exceeds %g in epoch %lu",
					    i, LR_OVERFLOW, epoch);
	return FF_OK;
}

/* Copies the rows of batch b (order[lo..hi)) into s->xb and s->yb (and the
 * 0/1 labels after them in s->yb + h for the exact gradient). */
static void lr_gather(const double *x, size_t cols, size_t stride,
		      const double *y, struct lr_work *s, size_t lo, size_t hi,
		      double *y01b)
{
	for (size_t r = lo; r < hi; r++) {
		size_t i = s->order[r];

		memcpy(s->xb + (r - lo) * cols, x + i * stride, cols * sizeof(double));
		s->yb[r - lo] = s->ypm[i];
		y01b[r - lo] = y[i];
	}
}

int lr_train(const double *x, size_t rows, size_t cols, size_t stride,
	     const double *y, const struct lr_train_opts *o,
	     struct lr_model *m, struct ff_error *err)
{
	struct lr_work s = { 0 };
	struct optim opt = OPTIM_INIT;
	struct sched sch;
	struct lr_conv conv;
	double *y01b = NULL;
	size_t nw, bs, nbatch;
	int ret = lr_check_train(x, rows, cols, stride, y, o, m, err);

	if (ret)
		return ret;
	*m = (struct lr_model)LR_MODEL_INIT;
	nw = cols + (o->fit_intercept ? 1 : 0);
	ret = lr_work_alloc(&s, rows, cols, nw, o->shuffle, err);
	if (ret)
		goto out;
	FF_ALLOC_ARRAY(y01b, rows);
	FF_ALLOC_ARRAY(m->w, nw);
	FF_ALLOC_ARRAY(m->loss, o->epochs);
	if (!y01b || !m->w || !m->loss) {
		ret = ff_error_set(err, FF_ENOMEM, "cannot allocate the model");
		goto out;
	}
	m->n_features = cols;
	m->fit_intercept = o->fit_intercept;
	ret = lr_labels_pm1(y, rows, s.ypm, err);
	if (!ret)
		ret = lr_init_param(o->init, o->init_fill, o->init_seed, m->w, nw, err);
	if (!ret)
		ret = optim_init(&opt, o->optimizer, &o->optim, nw, err);
	if (!ret)
		ret = sched_init(&sch, o->scheduler, &o->sched, o->optim.lr, err);
	if (!ret)
		ret = lr_conv_init(&conv, o->early_stop, o->tol, err);
	if (!ret)
		ret = lr_batches(rows, o->batch_size, o->shuffle, o->shuffle_seed,
				 s.order, &bs, &nbatch, err);
	if (ret)
		goto out;
	for (unsigned e = 0; e < o->epochs; e++) {
		double epoch_loss = 0.0;

		memset(s.epoch_delta, 0, nw * sizeof(double));
		for (size_t b = 0; b < nbatch; b++) {
			size_t lo = b * bs, hi = lo + bs < rows ? lo + bs : rows;
			const double *xb = x + lo * stride, *yb = s.ypm + lo;
			const double *y01 = y + lo;
			size_t st = stride;
			double loss;

			if (o->shuffle) {
				lr_gather(x, cols, stride, y, &s, lo, hi, y01b);
				xb = s.xb;
				yb = s.yb;
				y01 = y01b;
				st = cols;
			}
			ret = lr_train_batch(xb, hi - lo, cols, st, yb, y01, o, &opt,
					     sch.lr, e, m, &s, &loss, err);
			if (ret)
				goto out;
			epoch_loss += loss;
		}
		m->loss[e] = epoch_loss;
		m->epochs_run = e + 1;
		if (lr_conv_check(&conv, epoch_loss, s.epoch_delta, nw)) {
			m->converged = true;
			break;
		}
		if (e + 1 < o->epochs)
			sched_step(&sch);
	}
out:
	if (ret)
		lr_model_release(m);
	optim_release(&opt);
	lr_work_release(&s);
	ff_free(y01b);
	return ret;
}
