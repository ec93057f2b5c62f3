// SPDX-License-Identifier: Apache-2.0
/*
 * comp_download.c - `download` (role local): writes the table (namespace,
 * name) to <path>/data/0.csv and its header to <path>/data/0.meta
 * ({"header": [...]}) on this machine, as FATE-Flow's download component
 * (spec §9.1). The CSV is an uploaded table's source file, with the
 * separate sample id column first when the upload generated one
 * (extend_sid), like FATE's table download. Both files are written under a
 * temporary name and renamed.
 */
#include "ff_setup.h"
#include "comp.h"
#include "fedflow/data.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

static json_t *download_describe(void)
{
	json_t *p = json_pack("{s:{s:s},s:{s:s},s:{s:s}}", "namespace", "type", "str", "name",
			      "type", "str", "path", "type", "str");
	json_t *out = json_pack("{s:o}", "output_data",
				comp_artifact("dataframe", true, false, "local"));
	return comp_describe("local", "default", p, NULL, NULL, out, NULL, NULL);
}

static int download_run(struct ff_task *t, struct ff_error *err)
{
	const char *ns = NULL, *name = NULL, *path = NULL;
	char *dir = NULL, *out_dir = NULL, *csv = NULL, *meta_path = NULL, *meta_text = NULL;
	struct ff_table *tb = NULL;
	json_t *meta = NULL;
	int ret = ff_task_param_str(t, "namespace", NULL, &ns, err);
	if (!ret)
		ret = ff_task_param_str(t, "name", NULL, &name, err);
	if (!ret)
		ret = ff_task_param_str(t, "path", NULL, &path, err);
	if (!ret && (!ns || !name || !path || path[0] != '/'))
		ret = ff_error_set(err, FF_EINVAL, "download: parameters 'namespace', 'name' and an "
				   "absolute 'path' are required");
	if (!ret)
		ret = ff_data_lookup(t, ns, name, &dir, NULL, err);
	if (!ret && !dir)
		ret = ff_error_set(err, FF_ENOTABLE, "download: table '%s' of namespace '%s' has no "
				   "standalone data", name, ns);
	if (!ret)
		ret = ff_table_open(&tb, dir, 0, err);
	if (ret)
		goto out;
	out_dir = ff_asprintf("%s/data", path);
	csv = ff_asprintf("%s/data/0.csv", path);
	meta_path = ff_asprintf("%s/data/0.meta", path);
	meta = json_pack("{s:o}", "header", ff_csv_header_json(tb, FF_CSV_WITH_SID));
	meta_text = meta ? jsonx_dumps(meta) : NULL;
	if (!out_dir || !csv || !meta_path || !meta_text) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	if ((ret = fs_mkdirs(out_dir, 0755, err)) ||
	    (ret = ff_csv_export_file(tb, csv, UINT64_MAX, FF_CSV_WITH_SID, err)) ||
	    (ret = fs_write_atomic(meta_path, meta_text, strlen(meta_text), err)))
		goto out;
	ff_task_log(t, FF_TASK_INFO, "download: %llu rows of '%s' written to '%s'",
		    (unsigned long long)ff_table_count(tb), name, csv);
	ret = ff_data_output_ref(t, "output_data", ns, name, err);
out:
	ff_table_free(tb);
	json_decref(meta);
	ff_free(meta_text);
	ff_free(dir);
	ff_free(out_dir);
	ff_free(csv);
	ff_free(meta_path);
	return ret;
}

const struct comp comp_download = { "download", download_describe, download_run };
COMP_REGISTER(comp_download);
