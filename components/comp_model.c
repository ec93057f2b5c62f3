// SPDX-License-Identifier: Apache-2.0
/*
 * comp_model.c - JSON models of the algorithm components, through
 * libfedflow's model API (fedflow/model.h): written at the task's output
 * URI and reported as json_model artifacts, read from model inputs.
 */
#include "ff_setup.h"
#include "comp_util.h"
#include "fedflow/model.h"

int comp_model_save(struct ff_task *t, const char *key, const json_t *model, json_t *md,
		    struct ff_error *err)
{
	/* always an overview of our own: ff_model_save_json takes a new
	 * reference of the one it gets (and leaked its own empty default) */
	if (!md && !(md = json_object()))
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret = ff_model_save_json(t, key, model, md, err);
	json_decref(md);
	return ret;
}

int comp_model_load(struct ff_task *t, const char *key, size_t idx, json_t **out,
		    struct ff_error *err)
{
	*out = NULL;
	if (!ff_task_input(t, key, idx))
		return ff_error_set(err, FF_ENOMODEL, "model input '%s' is missing", key);
	if (!ff_model_input_path(t, key, idx))
		return ff_error_set(err, FF_ENOMODEL, "model input '%s' has no file address", key);
	int ret = ff_model_load_json(t, key, idx, out, err);
	if (!ret && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		ret = ff_error_set(err, FF_EDATA, "model input '%s' is not a JSON object", key);
	}
	return ret;
}
