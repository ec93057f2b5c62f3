// SPDX-License-Identifier: Apache-2.0
/*
 * comp_util.c - the channel between party tasks (fed API or hooks), the
 * checked message codec, parameter helpers and metrics of the algorithm
 * components (comp_util.h).
 */
#include "ff_setup.h"
#include <math.h>
#include <stdarg.h>
#include <unistd.h>
#include "comp_util.h"
#include "jsonx.h"
#include "mem.h"
#include "paillier.h"
#ifdef COMP_HAVE_FED
#include "fedflow/fed.h"
#endif

static struct comp_hooks comp_hooks_g;

void comp_hooks_set(const struct comp_hooks *h)
{
	if (h)
		comp_hooks_g = *h;
	else
		memset(&comp_hooks_g, 0, sizeof(comp_hooks_g));
}

/* ------------------------------------------------------- fed API backend */

#ifdef COMP_HAVE_FED
static int comp_fed_send(void *impl, const char *tag, const char *role, const char *party,
			 const void *data, size_t len, struct ff_error *err)
{
	return ff_fed_send(impl, tag, role, party, data, len, err);
}

static int comp_fed_recv(void *impl, const char *tag, const char *role, const char *party,
			 void **data, size_t *len, struct ff_error *err)
{
	return ff_fed_recv(impl, tag, role, party, data, len, err);
}

static const char *const *comp_fed_parties(void *impl, const char *role, size_t *n)
{
	return ff_fed_parties(impl, role, n);
}

static void comp_fed_close(void *impl)
{
	ff_fed_close(impl);
}

static const struct comp_net_ops comp_fed_ops = {
	.send = comp_fed_send, .recv = comp_fed_recv, .free_buf = ff_fed_free,
	.parties = comp_fed_parties, .close = comp_fed_close,
};
#endif

int comp_net_open(struct ff_task *t, struct comp_net **out, struct ff_error *err)
{
	*out = NULL;
	if (comp_hooks_g.net_open)
		return comp_hooks_g.net_open(comp_hooks_g.ctx, t, out, err);
#ifdef COMP_HAVE_FED
	struct ff_fed *f = NULL;
	int ret = ff_fed_open(t, &f, err);
	if (ret)
		return ret;
	struct comp_net *n = ff_calloc(1, sizeof(*n));
	if (!n) {
		ff_fed_close(f);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	n->ops = &comp_fed_ops;
	n->impl = f;
	snprintf(n->role, sizeof(n->role), "%s", ff_fed_role(f));
	snprintf(n->party, sizeof(n->party), "%s", ff_fed_party_id(f));
	*out = n;
	return FF_OK;
#else
	(void)t;
	return ff_error_set(err, FF_EFEDERATED, "this build has no federation layer "
			    "(runtime/ff_fed.c was missing when it was configured)");
#endif
}

void comp_net_close(struct comp_net *n)
{
	if (!n)
		return;
	if (n->ops && n->ops->close)
		n->ops->close(n->impl);
	ff_free(n);
}

const char *const *comp_net_parties(struct comp_net *net, const char *role, size_t *n)
{
	*n = 0;
	const char *const *p = net->ops->parties(net->impl, role, n);
	if (!p)
		*n = 0;
	return p;
}

/* -------------------------------------------------------------- writer */

static unsigned char *comp_msgw_room(struct comp_msgw *w, size_t n);

void comp_msgw_init(struct comp_msgw *w)
{
	static const unsigned char head[5] = { 'F', 'F', 'M', '1', COMP_MSG_OK };
	memset(w, 0, sizeof(*w));
	unsigned char *p = comp_msgw_room(w, 5);
	if (p)
		memcpy(p, head, 5);
}

void comp_msgw_release(struct comp_msgw *w)
{
	ff_free(w->buf);
	memset(w, 0, sizeof(*w));
}

static unsigned char *comp_msgw_room(struct comp_msgw *w, size_t n)
{
	if (w->ret)
		return NULL;
	size_t need;
	if (!ff_st_add(w->len, n, &need) || need > COMP_MSG_MAX) {
		w->ret = FF_E2BIG;
		return NULL;
	}
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < need)
			cap = cap > COMP_MSG_MAX / 2 ? need : cap * 2;
		unsigned char *nb = ff_realloc(w->buf, cap);
		if (!nb) {
			w->ret = FF_ENOMEM;
			return NULL;
		}
		w->buf = nb;
		w->cap = cap;
	}
	unsigned char *p = w->buf + w->len;
	w->len = need;
	return p;
}

static void comp_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t comp_get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void comp_msgw_u64(struct comp_msgw *w, uint64_t v)
{
	unsigned char *p = comp_msgw_room(w, 8);
	if (p)
		comp_put_le64(p, v);
}

void comp_msgw_f64(struct comp_msgw *w, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	comp_msgw_u64(w, u);
}

void comp_msgw_f64v(struct comp_msgw *w, const double *v, size_t n)
{
	comp_msgw_u64(w, n);
	size_t bytes;
	if (!ff_st_mult(n, 8, &bytes)) {
		w->ret = w->ret ? w->ret : FF_E2BIG;
		return;
	}
	unsigned char *p = comp_msgw_room(w, bytes);
	for (size_t i = 0; p && i < n; i++) {
		uint64_t u;
		memcpy(&u, &v[i], 8);
		comp_put_le64(p + 8 * i, u);
	}
}

void comp_msgw_u64v(struct comp_msgw *w, const uint64_t *v, size_t n)
{
	comp_msgw_u64(w, n);
	size_t bytes;
	if (!ff_st_mult(n, 8, &bytes)) {
		w->ret = w->ret ? w->ret : FF_E2BIG;
		return;
	}
	unsigned char *p = comp_msgw_room(w, bytes);
	for (size_t i = 0; p && i < n; i++)
		comp_put_le64(p + 8 * i, v[i]);
}

void comp_msgw_bytes(struct comp_msgw *w, const void *data, size_t n)
{
	comp_msgw_u64(w, n);
	unsigned char *p = comp_msgw_room(w, n);
	if (p && n)
		memcpy(p, data, n);
}

void comp_msgw_str(struct comp_msgw *w, const char *s)
{
	comp_msgw_bytes(w, s, s ? strlen(s) : 0);
}

void comp_msgw_cts(struct comp_msgw *w, const struct paillier_pub *pub,
		   const struct paillier_vec *c)
{
	size_t cs = paillier_ct_size(pub), bytes;
	comp_msgw_u64(w, c->len);
	comp_msgw_u64(w, cs);
	if (!ff_st_mult(c->len, cs, &bytes)) {
		w->ret = w->ret ? w->ret : FF_E2BIG;
		return;
	}
	unsigned char *p = comp_msgw_room(w, bytes);
	if (p && paillier_vec_to_bytes(pub, c, p, bytes, NULL))
		w->ret = FF_EINVAL;
}

void comp_msgw_pub(struct comp_msgw *w, const struct paillier_pub *pub)
{
	size_t n = paillier_pub_size(pub);
	comp_msgw_u64(w, n);
	unsigned char *p = comp_msgw_room(w, n);
	if (p && paillier_pub_to_bytes(pub, p, n, NULL))
		w->ret = FF_EINVAL;
}

int comp_net_send(struct comp_net *net, const char *tag, const char *role, const char *party,
		  struct comp_msgw *w, struct ff_error *err)
{
	int ret = w->ret;
	if (ret)
		ret = ff_error_set(err, ret, "cannot build message '%s': %s", tag, ff_strerror(ret));
	else
		ret = net->ops->send(net->impl, tag, role, party, w->buf, w->len, err);
	comp_msgw_release(w);
	return ret;
}

int comp_net_broadcast(struct comp_net *net, const char *tag, const char *role,
		       struct comp_msgw *w, struct ff_error *err)
{
	size_t n;
	const char *const *ids = comp_net_parties(net, role, &n);
	int ret = w->ret;
	if (ret)
		ret = ff_error_set(err, ret, "cannot build message '%s': %s", tag, ff_strerror(ret));
	for (size_t i = 0; !ret && i < n; i++)
		ret = net->ops->send(net->impl, tag, role, ids[i], w->buf, w->len, err);
	comp_msgw_release(w);
	return ret;
}

void comp_net_send_error(struct comp_net *net, const char *tag, const char *role,
			 const char *party, const char *why)
{
	struct comp_msgw w;
	comp_msgw_init(&w);
	if (!w.ret)
		w.buf[4] = COMP_MSG_FAILED;
	comp_msgw_str(&w, why ? why : "failed");
	comp_net_send(net, tag, role, party, &w, NULL);
}

void comp_net_broadcast_error(struct comp_net *net, const char *tag, const char *role,
			      const char *why)
{
	size_t n;
	const char *const *ids = comp_net_parties(net, role, &n);
	for (size_t i = 0; i < n; i++)
		comp_net_send_error(net, tag, role, ids[i], why);
}

/* -------------------------------------------------------------- reader */

static int comp_msgr_bad(struct comp_msgr *r, struct ff_error *err, const char *what)
{
	return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s: %s at byte %zu of %zu",
			    r->tag, r->peer, what, r->off, r->len);
}

int comp_net_recv(struct comp_net *net, const char *tag, const char *role, const char *party,
		  struct comp_msgr *r, struct ff_error *err)
{
	memset(r, 0, sizeof(*r));
	r->net = net;
	snprintf(r->tag, sizeof(r->tag), "%s", tag);
	snprintf(r->peer, sizeof(r->peer), "%s %s", role, party);
	void *data = NULL;
	size_t len = 0;
	int ret = net->ops->recv(net->impl, tag, role, party, &data, &len, err);
	if (ret)
		return ret;
	r->data = data;
	r->len = len;
	if (len < 5 || memcmp(data, COMP_MSG_MAGIC, 4))
		return comp_msgr_bad(r, err, "no message header");
	r->off = 5;
	unsigned char status = r->data[4];
	if (status == COMP_MSG_OK)
		return FF_OK;
	if (status != COMP_MSG_FAILED)
		return comp_msgr_bad(r, err, "unknown status");
	char *why = NULL;
	ret = comp_msgr_str(r, &why, 200, err);
	if (ret)
		return ret;
	ret = ff_error_set(err, FF_ECOMPONENT, "%s failed: %s", r->peer, why);
	ff_free(why);
	return ret;
}

void comp_msgr_release(struct comp_msgr *r)
{
	if (r->data && r->net)
		r->net->ops->free_buf(r->data);
	r->data = NULL;
	r->len = r->off = 0;
}

static bool comp_msgr_has(const struct comp_msgr *r, size_t n)
{
	return r->off <= r->len && r->len - r->off >= n;
}

int comp_msgr_u64(struct comp_msgr *r, uint64_t *v, struct ff_error *err)
{
	if (!comp_msgr_has(r, 8))
		return comp_msgr_bad(r, err, "truncated");
	*v = comp_get_le64(r->data + r->off);
	r->off += 8;
	return FF_OK;
}

int comp_msgr_f64(struct comp_msgr *r, double *v, struct ff_error *err)
{
	uint64_t u;
	int ret = comp_msgr_u64(r, &u, err);
	if (!ret)
		memcpy(v, &u, 8);
	return ret;
}

/* Reads a count and checks that count items of size sz follow. */
static int comp_msgr_count(struct comp_msgr *r, size_t sz, uint64_t *count, struct ff_error *err)
{
	size_t at = r->off;
	int ret = comp_msgr_u64(r, count, err);
	if (ret)
		return ret;
	if (sz && *count > (r->len - r->off) / sz) {
		r->off = at;
		return comp_msgr_bad(r, err, "truncated array");
	}
	return FF_OK;
}

int comp_msgr_f64v(struct comp_msgr *r, double *out, size_t n, struct ff_error *err)
{
	uint64_t c;
	int ret = comp_msgr_count(r, 8, &c, err);
	if (ret)
		return ret;
	if (c != n)
		return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s: %llu values where "
				    "%zu were expected", r->tag, r->peer, (unsigned long long)c, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t u = comp_get_le64(r->data + r->off + 8 * i);
		memcpy(&out[i], &u, 8);
	}
	r->off += 8 * n;
	return FF_OK;
}

int comp_msgr_f64v_alloc(struct comp_msgr *r, double **out, size_t *n, size_t max,
			 struct ff_error *err)
{
	*out = NULL;
	*n = 0;
	uint64_t c;
	size_t at = r->off;
	int ret = comp_msgr_count(r, 8, &c, err);
	if (ret)
		return ret;
	if (c > max)
		return comp_msgr_bad(r, err, "array too long");
	double *v = ff_malloc((size_t)(c ? c : 1) * 8);
	if (!v)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	r->off = at;
	ret = comp_msgr_f64v(r, v, (size_t)c, err);
	if (ret) {
		ff_free(v);
		return ret;
	}
	*out = v;
	*n = (size_t)c;
	return FF_OK;
}

int comp_msgr_u64v_alloc(struct comp_msgr *r, uint64_t **out, size_t *n, size_t max,
			 struct ff_error *err)
{
	*out = NULL;
	*n = 0;
	uint64_t c;
	int ret = comp_msgr_count(r, 8, &c, err);
	if (ret)
		return ret;
	if (c > max)
		return comp_msgr_bad(r, err, "array too long");
	uint64_t *v = ff_malloc((size_t)(c ? c : 1) * 8);
	if (!v)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; i < c; i++)
		v[i] = comp_get_le64(r->data + r->off + 8 * i);
	r->off += 8 * (size_t)c;
	*out = v;
	*n = (size_t)c;
	return FF_OK;
}

int comp_msgr_bytes(struct comp_msgr *r, const unsigned char **p, size_t *n, size_t max,
		    struct ff_error *err)
{
	uint64_t c;
	int ret = comp_msgr_count(r, 1, &c, err);
	if (ret)
		return ret;
	if (c > max)
		return comp_msgr_bad(r, err, "byte string too long");
	*p = r->data + r->off;
	*n = (size_t)c;
	r->off += (size_t)c;
	return FF_OK;
}

int comp_msgr_str(struct comp_msgr *r, char **out, size_t max, struct ff_error *err)
{
	const unsigned char *p;
	size_t n;
	*out = NULL;
	int ret = comp_msgr_bytes(r, &p, &n, max, err);
	if (ret)
		return ret;
	if (memchr(p, 0, n))
		return comp_msgr_bad(r, err, "string with a NUL byte");
	*out = ff_strndup((const char *)p, n);
	return *out ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
}

int comp_msgr_cts(struct comp_msgr *r, const struct paillier_pub *pub,
		  struct paillier_vec *c, size_t n, struct ff_error *err)
{
	uint64_t count, cs;
	int ret = comp_msgr_u64(r, &count, err);
	if (!ret)
		ret = comp_msgr_u64(r, &cs, err);
	if (ret)
		return ret;
	if (cs != paillier_ct_size(pub))
		return comp_msgr_bad(r, err, "ciphertext size does not match the key");
	if (n != SIZE_MAX && count != n)
		return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s: %llu ciphertexts "
				    "where %zu were expected", r->tag, r->peer,
				    (unsigned long long)count, n);
	if (count > (r->len - r->off) / cs)
		return comp_msgr_bad(r, err, "truncated ciphertexts");
	ret = paillier_vec_init(c, (size_t)count);
	if (ret)
		return ff_error_set(err, ret, "out of memory");
	struct ff_error e2 = FF_ERROR_INIT;
	ret = paillier_vec_from_bytes(pub, c, r->data + r->off, (size_t)(count * cs), &e2);
	if (ret) {
		paillier_vec_release(c);
		return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s: %s", r->tag,
				    r->peer, ff_error_msg(&e2, ret));
	}
	r->off += (size_t)(count * cs);
	return FF_OK;
}

int comp_msgr_pub(struct comp_msgr *r, struct paillier_pub *pub, struct ff_error *err)
{
	const unsigned char *p;
	size_t n;
	int ret = comp_msgr_bytes(r, &p, &n, 4096, err);
	if (ret)
		return ret;
	struct ff_error e2 = FF_ERROR_INIT;
	ret = paillier_pub_from_bytes(pub, p, n, &e2);
	if (ret)
		return ff_error_set(err, ret == FF_EINVAL ? FF_EPROTO : ret,
				    "public key in message '%s' from %s: %s", r->tag, r->peer,
				    ff_error_msg(&e2, ret));
	return FF_OK;
}

int comp_msgr_end(struct comp_msgr *r, struct ff_error *err)
{
	if (r->off != r->len)
		return comp_msgr_bad(r, err, "trailing bytes");
	return FF_OK;
}

/* ----------------------------------------------------------- parameters */

int comp_param_strs(struct ff_task *t, const char *name, const char ***out, size_t *n,
		    bool *present, struct ff_error *err)
{
	const json_t *v = ff_task_param(t, name);
	*out = NULL;
	*n = 0;
	*present = v != NULL;
	if (!v)
		return FF_OK;
	if (!json_is_array(v))
		return ff_error_set(err, FF_EINVAL, "parameter '%s': expected a list of names, got %s",
				    name, jsonx_type_name(v));
	size_t c = json_array_size(v);
	const char **a = ff_calloc(c ? c : 1, sizeof(*a));
	if (!a)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; i < c; i++) {
		a[i] = json_string_value(json_array_get(v, i));
		if (!a[i]) {
			ff_free(a);
			return ff_error_set(err, FF_EINVAL, "parameter '%s': element %zu is not a "
					    "string", name, i);
		}
	}
	*out = a;
	*n = c;
	return FF_OK;
}

int comp_param_idxs(struct ff_task *t, const char *name, size_t **out, size_t *n,
		    bool *present, struct ff_error *err)
{
	const json_t *v = ff_task_param(t, name);
	*out = NULL;
	*n = 0;
	*present = v != NULL;
	if (!v)
		return FF_OK;
	if (!json_is_array(v))
		return ff_error_set(err, FF_EINVAL, "parameter '%s': expected a list of indexes, "
				    "got %s", name, jsonx_type_name(v));
	size_t c = json_array_size(v);
	size_t *a = ff_calloc(c ? c : 1, sizeof(*a));
	if (!a)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; i < c; i++) {
		long long x;
		if (!jsonx_as_int(json_array_get(v, i), &x) || x < 0) {
			ff_free(a);
			return ff_error_set(err, FF_EINVAL, "parameter '%s': element %zu is not an "
					    "index >= 0", name, i);
		}
		a[i] = (size_t)x;
	}
	*out = a;
	*n = c;
	return FF_OK;
}

int comp_param_obj(struct ff_task *t, const char *name, const json_t **out,
		   struct ff_error *err)
{
	const json_t *v = ff_task_param(t, name);
	*out = NULL;
	if (v && !json_is_object(v))
		return ff_error_set(err, FF_EINVAL, "parameter '%s': expected a mapping, got %s",
				    name, jsonx_type_name(v));
	*out = v;
	return FF_OK;
}

int comp_he_param(struct ff_task *t, unsigned *key_bits, struct ff_error *err)
{
	const json_t *he;
	*key_bits = 1024;
	int ret = comp_param_obj(t, "he_param", &he, err);
	if (ret || !he)
		return ret;
	const char *kind = jsonx_str(he, "kind");
	if (kind && strcmp(kind, "paillier"))
		return ff_error_set(err, FF_EINVAL, "he_param.kind '%s' is not supported (only "
				    "'paillier')", kind);
	const json_t *kl = json_object_get(he, "key_length");
	long long bits = 1024;
	if (kl && !json_is_null(kl) && !jsonx_as_int(kl, &bits))
		return ff_error_set(err, FF_EINVAL, "he_param.key_length: expected an integer, got %s",
				    jsonx_type_name(kl));
	if (bits < (long long)PAILLIER_MIN_BITS)
		return ff_error_set(err, FF_EINVAL, "he_param.key_length %lld is below the minimum "
				    "of %u bits", bits, PAILLIER_MIN_BITS);
	if (bits > (long long)PAILLIER_MAX_BITS || bits % 2)
		return ff_error_set(err, FF_EINVAL, "he_param.key_length %lld must be even and at "
				    "most %u", bits, PAILLIER_MAX_BITS);
	*key_bits = (unsigned)bits;
	return FF_OK;
}

unsigned comp_threads(struct ff_task *t)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	long long cores = 0;
	const json_t *cfg = t ? ff_task_config(t) : NULL;
	if (cfg && !jsonx_as_int(jsonx_path(cfg, "engine_run.cores"), &cores))
		jsonx_as_int(jsonx_path(cfg, "conf.computing.metadata.options.cores"), &cores);
	if (cores < 1 || cores > cpus)
		cores = cpus;
	return (unsigned)(cores > 64 ? 64 : cores);
}

/* --------------------------------------------------------------- metrics */

void comp_metric(struct ff_task *t, const char *name, const char *type, json_t *data)
{
	struct ff_error err = FF_ERROR_INIT;
	int ret;
	if (comp_hooks_g.metric)
		ret = comp_hooks_g.metric(comp_hooks_g.ctx, t, name, type, data, &err);
	else
		ret = ff_task_metric(t, name, type, NULL, NULL, data, &err);
	if (ret)
		ff_task_log(t, FF_TASK_WARN, "metric '%s' not recorded: %s", name,
			    ff_error_msg(&err, ret));
}

json_t *comp_json_real(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *comp_json_doubles(const double *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, comp_json_real(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *comp_json_strs(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i] ? v[i] : ""))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* ----------------------------------------------------------- descriptions */

static json_t *comp_csv_list(const char *csv)
{
	json_t *a = json_array();
	while (a && csv && *csv) {
		const char *e = strchr(csv, ',');
		size_t n = e ? (size_t)(e - csv) : strlen(csv);
		json_array_append_new(a, json_stringn(csv, n));
		csv = e ? e + 1 : NULL;
	}
	return a;
}

json_t *comp_art(const char *types, bool optional, bool is_multi, const char *roles,
		 const char *stages)
{
	return json_pack("{s:o,s:b,s:b,s:o,s:o}", "types", comp_csv_list(types), "optional",
			 optional, "is_multi", is_multi, "roles", comp_csv_list(roles), "stages",
			 comp_csv_list(stages));
}

json_t *comp_param_desc(const char *type, json_t *dflt, bool optional, const char *desc)
{
	return json_pack("{s:s,s:o,s:b,s:s}", "type", type, "default", dflt ? dflt : json_null(),
			 "optional", optional, "description", desc ? desc : "");
}

json_t *comp_metric_out(const char *roles, const char *stages)
{
	return json_pack("{s:o}", "metric", comp_art("json_metric", true, false, roles, stages));
}

/* ------------------------------------------------------ column selection */

void comp_anon_name(const char *role, const char *party, size_t j, char *out, size_t n)
{
	snprintf(out, n, "%s_%s_x%zu", role, party, j);
}

/* Index of a feature named `name` (or its anonymous name), -1 when none. */
static long comp_find_col(const struct comp_frame *f, const char *name, bool anon,
			  const char *role, const char *party)
{
	if (!anon)
		return comp_frame_col(f, name);
	char buf[160];
	for (size_t j = 0; j < f->ds.d; j++) {
		comp_anon_name(role, party, j, buf, sizeof(buf));
		if (!strcmp(buf, name))
			return (long)j;
	}
	return -1;
}

int comp_select_cols(struct ff_task *t, const struct comp_frame *f, const char *col_param,
		     const char *idx_param, bool anon, size_t **sel, size_t *nsel, bool *all,
		     struct ff_error *err)
{
	const char **names = NULL;
	size_t *idx = NULL, nn = 0, ni = 0, *out = NULL;
	bool has_names = false, has_idx = false;
	int ret = comp_param_strs(t, col_param, &names, &nn, &has_names, err);
	if (!ret && idx_param)
		ret = comp_param_idxs(t, idx_param, &idx, &ni, &has_idx, err);
	if (ret)
		goto out;
	*all = !has_names && !has_idx;
	if (has_names && has_idx) {
		ret = ff_error_set(err, FF_EINVAL, "parameters '%s' and '%s' cannot both be given",
				   col_param, idx_param);
		goto out;
	}
	size_t d = f->ds.d, n = *all ? d : has_names ? nn : ni;
	out = ff_calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		if (*all) {
			out[k] = k;
		} else if (has_names) {
			long j = comp_find_col(f, names[k], anon, ff_task_role(t), ff_task_party_id(t));
			if (j < 0) {
				ret = ff_error_set(err, FF_EINVAL, "column '%s' of parameter '%s' is not "
						   "a feature of input '%s'", names[k], col_param, f->key);
				goto out;
			}
			out[k] = (size_t)j;
		} else {
			if (idx[k] >= d) {
				ret = ff_error_set(err, FF_EINVAL, "index %zu of parameter '%s' is out of "
						   "range (input '%s' has %zu features)", idx[k],
						   idx_param, f->key, d);
				goto out;
			}
			out[k] = idx[k];
		}
		for (size_t q = 0; q < k; q++)
			if (out[q] == out[k]) {
				ret = ff_error_set(err, FF_EINVAL, "column '%s' is selected twice",
						   f->schema->feature_names[out[k]]);
				goto out;
			}
	}
	*sel = out;
	*nsel = n;
	out = NULL;
out:
	ff_free(out);
	ff_free(names);
	ff_free(idx);
	return ret;
}
