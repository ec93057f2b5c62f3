/* SPDX-License-Identifier: Apache-2.0 */
/*
 * download.h - standalone tables rendered for clients: FATE's download
 * archives (a tar.gz of "<dir>/<n>.csv" + "<dir>/<n>.meta" per table, spec
 * §1.3.2 /v2/data/download and §1.3.4 /v2/output/data/download) and the
 * first rows as a preview (/v2/output/data/display, /v2/table/query).
 *
 * The archive is built in an anonymous temporary file (O_TMPFILE under the
 * site's temp folder, so nothing is left behind even after a crash) and
 * handed back as a descriptor for http_req_send_fd: memory stays at a few
 * buffers whatever the table size. Each CSV is rendered twice, once to
 * learn its size for the tar header and once into the archive; both passes
 * read the same opened (immutable) table.
 *
 * CSV text: an uploaded table comes out as its source file, byte for byte
 * (docs/storage-format.md §8); FF_CSV_WITH_SID puts a separate sample id
 * column first. The .meta member is {"header": [column names]}.
 * Any thread; errors as in fedflow/table.h, details in err.
 */
#ifndef FF_DOWNLOAD_H
#define FF_DOWNLOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct download_item {
	const char *csv_name;     /* entry name of the CSV, e.g. "data/0.csv" */
	const char *meta_name;    /* entry name of the meta, e.g. "data/0.meta" */
	const char *table_dir;    /* the standalone table folder */
	unsigned flags;           /* FF_CSV_WITH_SID, FF_CSV_NO_HEADER */
};

/*
 * Builds a tar.gz of the items in an unlinked file below temp_dir. On
 * success *fd (owned, positioned at 0) and *size describe it.
 */
int download_tgz(const struct download_item *items, size_t n, const char *temp_dir, int *fd,
		 uint64_t *size, struct ff_error *err);

/*
 * The first max_rows rows of the table at dir as a new JSON array of rows,
 * each an array of its field texts (split on the table's delimiter, the
 * row's text as in the CSV export without a separate sample id).
 */
int download_preview(const char *dir, size_t max_rows, json_t **rows, struct ff_error *err);

#endif
