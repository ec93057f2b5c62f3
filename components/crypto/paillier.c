// SPDX-License-Identifier: Apache-2.0
/*
 * paillier.c - Paillier keys, encryption (public, CRT, DJN), decryption with
 * CRT, homomorphic operations and the byte formats. The contract and the
 * security notes are in paillier.h; docs/internals/crypto.md has the design.
 *
 * Invariants kept by every function here: plaintexts in [0, n), ciphertexts
 * reduced mod n^2, temporaries cleared before return. Secret values (p, q,
 * CRT helpers, random r) are overwritten with zero limbs before their mpz is
 * freed (GMP itself may leave copies in freed reallocations; see the doc).
 */
#include "ff_setup.h"

#include <limits.h>
#include <sodium.h>

#include "mem.h"
#include "paillier.h"
#include "paillier_int.h"

static_assert(sizeof(unsigned long) >= sizeof(uint64_t),
	      "mpz_*_ui must take 64-bit operands (LP64)");

/* Miller-Rabin repetitions after GMP's Baillie-PSW (error < 4^-25 each). */
#define PRIME_REPS 25

/* ---- helpers shared through paillier_int.h ------------------------------- */

int paillier__sodium(struct ff_error *err)
{
	if (sodium_init() < 0)
		return ff_error_set(err, FF_EIO, "cannot initialise libsodium");
	return FF_OK;
}

void paillier__random_bits(mpz_t r, unsigned bits)
{
	uint8_t buf[2 * PAILLIER_MAX_BITS / 8 + 1];
	size_t nbytes = (bits + 7) / 8;
	assert(nbytes <= sizeof(buf));
	if (nbytes == 0) {
		mpz_set_ui(r, 0);
		return;
	}
	randombytes_buf(buf, nbytes);
	mpz_import(r, nbytes, 1, 1, 1, 0, buf);
	mpz_tdiv_r_2exp(r, r, bits);
	sodium_memzero(buf, nbytes);
}

void paillier__random_below(mpz_t r, const mpz_t bound)
{
	unsigned bits = (unsigned)mpz_sizeinbase(bound, 2);
	/* at most two draws on average: bound >= 2^(bits-1) */
	do {
		paillier__random_bits(r, bits);
	} while (mpz_cmp(r, bound) >= 0);
}

void paillier__random_unit(mpz_t r, const mpz_t n)
{
	mpz_t g;
	mpz_init(g);
	for (;;) {
		paillier__random_below(r, n);
		if (mpz_sgn(r) == 0)
			continue;
		mpz_gcd(g, r, n);
		if (mpz_cmp_ui(g, 1) == 0)
			break;
	}
	mpz_clear(g);
}

bool paillier__export_fixed(uint8_t *out, size_t width, const mpz_t z)
{
	if (mpz_sgn(z) < 0)
		return false;
	if (mpz_sgn(z) == 0) {
		memset(out, 0, width);
		return true;
	}
	size_t need = (mpz_sizeinbase(z, 2) + 7) / 8;
	if (need > width)
		return false;
	memset(out, 0, width - need);
	mpz_export(out + (width - need), NULL, 1, 1, 1, 0, z);
	return true;
}

/* Overwrites the limbs of a secret with zeros, then frees it. */
static void clear_secret(mpz_t z)
{
	size_t nlimbs = mpz_size(z);
	if (nlimbs)
		sodium_memzero(mpz_limbs_modify(z, (mp_size_t)nlimbs), nlimbs * sizeof(mp_limb_t));
	mpz_clear(z);
}

/* ---- key lifecycle -------------------------------------------------------- */

void paillier_pub_init(struct paillier_pub *pub)
{
	pub->bits = 0;
	pub->n_bytes = 0;
	mpz_inits(pub->n, pub->n2, pub->g, pub->max_int, NULL);
}

void paillier_pub_release(struct paillier_pub *pub)
{
	mpz_clears(pub->n, pub->n2, pub->g, pub->max_int, NULL);
	pub->bits = 0;
	pub->n_bytes = 0;
}

void paillier_priv_init(struct paillier_priv *priv)
{
	paillier_pub_init(&priv->pub);
	mpz_inits(priv->p, priv->q, priv->p2, priv->q2, priv->pm1, priv->qm1, priv->hp, priv->hq,
		  priv->p_inv_q, priv->p2_inv_q2, priv->n_mod_pphi, priv->n_mod_qphi, NULL);
}

void paillier_priv_release(struct paillier_priv *priv)
{
	clear_secret(priv->p);
	clear_secret(priv->q);
	clear_secret(priv->p2);
	clear_secret(priv->q2);
	clear_secret(priv->pm1);
	clear_secret(priv->qm1);
	clear_secret(priv->hp);
	clear_secret(priv->hq);
	clear_secret(priv->p_inv_q);
	clear_secret(priv->p2_inv_q2);
	clear_secret(priv->n_mod_pphi);
	clear_secret(priv->n_mod_qphi);
	paillier_pub_release(&priv->pub);
}

static void pub_set_unchecked(struct paillier_pub *pub, const mpz_t n)
{
	pub->bits = (unsigned)mpz_sizeinbase(n, 2);
	pub->n_bytes = (pub->bits + 7) / 8;
	mpz_set(pub->n, n);
	mpz_mul(pub->n2, n, n);
	mpz_add_ui(pub->g, n, 1);
	mpz_fdiv_q_ui(pub->max_int, n, 3);
	mpz_sub_ui(pub->max_int, pub->max_int, 1);
}

int paillier_pub_set_n(struct paillier_pub *pub, const mpz_t n, struct ff_error *err)
{
	if (mpz_sgn(n) <= 0)
		return ff_error_set(err, FF_EINVAL, "paillier modulus must be positive");
	size_t bits = mpz_sizeinbase(n, 2);
	if (bits < PAILLIER_MIN_BITS)
		return ff_error_set(err, FF_EINVAL,
				    "paillier key length %zu is below the minimum of %u bits", bits,
				    PAILLIER_MIN_BITS);
	if (bits > PAILLIER_MAX_BITS)
		return ff_error_set(err, FF_EINVAL,
				    "paillier key length %zu is above the maximum of %u bits", bits,
				    PAILLIER_MAX_BITS);
	if (mpz_even_p(n))
		return ff_error_set(err, FF_EINVAL, "paillier modulus is even");
	if (mpz_perfect_square_p(n))
		return ff_error_set(err, FF_EINVAL, "paillier modulus is a perfect square");
	pub_set_unchecked(pub, n);
	return FF_OK;
}

void paillier_pub_copy(struct paillier_pub *dst, const struct paillier_pub *src)
{
	dst->bits = src->bits;
	dst->n_bytes = src->n_bytes;
	mpz_set(dst->n, src->n);
	mpz_set(dst->n2, src->n2);
	mpz_set(dst->g, src->g);
	mpz_set(dst->max_int, src->max_int);
}

static int check_bits(unsigned bits, struct ff_error *err)
{
	if (bits < PAILLIER_MIN_BITS)
		return ff_error_set(err, FF_EINVAL,
				    "paillier key length %u is below the minimum of %u bits", bits,
				    PAILLIER_MIN_BITS);
	if (bits > PAILLIER_MAX_BITS)
		return ff_error_set(err, FF_EINVAL,
				    "paillier key length %u is above the maximum of %u bits", bits,
				    PAILLIER_MAX_BITS);
	if (bits % 2)
		return ff_error_set(err, FF_EINVAL, "paillier key length %u is not even", bits);
	return FF_OK;
}

/* h = L_x(g^(x-1) mod x^2)^-1 mod x with L_x(u) = (u - 1) / x. */
static bool h_function(mpz_t h, const mpz_t g, const mpz_t x, const mpz_t xm1, const mpz_t x2)
{
	mpz_powm(h, g, xm1, x2);
	mpz_sub_ui(h, h, 1);
	mpz_divexact(h, h, x);
	return mpz_invert(h, h, x) != 0;
}

/* Fills every derived field of priv from p and q; the caller checked them. */
static int priv_derive(struct paillier_priv *priv, const mpz_t p, const mpz_t q,
		       struct ff_error *err)
{
	int ret = FF_OK;
	mpz_t n, t, u;
	mpz_inits(n, t, u, NULL);
	mpz_mul(n, p, q);
	ret = paillier_pub_set_n(&priv->pub, n, err);
	if (ret)
		goto out;
	/* Paillier needs gcd(n, (p-1)(q-1)) = 1 (always true for equal-size primes) */
	mpz_sub_ui(t, p, 1);
	mpz_sub_ui(u, q, 1);
	mpz_mul(t, t, u);
	mpz_gcd(t, t, n);
	if (mpz_cmp_ui(t, 1) != 0) {
		ret = ff_error_set(err, FF_EINVAL, "gcd(n, phi(n)) is not 1");
		goto out;
	}
	mpz_set(priv->p, p);
	mpz_set(priv->q, q);
	mpz_mul(priv->p2, p, p);
	mpz_mul(priv->q2, q, q);
	mpz_sub_ui(priv->pm1, p, 1);
	mpz_sub_ui(priv->qm1, q, 1);
	if (!h_function(priv->hp, priv->pub.g, p, priv->pm1, priv->p2) ||
	    !h_function(priv->hq, priv->pub.g, q, priv->qm1, priv->q2) ||
	    !mpz_invert(priv->p_inv_q, p, q) || !mpz_invert(priv->p2_inv_q2, priv->p2, priv->q2)) {
		ret = ff_error_set(err, FF_EINVAL, "paillier primes give no CRT inverse");
		goto out;
	}
	/* r^n mod p^2 = r^(n mod p(p-1)) mod p^2 for r coprime to p */
	mpz_mul(t, p, priv->pm1);
	mpz_mod(priv->n_mod_pphi, n, t);
	mpz_mul(t, q, priv->qm1);
	mpz_mod(priv->n_mod_qphi, n, t);
out:
	mpz_clears(n, t, u, NULL);
	return ret;
}

int paillier_priv_from_primes(struct paillier_priv *priv, const mpz_t p, const mpz_t q,
			      struct ff_error *err)
{
	if (mpz_sgn(p) <= 0 || mpz_sgn(q) <= 0)
		return ff_error_set(err, FF_EINVAL, "paillier primes must be positive");
	size_t pb = mpz_sizeinbase(p, 2), qb = mpz_sizeinbase(q, 2);
	if (pb != qb)
		return ff_error_set(err, FF_EINVAL, "paillier primes differ in size (%zu and %zu bits)",
				    pb, qb);
	if (pb * 2 > UINT_MAX)
		return ff_error_set(err, FF_EINVAL, "paillier primes are too large");
	if (mpz_cmp(p, q) == 0)
		return ff_error_set(err, FF_EINVAL, "paillier primes are equal");
	if (!mpz_probab_prime_p(p, PRIME_REPS) || !mpz_probab_prime_p(q, PRIME_REPS))
		return ff_error_set(err, FF_EINVAL, "paillier factor is not prime");
	mpz_t n;
	mpz_init(n);
	mpz_mul(n, p, q);
	int ret = check_bits((unsigned)mpz_sizeinbase(n, 2), err);
	mpz_clear(n);
	if (ret)
		return ret;
	return priv_derive(priv, p, q, err);
}

/* A random prime of exactly `bits` bits with its two top bits set. */
static void random_prime(mpz_t p, unsigned bits)
{
	for (;;) {
		paillier__random_bits(p, bits);
		mpz_setbit(p, bits - 1);
		mpz_setbit(p, bits - 2);
		mpz_setbit(p, 0);
		if (mpz_probab_prime_p(p, PRIME_REPS))
			return;
	}
}

int paillier_keygen(struct paillier_priv *priv, unsigned bits, struct ff_error *err)
{
	int ret = check_bits(bits, err);
	if (ret)
		return ret;
	ret = paillier__sodium(err);
	if (ret)
		return ret;
	mpz_t p, q;
	mpz_inits(p, q, NULL);
	/*
	 * With the two top bits set, p, q >= 3 * 2^(k-2) so pq >= 9 * 2^(2k-4)
	 * > 2^(2k-1): n always has exactly 2k bits; the loop guards the rest.
	 */
	for (;;) {
		random_prime(p, bits / 2);
		do {
			random_prime(q, bits / 2);
		} while (mpz_cmp(p, q) == 0);
		ret = priv_derive(priv, p, q, err);
		if (ret == FF_OK && priv->pub.bits == bits)
			break;
		if (ret && ret != FF_EINVAL)
			break;
		ff_error_clear(err);
		ret = FF_OK;
	}
	clear_secret(p);
	clear_secret(q);
	return ret;
}

/* ---- encryption / decryption ------------------------------------------ */

static int check_plain(const struct paillier_pub *pub, const mpz_t m, struct ff_error *err)
{
	if (mpz_sgn(m) < 0 || mpz_cmp(m, pub->n) >= 0)
		return ff_error_set(err, FF_EINVAL, "paillier plaintext is not in [0, n)");
	return FF_OK;
}

static int check_r(const struct paillier_pub *pub, const mpz_t r, struct ff_error *err)
{
	if (mpz_sgn(r) <= 0 || mpz_cmp(r, pub->n) >= 0)
		return ff_error_set(err, FF_EINVAL, "paillier randomness is not in [1, n)");
	mpz_t g;
	mpz_init(g);
	mpz_gcd(g, r, pub->n);
	bool unit = mpz_cmp_ui(g, 1) == 0;
	mpz_clear(g);
	if (!unit)
		return ff_error_set(err, FF_EINVAL, "paillier randomness is not coprime to n");
	return FF_OK;
}

static int check_ct(const struct paillier_pub *pub, const mpz_t c, struct ff_error *err)
{
	if (mpz_sgn(c) <= 0 || mpz_cmp(c, pub->n2) >= 0)
		return ff_error_set(err, FF_EINVAL, "paillier ciphertext is not in (0, n^2)");
	return FF_OK;
}

/* c = (1 + m*n) * rn mod n^2; (1 + m*n) < n^2 needs no reduction. */
static void finish_encrypt(const struct paillier_pub *pub, mpz_t c, const mpz_t m, const mpz_t rn)
{
	mpz_t gm;
	mpz_init(gm);
	mpz_mul(gm, m, pub->n);
	mpz_add_ui(gm, gm, 1);
	mpz_mul(c, gm, rn);
	mpz_mod(c, c, pub->n2);
	mpz_clear(gm);
}

/* rn = r^n mod n^2 via CRT over p^2 and q^2. */
static void rn_crt(const struct paillier_priv *priv, mpz_t rn, const mpz_t r)
{
	mpz_t xp, xq;
	mpz_inits(xp, xq, NULL);
	mpz_powm(xp, r, priv->n_mod_pphi, priv->p2);
	mpz_powm(xq, r, priv->n_mod_qphi, priv->q2);
	/* rn = xp + p^2 * ((xq - xp) * (p^2)^-1 mod q^2) */
	mpz_sub(xq, xq, xp);
	mpz_mul(xq, xq, priv->p2_inv_q2);
	mpz_mod(xq, xq, priv->q2);
	mpz_mul(xq, xq, priv->p2);
	mpz_add(rn, xp, xq);
	clear_secret(xp);
	clear_secret(xq);
}

int paillier_encrypt_r(const struct paillier_pub *pub, mpz_t c, const mpz_t m, const mpz_t r,
		       struct ff_error *err)
{
	int ret = check_plain(pub, m, err);
	if (!ret)
		ret = check_r(pub, r, err);
	if (ret)
		return ret;
	mpz_t rn;
	mpz_init(rn);
	mpz_powm(rn, r, pub->n, pub->n2);
	finish_encrypt(pub, c, m, rn);
	clear_secret(rn);
	return FF_OK;
}

int paillier_encrypt(const struct paillier_pub *pub, mpz_t c, const mpz_t m, struct ff_error *err)
{
	int ret = check_plain(pub, m, err);
	if (!ret)
		ret = paillier__sodium(err);
	if (ret)
		return ret;
	mpz_t r;
	mpz_init(r);
	paillier__random_unit(r, pub->n);
	mpz_powm(r, r, pub->n, pub->n2);
	finish_encrypt(pub, c, m, r);
	clear_secret(r);
	return FF_OK;
}

int paillier_encrypt_crt_r(const struct paillier_priv *priv, mpz_t c, const mpz_t m,
			   const mpz_t r, struct ff_error *err)
{
	int ret = check_plain(&priv->pub, m, err);
	if (!ret)
		ret = check_r(&priv->pub, r, err);
	if (ret)
		return ret;
	mpz_t rn;
	mpz_init(rn);
	rn_crt(priv, rn, r);
	finish_encrypt(&priv->pub, c, m, rn);
	clear_secret(rn);
	return FF_OK;
}

int paillier_encrypt_crt(const struct paillier_priv *priv, mpz_t c, const mpz_t m,
			 struct ff_error *err)
{
	int ret = check_plain(&priv->pub, m, err);
	if (!ret)
		ret = paillier__sodium(err);
	if (ret)
		return ret;
	mpz_t r;
	mpz_init(r);
	paillier__random_unit(r, priv->pub.n);
	rn_crt(priv, r, r);
	finish_encrypt(&priv->pub, c, m, r);
	clear_secret(r);
	return FF_OK;
}

/* mx = L_x(c^(x-1) mod x^2) * hx mod x */
static void decrypt_half(mpz_t mx, const mpz_t c, const mpz_t x, const mpz_t xm1, const mpz_t x2,
			 const mpz_t hx)
{
	mpz_powm(mx, c, xm1, x2);
	mpz_sub_ui(mx, mx, 1);
	mpz_divexact(mx, mx, x);
	mpz_mul(mx, mx, hx);
	mpz_mod(mx, mx, x);
}

int paillier_decrypt(const struct paillier_priv *priv, mpz_t m, const mpz_t c, struct ff_error *err)
{
	int ret = check_ct(&priv->pub, c, err);
	if (ret)
		return ret;
	mpz_t mp, mq;
	mpz_inits(mp, mq, NULL);
	decrypt_half(mp, c, priv->p, priv->pm1, priv->p2, priv->hp);
	decrypt_half(mq, c, priv->q, priv->qm1, priv->q2, priv->hq);
	/* m = mp + p * ((mq - mp) * p^-1 mod q) */
	mpz_sub(mq, mq, mp);
	mpz_mul(mq, mq, priv->p_inv_q);
	mpz_mod(mq, mq, priv->q);
	mpz_mul(mq, mq, priv->p);
	mpz_add(m, mp, mq);
	clear_secret(mp);
	clear_secret(mq);
	return FF_OK;
}

int paillier_decrypt_nocrt(const struct paillier_priv *priv, mpz_t m, const mpz_t c,
			   struct ff_error *err)
{
	int ret = check_ct(&priv->pub, c, err);
	if (ret)
		return ret;
	const struct paillier_pub *pub = &priv->pub;
	mpz_t lambda, mu, u;
	mpz_inits(lambda, mu, u, NULL);
	/* with g = n + 1: lambda = phi(n), mu = phi(n)^-1 mod n */
	mpz_mul(lambda, priv->pm1, priv->qm1);
	if (!mpz_invert(mu, lambda, pub->n)) {
		ret = ff_error_set(err, FF_EINVAL, "phi(n) is not invertible mod n");
		goto out;
	}
	mpz_powm(u, c, lambda, pub->n2);
	mpz_sub_ui(u, u, 1);
	mpz_divexact(u, u, pub->n);
	mpz_mul(u, u, mu);
	mpz_mod(m, u, pub->n);
out:
	clear_secret(lambda);
	clear_secret(mu);
	clear_secret(u);
	return ret;
}

/* ---- homomorphic operations ------------------------------------------- */

void paillier_add(const struct paillier_pub *pub, mpz_t out, const mpz_t a, const mpz_t b)
{
	mpz_mul(out, a, b);
	mpz_mod(out, out, pub->n2);
}

int paillier_add_plain(const struct paillier_pub *pub, mpz_t out, const mpz_t c, const mpz_t m,
		       struct ff_error *err)
{
	int ret = check_plain(pub, m, err);
	if (ret)
		return ret;
	mpz_t gm;
	mpz_init(gm);
	mpz_mul(gm, m, pub->n);
	mpz_add_ui(gm, gm, 1);
	mpz_mul(out, c, gm);
	mpz_mod(out, out, pub->n2);
	mpz_clear(gm);
	return FF_OK;
}

int paillier_neg(const struct paillier_pub *pub, mpz_t out, const mpz_t c, struct ff_error *err)
{
	if (!mpz_invert(out, c, pub->n2))
		return ff_error_set(err, FF_EINVAL, "paillier ciphertext is not invertible mod n^2");
	return FF_OK;
}

int paillier_mul(const struct paillier_pub *pub, mpz_t out, const mpz_t c, const mpz_t k,
		 struct ff_error *err)
{
	if (mpz_sgn(k) < 0 || mpz_cmp(k, pub->n) >= 0)
		return ff_error_set(err, FF_EINVAL, "paillier scalar is not in [0, n)");
	mpz_t neg;
	mpz_init(neg);
	mpz_sub(neg, pub->n, k);
	int ret = FF_OK;
	if (mpz_cmp(neg, pub->max_int) <= 0) {
		/* negative band: c^k = (c^-1)^(n-k), a short exponent */
		mpz_t inv;
		mpz_init(inv);
		if (mpz_invert(inv, c, pub->n2))
			mpz_powm(out, inv, neg, pub->n2);
		else
			ret = ff_error_set(err, FF_EINVAL,
					   "paillier ciphertext is not invertible mod n^2");
		mpz_clear(inv);
	} else {
		mpz_powm(out, c, k, pub->n2);
	}
	mpz_clear(neg);
	return ret;
}

int paillier_mul_si(const struct paillier_pub *pub, mpz_t out, const mpz_t c, int64_t k,
		    struct ff_error *err)
{
	uint64_t mag = k < 0 ? (uint64_t)0 - (uint64_t)k : (uint64_t)k;
	mpz_t e;
	mpz_init_set_ui(e, (unsigned long)mag);
	int ret = FF_OK;
	if (k < 0) {
		mpz_t inv;
		mpz_init(inv);
		if (mpz_invert(inv, c, pub->n2))
			mpz_powm(out, inv, e, pub->n2);
		else
			ret = ff_error_set(err, FF_EINVAL,
					   "paillier ciphertext is not invertible mod n^2");
		mpz_clear(inv);
	} else {
		mpz_powm(out, c, e, pub->n2);
	}
	mpz_clear(e);
	return ret;
}

int paillier_obfuscate(const struct paillier_pub *pub, mpz_t out, const mpz_t c,
		       struct ff_error *err)
{
	int ret = paillier__sodium(err);
	if (ret)
		return ret;
	mpz_t r;
	mpz_init(r);
	paillier__random_unit(r, pub->n);
	mpz_powm(r, r, pub->n, pub->n2);
	mpz_mul(out, c, r);
	mpz_mod(out, out, pub->n2);
	clear_secret(r);
	return FF_OK;
}

/* ---- DJN short-exponent randomisers --------------------------------------- */

void paillier_djn_init(struct paillier_djn *djn)
{
	*djn = (struct paillier_djn){ 0 };
}

void paillier_djn_release(struct paillier_djn *djn)
{
	if (djn->table) {
		size_t per_row = ((size_t)1 << djn->window) - 1;
		for (size_t i = 0; i < djn->rows * per_row; i++)
			mpz_clear(djn->table[i]);
		ff_free(djn->table);
	}
	*djn = (struct paillier_djn){ 0 };
}

int paillier_djn_setup_x(struct paillier_djn *djn, const struct paillier_pub *pub,
			 unsigned window, const mpz_t x, struct ff_error *err)
{
	if (window == 0)
		window = PAILLIER_DJN_DEFAULT_WINDOW;
	if (window > 10)
		return ff_error_set(err, FF_EINVAL, "djn window %u is not in 1..10", window);
	int ret = check_r(pub, x, err);
	if (ret)
		return ret;
	paillier_djn_release(djn);

	unsigned exp_bits = pub->bits / 2;
	size_t rows = (exp_bits + window - 1) / window;
	size_t per_row = ((size_t)1 << window) - 1;
	size_t total, bytes;
	if (!ff_st_mult(rows, per_row, &total) || !ff_st_mult(total, 2 * pub->n_bytes, &bytes) ||
	    bytes > PAILLIER_DJN_MAX_TABLE_BYTES)
		return ff_error_set(err, FF_E2BIG,
				    "djn table for a %u-bit key with window %u exceeds %u MiB", pub->bits,
				    window, PAILLIER_DJN_MAX_TABLE_BYTES >> 20);
	mpz_t *table = NULL;
	FF_ALLOC_ARRAY(table, total);
	if (!table)
		return ff_error_set(err, FF_ENOMEM, "cannot allocate djn table of %zu entries", total);
	for (size_t i = 0; i < total; i++)
		mpz_init2(table[i], 2 * pub->bits);

	/* hs = (-x^2 mod n)^n mod n^2 */
	mpz_t base;
	mpz_init(base);
	mpz_mul(base, x, x);
	mpz_mod(base, base, pub->n);
	mpz_sub(base, pub->n, base);
	mpz_powm(base, base, pub->n, pub->n2);
	for (size_t row = 0; row < rows; row++) {
		/* entries k*B for k = 1 .. 2^w - 1 where B = hs^(2^(w*row)) */
		mpz_t *e = table + row * per_row;
		mpz_set(e[0], base);
		for (size_t k = 1; k < per_row; k++) {
			mpz_mul(e[k], e[k - 1], base);
			mpz_mod(e[k], e[k], pub->n2);
		}
		mpz_mul(base, e[per_row - 1], base); /* B^(2^w) */
		mpz_mod(base, base, pub->n2);
	}
	clear_secret(base);
	djn->pub = pub;
	djn->exp_bits = exp_bits;
	djn->window = window;
	djn->rows = rows;
	djn->table = table;
	return FF_OK;
}

int paillier_djn_setup(struct paillier_djn *djn, const struct paillier_pub *pub, unsigned window,
		       struct ff_error *err)
{
	int ret = paillier__sodium(err);
	if (ret)
		return ret;
	mpz_t x;
	mpz_init(x);
	paillier__random_unit(x, pub->n);
	ret = paillier_djn_setup_x(djn, pub, window, x, err);
	clear_secret(x);
	return ret;
}

/* rn = hs^a, a < 2^exp_bits: one table multiplication per non-zero digit. */
static void djn_pow(const struct paillier_djn *djn, mpz_t rn, const mpz_t a)
{
	size_t per_row = ((size_t)1 << djn->window) - 1;
	bool set = false;
	for (size_t row = 0; row < djn->rows; row++) {
		size_t digit = 0;
		mp_bitcnt_t lo = (mp_bitcnt_t)(row * djn->window);
		for (unsigned b = 0; b < djn->window; b++)
			digit |= (size_t)mpz_tstbit(a, lo + b) << b;
		if (!digit)
			continue;
		mpz_srcptr e = djn->table[row * per_row + digit - 1];
		if (set) {
			mpz_mul(rn, rn, e);
			mpz_mod(rn, rn, djn->pub->n2);
		} else {
			mpz_set(rn, e);
			set = true;
		}
	}
	if (!set)
		mpz_set_ui(rn, 1);
}

int paillier_djn_rn_a(const struct paillier_djn *djn, mpz_t rn, const mpz_t a, struct ff_error *err)
{
	if (!djn->table)
		return ff_error_set(err, FF_EINVAL, "djn context is not set up");
	if (mpz_sgn(a) < 0 || mpz_sizeinbase(a, 2) > djn->exp_bits)
		return ff_error_set(err, FF_EINVAL, "djn exponent is not in [0, 2^%u)", djn->exp_bits);
	djn_pow(djn, rn, a);
	return FF_OK;
}

int paillier_djn_rn(const struct paillier_djn *djn, mpz_t rn, struct ff_error *err)
{
	if (!djn->table)
		return ff_error_set(err, FF_EINVAL, "djn context is not set up");
	mpz_t a;
	mpz_init(a);
	paillier__random_bits(a, djn->exp_bits);
	djn_pow(djn, rn, a);
	clear_secret(a);
	return FF_OK;
}

int paillier_encrypt_djn(const struct paillier_djn *djn, mpz_t c, const mpz_t m,
			 struct ff_error *err)
{
	if (!djn->table)
		return ff_error_set(err, FF_EINVAL, "djn context is not set up");
	int ret = check_plain(djn->pub, m, err);
	if (ret)
		return ret;
	mpz_t rn;
	mpz_init(rn);
	ret = paillier_djn_rn(djn, rn, err);
	if (!ret)
		finish_encrypt(djn->pub, c, m, rn);
	clear_secret(rn);
	return ret;
}

int paillier_obfuscate_djn(const struct paillier_djn *djn, mpz_t out, const mpz_t c,
			   struct ff_error *err)
{
	mpz_t rn;
	mpz_init(rn);
	int ret = paillier_djn_rn(djn, rn, err);
	if (!ret) {
		mpz_mul(out, c, rn);
		mpz_mod(out, out, djn->pub->n2);
	}
	clear_secret(rn);
	return ret;
}

/* ---- serialisation ------------------------------------------------------ */

size_t paillier_pub_size(const struct paillier_pub *pub)
{
	return 4 + pub->n_bytes;
}

int paillier_pub_to_bytes(const struct paillier_pub *pub, uint8_t *out, size_t cap,
			  struct ff_error *err)
{
	size_t need = paillier_pub_size(pub);
	if (pub->bits == 0)
		return ff_error_set(err, FF_EINVAL, "paillier public key is not set");
	if (cap < need)
		return ff_error_set(err, FF_E2BIG, "paillier public key needs %zu bytes, have %zu",
				    need, cap);
	out[0] = (uint8_t)(pub->bits >> 24);
	out[1] = (uint8_t)(pub->bits >> 16);
	out[2] = (uint8_t)(pub->bits >> 8);
	out[3] = (uint8_t)pub->bits;
	if (!paillier__export_fixed(out + 4, pub->n_bytes, pub->n))
		return ff_error_set(err, FF_EINVAL, "paillier modulus does not fit its width");
	return FF_OK;
}

int paillier_pub_from_bytes(struct paillier_pub *pub, const uint8_t *buf, size_t len,
			    struct ff_error *err)
{
	if (len < 4)
		return ff_error_set(err, FF_EINVAL, "paillier public key truncated (%zu bytes)", len);
	uint32_t bits = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 |
			(uint32_t)buf[3];
	if (bits < PAILLIER_MIN_BITS || bits > PAILLIER_MAX_BITS)
		return ff_error_set(err, FF_EINVAL,
				    "paillier public key length %u is not in [%u, %u] bits", bits,
				    PAILLIER_MIN_BITS, PAILLIER_MAX_BITS);
	size_t want = 4 + ((size_t)bits + 7) / 8;
	if (len != want)
		return ff_error_set(err, FF_EINVAL,
				    "paillier public key of %u bits needs %zu bytes, got %zu", bits,
				    want, len);
	mpz_t n;
	mpz_init(n);
	mpz_import(n, len - 4, 1, 1, 1, 0, buf + 4);
	int ret = FF_OK;
	if (mpz_sizeinbase(n, 2) != bits)
		ret = ff_error_set(err, FF_EINVAL, "paillier modulus does not have %u bits", bits);
	else
		ret = paillier_pub_set_n(pub, n, err);
	mpz_clear(n);
	return ret;
}

size_t paillier_ct_size(const struct paillier_pub *pub)
{
	return 2 * pub->n_bytes;
}

int paillier_ct_to_bytes(const struct paillier_pub *pub, const mpz_t c, uint8_t *out, size_t cap,
			 struct ff_error *err)
{
	size_t need = paillier_ct_size(pub);
	if (cap < need)
		return ff_error_set(err, FF_E2BIG, "paillier ciphertext needs %zu bytes, have %zu",
				    need, cap);
	if (mpz_sgn(c) < 0 || mpz_cmp(c, pub->n2) >= 0 || !paillier__export_fixed(out, need, c))
		return ff_error_set(err, FF_EINVAL, "paillier ciphertext is not in [0, n^2)");
	return FF_OK;
}

int paillier_ct_from_bytes(const struct paillier_pub *pub, mpz_t c, const uint8_t *buf, size_t len,
			   struct ff_error *err)
{
	size_t want = paillier_ct_size(pub);
	if (want == 0)
		return ff_error_set(err, FF_EINVAL, "paillier public key is not set");
	if (len != want)
		return ff_error_set(err, FF_EINVAL, "paillier ciphertext needs %zu bytes, got %zu", want,
				    len);
	mpz_import(c, len, 1, 1, 1, 0, buf);
	return check_ct(pub, c, err);
}
