// SPDX-License-Identifier: Apache-2.0
/* table_meta.c - table metas: name checks, lookup, delete, bind (see table_meta.h). */
#include "ff_setup.h"
#include "clock.h"
#include "fedflow/table.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"
#include "store.h"
#include "table_meta.h"

int table_name_check(const char *namespace_, const char *name, struct ff_error *err)
{
	const char *what[] = { "namespace", "name" };
	const char *v[] = { namespace_, name };
	for (size_t i = 0; i < 2; i++) {
		if (!v[i] || !*v[i])
			return ff_error_set(err, FF_EPARAM, "missing required parameter '%s'", what[i]);
		if (!fs_name_ok(v[i], FF_TABLE_NAME_MAX))
			return ff_error_set(err, FF_EPARAM, "%s '%.80s' is not allowed: use 1..%d "
					    "characters without '/', control characters or a "
					    "leading '.'", what[i], v[i], FF_TABLE_NAME_MAX);
	}
	return FF_OK;
}

static json_t *table_json_col(const struct store_row *row, const char *col, bool list)
{
	const char *s = store_col_text(row, col);
	json_t *j = s && *s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	if (j && (list ? json_is_array(j) : json_is_object(j)))
		return j;
	json_decref(j);
	return list ? json_array() : json_object();
}

static int table_meta_cb(void *arg, const struct store_row *row)
{
	struct table_info *ti = arg;
	const char *engine = store_col_text(row, "f_engine");
	const char *dt = store_col_text(row, "f_data_type");
	const struct store_val *cnt = store_col(row, "f_count");
	snprintf(ti->engine, sizeof(ti->engine), "%s", engine ? engine : "standalone");
	snprintf(ti->data_type, sizeof(ti->data_type), "%s", dt ? dt : "table");
	ti->count = cnt && cnt->type == STORE_INT ? cnt->i : -1;
	json_t *addr = table_json_col(row, "f_address", false);
	const char *path = jsonx_str(addr, "path");
	ti->path = path ? ff_strdup(path) : NULL;
	json_decref(addr);
	ti->meta = table_json_col(row, "f_data_meta", false);
	ti->part_of_data = table_json_col(row, "f_part_of_data", true);
	return FF_OK;
}

int table_meta_get(struct store *db, const char *namespace_, const char *name,
		   struct table_info *ti, struct ff_error *err)
{
	struct store_val a[] = { SV_TEXT(namespace_), SV_TEXT(name) };
	*ti = (struct table_info)TABLE_INFO_INIT;
	int ret = store_exec(db, "SELECT f_engine, f_data_type, f_count, f_address, f_data_meta,"
			     " f_part_of_data FROM t_storage_table_meta WHERE f_namespace = ? AND"
			     " f_name = ?", a, 2, table_meta_cb, ti, NULL, err);
	if (!ret && !ti->meta)
		ret = ff_error_set(err, FF_ENOTABLE, "no found table: namespace '%s', name '%s'",
				   namespace_, name);
	if (ret)
		table_info_release(ti);
	return ret;
}

void table_info_release(struct table_info *ti)
{
	ff_free(ti->path);
	json_decref(ti->meta);
	json_decref(ti->part_of_data);
	*ti = (struct table_info)TABLE_INFO_INIT;
}

bool table_meta_exists(struct store *db, const char *namespace_, const char *name)
{
	struct store_val a[] = { SV_TEXT(namespace_), SV_TEXT(name) };
	int64_t n = 0;
	return !store_get_int(db, "SELECT COUNT(*) FROM t_storage_table_meta WHERE f_namespace = ?"
			      " AND f_name = ?", a, 2, &n, NULL) && n > 0;
}

/* True when path is a folder strictly below dir (no ".." tricks: both are
 * the daemon's own absolute paths, names were checked when they were made). */
static bool table_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return path && !strncmp(path, dir, n) && path[n] == '/' && path[n + 1] &&
	       !strstr(path + n, "/../") && !strstr(path + n, "/./");
}

int table_meta_delete(struct store *db, const char *data_dir, const char *namespace_,
		      const char *name, struct ff_error *err)
{
	struct table_info ti;
	int ret = table_meta_get(db, namespace_, name, &ti, err);
	if (ret)
		return ret;
	struct store_val a[] = { SV_TEXT(namespace_), SV_TEXT(name) };
	ret = store_exec(db, "DELETE FROM t_storage_table_meta WHERE f_namespace = ? AND f_name = ?",
			 a, 2, NULL, NULL, NULL, err);
	if (!ret && !strcmp(ti.engine, "standalone") && table_below(ti.path, data_dir) &&
	    ff_table_exists(ti.path))
		ret = ff_table_destroy(ti.path, err);
	table_info_release(&ti);
	return ret;
}

int table_meta_bind(struct store *db, const char *namespace_, const char *name,
		    const char *path, struct ff_error *err)
{
	json_t *addr = json_pack("{s:s}", "path", path);
	char *addr_s = addr ? jsonx_dumps(addr) : NULL;
	json_decref(addr);
	if (!addr_s)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int64_t now = clock_now_ms();
	struct store_val a[] = { SV_TEXT(name), SV_TEXT(namespace_), SV_TEXT(addr_s), SV_INT(now),
				 SV_INT(now) };
	int ret = store_exec(db,
		"INSERT INTO t_storage_table_meta (f_name, f_namespace, f_address, f_engine,"
		" f_partitions, f_data_meta, f_count, f_part_of_data, f_source, f_data_type,"
		" f_create_time, f_update_time) VALUES (?, ?, ?, 'path', NULL, '{}', NULL, '[]', '{}',"
		" 'data_directory', ?, ?) ON CONFLICT (f_name, f_namespace) DO UPDATE SET"
		" f_address = excluded.f_address, f_engine = excluded.f_engine,"
		" f_partitions = NULL, f_data_meta = excluded.f_data_meta, f_count = NULL,"
		" f_part_of_data = excluded.f_part_of_data, f_source = excluded.f_source,"
		" f_data_type = excluded.f_data_type, f_update_time = excluded.f_update_time",
		a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	ff_free(addr_s);
	return ret;
}
