/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_form.h - multipart/form-data request bodies (RFC 7578), parsed as
 * they stream in: text fields are kept in memory, file parts go straight
 * to temporary files, so a 1 GB upload costs a few kilobytes of memory.
 *
 * A part is a file when its Content-Disposition has a filename parameter
 * (FATE's client sends `file` that way, without a part Content-Type);
 * every other part is a text field. Header parameters are read as
 * urllib3/requests and curl write them: quoted strings with backslash
 * escapes, or bare tokens.
 *
 * Use from an HTTP_RT_STREAM route:
 *
 *   static int on_chunk(struct http_req *r, const char *d, size_t n)
 *   { return http_form_chunk(r, d, n, temp_dir); }
 *   static void handler(struct http_req *r) {
 *       struct ff_error err = FF_ERROR_INIT;
 *       struct http_form *f = http_form_get(r, &err);   // NULL: err says why
 *       const char *v = http_form_field(f, "model_id");
 *       const struct http_form_file *file = http_form_file(f, "file");
 *       char *path = http_form_take_file(f, "file");    // now yours to delete
 *   }
 *
 * The form belongs to the request (freed with it, through the request's
 * user slot, which it therefore occupies); temporary files that were not
 * taken are deleted then. A parse error does not stop the transfer: the
 * rest of the body is read and dropped and http_form_get reports the first
 * error, so the client gets a JSON answer instead of a reset connection.
 *
 * Limits (HTTP_FORM_*): 64 parts, 1 MiB per text field, 8 KiB of part
 * headers, boundaries up to 200 bytes. Files have no size limit here.
 * Not thread-safe; a request is handled by one thread at a time.
 */
#ifndef FF_HTTP_FORM_H
#define FF_HTTP_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct http_req;
struct http_form;

#define HTTP_FORM_PARTS_MAX 64
#define HTTP_FORM_FIELD_MAX ((size_t)1 << 20)
#define HTTP_FORM_HEADER_MAX ((size_t)8 << 10)
#define HTTP_FORM_BOUNDARY_MAX 200

struct http_form_file {
	char *name;          /* form field name */
	char *filename;      /* as the client sent it (never used as a path) */
	char *path;          /* the temporary file; NULL once taken */
	uint64_t size;
};

/*
 * Starts a parser for a body of the given Content-Type (which must be
 * multipart/form-data with a boundary: FF_EPARAM otherwise). File parts are
 * written below temp_dir (copied). *out is owned: free with http_form_free.
 */
int http_form_new(struct http_form **out, const char *content_type, const char *temp_dir,
		  struct ff_error *err);
/* Feeds body bytes; the first error is returned and kept (later feeds fail). */
int http_form_feed(struct http_form *f, const char *data, size_t n, struct ff_error *err);
/* Checks that the closing boundary was seen (call once the body ended). */
int http_form_end(struct http_form *f, struct ff_error *err);
/* Text field value (NUL-terminated, borrowed) or NULL. Later parts win. */
const char *http_form_field(const struct http_form *f, const char *name);
/* File part by field name (borrowed) or NULL. */
const struct http_form_file *http_form_file(const struct http_form *f, const char *name);
/*
 * Hands the temporary file of part `name` to the caller (returns the owned
 * path, free with ff_free; the caller deletes the file). NULL if absent.
 */
char *http_form_take_file(struct http_form *f, const char *name);
/* Closes and deletes every temporary file not taken, frees f. NULL is fine. */
void http_form_free(struct http_form *f);

/* Deletes every temporary file of f that was not taken, now. */
void http_form_discard(struct http_form *f);

/*
 * HTTP_RT_STREAM glue: the on_chunk body of a route. Creates the form on
 * the first chunk (from the request's Content-Type) and stores it in the
 * request's user slot. Always returns FF_OK (errors are kept for
 * http_form_get).
 */
int http_form_chunk(struct http_req *r, const char *data, size_t n, const char *temp_dir);
/*
 * The request's complete form, or NULL with err set: FF_ENOFILE (5007) when
 * no multipart body was sent, the first parse error otherwise.
 */
struct http_form *http_form_get(struct http_req *r, struct ff_error *err);
/*
 * Deletes the request's temporary files now (handlers call it before they
 * answer, so a client never sees them after the answer). No-op without a
 * form.
 */
void http_form_discard_req(struct http_req *r);

#endif
