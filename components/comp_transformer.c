// SPDX-License-Identifier: Apache-2.0
/*
 * comp_transformer.c - `dataframe_transformer` (FATE's name, run by
 * /v2/data/component/dataframe/transformer as local job transformer_0):
 * writes its input table as the dataframe table (namespace, name).
 *
 * Our uploads already parse the CSV into a dataframe table, so this is a
 * copy that keeps the schema, the partitions and each row's source text;
 * the source table stays as it was. The target is replaced atomically
 * (the API refuses an existing target unless drop is true).
 */
#include "ff_setup.h"
#include "comp.h"
#include "fedflow/data.h"
#include "fedflow/table.h"
#include "mem.h"

static json_t *transformer_describe(void)
{
	json_t *p = json_pack("{s:{s:s},s:{s:s},s:{s:s,s:n}}", "namespace", "type", "str",
			      "name", "type", "str", "site_name", "type", "str", "default");
	json_t *in = json_pack("{s:o}", "table", comp_artifact("dataframe", false, false, "local"));
	json_t *out = json_pack("{s:o}", "dataframe_output",
				comp_artifact("dataframe", false, false, "local"));
	return comp_describe("local", "default", p, in, NULL, out, NULL, NULL);
}

/* Copies every row of src, partition by partition, into w. */
static int transformer_copy(const struct ff_table *src, struct ff_table_writer *w,
			    struct ff_error *err)
{
	unsigned need = FF_NEED_VALUES | FF_NEED_IDS |
			(ff_table_has_text(src) ? FF_NEED_TEXT : 0);
	int ret = FF_OK;
	for (unsigned p = 0; !ret && p < ff_table_partitions(src); p++) {
		struct ff_table_iter it;
		struct ff_batch b;
		ret = ff_table_iter_init(&it, src, (int)p, need, err);
		int more = ret ? 0 : ff_table_iter_next(&it, &b, err);
		while (more > 0 && !ret) {
			for (size_t i = 0; !ret && i < b.n; i++)
				ret = ff_table_writer_append_row(w, &b, i, err);
			more = ret ? 0 : ff_table_iter_next(&it, &b, err);
		}
		ff_table_iter_release(&it);
		if (!ret && more < 0)
			ret = more;
		if (!ret && p + 1 < ff_table_partitions(src))
			ret = ff_table_writer_next_partition(w, err);
	}
	return ret;
}

static int transformer_run(struct ff_task *t, struct ff_error *err)
{
	const char *ns = NULL, *name = NULL, *site = NULL;
	struct ff_table *src = NULL;
	struct ff_table_writer *w = NULL;
	char *dir = NULL;
	int ret = ff_task_param_str(t, "namespace", NULL, &ns, err);
	if (!ret)
		ret = ff_task_param_str(t, "name", NULL, &name, err);
	if (!ret)
		ret = ff_task_param_str(t, "site_name", NULL, &site, err);
	if (!ret && (!ns || !*ns || !name || !*name))
		ret = ff_error_set(err, FF_EINVAL, "dataframe_transformer: parameters 'namespace' "
				   "and 'name' are required");
	if (!ret)
		ret = ff_data_open_input(t, "table", 0, &src, err);
	if (!ret)
		ret = ff_table_dir(ff_data_home(t), ns, name, &dir, err);
	struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
	if (!ret) {
		o.partitions = ff_table_partitions(src);
		ret = ff_table_writer_create_like(&w, dir, src, &o, err);
	}
	if (!ret)
		ret = transformer_copy(src, w, err);
	if (!ret)
		ret = ff_table_writer_commit(w, err);
	if (!ret) {
		ff_task_log(t, FF_TASK_INFO, "dataframe_transformer: %llu rows into table '%s' of "
			    "namespace '%s'%s%s", (unsigned long long)ff_table_count(src), name, ns,
			    site ? " for site " : "", site ? site : "");
		ret = ff_data_output_table(t, "dataframe_output", dir, ns, name, "dataframe", NULL,
					   err);
	}
	ff_table_writer_free(w);
	ff_table_free(src);
	ff_free(dir);
	return ret;
}

const struct comp comp_transformer = { "dataframe_transformer", transformer_describe,
				       transformer_run };
COMP_REGISTER(comp_transformer);
