// SPDX-License-Identifier: Apache-2.0
/*
 * test_gw_store.c - the gateway's message index, bodies and streams: every
 * state change, exactly once, waiters, drops and tombstones, spill files,
 * the memory budget, the canonical query, partners' messages arriving in
 * segments (order, retries, tampering, replacement, drops) and the
 * per-segment hashes of a stream against sign_sha256.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
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
	struct gw_body *b = gw_body_new(dir, strlen(text), NULL);
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
	struct stat sb;
	/* small: memory, counted; cut back, uncounted */
	struct gw_body *b = gw_body_new(dir, UINT64_MAX, NULL);
	assert_non_null(b);
	assert_int_equal(gw_body_write(b, "hello ", 6, NULL), FF_OK);
	assert_int_equal(gw_body_write(b, "world", 5, NULL), FF_OK);
	assert_int_equal(b->fd, -1);
	assert_int_equal(gw_body_dup_fd(b), -1);
	assert_int_equal(gw_body_mem_used(), mem0 + 11);
	assert_memory_equal(b->mem.buf, "hello world", 11);
	assert_int_equal(gw_body_truncate(b, 12, NULL), FF_EINVAL);
	assert_int_equal(gw_body_truncate(b, 5, NULL), FF_OK);
	assert_int_equal(b->size, 5);
	assert_int_equal(gw_body_mem_used(), mem0 + 5);
	assert_int_equal(gw_body_write(b, "!", 1, NULL), FF_OK);
	assert_string_equal(b->mem.buf, "hello!");
	gw_body_free(b);
	assert_int_equal(gw_body_mem_used(), mem0);

	/* unknown length growing past the limit: moves to a file, whole */
	size_t n = (size_t)GATEWAY_MEM_MAX + 4096;
	unsigned char *data = ff_malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	b = gw_body_new(dir, UINT64_MAX, NULL);
	for (size_t off = 0; off < n; off += 1000)
		assert_int_equal(gw_body_write(b, data + off, n - off < 1000 ? n - off : 1000, NULL),
				 FF_OK);
	assert_true(b->fd >= 0);
	assert_int_equal(b->size, n);
	assert_int_equal(gw_body_mem_used(), mem0);
	assert_int_equal(files_in_dir(), 1);
	int fd = gw_body_dup_fd(b);
	assert_true(fd >= 0);
	unsigned char *back = ff_malloc(n);
	assert_int_equal(pread(fd, back, n, 0), (ssize_t)n);
	assert_memory_equal(back, data, n);
	/* a spilled body cut back: the file too, and writes go on from there */
	assert_int_equal(gw_body_truncate(b, 100, NULL), FF_OK);
	assert_int_equal(gw_body_write(b, "XY", 2, NULL), FF_OK);
	assert_int_equal(b->size, 102);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_size, 102);
	assert_int_equal(pread(fd, back, 102, 0), 102);
	assert_memory_equal(back, data, 100);
	assert_memory_equal(back + 100, "XY", 2);
	gw_body_free(b);
	assert_int_equal(files_in_dir(), 0);
	/* the reader's descriptor outlives the body */
	assert_int_equal(pread(fd, back, 10, 0), 10);
	close(fd);

	/* announced as large: a file from the first byte; blocks reserved, size as written */
	b = gw_body_new(dir, GATEWAY_MEM_MAX + 1, NULL);
	assert_true(b->fd >= 0);
	assert_int_equal(files_in_dir(), 1);
	gw_body_prealloc(b, 8 * GATEWAY_MEM_MAX);
	assert_int_equal(gw_body_write(b, "abc", 3, NULL), FF_OK);
	assert_int_equal(fstat(b->fd, &sb), 0);
	assert_int_equal(sb.st_size, 3);
	gw_body_free(b);
	assert_int_equal(files_in_dir(), 0);

	/* the process-wide budget: bodies beyond it spill even when small */
	size_t nb = (size_t)(GATEWAY_MEM_BUDGET / GATEWAY_MEM_MAX) + 2;
	struct gw_body **many = ff_calloc(nb, sizeof(*many));
	size_t spilled = 0;
	for (size_t i = 0; i < nb; i++) {
		many[i] = gw_body_new(dir, GATEWAY_MEM_MAX, NULL);
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
	void *w = NULL, *rep = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("s1", "t", "9998");
	assert_int_equal(gw_store_reserve(st, &k, 1, &err), FF_OK);
	/* a second sender while the first is uploading, and after */
	assert_int_equal(gw_store_reserve(st, &k, 2, &err), FF_EEXIST);
	assert_true(strstr(err.msg, "being sent") != NULL);
	struct gw_body *b = small_body("abc");
	/* only the reservation's owner commits */
	assert_int_equal(gw_store_commit(st, &k, 2, &b, false, &w, &err), FF_ECANCELED);
	assert_int_equal(gw_store_commit(st, &k, 1, &b, false, &w, &err), FF_OK);
	assert_null(b);
	assert_null(w);
	assert_int_equal(gw_store_reserve(st, &k, 3, &err), FF_EEXIST);
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
	assert_int_equal(gw_store_reserve(st, &k, 7, &err), FF_OK);
	/* the upload fails: the receiver still waits */
	gw_store_cancel(st, &k, 7);
	struct gateway_stats s;
	gw_store_stats(st, &s);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(s.receiving, 0);
	assert_int_equal(gw_store_reserve(st, &k, 8, &err), FF_OK);
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
	void *w = NULL, *rep = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("s1", "t", "10000");
	struct gw_body *b = small_body("abc");
	assert_int_equal(gw_store_reserve(st, &k, 1, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &k, 1, &b, true, &w, &err), FF_OK);
	assert_non_null(b); /* stays with the forwarder */
	struct gateway_stats s;
	gw_store_stats(st, &s);
	assert_int_equal(s.forwarding, 1);
	assert_int_equal(gw_store_reserve(st, &k, 2, &err), FF_EEXIST);
	/* a failed forward frees the key for a new attempt */
	gw_store_forwarded(st, &k, 1, false);
	assert_int_equal(gw_store_reserve(st, &k, 3, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &k, 3, &b, true, &w, &err), FF_OK);
	gw_store_forwarded(st, &k, 99, false);  /* not the owner: ignored */
	gw_store_forwarded(st, &k, 3, true);
	assert_int_equal(gw_store_reserve(st, &k, 4, &err), FF_EEXIST);
	struct gw_body *got = NULL;
	assert_int_equal(gw_store_take(st, &k, &w, &got, &rep, &err), FF_EPARAM);
	assert_null(got);
	gw_store_stats(st, &s);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.forwarding, 0);
	gw_body_free(b);

	gw_store_free(st);
}

static void test_drop(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
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
	b = gw_body_new(dir, GATEWAY_MEM_MAX + 1, NULL);
	assert_int_equal(gw_body_write(b, "z", 1, NULL), FF_OK);
	assert_int_equal(gw_store_reserve(st, &ready, 1, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &ready, 1, &b, false, &w, &err), FF_OK);
	assert_int_equal(files_in_dir(), 1);
	assert_int_equal(gw_store_take(st, &parked, &waiter, &b, &rep, &err), FF_EAGAIN);
	assert_int_equal(gw_store_reserve(st, &uploading, 2, &err), FF_OK);
	b = small_body("o");
	assert_int_equal(gw_store_reserve(st, &other, 3, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &other, 3, &b, false, &w, &err), FF_OK);
	b = small_body("l");
	assert_int_equal(gw_store_reserve(st, &later, 4, &err), FF_OK);
	assert_int_equal(gw_store_commit(st, &later, 4, &b, false, &w, &err), FF_OK);
	/* forward records of messages host 9998 sent */
	struct gw_key sent = mk("S", "answer", "10000");
	snprintf(sent.src_role, sizeof(sent.src_role), "host");
	snprintf(sent.src_party, sizeof(sent.src_party), "9998");
	b = small_body("a");
	assert_int_equal(gw_store_reserve(st, &sent, 5, &err), FF_OK);
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
	assert_int_equal(gw_store_reserve(st, &ready, 6, &err), FF_ECANCELED);
	assert_true(strstr(err.msg, "the task of host 9998 in session 'S' has ended") != NULL);
	assert_int_equal(gw_store_take(st, &parked, &waiter, &b, &rep, &err), FF_ECANCELED);
	/* the forward record is gone: only its destination could tell */
	assert_int_equal(gw_store_reserve(st, &sent, 7, &err), FF_OK);
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
	void *w = NULL, *rep = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	/* enough to grow the table several times */
	for (int i = 0; i < 20000; i++) {
		char tag[32];
		snprintf(tag, sizeof(tag), "m%d", i);
		struct gw_key k = mk("S", tag, "9998");
		struct gw_body *b = small_body("x");
		assert_int_equal(gw_store_reserve(st, &k, (uint64_t)i + 1, &err), FF_OK);
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

/* byte i of the stream test's message */
static unsigned char pattern(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

struct wait_arg {
	struct gw_stream *s;
	uint64_t seg;
	int ret;
	unsigned char sha[32];
};

static void *stream_waiter(void *p)
{
	struct wait_arg *a = p;
	uint64_t off, len;
	const char *mem;
	a->ret = gw_stream_wait(a->s, a->seg, 20000, a->sha, &off, &len, &mem);
	return NULL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes data[from, to) in odd chunks that cross segment boundaries. */
static void stream_feed(struct gw_stream *s, const unsigned char *data, uint64_t from,
			uint64_t to)
{
	struct ff_error err = FF_ERROR_INIT;
	while (from < to) {
		size_t n = to - from < 65521 ? (size_t)(to - from) : 65521;
		assert_int_equal(gw_stream_write(s, data + from, n, &err), FF_OK);
		from += n;
	}
}

/* Segment seg is complete, hashed right, and holds the right bytes. */
static const char *stream_check(struct gw_stream *s, uint64_t seg, const unsigned char *data,
				uint64_t total)
{
	unsigned char sha[32], want[32];
	uint64_t off, len;
	const char *mem;
	assert_int_equal(gw_stream_wait(s, seg, 0, sha, &off, &len, &mem), FF_OK);
	assert_int_equal(off, seg * GW_SEG_SIZE);
	assert_int_equal(len, total - off < GW_SEG_SIZE ? total - off : GW_SEG_SIZE);
	sign_sha256(data + off, (size_t)len, want);
	assert_memory_equal(sha, want, 32);
	if (mem) {
		assert_memory_equal(mem, data + off, (size_t)len);
	} else {
		unsigned char *back = ff_malloc((size_t)len);
		int fd = gw_body_dup_fd(s->body);
		assert_int_equal(pread(fd, back, (size_t)len, (off_t)off), (ssize_t)len);
		assert_memory_equal(back, data + off, (size_t)len);
		close(fd);
		ff_free(back);
	}
	return mem;
}

static void test_stream(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	uint64_t mem0 = gw_body_mem_used();
	assert_null(gw_stream_new(dir, GATEWAY_MEM_MAX, &err));
	assert_int_equal(err.code, FF_EINVAL);
	/* five segments, the last one short */
	uint64_t total = 4 * GW_SEG_SIZE + 12345;
	unsigned char *data = ff_malloc((size_t)total);
	for (uint64_t i = 0; i < total; i++)
		data[i] = pattern(i);
	struct gw_stream *s = gw_stream_new(dir, total, &err);
	assert_non_null(s);
	assert_int_equal(s->nseg, 5);
	assert_int_equal(s->nslots, GW_STREAM_SLOTS);
	assert_int_equal(gw_body_mem_used(), mem0 + GW_STREAM_SLOTS * GW_SEG_SIZE);
	assert_int_equal(files_in_dir(), 1);
	unsigned char sha[32];
	uint64_t off, len;
	const char *mem;
	assert_int_equal(gw_stream_wait(s, 0, 0, sha, &off, &len, &mem), FF_EAGAIN);
	assert_int_equal(gw_stream_wait(s, 5, 0, sha, &off, &len, &mem), FF_EINVAL);
	/* a forwarder waiting on another thread is woken by the segment's end */
	struct wait_arg wa = { .s = s, .seg = 0, .ret = 1 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stream_waiter, &wa), 0);
	stream_feed(s, data, 0, GW_SEG_SIZE - 1);
	assert_int_equal(gw_stream_wait(s, 0, 0, sha, &off, &len, &mem), FF_EAGAIN);
	stream_feed(s, data, GW_SEG_SIZE - 1, 3 * GW_SEG_SIZE);
	pthread_join(th, NULL);
	assert_int_equal(wa.ret, FF_OK);
	/* three segments in the three slots */
	const char *m0 = stream_check(s, 0, data, total);
	assert_non_null(m0);
	assert_non_null(stream_check(s, 1, data, total));
	assert_non_null(stream_check(s, 2, data, total));
	/* no slot comes back within the wait: the fourth goes to the file */
	int64_t t0 = mono_ms();
	stream_feed(s, data, 3 * GW_SEG_SIZE, 4 * GW_SEG_SIZE);
	assert_true(mono_ms() - t0 >= GW_STREAM_SLOT_WAIT_MS - 5);
	assert_null(stream_check(s, 3, data, total));
	/* the first segment was sent: the last one reuses its slot, without waiting */
	gw_stream_sent(s, 0);
	gw_stream_sent(s, 3);   /* in the file: nothing to give back */
	t0 = mono_ms();
	stream_feed(s, data, 4 * GW_SEG_SIZE, total);
	assert_true(mono_ms() - t0 < GW_STREAM_SLOT_WAIT_MS);
	assert_ptr_equal(stream_check(s, 4, data, total), m0);
	/* nothing beyond the announced size */
	assert_int_equal(gw_stream_write(s, "x", 1, &err), FF_E2BIG);
	/* delivered: the memory goes back at once; the last reference deletes the file */
	gw_stream_release(s);
	assert_int_equal(gw_body_mem_used(), mem0);
	gw_stream_ref(s);
	gw_stream_unref(s);
	assert_int_equal(files_in_dir(), 1);
	gw_stream_unref(s);
	assert_int_equal(files_in_dir(), 0);

	/* an upload that breaks off wakes its forwarder with FF_ECANCELED */
	s = gw_stream_new(dir, total, &err);
	assert_non_null(s);
	wa = (struct wait_arg){ .s = s, .seg = 1, .ret = 1 };
	assert_int_equal(pthread_create(&th, NULL, stream_waiter, &wa), 0);
	stream_feed(s, data, 0, GW_SEG_SIZE + 10);
	assert_non_null(stream_check(s, 0, data, total));
	gw_stream_abandon(s);
	pthread_join(th, NULL);
	assert_int_equal(wa.ret, FF_ECANCELED);
	gw_stream_release(s);   /* not delivered: the slots stay until the end */
	assert_int_equal(gw_body_mem_used(), mem0 + GW_STREAM_SLOTS * GW_SEG_SIZE);
	gw_stream_unref(s);
	assert_int_equal(gw_body_mem_used(), mem0);
	/* a forward that ended: the rest of the upload is dropped */
	s = gw_stream_new(dir, total, &err);
	assert_non_null(s);
	stream_feed(s, data, 0, 1000);
	gw_stream_stop(s);
	stream_feed(s, data, 1000, 2000);
	assert_int_equal(s->written, 1000);
	assert_int_equal(gw_stream_wait(s, 0, 0, sha, &off, &len, &mem), FF_ECANCELED);
	gw_stream_unref(s);

	/* the memory budget bounds the slots of all streams; without any, all goes to the file */
	struct gw_stream *many[16];
	size_t n = 0, slots = 0;
	do {
		many[n] = gw_stream_new(dir, total, &err);
		assert_non_null(many[n]);
		slots += many[n]->nslots;
	} while (many[n++]->nslots > 0 && n < FF_ARRAY_SIZE(many));
	assert_int_equal(many[n - 1]->nslots, 0);
	assert_true(gw_body_mem_used() <= GATEWAY_MEM_BUDGET);
	assert_int_equal(slots, (GATEWAY_MEM_BUDGET - mem0) / GW_SEG_SIZE);
	/*
	 * no slot to wait for: waiting at each of the 5 segments would take
	 * 5 x GW_STREAM_SLOT_WAIT_MS; writing 40 MiB alone may take more
	 * than one wait on a loaded machine
	 */
	t0 = mono_ms();
	stream_feed(many[n - 1], data, 0, total);
	assert_true(mono_ms() - t0 < 5 * GW_STREAM_SLOT_WAIT_MS);
	for (uint64_t seg = 0; seg < 5; seg++)
		assert_null(stream_check(many[n - 1], seg, data, total));
	for (size_t i = 0; i < n; i++)
		gw_stream_unref(many[i]);
	assert_int_equal(gw_body_mem_used(), mem0);
	assert_int_equal(files_in_dir(), 0);
	ff_free(data);
}

/* Writes text as request id's segment at off of a message of total bytes. */
static int deliver(struct gw_store *st, const struct gw_key *k, uint64_t id, const char *msg_id,
		   uint64_t off, uint64_t total, const char *text, void **waiter, bool *complete,
		   struct gw_body **left, struct ff_error *err)
{
	struct gw_body *b = NULL;
	bool again = false;
	size_t n = strlen(text);
	int ret = gw_store_seg_begin(st, k, id, msg_id, off, n, total, &b, &again, err);
	if (ret || again)
		return ret ? ret : 1;
	if (!b)
		b = gw_body_new(dir, total == GW_WHOLE ? n : total, err);
	assert_non_null(b);
	if (b->size != off)
		assert_int_equal(gw_body_truncate(b, off, err), FF_OK);
	assert_int_equal(gw_body_write(b, text, n, err), FF_OK);
	ret = gw_store_seg_end(st, k, id, &b, waiter, complete, err);
	*left = b;
	return ret;
}

static void test_segments(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	struct gateway_stats s;
	struct gw_body *b = NULL;
	bool again, complete;
	int waiter;
	void *w = NULL, *rep = NULL;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("S", "big", "9998");
	/* the first segment must come first */
	assert_int_equal(gw_store_seg_begin(st, &k, 1, "m1", 3, 3, 10, &b, &again, &err),
			 FF_EPROTO);
	assert_true(strstr(err.msg, "segment at byte 3 of message 'big'") != NULL);
	gw_store_stats(st, &s);
	assert_int_equal(s.messages, 0);
	/* segment 0 claimed by request 1; a retry meanwhile is "busy", another sender refused */
	assert_int_equal(gw_store_seg_begin(st, &k, 1, "m1", 0, 4, 10, &b, &again, &err), FF_OK);
	assert_null(b);
	assert_false(again);
	assert_int_equal(gw_store_seg_begin(st, &k, 2, "m1", 0, 4, 10, &b, &again, &err),
			 FF_EAGAIN);
	assert_int_equal(gw_store_seg_begin(st, &k, 3, "m2", 0, 4, 10, &b, &again, &err),
			 FF_EEXIST);
	/* the receiver comes while the message is partial: it waits */
	assert_int_equal(gw_store_take(st, &k, &waiter, &b, &rep, &err), FF_EAGAIN);
	b = gw_body_new(dir, 10, NULL);
	assert_int_equal(gw_body_write(b, "0123", 4, NULL), FF_OK);
	assert_int_equal(gw_store_seg_end(st, &k, 1, &b, &w, &complete, &err), FF_OK);
	assert_null(b);
	assert_null(w);
	assert_false(complete);
	gw_store_stats(st, &s);
	assert_int_equal(s.receiving, 1);
	assert_int_equal(s.ready, 0);
	assert_int_equal(s.waiting, 1);
	/* a retry of a stored segment is success without a copy */
	assert_int_equal(gw_store_seg_begin(st, &k, 4, "m1", 0, 4, 10, &b, &again, &err), FF_OK);
	assert_true(again);
	assert_null(b);
	/* out of order, or another total: refused */
	assert_int_equal(gw_store_seg_begin(st, &k, 5, "m1", 7, 3, 10, &b, &again, &err),
			 FF_EPROTO);
	assert_true(strstr(err.msg, "does not follow the 4 bytes received of 10") != NULL);
	assert_int_equal(gw_store_seg_begin(st, &k, 5, "m1", 4, 3, 11, &b, &again, &err),
			 FF_EPROTO);
	/* segment 1 breaks off half-way: the partial keeps its body for the retry */
	assert_int_equal(gw_store_seg_begin(st, &k, 6, "m1", 4, 3, 10, &b, &again, &err), FF_OK);
	assert_non_null(b);
	assert_int_equal(b->size, 4);
	assert_int_equal(gw_body_write(b, "4", 1, NULL), FF_OK);
	gw_store_seg_abort(st, &k, 6, &b, false);
	assert_null(b);
	assert_int_equal(deliver(st, &k, 7, "m1", 4, 10, "456", &w, &complete, &b, &err), FF_OK);
	assert_false(complete);
	/* segment 2 does not match its hash: the whole message goes, the receiver waits on */
	assert_int_equal(gw_store_seg_begin(st, &k, 8, "m1", 7, 3, 10, &b, &again, &err), FF_OK);
	assert_int_equal(b->size, 7);
	gw_store_seg_abort(st, &k, 8, &b, true);
	assert_non_null(b);
	gw_body_free(b);
	b = NULL;
	gw_store_stats(st, &s);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(s.receiving, 0);
	assert_int_equal(s.mem_bytes, 0);
	assert_int_equal(gw_store_seg_begin(st, &k, 9, "m1", 4, 3, 10, &b, &again, &err),
			 FF_EPROTO);
	/* sent again as m2: complete with the last segment, handed to the receiver */
	assert_int_equal(deliver(st, &k, 10, "m2", 0, 10, "abcd", &w, &complete, &b, &err), FF_OK);
	assert_int_equal(deliver(st, &k, 11, "m2", 4, 10, "efg", &w, &complete, &b, &err), FF_OK);
	assert_false(complete);
	gw_store_stats(st, &s);
	assert_int_equal(s.ready, 0);
	assert_int_equal(deliver(st, &k, 12, "m2", 7, 10, "hij", &w, &complete, &b, &err), FF_OK);
	assert_true(complete);
	assert_ptr_equal(w, &waiter);
	assert_non_null(b);
	assert_int_equal(b->size, 10);
	assert_memory_equal(b->mem.buf, "abcdefghij", 10);
	gw_body_free(b);
	b = NULL;
	assert_int_equal(gw_store_take(st, &k, &waiter, &b, &rep, &err), FF_EEXIST);
	/* after it was received: the last segment again is a retry, other senders refused */
	assert_int_equal(gw_store_seg_begin(st, &k, 13, "m2", 7, 3, 10, &b, &again, &err), FF_OK);
	assert_true(again);
	assert_int_equal(gw_store_seg_begin(st, &k, 14, "m3", 0, 4, 10, &b, &again, &err),
			 FF_EEXIST);

	/* a sender that gave a partial up starts over with a new msg_id in the same body */
	struct gw_key k2 = mk("S", "again", "9998");
	assert_int_equal(deliver(st, &k2, 20, "old", 0, 6, "xyz", &w, &complete, &b, &err), FF_OK);
	assert_int_equal(gw_store_seg_begin(st, &k2, 21, "new", 3, 3, 6, &b, &again, &err),
			 FF_EPROTO);
	assert_int_equal(gw_store_seg_begin(st, &k2, 21, "new", 0, 3, 6, &b, &again, &err), FF_OK);
	assert_non_null(b);
	assert_int_equal(b->size, 3);
	gw_store_seg_abort(st, &k2, 21, &b, false);  /* nothing of "new" verified: forgotten */
	assert_non_null(b);
	gw_body_free(b);
	b = NULL;
	assert_int_equal(deliver(st, &k2, 22, "new", 0, 6, "123", &w, &complete, &b, &err), FF_OK);
	assert_int_equal(deliver(st, &k2, 23, "new", 3, 6, "456", &w, &complete, &b, &err), FF_OK);
	assert_true(complete);
	assert_null(w);
	assert_null(b);
	assert_int_equal(gw_store_take(st, &k2, &waiter, &b, &rep, &err), FF_OK);
	assert_memory_equal(b->mem.buf, "123456", 6);
	gw_body_free(b);
	b = NULL;

	/* a whole message in one request; retried; a broken-off one leaves nothing */
	struct gw_key k3 = mk("S", "whole", "9998"), k4 = mk("S", "broken", "9998");
	assert_int_equal(deliver(st, &k3, 30, "w1", 0, GW_WHOLE, "hello", &w, &complete, &b, &err),
			 FF_OK);
	assert_true(complete);
	assert_int_equal(gw_store_seg_begin(st, &k3, 31, "w1", 0, 5, GW_WHOLE, &b, &again, &err),
			 FF_OK);
	assert_true(again);
	assert_int_equal(gw_store_seg_begin(st, &k3, 32, "w2", 0, 5, GW_WHOLE, &b, &again, &err),
			 FF_EEXIST);
	assert_int_equal(gw_store_seg_begin(st, &k4, 33, "w3", 0, 5, GW_WHOLE, &b, &again, &err),
			 FF_OK);
	b = gw_body_new(dir, 5, NULL);
	assert_int_equal(gw_body_write(b, "he", 2, NULL), FF_OK);
	gw_store_seg_abort(st, &k4, 33, &b, false);
	gw_body_free(b);
	b = NULL;
	/* a local task's upload in progress is not a partner's to write */
	struct gw_key k5 = mk("S", "local", "9998");
	assert_int_equal(gw_store_reserve(st, &k5, 40, &err), FF_OK);
	assert_int_equal(gw_store_seg_begin(st, &k5, 41, "m", 0, 1, GW_WHOLE, &b, &again, &err),
			 FF_EEXIST);
	gw_store_cancel(st, &k5, 40);
	gw_store_stats(st, &s);
	assert_int_equal(s.messages, 3);   /* big (taken), again (ready), whole (ready) */
	assert_int_equal(s.receiving, 0);
	gw_store_free(st);
}

static void test_drop_partial(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	struct gw_body *b = NULL, *held = NULL;
	bool again, complete;
	void *w = NULL, **ws = NULL;
	size_t nw;
	uint64_t total = 3 * GATEWAY_MEM_MAX;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key idle = mk("S", "idle", "9998"), busy = mk("S", "busy", "9998");
	/* a partial between segments, in a spill file */
	assert_int_equal(gw_store_seg_begin(st, &idle, 1, "m1", 0, 10, total, &b, &again, &err),
			 FF_OK);
	b = gw_body_new(dir, total, NULL);
	assert_true(b->fd >= 0);
	assert_int_equal(gw_body_write(b, "0123456789", 10, NULL), FF_OK);
	assert_int_equal(gw_store_seg_end(st, &idle, 1, &b, &w, &complete, &err), FF_OK);
	/* and one whose segment is being written */
	assert_int_equal(gw_store_seg_begin(st, &busy, 2, "m2", 0, 10, total, &held, &again, &err),
			 FF_OK);
	held = gw_body_new(dir, total, NULL);
	assert_int_equal(files_in_dir(), 2);
	assert_int_equal(gw_store_drop(st, "S", "host", "9998", &ws, &nw), FF_OK);
	ff_free(ws);
	assert_int_equal(files_in_dir(), 1);   /* the idle partial's file is gone */
	assert_int_equal(gw_body_write(held, "0123456789", 10, NULL), FF_OK);
	assert_int_equal(gw_store_seg_end(st, &busy, 2, &held, &w, &complete, &err), FF_ECANCELED);
	assert_true(strstr(err.msg, "has ended") != NULL);
	gw_body_free(held);
	assert_int_equal(files_in_dir(), 0);
	assert_int_equal(gw_store_seg_begin(st, &idle, 3, "m1", 10, 10, total, &b, &again, &err),
			 FF_ECANCELED);
	gw_store_free(st);
}

/*
 * A spilled message handed to its receiver as a file: the body's
 * descriptor is closed, the record keeps the path, the receiver deletes
 * the file; if it does not, the task's end does.
 */
static void test_hand_off_file(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	struct gw_body *b;
	void *w = NULL, *rep = NULL, **ws = NULL;
	size_t nw;
	int tag;
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key deleted = mk("H", "deleted", "9998"), left = mk("H", "left", "9998");
	const struct gw_key *keys[] = { &deleted, &left };
	char *paths[2];
	for (size_t i = 0; i < 2; i++) {
		b = gw_body_new(dir, GATEWAY_MEM_MAX + 1, NULL);
		assert_int_equal(gw_body_write(b, "file", 4, NULL), FF_OK);
		assert_int_equal(gw_store_reserve(st, keys[i], 1 + i, &err), FF_OK);
		assert_int_equal(gw_store_commit(st, keys[i], 1 + i, &b, false, &w, &err), FF_OK);
		assert_int_equal(gw_store_take(st, keys[i], &tag, &b, &rep, &err), FF_OK);
		paths[i] = ff_strdup(gw_body_hand_off(b));
		assert_int_equal(b->fd, -1);
		assert_int_equal(gw_store_keep(st, keys[i], &b), FF_OK);
		assert_null(b);
	}
	assert_int_equal(files_in_dir(), 2);
	/* the file is the message, readable after the daemon let go of it */
	char buf[8] = { 0 };
	int fd = open(paths[0], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "file", 4);
	close(fd);
	assert_int_equal(unlink(paths[0]), 0);
	/* still exactly once */
	assert_int_equal(gw_store_take(st, &left, &tag, &b, &rep, &err), FF_EEXIST);
	/* a record that is not a taken message keeps nothing */
	struct gw_key none = mk("H", "none", "9998");
	b = small_body("x");
	assert_int_equal(gw_store_keep(st, &none, &b), FF_ECANCELED);
	assert_non_null(b);
	gw_body_free(b);
	assert_int_equal(gw_store_drop(st, "H", "host", "9998", &ws, &nw), FF_OK);
	ff_free(ws);
	assert_int_equal(files_in_dir(), 0);
	ff_free(paths[0]);
	ff_free(paths[1]);
	gw_store_free(st);
}

/*
 * Writes n bytes of data as request id's segment at off of a message of
 * total bytes (a spilled body: total > GATEWAY_MEM_MAX), ending it with
 * gw_store_seg_end_follow. Returns its result; *left is the body the
 * store did not keep.
 */
static int deliver_f(struct gw_store *st, const struct gw_key *k, uint64_t id,
		     const char *msg_id, uint64_t off, uint64_t total, const char *data, size_t n,
		     void **waiter, bool *complete, struct gw_follow *fl, struct gw_body **left)
{
	struct ff_error err = FF_ERROR_INIT;
	struct gw_body *b = NULL;
	bool again = false;
	int ret = gw_store_seg_begin(st, k, id, msg_id, off, n, total, &b, &again, &err);
	if (ret || again)
		return ret ? ret : 1;
	if (!b)
		b = gw_body_new(dir, total, &err);
	assert_non_null(b);
	assert_true(b->fd >= 0);
	if (b->size != off)
		assert_int_equal(gw_body_truncate(b, off, &err), FF_OK);
	assert_int_equal(gw_body_write(b, data + off, n, &err), FF_OK);
	ret = gw_store_seg_end_follow(st, k, id, &b, waiter, complete, fl, &err);
	*left = b;
	return ret;
}

/* A follower's pull: fl in (want, token, seen) and out. */
static int follow_pull(struct gw_store *st, const struct gw_key *k, void *waiter, uint64_t token,
		       uint64_t seen, struct gw_follow *fl, struct gw_body **body, void **rep,
		       struct ff_error *err)
{
	memset(fl, 0, sizeof(*fl));
	fl->want = true;
	fl->id = token;
	fl->seen = seen;
	return gw_store_take_follow(st, k, waiter, fl, body, rep, err);
}

static void test_follow(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	struct gw_body *b = NULL, *left = NULL;
	struct gw_follow fl;
	struct gateway_stats s;
	bool complete;
	int waiter, other;
	void *w = NULL, *rep = NULL;
	const uint64_t seg = 1 << 20, total = 3 * seg;
	char *data = ff_malloc(total);
	for (uint64_t i = 0; i < total; i++)
		data[i] = (char)(i * 7 + 3);
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("F", "big", "9998");

	/* the follower comes first: it waits like any receiver */
	assert_int_equal(follow_pull(st, &k, &waiter, 0, 0, &fl, &b, &rep, &err), FF_EAGAIN);
	assert_null(b);
	/* the first verified segment wakes it with the partial's file */
	assert_int_equal(deliver_f(st, &k, 1, "m1", 0, total, data, seg, &w, &complete, &fl, &left),
			 FF_OK);
	assert_null(left);
	assert_ptr_equal(w, &waiter);
	assert_false(complete);
	assert_true(fl.partial);
	assert_int_equal(fl.have, seg);
	assert_int_equal(fl.total, total);
	assert_true(fl.id >= 2);
	assert_non_null(fl.path);
	uint64_t token = fl.id;
	char *path = fl.path;
	/* the bytes named are the verified ones, in the file named */
	char *got = ff_malloc(total);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, seg, 0), (ssize_t)seg);
	assert_memory_equal(got, data, seg);
	/* taken: a receiver without the token is refused, and with a wrong one */
	assert_int_equal(gw_store_take(st, &k, &other, &b, &rep, &err), FF_EEXIST);
	assert_true(strstr(err.msg, "already received") != NULL);
	assert_int_equal(follow_pull(st, &k, &other, 0, 0, &fl, &b, &rep, &err), FF_EEXIST);
	assert_int_equal(follow_pull(st, &k, &other, token + 1, 0, &fl, &b, &rep, &err),
			 FF_EEXIST);
	gw_store_stats(st, &s);
	assert_int_equal(s.receiving, 1);
	assert_int_equal(s.waiting, 0);
	assert_int_equal(s.followed, 1);
	/* nothing new since: the follower waits; more than it has: answered at once */
	assert_int_equal(follow_pull(st, &k, &waiter, token, seg, &fl, &b, &rep, &err), FF_EAGAIN);
	assert_null(rep);
	assert_int_equal(deliver_f(st, &k, 2, "m1", seg, total, data, seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_ptr_equal(w, &waiter);
	assert_true(fl.partial);
	assert_int_equal(fl.id, token);
	assert_int_equal(fl.have, 2 * seg);
	ff_free(fl.path);
	/* the follower frees what it read; later bytes are unchanged */
	assert_int_equal(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)seg), 0);
	assert_int_equal(follow_pull(st, &k, &waiter, token, seg, &fl, &b, &rep, &err), FF_OK);
	assert_true(fl.partial);
	assert_int_equal(fl.have, 2 * seg);
	ff_free(fl.path);
	/* the last segment while the follower is not parked: kept for its next pull */
	w = NULL;
	assert_int_equal(deliver_f(st, &k, 3, "m1", 2 * seg, total, data, seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_null(w);
	assert_null(left);
	assert_true(complete);
	assert_false(fl.partial);
	gw_store_stats(st, &s);
	assert_int_equal(s.ready, 0);
	assert_int_equal(s.done, 1);
	/* the complete message goes to the token only */
	assert_int_equal(gw_store_take(st, &k, &other, &b, &rep, &err), FF_EEXIST);
	assert_int_equal(follow_pull(st, &k, &waiter, token, 2 * seg, &fl, &b, &rep, &err), FF_OK);
	assert_non_null(b);
	assert_false(fl.partial);
	assert_int_equal(fl.id, token);
	assert_int_equal(b->size, total);
	assert_int_equal(pread(fd, got + seg, total - seg, (off_t)seg), (ssize_t)(total - seg));
	assert_memory_equal(got + seg, data + seg, total - seg);
	/* once: the same follower again is refused */
	assert_int_equal(gw_store_keep(st, &k, &b), FF_OK);
	assert_int_equal(follow_pull(st, &k, &waiter, token, total, &fl, &b, &rep, &err),
			 FF_EEXIST);
	/* a retry of a stored segment is still "again" */
	assert_int_equal(deliver_f(st, &k, 4, "m1", 2 * seg, total, data, seg, &w, &complete, &fl,
				   &left), 1);
	close(fd);
	/* the task's end deletes the file its follower left */
	void **ws = NULL;
	size_t nw = 0;
	assert_int_equal(gw_store_drop(st, "F", "host", "9998", &ws, &nw), FF_OK);
	ff_free(ws);
	assert_int_equal(files_in_dir(), 0);
	ff_free(path);

	/* a follower attaching to a partial that is there already, and the sender starting over */
	struct gw_key k2 = mk("F2", "big", "9998");
	assert_int_equal(deliver_f(st, &k2, 10, "a1", 0, total, data, seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_null(w);
	/* a plain receiver parks; a follower takes the message and it hears "not yet" */
	assert_int_equal(gw_store_take(st, &k2, &other, &b, &rep, &err), FF_EAGAIN);
	assert_int_equal(follow_pull(st, &k2, &waiter, 0, 0, &fl, &b, &rep, &err), FF_OK);
	assert_ptr_equal(rep, &other);
	assert_true(fl.partial);
	assert_int_equal(fl.have, seg);
	token = fl.id;
	path = fl.path;
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(follow_pull(st, &k2, &waiter, token, seg, &fl, &b, &rep, &err), FF_EAGAIN);
	/* the sender gives "a1" up and starts "a2" at byte 0: a new file, the old one untouched */
	assert_int_equal(deliver_f(st, &k2, 11, "a2", 0, total, data, seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_ptr_equal(w, &waiter);
	assert_true(fl.partial);
	assert_true(fl.id != token);
	assert_string_not_equal(fl.path, path);
	assert_int_equal(fl.have, seg);
	assert_int_equal(pread(fd, got, seg, 0), (ssize_t)seg);
	assert_memory_equal(got, data, seg);
	close(fd);
	assert_int_equal(access(path, F_OK), -1);
	ff_free(path);
	uint64_t token2 = fl.id;
	ff_free(fl.path);
	/* the stale token is no one's now: refused */
	assert_int_equal(follow_pull(st, &k2, &other, token, seg, &fl, &b, &rep, &err), FF_EEXIST);
	/* a tampered segment forgets the partial: the follower attaches again later */
	assert_int_equal(follow_pull(st, &k2, &waiter, token2, seg, &fl, &b, &rep, &err), FF_EAGAIN);
	bool again = false;
	assert_int_equal(gw_store_seg_begin(st, &k2, 12, "a2", seg, seg, total, &b, &again, &err),
			 FF_OK);
	gw_store_seg_abort(st, &k2, 12, &b, true);
	gw_body_free(b);
	b = NULL;
	gw_store_stats(st, &s);
	assert_int_equal(s.receiving, 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(deliver_f(st, &k2, 13, "a3", 0, total, data, seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_ptr_equal(w, &waiter);
	assert_true(fl.partial);
	assert_true(fl.id != token2);
	ff_free(fl.path);
	assert_int_equal(gw_store_drop(st, "F2", "host", "9998", &ws, &nw), FF_OK);
	ff_free(ws);
	assert_int_equal(files_in_dir(), 0);

	/* a follower parked when the whole message arrives gets it with its token */
	struct gw_key k3 = mk("F3", "big", "9998");
	assert_int_equal(deliver_f(st, &k3, 20, "b1", 0, total, data, 2 * seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_int_equal(follow_pull(st, &k3, &waiter, 0, 0, &fl, &b, &rep, &err), FF_OK);
	token = fl.id;
	ff_free(fl.path);
	assert_int_equal(follow_pull(st, &k3, &waiter, token, 2 * seg, &fl, &b, &rep, &err),
			 FF_EAGAIN);
	assert_int_equal(deliver_f(st, &k3, 21, "b1", 2 * seg, total, data, seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_true(complete);
	assert_ptr_equal(w, &waiter);
	assert_false(fl.partial);
	assert_int_equal(fl.id, token);
	assert_non_null(left);
	gw_body_free(left);
	/* a receiver that does not follow a message in segments gets it whole, as before */
	struct gw_key k4 = mk("F4", "big", "9998");
	assert_int_equal(gw_store_take(st, &k4, &other, &b, &rep, &err), FF_EAGAIN);
	assert_int_equal(deliver_f(st, &k4, 30, "c1", 0, total, data, seg, &w, &complete, &fl,
				   &left), FF_OK);
	assert_null(w);
	assert_int_equal(deliver_f(st, &k4, 31, "c1", seg, total, data, 2 * seg, &w, &complete,
				   &fl, &left), FF_OK);
	assert_ptr_equal(w, &other);
	assert_int_equal(fl.id, 0);
	gw_body_free(left);
	assert_int_equal(gw_store_drop(st, "F3", "host", "9998", &ws, &nw), FF_OK);
	ff_free(ws);
	assert_int_equal(gw_store_drop(st, "F4", "host", "9998", &ws, &nw), FF_OK);
	ff_free(ws);
	assert_int_equal(files_in_dir(), 0);
	gw_store_free(st);
	ff_free(got);
	ff_free(data);
}

/* A ring body: writes wrap around, a cut is rewritten, the memory is charged while mapped. */
static void test_ring_body(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	char prefix[64], data[5000];
	snprintf(prefix, sizeof(prefix), "%s/ring-", dir);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 13 + 1);
	uint64_t mem0 = gw_body_mem_used();
	struct gw_body *b = gw_body_new_ring(prefix, 4096, &err);
	assert_non_null(b);
	assert_int_equal(gw_body_mem_used(), mem0 + 4096);
	assert_int_equal(files_in_dir(), 1);
	assert_int_equal(gw_body_write(b, data, 3000, &err), FF_OK);
	assert_int_equal(gw_body_write(b, data + 3000, 2000, &err), FF_OK);
	assert_int_equal(b->size, 5000);
	/* bytes 4096.. went to the start; 904..2999 are still the first write's */
	assert_memory_equal(b->ring, data + 4096, 904);
	assert_memory_equal(b->ring + 904, data + 904, 3000 - 904);
	assert_memory_equal(b->ring + 3000, data + 3000, 1096);
	/* a broken-off tail is written again */
	assert_int_equal(gw_body_truncate(b, 3000, &err), FF_OK);
	assert_int_equal(gw_body_write(b, data, 1200, &err), FF_OK);
	assert_memory_equal(b->ring + 3000, data, 1096);
	assert_memory_equal(b->ring, data + 1096, 104);
	/* the file a reader maps holds the same bytes */
	int fd = gw_body_dup_fd(b);
	assert_true(fd >= 0);
	char back[4096];
	assert_int_equal(pread(fd, back, sizeof(back), 0), 4096);
	assert_memory_equal(back, b->ring, 4096);
	close(fd);
	/* handed off: unmapped and uncharged, the file stays for its reader */
	const char *path = gw_body_hand_off(b);
	assert_non_null(path);
	assert_null(b->ring);
	assert_int_equal(gw_body_mem_used(), mem0);
	assert_int_equal(access(path, F_OK), 0);
	gw_body_free(b);
	assert_int_equal(files_in_dir(), 0);
	/* no room in the budget: no ring, nothing left */
	b = gw_body_new_ring(prefix, (uint64_t)GATEWAY_MEM_BUDGET + 1, &err);
	assert_null(b);
	assert_true(strstr(err.msg, "no memory for a ring") != NULL);
	assert_int_equal(gw_body_mem_used(), mem0);
	assert_int_equal(files_in_dir(), 0);
}

struct ring_reader {
	struct gw_store *st;
	const struct gw_key *k;
	uint64_t token, seen;
	int waiter;
	int ret;
};

/* A follower that reads a while later (while a segment waits for room). */
static void *ring_reader_main(void *arg)
{
	struct ring_reader *rr = arg;
	struct gw_follow fl;
	struct gw_body *b = NULL;
	void *rep = NULL;
	struct ff_error err = FF_ERROR_INIT;
	struct timespec ts = { 0, 100 * 1000000L };
	nanosleep(&ts, NULL);
	rr->ret = follow_pull(rr->st, rr->k, &rr->waiter, rr->token, rr->seen, &fl, &b, &rep, &err);
	ff_free(fl.path);
	return NULL;
}

/* One segment into a ring (seg_begin_ring makes the body a ring when asked). */
static int deliver_r(struct gw_store *st, const struct gw_key *k, uint64_t id, uint64_t off,
		     uint64_t total, const char *data, size_t n, void **waiter, bool *complete,
		     struct gw_follow *fl, struct ff_error *err)
{
	char prefix[64];
	struct gw_body *b = NULL;
	bool again = false, ring = false;
	snprintf(prefix, sizeof(prefix), "%s/ring-", dir);
	int ret = gw_store_seg_begin_ring(st, k, id, "r1", off, n, total, &b, &again, &ring, err);
	if (ret || again)
		return ret ? ret : 1;
	if (!b)
		b = ring ? gw_body_new_ring(prefix, GW_RING_SIZE, err) : gw_body_new(dir, total, err);
	assert_non_null(b);
	assert_int_equal(gw_body_write(b, data + off, n, err), FF_OK);
	ret = gw_store_seg_end_follow(st, k, id, &b, waiter, complete, fl, err);
	assert_null(b);
	return ret;
}

/*
 * A follower that waits before the first segment gets the message in a
 * ring: the answers name it and its size, a segment never overwrites what
 * the follower has not read (it waits, then is refused for now, nothing
 * changed), and the follower's next pull makes room at once.
 */
static void test_follow_ring(void **state)
{
	(void)state;
	struct gw_store *st;
	struct ff_error err = FF_ERROR_INIT;
	struct gw_body *b = NULL;
	struct gw_follow fl;
	struct gateway_stats s;
	bool complete = false;
	int waiter;
	void *w = NULL, *rep = NULL;
	const uint64_t seg = 1 << 20, nseg = GW_RING_SIZE / seg, total = (nseg + 1) * seg;
	char *data = ff_malloc(total);
	for (uint64_t i = 0; i < total; i++)
		data[i] = (char)(i * 11 + (i >> 20));
	assert_int_equal(gw_store_new(&st), FF_OK);
	struct gw_key k = mk("R", "big", "9998");
	assert_int_equal(follow_pull(st, &k, &waiter, 0, 0, &fl, &b, &rep, &err), FF_EAGAIN);
	assert_int_equal(deliver_r(st, &k, 1, 0, total, data, seg, &w, &complete, &fl, &err), FF_OK);
	assert_ptr_equal(w, &waiter);
	assert_true(fl.partial);
	assert_int_equal(fl.ring, GW_RING_SIZE);
	assert_int_equal(fl.have, seg);
	uint64_t token = fl.id;
	char *path = fl.path;
	gw_store_stats(st, &s);
	assert_int_equal(s.rings, 1);
	/* the follower maps the ring: the verified bytes are where x % ring says */
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	char *ring = mmap(NULL, GW_RING_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(ring != MAP_FAILED);
	assert_memory_equal(ring, data, seg);
	/* a full ring's worth arrives while the follower has read nothing */
	for (uint64_t i = 1; i < nseg; i++)
		assert_int_equal(deliver_r(st, &k, 1 + i, i * seg, total, data, seg, &w, &complete,
					   &fl, &err), FF_OK);
	/* the next segment would overwrite unread bytes: refused for now, nothing changed */
	bool again, asked;
	assert_int_equal(gw_store_seg_begin_ring(st, &k, 100, "r1", nseg * seg, seg, total, &b,
						 &again, &asked, &err), FF_EAGAIN);
	assert_true(strstr(err.msg, "has read 0 of the") != NULL);
	assert_null(b);
	assert_int_equal(follow_pull(st, &k, &waiter, token, 0, &fl, &b, &rep, &err), FF_OK);
	assert_int_equal(fl.have, nseg * seg);
	ff_free(fl.path);
	assert_memory_equal(ring, data, GW_RING_SIZE);
	/* the follower reads the first segment while the last one waits: it goes in */
	struct ring_reader rr = { .st = st, .k = &k, .token = token, .seen = seg };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, ring_reader_main, &rr), 0);
	w = NULL;
	assert_int_equal(deliver_r(st, &k, 101, nseg * seg, total, data, seg, &w, &complete, &fl,
				   &err), FF_OK);
	pthread_join(th, NULL);
	assert_true(complete);
	/* the last segment wrapped around to where the first was */
	assert_memory_equal(ring, data + nseg * seg, seg);
	assert_memory_equal(ring + seg, data + seg, GW_RING_SIZE - seg);
	/* the follower (answered at once, not parked) gets the end with its next pull */
	assert_null(w);
	assert_int_equal(follow_pull(st, &k, &waiter, token, seg, &fl, &b, &rep, &err), FF_OK);
	assert_non_null(b);
	assert_int_equal(fl.id, token);
	assert_int_equal(b->ring_size, GW_RING_SIZE);
	assert_int_equal(b->size, total);
	gw_body_hand_off(b);
	assert_int_equal(gw_store_keep(st, &k, &b), FF_OK);
	munmap(ring, GW_RING_SIZE);
	close(fd);
	void **ws = NULL;
	size_t nw = 0;
	assert_int_equal(gw_store_drop(st, "R", "host", "9998", &ws, &nw), FF_OK);
	ff_free(ws);
	assert_int_equal(files_in_dir(), 0);
	ff_free(path);
	ff_free(data);
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
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_drop_partial),
		cmocka_unit_test(test_hand_off_file),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_ring_body),
		cmocka_unit_test(test_follow_ring),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
