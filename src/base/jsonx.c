// SPDX-License-Identifier: Apache-2.0
/* jsonx.c - lenient jansson accessors, parse and dump helpers. */
#include "ff_setup.h"
#include <math.h>
#include <strings.h>
#include "jsonx.h"
#include "mem.h"
#include "yaml.h"

const char *jsonx_str(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int jsonx_scalar_text(const json_t *v, char *out, size_t n)
{
	int w;
	switch (json_typeof(v)) {
	case JSON_STRING:
		w = snprintf(out, n, "%s", json_string_value(v));
		break;
	case JSON_INTEGER:
		w = snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		w = snprintf(out, n, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		w = snprintf(out, n, "true");
		break;
	case JSON_FALSE:
		w = snprintf(out, n, "false");
		break;
	default:
		return FF_EINVAL;
	}
	return (w < 0 || (size_t)w >= n) ? FF_E2BIG : FF_OK;
}

bool jsonx_as_int(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d) || fabs(d) > 9.0e15)
			return false;
		*out = (long long)d;
		return true;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		long long r = strtoll(s, &end, 10);
		if (!*s || *end || errno)
			return false;
		*out = r;
		return true;
	}
	return false;
}

bool jsonx_as_double(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		double d = strtod(s, &end);
		if (!*s || *end || !isfinite(d))
			return false;
		*out = d;
		return true;
	}
	return false;
}

bool jsonx_text_bool(const char *s, bool *out)
{
	if (!s)
		return false;
	if (!strcasecmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return true;
	}
	return false;
}

bool jsonx_as_bool(const json_t *v, bool *out)
{
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return true;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = json_integer_value(v) == 1;
		return true;
	}
	if (json_is_string(v))
		return jsonx_text_bool(json_string_value(v), out);
	return false;
}

int jsonx_parse(const char *text, size_t len, json_t **out, struct ff_error *err)
{
	json_error_t je;
	*out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (*out)
		return FF_OK;
	return ff_error_set(err, FF_EINVAL, "malformed JSON at line %d, column %d: %s",
			    je.line, je.column, je.text);
}

int jsonx_load_any(const char *text, size_t len, json_t **out, struct ff_error *err)
{
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
		i++;
	if (i < len && (text[i] == '{' || text[i] == '[')) {
		json_error_t je;
		*out = json_loadb(text, len, 0, &je);
		if (*out)
			return FF_OK;
	}
	return yaml_load(text, len, out, err);
}

static int jsonx_dump_cb(const char *data, size_t n, void *arg)
{
	return ff_buf_add(arg, data, n) ? -1 : 0;
}

int jsonx_dump(const json_t *v, struct ff_buf *out)
{
	if (json_dump_callback(v, jsonx_dump_cb, out,
			       JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)))
		return FF_ENOMEM;
	return FF_OK;
}

char *jsonx_dumps(const json_t *v)
{
	struct ff_buf b = FF_BUF_INIT;
	if (jsonx_dump(v, &b))
		return NULL;
	return ff_buf_detach(&b, NULL);
}

json_t *jsonx_path(const json_t *root, const char *path)
{
	const json_t *cur = root;
	const char *p = path;
	char key[256];
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key) || !json_is_object(cur))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		cur = json_object_get(cur, key);
		p += n + (dot ? 1 : 0);
	}
	return (json_t *)cur;
}

const char *jsonx_type_name(const json_t *v)
{
	if (!v)
		return "missing";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}
