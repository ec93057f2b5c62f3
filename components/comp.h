/* SPDX-License-Identifier: Apache-2.0 */
/*
 * comp.h - the built-in provider's component registry.
 *
 * Each component is one file (comp_<name>.c) exporting a struct comp:
 * its description (FATE's component spec: roles, stages, parameters,
 * input and output artifacts) and its run function for the execute
 * stage. components/main.c implements FATE's component CLI contract
 * (describe, artifact-type, execute, cleanup) over this table.
 */
#ifndef FF_COMP_H
#define FF_COMP_H

#include <jansson.h>
#include "err.h"
#include "fedflow/task.h"

struct comp {
	const char *name;
	/* FATE-shaped description (new reference). */
	json_t *(*describe)(void);
	/* Runs the task; returns FF_OK or an error with err filled. */
	int (*run)(struct ff_task *t, struct ff_error *err);
};

/*
 * Components register themselves: after `const struct comp comp_x = {...};`
 * a file writes COMP_REGISTER(comp_x); and comp_find/comp_foreach see it
 * (linker section ff_comps). Adding a component touches no shared list.
 */
#define COMP_REGISTER(c)                                                      \
	static const struct comp *const c##_ptr                                \
		__attribute__((used, section("ff_comps"))) = &(c)

/* Component by name, NULL if the provider has none. */
const struct comp *comp_find(const char *name);
/* Every component, in no particular order (NULL-terminated array, static). */
const struct comp *const *comp_list_all(size_t *n);

/* Helpers for descriptions. */
json_t *comp_artifact(const char *types, bool optional, bool is_multi, const char *roles);
json_t *comp_describe(const char *roles, const char *stages, json_t *params,
		      json_t *inputs_data, json_t *inputs_model, json_t *outputs_data,
		      json_t *outputs_model, json_t *outputs_metric);
/* Passes the first input_data artifact through to output_data (by reference). */
int comp_pass_through(struct ff_task *t, const char *in_key, const char *out_key);

#endif
