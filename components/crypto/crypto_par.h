/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto_par.h - the small pthread fork/join helper behind the batch
 * operations of components/crypto (Paillier vectors, PSI batches).
 *
 * Work is either a range [0, count) cut into one contiguous chunk per thread
 * (crypto_par_for) or a list of independent units pulled from a shared
 * atomic counter (crypto_par_units), which balances uneven units. The calling
 * thread always does a share of the work, so nthreads == 1 never creates a
 * thread. If pthread_create fails the chunk runs in the calling thread: the
 * helper degrades to fewer threads, never to an error.
 *
 * Callbacks run concurrently and must only touch their own part of the
 * output. They return FF_OK or a negative enum ff_err; the helper returns the
 * error of the lowest-numbered chunk/unit that failed (units that were not
 * started after a failure are skipped). Thread-safe; no global state.
 */
#ifndef CRYPTO_PAR_H
#define CRYPTO_PAR_H

#include <stddef.h>

/* Range callback: process [lo, hi) as worker number tid (0 <= tid < nthreads). */
typedef int (*crypto_par_range_cb)(void *ctx, size_t lo, size_t hi, unsigned tid);
/* Unit callback: process unit number `unit` on worker tid. */
typedef int (*crypto_par_unit_cb)(void *ctx, size_t unit, unsigned tid);

/*
 * Upper bound on worker threads any batch call starts (larger requests are
 * clamped). Keeps per-thread scratch arrays small and bounded.
 */
#define CRYPTO_PAR_MAX_THREADS 256u

/*
 * Number of workers crypto_par_for will use for count items with nthreads
 * requested and at least min_chunk items per worker (>= 1; 0 when count is 0).
 * Callers size per-thread scratch with it.
 */
unsigned crypto_par_workers(size_t count, unsigned nthreads, size_t min_chunk);

/*
 * Runs cb over [0, count) split into crypto_par_workers(count, nthreads,
 * min_chunk) contiguous chunks. nthreads 0 means 1. Returns FF_OK, the first
 * (lowest chunk) callback error, or FF_ENOMEM.
 */
int crypto_par_for(size_t count, unsigned nthreads, size_t min_chunk,
		   crypto_par_range_cb cb, void *ctx);

/*
 * Runs cb once for every unit in [0, nunits) on min(nthreads, nunits)
 * workers that pull units dynamically. Returns FF_OK or the error of the
 * lowest-numbered failed unit; after a failure remaining units are skipped.
 */
int crypto_par_units(size_t nunits, unsigned nthreads, crypto_par_unit_cb cb, void *ctx);

#endif
