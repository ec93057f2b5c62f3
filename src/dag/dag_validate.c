// SPDX-License-Identifier: Apache-2.0
/*
 * dag_validate.c - shape checks of a DAGSchema: top level, dag.parties,
 * dag.tasks (conf, parties, inputs, outputs) and dag.party_tasks, plus the
 * scalar, name, party and input-walking helpers the other dag files use.
 *
 * Checks run on job->schema, a private copy, so they can normalise as they
 * go: integer party ids become strings and numeric versions become text,
 * which is what partners then receive. Everything later phases read
 * without re-checking is checked here.
 */
#include "ff_setup.h"
#include "dag_int.h"
#include "jsonx.h"
#include "mem.h"

static const char *const dag_sources[] = {
	"task_output_artifact", "data_warehouse", "model_warehouse",
};

/* Shortest %g form that reads back as d, with ".0" kept as Python does. */
static void dag_real_text(double d, char *out, size_t n)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, n, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (!strpbrk(out, ".eEni") && strlen(out) + 2 < n)
		memcpy(out + strlen(out), ".0", 3);
}

int dag__scalar_text(const json_t *v, bool allow_real, const char *path,
		     char *out, size_t n, struct ff_error *err)
{
	const char *what = allow_real ? "a string or a number" : "a string or an integer";
	int w = 0;
	if (json_is_string(v))
		w = snprintf(out, n, "%s", json_string_value(v));
	else if (json_is_integer(v))
		w = snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v) && allow_real)
		dag_real_text(json_real_value(v), out, n);
	else
		return dag__expected(err, path, what, v);
	if (w < 0 || (size_t)w >= n)
		return dag__fail(err, path, "value is longer than %zu characters", n - 1);
	if (!out[0])
		return dag__fail(err, path, "must not be empty");
	return FF_OK;
}

static bool dag_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool dag__name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!dag_name_char(s[i]))
			return false;
	return true;
}

int dag__party_id_text(const json_t *v, const char *path, char out[DAG_ID_MAX],
		       struct ff_error *err)
{
	int ret = dag__scalar_text(v, false, path, out, DAG_ID_MAX, err);
	if (ret)
		return ret;
	if (!dag__name_ok(out, DAG_ID_MAX - 1))
		return dag__fail(err, path, "party id '%s' may only contain A-Z a-z 0-9 _ . - "
				 "and must not start with '.'", out);
	return FF_OK;
}

bool dag_role_ok(const char *role)
{
	static const char *const roles[] = { "guest", "host", "arbiter", "local" };
	for (size_t i = 0; role && i < FF_ARRAY_SIZE(roles); i++)
		if (!strcmp(role, roles[i]))
			return true;
	return false;
}

static bool dag_stage_ok(const char *s)
{
	static const char *const stages[] = { "train", "predict", "default", "cross_validation" };
	for (size_t i = 0; i < FF_ARRAY_SIZE(stages); i++)
		if (!strcmp(s, stages[i]))
			return true;
	return false;
}

static int dag_check_stage(const json_t *obj, const char *path, struct ff_error *err)
{
	const char *s;
	int ret = dag__opt_string(obj, "stage", path, &s, err);
	if (!ret && s && !dag_stage_ok(s))
		ret = dag__fail(err, path, "unknown stage '%s' (expected train, predict, "
				"default or cross_validation)", s);
	return ret;
}

/* ---- parties ---- */

/* Checks party_id of one PartySpec, turning integers into strings. */
static int dag_check_party_ids(json_t *party, const char *path, const char *role,
			       const struct dag_job *job, struct ff_error *err)
{
	char p[DAG_PATH_MAX], id[DAG_ID_MAX];
	json_t *ids = json_object_get(party, "party_id"), *v;
	size_t i;
	dag__pathf(p, "%s.party_id", path);
	if (!json_is_array(ids))
		return dag__expected(err, p, "a list of party ids", ids);
	if (!json_array_size(ids))
		return dag__fail(err, p, "must not be empty");
	json_array_foreach(ids, i, v) {
		dag__pathf(p, "%s.party_id[%zu]", path, i);
		int ret = dag__party_id_text(v, p, id, err);
		if (ret)
			return ret;
		if (!json_is_string(v) && json_array_set_new(ids, i, json_string(id)))
			return FF_ENOMEM;
		if (job && !dag_has_party(job, role, id))
			return dag__fail(err, path, "party %s '%s' is not in dag.parties", role, id);
	}
	return FF_OK;
}

static int dag_check_party(json_t *party, const char *path, const struct dag_job *job,
			   struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	if (!json_is_object(party))
		return dag__expected(err, path, "a party object {role, party_id}", party);
	json_t *role = json_object_get(party, "role");
	dag__pathf(p, "%s.role", path);
	if (!json_is_string(role))
		return dag__expected(err, p, "a string", role);
	if (!dag_role_ok(json_string_value(role)))
		return dag__fail(err, p, "unknown role '%s' (expected guest, host, arbiter or local)",
				 json_string_value(role));
	return dag_check_party_ids(party, path, json_string_value(role), job, err);
}

int dag__check_party_list(json_t *list, const char *path, const struct dag_job *job,
			  struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	json_t *party;
	size_t i;
	if (!json_is_array(list))
		return dag__expected(err, path, "a list of parties", list);
	json_array_foreach(list, i, party) {
		dag__pathf(p, "%s[%zu]", path, i);
		int ret = dag_check_party(party, p, job, err);
		if (ret)
			return ret;
	}
	return FF_OK;
}

bool dag__parties_contain(const json_t *list, const char *role, const char *party_id)
{
	json_t *party, *id;
	size_t i, j;
	json_array_foreach(list, i, party) {
		if (strcmp(jsonx_str(party, "role"), role))
			continue;
		json_array_foreach(json_object_get(party, "party_id"), j, id)
			if (!strcmp(json_string_value(id), party_id))
				return true;
	}
	return false;
}

bool dag__task_runs_at(const struct dag_job *job, const json_t *task_spec,
		       const char *role, const char *party_id)
{
	json_t *parties = dag__get(task_spec, "parties");
	if (json_array_size(parties))
		return dag__parties_contain(parties, role, party_id);
	return dag_has_party(job, role, party_id);
}

/* Flattens the checked dag.parties into job->parties, refusing duplicates. */
static int dag_flatten_parties(struct dag_job *job, json_t *list, struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	json_t *party, *id;
	size_t i, j, n = 0;
	json_array_foreach(list, i, party)
		n += json_array_size(json_object_get(party, "party_id"));
	if (!FF_ALLOC_ARRAY(job->parties, n))
		return FF_ENOMEM;
	json_array_foreach(list, i, party) {
		const char *role = jsonx_str(party, "role");
		json_array_foreach(json_object_get(party, "party_id"), j, id) {
			const char *pid = json_string_value(id);
			dag__pathf(p, "dag.parties[%zu]", i);
			if (dag_has_party(job, role, pid))
				return dag__fail(err, p, "duplicate party %s '%s'", role, pid);
			struct dag_party *dp = &job->parties[job->nparties++];
			snprintf(dp->role, sizeof(dp->role), "%s", role);
			snprintf(dp->party_id, sizeof(dp->party_id), "%s", pid);
		}
	}
	return FF_OK;
}

int dag__check_parties(struct dag__st *st)
{
	json_t *list = json_object_get(st->dag, "parties");
	if (!json_is_array(list))
		return dag__expected(st->err, "dag.parties", "a list of parties", list);
	if (!json_array_size(list))
		return dag__fail(st->err, "dag.parties", "must name at least one party");
	int ret = dag__check_party_list(list, "dag.parties", NULL, st->err);
	if (!ret)
		ret = dag_flatten_parties(st->job, list, st->err);
	return ret;
}

/* ---- top level ---- */

static int dag_check_version(struct dag__st *st, json_t *schema)
{
	struct dag_job *job = st->job;
	json_t *v = json_object_get(schema, "schema_version");
	if (!v)
		return dag__expected(st->err, "schema_version", "a string", NULL);
	int ret = dag__scalar_text(v, true, "schema_version", job->schema_version,
				   sizeof(job->schema_version), st->err);
	if (ret)
		return ret;
	if (json_object_set_new(schema, "schema_version", json_string(job->schema_version)))
		return FF_ENOMEM;
	return FF_OK;
}

int dag__check_top(struct dag__st *st)
{
	json_t *schema = st->job->schema;
	const char *kind;
	if (!json_is_object(schema))
		return dag__expected(st->err, "dag_schema", "an object", schema);
	int ret = dag_check_version(st, schema);
	if (!ret)
		ret = dag__opt_string(schema, "kind", "kind", &kind, st->err);
	if (ret)
		return ret;
	if (kind && strcmp(kind, "fate"))
		return dag__fail(st->err, "kind", "only \"fate\" is supported, got '%s'", kind);
	if (!kind && json_object_set_new(schema, "kind", json_string("fate")))
		return FF_ENOMEM;
	st->dag = json_object_get(schema, "dag");
	if (!json_is_object(st->dag))
		return dag__expected(st->err, "dag", "an object", st->dag);
	st->tasks = json_object_get(st->dag, "tasks");
	return FF_OK;
}

/* ---- inputs ---- */

static bool dag_in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* Keys each channel kind takes (spec §2.5; extra keys are forbidden). */
static const char *dag_channel_keys(const char *source, const char *const **keys, size_t *n)
{
	static const char *const task_keys[] = {
		"producer_task", "output_artifact_key", "output_artifact_type_alias", "parties",
	};
	static const char *const data_keys[] = {
		"job_id", "producer_task", "output_artifact_key", "namespace", "name",
		"dataset_id", "parties",
	};
	static const char *const model_keys[] = {
		"model_id", "model_version", "producer_task", "output_artifact_key", "parties",
	};
	if (!strcmp(source, "task_output_artifact")) {
		*keys = task_keys;
		*n = FF_ARRAY_SIZE(task_keys);
		return "producer_task, output_artifact_key, output_artifact_type_alias, parties";
	}
	if (!strcmp(source, "data_warehouse")) {
		*keys = data_keys;
		*n = FF_ARRAY_SIZE(data_keys);
		return "job_id, producer_task, output_artifact_key, namespace, name, dataset_id, parties";
	}
	*keys = model_keys;
	*n = FF_ARRAY_SIZE(model_keys);
	return "model_id, model_version, producer_task, output_artifact_key, parties";
}

/* Unknown keys are refused; every known key except parties is text. */
static int dag_check_channel_keys(json_t *ch, const char *path, const char *source,
				  struct ff_error *err)
{
	const char *const *keys;
	size_t n;
	const char *key, *s, *allowed = dag_channel_keys(source, &keys, &n);
	json_t *v;
	char p[DAG_PATH_MAX], text[DAG_ID_MAX];
	json_object_foreach(ch, key, v) {
		if (!dag_in_list(key, keys, n))
			return dag__fail(err, path, "unknown key '%s' (a %s channel takes %s)",
					 key, source, allowed);
		dag__pathf(p, "%s.%s", path, key);
		int ret = FF_OK;
		if (!strcmp(key, "model_version") && !json_is_null(v)) {
			ret = dag__scalar_text(v, false, p, text, sizeof(text), err);
			if (!ret && json_object_set_new(ch, key, json_string(text)))
				ret = FF_ENOMEM;
		} else if (strcmp(key, "parties")) {
			ret = dag__opt_string(ch, key, p, &s, err);
		}
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int dag_require_text(const json_t *ch, const char *key, const char *path,
			    const char *source, struct ff_error *err)
{
	const char *s = jsonx_str(ch, key);
	if (!s || !*s)
		return dag__fail(err, path, "a %s channel needs a non-empty %s", source, key);
	return FF_OK;
}

/* Source-specific required fields; keypath is the input key's path. */
static int dag_check_channel_refs(struct dag__st *st, const json_t *ch, const char *keypath,
				  const char *path, const char *source)
{
	int ret;
	if (!strcmp(source, "data_warehouse")) {
		bool table = jsonx_str(ch, "name") && jsonx_str(ch, "namespace");
		bool output = jsonx_str(ch, "job_id") && jsonx_str(ch, "producer_task") &&
			      jsonx_str(ch, "output_artifact_key");
		if (!table && !output)
			return dag__fail(st->err, path, "a data_warehouse channel needs name and "
					 "namespace, or job_id, producer_task and output_artifact_key");
		return FF_OK;
	}
	ret = dag_require_text(ch, "producer_task", path, source, st->err);
	if (!ret)
		ret = dag_require_text(ch, "output_artifact_key", path, source, st->err);
	if (ret)
		return ret;
	const char *producer = jsonx_str(ch, "producer_task");
	if (!strcmp(source, "task_output_artifact") && !json_object_get(st->tasks, producer))
		return dag__fail(st->err, keypath, "producer task '%s' does not exist", producer);
	if (!strcmp(source, "model_warehouse") && !jsonx_str(ch, "model_id") &&
	    !st->job->model_warehouse)
		return dag__fail(st->err, path, "a model_warehouse channel without model_id "
				 "needs dag.conf.model_warehouse");
	return FF_OK;
}

static int dag_check_channel(struct dag__st *st, json_t *ch, const char *keypath,
			     const char *path, const char *source)
{
	char p[DAG_PATH_MAX];
	json_t *parties;
	if (!json_is_object(ch))
		return dag__expected(st->err, path, "a channel object", ch);
	int ret = dag_check_channel_keys(ch, path, source, st->err);
	if (!ret) {
		dag__pathf(p, "%s.parties", path);
		ret = dag__opt_array(ch, "parties", p, &parties, st->err);
	}
	if (!ret && parties)
		ret = dag__check_party_list(parties, p, st->job, st->err);
	if (!ret)
		ret = dag_check_channel_refs(st, ch, keypath, path, source);
	return ret;
}

static int dag_check_source(struct dag__st *st, json_t *chans, const char *keypath,
			    const char *source)
{
	char p[DAG_PATH_MAX], q[DAG_PATH_MAX];
	json_t *ch;
	size_t i;
	dag__pathf(p, "%s.%s", keypath, source);
	if (json_is_object(chans))
		return dag_check_channel(st, chans, keypath, p, source);
	if (!json_is_array(chans))
		return dag__expected(st->err, p, "a channel object or a list of channels", chans);
	json_array_foreach(chans, i, ch) {
		dag__pathf(q, "%s[%zu]", p, i);
		int ret = dag_check_channel(st, ch, keypath, q, source);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int dag_check_input_key(struct dag__st *st, json_t *srcs, const char *keypath)
{
	const char *source, *first = NULL;
	json_t *chans;
	if (json_is_null(srcs))
		return FF_OK;
	if (!json_is_object(srcs))
		return dag__expected(st->err, keypath, "an object {source: channel}", srcs);
	json_object_foreach(srcs, source, chans) {
		if (!dag_in_list(source, dag_sources, FF_ARRAY_SIZE(dag_sources)))
			return dag__fail(st->err, keypath, "unknown source '%s' (expected "
					 "task_output_artifact, data_warehouse or model_warehouse)",
					 source);
		if (json_is_null(chans))
			continue;
		if (first)
			return dag__fail(st->err, keypath, "more than one source ('%s' and '%s'); "
					 "an input takes channels from one source", first, source);
		first = source;
		int ret = dag_check_source(st, chans, keypath, source);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int dag_check_inputs(struct dag__st *st, json_t *inputs, const char *path)
{
	char p[DAG_PATH_MAX], q[DAG_PATH_MAX];
	const char *type, *key;
	json_t *sect, *srcs;
	json_object_foreach(inputs, type, sect) {
		if (strcmp(type, "data") && strcmp(type, "model"))
			return dag__fail(st->err, path, "unknown input type '%s' (expected data "
					 "or model)", type);
		dag__pathf(p, "%s.%s", path, type);
		if (!json_is_null(sect) && !json_is_object(sect))
			return dag__expected(st->err, p, "an object", sect);
		json_object_foreach(sect, key, srcs) {
			dag__pathf(q, "%s.%s", p, key);
			int ret = dag_check_input_key(st, srcs, q);
			if (ret)
				return ret;
		}
	}
	return FF_OK;
}

int dag__for_each_input(const json_t *task_spec, dag__input_fn fn, void *arg)
{
	static const char *const types[] = { "data", "model" };
	json_t *inputs = dag__get(task_spec, "inputs"), *srcs, *chans;
	const char *key, *source;
	for (size_t t = 0; t < FF_ARRAY_SIZE(types); t++) {
		json_object_foreach(dag__get(inputs, types[t]), key, srcs) {
			json_object_foreach(srcs, source, chans) {
				if (json_is_null(chans))
					continue;
				int ret = fn(types[t], key, source, chans, arg);
				if (ret)
					return ret;
			}
		}
	}
	return FF_OK;
}

size_t dag__chan_count(const json_t *chans)
{
	return json_is_array(chans) ? json_array_size(chans) : 1;
}

json_t *dag__chan_at(const json_t *chans, size_t i)
{
	return json_is_array(chans) ? json_array_get(chans, i) : (json_t *)chans;
}

bool dag__channel_applies(const struct dag_job *job, const char *source,
			  const json_t *chan, const struct dag_party *p)
{
	json_t *parties = dag__get(chan, "parties");
	if (json_array_size(parties))
		return dag__parties_contain(parties, p->role, p->party_id);
	if (strcmp(source, "task_output_artifact"))
		return true;
	json_t *tasks = json_object_get(json_object_get(job->schema, "dag"), "tasks");
	json_t *producer = json_object_get(tasks, jsonx_str(chan, "producer_task"));
	return dag__task_runs_at(job, producer, p->role, p->party_id);
}

/* ---- outputs (shape only: spec §2.3 says they are not used at run time) ---- */

static int dag_check_output_spec(json_t *spec, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	const char *s;
	json_t *parties;
	if (!json_is_object(spec))
		return dag__expected(err, path, "an output artifact object", spec);
	dag__pathf(p, "%s.output_artifact_key_alias", path);
	int ret = dag__opt_string(spec, "output_artifact_key_alias", p, &s, err);
	dag__pathf(p, "%s.output_artifact_type_alias", path);
	if (!ret)
		ret = dag__opt_string(spec, "output_artifact_type_alias", p, &s, err);
	dag__pathf(p, "%s.parties", path);
	if (!ret)
		ret = dag__opt_array(spec, "parties", p, &parties, err);
	if (!ret && parties)
		ret = dag__check_party_list(parties, p, NULL, err);
	return ret;
}

static int dag_check_output_key(json_t *v, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	json_t *spec;
	size_t i;
	if (!json_is_array(v))
		return dag_check_output_spec(v, path, err);
	json_array_foreach(v, i, spec) {
		dag__pathf(p, "%s[%zu]", path, i);
		int ret = dag_check_output_spec(spec, p, err);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int dag_check_outputs(json_t *outputs, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX], q[DAG_PATH_MAX];
	const char *type, *key;
	json_t *sect, *v;
	json_object_foreach(outputs, type, sect) {
		if (strcmp(type, "data") && strcmp(type, "model") && strcmp(type, "metric"))
			return dag__fail(err, path, "unknown output type '%s' (expected data, "
					 "model or metric)", type);
		dag__pathf(p, "%s.%s", path, type);
		if (!json_is_null(sect) && !json_is_object(sect))
			return dag__expected(err, p, "an object", sect);
		json_object_foreach(sect, key, v) {
			dag__pathf(q, "%s.%s", p, key);
			int ret = dag_check_output_key(v, q, err);
			if (ret)
				return ret;
		}
	}
	return FF_OK;
}

/* ---- tasks ---- */

static int dag_check_component(const json_t *spec, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	json_t *v = json_object_get(spec, "component_ref");
	dag__pathf(p, "%s.component_ref", path);
	if (!json_is_string(v))
		return dag__expected(err, p, "a string", v);
	if (!dag__name_ok(json_string_value(v), 100))
		return dag__fail(err, p, "component name '%.100s' must be 1 to 100 characters "
				 "of A-Z a-z 0-9 _ . - and must not start with '.'",
				 json_string_value(v));
	return FF_OK;
}

/* dependent_tasks, parameters, conf, stage: typed but otherwise free. */
static int dag_check_task_fields(const json_t *spec, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	json_t *obj;
	dag__pathf(p, "%s.dependent_tasks", path);
	int ret = dag__opt_str_list(spec, "dependent_tasks", p, false, err);
	dag__pathf(p, "%s.parameters", path);
	if (!ret)
		ret = dag__opt_object(spec, "parameters", p, &obj, err);
	dag__pathf(p, "%s.conf", path);
	if (!ret)
		ret = dag__opt_object(spec, "conf", p, &obj, err);
	if (!ret && obj)
		ret = dag__check_task_conf(obj, p, err);
	dag__pathf(p, "%s.stage", path);
	if (!ret)
		ret = dag_check_stage(spec, p, err);
	return ret;
}

static int dag_check_task(struct dag__st *st, const char *name, json_t *spec)
{
	char path[DAG_PATH_MAX], p[DAG_PATH_MAX];
	json_t *obj;
	if (!dag__name_ok(name, DAG_NAME_MAX))
		return dag__fail(st->err, "dag.tasks", "task name '%.60s' must be 1 to %d "
				 "characters of A-Z a-z 0-9 _ . - and must not start with '.'",
				 name, DAG_NAME_MAX);
	dag__pathf(path, "dag.tasks.%s", name);
	if (!json_is_object(spec))
		return dag__expected(st->err, path, "a task object", spec);
	int ret = dag_check_component(spec, path, st->err);
	if (!ret)
		ret = dag_check_task_fields(spec, path, st->err);
	dag__pathf(p, "%s.parties", path);
	if (!ret)
		ret = dag__opt_array(spec, "parties", p, &obj, st->err);
	if (!ret && obj)
		ret = dag__check_party_list(obj, p, st->job, st->err);
	dag__pathf(p, "%s.inputs", path);
	if (!ret)
		ret = dag__opt_object(spec, "inputs", p, &obj, st->err);
	if (!ret && obj)
		ret = dag_check_inputs(st, obj, p);
	dag__pathf(p, "%s.outputs", path);
	if (!ret)
		ret = dag__opt_object(spec, "outputs", p, &obj, st->err);
	if (!ret && obj)
		ret = dag_check_outputs(obj, p, st->err);
	return ret;
}

/* ---- party_tasks ---- */

static int dag_check_task_ref(struct dag__st *st, const char *name, json_t *ref,
			      const char *path)
{
	char p[DAG_PATH_MAX];
	json_t *obj;
	if (!json_object_get(st->tasks, name))
		return dag__fail(st->err, path, "task '%s' does not exist in dag.tasks", name);
	if (json_is_null(ref))
		return FF_OK;
	if (!json_is_object(ref))
		return dag__expected(st->err, path, "an object {parameters, conf}", ref);
	dag__pathf(p, "%s.parameters", path);
	int ret = dag__opt_object(ref, "parameters", p, &obj, st->err);
	dag__pathf(p, "%s.conf", path);
	if (!ret)
		ret = dag__opt_object(ref, "conf", p, &obj, st->err);
	if (!ret && obj)
		ret = dag__check_task_conf(obj, p, st->err);
	dag__pathf(p, "%s.inputs", path);
	if (!ret && dag__get(ref, "inputs"))
		ret = dag__fail(st->err, p, "per-party inputs are not supported; give the "
				"channels a parties list in dag.tasks.%s.inputs", name);
	return ret;
}

static int dag_check_site(struct dag__st *st, json_t *block, const char *path)
{
	char p[DAG_PATH_MAX];
	const char *name;
	json_t *obj, *ref;
	if (!json_is_object(block))
		return dag__expected(st->err, path, "an object {parties, conf, tasks}", block);
	dag__pathf(p, "%s.parties", path);
	int ret = dag__opt_array(block, "parties", p, &obj, st->err);
	if (!ret && obj)
		ret = dag__check_party_list(obj, p, st->job, st->err);
	dag__pathf(p, "%s.conf", path);
	if (!ret)
		ret = dag__opt_object(block, "conf", p, &obj, st->err);
	if (!ret && obj)
		ret = dag__check_task_conf(obj, p, st->err);
	dag__pathf(p, "%s.tasks", path);
	if (!ret)
		ret = dag__opt_object(block, "tasks", p, &obj, st->err);
	json_object_foreach(ret ? NULL : obj, name, ref) {
		dag__pathf(p, "%s.tasks.%s", path, name);
		ret = dag_check_task_ref(st, name, ref, p);
		if (ret)
			break;
	}
	return ret;
}

static int dag_check_party_tasks(struct dag__st *st)
{
	char p[DAG_PATH_MAX];
	const char *site;
	json_t *pts, *block;
	int ret = dag__opt_object(st->dag, "party_tasks", "dag.party_tasks", &pts, st->err);
	json_object_foreach(ret ? NULL : pts, site, block) {
		dag__pathf(p, "dag.party_tasks.%s", site);
		ret = dag_check_site(st, block, p);
		if (ret)
			break;
	}
	return ret;
}

int dag__check_tasks(struct dag__st *st)
{
	const char *name;
	json_t *spec;
	int ret = dag_check_stage(st->dag, "dag.stage", st->err);
	if (ret)
		return ret;
	if (!json_is_object(st->tasks))
		return dag__expected(st->err, "dag.tasks", "an object {task_name: task}", st->tasks);
	if (!json_object_size(st->tasks))
		return dag__fail(st->err, "dag.tasks", "must define at least one task");
	json_object_foreach(st->tasks, name, spec) {
		ret = dag_check_task(st, name, spec);
		if (ret)
			return ret;
	}
	return dag_check_party_tasks(st);
}
