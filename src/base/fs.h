/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs.h - file and path helpers.
 *
 * State files are written as "<path>.tmp.<pid>" then rename()d into place,
 * so a reader sees the old or the new content, never half of it. Names
 * that come from users (namespaces, table names, task names) are checked
 * with fs_name_ok before they become path components.
 */
#ifndef FF_FS_H
#define FF_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "err.h"

/* mkdir -p; existing directories are fine. */
int fs_mkdirs(const char *path, mode_t mode, struct ff_error *err);
/*
 * Marks (top) or unmarks a directory as the top of directory hierarchies
 * for the filesystem's inode allocator (ext2/3/4's 'T' attribute, chattr
 * +T): new subdirectories of a top directory are spread over block groups
 * with free inodes instead of being packed into the group of the parent.
 * Best effort: false where the filesystem has no such attribute.
 */
bool fs_set_topdir(const char *path, bool top);
/*
 * mkdir of one new folder spread like a child of a top directory (see
 * fs_set_topdir): the parent is marked for the call if it was not. For a
 * folder that will hold many files of its own, which go into its group.
 * An existing folder is fine and stays where it is.
 */
int fs_mkdir_spread(const char *path, mode_t mode, struct ff_error *err);
/*
 * Writes data atomically (temp file + rename): a reader sees the old or the
 * new content, also after the writer is killed. No fsync: a power loss may
 * lose the latest write (callers that need that call fsync themselves).
 */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    struct ff_error *err);
/* write() until all len bytes are out (EINTR retried): FF_OK, or the
 * error as an FF code with errno set. */
int fs_write_all(int fd, const void *data, size_t len);
/* Writes data to path directly (no temp file): for files nobody reads yet. */
int fs_write_file(const char *path, const void *data, size_t len, struct ff_error *err);
/* Appends the whole file to out (bounded by out->max). */
int fs_read_file(const char *path, struct ff_buf *out, struct ff_error *err);
/* rm -rf; a missing path is success. Does not follow symlinks. */
int fs_rm_rf(const char *path);
/* Copies a directory tree (regular files and directories only). */
int fs_copy_tree(const char *src, const char *dst, struct ff_error *err);
/*
 * Calls fn(arg, path, rest) for each entry of dir whose name starts with
 * prefix (path is dir/name, rest the name after prefix), until fn returns
 * non-zero, and returns that (FF_ENOMEM when a path cannot be made). A
 * missing dir has no entries. For the flat folders whose entries are
 * named after their job ("<job>_...").
 */
int fs_each_prefixed(const char *dir, const char *prefix,
		     int (*fn)(void *arg, const char *path, const char *rest), void *arg);
bool fs_exists(const char *path);
bool fs_is_dir(const char *path);
/*
 * True when name is safe as one path component: 1..max_len bytes, no '/',
 * no NUL, no control characters, not "." or "..", not starting with '.'.
 */
bool fs_name_ok(const char *name, size_t max_len);
/* Absolute, normalised form of path (need not exist). Owned string. */
char *fs_abspath(const char *path);
/* Directory holding the running executable (owned), NULL on failure. */
char *fs_self_dir(void);

#endif
