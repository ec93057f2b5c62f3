// SPDX-License-Identifier: Apache-2.0
/*
 * launch.c - fedflow-launch: applies a task's limits to itself, then
 * becomes the task (execv). fedflowd starts tasks through it only when
 * limits are asked for, so the usual path stays one exec.
 *
 *   fedflow-launch [--cgroup DIR]... [--mem BYTES] [--nofile N]
 *                  [--cpus FIRST:COUNT] [--no-new-privs] -- PROGRAM ARGS...
 *
 * --cgroup moves this process into DIR (its cgroup.procs), where
 * fedflowd set the memory and CPU limits; --mem sets RLIMIT_AS instead
 * when no memory cgroup could be made; --cpus pins to COUNT CPUs from
 * FIRST (modulo the CPUs there are); --no-new-privs forbids gaining
 * privileges through exec. Any failure exits 126 with the reason on
 * stderr (the task's log), so a task never runs without its limits.
 */
#include "ff_setup.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static int die(const char *what, const char *arg)
{
	fprintf(stderr, "fedflow-launch: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
		strerror(errno));
	return 126;
}

static int join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	int ok = write(fd, pid, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -1;
}

static int pin(const char *spec)
{
	int first = 0, count = 0;
	if (sscanf(spec, "%d:%d", &first, &count) != 2 || count <= 0) {
		errno = EINVAL;
		return -1;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu <= 0)
		ncpu = 1;
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int i = 0; i < count && i < ncpu; i++)
		CPU_SET((first + i) % ncpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int set_limit(int resource, const char *value)
{
	char *end;
	unsigned long long v = strtoull(value, &end, 10);
	if (*end || !*value) {
		errno = EINVAL;
		return -1;
	}
	struct rlimit rl = { (rlim_t)v, (rlim_t)v };
	return setrlimit(resource, &rl);
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(opt, "--no-new-privs")) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
				return die("cannot set no_new_privs", NULL);
			continue;
		}
		if (!val)
			return die("missing value after", opt);
		i++;
		if (!strcmp(opt, "--cgroup")) {
			if (join_cgroup(val))
				return die("cannot join cgroup", val);
		} else if (!strcmp(opt, "--mem")) {
			if (set_limit(RLIMIT_AS, val))
				return die("cannot limit memory to", val);
		} else if (!strcmp(opt, "--nofile")) {
			if (set_limit(RLIMIT_NOFILE, val))
				return die("cannot limit open files to", val);
		} else if (!strcmp(opt, "--cpus")) {
			if (pin(val))
				return die("cannot pin to CPUs", val);
		} else {
			errno = EINVAL;
			return die("unknown option", opt);
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "usage: fedflow-launch [options] -- PROGRAM ARGS...\n");
		return 126;
	}
	execv(argv[i + 1], argv + i + 1);
	return die("cannot run", argv[i + 1]);
}
