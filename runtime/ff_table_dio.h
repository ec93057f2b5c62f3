/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ff_table_dio.h - direct output of partition files (ff_table_dio.c): the
 * table writer appends bytes, which are written from aligned staging
 * buffers with asynchronous O_DIRECT writes, outside the page cache.
 *
 * Use: ff__dio_create once; per file ff__dio_begin, ff__dio_write..., then
 * ff__dio_finish; ff__dio_drain before the files are fsync'ed; ff__dio_free.
 * Files are written one at a time, from offset 0. A failed write is
 * returned (code and message in err) by the caller's next call.
 * One caller thread at a time; memory is fixed at create (8 MiB).
 */
#ifndef FF_TABLE_DIO_H
#define FF_TABLE_DIO_H

#include <stddef.h>
#include "err.h"

struct ff__dio;

/* The buffers and the AIO context; *out owned, free with ff__dio_free. */
int ff__dio_create(struct ff__dio **out, struct ff_error *err);
/*
 * Starts a file: fd (opened for writing, preferably O_DIRECT, empty) is
 * owned from here on; path only names it in messages (copied). FF_ENOMEM
 * leaves fd with the caller. The file's first `cached` bytes (its first
 * 4 KiB at least, its first 2 MiB buffer at most) and its last unit end up
 * in the page cache too, for a reader that comes right after.
 */
int ff__dio_begin(struct ff__dio *d, int fd, const char *path, size_t cached);
/* Appends n bytes of p to the current file (copied; may wait for the disk). */
int ff__dio_write(struct ff__dio *d, const void *p, size_t n, struct ff_error *err);
/* Ends the current file: its rest is written, its size cut exactly, fd closed. */
int ff__dio_finish(struct ff__dio *d, struct ff_error *err);
/* Waits until every finished file is written and closed; the first error. */
int ff__dio_drain(struct ff__dio *d, struct ff_error *err);
/* Waits for the writes in flight, closes an unfinished file, frees d. NULL ok. */
void ff__dio_free(struct ff__dio *d);

#endif
