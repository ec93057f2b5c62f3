/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paillier_int.h - helpers shared by paillier.c, paillier_encode.c and
 * paillier_vec.c; not for use outside components/crypto.
 *
 * All randomness is drawn from libsodium (randombytes_buf, thread-safe once
 * sodium_init has run) and imported into GMP big-endian.
 */
#ifndef PAILLIER_INT_H
#define PAILLIER_INT_H

#include <gmp.h>

#include "err.h"

/* sodium_init once (idempotent, thread-safe); FF_EIO if it fails. */
int paillier__sodium(struct ff_error *err);
/* r = uniform integer in [0, 2^bits); bits <= 2 * PAILLIER_MAX_BITS. */
void paillier__random_bits(mpz_t r, unsigned bits);
/* r = uniform integer in [0, bound) by rejection; bound > 0. */
void paillier__random_below(mpz_t r, const mpz_t bound);
/* r = uniform element of Z*_n: in [1, n) and coprime to n. */
void paillier__random_unit(mpz_t r, const mpz_t n);
/*
 * Writes z (0 <= z < 256^width) big-endian into exactly width bytes,
 * zero-padded on the left. Returns false (nothing written) if z is too big.
 */
bool paillier__export_fixed(uint8_t *out, size_t width, const mpz_t z);
/*
 * *out = the double nearest to mant * 2^e2 (round half to even, subnormals
 * included). false if the magnitude overflows the double range.
 */
bool paillier__scaled_to_double(const mpz_t mant, long e2, double *out);

#endif
