// SPDX-License-Identifier: Apache-2.0
/* upload.c - local data jobs: DAG, submission, answer (see upload.h). */
#include "ff_setup.h"
#include <limits.h>
#include "dag/dag.h"
#include "fed.h"
#include "jsonx.h"
#include "mem.h"
#include "provider/provider.h"
#include "sched/sched.h"
#include "site.h"
#include "store.h"
#include "upload.h"

#ifndef FF_VERSION
#define FF_VERSION "0.0.0"
#endif

/* The built-in provider runs FATE's flow-side components (upload, download). */
#define UPLOAD_PROVIDER "fedflow:" FF_VERSION "@local"

struct upload_call {
	struct site *site;
	json_t *schema;
	upload_done_fn done;
	void *arg;
};

/* The local DAG template (spec §9.1, manager/components/base.py); inputs
 * (may be NULL) are the task's artifact inputs, e.g. a data_warehouse. */
static json_t *upload_dag(const char *task_name, const char *component, const json_t *params,
			  const json_t *inputs)
{
	json_t *parties = json_pack("[{s:s,s:[s]}]", "role", "local", "party_id", "0");
	json_t *tasks = json_pack("{s:{s:s,s:{s:s},s:O*}}", task_name, "component_ref", component,
				  "conf", "provider", UPLOAD_PROVIDER, "inputs", inputs);
	json_t *ptasks = json_pack("{s:{s:O,s:{s:{s:O}}}}", "local_0", "parties", parties,
				   "tasks", task_name, "parameters", params);
	return json_pack("{s:s,s:s,s:{s:o,s:{s:s},s:s,s:o,s:o}}", "schema_version", "2.0.0",
			 "kind", "fate", "dag", "parties", parties, "conf", "scheduler_party_id", "0",
			 "stage", "default", "tasks", tasks, "party_tasks", ptasks);
}

struct upload_job_id {
	char *p;
	size_t n;
};

static int upload_job_id_cb(void *arg, const struct store_row *row)
{
	struct upload_job_id *out = arg;
	const char *id = store_col_text(row, "f_job_id");
	snprintf(out->p, out->n, "%s", id ? id : "");
	return FF_OK;
}

/* Where the local jobs that write a table keep its namespace and name. */
#define UPLOAD_PARAM(task, key) \
	"json_extract(f_dag, '$.dag.party_tasks.local_0.tasks." task ".parameters." key "')"

bool upload_running(struct site *s, const char *namespace_, const char *name, char *job_id,
		    size_t n)
{
	struct upload_job_id out = { job_id, n };
	struct store_val a[] = { SV_TEXT(namespace_), SV_TEXT(name), SV_TEXT(namespace_),
				 SV_TEXT(name) };
	job_id[0] = '\0';
	store_exec(s->db, "SELECT f_job_id FROM t_job WHERE f_role = 'local' AND f_status NOT IN"
		   " ('success', 'failed', 'canceled', 'timeout') AND (("
		   UPLOAD_PARAM("upload_0", "namespace") " = ? AND "
		   UPLOAD_PARAM("upload_0", "name") " = ?) OR ("
		   UPLOAD_PARAM("transformer_0", "namespace") " = ? AND "
		   UPLOAD_PARAM("transformer_0", "name") " = ?)) LIMIT 1",
		   a, FF_ARRAY_SIZE(a), upload_job_id_cb, &out, NULL, NULL);
	return job_id[0] != '\0';
}

static void upload_created(struct fed_call *call, void *arg)
{
	struct upload_call *u = arg;
	const struct fed_result *r = &call->res[0];
	const char *job_id = jsonx_str(r->resp, "job_id");
	long long code = r->code;
	const char *msg = r->message;
	if (r->resp) {
		jsonx_as_int(json_object_get(r->resp, "code"), &code);
		msg = jsonx_str(r->resp, "message") ? jsonx_str(r->resp, "message") : msg;
	}
	u->done(u->arg, (int)code, msg ? msg : "", code == 0 ? job_id : NULL);
	json_decref(u->schema);
	ff_free(u);
}

int upload_submit_local(struct site *s, const char *task_name, const char *component,
			const json_t *params, const json_t *inputs, upload_done_fn done,
			void *arg, struct ff_error *err)
{
	struct dag_ctx ctx;
	struct dag_job *job = NULL;
	struct upload_call *u = NULL;
	json_t *schema = upload_dag(task_name, component, params, inputs);
	int ret = schema ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	provider_dag_ctx(s, &ctx, true);
	if (!ret)
		ret = dag_parse(schema, &ctx, &job, err);
	if (!ret)
		ret = sched_check_local_cores(s, job, err);
	if (!ret && !(u = ff_calloc(1, sizeof(*u))))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret) {
		u->site = s;
		u->schema = json_incref(job->schema);
		u->done = done;
		u->arg = arg;
		if (fed_scheduler_send(s, job->scheduler_party_id, "job/create", u->schema,
				       upload_created, u)) {
			json_decref(u->schema);
			ff_free(u);
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		}
	}
	dag_job_free(job);
	json_decref(schema);
	return ret;
}
