// SPDX-License-Identifier: Apache-2.0
/*
 * bench_crypto.c - throughput of components/crypto next to the raw
 * primitive it is built on, measured in the same run on the same machine.
 *
 * Every line is `name: value unit (ratio ...)`. The ratio compares the
 * fedflow operation with the bare libsodium / GMP loop that does the same
 * arithmetic, so "1.00" means no overhead and the figure travels between
 * machines better than the absolute rate. Usage: bench_crypto [--quick]
 * (--quick: shorter timings and no 2048-bit matvec, for smoke runs).
 */
#include "ff_setup.h"

#include <gmp.h>
#include <sodium.h>
#include <time.h>

#include "err.h"
#include "mem.h"
#include "paillier.h"
#include "psi.h"

static double min_sec = 1.0; /* per measured operation */
static bool quick;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef void (*op_fn)(void *ctx, size_t i);

/*
 * Runs fn for about `slice` seconds and adds the calls and time to *n, *t.
 * Fast ops (< 20 us) are timed in groups of 16 so that reading the clock
 * stays below 1 % of the measurement; slow ones after every call so a slice
 * does not overshoot.
 */
static void run_slice(op_fn fn, void *ctx, double slice, size_t *n, double *t)
{
	double t0 = now(), dt;
	fn(ctx, (*n)++);
	dt = now() - t0;
	int per = dt < 20e-6 ? 16 : 1;
	while (dt < slice) {
		for (int k = 0; k < per; k++)
			fn(ctx, (*n)++);
		dt = now() - t0;
	}
	*t += dt;
}

/*
 * Rates (ops/s) of a and b measured in alternating 50 ms slices until each
 * has run min_sec: both see the same machine load, so their ratio is stable
 * even when other processes come and go.
 */
static void rate2(op_fn a, void *ca, op_fn b, void *cb, double *ra, double *rb)
{
	size_t na = 0, nb = 0;
	double ta = 0, tb = 0;
	while (ta < min_sec || tb < min_sec) {
		run_slice(a, ca, 0.05, &na, &ta);
		run_slice(b, cb, 0.05, &nb, &tb);
	}
	*ra = (double)na / ta;
	*rb = (double)nb / tb;
}

static void die_on(int ret, const char *what, const struct ff_error *err)
{
	if (ret) {
		fprintf(stderr, "bench_crypto: %s: %s\n", what, ff_error_msg(err, ret));
		exit(1);
	}
}

/* ---- PSI ---------------------------------------------------------------------- */

#define PSI_CHUNK 2048 /* ids per timed call */

struct psi_ctx {
	struct psi_secret s;
	uint8_t point[PSI_BYTES];
	struct psi_id *ids;
	uint8_t *peer; /* peer-blinded points, nids entries */
	uint8_t *out;
	size_t nids;
};

static size_t chunk_off(const struct psi_ctx *c, size_t i)
{
	return (i * PSI_CHUNK) % (c->nids - PSI_CHUNK + 1);
}

static void raw_scalarmult(void *vctx, size_t i)
{
	struct psi_ctx *c = vctx;
	(void)i;
	for (size_t k = 0; k < PSI_CHUNK; k++) {
		uint8_t q[PSI_BYTES];
		if (crypto_scalarmult_ristretto255(q, c->s.k, c->point) != 0)
			abort();
		memcpy(c->point, q, PSI_BYTES); /* feed back: always a valid point */
	}
}

static void raw_hash_mult(void *vctx, size_t i)
{
	struct psi_ctx *c = vctx;
	size_t off = chunk_off(c, i);
	for (size_t k = 0; k < PSI_CHUNK; k++) {
		const struct psi_id *id = &c->ids[off + k];
		uint8_t h[crypto_hash_sha512_BYTES], p[PSI_BYTES];
		crypto_hash_sha512(h, id->data, (unsigned long long)id->len);
		crypto_core_ristretto255_from_hash(p, h);
		if (crypto_scalarmult_ristretto255(c->out + k * PSI_BYTES, c->s.k, p) != 0)
			abort();
	}
}

static void blind_t(struct psi_ctx *c, size_t i, unsigned th)
{
	die_on(psi_blind_ids(&c->s, c->out, c->ids + chunk_off(c, i), PSI_CHUNK, th, NULL),
	       "psi_blind_ids", NULL);
}

static void reblind_t(struct psi_ctx *c, size_t i, unsigned th)
{
	die_on(psi_reblind(&c->s, c->out, c->peer + chunk_off(c, i) * PSI_BYTES, PSI_CHUNK, th,
			   NULL),
	       "psi_reblind", NULL);
}

static void blind_1t(void *c, size_t i) { blind_t(c, i, 1); }
static void blind_2t(void *c, size_t i) { blind_t(c, i, 2); }
static void reblind_1t(void *c, size_t i) { reblind_t(c, i, 1); }
static void reblind_2t(void *c, size_t i) { reblind_t(c, i, 2); }

static void bench_psi(void)
{
	enum { IDLEN = 24 };
	size_t n = 4 * PSI_CHUNK;
	struct psi_ctx c = { .nids = n };
	char *store = ff_calloc(n, IDLEN);
	FF_ALLOC_ARRAY(c.ids, n);
	c.peer = ff_malloc(n * PSI_BYTES);
	c.out = ff_malloc(PSI_CHUNK * PSI_BYTES);
	if (!store || !c.ids || !c.peer || !c.out)
		die_on(FF_ENOMEM, "psi setup", NULL);
	for (size_t i = 0; i < n; i++) {
		char *p = store + i * IDLEN;
		int len = snprintf(p, IDLEN, "%zu", (size_t)13800000000u + i * 7);
		c.ids[i] = (struct psi_id){ .data = p, .len = (size_t)len };
	}
	die_on(psi_secret_generate(&c.s, NULL), "psi secret", NULL);
	struct psi_secret peer_s;
	die_on(psi_secret_generate(&peer_s, NULL), "psi secret", NULL);
	die_on(psi_blind_ids(&peer_s, c.peer, c.ids, n, 2, NULL), "peer blind", NULL);
	psi_hash_to_group(c.point, "seed", 4);

	double r_hm, blind1, r_mult, reblind1, b1, b2, rb1, rb2;
	rate2(raw_hash_mult, &c, blind_1t, &c, &r_hm, &blind1);
	rate2(raw_scalarmult, &c, reblind_1t, &c, &r_mult, &reblind1);
	r_hm *= PSI_CHUNK;
	blind1 *= PSI_CHUNK;
	r_mult *= PSI_CHUNK;
	reblind1 *= PSI_CHUNK;
	printf("raw_ristretto255_scalarmult: %.0f ops/s/core (libsodium)\n", r_mult);
	printf("raw_sha512_fromhash_scalarmult: %.0f ops/s/core (libsodium)\n", r_hm);
	printf("psi_blind_ids_1t: %.0f ids/s (%.3f of raw sha512+from_hash+scalarmult)\n", blind1,
	       blind1 / r_hm);
	printf("psi_reblind_1t: %.0f ids/s (%.3f of raw scalarmult)\n", reblind1, reblind1 / r_mult);
	/* per party and id: hash+blind of its own id plus re-blind of a peer id */
	double party = 1.0 / (1.0 / blind1 + 1.0 / reblind1);
	double limit = 1.0 / (1.0 / r_hm + 1.0 / r_mult);
	printf("psi_ids_per_party_per_core: %.0f ids/s (%.3f of primitive limit %.0f ids/s)\n", party,
	       party / limit, limit);

	rate2(blind_1t, &c, blind_2t, &c, &b1, &b2);
	rate2(reblind_1t, &c, reblind_2t, &c, &rb1, &rb2);
	printf("psi_blind_ids_2t: %.0f ids/s (%.2fx of 1 thread)\n", b2 * PSI_CHUNK, b2 / b1);
	printf("psi_reblind_2t: %.0f ids/s (%.2fx of 1 thread)\n", rb2 * PSI_CHUNK, rb2 / rb1);
	double p1 = 1.0 / (1.0 / b1 + 1.0 / rb1), p2 = 1.0 / (1.0 / b2 + 1.0 / rb2);
	printf("psi_ids_per_party_2t: %.0f ids/s (%.2fx of 1 thread)\n", p2 * PSI_CHUNK, p2 / p1);

	/* the join of two double-blinded lists */
	size_t nj = quick ? 20000 : 1000000;
	uint8_t *a = ff_malloc(nj * PSI_BYTES), *b = ff_malloc(nj * PSI_BYTES);
	if (!a || !b)
		die_on(FF_ENOMEM, "psi join setup", NULL);
	randombytes_buf(a, nj * PSI_BYTES);
	randombytes_buf(b, nj * PSI_BYTES);
	for (size_t i = 0; i < nj; i += 3)
		memcpy(b + ((i * 7) % nj) * PSI_BYTES, a + i * PSI_BYTES, PSI_BYTES);
	struct psi_pair *pairs = NULL;
	size_t np = 0;
	double t0 = now();
	die_on(psi_intersect(a, nj, b, nj, PSI_REJECT_DUP_B, &pairs, &np, NULL), "intersect", NULL);
	double tj = now() - t0;
	printf("psi_intersect_%zux%zu: %.3f s (%zu matches, %.1f M values/s)\n", nj, nj, tj, np,
	       2.0 * (double)nj / tj / 1e6);
	ff_free(pairs);
	ff_free(a);
	ff_free(b);
	psi_secret_wipe(&c.s);
	psi_secret_wipe(&peer_s);
	ff_free(store);
	ff_free(c.ids);
	ff_free(c.peer);
	ff_free(c.out);
}

/* ---- Paillier ------------------------------------------------------------------ */

#define VEC_CHUNK 32 /* values per timed batch call */

struct pl_ctx {
	struct paillier_priv *key;
	struct paillier_djn *djn;
	mpz_t m, c, c2, out, r, k, t1, t2;
	int64_t k23;
	struct paillier_vec vm, vc, vd;
};

static void raw_powm_n(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	mpz_powm(c->out, c->r, c->key->pub.n, c->key->pub.n2);
}

static void raw_powm_crt(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	mpz_powm(c->t1, c->r, c->key->n_mod_pphi, c->key->p2);
	mpz_powm(c->t2, c->r, c->key->n_mod_qphi, c->key->q2);
}

static void raw_powm_dec(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	mpz_powm(c->t1, c->c, c->key->pm1, c->key->p2);
	mpz_powm(c->t2, c->c, c->key->qm1, c->key->q2);
}

static void raw_mulmod(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	mpz_mul(c->out, c->c, c->c2);
	mpz_mod(c->out, c->out, c->key->pub.n2);
}

static void raw_powm_k23(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	mpz_powm(c->out, c->c, c->k, c->key->pub.n2);
}

static void op_encrypt(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	die_on(paillier_encrypt(&c->key->pub, c->out, c->m, NULL), "encrypt", NULL);
}

static void op_encrypt_crt(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	die_on(paillier_encrypt_crt(c->key, c->out, c->m, NULL), "encrypt_crt", NULL);
}

static void op_encrypt_djn(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	die_on(paillier_encrypt_djn(c->djn, c->out, c->m, NULL), "encrypt_djn", NULL);
}

static void op_obfuscate(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	die_on(paillier_obfuscate(&c->key->pub, c->out, c->c, NULL), "obfuscate", NULL);
}

static void op_decrypt(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	die_on(paillier_decrypt(c->key, c->out, c->c, NULL), "decrypt", NULL);
}

static void op_add(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	paillier_add(&c->key->pub, c->out, c->c, c->c2);
}

static void op_mul_k23(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	die_on(paillier_mul_si(&c->key->pub, c->out, c->c, c->k23, NULL), "mul", NULL);
}

static void op_mul_k23_neg(void *v, size_t i)
{
	struct pl_ctx *c = v;
	(void)i;
	die_on(paillier_mul_si(&c->key->pub, c->out, c->c, -c->k23, NULL), "mul", NULL);
}

static void enc_vec_t(struct pl_ctx *c, unsigned th)
{
	die_on(paillier_encrypt_vec(&c->key->pub, &c->vc, &c->vm, th, NULL), "encrypt vec", NULL);
}

static void dec_vec_t(struct pl_ctx *c, unsigned th)
{
	die_on(paillier_decrypt_vec(c->key, &c->vd, &c->vc, th, NULL), "decrypt vec", NULL);
}

static void enc_vec_1t(void *c, size_t i) { (void)i; enc_vec_t(c, 1); }
static void enc_vec_2t(void *c, size_t i) { (void)i; enc_vec_t(c, 2); }
static void dec_vec_1t(void *c, size_t i) { (void)i; dec_vec_t(c, 1); }
static void dec_vec_2t(void *c, size_t i) { (void)i; dec_vec_t(c, 2); }

static void pair_line(const char *bits, const char *name, op_fn ours, const char *refname,
		      op_fn ref, struct pl_ctx *c, double *out_rate)
{
	double r_ours, r_ref;
	rate2(ref, c, ours, c, &r_ref, &r_ours);
	printf("paillier%s_%s: %.0f ops/s/core (%.3f of %s at %.0f ops/s)\n", bits, name, r_ours,
	       r_ours / r_ref, refname, r_ref);
	if (out_rate)
		*out_rate = r_ours;
}

/* X: rows x cols, FATE LR style: standardised features (|x| < 4) * 2^23 */
static int64_t *make_matrix(size_t rows, size_t cols)
{
	int64_t *X = NULL;
	size_t cells = rows * cols;
	FF_ALLOC_ARRAY(X, cells);
	if (!X)
		die_on(FF_ENOMEM, "matrix", NULL);
	for (size_t i = 0; i < cells; i++) {
		uint32_t u = randombytes_random();
		int64_t v = (int64_t)(u & 0x1ffffff); /* 25 bits: |x| < 4 at 23 fractional bits */
		X[i] = (u >> 31) ? -v : v;
	}
	return X;
}

static double time_matvec(const struct paillier_pub *pub, struct paillier_vec *o, const int64_t *X,
			  size_t rows, size_t cols, const struct paillier_vec *ev, unsigned th)
{
	double t0 = now();
	die_on(paillier_matvec(pub, o, X, rows, cols, ev, th, NULL), "matvec", NULL);
	return now() - t0;
}

static void bench_matvec(struct paillier_priv *key, const char *bits, size_t rows, size_t cols,
			 double mul_rate, double add_rate)
{
	const struct paillier_pub *pub = &key->pub;
	int64_t *X = make_matrix(rows, cols);
	struct paillier_vec v = PAILLIER_VEC_INIT, ev = PAILLIER_VEC_INIT, o = PAILLIER_VEC_INIT,
			    os = PAILLIER_VEC_INIT;
	die_on(paillier_vec_init(&v, rows), "vec", NULL);
	die_on(paillier_vec_init(&ev, rows), "vec", NULL);
	die_on(paillier_vec_init(&o, cols), "vec", NULL);
	die_on(paillier_vec_init(&os, cols), "vec", NULL);
	for (size_t i = 0; i < rows; i++)
		paillier_encode_i64(pub, v.v[i], (int64_t)(randombytes_random() & 0xffffff) - 0x800000);
	die_on(paillier_encrypt_vec_crt(key, &ev, &v, 2, NULL), "encrypt vec", NULL);

	/* best of two, 1 and 2 threads interleaved */
	double t1 = 1e30, t2 = 1e30;
	for (int rep = 0; rep < 2; rep++) {
		double a = time_matvec(pub, &o, X, rows, cols, &ev, 1);
		double b = time_matvec(pub, &o, X, rows, cols, &ev, 2);
		t1 = a < t1 ? a : t1;
		t2 = b < t2 ? b : t2;
	}
	/* naive: a powm (plus an inversion for negatives) and an add per element,
	 * measured on a tenth of the rows and scaled; and estimated from the
	 * single-op rates of positive scalars */
	double est = (double)(rows * cols) * (1.0 / mul_rate + 1.0 / add_rate);
	size_t sub = rows / 10 ? rows / 10 : 1;
	struct paillier_vec evs = { .len = sub, .v = ev.v };
	double t0 = now();
	die_on(paillier_matvec_naive(pub, &os, X, sub, cols, &evs, 1, NULL), "naive", NULL);
	double naive = (now() - t0) * (double)rows / (double)sub;
	printf("paillier%s_matvec_%zux%zu_1t: %.3f s (%.1fx faster than naive powm-per-element: "
	       "%.3f s measured on %zu rows and scaled; %.3f s estimated from positive-scalar rates)\n",
	       bits, rows, cols, t1, naive / t1, naive, sub, est);
	printf("paillier%s_matvec_%zux%zu_2t: %.3f s (%.2fx of 1 thread)\n", bits, rows, cols, t2,
	       t1 / t2);
	printf("paillier%s_matvec_per_element_1t: %.0f elements/s (%.2fx the ct^k23 powm rate)\n",
	       bits, (double)(rows * cols) / t1, (double)(rows * cols) / t1 / mul_rate);
	paillier_vec_release(&os);
	paillier_vec_release(&v);
	paillier_vec_release(&ev);
	paillier_vec_release(&o);
	ff_free(X);
}

static void bench_paillier(unsigned nbits)
{
	char bits[16];
	snprintf(bits, sizeof(bits), "%u", nbits);
	struct paillier_priv key;
	paillier_priv_init(&key);
	double t0 = now();
	die_on(paillier_keygen(&key, nbits, NULL), "keygen", NULL);
	printf("paillier%s_keygen: %.3f s (one key)\n", bits, now() - t0);

	struct paillier_djn djn;
	paillier_djn_init(&djn);
	t0 = now();
	die_on(paillier_djn_setup(&djn, &key.pub, 0, NULL), "djn setup", NULL);
	printf("paillier%s_djn_setup: %.3f s (window %u, %zu table entries)\n", bits, now() - t0,
	       djn.window, djn.rows * (((size_t)1 << djn.window) - 1));

	struct pl_ctx c = { .key = &key, .djn = &djn };
	mpz_inits(c.m, c.c, c.c2, c.out, c.r, c.k, c.t1, c.t2, NULL);
	paillier_encode_i64(&key.pub, c.m, -123456789);
	die_on(paillier_encrypt_crt(&key, c.c, c.m, NULL), "encrypt", NULL);
	die_on(paillier_encrypt_crt(&key, c.c2, c.m, NULL), "encrypt", NULL);
	mpz_mod(c.r, c.c2, key.pub.n); /* a random-looking unit mod n */
	c.k23 = 0x5a5a5a;              /* a 23-bit fixed-point value */
	mpz_set_ui(c.k, (unsigned long)c.k23);

	double enc, mul, add, r_djn, r_pub;
	pair_line(bits, "encrypt_public", op_encrypt, "raw powm r^n mod n^2", raw_powm_n, &c, &enc);
	pair_line(bits, "encrypt_crt", op_encrypt_crt, "raw 2x powm mod p^2,q^2 exp n", raw_powm_crt,
		  &c, NULL);
	rate2(op_encrypt, &c, op_encrypt_djn, &c, &r_pub, &r_djn);
	printf("paillier%s_encrypt_djn: %.0f ops/s/core (%.2fx of encrypt_public at %.0f ops/s)\n",
	       bits, r_djn, r_djn / r_pub, r_pub);
	pair_line(bits, "obfuscate", op_obfuscate, "raw powm r^n mod n^2", raw_powm_n, &c, NULL);
	pair_line(bits, "decrypt_crt", op_decrypt, "raw 2x powm mod p^2,q^2 exp p-1", raw_powm_dec,
		  &c, NULL);
	pair_line(bits, "add", op_add, "raw mul+mod n^2", raw_mulmod, &c, &add);
	pair_line(bits, "mul_k23", op_mul_k23, "raw powm k23 mod n^2", raw_powm_k23, &c, &mul);
	pair_line(bits, "mul_k23_negative", op_mul_k23_neg, "raw powm k23 mod n^2", raw_powm_k23, &c,
		  NULL);

	/* thread scaling of the batch calls */
	die_on(paillier_vec_init(&c.vm, VEC_CHUNK), "vec", NULL);
	die_on(paillier_vec_init(&c.vc, VEC_CHUNK), "vec", NULL);
	die_on(paillier_vec_init(&c.vd, VEC_CHUNK), "vec", NULL);
	for (size_t i = 0; i < VEC_CHUNK; i++)
		paillier_encode_i64(&key.pub, c.vm.v[i], (int64_t)i - 16);
	double e1, e2, d1, d2;
	rate2(enc_vec_1t, &c, enc_vec_2t, &c, &e1, &e2);
	rate2(dec_vec_1t, &c, dec_vec_2t, &c, &d1, &d2);
	printf("paillier%s_encrypt_vec_2t: %.0f ops/s (%.2fx of 1 thread at %.0f ops/s)\n", bits,
	       e2 * VEC_CHUNK, e2 / e1, e1 * VEC_CHUNK);
	printf("paillier%s_decrypt_vec_2t: %.0f ops/s (%.2fx of 1 thread at %.0f ops/s)\n", bits,
	       d2 * VEC_CHUNK, d2 / d1, d1 * VEC_CHUNK);

	if (nbits <= 1024)
		bench_matvec(&key, bits, quick ? 1000 : 10000, 30, mul, add);
	else if (!quick)
		bench_matvec(&key, bits, 10000, 10, mul, add);

	paillier_vec_release(&c.vm);
	paillier_vec_release(&c.vc);
	paillier_vec_release(&c.vd);
	mpz_clears(c.m, c.c, c.c2, c.out, c.r, c.k, c.t1, c.t2, NULL);
	paillier_djn_release(&djn);
	paillier_priv_release(&key);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--quick")) {
		quick = true;
		min_sec = 0.2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench_crypto: cannot initialise libsodium\n");
		return 1;
	}
	printf("# bench_crypto: GMP %s, libsodium %s, 1 thread unless _2t\n", gmp_version,
	       sodium_version_string());
	bench_psi();
	bench_paillier(1024);
	bench_paillier(2048);
	return 0;
}
