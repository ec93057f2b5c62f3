/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_mime.h - multipart/form-data uploads laid out as FATE's client sends
 * them (`data upload-file`, `model import`).
 *
 * requests/urllib3 write every text part as
 *   --B\r\nContent-Disposition: form-data; name="k"\r\n\r\nvalue\r\n
 * and the file part with a filename and no part Content-Type, then
 * "--B--\r\n", with a 32-hex-digit boundary and a Content-Length (never
 * chunked). fedflow writes the same bytes; libcurl's curl_mime would add a
 * part Content-Type for some file names, so the body is produced here and
 * the file is streamed from disk instead of being loaded into memory.
 *
 * Usage: cli_mime_init, cli_mime_field..., cli_mime_file (last, optional),
 * cli_mime_post, cli_mime_release. Not thread-safe.
 */
#ifndef FF_CLI_MIME_H
#define FF_CLI_MIME_H

#include <jansson.h>
#include <stdint.h>
#include "buf.h"
#include "cli_util.h"
#include "err.h"

struct cli_mime {
	char boundary[33];
	struct ff_buf head;   /* all text parts, then the file part's header */
	char tail[48];        /* closing delimiter */
	int fd;               /* file part contents (owned), -1 when none */
	uint64_t fsize;
};

void cli_mime_init(struct cli_mime *m);
void cli_mime_release(struct cli_mime *m);
/* Adds a text part (value borrowed, copied). FF_EINVAL after cli_mime_file. */
int cli_mime_field(struct cli_mime *m, const char *name, const char *value);
/*
 * Adds the file part: opens path (borrowed), filename = its basename.
 * FF_ENOENT/FF_EIO with err when it cannot be opened or is not a file.
 */
int cli_mime_file(struct cli_mime *m, const char *name, const char *path,
		  struct ff_error *err);
/* POSTs the form to <server>/v2/<path>; same results as cli_call. */
int cli_mime_post(struct cli *c, const char *path, struct cli_mime *m, json_t **answer,
		  long *status, struct ff_error *err);

#endif
