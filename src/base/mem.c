// SPDX-License-Identifier: Apache-2.0
/*
 * mem.c - counting allocation wrappers.
 *
 * Each block carries a 16-byte header with its size so ff_free can keep the
 * live-byte counter right without malloc_usable_size (which would make the
 * number depend on the allocator). 16 bytes keep max_align_t alignment.
 */
#include "ff_setup.h"
#include <stdarg.h>
#include <stdatomic.h>
#include "mem.h"

#define MEM_HDR 16

static atomic_size_t mem_used;
static atomic_ulong mem_fail_countdown;

static bool mem_should_fail(void)
{
	unsigned long n = atomic_load(&mem_fail_countdown);
	while (n) {
		if (atomic_compare_exchange_weak(&mem_fail_countdown, &n, n - 1))
			return n == 1;
	}
	return false;
}

void ff_mem_fail_after(unsigned long n)
{
	atomic_store(&mem_fail_countdown, n);
}

size_t ff_mem_used(void)
{
	return atomic_load(&mem_used);
}

void *ff_malloc(size_t n)
{
	size_t total;
	if (!ff_st_add(n, MEM_HDR, &total) || mem_should_fail())
		return NULL;
	char *p = malloc(total);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	atomic_fetch_add(&mem_used, n);
	return p + MEM_HDR;
}

void *ff_calloc(size_t nmemb, size_t size)
{
	size_t n;
	if (!ff_st_mult(nmemb, size, &n))
		return NULL;
	void *p = ff_malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *ff_realloc(void *p, size_t n)
{
	if (!p)
		return ff_malloc(n);
	size_t total, old;
	if (!ff_st_add(n, MEM_HDR, &total) || mem_should_fail())
		return NULL;
	char *base = (char *)p - MEM_HDR;
	memcpy(&old, base, sizeof(old));
	char *q = realloc(base, total);
	if (!q)
		return NULL;
	memcpy(q, &n, sizeof(n));
	atomic_fetch_add(&mem_used, n);
	atomic_fetch_sub(&mem_used, old);
	return q + MEM_HDR;
}

void ff_free(void *p)
{
	if (!p)
		return;
	char *base = (char *)p - MEM_HDR;
	size_t n;
	memcpy(&n, base, sizeof(n));
	atomic_fetch_sub(&mem_used, n);
	free(base);
}

char *ff_strndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	size_t len = strnlen(s, n);
	char *d = ff_malloc(len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *ff_strdup(const char *s)
{
	return s ? ff_strndup(s, strlen(s)) : NULL;
}

char *ff_asprintf(const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = NULL;
	if (n >= 0 && (s = ff_malloc((size_t)n + 1)))
		vsnprintf(s, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return s;
}
