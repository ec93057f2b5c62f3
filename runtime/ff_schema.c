// SPDX-License-Identifier: Apache-2.0
/*
 * ff_schema.c - struct ff_schema, FATE's dataframe schema of a table: id,
 * label and weight column names, feature names and types, and its JSON form
 * in meta.json ("schema" object, see docs/storage-format.md).
 */
#include "ff_setup.h"
#include "ff_table_int.h"
#include "mem.h"

static const char *const schema_label_types[] = {
	"int32", "int64", "int", "float32", "float64", "float", "bool",
};

void ff_schema_init(struct ff_schema *s)
{
	memset(s, 0, sizeof(*s));
}

void ff_schema_release(struct ff_schema *s)
{
	ff_free(s->sample_id_name);
	ff_free(s->match_id_name);
	ff_free(s->label_name);
	ff_free(s->label_type);
	ff_free(s->weight_name);
	ff_free(s->dtype);
	for (size_t i = 0; i < s->n_features; i++)
		ff_free(s->feature_names[i]);
	ff_free(s->feature_names);
	ff_schema_init(s);
}

/* Replaces *slot by a copy of v (NULL stays NULL). */
static int schema_dup(char **slot, const char *v)
{
	char *c = NULL;
	if (v && !(c = ff_strdup(v)))
		return FF_ENOMEM;
	ff_free(*slot);
	*slot = c;
	return FF_OK;
}

int ff_schema_set(struct ff_schema *s, const char *sample_id_name, const char *match_id_name,
		  const char *label_name, const char *weight_name)
{
	int ret = schema_dup(&s->sample_id_name, sample_id_name);
	if (!ret)
		ret = schema_dup(&s->match_id_name, match_id_name ? match_id_name : sample_id_name);
	if (!ret)
		ret = schema_dup(&s->label_name, label_name);
	if (!ret)
		ret = schema_dup(&s->weight_name, weight_name);
	if (!ret && label_name && !s->label_type)
		ret = schema_dup(&s->label_type, "int32");
	if (!ret && !s->dtype)
		ret = schema_dup(&s->dtype, "float32");
	return ret;
}

int ff_schema_add_feature(struct ff_schema *s, const char *name)
{
	char *c = ff_strdup(name);
	if (!c)
		return FF_ENOMEM;
	size_t n = s->n_features + 1;
	size_t bytes;
	char **names = NULL;
	if (ff_st_mult(n, sizeof(*names), &bytes))
		names = ff_realloc(s->feature_names, bytes);
	if (!names) {
		ff_free(c);
		return FF_ENOMEM;
	}
	names[s->n_features] = c;
	s->feature_names = names;
	s->n_features = n;
	return FF_OK;
}

int ff_schema_copy(struct ff_schema *dst, const struct ff_schema *src)
{
	int ret = FF_OK;
	ff_schema_release(dst);
	if ((ret = schema_dup(&dst->sample_id_name, src->sample_id_name)) ||
	    (ret = schema_dup(&dst->match_id_name, src->match_id_name)) ||
	    (ret = schema_dup(&dst->label_name, src->label_name)) ||
	    (ret = schema_dup(&dst->label_type, src->label_type)) ||
	    (ret = schema_dup(&dst->weight_name, src->weight_name)) ||
	    (ret = schema_dup(&dst->dtype, src->dtype)))
		goto out;
	for (size_t i = 0; i < src->n_features; i++)
		if ((ret = ff_schema_add_feature(dst, src->feature_names[i])))
			goto out;
out:
	if (ret)
		ff_schema_release(dst);
	return ret;
}

bool ff__utf8_ok(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static bool schema_label_type_ok(const char *t)
{
	for (size_t i = 0; i < FF_ARRAY_SIZE(schema_label_types); i++)
		if (!strcmp(t, schema_label_types[i]))
			return true;
	return false;
}

/* The names of every column, in the order they are checked for duplicates. */
static size_t schema_names(const struct ff_schema *s, const char **names, size_t max)
{
	size_t n = 0;
	if (n < max)
		names[n++] = s->sample_id_name;
	if (!ff_schema_single_id(s) && n < max)
		names[n++] = s->match_id_name;
	if (s->label_name && n < max)
		names[n++] = s->label_name;
	if (s->weight_name && n < max)
		names[n++] = s->weight_name;
	for (size_t i = 0; i < s->n_features && n < max; i++)
		names[n++] = s->feature_names[i];
	return n;
}

static int schema_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ff_schema_validate(const struct ff_schema *s, struct ff_error *err)
{
	if (!s->sample_id_name || !*s->sample_id_name)
		return ff_error_set(err, FF_EINVAL, "schema has no sample id name");
	if (!s->match_id_name || !*s->match_id_name)
		return ff_error_set(err, FF_EINVAL, "schema has no match id name");
	if (s->label_name && !*s->label_name)
		return ff_error_set(err, FF_EINVAL, "schema has an empty label name");
	if (s->weight_name && !*s->weight_name)
		return ff_error_set(err, FF_EINVAL, "schema has an empty weight name");
	if (s->label_name && (!s->label_type || !schema_label_type_ok(s->label_type)))
		return ff_error_set(err, FF_EINVAL, "unknown label type '%s'",
				    s->label_type ? s->label_type : "(null)");
	for (size_t i = 0; i < s->n_features; i++)
		if (!s->feature_names[i] || !*s->feature_names[i])
			return ff_error_set(err, FF_EINVAL, "feature %zu has an empty name", i);
	size_t total = s->n_features + 4;
	const char **names;
	if (!FF_ALLOC_ARRAY(names, total))
		return FF_ENOMEM;
	size_t n = schema_names(s, names, total);
	int ret = FF_OK;
	for (size_t i = 0; i < n; i++)
		if (!ff__utf8_ok(names[i])) {
			ret = ff_error_set(err, FF_EINVAL, "column name %zu is not UTF-8", i);
			goto out;
		}
	qsort(names, n, sizeof(*names), schema_name_cmp);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(names[i - 1], names[i])) {
			ret = ff_error_set(err, FF_EINVAL, "duplicate column name '%s'", names[i]);
			break;
		}
out:
	ff_free(names);
	return ret;
}

static bool schema_str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool ff_schema_equal(const struct ff_schema *a, const struct ff_schema *b)
{
	if (!schema_str_eq(a->sample_id_name, b->sample_id_name) ||
	    !schema_str_eq(a->match_id_name, b->match_id_name) ||
	    !schema_str_eq(a->label_name, b->label_name) ||
	    !schema_str_eq(a->label_type, b->label_type) ||
	    !schema_str_eq(a->weight_name, b->weight_name) ||
	    !schema_str_eq(a->dtype, b->dtype) || a->n_features != b->n_features)
		return false;
	for (size_t i = 0; i < a->n_features; i++)
		if (strcmp(a->feature_names[i], b->feature_names[i]))
			return false;
	return true;
}

bool ff_schema_single_id(const struct ff_schema *s)
{
	return schema_str_eq(s->sample_id_name, s->match_id_name);
}

long ff_schema_feature_index(const struct ff_schema *s, const char *name)
{
	for (size_t i = 0; i < s->n_features; i++)
		if (!strcmp(s->feature_names[i], name))
			return (long)i;
	return -1;
}

/* json_object_set_new of a string or null; false on OOM. */
static bool schema_put(json_t *o, const char *key, const char *v)
{
	json_t *j = v ? json_string(v) : json_null();
	return j && !json_object_set_new(o, key, j);
}

json_t *ff_schema_to_json(const struct ff_schema *s)
{
	json_t *o = json_object();
	json_t *names = json_array();
	if (!o || !names)
		goto fail;
	if (!schema_put(o, "sample_id_name", s->sample_id_name) ||
	    !schema_put(o, "match_id_name", s->match_id_name) ||
	    !schema_put(o, "label_name", s->label_name) ||
	    !schema_put(o, "label_type", s->label_type) ||
	    !schema_put(o, "weight_name", s->weight_name) ||
	    !schema_put(o, "dtype", s->dtype))
		goto fail;
	for (size_t i = 0; i < s->n_features; i++) {
		json_t *n = json_string(s->feature_names[i]);
		if (!n || json_array_append_new(names, n))
			goto fail;
	}
	if (json_object_set_new(o, "feature_names", names)) {
		names = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(names);
	json_decref(o);
	return NULL;
}

/* Optional string member: FF_OK with *slot set (or NULL), FF_EINVAL on a wrong type. */
static int schema_get(const json_t *j, const char *key, bool required, char **slot,
		      struct ff_error *err)
{
	const json_t *v = json_object_get(j, key);
	if (!v || json_is_null(v)) {
		if (required)
			return ff_error_set(err, FF_EINVAL, "schema has no '%s'", key);
		return FF_OK;
	}
	if (!json_is_string(v))
		return ff_error_set(err, FF_EINVAL, "schema '%s' is not a string", key);
	return schema_dup(slot, json_string_value(v));
}

int ff_schema_from_json(struct ff_schema *s, const json_t *j, struct ff_error *err)
{
	int ret = FF_OK;
	ff_schema_release(s);
	if (!json_is_object(j))
		return ff_error_set(err, FF_EINVAL, "schema is not an object");
	if ((ret = schema_get(j, "sample_id_name", true, &s->sample_id_name, err)) ||
	    (ret = schema_get(j, "match_id_name", true, &s->match_id_name, err)) ||
	    (ret = schema_get(j, "label_name", false, &s->label_name, err)) ||
	    (ret = schema_get(j, "label_type", false, &s->label_type, err)) ||
	    (ret = schema_get(j, "weight_name", false, &s->weight_name, err)) ||
	    (ret = schema_get(j, "dtype", false, &s->dtype, err)))
		goto out;
	const json_t *names = json_object_get(j, "feature_names");
	if (!json_is_array(names)) {
		ret = ff_error_set(err, FF_EINVAL, "schema has no 'feature_names' array");
		goto out;
	}
	size_t i;
	const json_t *v;
	json_array_foreach(names, i, v) {
		if (!json_is_string(v)) {
			ret = ff_error_set(err, FF_EINVAL, "schema feature %zu is not a string", i);
			goto out;
		}
		if ((ret = ff_schema_add_feature(s, json_string_value(v))))
			goto out;
	}
	ret = ff_schema_validate(s, err);
out:
	if (ret)
		ff_schema_release(s);
	return ret;
}
