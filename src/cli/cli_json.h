/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_json.h - JSON text exactly as Python's json.dumps writes it.
 *
 * FATE's client sends bodies made by json.dumps(obj) (", " and ": "
 * separators, non-ASCII escaped as \uXXXX) and prints answers with
 * json.dumps(obj, indent=4, ensure_ascii=False). fedflow produces the same
 * bytes, so a server sees the wire format it was written against and a
 * script that diffs `flow` output sees no difference. Floats use Python's
 * repr (shortest round-trip digits, "1.0", "1e-05", "1e+16").
 */
#ifndef FF_CLI_JSON_H
#define FF_CLI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include "buf.h"

/*
 * Appends v to out. indent > 0 gives json.dumps(v, indent=indent), 0 the
 * one-line form. ensure_ascii escapes every non-ASCII character (UTF-8 in
 * jansson strings is valid by construction). Returns FF_OK, FF_ENOMEM /
 * FF_E2BIG from the buffer, or FF_EINVAL for nesting deeper than 1000.
 */
int cli_json_dump(struct ff_buf *out, const json_t *v, int indent, bool ensure_ascii);

/* Python repr() of a finite double ("0.1", "1e+16", "-0.0"); out >= 32 bytes. */
void cli_json_real(double d, char *out, size_t n);

#endif
