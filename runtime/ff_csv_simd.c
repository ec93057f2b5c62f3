// SPDX-License-Identifier: Apache-2.0
/*
 * ff_csv_simd.c - eight CSV fields at once: ff__csv_fixed (ff_csv_num.h)
 * on the eight lanes of an AVX-512 register, for the importer's rows of
 * short fixed-notation numbers ("-0.287570"). Chosen at run time by the
 * CPU (__builtin_cpu_supports); without AVX-512, or with
 * ff__csv_simd_disable set (tests), the importer parses field by field.
 *
 * Each lane is the scalar fast path's arithmetic: the same SWAR digit
 * test, the same rule for the '.' and a leading zero, and the same digit
 * value (its three multiplications' sums, here by multiply-adds of byte
 * and word pairs); so a lane it accepts has exactly the (w, e, lead0)
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
		    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
		    __builtin_cpu_supports("avx512vbmi2");
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
/*
 * The lane constants of the loops below, read from memory: an object the
 * compiler may not fold (ff__csv_simd_k is not const), so each use is a
 * broadcast load or a {1to8} operand, where a folded constant costs a
 * move to a general register and a broadcast from it on every call
 * (measured: ff__csv_put8 went from 199 to 172 instructions, and an
 * import on one thread from 0.60-0.63 s to 0.56-0.57 s). Nothing writes
 * it.
 */
enum { K_ONES, K_7F, K_76, K_80, K_ONE, K_LO32, K_119, K_01, K_IOTA, K_FF, K_MINUS, K_30, K_8, K_63, K_DOT, K_0F, K_MADD10, K_MADD100, K_1E4, K_32, SIMD_NK };
int64_t ff__csv_simd_k[FF__CSV_SIMD_NK] = {
	[K_ONES] = -1,
	[K_7F] = 0x7F7F7F7F7F7F7F7Fll,
	[K_76] = 0x7676767676767676ll,
	[K_80] = (long long)0x8080808080808080ull,
	[K_ONE] = 1,
	[K_LO32] = 0xFFFFFFFFll,
	[K_119] = 119,
	[K_01] = 0x0101010101010101ll,
	[K_IOTA] = 0x0706050403020100ll,
	[K_FF] = 0xFF,
	[K_MINUS] = '-',
	[K_30] = 0x3030303030303030ll,
	[K_8] = 8,
	[K_63] = 63,
	[K_DOT] = '.' ^ '0',
	[K_0F] = 0x0F0F0F0F0F0F0F0Fll,
	[K_MADD10] = 0x010A010A010A010All,
	[K_MADD100] = 0x0001006400010064ll,
	[K_1E4] = 10000,
	[K_32] = 32,
};
_Static_assert(SIMD_NK == FF__CSV_SIMD_NK, "the constants and their count");
#define SIMD_K(i) _mm512_set1_epi64(ff__csv_simd_k[i])
#define SIMD_TARGET \
	__attribute__((target("avx512f,avx512dq,avx512cd,avx512vl,avx512bw,avx512vbmi,avx512vbmi2")))

/* ~(~0 << 8k) per lane: the low k bytes (k = 0..8; a shift by 64 gives 0) */
SIMD_TARGET __attribute__((always_inline)) static inline __m512i simd_low(__m512i k)
{
	const __m512i ones = SIMD_K(K_ONES);
	return _mm512_andnot_si512(_mm512_sllv_epi64(ones, _mm512_slli_epi64(k, 3)), ones);
}

/* 0x80 in every byte of x (text XOR '0'*8) that is not a digit */
SIMD_TARGET __attribute__((always_inline)) static inline __m512i simd_nondigits(__m512i x)
{
	__m512i y = _mm512_add_epi64(_mm512_and_si512(x, SIMD_K(K_7F)),
				     SIMD_K(K_76));
	return _mm512_and_si512(_mm512_or_si512(y, x), SIMD_K(K_80));
}

/*
 * The parse of up to eight fields (lanes below cnt); returns the lanes of
 * short fixed notation, with w, e (nf | neg << 5) and lead0 per lane.
 */
SIMD_TARGET __attribute__((always_inline)) static inline __mmask8
simd_parse(const char *q, const uint32_t *end, size_t avail, __mmask8 live, __m512i *wv,
	   __m512i *nfv, __mmask8 *negm, __mmask8 *l0m)
{
	const __m512i one = SIMD_K(K_ONE);
	__m512i ev = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(live, end));
	__m512i sv = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(live, end - 1));
	sv = _mm512_and_si512(_mm512_add_epi64(sv, one), SIMD_K(K_LO32));
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
	live &= _mm512_cmple_epu64_mask(rel, SIMD_K(K_119));
	/* rel's low byte in every byte of its lane (a byte shift of 0 per
	 * byte), plus 0..7 */
	__m512i idx = _mm512_add_epi64(_mm512_multishift_epi64_epi8(_mm512_setzero_si512(), rel),
				       SIMD_K(K_IOTA));
	__m512i w0 = _mm512_permutex2var_epi8(c0, idx, c1);
	__m512i w1 = _mm512_permutex2var_epi8(
		c0, _mm512_add_epi64(idx, SIMD_K(K_01)), c1);
	const __m512i z = _mm512_setzero_si512();
	__mmask8 neg = _mm512_cmpeq_epi64_mask(_mm512_and_si512(w0, SIMD_K(K_FF)),
					       SIMD_K(K_MINUS));
	__m512i x = _mm512_xor_si512(_mm512_mask_blend_epi64(neg, w0, w1),
				     SIMD_K(K_30));
	__m512i len = _mm512_mask_sub_epi64(_mm512_sub_epi64(ev, sv), neg,
					    _mm512_sub_epi64(ev, sv), one);
	/* 1 <= len <= 8 (a wrapped len is huge) */
	__mmask8 ok = live & _mm512_cmplt_epu64_mask(_mm512_sub_epi64(len, one),
						     SIMD_K(K_8));
	__m512i lenc = _mm512_min_epu64(len, SIMD_K(K_8));
	__m512i bad = _mm512_and_si512(simd_nondigits(x), simd_low(lenc));
	/* d: the first non-digit (the '.'), or len */
	__mmask8 dot = _mm512_test_epi64_mask(bad, bad);
	__m512i lowest = _mm512_and_si512(bad, _mm512_sub_epi64(z, bad));
	__m512i tz = _mm512_sub_epi64(SIMD_K(K_63), _mm512_lzcnt_epi64(lowest));
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
				      SIMD_K(K_FF));
	__mmask8 dot_ok = _mm512_cmpge_epu64_mask(nf, one) &
			  _mm512_cmpeq_epi64_mask(at, SIMD_K(K_DOT));
	ok &= (__mmask8)(~dot | dot_ok);
	/* the digit conversion of ff__csv_swar on n (at least 1) digits */
	__m512i nn = _mm512_max_epu64(n, one);
	__m512i v = _mm512_sllv_epi64(y, _mm512_slli_epi64(_mm512_sub_epi64(SIMD_K(K_8), nn), 3));
	/* the same sums as the SWAR's three multiplications (digits of at
	 * most 9: no pair, quad or lane overflows): 10 * d0 + d1 per byte
	 * pair, 100 * p0 + p1 per pair of pairs, 10^4 * q0 + q1 per lane */
	v = _mm512_maddubs_epi16(_mm512_and_si512(v, SIMD_K(K_0F)), SIMD_K(K_MADD10));
	v = _mm512_madd_epi16(v, SIMD_K(K_MADD100));
	v = _mm512_add_epi64(_mm512_mul_epu32(v, SIMD_K(K_1E4)), _mm512_srli_epi64(v, 32));
	*wv = v;
	*nfv = nf;
	*negm = neg;
	*l0m = _mm512_cmpgt_epu64_mask(d, one) & _mm512_testn_epi64_mask(x, SIMD_K(K_FF));
	return ok;
}

SIMD_TARGET unsigned ff__csv_fixed8(const char *q, size_t avail, const uint32_t *end,
				   uint64_t w[8], uint8_t e[8], uint8_t lead0[8])
{
	__m512i wv, nf;
	__mmask8 neg, l0;
	__mmask8 ok = simd_parse(q, end, avail, 0xFF, &wv, &nf, &neg, &l0);
	_mm512_storeu_si512((void *)w, wv);
	__m512i ex = _mm512_mask_or_epi64(nf, neg, nf, SIMD_K(K_32));
	_mm_storel_epi64((__m128i *)(void *)e, _mm512_cvtepi64_epi8(ex));
	_mm_storel_epi64((__m128i *)(void *)lead0,
			 _mm512_cvtepi64_epi8(_mm512_maskz_mov_epi64(l0, SIMD_K(K_ONE))));
	return ok;
}

SIMD_TARGET unsigned ff__csv_put8(const char *q, size_t avail, const uint32_t *end, unsigned cnt,
				 const uint8_t *st, int32_t m32[8], uint8_t *codes, unsigned *lead0s)
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
	/* the caller stores them: in code built for any x86-64, so that no
	 * compiler turns the eight stores into a (slower) scatter */
	_mm256_storeu_si256((__m256i *)(void *)m32, _mm512_cvtepi64_epi32(m));
	__m512i code = _mm512_maskz_mov_epi64((__mmask8)(done & ~l0), nf);
	_mm_mask_storeu_epi8(codes, done, _mm512_cvtepi64_epi8(code));
	*lead0s |= (done & l0) != 0;
	return done;
}
SIMD_TARGET size_t ff__csv_index8(const char *q, size_t len, char delim, uint32_t *pos, size_t max)
{
	const __m512i d = _mm512_set1_epi8(delim);
	const __m512i iota = _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50,
					     49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36,
					     35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22,
					     21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
					     6, 5, 4, 3, 2, 1, 0);
	size_t n = 0;
	for (size_t i = 0; i < len; i += 64) {
		__mmask64 live = len - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (len - i)) - 1;
		__mmask64 m = _mm512_mask_cmpeq_epi8_mask(live, _mm512_maskz_loadu_epi8(live, q + i), d);
		if (!m)
			continue;
		size_t cnt = (size_t)__builtin_popcountll(m);
		if (n <= max) {
			/* the offsets of this window's delimiters, 16 at a time
			 * (up to 15 written past them: the caller's slack) */
			__m512i at = _mm512_maskz_compress_epi8(m, iota);
			__m512i base = _mm512_set1_epi32((int)i);
			for (size_t k = 0; k < cnt; k += 16) {
				__m128i b = _mm512_extracti32x4_epi32(at, 0);
				_mm512_storeu_si512((void *)(pos + n + k),
						    _mm512_add_epi32(_mm512_cvtepu8_epi32(b), base));
				at = _mm512_alignr_epi32(at, at, 4);
			}
		}
		n += cnt;
	}
	return n;
}
#else
size_t ff__csv_index8(const char *q, size_t len, char delim, uint32_t *pos, size_t max)
{
	(void)q;
	(void)len;
	(void)delim;
	(void)pos;
	(void)max;
	return 0;
}

unsigned ff__csv_put8(const char *q, size_t avail, const uint32_t *end, unsigned cnt,
		      const uint8_t *st, int32_t m32[8], uint8_t *codes, unsigned *lead0s)
{
	(void)q;
	(void)avail;
	(void)end;
	(void)cnt;
	(void)st;
	(void)m32;
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
