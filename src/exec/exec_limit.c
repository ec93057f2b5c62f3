// SPDX-License-Identifier: Apache-2.0
/* exec_limit.c - cgroups, pinning and rlimits of task processes. */
#include "ff_setup.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "exec_int.h"
#include "exec_limit.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "site.h"

/* fedflowd's own cgroup directory for a v1 controller, "" if none. */
static void limit_own_cgroup(const char *ctrl, char *out, size_t n)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		char *path = c2 + 1;
		path[strcspn(path, "\n")] = '\0';
		/* the controller list ("cpu,cpuacct") must contain ctrl */
		bool has = false;
		for (char *tok = c1 + 1; tok && !has;) {
			char *comma = strchr(tok, ',');
			size_t len = comma ? (size_t)(comma - tok) : strlen(tok);
			has = len == strlen(ctrl) && !strncmp(tok, ctrl, len);
			tok = comma ? comma + 1 : NULL;
		}
		if (!has)
			continue;
		snprintf(out, n, "/sys/fs/cgroup/%s%s", ctrl, !strcmp(path, "/") ? "" : path);
		break;
	}
	if (f)
		fclose(f);
}

static int limit_write(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Makes <own cgroup>/fedflow/<execution id> for ctrl; "" when impossible. */
static void limit_make_cgroup(const struct exec_proc *p, const char *ctrl, char *out, size_t n)
{
	char own[PATH_MAX];
	limit_own_cgroup(ctrl, own, sizeof(own));
	out[0] = '\0';
	if (!own[0] || access(own, W_OK))
		return;
	snprintf(out, n, "%s/fedflow/%s", own, p->execution_id);
	if (fs_mkdirs(out, 0755, NULL))
		out[0] = '\0';
}

static void limit_plan(const struct exec_proc *p, struct exec_limits *l)
{
	const struct config *c = &p->site->cfg;
	const json_t *run = json_object_get(p->plan, "engine_run");
	long long v = 0;
	memset(l, 0, sizeof(*l));
	l->mem_mb = c->iso_memory_mb;
	if (jsonx_as_int(json_object_get(run, "memory"), &v) && v > 0)
		l->mem_mb = v;
	if (c->iso_enabled && jsonx_as_int(json_object_get(run, "cores"), &v) && v > 0)
		l->cores = v;
	l->nofile = c->iso_enabled ? c->iso_nofile : 0;
	l->pin = c->iso_enabled && c->iso_affinity && l->cores > 0;
	l->no_new_privs = c->iso_enabled;
	l->active = l->mem_mb > 0 || l->cores > 0 || l->nofile > 0 || l->no_new_privs;
}

int exec_limits_setup(struct exec_proc *p, struct exec_limits *l, struct ff_error *err)
{
	limit_plan(p, l);
	if (!l->active)
		return FF_OK;
	if (!p->site->cfg.launch_bin)
		return ff_error_set(err, FF_ENOENT, "task limits need fedflow-launch next to fedflowd");
	char v[64];
	if (l->mem_mb > 0) {
		limit_make_cgroup(p, "memory", l->cg_mem, sizeof(l->cg_mem));
		snprintf(v, sizeof(v), "%lld", l->mem_mb << 20);
		if (l->cg_mem[0] && limit_write(l->cg_mem, "memory.limit_in_bytes", v)) {
			fs_rm_rf(l->cg_mem);
			l->cg_mem[0] = '\0';
		}
		l->rlimit_mem = !l->cg_mem[0];
		if (!l->rlimit_mem) /* over the limit means killed, not swapped */
			limit_write(l->cg_mem, "memory.swappiness", "0");
	}
	if (l->cores > 0 && p->site->cfg.iso_cpu_quota) {
		limit_make_cgroup(p, "cpu", l->cg_cpu, sizeof(l->cg_cpu));
		snprintf(v, sizeof(v), "%lld", l->cores * 100000);
		if (l->cg_cpu[0] && (limit_write(l->cg_cpu, "cpu.cfs_period_us", "100000") ||
				     limit_write(l->cg_cpu, "cpu.cfs_quota_us", v))) {
			fs_rm_rf(l->cg_cpu);
			l->cg_cpu[0] = '\0';
		}
	}
	if (l->pin) {
		l->cpu_first = p->site->exec->next_cpu;
		p->site->exec->next_cpu += (int)l->cores;
	}
	return FF_OK;
}

char **exec_limits_wrap(const struct exec_proc *p, const struct exec_limits *l, char **argv)
{
	if (!l->active || !argv)
		return argv;
	size_t n = 0;
	while (argv[n])
		n++;
	char **out = ff_calloc(n + 16, sizeof(*out));
	if (!out)
		return argv;
	size_t j = 0;
	out[j++] = ff_strdup(p->site->cfg.launch_bin);
	if (l->cg_mem[0]) {
		out[j++] = ff_strdup("--cgroup");
		out[j++] = ff_strdup(l->cg_mem);
	}
	if (l->cg_cpu[0]) {
		out[j++] = ff_strdup("--cgroup");
		out[j++] = ff_strdup(l->cg_cpu);
	}
	if (l->rlimit_mem) {
		out[j++] = ff_strdup("--mem");
		out[j++] = ff_asprintf("%lld", l->mem_mb << 20);
	}
	if (l->nofile > 0) {
		out[j++] = ff_strdup("--nofile");
		out[j++] = ff_asprintf("%lld", l->nofile);
	}
	if (l->pin) {
		out[j++] = ff_strdup("--cpus");
		out[j++] = ff_asprintf("%d:%lld", l->cpu_first, l->cores);
	}
	if (l->no_new_privs)
		out[j++] = ff_strdup("--no-new-privs");
	out[j++] = ff_strdup("--");
	for (size_t i = 0; i < n; i++)
		out[j++] = argv[i];
	ff_free(argv); /* its strings now belong to out */
	return out;
}

bool exec_limits_oom(const struct exec_limits *l)
{
	if (!l->cg_mem[0])
		return false;
	char path[PATH_MAX], line[128];
	snprintf(path, sizeof(path), "%s/memory.oom_control", l->cg_mem);
	FILE *f = fopen(path, "r");
	bool oom = false;
	while (f && fgets(line, sizeof(line), f)) {
		long long n = 0;
		if (sscanf(line, "oom_kill %lld", &n) == 1 && n > 0)
			oom = true;
	}
	if (f)
		fclose(f);
	if (!oom) {
		snprintf(path, sizeof(path), "%s/memory.failcnt", l->cg_mem);
		f = fopen(path, "r");
		long long n = 0;
		if (f && fscanf(f, "%lld", &n) == 1 && n > 0)
			oom = true;
		if (f)
			fclose(f);
	}
	return oom;
}

void exec_limits_cleanup(struct exec_limits *l)
{
	/* cgroups are removed with rmdir once empty; the process has ended */
	if (l->cg_mem[0])
		rmdir(l->cg_mem);
	if (l->cg_cpu[0])
		rmdir(l->cg_cpu);
	l->cg_mem[0] = l->cg_cpu[0] = '\0';
}
