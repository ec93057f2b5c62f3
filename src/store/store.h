/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - the database interface every other subsystem uses.
 *
 * The store is the truth: every job, task, resource and output record lives
 * here and a restarted fedflowd rebuilds everything from it. The interface
 * is deliberately narrow - open, transactions, and one "execute a statement
 * with bound values and visit the rows" call - so a backend is one file
 * (store_sqlite.c today; a PostgreSQL backend implements the same
 * struct store_ops in store_pg.c) and callers never change.
 *
 * SQL written by callers is portable: '?' placeholders (a backend may
 * rewrite them), INSERT ... ON CONFLICT DO NOTHING / DO UPDATE, no
 * backend-specific functions. Timestamps are epoch milliseconds.
 *
 * Threading: a struct store is one connection used by one thread at a
 * time. fedflowd's core thread owns the only writer; HTTP threads open
 * read-only connections (store_open_reader) that see committed data.
 */
#ifndef FF_STORE_H
#define FF_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "err.h"
#include "jw.h"

enum store_type { STORE_NULL = 0, STORE_INT, STORE_REAL, STORE_TEXT };

struct store_val {
	enum store_type type;
	int64_t i;
	double d;
	const char *s;     /* borrowed; need not be NUL-terminated if n set */
	size_t n;
};

#define SV_NULL ((struct store_val){ .type = STORE_NULL })
#define SV_INT(v) ((struct store_val){ .type = STORE_INT, .i = (int64_t)(v) })
#define SV_REAL(v) ((struct store_val){ .type = STORE_REAL, .d = (v) })
/* NULL text binds SQL NULL */
#define SV_TEXT(v) store_text(v)
static inline struct store_val store_text(const char *s)
{
	struct store_val v = { .type = s ? STORE_TEXT : STORE_NULL, .s = s,
			       .n = s ? __builtin_strlen(s) : 0 };
	return v;
}

/* One result row, valid only during the row callback. */
struct store_row {
	size_t ncols;
	const char *const *names;     /* column names */
	const struct store_val *vals; /* text values are NUL-terminated */
};

/* Return FF_OK to continue, anything else stops and is returned. */
typedef int (*store_row_cb)(void *arg, const struct store_row *row);

struct store;

/* A backend (store_int.h documents the contract for implementers). */
struct store_ops;

/*
 * Opens the database at dsn ("sqlite:/path/file.db" or a plain path) as
 * the read-write connection and creates or migrates the schema.
 */
int store_open(const char *dsn, struct store **out, struct ff_error *err);
/* A read-only connection to the same database (for HTTP threads). */
int store_open_reader(const char *dsn, struct store **out, struct ff_error *err);
void store_close(struct store *s);

/*
 * Runs sql with args bound to its '?' placeholders. cb (may be NULL) sees
 * each row. *changes (may be NULL) gets the number of rows written.
 */
int store_exec(struct store *s, const char *sql, const struct store_val *args,
	       size_t nargs, store_row_cb cb, void *arg, int64_t *changes,
	       struct ff_error *err);

/*
 * Transactions (writer only). They nest: an inner one is a savepoint, its
 * abort undoes only its own writes, its commit keeps them for the outer
 * one; only the outermost commit writes to the disk.
 */
int store_txn_begin(struct store *s, struct ff_error *err);
int store_txn_commit(struct store *s, struct ff_error *err);
void store_txn_abort(struct store *s);
/* How many transactions are open (0: every write commits at once). */
int store_txn_depth(const struct store *s);

/* ---- helpers built on store_exec ---- */

/* First column of the first row as integer; FF_ENOTFOUND if no row. */
int store_get_int(struct store *s, const char *sql, const struct store_val *args,
		  size_t nargs, int64_t *out, struct ff_error *err);
/* First column of the first row as owned text (ff_free); FF_ENOTFOUND. */
int store_get_text(struct store *s, const char *sql, const struct store_val *args,
		   size_t nargs, char **out, struct ff_error *err);

/*
 * Renders every row as a JSON object in w (inside whatever array the
 * caller opened): column names lose their "f_" prefix, JSON columns are
 * spliced raw, flag columns become booleans. Returns the row count in
 * *nrows (may be NULL).
 */
int store_rows_json(struct store *s, const char *sql, const struct store_val *args,
		    size_t nargs, struct jw *w, size_t *nrows, struct ff_error *err);
/* Renders one row (used inside custom callbacks). */
void store_row_json(const struct store_row *row, struct jw *w);

/* Column value by name inside a row callback (NULL if absent). */
const struct store_val *store_col(const struct store_row *row, const char *name);
const char *store_col_text(const struct store_row *row, const char *name);
int64_t store_col_int(const struct store_row *row, const char *name);

#endif
