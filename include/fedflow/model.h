/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fedflow/model.h - libfedflow: save and load models.
 *
 * A model output key gets a file URI from fedflowd
 * (file://<task folder>/output/<key>/<type>). A component either saves a
 * JSON model there (type json_model) or fills a folder (type
 * model_directory) and reports it. When the task succeeds fedflowd packs
 * each reported model with its metadata and stores it under
 * <model_id>/<model_version>/<role>/<party_id>/<task_name>/<key> (spec
 * §10.3); /v2/output/model/query shows it and predict jobs read it back.
 *
 * A model input key (a model of an earlier task of this job, or of a stored
 * model through model_warehouse) arrives unpacked in the task folder:
 * ff_model_input_path is the file or folder, ff_model_load_json reads a
 * JSON model.
 *
 *   ff_model_save_json(t, "output_model", model, overview, &err);
 *   ...
 *   json_t *m; ff_model_load_json(t, "input_model", 0, &m, &err);
 *
 * overview (may be NULL) is FATE's model_overview, kept with the model's
 * metadata. Errors: FF_OK or a negative enum ff_err with err filled:
 * FF_EINVAL for a key without an output URI or an input, FF_EDATA for a
 * model file that is not JSON, system errors. Not thread-safe per task.
 */
#ifndef FEDFLOW_MODEL_H
#define FEDFLOW_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include "fedflow/task.h"

#ifndef FF_EXPORT
#define FF_EXPORT __attribute__((visibility("default")))
#endif

/* Writes model (borrowed) as the JSON model of output key and reports it. */
FF_EXPORT int ff_model_save_json(struct ff_task *t, const char *key, const json_t *model,
				 const json_t *overview, struct ff_error *err);
/*
 * The folder to write a model_directory output of key into (created,
 * empty; owned, ff_free). Report it with ff_model_save_dir when complete.
 */
FF_EXPORT int ff_model_output_dir(struct ff_task *t, const char *key, char **dir,
				  struct ff_error *err);
/* Reports the folder of ff_model_output_dir as output key. */
FF_EXPORT int ff_model_save_dir(struct ff_task *t, const char *key, const json_t *overview,
				struct ff_error *err);

/* Path of model input i of key (a file or a folder; borrowed) or NULL. */
FF_EXPORT const char *ff_model_input_path(const struct ff_task *t, const char *key, size_t i);
/* Metadata of model input i of key (borrowed) or NULL: model_overview, source... */
FF_EXPORT const json_t *ff_model_input_meta(const struct ff_task *t, const char *key, size_t i);
/* Reads model input i of key as JSON (*out new reference). */
FF_EXPORT int ff_model_load_json(const struct ff_task *t, const char *key, size_t i,
				 json_t **out, struct ff_error *err);

#endif
