/* SPDX-License-Identifier: Apache-2.0 */
/*
 * optim.h - the torch.optim update rules and learning-rate schedulers that
 * FATE 2.x's coordinated LR runs on the arbiter
 * (python/fate/ml/utils/_optimizer.py).
 *
 * How FATE uses them. The arbiter keeps its own torch parameter, a vector of
 * zeros of the model's length, and a torch optimizer over it. For every
 * mini-batch it sets the (decrypted) gradient as `.grad`, calls `step()`,
 * and returns the *delta* `prev - new` of that shadow parameter; the
 * parties then apply `w -= delta` to their real weights. optim_step does
 * exactly that: it keeps the shadow parameter (so torch's weight_decay and
 * ASGD's decay act on it, as in FATE) and returns the delta. The penalty of
 * the LR (L1/L2 with alpha) is not the optimizer's business: see lr.h.
 *
 * Update rules (g = gradient, p = shadow parameter, t = step count from 1;
 * weight_decay wd adds wd * p to g first, except AdamW which decays p):
 *   sgd      b = g (t = 1) or momentum*b + (1-dampening)*g;
 *            g' = nesterov ? g + momentum*b : (momentum ? b : g); p -= lr*g'
 *   rmsprop  v = alpha*v + (1-alpha)*g²; centered: a = lerp(a, g, 1-alpha),
 *            d = sqrt(v - a²) + eps, else d = sqrt(v) + eps;
 *            momentum: b = momentum*b + g/d, p -= lr*b; else p -= lr*g/d
 *   adam     m = lerp(m, g, 1-β1); v = β2 v + (1-β2) g²; (amsgrad: v̂ = max)
 *            p -= lr/(1-β1^t) * m / (sqrt(v)/sqrt(1-β2^t) + eps)
 *   adamw    p *= 1 - lr*wd, then adam without weight decay in g
 *   adagrad  s += g²; p -= lr/(1+(t-1)*lr_decay) * g/(sqrt(s)+eps)
 *   adadelta v = ρv + (1-ρ)g²; δ = sqrt(u+eps)/sqrt(v+eps)*g;
 *            u = ρu + (1-ρ)δ²; p -= lr*δ
 *   adamax   m = lerp(m, g, 1-β1); u = max(β2 u, |g|+eps);
 *            p -= lr/(1-β1^t) * m/u
 *   nadam    μ_t = β1(1 - ½·0.96^(t·ψ)); Π *= μ_t; m, v as adam;
 *            d = sqrt(v/(1-β2^t)) + eps;
 *            p -= lr(1-μ_t)/(1-Π) g/d + lr μ_{t+1}/(1-Π μ_{t+1}) m/d
 *   radam    ρ∞ = 2/(1-β2) - 1, ρ_t = ρ∞ - 2tβ2^t/(1-β2^t);
 *            ρ_t > 5: p -= m/(1-β1^t) * lr * sqrt(1-β2^t)/(sqrt(v)+eps) * r_t
 *            else p -= m/(1-β1^t) * lr
 *   asgd     p *= 1 - λη; p -= η g; ā averages p; η = lr/(1+λ lr t)^α;
 *            μ = 1/max(1, t - t0)
 *   rprop    per-coordinate step sizes (start lr) scaled by eta+/eta- on
 *            sign agreement/change, clamped to [step_min, step_max];
 *            p -= sign(g)*step (g treated as 0 after a sign change)
 * All arithmetic is double; torch runs in the tensor's dtype (float32 on
 * FATE's arbiter unless the decrypted gradient is float64) and keeps some
 * ASGD scalars in float32, so results agree with torch to float precision,
 * and exactly with the numpy re-implementation in tests/reference/ml_ref.py.
 *
 * Schedulers (torch's chainable form, stepped once per epoch):
 *   constant: lr = base*factor until total_iters steps, then base
 *   linear:   factor goes from start_factor to end_factor over total_iters
 *   step:     lr *= gamma every step_size steps
 *
 * Pure functions on caller-owned state; one struct optim or struct sched
 * must not be used from two threads at once.
 */
#ifndef FF_ML_OPTIM_H
#define FF_ML_OPTIM_H

#include <stddef.h>
#include <stdbool.h>
#include "err.h"

enum optim_method {
	OPTIM_SGD,
	OPTIM_RMSPROP,
	OPTIM_ADAM,
	OPTIM_ADAMW,
	OPTIM_ADAGRAD,
	OPTIM_ADADELTA,
	OPTIM_ADAMAX,
	OPTIM_NADAM,
	OPTIM_RADAM,
	OPTIM_ASGD,
	OPTIM_RPROP,
};

/*
 * Hyper-parameters, named after torch's keyword arguments. A field a method
 * does not use is ignored. optim_params_default fills torch's defaults.
 */
struct optim_params {
	double lr;
	double weight_decay;
	double momentum;      /* sgd, rmsprop */
	double dampening;     /* sgd */
	bool nesterov;        /* sgd */
	double alpha;         /* rmsprop smoothing; asgd power */
	double eps;
	bool centered;        /* rmsprop */
	double beta1, beta2;  /* betas of adam, adamw, adamax, nadam, radam */
	bool amsgrad;         /* adam, adamw */
	double lr_decay;      /* adagrad */
	double initial_accumulator_value; /* adagrad */
	double rho;           /* adadelta */
	double momentum_decay; /* nadam */
	double lambd;         /* asgd */
	double t0;            /* asgd */
	double eta_minus, eta_plus;   /* rprop etas */
	double step_min, step_max;    /* rprop step_sizes */
};

/*
 * Parses a FATE/torch optimizer name ("sgd", "rmsprop", "adam", "adamw",
 * "adagrad", "adadelta", "adamax", "nadam", "radam", "asgd", "rprop").
 * Returns FF_OK or FF_EINVAL.
 */
int optim_method_parse(const char *name, enum optim_method *out,
		       struct ff_error *err);

/* Canonical name of a method ("rmsprop"); "?" for an unknown value. */
const char *optim_method_name(enum optim_method m);

/*
 * Fills p with torch's defaults for method m (e.g. rmsprop: lr 1e-2,
 * alpha 0.99, eps 1e-8; adam: lr 1e-3, betas (0.9, 0.999), eps 1e-8;
 * sgd: lr 1e-3, torch >= 2.2's default).
 */
void optim_params_default(enum optim_method m, struct optim_params *p);

/*
 * Sets one torch keyword argument by name: "lr", "weight_decay",
 * "momentum", "dampening", "nesterov" (0/1), "alpha", "eps", "centered"
 * (0/1), "amsgrad" (0/1), "lr_decay", "initial_accumulator_value", "rho",
 * "momentum_decay", "lambd", "t0"; pairs are set with their torch name and
 * an index suffix: "betas.0", "betas.1", "etas.0", "etas.1",
 * "step_sizes.0", "step_sizes.1". A key torch's constructor for method m
 * would reject is FF_EINVAL (so FATE's `optimizer_params` can be checked
 * key by key). The value itself is validated by optim_init.
 */
int optim_params_set(struct optim_params *p, enum optim_method m,
		     const char *key, double value, struct ff_error *err);

/* Optimizer state over n parameters; see the file comment. */
struct optim {
	enum optim_method method;
	struct optim_params p;
	size_t n;
	unsigned long step;  /* steps taken */
	double *param;       /* shadow parameter, starts at 0 */
	double *s1, *s2, *s3; /* per-method state buffers */
	double mu_product;   /* nadam */
	double eta, mu;      /* asgd */
};
#define OPTIM_INIT { .method = OPTIM_SGD, .n = 0 }

/*
 * Validates p as torch's constructor does (lr >= 0, eps >= 0, betas in
 * [0, 1), momentum >= 0, nesterov needs momentum > 0 and dampening 0, ...)
 * and allocates state for n > 0 parameters. o must be OPTIM_INIT or
 * released. Returns FF_OK, FF_EINVAL or FF_ENOMEM.
 */
int optim_init(struct optim *o, enum optim_method m,
	       const struct optim_params *p, size_t n, struct ff_error *err);

/*
 * One optimizer step with gradient g[0..n) at learning rate lr (the
 * scheduler's current value; rprop uses lr only to seed its step sizes on
 * the first step). Writes delta[0..n) = shadow before - shadow after, the
 * value FATE's arbiter sends to the parties. g and delta may be the same
 * array. A non-finite gradient is FF_EINVAL (state untouched).
 */
int optim_step(struct optim *o, const double *g, double lr, double *delta,
	       struct ff_error *err);

/* Frees the state of o and resets it to OPTIM_INIT. NULL is a no-op. */
void optim_release(struct optim *o);

enum sched_method {
	SCHED_CONSTANT,
	SCHED_LINEAR,
	SCHED_STEP,
};

/* Scheduler parameters (torch keyword names); sched_params_default fills
 * torch's defaults: factor 1/3, total_iters 5, start_factor 1/3,
 * end_factor 1, step_size 1 (torch requires it), gamma 0.1. */
struct sched_params {
	double factor;        /* constant */
	unsigned long total_iters; /* constant, linear */
	double start_factor;  /* linear */
	double end_factor;    /* linear */
	unsigned long step_size; /* step */
	double gamma;         /* step */
};

/* Parses "constant", "linear" or "step". Returns FF_OK or FF_EINVAL. */
int sched_method_parse(const char *name, enum sched_method *out,
		       struct ff_error *err);

void sched_params_default(struct sched_params *p);

/* Scheduler state: the current lr and the epoch counter. */
struct sched {
	enum sched_method method;
	struct sched_params p;
	unsigned long last_epoch;
	double lr;
};

/*
 * Validates p as torch does (constant: 0 <= factor <= 1; linear:
 * 0 < start_factor <= 1, 0 <= end_factor <= 1; step: step_size > 0) and
 * sets s->lr to the first epoch's value, as constructing the torch
 * scheduler does (base_lr * factor for constant, * start_factor for
 * linear). base_lr must be finite and >= 0. Returns FF_OK or FF_EINVAL.
 */
int sched_init(struct sched *s, enum sched_method m,
	       const struct sched_params *p, double base_lr,
	       struct ff_error *err);

/* Advances one epoch (torch's scheduler.step()) and updates s->lr. */
void sched_step(struct sched *s);

#endif
