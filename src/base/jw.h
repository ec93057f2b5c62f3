/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jw.h - streaming JSON writer into a struct ff_buf.
 *
 * Used where output speed matters (API answers built from database rows):
 * no intermediate tree, commas handled by a small nesting stack, raw JSON
 * text from a column can be spliced in with jw_raw. Errors are sticky: the
 * first failed append sets w->err and later calls do nothing, so callers
 * check once at the end with jw_finish.
 *
 *   struct jw w; jw_init(&w, &buf);
 *   jw_obj(&w); jw_key(&w, "code"); jw_int(&w, 0); jw_end(&w);
 *   ret = jw_finish(&w);
 */
#ifndef FF_JW_H
#define FF_JW_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"

#define JW_MAX_DEPTH 64

struct jw {
	struct ff_buf *out;        /* borrowed */
	int err;
	int depth;
	bool first[JW_MAX_DEPTH];  /* no element written yet at this level */
	char closer[JW_MAX_DEPTH]; /* '}' or ']' for each open level */
	bool after_key;
};

void jw_init(struct jw *w, struct ff_buf *out);
void jw_obj(struct jw *w);
void jw_arr(struct jw *w);
/* Closes the innermost object or array. */
void jw_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);           /* NULL -> null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, long long v);
void jw_double(struct jw *w, double v);              /* non-finite -> null */
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Splices already-valid JSON text (NULL or empty -> null). */
void jw_raw(struct jw *w, const char *json, size_t n);
/* Escapes s as a JSON string body (no quotes) onto out. */
int jw_escape(struct ff_buf *out, const char *s, size_t n);
/* FF_OK or the first error; also checks that all levels were closed. */
int jw_finish(struct jw *w);

/* key + value shortcuts */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, long long v);
void jw_kbool(struct jw *w, const char *key, bool v);

#endif
