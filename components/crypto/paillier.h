/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paillier.h - Paillier additively homomorphic encryption for the built-in
 * provider (hetero LR, SecureBoost), on GMP with randomness from libsodium.
 *
 * Scheme (g = n + 1, as FATE's fate_utils and python-paillier):
 *   E(m; r) = (1 + m*n) * r^n mod n^2,   r uniform in Z*_n
 *   D(c)    = CRT of L_p(c^(p-1) mod p^2)*hp mod p and the same mod q
 *   E(a)*E(b) = E(a+b),  E(a)^k = E(k*a),  E(a)^-1 = E(-a)   (all mod n)
 *
 * Plaintexts are integers mod n. Signed values use the upper part of Z_n for
 * negatives, with python-paillier's bands: [0, max_int] positive,
 * [n - max_int, n) negative, anything between is an overflow and is refused
 * on decode (FF_ERANGE), never wrapped silently. max_int = floor(n/3) - 1
 * (python-paillier's value; "n/3" in FATE's notes), so the sum of two
 * in-range values is still detectable as out of range.
 *
 * Two fixed-point encodings of doubles are provided:
 *   - paillier_encode_fixed/decode_fixed: FATE LR's integer encoding,
 *     round(x * 2^frac_bits) mod n (FATE uses frac_bits = 23). A product of
 *     two encoded values carries 2*frac_bits; decode it with that scale.
 *   - paillier_encode/decode with struct paillier_encnum: python-paillier's
 *     EncodedNumber (BASE 16, 53-bit mantissa, exponent kept beside the
 *     integer), bit-exact with phe.EncodedNumber.encode/decode.
 *
 * Randomness: every random value comes from libsodium's randombytes_buf
 * (the OS CSPRNG), imported into GMP; GMP's own generators are never used.
 *
 * Fast obfuscation (struct paillier_djn): Damgard-Jurik-Nielsen short
 * exponents. The encryptor draws x in Z*_n, sets h = -x^2 mod n and
 * hs = h^n mod n^2 once, and then uses hs^a for a fresh random a of
 * bits/2 bits in place of r^n, with a fixed-base window table for hs.
 * SECURITY ASSUMPTION: this is semantically secure under DCR plus the
 * assumption (DJN 2010, "A Generalization of Paillier's Public-Key System
 * with Applications to Electronic Voting", sec. 4.2) that h^a for a random
 * bits/2-bit a is indistinguishable from a uniform element of the subgroup
 * <h> of Jacobi-symbol-1 elements. It is weaker than plain Paillier (which
 * needs DCR only). Use paillier_encrypt/paillier_obfuscate where only the
 * textbook assumption is acceptable.
 *
 * Side channels: GMP's mpz_powm and the window tables are NOT constant-time
 * (timing and cache access depend on exponents, including p-1 and q-1 in
 * decryption and the DJN exponent a). Fine for parties on separate machines
 * (FATE's model, FATE's own code is the same), not for a co-resident attacker.
 *
 * Memory: GMP aborts the process when it cannot allocate; fedflow does not
 * install GMP allocation hooks (they are process-global). fedflow-side
 * allocations (vectors, tables) return FF_ENOMEM.
 *
 * Thread-safety: keys, djn contexts and vectors are read-only after set-up
 * and may be shared by any number of threads; outputs must not alias across
 * threads. Functions that take nthreads start that many pthreads (the calling
 * thread is one of them) and join them before returning. Every
 * `struct ff_error *err` may be NULL.
 */
#ifndef PAILLIER_H
#define PAILLIER_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "err.h"

#define PAILLIER_MIN_BITS 1024u /* FATE's minimum (arch/config/default.yaml) */
#define PAILLIER_MAX_BITS 8192u
#define PAILLIER_DEFAULT_FRAC_BITS 23u /* FATE LR's floating_point_precision */

/*
 * Public key. `bits` is the exact bit length of n; n_bytes = bits/8 rounded
 * up. Initialise with paillier_pub_init before any other use; release with
 * paillier_pub_release.
 */
struct paillier_pub {
	unsigned bits;
	size_t n_bytes;
	mpz_t n;
	mpz_t n2;      /* n^2 */
	mpz_t g;       /* n + 1 */
	mpz_t max_int; /* floor(n/3) - 1 */
};

/*
 * Private key: the public key plus the CRT material. Same lifecycle rules.
 * Release wipes the secret limbs before freeing them.
 */
struct paillier_priv {
	struct paillier_pub pub;
	mpz_t p, q;
	mpz_t p2, q2;        /* p^2, q^2 */
	mpz_t pm1, qm1;      /* p - 1, q - 1 (decryption exponents) */
	mpz_t hp, hq;        /* L_p(g^(p-1) mod p^2)^-1 mod p, same for q */
	mpz_t p_inv_q;       /* p^-1 mod q (plaintext CRT) */
	mpz_t p2_inv_q2;     /* (p^2)^-1 mod q^2 (ciphertext CRT) */
	mpz_t n_mod_pphi;    /* n mod p(p-1): exponent of r^n mod p^2 */
	mpz_t n_mod_qphi;    /* n mod q(q-1) */
};

void paillier_pub_init(struct paillier_pub *pub);
void paillier_pub_release(struct paillier_pub *pub);
void paillier_priv_init(struct paillier_priv *priv);
void paillier_priv_release(struct paillier_priv *priv);

/*
 * Sets pub from the modulus n (borrowed, copied). Checks what a public party
 * can check: PAILLIER_MIN_BITS <= bits(n) <= PAILLIER_MAX_BITS, n odd, not a
 * perfect square. FF_EINVAL otherwise. pub must be initialised.
 */
int paillier_pub_set_n(struct paillier_pub *pub, const mpz_t n, struct ff_error *err);
/* Copies src into the initialised dst. */
void paillier_pub_copy(struct paillier_pub *dst, const struct paillier_pub *src);

/*
 * Generates a key of exactly `bits` bits: p, q random distinct primes of
 * bits/2 bits each (top two bits set, so n has exactly `bits` bits), g = n+1.
 * bits must be even and in [1024, 8192]; smaller -> FF_EINVAL "paillier key
 * length N is below the minimum of 1024 bits". FF_EIO if libsodium cannot
 * initialise. priv must be initialised; on error it is left unset.
 */
int paillier_keygen(struct paillier_priv *priv, unsigned bits, struct ff_error *err);

/*
 * Sets priv from the primes p and q (borrowed). Checks primality
 * (probabilistic), p != q, equal bit lengths, and the same size rules as
 * keygen. Used for known-answer tests and for restoring a stored key.
 */
int paillier_priv_from_primes(struct paillier_priv *priv, const mpz_t p, const mpz_t q,
			      struct ff_error *err);

/* ---- single-value operations ---------------------------------------------
 * Plaintexts m are in [0, n): FF_EINVAL otherwise. Ciphertexts are in
 * (0, n^2); the functions do not re-validate ciphertexts (the
 * deserialisers do). Output may alias an input.
 */

/* c = E(m) with a fresh r (public key only; one powm mod n^2). */
int paillier_encrypt(const struct paillier_pub *pub, mpz_t c, const mpz_t m,
		     struct ff_error *err);
/*
 * c = E(m; r) with the caller's r, which must be in [1, n) and coprime to n
 * (FF_EINVAL otherwise). For known-answer tests; real use needs a fresh
 * uniform r per encryption, which paillier_encrypt draws.
 */
int paillier_encrypt_r(const struct paillier_pub *pub, mpz_t c, const mpz_t m, const mpz_t r,
		       struct ff_error *err);
/* c = E(m) computed by the key owner: r^n via CRT mod p^2 and q^2 (~2x faster). */
int paillier_encrypt_crt(const struct paillier_priv *priv, mpz_t c, const mpz_t m,
			 struct ff_error *err);
/* CRT encryption with the caller's r (same rules as paillier_encrypt_r). */
int paillier_encrypt_crt_r(const struct paillier_priv *priv, mpz_t c, const mpz_t m,
			   const mpz_t r, struct ff_error *err);
/* m = D(c) with CRT. FF_EINVAL if c is not in (0, n^2). */
int paillier_decrypt(const struct paillier_priv *priv, mpz_t m, const mpz_t c,
		     struct ff_error *err);
/* m = L(c^lambda mod n^2) * mu mod n without CRT: the slow reference path. */
int paillier_decrypt_nocrt(const struct paillier_priv *priv, mpz_t m, const mpz_t c,
			   struct ff_error *err);

/* out = a * b mod n^2  (E(x) + E(y)). Cannot fail. */
void paillier_add(const struct paillier_pub *pub, mpz_t out, const mpz_t a, const mpz_t b);
/* out = c * (1 + m*n) mod n^2  (E(x) + m, m a plaintext in [0, n)). */
int paillier_add_plain(const struct paillier_pub *pub, mpz_t out, const mpz_t c, const mpz_t m,
		       struct ff_error *err);
/*
 * out = E(k*x) for a plaintext scalar k in [0, n). As FATE, a k in the
 * negative band (k >= n - max_int) is applied as (c^-1)^(n-k), which keeps
 * the exponent short. FF_EINVAL if k is out of range or c is not invertible.
 */
int paillier_mul(const struct paillier_pub *pub, mpz_t out, const mpz_t c, const mpz_t k,
		 struct ff_error *err);
/* out = E(k*x) for a signed 64-bit k (negative k via the inverse). */
int paillier_mul_si(const struct paillier_pub *pub, mpz_t out, const mpz_t c, int64_t k,
		    struct ff_error *err);
/* out = E(-x) = c^-1 mod n^2. FF_EINVAL if c is not invertible. */
int paillier_neg(const struct paillier_pub *pub, mpz_t out, const mpz_t c, struct ff_error *err);
/* out = c * r^n mod n^2 for a fresh r: same plaintext, unlinkable ciphertext. */
int paillier_obfuscate(const struct paillier_pub *pub, mpz_t out, const mpz_t c,
		       struct ff_error *err);

/* ---- DJN fast randomisers (see the SECURITY ASSUMPTION above) ------------ */

/*
 * Fixed-base table of hs = (-x^2)^n mod n^2: rows = ceil(exp_bits/window),
 * each with the 2^window - 1 powers hs^(k * 2^(window*row)). With the default
 * window 6 a 1024-bit key needs ~1.4 MiB and 86 modular multiplications per
 * r^n (vs ~1,500 for a 1024-bit powm).
 */
struct paillier_djn {
	const struct paillier_pub *pub; /* borrowed; must outlive the context */
	unsigned exp_bits;              /* bits of the short exponent a (= bits/2) */
	unsigned window;
	size_t rows;
	mpz_t *table;                   /* rows * (2^window - 1) entries */
};
#define PAILLIER_DJN_DEFAULT_WINDOW 6u
#define PAILLIER_DJN_MAX_TABLE_BYTES (256u << 20) /* limbs only; FF_E2BIG beyond */

/* Zeroes djn so that paillier_djn_release is safe on it. */
void paillier_djn_init(struct paillier_djn *djn);
/*
 * Builds the table for pub (borrowed) with a fresh random x. window 0 means
 * PAILLIER_DJN_DEFAULT_WINDOW; allowed 1..10. FF_E2BIG if the table would
 * exceed PAILLIER_DJN_MAX_TABLE_BYTES (e.g. 8192-bit key with window 8),
 * FF_ENOMEM, FF_EINVAL, FF_EIO. djn must be initialised; a previous table
 * is released first.
 */
int paillier_djn_setup(struct paillier_djn *djn, const struct paillier_pub *pub,
		       unsigned window, struct ff_error *err);
/* Same with the caller's x in [1, n) coprime to n: known-answer tests only. */
int paillier_djn_setup_x(struct paillier_djn *djn, const struct paillier_pub *pub,
			 unsigned window, const mpz_t x, struct ff_error *err);
void paillier_djn_release(struct paillier_djn *djn);
/* rn = hs^a mod n^2 for a fresh random a of exp_bits bits. */
int paillier_djn_rn(const struct paillier_djn *djn, mpz_t rn, struct ff_error *err);
/* rn = hs^a for the caller's a in [0, 2^exp_bits): known-answer tests only. */
int paillier_djn_rn_a(const struct paillier_djn *djn, mpz_t rn, const mpz_t a,
		      struct ff_error *err);
/* c = (1 + m*n) * hs^a mod n^2 with a fresh a. */
int paillier_encrypt_djn(const struct paillier_djn *djn, mpz_t c, const mpz_t m,
			 struct ff_error *err);
/* out = c * hs^a mod n^2 with a fresh a. */
int paillier_obfuscate_djn(const struct paillier_djn *djn, mpz_t out, const mpz_t c,
			   struct ff_error *err);

/* ---- encodings (paillier_encode.c) ---------------------------------------- */

/*
 * m = round(x * 2^frac_bits) mod n, rounding half to even, computed exactly
 * from the double's bits. FF_EINVAL for NaN/Inf or frac_bits > 1024,
 * FF_ERANGE if |round(x * 2^frac_bits)| > max_int (refused, not wrapped).
 */
int paillier_encode_fixed(const struct paillier_pub *pub, mpz_t m, double x, unsigned frac_bits,
			  struct ff_error *err);
/* m = v mod n for a signed integer (|v| < 2^63 <= max_int always fits). */
void paillier_encode_i64(const struct paillier_pub *pub, mpz_t m, int64_t v);
/*
 * Signed value of the plaintext m: m if m <= max_int, m - n if
 * m >= n - max_int. FF_ERANGE in the overflow band between, FF_EINVAL if m is
 * not in [0, n).
 */
int paillier_decode_signed(const struct paillier_pub *pub, mpz_t out, const mpz_t m,
			   struct ff_error *err);
/*
 * *x = signed(m) / 2^frac_bits, correctly rounded to the nearest double
 * (half to even). FF_ERANGE for the overflow band or a result beyond the
 * double range; FF_EINVAL as paillier_decode_signed.
 */
int paillier_decode_fixed(const struct paillier_pub *pub, double *x, const mpz_t m,
			  unsigned frac_bits, struct ff_error *err);

/*
 * python-paillier's EncodedNumber: value = signed(encoding) * 16^exponent.
 * Initialise with paillier_encnum_init, release with paillier_encnum_release.
 */
struct paillier_encnum {
	mpz_t encoding; /* in [0, n) */
	int exponent;
};
#define PAILLIER_ENC_BASE 16
#define PAILLIER_NO_MAX_EXPONENT INT32_MAX
void paillier_encnum_init(struct paillier_encnum *e);
void paillier_encnum_release(struct paillier_encnum *e);
/*
 * Encodes x as phe.EncodedNumber.encode(pub, x, precision, max_exponent):
 * precision <= 0 means "None" (keep all 53 mantissa bits: exponent =
 * floor((frexp_exp(x) - 53) / 4)); otherwise exponent =
 * floor(log(precision) / log(16)). max_exponent (PAILLIER_NO_MAX_EXPONENT
 * for None) caps the exponent. The integer is round(x * 16^-exponent), half
 * to even, exact. FF_EINVAL for NaN/Inf, FF_ERANGE if it exceeds max_int.
 */
int paillier_encode(const struct paillier_pub *pub, struct paillier_encnum *e, double x,
		    double precision, int max_exponent, struct ff_error *err);
/*
 * *x = signed(encoding) * 16^exponent correctly rounded to the nearest double,
 * as phe.EncodedNumber.decode (int / int true division, or float() of the
 * exact int for exponent >= 0). FF_ERANGE for the overflow band or a value
 * beyond the double range.
 */
int paillier_decode(const struct paillier_pub *pub, double *x, const struct paillier_encnum *e,
		    struct ff_error *err);

/* ---- serialisation (big-endian, fixed width per key size) ----------------
 * Public key: 4-byte big-endian bit length, then n in n_bytes bytes.
 * Ciphertext: 2 * n_bytes bytes, zero-padded on the left.
 * Readers reject any length mismatch and any out-of-range value with
 * FF_EINVAL; they never read past `len`.
 */
size_t paillier_pub_size(const struct paillier_pub *pub);
/* Writes paillier_pub_size bytes to out (cap bytes available; FF_E2BIG if short). */
int paillier_pub_to_bytes(const struct paillier_pub *pub, uint8_t *out, size_t cap,
			  struct ff_error *err);
/* Parses a public key (see paillier_pub_set_n for the checks) into initialised pub. */
int paillier_pub_from_bytes(struct paillier_pub *pub, const uint8_t *buf, size_t len,
			    struct ff_error *err);
size_t paillier_ct_size(const struct paillier_pub *pub);
/* Writes paillier_ct_size bytes; FF_E2BIG if cap is short, FF_EINVAL if c >= n^2. */
int paillier_ct_to_bytes(const struct paillier_pub *pub, const mpz_t c, uint8_t *out, size_t cap,
			 struct ff_error *err);
/* Parses one ciphertext: len must equal paillier_ct_size; 0 < c < n^2. */
int paillier_ct_from_bytes(const struct paillier_pub *pub, mpz_t c, const uint8_t *buf, size_t len,
			   struct ff_error *err);

/* ---- vectors and batch operations (paillier_vec.c) -----------------------
 * struct paillier_vec owns `len` initialised mpz_t. Batch functions require
 * matching lengths (FF_EINVAL) and split the work over nthreads threads
 * (0 = 1). Outputs must not alias inputs unless stated.
 */
struct paillier_vec {
	size_t len;
	mpz_t *v;
};
#define PAILLIER_VEC_INIT { .len = 0, .v = NULL }

/* Allocates len zero values. FF_ENOMEM. vec must be PAILLIER_VEC_INIT or released. */
int paillier_vec_init(struct paillier_vec *vec, size_t len);
void paillier_vec_release(struct paillier_vec *vec);

int paillier_encrypt_vec(const struct paillier_pub *pub, struct paillier_vec *c,
			 const struct paillier_vec *m, unsigned nthreads, struct ff_error *err);
int paillier_encrypt_vec_crt(const struct paillier_priv *priv, struct paillier_vec *c,
			     const struct paillier_vec *m, unsigned nthreads, struct ff_error *err);
int paillier_encrypt_vec_djn(const struct paillier_djn *djn, struct paillier_vec *c,
			     const struct paillier_vec *m, unsigned nthreads, struct ff_error *err);
int paillier_decrypt_vec(const struct paillier_priv *priv, struct paillier_vec *m,
			 const struct paillier_vec *c, unsigned nthreads, struct ff_error *err);
/* out[i] = a[i] * b[i] mod n^2; out may alias a or b. */
int paillier_add_vec(const struct paillier_pub *pub, struct paillier_vec *out,
		     const struct paillier_vec *a, const struct paillier_vec *b, unsigned nthreads,
		     struct ff_error *err);
/*
 * c[i] = E(encode_fixed(x[i], frac_bits)); x borrowed, c->len values.
 * djn may be NULL (plain r^n); otherwise its pub is used and pub may be NULL.
 * An element that cannot be encoded fails the call, naming its index.
 */
int paillier_encrypt_fixed_vec(const struct paillier_pub *pub, const struct paillier_djn *djn,
			       struct paillier_vec *c, const double *x, unsigned frac_bits,
			       unsigned nthreads, struct ff_error *err);
/* x[i] = decode_fixed(D(c[i]), frac_bits); x has c->len slots. */
int paillier_decrypt_fixed_vec(const struct paillier_priv *priv, double *x,
			       const struct paillier_vec *c, unsigned frac_bits, unsigned nthreads,
			       struct ff_error *err);

/*
 * Encrypted matrix-vector product for hetero LR: out[j] = E(sum_i X[i][j]*v_i)
 * = prod_i ev[i]^X[i][j] mod n^2 for j < cols, where X is a rows x cols
 * row-major int64 matrix (borrowed) and ev holds E(v), rows entries.
 * Multi-exponentiation per column (Pippenger buckets over the rows, separate
 * buckets for negative entries, one inversion per column) -- roughly an order
 * of magnitude fewer multiplications than a powm per element. Work units are
 * (column, row block) pairs spread over nthreads. out->len must equal cols.
 * The caller keeps |X^T v| below max_int (the product is reduced mod n like
 * any Paillier sum). FF_EINVAL on shape mismatch or a non-invertible ev[i]
 * when a column has negative entries; FF_ENOMEM.
 */
int paillier_matvec(const struct paillier_pub *pub, struct paillier_vec *out, const int64_t *X,
		    size_t rows, size_t cols, const struct paillier_vec *ev, unsigned nthreads,
		    struct ff_error *err);
/* Same result with one powm (and inversion for negatives) per element: test oracle. */
int paillier_matvec_naive(const struct paillier_pub *pub, struct paillier_vec *out,
			  const int64_t *X, size_t rows, size_t cols, const struct paillier_vec *ev,
			  unsigned nthreads, struct ff_error *err);

/* Vector serialisation: len * paillier_ct_size bytes, no header. */
int paillier_vec_to_bytes(const struct paillier_pub *pub, const struct paillier_vec *c,
			  uint8_t *out, size_t cap, struct ff_error *err);
/* Parses exactly c->len ciphertexts; len must be c->len * paillier_ct_size. */
int paillier_vec_from_bytes(const struct paillier_pub *pub, struct paillier_vec *c,
			    const uint8_t *buf, size_t len, struct ff_error *err);

#endif
