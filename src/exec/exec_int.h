/* SPDX-License-Identifier: Apache-2.0 */
/* exec_int.h - shared between the executor's files only. */
#ifndef FF_EXEC_INT_H
#define FF_EXEC_INT_H

#include <jansson.h>
#include <sys/types.h>
#include "ev.h"
#include "exec_limit.h"
#include "exec.h"
#include "provider/provider.h"

enum exec_phase { EXEC_DEFINE, EXEC_EXECUTE };

/* One task process this site runs (in memory; rebuilt from t_task). */
struct exec_proc {
	struct exec_proc *next;         /* hash chain by pid */
	struct site *site;
	struct party_task_key key;
	char task_name[64];
	char component[128];
	char stage[64];
	char execution_id[256];
	struct provider_info provider;
	json_t *plan;                   /* owned */
	pid_t pid;
	long long start_ticks;          /* /proc start time: tells our pid from a reused one */
	enum exec_phase phase;
	bool killed;                    /* stop or timeout: the end is recorded elsewhere */
	bool adopted;                   /* started by an earlier fedflowd: not our child */
	int pidfd;                      /* adopted: readable when the process ends */
	struct ev_io pidfd_io;
	long long timeout;
	struct ev_timer timer;
	char *task_dir;                 /* exec_task_dir: <jobs>/<job>_<role>_<party>_<task>_<version> */
	char *log_base;                 /* exec_task_log_base: + ".log" is the task's log */
	char *define_path;              /* artifact-type output */
	char *config_path;              /* task_parameters.yaml */
	char *result_path;              /* execution final meta */
	char *logger_dir;               /* <log_base>/: for providers' own log files */
	struct exec_limits lim;         /* isolation of the execute process */
};

struct exec {
	exec_end_cb on_end;
	exec_pid_cb on_pid;
	struct exec_proc *buckets[256];
	size_t running;
	json_t *define_cache;           /* "provider|component|role|stage" -> IO spec */
	int next_cpu;                   /* pinning: first CPU of the next task */
};

/* exec_prepare.c */
int exec_prepare_dirs(struct exec_proc *p, struct ff_error *err);
/* IO description of the component for this role/stage, or NULL if unknown. */
const json_t *exec_io_spec(struct exec_proc *p);
/* Records the output of `artifact-type` in the cache. */
int exec_define_load(struct exec_proc *p, struct ff_error *err);
/* Writes task_parameters.yaml (TaskConfigSpec). */
int exec_write_config(struct exec_proc *p, struct ff_error *err);
/* argv/env of the execute or define process (owned; provider_argv_free). */
char **exec_argv(struct exec_proc *p);
char **exec_envp(struct exec_proc *p);

/* exec_outputs.c: reads the final meta, records outputs; *error owned. */
int exec_collect(struct exec_proc *p, int wstatus, char **error);

#endif
