// SPDX-License-Identifier: Apache-2.0
/*
 * test_comp_msg.c - the component message codec (comp_util.h) and the
 * in-process channel (comp_memnet.h): round trips of every field type,
 * every truncation of a message refused with FF_EPROTO (never a crash or
 * an over-read, checked under ASan), a peer's error status, trailing bytes,
 * exactly-once sends, receive timeouts and abort.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "comp_memnet.h"
#include "mem.h"
#include "paillier.h"

struct msg_env {
	struct comp_memhub *hub;
	struct comp_net *a, *b;
};

static void env_open(struct msg_env *e)
{
	assert_int_equal(comp_memhub_new(&e->hub), FF_OK);
	comp_memhub_set_timeout(e->hub, 200);
	assert_int_equal(comp_memhub_add(e->hub, "guest", "9999"), FF_OK);
	assert_int_equal(comp_memhub_add(e->hub, "host", "10000"), FF_OK);
	assert_int_equal(comp_memhub_net(e->hub, "guest", "9999", &e->a, NULL), FF_OK);
	assert_int_equal(comp_memhub_net(e->hub, "host", "10000", &e->b, NULL), FF_OK);
}

static void env_close(struct msg_env *e)
{
	comp_net_close(e->a);
	comp_net_close(e->b);
	comp_memhub_free(e->hub);
}

/* A message with every field type; returns its bytes in *out (owned). */
static void build(const struct paillier_pub *pub, const struct paillier_vec *c,
		  struct comp_msgw *w)
{
	double v[3] = { 1.5, -2.25, 1e300 };
	uint64_t u[2] = { 7, UINT64_MAX };
	comp_msgw_init(w);
	comp_msgw_u64(w, 42);
	comp_msgw_f64(w, -0.5);
	comp_msgw_f64v(w, v, 3);
	comp_msgw_u64v(w, u, 2);
	comp_msgw_str(w, "anonymous_x1");
	comp_msgw_pub(w, pub);
	comp_msgw_cts(w, pub, c);
}

/* Reads build()'s message; returns the first error. */
static int parse(struct comp_net *net, const char *tag, const struct paillier_pub *pub,
		 struct ff_error *err)
{
	struct comp_msgr r;
	uint64_t x;
	double f, v[3], *va = NULL;
	uint64_t *ua = NULL;
	size_t n;
	char *s = NULL;
	struct paillier_pub p2;
	struct paillier_vec c = PAILLIER_VEC_INIT;
	paillier_pub_init(&p2);
	int ret = comp_net_recv(net, tag, "guest", "9999", &r, err);
	if (!ret)
		ret = comp_msgr_u64(&r, &x, err);
	if (!ret)
		ret = comp_msgr_f64(&r, &f, err);
	if (!ret)
		ret = comp_msgr_f64v(&r, v, 3, err);
	if (!ret)
		ret = comp_msgr_u64v_alloc(&r, &ua, &n, 10, err);
	if (!ret)
		ret = comp_msgr_str(&r, &s, 64, err);
	if (!ret)
		ret = comp_msgr_pub(&r, &p2, err);
	if (!ret)
		ret = comp_msgr_cts(&r, pub, &c, 2, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	if (!ret) {
		assert_int_equal(x, 42);
		assert_true(f == -0.5);
		assert_true(v[0] == 1.5 && v[1] == -2.25 && v[2] == 1e300);
		assert_int_equal(n, 2);
		assert_true(ua[0] == 7 && ua[1] == UINT64_MAX);
		assert_string_equal(s, "anonymous_x1");
		assert_int_equal(mpz_cmp(p2.n, pub->n), 0);
		assert_int_equal(c.len, 2);
	}
	ff_free(va);
	ff_free(ua);
	ff_free(s);
	paillier_vec_release(&c);
	paillier_pub_release(&p2);
	comp_msgr_release(&r);
	return ret;
}

static void test_msg_roundtrip_and_truncations(void **state)
{
	(void)state;
	struct msg_env e;
	struct paillier_priv priv;
	struct paillier_vec c = PAILLIER_VEC_INIT;
	struct ff_error err = FF_ERROR_INIT;
	env_open(&e);
	paillier_priv_init(&priv);
	assert_int_equal(paillier_keygen(&priv, 1024, NULL), FF_OK);
	assert_int_equal(paillier_vec_init(&c, 2), FF_OK);
	double m[2] = { 3, -4 };
	assert_int_equal(paillier_encrypt_fixed_vec(&priv.pub, NULL, &c, m, 0, 1, NULL), FF_OK);

	struct comp_msgw w;
	build(&priv.pub, &c, &w);
	size_t full = w.len;
	unsigned char *copy = ff_malloc(full);
	memcpy(copy, w.buf, full);
	assert_int_equal(comp_net_send(e.a, "t.full", "host", "10000", &w, NULL), FF_OK);
	assert_int_equal(parse(e.b, "t.full", &priv.pub, &err), FF_OK);

	/* every truncation, sent raw: FF_EPROTO naming tag and peer */
	for (size_t len = 0; len < full; len += (len < 64 ? 1 : 37)) {
		char tag[64];
		snprintf(tag, sizeof(tag), "t.cut%zu", len);
		assert_int_equal(e.a->ops->send(e.a->impl, tag, "host", "10000", copy, len, NULL),
				 FF_OK);
		ff_error_clear(&err);
		assert_int_equal(parse(e.b, tag, &priv.pub, &err), FF_EPROTO);
		assert_non_null(strstr(err.msg, tag));
		assert_non_null(strstr(err.msg, "from guest 9999"));
	}
	/* trailing bytes */
	unsigned char *longer = ff_malloc(full + 3);
	memcpy(longer, copy, full);
	memset(longer + full, 0, 3);
	assert_int_equal(e.a->ops->send(e.a->impl, "t.long", "host", "10000", longer, full + 3,
					NULL), FF_OK);
	assert_int_equal(parse(e.b, "t.long", &priv.pub, &err), FF_EPROTO);
	assert_non_null(strstr(err.msg, "trailing bytes"));
	/* a ciphertext >= n^2 */
	memset(copy + full - 256, 0xff, 256);
	assert_int_equal(e.a->ops->send(e.a->impl, "t.big", "host", "10000", copy, full, NULL),
			 FF_OK);
	assert_int_equal(parse(e.b, "t.big", &priv.pub, &err), FF_EPROTO);
	ff_free(copy);
	ff_free(longer);
	paillier_vec_release(&c);
	paillier_priv_release(&priv);
	env_close(&e);
}

static void test_msg_error_status_once_timeout_abort(void **state)
{
	(void)state;
	struct msg_env e;
	struct ff_error err = FF_ERROR_INIT;
	struct comp_msgr r;
	env_open(&e);
	comp_net_send_error(e.a, "t.x", "host", "10000", "input 'train_data' has no rows");
	assert_int_equal(comp_net_recv(e.b, "t.x", "guest", "9999", &r, &err), FF_ECOMPONENT);
	assert_string_equal(err.msg, "guest 9999 failed: input 'train_data' has no rows");
	comp_msgr_release(&r);

	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_u64(&w, 1);
	assert_int_equal(comp_net_send(e.a, "t.once", "host", "10000", &w, NULL), FF_OK);
	comp_msgw_init(&w);
	comp_msgw_u64(&w, 1);
	assert_int_equal(comp_net_send(e.a, "t.once", "host", "10000", &w, &err), FF_EEXIST);
	comp_msgw_init(&w);
	assert_int_equal(comp_net_send(e.a, "t.who", "host", "12345", &w, &err), FF_EINVAL);

	assert_int_equal(comp_net_recv(e.b, "t.none", "guest", "9999", &r, &err), FF_ETIMEDOUT);
	assert_non_null(strstr(err.msg, "'t.none'"));
	comp_msgr_release(&r);
	comp_memhub_abort(e.hub, "guest 9999 failed: x");
	assert_int_equal(comp_net_recv(e.b, "t.none", "guest", "9999", &r, &err), FF_ECANCELED);
	comp_msgr_release(&r);
	/* a bad status byte and a bad magic */
	unsigned char bad[6] = { 'F', 'F', 'M', '1', 9, 0 };
	assert_int_equal(e.a->ops->send(e.a->impl, "t.st", "host", "10000", bad, 6, NULL), FF_OK);
	assert_int_equal(comp_net_recv(e.b, "t.st", "guest", "9999", &r, &err), FF_EPROTO);
	comp_msgr_release(&r);
	bad[0] = 'X';
	bad[4] = 0;
	assert_int_equal(e.a->ops->send(e.a->impl, "t.mg", "host", "10000", bad, 6, NULL), FF_OK);
	assert_int_equal(comp_net_recv(e.b, "t.mg", "guest", "9999", &r, &err), FF_EPROTO);
	assert_non_null(strstr(err.msg, "no message header"));
	comp_msgr_release(&r);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_roundtrip_and_truncations),
		cmocka_unit_test(test_msg_error_status_once_timeout_abort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
