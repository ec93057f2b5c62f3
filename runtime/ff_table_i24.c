// SPDX-License-Identifier: Apache-2.0
/*
 * ff_table_i24.c - 3-byte mantissa columns (FF__ENC_I24(s), storage-format.md
 * §4.2): the writer's fit test and in-place packing of an int32 mantissa
 * column, and the reader's decoding into doubles.
 *
 * DESIGN. Durable imports are bound by the disk, not the parser: a column
 * of the importer's mantissas (|m| < 4,000,000 for six-decimal values
 * below 4) fits 24 bits, and storing three bytes instead of four writes a
 * quarter fewer value bytes. Decoding sign-extends each 3-byte value to
 * the int32 it came from and then divides exactly as ff__dec_i32 does, so
 * the doubles are the same bits. Wide loads never go past the column's
 * 3 * n bytes (a column holding a multiple of 8 rows has no padding after
 * it): the last values are read three bytes at a time.
 */
#include "ff_setup.h"
#include <pthread.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "ff_table_int.h"

/* ------------------------------------------------------------------ writer */

/* Whether m fits: m + 2^23 in 0 .. 2^24 - 1 (unsigned: the wrap is defined). */
static inline bool i24_fits(uint32_t m)
{
	return m + (1u << 23) < (1u << 24);
}

/* Value i of a 3-byte column, sign-extended: three single-byte loads. */
static inline int32_t i24_at(const unsigned char *p, size_t i)
{
	const unsigned char *q = p + 3 * i;
	uint32_t u = (uint32_t)q[0] << 8 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 24;
	return (int32_t)u >> 8; /* arithmetic shift: GCC and Clang define it */
}

/*
 * Packs values from .. n - 1 forward and in place, up to the first that
 * does not fit; returns how many are packed then. Value i is read before
 * bytes 3i .. 3i + 3 are stored, and those stay below value i + 1 at
 * 4i + 4; the 4-byte store of the last value writes one byte past 3n,
 * inside the 4n bytes the column held.
 */
static size_t pack_scalar(unsigned char *col, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		uint32_t v;
		memcpy(&v, col + 4 * i, 4);
		if (!i24_fits(v))
			return i;
		memcpy(col + 3 * i, &v, 4);
	}
	return n;
}

#if defined(__x86_64__)
/*
 * Eight values a step: the biased values tested for a high byte, each
 * 16-byte lane's low 3 bytes gathered (12 bytes), the two lanes joined
 * into 24 bytes, stored as 32 (the last 8 are overwritten by the next
 * step or lie in the column's padding; in place as in pack_scalar).
 */
__attribute__((target("avx2")))
static size_t pack_avx2(unsigned char *col, size_t n)
{
	const __m256i sh = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
					    0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
	const __m256i join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
	const __m256i bias = _mm256_set1_epi32(1 << 23);
	const __m256i high = _mm256_set1_epi32((int)0xFF000000u);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i v = _mm256_loadu_si256((const void *)(col + 4 * i));
		if (!_mm256_testz_si256(_mm256_add_epi32(v, bias), high))
			return pack_scalar(col, i, n); /* stops at the value that does not fit */
		__m256i p = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, sh), join);
		_mm256_storeu_si256((void *)(col + 3 * i), p);
	}
	return pack_scalar(col, i, n);
}

static bool pack_wide;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

static void pack_init(void)
{
	__builtin_cpu_init();
	pack_wide = __builtin_cpu_supports("avx2");
}
#endif

/* Back to int32, backwards: value i (bytes 3i ..) is read before 4i .. 4i + 3 is stored. */
static void unpack(unsigned char *col, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		int32_t v = i24_at(col, i);
		memcpy(col + 4 * i, &v, 4);
	}
}

bool ff__pack_i24(void *col, size_t n)
{
	size_t k;
#if defined(__x86_64__)
	pthread_once(&pack_once, pack_init);
	k = pack_wide ? pack_avx2(col, n) : pack_scalar(col, 0, n);
#else
	k = pack_scalar(col, 0, n);
#endif
	if (k == n)
		return true;
	/* one pass in the usual case (all fit); the packed ones fit, so this
	 * gives them back exactly */
	unpack(col, k);
	return false;
}

/* ------------------------------------------------------------------ reader */

void ff__dec_i24_scalar(double *restrict out, const unsigned char *restrict p, size_t n,
			unsigned s)
{
	const double d = ff__p10[s];
	for (size_t i = 0; i < n; i++)
		out[i] = (double)i24_at(p, i) / d;
}

#if defined(__x86_64__)
/*
 * Eight values from the 24 bytes at q, as int32: two 16-byte loads (the
 * second ends at q + 28, so callers keep 28 bytes in reach), each lane's
 * 3 bytes moved to the top of its int32 and shifted back with the sign.
 */
__attribute__((target("avx2")))
static inline __m256i i24_load8(const unsigned char *q)
{
	const __m256i sh = _mm256_setr_epi8(-1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11,
					    -1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11);
	__m256i v = _mm256_inserti128_si256(
		_mm256_castsi128_si256(_mm_loadu_si128((const void *)q)),
		_mm_loadu_si128((const void *)(q + 12)), 1);
	return _mm256_srai_epi32(_mm256_shuffle_epi8(v, sh), 8);
}

__attribute__((target("avx512f,avx2")))
static void dec_i24_avx512(double *restrict out, const unsigned char *restrict p, size_t n,
			   unsigned s)
{
	const __m512d d = _mm512_set1_pd(ff__p10[s]);
	size_t i = 0;
	for (; 3 * i + 28 <= 3 * n; i += 8)
		_mm512_storeu_pd(out + i, _mm512_div_pd(_mm512_cvtepi32_pd(i24_load8(p + 3 * i)), d));
	ff__dec_i24_scalar(out + i, p + 3 * i, n - i, s);
}

__attribute__((target("avx2")))
static void dec_i24_avx2(double *restrict out, const unsigned char *restrict p, size_t n,
			 unsigned s)
{
	const __m256d d = _mm256_set1_pd(ff__p10[s]);
	size_t i = 0;
	for (; 3 * i + 28 <= 3 * n; i += 8) {
		__m256i m = i24_load8(p + 3 * i);
		_mm256_storeu_pd(out + i,
				 _mm256_div_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(m)), d));
		_mm256_storeu_pd(out + i + 4,
				 _mm256_div_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(m, 1)), d));
	}
	ff__dec_i24_scalar(out + i, p + 3 * i, n - i, s);
}

typedef void (*dec24_fn)(double *restrict, const unsigned char *restrict, size_t, unsigned);
static dec24_fn dec24_pick;
static pthread_once_t dec24_once = PTHREAD_ONCE_INIT;

static void dec24_init(void)
{
	__builtin_cpu_init();
	dec24_pick = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") ?
			     dec_i24_avx512 :
		     __builtin_cpu_supports("avx2") ? dec_i24_avx2 : ff__dec_i24_scalar;
}
#endif

void ff__dec_i24(double *restrict out, const unsigned char *restrict p, size_t n, unsigned s)
{
#if defined(__x86_64__)
	pthread_once(&dec24_once, dec24_init);
	dec24_pick(out, p, n, s);
#else
	ff__dec_i24_scalar(out, p, n, s);
#endif
}
