// SPDX-License-Identifier: Apache-2.0
/*
 * exec.c - starting, watching and killing task processes.
 *
 * Processes are started with posix_spawn (vfork-style, cheap even from a
 * large daemon) in a new process group whose id is the child's pid, with
 * an empty signal mask (the daemon blocks SIGCHLD/SIGTERM for its
 * signalfd; children must not inherit that). Stop kills the whole group,
 * so helpers a component started die with it. Exits are reaped by
 * exec_reap from the core loop when SIGCHLD arrives.
 */
#include "ff_setup.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clock.h"
#include "exec_int.h"
#include "fault.h"
#include "fs.h"
#include "log.h"
#include "mem.h"
#include "site.h"
#include "status.h"
#include "store.h"

extern char **environ;

int exec_init(struct site *s, exec_end_cb on_end, exec_pid_cb on_pid, struct ff_error *err)
{
	s->exec = ff_calloc(1, sizeof(*s->exec));
	if (!s->exec)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	s->exec->on_end = on_end;
	s->exec->on_pid = on_pid;
	s->exec->define_cache = json_object();
	return FF_OK;
}

static void exec_proc_free(struct exec_proc *p)
{
	exec_limits_cleanup(&p->lim);
	if (p->pidfd >= 0 && p->site) {
		ev_io_stop(p->site->loop, &p->pidfd_io);
		close(p->pidfd);
	}
	provider_info_release(&p->provider);
	json_decref(p->plan);
	ff_free(p->task_dir);
	ff_free(p->log_base);
	ff_free(p->define_path);
	ff_free(p->config_path);
	ff_free(p->result_path);
	ff_free(p->logger_dir);
	ff_free(p);
}

void exec_release(struct site *s)
{
	if (!s->exec)
		return;
	for (size_t i = 0; i < FF_ARRAY_SIZE(s->exec->buckets); i++) {
		struct exec_proc *p = s->exec->buckets[i];
		while (p) {
			struct exec_proc *n = p->next;
			ev_timer_stop(s->loop, &p->timer);
			exec_proc_free(p);
			p = n;
		}
	}
	json_decref(s->exec->define_cache);
	FF_FREE_AND_NULL(s->exec);
}

size_t exec_running(const struct site *s)
{
	return s->exec->running;
}

static size_t exec_bucket(pid_t pid)
{
	return (size_t)pid % 256;
}

static void exec_table_add(struct exec *e, struct exec_proc *p)
{
	size_t b = exec_bucket(p->pid);
	p->next = e->buckets[b];
	e->buckets[b] = p;
	e->running++;
}

static struct exec_proc *exec_table_take(struct exec *e, pid_t pid)
{
	struct exec_proc **pp = &e->buckets[exec_bucket(pid)];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid != pid)
			continue;
		struct exec_proc *p = *pp;
		*pp = p->next;
		p->next = NULL;
		e->running--;
		return p;
	}
	return NULL;
}

static struct exec_proc *exec_table_find_key(struct exec *e, const struct party_task_key *k)
{
	for (size_t i = 0; i < FF_ARRAY_SIZE(e->buckets); i++)
		for (struct exec_proc *p = e->buckets[i]; p; p = p->next)
			if (!strcmp(p->key.job_id, k->job_id) && !strcmp(p->key.task_id, k->task_id) &&
			    p->key.version == k->version && !strcmp(p->key.role, k->role) &&
			    !strcmp(p->key.party_id, k->party_id))
				return p;
	return NULL;
}

/*
 * One flat folder per task version, <jobs>/<job>_<role>_<party>_<task>_<version>,
 * with no folder per job above it: each folder is a new inode, and inode
 * allocation is the dearest part of a task start on a busy ext4 (it scans
 * for free inodes that were not deleted recently). Job ids have no '_', so
 * "<job>_" names exactly the folders of one job.
 */
char *exec_task_dir(const struct site *s, const struct party_task_key *k, const char *task_name)
{
	return ff_asprintf("%s/%s_%s_%s_%s_%lld", s->cfg.job_dir, k->job_id, k->role,
			   k->party_id, task_name, k->version);
}

static int exec_task_dir_remove(void *arg, const char *path, const char *rest)
{
	size_t *n = arg;
	/* <job>_...; <job>/ is the layout of earlier versions */
	if ((rest[0] == '_' || !rest[0]) && !fs_rm_rf(path))
		(*n)++;
	return 0;
}

size_t exec_task_dirs_remove(const struct site *s, const char *job_id)
{
	size_t n = 0;
	fs_each_prefixed(s->cfg.job_dir, job_id, exec_task_dir_remove, &n);
	return n;
}

/*
 * <logs>/<job>_<role>_<party>_<task>: ".log" after it names the task's log
 * file (its process's output), and a provider with log files of its own
 * writes them into the folder of this name. Flat, with no folder per job or
 * party above: a folder is a new inode, which on a busy ext4 is the
 * dearest part of a task start (see fs_set_topdir). Job ids, roles and
 * party ids have no '_', so "<job>_" names exactly the files of one job.
 */
char *exec_task_log_base(const struct site *s, const struct party_task_key *k,
			 const char *task_name)
{
	return ff_asprintf("%s/%s_%s_%s_%s", s->cfg.log_dir, k->job_id, k->role, k->party_id,
			   task_name);
}

/* Start time of a process in clock ticks since boot (field 22 of stat). */
static long long exec_start_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* after ") " come fields 3..; the start time is field 22 */
	long long v = -1;
	int field = 3;
	for (p += 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22 && sscanf(p, "%lld", &v) != 1)
		v = -1;
	return v;
}

static int exec_spawn(struct exec_proc *p, struct ff_error *err)
{
	int ret = FF_OK;
	char **argv = exec_argv(p);
	if (p->phase == EXEC_EXECUTE)
		argv = exec_limits_wrap(p, &p->lim, argv);
	char **envp = exec_envp(p);
	char *out = ff_asprintf("%s.log", p->log_base);
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_init(&fa);
	if (!argv || !envp || !out) {
		ret = FF_ENOMEM;
		goto out;
	}
	sigset_t empty, dflt;
	sigemptyset(&empty);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					 POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, p->task_dir);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp);
	if (rc) {
		ret = ff_error_set(err, FF_ETASKSTART, "cannot start '%s': %s", argv[0], strerror(rc));
		goto out;
	}
	p->pid = pid;
	p->start_ticks = exec_start_ticks(pid);
	fault_point("exec.spawned"); /* started, its pid not yet recorded */
	if (p->site->exec->on_pid)
		p->site->exec->on_pid(p->site, &p->key, pid, p->start_ticks);
out:
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	provider_argv_free(argv);
	provider_argv_free(envp);
	ff_free(out);
	return ret;
}

static void exec_timeout_cb(struct ev_timer *t)
{
	struct exec_proc *p = ff_container_of(t, struct exec_proc, timer);
	char msg[160];
	snprintf(msg, sizeof(msg), "task exceeded its timeout of %lld s and was killed",
		 p->timeout);
	if (p->pid > 0)
		killpg(p->pid, SIGKILL);
	p->killed = true;
	p->site->exec->on_end(p->site, &p->key, ST_TIMEOUT, msg);
}

static int exec_proc_init(struct site *s, const struct exec_task_spec *spec,
			  struct exec_proc *p, struct ff_error *err)
{
	p->site = s;
	p->pidfd = -1;
	p->key = spec->key;
	snprintf(p->task_name, sizeof(p->task_name), "%s", spec->task_name);
	snprintf(p->component, sizeof(p->component), "%s", spec->component);
	snprintf(p->execution_id, sizeof(p->execution_id), "%s", spec->execution_id);
	const char *stage = json_string_value(json_object_get(spec->plan, "stage"));
	snprintf(p->stage, sizeof(p->stage), "%s", stage ? stage : "default");
	p->plan = json_deep_copy(spec->plan);
	p->timeout = spec->timeout;
	ev_timer_init(&p->timer, exec_timeout_cb);
	p->task_dir = exec_task_dir(s, &spec->key, spec->task_name);
	p->log_base = exec_task_log_base(s, &spec->key, spec->task_name);
	if (!p->plan || !p->task_dir || !p->log_base)
		return FF_ENOMEM;
	int ret = provider_get(s, spec->provider_name, &p->provider, err);
	if (!ret)
		ret = exec_prepare_dirs(p, err);
	return ret;
}

/* Starts the execute phase (or define first when the IO spec is unknown). */
static int exec_next_phase(struct exec_proc *p, struct ff_error *err)
{
	if (p->phase == EXEC_EXECUTE || exec_io_spec(p)) {
		p->phase = EXEC_EXECUTE;
		int ret = exec_write_config(p, err);
		if (!ret)
			ret = exec_limits_setup(p, &p->lim, err);
		return ret ? ret : exec_spawn(p, err);
	}
	return exec_spawn(p, err);
}

int exec_task_start(struct site *s, const struct exec_task_spec *spec, pid_t *pid,
		    struct ff_error *err)
{
	struct exec_proc *p = ff_calloc(1, sizeof(*p));
	if (!p)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret = exec_proc_init(s, spec, p, err);
	if (!ret)
		ret = exec_next_phase(p, err);
	if (ret) {
		exec_proc_free(p);
		return ret;
	}
	exec_table_add(s->exec, p);
	if (p->timeout > 0)
		ev_timer_start(s->loop, &p->timer, p->timeout * 1000);
	*pid = p->pid;
	return FF_OK;
}

int exec_task_kill(struct site *s, const struct party_task_key *k)
{
	struct exec_proc *p = exec_table_find_key(s->exec, k);
	if (!p)
		return FF_OK;
	p->killed = true;
	ev_timer_stop(s->loop, &p->timer);
	if (killpg(p->pid, SIGKILL) && errno != ESRCH)
		return ff_from_errno(errno);
	return FF_OK;
}

static void exec_status_text(int wstatus, char *buf, size_t n)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, n, "exit status %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(wstatus),
			 strsignal(WTERMSIG(wstatus)));
	else
		snprintf(buf, n, "wait status %d", wstatus);
}

/* The define process ended: load its IO spec and start execute. */
static bool exec_define_done(struct exec_proc *p, int wstatus)
{
	struct ff_error err = FF_ERROR_INIT;
	char st[96];
	int ret;
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
		exec_status_text(wstatus, st, sizeof(st));
		ret = ff_error_set(&err, FF_ETASKRUN, "component artifact-type failed (%s): see "
				   "the task log (log_type task_info)", st);
	} else {
		ret = exec_define_load(p, &err);
		if (!ret) {
			p->phase = EXEC_EXECUTE;
			ret = exec_next_phase(p, &err);
		}
	}
	if (ret) {
		p->site->exec->on_end(p->site, &p->key, ST_FAILED, ff_error_msg(&err, ret));
		return false;
	}
	exec_table_add(p->site->exec, p);
	return true;
}

/* Did the task fail because of its memory limit? */
static bool exec_memory_exceeded(const struct exec_proc *p, int wstatus, const char *error)
{
	if (exec_limits_oom(&p->lim))
		return true;
	if (!p->lim.rlimit_mem)
		return false;
	/* under RLIMIT_AS an allocation fails: the component says so or dies */
	return (WIFSIGNALED(wstatus) && (WTERMSIG(wstatus) == SIGKILL ||
					 WTERMSIG(wstatus) == SIGSEGV ||
					 WTERMSIG(wstatus) == SIGABRT)) ||
	       (error && (strstr(error, "out of memory") || strstr(error, "Cannot allocate")));
}

static void exec_exited(struct site *s, struct exec_proc *p, int wstatus)
{
	if (p->killed) {
		exec_proc_free(p);
		return;
	}
	if (p->phase == EXEC_DEFINE) {
		if (!exec_define_done(p, wstatus)) {
			ev_timer_stop(s->loop, &p->timer);
			exec_proc_free(p);
		}
		return;
	}
	ev_timer_stop(s->loop, &p->timer);
	/* its outputs and its end are recorded together, in one commit */
	bool txn = !store_txn_begin(s->db, NULL);
	char *error = NULL;
	int ret = exec_collect(p, wstatus, &error);
	if (ret && p->lim.mem_mb > 0 && exec_memory_exceeded(p, wstatus, error)) {
		char *e2 = ff_asprintf("memory limit exceeded (limit %lld MB): %s", p->lim.mem_mb,
				       error ? error : "");
		ff_free(error);
		error = e2;
	}
	s->exec->on_end(s, &p->key, ret ? ST_FAILED : ST_SUCCESS, error);
	if (txn)
		store_txn_commit(s->db, NULL);
	ff_free(error);
	exec_proc_free(p);
}

void exec_reap(struct site *s)
{
	for (;;) {
		int wstatus;
		pid_t pid = waitpid(-1, &wstatus, WNOHANG);
		if (pid <= 0)
			break;
		struct exec_proc *p = exec_table_take(s->exec, pid);
		if (p)
			exec_exited(s, p, wstatus);
	}
}

/* ---- adoption after a restart ---- */

static void exec_pidfd_cb(struct ev_io *io, uint32_t revents)
{
	struct exec_proc *p = ff_container_of(io, struct exec_proc, pidfd_io);
	struct site *s = p->site;
	exec_table_take(s->exec, p->pid);
	/* not our child: no exit status; the final meta says how it ended */
	exec_exited(s, p, 0);
}

/*
 * The task process whose working folder is dir: a daemon killed between
 * posix_spawn and recording the pid left a task with no pid in the store,
 * and only its folder (unique per task version) names it.
 */
static pid_t exec_find_by_cwd(const char *dir, long long *start_ticks)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	while (d && !found && (e = readdir(d))) {
		char path[64], cwd[PATH_MAX];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cwd", e->d_name);
		ssize_t n = readlink(path, cwd, sizeof(cwd) - 1);
		if (n <= 0)
			continue;
		cwd[n] = '\0';
		if (!strcmp(cwd, dir))
			found = (pid_t)strtol(e->d_name, NULL, 10);
	}
	if (d)
		closedir(d);
	*start_ticks = found ? exec_start_ticks(found) : -1;
	return found;
}

int exec_task_adopt(struct site *s, const struct exec_task_spec *spec, pid_t pid,
		    long long start_ticks, long long timeout_left, struct ff_error *err)
{
	struct exec_proc *p = ff_calloc(1, sizeof(*p));
	if (!p)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret = exec_proc_init(s, spec, p, err);
	bool found = false;
	if (!ret && (pid <= 0 || start_ticks <= 0 || exec_start_ticks(pid) != start_ticks)) {
		pid = exec_find_by_cwd(p->task_dir, &start_ticks);
		found = pid > 0;
	}
	if (!ret && (pid <= 0 || start_ticks <= 0))
		ret = FF_ESRCH;
	if (!ret && found && s->exec->on_pid)
		s->exec->on_pid(s, &p->key, pid, start_ticks);
	if (!ret) {
		p->pid = pid;
		p->start_ticks = start_ticks;
		p->phase = EXEC_EXECUTE;
		p->adopted = true;
		p->pidfd = pidfd_open(pid, 0);
		if (p->pidfd < 0)
			ret = FF_ESRCH;
	}
	if (!ret) {
		p->pidfd_io.fd = p->pidfd;
		p->pidfd_io.events = EPOLLIN;
		p->pidfd_io.cb = exec_pidfd_cb;
		ret = ev_io_start(s->loop, &p->pidfd_io);
	}
	if (ret) {
		exec_proc_free(p);
		return ret;
	}
	exec_table_add(s->exec, p);
	if (timeout_left > 0)
		ev_timer_start(s->loop, &p->timer, timeout_left * 1000);
	else if (spec->timeout > 0)
		ev_timer_start(s->loop, &p->timer, 0); /* already over its time */
	return FF_OK;
}

void exec_task_result(struct site *s, const struct exec_task_spec *spec, const char **status,
		      char **error)
{
	struct exec_proc *p = ff_calloc(1, sizeof(*p));
	struct ff_error err = FF_ERROR_INIT;
	*status = ST_FAILED;
	*error = NULL;
	if (!p || exec_proc_init(s, spec, p, &err)) {
		*error = ff_asprintf("cannot look at the task's results: %s", ff_error_msg(&err, FF_ENOMEM));
	} else {
		p->adopted = true;
		int ret = exec_collect(p, 0, error);
		*status = ret ? ST_FAILED : ST_SUCCESS;
	}
	if (p)
		exec_proc_free(p);
}
