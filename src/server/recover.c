// SPDX-License-Identifier: Apache-2.0
/* recover.c - carry on after a restart (see recover.h). */
#include "ff_setup.h"
#include <signal.h>
#include "log.h"
#include "mem.h"
#include "party/party.h"
#include "recover.h"
#include "sched/sched.h"
#include "site.h"
#include "store.h"

struct recover_list {
	struct party_task_key *keys;
	int64_t *pids;
	size_t n;
};

static int recover_cb(void *arg, const struct store_row *row)
{
	struct recover_list *l = arg;
	struct party_task_key *k = ff_realloc(l->keys, (l->n + 1) * sizeof(*k));
	int64_t *p = k ? ff_realloc(l->pids, (l->n + 1) * sizeof(*p)) : NULL;
	if (k)
		l->keys = k;
	if (!p)
		return FF_ENOMEM;
	l->pids = p;
	k = &l->keys[l->n];
	memset(k, 0, sizeof(*k));
	snprintf(k->job_id, sizeof(k->job_id), "%s", store_col_text(row, "f_job_id"));
	snprintf(k->task_id, sizeof(k->task_id), "%s", store_col_text(row, "f_task_id"));
	k->version = store_col_int(row, "f_task_version");
	snprintf(k->role, sizeof(k->role), "%s", store_col_text(row, "f_role"));
	snprintf(k->party_id, sizeof(k->party_id), "%s", store_col_text(row, "f_party_id"));
	l->pids[l->n] = store_col_int(row, "f_run_pid");
	l->n++;
	return FF_OK;
}

void recover_run(struct site *s)
{
	struct recover_list l = { 0 };
	store_exec(s->db, "SELECT f_job_id, f_task_id, f_task_version, f_role, f_party_id,"
		   " f_run_pid FROM t_task WHERE f_party_status = 'running'", NULL, 0,
		   recover_cb, &l, NULL, NULL);
	for (size_t i = 0; i < l.n; i++) {
		/* a survivor cannot be reaped by this process: end it cleanly */
		if (l.pids[i] > 0)
			killpg((pid_t)l.pids[i], SIGKILL);
		party_task_ended(s, &l.keys[i], "failed",
				 "fedflowd restarted while the task ran; the task was ended");
	}
	if (l.n)
		ff_log(FF_LOG_WARN, "recovered %zu tasks left running by the previous run", l.n);
	ff_free(l.keys);
	ff_free(l.pids);
	sched_sweep(s);
}
