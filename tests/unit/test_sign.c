// SPDX-License-Identifier: Apache-2.0
/* test_sign.c - request signatures: round trip, tampering, window, replay. */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <sys/stat.h>
#include "auth/sign.h"
#include "clock.h"
#include "fs.h"
#include "mem.h"

static struct sign_key key, other;

static int setup(void **state)
{
	(void)state;
	char a[] = "/tmp/ff_test_sign_XXXXXX", b[] = "/tmp/ff_test_sign_XXXXXX";
	assert_int_equal(sign_global_init(), FF_OK);
	assert_non_null(mkdtemp(a));
	assert_non_null(mkdtemp(b));
	assert_int_equal(sign_key_load_or_create(a, &key, NULL), FF_OK);
	assert_int_equal(sign_key_load_or_create(b, &other, NULL), FF_OK);
	/* loading again gives the same key; the secret file is private */
	struct sign_key again;
	assert_int_equal(sign_key_load_or_create(a, &again, NULL), FF_OK);
	assert_memory_equal(again.pk, key.pk, 32);
	char *p = ff_asprintf("%s/site.key", a);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	ff_free(p);
	fs_rm_rf(a);
	fs_rm_rf(b);
	return 0;
}

static void test_round_trip_and_tamper(void **state)
{
	(void)state;
	unsigned char sha[32], sha2[32];
	sign_sha256("{\"a\":1}", 7, sha);
	sign_sha256("{\"a\":2}", 7, sha2);
	struct sign_headers h;
	assert_int_equal(sign_request(&key, "9999", "POST", "/v2/partner/job/create", "", sha, &h),
			 FF_OK);
	int64_t now = clock_now_ms();
	struct ff_error err = FF_ERROR_INIT;
	/* wrong body, path, key: refused (and they do not burn the nonce) */
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/v2/partner/job/create", "",
				     h.timestamp, h.nonce, h.signature, sha2, now, &err), FF_EVERIFY);
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/v2/partner/job/stop", "",
				     h.timestamp, h.nonce, h.signature, sha, now, &err), FF_EVERIFY);
	assert_int_equal(sign_verify(other.pk_b64, "POST", "/v2/partner/job/create", "",
				     h.timestamp, h.nonce, h.signature, sha, now, &err), FF_EVERIFY);
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/v2/partner/job/create", "",
				     h.timestamp, h.nonce, h.signature, sha, now, &err), FF_OK);
	/* replay */
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/v2/partner/job/create", "",
				     h.timestamp, h.nonce, h.signature, sha, now, &err), FF_EVERIFY);
	assert_non_null(strstr(err.msg, "already used"));
}

static void test_window(void **state)
{
	(void)state;
	unsigned char sha[32];
	sign_sha256("", 0, sha);
	struct sign_headers h;
	assert_int_equal(sign_request(&key, "9999", "POST", "/x", "", sha, &h), FF_OK);
	struct ff_error err = FF_ERROR_INIT;
	int64_t now = clock_now_ms();
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/x", "", h.timestamp, h.nonce,
				     h.signature, sha, now + 61000, &err), FF_EEXPIRED);
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/x", "", h.timestamp, h.nonce,
				     h.signature, sha, now - 61000, &err), FF_EEXPIRED);
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/x", "", h.timestamp, h.nonce,
				     h.signature, sha, now + 59000, &err), FF_OK);
}

static void test_malformed(void **state)
{
	(void)state;
	unsigned char sha[32] = { 0 };
	struct ff_error err = FF_ERROR_INIT;
	int64_t now = clock_now_ms();
	char ts[32];
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/x", "", NULL, NULL, NULL, sha, now, &err),
			 FF_EVERIFY);
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/x", "", ts, "0123456789abcdef0123",
				     "not base64!", sha, now, &err), FF_EVERIFY);
	assert_int_equal(sign_verify("short", "POST", "/x", "", ts, "0123456789abcdef0123",
				     "AAAA", sha, now, &err), FF_EVERIFY);
	assert_int_equal(sign_verify(key.pk_b64, "POST", "/x", "", "12x", "0123456789abcdef0123",
				     "AAAA", sha, now, &err), FF_EVERIFY);
	assert_int_equal(sign_key_check("abc", &err), FF_EINVAL);
	assert_int_equal(sign_key_check(key.pk_b64, &err), FF_OK);
}

/* The nonce cache grows with the request rate: far more nonces than any
 * fixed table inside one window are all fresh, replays are caught, and
 * expired ones are forgotten. */
static void test_nonce_capacity(void **state)
{
	(void)state;
	char n[40];
	const int64_t now = 1000000;
	for (int i = 0; i < 300000; i++) {
		snprintf(n, sizeof(n), "capacity-%08d", i);
		assert_int_equal(sign_nonce_remember(n, now, now + 60000), FF_OK);
	}
	assert_int_equal(sign_nonce_remember("capacity-00000007", now, now + 60000), FF_EVERIFY);
	assert_int_equal(sign_nonce_remember("capacity-00299999", now + 59999, now + 60000),
			 FF_EVERIFY);
	/* after expiry the same nonce is new again (its timestamp is then out of window) */
	assert_int_equal(sign_nonce_remember("capacity-00000007", now + 60001, now + 120001),
			 FF_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_tamper),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nonce_capacity),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
