// SPDX-License-Identifier: Apache-2.0
/* fault.c - crash points for fault-injection tests (see fault.h). */
#include "ff_setup.h"
#include <signal.h>
#include <unistd.h>
#include "fault.h"
#include "log.h"

static const char *fault_spec;
static int fault_loaded;

void fault_point(const char *name)
{
	if (!fault_loaded) {
		fault_spec = getenv("FEDFLOW_FAULT");
		fault_loaded = 1;
	}
	if (!fault_spec)
		return;
	size_t n = strlen(name);
	for (const char *p = fault_spec; (p = strstr(p, name)); p += n) {
		bool start = p == fault_spec || p[-1] == ',';
		char end = p[n];
		if (!start || (end && end != ',' && end != '@'))
			continue;
		static int passes[64];
		int slot = (int)((uintptr_t)name % 64);
		int want = end == '@' ? (int)strtol(p + n + 1, NULL, 10) : 1;
		if (++passes[slot] < want)
			return;
		ff_log(FF_LOG_WARN, "fault point '%s' reached: killing fedflowd", name);
		kill(getpid(), SIGKILL);
	}
}
