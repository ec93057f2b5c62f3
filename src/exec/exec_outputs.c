// SPDX-License-Identifier: Apache-2.0
/*
 * exec_outputs.c - the end of a task process: read its execution final
 * meta and record what it produced (spec §7.4 steps 6-7).
 */
#include "ff_setup.h"
#include <sys/wait.h>
#include <unistd.h>
#include "data/tracking.h"
#include "exec_int.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "metric/metric.h"
#include "model/model.h"
#include "site.h"
#include "store.h"

static char *exec_exit_text(int wstatus)
{
	if (WIFEXITED(wstatus))
		return ff_asprintf("exit status %d", WEXITSTATUS(wstatus));
	if (WIFSIGNALED(wstatus))
		return ff_asprintf("killed by signal %d (%s)", WTERMSIG(wstatus),
				   strsignal(WTERMSIG(wstatus)));
	return ff_asprintf("wait status %d", wstatus);
}

/* "standalone:///a/b/ns/name" or "file:///x" -> path after the scheme. */
static const char *exec_uri_path(const char *uri)
{
	const char *p = strstr(uri, "://");
	return p ? p + 3 : uri;
}

static int exec_record_data_one(struct exec_proc *p, const char *key, long long index,
				const json_t *art, struct ff_error *err)
{
	const char *uri = jsonx_str(art, "uri");
	const char *type = jsonx_str(art, "type_name");
	const json_t *md = json_object_get(art, "metadata");
	const char *ns = jsonx_str(md, "namespace"), *name = jsonx_str(md, "name");
	char nsbuf[256] = "", namebuf[256] = "";
	bool unresolved = type && !strcmp(type, "data_unresolved");
	if ((!ns || !name) && uri && *uri) {
		/* namespace and name are the last two segments of the URI */
		const char *path = exec_uri_path(uri);
		const char *last = strrchr(path, '/');
		if (last && last > path) {
			const char *prev = last - 1;
			while (prev > path && *prev != '/')
				prev--;
			snprintf(nsbuf, sizeof(nsbuf), "%.*s", (int)(last - prev - 1), prev + 1);
			snprintf(namebuf, sizeof(namebuf), "%s", last + 1);
			ns = ns ? ns : nsbuf;
			name = name ? name : namebuf;
		}
	}
	if (!ns || !name)
		return ff_error_set(err, FF_EWORKER, "data output '%s' names no table", key);
	long long count = -1, parts = 16;
	jsonx_as_int(jsonx_path(md, "data_overview.count"), &count);
	/* a table's real partition count when the component reports it
	 * (libfedflow does); FATE records 16 for every output */
	jsonx_as_int(jsonx_path(md, "metadata.options.partitions"), &parts);
	struct tracking_record r = {
		.job_id = p->key.job_id, .task_id = p->key.task_id, .task_name = p->task_name,
		.role = p->key.role, .party_id = p->key.party_id, .output_key = key,
		.task_version = p->key.version, .index = index,
		.uri = unresolved ? "" : uri, .namespace_ = ns, .name = name,
		.engine = "standalone", .data_type = type ? type : "dataframe",
		.path = uri ? exec_uri_path(uri) : NULL,
		.data_meta = jsonx_path(md, "metadata.schema") ? jsonx_path(md, "metadata.schema")
							       : json_object_get(md, "metadata"),
		.source = json_object_get(md, "source"),
		.samples = jsonx_path(md, "data_overview.samples"),
		.count = count, .partitions = parts,
	};
	return tracking_save(p->site->db, &r, err);
}

static int exec_record_data(struct exec_proc *p, const json_t *data, struct ff_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)data, key, v) {
		json_t *arr = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		size_t i;
		json_t *a;
		int ret = FF_OK;
		json_array_foreach(arr, i, a) {
			if (json_is_false(json_object_get(a, "consumed")))
				continue;
			ret = exec_record_data_one(p, key, (long long)i, a, err);
			if (ret)
				break;
		}
		json_decref(arr);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int exec_record_metrics(struct exec_proc *p, const json_t *metrics, struct ff_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)metrics, key, v) {
		const char *uri = jsonx_str(v, "uri");
		if (!uri || strncmp(uri, "file://", 7))
			continue; /* http metric URIs were posted by the component */
		struct ff_buf b = FF_BUF_INIT;
		json_t *list = NULL;
		int ret = fs_read_file(uri + 7, &b, err);
		if (!ret)
			ret = jsonx_load_any(b.buf, b.len, &list, err);
		ff_buf_release(&b);
		if (!ret) {
			struct metric_task t = { .job_id = p->key.job_id, .role = p->key.role,
						 .party_id = p->key.party_id, .task_name = p->task_name,
						 .task_id = p->key.task_id, .task_version = p->key.version };
			ret = metric_save(p->site->db, &t, json_is_array(list) ? list : NULL, err);
		}
		json_decref(list);
		if (ret == FF_ENOENT)
			continue; /* a metric output that was never written */
		if (ret)
			return ret;
	}
	return FF_OK;
}

/*
 * Model outputs (spec §7.4 step 7, done here instead of in a wrapper): the
 * artifacts of each key (file:// URIs: a json_model file or a model
 * directory) are packed into one tar with their metas and stored under
 * model_id/model_version/role/party_id/task_name/key, with a t_model_meta
 * row. The tar is built in the task folder and moved into the store.
 */
static int exec_record_models(struct exec_proc *p, const json_t *models, struct ff_error *err)
{
	char mid[256] = "", ver[128] = "0";
	jsonx_scalar_text(json_object_get(p->plan, "model_id"), mid, sizeof(mid));
	jsonx_scalar_text(json_object_get(p->plan, "model_version"), ver, sizeof(ver));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)models, key, v) {
		json_t *all = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		json_t *arts = json_array();
		size_t i;
		json_t *a;
		json_array_foreach(all, i, a)
			if (!json_is_false(json_object_get(a, "consumed")))
				json_array_append(arts, a);
		json_decref(all);
		char *tar = ff_asprintf("%s/output/%s.model.tar", p->task_dir, key);
		int ret = tar ? FF_OK : FF_ENOMEM;
		if (!ret && json_array_size(arts)) {
			ret = model_store_pack(arts, tar, NULL, err);
			struct model_record rec = {
				.job_id = p->key.job_id,
				.key = { mid[0] ? mid : p->key.job_id, ver, p->key.role, p->key.party_id,
					 p->task_name, key },
				.type_name = jsonx_str(json_array_get(arts, 0), "type_name"),
			};
			if (!ret)
				ret = model_save(p->site->db, p->site->cfg.model_dir, &rec, tar, true, err);
			if (ret) {
				unlink(tar);
				ff_error_prefix(err, "model output '%s'", key);
			}
		}
		ff_free(tar);
		json_decref(arts);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int exec_record(struct exec_proc *p, const json_t *meta, struct ff_error *err)
{
	const json_t *outs = jsonx_path(meta, "io_meta.outputs");
	int ret = exec_record_data(p, json_object_get(outs, "data"), err);
	if (!ret)
		ret = exec_record_models(p, json_object_get(outs, "model"), err);
	if (!ret)
		ret = exec_record_metrics(p, json_object_get(outs, "metric"), err);
	return ret;
}

int exec_collect(struct exec_proc *p, int wstatus, char **error)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_buf b = FF_BUF_INIT;
	json_t *meta = NULL;
	/* an adopted process is not our child: its exit status is unknown */
	char *exit_text = p->adopted ? ff_strdup("exit status unknown after a fedflowd restart")
				     : exec_exit_text(wstatus);
	bool exited_ok = p->adopted || (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	int ret = fs_read_file(p->result_path, &b, &err);
	if (!ret)
		ret = jsonx_load_any(b.buf, b.len, &meta, &err);
	ff_buf_release(&b);
	if (ret) {
		*error = ff_asprintf("component ended (%s) without a readable execution final meta:"
				     " %s; see the task log (log_type task_info)", exit_text ? exit_text : "?",
				     ff_error_msg(&err, ret));
		ff_free(exit_text);
		return FF_ENORESULT;
	}
	long long code = -1;
	jsonx_as_int(jsonx_path(meta, "status.code"), &code);
	if (code != 0 || !exited_ok) {
		const char *ex = jsonx_str(json_object_get(meta, "status"), "exceptions");
		*error = ff_asprintf("component failed (%s, code %lld)%s%.900s", exit_text ? exit_text : "?",
				     code, ex ? ": " : "", ex ? ex : "");
		ret = FF_ECOMPONENT;
	} else {
		ret = exec_record(p, meta, &err);
		if (ret)
			*error = ff_asprintf("cannot record the outputs: %s", ff_error_msg(&err, ret));
	}
	json_decref(meta);
	ff_free(exit_text);
	return ret;
}
