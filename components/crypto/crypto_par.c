// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_par.c - fork/join over pthreads for the crypto batch operations.
 *
 * Deliberately minimal: threads are created per call. A batch that is worth
 * parallelising costs milliseconds (one Paillier encryption is ~0.8 ms, one
 * ristretto255 scalar multiplication ~40 us), so the ~20 us of thread start-up
 * is noise, and no pool means no global state, no shutdown order and nothing
 * to leak between tests.
 */
#include "ff_setup.h"

#include <pthread.h>
#include <stdatomic.h>

#include "crypto_par.h"
#include "err.h"
#include "mem.h"

struct par_range_job {
	crypto_par_range_cb cb;
	void *ctx;
	size_t lo, hi;
	unsigned tid;
	int ret;
};

struct par_unit_shared {
	crypto_par_unit_cb cb;
	void *ctx;
	size_t nunits;
	atomic_size_t next;
	atomic_bool failed;
	/* lowest failing unit and its code, guarded by lock */
	pthread_mutex_t lock;
	size_t err_unit;
	int err;
};

struct par_unit_job {
	struct par_unit_shared *sh;
	unsigned tid;
};

unsigned crypto_par_workers(size_t count, unsigned nthreads, size_t min_chunk)
{
	if (count == 0)
		return 0;
	if (nthreads == 0)
		nthreads = 1;
	if (nthreads > CRYPTO_PAR_MAX_THREADS)
		nthreads = CRYPTO_PAR_MAX_THREADS;
	if (min_chunk == 0)
		min_chunk = 1;
	size_t by_size = count / min_chunk;
	if (by_size == 0)
		by_size = 1;
	return by_size < nthreads ? (unsigned)by_size : nthreads;
}

static void *par_range_main(void *arg)
{
	struct par_range_job *job = arg;
	job->ret = job->cb(job->ctx, job->lo, job->hi, job->tid);
	return NULL;
}

int crypto_par_for(size_t count, unsigned nthreads, size_t min_chunk,
		   crypto_par_range_cb cb, void *ctx)
{
	unsigned workers = crypto_par_workers(count, nthreads, min_chunk);
	if (workers == 0)
		return FF_OK;
	if (workers == 1)
		return cb(ctx, 0, count, 0);

	struct par_range_job *jobs = NULL;
	pthread_t *tids = NULL;
	bool *started = NULL;
	int ret = FF_OK;
	FF_ALLOC_ARRAY(jobs, workers);
	FF_ALLOC_ARRAY(tids, workers);
	FF_ALLOC_ARRAY(started, workers);
	if (!jobs || !tids || !started) {
		ret = FF_ENOMEM;
		goto out;
	}
	/* chunk sizes differ by at most one item */
	size_t base = count / workers, extra = count % workers, lo = 0;
	for (unsigned w = 0; w < workers; w++) {
		size_t len = base + (w < extra ? 1 : 0);
		jobs[w] = (struct par_range_job){ .cb = cb, .ctx = ctx, .lo = lo,
						  .hi = lo + len, .tid = w };
		lo += len;
	}
	for (unsigned w = 1; w < workers; w++)
		started[w] = pthread_create(&tids[w], NULL, par_range_main, &jobs[w]) == 0;
	par_range_main(&jobs[0]);
	for (unsigned w = 1; w < workers; w++) {
		if (started[w])
			pthread_join(tids[w], NULL);
		else
			par_range_main(&jobs[w]);
	}
	for (unsigned w = 0; w < workers; w++) {
		if (jobs[w].ret) {
			ret = jobs[w].ret;
			break;
		}
	}
out:
	ff_free(jobs);
	ff_free(tids);
	ff_free(started);
	return ret;
}

static void *par_unit_main(void *arg)
{
	struct par_unit_job *job = arg;
	struct par_unit_shared *sh = job->sh;
	for (;;) {
		if (atomic_load(&sh->failed))
			break;
		size_t u = atomic_fetch_add(&sh->next, 1);
		if (u >= sh->nunits)
			break;
		int r = sh->cb(sh->ctx, u, job->tid);
		if (r) {
			pthread_mutex_lock(&sh->lock);
			if (!sh->err || u < sh->err_unit) {
				sh->err = r;
				sh->err_unit = u;
			}
			pthread_mutex_unlock(&sh->lock);
			atomic_store(&sh->failed, true);
		}
	}
	return NULL;
}

int crypto_par_units(size_t nunits, unsigned nthreads, crypto_par_unit_cb cb, void *ctx)
{
	unsigned workers = crypto_par_workers(nunits, nthreads, 1);
	if (workers == 0)
		return FF_OK;
	struct par_unit_shared sh = { .cb = cb, .ctx = ctx, .nunits = nunits };
	atomic_init(&sh.next, 0);
	atomic_init(&sh.failed, false);
	if (pthread_mutex_init(&sh.lock, NULL) != 0)
		return FF_ENOMEM;

	struct par_unit_job *jobs = NULL;
	pthread_t *tids = NULL;
	bool *started = NULL;
	int ret = FF_OK;
	FF_ALLOC_ARRAY(jobs, workers);
	FF_ALLOC_ARRAY(tids, workers);
	FF_ALLOC_ARRAY(started, workers);
	if (!jobs || !tids || !started) {
		ret = FF_ENOMEM;
		goto out;
	}
	for (unsigned w = 0; w < workers; w++)
		jobs[w] = (struct par_unit_job){ .sh = &sh, .tid = w };
	for (unsigned w = 1; w < workers; w++)
		started[w] = pthread_create(&tids[w], NULL, par_unit_main, &jobs[w]) == 0;
	par_unit_main(&jobs[0]);
	for (unsigned w = 1; w < workers; w++) {
		if (started[w])
			pthread_join(tids[w], NULL);
	}
	/*
	 * A worker whose thread did not start has nothing to make up: the
	 * calling thread kept pulling units until the counter ran out.
	 */
	ret = sh.err;
out:
	pthread_mutex_destroy(&sh.lock);
	ff_free(jobs);
	ff_free(tids);
	ff_free(started);
	return ret;
}
