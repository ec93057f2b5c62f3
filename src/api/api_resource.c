// SPDX-License-Identifier: Apache-2.0
/*
 * api_resource.c - operators' views: cores per engine and per job
 * (/v2/server/resource), liveness (/health, /v2/server/health) and
 * Prometheus metrics (/metrics).
 */
#include "ff_setup.h"
#include "api.h"
#include "exec/exec.h"
#include "fed/remote.h"
#include "site.h"
#include "store.h"

static void api_resource(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	if (!db) {
		api_fail_err(r, FF_EIO, &err);
		return;
	}
	struct jw w;
	api_ok_begin(r, &w);
	jw_obj(&w);
	jw_key(&w, "engines");
	jw_arr(&w);
	int ret = store_rows_json(db, "SELECT f_engine_type, f_engine_name, f_cores,"
				  " f_remaining_cores, f_cores - f_remaining_cores AS used_cores,"
				  " f_nodes FROM t_engine_registry ORDER BY f_engine_name", NULL, 0,
				  &w, NULL, &err);
	jw_end(&w);
	jw_key(&w, "jobs");
	jw_arr(&w);
	if (!ret)
		ret = store_rows_json(db, "SELECT f_job_id, f_role, f_party_id, f_status, f_engine_name,"
				      " f_cores, f_remaining_cores, f_cores - f_remaining_cores AS"
				      " task_cores_in_use, f_apply_resource_time FROM t_job WHERE"
				      " f_resource_in_use = 1 ORDER BY f_apply_resource_time", NULL, 0,
				      &w, NULL, &err);
	jw_end(&w);
	jw_end(&w);
	if (ret)
		api_fail_err(r, ret, &err);
	else
		api_ok_end(r, &w, NULL);
}

static void api_health(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	int64_t one = 0;
	if (!db || store_get_int(db, "SELECT 1", NULL, 0, &one, &err)) {
		http_req_set_status(r, 503);
		api_fail_code(r, 6000, "unhealthy: the database does not answer");
		return;
	}
	struct site *s = api_site(r);
	struct jw w;
	api_ok_begin(r, &w);
	jw_obj(&w);
	jw_kstr(&w, "status", "ok");
	jw_kstr(&w, "party_id", s->cfg.party_id);
	jw_kstr(&w, "version", FF_VERSION);
	jw_end(&w);
	api_ok_end(r, &w, NULL);
}

/* ---- Prometheus text format ---- */

struct api_prom {
	struct ff_buf *out;
	const char *metric;
	const char *label;
};

static int api_prom_cb(void *arg, const struct store_row *row)
{
	struct api_prom *p = arg;
	const char *lv = row->ncols > 1 ? (row->vals[0].type == STORE_TEXT ? row->vals[0].s : "") : NULL;
	const struct store_val *v = &row->vals[row->ncols - 1];
	long long n = v->type == STORE_INT ? v->i : v->type == STORE_REAL ? (long long)v->d : 0;
	if (lv)
		ff_buf_addf(p->out, "%s{%s=\"%s\"} %lld\n", p->metric, p->label, lv, n);
	else
		ff_buf_addf(p->out, "%s %lld\n", p->metric, n);
	return FF_OK;
}

static void api_prom_query(struct ff_buf *out, struct store *db, const char *metric,
			   const char *type, const char *help, const char *label, const char *sql)
{
	struct api_prom p = { out, metric, label };
	ff_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
	store_exec(db, sql, NULL, 0, api_prom_cb, &p, NULL, NULL);
}

static void api_metrics(struct http_req *r)
{
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = http_req_db(r, &err);
	if (!db) {
		api_fail_err(r, FF_EIO, &err);
		return;
	}
	struct ff_buf *out = http_req_out(r);
	ff_buf_reset(out);
	api_prom_query(out, db, "fedflow_jobs", "gauge", "Jobs of this site by status.", "status",
		       "SELECT f_status, COUNT(*) FROM t_job GROUP BY f_status");
	api_prom_query(out, db, "fedflow_scheduled_jobs", "gauge",
		       "Jobs this site schedules, by status.", "status",
		       "SELECT f_status, COUNT(*) FROM t_schedule_job GROUP BY f_status");
	api_prom_query(out, db, "fedflow_tasks_running", "gauge",
		       "Party tasks running on this site.", NULL,
		       "SELECT COUNT(*) FROM t_task WHERE f_party_status = 'running'");
	api_prom_query(out, db, "fedflow_queue_length", "gauge",
		       "Jobs waiting for admission on this site's scheduler.", NULL,
		       "SELECT COUNT(*) FROM t_schedule_job WHERE f_status = 'waiting'");
	api_prom_query(out, db, "fedflow_cores_total", "gauge", "Cores of each engine.", "engine",
		       "SELECT f_engine_name, f_cores FROM t_engine_registry");
	api_prom_query(out, db, "fedflow_cores_in_use", "gauge", "Cores held by jobs per engine.",
		       "engine", "SELECT f_engine_name, f_cores - f_remaining_cores FROM"
		       " t_engine_registry");
	/* scheduling latency: job creation to start, over jobs that started */
	static const long long bounds[] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000,
					    60000 };
	ff_buf_addf(out, "# HELP fedflow_scheduling_latency_ms Job creation to start.\n"
			 "# TYPE fedflow_scheduling_latency_ms histogram\n");
	for (size_t i = 0; i < FF_ARRAY_SIZE(bounds); i++) {
		int64_t n = 0;
		struct store_val a[] = { SV_INT(bounds[i]) };
		store_get_int(db, "SELECT COUNT(*) FROM t_schedule_job WHERE f_start_time IS NOT NULL"
			      " AND f_start_time - f_create_time <= ?", a, 1, &n, NULL);
		ff_buf_addf(out, "fedflow_scheduling_latency_ms_bucket{le=\"%lld\"} %lld\n",
			    bounds[i], (long long)n);
	}
	int64_t count = 0, sum = 0;
	store_get_int(db, "SELECT COUNT(*) FROM t_schedule_job WHERE f_start_time IS NOT NULL",
		      NULL, 0, &count, NULL);
	store_get_int(db, "SELECT COALESCE(SUM(f_start_time - f_create_time), 0) FROM"
		      " t_schedule_job WHERE f_start_time IS NOT NULL", NULL, 0, &sum, NULL);
	ff_buf_addf(out, "fedflow_scheduling_latency_ms_bucket{le=\"+Inf\"} %lld\n"
			 "fedflow_scheduling_latency_ms_sum %lld\n"
			 "fedflow_scheduling_latency_ms_count %lld\n",
		    (long long)count, (long long)sum, (long long)count);
	struct remote_stats rs;
	remote_stats(api_site(r), &rs);
	ff_buf_addf(out, "# HELP fedflow_partner_commands_total Commands sent to other sites.\n"
			 "# TYPE fedflow_partner_commands_total counter\n"
			 "fedflow_partner_commands_total %llu\n"
			 "# HELP fedflow_partner_requests_total Requests that carried them.\n"
			 "# TYPE fedflow_partner_requests_total counter\n"
			 "fedflow_partner_requests_total %llu\n"
			 "# HELP fedflow_partner_batches_total Requests that carried several.\n"
			 "# TYPE fedflow_partner_batches_total counter\n"
			 "fedflow_partner_batches_total %llu\n",
		    (unsigned long long)rs.commands, (unsigned long long)rs.requests,
		    (unsigned long long)rs.batches);
	http_req_set_ctype(r, "text/plain; version=0.0.4");
	http_req_finish(r);
}

static const struct http_route api_resource_table[] = {
	{ "GET", "/v2/server/resource", api_resource, HTTP_RT_READ, NULL },
	{ "GET", "/v2/server/health", api_health, HTTP_RT_READ, NULL },
	{ "GET", "/health", api_health, HTTP_RT_READ, NULL },
	{ "GET", "/metrics", api_metrics, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_resource_table);
