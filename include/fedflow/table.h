/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fedflow/table.h - the `standalone` table engine of libfedflow: tables of
 * rows (sample id, match id, label, weight, features) on local disk, and
 * CSV import (what the `upload` component runs) and export (download,
 * display).
 *
 * A table is a directory <data_home>/<namespace>/<name>/ holding meta.json
 * (schema, count, partitions, format version) and one binary file per
 * partition (docs/storage-format.md has every byte). Rows are split into
 * contiguous, ordered row ranges: partition 0 holds rows [0, c0), partition
 * 1 rows [c0, c0 + c1) and so on, so reading partitions 0..P-1 in order
 * lists the rows exactly as they were appended. Inside a partition rows are
 * stored in blocks, columnar: every feature is an array of doubles that a
 * reader maps and uses in place (no parsing on read).
 *
 * Writes are atomic: a writer fills a hidden temporary directory beside the
 * destination, fsyncs it and renames it into place on commit. A reader never
 * sees a half-written table; an aborted or failed write leaves nothing; an
 * existing table is replaced only when the new one commits.
 *
 * Text: an uploaded table keeps each source line (verbatim, or as the
 * values plus one format code per field when that rebuilds it exactly), so
 * export reproduces the source file byte for byte. A table written from
 * computed doubles renders each number with the shortest of %.15g, %.16g,
 * %.17g that reads back to the same double.
 *
 * Errors: functions return FF_OK or a negative enum ff_err (err.h): FF_EINVAL
 * for bad arguments, FF_EDATA for bad CSV input or a corrupted table,
 * FF_ENOTABLE for a missing table, FF_ENOMEM, and -errno for system
 * failures; the detail goes to the optional struct ff_error. Every CSV input
 * error names the file, the 1-based line and the column.
 *
 * Threads: a struct ff_table is immutable once opened; any number of
 * threads may read it at once, each with its own iterators. A writer
 * belongs to one thread. Little-endian hosts only (checked at open).
 */
#ifndef FEDFLOW_TABLE_H
#define FEDFLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifndef FF_EXPORT
#define FF_EXPORT __attribute__((visibility("default")))
#endif

struct ff_error;
struct ff_buf;
struct ff_table;
struct ff_batch;

#define FF_TABLE_ENGINE "standalone"
#define FF_TABLE_FORMAT_VERSION 2
#define FF_TABLE_PARTITIONS_MAX 1024
/* longest namespace or table name (one path component, see fs_name_ok) */
#define FF_TABLE_NAME_MAX 128

/* ------------------------------------------------------------------ schema */

/*
 * FATE dataframe schema. All strings are owned by the struct (ff_strdup'd);
 * release with ff_schema_release. label_name/weight_name NULL = no such
 * column. When match_id_name equals sample_id_name the table has a single id
 * column (the match id is the sample id). Features are always stored as
 * float64; dtype only records what the uploader asked for.
 */
struct ff_schema {
	char *sample_id_name;
	char *match_id_name;
	char *label_name;    /* NULL: no label */
	char *label_type;    /* "int32" (default), "int64", "float32", "float64" */
	char *weight_name;   /* NULL: no weight */
	char *dtype;         /* "float32" (default) ... recorded only */
	size_t n_features;
	char **feature_names; /* n_features owned strings, in column order */
};
#define FF_SCHEMA_INIT { 0 }

FF_EXPORT void ff_schema_init(struct ff_schema *s);
FF_EXPORT void ff_schema_release(struct ff_schema *s);
/*
 * Sets the id/label/weight names (copied; NULL label/weight = none; NULL
 * match_id_name = same as sample_id_name). Label type defaults to "int32",
 * dtype to "float32". FF_ENOMEM.
 */
FF_EXPORT int ff_schema_set(struct ff_schema *s, const char *sample_id_name,
			    const char *match_id_name, const char *label_name,
			    const char *weight_name);
/* Appends a feature name (copied). */
FF_EXPORT int ff_schema_add_feature(struct ff_schema *s, const char *name);
/* Deep copy into dst (dst is released first). */
FF_EXPORT int ff_schema_copy(struct ff_schema *dst, const struct ff_schema *src);
/* Non-empty names, no duplicates among all columns, known label type. */
FF_EXPORT int ff_schema_validate(const struct ff_schema *s, struct ff_error *err);
FF_EXPORT bool ff_schema_equal(const struct ff_schema *a, const struct ff_schema *b);
/* True when the match id is the sample id (a single id column). */
FF_EXPORT bool ff_schema_single_id(const struct ff_schema *s);
/* Feature index of name, or -1. */
FF_EXPORT long ff_schema_feature_index(const struct ff_schema *s, const char *name);
/* New JSON object (caller owns the reference), NULL on OOM. */
FF_EXPORT json_t *ff_schema_to_json(const struct ff_schema *s);
/* Fills s (released first) from ff_schema_to_json output; validates. */
FF_EXPORT int ff_schema_from_json(struct ff_schema *s, const json_t *j, struct ff_error *err);

/* ----------------------------------------------------------------- numbers */

#define FF_DOUBLE_TEXT_MAX 32
/*
 * Shortest text of a finite double that reads back to the same bits: the
 * first of %.15g, %.16g, %.17g that round-trips. Non-finite values give
 * "nan", "inf", "-inf". Returns the length; out is NUL-terminated.
 */
FF_EXPORT size_t ff_double_to_text(double v, char out[FF_DOUBLE_TEXT_MAX]);
/*
 * Parses a whole decimal number (optional sign, digits, optional fraction,
 * optional exponent; no spaces, hex, nan or inf) of n bytes. The result is
 * the double strtod gives (correctly rounded). FF_EINVAL when s is not such
 * a number, FF_ERANGE when it overflows to infinity.
 */
FF_EXPORT int ff_text_to_double(const char *s, size_t n, double *out);

/* ------------------------------------------------------------------- paths */

/*
 * Owned "<home>/<namespace>/<name>" in *out (free with ff_free). Checks
 * namespace and name as single path components (FF_EINVAL otherwise).
 */
FF_EXPORT int ff_table_dir(const char *home, const char *namespace_, const char *name,
			   char **out, struct ff_error *err);
/* True when dir holds a committed table (its meta.json exists). */
FF_EXPORT bool ff_table_exists(const char *dir);
/* Deletes a table directory; a missing table is success. */
FF_EXPORT int ff_table_destroy(const char *dir, struct ff_error *err);

/* ------------------------------------------------------------------ writer */

struct ff_table_writer;

struct ff_table_writer_opts {
	unsigned partitions;     /* 1..FF_TABLE_PARTITIONS_MAX */
	/*
	 * Row count the caller expects, used to cut partitions evenly: row g
	 * goes to partition g * partitions / expected_rows (the last one takes
	 * any excess). 0 = unknown: rows stay in the current partition until
	 * ff_table_writer_next_partition.
	 */
	uint64_t expected_rows;
	/* Rows carry their source text: every append then passes text. */
	bool keep_text;
	const char *header;      /* source header line when keep_text, or NULL */
	char delimiter;          /* of the text and of rendered rows, ',' */
	bool no_fsync;           /* scratch tables: atomic but not durable */
	const json_t *extra;     /* copied into meta.json "extra"; NULL = none */
};
#define FF_TABLE_WRITER_OPTS_INIT { .partitions = 1, .delimiter = ',' }

/* One row to append; all pointers are borrowed for the call only. */
struct ff_row_in {
	const char *sid;         /* sample id, sid_len bytes (non-empty) */
	size_t sid_len;
	const char *mid;         /* match id; ignored for a single-id schema */
	size_t mid_len;
	double label;            /* ignored without a label column */
	double weight;           /* ignored without a weight column */
	const double *x;         /* n_features values */
	const char *text;        /* source line (no end of line) when keep_text */
	size_t text_len;
};

/*
 * Starts a table at dir (parents are created). Nothing is visible at dir
 * until commit. Borrows schema and opts for the call only. Stale temporary
 * directories of dead writers of the same table are removed.
 * *out is owned: free with ff_table_writer_free.
 */
FF_EXPORT int ff_table_writer_create(struct ff_table_writer **out, const char *dir,
				     const struct ff_schema *schema,
				     const struct ff_table_writer_opts *opts,
				     struct ff_error *err);
/*
 * Like create, with src's schema and text description, so that rows copied
 * with ff_table_writer_append_row keep their source text. opts->keep_text,
 * header and delimiter are taken from src.
 */
FF_EXPORT int ff_table_writer_create_like(struct ff_table_writer **out, const char *dir,
					  const struct ff_table *src,
					  const struct ff_table_writer_opts *opts,
					  struct ff_error *err);
FF_EXPORT int ff_table_writer_append(struct ff_table_writer *w, const struct ff_row_in *row,
				     struct ff_error *err);
/* Copies row i of batch b (a table of the same schema) with its text. */
FF_EXPORT int ff_table_writer_append_row(struct ff_table_writer *w, const struct ff_batch *b,
					 size_t i, struct ff_error *err);
/* Closes the current partition; later rows go to the next one. */
FF_EXPORT int ff_table_writer_next_partition(struct ff_table_writer *w, struct ff_error *err);
/* Rows appended so far. */
FF_EXPORT uint64_t ff_table_writer_count(const struct ff_table_writer *w);
/*
 * Makes the table visible at dir atomically, replacing an existing table.
 * After a failed commit nothing is left behind. Call once; free w after.
 */
FF_EXPORT int ff_table_writer_commit(struct ff_table_writer *w, struct ff_error *err);
/* Frees w; an uncommitted table is discarded (abort). NULL is fine. */
FF_EXPORT void ff_table_writer_free(struct ff_table_writer *w);

/* ------------------------------------------------------------------ reader */

#define FF_TABLE_NO_VERIFY 1u  /* skip block checksums (structure is still checked) */
/*
 * Check each block header when a read first reaches its block, not at
 * open: for a caller that reads a few rows of a table just written (its
 * blocks written past the page cache are read back from the disk to be
 * checked: a fifth of a second for a 1 GB upload). The file headers,
 * footers and sizes are still checked at open; a bad block header is then
 * reported by every read that reaches it.
 */
#define FF_TABLE_LAZY 2u

/*
 * Opens a committed table: reads meta.json, maps the partition files and
 * checks their headers, block headers and sizes (a truncated or corrupted
 * file is refused with FF_EDATA; a missing table is FF_ENOTABLE). Block
 * payload checksums are verified on first access. *out is owned: free with
 * ff_table_free.
 */
FF_EXPORT int ff_table_open(struct ff_table **out, const char *dir, unsigned flags,
			    struct ff_error *err);
FF_EXPORT void ff_table_free(struct ff_table *t);
FF_EXPORT const struct ff_schema *ff_table_schema(const struct ff_table *t);
FF_EXPORT uint64_t ff_table_count(const struct ff_table *t);
FF_EXPORT unsigned ff_table_partitions(const struct ff_table *t);
/* Rows in partition p and the global index of its first row. */
FF_EXPORT uint64_t ff_table_partition_count(const struct ff_table *t, unsigned p);
FF_EXPORT uint64_t ff_table_partition_start(const struct ff_table *t, unsigned p);
/* True when rows carry source text (uploaded tables). */
FF_EXPORT bool ff_table_has_text(const struct ff_table *t);
/* The parsed meta.json (borrowed, valid while t lives). */
FF_EXPORT const json_t *ff_table_meta(const struct ff_table *t);
FF_EXPORT const char *ff_table_path(const struct ff_table *t);

/* what an iteration or load needs; unrequested parts are not touched */
#define FF_NEED_VALUES 1u  /* label, weight, features */
#define FF_NEED_IDS 2u     /* sample and match ids */
#define FF_NEED_TEXT 4u    /* source text (ff_batch_text) */

/*
 * A run of consecutive rows of one partition, columnar: feature j of row i
 * is x[j * n + i]; label/weight are NULL when the table has none. The
 * values point into the mapped file, or, for a block stored with encoded
 * columns, into a buffer of the iterator that decoded them: a batch is
 * valid until the next ff_table_iter_next or ff_table_iter_release on its
 * iterator (and while the table is open).
 */
struct ff_batch {
	uint64_t row0;          /* global index of the first row */
	size_t n;               /* rows */
	size_t d;               /* features */
	unsigned partition;
	const double *label;
	const double *weight;
	const double *x;
	/* private */
	const struct ff_table *t_;
	const void *blk_;
	unsigned need_;
};
static inline const double *ff_batch_col(const struct ff_batch *b, size_t j)
{
	return b->x + j * b->n;
}
/* Sample / match id of row i (not NUL-terminated), needs FF_NEED_IDS. */
FF_EXPORT const char *ff_batch_sid(const struct ff_batch *b, size_t i, size_t *len);
FF_EXPORT const char *ff_batch_mid(const struct ff_batch *b, size_t i, size_t *len);
/*
 * Appends row i as one CSV line (no end of line) to out: its source text
 * when kept (needs FF_NEED_TEXT), else rendered from the values with the
 * table's delimiter (needs FF_NEED_VALUES | FF_NEED_IDS). flags as for
 * ff_csv_export.
 */
FF_EXPORT int ff_batch_text(const struct ff_batch *b, size_t i, unsigned flags,
			    struct ff_buf *out);

struct ff_table_iter {
	const struct ff_table *t;
	unsigned part, part_end;
	size_t blk;
	unsigned need;
	double *dec_;           /* private: decoded values of the current batch */
	size_t dec_cap_;
};
/*
 * Iterates the batches of partition `partition`, or of all when -1.
 * Release with ff_table_iter_release (it may hold a decode buffer); an
 * iteration that ran to its end (0 or an error) has released it already.
 */
FF_EXPORT int ff_table_iter_init(struct ff_table_iter *it, const struct ff_table *t,
				 int partition, unsigned need, struct ff_error *err);
/* 1 and a batch in *b, 0 at the end, or a negative error (corruption, FF_ENOMEM). */
FF_EXPORT int ff_table_iter_next(struct ff_table_iter *it, struct ff_batch *b,
				 struct ff_error *err);
/* Frees the iterator's buffer; batches it returned become invalid. Idempotent. */
FF_EXPORT void ff_table_iter_release(struct ff_table_iter *it);

/* One row, row-major; pointers valid until the next ff_row_iter_next. */
struct ff_row {
	uint64_t index;
	const char *sid;
	size_t sid_len;
	const char *mid;
	size_t mid_len;
	double label;           /* 0 without a label column */
	double weight;          /* 1 without a weight column */
	const double *x;        /* d values */
};
struct ff_row_iter {
	struct ff_table_iter it;
	struct ff_batch b;
	size_t i;
	double *x;              /* owned scratch of d values */
};
FF_EXPORT int ff_row_iter_init(struct ff_row_iter *r, const struct ff_table *t, int partition,
			       struct ff_error *err);
/* 1 and a row, 0 at the end, or a negative error. */
FF_EXPORT int ff_row_iter_next(struct ff_row_iter *r, struct ff_row *row, struct ff_error *err);
FF_EXPORT void ff_row_iter_release(struct ff_row_iter *r);

/*
 * Dense copy of a table (or of one partition): x is n x d row-major, label
 * and weight n each (NULL when absent), sid/mid n NUL-terminated strings
 * (NULL unless FF_NEED_IDS; mid == sid for a single-id schema). All owned
 * by the dataset: ff_dataset_release frees them.
 */
struct ff_dataset {
	size_t n, d;
	double *x;
	double *label;
	double *weight;
	char **sid;
	char **mid;
	char *ids_;             /* private: the strings */
};
#define FF_DATASET_INIT { 0 }
FF_EXPORT int ff_table_load(const struct ff_table *t, int partition, unsigned need,
			    struct ff_dataset *ds, struct ff_error *err);
FF_EXPORT void ff_dataset_release(struct ff_dataset *ds);

#define FF_COL_LABEL (-1)
#define FF_COL_WEIGHT (-2)
/* Column of name: a feature index, FF_COL_LABEL or FF_COL_WEIGHT; FF_ENOENT. */
FF_EXPORT int ff_table_column(const struct ff_table *t, const char *name, int *col);
/*
 * Copies column col of partition `partition` (-1 = whole table) into out,
 * which holds ff_table_partition_count (or ff_table_count) doubles.
 */
FF_EXPORT int ff_table_read_column(const struct ff_table *t, int col, int partition,
				   double *out, struct ff_error *err);

/* --------------------------------------------------------------------- CSV */

/* lines (with their end of line) longer than this fail an import */
#define FF_CSV_LINE_MAX_DEFAULT ((size_t)1 << 20)

/*
 * Import options: FATE's upload parameters (spec 9.1) and MetaParam keys.
 * Strings are borrowed. Defaults from ff_csv_opts_init: head true,
 * partitions 16, extend_sid false, delimiter ',', label_type "int32",
 * dtype "float32", line_max FF_CSV_LINE_MAX_DEFAULT.
 */
struct ff_csv_opts {
	bool head;
	unsigned partitions;
	bool extend_sid;
	char delimiter;
	const char *sample_id_name;
	const char *match_id_name;
	const char *label_name;
	const char *label_type;
	const char *weight_name;
	const char *dtype;
	const char *header;      /* column names when !head (delimiter-separated) */
	size_t line_max;
	bool no_fsync;
	/*
	 * Tuning, 0 = automatic: parsing threads (the online CPUs, at most 4,
	 * fewer for a small file) and the source bytes one thread parses at a
	 * time (about 4 MiB). Tests set them to split even tiny files.
	 */
	unsigned threads;
	size_t chunk_bytes;
};
FF_EXPORT void ff_csv_opts_init(struct ff_csv_opts *o);
/*
 * Fills o from upload parameters {head, partitions, extend_sid, meta: {...}}
 * (file/name/namespace are the caller's). Strings borrowed from params.
 * Unsupported MetaParam values (input_format other than dense, na_values,
 * a multi-character delimiter) are FF_EPARAM.
 */
FF_EXPORT int ff_csv_opts_from_json(struct ff_csv_opts *o, const json_t *params,
				    struct ff_error *err);

struct ff_csv_result {
	uint64_t count;          /* rows imported */
	uint64_t bytes;          /* bytes of the source file */
	char sid_prefix[33];     /* extend_sid prefix, "" without */
};

/*
 * Streams the CSV file into a new table at dir (replacing an existing one
 * on success only), in bounded memory. The first error stops the import,
 * leaves no table and names file, line and column. res may be NULL.
 * Parses on up to o->threads threads (started and joined inside the call);
 * the table and the error are the same whatever the thread count.
 * The file is read through a memory map: if another process cuts it
 * shorter meanwhile, reading a page past its new end raises SIGBUS (see
 * ff_csv_exit_on_sigbus).
 */
FF_EXPORT int ff_csv_import(const char *file, const char *dir, const struct ff_csv_opts *o,
			    struct ff_csv_result *res, struct ff_error *err);
/*
 * For a process whose imports read files that others may cut shorter (an
 * upload task): from now on a SIGBUS ends the process with status 1 after
 * writing to stderr that file was cut while it was read, instead of a
 * crash. file is copied. Not for a process that maps other files.
 */
FF_EXPORT void ff_csv_exit_on_sigbus(const char *file);

#define FF_CSV_WITH_SID 1u   /* prefix a separate sample id column (FATE `table` download) */
#define FF_CSV_NO_HEADER 2u  /* omit the header line */

/* Receives export output; returns FF_OK or an error that stops the export. */
typedef int (*ff_csv_sink_fn)(void *ctx, const char *data, size_t n);
/*
 * Renders the header line and the first max_rows rows (UINT64_MAX = all) as
 * CSV to sink. An uploaded table comes out as its source file, byte for
 * byte (header, rows, end of lines).
 */
FF_EXPORT int ff_csv_export(const struct ff_table *t, uint64_t max_rows, unsigned flags,
			    ff_csv_sink_fn sink, void *ctx, struct ff_error *err);
/* Export to a file, written atomically (temp + rename). */
FF_EXPORT int ff_csv_export_file(const struct ff_table *t, const char *path, uint64_t max_rows,
				 unsigned flags, struct ff_error *err);
/* The first n rows (display), appended to out (bounded by out->max). */
FF_EXPORT int ff_csv_display(const struct ff_table *t, uint64_t n, unsigned flags,
			     struct ff_buf *out, struct ff_error *err);
/* Header names as a JSON array (the download's 0.meta "header"). New ref. */
FF_EXPORT json_t *ff_csv_header_json(const struct ff_table *t, unsigned flags);

#endif
