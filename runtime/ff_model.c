// SPDX-License-Identifier: Apache-2.0
/* ff_model.c - a component's model outputs and inputs (see fedflow/model.h). */
#include "ff_setup.h"
#include <sys/stat.h>
#include "fedflow/model.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

#define FF_MODEL_JSON_MAX ((size_t)256 << 20)

/* The filesystem path of output key's file URI, or NULL. */
static const char *ff_model_out_path(const struct ff_task *t, const char *key)
{
	const char *uri = ff_task_output_uri(t, key);
	return uri && !strncmp(uri, "file://", 7) && uri[7] == '/' ? uri + 7 : NULL;
}

static int ff_model_report(struct ff_task *t, const char *key, const char *path,
			   const char *type, const json_t *overview, struct ff_error *err)
{
	char *uri = ff_asprintf("file://%s", path);
	/* "o" takes the new reference either way (NULL overview: an empty one) */
	json_t *art = uri ? json_pack("{s:s,s:{s:o,s:{s:s,s:s,s:s,s:s,s:s,s:n}},s:s}", "uri", uri,
				      "metadata", "model_overview",
				      overview ? json_deep_copy(overview) : json_object(), "source", "task_id",
				      ff_task_task_id(t), "party_task_id", ff_task_execution_id(t),
				      "task_name", ff_task_name(t), "component",
				      ff_task_component(t), "output_artifact_key", key,
				      "output_index", "type_name", type)
			  : NULL;
	ff_free(uri);
	if (!art || ff_task_add_output(t, "model", key, art))
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	return FF_OK;
}

/* mkdir -p of the folder holding path. */
static int ff_model_parent(const char *path, struct ff_error *err)
{
	char *dir = ff_strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int ret = dir ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (slash && slash != dir) {
		*slash = '\0';
		ret = fs_mkdirs(dir, 0755, err);
	}
	ff_free(dir);
	return ret;
}

int ff_model_save_json(struct ff_task *t, const char *key, const json_t *model,
		       const json_t *overview, struct ff_error *err)
{
	const char *path = ff_model_out_path(t, key);
	if (!path)
		return ff_error_set(err, FF_EINVAL, "model output '%s' has no file URI", key);
	char *text = jsonx_dumps(model);
	int ret = text ? ff_model_parent(path, err) : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		ret = fs_write_atomic(path, text, strlen(text), err);
	ff_free(text);
	if (!ret)
		ret = ff_model_report(t, key, path, "json_model", overview, err);
	return ret;
}

int ff_model_output_dir(struct ff_task *t, const char *key, char **dir, struct ff_error *err)
{
	const char *path = ff_model_out_path(t, key);
	if (!path)
		return ff_error_set(err, FF_EINVAL, "model output '%s' has no file URI", key);
	int ret = fs_mkdirs(path, 0755, err);
	if (!ret && !(*dir = ff_strdup(path)))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	return ret;
}

int ff_model_save_dir(struct ff_task *t, const char *key, const json_t *overview,
		      struct ff_error *err)
{
	const char *path = ff_model_out_path(t, key);
	if (!path || !fs_is_dir(path))
		return ff_error_set(err, FF_EINVAL, "model output '%s': no folder written (call "
				    "ff_model_output_dir first)", key);
	return ff_model_report(t, key, path, "model_directory", overview, err);
}

const char *ff_model_input_path(const struct ff_task *t, const char *key, size_t i)
{
	const char *uri = jsonx_str(ff_task_input(t, key, i), "uri");
	return uri && !strncmp(uri, "file://", 7) ? uri + 7 : NULL;
}

const json_t *ff_model_input_meta(const struct ff_task *t, const char *key, size_t i)
{
	return json_object_get(ff_task_input(t, key, i), "metadata");
}

int ff_model_load_json(const struct ff_task *t, const char *key, size_t i, json_t **out,
		       struct ff_error *err)
{
	const char *path = ff_model_input_path(t, key, i);
	if (!path)
		return ff_error_set(err, FF_EINVAL, "no model input %zu for '%s'", i, key);
	struct ff_buf b = FF_BUF_INIT_MAX(FF_MODEL_JSON_MAX);
	int ret = fs_read_file(path, &b, err);
	if (!ret && jsonx_parse(b.buf, b.len, out, err))
		ret = ff_error_set(err, FF_EDATA, "model input '%s' ('%s') is not a JSON model", key,
				   path);
	ff_buf_release(&b);
	return ret;
}
