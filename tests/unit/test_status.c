// SPDX-License-Identifier: Apache-2.0
/* test_status.c - transition tables and multi-party status rules (spec §4). */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "status.h"

static void test_job_transitions(void **state)
{
	(void)state;
	assert_true(status_job_can("ready", "waiting"));
	assert_true(status_job_can("waiting", "running"));
	assert_true(status_job_can("running", "success"));
	assert_true(status_job_can("failed", "waiting"));    /* rerun */
	assert_true(status_job_can("canceled", "waiting"));
	assert_true(status_job_can("timeout", "failed"));
	assert_false(status_job_can("running", "running"));  /* same -> same */
	assert_false(status_job_can("success", "running"));
	assert_false(status_job_can("running", "waiting"));
	assert_false(status_job_can("ready", "running"));
	assert_false(status_job_can("nonsense", "running"));
	assert_false(status_job_can(NULL, "running"));
}

static void test_task_transitions(void **state)
{
	(void)state;
	assert_true(status_task_can("waiting", "running"));
	assert_true(status_task_can("waiting", "success"));  /* inheritance */
	assert_false(status_task_can("waiting", "failed"));  /* must run first */
	assert_true(status_task_can("running", "timeout"));
	assert_true(status_task_can("timeout", "failed"));
	assert_false(status_task_can("success", "running"));
	assert_false(status_task_can("failed", "waiting"));  /* reruns make a new version */
	assert_true(status_task_can("canceled", "waiting"));
}

static const char *fed(const char *a, const char *b, const char *c)
{
	const char *v[3] = { a, b, c };
	return status_federated_task(v, c ? 3 : b ? 2 : 1);
}

static void test_federated_task(void **state)
{
	(void)state;
	assert_string_equal(fed("success", "pass", NULL), "success");
	assert_string_equal(fed("running", "running", NULL), "running");
	assert_string_equal(fed("failed", "canceled", "timeout"), "canceled");
	assert_string_equal(fed("failed", "timeout", NULL), "timeout");
	assert_string_equal(fed("failed", "running", NULL), "failed");
	assert_string_equal(fed("waiting", "success", NULL), "running");
	assert_string_equal(fed("waiting", "running", NULL), "running");
	assert_string_equal(status_federated_task(NULL, 0), "failed");
}

static const char *job(const char *a, const char *b, enum status_sched_code code, bool cancel)
{
	const char *v[2] = { a, b };
	return status_job_from_tasks(v, b ? 2 : 1, code, cancel);
}

static void test_job_from_tasks(void **state)
{
	(void)state;
	assert_string_equal(job("success", "pass", STATUS_SCHED_NO_NEXT, false), "success");
	assert_string_equal(job("waiting", NULL, STATUS_SCHED_NO_NEXT, false), "waiting");
	assert_string_equal(job("waiting", NULL, STATUS_SCHED_NO_NEXT, true), "canceled");
	assert_string_equal(job("running", "waiting", STATUS_SCHED_NO_NEXT, false), "running");
	assert_string_equal(job("waiting", "success", STATUS_SCHED_HAVE_NEXT, false), "running");
	assert_string_equal(job("failed", "canceled", STATUS_SCHED_NO_NEXT, false), "failed");
	assert_string_equal(job("timeout", "canceled", STATUS_SCHED_NO_NEXT, false), "timeout");
	assert_string_equal(job("waiting", "success", STATUS_SCHED_NO_NEXT, true), "canceled");
	assert_string_equal(job("waiting", "failed", STATUS_SCHED_NO_NEXT, false), "failed");
}

/* The source lists agree with the transition tables, status by status. */
static void test_sources(void **state)
{
	(void)state;
	static const char *const all[] = { "waiting", "ready", "running", "canceled", "timeout",
					   "failed", "pass", "success", "finished" };
	char list[STATUS_SOURCES_MAX], item[40];
	for (size_t to = 0; to < sizeof(all) / sizeof(*all); to++) {
		status_task_sources(all[to], list, sizeof(list));
		for (size_t from = 0; from < sizeof(all) / sizeof(*all); from++) {
			snprintf(item, sizeof(item), ",%s,", all[from]);
			assert_int_equal(strstr(list, item) != NULL, status_task_can(all[from], all[to]));
		}
		status_job_sources(all[to], list, sizeof(list));
		for (size_t from = 0; from < sizeof(all) / sizeof(*all); from++) {
			snprintf(item, sizeof(item), ",%s,", all[from]);
			assert_int_equal(strstr(list, item) != NULL, status_job_can(all[from], all[to]));
		}
	}
	status_task_sources("running", list, sizeof(list));
	assert_string_equal(list, ",waiting,");
	status_job_sources("waiting", list, sizeof(list));
	assert_string_equal(list, ",ready,canceled,timeout,failed,success,");
}

static void test_groups(void **state)
{
	(void)state;
	assert_true(status_is_end("pass"));
	assert_false(status_is_end("running"));
	assert_true(status_is_interrupt("timeout"));
	assert_false(status_is_interrupt("success"));
	assert_int_equal(status_level("waiting"), 0);
	assert_int_equal(status_level("success"), 7);
	assert_int_equal(status_level("bogus"), -1);
	assert_true(status_is_job("ready"));
	assert_false(status_is_task("ready"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_transitions),
		cmocka_unit_test(test_task_transitions),
		cmocka_unit_test(test_federated_task),
		cmocka_unit_test(test_job_from_tasks),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
