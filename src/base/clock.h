/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h - wall and monotonic time, and FATE-style identifiers.
 *
 * Database timestamps are epoch milliseconds (FATE's convention); timers
 * and durations use CLOCK_MONOTONIC and never go backwards.
 */
#ifndef FF_CLOCK_H
#define FF_CLOCK_H

#include <stdint.h>
#include <stddef.h>

/* Epoch milliseconds (CLOCK_REALTIME). */
int64_t clock_now_ms(void);
/* Monotonic nanoseconds / milliseconds. */
int64_t clock_mono_ns(void);
int64_t clock_mono_ms(void);

/*
 * FATE's 21-digit job id: local time YYYYMMDDHHMMSSffffff plus one counter
 * digit. Ids from one process are strictly increasing (a microsecond that
 * was already used is bumped), so two submits never share an id.
 * out must hold at least 32 bytes. Thread-safe.
 */
void clock_job_id(char out[32]);
/* 32 lowercase hex characters of fresh randomness (uuid-like). */
void clock_uuid_hex(char out[33]);

#endif
