// SPDX-License-Identifier: Apache-2.0
/*
 * comp_reader.c - `reader`: names an existing table (parameters namespace
 * and name) as the task's output_data, as FATE's reader. Nothing is
 * copied: the output is a reference (type data_unresolved) that downstream
 * tasks resolve to the table itself. A table that does not exist fails the
 * task with a message naming it.
 */
#include "ff_setup.h"
#include "comp.h"
#include "fedflow/data.h"

static json_t *reader_describe(void)
{
	json_t *p = json_pack("{s:{s:s},s:{s:s}}", "namespace", "type", "str", "name", "type", "str");
	json_t *out = json_pack("{s:o}", "output_data",
				comp_artifact("dataframe", false, false, "guest,host,local"));
	return comp_describe("guest,host,local", "default,train,predict", p, NULL, NULL, out, NULL,
			     NULL);
}

static int reader_run(struct ff_task *t, struct ff_error *err)
{
	const char *ns = NULL, *name = NULL;
	int ret = ff_task_param_str(t, "namespace", NULL, &ns, err);
	if (!ret)
		ret = ff_task_param_str(t, "name", NULL, &name, err);
	if (!ret && (!ns || !*ns || !name || !*name))
		ret = ff_error_set(err, FF_EINVAL, "reader: parameters 'namespace' and 'name' are "
				   "required");
	if (!ret)
		ret = ff_data_lookup(t, ns, name, NULL, NULL, err);
	if (ret == FF_ENOTABLE)
		ff_error_prefix(err, "reader");
	if (!ret) {
		ff_task_log(t, FF_TASK_INFO, "reader: table '%s' of namespace '%s'", name, ns);
		ret = ff_data_output_ref(t, "output_data", ns, name, err);
	}
	return ret;
}

const struct comp comp_reader = { "reader", reader_describe, reader_run };
COMP_REGISTER(comp_reader);
