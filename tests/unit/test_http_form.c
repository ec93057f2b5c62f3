// SPDX-License-Identifier: Apache-2.0
/*
 * test_http_form.c - the streaming multipart/form-data parser: fields and
 * files, every split of the body into two chunks and byte-by-byte feeds,
 * delimiter look-alikes inside file data, quoting, and every refusal.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <strings.h>
#include <unistd.h>
#include "fs.h"
#include "http.h"
#include "http_form.h"
#include "mem.h"

/* http_form.c's request glue needs three accessors of http_server.c. */
static void *stub_user;
static void (*stub_free)(void *);
static const char *stub_ctype;

void *http_req_user(const struct http_req *r)
{
	(void)r;
	return stub_user;
}

void http_req_set_user(struct http_req *r, void *user, void (*free_cb)(void *))
{
	(void)r;
	stub_user = user;
	stub_free = free_cb;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	(void)r;
	return strcasecmp(name, "Content-Type") ? NULL : stub_ctype;
}

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_http_form.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(tmpdir);
	return 0;
}

static size_t count_files(void)
{
	DIR *d = opendir(tmpdir);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

#define CT "multipart/form-data; boundary=b0undary"

/* A file payload full of near-delimiters and CR/LF. */
static const char payload[] = "id,x\r\n1,2\r\n--b0undar\r\n--b0undarX\r\n\r\n-\r\n--b0und\r";

static size_t build_body(char *out, size_t cap)
{
	int n = snprintf(out, cap,
		"preamble to ignore\r\n"
		"--b0undary\r\n"
		"Content-Disposition: form-data; name=\"head\"\r\n\r\n"
		"True\r\n"
		"--b0undary  \r\n"
		"Content-Disposition: form-data; name=\"meta\"\r\n\r\n"
		"{\"delimiter\": \",\"}\r\n"
		"--b0undary\r\n"
		"content-disposition: form-data; name=\"file\"; filename=\"my \\\"data\\\".csv\"\r\n"
		"\r\n");
	memcpy(out + n, payload, sizeof(payload) - 1);
	n += (int)sizeof(payload) - 1;
	n += snprintf(out + n, cap - (size_t)n,
		"\r\n--b0undary\r\n"
		"Content-Disposition: form-data; name=empty\r\n\r\n"
		"\r\n--b0undary--\r\nepilogue\r\n");
	return (size_t)n;
}

static void check_form(struct http_form *f)
{
	assert_string_equal(http_form_field(f, "head"), "True");
	assert_string_equal(http_form_field(f, "meta"), "{\"delimiter\": \",\"}");
	assert_string_equal(http_form_field(f, "empty"), "");
	assert_null(http_form_field(f, "file"));
	assert_null(http_form_field(f, "nope"));
	const struct http_form_file *file = http_form_file(f, "file");
	assert_non_null(file);
	assert_string_equal(file->filename, "my \"data\".csv");
	assert_int_equal(file->size, sizeof(payload) - 1);
	struct ff_buf b = FF_BUF_INIT;
	assert_int_equal(fs_read_file(file->path, &b, NULL), FF_OK);
	assert_int_equal(b.len, sizeof(payload) - 1);
	assert_memory_equal(b.buf, payload, b.len);
	ff_buf_release(&b);
}

static void test_whole_body(void **state)
{
	(void)state;
	char body[2048];
	size_t n = build_body(body, sizeof(body));
	struct http_form *f = NULL;
	assert_int_equal(http_form_new(&f, CT, tmpdir, NULL), FF_OK);
	assert_int_equal(http_form_feed(f, body, n, NULL), FF_OK);
	assert_int_equal(http_form_end(f, NULL), FF_OK);
	check_form(f);
	char *taken = http_form_take_file(f, "file");
	assert_non_null(taken);
	assert_null(http_form_file(f, "file"));
	http_form_free(f);
	assert_true(fs_exists(taken)); /* taken files survive the form */
	unlink(taken);
	ff_free(taken);
	assert_int_equal(count_files(), 0);
}

static void test_every_split(void **state)
{
	(void)state;
	char body[2048];
	size_t n = build_body(body, sizeof(body));
	for (size_t cut = 0; cut <= n; cut++) {
		struct http_form *f = NULL;
		assert_int_equal(http_form_new(&f, CT, tmpdir, NULL), FF_OK);
		assert_int_equal(http_form_feed(f, body, cut, NULL), FF_OK);
		assert_int_equal(http_form_feed(f, body + cut, n - cut, NULL), FF_OK);
		assert_int_equal(http_form_end(f, NULL), FF_OK);
		check_form(f);
		http_form_free(f);
	}
	/* one byte at a time, and in 3-byte steps */
	for (size_t step = 1; step <= 3; step += 2) {
		struct http_form *f = NULL;
		assert_int_equal(http_form_new(&f, CT, tmpdir, NULL), FF_OK);
		for (size_t i = 0; i < n; i += step)
			assert_int_equal(http_form_feed(f, body + i, i + step <= n ? step : n - i, NULL),
					 FF_OK);
		assert_int_equal(http_form_end(f, NULL), FF_OK);
		check_form(f);
		http_form_free(f);
	}
	assert_int_equal(count_files(), 0); /* untaken files are deleted */
}

static void test_content_type(void **state)
{
	(void)state;
	struct http_form *f = NULL;
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(http_form_new(&f, "application/json", tmpdir, &err), FF_ENOFILE);
	assert_non_null(strstr(err.msg, "application/json"));
	assert_int_equal(http_form_new(&f, NULL, tmpdir, NULL), FF_ENOFILE);
	assert_int_equal(http_form_new(&f, "multipart/form-data", tmpdir, &err), FF_EPARAM);
	assert_int_equal(http_form_new(&f, "multipart/form-data; boundary=", tmpdir, NULL),
			 FF_EPARAM);
	char longb[300] = "multipart/form-data; boundary=";
	memset(longb + strlen(longb), 'a', 220);
	longb[sizeof(longb) - 1] = '\0';
	assert_int_equal(http_form_new(&f, longb, tmpdir, NULL), FF_EPARAM);
	/* quoted boundary, other parameters, any case */
	assert_int_equal(http_form_new(&f, "Multipart/Form-Data; charset=utf-8; boundary=\"q q\"",
				       tmpdir, NULL), FF_OK);
	static const char body[] = "--q q\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
				   "--q q--";
	assert_int_equal(http_form_feed(f, body, sizeof(body) - 1, NULL), FF_OK);
	assert_int_equal(http_form_end(f, NULL), FF_OK);
	assert_string_equal(http_form_field(f, "a"), "1");
	http_form_free(f);
}

static int feed_all(const char *body, size_t n, struct ff_error *err)
{
	struct http_form *f = NULL;
	int ret = http_form_new(&f, CT, tmpdir, err);
	if (!ret)
		ret = http_form_feed(f, body, n, err);
	if (!ret)
		ret = http_form_end(f, err);
	http_form_free(f);
	return ret;
}

static void test_refusals(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	static const char truncated[] = "--b0undary\r\nContent-Disposition: form-data; name=\"file\";"
					" filename=\"a\"\r\n\r\nabc";
	assert_int_equal(feed_all(truncated, sizeof(truncated) - 1, &err), FF_EPARAM);
	assert_non_null(strstr(err.msg, "closing boundary"));
	static const char noname[] = "--b0undary\r\nContent-Type: text/plain\r\n\r\nx\r\n--b0undary--";
	assert_int_equal(feed_all(noname, sizeof(noname) - 1, &err), FF_EPARAM);
	assert_non_null(strstr(err.msg, "name"));
	static const char noheaders[] = "--b0undary\r\n\r\nx\r\n--b0undary--";
	assert_int_equal(feed_all(noheaders, sizeof(noheaders) - 1, NULL), FF_EPARAM);
	static const char garbage[] = "--b0undaryXY\r\n";
	assert_int_equal(feed_all(garbage, sizeof(garbage) - 1, &err), FF_EPARAM);
	assert_non_null(strstr(err.msg, "CRLF"));
	static const char nul[] = "--b0undary\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n"
				  "a\0b\r\n--b0undary--";
	assert_int_equal(feed_all(nul, sizeof(nul) - 1, &err), FF_EPARAM);
	assert_non_null(strstr(err.msg, "NUL"));
	assert_int_equal(feed_all("", 0, NULL), FF_EPARAM); /* empty body */
	/* a field over 1 MiB */
	struct ff_buf b = FF_BUF_INIT;
	ff_buf_addstr(&b, "--b0undary\r\nContent-Disposition: form-data; name=\"big\"\r\n\r\n");
	for (size_t i = 0; i < HTTP_FORM_FIELD_MAX / 64 + 1; i++)
		ff_buf_addstr(&b, "0123456789012345678901234567890123456789012345678901234567890123");
	ff_buf_addstr(&b, "\r\n--b0undary--");
	assert_int_equal(feed_all(b.buf, b.len, &err), FF_E2BIG);
	assert_non_null(strstr(err.msg, "'big'"));
	ff_buf_release(&b);
	/* headers over 8 KiB */
	ff_buf_addstr(&b, "--b0undary\r\nX-Long: ");
	for (size_t i = 0; i < HTTP_FORM_HEADER_MAX; i++)
		ff_buf_addch(&b, 'h');
	ff_buf_addstr(&b, "\r\n\r\n");
	assert_int_equal(feed_all(b.buf, b.len, NULL), FF_E2BIG);
	ff_buf_release(&b);
	/* too many parts */
	for (size_t i = 0; i <= HTTP_FORM_PARTS_MAX; i++)
		ff_buf_addf(&b, "--b0undary\r\nContent-Disposition: form-data; name=\"f%zu\"\r\n\r\n"
			    "v\r\n", i);
	ff_buf_addstr(&b, "--b0undary--");
	assert_int_equal(feed_all(b.buf, b.len, &err), FF_E2BIG);
	ff_buf_release(&b);
	/* after an error every feed fails with it */
	struct http_form *f = NULL;
	assert_int_equal(http_form_new(&f, CT, tmpdir, NULL), FF_OK);
	assert_int_equal(http_form_feed(f, garbage, sizeof(garbage) - 1, NULL), FF_EPARAM);
	assert_int_equal(http_form_feed(f, "x", 1, &err), FF_EPARAM);
	assert_int_equal(http_form_end(f, NULL), FF_EPARAM);
	http_form_free(f);
	assert_int_equal(count_files(), 0);
}

static void test_request_glue(void **state)
{
	(void)state;
	char body[2048];
	size_t n = build_body(body, sizeof(body));
	struct ff_error err = FF_ERROR_INIT;
	struct http_req *r = (struct http_req *)(void *)&err; /* never dereferenced */
	/* no body at all: 5007 */
	stub_user = NULL;
	assert_null(http_form_get(r, &err));
	assert_int_equal(err.code, FF_ENOFILE);
	/* a JSON body: 5007 too, the rest of the body dropped */
	stub_ctype = "application/json";
	assert_int_equal(http_form_chunk(r, "{}", 2, tmpdir), FF_OK);
	assert_int_equal(http_form_chunk(r, "{}", 2, tmpdir), FF_OK);
	assert_null(http_form_get(r, &err));
	assert_int_equal(err.code, FF_ENOFILE);
	stub_free(stub_user);
	stub_user = NULL;
	/* a multipart body in chunks */
	stub_ctype = CT;
	for (size_t i = 0; i < n; i += 7)
		assert_int_equal(http_form_chunk(r, body + i, i + 7 <= n ? 7 : n - i, tmpdir), FF_OK);
	struct http_form *f = http_form_get(r, &err);
	assert_non_null(f);
	check_form(f);
	assert_int_equal(count_files(), 1);
	http_form_discard_req(r);
	assert_int_equal(count_files(), 0);
	assert_null(http_form_file(f, "file"));
	stub_free(stub_user);
	stub_user = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_body),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_request_glue),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
