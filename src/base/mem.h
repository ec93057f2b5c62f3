/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mem.h - fedflow's allocation wrappers and checked size arithmetic.
 *
 * All fedflow allocation goes through ff_malloc/ff_calloc/ff_realloc/ff_free.
 * They count live bytes (ff_mem_used) and let tests fail the Nth allocation
 * (ff_mem_fail_after) to prove that out-of-memory is an error, not a crash.
 * A failed allocation returns NULL; callers turn that into FF_ENOMEM.
 * Thread-safe.
 */
#ifndef FF_MEM_H
#define FF_MEM_H

#include <stddef.h>
#include <stdbool.h>

void *ff_malloc(size_t n);
void *ff_calloc(size_t nmemb, size_t size);
/* Like realloc; on failure the old block is untouched and NULL returned. */
void *ff_realloc(void *p, size_t n);
void ff_free(void *p);
/* Returns an owned copy of s (free with ff_free), NULL on OOM or s NULL. */
char *ff_strdup(const char *s);
/* Copy of at most n bytes of s, always NUL-terminated. */
char *ff_strndup(const char *s, size_t n);
/* Owned printf-style string, NULL on OOM. */
char *ff_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Live bytes allocated through the wrappers. */
size_t ff_mem_used(void);
/* Test hook: allocation number n from now fails (0 = never fail). */
void ff_mem_fail_after(unsigned long n);

/* Checked arithmetic: false (and *out untouched) on overflow. */
static inline bool ff_st_add(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool ff_st_mult(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* Allocates an array of n elements for x (NULL on OOM or overflow). */
#define FF_ALLOC_ARRAY(x, n) ((x) = ff_calloc((n) ? (n) : 1, sizeof(*(x))))
#define FF_FREE_AND_NULL(p) do { ff_free(p); (p) = NULL; } while (0)

#endif
