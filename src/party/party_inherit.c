// SPDX-License-Identifier: Apache-2.0
/*
 * party_inherit.c - job inheritance (spec §4.9): a new job reuses the
 * finished tasks of an earlier one instead of running them again.
 *
 * At job start, for every task named in dag.conf.inheritance.task_list
 * that this (role, party) runs in both jobs, the earlier task's outputs
 * (data tracking, models, metrics) and its log folder are copied to the
 * new job and the task is marked success, which it reports like any
 * other end; the scheduler then starts what depends on it.
 */
#include "ff_setup.h"
#include <limits.h>
#include "clock.h"
#include "exec/exec.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "party_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

struct inherit_src {
	bool found;
	char task_id[128];
	long long version;
	char status[32];
};

static int inherit_src_cb(void *arg, const struct store_row *row)
{
	struct inherit_src *t = arg;
	t->found = true;
	snprintf(t->task_id, sizeof(t->task_id), "%s", store_col_text(row, "f_task_id"));
	t->version = store_col_int(row, "f_task_version");
	snprintf(t->status, sizeof(t->status), "%s", store_col_text(row, "f_party_status"));
	return FF_OK;
}

/* Copies the output records of one task from the source job. */
static int inherit_copy_rows(struct site *s, const char *src_job, const struct inherit_src *t,
			     const struct party_task_key *k, const char *task_name,
			     struct ff_error *err)
{
	int64_t now = clock_now_ms();
	struct store_val a[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				 SV_INT(now), SV_INT(now), SV_TEXT(src_job), SV_TEXT(t->task_id),
				 SV_INT(t->version), SV_TEXT(k->role), SV_TEXT(k->party_id) };
	int ret = store_exec(s->db,
		"INSERT INTO t_tracking_data_output (f_job_id, f_task_id, f_task_version,"
		" f_task_name, f_role, f_party_id, f_output_key, f_index, f_uri, f_namespace,"
		" f_name, f_create_time, f_update_time) SELECT ?, ?, ?, f_task_name, f_role,"
		" f_party_id, f_output_key, f_index, '', f_namespace, f_name, ?, ? FROM"
		" t_tracking_data_output WHERE f_job_id = ? AND f_task_id = ? AND f_task_version = ?"
		" AND f_role = ? AND f_party_id = ? ON CONFLICT DO NOTHING",
		a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	struct store_val b[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				 SV_INT(now), SV_INT(now), SV_TEXT(src_job), SV_TEXT(task_name),
				 SV_TEXT(k->role), SV_TEXT(k->party_id) };
	if (!ret)
		ret = store_exec(s->db,
			"INSERT INTO t_metric (f_job_id, f_role, f_party_id, f_task_name, f_task_id,"
			" f_task_version, f_name, f_type, f_groups, f_step_axis, f_data, f_create_time,"
			" f_update_time) SELECT ?, f_role, f_party_id, f_task_name, ?, ?, f_name, f_type,"
			" f_groups, f_step_axis, f_data, ?, ? FROM t_metric WHERE f_job_id = ? AND"
			" f_task_name = ? AND f_role = ? AND f_party_id = ?",
			b, FF_ARRAY_SIZE(b), NULL, NULL, NULL, err);
	struct store_val c[] = { SV_TEXT(k->job_id), SV_INT(now), SV_INT(now), SV_TEXT(src_job),
				 SV_TEXT(task_name), SV_TEXT(k->role), SV_TEXT(k->party_id) };
	if (!ret)
		ret = store_exec(s->db,
			"INSERT INTO t_model_meta (f_model_id, f_model_version, f_job_id, f_role,"
			" f_party_id, f_task_name, f_storage_key, f_output_key, f_type_name,"
			" f_meta_data, f_storage_engine, f_create_time, f_update_time)"
			" SELECT f_model_id, f_model_version, ?, f_role, f_party_id, f_task_name,"
			" f_storage_key, f_output_key, f_type_name, f_meta_data, f_storage_engine, ?, ?"
			" FROM t_model_meta WHERE f_job_id = ? AND f_task_name = ? AND f_role = ? AND"
			" f_party_id = ? ON CONFLICT DO NOTHING",
			c, FF_ARRAY_SIZE(c), NULL, NULL, NULL, err);
	return ret;
}

static void inherit_copy_logs(struct site *s, const char *src_job,
			      const struct party_task_key *k, const char *task_name)
{
	struct party_task_key sk = *k;
	snprintf(sk.job_id, sizeof(sk.job_id), "%s", src_job);
	char *from = exec_task_log_base(s, &sk, task_name);
	char *to = exec_task_log_base(s, k, task_name);
	/* the task's log file and its provider's log folder */
	static const char *const parts[] = { ".log", "" };
	for (size_t i = 0; from && to && i < FF_ARRAY_SIZE(parts); i++) {
		char src[PATH_MAX], dst[PATH_MAX];
		snprintf(src, sizeof(src), "%s%s", from, parts[i]);
		snprintf(dst, sizeof(dst), "%s%s", to, parts[i]);
		if (fs_exists(src))
			fs_copy_tree(src, dst, NULL);
	}
	ff_free(from);
	ff_free(to);
}

static int inherit_one(struct site *s, const char *src_job, const char *job_id,
		       const char *role, const char *party_id, const char *task_name,
		       struct ff_error *err)
{
	struct inherit_src t = { 0 };
	struct party_task_key k = { 0 };
	struct store_val a[] = { SV_TEXT(src_job), SV_TEXT(role), SV_TEXT(party_id),
				 SV_TEXT(task_name) };
	int ret = store_exec(s->db, "SELECT f_task_id, f_task_version, f_party_status FROM t_task"
			     " WHERE f_job_id = ? AND f_role = ? AND f_party_id = ? AND"
			     " f_task_name = ? ORDER BY f_task_version DESC LIMIT 1",
			     a, 4, inherit_src_cb, &t, NULL, err);
	if (ret || !t.found)
		return ret; /* this party did not run it: nothing to inherit here */
	if (!status_is_success(t.status))
		return ff_error_set(err, FF_EINHERIT, "task '%s' of job '%s' ended %s, not success",
				    task_name, src_job, t.status);
	snprintf(k.job_id, sizeof(k.job_id), "%s", job_id);
	snprintf(k.task_id, sizeof(k.task_id), "%s_%s", job_id, task_name);
	snprintf(k.role, sizeof(k.role), "%s", role);
	snprintf(k.party_id, sizeof(k.party_id), "%s", party_id);
	ret = inherit_copy_rows(s, src_job, &t, &k, task_name, err);
	if (ret)
		return ret;
	inherit_copy_logs(s, src_job, &k, task_name);
	bool changed;
	ret = party_task_set_party_status(s, &k, ST_SUCCESS, NULL, &changed, err);
	if (!ret && changed) {
		site_joblog(s, job_id, FF_LOG_INFO, "task %s inherited from job %s on %s %s",
			    task_name, src_job, role, party_id);
		party_report(s, &k, ST_SUCCESS);
	}
	return ret;
}

int party_inherit(struct site *s, const char *job_id, const char *role, const char *party_id,
		  const json_t *inheritance, struct ff_error *err)
{
	const char *src = jsonx_str(inheritance, "job_id");
	const json_t *list = json_object_get(inheritance, "task_list");
	if (!src || !json_is_array(list))
		return ff_error_set(err, FF_EINHERIT, "inheritance needs job_id and task_list");
	size_t i;
	json_t *name;
	int ret = FF_OK;
	json_array_foreach(list, i, name) {
		if (!json_is_string(name))
			continue;
		ret = inherit_one(s, src, job_id, role, party_id, json_string_value(name), err);
		if (ret)
			break;
	}
	return ret;
}
