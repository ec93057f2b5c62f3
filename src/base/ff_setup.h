/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ff_setup.h - the first include of every fedflow .c file.
 *
 * It fixes the feature macros before any system header is read, pulls in
 * the few language headers every file needs, and bans the libc calls that
 * have safer replacements (banned.h). Nothing else belongs here.
 */
#ifndef FF_SETUP_H
#define FF_SETUP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <assert.h>

/* Statics that unit tests need to reach: static in normal builds. */
#ifdef FF_UNIT_TEST
#define FF_TESTABLE
#else
#define FF_TESTABLE static
#endif

/* Symbols libfedflow exports to components (everything else is hidden). */
#define FF_EXPORT __attribute__((visibility("default")))

#define FF_UNUSED __attribute__((unused))
#define FF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define FF_NORETURN __attribute__((noreturn))
#define FF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ff_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#include "banned.h"

#endif
