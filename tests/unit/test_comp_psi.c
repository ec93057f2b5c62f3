// SPDX-License-Identifier: Apache-2.0
/*
 * test_comp_psi.c - the psi component's protocol (comp_psi_guest/host)
 * over the in-process channel: exact intersections of generated ids with a
 * known overlap (one and two hosts), guest duplicates joined, host
 * duplicates refused on both sides, an empty intersection, aligned output
 * (same rows, the guest's sample ids on the host), and truncated, garbled
 * or empty messages ending both parties with a clear error.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <cmocka.h>
#include "comp_psi.h"
#include "test_comp_util.h"

/* In-memory ids: sid "<p>s<i>", mid given by the case. */
struct psi_side {
	struct comp_frame f;
	char **sid, **mid;
	struct comp_psi_result r;
};

static void psi_side_init(struct psi_side *s, const char *prefix, const long *ids, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->sid = ff_calloc(n + 1, sizeof(char *));
	s->mid = ff_calloc(n + 1, sizeof(char *));
	assert_non_null(s->sid);
	assert_non_null(s->mid);
	for (size_t i = 0; i < n; i++) {
		s->sid[i] = ff_asprintf("%ss%zu", prefix, i);
		s->mid[i] = ff_asprintf("id%ld", ids[i]);
	}
	s->f.ds.n = n;
	s->f.ds.sid = s->sid;
	s->f.ds.mid = s->mid;
	s->f.key = "input_data";
}

static void psi_side_release(struct psi_side *s)
{
	for (size_t i = 0; i < s->f.ds.n; i++) {
		ff_free(s->sid[i]);
		ff_free(s->mid[i]);
	}
	ff_free(s->sid);
	ff_free(s->mid);
	comp_psi_result_release(&s->r);
}

static int psi_guest_fn(struct tc_party *p, struct comp_net *net, struct ff_error *err)
{
	struct psi_side *s = p->arg;
	return comp_psi_guest(net, &s->f, 2, &s->r, err);
}

static int psi_host_fn(struct tc_party *p, struct comp_net *net, struct ff_error *err)
{
	struct psi_side *s = p->arg;
	return comp_psi_host(net, &s->f, 2, &s->r, err);
}

/* Shuffled ids: [base, base + n). */
static long *psi_ids(long base, size_t n, unsigned seed)
{
	long *v = ff_calloc(n + 1, sizeof(long));
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = base + (long)i;
	srand(seed);
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rand() % i;
		long t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
	return v;
}

/* Every output row: same match id on both sides, host gets the guest sid. */
static void psi_check_aligned(const struct psi_side *g, const struct psi_side *h)
{
	assert_int_equal(g->r.n, h->r.n);
	for (size_t i = 0; i < g->r.n; i++) {
		assert_string_equal(g->mid[g->r.rows[i]], h->mid[h->r.rows[i]]);
		assert_string_equal(g->sid[g->r.rows[i]], h->r.sids[i]);
		if (i)
			assert_true(g->r.rows[i] > g->r.rows[i - 1]); /* guest order */
	}
}

static void test_psi_known_overlap(void **state)
{
	(void)state;
	/* guest ids 0..9999, host ids 7000..14999: 3000 in common */
	long *gi = psi_ids(0, 10000, 1), *hi = psi_ids(7000, 8000, 2);
	struct psi_side g, h;
	psi_side_init(&g, "g", gi, 10000);
	psi_side_init(&h, "h", hi, 8000);
	struct tc_party ps[2] = {
		{ .role = "guest", .party = "9999", .fn = psi_guest_fn, .arg = &g },
		{ .role = "host", .party = "10000", .fn = psi_host_fn, .arg = &h },
	};
	uint64_t bytes = 0;
	assert_int_equal(tc_run(ps, 2, NULL, NULL, COMP_FAULT_NONE, &bytes), 0);
	assert_int_equal(g.r.n, 3000);
	psi_check_aligned(&g, &h);
	for (size_t i = 0; i < g.r.n; i++) {
		long id = gi[g.r.rows[i]];
		assert_true(id >= 7000 && id < 10000);
	}
	/* three bulk transfers of 32 bytes per id plus the indexer */
	print_message("psi 10000 x 8000: %llu bytes exchanged\n", (unsigned long long)bytes);
	assert_true(bytes > (10000 + 8000 + 10000) * 32);
	psi_side_release(&g);
	psi_side_release(&h);
	ff_free(gi);
	ff_free(hi);
}

static void test_psi_two_hosts_and_duplicates(void **state)
{
	(void)state;
	/* guest 0..99 with id 5 twice (rows 5 and 100); host A 0..59, host B 40..119 */
	long gi[101], ha[60], hb[80];
	for (long i = 0; i < 100; i++)
		gi[i] = i;
	gi[100] = 5;
	for (long i = 0; i < 60; i++)
		ha[i] = i;
	for (long i = 0; i < 80; i++)
		hb[i] = 40 + i;
	struct psi_side g, a, b;
	psi_side_init(&g, "g", gi, 101);
	psi_side_init(&a, "a", ha, 60);
	psi_side_init(&b, "b", hb, 80);
	struct tc_party ps[3] = {
		{ .role = "guest", .party = "9999", .fn = psi_guest_fn, .arg = &g },
		{ .role = "host", .party = "10000", .fn = psi_host_fn, .arg = &a },
		{ .role = "host", .party = "10002", .fn = psi_host_fn, .arg = &b },
	};
	assert_int_equal(tc_run(ps, 3, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	assert_int_equal(g.r.n, 20); /* ids 40..59 */
	psi_check_aligned(&g, &a);
	psi_check_aligned(&g, &b);
	psi_side_release(&g);
	psi_side_release(&a);
	psi_side_release(&b);

	/* guest duplicates join the host row twice, with distinct sample ids */
	long hc[10];
	for (long i = 0; i < 10; i++)
		hc[i] = i;
	psi_side_init(&g, "g", gi, 101);
	psi_side_init(&a, "a", hc, 10);
	struct tc_party p2[2] = {
		{ .role = "guest", .party = "9999", .fn = psi_guest_fn, .arg = &g },
		{ .role = "host", .party = "10000", .fn = psi_host_fn, .arg = &a },
	};
	assert_int_equal(tc_run(p2, 2, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	assert_int_equal(g.r.n, 11);
	psi_check_aligned(&g, &a);
	assert_int_equal(g.r.rows[10], 100);
	assert_int_equal(a.r.rows[10], a.r.rows[5]);
	psi_side_release(&g);
	psi_side_release(&a);

	/* host duplicates are refused (FATE: duplicate match_id), both sides fail */
	hc[7] = 3;
	psi_side_init(&g, "g", gi, 101);
	psi_side_init(&a, "a", hc, 10);
	assert_int_equal(tc_run(p2, 2, NULL, NULL, COMP_FAULT_NONE, NULL), 2);
	TC_ASSERT_FAILED_WITH(p2[0], "host 10000 has duplicate match ids");
	TC_ASSERT_FAILED_WITH(p2[1], "guest 9999 failed: host 10000 has duplicate");
	psi_side_release(&g);
	psi_side_release(&a);
}

static void test_psi_empty_intersection(void **state)
{
	(void)state;
	long gi[50], hi[40];
	for (long i = 0; i < 50; i++)
		gi[i] = i;
	for (long i = 0; i < 40; i++)
		hi[i] = 1000 + i;
	struct psi_side g, h;
	psi_side_init(&g, "g", gi, 50);
	psi_side_init(&h, "h", hi, 40);
	struct tc_party ps[2] = {
		{ .role = "guest", .party = "9999", .fn = psi_guest_fn, .arg = &g },
		{ .role = "host", .party = "10000", .fn = psi_host_fn, .arg = &h },
	};
	assert_int_equal(tc_run(ps, 2, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	assert_int_equal(g.r.n, 0);
	assert_int_equal(h.r.n, 0);
	psi_side_release(&g);
	psi_side_release(&h);
	/* an empty party input is an empty intersection too */
	psi_side_init(&g, "g", gi, 0);
	psi_side_init(&h, "h", hi, 40);
	assert_int_equal(tc_run(ps, 2, NULL, NULL, COMP_FAULT_NONE, NULL), 0);
	assert_int_equal(h.r.n, 0);
	psi_side_release(&g);
	psi_side_release(&h);
}

static void psi_fault(const char *tag, const char *from, enum comp_memhub_fault f,
		      size_t victim, const char *needle, int nfailed)
{
	long gi[300], hi[200];
	for (long i = 0; i < 300; i++)
		gi[i] = i;
	for (long i = 0; i < 200; i++)
		hi[i] = 150 + i;
	struct psi_side g, h;
	psi_side_init(&g, "g", gi, 300);
	psi_side_init(&h, "h", hi, 200);
	struct tc_party ps[2] = {
		{ .role = "guest", .party = "9999", .fn = psi_guest_fn, .arg = &g },
		{ .role = "host", .party = "10000", .fn = psi_host_fn, .arg = &h },
	};
	assert_int_equal(tc_run(ps, 2, tag, from, f, NULL), nfailed);
	TC_ASSERT_FAILED_WITH(ps[victim], needle);
	if (nfailed == 2)
		TC_ASSERT_FAILED_WITH(ps[1 - victim], " failed: malformed message");
	psi_side_release(&g);
	psi_side_release(&h);
}

static void test_psi_bad_messages(void **state)
{
	(void)state;
	/* the peer that waits learns why (2 failures); the indexer is the last message */
	psi_fault("psi.host_first_sign", "host", COMP_FAULT_TRUNCATE, 0,
		  "malformed message 'psi.host_first_sign' from host 10000", 2);
	psi_fault("psi.host_first_sign", "host", COMP_FAULT_GARBLE, 0, "invalid point", 2);
	psi_fault("psi.guest_second_sign", "host", COMP_FAULT_GARBLE, 0,
		  "malformed message 'psi.guest_second_sign' from host 10000: invalid point", 2);
	psi_fault("psi.guest_second_sign", "host", COMP_FAULT_EMPTY, 0,
		  "malformed message 'psi.guest_second_sign' from host 10000: no message header",
		  2);
	psi_fault("psi.guest_first_sign", "guest", COMP_FAULT_TRUNCATE, 1,
		  "malformed message 'psi.guest_first_sign' from guest 9999", 2);
	psi_fault("psi.host_indexer", "guest", COMP_FAULT_TRUNCATE, 1,
		  "malformed message 'psi.host_indexer' from guest 9999", 1);
	psi_fault("psi.host_indexer", "guest", COMP_FAULT_GARBLE, 1,
		  "malformed message 'psi.host_indexer' from guest 9999", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psi_known_overlap),
		cmocka_unit_test(test_psi_two_hosts_and_duplicates),
		cmocka_unit_test(test_psi_empty_intersection),
		cmocka_unit_test(test_psi_bad_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
