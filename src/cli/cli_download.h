/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_download.h - download commands: fetch an answer that is either JSON
 * or a tar archive, and extract archives into a client directory.
 *
 * Follows FATE-Client's download_from_request: Content-Type
 * application/json is an answer to print (exit by its code);
 * application/gzip (tar.gz) and application/x-tar are extracted into the
 * target directory, which is created. Where FATE silently "succeeds" on
 * any other type, fedflow still extracts the body when it is a tar or
 * tar.gz, prints it when it is JSON, and otherwise fails with exit 2.
 *
 * Extraction is defensive: only regular files and directories are
 * written, entry names must be relative and free of "..", and other entry
 * types (links, devices) are skipped with a warning on stderr.
 */
#ifndef FF_CLI_DOWNLOAD_H
#define FF_CLI_DOWNLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include "cli_util.h"
#include "err.h"

/*
 * Sends METHOD <server>/v2/<path>[?query] (POST bodies as JSON, body may
 * be NULL for GET), then handles the answer as described above with dir
 * as the target directory (borrowed). Prints the outcome on stdout,
 * {"code": 0, "directory": dir, "message": "download success, ..."} on
 * success, and returns the exit code.
 */
int cli_download(struct cli *c, const char *method, const char *path, const char *query,
		 const json_t *body, const char *dir);

/*
 * Extracts the tar / tar.gz read from fd (from its start) into dir,
 * creating dir when the first entry is read. *not_archive is set when the
 * data is not a recognisable archive (nothing was written then).
 */
int cli_extract_fd(int fd, const char *dir, bool *not_archive, struct ff_error *err);

#endif
