// SPDX-License-Identifier: Apache-2.0
/*
 * party_recover.c - a restarted fedflowd takes its running tasks back.
 *
 * Task processes live in their own process groups and outlive a killed
 * daemon. For each task the database still shows as running here: if its
 * recorded pid runs with the recorded start time, it is adopted (watched
 * through a pidfd; its end is read from its final meta, since it is not
 * our child); if it is gone, its final meta says whether it finished
 * while the daemon was down (its outputs are recorded and it succeeds) or
 * not (it fails, and auto_retries apply). No task version runs twice.
 */
#include "ff_setup.h"
#include "clock.h"
#include "exec/exec.h"
#include "log.h"
#include "mem.h"
#include "party_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

static void recover_one(struct site *s, const struct party_task_key *k)
{
	struct party_task_row t = { 0 };
	struct ff_error err = FF_ERROR_INIT;
	if (party_task_load(s, k, &t, &err)) {
		party_task_ended(s, k, ST_FAILED, "fedflowd restarted and cannot read the task");
		json_decref(t.plan);
		return;
	}
	struct exec_task_spec spec = {
		.key = *k, .task_name = t.task_name, .component = t.component,
		.provider_name = t.provider, .execution_id = t.exec_id, .plan = t.plan,
		.timeout = t.timeout, .cores = t.cores,
	};
	/* killed before the start was recorded: it has just begun */
	long long left = t.timeout;
	if (t.timeout > 0 && t.start_time > 0) {
		left = t.timeout - (clock_now_ms() - t.start_time) / 1000;
		if (left <= 0)
			left = 0;
	}
	int ret = exec_task_adopt(s, &spec, (pid_t)t.run_pid, t.run_start, left, &err);
	if (!ret) {
		site_joblog(s, k->job_id, FF_LOG_INFO, "task %s %s %s adopted after a restart",
			    k->task_id, k->role, k->party_id);
	} else {
		const char *status;
		char *error = NULL;
		exec_task_result(s, &spec, &status, &error);
		site_joblog(s, k->job_id, FF_LOG_WARN, "task %s %s %s ended while fedflowd was down: %s",
			    k->task_id, k->role, k->party_id, status);
		party_task_ended(s, k, status, error ? error : "its process ended while fedflowd "
				 "was down");
		ff_free(error);
	}
	json_decref(t.plan);
}

void party_recover_tasks(struct site *s)
{
	struct party_keys l = { 0 };
	store_exec(s->db, "SELECT f_job_id, f_task_id, f_task_version, f_role, f_party_id FROM"
		   " t_task WHERE f_party_status = 'running'", NULL, 0, party_keys_cb, &l,
		   NULL, NULL);
	for (size_t i = 0; i < l.n; i++)
		recover_one(s, &l.keys[i]);
	if (l.n)
		ff_log(FF_LOG_INFO, "recovered %zu running tasks of the previous run", l.n);
	ff_free(l.keys);
}
