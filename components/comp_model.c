// SPDX-License-Identifier: Apache-2.0
/*
 * comp_model.c - JSON models of the algorithm components: written at the
 * task's output URI (file://) and recorded as json_model artifacts; read
 * back from a model input artifact's URI.
 */
#include "ff_setup.h"
#include <libgen.h>
#include "comp_util.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

static const char *comp_model_path(const char *uri)
{
	if (!uri)
		return NULL;
	if (!strncmp(uri, "file://", 7))
		return uri + 7;
	return strstr(uri, "://") ? NULL : uri;
}

int comp_model_save(struct ff_task *t, const char *key, const json_t *model, json_t *md,
		    struct ff_error *err)
{
	const char *uri = ff_task_output_uri(t, key);
	const char *path = comp_model_path(uri);
	char *text = NULL, *dir = NULL;
	int ret;
	if (!path || !*path) {
		ret = ff_error_set(err, FF_EINVAL, "task has no file output for model '%s'", key);
		goto out;
	}
	text = jsonx_dumps(model);
	dir = ff_strdup(path);
	if (!text || !dir) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	ret = fs_mkdirs(dirname(dir), 0755, err);
	if (!ret)
		ret = fs_write_atomic(path, text, strlen(text), err);
	if (ret)
		goto out;
	json_t *art = json_pack("{s:s,s:s,s:o}", "uri", uri, "type_name", "json_model",
				"metadata", md ? md : json_object());
	md = NULL;
	ret = art ? ff_task_add_output(t, "model", key, art) : FF_ENOMEM;
	if (ret)
		ff_error_set(err, ret, "cannot record model '%s'", key);
out:
	json_decref(md);
	ff_free(text);
	ff_free(dir);
	return ret;
}

int comp_model_load(struct ff_task *t, const char *key, size_t idx, json_t **out,
		    struct ff_error *err)
{
	*out = NULL;
	const json_t *art = ff_task_input(t, key, idx);
	if (!art)
		return ff_error_set(err, FF_ENOMODEL, "model input '%s' is missing", key);
	const char *uri = jsonx_str(art, "uri");
	const char *path = comp_model_path(uri);
	if (!path || !*path)
		return ff_error_set(err, FF_ENOMODEL, "model input '%s' has no readable address "
				    "('%s')", key, uri ? uri : "");
	struct ff_buf b = FF_BUF_INIT_MAX((size_t)512 << 20);
	int ret = fs_read_file(path, &b, err);
	if (!ret)
		ret = jsonx_parse(b.buf, b.len, out, err);
	ff_buf_release(&b);
	if (!ret && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		ret = ff_error_set(err, FF_EDATA, "model input '%s' is not a JSON object", key);
	}
	if (ret)
		ff_error_prefix(err, "model input '%s'", key);
	return ret;
}
