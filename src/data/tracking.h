/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tracking.h - which tables a task produced and which ones exist
 * (t_tracking_data_output and t_storage_table_meta, spec §9.2, §10.1).
 *
 * A task's data outputs are recorded as (job, task, version, role, party,
 * output_key, index) -> (namespace, name, uri); the table itself is a
 * t_storage_table_meta row keyed by (namespace, name). Input resolution,
 * the output API and the worker API read them through here.
 * Functions take the connection to use (writer on the core thread, or a
 * reader in HTTP threads for the query functions).
 */
#ifndef FF_TRACKING_H
#define FF_TRACKING_H

#include <jansson.h>
#include <stdint.h>
#include "err.h"

struct store;

/*
 * Tables recorded for (job_id, role, party_id, task_name, output_key) at
 * the task's latest version that has outputs, in index order: a new JSON
 * array of table objects as /v2/table/query renders them
 * ({namespace, name, count, meta, engine, path, source, data_type}) plus
 * "uri". FF_ENOTFOUND when there is none.
 */
int tracking_query(struct store *db, const char *job_id, const char *role,
		   const char *party_id, const char *task_name, const char *output_key,
		   json_t **out, struct ff_error *err);

/*
 * Every data output of (job_id, role, party_id, task_name) at the task's
 * latest version that has outputs: a new object {output_key: [tables in
 * index order]}, tables rendered as for tracking_query. An empty object
 * when the task recorded no data output.
 */
int tracking_task_outputs(struct store *db, const char *job_id, const char *role,
			  const char *party_id, const char *task_name, json_t **out,
			  struct ff_error *err);

/* One table by (namespace, name) as above (new object); FF_ENOTABLE. */
int tracking_table(struct store *db, const char *namespace_, const char *name,
		   json_t **out, struct ff_error *err);

struct tracking_record {
	const char *job_id, *task_id, *task_name, *role, *party_id, *output_key;
	long long task_version;
	long long index;
	const char *uri;          /* "" for a reference to an existing table */
	const char *namespace_;
	const char *name;
	const char *engine;       /* "standalone" */
	const char *data_type;    /* table, dataframe, data_unresolved ... */
	const char *path;         /* filesystem path of the table, may be NULL */
	const json_t *data_meta;  /* schema (may be NULL) */
	const json_t *source;     /* ArtifactSource (may be NULL) */
	const json_t *samples;    /* part_of_data (may be NULL) */
	long long count;          /* -1 unknown */
	long long partitions;
};

/*
 * Records one data output: the tracking row and, when uri is not empty,
 * the table meta (replacing an older meta of the same namespace/name).
 * One transaction.
 */
int tracking_save(struct store *db, const struct tracking_record *r, struct ff_error *err);

#endif
