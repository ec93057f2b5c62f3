/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fedflow/data.h - libfedflow: a component's data tables, from its task
 * config. Input artifacts become opened tables (fedflow/table.h); output
 * keys get a table folder from the output URI fedflowd assigned
 * (standalone://<data home>/<task_id>/<uuid>); a committed output is
 * reported in the final meta as FATE's artifact {uri, metadata:
 * {namespace, name, metadata: {schema}, data_overview: {count, samples},
 * source}, type_name}, and fedflowd registers the table once the process
 * ended successfully. A component that passes an existing table on (the
 * reader) names it instead of copying it (type data_unresolved).
 *
 *   struct ff_table *in;
 *   ff_data_open_input(t, "input_data", 0, &in, &err);
 *   struct ff_table_writer *w;
 *   ff_data_output_create(t, "output_data", ff_table_schema(in), NULL, &w, &err);
 *   ... ff_table_writer_append(w, &row, &err) ...
 *   ff_data_output_commit(t, "output_data", w, &err);   // commits and reports
 *
 * Samples: the first FF_DATA_SAMPLES rows, each a list of its field texts,
 * are reported with every output (/v2/output/data/display, /v2/table/query
 * display=true show them).
 *
 * Errors: FF_OK or a negative enum ff_err with err filled: FF_ENOTABLE for
 * an input that is not a standalone table or a name that is not a table,
 * FF_EINVAL for a key without an input or output URI, the table engine's
 * errors otherwise. Ownership as documented per function; not thread-safe
 * per task.
 */
#ifndef FEDFLOW_DATA_H
#define FEDFLOW_DATA_H

#include <jansson.h>
#include <stddef.h>
#include "fedflow/table.h"
#include "fedflow/task.h"

#define FF_DATA_SAMPLES 100

/* The task's standalone data home (where tables live), never NULL. */
FF_EXPORT const char *ff_data_home(const struct ff_task *t);

/*
 * Folder of input artifact i of key (owned, ff_free), or FF_ENOTABLE when
 * it is not a standalone table.
 */
FF_EXPORT int ff_data_input_dir(const struct ff_task *t, const char *key, size_t i, char **dir,
				struct ff_error *err);
/* Opens input artifact i of key; *out owned (ff_table_free). */
FF_EXPORT int ff_data_open_input(const struct ff_task *t, const char *key, size_t i,
				 struct ff_table **out, struct ff_error *err);

/* Folder assigned to output key (owned, ff_free); FF_EINVAL when none. */
FF_EXPORT int ff_data_output_dir(const struct ff_task *t, const char *key, char **dir,
				 struct ff_error *err);
/*
 * A writer for output key (opts NULL = one partition, defaults). *w is
 * owned: pass it to ff_data_output_commit, or ff_table_writer_free it to
 * give up.
 */
FF_EXPORT int ff_data_output_create(const struct ff_task *t, const char *key,
				    const struct ff_schema *schema,
				    const struct ff_table_writer_opts *opts,
				    struct ff_table_writer **w, struct ff_error *err);
/* Same, with src's schema and text (rows copied with their source text). */
FF_EXPORT int ff_data_output_create_like(const struct ff_task *t, const char *key,
					 const struct ff_table *src,
					 const struct ff_table_writer_opts *opts,
					 struct ff_table_writer **w, struct ff_error *err);
/* Commits w (freed in every case) and reports it as output key (dataframe). */
FF_EXPORT int ff_data_output_commit(struct ff_task *t, const char *key, struct ff_table_writer *w,
				    struct ff_error *err);
/*
 * Reports the committed table at dir as output key: namespace and name
 * (NULL = the last two components of dir), data_type (NULL = "dataframe"),
 * extra_meta (may be NULL) merged into the reported schema (the table's
 * data_meta). Reads the table for its schema, count and samples.
 */
FF_EXPORT int ff_data_output_table(struct ff_task *t, const char *key, const char *dir,
				   const char *namespace_, const char *name,
				   const char *data_type, const json_t *extra_meta,
				   struct ff_error *err);
/* Names the existing table (namespace, name) as output key (data_unresolved). */
FF_EXPORT int ff_data_output_ref(struct ff_task *t, const char *key, const char *namespace_,
				 const char *name, struct ff_error *err);

/*
 * Asks fedflowd for the table (namespace, name): *info (new reference, may
 * be NULL) gets its description as /v2/table/query shows it, *dir (owned,
 * may be NULL) its folder when it is a standalone table (else NULL).
 * FF_ENOTABLE when there is no such table.
 */
FF_EXPORT int ff_data_lookup(struct ff_task *t, const char *namespace_, const char *name,
			     char **dir, json_t **info, struct ff_error *err);

/* The first n rows of t as a JSON array of rows (lists of field texts); new ref. */
FF_EXPORT json_t *ff_data_samples(const struct ff_table *t, size_t n);

#endif
