// SPDX-License-Identifier: Apache-2.0
/*
 * comp_upload.c - `upload` (role local): a CSV file on this machine
 * becomes the standalone table (namespace, name), as FATE-Flow's upload
 * component (spec §9.1).
 *
 * The CSV is streamed into a hidden temporary table folder (ff_csv_import,
 * bounded memory) and renamed into place only when every row was read and
 * checked; any error (wrong column count, non-numeric value, missing label
 * column, empty file, duplicate ids ...) names the file, line and column
 * and leaves no table behind, and an older table of the same name stays as
 * it was. The table is registered by fedflowd (its meta row) only after
 * this process ended successfully, from the output reported here.
 * A file that came in a multipart upload (is_temp_file) is deleted at the
 * end, whatever the outcome.
 */
#include "ff_setup.h"
#include <unistd.h>
#include "comp.h"
#include "fedflow/data.h"
#include "fedflow/metric.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

static json_t *upload_describe(void)
{
	json_t *p = json_pack("{s:{s:s},s:{s:s,s:b},s:{s:s,s:i},s:{s:s,s:o},s:{s:s,s:b},"
			      "s:{s:s},s:{s:s},s:{s:s,s:b},s:{s:s,s:b}}",
			      "file", "type", "str",
			      "head", "type", "bool", "default", 1,
			      "partitions", "type", "int", "default", 16,
			      "meta", "type", "dict", "default", json_object(),
			      "extend_sid", "type", "bool", "default", 0,
			      "namespace", "type", "str",
			      "name", "type", "str",
			      "is_temp_file", "type", "bool", "default", 0,
			      "drop", "type", "bool", "default", 0);
	json_t *out = json_pack("{s:o}", "table", comp_artifact("dataframe", false, false, "local"));
	return comp_describe("local", "default", p, NULL, NULL, out, NULL, NULL);
}

/* A multipart upload's file lives alone in <temps>/upload-<uuid>/: remove both. */
static void upload_drop_temp(const char *file)
{
	unlink(file);
	char *dir = ff_strdup(file);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash) {
		*slash = '\0';
		const char *base = strrchr(dir, '/');
		if (base && !strncmp(base + 1, "upload-", 7))
			rmdir(dir);
	}
	ff_free(dir);
}

/* The reported data_meta: the uploader's meta plus what the import found. */
static json_t *upload_meta(const struct ff_table *tb, const json_t *meta, const struct ff_csv_opts *o)
{
	json_t *m = json_is_object(meta) ? json_deep_copy(meta) : json_object();
	static const char *const schema_keys[] = { "sample_id_name", "match_id_name", "label_name",
						   "label_type", "weight_name", "dtype",
						   "feature_names" };
	for (size_t i = 0; m && i < FF_ARRAY_SIZE(schema_keys); i++)
		json_object_del(m, schema_keys[i]); /* the table's schema is the truth */
	char delim[2] = { o->delimiter, '\0' };
	if (m) {
		json_object_set_new(m, "header", ff_csv_header_json(tb, 0));
		json_object_set_new(m, "delimiter", json_string(delim));
		json_object_set_new(m, "extend_sid", json_boolean(o->extend_sid));
		json_object_set_new(m, "have_head", json_boolean(o->head));
	}
	return m;
}

static int upload_run(struct ff_task *t, struct ff_error *err)
{
	const char *file = NULL, *ns = NULL, *name = NULL;
	bool temp = false;
	char *dir = NULL;
	struct ff_table *tb = NULL;
	json_t *extra = NULL;
	struct ff_csv_opts o;
	struct ff_csv_result res;
	const json_t *params = json_object_get(ff_task_config(t), "parameters");
	int ret = ff_task_param_bool(t, "is_temp_file", false, &temp, err);
	if (!ret)
		ret = ff_task_param_str(t, "file", NULL, &file, err);
	if (!ret && !file)
		ret = ff_error_set(err, FF_EINVAL, "parameter 'file' is required");
	if (!ret)
		ret = ff_task_param_str(t, "namespace", NULL, &ns, err);
	if (!ret)
		ret = ff_task_param_str(t, "name", NULL, &name, err);
	if (!ret && (!ns || !name))
		ret = ff_error_set(err, FF_EINVAL, "parameters 'namespace' and 'name' are required");
	if (!ret && ff_data_home(t)[0] != '/')
		ret = ff_error_set(err, FF_EINVAL, "task config has no data home "
				   "(conf.computing.metadata.options.data_dir)");
	if (!ret)
		ret = ff_table_dir(ff_data_home(t), ns, name, &dir, err);
	if (!ret)
		ret = ff_csv_opts_from_json(&o, params, err);
	if (ret)
		goto out;
	ff_task_log(t, FF_TASK_INFO, "upload '%s' into table '%s' of namespace '%s'", file, name, ns);
	/* the file is mapped: another process cutting it must not look like a crash */
	ff_csv_exit_on_sigbus(file);
	if ((ret = ff_csv_import(file, dir, &o, &res, err)))
		goto out;
	ff_task_log(t, FF_TASK_INFO, "imported %llu rows (%llu bytes) into '%s'",
		    (unsigned long long)res.count, (unsigned long long)res.bytes, dir);
	if ((ret = ff_table_open(&tb, dir, FF_TABLE_NO_VERIFY | FF_TABLE_LAZY, err)))
		goto out;
	extra = upload_meta(tb, json_object_get(params, "meta"), &o);
	ret = extra ? ff_data_output_table(t, "table", dir, ns, name, "dataframe", extra, err)
		    : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret) {
		json_t *m = json_pack("{s:s,s:s,s:I}", "name", name, "namespace", ns, "count",
				      (json_int_t)res.count);
		/* as FATE's upload: a metric naming the table; a failure here is not fatal */
		if (m && ff_metric_object(t, "upload", "upload", NULL, m, NULL))
			ff_task_log(t, FF_TASK_WARN, "cannot log the upload metric");
	}
out:
	if (temp && file)
		upload_drop_temp(file);
	json_decref(extra);
	ff_table_free(tb);
	ff_free(dir);
	return ret;
}

const struct comp comp_upload = { "upload", upload_describe, upload_run };
COMP_REGISTER(comp_upload);
