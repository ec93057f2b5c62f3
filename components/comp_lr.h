/* SPDX-License-Identifier: Apache-2.0 */
/*
 * comp_lr.h - `coordinated_lr`, FATE's hetero logistic regression with an
 * arbiter, over Paillier; shared by comp_lr.c (component, parameters,
 * models, prediction), comp_lr_guest.c, comp_lr_host.c and
 * comp_lr_arbiter.c (the three halves of training). The protocol halves
 * take plain arrays and a struct comp_net, so bench/lr and the tests run
 * them without tasks or tables.
 *
 * Protocol (docs/algorithms.md has the math and what each party learns).
 * Setup:
 *   arbiter -> guest, hosts  lr.pubkey          Paillier public key
 *   guest -> hosts, arbiter  lr.setup           rows, batch size, epochs,
 *                                               hosts, sample-id digest,
 *                                               digest of the key it got
 * Per epoch e, batch b (h rows), tags "lr.e<e>.b<b>.<name>":
 *   host  -> guest   xw      E(u_h/4) per row (u_h = X_h w_h); with a single
 *                            host also E(sum u_h^2 / 8), E(host penalty)
 *   guest -> hosts   d       E(d) per row, d = (u_g + sum u_h)/4 - y/2
 *   guest -> arbiter loss    h and E(h * batch loss)   (single host only)
 *   guest, host -> arbiter g E(X^T d + r): the party's gradient plus a
 *                            uniform mask r mod n it keeps, re-randomised
 *   arbiter -> party gback   the decryption, X^T d + r mod n
 *   party: removes r, divides by h, adds the L2 term and runs the optimizer
 *   and scheduler itself (elementwise, the same torch rules FATE's arbiter
 *   runs), so the arbiter never sees a gradient.
 * Per epoch "lr.e<e>.<name>":
 *   guest, hosts -> arbiter  wdiff     |sum of the epoch's deltas|^2 (only
 *                                      for early_stop weight_diff)
 *   arbiter -> guest, hosts  converge  the arbiter's convergence decision
 * Prediction (train output and the predict stage), "lr.<tag>.xw_h":
 *   host -> guest   X_h w_h per row in plain (as FATE), with the sample-id
 *                   digest; the guest adds its part and the sigmoid.
 *
 * Fixed point: X and encrypted values carry frac_bits (FATE's
 * floating_point_precision, 23) fractional bits; products 2*frac_bits.
 */
#ifndef COMP_LR_H
#define COMP_LR_H

#include <stdbool.h>
#include <stdint.h>
#include "comp_util.h"
#include "lr.h"
#include "optim.h"

struct paillier_pub;
struct paillier_priv;
struct paillier_djn;
struct paillier_vec;

struct comp_lr_params {
	unsigned epochs;
	size_t batch_size;            /* 0 = full batch */
	enum optim_method optimizer;
	struct optim_params optim;
	enum lr_penalty penalty;
	double alpha;
	enum sched_method sched;
	struct sched_params sched_p;
	enum lr_init init;
	double init_fill;
	bool fit_intercept;
	bool seeded;
	uint64_t seed;
	enum lr_early_stop early_stop;
	double tol;
	double threshold;
	unsigned key_bits;
	unsigned frac_bits;
	unsigned nthreads;
	/*
	 * Row order of the mini-batches (borrowed; a permutation of the n
	 * rows, the same on every party): batch b is rows row_order[b*bs ..].
	 * FATE's DataLoader cuts the rows sorted by sample id (comp_lr_sid_order);
	 * NULL = the rows as given. Not a task parameter: the component sets it.
	 */
	const size_t *row_order;
};

/* FATE's coordinated_lr defaults (see comp_lr.c). */
void comp_lr_params_default(struct comp_lr_params *p);
/* Reads the task's parameters over the defaults; FF_EINVAL names the parameter. */
int comp_lr_params_load(struct ff_task *t, struct comp_lr_params *p, struct ff_error *err);

/* Paillier operations a party ran (bench/lr's cost model). */
struct comp_lr_stats {
	uint64_t enc;          /* encryptions (DJN randomiser) */
	uint64_t dec;          /* decryptions */
	uint64_t matvec;       /* ciphertext x integer products inside matvec */
	uint64_t matvec_calls;
	uint64_t add;          /* ciphertext additions outside matvec */
	uint64_t obf;          /* re-randomisations (DJN) */
	uint64_t add_plain;    /* mask additions */
	uint64_t mul;          /* single ciphertext x scalar */
	double seconds;        /* wall time of the training loop */
};

/* One party's result. */
struct comp_lr_fit {
	size_t d;              /* coefficients (+1 for the guest's intercept, last) */
	double *w;
	unsigned epochs_run;
	bool converged;
	double *loss;          /* arbiter: per epoch (NaN when not computed) */
	size_t nloss;
};
void comp_lr_fit_release(struct comp_lr_fit *f);

/* Called by the arbiter after every epoch (loss NaN when not computed). */
typedef void (*comp_lr_epoch_cb)(void *ctx, unsigned epoch, double loss, bool converged);

/*
 * Guest: x n x d row-major, y 0/1 (checked), digest of the sample ids.
 * init_w (d + fit_intercept values) continues from a model, NULL = init_param.
 */
int comp_lr_guest_train(struct comp_net *net, const struct comp_lr_params *p, const double *x,
			size_t n, size_t d, const double *y, const unsigned char digest[32],
			const double *init_w, struct comp_lr_fit *out, struct comp_lr_stats *st,
			struct ff_error *err);
int comp_lr_host_train(struct comp_net *net, const struct comp_lr_params *p, const double *x,
		       size_t n, size_t d, const unsigned char digest[32], const double *init_w,
		       struct comp_lr_fit *out, struct comp_lr_stats *st, struct ff_error *err);
int comp_lr_arbiter_train(struct comp_net *net, const struct comp_lr_params *p,
			  comp_lr_epoch_cb cb, void *cb_ctx, struct comp_lr_fit *out,
			  struct comp_lr_stats *st, struct ff_error *err);

/*
 * Prediction: the guest gets every host's X_h w_h (tag "lr.<tag>.xw_h")
 * and writes score[i] = sigmoid(u_g + sum u_h) for its n rows.
 */
int comp_lr_guest_predict(struct comp_net *net, const char *tag, const double *x, size_t n,
			  size_t d, const double *w, bool fit_intercept,
			  const unsigned char digest[32], double *score, struct ff_error *err);
int comp_lr_host_predict(struct comp_net *net, const char *tag, const double *x, size_t n,
			 size_t d, const double *w, const unsigned char digest[32],
			 struct ff_error *err);

/* ------------------------------------------- shared by the protocol files */

/* Tag "lr.e<e>.b<b>.<name>" (b SIZE_MAX: "lr.e<e>.<name>") into out[128]. */
void comp_lr_tag(char out[128], unsigned e, size_t b, const char *name);
/* X (n x d) -> int64 round(x * 2^frac) with an extra column of 2^frac when
 * intercept; row k of the result is row order[k] of x (order NULL: row k).
 * Refuses |x| that does not fit. *out owned (ff_free). */
int comp_lr_encode_x(const double *x, size_t n, size_t d, const size_t *order, bool intercept,
		     unsigned frac, int64_t **out, struct ff_error *err);
/* u[i] = x[r]·w (+ w[d] when intercept) for the h rows r = order[lo + i]
 * (order NULL: r = lo + i); x is n x d row-major. */
void comp_lr_rows_linear(const double *x, size_t d, const size_t *order, size_t lo, size_t h,
			 const double *w, bool intercept, double *u);
/*
 * FATE's batch order (DataLoader in fate/arch/dataframe/utils/_dataloader.py
 * sorts the sample ids): *out = the row indices sorted by sample id
 * (bytewise, ties by row), owned (ff_free); *out = NULL when the rows are
 * already in that order (or n < 2). sid[i] borrowed, NUL-terminated.
 */
int comp_lr_sid_order(const char *const *sid, size_t n, size_t **out, struct ff_error *err);
/* y 0/1 -> -1/+1 with the check that every label is 0 or 1. */
int comp_lr_labels(const double *y, size_t n, double *pm1, struct ff_error *err);

/*
 * A guest's or host's learner: its weights, optimizer and scheduler, and
 * the masked-gradient round trip with the arbiter.
 */
struct comp_lr_learner {
	const struct comp_lr_params *p;
	size_t d;               /* coefficients incl. intercept */
	bool intercept;         /* last coefficient is the intercept */
	double *w;
	double *g, *delta, *epoch_delta;
	struct optim opt;
	struct sched sched;
	enum lr_early_stop stop; /* effective: weight_diff with several hosts */
	char arbiter[96];
};
int comp_lr_learner_init(struct comp_lr_learner *l, const struct comp_lr_params *p, size_t d,
			 bool intercept, const double *init_w, const char *arbiter, size_t nhosts,
			 struct ff_error *err);
/* early_stop in effect: FATE computes no loss with several hosts -> weight_diff. */
enum lr_early_stop comp_lr_stop(const struct comp_lr_params *p, size_t nhosts);
void comp_lr_learner_release(struct comp_lr_learner *l);
/*
 * Sends E(G + r) (G = X^T d at scale 2^(2 frac), d entries) to the arbiter
 * under tag `tag_g`, receives the decryption under `tag_back`, removes r,
 * divides by rows, adds the penalty gradient, steps the optimizer and
 * updates w (lr_update). Counts ops into st.
 */
int comp_lr_learner_step(struct comp_lr_learner *l, struct comp_net *net,
			 const struct paillier_pub *pub, const struct paillier_djn *djn,
			 struct paillier_vec *G, size_t rows, unsigned epoch, const char *tag_g,
			 const char *tag_back, struct comp_lr_stats *st, struct ff_error *err);
/* End of epoch: weight_diff report, converge flag from the arbiter, scheduler step. */
int comp_lr_learner_epoch_end(struct comp_lr_learner *l, struct comp_net *net, unsigned epoch,
			      bool *converged, struct ff_error *err);

/* Arbiter side of the round trip: decrypts a party's masked vector and returns it. */
int comp_lr_arbiter_roundtrip(struct comp_net *net, const struct paillier_priv *priv,
			      const char *role, const char *party, const char *tag_g,
			      const char *tag_back, unsigned nthreads, struct comp_lr_stats *st,
			      struct ff_error *err);

/* The public key from the arbiter (tag lr.pubkey). */
int comp_lr_recv_pub(struct comp_net *net, struct paillier_pub *pub, struct ff_error *err);

/* Setup message of the guest (tag lr.setup). */
struct comp_lr_setup {
	uint64_t n, batch_size, epochs, nhosts;
	unsigned char digest[32];
};
/* BLAKE2b-256 of the public key bytes (both ends check they got the same key). */
void comp_lr_key_digest(const struct paillier_pub *pub, unsigned char out[32]);
/* Receives lr.setup; checks epochs and that the guest has the same key as pub. */
int comp_lr_recv_setup(struct comp_net *net, const struct comp_lr_params *p,
		       const struct paillier_pub *pub, struct comp_lr_setup *s,
		       struct ff_error *err);

#endif
