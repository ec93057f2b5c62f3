// SPDX-License-Identifier: Apache-2.0
/* buf.c - growable, capped, always NUL-terminated buffer. */
#include "ff_setup.h"
#include "buf.h"
#include "err.h"
#include "mem.h"

char ff_buf_slop[1];

void ff_buf_init(struct ff_buf *b, size_t max)
{
	b->buf = ff_buf_slop;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void ff_buf_release(struct ff_buf *b)
{
	if (b->alloc)
		ff_free(b->buf);
	ff_buf_init(b, b->max);
}

void ff_buf_reset(struct ff_buf *b)
{
	ff_buf_setlen(b, 0);
}

void ff_buf_setlen(struct ff_buf *b, size_t len)
{
	if (len > b->len)
		return;
	b->len = len;
	if (b->alloc)
		b->buf[len] = '\0';
}

char *ff_buf_detach(struct ff_buf *b, size_t *len)
{
	char *s;
	if (len)
		*len = b->len;
	if (b->alloc)
		s = b->buf;
	else
		s = ff_strdup("");
	ff_buf_init(b, b->max);
	return s;
}

int ff_buf_grow(struct ff_buf *b, size_t extra)
{
	size_t need;
	if (!ff_st_add(b->len, extra, &need) || need > b->max) {
		ff_buf_release(b);
		return FF_E2BIG;
	}
	if (need + 1 <= b->alloc)
		return FF_OK;
	size_t nalloc = b->alloc ? b->alloc : 64;
	while (nalloc < need + 1) {
		if (!ff_st_mult(nalloc, 2, &nalloc)) {
			nalloc = need + 1;
			break;
		}
	}
	if (nalloc > b->max + 1)
		nalloc = b->max + 1;
	char *nb = ff_realloc(b->alloc ? b->buf : NULL, nalloc);
	if (!nb) {
		ff_buf_release(b);
		return FF_ENOMEM;
	}
	if (!b->alloc)
		nb[0] = '\0';
	b->buf = nb;
	b->alloc = nalloc;
	return FF_OK;
}

int ff_buf_add(struct ff_buf *b, const void *data, size_t n)
{
	int ret = ff_buf_grow(b, n);
	if (ret)
		return ret;
	if (n)
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return FF_OK;
}

int ff_buf_addstr(struct ff_buf *b, const char *s)
{
	return ff_buf_add(b, s, strlen(s));
}

int ff_buf_addch(struct ff_buf *b, char c)
{
	return ff_buf_add(b, &c, 1);
}

int ff_buf_vaddf(struct ff_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	size_t room = b->alloc ? b->alloc - b->len : 0;
	int n = vsnprintf(room ? b->buf + b->len : NULL, room, fmt, cp);
	va_end(cp);
	if (n < 0) {
		ff_buf_release(b);
		return FF_EINVAL;
	}
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return FF_OK;
	}
	int ret = ff_buf_grow(b, (size_t)n);
	if (ret)
		return ret;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return FF_OK;
}

int ff_buf_addf(struct ff_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = ff_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return ret;
}
