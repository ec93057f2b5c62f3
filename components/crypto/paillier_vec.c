// SPDX-License-Identifier: Apache-2.0
/*
 * paillier_vec.c - vectors of Paillier values, multi-threaded batch
 * operations and the encrypted matrix-vector product of hetero LR.
 *
 * DESIGN (matvec). out[j] = prod_i ev[i]^X[i][j] mod n^2. A powm per element
 * costs ~b squarings + b/5 multiplications for a b-bit entry; with FATE's
 * 23-bit fixed point that is ~30 modular multiplications per element. The
 * bucket method (Pippenger) shares the work of one column across its rows:
 * cut every |X[i][j]| into W = ceil(b/c) digits of c bits; for each digit
 * position, multiply ev[i] into bucket[digit] (one multiplication per row),
 * then fold the buckets as sum_k k*bucket[k] with two running products
 * (2 * 2^c multiplications), and combine the positions with c squarings
 * each. Cost ~ W * (rows + 2^(c+1)) multiplications instead of ~30 * rows;
 * c is picked per block by that cost model. Negative entries go to a second
 * set of buckets whose total is inverted once per column, so there is no
 * per-element inversion. Work units are (column, row block) pairs pulled by
 * the threads; the blocks of a column are multiplied together at the end.
 */
#include "ff_setup.h"

#include <stdatomic.h>

#include "crypto_par.h"
#include "mem.h"
#include "paillier.h"
#include "paillier_int.h"

/* smallest batch worth a thread of its own */
#define MIN_CHUNK_EXPENSIVE 4   /* encrypt/decrypt: ~0.2-1 ms each */
#define MIN_CHUNK_CHEAP 2048    /* add: ~1 us each */
/* matvec: rows per block when a column is split, and the bucket window cap */
#define MATVEC_MIN_BLOCK_ROWS 256
#define MATVEC_MAX_WINDOW 14

int paillier_vec_init(struct paillier_vec *vec, size_t len)
{
	vec->len = 0;
	vec->v = NULL;
	mpz_t *v = NULL;
	FF_ALLOC_ARRAY(v, len);
	if (!v)
		return FF_ENOMEM;
	for (size_t i = 0; i < len; i++)
		mpz_init(v[i]);
	vec->v = v;
	vec->len = len;
	return FF_OK;
}

void paillier_vec_release(struct paillier_vec *vec)
{
	if (vec->v) {
		for (size_t i = 0; i < vec->len; i++)
			mpz_clear(vec->v[i]);
		ff_free(vec->v);
	}
	vec->v = NULL;
	vec->len = 0;
}

/* ---- element-wise batches ------------------------------------------------ */

enum vec_op { OP_ENC, OP_ENC_CRT, OP_ENC_DJN, OP_DEC, OP_ADD, OP_ENC_FIXED, OP_DEC_FIXED };

struct vec_job {
	enum vec_op op;
	const struct paillier_pub *pub;
	const struct paillier_priv *priv;
	const struct paillier_djn *djn;
	struct paillier_vec *out;
	const struct paillier_vec *a, *b;
	const double *xin;
	double *xout;
	unsigned frac_bits;
	atomic_size_t bad; /* lowest failing index, SIZE_MAX if none */
};

/* One element; err is NULL inside workers and set for the re-run on failure. */
static int vec_one(struct vec_job *job, size_t i, mpz_t tmp, struct ff_error *err)
{
	int ret = FF_OK;
	switch (job->op) {
	case OP_ENC:
		return paillier_encrypt(job->pub, job->out->v[i], job->a->v[i], err);
	case OP_ENC_CRT:
		return paillier_encrypt_crt(job->priv, job->out->v[i], job->a->v[i], err);
	case OP_ENC_DJN:
		return paillier_encrypt_djn(job->djn, job->out->v[i], job->a->v[i], err);
	case OP_DEC:
		return paillier_decrypt(job->priv, job->out->v[i], job->a->v[i], err);
	case OP_ADD:
		paillier_add(job->pub, job->out->v[i], job->a->v[i], job->b->v[i]);
		return FF_OK;
	case OP_ENC_FIXED:
		ret = paillier_encode_fixed(job->pub, tmp, job->xin[i], job->frac_bits, err);
		if (ret)
			return ret;
		if (job->djn)
			return paillier_encrypt_djn(job->djn, job->out->v[i], tmp, err);
		return paillier_encrypt(job->pub, job->out->v[i], tmp, err);
	case OP_DEC_FIXED:
		ret = paillier_decrypt(job->priv, tmp, job->a->v[i], err);
		if (ret)
			return ret;
		return paillier_decode_fixed(&job->priv->pub, &job->xout[i], tmp, job->frac_bits, err);
	}
	return FF_EINVAL;
}

static int vec_range(void *ctx, size_t lo, size_t hi, unsigned tid)
{
	(void)tid;
	struct vec_job *job = ctx;
	mpz_t tmp;
	mpz_init(tmp);
	int ret = FF_OK;
	for (size_t i = lo; i < hi; i++) {
		ret = vec_one(job, i, tmp, NULL);
		if (ret) {
			size_t cur = atomic_load(&job->bad);
			while (i < cur && !atomic_compare_exchange_weak(&job->bad, &cur, i))
				;
			break;
		}
	}
	mpz_clear(tmp);
	return ret;
}

static int vec_run(struct vec_job *job, size_t len, unsigned nthreads, size_t min_chunk,
		   struct ff_error *err)
{
	atomic_init(&job->bad, SIZE_MAX);
	int ret = paillier__sodium(err);
	if (ret)
		return ret;
	ret = crypto_par_for(len, nthreads, min_chunk, vec_range, job);
	size_t bad = atomic_load(&job->bad);
	if (ret && bad != SIZE_MAX) {
		/* element errors are input checks: re-running reproduces the message */
		mpz_t tmp;
		mpz_init(tmp);
		int again = vec_one(job, bad, tmp, err);
		mpz_clear(tmp);
		if (again)
			ff_error_prefix(err, "element %zu", bad);
		else
			ff_error_set(err, ret, "element %zu failed", bad);
	} else if (ret) {
		ff_error_set(err, ret, "batch paillier operation failed");
	}
	return ret;
}

static int check_len(size_t want, size_t got, const char *what, struct ff_error *err)
{
	if (want != got)
		return ff_error_set(err, FF_EINVAL, "%s has %zu values, expected %zu", what, got, want);
	return FF_OK;
}

int paillier_encrypt_vec(const struct paillier_pub *pub, struct paillier_vec *c,
			 const struct paillier_vec *m, unsigned nthreads, struct ff_error *err)
{
	int ret = check_len(m->len, c->len, "ciphertext vector", err);
	if (ret)
		return ret;
	struct vec_job job = { .op = OP_ENC, .pub = pub, .out = c, .a = m };
	return vec_run(&job, m->len, nthreads, MIN_CHUNK_EXPENSIVE, err);
}

int paillier_encrypt_vec_crt(const struct paillier_priv *priv, struct paillier_vec *c,
			     const struct paillier_vec *m, unsigned nthreads, struct ff_error *err)
{
	int ret = check_len(m->len, c->len, "ciphertext vector", err);
	if (ret)
		return ret;
	struct vec_job job = { .op = OP_ENC_CRT, .priv = priv, .pub = &priv->pub, .out = c, .a = m };
	return vec_run(&job, m->len, nthreads, MIN_CHUNK_EXPENSIVE, err);
}

int paillier_encrypt_vec_djn(const struct paillier_djn *djn, struct paillier_vec *c,
			     const struct paillier_vec *m, unsigned nthreads, struct ff_error *err)
{
	int ret = check_len(m->len, c->len, "ciphertext vector", err);
	if (ret)
		return ret;
	if (!djn->table)
		return ff_error_set(err, FF_EINVAL, "djn context is not set up");
	struct vec_job job = { .op = OP_ENC_DJN, .djn = djn, .pub = djn->pub, .out = c, .a = m };
	return vec_run(&job, m->len, nthreads, MIN_CHUNK_EXPENSIVE, err);
}

int paillier_decrypt_vec(const struct paillier_priv *priv, struct paillier_vec *m,
			 const struct paillier_vec *c, unsigned nthreads, struct ff_error *err)
{
	int ret = check_len(c->len, m->len, "plaintext vector", err);
	if (ret)
		return ret;
	struct vec_job job = { .op = OP_DEC, .priv = priv, .pub = &priv->pub, .out = m, .a = c };
	return vec_run(&job, c->len, nthreads, MIN_CHUNK_EXPENSIVE, err);
}

int paillier_add_vec(const struct paillier_pub *pub, struct paillier_vec *out,
		     const struct paillier_vec *a, const struct paillier_vec *b, unsigned nthreads,
		     struct ff_error *err)
{
	int ret = check_len(a->len, b->len, "second operand", err);
	if (!ret)
		ret = check_len(a->len, out->len, "output vector", err);
	if (ret)
		return ret;
	struct vec_job job = { .op = OP_ADD, .pub = pub, .out = out, .a = a, .b = b };
	return vec_run(&job, a->len, nthreads, MIN_CHUNK_CHEAP, err);
}

int paillier_encrypt_fixed_vec(const struct paillier_pub *pub, const struct paillier_djn *djn,
			       struct paillier_vec *c, const double *x, unsigned frac_bits,
			       unsigned nthreads, struct ff_error *err)
{
	if (djn) {
		if (!djn->table)
			return ff_error_set(err, FF_EINVAL, "djn context is not set up");
		pub = djn->pub;
	}
	if (!pub)
		return ff_error_set(err, FF_EINVAL, "no paillier public key");
	if (c->len && !x)
		return ff_error_set(err, FF_EINVAL, "input values are NULL");
	struct vec_job job = { .op = OP_ENC_FIXED, .pub = pub, .djn = djn, .out = c, .xin = x,
			       .frac_bits = frac_bits };
	return vec_run(&job, c->len, nthreads, MIN_CHUNK_EXPENSIVE, err);
}

int paillier_decrypt_fixed_vec(const struct paillier_priv *priv, double *x,
			       const struct paillier_vec *c, unsigned frac_bits, unsigned nthreads,
			       struct ff_error *err)
{
	if (c->len && !x)
		return ff_error_set(err, FF_EINVAL, "output values are NULL");
	struct vec_job job = { .op = OP_DEC_FIXED, .priv = priv, .pub = &priv->pub, .a = c,
			       .xout = x, .frac_bits = frac_bits };
	return vec_run(&job, c->len, nthreads, MIN_CHUNK_EXPENSIVE, err);
}

/* ---- serialisation of vectors ------------------------------------------ */

int paillier_vec_to_bytes(const struct paillier_pub *pub, const struct paillier_vec *c,
			  uint8_t *out, size_t cap, struct ff_error *err)
{
	size_t w = paillier_ct_size(pub), need;
	if (!ff_st_mult(w, c->len, &need) || cap < need)
		return ff_error_set(err, FF_E2BIG, "ciphertext vector needs %zu x %zu bytes", c->len, w);
	for (size_t i = 0; i < c->len; i++) {
		int ret = paillier_ct_to_bytes(pub, c->v[i], out + i * w, w, err);
		if (ret) {
			ff_error_prefix(err, "element %zu", i);
			return ret;
		}
	}
	return FF_OK;
}

int paillier_vec_from_bytes(const struct paillier_pub *pub, struct paillier_vec *c,
			    const uint8_t *buf, size_t len, struct ff_error *err)
{
	size_t w = paillier_ct_size(pub), need;
	if (w == 0)
		return ff_error_set(err, FF_EINVAL, "paillier public key is not set");
	if (!ff_st_mult(w, c->len, &need) || len != need)
		return ff_error_set(err, FF_EINVAL,
				    "ciphertext vector of %zu values needs %zu bytes, got %zu", c->len,
				    c->len * w, len);
	for (size_t i = 0; i < c->len; i++) {
		int ret = paillier_ct_from_bytes(pub, c->v[i], buf + i * w, w, err);
		if (ret) {
			ff_error_prefix(err, "element %zu", i);
			return ret;
		}
	}
	return FF_OK;
}

/* ---- matrix-vector product ------------------------------------------------ */

struct matvec_job {
	const struct paillier_pub *pub;
	const int64_t *X;
	size_t rows, cols;
	const struct paillier_vec *ev;
	size_t blocks;     /* row blocks per column */
	mpz_t *pos, *neg;  /* cols * blocks partial products (1 = empty) */
	bool *has_neg;     /* cols * blocks */
};

static inline uint64_t abs64(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static unsigned bitlen64(uint64_t v)
{
	return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

/* Window minimising W * (m + 4 * 2^c) + c * W (see the DESIGN note). */
static unsigned pick_window(size_t m, unsigned bits)
{
	unsigned best = 1;
	double best_cost = -1;
	for (unsigned c = 1; c <= MATVEC_MAX_WINDOW && c <= bits; c++) {
		double w = (double)((bits + c - 1) / c);
		double cost = w * ((double)m + 4.0 * (double)(1u << c)) + (double)bits;
		if (best_cost < 0 || cost < best_cost) {
			best_cost = cost;
			best = c;
		}
	}
	return best;
}

/* dst = dst * src mod n2, where an unset dst takes src (saves the mul by 1). */
static inline void mul_into(mpz_t dst, bool *set, const mpz_t src, const mpz_t n2)
{
	if (*set) {
		mpz_mul(dst, dst, src);
		mpz_mod(dst, dst, n2);
	} else {
		mpz_set(dst, src);
		*set = true;
	}
}

/* acc *= sum_k k * bucket[k] via running products; clears the bucket flags. */
static void fold_buckets(mpz_t acc, bool *acc_set, mpz_t *bucket, bool *bset, size_t nb,
			 mpz_t run, mpz_t tot, const mpz_t n2)
{
	bool run_set = false, tot_set = false;
	for (size_t k = nb - 1; k >= 1; k--) {
		if (bset[k]) {
			mul_into(run, &run_set, bucket[k], n2);
			bset[k] = false;
		}
		if (run_set)
			mul_into(tot, &tot_set, run, n2);
	}
	if (tot_set)
		mul_into(acc, acc_set, tot, n2);
}

static void square_times(mpz_t acc, unsigned c, const mpz_t n2)
{
	for (unsigned s = 0; s < c; s++) {
		mpz_mul(acc, acc, acc);
		mpz_mod(acc, acc, n2);
	}
}

static int matvec_unit(void *ctx, size_t unit, unsigned tid)
{
	(void)tid;
	struct matvec_job *job = ctx;
	const mpz_srcptr n2 = job->pub->n2;
	size_t col = unit / job->blocks, blk = unit % job->blocks;
	size_t per = job->rows / job->blocks, extra = job->rows % job->blocks;
	size_t lo = blk * per + (blk < extra ? blk : extra);
	size_t hi = lo + per + (blk < extra ? 1 : 0);
	mpz_ptr pos = job->pos[unit], neg = job->neg[unit];

	uint64_t all = 0;
	for (size_t i = lo; i < hi; i++)
		all |= abs64(job->X[i * job->cols + col]);
	unsigned bits = bitlen64(all);
	mpz_set_ui(pos, 1);
	mpz_set_ui(neg, 1);
	if (bits == 0)
		return FF_OK;

	unsigned c = pick_window(hi - lo, bits);
	size_t nb = (size_t)1 << c;
	unsigned windows = (bits + c - 1) / c;
	mpz_t *bp = NULL, *bn = NULL;
	bool *sp = NULL, *sn = NULL;
	FF_ALLOC_ARRAY(bp, nb);
	FF_ALLOC_ARRAY(bn, nb);
	FF_ALLOC_ARRAY(sp, nb);
	FF_ALLOC_ARRAY(sn, nb);
	if (!bp || !bn || !sp || !sn) {
		ff_free(bp);
		ff_free(bn);
		ff_free(sp);
		ff_free(sn);
		return FF_ENOMEM;
	}
	mp_bitcnt_t width = 2 * (mp_bitcnt_t)job->pub->bits;
	for (size_t k = 0; k < nb; k++) {
		mpz_init2(bp[k], 2 * width);
		mpz_init2(bn[k], 2 * width);
	}
	mpz_t run, tot;
	mpz_init2(run, 2 * width);
	mpz_init2(tot, 2 * width);
	bool pos_set = false, neg_set = false, any_neg = false;
	uint64_t mask = nb - 1;

	for (unsigned w = windows; w-- > 0;) {
		if (pos_set)
			square_times(pos, c, n2);
		if (neg_set)
			square_times(neg, c, n2);
		unsigned sh = w * c;
		for (size_t i = lo; i < hi; i++) {
			int64_t x = job->X[i * job->cols + col];
			size_t d = (size_t)((abs64(x) >> sh) & mask);
			if (!d)
				continue;
			if (x > 0) {
				mul_into(bp[d], &sp[d], job->ev->v[i], n2);
			} else {
				mul_into(bn[d], &sn[d], job->ev->v[i], n2);
				any_neg = true;
			}
		}
		fold_buckets(pos, &pos_set, bp, sp, nb, run, tot, n2);
		fold_buckets(neg, &neg_set, bn, sn, nb, run, tot, n2);
	}
	job->has_neg[unit] = any_neg;
	for (size_t k = 0; k < nb; k++) {
		mpz_clear(bp[k]);
		mpz_clear(bn[k]);
	}
	mpz_clears(run, tot, NULL);
	ff_free(bp);
	ff_free(bn);
	ff_free(sp);
	ff_free(sn);
	return FF_OK;
}

static int matvec_check(const struct paillier_vec *out, const int64_t *X, size_t rows, size_t cols,
			const struct paillier_vec *ev, struct ff_error *err)
{
	if (ev->len != rows)
		return ff_error_set(err, FF_EINVAL, "encrypted vector has %zu values, matrix %zu rows",
				    ev->len, rows);
	if (out->len != cols)
		return ff_error_set(err, FF_EINVAL, "output has %zu values, matrix %zu columns",
				    out->len, cols);
	size_t cells;
	if (!ff_st_mult(rows, cols, &cells))
		return ff_error_set(err, FF_EINVAL, "matrix of %zu x %zu is too large", rows, cols);
	if (cells && !X)
		return ff_error_set(err, FF_EINVAL, "matrix is NULL");
	return FF_OK;
}

int paillier_matvec(const struct paillier_pub *pub, struct paillier_vec *out, const int64_t *X,
		    size_t rows, size_t cols, const struct paillier_vec *ev, unsigned nthreads,
		    struct ff_error *err)
{
	int ret = matvec_check(out, X, rows, cols, ev, err);
	if (ret)
		return ret;
	if (cols == 0)
		return FF_OK;
	if (nthreads == 0)
		nthreads = 1;
	if (nthreads > CRYPTO_PAR_MAX_THREADS)
		nthreads = CRYPTO_PAR_MAX_THREADS;

	/* enough units to keep every thread busy: split columns into row blocks
	 * when there are fewer than two columns per thread */
	size_t blocks = 1;
	if (cols < 2 * (size_t)nthreads) {
		blocks = (2 * (size_t)nthreads + cols - 1) / cols;
		size_t max_blocks = rows / MATVEC_MIN_BLOCK_ROWS;
		if (blocks > max_blocks)
			blocks = max_blocks ? max_blocks : 1;
	}
	size_t units = cols * blocks;
	struct matvec_job job = { .pub = pub, .X = X, .rows = rows, .cols = cols, .ev = ev,
				  .blocks = blocks };
	FF_ALLOC_ARRAY(job.pos, units);
	FF_ALLOC_ARRAY(job.neg, units);
	FF_ALLOC_ARRAY(job.has_neg, units);
	if (!job.pos || !job.neg || !job.has_neg) {
		ret = ff_error_set(err, FF_ENOMEM, "cannot allocate matvec state");
		goto out_free;
	}
	for (size_t u = 0; u < units; u++)
		mpz_inits(job.pos[u], job.neg[u], NULL);

	ret = crypto_par_units(units, nthreads, matvec_unit, &job);
	if (ret) {
		ff_error_set(err, ret, "matvec failed");
		goto out;
	}
	for (size_t j = 0; j < cols; j++) {
		mpz_ptr o = out->v[j];
		mpz_set(o, job.pos[j * blocks]);
		bool neg = job.has_neg[j * blocks];
		mpz_ptr nacc = job.neg[j * blocks];
		for (size_t b = 1; b < blocks; b++) {
			paillier_add(pub, o, o, job.pos[j * blocks + b]);
			paillier_add(pub, nacc, nacc, job.neg[j * blocks + b]);
			neg = neg || job.has_neg[j * blocks + b];
		}
		if (neg) {
			if (!mpz_invert(nacc, nacc, pub->n2)) {
				ret = ff_error_set(err, FF_EINVAL,
						   "column %zu: a ciphertext is not invertible mod n^2", j);
				goto out;
			}
			paillier_add(pub, o, o, nacc);
		}
	}
out:
	for (size_t u = 0; u < units; u++)
		mpz_clears(job.pos[u], job.neg[u], NULL);
out_free:
	ff_free(job.pos);
	ff_free(job.neg);
	ff_free(job.has_neg);
	return ret;
}

struct naive_job {
	const struct paillier_pub *pub;
	const int64_t *X;
	size_t rows, cols;
	const struct paillier_vec *ev;
	struct paillier_vec *out;
};

static int naive_unit(void *ctx, size_t col, unsigned tid)
{
	(void)tid;
	struct naive_job *job = ctx;
	mpz_ptr acc = job->out->v[col];
	mpz_t t;
	mpz_init(t);
	mpz_set_ui(acc, 1);
	int ret = FF_OK;
	for (size_t i = 0; i < job->rows && !ret; i++) {
		int64_t x = job->X[i * job->cols + col];
		ret = paillier_mul_si(job->pub, t, job->ev->v[i], x, NULL);
		if (!ret)
			paillier_add(job->pub, acc, acc, t);
	}
	mpz_clear(t);
	return ret;
}

int paillier_matvec_naive(const struct paillier_pub *pub, struct paillier_vec *out,
			  const int64_t *X, size_t rows, size_t cols, const struct paillier_vec *ev,
			  unsigned nthreads, struct ff_error *err)
{
	int ret = matvec_check(out, X, rows, cols, ev, err);
	if (ret)
		return ret;
	struct naive_job job = { .pub = pub, .X = X, .rows = rows, .cols = cols, .ev = ev,
				 .out = out };
	ret = crypto_par_units(cols, nthreads, naive_unit, &job);
	if (ret)
		ff_error_set(err, ret, "a ciphertext is not invertible mod n^2");
	return ret;
}
