// SPDX-License-Identifier: Apache-2.0
/* detect.c - the detectors' pass (see detect.h). */
#include "ff_setup.h"
#include <limits.h>
#include "clock.h"
#include "detect.h"
#include "ev.h"
#include "exec/exec.h"
#include "fed.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "party/party.h"
#include "site.h"
#include "store.h"

struct detect {
	struct site *site;
	struct ev_timer timer;
};

struct detect_rows {
	json_t *rows;
};

static int detect_rows_cb(void *arg, const struct store_row *row)
{
	struct detect_rows *d = arg;
	json_t *o = json_object();
	for (size_t i = 0; i < row->ncols; i++) {
		const struct store_val *v = &row->vals[i];
		json_object_set_new(o, row->names[i], v->type == STORE_INT ? json_integer(v->i)
				    : v->type == STORE_TEXT ? json_string(v->s) : json_null());
	}
	json_array_append_new(d->rows, o);
	return FF_OK;
}

static json_t *detect_query(struct site *s, const char *sql, const struct store_val *a,
			    size_t n)
{
	struct detect_rows d = { json_array() };
	store_exec(s->db, sql, a, n, detect_rows_cb, &d, NULL, NULL);
	return d.rows;
}

/* Cores still held by jobs that ended on this site. */
static void detect_job_cores(struct site *s)
{
	json_t *rows = detect_query(s, "SELECT f_job_id, f_role, f_party_id, f_status FROM t_job"
				    " WHERE f_resource_in_use = 1 AND f_status IN ('success',"
				    " 'failed', 'canceled', 'timeout')", NULL, 0);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *job = jsonx_str(r, "f_job_id");
		if (!party_job_resource_return(s, job, jsonx_str(r, "f_role"),
					       jsonx_str(r, "f_party_id"), NULL))
			site_joblog(s, job, FF_LOG_WARN, "detector: job had ended (%s) but still held "
				    "cores on %s %s: given back", jsonx_str(r, "f_status"),
				    jsonx_str(r, "f_role"), jsonx_str(r, "f_party_id"));
	}
	json_decref(rows);
}

/* Task cores still held by tasks that ended. */
static void detect_task_cores(struct site *s)
{
	json_t *rows = detect_query(s, "SELECT f_job_id, f_task_id, f_task_version, f_role,"
				    " f_party_id FROM t_task WHERE f_resource_in_use = 1 AND"
				    " f_party_status IN ('success', 'pass', 'failed', 'canceled',"
				    " 'timeout')", NULL, 0);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		struct party_task_key k = { 0 };
		snprintf(k.job_id, sizeof(k.job_id), "%s", jsonx_str(r, "f_job_id"));
		snprintf(k.task_id, sizeof(k.task_id), "%s", jsonx_str(r, "f_task_id"));
		jsonx_as_int(json_object_get(r, "f_task_version"), &k.version);
		snprintf(k.role, sizeof(k.role), "%s", jsonx_str(r, "f_role"));
		snprintf(k.party_id, sizeof(k.party_id), "%s", jsonx_str(r, "f_party_id"));
		if (!party_task_resource_return(s, &k, NULL))
			site_joblog(s, k.job_id, FF_LOG_WARN, "detector: task %s had ended but still "
				    "held task cores on %s %s: given back", k.task_id, k.role,
				    k.party_id);
	}
	json_decref(rows);
}

static void detect_stop_done(struct fed_call *call, void *arg)
{
	(void)call;
	(void)arg;
}

/* Jobs waiting for cores longer than job_default.queue_timeout. */
static void detect_queue_timeout(struct site *s)
{
	long long limit = 0;
	jsonx_as_int(json_object_get(s->cfg.job_default, "queue_timeout"), &limit);
	if (limit <= 0)
		return;
	struct store_val a[] = { SV_INT(clock_now_ms() - limit * 1000) };
	json_t *rows = detect_query(s, "SELECT f_job_id FROM t_schedule_job WHERE f_status ="
				    " 'waiting' AND f_create_time < ?", a, 1);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *job = jsonx_str(r, "f_job_id");
		char reason[160];
		snprintf(reason, sizeof(reason), "waited longer than job_default.queue_timeout "
			 "(%lld s) for cores", limit);
		site_joblog(s, job, FF_LOG_WARN, "detector: %s: canceling it", reason);
		json_t *b = json_pack("{s:s,s:s,s:s}", "job_id", job, "stop_status", "canceled",
				      "reason", reason);
		fed_scheduler_send(s, s->cfg.party_id, "job/stop", b, detect_stop_done, NULL);
		json_decref(b);
	}
	json_decref(rows);
}

/* Working folders of jobs that ended long ago (logs and outputs stay). */
static void detect_task_dirs(struct site *s)
{
	long long ttl = 7 * 24 * 3600;
	jsonx_as_int(json_object_get(s->cfg.job_default, "task_dir_ttl"), &ttl);
	if (ttl <= 0)
		return;
	struct store_val a[] = { SV_INT(clock_now_ms() - ttl * 1000) };
	json_t *rows = detect_query(s, "SELECT DISTINCT f_job_id FROM t_job WHERE f_status IN"
				    " ('success', 'failed', 'canceled', 'timeout') AND"
				    " f_end_time < ?", a, 1);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *job = jsonx_str(r, "f_job_id");
		/* model and metric files were recorded when the task ended */
		if (job && exec_task_dirs_remove(s, job))
			site_joblog(s, job, FF_LOG_INFO, "detector: removed the task folders of the "
				    "job (ended more than %lld s ago)", ttl);
	}
	json_decref(rows);
}

void detect_run(struct site *s)
{
	detect_job_cores(s);
	detect_task_cores(s);
	detect_queue_timeout(s);
	detect_task_dirs(s);
}

static void detect_timer_cb(struct ev_timer *t)
{
	struct detect *d = ff_container_of(t, struct detect, timer);
	detect_run(d->site);
	ev_timer_start(d->site->loop, t, d->site->cfg.detect_interval_ms);
}

int detect_init(struct site *s, struct ff_error *err)
{
	struct detect *d = ff_calloc(1, sizeof(*d));
	if (!d)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	d->site = s;
	ev_timer_init(&d->timer, detect_timer_cb);
	/* first pass at once: a daemon killed mid-way may hold cores of ended jobs */
	ev_timer_start(s->loop, &d->timer, 0);
	s->detect = d;
	return FF_OK;
}

void detect_release(struct site *s)
{
	if (!s->detect)
		return;
	ev_timer_stop(s->loop, &s->detect->timer);
	FF_FREE_AND_NULL(s->detect);
}
