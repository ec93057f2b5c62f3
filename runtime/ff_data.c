// SPDX-License-Identifier: Apache-2.0
/*
 * ff_data.c - a component's input and output tables from its task config
 * (see fedflow/data.h).
 */
#include "ff_setup.h"
#include "fedflow/data.h"
#include "httpl.h"
#include "jsonx.h"
#include "mem.h"

static const char ff_data_scheme[] = "standalone://";

const char *ff_data_home(const struct ff_task *t)
{
	const char *h = jsonx_str(jsonx_path(ff_task_config(t), "conf.computing.metadata.options"),
				  "data_dir");
	return h ? h : "";
}

/* "standalone:///a/b" -> "/a/b"; NULL for any other URI. */
static const char *ff_data_uri_dir(const char *uri)
{
	if (!uri || strncmp(uri, ff_data_scheme, sizeof(ff_data_scheme) - 1))
		return NULL;
	uri += sizeof(ff_data_scheme) - 1;
	return *uri == '/' ? uri : NULL;
}

int ff_data_input_dir(const struct ff_task *t, const char *key, size_t i, char **dir,
		      struct ff_error *err)
{
	const json_t *a = ff_task_input(t, key, i);
	if (!a)
		return ff_error_set(err, FF_EINVAL, "no input %zu for '%s'", i, key);
	const char *uri = jsonx_str(a, "uri");
	const char *d = ff_data_uri_dir(uri);
	if (!d)
		return ff_error_set(err, FF_ENOTABLE, "input '%s' is not a standalone table (uri "
				    "'%.200s')", key, uri ? uri : "");
	*dir = ff_strdup(d);
	return *dir ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
}

int ff_data_open_input(const struct ff_task *t, const char *key, size_t i,
		       struct ff_table **out, struct ff_error *err)
{
	char *dir = NULL;
	int ret = ff_data_input_dir(t, key, i, &dir, err);
	if (!ret)
		ret = ff_table_open(out, dir, 0, err);
	ff_free(dir);
	return ret;
}

int ff_data_output_dir(const struct ff_task *t, const char *key, char **dir,
		       struct ff_error *err)
{
	const char *uri = ff_task_output_uri(t, key);
	const char *d = ff_data_uri_dir(uri);
	if (!d)
		return ff_error_set(err, FF_EINVAL, "output '%s' has no table URI (got '%.200s')", key,
				    uri ? uri : "");
	*dir = ff_strdup(d);
	return *dir ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
}

int ff_data_output_create(const struct ff_task *t, const char *key,
			  const struct ff_schema *schema, const struct ff_table_writer_opts *opts,
			  struct ff_table_writer **w, struct ff_error *err)
{
	struct ff_table_writer_opts dflt = FF_TABLE_WRITER_OPTS_INIT;
	char *dir = NULL;
	int ret = ff_data_output_dir(t, key, &dir, err);
	if (!ret)
		ret = ff_table_writer_create(w, dir, schema, opts ? opts : &dflt, err);
	ff_free(dir);
	return ret;
}

int ff_data_output_create_like(const struct ff_task *t, const char *key,
			       const struct ff_table *src, const struct ff_table_writer_opts *opts,
			       struct ff_table_writer **w, struct ff_error *err)
{
	struct ff_table_writer_opts dflt = FF_TABLE_WRITER_OPTS_INIT;
	char *dir = NULL;
	int ret = ff_data_output_dir(t, key, &dir, err);
	if (!ret)
		ret = ff_table_writer_create_like(w, dir, src, opts ? opts : &dflt, err);
	ff_free(dir);
	return ret;
}

int ff_data_output_commit(struct ff_task *t, const char *key, struct ff_table_writer *w,
			  struct ff_error *err)
{
	char *dir = NULL;
	int ret = ff_data_output_dir(t, key, &dir, err);
	if (!ret)
		ret = ff_table_writer_commit(w, err);
	ff_table_writer_free(w);
	if (!ret)
		ret = ff_data_output_table(t, key, dir, NULL, NULL, NULL, NULL, err);
	ff_free(dir);
	return ret;
}

static json_t *ff_data_split(const char *line, size_t n, char delim)
{
	json_t *row = json_array();
	if (n && line[n - 1] == '\r')
		n--;
	for (size_t i = 0; row;) {
		const char *e = memchr(line + i, delim, n - i);
		size_t m = e ? (size_t)(e - (line + i)) : n - i;
		if (json_array_append_new(row, json_stringn(line + i, m))) {
			json_decref(row);
			return NULL;
		}
		if (!e)
			break;
		i += m + 1;
	}
	return row;
}

json_t *ff_data_samples(const struct ff_table *t, size_t n)
{
	struct ff_buf b = FF_BUF_INIT_MAX((size_t)256 << 20);
	json_t *out = json_array();
	if (!out || ff_csv_display(t, n, FF_CSV_NO_HEADER, &b, NULL)) {
		ff_buf_release(&b);
		json_decref(out);
		return NULL;
	}
	const char *d = jsonx_str(jsonx_path(ff_table_meta(t), "text"), "delimiter");
	char delim = d && d[0] ? d[0] : ',';
	for (const char *p = b.buf, *end = b.buf + b.len; out && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *row = ff_data_split(p, len, delim);
		if (!row || json_array_append_new(out, row)) {
			json_decref(out);
			out = NULL;
		}
		p += len + 1;
	}
	ff_buf_release(&b);
	return out;
}

static json_t *ff_data_source(const struct ff_task *t, const char *key)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:n}", "task_id", ff_task_task_id(t),
			 "party_task_id", ff_task_execution_id(t), "task_name", ff_task_name(t),
			 "component", ff_task_component(t), "output_artifact_key", key,
			 "output_index");
}

/* Last two components of dir into ns and name. */
static void ff_data_names(const char *dir, char *ns, size_t nsz, char *name, size_t nmsz)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	size_t e = n;
	while (n && dir[n - 1] != '/')
		n--;
	snprintf(name, nmsz, "%.*s", (int)(e - n), dir + n);
	if (n)
		n--;
	size_t e2 = n;
	while (n && dir[n - 1] != '/')
		n--;
	snprintf(ns, nsz, "%.*s", (int)(e2 - n), dir + n);
}

int ff_data_output_table(struct ff_task *t, const char *key, const char *dir,
			 const char *namespace_, const char *name, const char *data_type,
			 const json_t *extra_meta, struct ff_error *err)
{
	struct ff_table *tb = NULL;
	char nsbuf[FF_TABLE_NAME_MAX + 1], namebuf[FF_TABLE_NAME_MAX + 1];
	/* the samples read a block or two: the rest of a table just written
	 * need not come back from the disk */
	int ret = ff_table_open(&tb, dir, FF_TABLE_LAZY, err);
	if (ret)
		return ret;
	ff_data_names(dir, nsbuf, sizeof(nsbuf), namebuf, sizeof(namebuf));
	json_t *schema = ff_schema_to_json(ff_table_schema(tb));
	if (schema && extra_meta)
		json_object_update(schema, (json_t *)extra_meta);
	json_t *samples = ff_data_samples(tb, FF_DATA_SAMPLES);
	char *uri = ff_asprintf("%s%s", ff_data_scheme, dir);
	json_t *art = schema && samples && uri ? json_pack(
		"{s:s,s:{s:s,s:s,s:{s:o,s:{s:I}},s:{s:I,s:o},s:o},s:s}", "uri", uri,
		"metadata", "namespace", namespace_ ? namespace_ : nsbuf,
		"name", name ? name : namebuf, "metadata", "schema", schema, "options",
		"partitions", (json_int_t)ff_table_partitions(tb),
		"data_overview", "count", (json_int_t)ff_table_count(tb), "samples", samples,
		"source", ff_data_source(t, key), "type_name", data_type ? data_type : "dataframe")
		: NULL;
	if (!art) {
		json_decref(schema);
		json_decref(samples);
	}
	ff_free(uri);
	ff_table_free(tb);
	if (!art)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	return ff_task_add_output(t, "data", key, art) ? ff_error_set(err, FF_ENOMEM,
								     "out of memory") : FF_OK;
}

int ff_data_output_ref(struct ff_task *t, const char *key, const char *namespace_,
		       const char *name, struct ff_error *err)
{
	json_t *art = json_pack("{s:s,s:{s:s,s:s,s:o},s:s}", "uri", "", "metadata", "namespace",
				namespace_, "name", name, "source", ff_data_source(t, key),
				"type_name", "data_unresolved");
	if (!art || ff_task_add_output(t, "data", key, art))
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	return FF_OK;
}

/* Percent-encodes s into b (RFC 3986 unreserved characters kept). */
static int ff_data_urlenc(struct ff_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int ret = FF_OK;
	for (const unsigned char *p = (const unsigned char *)s; *p && !ret; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			ret = ff_buf_addch(b, (char)*p);
		else
			ret = ff_buf_addf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	return ret;
}

int ff_data_lookup(struct ff_task *t, const char *namespace_, const char *name, char **dir,
		   json_t **info, struct ff_error *err)
{
	const json_t *mlmd = json_object_get(ff_task_config(t), "mlmd");
	const char *host = jsonx_str(mlmd, "host");
	long long port = 0;
	if (!host || !jsonx_as_int(json_object_get(mlmd, "port"), &port))
		return ff_error_set(err, FF_EINVAL, "task config has no fedflowd address (mlmd)");
	char base[128];
	snprintf(base, sizeof(base), "http://%s:%lld", host, port);
	struct httpl c;
	struct ff_buf path = FF_BUF_INIT;
	json_t *resp = NULL;
	int ret = httpl_init(&c, base, err);
	if (ret)
		return ret;
	if (ff_buf_addstr(&path, "/v2/worker/data/tracking/query?namespace=") ||
	    ff_data_urlenc(&path, namespace_) || ff_buf_addstr(&path, "&name=") ||
	    ff_data_urlenc(&path, name))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		ret = httpl_get_json(&c, path.buf, &resp, err);
	long long code = -1;
	if (!ret && (!jsonx_as_int(json_object_get(resp, "code"), &code) || code != 0))
		ret = ff_error_set(err, code == 7001 ? FF_ENOTABLE : FF_EWORKER,
				   "table '%s' in namespace '%s' does not exist (fedflowd: %s)", name,
				   namespace_, jsonx_str(resp, "message") ? jsonx_str(resp, "message")
									 : "?");
	const json_t *tbl = ret ? NULL : json_array_get(json_object_get(resp, "data"), 0);
	if (!ret && !tbl)
		ret = ff_error_set(err, FF_ENOTABLE, "table '%s' in namespace '%s' does not exist",
				   name, namespace_);
	if (!ret && dir) {
		const char *engine = jsonx_str(tbl, "engine");
		const char *d = engine && !strcmp(engine, "standalone")
				? ff_data_uri_dir(jsonx_str(tbl, "path")) : NULL;
		*dir = d ? ff_strdup(d) : NULL;
	}
	if (!ret && info)
		*info = json_incref((json_t *)tbl);
	json_decref(resp);
	ff_buf_release(&path);
	httpl_release(&c);
	return ret;
}
