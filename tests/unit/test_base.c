// SPDX-License-Identifier: Apache-2.0
/* test_base.c - unit tests of src/base: buf, jw, yaml, jsonx, err, fs, clock. */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <unistd.h>
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fs.h"
#include "jsonx.h"
#include "jw.h"
#include "mem.h"
#include "yaml.h"

static void test_buf_basic(void **state)
{
	(void)state;
	struct ff_buf b = FF_BUF_INIT;
	assert_non_null(b.buf);
	assert_string_equal(b.buf, "");
	assert_int_equal(ff_buf_addstr(&b, "abc"), FF_OK);
	assert_int_equal(ff_buf_addf(&b, "-%d-%s", 42, "x"), FF_OK);
	assert_string_equal(b.buf, "abc-42-x");
	assert_int_equal(b.len, 8);
	char big[300];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ff_buf_addf(&b, "%s", big), FF_OK);
	assert_int_equal(b.len, 8 + 299);
	size_t n;
	char *s = ff_buf_detach(&b, &n);
	assert_int_equal(n, 307);
	assert_string_equal(b.buf, "");
	ff_free(s);
}

static void test_buf_cap(void **state)
{
	(void)state;
	struct ff_buf b = FF_BUF_INIT_MAX(8);
	assert_int_equal(ff_buf_addstr(&b, "12345678"), FF_OK);
	assert_int_equal(ff_buf_addch(&b, '9'), FF_E2BIG);
	/* a failed append releases the buffer */
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	ff_buf_release(&b);
}

static void test_buf_oom(void **state)
{
	(void)state;
	struct ff_buf b = FF_BUF_INIT;
	ff_mem_fail_after(1);
	assert_int_equal(ff_buf_addstr(&b, "x"), FF_ENOMEM);
	ff_mem_fail_after(0);
	assert_int_equal(b.len, 0);
	ff_buf_release(&b);
}

static void test_jw(void **state)
{
	(void)state;
	struct ff_buf b = FF_BUF_INIT;
	struct jw w;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kint(&w, "code", 0);
	jw_kstr(&w, "message", "a \"q\"\n\x01");
	jw_key(&w, "data");
	jw_arr(&w);
	jw_int(&w, 1);
	jw_double(&w, 2.0);
	jw_null(&w);
	jw_raw(&w, "{\"k\":[1]}", 9);
	jw_bool(&w, true);
	jw_end(&w);
	jw_end(&w);
	assert_int_equal(jw_finish(&w), FF_OK);
	assert_string_equal(b.buf, "{\"code\":0,\"message\":\"a \\\"q\\\"\\n\\u0001\","
			    "\"data\":[1,2.0,null,{\"k\":[1]},true]}");
	json_t *j;
	assert_int_equal(jsonx_parse(b.buf, b.len, &j, NULL), FF_OK);
	json_decref(j);
	ff_buf_release(&b);
}

static void test_jw_unbalanced(void **state)
{
	(void)state;
	struct ff_buf b = FF_BUF_INIT;
	struct jw w;
	jw_init(&w, &b);
	jw_obj(&w);
	assert_int_equal(jw_finish(&w), FF_EINVAL);
	ff_buf_release(&b);
}

static void test_yaml_scalars(void **state)
{
	(void)state;
	const char *y = "a: 1\nb: 1.0e-06\nc: 2.0.0\nd: '9999'\ne: null\nf: true\n"
			"g: [x, 'y', 3]\nh: ~\ni: -7\nj: .5\n";
	json_t *j;
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(yaml_load(y, strlen(y), &j, &err), FF_OK);
	assert_true(json_is_integer(json_object_get(j, "a")));
	assert_true(json_is_real(json_object_get(j, "b")));
	assert_string_equal(jsonx_str(j, "c"), "2.0.0");
	assert_string_equal(jsonx_str(j, "d"), "9999");
	assert_true(json_is_null(json_object_get(j, "e")));
	assert_true(json_is_true(json_object_get(j, "f")));
	assert_int_equal(json_array_size(json_object_get(j, "g")), 3);
	assert_true(json_is_null(json_object_get(j, "h")));
	assert_int_equal(json_integer_value(json_object_get(j, "i")), -7);
	assert_true(json_is_real(json_object_get(j, "j")));
	json_decref(j);
}

static void test_yaml_errors(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	json_t *j = NULL;
	const char *bad = "a: [1, 2\nb: 3\n";
	assert_int_equal(yaml_load(bad, strlen(bad), &j, &err), FF_EINVAL);
	assert_null(j);
	assert_non_null(strstr(err.msg, "malformed YAML"));
	const char *dup = "a: 1\na: 2\n";
	assert_int_equal(yaml_load(dup, strlen(dup), &j, &err), FF_EINVAL);
	const char *key = "? [1]\n: 2\n";
	assert_int_equal(yaml_load(key, strlen(key), &j, &err), FF_EINVAL);
}

/*
 * A malformed scalar whose error libfyaml 0.7.12 cannot render with its
 * source line (a wild read in fy_diag_error_atom_display, found by
 * fuzz/fuzz-dag): refused with a position, no crash.
 */
static void test_yaml_error_display(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	struct ff_buf b = FF_BUF_INIT;
	json_t *j = NULL;
	assert_int_equal(fs_read_file(FF_FUZZ_CORPUS "/dag/crash-fyaml-diag-source", &b, NULL),
			 FF_OK);
	assert_int_equal(yaml_load(b.buf, b.len, &j, &err), FF_EINVAL);
	assert_null(j);
	assert_non_null(strstr(err.msg, "malformed YAML at line 1, column"));
	ff_buf_release(&b);
	const char *quote = "a: 'x\n";
	assert_int_equal(yaml_load(quote, strlen(quote), &j, &err), FF_EINVAL);
	assert_string_equal(err.msg, "malformed YAML at line 1, column 5: single-quoted scalar "
			    "without closing quote");
}

/*
 * Strict UTF-8 before libfyaml sees the text: a directive with a lead byte
 * 0xf5..0xf7 made libfyaml 0.7.12 loop forever (found by fuzz/fuzz-dag).
 */
static void test_yaml_utf8(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"%\xf6\x91\x91\x91n\nnnn",   /* the hang */
		"a: \xf5\x80\x80\x80\n",      /* lead bytes above f4 */
		"a: \xf4\x90\x80\x80\n",      /* above U+10FFFF */
		"a: \xe0\x80\x80\n",          /* overlong */
		"a: \xf0\x80\x80\x80\n",      /* overlong */
		"a: \xed\xa0\x80\n",          /* surrogate */
		"a: \xc0\x80\n",
		"a: \xe2\x82",                /* truncated */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ff_error err = FF_ERROR_INIT;
		json_t *j = NULL;
		assert_int_equal(yaml_load(bad[i], strlen(bad[i]), &j, &err), FF_EINVAL);
		assert_null(j);
		assert_non_null(strstr(err.msg, "invalid UTF-8"));
	}
	const char *good = "a: \xc2\xa9 \xe2\x82\xac \xed\x9f\xbf \xef\xbf\xbd \xf0\x9f\x98\x80 "
			   "\xf4\x8f\xbf\xbf";
	json_t *j = NULL;
	assert_int_equal(yaml_load(good, strlen(good), &j, NULL), FF_OK);
	assert_string_equal(json_string_value(json_object_get(j, "a")), good + 3);
	json_decref(j);
}

static void test_jsonx(void **state)
{
	(void)state;
	json_t *j;
	const char *t = "{\"p\": 9999, \"s\": \"10\", \"b\": \"True\", \"r\": 2.0, \"x\": {\"y\": {\"z\": 1}}}";
	assert_int_equal(jsonx_load_any(t, strlen(t), &j, NULL), FF_OK);
	char buf[16];
	assert_int_equal(jsonx_scalar_text(json_object_get(j, "p"), buf, sizeof(buf)), FF_OK);
	assert_string_equal(buf, "9999");
	long long v;
	assert_true(jsonx_as_int(json_object_get(j, "s"), &v));
	assert_int_equal(v, 10);
	assert_true(jsonx_as_int(json_object_get(j, "r"), &v));
	bool b;
	assert_true(jsonx_as_bool(json_object_get(j, "b"), &b));
	assert_true(b);
	assert_non_null(jsonx_path(j, "x.y.z"));
	assert_null(jsonx_path(j, "x.q.z"));
	assert_int_equal(jsonx_scalar_text(json_object_get(j, "x"), buf, sizeof(buf)), FF_EINVAL);
	json_decref(j);
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(jsonx_parse("{\"a\":", 5, &j, &err), FF_EINVAL);
	assert_non_null(strstr(err.msg, "malformed JSON"));
}

static void test_err(void **state)
{
	(void)state;
	assert_int_equal(ff_api_code(FF_ENOJOB), 1001);
	assert_int_equal(ff_api_code(FF_EDAG), 1000);
	assert_int_equal(ff_api_code(FF_ETABLEEXISTS), 7002);
	assert_string_equal(ff_errname(FF_ENOTASK), "FF_ENOTASK");
	assert_int_equal(ff_from_errno(ENOENT), FF_ENOENT);
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff_error_set(&err, FF_EDAG, "line\nbreak %d", 1), FF_EDAG);
	assert_string_equal(err.msg, "line break 1");
	ff_error_prefix(&err, "dag.tasks.%s", "a");
	assert_string_equal(err.msg, "dag.tasks.a: line break 1");
}

static void test_fs(void **state)
{
	(void)state;
	assert_true(fs_name_ok("experiment", 100));
	assert_false(fs_name_ok("..", 100));
	assert_false(fs_name_ok("a/b", 100));
	assert_false(fs_name_ok("", 100));
	assert_false(fs_name_ok(".hidden", 100));
	assert_false(fs_name_ok("a\tb", 100));
	char tmpl[] = "/tmp/ff_test_fs_XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char *d = ff_asprintf("%s/a/b/c", tmpl);
	assert_int_equal(fs_mkdirs(d, 0755, NULL), FF_OK);
	assert_true(fs_is_dir(d));
	assert_int_equal(fs_mkdirs(d, 0755, NULL), FF_OK);          /* exists: fine */
	char *d2 = ff_asprintf("%s/a/b/x/y/", tmpl);                  /* trailing slash */
	assert_int_equal(fs_mkdirs(d2, 0755, NULL), FF_OK);
	assert_true(fs_is_dir(d2));
	char *f = ff_asprintf("%s/file", d);
	assert_int_equal(fs_write_atomic(f, "hello", 5, NULL), FF_OK);
	/* a file in the way: a clear error naming the level that failed */
	char *d3 = ff_asprintf("%s/file/sub/deeper", d);
	struct ff_error e = FF_ERROR_INIT;
	assert_int_not_equal(fs_mkdirs(d3, 0755, &e), FF_OK);
	assert_non_null(strstr(ff_error_msg(&e, FF_EIO), "cannot create directory"));
	ff_free(d2);
	ff_free(d3);
	struct ff_buf b = FF_BUF_INIT;
	assert_int_equal(fs_read_file(f, &b, NULL), FF_OK);
	assert_string_equal(b.buf, "hello");
	ff_buf_release(&b);
	assert_int_equal(fs_rm_rf(tmpl), FF_OK);
	assert_false(fs_exists(tmpl));
	ff_free(d);
	ff_free(f);
	char *a = fs_abspath("/x/./y/../z//w");
	assert_string_equal(a, "/x/z/w");
	ff_free(a);
}

static void test_job_id(void **state)
{
	(void)state;
	char a[32], b[32];
	clock_job_id(a);
	clock_job_id(b);
	assert_int_equal(strlen(a), 21);
	assert_true(strcmp(a, b) < 0);
	char u[33];
	clock_uuid_hex(u);
	assert_int_equal(strlen(u), 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_basic),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_oom),
		cmocka_unit_test(test_jw),
		cmocka_unit_test(test_jw_unbalanced),
		cmocka_unit_test(test_yaml_scalars),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_yaml_error_display),
		cmocka_unit_test(test_yaml_utf8),
		cmocka_unit_test(test_jsonx),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_fs),
		cmocka_unit_test(test_job_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
