// SPDX-License-Identifier: Apache-2.0
/*
 * comp_lr_guest.c - the guest's half of coordinated_lr training (protocol
 * in comp_lr.h): per batch it forms E(d) from its residual and the hosts'
 * E(u_h/4), sends it to the hosts, computes its own encrypted gradient
 * X_g^T E(d) (intercept as a constant column) and, with a single host, the
 * encrypted batch loss for the arbiter.
 */
#include "ff_setup.h"
#include <math.h>
#include "clock.h"
#include "comp_lr.h"
#include "mem.h"
#include "paillier.h"

struct lr_guest {
	const struct comp_lr_params *p;
	struct comp_net *net;
	const char *const *hosts;
	size_t nhosts;
	const char *arbiter;
	struct paillier_pub pub;
	struct paillier_djn djn;
	struct comp_lr_learner l;
	struct comp_lr_stats *st;
	const double *x;
	const double *y;       /* -1/+1 */
	int64_t *xq;           /* n x dd fixed point */
	size_t n, d, dd;
	double *u, *dg;
	int64_t *dq;
	bool loss_mode;
};

static int lr_guest_setup(struct lr_guest *g, const unsigned char digest[32], size_t bs,
			  struct ff_error *err)
{
	int ret = comp_lr_recv_pub(g->net, &g->pub, err);
	if (!ret)
		ret = paillier_djn_setup(&g->djn, &g->pub, 0, err);
	if (ret)
		return ret;
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_u64(&w, g->n);
	comp_msgw_u64(&w, bs);
	comp_msgw_u64(&w, g->p->epochs);
	comp_msgw_u64(&w, g->nhosts);
	comp_msgw_bytes(&w, digest, 32);
	unsigned char kd[32];
	comp_lr_key_digest(&g->pub, kd);
	comp_msgw_bytes(&w, kd, 32);
	struct comp_msgw w2 = w;
	w2.buf = ff_malloc(w.len ? w.len : 1);
	if (!w2.buf) {
		comp_msgw_release(&w);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	memcpy(w2.buf, w.buf, w.len);
	w2.cap = w.len;
	ret = g->nhosts ? comp_net_broadcast(g->net, "lr.setup", "host", &w, err) : FF_OK;
	if (!g->nhosts)
		comp_msgw_release(&w);
	if (!ret)
		ret = comp_net_send(g->net, "lr.setup", "arbiter", g->arbiter, &w2, err);
	else
		comp_msgw_release(&w2);
	return ret;
}

/* E(h * batch loss) for the arbiter (single host or none). */
static int lr_guest_loss(struct lr_guest *g, size_t lo, size_t h, const struct paillier_vec *ehu,
			 const mpz_t hsq, const mpz_t hpen, mpz_t out, struct ff_error *err)
{
	const struct comp_lr_params *p = g->p;
	unsigned f2 = 2 * p->frac_bits;
	double a = (double)h * log(2.0);
	for (size_t i = 0; i < h; i++)
		a += -0.5 * g->y[lo + i] * g->u[i] + 0.125 * g->u[i] * g->u[i];
	a += (double)h * lr_penalty_loss(g->l.w, g->dd, p->penalty, p->alpha);
	mpz_t m;
	mpz_init(m);
	mpz_set_ui(out, 1); /* E(0), re-randomised at the end */
	int ret = paillier_encode_fixed(&g->pub, m, a, f2, err);
	if (!ret)
		ret = paillier_add_plain(&g->pub, out, out, m, err);
	if (!ret && ehu) {
		/* sum d_g u_h = sum (4 d_g) * (u_h / 4): one more column of matvec */
		double scale = ldexp(1.0, (int)p->frac_bits);
		for (size_t i = 0; i < h; i++)
			g->dq[i] = (int64_t)nearbyint(4.0 * g->dg[i] * scale);
		struct paillier_vec cross = PAILLIER_VEC_INIT;
		ret = paillier_vec_init(&cross, 1) ? FF_ENOMEM : FF_OK;
		if (!ret)
			ret = paillier_matvec(&g->pub, &cross, g->dq, h, 1, ehu, p->nthreads, err);
		if (!ret)
			paillier_add(&g->pub, out, out, cross.v[0]);
		paillier_vec_release(&cross);
		g->st->matvec += h;
		g->st->matvec_calls++;
		if (!ret) {
			mpz_t ph;
			mpz_init(ph);
			paillier_add(&g->pub, out, out, hsq);
			ret = paillier_mul_si(&g->pub, ph, hpen, (int64_t)h, err);
			if (!ret)
				paillier_add(&g->pub, out, out, ph);
			mpz_clear(ph);
			g->st->add += 3;
			g->st->mul++;
		}
	}
	if (!ret)
		ret = paillier_obfuscate_djn(&g->djn, out, out, err);
	g->st->obf++;
	mpz_clear(m);
	return ret;
}

static int lr_guest_batch(struct lr_guest *g, unsigned e, size_t b, size_t lo, size_t h,
			  struct ff_error *err)
{
	const struct comp_lr_params *p = g->p;
	char tag[128], tag2[128];
	struct paillier_vec ed = PAILLIER_VEC_INIT, ehu = PAILLIER_VEC_INIT,
			    grad = PAILLIER_VEC_INIT, extra = PAILLIER_VEC_INIT;
	mpz_t lossc;
	mpz_init(lossc);
	comp_lr_rows_linear(g->x, g->d, p->row_order, lo, h, g->l.w, p->fit_intercept, g->u);
	lr_taylor_d(g->u, g->y + lo, NULL, h, g->dg);
	int ret = paillier_vec_init(&ed, h) || paillier_vec_init(&grad, g->dd)
		  ? ff_error_set(err, FF_ENOMEM, "out of memory") : FF_OK;
	if (!ret)
		ret = paillier_encrypt_fixed_vec(NULL, &g->djn, &ed, g->dg, p->frac_bits, p->nthreads,
						 err);
	g->st->enc += h;
	comp_lr_tag(tag, e, b, "xw");
	for (size_t k = 0; k < g->nhosts && !ret; k++) {
		struct comp_msgr r;
		paillier_vec_release(&ehu);
		paillier_vec_release(&extra);
		ret = comp_net_recv(g->net, tag, "host", g->hosts[k], &r, err);
		if (!ret)
			ret = comp_msgr_cts(&r, &g->pub, &ehu, h, err);
		if (!ret && g->loss_mode)
			ret = comp_msgr_cts(&r, &g->pub, &extra, 2, err);
		if (!ret)
			ret = comp_msgr_end(&r, err);
		comp_msgr_release(&r);
		if (!ret)
			ret = paillier_add_vec(&g->pub, &ed, &ed, &ehu, p->nthreads, err);
		g->st->add += h;
	}
	if (ret)
		goto out;
	if (g->nhosts) {
		struct comp_msgw w;
		comp_msgw_init(&w);
		comp_msgw_cts(&w, &g->pub, &ed);
		comp_lr_tag(tag, e, b, "d");
		ret = comp_net_broadcast(g->net, tag, "host", &w, err);
	}
	if (!ret && g->loss_mode) {
		ret = lr_guest_loss(g, lo, h, g->nhosts ? &ehu : NULL, g->nhosts ? extra.v[0] : NULL,
				    g->nhosts ? extra.v[1] : NULL, lossc, err);
		if (!ret) {
			struct comp_msgw w;
			struct paillier_vec one = { .len = 1, .v = &lossc };
			comp_msgw_init(&w);
			comp_msgw_u64(&w, h);
			comp_msgw_cts(&w, &g->pub, &one);
			comp_lr_tag(tag, e, b, "loss");
			ret = comp_net_send(g->net, tag, "arbiter", g->arbiter, &w, err);
		}
	}
	if (!ret)
		ret = paillier_matvec(&g->pub, &grad, g->xq + lo * g->dd, h, g->dd, &ed, p->nthreads,
				      err);
	g->st->matvec += (uint64_t)h * g->dd;
	g->st->matvec_calls++;
	comp_lr_tag(tag, e, b, "g");
	comp_lr_tag(tag2, e, b, "gback");
	if (!ret)
		ret = comp_lr_learner_step(&g->l, g->net, &g->pub, &g->djn, &grad, h, e, tag, tag2,
					   g->st, err);
out:
	mpz_clear(lossc);
	paillier_vec_release(&ed);
	paillier_vec_release(&ehu);
	paillier_vec_release(&extra);
	paillier_vec_release(&grad);
	return ret;
}

/* Tells the peers waiting at (e, b) that the guest stopped. */
static void lr_guest_fail(struct lr_guest *g, unsigned e, size_t b, const char *why)
{
	char tag[128];
	const char *names[] = { "loss", "g" };
	comp_lr_tag(tag, e, b, "d");
	comp_net_broadcast_error(g->net, tag, "host", why);
	for (size_t i = 0; i < 2; i++) {
		comp_lr_tag(tag, e, b, names[i]);
		comp_net_send_error(g->net, tag, "arbiter", g->arbiter, why);
	}
	comp_lr_tag(tag, e, SIZE_MAX, "wdiff");
	comp_net_send_error(g->net, tag, "arbiter", g->arbiter, why);
}

int comp_lr_guest_train(struct comp_net *net, const struct comp_lr_params *p, const double *x,
			size_t n, size_t d, const double *y, const unsigned char digest[32],
			const double *init_w, struct comp_lr_fit *out, struct comp_lr_stats *st,
			struct ff_error *err)
{
	struct lr_guest g = { .p = p, .net = net, .x = x, .n = n, .d = d, .st = st };
	size_t na, bs = 0, nb = 0;
	size_t *order = NULL;
	double *ypm = NULL;
	unsigned e = 0;
	size_t b = 0;
	bool conv = false, started = false;
	int64_t t0 = clock_mono_ns();
	memset(out, 0, sizeof(*out));
	paillier_pub_init(&g.pub);
	paillier_djn_init(&g.djn);
	g.hosts = comp_net_parties(net, "host", &g.nhosts);
	const char *const *arb = comp_net_parties(net, "arbiter", &na);
	int ret = FF_OK;
	if (na != 1) {
		ret = ff_error_set(err, FF_EINVAL, "coordinated_lr needs exactly one arbiter");
		goto out;
	}
	g.arbiter = arb[0];
	g.dd = d + (p->fit_intercept ? 1 : 0);
	g.loss_mode = g.nhosts <= 1;
	ypm = ff_malloc((n ? n : 1) * sizeof(double));
	order = ff_malloc((n ? n : 1) * sizeof(size_t));
	if (!ypm || !order) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	ret = comp_lr_labels(y, n, ypm, err);
	/* the labels in batch order (checked to be 0/1 just above) */
	for (size_t i = 0; !ret && p->row_order && i < n; i++)
		ypm[i] = y[p->row_order[i]] == 1 ? 1.0 : -1.0;
	if (!ret)
		ret = lr_batches(n, p->batch_size, false, 0, order, &bs, &nb, err);
	if (!ret)
		ret = comp_lr_encode_x(x, n, d, p->row_order, p->fit_intercept, p->frac_bits, &g.xq,
				       err);
	if (ret)
		goto out;
	g.y = ypm;
	g.u = ff_malloc(bs * sizeof(double));
	g.dg = ff_malloc(bs * sizeof(double));
	g.dq = ff_malloc(bs * sizeof(int64_t));
	if (!g.u || !g.dg || !g.dq) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	ret = lr_guest_setup(&g, digest, p->batch_size ? bs : 0, err);
	if (!ret)
		ret = comp_lr_learner_init(&g.l, p, g.dd, p->fit_intercept, init_w, g.arbiter,
					   g.nhosts, err);
	if (ret)
		goto out;
	started = true;
	for (e = 0; e < p->epochs && !ret && !conv; e++) {
		for (b = 0; b < nb && !ret; b++) {
			size_t lo = b * bs, h = lo + bs <= n ? bs : n - lo;
			ret = lr_guest_batch(&g, e, b, lo, h, err);
		}
		if (ret)
			break;
		ret = comp_lr_learner_epoch_end(&g.l, net, e, &conv, err);
		if (!ret)
			out->epochs_run = e + 1;
	}
	if (ret)
		goto out;
	out->d = g.dd;
	out->w = g.l.w;
	g.l.w = NULL;
	out->converged = conv;
out:
	if (ret && started)
		lr_guest_fail(&g, e, b ? b - 1 : 0, ff_error_msg(err, ret));
	st->seconds += (double)(clock_mono_ns() - t0) / 1e9;
	comp_lr_learner_release(&g.l);
	paillier_djn_release(&g.djn);
	paillier_pub_release(&g.pub);
	ff_free(g.xq);
	ff_free(g.u);
	ff_free(g.dg);
	ff_free(g.dq);
	ff_free(ypm);
	ff_free(order);
	return ret;
}
