/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model.h - model outputs (spec §10.3): the t_model_meta rows, the packages
 * they point to in the model store (model_store.h), the task-level view
 * the output API shows, export to and import from zip files, and the check
 * that a job's model_warehouse exists.
 *
 * A row ties one package (storage key, engine "file") to the job and task
 * that produced it (job_id, role, party_id, task_name, output_key), its
 * model identity (model_id, model_version), its type and the metas found
 * in the package (meta_data, a JSON list). Saving a package under a
 * storage key replaces the package and every older row of that key.
 *
 * Filters: every NULL or "" field of struct model_filter matches anything.
 * Functions that write take the writer connection (core thread); the
 * others work with any connection (HTTP reader threads too). Errors:
 * FF_ENOMODEL (API 2005) when nothing matches, FF_EPARAM for invalid names,
 * FF_EDATA for bad packages or zip files, system errors; details in err.
 */
#ifndef FF_MODEL_H
#define FF_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "model_store.h"

struct store;

struct model_filter {
	const char *job_id;
	const char *model_id;
	const char *model_version;
	const char *role;
	const char *party_id;
	const char *task_name;
	const char *output_key;
};

/* What a new package is stored as. */
struct model_record {
	const char *job_id;          /* "" for imported models (as FATE) */
	struct model_key key;
	const char *type_name;       /* json_model, model_directory, ... */
};

/*
 * Puts the package at tar_path under the record's storage key (moved when
 * move, else copied) and records its row, replacing older rows of the key.
 * The package must hold at least one meta (FF_EDATA).
 */
int model_save(struct store *db, const char *model_dir, const struct model_record *rec,
	       const char *tar_path, bool move, struct ff_error *err);

/*
 * Rows matching f, newest first, as a new JSON array of objects with the
 * column names without "f_" (storage_key, storage_engine, model_id,
 * model_version, job_id, role, party_id, task_name, output_key, type_name,
 * meta_data as a list, create_time). FF_ENOMODEL when none.
 */
int model_find(struct store *db, const struct model_filter *f, json_t **rows,
	       struct ff_error *err);

/*
 * Opens the package of the newest row matching f: *fd (owned, read-only),
 * its *size and its output key (*output_key owned, ff_free). FF_ENOMODEL
 * when no row matches or its package is gone.
 */
int model_open(struct store *db, const char *model_dir, const struct model_filter *f, int *fd,
	       uint64_t *size, char **output_key, struct ff_error *err);

/* Deletes the packages and rows matching f; *n rows deleted (may be NULL). */
int model_delete(struct store *db, const char *model_dir, const struct model_filter *f,
		 int64_t *n, struct ff_error *err);

/*
 * /v2/output/model/query's data for the rows matching f: a new object
 * {output_key: model} (model_store_read shapes each).
 */
int model_read(struct store *db, const char *model_dir, const struct model_filter *f,
	       json_t **out, struct ff_error *err);

/*
 * Writes every package matching f into a zip at zip_path (atomically),
 * each entry named by its storage key; *n packages (may be NULL).
 */
int model_export(struct store *db, const char *model_dir, const struct model_filter *f,
		 const char *zip_path, size_t *n, struct ff_error *err);

/*
 * Imports a zip made by model_export (or FATE's export): each entry
 * "<model_id>/<model_version>/<role>/<party_id>/<task_name>/<output_key>"
 * is stored under the given model_id and model_version instead and gets a
 * row with job_id "". Every entry is checked before anything is stored.
 * Scratch files go below temp_dir. *n packages (may be NULL).
 */
int model_import(struct store *db, const char *model_dir, const char *temp_dir,
		 const char *model_id, const char *model_version, const char *zip_path,
		 size_t *n, struct ff_error *err);

/*
 * Submit-time check (spec §2.2, §5.5a): dag.conf.model_warehouse and every
 * model_warehouse channel naming a model_id must name a model with stored
 * outputs. FF_EDAG (API 1000) otherwise, the message naming the path in the
 * DAG and the model. dag_schema is the DAGSchema object (borrowed).
 */
int model_warehouse_check(struct store *db, const json_t *dag_schema, struct ff_error *err);

#endif
