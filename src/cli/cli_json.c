// SPDX-License-Identifier: Apache-2.0
/*
 * cli_json.c - Python-compatible JSON writer (see cli_json.h).
 *
 * jansson's own dumper differs from Python in three visible ways: its
 * compact separators have no spaces, it prints reals with %.17g (0.1
 * becomes 0.10000000000000001) and its ASCII mode escapes differently.
 * This writer walks the tree itself and follows CPython's json encoder.
 */
#include "ff_setup.h"
#include <math.h>
#include "cli_json.h"
#include "err.h"

#define CLI_JSON_MAX_DEPTH 1000

void cli_json_real(double d, char *out, size_t n)
{
	char e[40];
	if (!isfinite(d)) {
		snprintf(out, n, "%s", isnan(d) ? "NaN" : (d < 0 ? "-Infinity" : "Infinity"));
		return;
	}
	/* Shortest digit string that reads back as d: what repr() prints. */
	for (int prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, d);
		if (strtod(e, NULL) == d)
			break;
	}
	/* e = [-]D[.DDD]e(+|-)XX */
	const char *p = e;
	bool neg = *p == '-';
	if (neg)
		p++;
	char dig[24];
	size_t nd = 0;
	for (; *p && *p != 'e'; p++)
		if (*p != '.' && nd < sizeof(dig) - 1)
			dig[nd++] = *p;
	dig[nd] = '\0';
	long ex = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
	while (nd > 1 && dig[nd - 1] == '0')
		dig[--nd] = '\0';

	size_t o = 0;
#define PUT(c) do { if (o + 1 < n) out[o++] = (c); } while (0)
	if (neg)
		PUT('-');
	if (ex < -4 || ex >= 16) {
		PUT(dig[0]);
		if (nd > 1) {
			PUT('.');
			for (size_t i = 1; i < nd; i++)
				PUT(dig[i]);
		}
		char xs[16];
		snprintf(xs, sizeof(xs), "e%c%02ld", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
		for (const char *q = xs; *q; q++)
			PUT(*q);
	} else if (ex < 0) {
		PUT('0');
		PUT('.');
		for (long i = -1; i > ex; i--)
			PUT('0');
		for (size_t i = 0; i < nd; i++)
			PUT(dig[i]);
	} else {
		size_t ip = (size_t)ex + 1;   /* digits before the point */
		for (size_t i = 0; i < ip; i++)
			PUT(i < nd ? dig[i] : '0');
		PUT('.');
		if (nd > ip) {
			for (size_t i = ip; i < nd; i++)
				PUT(dig[i]);
		} else {
			PUT('0');
		}
	}
#undef PUT
	out[o < n ? o : n - 1] = '\0';
}

/* Decodes one UTF-8 sequence at s[*i] (valid by jansson's contract). */
static unsigned long cli_utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned long c = s[*i];
	size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (*i + len > n)
		len = n - *i;
	if (len > 1)
		c &= 0xffu >> (len + 1);
	for (size_t k = 1; k < len; k++)
		c = (c << 6) | (s[*i + k] & 0x3fu);
	*i += len;
	return c;
}

static int cli_json_str(struct ff_buf *out, const char *str, size_t n, bool ascii)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	int ret = ff_buf_addch(out, '"');
	size_t i = 0;
	while (!ret && i < n) {
		size_t run = i;
		while (run < n && s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' &&
		       !(ascii && s[run] >= 0x7f))
			run++;
		if (run > i) {
			ret = ff_buf_add(out, str + i, run - i);
			i = run;
			continue;
		}
		char esc[16];
		unsigned long c = cli_utf8_next(s, n, &i);
		switch (c) {
		case '"': ret = ff_buf_addstr(out, "\\\""); continue;
		case '\\': ret = ff_buf_addstr(out, "\\\\"); continue;
		case '\n': ret = ff_buf_addstr(out, "\\n"); continue;
		case '\r': ret = ff_buf_addstr(out, "\\r"); continue;
		case '\t': ret = ff_buf_addstr(out, "\\t"); continue;
		case '\b': ret = ff_buf_addstr(out, "\\b"); continue;
		case '\f': ret = ff_buf_addstr(out, "\\f"); continue;
		default: break;
		}
		if (c >= 0x10000) {
			unsigned long v = c - 0x10000;
			unsigned long hi = 0xd800 + (v >> 10), lo = 0xdc00 + (v & 0x3ff);
			snprintf(esc, sizeof(esc), "\\u%c%c%c%c\\u%c%c%c%c",
				 hex[hi >> 12], hex[(hi >> 8) & 15], hex[(hi >> 4) & 15], hex[hi & 15],
				 hex[lo >> 12], hex[(lo >> 8) & 15], hex[(lo >> 4) & 15], hex[lo & 15]);
		} else {
			snprintf(esc, sizeof(esc), "\\u%c%c%c%c", hex[c >> 12], hex[(c >> 8) & 15],
				 hex[(c >> 4) & 15], hex[c & 15]);
		}
		ret = ff_buf_addstr(out, esc);
	}
	return ret ? ret : ff_buf_addch(out, '"');
}

static int cli_json_nl(struct ff_buf *out, int indent, int depth)
{
	int ret = ff_buf_addch(out, '\n');
	for (int i = 0; !ret && i < indent * depth; i++)
		ret = ff_buf_addch(out, ' ');
	return ret;
}

static int cli_json_val(struct ff_buf *out, const json_t *v, int indent, bool ascii, int depth);

static int cli_json_obj(struct ff_buf *out, const json_t *v, int indent, bool ascii, int depth)
{
	if (!json_object_size(v))
		return ff_buf_addstr(out, "{}");
	int ret = ff_buf_addch(out, '{');
	bool first = true;
	const char *k;
	json_t *m;
	json_object_foreach((json_t *)v, k, m) {
		if (!first)
			ret = ret ? ret : ff_buf_addstr(out, indent ? "," : ", ");
		first = false;
		if (indent)
			ret = ret ? ret : cli_json_nl(out, indent, depth + 1);
		ret = ret ? ret : cli_json_str(out, k, strlen(k), ascii);
		ret = ret ? ret : ff_buf_addstr(out, ": ");
		ret = ret ? ret : cli_json_val(out, m, indent, ascii, depth + 1);
		if (ret)
			return ret;
	}
	if (indent)
		ret = cli_json_nl(out, indent, depth);
	return ret ? ret : ff_buf_addch(out, '}');
}

static int cli_json_arr(struct ff_buf *out, const json_t *v, int indent, bool ascii, int depth)
{
	size_t n = json_array_size(v);
	if (!n)
		return ff_buf_addstr(out, "[]");
	int ret = ff_buf_addch(out, '[');
	for (size_t i = 0; i < n && !ret; i++) {
		if (i)
			ret = ff_buf_addstr(out, indent ? "," : ", ");
		if (indent)
			ret = ret ? ret : cli_json_nl(out, indent, depth + 1);
		ret = ret ? ret : cli_json_val(out, json_array_get(v, i), indent, ascii, depth + 1);
	}
	if (indent)
		ret = ret ? ret : cli_json_nl(out, indent, depth);
	return ret ? ret : ff_buf_addch(out, ']');
}

static int cli_json_val(struct ff_buf *out, const json_t *v, int indent, bool ascii, int depth)
{
	char num[40];
	if (depth > CLI_JSON_MAX_DEPTH)
		return FF_EINVAL;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return cli_json_obj(out, v, indent, ascii, depth);
	case JSON_ARRAY:
		return cli_json_arr(out, v, indent, ascii, depth);
	case JSON_STRING:
		return cli_json_str(out, json_string_value(v), json_string_length(v), ascii);
	case JSON_INTEGER:
		return ff_buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		cli_json_real(json_real_value(v), num, sizeof(num));
		return ff_buf_addstr(out, num);
	case JSON_TRUE:
		return ff_buf_addstr(out, "true");
	case JSON_FALSE:
		return ff_buf_addstr(out, "false");
	case JSON_NULL:
	default:
		return ff_buf_addstr(out, "null");
	}
}

int cli_json_dump(struct ff_buf *out, const json_t *v, int indent, bool ensure_ascii)
{
	if (!v)
		return ff_buf_addstr(out, "null");
	return cli_json_val(out, v, indent, ensure_ascii, 0);
}
