// SPDX-License-Identifier: Apache-2.0
/*
 * exec_prepare.c - what a task process is given: folders, resolved input
 * artifacts, output URIs and the TaskConfigSpec file (spec §7.2, §7.4).
 */
#include "ff_setup.h"
#include <limits.h>
#include "clock.h"
#include "data/tracking.h"
#include "exec_int.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "model/model.h"
#include "site.h"

extern char **environ;

/*
 * One folder per task version for its config, result and file outputs; the
 * task's log is a file in the flat logs folder: every inode a task start
 * creates costs time on the critical path, so there are as few as the
 * layout allows.
 */
int exec_prepare_dirs(struct exec_proc *p, struct ff_error *err)
{
	p->define_path = ff_asprintf("%s/define.yaml", p->task_dir);
	p->config_path = ff_asprintf("%s/task_parameters.yaml", p->task_dir);
	p->result_path = ff_asprintf("%s/task_result.yaml", p->task_dir);
	/* a provider with its own log files (FATE's logger) makes this folder */
	p->logger_dir = ff_strdup(p->log_base);
	if (!p->define_path || !p->config_path || !p->result_path || !p->logger_dir)
		return FF_ENOMEM;
	return fs_mkdirs(p->task_dir, 0755, err);
}

static void exec_cache_key(const struct exec_proc *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s|%s|%s|%s", p->provider.provider_name, p->component, p->key.role,
		 p->stage);
}

const json_t *exec_io_spec(struct exec_proc *p)
{
	const json_t *d = provider_component(p->site, p->provider.provider_name, p->component);
	if (d && json_object_get(d, "output_artifacts"))
		return d;
	char key[512];
	exec_cache_key(p, key, sizeof(key));
	return json_object_get(p->site->exec->define_cache, key);
}

/* FATE's ComponentIOArtifactsTypeSpec list -> {key: {types, optional, is_multi}}. */
static json_t *exec_io_list(const json_t *list)
{
	json_t *o = json_object();
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a) {
		const char *name = jsonx_str(a, "name");
		if (!name)
			continue;
		json_t *types = json_array();
		size_t j;
		json_t *t;
		json_array_foreach(json_object_get(a, "types"), j, t) {
			const char *tn = json_is_object(t) ? jsonx_str(t, "type_name")
							   : json_string_value(t);
			if (tn)
				json_array_append_new(types, json_string(tn));
		}
		json_object_set_new(o, name, json_pack("{s:o,s:b,s:b}", "types", types,
						       "optional", json_is_true(json_object_get(a, "optional")),
						       "is_multi", json_is_true(json_object_get(a, "is_multi"))));
	}
	return o;
}

int exec_define_load(struct exec_proc *p, struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT_MAX(1 << 20);
	json_t *def = NULL;
	int ret = fs_read_file(p->define_path, &b, err);
	if (!ret)
		ret = jsonx_load_any(b.buf, b.len, &def, err);
	ff_buf_release(&b);
	if (ret) {
		ff_error_prefix(err, "component artifact-type output");
		return ret;
	}
	json_t *spec = json_object();
	json_t *in = json_object(), *out = json_object();
	const char *kinds[] = { "data", "model", "metric" };
	for (size_t k = 0; k < 3; k++) {
		json_t *il = jsonx_path(def, "inputs");
		json_t *ol = jsonx_path(def, "outputs");
		if (k < 2 && il)
			json_object_set_new(in, kinds[k], exec_io_list(json_object_get(il, kinds[k])));
		if (ol)
			json_object_set_new(out, kinds[k], exec_io_list(json_object_get(ol, kinds[k])));
	}
	json_object_set_new(spec, "input_artifacts", in);
	json_object_set_new(spec, "output_artifacts", out);
	char key[512];
	exec_cache_key(p, key, sizeof(key));
	json_object_set_new(p->site->exec->define_cache, key, spec);
	json_decref(def);
	return FF_OK;
}

/* One resolved data table -> FATE ArtifactInputApplySpec. */
static json_t *exec_data_artifact(const json_t *tbl, long long partitions)
{
	const char *uri = jsonx_str(tbl, "uri");
	const char *path = jsonx_str(tbl, "path");
	const char *dt = jsonx_str(tbl, "data_type");
	json_t *md = json_pack("{s:{s:{s:I},s:O},s:O?,s:O?,s:O,s:{s:O,s:O}}",
		"metadata", "options", "partitions", (json_int_t)partitions,
		"schema", json_object_get(tbl, "meta"),
		"namespace", json_object_get(tbl, "namespace"), "name", json_object_get(tbl, "name"),
		"source", json_object_get(tbl, "source"),
		"data_overview", "count", json_object_get(tbl, "count"),
		"samples", json_object_get(tbl, "display"));
	return json_pack("{s:s,s:o,s:s}", "uri", path ? path : (uri ? uri : ""),
			 "metadata", md, "type_name", dt ? dt : "dataframe");
}

static int exec_resolve_data(struct exec_proc *p, const json_t *ch, json_t *list,
			     struct ff_error *err)
{
	long long parts = 8;
	jsonx_as_int(json_object_get(p->plan, "computing_partitions"), &parts);
	const char *ns = jsonx_str(ch, "namespace"), *name = jsonx_str(ch, "name");
	json_t *tables = NULL;
	int ret;
	if (ns && name) {
		json_t *t = NULL;
		ret = tracking_table(p->site->db, ns, name, &t, err);
		if (!ret) {
			tables = json_array();
			json_array_append_new(tables, t);
		}
	} else {
		const char *job = jsonx_str(ch, "job_id");
		ret = tracking_query(p->site->db, job ? job : p->key.job_id, p->key.role,
				     p->key.party_id, jsonx_str(ch, "producer_task"),
				     jsonx_str(ch, "output_artifact_key"), &tables, err);
	}
	if (ret)
		return ret;
	size_t i;
	json_t *t;
	json_array_foreach(tables, i, t)
		json_array_append_new(list, exec_data_artifact(t, parts));
	json_decref(tables);
	return FF_OK;
}

/*
 * A model input (spec §7.4 step 3): the package stored for (model_id,
 * model_version, this role and party, producer task, output key) is
 * unpacked into the task's input/model/<producer>_<key>/ folder and each
 * model it holds becomes {uri: file://..., metadata, type_name}. The model
 * identity is the channel's when it names both (a model_warehouse of
 * another job), else this job's.
 */
static int exec_resolve_model(struct exec_proc *p, const json_t *ch, json_t *list,
			      struct ff_error *err)
{
	const char *producer = jsonx_str(ch, "producer_task");
	const char *okey = jsonx_str(ch, "output_artifact_key");
	char mid[256] = "", ver[128] = "";
	const json_t *src = json_object_get(ch, "model_id") && json_object_get(ch, "model_version")
			    ? ch : p->plan;
	if (jsonx_scalar_text(json_object_get(src, "model_id"), mid, sizeof(mid)) ||
	    jsonx_scalar_text(json_object_get(src, "model_version"), ver, sizeof(ver)))
		return ff_error_set(err, FF_ENOMODEL, "model input names no model_id/model_version");
	if (!producer || !okey)
		return ff_error_set(err, FF_ENOMODEL, "model input needs producer_task and "
				    "output_artifact_key");
	struct model_filter f = { .model_id = mid, .model_version = ver, .role = p->key.role,
				  .party_id = p->key.party_id, .task_name = producer,
				  .output_key = okey };
	json_t *rows = NULL, *arts = NULL;
	int ret = model_find(p->site->db, &f, &rows, err);
	const char *skey = ret ? NULL : jsonx_str(json_array_get(rows, 0), "storage_key");
	char *path = skey ? model_store_path(p->site->cfg.model_dir, skey) : NULL;
	char *dest = ff_asprintf("%s/input/model/%s_%s", p->task_dir, producer, okey);
	if (!ret && (!path || !dest))
		ret = FF_ENOMEM;
	if (!ret) {
		fs_rm_rf(dest);
		ret = model_store_unpack(path, dest, &arts, err);
	}
	size_t i;
	json_t *a;
	json_array_foreach(ret ? NULL : arts, i, a)
		json_array_append(list, a);
	json_decref(arts);
	json_decref(rows);
	ff_free(path);
	ff_free(dest);
	return ret;
}

static bool exec_input_optional(struct exec_proc *p, const char *kind, const char *key)
{
	const json_t *spec = exec_io_spec(p);
	json_t *in = spec ? jsonx_path(spec, "input_artifacts") : NULL;
	json_t *k = in ? json_object_get(json_object_get(in, kind), key) : NULL;
	return json_is_true(json_object_get(k, "optional"));
}

static bool exec_input_multi(struct exec_proc *p, const char *kind, const char *key)
{
	const json_t *spec = exec_io_spec(p);
	json_t *in = spec ? jsonx_path(spec, "input_artifacts") : NULL;
	json_t *k = in ? json_object_get(json_object_get(in, kind), key) : NULL;
	return json_is_true(json_object_get(k, "is_multi"));
}

/*
 * Resolves every channel of one input key into out[key]. The plan holds,
 * per key, one channel or a list (FATE's PreTaskConfigSpec: the source
 * kind is implied by the channel's fields).
 */
static int exec_resolve_key(struct exec_proc *p, const char *kind, const char *key,
			    const json_t *chans, json_t *out, struct ff_error *err)
{
	json_t *list = json_array();
	json_t *arr = json_is_array(chans) ? json_incref((json_t *)chans)
					   : json_pack("[O]", chans);
	int ret = FF_OK;
	size_t i;
	json_t *ch;
	json_array_foreach(arr, i, ch) {
		if (!strcmp(kind, "model"))
			ret = exec_resolve_model(p, ch, list, err);
		else
			ret = exec_resolve_data(p, ch, list, err);
		if (ret)
			break;
	}
	json_decref(arr);
	/* an optional data input that does not resolve is skipped (spec §7.4
	 * step 3); a model channel always fails: FATE's wrapper has no such
	 * escape for models, and running a predict task without its model
	 * would hide the mistake */
	if (ret && !strcmp(kind, "data") && exec_input_optional(p, kind, key)) {
		json_decref(list);
		return FF_OK;
	}
	if (ret) {
		json_decref(list);
		ff_error_prefix(err, "input '%s' of task '%s'", key, p->task_name);
		return ret;
	}
	if (json_array_size(list) == 1 && !exec_input_multi(p, kind, key))
		json_object_set(out, key, json_array_get(list, 0));
	else
		json_object_set(out, key, list);
	json_decref(list);
	return FF_OK;
}

static int exec_inputs(struct exec_proc *p, json_t *out, struct ff_error *err)
{
	json_t *ia = json_object_get(p->plan, "input_artifacts");
	const char *kinds[] = { "data", "model" };
	for (size_t k = 0; k < 2; k++) {
		const char *key;
		json_t *sources;
		json_object_foreach(json_object_get(ia, kinds[k]), key, sources) {
			int ret = exec_resolve_key(p, kinds[k], key, sources, out, err);
			if (ret)
				return ret;
		}
	}
	return FF_OK;
}

static json_t *exec_output_uri(struct exec_proc *p, const char *kind, const char *key,
			       const char *type)
{
	char uuid[33];
	char *uri;
	if (!strcmp(kind, "data") && (!strcmp(type, "dataframe") || !strcmp(type, "table"))) {
		clock_uuid_hex(uuid);
		uri = ff_asprintf("standalone://%s/%s/%s", p->site->cfg.data_dir, p->key.task_id, uuid);
	} else if (!strcmp(kind, "metric")) {
		uri = ff_asprintf("http://%s:%d/v2/worker/metric/save/%s", p->site->cfg.host,
				  p->site->cfg.port, p->execution_id);
	} else {
		uri = ff_asprintf("file://%s/output/%s/%s", p->task_dir, key, type);
	}
	json_t *o = json_pack("{s:s?,s:s}", "uri", uri, "type_name", type);
	ff_free(uri);
	return o;
}

static json_t *exec_outputs(struct exec_proc *p)
{
	json_t *out = json_object();
	const json_t *spec = exec_io_spec(p);
	const char *kinds[] = { "data", "model", "metric" };
	for (size_t k = 0; spec && k < 3; k++) {
		const char *key;
		json_t *a;
		json_object_foreach(jsonx_path(spec, "output_artifacts") ?
				    json_object_get(jsonx_path(spec, "output_artifacts"), kinds[k]) : NULL,
				    key, a) {
			const char *type = json_string_value(json_array_get(json_object_get(a, "types"), 0));
			if (!type)
				type = !strcmp(kinds[k], "metric") ? "json_metric"
				     : !strcmp(kinds[k], "model") ? "json_model" : "dataframe";
			json_object_set_new(out, key, exec_output_uri(p, kinds[k], key, type));
		}
	}
	return out;
}

static json_t *exec_conf(struct exec_proc *p)
{
	const struct config *c = &p->site->cfg;
	char fid[256];
	snprintf(fid, sizeof(fid), "%s_%lld", p->key.task_id, p->key.version);
	json_t *parties = json_array();
	size_t i;
	json_t *tp;
	json_array_foreach(json_object_get(p->plan, "task_parties"), i, tp)
		json_array_append_new(parties, json_pack("{s:O?,s:O?}", "role",
							 json_object_get(tp, "role"), "partyid",
							 json_object_get(tp, "party_id")));
	return json_pack("{s:{s:s,s:{}},s:{s:s,s:{s:s,s:{s:s}}},s:s,"
			 "s:{s:s,s:{s:s,s:{s:{s:s,s:s},s:o},s:{s:s,s:i}}},"
			 "s:{s:{s:i,s:b},s:{s:s,s:s}}}",
		"device", "type", "CPU", "metadata",
		"computing", "type", "standalone", "metadata", "computing_id", p->execution_id,
		"options", "data_dir", c->data_dir,
		"storage", "standalone",
		"federation", "type", "fedflow", "metadata", "federation_id", fid,
		"parties", "local", "role", p->key.role, "partyid", p->key.party_id,
		"parties", parties,
		"gateway", "host", c->host, "port", c->port,
		"logger", "config", "version", 1, "disable_existing_loggers", 0,
		"metadata", "dir", p->logger_dir, "level", "INFO");
}

int exec_write_config(struct exec_proc *p, struct ff_error *err)
{
	json_t *inputs = json_object();
	int ret = exec_inputs(p, inputs, err);
	if (ret) {
		json_decref(inputs);
		return ret;
	}
	char ver[32];
	snprintf(ver, sizeof(ver), "%lld", p->key.version);
	json_t *cfg = json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:o,s:o,s:o,"
		"s:O?,s:O?,s:O?,s:O?,s:{s:s,s:i,s:s},s:s,s:s}",
		"job_id", p->key.job_id, "task_id", p->key.task_id, "task_version", ver,
		"party_task_id", p->execution_id, "task_name", p->task_name,
		"component", p->component, "role", p->key.role, "party_id", p->key.party_id,
		"stage", p->stage, "parameters", json_object_get(p->plan, "parameters"),
		"input_artifacts", inputs, "output_artifacts", exec_outputs(p),
		"conf", exec_conf(p),
		"model_id", json_object_get(p->plan, "model_id"),
		"model_version", json_object_get(p->plan, "model_version"),
		"computing_partitions", json_object_get(p->plan, "computing_partitions"),
		"engine_run", json_object_get(p->plan, "engine_run"),
		"mlmd", "host", p->site->cfg.host, "port", p->site->cfg.port, "protocol", "http",
		"execution_final_meta_path", p->result_path, "log_dir", p->logger_dir);
	char *text = cfg ? jsonx_dumps(cfg) : NULL;
	json_decref(cfg);
	/* nobody reads it before the process starts: no temp file needed */
	ret = text ? fs_write_file(p->config_path, text, strlen(text), err) : FF_ENOMEM;
	ff_free(text);
	return ret;
}

char **exec_argv(struct exec_proc *p)
{
	if (p->phase == EXEC_DEFINE) {
		const char *extra[] = { "artifact-type", "--name", p->component, "--role",
					p->key.role, "--stage", p->stage, "--output-path",
					p->define_path, NULL };
		return provider_argv(&p->provider, extra);
	}
	const char *extra[] = { "execute", "--config", p->config_path,
				"--execution-final-meta-path", p->result_path, NULL };
	return provider_argv(&p->provider, extra);
}

static bool exec_env_overridden(const char *kv, char *const *extra)
{
	size_t n = strcspn(kv, "=");
	for (; extra && *extra; extra++)
		if (!strncmp(*extra, kv, n) && (*extra)[n] == '=')
			return true;
	return false;
}

char **exec_envp(struct exec_proc *p)
{
	char **extra = provider_env(&p->provider);
	size_t n = 0, m = 0;
	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	char **env = ff_calloc(n + m + 6, sizeof(*env));
	if (!env || !extra) {
		provider_argv_free(extra);
		ff_free(env);
		return NULL;
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (!exec_env_overridden(environ[i], extra) &&
		    strncmp(environ[i], "FATE_", 5) && strncmp(environ[i], "FEDFLOW_TASK", 12))
			env[j++] = ff_strdup(environ[i]);
	for (size_t i = 0; i < m; i++)
		env[j++] = ff_strdup(extra[i]);
	env[j++] = ff_asprintf("FATE_JOB_ID=%s", p->key.job_id);
	env[j++] = ff_asprintf("FEDFLOW_TASK_SERVER=http://%s:%d", p->site->cfg.host,
			       p->site->cfg.port);
	env[j++] = ff_asprintf("FEDFLOW_TASK_EXECUTION_ID=%s", p->execution_id);
	env[j] = NULL;
	provider_argv_free(extra);
	return env;
}
