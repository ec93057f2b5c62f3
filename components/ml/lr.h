/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lr.h - logistic-regression pieces of FATE 2.x's coordinated LR
 * (python/fate/ml/glm/hetero/coordinated_lr/{guest,host,arbiter}.py) and a
 * centralized reference trainer built from the same pieces.
 *
 * The federated protocol composes these functions; every party computes its
 * share with them and the arbiter runs optim.h. Notation: h = rows of the
 * mini-batch, xw = X·w (+ intercept) summed over parties, y ∈ {-1, +1}
 * (FATE maps label 1 to +1 and everything else to -1).
 *
 *   Taylor loss (FATE):   l = 1/h Σ (ln 2 - ½ y·xw + ⅛ xw²)
 *   Taylor residual:      d = ¼ xw - ½ y   (times the sample weight if any)
 *   gradient:             g = 1/h Xᵀ d; the intercept entry is 1/h Σ d
 *   exact loss (report):  1/h Σ ln(1 + exp(-y·xw))
 *   probability:          sigmoid(xw)
 *
 * Penalties, exactly where FATE puts them (Optimizer in _optimizer.py):
 *   L2: the guest/host add alpha·w to the gradient before it goes to the
 *       arbiter, intercept excluded (add_regular_to_grad); the loss gets
 *       ½·alpha·wᵀw over all of w, intercept included (loss_norm).
 *   L1: nothing is added to the gradient; after w -= delta the coefficients
 *       are soft-thresholded by alpha·lr/sqrt(epoch), intercept excluded
 *       (_l1_updator with iters = the 0-based epoch index, so the whole first
 *       epoch has an infinite threshold and zeroes every coefficient, as in
 *       FATE). The loss gets alpha·Σ|w| — FATE sums alpha·w without the
 *       absolute value, a bug this library does not copy.
 *
 * Early stopping, checked once per epoch on the sum of the batch losses
 * (what FATE's arbiter logs as lr_loss) or on the epoch's summed deltas:
 *   diff:        |previous - loss| < tol (never on the first epoch)
 *   abs:         loss <= tol
 *   weight_diff: ||Σ_batches delta||₂ < tol
 *
 * Mini-batches as FATE's DataLoader: batch_size 0 (FATE's null) means one
 * batch of all rows; otherwise batch_size = min(batch_size, n), the sample
 * order is fixed (the rows as given: coordinated_lr passes them sorted by
 * sample id, as FATE's DataLoader sorts them) and cut into
 * ceil(n / batch_size) consecutive batches, the last one shorter; the same
 * batches every epoch. FATE's shuffle option is broken (it assigns
 * random.seed instead of calling it); here shuffle=true permutes the rows
 * once with a seeded generator.
 *
 * Random initialisation uses xoshiro256** seeded through splitmix64, not
 * torch's generator: `random_uniform` draws U[0, 1), `random` N(0, 1) by
 * Box-Muller. Same seed, same weights, on every platform; not the numbers
 * torch would draw for the same seed.
 *
 * Everything is double precision and unencrypted; FATE's 23-bit fixed-point
 * encoding of X belongs to the federated protocol, not here.
 * Pure functions (no I/O, no global state), thread-safe on distinct data.
 */
#ifndef FF_ML_LR_H
#define FF_ML_LR_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include "err.h"
#include "optim.h"

enum lr_penalty {
	LR_PENALTY_NONE,
	LR_PENALTY_L1,
	LR_PENALTY_L2,
};

enum lr_init {
	LR_INIT_ZEROS,
	LR_INIT_ONES,
	LR_INIT_CONSTS,
	LR_INIT_RANDOM,          /* N(0, 1) */
	LR_INIT_RANDOM_UNIFORM,  /* U[0, 1) */
};

enum lr_early_stop {
	LR_STOP_DIFF,
	LR_STOP_ABS,
	LR_STOP_WEIGHT_DIFF,
};

/* Which gradient the reference trainer follows. */
enum lr_gradient {
	LR_GRAD_TAYLOR, /* FATE's coordinated LR: d = ¼ xw - ½ y */
	LR_GRAD_EXACT,  /* plain LR: d = sigmoid(xw) - y01 */
};

/* Parsers for FATE's parameter strings ("l1", "l2", "none"; "zeros", "ones",
 * "consts", "random", "random_uniform"; "diff", "abs", "weight_diff").
 * Case-sensitive, as FATE's pydantic choices. FF_OK or FF_EINVAL. */
int lr_penalty_parse(const char *name, enum lr_penalty *out,
		     struct ff_error *err);
int lr_init_parse(const char *name, enum lr_init *out, struct ff_error *err);
int lr_early_stop_parse(const char *name, enum lr_early_stop *out,
			struct ff_error *err);

/* Logistic function, overflow-free for any finite z. */
double lr_sigmoid(double z);

/*
 * Maps 0/1 labels to FATE's -1/+1: out[i] = +1 if |y[i] - 1| < 1e-8, else
 * -1 (FATE's rule). Labels must be finite. out may alias y.
 * Returns FF_OK or FF_EINVAL.
 */
int lr_labels_pm1(const double *y, size_t n, double *out,
		  struct ff_error *err);

/*
 * Initial weights w[0..n): zeros, ones, fill (consts), N(0,1) or U[0,1)
 * from `seed` (see the file comment). fill must be finite for consts.
 * Returns FF_OK or FF_EINVAL.
 */
int lr_init_param(enum lr_init method, double fill, uint64_t seed, double *w,
		  size_t n, struct ff_error *err);

/*
 * xw[i] = Σ_j x[i, j] w[j] (+ w[cols] when fit_intercept) for i < rows.
 * w has cols (+1) entries. No validation (hot path); see lr_predict_proba.
 */
void lr_linear(const double *x, size_t rows, size_t cols, size_t stride,
	       const double *w, bool fit_intercept, double *xw);

/* d[i] = (¼ xw[i] - ½ y[i]) * (weight ? weight[i] : 1), y in {-1, +1}. */
void lr_taylor_d(const double *xw, const double *y, const double *weight,
		 size_t n, double *d);

/* FATE's Taylor loss 1/n Σ (ln 2 - ½ y xw + ⅛ xw²), y in {-1, +1}. */
double lr_taylor_loss(const double *xw, const double *y, size_t n);

/* Exact mean logistic loss 1/n Σ ln(1 + exp(-y xw)), y in {-1, +1},
 * computed without overflow. */
double lr_logistic_loss(const double *xw, const double *y, size_t n);

/*
 * g = 1/rows Xᵀ d (cols entries), and g[cols] = 1/rows Σ d when
 * fit_intercept. g must not alias x or d. No validation (hot path).
 */
void lr_gradient(const double *x, size_t rows, size_t cols, size_t stride,
		 const double *d, bool fit_intercept, double *g);

/*
 * Adds the L2 term alpha·w to g[0..n) (FATE's add_regular_to_grad); with
 * fit_intercept the last entry (the intercept) gets nothing. L1 and none
 * leave g unchanged.
 */
void lr_penalty_grad(double *g, const double *w, size_t n,
		     bool fit_intercept, enum lr_penalty penalty, double alpha);

/* Penalty term of the loss: ½·alpha·wᵀw (L2, all of w), alpha·Σ|w| (L1),
 * 0 (none). */
double lr_penalty_loss(const double *w, size_t n, enum lr_penalty penalty,
		       double alpha);

/*
 * Applies the arbiter's delta: w -= delta; with L1 then soft-thresholds
 * every coefficient (not the intercept when fit_intercept) by
 * alpha·lr/sqrt(epoch), where epoch is FATE's 0-based epoch index (0 gives
 * an infinite threshold: every coefficient becomes 0, as in FATE).
 */
void lr_update(double *w, const double *delta, size_t n, bool fit_intercept,
	       enum lr_penalty penalty, double alpha, double lr,
	       unsigned long epoch);

/*
 * Probabilities p[i] = sigmoid(x[i]·w (+ intercept)) for i < rows, with
 * validation: finite x and w (FF_EINVAL naming the column or index).
 */
int lr_predict_proba(const double *x, size_t rows, size_t cols,
		     size_t stride, const double *w, bool fit_intercept,
		     double *p, struct ff_error *err);

/* Convergence state for one fit (see the file comment). */
struct lr_conv {
	enum lr_early_stop method;
	double tol;
	bool has_prev;
	double prev;
};

/* Prepares c; tol must be finite and >= 0. FF_OK or FF_EINVAL. */
int lr_conv_init(struct lr_conv *c, enum lr_early_stop method, double tol,
		 struct ff_error *err);

/*
 * Checks one epoch: `loss` for diff/abs (the sum of the batch losses),
 * epoch_delta[0..n) (the sum of the epoch's deltas) for weight_diff.
 * Returns true when converged. Updates the remembered previous loss.
 */
bool lr_conv_check(struct lr_conv *c, double loss, const double *epoch_delta,
		   size_t n);

/*
 * Mini-batch layout over n rows: order[0..n) (caller's) receives the row
 * order (identity, or a seeded permutation when shuffle), *batch_size_out
 * the effective batch size (n when batch_size is 0 or >= n) and *nbatch the
 * number of batches; batch b is order[b*bs .. min((b+1)*bs, n)).
 * Returns FF_OK or FF_EINVAL (n == 0).
 */
int lr_batches(size_t n, size_t batch_size, bool shuffle, uint64_t seed,
	       size_t *order, size_t *batch_size_out, size_t *nbatch,
	       struct ff_error *err);

/* Options of the reference trainer; lr_train_opts_default fills FATE's
 * coordinated_lr component defaults. */
struct lr_train_opts {
	unsigned epochs;              /* 20 */
	size_t batch_size;            /* 0 = full batch (FATE's null) */
	bool shuffle;                 /* false */
	uint64_t shuffle_seed;
	enum optim_method optimizer;  /* sgd */
	struct optim_params optim;    /* torch defaults, lr 0.01 */
	enum sched_method scheduler;  /* linear */
	struct sched_params sched;    /* start_factor 1.0, rest torch's */
	enum lr_penalty penalty;      /* l2 */
	double alpha;                 /* 1.0 */
	bool fit_intercept;           /* true */
	enum lr_init init;            /* random_uniform */
	double init_fill;             /* consts only */
	uint64_t init_seed;           /* 0; FATE's default draws unseeded */
	enum lr_early_stop early_stop; /* diff */
	double tol;                   /* 1e-4 */
	enum lr_gradient gradient;    /* taylor */
};

void lr_train_opts_default(struct lr_train_opts *o);

/* A trained model; w has n_features (+1 when fit_intercept, last). */
struct lr_model {
	size_t n_features;
	bool fit_intercept;
	double *w;
	unsigned epochs_run;  /* epochs completed */
	bool converged;
	double *loss;         /* per epoch: sum of batch losses (FATE lr_loss) */
};
#define LR_MODEL_INIT { .n_features = 0 }

/* Frees the arrays of m and resets it. NULL is a no-op. */
void lr_model_release(struct lr_model *m);

/*
 * Centralized reference trainer: FATE's coordinated-LR loop on one party's
 * data. Per epoch e and batch: xw, d (Taylor or exact), batch loss (Taylor
 * or exact, plus lr_penalty_loss), g = lr_gradient + lr_penalty_grad, delta
 * = optim_step(g, scheduler lr), w = lr_update(w, delta, ..., e); after the
 * batches the convergence check, then (unless converged or last epoch) one
 * scheduler step. |w| > 1e8 stops with FF_ERANGE (FATE's check_overflow).
 * y holds 0/1 labels (exactly). x, y borrowed; m must be LR_MODEL_INIT and
 * owns its arrays on success (lr_model_release). Returns FF_OK, FF_EINVAL,
 * FF_ERANGE or FF_ENOMEM.
 */
int lr_train(const double *x, size_t rows, size_t cols, size_t stride,
	     const double *y, const struct lr_train_opts *o,
	     struct lr_model *m, struct ff_error *err);

#endif
