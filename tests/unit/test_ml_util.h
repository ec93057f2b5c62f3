/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ml_util.h - helpers shared by the test_ml_*.c unit tests: a tiny CSV
 * reader for FATE's breast data and relative-tolerance assertions.
 * Header-only (static functions); include after <cmocka.h>.
 */
#ifndef FF_TEST_ML_UTIL_H
#define FF_TEST_ML_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem.h"

#ifndef FF_ML_DATA_DIR
#define FF_ML_DATA_DIR "/work/shared/data"
#endif

/* A numeric CSV with a header line: rows x cols doubles, row-major. */
struct ml_csv {
	size_t rows, cols;
	double *v;
};

FF_UNUSED static void ml_csv_release(struct ml_csv *c)
{
	ff_free(c->v);
	c->v = NULL;
	c->rows = c->cols = 0;
}

/* Loads DATA_DIR/name (FF_ML_DATA_DIR in the environment overrides the
 * build-time directory). Fails the test when the file is missing or bad. */
FF_UNUSED static void ml_csv_load(const char *name, struct ml_csv *c)
{
	const char *dir = getenv("FF_ML_DATA_DIR");
	char path[1024], line[8192];
	size_t cap = 0;
	FILE *f;

	if (!dir || !*dir)
		dir = FF_ML_DATA_DIR;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open '%s' (set FF_ML_DATA_DIR)", path);
	c->rows = c->cols = 0;
	c->v = NULL;
	if (!fgets(line, sizeof(line), f))
		fail_msg("'%s' is empty", path);
	c->cols = 1;
	for (const char *p = line; *p; p++)
		c->cols += *p == ',';
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		if (line[0] == '\n' || line[0] == '\0')
			continue;
		if ((c->rows + 1) * c->cols > cap) {
			cap = cap ? cap * 2 : 1024 * c->cols;
			c->v = ff_realloc(c->v, cap * sizeof(double));
			assert_non_null(c->v);
		}
		for (size_t j = 0; j < c->cols; j++) {
			c->v[c->rows * c->cols + j] = strtod(p, &end);
			if (end == p)
				fail_msg("'%s' row %zu column %zu is not a number", path,
					 c->rows, j);
			p = *end == ',' ? end + 1 : end;
		}
		c->rows++;
	}
	fclose(f);
}

/* The pooled breast data: guest x0..x9 then host x0..x19 joined on id, in
 * guest row order, with the guest's label y. Owned arrays (ff_free). */
struct ml_breast {
	size_t rows, cols; /* 569 x 30 */
	double *x;
	double *y;
};

FF_UNUSED static void ml_breast_load(struct ml_breast *b)
{
	struct ml_csv g, h;

	ml_csv_load("breast_hetero_guest.csv", &g);
	ml_csv_load("breast_hetero_host.csv", &h);
	assert_int_equal(g.cols, 12);
	assert_int_equal(h.cols, 21);
	b->rows = g.rows;
	b->cols = 30;
	b->x = ff_calloc(b->rows * b->cols, sizeof(double));
	b->y = ff_calloc(b->rows, sizeof(double));
	assert_non_null(b->x);
	assert_non_null(b->y);
	for (size_t i = 0; i < g.rows; i++) {
		const double *gr = g.v + i * g.cols;
		const double *hr = NULL;

		for (size_t k = 0; k < h.rows; k++)
			if (h.v[k * h.cols] == gr[0]) {
				hr = h.v + k * h.cols;
				break;
			}
		if (!hr)
			fail_msg("guest id %g has no host row", gr[0]);
		b->y[i] = gr[1];
		memcpy(b->x + i * 30, gr + 2, 10 * sizeof(double));
		memcpy(b->x + i * 30 + 10, hr + 1, 20 * sizeof(double));
	}
	ml_csv_release(&g);
	ml_csv_release(&h);
}

FF_UNUSED static void ml_breast_release(struct ml_breast *b)
{
	ff_free(b->x);
	ff_free(b->y);
	b->x = b->y = NULL;
}

/* |a - b| <= tol * max(1, |b|): relative for large values, absolute near 0. */
#define ML_ASSERT_CLOSE(a, b, tol) do {                                      \
		double ml_a_ = (a), ml_b_ = (b);                             \
		double ml_s_ = fabs(ml_b_) > 1.0 ? fabs(ml_b_) : 1.0;      \
		if (!(fabs(ml_a_ - ml_b_) <= (tol) * ml_s_))                 \
			fail_msg("%s = %.17g, expected %.17g (tol %g)", #a,  \
				 ml_a_, ml_b_, (double)(tol));               \
	} while (0)

/* Element-wise ML_ASSERT_CLOSE over n values. */
#define ML_ASSERT_ARRAY_CLOSE(a, b, n, tol) do {                             \
		for (size_t ml_i_ = 0; ml_i_ < (size_t)(n); ml_i_++) {       \
			double ml_x_ = (a)[ml_i_], ml_y_ = (b)[ml_i_];      \
			double ml_s_ = fabs(ml_y_) > 1.0 ? fabs(ml_y_) : 1.0; \
			if (!(fabs(ml_x_ - ml_y_) <= (tol) * ml_s_))         \
				fail_msg("%s[%zu] = %.17g, expected %.17g", \
					 #a, ml_i_, ml_x_, ml_y_);           \
		}                                                            \
	} while (0)

/* Asserts rc == code and that the message contains `needle`. */
#define ML_ASSERT_ERR(rc, code, err, needle) do {                            \
		int ml_rc_ = (rc);                                           \
		if (ml_rc_ != (code))                                        \
			fail_msg("%s returned %d, expected %d", #rc, ml_rc_, \
				 (int)(code));                               \
		if (!strstr((err).msg, (needle)))                            \
			fail_msg("message '%s' lacks '%s'", (err).msg,       \
				 (needle));                                  \
	} while (0)

#endif
