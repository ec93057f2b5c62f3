/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ff_csv_num.h - decimal text to double for the CSV importer (ff_csv.c,
 * ff_csv_import.c): a branch-light inline path for the short fixed-notation
 * numbers that make up most CSV files, and the general parser behind it.
 * Internal to libfedflow (ff__ prefix); components use ff_text_to_double.
 *
 * Exactness. Every value comes out as the double strtod gives for the same
 * text in the C locale (correctly rounded): a decimal mantissa w <= 2^53
 * with a power of ten 10^k, |k| <= 22, is one IEEE division or
 * multiplication of two exact doubles, hence correctly rounded (Clinger's
 * fast path); anything else goes to strtod_l after a strict syntax check.
 *
 * Buffers. The parsers load eight bytes at a time: every byte string they
 * are given must have FF__CSV_PAD readable bytes after the end of the
 * field's line (the bytes themselves do not matter).
 */
#ifndef FF_CSV_NUM_H
#define FF_CSV_NUM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FF__CSV_PAD 32

static const uint64_t ff__csv_p10u[9] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
};

static inline uint64_t ff__csv_load8(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Leading decimal digits (0..8) of the 8 bytes whose value XOR '0'*8 is x. */
static inline unsigned ff__csv_ndigits(uint64_t x)
{
	/* a byte is a digit iff it is < 10 after the XOR: adding 0x76 to its low
	 * seven bits sets bit 7 for 10..127, and bit 7 of x covers the rest */
	uint64_t y = (x & 0x7F7F7F7F7F7F7F7Full) + 0x7676767676767676ull;
	uint64_t nd = (y | x) & 0x8080808080808080ull;
	return nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
}

/* Value of the first k (1..8) digit bytes of x (first digit lowest byte). */
static inline uint64_t ff__csv_swar(uint64_t x, unsigned k)
{
	x <<= 8 * (8 - k); /* drop the bytes after the digits, pad with zeros in front */
	x = ((x & 0x0F0F0F0F0F0F0F0Full) * 2561) >> 8;
	x = ((x & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
	return ((x & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32;
}

/* the low k bytes of a word, k = 0..8 */
static const uint64_t ff__csv_low[9] = {
	0, 0xFFull, 0xFFFFull, 0xFFFFFFull, 0xFFFFFFFFull, 0xFFFFFFFFFFull, 0xFFFFFFFFFFFFull,
	0xFFFFFFFFFFFFFFull, ~0ull,
};

/* 0x80 in every byte of x (text XOR '0'*8) that is not a digit. */
static inline uint64_t ff__csv_nondigits(uint64_t x)
{
	uint64_t y = (x & 0x7F7F7F7F7F7F7F7Full) + 0x7676767676767676ull;
	return (y | x) & 0x8080808080808080ull;
}

/* [-]D[.F] of more than 8 bytes after the sign: D and F apart (7 digits each at most). */
static inline bool ff__csv_fixed_long(const char *p, const char *end, uint64_t *w, unsigned *nf,
				      bool *lead0)
{
	const uint64_t zeros = 0x3030303030303030ull;
	uint64_t x = ff__csv_load8(p) ^ zeros;
	unsigned ni = ff__csv_ndigits(x);
	if (ni - 1u >= 7u || p[ni] != '.')
		return false;
	uint64_t y = ff__csv_load8(p + ni + 1) ^ zeros;
	unsigned n = ff__csv_ndigits(y);
	if (n - 1u >= 7u || p + ni + 1 + n != end)
		return false;
	*w = ff__csv_swar(x, ni) * ff__csv_p10u[n] + ff__csv_swar(y, n);
	*nf = n;
	*lead0 = (ni > 1) & (*p == '0');
	return true;
}

/*
 * The fast path: the field [q, end) is `[-]D[.F]` with at most 8 bytes
 * after the sign, or with 1..7 digits in D and in F. Sets *w to the digits
 * DF as an integer (< 10^14, exact in a double), *e to len(F) plus 32 when
 * the sign is '-', and *lead0 when D has a leading zero (not canonical).
 * The value is then w / 10^len(F) - with the sign folded into the divisor,
 * one correctly rounded division. False for any other text (the caller
 * goes to ff__csv_num). The field's end comes from the caller, so fields
 * parse independently of each other; the common short field is one 8-byte
 * load and one digit conversion, without a branch on its shape.
 */
static inline bool ff__csv_fixed(const char *q, const char *end, uint64_t *w, unsigned *e,
				 bool *lead0)
{
	unsigned neg = *q == '-';
	const char *p = q + neg;
	size_t len = (size_t)(end - p);
	unsigned nf;
	if (__builtin_expect(len - 1 >= 8, 0)) {
		if (!ff__csv_fixed_long(p, end, w, &nf, lead0))
			return false;
		*e = nf | neg << 5;
		return true;
	}
	unsigned l = (unsigned)len;
	uint64_t x = ff__csv_load8(p) ^ 0x3030303030303030ull;
	uint64_t bad = ff__csv_nondigits(x) & ff__csv_low[l];
	/* d: the '.' (the first non-digit), or l; the digits after it move
	 * down one byte over it */
	unsigned d = bad ? (unsigned)__builtin_ctzll(bad) >> 3 : l;
	uint64_t lo = ff__csv_low[d];
	uint64_t y = (x & lo) | ((x >> 8) & ~lo);
	unsigned dot = d < l;
	unsigned n = l - dot;
	nf = dot ? l - 1 - d : 0;
	bool ok = d >= 1 && !(ff__csv_nondigits(y) & ff__csv_low[n]) &&
		  (!dot || (nf >= 1 && ((x >> (8 * (d & 7))) & 0xFF) == ('.' ^ '0')));
	*w = ff__csv_swar(y, n ? n : 1);
	*lead0 = (d > 1) & ((x & 0xFF) == 0);
	*e = nf | neg << 5;
	return ok;
}

/*
 * The general parser (ff_csv.c): a number at p, `[+-] digits [. digits]
 * [(e|E) [+-] digits]` with at least one mantissa digit, up to the first
 * byte that cannot continue it. Returns the end and sets *v and *code: the
 * fraction digit count when the text is canonical fixed notation (no '+',
 * no exponent, no leading zero, digits on both sides of a '.', mantissa
 * < 2^50), else -1. Returns p on a syntax error and NULL when the value
 * overflows to infinity. Thread-safe.
 */
const char *ff__csv_num(const char *p, double *v, int *code);

/*
 * ff__csv_fixed on eight fields at once (AVX-512, ff_csv_simd.c): field j
 * is [q + end[j - 1] + 1, q + end[j]) (end[-1] must be readable; UINT32_MAX
 * there makes field 0 start at q); the bytes [q, q + avail) are readable
 * (avail covers the line's FF__CSV_PAD). Returns the bit mask of the fields
 * it parsed, with w[j], e[j], lead0[j] as ff__csv_fixed gives them; a
 * field of more than 8 bytes after its sign, or starting more than 119
 * bytes after field 0, is never taken (the caller parses it alone). Call
 * only when ff__csv_simd_ok().
 */
unsigned ff__csv_fixed8(const char *q, size_t avail, const uint32_t *end, uint64_t w[8],
			uint8_t e[8], uint8_t lead0[8]);
/*
 * The importer's step over cnt (1..8) consecutive feature fields of row i
 * (ends in end[0..cnt), as above): each field ff__csv_fixed8 takes whose
 * column (state st[j], FF__ENCST_*) holds mantissas at the field's scale
 * gets its signed int32 mantissa in m32[j] (for the caller to store), its
 * code (0 after a leading zero) in codes[j], and *lead0s is set when one
 * had a leading zero. Returns the mask of those fields; the caller parses
 * the others.
 */
unsigned ff__csv_put8(const char *q, size_t avail, const uint32_t *end, unsigned cnt,
		      const uint8_t *st, int32_t m32[8], uint8_t *codes, unsigned *lead0s);
/*
 * Offsets from q of the delimiters in [q, q + len), the first max of them
 * into pos, which has room for max + 80 entries; returns how many there
 * are (AVX-512; reads nothing past q + len).
 */
size_t ff__csv_index8(const char *q, size_t len, char delim, uint32_t *pos, size_t max);
/* Whether ff__csv_fixed8 may run: the CPU has AVX-512 (F, DQ, CD, VL, BW)
 * and ff__csv_simd_disable is false. Thread-safe. */
bool ff__csv_simd_ok(void);
/* Tests set it to parse field by field on any CPU. */
extern bool ff__csv_simd_disable;
/* Tests set it to read every chunk with pread, as without a map. */
extern bool ff__csv_map_disable;
/* Tests: called with the file's descriptor once it is mapped. */
extern void (*ff__csv_map_hook)(int fd);
/* lane constants of ff_csv_simd.c (not const on purpose, see there) */
#define FF__CSV_SIMD_NK 20
extern int64_t ff__csv_simd_k[FF__CSV_SIMD_NK];

#endif
