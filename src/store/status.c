// SPDX-License-Identifier: Apache-2.0
/* status.c - transition tables and multi-party status rules (spec §4). */
#include "ff_setup.h"
#include "status.h"

static const char *const status_set[] = {
	"waiting", "ready", "running", "canceled", "timeout",
	"failed", "pass", "success", "finished",
};

int status_level(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < FF_ARRAY_SIZE(status_set); i++)
		if (!strcmp(s, status_set[i]))
			return (int)i;
	return -1;
}

static bool status_in(const char *s, const char *const *set)
{
	if (!s)
		return false;
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

bool status_is_job(const char *s)
{
	static const char *const set[] = { "ready", "waiting", "running", "canceled",
					   "timeout", "failed", "success", NULL };
	return status_in(s, set);
}

bool status_is_task(const char *s)
{
	static const char *const set[] = { "waiting", "running", "canceled", "timeout",
					   "failed", "pass", "success", NULL };
	return status_in(s, set);
}

bool status_is_end(const char *s)
{
	static const char *const set[] = { "canceled", "timeout", "failed", "pass",
					   "success", NULL };
	return status_in(s, set);
}

bool status_is_interrupt(const char *s)
{
	static const char *const set[] = { "canceled", "timeout", "failed", NULL };
	return status_in(s, set);
}

bool status_is_success(const char *s)
{
	static const char *const set[] = { "pass", "success", NULL };
	return status_in(s, set);
}

struct status_rule {
	const char *from;
	const char *to[6];
};

static const struct status_rule job_rules[] = {
	{ "ready", { "waiting", "canceled", "timeout", "failed", NULL } },
	{ "waiting", { "running", "canceled", "timeout", "failed", "success", NULL } },
	{ "running", { "canceled", "timeout", "failed", "success", NULL } },
	{ "canceled", { "waiting", NULL } },
	{ "timeout", { "failed", "success", "waiting", NULL } },
	{ "failed", { "waiting", "canceled", NULL } },
	{ "success", { "waiting", NULL } },
};

static const struct status_rule task_rules[] = {
	{ "waiting", { "running", "success", NULL } },
	{ "running", { "canceled", "timeout", "failed", "pass", "success", NULL } },
	{ "canceled", { "waiting", NULL } },
	{ "timeout", { "failed", "success", NULL } },
};

static bool status_can(const struct status_rule *rules, size_t n,
		       const char *from, const char *to)
{
	if (!from || !to)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rules[i].from, from))
			continue;
		for (const char *const *t = rules[i].to; *t; t++)
			if (!strcmp(*t, to))
				return true;
		return false;
	}
	return false;
}

bool status_job_can(const char *from, const char *to)
{
	return status_can(job_rules, FF_ARRAY_SIZE(job_rules), from, to);
}

bool status_task_can(const char *from, const char *to)
{
	return status_can(task_rules, FF_ARRAY_SIZE(task_rules), from, to);
}

static void status_sources(const struct status_rule *rules, size_t n, const char *to,
			   char *out, size_t outn)
{
	size_t len = (size_t)snprintf(out, outn, ",");
	for (size_t i = 0; i < n && len < outn; i++)
		if (status_can(rules, n, rules[i].from, to))
			len += (size_t)snprintf(out + len, outn - len, "%s,", rules[i].from);
}

void status_job_sources(const char *to, char *out, size_t n)
{
	status_sources(job_rules, FF_ARRAY_SIZE(job_rules), to, out, n);
}

void status_task_sources(const char *to, char *out, size_t n)
{
	status_sources(task_rules, FF_ARRAY_SIZE(task_rules), to, out, n);
}

/* Set of statuses as a bit mask over status_set levels. */
static unsigned status_mask(const char *const *st, size_t n, bool pass_is_success)
{
	unsigned m = 0;
	for (size_t i = 0; i < n; i++) {
		int lv = status_level(st[i]);
		if (lv < 0)
			continue;
		if (pass_is_success && lv == status_level("pass"))
			lv = status_level("success");
		m |= 1u << lv;
	}
	return m;
}

static bool status_has(unsigned m, const char *s)
{
	return (m >> status_level(s)) & 1u;
}

static const char *status_single(unsigned m)
{
	for (size_t i = 0; i < FF_ARRAY_SIZE(status_set); i++)
		if (m == (1u << i))
			return status_set[i];
	return NULL;
}

const char *status_federated_task(const char *const *party, size_t n)
{
	if (n == 0)
		return ST_FAILED;
	unsigned m = status_mask(party, n, true);
	const char *one = status_single(m);
	if (one)
		return one;
	/* ascending level: canceled wins over timeout over failed */
	static const char *const interrupt_asc[] = { "canceled", "timeout", "failed" };
	for (size_t i = 0; i < 3; i++)
		if (status_has(m, interrupt_asc[i]))
			return interrupt_asc[i];
	if (status_has(m, "running") || status_has(m, "success"))
		return ST_RUNNING;
	return NULL;
}

const char *status_job_from_tasks(const char *const *task, size_t n,
				  enum status_sched_code code, bool cancel_signal)
{
	unsigned m = status_mask(task, n, true);
	const char *r = status_single(m);
	if (!r && status_has(m, "running"))
		r = ST_RUNNING;
	if (!r && status_has(m, "waiting") && code == STATUS_SCHED_HAVE_NEXT)
		r = ST_RUNNING;
	if (!r) {
		/* descending level: failed wins over timeout over canceled */
		static const char *const interrupt_desc[] = { "failed", "timeout", "canceled" };
		for (size_t i = 0; i < 3 && !r; i++)
			if (status_has(m, interrupt_desc[i]))
				r = interrupt_desc[i];
	}
	if (!r && m == ((1u << status_level("waiting")) | (1u << status_level("success"))) &&
	    code == STATUS_SCHED_NO_NEXT)
		r = ST_CANCELED;
	if (r && !strcmp(r, ST_WAITING) && cancel_signal)
		r = ST_CANCELED;
	return r;
}
