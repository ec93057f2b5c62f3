/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec.h - the executor: task processes of this site (local device).
 *
 * fedflowd does FATE's wrapper work itself (spec §7.4): it resolves the
 * task's inputs from the tracking records, assigns output URIs, writes
 * task_parameters.yaml, starts `component execute` as one process in its
 * own process group (stdout/stderr into the task's log folder), and when
 * the process ends reads the execution final meta, records the outputs
 * (data tracking, table metas, models, metrics) and tells the participant
 * how the task ended. A provider without a known component description
 * is first asked `component artifact-type` (cached per provider,
 * component, role and stage).
 *
 * Exits are noticed at once: SIGCHLD arrives on a signalfd in the core
 * loop. Timeouts are loop timers. Core thread only.
 */
#ifndef FF_EXEC_H
#define FF_EXEC_H

#include <jansson.h>
#include <sys/types.h>
#include "err.h"
#include "party/party.h"

struct site;

struct exec_task_spec {
	struct party_task_key key;
	const char *task_name;
	const char *component;
	const char *provider_name;   /* name:version@device */
	const char *execution_id;
	const json_t *plan;          /* t_task.f_component_parameters */
	long long timeout;           /* seconds, 0 = none */
	long long cores;             /* for isolation; 0 = not limited */
};

typedef void (*exec_end_cb)(struct site *s, const struct party_task_key *k,
			    const char *status, const char *error);
/* A task's process is now pid (start_ticks from /proc, for adoption). */
typedef void (*exec_pid_cb)(struct site *s, const struct party_task_key *k, pid_t pid,
			    long long start_ticks);

int exec_init(struct site *s, exec_end_cb on_end, exec_pid_cb on_pid, struct ff_error *err);
void exec_release(struct site *s);

/*
 * Prepares and starts a task process. On success *pid is the process (and
 * process-group) id; the end is reported through on_end. The start may be
 * two-phase (artifact-type first); the pid is then that of the first
 * process and the execute process follows automatically.
 */
int exec_task_start(struct site *s, const struct exec_task_spec *spec, pid_t *pid,
		    struct ff_error *err);
/*
 * Kills the task's whole process group (SIGKILL). Returns FF_OK when a
 * process was killed or none was running. The end callback is NOT called
 * for a killed task: the caller records its status itself.
 */
int exec_task_kill(struct site *s, const struct party_task_key *k);
/*
 * After a restart: takes over a task process an earlier fedflowd started.
 * When pid still runs with the recorded start time it is watched (pidfd)
 * like a child, timeout_left seconds from now (0 = none), and FF_OK is
 * returned. Otherwise FF_ESRCH: the caller ends the task with
 * exec_task_result.
 */
int exec_task_adopt(struct site *s, const struct exec_task_spec *spec, pid_t pid,
		    long long start_ticks, long long timeout_left, struct ff_error *err);
/*
 * The end of a task whose process is gone and was not watched (it ended
 * while fedflowd was down): reads its final meta and records its outputs.
 * *status is "success" or "failed"; *error (owned, may be NULL) says why.
 */
void exec_task_result(struct site *s, const struct exec_task_spec *spec, const char **status,
		      char **error);

/* Reaps exited children; the core loop calls it when SIGCHLD arrives. */
void exec_reap(struct site *s);
/* Number of task processes this site is running. */
size_t exec_running(const struct site *s);

/* Paths of a task (owned strings; NULL on OOM). */
char *exec_task_dir(const struct site *s, const struct party_task_key *k, const char *task_name);
/* Removes the task folders of a job (every version, every party of this
 * site); returns how many were removed. */
size_t exec_task_dirs_remove(const struct site *s, const char *job_id);
/* <logs>/<job>_<role>_<party>_<task>: the task's log file is this plus
 * ".log", its provider's own log files go into the folder of this name. */
char *exec_task_log_base(const struct site *s, const struct party_task_key *k,
			 const char *task_name);

#endif
