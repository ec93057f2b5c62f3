// SPDX-License-Identifier: Apache-2.0
/*
 * paillier_encode.c - signed fixed-point encodings of doubles into Paillier
 * plaintexts: FATE LR's round(x * 2^frac) and python-paillier's BASE-16
 * EncodedNumber.
 *
 * Everything is computed exactly from the bits of the double (mantissa and
 * binary exponent) with GMP integers, so results do not depend on the FPU and
 * match Python's Fraction/round (half to even) and int/int true division
 * (correct rounding) bit for bit. tests/reference/paillier_kat.py pins that.
 */
#include "ff_setup.h"

#include <limits.h>
#include <math.h>

#include "paillier.h"
#include "paillier_int.h"

#define FLOAT_MANTISSA_BITS 53
#define LOG2_BASE 4 /* log2(PAILLIER_ENC_BASE) */

/* x = mant * 2^e2 with |mant| < 2^53 an integer; x finite. */
static void split_double(double x, int64_t *mant, long *e2)
{
	int e;
	double f = frexp(x, &e); /* x = f * 2^e, 0.5 <= |f| < 1 (or 0) */
	*mant = (int64_t)ldexp(f, FLOAT_MANTISSA_BITS);
	*e2 = (long)e - FLOAT_MANTISSA_BITS;
}

/* out = round(|v| / 2^t) half to even, for t >= 1. */
static void shift_round_even(mpz_t out, const mpz_t v, mp_bitcnt_t t)
{
	mpz_t rem;
	mpz_init(rem);
	mpz_fdiv_r_2exp(rem, v, t);
	mpz_fdiv_q_2exp(out, v, t);
	/* compare rem with 2^(t-1) */
	mp_bitcnt_t rbits = mpz_sgn(rem) ? (mp_bitcnt_t)mpz_sizeinbase(rem, 2) : 0;
	if (rbits == t) {
		/* rem >= 2^(t-1): above half, or exactly half */
		bool exactly_half = mpz_scan1(rem, 0) == t - 1;
		if (!exactly_half || mpz_odd_p(out))
			mpz_add_ui(out, out, 1);
	}
	mpz_clear(rem);
}

/* out = round(mant * 2^s) half to even, exact. */
static void round_scaled(mpz_t out, int64_t mant, long s)
{
	uint64_t mag = mant < 0 ? (uint64_t)0 - (uint64_t)mant : (uint64_t)mant;
	mpz_set_ui(out, (unsigned long)mag);
	if (s >= 0)
		mpz_mul_2exp(out, out, (mp_bitcnt_t)s);
	else
		shift_round_even(out, out, (mp_bitcnt_t)(-s));
	if (mant < 0)
		mpz_neg(out, out);
}

bool paillier__scaled_to_double(const mpz_t mant, long e2, double *out)
{
	if (mpz_sgn(mant) == 0) {
		*out = 0.0;
		return true;
	}
	mpz_t mag;
	mpz_init(mag);
	mpz_abs(mag, mant);
	long len = (long)mpz_sizeinbase(mag, 2);
	/* the value's top bit is at 2^(len - 1 + e2); the double keeps 53 bits
	 * below it, but never below 2^-1074 (subnormals) */
	long top = len - 1 + e2;
	bool ok = true;
	if (top > 1023) {
		ok = false;
		goto out;
	}
	long lsb = top - (FLOAT_MANTISSA_BITS - 1);
	if (lsb < -1074)
		lsb = -1074;
	long shift = lsb - e2;
	if (shift > 0) {
		/* shift can be huge for tiny values: round_even handles it */
		shift_round_even(mag, mag, (mp_bitcnt_t)shift);
	} else {
		mpz_mul_2exp(mag, mag, (mp_bitcnt_t)(-shift));
	}
	/* mag <= 2^53 now (the rounding may carry into bit 53) */
	double d = ldexp((double)mpz_get_ui(mag), (int)lsb);
	if (isinf(d)) {
		ok = false;
		goto out;
	}
	*out = mpz_sgn(mant) < 0 ? -d : d;
out:
	mpz_clear(mag);
	return ok;
}

/* int_rep in [-max_int, max_int] -> m = int_rep mod n; FF_ERANGE otherwise. */
static int store_signed(const struct paillier_pub *pub, mpz_t m, const mpz_t int_rep,
			struct ff_error *err)
{
	if (mpz_cmpabs(int_rep, pub->max_int) > 0)
		return ff_error_set(err, FF_ERANGE,
				    "value needs %zu bits, beyond the paillier max_int (n/3) of %u-bit n",
				    mpz_sizeinbase(int_rep, 2), pub->bits);
	mpz_mod(m, int_rep, pub->n);
	return FF_OK;
}

int paillier_encode_fixed(const struct paillier_pub *pub, mpz_t m, double x, unsigned frac_bits,
			  struct ff_error *err)
{
	if (!isfinite(x))
		return ff_error_set(err, FF_EINVAL, "cannot encode a non-finite value");
	if (frac_bits > 1024)
		return ff_error_set(err, FF_EINVAL, "fixed-point precision %u is above 1024 bits",
				    frac_bits);
	int64_t mant;
	long e2;
	split_double(x, &mant, &e2);
	mpz_t rep;
	mpz_init(rep);
	round_scaled(rep, mant, e2 + (long)frac_bits);
	int ret = store_signed(pub, m, rep, err);
	mpz_clear(rep);
	return ret;
}

void paillier_encode_i64(const struct paillier_pub *pub, mpz_t m, int64_t v)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	mpz_set_ui(m, (unsigned long)mag);
	if (v < 0)
		mpz_sub(m, pub->n, m);
}

int paillier_decode_signed(const struct paillier_pub *pub, mpz_t out, const mpz_t m,
			   struct ff_error *err)
{
	if (mpz_sgn(m) < 0 || mpz_cmp(m, pub->n) >= 0)
		return ff_error_set(err, FF_EINVAL, "paillier plaintext is not in [0, n)");
	if (mpz_cmp(m, pub->max_int) <= 0) {
		mpz_set(out, m);
		return FF_OK;
	}
	mpz_t neg;
	mpz_init(neg);
	mpz_sub(neg, m, pub->n); /* m - n, negative */
	int ret = FF_OK;
	if (mpz_cmpabs(neg, pub->max_int) <= 0)
		mpz_set(out, neg);
	else
		ret = ff_error_set(err, FF_ERANGE, "overflow detected in decrypted number");
	mpz_clear(neg);
	return ret;
}

int paillier_decode_fixed(const struct paillier_pub *pub, double *x, const mpz_t m,
			  unsigned frac_bits, struct ff_error *err)
{
	mpz_t v;
	mpz_init(v);
	int ret = paillier_decode_signed(pub, v, m, err);
	if (!ret && !paillier__scaled_to_double(v, -(long)frac_bits, x))
		ret = ff_error_set(err, FF_ERANGE, "decoded value is beyond the double range");
	mpz_clear(v);
	return ret;
}

void paillier_encnum_init(struct paillier_encnum *e)
{
	mpz_init(e->encoding);
	e->exponent = 0;
}

void paillier_encnum_release(struct paillier_encnum *e)
{
	mpz_clear(e->encoding);
	e->exponent = 0;
}

/* floor(a / b) for b > 0 */
static long floor_div(long a, long b)
{
	long q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

int paillier_encode(const struct paillier_pub *pub, struct paillier_encnum *e, double x,
		    double precision, int max_exponent, struct ff_error *err)
{
	if (!isfinite(x))
		return ff_error_set(err, FF_EINVAL, "cannot encode a non-finite value");
	long exponent;
	if (precision > 0) {
		if (!isfinite(precision))
			return ff_error_set(err, FF_EINVAL, "encoding precision is not finite");
		/* python: math.floor(math.log(precision, 16)) = floor(log(p) / log(16)) */
		exponent = (long)floor(log(precision) / log((double)PAILLIER_ENC_BASE));
	} else {
		int fe;
		(void)frexp(x, &fe);
		exponent = floor_div((long)fe - FLOAT_MANTISSA_BITS, LOG2_BASE);
	}
	if (max_exponent != PAILLIER_NO_MAX_EXPONENT && exponent > max_exponent)
		exponent = max_exponent;
	/* |x| < 2^1024 and exponent >= -269 for doubles, so the scale fits */
	if (exponent > INT_MAX / LOG2_BASE || exponent < INT_MIN / LOG2_BASE)
		return ff_error_set(err, FF_ERANGE, "encoding exponent %ld is out of range", exponent);
	int64_t mant;
	long e2;
	split_double(x, &mant, &e2);
	mpz_t rep;
	mpz_init(rep);
	/* int_rep = round(x * 16^-exponent) = round(mant * 2^(e2 - 4*exponent)) */
	round_scaled(rep, mant, e2 - LOG2_BASE * exponent);
	int ret = store_signed(pub, e->encoding, rep, err);
	if (!ret)
		e->exponent = (int)exponent;
	mpz_clear(rep);
	return ret;
}

int paillier_decode(const struct paillier_pub *pub, double *x, const struct paillier_encnum *e,
		    struct ff_error *err)
{
	mpz_t v;
	mpz_init(v);
	int ret = paillier_decode_signed(pub, v, e->encoding, err);
	if (!ret && !paillier__scaled_to_double(v, (long)LOG2_BASE * e->exponent, x))
		ret = ff_error_set(err, FF_ERANGE, "decoded result too large for a float");
	mpz_clear(v);
	return ret;
}
