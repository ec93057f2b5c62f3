/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_int.h - what a store backend implements (for store_*.c only).
 *
 * A backend connection embeds struct store as its first member. exec must
 * bind args in order to the '?' placeholders, call cb per row with text
 * values NUL-terminated, and report affected rows for writes. Errors map
 * to FF_ECONFLICT for constraint/busy conflicts and FF_EIO otherwise, with
 * the backend's message in err.
 */
#ifndef FF_STORE_INT_H
#define FF_STORE_INT_H

#include "store.h"

struct store_ops {
	const char *name;
	int (*open)(const char *path, bool readonly, struct store **out,
		    struct ff_error *err);
	void (*close)(struct store *s);
	int (*exec)(struct store *s, const char *sql, const struct store_val *args,
		    size_t nargs, store_row_cb cb, void *arg, int64_t *changes,
		    struct ff_error *err);
	/* Runs a script of ;-separated statements without arguments. */
	int (*exec_script)(struct store *s, const char *sql, struct ff_error *err);
};

struct store {
	const struct store_ops *ops;
	int txn_depth;
	bool readonly;
};

extern const struct store_ops store_sqlite_ops;

/* Schema creation and migration, run by store_open on the writer. */
int store_schema_apply(struct store *s, struct ff_error *err);

#endif
