// SPDX-License-Identifier: Apache-2.0
/*
 * ff_csv_simd.c - eight CSV fields at once: ff__csv_fixed (ff_csv_num.h)
 * on the eight lanes of an AVX-512 register, for the importer's rows of
 * short fixed-notation numbers ("-0.287570"). Chosen at run time by the
 * CPU (__builtin_cpu_supports); without AVX-512, or with
 * ff__csv_simd_disable set (tests), the importer parses field by field.
 *
 * Each lane is the scalar fast path's arithmetic, word for word: the same
 * SWAR digit test, the same digit conversion, the same rule for the '.'
 * and a leading zero; so a lane it accepts has exactly the (w, e, lead0)
 * ff__csv_fixed gives, and it accepts a field of at most 8 bytes after the
 * sign iff ff__csv_fixed does. Longer fields are left to the scalar path
 * (test_csv compares both on random and adversarial fields).
 */
#include "ff_setup.h"
#include <pthread.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "ff_csv_num.h"

bool ff__csv_simd_disable;

#if defined(__x86_64__)
static pthread_once_t simd_once = PTHREAD_ONCE_INIT;
static bool simd_have;

static void simd_init(void)
{
	__builtin_cpu_init();
	simd_have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		    __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
}
#endif

bool ff__csv_simd_ok(void)
{
#if defined(__x86_64__)
	pthread_once(&simd_once, simd_init);
	return simd_have && !ff__csv_simd_disable;
#else
	return false;
#endif
}

#if defined(__x86_64__)
#define SIMD_TARGET \
	__attribute__((target("avx512f,avx512dq,avx512cd,avx512vl,avx512bw,avx512vbmi")))

/* ~(~0 << 8k) per lane: the low k bytes (k = 0..8; a shift by 64 gives 0) */
SIMD_TARGET __attribute__((always_inline)) static inline __m512i simd_low(__m512i k)
{
	const __m512i ones = _mm512_set1_epi64(-1);
	return _mm512_andnot_si512(_mm512_sllv_epi64(ones, _mm512_slli_epi64(k, 3)), ones);
}

/* 0x80 in every byte of x (text XOR '0'*8) that is not a digit */
SIMD_TARGET __attribute__((always_inline)) static inline __m512i simd_nondigits(__m512i x)
{
	__m512i y = _mm512_add_epi64(_mm512_and_si512(x, _mm512_set1_epi64(0x7F7F7F7F7F7F7F7Fll)),
				     _mm512_set1_epi64(0x7676767676767676ll));
	return _mm512_and_si512(_mm512_or_si512(y, x), _mm512_set1_epi64((long long)0x8080808080808080ull));
}

/*
 * The parse of up to eight fields (lanes below cnt); returns the lanes of
 * short fixed notation, with w, e (nf | neg << 5) and lead0 per lane.
 */
SIMD_TARGET __attribute__((always_inline)) static inline __mmask8
simd_parse(const char *q, const uint32_t *end, size_t avail, __mmask8 live, __m512i *wv,
	   __m512i *nfv, __mmask8 *negm, __mmask8 *l0m)
{
	const __m512i one = _mm512_set1_epi64(1);
	__m512i ev = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(live, end));
	__m512i sv = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(live, end - 1));
	sv = _mm512_and_si512(_mm512_add_epi64(sv, one), _mm512_set1_epi64(0xFFFFFFFFll));
	/*
	 * The field's first 8 bytes, and the 8 after a '-': byte permutes of
	 * the 128 bytes from the first field's start (masked loads stop at
	 * the readable end); a field starting too far for that is left to
	 * the caller (not live).
	 */
	uint32_t s0 = (uint32_t)(end[-1] + 1);
	const char *p = q + s0;
	avail -= s0;
	__mmask64 m0 = avail >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << avail) - 1;
	__mmask64 m1 = avail >= 128 ? ~(__mmask64)0 :
		       avail > 64 ? ((__mmask64)1 << (avail - 64)) - 1 : 0;
	__m512i c0 = _mm512_maskz_loadu_epi8(m0, p);
	__m512i c1 = _mm512_maskz_loadu_epi8(m1, p + 64);
	__m512i rel = _mm512_sub_epi64(sv, _mm512_set1_epi64(s0));
	live &= _mm512_cmple_epu64_mask(rel, _mm512_set1_epi64(119));
	__m512i idx = _mm512_add_epi64(_mm512_mullo_epi64(rel, _mm512_set1_epi64(0x0101010101010101ll)),
				       _mm512_set1_epi64(0x0706050403020100ll));
	__m512i w0 = _mm512_permutex2var_epi8(c0, idx, c1);
	__m512i w1 = _mm512_permutex2var_epi8(
		c0, _mm512_add_epi64(idx, _mm512_set1_epi64(0x0101010101010101ll)), c1);
	const __m512i z = _mm512_setzero_si512();
	__mmask8 neg = _mm512_cmpeq_epi64_mask(_mm512_and_si512(w0, _mm512_set1_epi64(0xFF)),
					       _mm512_set1_epi64('-'));
	__m512i x = _mm512_xor_si512(_mm512_mask_blend_epi64(neg, w0, w1),
				     _mm512_set1_epi64(0x3030303030303030ll));
	__m512i len = _mm512_mask_sub_epi64(_mm512_sub_epi64(ev, sv), neg,
					    _mm512_sub_epi64(ev, sv), one);
	/* 1 <= len <= 8 (a wrapped len is huge) */
	__mmask8 ok = live & _mm512_cmplt_epu64_mask(_mm512_sub_epi64(len, one),
						     _mm512_set1_epi64(8));
	__m512i lenc = _mm512_min_epu64(len, _mm512_set1_epi64(8));
	__m512i bad = _mm512_and_si512(simd_nondigits(x), simd_low(lenc));
	/* d: the first non-digit (the '.'), or len */
	__mmask8 dot = _mm512_test_epi64_mask(bad, bad);
	__m512i lowest = _mm512_and_si512(bad, _mm512_sub_epi64(z, bad));
	__m512i tz = _mm512_sub_epi64(_mm512_set1_epi64(63), _mm512_lzcnt_epi64(lowest));
	__m512i d = _mm512_mask_blend_epi64(dot, lenc, _mm512_srli_epi64(tz, 3));
	__m512i lo = simd_low(d);
	/* the digits after the '.' move down one byte over it */
	__m512i y = _mm512_or_si512(_mm512_and_si512(x, lo),
				    _mm512_andnot_si512(lo, _mm512_srli_epi64(x, 8)));
	__m512i n = _mm512_mask_sub_epi64(lenc, dot, lenc, one);
	__m512i nf = _mm512_maskz_sub_epi64(dot, _mm512_sub_epi64(lenc, one), d);
	ok &= _mm512_cmpge_epu64_mask(d, one);
	ok &= (__mmask8)~_mm512_test_epi64_mask(simd_nondigits(y), simd_low(n));
	__m512i at = _mm512_and_si512(_mm512_srlv_epi64(x, _mm512_slli_epi64(d, 3)),
				      _mm512_set1_epi64(0xFF));
	__mmask8 dot_ok = _mm512_cmpge_epu64_mask(nf, one) &
			  _mm512_cmpeq_epi64_mask(at, _mm512_set1_epi64('.' ^ '0'));
	ok &= (__mmask8)(~dot | dot_ok);
	/* the digit conversion of ff__csv_swar on n (at least 1) digits */
	__m512i nn = _mm512_max_epu64(n, one);
	__m512i v = _mm512_sllv_epi64(y, _mm512_slli_epi64(_mm512_sub_epi64(_mm512_set1_epi64(8), nn), 3));
	v = _mm512_srli_epi64(_mm512_mullo_epi64(_mm512_and_si512(v, _mm512_set1_epi64(0x0F0F0F0F0F0F0F0Fll)),
						 _mm512_set1_epi64(2561)), 8);
	v = _mm512_srli_epi64(_mm512_mullo_epi64(_mm512_and_si512(v, _mm512_set1_epi64(0x00FF00FF00FF00FFll)),
						 _mm512_set1_epi64(6553601)), 16);
	v = _mm512_srli_epi64(_mm512_mullo_epi64(_mm512_and_si512(v, _mm512_set1_epi64(0x0000FFFF0000FFFFll)),
						 _mm512_set1_epi64(42949672960001ll)), 32);
	*wv = v;
	*nfv = nf;
	*negm = neg;
	*l0m = _mm512_cmpgt_epu64_mask(d, one) & _mm512_testn_epi64_mask(x, _mm512_set1_epi64(0xFF));
	return ok;
}

SIMD_TARGET unsigned ff__csv_fixed8(const char *q, size_t avail, const uint32_t *end,
				   uint64_t w[8], uint8_t e[8], uint8_t lead0[8])
{
	__m512i wv, nf;
	__mmask8 neg, l0;
	__mmask8 ok = simd_parse(q, end, avail, 0xFF, &wv, &nf, &neg, &l0);
	_mm512_storeu_si512((void *)w, wv);
	__m512i ex = _mm512_mask_or_epi64(nf, neg, nf, _mm512_set1_epi64(32));
	_mm_storel_epi64((__m128i *)(void *)e, _mm512_cvtepi64_epi8(ex));
	_mm_storel_epi64((__m128i *)(void *)lead0,
			 _mm512_cvtepi64_epi8(_mm512_maskz_mov_epi64(l0, _mm512_set1_epi64(1))));
	return ok;
}

SIMD_TARGET unsigned ff__csv_put8(const char *q, size_t avail, const uint32_t *end, unsigned cnt,
				 const uint8_t *st, void *const *cols, size_t i, uint8_t *codes,
				 unsigned *lead0s)
{
	__mmask8 live = (__mmask8)((1u << cnt) - 1);
	__m512i wv, nf;
	__mmask8 neg, l0;
	__mmask8 ok = simd_parse(q, end, avail, live, &wv, &nf, &neg, &l0);
	/* the column state must be this scale; -0.0 has no int32 mantissa
	 * (w < 10^8 always fits) */
	__m512i stv = _mm512_cvtepu8_epi64(_mm_maskz_loadu_epi8(live, st));
	__mmask8 zero = _mm512_testn_epi64_mask(wv, wv);
	__mmask8 done = ok & _mm512_cmpeq_epi64_mask(stv, nf) & (__mmask8)~(zero & neg);
	__m512i m = _mm512_mask_sub_epi64(wv, neg, _mm512_setzero_si512(), wv);
	/* row i of each lane's column (scalar stores: a scatter is slower) */
	int32_t mm[8];
	_mm256_storeu_si256((__m256i *)(void *)mm, _mm512_cvtepi64_epi32(m));
	if (done == 0xFF) {
		for (unsigned j = 0; j < 8; j++)
			((int32_t *)cols[j])[i] = mm[j];
	} else {
		for (unsigned left = done; left; left &= left - 1) {
			unsigned j = (unsigned)__builtin_ctz(left);
			((int32_t *)cols[j])[i] = mm[j];
		}
	}
	__m512i code = _mm512_maskz_mov_epi64((__mmask8)(done & ~l0), nf);
	_mm_mask_storeu_epi8(codes, done, _mm512_cvtepi64_epi8(code));
	*lead0s |= (done & l0) != 0;
	return done;
}
#else
unsigned ff__csv_put8(const char *q, size_t avail, const uint32_t *end, unsigned cnt,
		      const uint8_t *st, void *const *cols, size_t i, uint8_t *codes,
		      unsigned *lead0s)
{
	(void)q;
	(void)avail;
	(void)end;
	(void)cnt;
	(void)st;
	(void)cols;
	(void)i;
	(void)codes;
	(void)lead0s;
	return 0;
}

unsigned ff__csv_fixed8(const char *q, size_t avail, const uint32_t *end, uint64_t w[8],
			uint8_t e[8], uint8_t lead0[8])
{
	(void)q;
	(void)avail;
	(void)end;
	(void)w;
	(void)e;
	(void)lead0;
	return 0;
}
#endif
