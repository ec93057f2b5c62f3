/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_comp_util.h - helpers of the component protocol tests
 * (test_comp_*.c): run one party function per thread over an in-process
 * hub (comp_memnet.h), waking the others when one fails so a broken
 * protocol ends in an error instead of a hang; frames built in memory.
 * Header-only; include after <cmocka.h>.
 */
#ifndef FF_TEST_COMP_UTIL_H
#define FF_TEST_COMP_UTIL_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "comp_memnet.h"
#include "mem.h"

struct tc_party;
typedef int (*tc_fn)(struct tc_party *p, struct comp_net *net, struct ff_error *err);

struct tc_party {
	const char *role, *party;
	tc_fn fn;
	void *arg;              /* the test's data for this party */
	int ret;
	struct ff_error err;
	struct comp_memhub *hub;
	pthread_t th;
};

static void *tc_thread(void *a)
{
	struct tc_party *p = a;
	struct comp_net *net = NULL;
	p->ret = comp_memhub_net(p->hub, p->role, p->party, &net, &p->err);
	if (!p->ret)
		p->ret = p->fn(p, net, &p->err);
	if (p->ret) {
		char why[320];
		snprintf(why, sizeof(why), "%s %s failed: %s", p->role, p->party,
			 ff_error_msg(&p->err, p->ret));
		comp_memhub_abort(p->hub, why);
	}
	comp_net_close(net);
	return NULL;
}

/*
 * Runs parties[0..n) concurrently on a fresh hub (fault applied when
 * prefix != NULL); returns the number of parties that failed.
 */
FF_UNUSED static int tc_run(struct tc_party *ps, size_t n, const char *fault_prefix,
			    const char *fault_role, enum comp_memhub_fault fault,
			    uint64_t *bytes)
{
	struct comp_memhub *hub = NULL;
	assert_int_equal(comp_memhub_new(&hub), FF_OK);
	comp_memhub_set_timeout(hub, 60000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(comp_memhub_add(hub, ps[i].role, ps[i].party), FF_OK);
	if (fault_prefix)
		comp_memhub_fault(hub, fault_prefix, fault_role, fault);
	for (size_t i = 0; i < n; i++) {
		ps[i].hub = hub;
		ps[i].ret = 0;
		ff_error_clear(&ps[i].err);
		assert_int_equal(pthread_create(&ps[i].th, NULL, tc_thread, &ps[i]), 0);
	}
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		pthread_join(ps[i].th, NULL);
		failed += ps[i].ret != 0;
	}
	if (bytes)
		*bytes = comp_memhub_bytes(hub);
	comp_memhub_free(hub);
	return failed;
}

/* Asserts that party p failed with a message containing needle. */
#define TC_ASSERT_FAILED_WITH(p, needle) do {                                   \
		if ((p).ret == 0)                                                \
			fail_msg("%s %s succeeded, expected an error with '%s'",  \
				 (p).role, (p).party, (needle));                  \
		if (!strstr((p).err.msg, (needle)))                              \
			fail_msg("%s %s: message '%s' lacks '%s'", (p).role,      \
				 (p).party, (p).err.msg, (needle));               \
	} while (0)

#endif
