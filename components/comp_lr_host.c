// SPDX-License-Identifier: Apache-2.0
/*
 * comp_lr_host.c - a host's half of coordinated_lr training (protocol in
 * comp_lr.h): per batch it sends E(u_h/4) (and, as the only host, the
 * pieces of the loss), receives E(d) and computes its encrypted gradient
 * X_h^T E(d), which goes masked through the arbiter.
 */
#include "ff_setup.h"
#include <math.h>
#include "clock.h"
#include "comp_lr.h"
#include "mem.h"
#include "paillier.h"

struct lr_host {
	const struct comp_lr_params *p;
	struct comp_net *net;
	const char *guest, *arbiter;
	struct paillier_pub pub;
	struct paillier_djn djn;
	struct comp_lr_learner l;
	struct comp_lr_stats *st;
	const double *x;
	int64_t *xq;
	size_t n, d;
	double *u;
	bool loss_mode;
};

static int lr_host_batch(struct lr_host *hs, unsigned e, size_t b, size_t lo, size_t h,
			 struct ff_error *err)
{
	const struct comp_lr_params *p = hs->p;
	char tag[128], tag2[128];
	struct paillier_vec ehu = PAILLIER_VEC_INIT, extra = PAILLIER_VEC_INIT,
			    ed = PAILLIER_VEC_INIT, grad = PAILLIER_VEC_INIT;
	struct comp_msgr r;
	memset(&r, 0, sizeof(r));
	if (hs->d)
		comp_lr_rows_linear(hs->x, hs->d, p->row_order, lo, h, hs->l.w, false, hs->u);
	else
		memset(hs->u, 0, h * sizeof(double));
	double sq = 0;
	for (size_t i = 0; i < h; i++) {
		sq += hs->u[i] * hs->u[i];
		hs->u[i] *= 0.25;
	}
	int ret = paillier_vec_init(&ehu, h) || paillier_vec_init(&grad, hs->d)
		  ? ff_error_set(err, FF_ENOMEM, "out of memory") : FF_OK;
	if (!ret)
		ret = paillier_encrypt_fixed_vec(NULL, &hs->djn, &ehu, hs->u, p->frac_bits,
						 p->nthreads, err);
	hs->st->enc += h;
	if (!ret && hs->loss_mode) {
		double v[2] = { 0.125 * sq, lr_penalty_loss(hs->l.w, hs->d, p->penalty, p->alpha) };
		ret = paillier_vec_init(&extra, 2) ? ff_error_set(err, FF_ENOMEM, "out of memory")
						    : paillier_encrypt_fixed_vec(NULL, &hs->djn, &extra, v,
										 2 * p->frac_bits, 1, err);
		hs->st->enc += 2;
	}
	if (ret)
		goto out;
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_cts(&w, &hs->pub, &ehu);
	if (hs->loss_mode)
		comp_msgw_cts(&w, &hs->pub, &extra);
	comp_lr_tag(tag, e, b, "xw");
	ret = comp_net_send(hs->net, tag, "guest", hs->guest, &w, err);
	comp_lr_tag(tag, e, b, "d");
	if (!ret)
		ret = comp_net_recv(hs->net, tag, "guest", hs->guest, &r, err);
	if (!ret)
		ret = comp_msgr_cts(&r, &hs->pub, &ed, h, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	if (!ret && hs->d)
		ret = paillier_matvec(&hs->pub, &grad, hs->xq + lo * hs->d, h, hs->d, &ed,
				      p->nthreads, err);
	hs->st->matvec += (uint64_t)h * hs->d;
	hs->st->matvec_calls++;
	comp_lr_tag(tag, e, b, "g");
	comp_lr_tag(tag2, e, b, "gback");
	if (!ret)
		ret = comp_lr_learner_step(&hs->l, hs->net, &hs->pub, &hs->djn, &grad, h, e, tag, tag2,
					   hs->st, err);
out:
	comp_msgr_release(&r);
	paillier_vec_release(&ehu);
	paillier_vec_release(&extra);
	paillier_vec_release(&ed);
	paillier_vec_release(&grad);
	return ret;
}

static void lr_host_fail(struct lr_host *hs, unsigned e, size_t b, const char *why)
{
	char tag[128];
	comp_lr_tag(tag, e, b, "xw");
	comp_net_send_error(hs->net, tag, "guest", hs->guest, why);
	comp_lr_tag(tag, e, b, "g");
	comp_net_send_error(hs->net, tag, "arbiter", hs->arbiter, why);
	comp_lr_tag(tag, e, SIZE_MAX, "wdiff");
	comp_net_send_error(hs->net, tag, "arbiter", hs->arbiter, why);
}

int comp_lr_host_train(struct comp_net *net, const struct comp_lr_params *p, const double *x,
		       size_t n, size_t d, const unsigned char digest[32], const double *init_w,
		       struct comp_lr_fit *out, struct comp_lr_stats *st, struct ff_error *err)
{
	struct lr_host hs = { .p = p, .net = net, .x = x, .n = n, .d = d, .st = st };
	struct comp_lr_setup s;
	size_t ng, na, bs = 0, nb = 0, nhosts;
	size_t *order = NULL;
	unsigned e = 0;
	size_t b = 0;
	bool conv = false, started = false;
	int64_t t0 = clock_mono_ns();
	memset(out, 0, sizeof(*out));
	paillier_pub_init(&hs.pub);
	paillier_djn_init(&hs.djn);
	const char *const *g = comp_net_parties(net, "guest", &ng);
	const char *const *a = comp_net_parties(net, "arbiter", &na);
	comp_net_parties(net, "host", &nhosts);
	int ret = FF_OK;
	if (ng != 1 || na != 1) {
		ret = ff_error_set(err, FF_EINVAL, "coordinated_lr needs one guest and one arbiter");
		goto out;
	}
	hs.guest = g[0];
	hs.arbiter = a[0];
	hs.loss_mode = nhosts == 1;
	ret = comp_lr_recv_pub(net, &hs.pub, err);
	if (!ret)
		ret = comp_lr_recv_setup(net, p, &hs.pub, &s, err);
	if (ret)
		goto out;
	started = true;
	if (s.n != n || memcmp(s.digest, digest, 32)) {
		ret = ff_error_set(err, FF_EDATA, "data of guest (%llu rows) and host (%zu rows) are "
				   "not aligned (different sample ids): run psi first",
				   (unsigned long long)s.n, n);
		goto out;
	}
	if (s.nhosts != nhosts) {
		ret = ff_error_set(err, FF_EINVAL, "the guest sees %llu hosts, this host %zu",
				   (unsigned long long)s.nhosts, nhosts);
		goto out;
	}
	order = ff_malloc((n ? n : 1) * sizeof(size_t));
	if (!order) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	ret = lr_batches(n, (size_t)s.batch_size, false, 0, order, &bs, &nb, err);
	if (!ret)
		ret = paillier_djn_setup(&hs.djn, &hs.pub, 0, err);
	if (!ret)
		ret = comp_lr_encode_x(x, n, d, p->row_order, false, p->frac_bits, &hs.xq, err);
	if (!ret)
		ret = comp_lr_learner_init(&hs.l, p, d, false, init_w, hs.arbiter, nhosts, err);
	if (ret)
		goto out;
	hs.u = ff_malloc(bs * sizeof(double));
	if (!hs.u) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (e = 0; e < p->epochs && !ret && !conv; e++) {
		for (b = 0; b < nb && !ret; b++) {
			size_t lo = b * bs, h = lo + bs <= n ? bs : n - lo;
			ret = lr_host_batch(&hs, e, b, lo, h, err);
		}
		if (ret)
			break;
		ret = comp_lr_learner_epoch_end(&hs.l, net, e, &conv, err);
		if (!ret)
			out->epochs_run = e + 1;
	}
	if (ret)
		goto out;
	out->d = d;
	out->w = hs.l.w;
	hs.l.w = NULL;
	out->converged = conv;
out:
	if (ret && started)
		lr_host_fail(&hs, e, b ? b - 1 : 0, ff_error_msg(err, ret));
	st->seconds += (double)(clock_mono_ns() - t0) / 1e9;
	comp_lr_learner_release(&hs.l);
	paillier_djn_release(&hs.djn);
	paillier_pub_release(&hs.pub);
	ff_free(hs.xq);
	ff_free(hs.u);
	ff_free(order);
	return ret;
}
