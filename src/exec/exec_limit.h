/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec_limit.h - limits of one task process (isolation).
 *
 * Limits come from the task's engine_run (cores; memory in MB) and the
 * site's isolation section. When any applies, the task is started through
 * fedflow-launch, which joins the task's cgroups (made here: cgroup v1
 * memory and cpu controllers under fedflowd's own cgroup; memory limit and
 * CFS quota = cores), pins it to `cores` CPUs, limits open files and sets
 * no_new_privs, then execs the component. Without a usable memory cgroup
 * the memory limit falls back to RLIMIT_AS. A task the memory cgroup
 * killed (or that ran out of memory under the rlimit) ends failed with
 * "memory limit exceeded". Core thread only.
 */
#ifndef FF_EXEC_LIMIT_H
#define FF_EXEC_LIMIT_H

#include <limits.h>
#include <stdbool.h>
#include "err.h"

struct exec_proc;

struct exec_limits {
	bool active;
	long long mem_mb;        /* 0 = none */
	long long cores;         /* 0 = none (CPU quota and pinning) */
	long long nofile;        /* 0 = unchanged */
	bool pin;
	bool no_new_privs;
	bool rlimit_mem;         /* no memory cgroup: RLIMIT_AS instead */
	int cpu_first;
	char cg_mem[PATH_MAX];   /* created cgroups ("" = none) */
	char cg_cpu[PATH_MAX];
};

/* Decides the limits and makes the cgroups; FF_OK when none apply too. */
int exec_limits_setup(struct exec_proc *p, struct exec_limits *l, struct ff_error *err);
/* argv prefixed with fedflow-launch and its options (owned), or argv itself. */
char **exec_limits_wrap(const struct exec_proc *p, const struct exec_limits *l, char **argv);
/* True when the memory cgroup killed the task. */
bool exec_limits_oom(const struct exec_limits *l);
/* Removes the task's cgroups (after the process ended). */
void exec_limits_cleanup(struct exec_limits *l);

#endif
