// SPDX-License-Identifier: Apache-2.0
/*
 * comp_test.c - the three test components that exercise the scheduler
 * with real processes: noop, sleep and fail (docs/components.md).
 */
#include "ff_setup.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "comp.h"
#include "jsonx.h"

#define COMP_ROLES "guest,host,arbiter,local"
#define COMP_STAGES "default,train,predict"

static json_t *comp_io_in(void)
{
	return json_pack("{s:o}", "input_data",
			 comp_artifact("dataframe,table", true, true, COMP_ROLES));
}

static json_t *comp_io_out(void)
{
	return json_pack("{s:o}", "output_data", comp_artifact("dataframe", true, false, COMP_ROLES));
}

/* noop: succeeds at once; its output is its first input, if any. */
static json_t *noop_describe(void)
{
	return comp_describe(COMP_ROLES, COMP_STAGES, json_object(), comp_io_in(), NULL,
			     comp_io_out(), NULL, NULL);
}

static int noop_run(struct ff_task *t, struct ff_error *err)
{
	ff_task_log(t, FF_TASK_INFO, "noop %s as %s %s", ff_task_name(t), ff_task_role(t),
		    ff_task_party_id(t));
	return comp_pass_through(t, "input_data", "output_data");
}

const struct comp comp_noop = { "noop", noop_describe, noop_run };
COMP_REGISTER(comp_noop);

/* sleep: waits `seconds` (a number), then acts like noop. `alloc_mb`
 * first allocates and touches that much memory (to test memory limits). */
static json_t *sleep_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:f,s:b},s:{s:s,s:i,s:b}}", "seconds", "type", "float",
			      "default", 1.0, "optional", 1, "alloc_mb", "type", "int", "default", 0,
			      "optional", 1);
	return comp_describe(COMP_ROLES, COMP_STAGES, p, comp_io_in(), NULL, comp_io_out(),
			     NULL, NULL);
}

static int sleep_run(struct ff_task *t, struct ff_error *err)
{
	double sec;
	int ret = ff_task_param_double(t, "seconds", 1.0, &sec, err);
	if (ret)
		return ret;
	if (sec < 0 || sec > 86400)
		return ff_error_set(err, FF_EINVAL, "parameter 'seconds' must be between 0 and 86400");
	long long mb = 0;
	ret = ff_task_param_int(t, "alloc_mb", 0, &mb, err);
	if (ret)
		return ret;
	char *hog = NULL;
	if (mb > 0) {
		size_t n = (size_t)mb << 20;
		hog = malloc(n); /* plain malloc: the point is to hit the OS limit */
		if (!hog)
			return ff_error_set(err, FF_ENOMEM, "out of memory allocating %lld MB", mb);
		for (size_t i = 0; i < n; i += 4096)
			hog[i] = 1;
		ff_task_log(t, FF_TASK_INFO, "allocated %lld MB", mb);
	}
	ff_task_log(t, FF_TASK_INFO, "sleeping %.3f s", sec);
	struct timespec ts = { (time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	free(hog);
	return comp_pass_through(t, "input_data", "output_data");
}

const struct comp comp_sleep = { "sleep", sleep_describe, sleep_run };
COMP_REGISTER(comp_sleep);

/*
 * fail: fails its first `times` runs (task versions 0 .. times-1), then
 * succeeds. `mode` says how it fails: "error" (a failed final meta),
 * "exit" (exit status 3 without a final meta) or "crash" (SIGKILL).
 */
static json_t *fail_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:i},s:{s:s,s:s},s:{s:s,s:s}}",
			      "times", "type", "int", "default", 1,
			      "mode", "type", "str", "default", "error",
			      "message", "type", "str", "default", "failed on purpose");
	return comp_describe(COMP_ROLES, COMP_STAGES, p, comp_io_in(), NULL, comp_io_out(),
			     NULL, NULL);
}

static int fail_run(struct ff_task *t, struct ff_error *err)
{
	long long times;
	const char *mode, *msg;
	int ret = ff_task_param_int(t, "times", 1, &times, err);
	if (!ret)
		ret = ff_task_param_str(t, "mode", "error", &mode, err);
	if (!ret)
		ret = ff_task_param_str(t, "message", "failed on purpose", &msg, err);
	if (ret)
		return ret;
	if (ff_task_version(t) >= times)
		return comp_pass_through(t, "input_data", "output_data");
	ff_task_log(t, FF_TASK_WARN, "failing run %lld of %lld (%s)", ff_task_version(t) + 1,
		    times, mode);
	if (!strcmp(mode, "exit"))
		_exit(3);
	if (!strcmp(mode, "crash"))
		kill(getpid(), SIGKILL);
	return ff_error_set(err, FF_ECOMPONENT, "%s (run %lld of %lld)", msg,
			    ff_task_version(t) + 1, times);
}

const struct comp comp_fail = { "fail", fail_describe, fail_run };
COMP_REGISTER(comp_fail);
