// SPDX-License-Identifier: Apache-2.0
/*
 * ff_table.c - pieces of the standalone table engine shared by its writer,
 * reader and CSV code: CRC-32C, number rendering (shortest round-trip and
 * the fixed "code" form that rebuilds uploaded text), the in-memory block,
 * meta.json loading, the text layout, and table paths (dir, exists,
 * destroy).
 */
#include "ff_setup.h"
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#include <nmmintrin.h>
#endif
#include "clock.h"
#include "ff_table_int.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

/* ---------------------------------------------------------------- CRC-32C */

/* Castagnoli polynomial, reflected; a table for hosts without the instruction. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_hw_ok;

/*
 * Three streams. The crc32 instruction takes 3 cycles and one more can
 * start every cycle, so a long buffer goes three lanes of CRC_LANE bytes
 * at a time, each lane from 0, and the lanes are joined after: the CRC
 * register is linear, so crc(a || b) = crc(a) * x^(8|b|) + crc(b) (mod the
 * polynomial), and the multiplication by the constant x^(8 * CRC_LANE) is
 * four table look-ups (crc_shift: one table per byte of the register).
 */
#define CRC_LANE 2048
static uint32_t crc_shift[4][256];

static uint32_t crc_sw(uint32_t c, const unsigned char *p, size_t n)
{
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

/* The register c after n zero bytes: c * x^(8n). */
static uint32_t crc_zeros(uint32_t c, size_t n)
{
	while (n--)
		c = crc_table[c & 0xff] ^ (c >> 8);
	return c;
}

static inline uint32_t crc_lane_shift(uint32_t c)
{
	return crc_shift[0][c & 0xff] ^ crc_shift[1][(c >> 8) & 0xff] ^
	       crc_shift[2][(c >> 16) & 0xff] ^ crc_shift[3][c >> 24];
}

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
	/* the shift of each register bit, then of each byte value (linear) */
	uint32_t bit[32];
	for (int j = 0; j < 32; j++)
		bit[j] = crc_zeros((uint32_t)1 << j, CRC_LANE);
	for (int b = 0; b < 4; b++)
		for (uint32_t v = 0; v < 256; v++) {
			uint32_t c = 0;
			for (int j = 0; j < 8; j++)
				if (v >> j & 1)
					c ^= bit[8 * b + j];
			crc_shift[b][v] = c;
		}
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw_ok = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = crc;
	while (n && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		n--;
	}
	while (n >= 3 * CRC_LANE) {
		uint64_t c1 = 0, c2 = 0;
		for (size_t i = 0; i < CRC_LANE; i += 8) {
			uint64_t v0, v1, v2;
			memcpy(&v0, p + i, 8);
			memcpy(&v1, p + CRC_LANE + i, 8);
			memcpy(&v2, p + 2 * CRC_LANE + i, 8);
			c = _mm_crc32_u64(c, v0);
			c1 = _mm_crc32_u64(c1, v1);
			c2 = _mm_crc32_u64(c2, v2);
		}
		c = crc_lane_shift(crc_lane_shift((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * CRC_LANE;
		n -= 3 * CRC_LANE;
	}
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t ff__crc32c(uint32_t crc, const void *data, size_t n)
{
	pthread_once(&crc_once, crc_init);
	uint32_t c = ~crc;
#if defined(__x86_64__)
	if (crc_hw_ok)
		return ~crc_hw(c, data, n);
#endif
	return ~crc_sw(c, data, n);
}

/* ----------------------------------------------------------------- numbers */

_Static_assert(FF__CODE_MAX == FF__ENC_SCALE_MAX, "codes and scales share ff__p10");
const double ff__p10[FF__ENC_SCALE_MAX + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * The decimal mantissa w of |v| written with `code` fraction digits. The
 * importer stores a code only for a mantissa w < 2^50 that it parsed as
 * v = w / 10^code with one correctly rounded division; then |v| * 10^code
 * is within w * 2^-52 < 0.25 of w and this returns w, so the rebuilt text
 * is the source text (test_csv checks it on random values). noinline keeps
 * one instruction sequence for every caller. UINT64_MAX when v cannot
 * stand for such a mantissa (a corrupted file).
 */
__attribute__((noinline)) uint64_t ff__fixed_mantissa(double v, unsigned code)
{
	if (code > FF__CODE_MAX)
		return UINT64_MAX;
	double a = fabs(v) * ff__p10[code];
	if (!(a < 4503599627370496.0)) /* 2^52, also false for NaN */
		return UINT64_MAX;
	return (uint64_t)(a + 0.5);
}

/* ------------------------------------------------------- column encoding */

/*
 * Decoding an FF__ENC_I32(s) column is one IEEE division per value of two
 * exact doubles (|m| < 2^31, 10^s for s <= 22), so it is correctly rounded
 * whatever the instruction width: the AVX-512, AVX2 and scalar loops give
 * the same bits. The wide ones are picked once by the CPU
 * (__builtin_cpu_supports); a build for any x86-64 runs everywhere.
 */
void ff__dec_i32_scalar(double *restrict out, const int32_t *restrict m, size_t n, unsigned s)
{
	const double p = ff__p10[s];
	for (size_t i = 0; i < n; i++)
		out[i] = (double)m[i] / p;
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void dec_i32_avx512(double *restrict out, const int32_t *restrict m, size_t n, unsigned s)
{
	const __m512d p = _mm512_set1_pd(ff__p10[s]);
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(m + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(m + i + 8));
		_mm512_storeu_pd(out + i, _mm512_div_pd(_mm512_cvtepi32_pd(a), p));
		_mm512_storeu_pd(out + i + 8, _mm512_div_pd(_mm512_cvtepi32_pd(b), p));
	}
	ff__dec_i32_scalar(out + i, m + i, n - i, s);
}

__attribute__((target("avx2")))
static void dec_i32_avx2(double *restrict out, const int32_t *restrict m, size_t n, unsigned s)
{
	const __m256d p = _mm256_set1_pd(ff__p10[s]);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(m + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(m + i + 4));
		_mm256_storeu_pd(out + i, _mm256_div_pd(_mm256_cvtepi32_pd(a), p));
		_mm256_storeu_pd(out + i + 4, _mm256_div_pd(_mm256_cvtepi32_pd(b), p));
	}
	ff__dec_i32_scalar(out + i, m + i, n - i, s);
}

typedef void (*dec_fn)(double *restrict, const int32_t *restrict, size_t, unsigned);
static dec_fn dec_pick;
static pthread_once_t dec_once = PTHREAD_ONCE_INIT;

static void dec_init(void)
{
	__builtin_cpu_init();
	dec_pick = __builtin_cpu_supports("avx512f") ? dec_i32_avx512 :
		   __builtin_cpu_supports("avx2") ? dec_i32_avx2 : ff__dec_i32_scalar;
}
#endif

void ff__dec_i32(double *restrict out, const int32_t *restrict m, size_t n, unsigned s)
{
#if defined(__x86_64__)
	pthread_once(&dec_once, dec_init);
	dec_pick(out, m, n, s);
#else
	ff__dec_i32_scalar(out, m, n, s);
#endif
}

bool ff__enc_fit(double v, unsigned s, int32_t *m)
{
	if (s > FF__ENC_SCALE_MAX)
		return false;
	double a = v * ff__p10[s];
	if (!(fabs(a) <= 2147483647.0)) /* also false for NaN */
		return false;
	int32_t r = (int32_t)nearbyint(a);
	double back = (double)r / ff__p10[s];
	/* bit for bit: -0.0 (back is +0.0) and near misses do not fit */
	if (memcmp(&back, &v, sizeof(v)))
		return false;
	*m = r;
	return true;
}

/* Rewrites the first n mantissas of an FF__ENC_I32(s) column as doubles. */
static void enc_to_f64(unsigned char *col, size_t n, unsigned s)
{
	/* backwards: double i covers mantissas 2i and 2i+1, both done already */
	for (size_t i = n; i-- > 0;) {
		int32_t m;
		memcpy(&m, col + 4 * i, 4);
		double v = (double)m / ff__p10[s];
		memcpy(col + 8 * i, &v, 8);
	}
}

static const int64_t enc_p10i[10] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

/* m * 10^k as an int32 mantissa, if it fits. */
static bool enc_scale_up(int64_t m, unsigned k, int32_t *out)
{
	if (k >= FF_ARRAY_SIZE(enc_p10i))
		return false;
	int64_t r = m * enc_p10i[k]; /* |m| < 2^32, 10^9 < 2^30: no overflow */
	if (r > INT32_MAX || r < -INT32_MAX)
		return false;
	*out = (int32_t)r;
	return true;
}

/* Moves the column from scale s to t > s when all its n mantissas fit. */
static bool enc_rescale(unsigned char *col, size_t n, unsigned s, unsigned t)
{
	if (t - s >= FF_ARRAY_SIZE(enc_p10i))
		return false;
	int64_t lim = INT32_MAX / enc_p10i[t - s];
	for (size_t i = 0; i < n; i++) {
		int32_t m;
		memcpy(&m, col + 4 * i, 4);
		if (m > lim || m < -lim)
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		int32_t m;
		memcpy(&m, col + 4 * i, 4);
		m = (int32_t)(m * enc_p10i[t - s]);
		memcpy(col + 4 * i, &m, 4);
	}
	return true;
}

void ff__enc_put(uint8_t *st, void *slot, size_t i, double v, bool exact, int64_t m, unsigned s)
{
	unsigned char *col = slot;
	unsigned cur = *st;
	if (cur == FF__ENCST_F64) {
		if (exact)
			v = (double)m / ff__p10[s];
		goto f64;
	}
	int32_t mm;
	if (exact) {
		if (m > INT32_MAX || m < -INT32_MAX || s > FF__ENC_SCALE_MAX)
			goto fail;
		mm = (int32_t)m;
	} else {
		/* try the column's scale, or the hint for its first value */
		unsigned t = cur == FF__ENCST_UNSET ? s : cur;
		if (!ff__enc_fit(v, t, &mm))
			goto fail;
		s = t;
	}
	if (cur == FF__ENCST_UNSET || !i) {
		*st = (uint8_t)s;
	} else if (s < cur) {
		if (!enc_scale_up(mm, cur - s, &mm))
			goto fail;
	} else if (s > cur) {
		if (!enc_rescale(col, i, cur, s))
			goto fail;
		*st = (uint8_t)s;
	}
	memcpy(col + 4 * i, &mm, 4);
	return;
fail:
	if (exact)
		v = (double)m / ff__p10[s];
	if (cur != FF__ENCST_UNSET && i)
		enc_to_f64(col, i, cur);
	*st = FF__ENCST_F64;
f64:
	memcpy(col + 8 * i, &v, 8);
}

size_t ff__fmt_fixed(double v, unsigned code, char out[48])
{
	uint64_t w = ff__fixed_mantissa(v, code);
	if (w == UINT64_MAX)
		return ff_double_to_text(v, out);
	char digits[32];
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + w % 10);
		w /= 10;
	} while (w);
	while (nd < (size_t)code + 1)
		digits[nd++] = '0';
	size_t n = 0;
	if (signbit(v))
		out[n++] = '-';
	while (nd > code)
		out[n++] = digits[--nd];
	if (code) {
		out[n++] = '.';
		while (nd)
			out[n++] = digits[--nd];
	}
	out[n] = '\0';
	return n;
}

size_t ff_double_to_text(double v, char out[FF_DOUBLE_TEXT_MAX])
{
	if (isnan(v))
		return (size_t)snprintf(out, FF_DOUBLE_TEXT_MAX, "nan");
	if (isinf(v))
		return (size_t)snprintf(out, FF_DOUBLE_TEXT_MAX, v < 0 ? "-inf" : "inf");
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(out, FF_DOUBLE_TEXT_MAX, "%.*g", prec, v);
		double back;
		if (ff_text_to_double(out, (size_t)n, &back) == FF_OK &&
		    !memcmp(&back, &v, sizeof(v)))
			break;
	}
	return (size_t)n;
}

/* ------------------------------------------------------------------- block */

int ff__block_init(struct ff__block *b, size_t d, size_t ncodes, bool text, bool mid, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->d = d;
	b->ncodes = ncodes;
	b->text = text;
	b->mid = mid;
	ff_buf_init(&b->sid, UINT32_MAX);
	ff_buf_init(&b->mids, UINT32_MAX);
	ff_buf_init(&b->txt, UINT32_MAX);
	size_t nvals, val_bytes, ncode_bytes;
	if (!cap || !ff_st_mult(d + 2, cap, &nvals) ||
	    !ff_st_mult(nvals, sizeof(double), &val_bytes) || !ff_st_mult(cap, ncodes, &ncode_bytes))
		return FF_ENOMEM;
	b->cap = cap;
	/* values and codes are written before they are read (rows < n): not
	 * zeroed, so pages a block never fills are never touched */
	if (!(b->vals = ff_malloc(val_bytes)) || !FF_ALLOC_ARRAY(b->sid_off, cap + 1) ||
	    !(b->seal.enc = ff_malloc(d + 2)))
		goto oom;
	if (mid && !FF_ALLOC_ARRAY(b->mid_off, cap + 1))
		goto oom;
	if (text && (!FF_ALLOC_ARRAY(b->kind, cap) ||
		     !(b->codes = ff_malloc(ncode_bytes ? ncode_bytes : 1)) ||
		     !FF_ALLOC_ARRAY(b->text_off, cap + 1)))
		goto oom;
	return FF_OK;
oom:
	ff__block_release(b);
	return FF_ENOMEM;
}

void ff__block_release(struct ff__block *b)
{
	ff_free(b->vals);
	ff_free(b->sid_off);
	ff_free(b->mid_off);
	ff_free(b->kind);
	ff_free(b->codes);
	ff_free(b->text_off);
	ff_free(b->seal.enc);
	ff_buf_release(&b->sid);
	ff_buf_release(&b->mids);
	ff_buf_release(&b->txt);
	memset(b, 0, sizeof(*b));
}

void ff__block_reset(struct ff__block *b)
{
	b->n = 0;
	b->seal.done = false;
	ff_buf_reset(&b->sid);
	ff_buf_reset(&b->mids);
	ff_buf_reset(&b->txt);
}

/* Reallocates an optional array to new_n elements keeping the contents. */
static int block_regrow(void **p, size_t elem, size_t new_n)
{
	size_t bytes;
	if (!*p)
		return FF_OK;
	if (!ff_st_mult(elem, new_n, &bytes))
		return FF_ENOMEM;
	void *q = ff_realloc(*p, bytes);
	if (!q)
		return FF_ENOMEM;
	*p = q;
	return FF_OK;
}

int ff__block_grow(struct ff__block *b)
{
	size_t cap2, nvals, ncb;
	if (!ff_st_mult(b->cap, 2, &cap2) || !ff_st_mult(b->d + 2, cap2, &nvals) ||
	    !ff_st_mult(cap2, b->ncodes, &ncb))
		return FF_ENOMEM;
	double *vals;
	if (!FF_ALLOC_ARRAY(vals, nvals))
		return FF_ENOMEM;
	for (size_t j = 0; j < b->d + 2; j++)
		memcpy(vals + j * cap2, b->vals + j * b->cap, b->n * sizeof(double));
	int ret;
	if ((ret = block_regrow((void **)&b->sid_off, 4, cap2 + 1)) ||
	    (ret = block_regrow((void **)&b->mid_off, 4, cap2 + 1)) ||
	    (ret = block_regrow((void **)&b->kind, 1, cap2)) ||
	    (ret = block_regrow((void **)&b->codes, 1, ncb ? ncb : 1)) ||
	    (ret = block_regrow((void **)&b->text_off, 4, cap2 + 1))) {
		ff_free(vals);
		return ret;
	}
	ff_free(b->vals);
	b->vals = vals;
	b->cap = cap2;
	return FF_OK;
}

int ff__block_put_str(struct ff_buf *buf, uint32_t *off, size_t row, const char *s, size_t n)
{
	if (row == 0)
		off[0] = 0;
	int ret = ff_buf_add(buf, s, n);
	if (ret)
		return ret;
	off[row + 1] = (uint32_t)buf->len;
	return FF_OK;
}

size_t ff__ids_size(size_t n, size_t bytes)
{
	return ff__align8(4 * (n + 1) + bytes);
}

size_t ff__text_size(size_t n, size_t ncodes, bool shared, size_t bytes)
{
	return ff__align8(n + (shared ? 1 : n) * ncodes) + ff__align8(4 * (n + 1) + bytes);
}

/* -------------------------------------------------------------------- meta */

int ff__meta_load(const char *dir, json_t **out, struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT;
	char *path = ff_asprintf("%s/%s", dir, FF__META_FILE);
	int ret = FF_OK;
	*out = NULL;
	if (!path)
		return FF_ENOMEM;
	if (!fs_is_dir(dir)) {
		ret = ff_error_set(err, FF_ENOTABLE, "no table at '%s'", dir);
		goto out;
	}
	ret = fs_read_file(path, &b, err);
	if (ret == FF_ENOENT) {
		ret = ff_error_set(err, FF_ENOTABLE, "no table at '%s' (no %s)", dir, FF__META_FILE);
		goto out;
	}
	if (ret)
		goto out;
	ret = jsonx_parse(b.buf, b.len, out, err);
	if (ret) {
		ff_error_prefix(err, "corrupted table meta '%s'", path);
		ret = FF_EDATA;
		if (err)
			err->code = FF_EDATA;
	}
out:
	ff_buf_release(&b);
	ff_free(path);
	return ret;
}

void ff__layout_release(struct ff__text_layout *t)
{
	ff_free(t->header);
	ff_free(t->layout);
	memset(t, 0, sizeof(*t));
}

int ff__layout_copy(struct ff__text_layout *dst, const struct ff__text_layout *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->delimiter = src->delimiter;
	dst->final_newline = src->final_newline;
	if (src->header && !(dst->header = ff_strdup(src->header)))
		return FF_ENOMEM;
	if (src->nlayout) {
		if (!FF_ALLOC_ARRAY(dst->layout, src->nlayout)) {
			ff__layout_release(dst);
			return FF_ENOMEM;
		}
		memcpy(dst->layout, src->layout, src->nlayout * sizeof(int));
	}
	dst->nlayout = src->nlayout;
	return FF_OK;
}

json_t *ff__layout_to_json(const struct ff__text_layout *t)
{
	char delim[2] = { t->delimiter, '\0' };
	json_t *cols = json_array();
	json_t *o = json_pack("{s:o?, s:s, s:b}", "header",
			      t->header ? json_string(t->header) : json_null(), "delimiter",
			      delim, "final_newline", (int)t->final_newline);
	if (!o || !cols)
		goto fail;
	for (size_t i = 0; i < t->nlayout; i++)
		if (json_array_append_new(cols, json_integer(t->layout[i])))
			goto fail;
	if (json_object_set_new(o, "layout", cols)) {
		cols = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(cols);
	json_decref(o);
	return NULL;
}

int ff__layout_from_json(struct ff__text_layout *t, const json_t *j, const struct ff_schema *s,
			 struct ff_error *err)
{
	memset(t, 0, sizeof(*t));
	const json_t *h = json_object_get(j, "header");
	const char *delim = jsonx_str(j, "delimiter");
	const json_t *fin = json_object_get(j, "final_newline");
	const json_t *lay = json_object_get(j, "layout");
	if (!json_is_object(j) || (h && !json_is_null(h) && !json_is_string(h)) || !delim ||
	    strlen(delim) != 1 || !json_is_boolean(fin) || !json_is_array(lay))
		return ff_error_set(err, FF_EDATA, "bad 'text' object in table meta");
	t->delimiter = delim[0];
	t->final_newline = json_is_true(fin);
	if (json_is_string(h) && !(t->header = ff_strdup(json_string_value(h))))
		return FF_ENOMEM;
	size_t n = json_array_size(lay);
	if (n && !FF_ALLOC_ARRAY(t->layout, n)) {
		ff__layout_release(t);
		return FF_ENOMEM;
	}
	t->nlayout = n;
	bool seen_id = false;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(lay, i);
		json_int_t c = json_is_integer(v) ? json_integer_value(v) : INT32_MIN;
		bool ok = (c >= 0 && (size_t)c < s->n_features) || (c == FF__COL_ID && !seen_id) ||
			  (c == FF__COL_LABEL && s->label_name) ||
			  (c == FF__COL_WEIGHT && s->weight_name);
		if (!ok) {
			ff__layout_release(t);
			return ff_error_set(err, FF_EDATA, "bad text layout entry %zu in table meta", i);
		}
		seen_id |= c == FF__COL_ID;
		t->layout[i] = (int)c;
	}
	if (n && !seen_id) {
		ff__layout_release(t);
		return ff_error_set(err, FF_EDATA, "text layout without id column in table meta");
	}
	return FF_OK;
}

/* ------------------------------------------------------------------- paths */

int ff_table_dir(const char *home, const char *namespace_, const char *name, char **out,
		 struct ff_error *err)
{
	*out = NULL;
	if (!home || !*home)
		return ff_error_set(err, FF_EINVAL, "empty data home");
	if (!fs_name_ok(namespace_, FF_TABLE_NAME_MAX))
		return ff_error_set(err, FF_EINVAL, "invalid namespace '%s'",
				    namespace_ ? namespace_ : "");
	if (!fs_name_ok(name, FF_TABLE_NAME_MAX))
		return ff_error_set(err, FF_EINVAL, "invalid table name '%s'", name ? name : "");
	*out = ff_asprintf("%s/%s/%s", home, namespace_, name);
	return *out ? FF_OK : FF_ENOMEM;
}

bool ff_table_exists(const char *dir)
{
	char *p = ff_asprintf("%s/%s", dir, FF__META_FILE);
	bool ok = p && fs_exists(p);
	ff_free(p);
	return ok;
}

int ff_table_destroy(const char *dir, struct ff_error *err)
{
	/* Rename first so no reader ever opens a half-deleted table. */
	char rnd[33];
	clock_uuid_hex(rnd);
	rnd[8] = '\0';
	char *copy = ff_strdup(dir);
	char *gone = NULL;
	int ret = FF_OK;
	if (!copy)
		return FF_ENOMEM;
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	gone = slash ? ff_asprintf("%.*s/.%s.del-%d-%s", (int)(slash - copy), copy, base,
				   (int)getpid(), rnd)
		     : ff_asprintf(".%s.del-%d-%s", base, (int)getpid(), rnd);
	if (!gone) {
		ret = FF_ENOMEM;
		goto out;
	}
	if (rename(copy, gone)) {
		if (errno == ENOENT)
			goto out;
		ret = ff_error_set(err, ff_from_errno(errno), "cannot delete table '%s': %s", dir,
				   strerror(errno));
		goto out;
	}
	ret = fs_rm_rf(gone);
	if (ret)
		ff_error_set(err, ret, "cannot delete table files '%s'", gone);
out:
	ff_free(gone);
	ff_free(copy);
	return ret;
}
