// SPDX-License-Identifier: Apache-2.0
/*
 * bench_lr.c - seconds per epoch of coordinated_lr training (guest +
 * host + arbiter, Paillier) on generated data, beside what its Paillier
 * operations should cost: (operation count x the cost of each operation
 * measured in the same run, single thread) / cores used.
 *
 * The three parties run in THIS process as threads connected by the
 * in-process channel (components/comp_memnet.h), not through fedflowd's
 * federation: the figure is the protocol and its crypto, without network
 * or daemon overhead. Every line is `name: value unit (...)`.
 *
 * Usage: bench_lr [--rows N] [--guest F] [--host F] [--epochs E]
 *                 [--batch B] [--threads T] [--key BITS] [--quick]
 * Defaults: 100,000 rows x (30 guest + 300 host) features, 1 epoch, full
 * batch, 1024-bit key, threads = online CPUs (the shape of FATE 2.0's
 * coordinated-LR benchmark: 2 min 16 s per epoch on 16 cores).
 * --quick: 10,000 rows x (10 + 40) for smoke runs (meson test --benchmark).
 */
#include "ff_setup.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "comp_lr.h"
#include "comp_memnet.h"
#include "mem.h"
#include "paillier.h"

/* CPU seconds of the whole process (every thread). */
static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct bench {
	size_t n, dg, dh;
	double *xg, *xh, *y;
	struct comp_lr_params p;
	unsigned char digest[32];
	struct comp_lr_fit fit[3];
	struct comp_lr_stats st[3];
	double epoch_end[1024];
	unsigned epochs_seen;
	double t_start;
};

struct party {
	struct bench *b;
	const char *role, *party;
	struct comp_memhub *hub;
	int ret;
	struct ff_error err;
	pthread_t th;
};

static void epoch_cb(void *ctx, unsigned epoch, double loss, bool conv)
{
	struct bench *b = ctx;
	(void)loss;
	(void)conv;
	if (epoch < 1024)
		b->epoch_end[epoch] = now();
	b->epochs_seen = epoch + 1;
}

static void *party_main(void *arg)
{
	struct party *p = arg;
	struct bench *b = p->b;
	struct comp_net *net = NULL;
	p->ret = comp_memhub_net(p->hub, p->role, p->party, &net, &p->err);
	if (!p->ret) {
		if (!strcmp(p->role, "guest"))
			p->ret = comp_lr_guest_train(net, &b->p, b->xg, b->n, b->dg, b->y, b->digest, NULL,
						     &b->fit[0], &b->st[0], &p->err);
		else if (!strcmp(p->role, "host"))
			p->ret = comp_lr_host_train(net, &b->p, b->xh, b->n, b->dh, b->digest, NULL,
						    &b->fit[1], &b->st[1], &p->err);
		else
			p->ret = comp_lr_arbiter_train(net, &b->p, epoch_cb, b, &b->fit[2], &b->st[2],
						       &p->err);
	}
	if (p->ret)
		comp_memhub_abort(p->hub, ff_error_msg(&p->err, p->ret));
	comp_net_close(net);
	return NULL;
}

/* Standard-normal-ish features and labels from a planted logistic model. */
static void gen_data(struct bench *b)
{
	uint64_t s = 0x9E3779B97F4A7C15ull;
	size_t d = b->dg + b->dh;
	double *w = ff_calloc(d, sizeof(double));
	b->xg = ff_malloc(b->n * b->dg * sizeof(double));
	b->xh = ff_malloc(b->n * b->dh * sizeof(double));
	b->y = ff_malloc(b->n * sizeof(double));
	if (!w || !b->xg || !b->xh || !b->y) {
		fprintf(stderr, "bench_lr: out of memory\n");
		exit(1);
	}
	for (size_t j = 0; j < d; j++)
		w[j] = (j % 7 == 0) ? 0.3 : (j % 11 == 0 ? -0.2 : 0.0);
	for (size_t i = 0; i < b->n; i++) {
		double z = 0;
		for (size_t j = 0; j < d; j++) {
			/* sum of 4 uniforms, centred: close enough to a normal */
			double v = 0;
			for (int k = 0; k < 4; k++) {
				s ^= s << 13, s ^= s >> 7, s ^= s << 17;
				v += (double)(s >> 11) / 9007199254740992.0;
			}
			v = (v - 2.0) * 1.7320508;
			if (j < b->dg)
				b->xg[i * b->dg + j] = v;
			else
				b->xh[i * b->dh + (j - b->dg)] = v;
			z += v * w[j];
		}
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		double u = (double)(s >> 11) / 9007199254740992.0;
		b->y[i] = u < 1.0 / (1.0 + exp(-z)) ? 1.0 : 0.0;
	}
	ff_free(w);
	memset(b->digest, 0x5a, 32);
}

/* ---- per-operation costs, single thread ---- */

struct costs {
	double enc, dec, matvec, add, obf, add_plain, mul, powm_k23;
	size_t matvec_rows, matvec_cols;
};

static void die(const char *what, int ret, const struct ff_error *err)
{
	fprintf(stderr, "bench_lr: %s: %s\n", what, ff_error_msg(err, ret));
	exit(1);
}

static void measure_costs(unsigned bits, size_t rows, struct costs *c, bool quick)
{
	struct paillier_priv priv;
	struct paillier_djn djn;
	struct ff_error err = FF_ERROR_INIT;
	paillier_priv_init(&priv);
	paillier_djn_init(&djn);
	int ret = paillier_keygen(&priv, bits, &err);
	if (!ret)
		ret = paillier_djn_setup(&djn, &priv.pub, 0, &err);
	if (ret)
		die("keygen", ret, &err);
	size_t k = quick ? 500 : 2000;
	struct paillier_vec v = PAILLIER_VEC_INIT, m = PAILLIER_VEC_INIT;
	double *x = ff_malloc(k * sizeof(double));
	for (size_t i = 0; i < k; i++)
		x[i] = sin((double)i) * 3.0;
	paillier_vec_init(&v, k);
	paillier_vec_init(&m, k);
	double t0 = now();
	ret = paillier_encrypt_fixed_vec(NULL, &djn, &v, x, 23, 1, &err);
	c->enc = (now() - t0) / (double)k;
	t0 = now();
	if (!ret)
		ret = paillier_decrypt_vec(&priv, &m, &v, 1, &err);
	c->dec = (now() - t0) / (double)k;
	if (ret)
		die("encrypt/decrypt", ret, &err);
	mpz_t acc, r;
	mpz_inits(acc, r, NULL);
	mpz_set_ui(acc, 1);
	size_t reps = k * 50;
	t0 = now();
	for (size_t i = 0; i < reps; i++)
		paillier_add(&priv.pub, acc, acc, v.v[i % k]);
	c->add = (now() - t0) / (double)reps;
	t0 = now();
	for (size_t i = 0; i < k / 2; i++)
		paillier_obfuscate_djn(&djn, acc, acc, NULL);
	c->obf = (now() - t0) / (double)(k / 2);
	mpz_set(r, priv.pub.max_int);
	t0 = now();
	for (size_t i = 0; i < k; i++)
		paillier_add_plain(&priv.pub, acc, acc, r, NULL);
	c->add_plain = (now() - t0) / (double)k;
	t0 = now();
	for (size_t i = 0; i < k; i++)
		paillier_mul_si(&priv.pub, acc, v.v[i], 4000000 + (int64_t)i, NULL);
	c->powm_k23 = (now() - t0) / (double)k;
	c->mul = c->powm_k23;
	/* matvec per element at the benchmark's batch rows (bucket sizes depend on rows) */
	size_t cols = quick ? 2 : 4;
	struct paillier_vec ev = PAILLIER_VEC_INIT, out = PAILLIER_VEC_INIT;
	int64_t *X = ff_malloc(rows * cols * sizeof(int64_t));
	paillier_vec_init(&ev, rows);
	paillier_vec_init(&out, cols);
	for (size_t i = 0; i < rows; i++) {
		mpz_set(ev.v[i], v.v[i % k]);
		for (size_t j = 0; j < cols; j++)
			X[i * cols + j] = (int64_t)(ldexp(sin((double)(i * cols + j)) * 2.0, 23));
	}
	t0 = now();
	ret = paillier_matvec(&priv.pub, &out, X, rows, cols, &ev, 1, &err);
	c->matvec = (now() - t0) / (double)(rows * cols);
	if (ret)
		die("matvec", ret, &err);
	c->matvec_rows = rows;
	c->matvec_cols = cols;
	ff_free(X);
	ff_free(x);
	mpz_clears(acc, r, NULL);
	paillier_vec_release(&ev);
	paillier_vec_release(&out);
	paillier_vec_release(&v);
	paillier_vec_release(&m);
	paillier_djn_release(&djn);
	paillier_priv_release(&priv);
}

static double stats_cost(const struct comp_lr_stats *s, const struct costs *c)
{
	return (double)s->enc * c->enc + (double)s->dec * c->dec + (double)s->matvec * c->matvec +
	       (double)s->add * c->add + (double)s->obf * c->obf +
	       (double)s->add_plain * c->add_plain + (double)s->mul * c->mul;
}

int main(int argc, char **argv)
{
	struct bench b;
	memset(&b, 0, sizeof(b));
	b.n = 100000, b.dg = 30, b.dh = 300;
	unsigned epochs = 1, bits = 1024;
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	size_t batch = 0;
	bool quick = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick")) {
			quick = true;
			b.n = 10000, b.dg = 10, b.dh = 40;
		} else if (v && !strcmp(a, "--rows")) {
			b.n = strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "--guest")) {
			b.dg = strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "--host")) {
			b.dh = strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "--epochs")) {
			epochs = (unsigned)strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "--batch")) {
			batch = strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "--threads")) {
			threads = strtol(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "--key")) {
			bits = (unsigned)strtoul(v, NULL, 10), i++;
		} else {
			fprintf(stderr, "usage: bench_lr [--rows N] [--guest F] [--host F] [--epochs E] "
				"[--batch B] [--threads T] [--key BITS] [--quick]\n");
			return 2;
		}
	}
	if (b.n < 10 || epochs < 1 || epochs > 1000 || threads < 1)
		return 2;
	if (sodium_init() < 0)
		return 1;
	printf("# bench_lr: coordinated_lr, guest + host + arbiter as threads of one process "
	       "over the in-process channel (not through fedflowd)\n");
	printf("# shape: %zu rows x (%zu guest + %zu host) features, %u-bit key, batch %s, "
	       "%u epoch(s), %ld threads per party on %ld online CPUs\n", b.n, b.dg, b.dh, bits,
	       batch ? "given" : "full", epochs, threads, sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
	gen_data(&b);
	size_t rows = batch && batch < b.n ? batch : b.n;
	struct costs c;
	measure_costs(bits, rows, &c, quick);
	printf("cost_encrypt_djn: %.1f us/op (single thread)\n", c.enc * 1e6);
	printf("cost_decrypt_crt: %.1f us/op\n", c.dec * 1e6);
	printf("cost_matvec_element: %.2f us/element (%zu rows x %zu cols, bucket method; "
	       "powm ct^k23 per element would be %.1f us)\n", c.matvec * 1e6, c.matvec_rows,
	       c.matvec_cols, c.powm_k23 * 1e6);
	printf("cost_add: %.2f us/op, obfuscate_djn: %.1f us/op, add_plain: %.2f us/op\n",
	       c.add * 1e6, c.obf * 1e6, c.add_plain * 1e6);
	fflush(stdout);

	comp_lr_params_default(&b.p);
	b.p.epochs = epochs;
	b.p.batch_size = batch;
	b.p.key_bits = bits;
	b.p.init = LR_INIT_ZEROS;
	b.p.tol = 0;
	b.p.nthreads = (unsigned)threads;
	struct comp_memhub *hub = NULL;
	if (comp_memhub_new(&hub))
		return 1;
	comp_memhub_set_timeout(hub, 0);
	struct party ps[3] = {
		{ .b = &b, .role = "guest", .party = "9999", .hub = hub },
		{ .b = &b, .role = "host", .party = "10000", .hub = hub },
		{ .b = &b, .role = "arbiter", .party = "10001", .hub = hub },
	};
	for (size_t i = 0; i < 3; i++)
		comp_memhub_add(hub, ps[i].role, ps[i].party);
	double cpu0 = cpu_now();
	b.t_start = now();
	for (size_t i = 0; i < 3; i++)
		pthread_create(&ps[i].th, NULL, party_main, &ps[i]);
	for (size_t i = 0; i < 3; i++)
		pthread_join(ps[i].th, NULL);
	double total = now() - b.t_start;
	double cpu = cpu_now() - cpu0;
	for (size_t i = 0; i < 3; i++)
		if (ps[i].ret) {
			fprintf(stderr, "bench_lr: %s failed: %s\n", ps[i].role,
				ff_error_msg(&ps[i].err, ps[i].ret));
			return 1;
		}
	uint64_t bytes = comp_memhub_bytes(hub);
	comp_memhub_free(hub);

	double first = b.epoch_end[0] - b.t_start;
	double per_epoch = b.epochs_seen > 1
		? (b.epoch_end[b.epochs_seen - 1] - b.epoch_end[0]) / (double)(b.epochs_seen - 1)
		: first;
	double core_s = 0;
	for (size_t i = 0; i < 3; i++)
		core_s += stats_cost(&b.st[i], &c);
	core_s /= (double)b.epochs_seen;
	double predicted = core_s / (double)threads;
	const char *names[] = { "guest", "host", "arbiter" };
	for (size_t i = 0; i < 3; i++)
		printf("ops_%s_per_epoch: %llu encryptions, %llu matvec elements, %llu decryptions, "
		       "%llu adds, %llu obfuscations (%.1f core-s)\n", names[i],
		       (unsigned long long)(b.st[i].enc / b.epochs_seen),
		       (unsigned long long)(b.st[i].matvec / b.epochs_seen),
		       (unsigned long long)(b.st[i].dec / b.epochs_seen),
		       (unsigned long long)(b.st[i].add / b.epochs_seen),
		       (unsigned long long)(b.st[i].obf / b.epochs_seen),
		       stats_cost(&b.st[i], &c) / (double)b.epochs_seen);
	printf("lr_first_epoch: %.2f s (includes setup: keys, encoding)\n", first);
	printf("lr_epoch: %.2f s per epoch (%u epochs, %.2f s in all, %.1f MB exchanged per "
	       "epoch)\n", per_epoch, b.epochs_seen, total,
	       (double)bytes / 1e6 / (double)b.epochs_seen);
	printf("lr_epoch_model: %.2f s = %.1f core-s of Paillier operations / %ld cores\n",
	       predicted, core_s, threads);
	printf("lr_epoch_ratio: %.3f (measured / model; target <= 1.25)\n", per_epoch / predicted);
	printf("lr_cpu_ratio: %.3f (CPU seconds of the run per epoch %.1f / model %.1f core-s; "
	       "load-independent; %.2f cores busy on average)\n",
	       cpu / (double)b.epochs_seen / core_s, cpu / (double)b.epochs_seen, core_s,
	       cpu / total);
	printf("lr_epoch_core_seconds: %.1f (FATE 2.0 anchor: 136 s x 16 cores = 2176 core-s "
	       "per epoch on this shape, Xeon 8255C)\n", per_epoch * (double)threads);
	for (size_t i = 0; i < 3; i++)
		comp_lr_fit_release(&b.fit[i]);
	ff_free(b.xg);
	ff_free(b.xh);
	ff_free(b.y);
	return 0;
}
