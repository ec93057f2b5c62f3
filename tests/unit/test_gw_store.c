// SPDX-License-Identifier: Apache-2.0
/*
 * test_gw_store.c - the gateway's message index and bodies: every state
 * change, exactly once, waiters, drops and tombstones, spill files, the
 * memory budget and the canonical query.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include "fed/gw_int.h"
#include "fs.h"
#include "mem.h"

static char dir[] = "/tmp/ff_test_gw_XXXXXX";

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sign_global_init(), FF_OK);
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(dir);
	return 0;
}

static size_t files_in_dir(void)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static struct gw_key mk(const char *session, const char *tag, const char *dst_party)
{
	struct gw_key k;
	memset(&k, 0, sizeof(k));
	snprintf(k.session, sizeof(k.session), "%s", session);
	snprintf(k.tag, sizeof(k.tag), "%s", tag);
	snprintf(k.src_role, sizeof(k.src_role), "guest");
	snprintf(k.src_party, sizeof(k.src_party), "9999");
	snprintf(k.dst_role, sizeof(k.dst_role), "host");
	snprintf(k.dst_party, sizeof(k.dst_party), "%s", dst_party);
	return k;
}

static struct gw_body *small_body(const char *text)
{
	struct gw_body *b = gw_body_new(dir, strlen(text), false, NULL);
	assert_non_null(b);
	assert_int_equal(gw_body_write(b, text, strlen(text), NULL), FF_OK);
	return b;
}

static void test_keys(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	struct gw_key k = mk("job_t_0", "lr.epoch3:grad-1", "10000");
	assert_int_equal(gw_key_check(&k, &err), FF_OK);
	struct ff_buf q = FF_BUF_INIT;
	assert_int_equal(gw_key_query(&k, NULL, &q), FF_OK);
	assert_string_equal(q.buf, "session=job_t_0&tag=lr.epoch3:grad-1&src_role=guest&"
			    "src_party=9999&dst_role=host&dst_party=10000");
	assert_int_equal(gw_key_query(&k, "abc", &q), FF_OK);
	assert_true(strstr(q.buf, "&dst_party=10000&msg_id=abc") != NULL);
	ff_buf_release(&q);
	char text[200];
	assert_string_equal(gw_key_text(&k, text, sizeof(text)),
			    "message 'lr.epoch3:grad-1' from guest 9999 to host 10000");
	const char *bad[] = { "", "a b", "a/b", "a&b", "a=b", "\xc3\xa9" };
	for (size_t i = 0; i < FF_ARRAY_SIZE(bad); i++) {
		struct gw_key b = k;
		snprintf(b.tag, sizeof(b.tag), "%s", bad[i]);
		assert_int_equal(gw_key_check(&b, &err), FF_EPARAM);
		assert_true(strstr(err.msg, "bad message tag") != NULL);
	}
	char long_name[GW_NAME_MAX + 2];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(gw_name_ok(long_name, GW_NAME_MAX));
	long_name[GW_NAME_MAX] = '\0';
	assert_true(gw_name_ok(long_name, GW_NAME_MAX));
}

static void test_bodies_memory_and_spill(void **state)
{
	(void)state;
	uint64_t mem0 = gw_body_mem_used();
	/* small: memory, counted, hashed like sign_sha256 */
	struct gw_body *b = gw_body_new(dir, UINT64_MAX, true, NULL);
	assert_non_null(b);
	assert_int_equal(gw_body_write(b, "hello ", 6, NULL), FF_OK);
	assert_int_equal(gw_body_write(b, "world", 5, NULL), FF_OK);
	assert_int_equal(b->fd, -1);
	assert_int_equal(gw_body_dup_fd(b), -1);
	assert_int_equal(gw_body_mem_used(), mem0 + 11);
	unsigned char sha[32], want[32];
	gw_body_sha(b, sha);
	sign_sha256("hello world", 11, want);
	assert_memory_equal(sha, want, 32);
	gw_body_free(b);
	assert_int_equal(gw_body_mem_used(), mem0);

	/* unknown length growing past the limit: moves to a file, whole */
	size_t n = (size_t)GATEWAY_MEM_MAX + 4096;
	unsigned char *data = ff_malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	b = gw_body_new(dir, UINT64_MAX, true, NULL);
	for (size_t off = 0; off < n; off += 1000)
		assert_int_equal(gw_body_write(b, data + off, n - off < 1000 ? n - off : 1000, NULL),
				 FF_OK);
	assert_true(b->fd >= 0);
	assert_int_equal(b->size, n);
	assert_int_equal(gw_body_mem_used(), mem0);
	assert_int_equal(files_in_dir(), 1);
	gw_body_sha(b, sha);
	sign_sha256(data, n, want);
	assert_memory_equal(sha, want, 32);
	int fd = gw_body_dup_fd(b);
	assert_true(fd >= 0);
	unsigned char *back = ff_malloc(n);
	assert_int_equal(pread(fd, back, n, 0), (ssize_t)n);
	assert_memory_equal(back, data, n);
	gw_body_free(b);
	assert_int_equal(files_in_dir(), 0);
	/* the reader's descriptor outlives the body */
	assert_int_equal(pread(fd, back, 10, 0), 10);
	close(fd);

	/* announced as large: a file from the first byte */
	b = gw_body_new(dir, GATEWAY_MEM_MAX + 1, false, NULL);
	assert_true(b->fd >= 0);
	assert_int_equal(files_in_dir(), 1);
	gw_body_free(b);
	assert_int_equal(files_in_dir(), 0);

	/* the process-wide budget: bodies beyond it spill even when small */
	size_t nb = (size_t)(GATEWAY_MEM_BUDGET / GATEWAY_MEM_MAX) + 2;
	struct gw_body **many = ff_calloc(nb, sizeof(*many));
	size_t spilled = 0;
	for (size_t i = 0; i < nb; i++) {
		many[i] = gw_body_new(dir, GATEWAY_MEM_MAX, false, NULL);
		assert_int_equal(gw_body_write(many[i], data, (size_t)GATEWAY_MEM_MAX, NULL), FF_OK);
		spilled += many[i]->fd >= 0;
	}
	assert_true(gw_body_mem_used() <= GATEWAY_MEM_BUDGET);
	assert_true(spilled >= 2);
	for (size_t i = 0; i < nb; i++)
		gw_body_free(many[i]);
	assert_int_equal(gw_body_mem_used(), mem0);
	assert_int_equal(files_in_dir(), 0);
	ff_free(many);
	ff_free(back);
	ff_free(data);
}

static void test_send_then_receive_once(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	bool again;
	void *w = NULL, *rep = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("s1", "t", "9998");
	assert_int_equal(gw_store_reserve(st, &k, 1, NULL, &again, &err), FF_OK);
	assert_false(again);
	/* a second sender while the first is uploading, and after */
	assert_int_equal(gw_store_reserve(st, &k, 2, NULL, &again, &err), FF_EEXIST);
	assert_true(strstr(err.msg, "being sent") != NULL);
	struct gw_body *b = small_body("abc");
	/* only the reservation's owner commits */
	assert_int_equal(gw_store_commit(st, &k, 2, &b, false, &w, &err), FF_ECANCELED);
	assert_int_equal(gw_store_commit(st, &k, 1, &b, false, &w, &err), FF_OK);
	assert_null(b);
	assert_null(w);
	assert_int_equal(gw_store_reserve(st, &k, 3, NULL, &again, &err), FF_EEXIST);
	assert_true(strstr(err.msg, "was already sent") != NULL);
	struct gateway_stats s;
	gw_store_stats(st, &s);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.ready, 1);
	int tag;
	assert_int_equal(gw_store_take(st, &k, &tag, &b, &rep, &err), FF_OK);
	assert_non_null(b);
	assert_int_equal(b->size, 3);
	assert_memory_equal(b->mem.buf, "abc", 3);
	gw_body_free(b);
	assert_int_equal(gw_store_take(st, &k, &tag, &b, &rep, &err), FF_EEXIST);
	assert_true(strstr(err.msg, "already received") != NULL);
	gw_store_stats(st, &s);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.ready, 0);
	gw_store_free(st);
}

static void test_receiver_first(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	bool again;
	int w1, w2;
	void *w = NULL, *rep = NULL;
	struct gw_body *b = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("s1", "t", "9998");
	assert_int_equal(gw_store_take(st, &k, &w1, &b, &rep, &err), FF_EAGAIN);
	assert_null(rep);
	/* a newer receive of the same key replaces the parked one */
	assert_int_equal(gw_store_take(st, &k, &w2, &b, &rep, &err), FF_EAGAIN);
	assert_ptr_equal(rep, &w1);
	assert_false(gw_store_unwait(st, &k, &w1));
	assert_int_equal(gw_store_reserve(st, &k, 7, NULL, &again, &err), FF_OK);
	/* the upload fails: the receiver still waits */
	gw_store_cancel(st, &k, 7);
	struct gateway_stats s;
	gw_store_stats(st, &s);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(s.receiving, 0);
	assert_int_equal(gw_store_reserve(st, &k, 8, NULL, &again, &err), FF_OK);
	b = small_body("xyz");
	assert_int_equal(gw_store_commit(st, &k, 8, &b, false, &w, &err), FF_OK);
	/* handed to the receiver: the caller keeps the body to pass on */
	assert_ptr_equal(w, &w2);
	assert_non_null(b);
	gw_body_free(b);
	assert_false(gw_store_unwait(st, &k, &w2));
	assert_int_equal(gw_store_take(st, &k, &w1, &b, &rep, &err), FF_EEXIST);
	/* a receiver that gives up leaves nothing behind */
	struct gw_key k2 = mk("s1", "t2", "9998");
	assert_int_equal(gw_store_take(st, &k2, &w1, &b, &rep, &err), FF_EAGAIN);
	assert_true(gw_store_unwait(st, &k2, &w1));
	gw_store_stats(st, &s);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.waiting, 0);
	gw_store_free(st);
}

static void test_forward_records_and_retries(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	bool again;
	void *w = NULL, *rep = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("s1", "t", "10000");
	struct gw_body *b = small_body("abc");
	assert_int_equal(gw_store_reserve(st, &k, 1, NULL, &again, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &k, 1, &b, true, &w, &err), FF_OK);
	assert_non_null(b); /* stays with the forwarder */
	struct gateway_stats s;
	gw_store_stats(st, &s);
	assert_int_equal(s.forwarding, 1);
	assert_int_equal(gw_store_reserve(st, &k, 2, NULL, &again, &err), FF_EEXIST);
	/* a failed forward frees the key for a new attempt */
	gw_store_forwarded(st, &k, 1, false);
	assert_int_equal(gw_store_reserve(st, &k, 3, NULL, &again, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &k, 3, &b, true, &w, &err), FF_OK);
	gw_store_forwarded(st, &k, 99, false);  /* not the owner: ignored */
	gw_store_forwarded(st, &k, 3, true);
	assert_int_equal(gw_store_reserve(st, &k, 4, NULL, &again, &err), FF_EEXIST);
	struct gw_body *got = NULL;
	assert_int_equal(gw_store_take(st, &k, &w, &got, &rep, &err), FF_EPARAM);
	assert_null(got);
	gw_store_stats(st, &s);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.forwarding, 0);
	gw_body_free(b);

	/* a partner's retried delivery (same msg_id) is success without a copy */
	struct gw_key d = mk("s2", "t", "9998");
	b = small_body("abc");
	assert_int_equal(gw_store_reserve(st, &d, 10, "m1", &again, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &d, 10, &b, false, &w, &err), FF_OK);
	assert_int_equal(gw_store_reserve(st, &d, 11, "m1", &again, &err), FF_OK);
	assert_true(again);
	assert_int_equal(gw_store_reserve(st, &d, 12, "m2", &again, &err), FF_EEXIST);
	assert_false(again);
	gw_store_free(st);
}

static void test_drop(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	bool again;
	int waiter;
	void *w = NULL, *rep = NULL;
	void **ws = NULL;
	size_t nw = 0;
	struct gw_body *b;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key ready = mk("S", "ready", "9998"), parked = mk("S", "parked", "9998");
	struct gw_key uploading = mk("S", "up", "9998"), other = mk("S", "x", "9997");
	struct gw_key later = mk("S2", "x", "9998");
	/* a stored message, in a file */
	b = gw_body_new(dir, GATEWAY_MEM_MAX + 1, false, NULL);
	assert_int_equal(gw_body_write(b, "z", 1, NULL), FF_OK);
	assert_int_equal(gw_store_reserve(st, &ready, 1, NULL, &again, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &ready, 1, &b, false, &w, &err), FF_OK);
	assert_int_equal(files_in_dir(), 1);
	assert_int_equal(gw_store_take(st, &parked, &waiter, &b, &rep, &err), FF_EAGAIN);
	assert_int_equal(gw_store_reserve(st, &uploading, 2, NULL, &again, &err), FF_OK);
	b = small_body("o");
	assert_int_equal(gw_store_reserve(st, &other, 3, NULL, &again, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &other, 3, &b, false, &w, &err), FF_OK);
	b = small_body("l");
	assert_int_equal(gw_store_reserve(st, &later, 4, NULL, &again, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &later, 4, &b, false, &w, &err), FF_OK);
	/* forward records of messages host 9998 sent */
	struct gw_key sent = mk("S", "answer", "10000");
	snprintf(sent.src_role, sizeof(sent.src_role), "host");
	snprintf(sent.src_party, sizeof(sent.src_party), "9998");
	b = small_body("a");
	assert_int_equal(gw_store_reserve(st, &sent, 5, NULL, &again, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &sent, 5, &b, true, &w, &err), FF_OK);
	gw_store_forwarded(st, &sent, 5, true);
	gw_body_free(b);

	assert_int_equal(gw_store_drop(st, "S", "host", "9998", &ws, &nw), FF_OK);
	assert_int_equal(nw, 1);
	assert_ptr_equal(ws[0], &waiter);
	ff_free(ws);
	assert_int_equal(files_in_dir(), 0);
	struct gateway_stats s;
	gw_store_stats(st, &s);
	/* left: the other destination, the other session */
	assert_int_equal(s.messages, 2);
	assert_int_equal(s.dropped, 1);
	/* the upload in flight cannot land; nothing more is accepted or waited for */
	b = small_body("u");
	assert_int_equal(gw_store_commit(st, &uploading, 2, &b, false, &w, &err), FF_ECANCELED);
	assert_true(strstr(err.msg, "has ended") != NULL);
	gw_body_free(b);
	assert_int_equal(gw_store_reserve(st, &ready, 6, NULL, &again, &err), FF_ECANCELED);
	assert_true(strstr(err.msg, "the task of host 9998 in session 'S' has ended") != NULL);
	assert_int_equal(gw_store_take(st, &parked, &waiter, &b, &rep, &err), FF_ECANCELED);
	/* the forward record is gone: only its destination could tell */
	assert_int_equal(gw_store_reserve(st, &sent, 7, NULL, &again, &err), FF_OK);
	gw_store_cancel(st, &sent, 7);
	/* the rest is untouched */
	assert_int_equal(gw_store_take(st, &other, &waiter, &b, &rep, &err), FF_OK);
	gw_body_free(b);
	assert_int_equal(gw_store_take(st, &later, &waiter, &b, &rep, &err), FF_OK);
	gw_body_free(b);
	/* dropping twice is harmless */
	assert_int_equal(gw_store_drop(st, "S", "host", "9998", &ws, &nw), FF_OK);
	assert_int_equal(nw, 0);
	ff_free(ws);
	gw_store_free(st);
}

static void test_many_keys(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	bool again;
	void *w = NULL, *rep = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	/* enough to grow the table several times */
	for (int i = 0; i < 20000; i++) {
		char tag[32];
		snprintf(tag, sizeof(tag), "m%d", i);
		struct gw_key k = mk("S", tag, "9998");
		struct gw_body *b = small_body("x");
		assert_int_equal(gw_store_reserve(st, &k, (uint64_t)i + 1, NULL, &again, &err), FF_OK);
		assert_int_equal(gw_store_commit(st, &k, (uint64_t)i + 1, &b, false, &w, &err), FF_OK);
	}
	for (int i = 19999; i >= 0; i--) {
		char tag[32];
		snprintf(tag, sizeof(tag), "m%d", i);
		struct gw_key k = mk("S", tag, "9998");
		struct gw_body *b = NULL;
		assert_int_equal(gw_store_take(st, &k, &w, &b, &rep, &err), FF_OK);
		gw_body_free(b);
	}
	struct gateway_stats s;
	gw_store_stats(st, &s);
	assert_int_equal(s.done, 20000);
	assert_int_equal(s.mem_bytes, 0);
	gw_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bodies_memory_and_spill),
		cmocka_unit_test(test_send_then_receive_once),
		cmocka_unit_test(test_receiver_first),
		cmocka_unit_test(test_forward_records_and_retries),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_many_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
