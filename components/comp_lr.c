// SPDX-License-Identifier: Apache-2.0
/*
 * comp_lr.c - the `coordinated_lr` component: description, FATE's
 * parameters, the guest/host learner (masked gradient round trip with the
 * arbiter, local optimizer), prediction, JSON models, and the train and
 * predict stages. The training halves are in comp_lr_{guest,host,arbiter}.c;
 * the protocol is described in comp_lr.h and docs/algorithms.md.
 */
#include "ff_setup.h"
#include <math.h>
#include <stdlib.h>
#include <sodium.h>
#include "comp.h"
#include "comp_lr.h"
#include "jsonx.h"
#include "mem.h"
#include "paillier.h"

#define LR_ROLES "guest,host,arbiter"
#define LR_GH "guest,host"
#define LR_MAX_FEATURES 100000
#define LR_MAX_ROWS ((size_t)1 << 31)
/* FATE's check_overflow */
#define LR_W_LIMIT 1e8

/* --------------------------------------------------------------- params */

void comp_lr_params_default(struct comp_lr_params *p)
{
	memset(p, 0, sizeof(*p));
	p->epochs = 20;
	p->batch_size = 0;
	p->optimizer = OPTIM_SGD;
	optim_params_default(OPTIM_SGD, &p->optim);
	p->optim.lr = 0.01;
	p->optim.weight_decay = 0;
	p->penalty = LR_PENALTY_L2;
	p->alpha = 1.0;
	p->sched = SCHED_LINEAR;
	sched_params_default(&p->sched_p);
	p->sched_p.start_factor = 1.0;
	p->init = LR_INIT_RANDOM_UNIFORM;
	p->fit_intercept = true;
	p->early_stop = LR_STOP_DIFF;
	p->tol = 1e-4;
	p->threshold = 0.5;
	p->key_bits = 1024;
	p->frac_bits = PAILLIER_DEFAULT_FRAC_BITS;
	p->nthreads = 1;
}

static int lr_set_optim_params(struct comp_lr_params *p, const json_t *op, struct ff_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)op, key, v) {
		char name[64];
		double x;
		bool b;
		if (json_is_array(v)) {
			for (size_t i = 0; i < json_array_size(v); i++) {
				snprintf(name, sizeof(name), "%s.%zu", key, i);
				if (!jsonx_as_double(json_array_get(v, i), &x))
					return ff_error_set(err, FF_EINVAL, "optimizer_params.%s: expected "
							    "numbers", key);
				int ret = optim_params_set(&p->optim, p->optimizer, name, x, err);
				if (ret)
					return ret;
			}
			continue;
		}
		if (json_is_boolean(v) && jsonx_as_bool(v, &b))
			x = b ? 1 : 0;
		else if (!jsonx_as_double(v, &x))
			return ff_error_set(err, FF_EINVAL, "optimizer_params.%s: expected a number",
					    key);
		int ret = optim_params_set(&p->optim, p->optimizer, key, x, err);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int lr_load_optimizer(struct ff_task *t, struct comp_lr_params *p, struct ff_error *err)
{
	const json_t *o;
	int ret = comp_param_obj(t, "optimizer", &o, err);
	if (ret || !o)
		return ret;
	const char *method = jsonx_str(o, "method");
	if (method && (ret = optim_method_parse(method, &p->optimizer, err)))
		return ret;
	optim_params_default(p->optimizer, &p->optim);
	const char *pen = jsonx_str(o, "penalty");
	if (pen) {
		char low[16];
		size_t i = 0;
		for (; pen[i] && i < sizeof(low) - 1; i++)
			low[i] = (char)(pen[i] >= 'A' && pen[i] <= 'Z' ? pen[i] + 32 : pen[i]);
		low[i] = 0;
		if ((ret = lr_penalty_parse(low, &p->penalty, err)))
			return ret;
	}
	const json_t *a = json_object_get(o, "alpha");
	if (a && !json_is_null(a) && (!jsonx_as_double(a, &p->alpha) || !(p->alpha >= 0)))
		return ff_error_set(err, FF_EINVAL, "optimizer.alpha must be a number >= 0");
	const json_t *op = json_object_get(o, "optimizer_params");
	if (op && !json_is_null(op) && !json_is_object(op))
		return ff_error_set(err, FF_EINVAL, "optimizer.optimizer_params must be a mapping");
	return op ? lr_set_optim_params(p, op, err) : FF_OK;
}

static int lr_load_sched(struct ff_task *t, struct comp_lr_params *p, struct ff_error *err)
{
	const json_t *s;
	int ret = comp_param_obj(t, "learning_rate_scheduler", &s, err);
	if (ret || !s)
		return ret;
	const char *method = jsonx_str(s, "method");
	sched_params_default(&p->sched_p);
	p->sched = SCHED_CONSTANT;
	if (method && (ret = sched_method_parse(method, &p->sched, err)))
		return ret;
	const json_t *sp = json_object_get(s, "scheduler_params");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)sp, key, v) {
		double x;
		if (!jsonx_as_double(v, &x))
			return ff_error_set(err, FF_EINVAL, "scheduler_params.%s: expected a number", key);
		if (!strcmp(key, "factor"))
			p->sched_p.factor = x;
		else if (!strcmp(key, "start_factor"))
			p->sched_p.start_factor = x;
		else if (!strcmp(key, "end_factor"))
			p->sched_p.end_factor = x;
		else if (!strcmp(key, "gamma"))
			p->sched_p.gamma = x;
		else if (!strcmp(key, "total_iters") && x >= 0)
			p->sched_p.total_iters = (unsigned long)x;
		else if (!strcmp(key, "step_size") && x >= 0)
			p->sched_p.step_size = (unsigned long)x;
		else
			return ff_error_set(err, FF_EINVAL, "scheduler_params.%s is not a parameter of "
					    "the %s scheduler", key, method ? method : "constant");
	}
	struct sched probe;
	return sched_init(&probe, p->sched, &p->sched_p, p->optim.lr, err);
}

static int lr_load_init(struct ff_task *t, struct comp_lr_params *p, struct ff_error *err)
{
	const json_t *ip;
	int ret = comp_param_obj(t, "init_param", &ip, err);
	if (ret || !ip)
		return ret;
	const char *method = jsonx_str(ip, "method");
	if (method && (ret = lr_init_parse(method, &p->init, err)))
		return ret;
	const json_t *v = json_object_get(ip, "fill_val");
	if (v && !json_is_null(v) && !jsonx_as_double(v, &p->init_fill))
		return ff_error_set(err, FF_EINVAL, "init_param.fill_val must be a number");
	v = json_object_get(ip, "fit_intercept");
	if (v && !json_is_null(v) && !jsonx_as_bool(v, &p->fit_intercept))
		return ff_error_set(err, FF_EINVAL, "init_param.fit_intercept must be a bool");
	v = json_object_get(ip, "random_state");
	long long seed;
	if (v && !json_is_null(v)) {
		if (!jsonx_as_int(v, &seed))
			return ff_error_set(err, FF_EINVAL, "init_param.random_state must be an integer");
		p->seeded = true;
		p->seed = (uint64_t)seed;
	}
	return FF_OK;
}

int comp_lr_params_load(struct ff_task *t, struct comp_lr_params *p, struct ff_error *err)
{
	comp_lr_params_default(p);
	long long epochs, bs, fpp;
	const char *stop;
	int ret = ff_task_param_int(t, "epochs", 20, &epochs, err);
	if (!ret)
		ret = ff_task_param_int(t, "batch_size", 0, &bs, err);
	if (!ret)
		ret = ff_task_param_double(t, "tol", 1e-4, &p->tol, err);
	if (!ret)
		ret = ff_task_param_str(t, "early_stop", "diff", &stop, err);
	if (!ret)
		ret = ff_task_param_double(t, "threshold", 0.5, &p->threshold, err);
	if (!ret)
		ret = ff_task_param_int(t, "floating_point_precision", 23, &fpp, err);
	if (!ret)
		ret = comp_he_param(t, &p->key_bits, err);
	if (!ret)
		ret = lr_load_optimizer(t, p, err);
	if (!ret)
		ret = lr_load_sched(t, p, err);
	if (!ret)
		ret = lr_load_init(t, p, err);
	if (!ret)
		ret = lr_early_stop_parse(stop, &p->early_stop, err);
	if (ret)
		return ret;
	if (epochs < 1 || epochs > 1000000)
		return ff_error_set(err, FF_EINVAL, "parameter 'epochs' must be > 0");
	if (ff_task_param(t, "batch_size") && bs < 10)
		return ff_error_set(err, FF_EINVAL, "parameter 'batch_size' must be >= 10 or null "
				    "(full batch)");
	if (!(p->tol >= 0) || !isfinite(p->tol))
		return ff_error_set(err, FF_EINVAL, "parameter 'tol' must be >= 0");
	if (!(p->threshold >= 0 && p->threshold <= 1))
		return ff_error_set(err, FF_EINVAL, "parameter 'threshold' must be in [0, 1]");
	if (fpp < 1 || fpp > 52)
		return ff_error_set(err, FF_EINVAL, "parameter 'floating_point_precision' must be "
				    "between 1 and 52");
	p->epochs = (unsigned)epochs;
	p->batch_size = (size_t)bs;
	p->frac_bits = (unsigned)fpp;
	p->nthreads = comp_threads(t);
	struct optim probe = OPTIM_INIT;
	ret = optim_init(&probe, p->optimizer, &p->optim, 1, err);
	optim_release(&probe);
	return ret;
}

/* -------------------------------------------------------------- helpers */

void comp_lr_tag(char out[128], unsigned e, size_t b, const char *name)
{
	if (b == SIZE_MAX)
		snprintf(out, 128, "lr.e%u.%s", e, name);
	else
		snprintf(out, 128, "lr.e%u.b%zu.%s", e, b, name);
}

enum lr_early_stop comp_lr_stop(const struct comp_lr_params *p, size_t nhosts)
{
	return nhosts > 1 ? LR_STOP_WEIGHT_DIFF : p->early_stop;
}

int comp_lr_encode_x(const double *x, size_t n, size_t d, const size_t *order, bool intercept,
		     unsigned frac, int64_t **out, struct ff_error *err)
{
	size_t dd = d + (intercept ? 1 : 0), cells;
	*out = NULL;
	if (!ff_st_mult(n, dd, &cells))
		return ff_error_set(err, FF_E2BIG, "data too large");
	int64_t *q = ff_malloc((cells ? cells : 1) * sizeof(*q));
	if (!q)
		return ff_error_set(err, FF_ENOMEM, "out of memory encoding the features");
	double scale = ldexp(1.0, (int)frac), lim = ldexp(1.0, 62);
	for (size_t i = 0; i < n; i++) {
		size_t r = order ? order[i] : i;
		for (size_t j = 0; j < d; j++) {
			double v = nearbyint(x[r * d + j] * scale);
			if (!(fabs(v) < lim)) {
				ff_free(q);
				return ff_error_set(err, FF_ERANGE, "feature %zu at row %zu (%g) is too "
						    "large for %u-bit fixed point: scale the data", j,
						    r + 1, x[r * d + j], frac);
			}
			q[i * dd + j] = (int64_t)v;
		}
		if (intercept)
			q[i * dd + d] = (int64_t)1 << frac;
	}
	*out = q;
	return FF_OK;
}

void comp_lr_rows_linear(const double *x, size_t d, const size_t *order, size_t lo, size_t h,
			 const double *w, bool intercept, double *u)
{
	if (!order) {
		lr_linear(x + lo * d, h, d, d, w, intercept, u);
		return;
	}
	for (size_t i = 0; i < h; i++)
		lr_linear(x + order[lo + i] * d, 1, d, d, w, intercept, u + i);
}

struct lr_sid_key {
	const char *s;
	size_t row;
};

static int lr_sid_cmp(const void *a, const void *b)
{
	const struct lr_sid_key *x = a, *y = b;
	int c = strcmp(x->s, y->s);
	if (c)
		return c;
	return x->row < y->row ? -1 : x->row > y->row;
}

int comp_lr_sid_order(const char *const *sid, size_t n, size_t **out, struct ff_error *err)
{
	*out = NULL;
	size_t i = 1;
	/* Python's sorted() on str is code point order, which is strcmp's byte
	 * order for UTF-8; the tie-break by row keeps equal ids stable */
	while (i < n && strcmp(sid[i - 1], sid[i]) <= 0)
		i++;
	if (i >= n)
		return FF_OK;
	struct lr_sid_key *k = ff_malloc(n * sizeof(*k));
	size_t *o = ff_malloc(n * sizeof(*o));
	if (!k || !o) {
		ff_free(k);
		ff_free(o);
		return ff_error_set(err, FF_ENOMEM, "out of memory sorting the sample ids");
	}
	for (i = 0; i < n; i++)
		k[i] = (struct lr_sid_key){ sid[i], i };
	qsort(k, n, sizeof(*k), lr_sid_cmp);
	for (i = 0; i < n; i++)
		o[i] = k[i].row;
	ff_free(k);
	*out = o;
	return FF_OK;
}

int comp_lr_labels(const double *y, size_t n, double *pm1, struct ff_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (y[i] != 0 && y[i] != 1)
			return ff_error_set(err, FF_EDATA, "coordinated_lr needs binary labels 0/1: "
					    "label is %g at row %zu (one-vs-rest is not implemented)",
					    y[i], i + 1);
		pm1[i] = y[i] == 1 ? 1.0 : -1.0;
	}
	return FF_OK;
}

void comp_lr_fit_release(struct comp_lr_fit *f)
{
	ff_free(f->w);
	ff_free(f->loss);
	memset(f, 0, sizeof(*f));
}

/* Plaintexts mod n, fixed width: count, width, values. */
static void lr_msgw_plain(struct comp_msgw *w, const struct paillier_pub *pub,
			  const struct paillier_vec *m)
{
	comp_msgw_u64(w, m->len);
	comp_msgw_u64(w, pub->n_bytes);
	unsigned char *buf = ff_calloc(pub->n_bytes, 1);
	if (!buf) {
		w->ret = FF_ENOMEM;
		return;
	}
	for (size_t i = 0; i < m->len; i++) {
		size_t cnt = 0;
		memset(buf, 0, pub->n_bytes);
		size_t sz = (mpz_sizeinbase(m->v[i], 2) + 7) / 8;
		if (sz > pub->n_bytes) {
			w->ret = FF_EINVAL;
			break;
		}
		mpz_export(buf + pub->n_bytes - sz, &cnt, 1, 1, 1, 0, m->v[i]);
		comp_msgw_bytes(w, buf, pub->n_bytes);
	}
	ff_free(buf);
}

static int lr_msgr_plain(struct comp_msgr *r, const struct paillier_pub *pub,
			 struct paillier_vec *m, size_t n, struct ff_error *err)
{
	uint64_t count, width;
	int ret = comp_msgr_u64(r, &count, err);
	if (!ret)
		ret = comp_msgr_u64(r, &width, err);
	if (ret)
		return ret;
	if (count != n || width != pub->n_bytes)
		return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s: %llu values of "
				    "%llu bytes where %zu of %zu were expected", r->tag, r->peer,
				    (unsigned long long)count, (unsigned long long)width, n,
				    pub->n_bytes);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p;
		size_t len;
		ret = comp_msgr_bytes(r, &p, &len, pub->n_bytes, err);
		if (ret)
			return ret;
		if (len != pub->n_bytes)
			return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s: value %zu "
					    "has %zu bytes", r->tag, r->peer, i, len);
		mpz_import(m->v[i], len, 1, 1, 1, 0, p);
		if (mpz_cmp(m->v[i], pub->n) >= 0)
			return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s: value %zu "
					    "is not below n", r->tag, r->peer, i);
	}
	return comp_msgr_end(r, err);
}

/* Uniform-ish value mod n (128 extra random bits make the bias negligible). */
static void lr_random_mod(mpz_t r, const struct paillier_pub *pub)
{
	size_t nb = pub->n_bytes + 16;
	unsigned char buf[PAILLIER_MAX_BITS / 8 + 16];
	randombytes_buf(buf, nb);
	mpz_import(r, nb, 1, 1, 1, 0, buf);
	sodium_memzero(buf, nb);
	mpz_mod(r, r, pub->n);
}

/* ------------------------------------------------------------- learner */

int comp_lr_learner_init(struct comp_lr_learner *l, const struct comp_lr_params *p, size_t d,
			 bool intercept, const double *init_w, const char *arbiter, size_t nhosts,
			 struct ff_error *err)
{
	memset(l, 0, sizeof(*l));
	l->p = p;
	l->d = d;
	l->intercept = intercept;
	l->stop = comp_lr_stop(p, nhosts);
	snprintf(l->arbiter, sizeof(l->arbiter), "%s", arbiter);
	if (sodium_init() < 0)
		return ff_error_set(err, FF_EIO, "libsodium failed to initialise");
	size_t cap = d ? d : 1;
	l->w = ff_calloc(cap, sizeof(double));
	l->g = ff_calloc(cap, sizeof(double));
	l->delta = ff_calloc(cap, sizeof(double));
	l->epoch_delta = ff_calloc(cap, sizeof(double));
	if (!l->w || !l->g || !l->delta || !l->epoch_delta)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret;
	if (init_w) {
		memcpy(l->w, init_w, d * sizeof(double));
	} else if (d) {
		uint64_t seed = p->seeded ? p->seed : 0;
		if (!p->seeded)
			randombytes_buf(&seed, sizeof(seed));
		ret = lr_init_param(p->init, p->init_fill, seed, l->w, d, err);
		if (ret)
			return ret;
		/* FATE: the intercept starts like the coefficients (init over all of w) */
	}
	ret = sched_init(&l->sched, p->sched, &p->sched_p, p->optim.lr, err);
	if (!ret && d)
		ret = optim_init(&l->opt, p->optimizer, &p->optim, d, err);
	return ret;
}

void comp_lr_learner_release(struct comp_lr_learner *l)
{
	ff_free(l->w);
	ff_free(l->g);
	ff_free(l->delta);
	ff_free(l->epoch_delta);
	optim_release(&l->opt);
	memset(l, 0, sizeof(*l));
}

int comp_lr_learner_step(struct comp_lr_learner *l, struct comp_net *net,
			 const struct paillier_pub *pub, const struct paillier_djn *djn,
			 struct paillier_vec *G, size_t rows, unsigned epoch, const char *tag_g,
			 const char *tag_back, struct comp_lr_stats *st, struct ff_error *err)
{
	size_t d = l->d;
	struct paillier_vec r = PAILLIER_VEC_INIT, m = PAILLIER_VEC_INIT;
	struct comp_msgr in;
	memset(&in, 0, sizeof(in));
	int ret = paillier_vec_init(&r, d) || paillier_vec_init(&m, d)
		  ? ff_error_set(err, FF_ENOMEM, "out of memory") : FF_OK;
	for (size_t j = 0; !ret && j < d; j++) {
		lr_random_mod(r.v[j], pub);
		ret = paillier_add_plain(pub, G->v[j], G->v[j], r.v[j], err);
		if (!ret)
			ret = paillier_obfuscate_djn(djn, G->v[j], G->v[j], err);
	}
	if (ret)
		goto out;
	st->add_plain += d;
	st->obf += d;
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_cts(&w, pub, G);
	ret = comp_net_send(net, tag_g, "arbiter", l->arbiter, &w, err);
	if (!ret)
		ret = comp_net_recv(net, tag_back, "arbiter", l->arbiter, &in, err);
	if (!ret)
		ret = lr_msgr_plain(&in, pub, &m, d, err);
	for (size_t j = 0; !ret && j < d; j++) {
		mpz_sub(m.v[j], m.v[j], r.v[j]);
		mpz_mod(m.v[j], m.v[j], pub->n);
		ret = paillier_decode_fixed(pub, &l->g[j], m.v[j], 2 * l->p->frac_bits, err);
		if (ret)
			ff_error_prefix(err, "gradient %zu", j);
		l->g[j] /= (double)rows;
	}
	if (ret)
		goto out;
	const struct comp_lr_params *p = l->p;
	lr_penalty_grad(l->g, l->w, d, l->intercept, p->penalty, p->alpha);
	if (d)
		ret = optim_step(&l->opt, l->g, l->sched.lr, l->delta, err);
	if (ret)
		goto out;
	for (size_t j = 0; j < d; j++)
		l->epoch_delta[j] += l->delta[j];
	lr_update(l->w, l->delta, d, l->intercept, p->penalty, p->alpha, l->sched.lr, epoch);
	for (size_t j = 0; j < d; j++)
		if (!(fabs(l->w[j]) <= LR_W_LIMIT)) {
			ret = ff_error_set(err, FF_ERANGE, "weights diverged (|w| > 1e8) in epoch %u: "
					   "lower the learning rate", epoch);
			break;
		}
out:
	comp_msgr_release(&in);
	paillier_vec_release(&r);
	paillier_vec_release(&m);
	return ret;
}

int comp_lr_learner_epoch_end(struct comp_lr_learner *l, struct comp_net *net, unsigned epoch,
			      bool *converged, struct ff_error *err)
{
	char tag[128];
	int ret = FF_OK;
	if (l->stop == LR_STOP_WEIGHT_DIFF) {
		double s = 0;
		for (size_t j = 0; j < l->d; j++)
			s += l->epoch_delta[j] * l->epoch_delta[j];
		struct comp_msgw w;
		comp_msgw_init(&w);
		comp_msgw_f64(&w, s);
		comp_lr_tag(tag, epoch, SIZE_MAX, "wdiff");
		ret = comp_net_send(net, tag, "arbiter", l->arbiter, &w, err);
	}
	struct comp_msgr r;
	uint64_t flag = 0;
	comp_lr_tag(tag, epoch, SIZE_MAX, "converge");
	if (!ret)
		ret = comp_net_recv(net, tag, "arbiter", l->arbiter, &r, err);
	else
		memset(&r, 0, sizeof(r));
	if (!ret)
		ret = comp_msgr_u64(&r, &flag, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	comp_msgr_release(&r);
	if (ret)
		return ret;
	*converged = flag != 0;
	memset(l->epoch_delta, 0, (l->d ? l->d : 1) * sizeof(double));
	if (!*converged && epoch + 1 < l->p->epochs)
		sched_step(&l->sched);
	return FF_OK;
}

int comp_lr_arbiter_roundtrip(struct comp_net *net, const struct paillier_priv *priv,
			      const char *role, const char *party, const char *tag_g,
			      const char *tag_back, unsigned nthreads, struct comp_lr_stats *st,
			      struct ff_error *err)
{
	struct comp_msgr r;
	struct paillier_vec c = PAILLIER_VEC_INIT, m = PAILLIER_VEC_INIT;
	int ret = comp_net_recv(net, tag_g, role, party, &r, err);
	if (!ret)
		ret = comp_msgr_cts(&r, &priv->pub, &c, SIZE_MAX, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	if (!ret && c.len > LR_MAX_FEATURES + 1)
		ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s %s: %zu values",
				   tag_g, role, party, c.len);
	if (!ret && paillier_vec_init(&m, c.len))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret && c.len)
		ret = paillier_decrypt_vec(priv, &m, &c, nthreads, err);
	if (ret)
		goto out;
	st->dec += c.len;
	struct comp_msgw w;
	comp_msgw_init(&w);
	lr_msgw_plain(&w, &priv->pub, &m);
	ret = comp_net_send(net, tag_back, role, party, &w, err);
out:
	comp_msgr_release(&r);
	paillier_vec_release(&c);
	paillier_vec_release(&m);
	return ret;
}

int comp_lr_recv_pub(struct comp_net *net, struct paillier_pub *pub, struct ff_error *err)
{
	size_t na;
	const char *const *arb = comp_net_parties(net, "arbiter", &na);
	if (na != 1)
		return ff_error_set(err, FF_EINVAL, "coordinated_lr needs exactly one arbiter (%zu "
				    "found)", na);
	struct comp_msgr r;
	int ret = comp_net_recv(net, "lr.pubkey", "arbiter", arb[0], &r, err);
	if (!ret)
		ret = comp_msgr_pub(&r, pub, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	comp_msgr_release(&r);
	return ret;
}

void comp_lr_key_digest(const struct paillier_pub *pub, unsigned char out[32])
{
	unsigned char buf[PAILLIER_MAX_BITS / 8 + 8];
	size_t n = paillier_pub_size(pub);
	memset(out, 0, 32);
	if (n <= sizeof(buf) && !paillier_pub_to_bytes(pub, buf, sizeof(buf), NULL))
		crypto_generichash(out, 32, buf, n, NULL, 0);
}

int comp_lr_recv_setup(struct comp_net *net, const struct comp_lr_params *p,
		       const struct paillier_pub *pub, struct comp_lr_setup *s,
		       struct ff_error *err)
{
	const unsigned char *kd = NULL;
	size_t kl = 0;
	size_t ng;
	const char *const *g = comp_net_parties(net, "guest", &ng);
	if (ng != 1)
		return ff_error_set(err, FF_EINVAL, "coordinated_lr needs exactly one guest");
	struct comp_msgr r;
	const unsigned char *dg;
	size_t dl;
	memset(s, 0, sizeof(*s));
	int ret = comp_net_recv(net, "lr.setup", "guest", g[0], &r, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &s->n, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &s->batch_size, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &s->epochs, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &s->nhosts, err);
	if (!ret)
		ret = comp_msgr_bytes(&r, &dg, &dl, 32, err);
	if (!ret && dl != 32)
		ret = ff_error_set(err, FF_EPROTO, "malformed message 'lr.setup' from guest %s", g[0]);
	if (!ret)
		memcpy(s->digest, dg, 32);
	if (!ret)
		ret = comp_msgr_bytes(&r, &kd, &kl, 32, err);
	if (!ret && kl == 32) {
		unsigned char mine[32];
		comp_lr_key_digest(pub, mine);
		if (memcmp(mine, kd, 32))
			ret = ff_error_set(err, FF_EPROTO, "the guest and this party received different "
					   "public keys from the arbiter (corrupted 'lr.pubkey')");
	} else if (!ret) {
		ret = ff_error_set(err, FF_EPROTO, "malformed message 'lr.setup' from guest %s", g[0]);
	}
	if (!ret)
		ret = comp_msgr_end(&r, err);
	comp_msgr_release(&r);
	if (ret)
		return ret;
	if (s->n == 0 || s->n > LR_MAX_ROWS || s->batch_size > s->n)
		return ff_error_set(err, FF_EPROTO, "malformed message 'lr.setup' from guest %s: "
				    "%llu rows, batch %llu", g[0], (unsigned long long)s->n,
				    (unsigned long long)s->batch_size);
	if (s->epochs != p->epochs)
		return ff_error_set(err, FF_EINVAL, "epochs differ: guest %llu, this party %u",
				    (unsigned long long)s->epochs, p->epochs);
	return FF_OK;
}

/* ------------------------------------------------------------ predict */

int comp_lr_host_predict(struct comp_net *net, const char *tag, const double *x, size_t n,
			 size_t d, const double *w, const unsigned char digest[32],
			 struct ff_error *err)
{
	size_t ng;
	const char *const *g = comp_net_parties(net, "guest", &ng);
	if (ng != 1)
		return ff_error_set(err, FF_EINVAL, "coordinated_lr needs exactly one guest");
	double *u = ff_calloc(n ? n : 1, sizeof(double));
	if (!u)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	if (d)
		lr_linear(x, n, d, d, w, false, u);
	char full[128];
	snprintf(full, sizeof(full), "lr.%s.xw_h", tag);
	struct comp_msgw m;
	comp_msgw_init(&m);
	comp_msgw_bytes(&m, digest, 32);
	comp_msgw_f64v(&m, u, n);
	ff_free(u);
	return comp_net_send(net, full, "guest", g[0], &m, err);
}

int comp_lr_guest_predict(struct comp_net *net, const char *tag, const double *x, size_t n,
			  size_t d, const double *w, bool fit_intercept,
			  const unsigned char digest[32], double *score, struct ff_error *err)
{
	size_t nh;
	const char *const *hosts = comp_net_parties(net, "host", &nh);
	double *u = ff_calloc(n ? n : 1, sizeof(double)), *uh = ff_calloc(n ? n : 1, sizeof(double));
	int ret = u && uh ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		lr_linear(x, n, d, d, w, fit_intercept, u);
	char full[128];
	snprintf(full, sizeof(full), "lr.%s.xw_h", tag);
	for (size_t h = 0; h < nh && !ret; h++) {
		struct comp_msgr r;
		const unsigned char *dg;
		size_t dl;
		ret = comp_net_recv(net, full, "host", hosts[h], &r, err);
		if (!ret)
			ret = comp_msgr_bytes(&r, &dg, &dl, 32, err);
		if (!ret && (dl != 32 || memcmp(dg, digest, 32)))
			ret = ff_error_set(err, FF_EDATA, "data of guest and host %s are not aligned "
					   "(different sample ids): run psi first", hosts[h]);
		if (!ret)
			ret = comp_msgr_f64v(&r, uh, n, err);
		if (!ret)
			ret = comp_msgr_end(&r, err);
		for (size_t i = 0; !ret && i < n; i++) {
			if (!isfinite(uh[i]))
				ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from host %s: "
						   "non-finite score", full, hosts[h]);
			u[i] += uh[i];
		}
		comp_msgr_release(&r);
	}
	for (size_t i = 0; !ret && i < n; i++)
		score[i] = lr_sigmoid(u[i]);
	ff_free(u);
	ff_free(uh);
	return ret;
}

/* ----------------------------------------------------------- component */

static json_t *lr_describe(void)
{
	json_t *params = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		"epochs", comp_param_desc("int", json_integer(20), true, "max epochs (> 0)"),
		"batch_size", comp_param_desc("int", NULL, true, "None: full batch, else >= 10"),
		"optimizer", comp_param_desc("dict", json_pack("{s:s,s:s,s:f,s:{s:f,s:i}}", "method",
			"sgd", "penalty", "l2", "alpha", 1.0, "optimizer_params", "lr", 0.01,
			"weight_decay", 0), true, "torch optimizer, penalty l1/l2/none and alpha"),
		"learning_rate_scheduler", comp_param_desc("dict", json_pack("{s:s,s:{s:f}}",
			"method", "linear", "scheduler_params", "start_factor", 1.0), true,
			"constant, linear or step (torch parameters)"),
		"init_param", comp_param_desc("dict", json_pack("{s:s,s:f,s:b,s:n}", "method",
			"random_uniform", "fill_val", 0.0, "fit_intercept", 1, "random_state"), true,
			"zeros, ones, consts, random, random_uniform"),
		"tol", comp_param_desc("float", json_real(1e-4), true, "convergence tolerance"),
		"early_stop", comp_param_desc("str", json_string("diff"), true,
					      "diff, abs or weight_diff"),
		"he_param", comp_param_desc("dict", json_pack("{s:s,s:i}", "kind", "paillier",
			"key_length", 1024), true, "Paillier key (>= 1024 bits)"),
		"floating_point_precision", comp_param_desc("int", json_integer(23), true,
							    "fixed-point fraction bits"),
		"threshold", comp_param_desc("float", json_real(0.5), true,
					     "predict_result = score > threshold"),
		"output_cv_data", comp_param_desc("bool", json_true(), true,
						  "cross_validation stage only (not implemented)"),
		"cv_param", comp_param_desc("dict", NULL, true,
					    "cross_validation stage only (not implemented)"));
	return comp_describe(LR_ROLES, "train,predict", params,
		json_pack("{s:o,s:o,s:o}",
			  "train_data", comp_art("dataframe", true, false, LR_GH, "train"),
			  "validate_data", comp_art("dataframe", true, false, LR_GH, "train"),
			  "test_data", comp_art("dataframe", true, false, LR_GH, "predict")),
		json_pack("{s:o,s:o}",
			  "warm_start_model", comp_art("json_model", true, false, LR_ROLES, "train"),
			  "input_model", comp_art("json_model", true, false, LR_GH, "predict")),
		json_pack("{s:o,s:o}",
			  "train_output_data", comp_art("dataframe", true, false, LR_GH, "train"),
			  "test_output_data", comp_art("dataframe", true, false, LR_GH, "predict")),
		json_pack("{s:o}", "output_model",
			  comp_art("json_model", true, false, LR_ROLES, "train")),
		comp_metric_out(LR_ROLES, "train,predict"));
}

static json_t *lr_model_json(struct ff_task *t, const struct comp_lr_params *p,
			     const struct comp_frame *f, const struct comp_lr_fit *fit)
{
	const char *role = ff_task_role(t);
	json_t *meta = json_pack("{s:s,s:s,s:b,s:f,s:i,s:I,s:s,s:s,s:f,s:i}", "model_type",
				 "coordinated_lr", "role", role, "fit_intercept",
				 !strcmp(role, "guest") && p->fit_intercept, "threshold", p->threshold,
				 "epochs", (json_int_t)p->epochs, "batch_size",
				 (json_int_t)p->batch_size, "optimizer",
				 optim_method_name(p->optimizer), "penalty",
				 p->penalty == LR_PENALTY_L1 ? "l1" : p->penalty == LR_PENALTY_L2 ? "l2"
											     : "none",
				 "alpha", p->alpha, "key_length", (json_int_t)p->key_bits);
	json_t *data = json_pack("{s:i,s:b}", "epochs_run", (json_int_t)fit->epochs_run,
				 "converged", fit->converged);
	if (f) {
		size_t d = f->ds.d;
		json_t *coef = json_object();
		for (size_t j = 0; j < d; j++)
			json_object_set_new(coef, f->schema->feature_names[j], json_real(fit->w[j]));
		json_object_set_new(meta, "header",
				    comp_json_strs((const char *const *)f->schema->feature_names, d));
		json_object_set_new(data, "coef", coef);
		json_object_set_new(data, "w", comp_json_doubles(fit->w, fit->d));
		if (!strcmp(role, "guest"))
			json_object_set_new(data, "intercept",
					    json_real(p->fit_intercept ? fit->w[d] : 0.0));
		if (f->schema->label_name)
			json_object_set_new(meta, "label_name", json_string(f->schema->label_name));
	} else {
		json_object_set_new(data, "loss_history", comp_json_doubles(fit->loss, fit->nloss));
	}
	return json_pack("{s:o,s:o}", "meta", meta, "data", data);
}

struct lr_metric_ctx {
	struct ff_task *t;
};

static void lr_epoch_metric(void *ctx, unsigned epoch, double loss, bool converged)
{
	struct lr_metric_ctx *c = ctx;
	ff_task_log(c->t, FF_TASK_INFO, "epoch %u: loss %.10g%s", epoch, loss,
		    converged ? " (converged)" : "");
	if (isfinite(loss))
		comp_metric(c->t, "lr_loss", "loss",
			    json_pack("[{s:f,s:i}]", "metric", loss, "step", (json_int_t)epoch));
}

/* Guest output: predict_score, predict_result, type (0 = train_set, 2 = test_set). */
static int lr_write_scores(struct ff_task *t, const struct comp_frame *f, const double *score,
			   double threshold, double type, const char *key, struct ff_error *err)
{
	size_t n = f->ds.n;
	double *x = ff_malloc((3 * n + 1) * sizeof(double));
	if (!x)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		x[3 * i] = score[i];
		x[3 * i + 1] = score[i] > threshold ? 1.0 : 0.0;
		x[3 * i + 2] = type;
	}
	static const char *const names[] = { "predict_score", "predict_result", "type" };
	struct comp_out_table o = { .src = f, .n = n, .d = 3, .names = names, .x = x,
				    .with_label = true };
	int ret = comp_frame_write(t, key, &o, err);
	ff_free(x);
	return ret;
}

/* Model weights for frame f (columns by name), d + intercept values into w. */
static int lr_model_weights(const json_t *model, const struct comp_frame *f, bool guest,
			    double *w, bool *intercept, double *threshold, struct ff_error *err)
{
	const json_t *coef = jsonx_path(model, "data.coef");
	const json_t *header = jsonx_path(model, "meta.header");
	if (!json_is_object(coef) || !json_is_array(header))
		return ff_error_set(err, FF_EDATA, "input model is not a coordinated_lr model");
	if (json_array_size(header) != f->ds.d)
		return ff_error_set(err, FF_EDATA, "the model has %zu features, input '%s' has %zu",
				    json_array_size(header), f->key, f->ds.d);
	for (size_t j = 0; j < f->ds.d; j++) {
		const char *name = f->schema->feature_names[j];
		if (!jsonx_as_double(json_object_get(coef, name), &w[j]))
			return ff_error_set(err, FF_EDATA, "the model has no coefficient for column "
					    "'%s'", name);
	}
	*intercept = false;
	jsonx_as_bool(jsonx_path(model, "meta.fit_intercept"), intercept);
	*intercept = *intercept && guest;
	w[f->ds.d] = 0;
	if (*intercept)
		jsonx_as_double(jsonx_path(model, "data.intercept"), &w[f->ds.d]);
	if (threshold)
		jsonx_as_double(jsonx_path(model, "meta.threshold"), threshold);
	return FF_OK;
}

static void lr_fail_peers(struct comp_net *net, const char *role, const char *why)
{
	/* the first messages each peer waits for from this role */
	if (!strcmp(role, "arbiter")) {
		comp_net_broadcast_error(net, "lr.pubkey", "guest", why);
		comp_net_broadcast_error(net, "lr.pubkey", "host", why);
		comp_net_broadcast_error(net, "lr.e0.converge", "guest", why);
		comp_net_broadcast_error(net, "lr.e0.converge", "host", why);
	} else if (!strcmp(role, "guest")) {
		comp_net_broadcast_error(net, "lr.setup", "host", why);
		comp_net_broadcast_error(net, "lr.setup", "arbiter", why);
		comp_net_broadcast_error(net, "lr.e0.b0.d", "host", why);
		comp_net_broadcast_error(net, "lr.e0.b0.g", "arbiter", why);
		comp_net_broadcast_error(net, "lr.train.xw_h", "host", why);
	} else {
		comp_net_broadcast_error(net, "lr.e0.b0.xw", "guest", why);
		comp_net_broadcast_error(net, "lr.train.xw_h", "guest", why);
		comp_net_broadcast_error(net, "lr.test.xw_h", "guest", why);
	}
}

static int lr_run_train(struct ff_task *t, struct ff_error *err)
{
	struct comp_lr_params p;
	struct comp_frame f = COMP_FRAME_INIT;
	struct comp_net *net = NULL;
	struct comp_lr_fit fit = { 0 };
	struct comp_lr_stats st = { 0 };
	json_t *model = NULL, *warm = NULL;
	double *init_w = NULL, *score = NULL;
	size_t *order = NULL;
	const char *role = ff_task_role(t);
	bool guest = !strcmp(role, "guest"), arbiter = !strcmp(role, "arbiter");
	unsigned char digest[32];
	int ret = comp_lr_params_load(t, &p, err);
	if (ret)
		return ret;
	if ((ret = comp_net_open(t, &net, err)))
		return ret;
	if (ff_task_input_count(t, "validate_data"))
		ff_task_log(t, FF_TASK_WARN, "validate_data is not used by fedflow's coordinated_lr");
	if (!arbiter) {
		ret = comp_frame_load(t, "train_data", 0, guest ? COMP_FRAME_LABEL : 0, &f, err);
		if (ret)
			goto out;
		if (f.ds.weight)
			ff_task_log(t, FF_TASK_WARN, "sample weights are ignored by coordinated_lr");
		comp_frame_sid_hash(&f, digest);
		/* FATE's batches: the rows sorted by sample id, the same on every
		 * party since psi gave them the same ids in the same order (the
		 * digest checks that) */
		if (f.ds.sid &&
		    (ret = comp_lr_sid_order((const char *const *)f.ds.sid, f.ds.n, &order, err)))
			goto out;
		p.row_order = order;
		if (ff_task_input_count(t, "warm_start_model")) {
			bool icpt;
			init_w = ff_calloc(f.ds.d + 1, sizeof(double));
			ret = init_w ? comp_model_load(t, "warm_start_model", 0, &warm, err) : FF_ENOMEM;
			if (!ret)
				ret = lr_model_weights(warm, &f, guest, init_w, &icpt, NULL, err);
			if (ret)
				goto out;
		}
	}
	ff_task_log(t, FF_TASK_INFO, "coordinated_lr %s: %zu rows, %zu features, %u-bit key, "
		    "%u threads", role, f.ds.n, f.ds.d, p.key_bits, p.nthreads);
	if (guest)
		ret = comp_lr_guest_train(net, &p, f.ds.x, f.ds.n, f.ds.d, f.ds.label, digest, init_w,
					  &fit, &st, err);
	else if (arbiter) {
		struct lr_metric_ctx mc = { t };
		ret = comp_lr_arbiter_train(net, &p, lr_epoch_metric, &mc, &fit, &st, err);
	} else
		ret = comp_lr_host_train(net, &p, f.ds.x, f.ds.n, f.ds.d, digest, init_w, &fit, &st,
					 err);
	if (ret)
		goto out;
	ff_task_log(t, FF_TASK_INFO, "trained %u epochs in %.3f s (%s): %llu encryptions, "
		    "%llu matvec products, %llu decryptions", fit.epochs_run, st.seconds,
		    fit.converged ? "converged" : "not converged", (unsigned long long)st.enc,
		    (unsigned long long)st.matvec, (unsigned long long)st.dec);
	model = lr_model_json(t, &p, arbiter ? NULL : &f, &fit);
	ret = model ? comp_model_save(t, "output_model", model, NULL, err)
		    : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (ret || arbiter)
		goto out;
	if (!guest) {
		ret = comp_lr_host_predict(net, "train", f.ds.x, f.ds.n, f.ds.d, fit.w, digest, err);
		goto out;
	}
	score = ff_calloc(f.ds.n + 1, sizeof(double));
	ret = score ? comp_lr_guest_predict(net, "train", f.ds.x, f.ds.n, f.ds.d, fit.w,
					    p.fit_intercept, digest, score, err)
		    : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		ret = lr_write_scores(t, &f, score, p.threshold, 0.0, "train_output_data", err);
out:
	if (ret && net)
		lr_fail_peers(net, role, ff_error_msg(err, ret));
	json_decref(model);
	json_decref(warm);
	ff_free(init_w);
	ff_free(score);
	ff_free(order);
	comp_lr_fit_release(&fit);
	comp_net_close(net);
	comp_frame_release(&f);
	return ret;
}

static int lr_run_predict(struct ff_task *t, struct ff_error *err)
{
	struct comp_frame f = COMP_FRAME_INIT;
	struct comp_net *net = NULL;
	json_t *model = NULL;
	double *w = NULL, *score = NULL, threshold = 0.5;
	bool guest = !strcmp(ff_task_role(t), "guest"), icpt;
	unsigned char digest[32];
	int ret = comp_net_open(t, &net, err);
	if (ret)
		return ret;
	ret = comp_model_load(t, "input_model", 0, &model, err);
	if (!ret)
		ret = comp_frame_load(t, "test_data", 0, 0, &f, err);
	if (ret)
		goto out;
	w = ff_calloc(f.ds.d + 1, sizeof(double));
	score = ff_calloc(f.ds.n + 1, sizeof(double));
	if (!w || !score) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	ret = lr_model_weights(model, &f, guest, w, &icpt, &threshold, err);
	if (ret)
		goto out;
	comp_frame_sid_hash(&f, digest);
	if (!guest) {
		ret = comp_lr_host_predict(net, "test", f.ds.x, f.ds.n, f.ds.d, w, digest, err);
		goto out;
	}
	ret = comp_lr_guest_predict(net, "test", f.ds.x, f.ds.n, f.ds.d, w, icpt, digest, score,
				    err);
	if (!ret)
		ret = lr_write_scores(t, &f, score, threshold, 2.0, "test_output_data", err);
out:
	if (ret && net)
		lr_fail_peers(net, ff_task_role(t), ff_error_msg(err, ret));
	json_decref(model);
	ff_free(w);
	ff_free(score);
	comp_net_close(net);
	comp_frame_release(&f);
	return ret;
}

static int lr_run(struct ff_task *t, struct ff_error *err)
{
	const char *stage = ff_task_stage(t), *role = ff_task_role(t);
	if (strcmp(role, "guest") && strcmp(role, "host") && strcmp(role, "arbiter"))
		return ff_error_set(err, FF_EROLE, "coordinated_lr runs on guest, host and arbiter, "
				    "not '%s'", role);
	if (!strcmp(stage, "predict")) {
		if (!strcmp(role, "arbiter"))
			return FF_OK; /* FATE: the predict stage has no arbiter work */
		return lr_run_predict(t, err);
	}
	if (!strcmp(stage, "train") || !strcmp(stage, "default"))
		return lr_run_train(t, err);
	return ff_error_set(err, FF_EINVAL, "coordinated_lr has no stage '%s' (cross_validation "
			    "is not implemented)", stage);
}

const struct comp comp_coordinated_lr = { "coordinated_lr", lr_describe, lr_run };
COMP_REGISTER(comp_coordinated_lr);
