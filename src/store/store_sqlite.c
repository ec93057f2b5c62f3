// SPDX-License-Identifier: Apache-2.0
/*
 * store_sqlite.c - the SQLite backend (default; embedded, zero set-up).
 *
 * WAL journal so HTTP threads read while the core thread writes;
 * synchronous=NORMAL: a commit survives a process kill (the WAL is in the
 * OS), only a power loss can drop the last commits. Prepared statements are
 * cached per connection by SQL text, which is what makes repeated queries
 * (job query at tens of thousands per second) cheap.
 */
#include "ff_setup.h"
#include <sqlite3.h>
#include "log.h"
#include "mem.h"
#include "store_int.h"

#define SQ_CACHE 128   /* statement cache slots (open addressing) */

struct sq_entry {
	char *sql;
	sqlite3_stmt *stmt;
};

struct sq_conn {
	struct store base;
	sqlite3 *db;
	struct sq_entry cache[SQ_CACHE];
};

static uint64_t sq_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int sq_err(struct sq_conn *c, int rc, const char *what, struct ff_error *err)
{
	int code = (rc == SQLITE_CONSTRAINT || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			   ? FF_ECONFLICT : FF_EIO;
	return ff_error_set(err, code, "database %s failed: %s", what,
			    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
}

static int sq_prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out,
		      struct ff_error *err)
{
	uint64_t h = sq_hash(sql);
	for (size_t k = 0; k < SQ_CACHE; k++) {
		struct sq_entry *e = &c->cache[(h + k) % SQ_CACHE];
		if (e->sql && !strcmp(e->sql, sql)) {
			*out = e->stmt;
			return FF_OK;
		}
		if (!e->sql) {
			int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
						    out, NULL);
			if (rc != SQLITE_OK)
				return sq_err(c, rc, "prepare", err);
			e->sql = ff_strdup(sql);
			if (!e->sql) {
				sqlite3_finalize(*out);
				return FF_ENOMEM;
			}
			e->stmt = *out;
			return FF_OK;
		}
	}
	/* Cache full (dynamic SQL): use a one-off statement. */
	int rc = sqlite3_prepare_v2(c->db, sql, -1, out, NULL);
	return rc == SQLITE_OK ? 1 : sq_err(c, rc, "prepare", err);
}

static int sq_bind(struct sq_conn *c, sqlite3_stmt *st, const struct store_val *args,
		   size_t nargs, struct ff_error *err)
{
	for (size_t i = 0; i < nargs; i++) {
		int idx = (int)i + 1, rc = SQLITE_OK;
		switch (args[i].type) {
		case STORE_NULL:
			rc = sqlite3_bind_null(st, idx);
			break;
		case STORE_INT:
			rc = sqlite3_bind_int64(st, idx, args[i].i);
			break;
		case STORE_REAL:
			rc = sqlite3_bind_double(st, idx, args[i].d);
			break;
		case STORE_TEXT:
			rc = sqlite3_bind_text64(st, idx, args[i].s, args[i].n, SQLITE_STATIC,
						 SQLITE_UTF8);
			break;
		}
		if (rc != SQLITE_OK)
			return sq_err(c, rc, "bind", err);
	}
	return FF_OK;
}

static int sq_visit(sqlite3_stmt *st, store_row_cb cb, void *arg)
{
	struct store_val vals[96];
	const char *names[96];
	int n = sqlite3_column_count(st);
	if (n > 96)
		n = 96;
	for (int i = 0; i < n; i++) {
		names[i] = sqlite3_column_name(st, i);
		struct store_val *v = &vals[i];
		memset(v, 0, sizeof(*v));
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v->type = STORE_INT;
			v->i = sqlite3_column_int64(st, i);
			break;
		case SQLITE_FLOAT:
			v->type = STORE_REAL;
			v->d = sqlite3_column_double(st, i);
			break;
		case SQLITE_NULL:
			v->type = STORE_NULL;
			break;
		default:
			v->type = STORE_TEXT;
			v->s = (const char *)sqlite3_column_text(st, i);
			v->n = (size_t)sqlite3_column_bytes(st, i);
			if (!v->s)
				v->type = STORE_NULL;
		}
	}
	struct store_row row = { .ncols = (size_t)n, .names = names, .vals = vals };
	return cb(arg, &row);
}

static int sq_exec(struct store *s, const char *sql, const struct store_val *args,
		   size_t nargs, store_row_cb cb, void *arg, int64_t *changes,
		   struct ff_error *err)
{
	struct sq_conn *c = (struct sq_conn *)s;
	sqlite3_stmt *st = NULL;
	int ret = sq_prepare(c, sql, &st, err);
	bool oneoff = ret == 1;
	if (ret < 0)
		return ret;
	ret = sq_bind(c, st, args, nargs, err);
	while (!ret) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			ret = sq_err(c, rc, "statement", err);
			break;
		}
		if (cb)
			ret = sq_visit(st, cb, arg);
	}
	if (!ret && changes)
		*changes = sqlite3_changes64(c->db);
	if (oneoff)
		sqlite3_finalize(st);
	else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return ret;
}

static int sq_exec_script(struct store *s, const char *sql, struct ff_error *err)
{
	struct sq_conn *c = (struct sq_conn *)s;
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		ff_error_set(err, FF_EIO, "database script failed: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return FF_EIO;
	}
	return FF_OK;
}

static void sq_close(struct store *s)
{
	struct sq_conn *c = (struct sq_conn *)s;
	if (!c)
		return;
	for (size_t i = 0; i < SQ_CACHE; i++) {
		if (c->cache[i].stmt)
			sqlite3_finalize(c->cache[i].stmt);
		ff_free(c->cache[i].sql);
	}
	if (c->db)
		sqlite3_close_v2(c->db);
	ff_free(c);
}

static int sq_open(const char *path, bool readonly, struct store **out,
		   struct ff_error *err)
{
	struct sq_conn *c = ff_calloc(1, sizeof(*c));
	if (!c)
		return FF_ENOMEM;
	c->base.ops = &store_sqlite_ops;
	c->base.readonly = readonly;
	int flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY
						    : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		ff_error_set(err, FF_EIO, "cannot open database '%s': %s", path,
			     c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sq_close(&c->base);
		return FF_EIO;
	}
	/* Readers wait briefly for a checkpoint; the writer never waits long. */
	sqlite3_busy_timeout(c->db, 5000);
	const char *pragmas = readonly
		? "PRAGMA query_only=ON; PRAGMA cache_size=-8000;"
		: "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		  "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-16000;"
		  "PRAGMA wal_autocheckpoint=4000; PRAGMA temp_store=MEMORY;";
	int ret = sq_exec_script(&c->base, pragmas, err);
	if (ret) {
		sq_close(&c->base);
		return ret;
	}
	*out = &c->base;
	return FF_OK;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.exec_script = sq_exec_script,
};
