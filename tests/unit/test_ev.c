// SPDX-License-Identifier: Apache-2.0
/* test_ev.c - the core loop: timer order, stop, deferred calls, posts. */
#include "ff_setup.h"
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "err.h"
#include "ev.h"

static struct ev_loop *loop;
static int fired[16];
static int nfired;

struct tt {
	struct ev_timer t;
	int id;
};

static void on_timer(struct ev_timer *t)
{
	struct tt *x = ff_container_of(t, struct tt, t);
	fired[nfired++] = x->id;
	if (nfired == 4)
		ev_stop(loop);
}

static void test_timer_order(void **state)
{
	(void)state;
	assert_int_equal(ev_loop_new(&loop), FF_OK);
	struct tt t[6];
	int delays[6] = { 30, 10, 20, 10, 5, 40 };
	for (int i = 0; i < 6; i++) {
		t[i].id = i;
		ev_timer_init(&t[i].t, on_timer);
		ev_timer_start(loop, &t[i].t, delays[i]);
	}
	ev_timer_stop(loop, &t[5].t);   /* never fires */
	ev_timer_stop(loop, &t[0].t);   /* stopped mid-heap */
	ev_timer_start(loop, &t[0].t, 25);
	assert_int_equal(ev_run(loop), FF_OK);
	/* by deadline, equal deadlines in start order */
	int want[4] = { 4, 1, 3, 2 };
	assert_memory_equal(fired, want, sizeof(want));
	ev_loop_free(loop);
}

static int deferred;

static void on_defer(struct ev_defer *d)
{
	deferred++;
	if (deferred == 1)
		ev_defer(loop, d, on_defer);  /* may re-queue itself */
	else
		ev_stop(loop);
}

static void test_defer(void **state)
{
	(void)state;
	assert_int_equal(ev_loop_new(&loop), FF_OK);
	struct ev_defer d = { 0 };
	ev_defer(loop, &d, on_defer);
	ev_defer(loop, &d, on_defer);  /* already queued: no-op */
	assert_int_equal(ev_run(loop), FF_OK);
	assert_int_equal(deferred, 2);
	ev_loop_free(loop);
}

static int posted;
static struct ev_msg msgs[100];

static void on_msg(struct ev_msg *m)
{
	if (++posted == 100)
		ev_stop(loop);
}

static void *poster(void *arg)
{
	for (int i = 0; i < 100; i++)
		ev_post(loop, &msgs[i], on_msg);
	return NULL;
}

static void test_post_from_thread(void **state)
{
	(void)state;
	assert_int_equal(ev_loop_new(&loop), FF_OK);
	pthread_t th;
	pthread_create(&th, NULL, poster, NULL);
	assert_int_equal(ev_run(loop), FF_OK);
	pthread_join(th, NULL);
	assert_int_equal(posted, 100);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_defer),
		cmocka_unit_test(test_post_from_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
