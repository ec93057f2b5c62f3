// SPDX-License-Identifier: Apache-2.0
/*
 * dag.c - dag_parse's driver, the job's lifecycle, lookups, and the message
 * and typed-access helpers every phase uses.
 *
 * dag_parse deep-copies the submitted schema and runs the phases of
 * dag_int.h over the copy in a fixed order; the order matters because each
 * phase trusts the shapes the earlier ones checked:
 *   top level -> dag.parties -> dag.conf (tasks' model_warehouse channels
 *   need it) -> tasks and party_tasks -> order (needs producers to exist)
 *   -> party tasks (need the order's task list) -> artifact keys (need the
 *   producers' providers) -> cores (need every party task).
 */
#include "ff_setup.h"
#include <stdarg.h>
#include "dag_int.h"
#include "jsonx.h"
#include "mem.h"

/* ---- messages, paths, typed access (shared through dag_int.h) ---- */

int dag__fail(struct ff_error *err, const char *path, const char *fmt, ...)
{
	char msg[FF_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ff_error_set(err, FF_EDAG, "%s: %s", path, msg);
}

static const char *dag_type_word(const json_t *v)
{
	return json_is_array(v) ? "list" : jsonx_type_name(v);
}

int dag__expected(struct ff_error *err, const char *path, const char *what,
		  const json_t *got)
{
	if (!got)
		return dag__fail(err, path, "missing required field (expected %s)", what);
	return dag__fail(err, path, "expected %s, got %s", what, dag_type_word(got));
}

void dag__pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, DAG_PATH_MAX, fmt, ap);
	va_end(ap);
}

json_t *dag__get(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_null(v) ? NULL : v;
}

int dag__opt_object(const json_t *obj, const char *key, const char *path,
		    json_t **out, struct ff_error *err)
{
	*out = dag__get(obj, key);
	if (*out && !json_is_object(*out))
		return dag__expected(err, path, "an object", *out);
	return FF_OK;
}

int dag__opt_array(const json_t *obj, const char *key, const char *path,
		   json_t **out, struct ff_error *err)
{
	*out = dag__get(obj, key);
	if (*out && !json_is_array(*out))
		return dag__expected(err, path, "a list", *out);
	return FF_OK;
}

int dag__opt_string(const json_t *obj, const char *key, const char *path,
		    const char **out, struct ff_error *err)
{
	json_t *v = dag__get(obj, key);
	*out = NULL;
	if (!v)
		return FF_OK;
	if (!json_is_string(v))
		return dag__expected(err, path, "a string", v);
	*out = json_string_value(v);
	return FF_OK;
}

int dag__opt_int(const json_t *obj, const char *key, const char *path,
		 long long min, long long *out, bool *set, struct ff_error *err)
{
	json_t *v = dag__get(obj, key);
	*set = false;
	if (!v)
		return FF_OK;
	if (!json_is_integer(v))
		return dag__expected(err, path, "an integer", v);
	long long n = json_integer_value(v);
	if (n < min && min == 0)
		return dag__fail(err, path, "must not be negative, got %lld", n);
	if (n < min && min == 1)
		return dag__fail(err, path, "must be positive, got %lld", n);
	if (n < min)
		return dag__fail(err, path, "must be >= %lld, got %lld", min, n);
	*out = n;
	*set = true;
	return FF_OK;
}

int dag__opt_str_list(const json_t *obj, const char *key, const char *path,
		      bool non_empty, struct ff_error *err)
{
	json_t *list, *v;
	size_t i;
	int ret = dag__opt_array(obj, key, path, &list, err);
	if (ret || !list)
		return ret;
	if (non_empty && !json_array_size(list))
		return dag__fail(err, path, "must not be empty");
	json_array_foreach(list, i, v) {
		if (!json_is_string(v)) {
			char p[DAG_PATH_MAX];
			dag__pathf(p, "%s[%zu]", path, i);
			return dag__expected(err, p, "a string", v);
		}
	}
	return FF_OK;
}

/* ---- dag_parse ---- */

static const struct dag_ctx dag_empty_ctx;

typedef int (*dag_phase_fn)(struct dag__st *st);

static const dag_phase_fn dag_phases[] = {
	dag__check_top,
	dag__check_parties,
	dag__resolve_conf,
	dag__check_tasks,
	dag__order_tasks,
	dag__resolve_tasks,
	dag__check_artifacts,
	dag__resolve_cores,
};

int dag_parse(const json_t *dag_schema, const struct dag_ctx *ctx,
	      struct dag_job **out, struct ff_error *err)
{
	struct dag__st st = { .ctx = ctx ? ctx : &dag_empty_ctx, .err = err };
	int ret = FF_OK;
	*out = NULL;
	if (!dag_schema)
		return dag__expected(err, "dag_schema", "an object", NULL);
	st.job = ff_calloc(1, sizeof(*st.job));
	if (!st.job)
		return FF_ENOMEM;
	st.job->schema = json_deep_copy(dag_schema);
	if (!st.job->schema) {
		ret = FF_ENOMEM;
		goto out;
	}
	for (size_t i = 0; !ret && i < FF_ARRAY_SIZE(dag_phases); i++)
		ret = dag_phases[i](&st);
	if (!ret) {
		*out = st.job;
		st.job = NULL;
	}
out:
	json_decref(st.task_run);
	dag_job_free(st.job);
	return ret;
}

static void dag_ptask_release(struct dag_party_task *pt)
{
	ff_free(pt->provider);
	json_decref(pt->parameters);
	json_decref(pt->conf);
	json_decref(pt->inputs);
	json_decref(pt->engine_run);
}

static void dag_task_release(struct dag_task *t)
{
	ff_free(t->component);
	for (size_t i = 0; i < t->ndeps; i++)
		ff_free(t->deps[i]);
	ff_free(t->deps);
	for (size_t i = 0; i < t->nptasks; i++)
		dag_ptask_release(&t->ptasks[i]);
	ff_free(t->ptasks);
}

void dag_job_free(struct dag_job *job)
{
	if (!job)
		return;
	for (size_t i = 0; i < job->ntasks; i++)
		dag_task_release(&job->tasks[i]);
	ff_free(job->tasks);
	ff_free(job->parties);
	ff_free(job->model_id);
	ff_free(job->model_version);
	json_decref(job->model_warehouse);
	json_decref(job->inheritance);
	json_decref(job->schema);
	ff_free(job);
}

int dag_job_set_id(struct dag_job *job, const char *job_id)
{
	if (!job || !job_id || !*job_id)
		return FF_EINVAL;
	if (job->model_id)
		return FF_OK;
	json_t *conf = json_object_get(json_object_get(job->schema, "dag"), "conf");
	char *id = ff_strdup(job_id);
	if (!id)
		return FF_ENOMEM;
	if (json_object_set_new(conf, "model_id", json_string(id)) ||
	    json_object_set_new(conf, "model_version", json_string(job->model_version))) {
		ff_free(id);
		return FF_ENOMEM;
	}
	job->model_id = id;
	return FF_OK;
}

const struct dag_task *dag_find_task(const struct dag_job *job, const char *name)
{
	for (size_t i = 0; job && name && i < job->ntasks; i++)
		if (!strcmp(job->tasks[i].name, name))
			return &job->tasks[i];
	return NULL;
}

const struct dag_party_task *dag_find_ptask(const struct dag_task *t,
					    const char *role, const char *party_id)
{
	for (size_t i = 0; t && role && party_id && i < t->nptasks; i++) {
		const struct dag_party *p = &t->ptasks[i].party;
		if (!strcmp(p->role, role) && !strcmp(p->party_id, party_id))
			return &t->ptasks[i];
	}
	return NULL;
}

bool dag_has_party(const struct dag_job *job, const char *role, const char *party_id)
{
	for (size_t i = 0; job && role && party_id && i < job->nparties; i++) {
		const struct dag_party *p = &job->parties[i];
		if (!strcmp(p->role, role) && !strcmp(p->party_id, party_id))
			return true;
	}
	return false;
}
