// SPDX-License-Identifier: Apache-2.0
/* store.c - backend selection, transactions and row helpers. */
#include "ff_setup.h"
#include "mem.h"
#include "store_int.h"

static const char *store_path(const char *dsn, const struct store_ops **ops)
{
	*ops = &store_sqlite_ops;
	if (!strncmp(dsn, "sqlite:", 7))
		return dsn + 7;
	return dsn;
}

static int store_open_mode(const char *dsn, bool readonly, struct store **out,
			   struct ff_error *err)
{
	const struct store_ops *ops;
	const char *path = store_path(dsn, &ops);
	if (!strncmp(dsn, "postgresql:", 11) || !strncmp(dsn, "postgres:", 9))
		return ff_error_set(err, FF_EINVAL,
				    "database '%s': the PostgreSQL backend is not built in "
				    "this version; use a sqlite: path", dsn);
	int ret = ops->open(path, readonly, out, err);
	if (ret)
		return ret;
	if (!readonly) {
		ret = store_schema_apply(*out, err);
		if (ret) {
			store_close(*out);
			*out = NULL;
		}
	}
	return ret;
}

int store_open(const char *dsn, struct store **out, struct ff_error *err)
{
	return store_open_mode(dsn, false, out, err);
}

int store_open_reader(const char *dsn, struct store **out, struct ff_error *err)
{
	return store_open_mode(dsn, true, out, err);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int store_exec(struct store *s, const char *sql, const struct store_val *args,
	       size_t nargs, store_row_cb cb, void *arg, int64_t *changes,
	       struct ff_error *err)
{
	return s->ops->exec(s, sql, args, nargs, cb, arg, changes, err);
}

/*
 * Nesting with savepoints: an inner transaction can be rolled back alone
 * (its caller's failure undoes only its own writes) while the outermost
 * one decides what reaches the disk, in one commit. Begin, savepoint,
 * release and commit are single statements run through exec, whose
 * statement cache keeps them prepared: a command opens several
 * transactions, and parsing them each time was measurable.
 */
int store_txn_begin(struct store *s, struct ff_error *err)
{
	char sql[48];
	if (s->txn_depth > 0)
		snprintf(sql, sizeof(sql), "SAVEPOINT ff_%d", s->txn_depth);
	else
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
	int ret = s->ops->exec(s, sql, NULL, 0, NULL, NULL, NULL, err);
	if (!ret)
		s->txn_depth++;
	return ret;
}

int store_txn_commit(struct store *s, struct ff_error *err)
{
	if (s->txn_depth <= 0)
		return FF_OK;
	char sql[48];
	if (--s->txn_depth > 0) {
		snprintf(sql, sizeof(sql), "RELEASE ff_%d", s->txn_depth);
		return s->ops->exec(s, sql, NULL, 0, NULL, NULL, NULL, err);
	}
	int ret = s->ops->exec(s, "COMMIT", NULL, 0, NULL, NULL, NULL, err);
	if (ret)
		s->ops->exec_script(s, "ROLLBACK", NULL);
	return ret;
}

void store_txn_abort(struct store *s)
{
	if (s->txn_depth <= 0)
		return;
	if (--s->txn_depth > 0) {
		char sql[80];
		snprintf(sql, sizeof(sql), "ROLLBACK TO ff_%d; RELEASE ff_%d", s->txn_depth,
			 s->txn_depth);
		s->ops->exec_script(s, sql, NULL);
		return;
	}
	s->ops->exec_script(s, "ROLLBACK", NULL);
}

int store_txn_depth(const struct store *s)
{
	return s->txn_depth;
}

struct store_first {
	int64_t i;
	char *s;
	bool found;
	bool want_text;
};

static int store_first_cb(void *arg, const struct store_row *row)
{
	struct store_first *f = arg;
	if (f->found || row->ncols == 0)
		return FF_OK;
	f->found = true;
	const struct store_val *v = &row->vals[0];
	if (f->want_text) {
		if (v->type == STORE_TEXT)
			f->s = ff_strndup(v->s, v->n);
		else if (v->type == STORE_INT)
			f->s = ff_asprintf("%lld", (long long)v->i);
		if (v->type != STORE_NULL && !f->s)
			return FF_ENOMEM;
	} else {
		f->i = v->type == STORE_INT ? v->i : v->type == STORE_REAL ? (int64_t)v->d : 0;
	}
	return FF_OK;
}

int store_get_int(struct store *s, const char *sql, const struct store_val *args,
		  size_t nargs, int64_t *out, struct ff_error *err)
{
	struct store_first f = { 0 };
	int ret = store_exec(s, sql, args, nargs, store_first_cb, &f, NULL, err);
	if (ret)
		return ret;
	if (!f.found)
		return FF_ENOTFOUND;
	*out = f.i;
	return FF_OK;
}

int store_get_text(struct store *s, const char *sql, const struct store_val *args,
		   size_t nargs, char **out, struct ff_error *err)
{
	struct store_first f = { .want_text = true };
	int ret = store_exec(s, sql, args, nargs, store_first_cb, &f, NULL, err);
	if (ret) {
		ff_free(f.s);
		return ret;
	}
	if (!f.found)
		return FF_ENOTFOUND;
	*out = f.s;
	return FF_OK;
}

/* Columns holding JSON text, spliced raw into API answers. */
static bool store_is_json_col(const char *name)
{
	static const char *const cols[] = {
		"f_dag", "f_parties", "f_inheritance", "f_component_parameters",
		"f_task_run", "f_cmd", "f_groups", "f_data", "f_meta_data", "f_metadata",
		"f_address", "f_options", "f_data_meta", "f_part_of_data", "f_source",
		"f_engine_config", "f_component_description", "f_component_entrypoint",
		"f_engine_conf", "f_task_parameters", "f_config", "f_overview", NULL,
	};
	for (const char *const *c = cols; *c; c++)
		if (!strcmp(name, *c))
			return true;
	return false;
}

static bool store_is_bool_col(const char *name)
{
	static const char *const cols[] = {
		"f_resource_in_use", "f_kill_status", "f_have_head", "f_extend_sid",
		"f_disable", "f_schedule_signal", "f_cancel_signal", "f_rerun_signal", NULL,
	};
	for (const char *const *c = cols; *c; c++)
		if (!strcmp(name, *c))
			return true;
	return false;
}

void store_row_json(const struct store_row *row, struct jw *w)
{
	jw_obj(w);
	for (size_t i = 0; i < row->ncols; i++) {
		const char *name = row->names[i];
		const struct store_val *v = &row->vals[i];
		jw_key(w, strncmp(name, "f_", 2) ? name : name + 2);
		if (v->type == STORE_NULL)
			jw_null(w);
		else if (v->type == STORE_INT && store_is_bool_col(name))
			jw_bool(w, v->i != 0);
		else if (v->type == STORE_INT)
			jw_int(w, v->i);
		else if (v->type == STORE_REAL)
			jw_double(w, v->d);
		else if (store_is_json_col(name))
			jw_raw(w, v->s, v->n);
		else
			jw_strn(w, v->s, v->n);
	}
	jw_end(w);
}

struct store_json_ctx {
	struct jw *w;
	size_t n;
};

static int store_json_cb(void *arg, const struct store_row *row)
{
	struct store_json_ctx *c = arg;
	store_row_json(row, c->w);
	c->n++;
	return c->w->err;
}

int store_rows_json(struct store *s, const char *sql, const struct store_val *args,
		    size_t nargs, struct jw *w, size_t *nrows, struct ff_error *err)
{
	struct store_json_ctx c = { .w = w };
	int ret = store_exec(s, sql, args, nargs, store_json_cb, &c, NULL, err);
	if (nrows)
		*nrows = c.n;
	return ret;
}

const struct store_val *store_col(const struct store_row *row, const char *name)
{
	for (size_t i = 0; i < row->ncols; i++)
		if (!strcmp(row->names[i], name))
			return &row->vals[i];
	return NULL;
}

const char *store_col_text(const struct store_row *row, const char *name)
{
	const struct store_val *v = store_col(row, name);
	return v && v->type == STORE_TEXT ? v->s : NULL;
}

int64_t store_col_int(const struct store_row *row, const char *name)
{
	const struct store_val *v = store_col(row, name);
	if (!v)
		return 0;
	if (v->type == STORE_INT)
		return v->i;
	if (v->type == STORE_REAL)
		return (int64_t)v->d;
	if (v->type == STORE_TEXT)
		return strtoll(v->s, NULL, 10);
	return 0;
}
