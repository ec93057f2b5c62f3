// SPDX-License-Identifier: Apache-2.0
/*
 * ff_task.c - loading the task config, parameters, artifacts, the final
 * meta and task logs for components.
 */
#include "ff_setup.h"
#include <stdarg.h>
#include <unistd.h>
#include "fedflow/task.h"
#include "fs.h"
#include "httpl.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"

struct ff_task {
	json_t *cfg;
	json_t *outputs;      /* {data: {key: artifact | [..]}, model: ..., metric: ...} */
	char *meta_path;
	char *server;         /* http://host:port */
	struct httpl http;
	bool http_ready;
	bool finished;
};

static const char *ff_task_s(const struct ff_task *t, const char *key)
{
	const char *v = jsonx_str(t->cfg, key);
	return v ? v : "";
}

int ff_task_load(const char *config_path, const char *meta_path, struct ff_task **out,
		 struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT_MAX(256 << 20);
	struct ff_task *t = ff_calloc(1, sizeof(*t));
	if (!t)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret = fs_read_file(config_path, &b, err);
	if (!ret)
		ret = jsonx_load_any(b.buf, b.len, &t->cfg, err);
	ff_buf_release(&b);
	if (!ret && !json_is_object(t->cfg))
		ret = ff_error_set(err, FF_EINVAL, "task config '%s' is not a mapping", config_path);
	if (ret) {
		ff_task_free(t);
		return ret;
	}
	t->outputs = json_pack("{s:{},s:{},s:{}}", "data", "model", "metric");
	t->meta_path = ff_strdup(meta_path);
	const json_t *mlmd = json_object_get(t->cfg, "mlmd");
	const char *host = jsonx_str(mlmd, "host");
	long long port = 0;
	if (host && jsonx_as_int(json_object_get(mlmd, "port"), &port))
		t->server = ff_asprintf("http://%s:%lld", host, port);
	*out = t;
	return FF_OK;
}

void ff_task_free(struct ff_task *t)
{
	if (!t)
		return;
	json_decref(t->cfg);
	json_decref(t->outputs);
	ff_free(t->meta_path);
	ff_free(t->server);
	if (t->http_ready)
		httpl_release(&t->http);
	ff_free(t);
}

const char *ff_task_job_id(const struct ff_task *t) { return ff_task_s(t, "job_id"); }
const char *ff_task_task_id(const struct ff_task *t) { return ff_task_s(t, "task_id"); }
const char *ff_task_name(const struct ff_task *t) { return ff_task_s(t, "task_name"); }
const char *ff_task_component(const struct ff_task *t) { return ff_task_s(t, "component"); }
const char *ff_task_role(const struct ff_task *t) { return ff_task_s(t, "role"); }
const char *ff_task_party_id(const struct ff_task *t) { return ff_task_s(t, "party_id"); }
const char *ff_task_stage(const struct ff_task *t) { return ff_task_s(t, "stage"); }
const char *ff_task_execution_id(const struct ff_task *t) { return ff_task_s(t, "party_task_id"); }
const json_t *ff_task_config(const struct ff_task *t) { return t->cfg; }

long long ff_task_version(const struct ff_task *t)
{
	long long v = 0;
	jsonx_as_int(json_object_get(t->cfg, "task_version"), &v);
	return v;
}

const json_t *ff_task_param(const struct ff_task *t, const char *name)
{
	const json_t *v = json_object_get(json_object_get(t->cfg, "parameters"), name);
	return json_is_null(v) ? NULL : v;
}

int ff_task_param_int(const struct ff_task *t, const char *name, long long dflt,
		      long long *out, struct ff_error *err)
{
	const json_t *v = ff_task_param(t, name);
	*out = dflt;
	if (v && !jsonx_as_int(v, out))
		return ff_error_set(err, FF_EINVAL, "parameter '%s': expected an integer, got %s",
				    name, jsonx_type_name(v));
	return FF_OK;
}

int ff_task_param_double(const struct ff_task *t, const char *name, double dflt,
			 double *out, struct ff_error *err)
{
	const json_t *v = ff_task_param(t, name);
	*out = dflt;
	if (v && !jsonx_as_double(v, out))
		return ff_error_set(err, FF_EINVAL, "parameter '%s': expected a number, got %s",
				    name, jsonx_type_name(v));
	return FF_OK;
}

int ff_task_param_bool(const struct ff_task *t, const char *name, bool dflt, bool *out,
		       struct ff_error *err)
{
	const json_t *v = ff_task_param(t, name);
	*out = dflt;
	if (v && !jsonx_as_bool(v, out))
		return ff_error_set(err, FF_EINVAL, "parameter '%s': expected true or false, got %s",
				    name, jsonx_type_name(v));
	return FF_OK;
}

int ff_task_param_str(const struct ff_task *t, const char *name, const char *dflt,
		      const char **out, struct ff_error *err)
{
	const json_t *v = ff_task_param(t, name);
	*out = dflt;
	if (v && !json_is_string(v))
		return ff_error_set(err, FF_EINVAL, "parameter '%s': expected a string, got %s",
				    name, jsonx_type_name(v));
	if (v)
		*out = json_string_value(v);
	return FF_OK;
}

size_t ff_task_input_count(const struct ff_task *t, const char *key)
{
	const json_t *v = json_object_get(json_object_get(t->cfg, "input_artifacts"), key);
	if (!v || json_is_null(v))
		return 0;
	return json_is_array(v) ? json_array_size(v) : 1;
}

const json_t *ff_task_input(const struct ff_task *t, const char *key, size_t i)
{
	const json_t *v = json_object_get(json_object_get(t->cfg, "input_artifacts"), key);
	if (json_is_array(v))
		return json_array_get(v, i);
	return i == 0 && json_is_object(v) ? v : NULL;
}

const char *ff_task_output_uri(const struct ff_task *t, const char *key)
{
	return jsonx_str(json_object_get(json_object_get(t->cfg, "output_artifacts"), key), "uri");
}

const char *ff_task_output_type(const struct ff_task *t, const char *key)
{
	return jsonx_str(json_object_get(json_object_get(t->cfg, "output_artifacts"), key),
			 "type_name");
}

int ff_task_add_output(struct ff_task *t, const char *kind, const char *key, json_t *artifact)
{
	json_t *set = json_object_get(t->outputs, kind);
	if (!set || !artifact) {
		json_decref(artifact);
		return FF_EINVAL;
	}
	json_t *old = json_object_get(set, key);
	if (!old)
		return json_object_set_new(set, key, artifact) ? FF_ENOMEM : FF_OK;
	if (!json_is_array(old)) {
		json_t *arr = json_pack("[O]", old);
		json_object_set_new(set, key, arr);
		old = arr;
	}
	return json_array_append_new(old, artifact) ? FF_ENOMEM : FF_OK;
}

int ff_task_finish(struct ff_task *t, int code, const char *message)
{
	json_t *meta = json_pack("{s:{s:i,s:s?},s:{s:O,s:O}}", "status", "code", code ? -1 : 0,
				 "exceptions", code ? (message ? message : ff_strerror(code)) : NULL,
				 "io_meta", "inputs", json_object_get(t->cfg, "input_artifacts"),
				 "outputs", t->outputs);
	char *text = meta ? jsonx_dumps(meta) : NULL;
	json_decref(meta);
	int ret = text && t->meta_path ? fs_write_atomic(t->meta_path, text, strlen(text), NULL)
				       : FF_ENOMEM;
	ff_free(text);
	t->finished = true;
	if (code)
		ff_task_log(t, FF_TASK_ERROR, "task failed: %s", message ? message : ff_strerror(code));
	return (code || ret) ? 1 : 0;
}

void ff_task_log(struct ff_task *t, int level, const char *fmt, ...)
{
	/*
	 * fedflowd points the process's stdout and stderr at the task's log
	 * file; the log API filters its records by level (task_info shows
	 * INFO and above, as FATE's per-level files did).
	 */
	(void)t;
	va_list ap;
	va_start(ap, fmt);
	ff_log_vwrite_fd(2, level, fmt, ap);
	va_end(ap);
}

static const char *ff_task_metric_url(struct ff_task *t, char *buf, size_t n)
{
	const json_t *outs = json_object_get(t->cfg, "output_artifacts");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)outs, key, v) {
		const char *uri = jsonx_str(v, "uri");
		if (uri && !strncmp(uri, "http", 4) && strstr(uri, "/worker/metric/save")) {
			snprintf(buf, n, "%s", uri);
			return buf;
		}
	}
	if (!t->server)
		return NULL;
	snprintf(buf, n, "%s/v2/worker/metric/save/%s", t->server, ff_task_execution_id(t));
	return buf;
}

int ff_task_metric(struct ff_task *t, const char *name, const char *type,
		   const json_t *groups, const char *step_axis, json_t *data,
		   struct ff_error *err)
{
	char url[1024];
	if (!ff_task_metric_url(t, url, sizeof(url))) {
		json_decref(data);
		return ff_error_set(err, FF_EINVAL, "task config has no metric address");
	}
	if (!t->http_ready) {
		int ret = httpl_init(&t->http, url, err);
		if (ret) {
			json_decref(data);
			return ret;
		}
		t->http_ready = true;
	}
	json_t *body = json_pack("{s:[{s:s,s:s?,s:o,s:s?,s:o}]}", "data", "name", name,
				 "type", type, "groups",
				 groups ? json_incref((json_t *)groups) : json_array(),
				 "step_axis", step_axis, "data", data);
	json_t *resp = NULL;
	const char *path = strstr(url, "://");
	path = path ? strchr(path + 3, '/') : NULL;
	int ret = body && path ? httpl_post_json(&t->http, path, body, &resp, err) : FF_ENOMEM;
	long long code = -1;
	if (!ret && (!jsonx_as_int(json_object_get(resp, "code"), &code) || code != 0))
		ret = ff_error_set(err, FF_EWORKER, "metric '%s' refused: %s", name,
				   jsonx_str(resp, "message") ? jsonx_str(resp, "message") : "?");
	json_decref(body);
	json_decref(resp);
	return ret;
}

size_t ff_task_peer_count(const struct ff_task *t)
{
	return json_array_size(jsonx_path(t->cfg, "conf.federation.metadata.parties.parties"));
}

int ff_task_peer(const struct ff_task *t, size_t i, const char **role, const char **party_id)
{
	const json_t *p = json_array_get(jsonx_path(t->cfg, "conf.federation.metadata.parties.parties"),
					 i);
	if (!p)
		return FF_EINVAL;
	*role = jsonx_str(p, "role");
	*party_id = jsonx_str(p, "partyid");
	return (*role && *party_id) ? FF_OK : FF_EINVAL;
}
