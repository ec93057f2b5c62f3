// SPDX-License-Identifier: Apache-2.0
/* comp.c - component registry and description helpers. */
#include "ff_setup.h"
#include "comp.h"
#include "jsonx.h"

extern const struct comp *const __start_ff_comps[];
extern const struct comp *const __stop_ff_comps[];

const struct comp *const *comp_list_all(size_t *n)
{
	*n = (size_t)(__stop_ff_comps - __start_ff_comps);
	return __start_ff_comps;
}

const struct comp *comp_find(const char *name)
{
	for (const struct comp *const *c = __start_ff_comps; c < __stop_ff_comps; c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

/* "a,b,c" -> ["a","b","c"] */
static json_t *comp_list(const char *csv)
{
	json_t *a = json_array();
	while (csv && *csv) {
		const char *e = strchr(csv, ',');
		size_t n = e ? (size_t)(e - csv) : strlen(csv);
		json_array_append_new(a, json_stringn(csv, n));
		csv = e ? e + 1 : NULL;
	}
	return a;
}

json_t *comp_artifact(const char *types, bool optional, bool is_multi, const char *roles)
{
	return json_pack("{s:o,s:b,s:b,s:o,s:o}", "types", comp_list(types), "optional", optional,
			 "is_multi", is_multi, "roles", comp_list(roles),
			 "stages", comp_list("default,train,predict,cross_validation"));
}

json_t *comp_describe(const char *roles, const char *stages, json_t *params,
		      json_t *inputs_data, json_t *inputs_model, json_t *outputs_data,
		      json_t *outputs_model, json_t *outputs_metric)
{
	return json_pack("{s:o,s:o,s:o,s:{s:o,s:o},s:{s:o,s:o,s:o}}",
			 "roles", comp_list(roles), "stages", comp_list(stages),
			 "parameters", params ? params : json_object(),
			 "input_artifacts", "data", inputs_data ? inputs_data : json_object(),
			 "model", inputs_model ? inputs_model : json_object(),
			 "output_artifacts", "data", outputs_data ? outputs_data : json_object(),
			 "model", outputs_model ? outputs_model : json_object(),
			 "metric", outputs_metric ? outputs_metric : json_object());
}

int comp_pass_through(struct ff_task *t, const char *in_key, const char *out_key)
{
	const json_t *in = ff_task_input(t, in_key, 0);
	if (!in)
		return FF_OK;
	const json_t *md = json_object_get(in, "metadata");
	json_t *art = json_pack("{s:s,s:O,s:s}", "uri", "", "metadata", md ? md : json_null(),
				"type_name", "data_unresolved");
	return ff_task_add_output(t, "data", out_key, art);
}
