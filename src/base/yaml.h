/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yaml.h - YAML 1.2 documents as jansson values.
 *
 * DAGs and config files are YAML (JSON is a subset and loads the same
 * way). Plain scalars resolve with the YAML 1.2 core schema (null, bool,
 * int, float, else string); quoted scalars are always strings; anchors and
 * aliases are resolved; duplicate keys and non-scalar keys are errors.
 */
#ifndef FF_YAML_H
#define FF_YAML_H

#include <jansson.h>
#include "err.h"

/*
 * Parses one YAML document from text[0..len). On success *out holds a new
 * reference (json_decref it). On failure returns FF_EINVAL with the line
 * and column in err ("malformed YAML at line 3, column 5: ...").
 */
int yaml_load(const char *text, size_t len, json_t **out, struct ff_error *err);

#endif
