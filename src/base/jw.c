// SPDX-License-Identifier: Apache-2.0
/* jw.c - streaming JSON writer. */
#include "ff_setup.h"
#include <math.h>
#include "jw.h"
#include "err.h"

void jw_init(struct jw *w, struct ff_buf *out)
{
	w->out = out;
	w->err = FF_OK;
	w->depth = 0;
	w->first[0] = true;
	w->after_key = false;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (!w->err)
		w->err = ff_buf_add(w->out, s, n);
}

/* Emits the separator that must precede a value or key at this level. */
static void jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		jw_put(w, ",", 1);
	w->first[w->depth] = false;
}

static void jw_open(struct jw *w, char c)
{
	jw_sep(w);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->err = FF_E2BIG;
		return;
	}
	jw_put(w, &c, 1);
	w->depth++;
	w->first[w->depth] = true;
	w->closer[w->depth] = c == '{' ? '}' : ']';
}

void jw_obj(struct jw *w)
{
	jw_open(w, '{');
}

void jw_arr(struct jw *w)
{
	jw_open(w, '[');
}

void jw_end(struct jw *w)
{
	if (w->depth <= 0) {
		if (!w->err)
			w->err = FF_EINVAL;
		return;
	}
	jw_put(w, &w->closer[w->depth], 1);
	w->depth--;
}

int jw_escape(struct ff_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;
	int ret = FF_OK;
	for (size_t i = 0; i < n && !ret; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ret = ff_buf_add(out, s + start, i - start);
		if (ret)
			break;
		char esc[7] = { '\\', 0 };
		size_t el = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		ret = ff_buf_add(out, esc, el);
		start = i + 1;
	}
	if (!ret)
		ret = ff_buf_add(out, s + start, n - start);
	return ret;
}

void jw_key(struct jw *w, const char *key)
{
	jw_sep(w);
	jw_put(w, "\"", 1);
	if (!w->err)
		w->err = jw_escape(w->out, key, strlen(key));
	jw_put(w, "\":", 2);
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	jw_put(w, "\"", 1);
	if (!w->err)
		w->err = jw_escape(w->out, s, n);
	jw_put(w, "\"", 1);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	jw_sep(w);
	jw_put(w, tmp, (size_t)n);
}

void jw_double(struct jw *w, double v)
{
	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	/* keep it a JSON number that reads back as a real */
	bool has = strpbrk(tmp, ".eE") != NULL;
	jw_sep(w);
	jw_put(w, tmp, (size_t)n);
	if (!has)
		jw_put(w, ".0", 2);
}

void jw_bool(struct jw *w, bool v)
{
	jw_sep(w);
	if (v)
		jw_put(w, "true", 4);
	else
		jw_put(w, "false", 5);
}

void jw_null(struct jw *w)
{
	jw_sep(w);
	jw_put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
	if (!json || !n) {
		jw_null(w);
		return;
	}
	jw_sep(w);
	jw_put(w, json, n);
}

int jw_finish(struct jw *w)
{
	if (!w->err && w->depth != 0)
		w->err = FF_EINVAL;
	return w->err;
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, long long v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}
