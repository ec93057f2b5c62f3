/* SPDX-License-Identifier: Apache-2.0 */
/*
 * table_meta.h - data tables as the daemon sees them: a row of
 * t_storage_table_meta keyed by (namespace, name) (spec §9.2) plus, for the
 * `standalone` engine, the table folder it points to (docs/storage-format.md).
 *
 * Names: a namespace and a table name are each one safe path component
 * (fs_name_ok, FF_TABLE_NAME_MAX bytes): no '/', no "..", no leading '.',
 * no control characters or NUL. table_name_check refuses anything else
 * with FF_EPARAM (API 5001) before a name reaches a path.
 *
 * Physical data is only ever deleted below the site's data folder: a table
 * bound to an outside path (engine "path") loses its meta, never the files.
 * Functions take the connection to use: writes need the writer (core
 * thread), reads work on any connection.
 */
#ifndef FF_TABLE_META_H
#define FF_TABLE_META_H

#include <jansson.h>
#include <stdbool.h>
#include "err.h"

struct store;

struct table_info {
	char engine[32];        /* "standalone", "path", ... */
	char data_type[32];     /* "dataframe", "table", "data_directory", ... */
	char *path;             /* filesystem path of the data (owned), may be NULL */
	long long count;        /* -1 when unknown */
	json_t *meta;           /* data_meta (owned reference, an object) */
	json_t *part_of_data;   /* stored preview rows (owned reference, an array) */
};
#define TABLE_INFO_INIT { .count = -1 }

/* FF_EPARAM naming the bad one unless both are safe single path components. */
int table_name_check(const char *namespace_, const char *name, struct ff_error *err);

/* Reads the meta of (namespace, name) into ti; FF_ENOTABLE (7001) if none. */
int table_meta_get(struct store *db, const char *namespace_, const char *name,
		   struct table_info *ti, struct ff_error *err);
void table_info_release(struct table_info *ti);
/* True when a meta row exists for (namespace, name). */
bool table_meta_exists(struct store *db, const char *namespace_, const char *name);

/*
 * Deletes the meta of (namespace, name) and, when it is a standalone table
 * below data_dir, its folder. FF_ENOTABLE when there is no meta.
 */
int table_meta_delete(struct store *db, const char *data_dir, const char *namespace_,
		      const char *name, struct ff_error *err);

/*
 * /v2/table/bind/path: a meta with engine "path", address {"path": path},
 * data_type "data_directory" and no partitions, replacing any older meta.
 */
int table_meta_bind(struct store *db, const char *namespace_, const char *name,
		    const char *path, struct ff_error *err);

#endif
