/* SPDX-License-Identifier: Apache-2.0 */
/*
 * banned.h - libc functions fedflow code must not call.
 *
 * Each has a bounded or reentrant replacement: ff_buf_addf/snprintf for
 * sprintf and strcat, memcpy with a checked length for strcpy, strtok_r,
 * ff_parse_int for atoi, gmtime_r/localtime_r. Using one is a compile error.
 * System headers are included first so their own declarations still parse.
 */
#ifndef FF_BANNED_H
#define FF_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FF_BANNED(func) sorry_##func##_is_banned_in_fedflow

#undef strcpy
#define strcpy(x, y) FF_BANNED(strcpy)
#undef strcat
#define strcat(x, y) FF_BANNED(strcat)
#undef sprintf
#define sprintf(...) FF_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) FF_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) FF_BANNED(strtok)
#undef atoi
#define atoi(x) FF_BANNED(atoi)
#undef gmtime
#define gmtime(x) FF_BANNED(gmtime)
#undef localtime
#define localtime(x) FF_BANNED(localtime)

#endif
