/* SPDX-License-Identifier: Apache-2.0 */
/*
 * psi.h - primitives of ECDH private set intersection over ristretto255
 * (libsodium), the shape of FATE's psi_ecdh (guest/host double blinding).
 *
 * Protocol per party with secret a (peer: b):
 *   1. blind own ids:    A_i = a * H(x_i)        (psi_blind_ids)
 *   2. send A, receive B_j = b * H(y_j) from the peer
 *   3. re-blind peer's:  a * B_j = ab * H(y_j)    (psi_reblind)
 *   4. the peer returns b * A_i = ab * H(x_i); psi_intersect joins the two
 *      double-blinded lists and yields index pairs (i, j).
 * H(x) = crypto_core_ristretto255_from_hash(SHA-512(x)), which is RFC 9496's
 * element derivation, so H is a known-answer function (RFC 9496 A.3).
 * Commutativity a(bP) = b(aP) holds because ristretto255 has prime order L
 * and secrets are scalars in [1, L).
 *
 * Not interoperable with FATE's Python PSI (dalek 3.x Edwards hash, unclamped
 * Montgomery ladder on u-coordinates); see docs/internals/crypto.md.
 *
 * Encodings: points and double-blinded values are 32-byte canonical
 * ristretto255 encodings (PSI_BYTES); a secret is a 32-byte little-endian
 * scalar < L. Received points are checked: a non-canonical or invalid
 * encoding, or the identity, is FF_EINVAL (libsodium rejects them in the
 * scalar multiplication itself).
 *
 * Constant time: hashing, hash-to-group and the scalar multiplications are
 * libsodium's constant-time code (in the secret and in the point).
 * psi_intersect compares public double-blinded values with ordinary
 * (variable-time) sorting and memcmp; they are not secret to the party that
 * computes the intersection.
 *
 * Thread-safety: a psi_secret is read-only after creation and may be shared;
 * batch functions start nthreads pthreads (the caller is one) and join them.
 * No global state beyond sodium_init. Every `struct ff_error *err` may be NULL.
 */
#ifndef PSI_H
#define PSI_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PSI_BYTES 32u        /* point / double-blinded value */
#define PSI_SECRET_BYTES 32u /* scalar */

/* A party's blinding secret. Wipe with psi_secret_wipe when done. */
struct psi_secret {
	uint8_t k[PSI_SECRET_BYTES];
};

/* One id to blind: borrowed bytes (UTF-8 in FATE; any bytes here). */
struct psi_id {
	const void *data;
	size_t len;
};

/* Fresh uniform secret in [1, L) (crypto_core_ristretto255_scalar_random). FF_EIO. */
int psi_secret_generate(struct psi_secret *s, struct ff_error *err);
/*
 * Secret from a stored 32-byte little-endian scalar (borrowed). FF_EINVAL if
 * it is zero or not reduced (>= L).
 */
int psi_secret_from_bytes(struct psi_secret *s, const uint8_t in[PSI_SECRET_BYTES],
			  struct ff_error *err);
void psi_secret_wipe(struct psi_secret *s);

/* out = H(id) = from_hash(SHA-512(id[0..len))). Cannot fail (len 0 is allowed). */
void psi_hash_to_group(uint8_t out[PSI_BYTES], const void *id, size_t len);
/*
 * out = s * P for a received point P (borrowed; out may equal in). Used both
 * to blind H(x) and to re-blind a peer's point. FF_EINVAL if in is not a
 * valid canonical encoding or the result is the identity.
 */
int psi_mult(const struct psi_secret *s, uint8_t out[PSI_BYTES], const uint8_t in[PSI_BYTES],
	     struct ff_error *err);
/* out = s * H(id): hash-to-group and blind in one step. FF_EINVAL if identity. */
int psi_blind_id(const struct psi_secret *s, uint8_t out[PSI_BYTES], const void *id, size_t len,
		 struct ff_error *err);

/*
 * Batch versions over nthreads threads (0 = 1). out holds count * PSI_BYTES
 * bytes. psi_blind_ids blinds own ids; psi_reblind re-blinds count received
 * points from in (out may equal in). On an invalid point: FF_EINVAL with the
 * lowest bad index in the message ("invalid point at index 17"); out is then
 * unspecified.
 */
int psi_blind_ids(const struct psi_secret *s, uint8_t *out, const struct psi_id *ids,
		  size_t count, unsigned nthreads, struct ff_error *err);
int psi_reblind(const struct psi_secret *s, uint8_t *out, const uint8_t *in, size_t count,
		unsigned nthreads, struct ff_error *err);

/* A match: a[a_idx] == b[b_idx]. */
struct psi_pair {
	size_t a_idx;
	size_t b_idx;
};

/* psi_intersect flags */
#define PSI_REJECT_DUP_A 0x1u /* FF_EDATA if a value occurs twice in a */
#define PSI_REJECT_DUP_B 0x2u /* same for b (FATE rejects host duplicates) */

/*
 * Intersection of two arrays of double-blinded values (a: na * PSI_BYTES,
 * b: nb * PSI_BYTES; borrowed). Returns every pair (i, j) with equal 32-byte
 * values, sorted by a_idx then b_idx, in *pairs (owned, free with ff_free;
 * NULL when *npairs is 0). Duplicates: without flags, a value present k times
 * in a and l times in b yields all k*l pairs (FATE keeps guest duplicates);
 * with PSI_REJECT_DUP_A/B a duplicate in that array is FF_EDATA naming both
 * indices. Exact: values are compared in full, no false matches. Runs in
 * O(na + nb + pairs) with radix sorts of 64-bit prefixes; extra memory
 * ~16 B per value of both sides plus a temporary of the larger one.
 * FF_ENOMEM, FF_EINVAL (NULL arrays with non-zero counts).
 */
int psi_intersect(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, unsigned flags,
		  struct psi_pair **pairs, size_t *npairs, struct ff_error *err);

#endif
