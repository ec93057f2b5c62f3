// SPDX-License-Identifier: Apache-2.0
/*
 * dag_resolve.c - what each party runs: the per-party task of spec §2.6
 * steps 4-6 and the provider checks of §2.7.
 *
 * For every task and every runtime party (task.parties or dag.parties, in
 * dag.parties order) the conf chain is merged by shallow dict updates,
 * last wins: dag.conf.task, tasks.<t>.conf, then for each party_tasks
 * block naming the party, its conf and its tasks.<t>.conf. Parameters
 * start from tasks.<t>.parameters and take party_tasks.<s>.tasks.<t>
 * .parameters key by key. Unlike FATE, a party_tasks conf for a party
 * that does not run the task is simply not applied (FATE raises
 * KeyError there, spec §14.3).
 *
 * Every merged value is a deep copy, so a party task never shares a node
 * with job->schema or with another party task.
 */
#include "ff_setup.h"
#include "dag_int.h"
#include "jsonx.h"
#include "mem.h"

/* dst.update(deepcopy(src)); src NULL is a no-op. */
static int dag_update_copy(json_t *dst, const json_t *src)
{
	if (!src)
		return FF_OK;
	json_t *tmp = json_deep_copy(src);
	int bad = !tmp || json_object_update(dst, tmp);
	json_decref(tmp);
	return bad ? FF_ENOMEM : FF_OK;
}

static int dag_apply_party_tasks(struct dag__st *st, const char *task,
				 struct dag_party_task *pt)
{
	const struct dag_party *p = &pt->party;
	const char *site;
	json_t *block;
	json_object_foreach(dag__get(st->dag, "party_tasks"), site, block) {
		json_t *parties = dag__get(block, "parties");
		if (!dag__parties_contain(parties, p->role, p->party_id))
			continue;
		json_t *ref = dag__get(dag__get(block, "tasks"), task);
		int ret = dag_update_copy(pt->conf, dag__get(block, "conf"));
		if (!ret)
			ret = dag_update_copy(pt->conf, dag__get(ref, "conf"));
		if (!ret)
			ret = dag_update_copy(pt->parameters, dag__get(ref, "parameters"));
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int dag_check_component(struct dag__st *st, const struct dag_task *t,
			       const struct dag_party_task *pt, const char *path)
{
	const struct dag_ctx *ctx = st->ctx;
	char p[DAG_PATH_MAX];
	json_t *role;
	size_t i;
	if (!ctx->component_spec)
		return FF_OK;
	const json_t *spec = ctx->component_spec(ctx->arg, pt->provider, t->component);
	dag__pathf(p, "%s.component_ref", path);
	if (!spec)
		return dag__fail(st->err, p, "component '%s' is not provided by '%s'",
				 t->component, pt->provider);
	json_t *roles = json_object_get(spec, "roles");
	if (!json_is_array(roles))
		return FF_OK;
	json_array_foreach(roles, i, role)
		if (json_is_string(role) && !strcmp(json_string_value(role), pt->party.role))
			return FF_OK;
	return dag__fail(st->err, path, "component '%s' does not support role '%s'; list "
			 "the task's parties without that role", t->component, pt->party.role);
}

/*
 * engine_run, task cores, timeout, launcher. Arbiter tasks take no cores
 * and run with one core or executor (spec §5.4 IGNORE_RESOURCE_ROLES).
 */
static int dag_run_options(struct dag__st *st, struct dag_party_task *pt)
{
	pt->engine_run = json_deep_copy(st->task_run);
	if (!pt->engine_run)
		return FF_ENOMEM;
	int ret = dag_update_copy(pt->engine_run, dag__get(pt->conf, "engine_run"));
	if (ret)
		return ret;
	if (!strcmp(pt->party.role, "arbiter")) {
		bool spark = !strcmp(st->engine, "spark");
		int bad = json_object_set_new(pt->engine_run, spark ? "num-executors" : "cores",
					      json_integer(1));
		if (spark)
			bad |= json_object_set_new(pt->engine_run, "executor-cores", json_integer(1));
		if (bad)
			return FF_ENOMEM;
		pt->task_cores = 0;
	} else {
		pt->task_cores = dag__engine_cores(st, pt->engine_run);
	}
	json_t *timeout = dag__get(pt->conf, "timeout");
	pt->timeout = timeout ? json_integer_value(timeout) : st->task_timeout;
	const char *launcher = jsonx_str(pt->conf, "launcher_name");
	snprintf(pt->launcher_name, sizeof(pt->launcher_name), "%s", launcher ? launcher : "default");
	return FF_OK;
}

/* ---- inputs (spec §2.6 step 6) ---- */

struct dag_in_walk {
	struct dag__st *st;
	const struct dag_task *task;
	struct dag_party_task *pt;
};

/* Copies a channel that reaches this party, completed and re-addressed. */
static int dag_keep_channel(struct dag_in_walk *w, const char *path, const char *source,
			    const json_t *ch, json_t *kept)
{
	const struct dag_party *p = &w->pt->party;
	const json_t *mw = w->st->job->model_warehouse;
	if (!strcmp(source, "task_output_artifact")) {
		const char *producer = jsonx_str(ch, "producer_task");
		json_t *pspec = json_object_get(w->st->tasks, producer);
		if (!dag__task_runs_at(w->st->job, pspec, p->role, p->party_id))
			return dag__fail(w->st->err, path, "producer task '%s' does not run at "
					 "%s '%s'", producer, p->role, p->party_id);
	}
	json_t *c = json_deep_copy(ch);
	if (!c)
		return FF_ENOMEM;
	int bad = 0;
	if (!strcmp(source, "model_warehouse") && !dag__get(c, "model_id")) {
		bad |= json_object_set_new(c, "model_id",
					   json_deep_copy(json_object_get(mw, "model_id")));
		bad |= json_object_set_new(c, "model_version",
					   json_deep_copy(json_object_get(mw, "model_version")));
	}
	bad |= json_object_set_new(c, "parties", json_pack("[{s:s, s:[s]}]", "role", p->role,
							   "party_id", p->party_id));
	bad |= json_array_append_new(kept, c);
	return bad ? FF_ENOMEM : FF_OK;
}

/* inputs[type][key] = the one kept channel, or the list when several. */
static int dag_put_input(json_t *inputs, const char *type, const char *key, json_t *kept)
{
	json_t *sect = json_object_get(inputs, type);
	if (!sect) {
		sect = json_object();
		if (json_object_set_new(inputs, type, sect))
			return FF_ENOMEM;
	}
	json_t *v = json_array_size(kept) == 1 ? json_array_get(kept, 0) : kept;
	return json_object_set(sect, key, v) ? FF_ENOMEM : FF_OK;
}

static int dag_input_cb(const char *type, const char *key, const char *source,
			json_t *chans, void *arg)
{
	struct dag_in_walk *w = arg;
	char path[DAG_PATH_MAX];
	int ret = FF_OK;
	json_t *kept = json_array();
	if (!kept)
		return FF_ENOMEM;
	dag__pathf(path, "dag.tasks.%s.inputs.%s.%s", w->task->name, type, key);
	for (size_t i = 0; !ret && i < dag__chan_count(chans); i++) {
		json_t *ch = dag__chan_at(chans, i);
		if (dag__channel_applies(w->st->job, source, ch, &w->pt->party))
			ret = dag_keep_channel(w, path, source, ch, kept);
	}
	if (!ret && json_array_size(kept))
		ret = dag_put_input(w->pt->inputs, type, key, kept);
	json_decref(kept);
	return ret;
}

static int dag_resolve_inputs(struct dag__st *st, const struct dag_task *t,
			      const json_t *spec, struct dag_party_task *pt)
{
	struct dag_in_walk w = { .st = st, .task = t, .pt = pt };
	pt->inputs = json_object();
	if (!pt->inputs)
		return FF_ENOMEM;
	return dag__for_each_input(spec, dag_input_cb, &w);
}

/* ---- party tasks ---- */

static int dag_resolve_ptask(struct dag__st *st, const struct dag_task *t, const json_t *spec,
			     const json_t *task_conf, struct dag_party_task *pt)
{
	char path[DAG_PATH_MAX];
	json_t *params = dag__get(spec, "parameters");
	dag__pathf(path, "dag.tasks.%s", t->name);
	pt->conf = json_deep_copy(task_conf);
	pt->parameters = params ? json_deep_copy(params) : json_object();
	if (!pt->conf || !pt->parameters)
		return FF_ENOMEM;
	int ret = dag_apply_party_tasks(st, t->name, pt);
	if (!ret)
		ret = dag__resolve_provider(st, jsonx_str(pt->conf, "provider"), path, &pt->party,
					    &pt->provider);
	if (!ret)
		ret = dag_check_component(st, t, pt, path);
	if (!ret)
		ret = dag_run_options(st, pt);
	if (!ret)
		ret = dag_resolve_inputs(st, t, spec, pt);
	return ret;
}

/* deepcopy(dag.conf.task) updated with tasks.<t>.conf (spec §2.6 step 4). */
static int dag_task_conf(const struct dag__st *st, const json_t *spec, json_t **out)
{
	json_t *base = dag__get(dag__get(st->dag, "conf"), "task");
	*out = base ? json_deep_copy(base) : json_object();
	if (!*out)
		return FF_ENOMEM;
	return dag_update_copy(*out, dag__get(spec, "conf"));
}

static int dag_resolve_task(struct dag__st *st, struct dag_task *t)
{
	const struct dag_job *job = st->job;
	json_t *spec = json_object_get(st->tasks, t->name), *conf = NULL;
	size_t n = 0;
	int ret = dag_task_conf(st, spec, &conf);
	if (ret)
		goto out;
	for (size_t i = 0; i < job->nparties; i++)
		n += dag__task_runs_at(job, spec, job->parties[i].role, job->parties[i].party_id);
	ret = FF_ENOMEM;
	if (!FF_ALLOC_ARRAY(t->ptasks, n))
		goto out;
	ret = FF_OK;
	for (size_t i = 0; !ret && i < job->nparties; i++) {
		const struct dag_party *p = &job->parties[i];
		if (!dag__task_runs_at(job, spec, p->role, p->party_id))
			continue;
		struct dag_party_task *pt = &t->ptasks[t->nptasks++];
		pt->party = *p;
		ret = dag_resolve_ptask(st, t, spec, conf, pt);
	}
out:
	json_decref(conf);
	return ret;
}

int dag__resolve_tasks(struct dag__st *st)
{
	for (size_t i = 0; i < st->job->ntasks; i++) {
		int ret = dag_resolve_task(st, &st->job->tasks[i]);
		if (ret)
			return ret;
	}
	return FF_OK;
}

/* ---- artifact keys against the producer's component spec ---- */

struct dag_art_walk {
	struct dag__st *st;
	const struct dag_task *task;
};

static int dag_check_output(struct dag__st *st, const struct dag_task *producer,
			    const struct dag_party_task *pt, const char *type,
			    const char *key, const char *path)
{
	static const char *const kinds[] = { "data", "model", "metric" };
	const struct dag_ctx *ctx = st->ctx;
	const json_t *spec = ctx->component_spec(ctx->arg, pt->provider, producer->component);
	json_t *outs = json_object_get(spec, "output_artifacts");
	const char *found = NULL;
	if (!json_is_object(outs))
		return FF_OK;  /* shape unknown: nothing to check against */
	for (size_t i = 0; !found && i < FF_ARRAY_SIZE(kinds); i++)
		if (json_object_get(dag__get(outs, kinds[i]), key))
			found = kinds[i];
	if (!found)
		return dag__fail(st->err, path, "output artifact '%s' is not an output of "
				 "component '%s' (task '%s')", key, producer->component,
				 producer->name);
	if (strcmp(found, type))
		return dag__fail(st->err, path, "output artifact '%s' of task '%s' is a %s "
				 "output and cannot feed a %s input", key, producer->name,
				 found, type);
	return FF_OK;
}

static int dag_art_cb(const char *type, const char *key, const char *source,
		      json_t *chans, void *arg)
{
	struct dag_art_walk *w = arg;
	char path[DAG_PATH_MAX];
	if (strcmp(source, "task_output_artifact"))
		return FF_OK;
	dag__pathf(path, "dag.tasks.%s.inputs.%s.%s", w->task->name, type, key);
	for (size_t i = 0; i < dag__chan_count(chans); i++) {
		json_t *ch = dag__chan_at(chans, i);
		const struct dag_task *producer = dag_find_task(w->st->job,
								jsonx_str(ch, "producer_task"));
		const char *art = jsonx_str(ch, "output_artifact_key");
		for (size_t k = 0; producer && k < producer->nptasks; k++) {
			int ret = dag_check_output(w->st, producer, &producer->ptasks[k], type,
						   art, path);
			if (ret)
				return ret;
		}
	}
	return FF_OK;
}

int dag__check_artifacts(struct dag__st *st)
{
	if (!st->ctx->component_spec)
		return FF_OK;
	for (size_t i = 0; i < st->job->ntasks; i++) {
		const struct dag_task *t = &st->job->tasks[i];
		struct dag_art_walk w = { .st = st, .task = t };
		int ret = dag__for_each_input(json_object_get(st->tasks, t->name), dag_art_cb, &w);
		if (ret)
			return ret;
	}
	return FF_OK;
}
