/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model_store.h - the `file` model store: one tar per stored model output
 * at <model_dir>/<storage_key> (spec §10.3), and the tar layout.
 *
 * Storage key: "<model_id>/<model_version>/<role>/<party_id>/<task_name>/
 * <output_key>", each part a single safe path component (fs_name_ok), so a
 * key can never leave the model folder.
 *
 * Package layout (what a component's model output becomes, spec §7.4 step
 * 7): for each artifact {uri: "file://<path>", metadata, type_name} with
 * model_key = basename(path), the tar holds
 *     <model_key>.meta.yaml      the artifact's Metadata (JSON, which is
 *                                YAML) plus model_key, type_name and index
 *     <model_key>                the model file (json_model), or
 *     <model_key>/...            the files of a model directory
 * Readers also accept FATE's own packages (any *.yaml member is a meta,
 * its model_key names the model member).
 *
 * Files are replaced atomically (temporary name, then rename). Functions
 * touch files only (no database) and may run on any thread. Errors: FF_OK or
 * a negative enum ff_err, FF_ENOMODEL for a missing stored model, FF_EDATA
 * for a malformed package; details in err.
 */
#ifndef FF_MODEL_STORE_H
#define FF_MODEL_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "err.h"

/* The six parts of a storage key (all required). */
struct model_key {
	const char *model_id;
	const char *model_version;
	const char *role;
	const char *party_id;
	const char *task_name;
	const char *output_key;
};

#define MODEL_NAME_MAX 128

/* Owned "a/b/c/d/e/f" in *out (ff_free); FF_EPARAM naming a bad part. */
int model_store_key(const struct model_key *k, char **out, struct ff_error *err);
/* Splits a storage key into its six parts (pointing into buf, a copy). */
int model_store_key_parse(const char *storage_key, char *buf, size_t bufsz,
			  struct model_key *k, struct ff_error *err);
/* Owned "<model_dir>/<storage_key>" (NULL on OOM). */
char *model_store_path(const char *model_dir, const char *storage_key);

/*
 * Puts the package at src under storage_key, replacing an older one; with
 * move the file is renamed when it is on the same file system (else
 * copied and deleted), without move it is copied.
 */
int model_store_put(const char *model_dir, const char *storage_key, const char *src, bool move,
		    struct ff_error *err);
/* Deletes a stored package; a missing one is success. */
int model_store_delete(const char *model_dir, const char *storage_key);

/*
 * Builds a package at tar_path from the artifacts (a JSON array of
 * {uri, metadata, type_name}, file:// URIs only). *metas (new array, may be
 * NULL) receives the metas written, in artifact order.
 */
int model_store_pack(const json_t *artifacts, const char *tar_path, json_t **metas,
		     struct ff_error *err);
/* The metas of a package (new array of objects, in member order). */
int model_store_metas(const char *tar_path, json_t **metas, struct ff_error *err);
/*
 * Extracts a package below dest and describes each model as an input
 * artifact {uri: "file://<dest>/<model_key>", metadata, type_name}: a new
 * array in *artifacts, sorted by meta index.
 */
int model_store_unpack(const char *tar_path, const char *dest, json_t **artifacts,
		       struct ff_error *err);
/*
 * The content of a package as /v2/output/model/query shows it: the JSON
 * model when it has one unindexed model, else a list ordered by index;
 * a model directory is shown as {"type_name", "model_key", "files": [...]}.
 */
int model_store_read(const char *tar_path, json_t **out, struct ff_error *err);

#endif
