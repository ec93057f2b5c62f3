/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonx.h - helpers around jansson for lenient, checked field access.
 *
 * FATE clients are loose with types (party_id: 9999 from unquoted YAML,
 * display=True in a query string), so accessors accept the obvious
 * spellings and say no to anything else. None of them take ownership.
 */
#ifndef FF_JSONX_H
#define FF_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include "buf.h"
#include "err.h"

/* String member or NULL (missing, null or not a string). */
const char *jsonx_str(const json_t *obj, const char *key);
/*
 * Scalar as text into out[n]: strings as-is, integers in decimal, reals
 * with %.17g, booleans "true"/"false". FF_EINVAL for null/arrays/objects,
 * FF_E2BIG when it does not fit.
 */
int jsonx_scalar_text(const json_t *v, char *out, size_t n);
/* Integer from an integer, an integral real or a decimal string. */
bool jsonx_as_int(const json_t *v, long long *out);
/* Number from an integer, real or numeric string. */
bool jsonx_as_double(const json_t *v, double *out);
/* Bool from true/false, 0/1, "true"/"True"/"1"/"false"/"False"/"0". */
bool jsonx_as_bool(const json_t *v, bool *out);
/* Bool text as in jsonx_as_bool; false for anything else. */
bool jsonx_text_bool(const char *s, bool *out);

/* Parses JSON with the error position in err. *out is a new reference. */
int jsonx_parse(const char *text, size_t len, json_t **out, struct ff_error *err);
/* JSON if it parses as JSON, else YAML (DAG files come in both). */
int jsonx_load_any(const char *text, size_t len, json_t **out, struct ff_error *err);
/* Appends compact JSON of v to out. */
int jsonx_dump(const json_t *v, struct ff_buf *out);
/* Owned compact JSON string (free with ff_free), NULL on OOM. */
char *jsonx_dumps(const json_t *v);
/* Deep member lookup by a dotted path ("conf.task.provider"); borrowed. */
json_t *jsonx_path(const json_t *root, const char *path);
/* Type name for messages: "object", "array", "string", "integer" ... */
const char *jsonx_type_name(const json_t *v);

#endif
