/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h - struct ff_buf, fedflow's one growable byte buffer.
 *
 * Invariants (after FF_BUF_INIT or ff_buf_init):
 *  - buf is never NULL; it points at a shared empty string until the first
 *    append, and is always NUL-terminated at buf[len];
 *  - len never exceeds max, the mandatory size cap set at init. An append
 *    that would pass the cap fails with FF_E2BIG; any failed append
 *    releases the buffer (len 0) and returns the error, so a half-built
 *    value can never be mistaken for a whole one;
 *  - the buffer owns its memory: ff_buf_release frees it and re-inits,
 *    ff_buf_detach hands the string to the caller (free with ff_free).
 * Not thread-safe; one owner at a time.
 */
#ifndef FF_BUF_H
#define FF_BUF_H

#include <stddef.h>
#include <stdarg.h>

extern char ff_buf_slop[1];

struct ff_buf {
	char *buf;
	size_t len;
	size_t alloc;  /* 0 while buf == ff_buf_slop */
	size_t max;    /* cap on len */
};

#define FF_BUF_MAX_DEFAULT ((size_t)64 << 20)
#define FF_BUF_INIT_MAX(m) { .buf = ff_buf_slop, .len = 0, .alloc = 0, .max = (m) }
#define FF_BUF_INIT FF_BUF_INIT_MAX(FF_BUF_MAX_DEFAULT)

void ff_buf_init(struct ff_buf *b, size_t max);
/* Frees the memory and re-inits with the same cap. */
void ff_buf_release(struct ff_buf *b);
/* Empties without freeing. */
void ff_buf_reset(struct ff_buf *b);
/* Returns the owned string (never NULL unless OOM) and re-inits b. */
char *ff_buf_detach(struct ff_buf *b, size_t *len);
/* Ensures room for extra more bytes. */
int ff_buf_grow(struct ff_buf *b, size_t extra);
int ff_buf_add(struct ff_buf *b, const void *data, size_t n);
int ff_buf_addstr(struct ff_buf *b, const char *s);
int ff_buf_addch(struct ff_buf *b, char c);
int ff_buf_addf(struct ff_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ff_buf_vaddf(struct ff_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Shortens to len (len <= b->len). */
void ff_buf_setlen(struct ff_buf *b, size_t len);

#endif
