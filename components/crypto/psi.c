// SPDX-License-Identifier: Apache-2.0
/*
 * psi.c - ECDH PSI primitives over ristretto255 (libsodium): secrets,
 * hash-to-group, blinding, batch re-blinding and the intersection join.
 *
 * The per-id work is exactly one SHA-512, one from_hash and one scalar
 * multiplication (own ids) or one scalar multiplication (peer points), so the
 * throughput is the libsodium primitive rate times the threads; the batch
 * code only adds the fork/join. The join sorts (64-bit prefix, index) pairs
 * with an LSD radix sort -- the values are uniformly random group encodings,
 * so the prefix almost never collides -- and confirms every candidate on the
 * full 32 bytes.
 */
#include "ff_setup.h"

#include <sodium.h>
#include <stdatomic.h>

#include "crypto_par.h"
#include "mem.h"
#include "psi.h"

#define PSI_MIN_CHUNK 64 /* ids per thread at least: ~2-3 ms of work */

static int psi_sodium(struct ff_error *err)
{
	if (sodium_init() < 0)
		return ff_error_set(err, FF_EIO, "cannot initialise libsodium");
	return FF_OK;
}

int psi_secret_generate(struct psi_secret *s, struct ff_error *err)
{
	int ret = psi_sodium(err);
	if (ret)
		return ret;
	/* uniform in [1, L): libsodium redraws zero and non-canonical values */
	crypto_core_ristretto255_scalar_random(s->k);
	return FF_OK;
}

int psi_secret_from_bytes(struct psi_secret *s, const uint8_t in[PSI_SECRET_BYTES],
			  struct ff_error *err)
{
	int ret = psi_sodium(err);
	if (ret)
		return ret;
	uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] = { 0 };
	uint8_t red[crypto_core_ristretto255_SCALARBYTES];
	memcpy(wide, in, PSI_SECRET_BYTES);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	bool canonical = sodium_memcmp(red, in, PSI_SECRET_BYTES) == 0;
	bool zero = sodium_is_zero(in, PSI_SECRET_BYTES);
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(red, sizeof(red));
	if (zero)
		return ff_error_set(err, FF_EINVAL, "psi secret is zero");
	if (!canonical)
		return ff_error_set(err, FF_EINVAL, "psi secret is not reduced mod the group order");
	memcpy(s->k, in, PSI_SECRET_BYTES);
	return FF_OK;
}

void psi_secret_wipe(struct psi_secret *s)
{
	sodium_memzero(s->k, sizeof(s->k));
}

void psi_hash_to_group(uint8_t out[PSI_BYTES], const void *id, size_t len)
{
	uint8_t h[crypto_hash_sha512_BYTES];
	crypto_hash_sha512(h, id, (unsigned long long)len);
	crypto_core_ristretto255_from_hash(out, h);
}

int psi_mult(const struct psi_secret *s, uint8_t out[PSI_BYTES], const uint8_t in[PSI_BYTES],
	     struct ff_error *err)
{
	uint8_t q[PSI_BYTES];
	/* libsodium decodes `in` strictly and fails on the identity result */
	if (crypto_scalarmult_ristretto255(q, s->k, in) != 0)
		return ff_error_set(err, FF_EINVAL, "invalid ristretto255 point");
	memcpy(out, q, PSI_BYTES);
	return FF_OK;
}

int psi_blind_id(const struct psi_secret *s, uint8_t out[PSI_BYTES], const void *id, size_t len,
		 struct ff_error *err)
{
	uint8_t h[PSI_BYTES];
	psi_hash_to_group(h, id, len);
	if (crypto_scalarmult_ristretto255(out, s->k, h) != 0)
		return ff_error_set(err, FF_EINVAL, "id hashes to the identity");
	return FF_OK;
}

/* ---- batches --------------------------------------------------------------- */

struct psi_batch {
	const struct psi_secret *s;
	uint8_t *out;
	const uint8_t *in;        /* reblind */
	const struct psi_id *ids; /* blind */
	atomic_size_t bad;
};

static void note_bad(struct psi_batch *b, size_t i)
{
	size_t cur = atomic_load(&b->bad);
	while (i < cur && !atomic_compare_exchange_weak(&b->bad, &cur, i))
		;
}

static int blind_range(void *ctx, size_t lo, size_t hi, unsigned tid)
{
	(void)tid;
	struct psi_batch *b = ctx;
	for (size_t i = lo; i < hi; i++) {
		uint8_t h[PSI_BYTES];
		psi_hash_to_group(h, b->ids[i].data, b->ids[i].len);
		if (crypto_scalarmult_ristretto255(b->out + i * PSI_BYTES, b->s->k, h) != 0) {
			note_bad(b, i);
			return FF_EINVAL;
		}
	}
	return FF_OK;
}

static int reblind_range(void *ctx, size_t lo, size_t hi, unsigned tid)
{
	(void)tid;
	struct psi_batch *b = ctx;
	for (size_t i = lo; i < hi; i++) {
		uint8_t q[PSI_BYTES];
		if (crypto_scalarmult_ristretto255(q, b->s->k, b->in + i * PSI_BYTES) != 0) {
			note_bad(b, i);
			return FF_EINVAL;
		}
		memcpy(b->out + i * PSI_BYTES, q, PSI_BYTES);
	}
	return FF_OK;
}

static int batch_run(struct psi_batch *b, size_t count, unsigned nthreads, crypto_par_range_cb cb,
		     const char *what, struct ff_error *err)
{
	size_t bytes;
	if (!ff_st_mult(count, PSI_BYTES, &bytes))
		return ff_error_set(err, FF_EINVAL, "psi batch of %zu is too large", count);
	int ret = psi_sodium(err);
	if (ret)
		return ret;
	atomic_init(&b->bad, SIZE_MAX);
	ret = crypto_par_for(count, nthreads, PSI_MIN_CHUNK, cb, b);
	if (ret) {
		size_t bad = atomic_load(&b->bad);
		if (bad != SIZE_MAX)
			ff_error_set(err, ret, "%s at index %zu", what, bad);
		else
			ff_error_set(err, ret, "psi batch failed");
	}
	return ret;
}

int psi_blind_ids(const struct psi_secret *s, uint8_t *out, const struct psi_id *ids,
		  size_t count, unsigned nthreads, struct ff_error *err)
{
	if (count && (!out || !ids))
		return ff_error_set(err, FF_EINVAL, "psi batch arrays are NULL");
	struct psi_batch b = { .s = s, .out = out, .ids = ids };
	return batch_run(&b, count, nthreads, blind_range, "id hashes to the identity", err);
}

int psi_reblind(const struct psi_secret *s, uint8_t *out, const uint8_t *in, size_t count,
		unsigned nthreads, struct ff_error *err)
{
	if (count && (!out || !in))
		return ff_error_set(err, FF_EINVAL, "psi batch arrays are NULL");
	struct psi_batch b = { .s = s, .out = out, .in = in };
	return batch_run(&b, count, nthreads, reblind_range, "invalid point", err);
}

/* ---- intersection ------------------------------------------------------------ */

struct psi_ent {
	uint64_t key; /* first 8 bytes of the value (host order: only equality matters) */
	size_t idx;
};

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

/* Stable LSD radix sort of ents by key; tmp has n entries. */
static void radix_sort(struct psi_ent *ents, struct psi_ent *tmp, size_t n, size_t *count)
{
	struct psi_ent *src = ents, *dst = tmp;
	for (unsigned shift = 0; shift < 64; shift += RADIX_BITS) {
		memset(count, 0, RADIX_SIZE * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & (RADIX_SIZE - 1)]++;
		if (count[(src[0].key >> shift) & (RADIX_SIZE - 1)] == n)
			continue; /* every key has this digit: the pass is a no-op */
		size_t sum = 0;
		for (size_t d = 0; d < RADIX_SIZE; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & (RADIX_SIZE - 1)]++] = src[i];
		struct psi_ent *t = src;
		src = dst;
		dst = t;
	}
	if (src != ents)
		memcpy(ents, src, n * sizeof(*ents));
}

static struct psi_ent *sorted_ents(const uint8_t *v, size_t n, size_t *count)
{
	struct psi_ent *ents = NULL, *tmp = NULL;
	FF_ALLOC_ARRAY(ents, n);
	FF_ALLOC_ARRAY(tmp, n);
	if (!ents || !tmp) {
		ff_free(ents);
		ff_free(tmp);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(&ents[i].key, v + i * PSI_BYTES, sizeof(uint64_t));
		ents[i].idx = i;
	}
	if (n > 1)
		radix_sort(ents, tmp, n, count);
	ff_free(tmp);
	return ents;
}

/* FF_EDATA if two entries of a sorted array hold the same 32-byte value. */
static int find_dup(const uint8_t *v, const struct psi_ent *e, size_t n, const char *name,
		    struct ff_error *err)
{
	for (size_t i = 0; i < n;) {
		size_t end = i + 1;
		while (end < n && e[end].key == e[i].key)
			end++;
		for (size_t x = i; x < end; x++)
			for (size_t y = x + 1; y < end; y++)
				if (!memcmp(v + e[x].idx * PSI_BYTES, v + e[y].idx * PSI_BYTES, PSI_BYTES))
					return ff_error_set(err, FF_EDATA,
							    "duplicate value in '%s' at indices %zu and %zu",
							    name, e[x].idx < e[y].idx ? e[x].idx : e[y].idx,
							    e[x].idx < e[y].idx ? e[y].idx : e[x].idx);
		i = end;
	}
	return FF_OK;
}

struct pair_buf {
	struct psi_pair *v;
	size_t len, cap;
};

static int pair_push(struct pair_buf *pb, size_t a, size_t b)
{
	if (pb->len == pb->cap) {
		size_t cap = pb->cap ? pb->cap * 2 : 1024, bytes;
		if (!ff_st_mult(cap, sizeof(*pb->v), &bytes))
			return FF_ENOMEM;
		struct psi_pair *nv = ff_realloc(pb->v, bytes);
		if (!nv)
			return FF_ENOMEM;
		pb->v = nv;
		pb->cap = cap;
	}
	pb->v[pb->len++] = (struct psi_pair){ .a_idx = a, .b_idx = b };
	return FF_OK;
}

/* Joins the sorted entry lists; candidates share the 64-bit key. */
static int merge(const uint8_t *a, const struct psi_ent *ea, size_t na, const uint8_t *b,
		 const struct psi_ent *eb, size_t nb, struct pair_buf *pb)
{
	size_t i = 0, j = 0;
	while (i < na && j < nb) {
		if (ea[i].key < eb[j].key) {
			i++;
		} else if (ea[i].key > eb[j].key) {
			j++;
		} else {
			uint64_t k = ea[i].key;
			size_t i2 = i, j2 = j;
			while (i2 < na && ea[i2].key == k)
				i2++;
			while (j2 < nb && eb[j2].key == k)
				j2++;
			for (size_t x = i; x < i2; x++)
				for (size_t y = j; y < j2; y++)
					if (!memcmp(a + ea[x].idx * PSI_BYTES, b + eb[y].idx * PSI_BYTES,
						    PSI_BYTES) &&
					    pair_push(pb, ea[x].idx, eb[y].idx))
						return FF_ENOMEM;
			i = i2;
			j = j2;
		}
	}
	return FF_OK;
}

/* Stable counting sort of the pairs by a_idx (b_idx order is kept). */
static int sort_pairs(struct pair_buf *pb, size_t na)
{
	size_t *start = NULL, slots;
	struct psi_pair *out = NULL;
	if (!ff_st_add(na, 1, &slots))
		return FF_ENOMEM;
	FF_ALLOC_ARRAY(start, slots);
	FF_ALLOC_ARRAY(out, pb->len);
	if (!start || !out) {
		ff_free(start);
		ff_free(out);
		return FF_ENOMEM;
	}
	for (size_t i = 0; i < pb->len; i++)
		start[pb->v[i].a_idx + 1]++;
	for (size_t i = 1; i < slots; i++)
		start[i] += start[i - 1];
	for (size_t i = 0; i < pb->len; i++)
		out[start[pb->v[i].a_idx]++] = pb->v[i];
	ff_free(start);
	ff_free(pb->v);
	pb->v = out;
	pb->cap = pb->len;
	return FF_OK;
}

int psi_intersect(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, unsigned flags,
		  struct psi_pair **pairs, size_t *npairs, struct ff_error *err)
{
	*pairs = NULL;
	*npairs = 0;
	if ((na && !a) || (nb && !b))
		return ff_error_set(err, FF_EINVAL, "psi intersection arrays are NULL");
	size_t bytes;
	if (!ff_st_mult(na > nb ? na : nb, PSI_BYTES, &bytes))
		return ff_error_set(err, FF_EINVAL, "psi intersection input is too large");

	int ret = FF_OK;
	struct psi_ent *ea = NULL, *eb = NULL;
	struct pair_buf pb = { 0 };
	size_t *count = NULL;
	count = ff_calloc(RADIX_SIZE, sizeof(*count));
	if (!count)
		goto oom;
	ea = sorted_ents(a, na, count);
	eb = sorted_ents(b, nb, count);
	if (!ea || !eb)
		goto oom;
	if (flags & PSI_REJECT_DUP_A) {
		ret = find_dup(a, ea, na, "a", err);
		if (ret)
			goto out;
	}
	if (flags & PSI_REJECT_DUP_B) {
		ret = find_dup(b, eb, nb, "b", err);
		if (ret)
			goto out;
	}
	if (merge(a, ea, na, b, eb, nb, &pb) || (pb.len && sort_pairs(&pb, na)))
		goto oom;
	*pairs = pb.v;
	*npairs = pb.len;
	pb.v = NULL;
	goto out;
oom:
	ret = ff_error_set(err, FF_ENOMEM, "cannot allocate the psi intersection");
out:
	ff_free(pb.v);
	ff_free(ea);
	ff_free(eb);
	ff_free(count);
	return ret;
}
