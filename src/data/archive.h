/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archive.h - tar, tar.gz and zip files for downloads, model packages and
 * model export/import (libarchive underneath).
 *
 * Writing: open a writer on a descriptor or a path, add entries (bytes in
 * memory, a file, a directory tree, or an entry of known size written in
 * pieces), close. Entries are regular files (0644) and directories (0755)
 * with the current time; tar entries use the ustar layout and get a pax
 * header only when ustar cannot hold them (names over 255 bytes, sizes
 * over 8 GiB). gzip runs at level 1: downloads are built while a client
 * waits, and CSV compresses well even at that level.
 *
 * Reading: archive_walk visits the regular files of a tar, tar.gz or zip
 * file in order. Archives come from users (model import), so every name is
 * checked before a caller sees it: relative, no "." or ".." component, no
 * empty component, no NUL or control character; symbolic links, hard
 * links and device entries are refused (FF_EDATA) and directories are
 * skipped. archive_unpack extracts a whole archive below a directory with
 * the same checks.
 *
 * Errors: FF_OK or a negative enum ff_err; FF_EDATA for a malformed or
 * refused archive, -errno for system failures, FF_ENOMEM; err names the
 * archive or the entry. Memory: a writer or reader holds one libarchive
 * buffer (about 64 KiB) whatever the archive size. Not thread-safe per
 * object; independent objects may be used from different threads.
 */
#ifndef FF_ARCHIVE_H
#define FF_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

enum archive_kind {
	ARCHIVE_KIND_TAR,   /* plain tar (model packages: application/x-tar) */
	ARCHIVE_KIND_TGZ,   /* tar + gzip (downloads: application/gzip) */
	ARCHIVE_KIND_ZIP,   /* zip, deflate (model export) */
};

struct archive_out;

/*
 * Starts an archive written to fd (borrowed: not closed by the writer) or
 * to a new file at path (created or truncated, closed by archive_out_close).
 * *out is owned: free with archive_out_free.
 */
int archive_out_open_fd(struct archive_out **out, int fd, enum archive_kind kind,
			struct ff_error *err);
int archive_out_open_path(struct archive_out **out, const char *path, enum archive_kind kind,
			  struct ff_error *err);
/* Adds a regular file holding data[0..n). name is the entry path. */
int archive_out_add_bytes(struct archive_out *a, const char *name, const void *data, size_t n,
			  struct ff_error *err);
/* Adds the regular file at path (streamed) under name. */
int archive_out_add_file(struct archive_out *a, const char *name, const char *path,
			 struct ff_error *err);
/*
 * Adds every regular file and directory below dir, named prefix/<relative
 * path> (prefix NULL or "" = relative paths only). Symbolic links and
 * special files below dir are refused.
 */
int archive_out_add_tree(struct archive_out *a, const char *prefix, const char *dir,
			 struct ff_error *err);
/*
 * Adds a regular file of exactly size bytes whose data follows through
 * archive_out_write calls (a shorter or longer total is FF_EDATA at the
 * next begin or at close).
 */
int archive_out_begin(struct archive_out *a, const char *name, uint64_t size,
		      struct ff_error *err);
int archive_out_write(struct archive_out *a, const void *data, size_t n, struct ff_error *err);
/* Writes the trailer and flushes; the archive is complete after FF_OK. */
int archive_out_close(struct archive_out *a, struct ff_error *err);
/* Frees a (a writer that was not closed leaves an incomplete archive). */
void archive_out_free(struct archive_out *a);

/* ---- reading ---- */

struct archive_in;

/*
 * Called for each regular file: name is the checked entry path (borrowed,
 * valid during the call), size its size from the header. The callback may
 * read the data with archive_in_read / archive_in_to_file / archive_in_to_buf
 * or leave it. Return FF_OK to go on; anything else stops the walk and is
 * returned.
 */
typedef int (*archive_visit_fn)(void *arg, const char *name, uint64_t size,
				struct archive_in *in);

/* Visits the regular files of the archive at path (tar, tar.gz or zip). */
int archive_walk(const char *path, archive_visit_fn fn, void *arg, struct ff_error *err);
/* Reads up to n bytes of the current entry; *got = 0 at its end. */
int archive_in_read(struct archive_in *in, void *buf, size_t n, size_t *got,
		    struct ff_error *err);
/* Writes the current entry to a new file at path (parents are created). */
int archive_in_to_file(struct archive_in *in, const char *path, struct ff_error *err);
/* Appends the current entry to out (bounded by out->max: FF_E2BIG). */
int archive_in_to_buf(struct archive_in *in, struct ff_buf *out, struct ff_error *err);
/*
 * Extracts every regular file of the archive at path below dest (created
 * if missing); *nfiles (may be NULL) gets the number of files.
 */
int archive_unpack(const char *path, const char *dest, size_t *nfiles, struct ff_error *err);
/* True when name is a safe relative entry path (see the file comment). */
bool archive_name_ok(const char *name);

#endif
