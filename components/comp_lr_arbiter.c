// SPDX-License-Identifier: Apache-2.0
/*
 * comp_lr_arbiter.c - the arbiter's half of coordinated_lr training
 * (protocol in comp_lr.h): it owns the Paillier key, decrypts the batch
 * losses (single host) and the parties' masked gradients, and decides
 * convergence. It never sees a gradient: what it decrypts is each party's
 * gradient plus a uniform mask mod n known only to that party.
 */
#include "ff_setup.h"
#include <math.h>
#include "clock.h"
#include "comp_lr.h"
#include "mem.h"
#include "paillier.h"

static int lr_arb_loss(struct comp_net *net, const struct paillier_priv *priv,
		       const char *guest, const char *tag, unsigned frac, double *loss,
		       struct comp_lr_stats *st, struct ff_error *err)
{
	struct comp_msgr r;
	struct paillier_vec c = PAILLIER_VEC_INIT;
	uint64_t h = 0;
	mpz_t m;
	mpz_init(m);
	int ret = comp_net_recv(net, tag, "guest", guest, &r, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &h, err);
	if (!ret && h == 0)
		ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from guest %s: 0 rows",
				   tag, guest);
	if (!ret)
		ret = comp_msgr_cts(&r, &priv->pub, &c, 1, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	if (!ret)
		ret = paillier_decrypt(priv, m, c.v[0], err);
	if (!ret)
		ret = paillier_decode_fixed(&priv->pub, loss, m, 2 * frac, err);
	if (!ret)
		*loss /= (double)h;
	st->dec++;
	mpz_clear(m);
	paillier_vec_release(&c);
	comp_msgr_release(&r);
	return ret;
}

static void lr_arb_fail(struct comp_net *net, unsigned e, size_t b, const char *why)
{
	char tag[128];
	comp_lr_tag(tag, e, b, "gback");
	comp_net_broadcast_error(net, tag, "guest", why);
	comp_net_broadcast_error(net, tag, "host", why);
	comp_lr_tag(tag, e, SIZE_MAX, "converge");
	comp_net_broadcast_error(net, tag, "guest", why);
	comp_net_broadcast_error(net, tag, "host", why);
}

static int lr_arb_send_flag(struct comp_net *net, unsigned e, bool conv, struct ff_error *err)
{
	char tag[128];
	comp_lr_tag(tag, e, SIZE_MAX, "converge");
	const char *roles[] = { "guest", "host" };
	int ret = FF_OK;
	for (size_t k = 0; k < 2 && !ret; k++) {
		size_t n;
		comp_net_parties(net, roles[k], &n);
		if (!n)
			continue;
		struct comp_msgw w;
		comp_msgw_init(&w);
		comp_msgw_u64(&w, conv ? 1 : 0);
		ret = comp_net_broadcast(net, tag, roles[k], &w, err);
	}
	return ret;
}

/* Sum of the parties' |epoch delta|^2 (weight_diff). */
static int lr_arb_wdiff(struct comp_net *net, const char *guest, const char *const *hosts,
			size_t nh, unsigned e, double *norm, struct ff_error *err)
{
	char tag[128];
	comp_lr_tag(tag, e, SIZE_MAX, "wdiff");
	double total = 0;
	int ret = FF_OK;
	for (size_t k = 0; k <= nh && !ret; k++) {
		struct comp_msgr r;
		double v = 0;
		const char *role = k == 0 ? "guest" : "host", *party = k == 0 ? guest : hosts[k - 1];
		ret = comp_net_recv(net, tag, role, party, &r, err);
		if (!ret)
			ret = comp_msgr_f64(&r, &v, err);
		if (!ret)
			ret = comp_msgr_end(&r, err);
		if (!ret && !(v >= 0 && isfinite(v)))
			ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s %s: %g", tag,
					   role, party, v);
		total += v;
		comp_msgr_release(&r);
	}
	*norm = sqrt(total);
	return ret;
}

int comp_lr_arbiter_train(struct comp_net *net, const struct comp_lr_params *p,
			  comp_lr_epoch_cb cb, void *cb_ctx, struct comp_lr_fit *out,
			  struct comp_lr_stats *st, struct ff_error *err)
{
	struct paillier_priv priv;
	struct comp_lr_setup s;
	struct lr_conv conv;
	size_t ng, nh, bs = 0, nb = 0;
	size_t *order = NULL;
	unsigned e = 0;
	size_t b = 0;
	bool converged = false, started = false;
	int64_t t0 = clock_mono_ns();
	memset(out, 0, sizeof(*out));
	paillier_priv_init(&priv);
	const char *const *g = comp_net_parties(net, "guest", &ng);
	const char *const *hosts = comp_net_parties(net, "host", &nh);
	int ret = FF_OK;
	if (ng != 1) {
		ret = ff_error_set(err, FF_EINVAL, "coordinated_lr needs exactly one guest");
		goto out;
	}
	enum lr_early_stop stop = comp_lr_stop(p, nh);
	bool loss_mode = nh <= 1;
	ret = lr_conv_init(&conv, stop, p->tol, err);
	if (!ret)
		ret = paillier_keygen(&priv, p->key_bits, err);
	if (ret)
		goto out;
	started = true;
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_pub(&w, &priv.pub);
	struct comp_msgw w2 = w;
	w2.buf = ff_malloc(w.len);
	if (!w2.buf) {
		comp_msgw_release(&w);
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(w2.buf, w.buf, w.len);
	w2.cap = w.len;
	ret = comp_net_send(net, "lr.pubkey", "guest", g[0], &w, err);
	if (!ret && nh)
		ret = comp_net_broadcast(net, "lr.pubkey", "host", &w2, err);
	else
		comp_msgw_release(&w2);
	if (!ret)
		ret = comp_lr_recv_setup(net, p, &priv.pub, &s, err);
	if (!ret && s.nhosts != nh)
		ret = ff_error_set(err, FF_EINVAL, "the guest sees %llu hosts, the arbiter %zu",
				   (unsigned long long)s.nhosts, nh);
	if (ret)
		goto out;
	order = ff_malloc((size_t)s.n * sizeof(size_t));
	out->loss = ff_calloc(p->epochs, sizeof(double));
	if (!order || !out->loss) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	ret = lr_batches((size_t)s.n, (size_t)s.batch_size, false, 0, order, &bs, &nb, err);
	char tag[128], tag2[128];
	for (e = 0; e < p->epochs && !ret && !converged; e++) {
		double loss = 0;
		for (b = 0; b < nb && !ret; b++) {
			double bl = 0;
			comp_lr_tag(tag, e, b, "loss");
			if (loss_mode)
				ret = lr_arb_loss(net, &priv, g[0], tag, p->frac_bits, &bl, st, err);
			loss += bl;
			comp_lr_tag(tag, e, b, "g");
			comp_lr_tag(tag2, e, b, "gback");
			if (!ret)
				ret = comp_lr_arbiter_roundtrip(net, &priv, "guest", g[0], tag, tag2,
								p->nthreads, st, err);
			for (size_t k = 0; k < nh && !ret; k++)
				ret = comp_lr_arbiter_roundtrip(net, &priv, "host", hosts[k], tag, tag2,
								p->nthreads, st, err);
		}
		if (ret)
			break;
		double norm = 0;
		if (stop == LR_STOP_WEIGHT_DIFF)
			ret = lr_arb_wdiff(net, g[0], hosts, nh, e, &norm, err);
		if (ret)
			break;
		if (!loss_mode)
			loss = NAN;
		converged = lr_conv_check(&conv, loss, &norm, 1);
		out->loss[e] = loss;
		out->nloss = e + 1;
		out->epochs_run = e + 1;
		if (cb)
			cb(cb_ctx, e, loss, converged);
		ret = lr_arb_send_flag(net, e, converged, err);
	}
	out->converged = converged;
out:
	if (ret && started)
		lr_arb_fail(net, e, b ? b - 1 : 0, ff_error_msg(err, ret));
	st->seconds += (double)(clock_mono_ns() - t0) / 1e9;
	ff_free(order);
	paillier_priv_release(&priv);
	return ret;
}
