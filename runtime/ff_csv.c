// SPDX-License-Identifier: Apache-2.0
/*
 * ff_csv.c - CSV import into a standalone table (what the `upload`
 * component runs) and CSV export of a table (download and display).
 *
 * DESIGN. Import streams the file through one read buffer (8 MiB, or more
 * for a larger line limit) and one columnar block, so memory does not grow
 * with the file, except for the set of ids kept to refuse duplicates when
 * the ids are the sample ids (O(rows), the ids themselves). Each line is
 * found with memchr, then its fields are parsed left to right in place:
 * numbers go through a hand-written parser whose fast path (at most 19
 * significant digits, no exponent, mantissa <= 2^53) computes w / 10^k with
 * one correctly rounded division - Clinger's exact case, the same double
 * strtod returns - and anything else goes to strtod_l in the C locale after
 * a strict syntax check. Partitions are contiguous byte ranges of the file:
 * a line starting at or after (p/P) of the data bytes opens partition p.
 *
 * Text. A row whose fields are all in canonical fixed notation ("-0.28757",
 * "0.287570", "12"; no '+', spaces, exponent or leading zeros, mantissa <
 * 2^50) is stored as its values plus one code per field (the number of
 * fraction digits); ff__fmt_fixed rebuilds exactly that text (the bound on
 * the mantissa keeps |v * 10^k - w| < 0.25, see ff_table.c). Any other row
 * keeps its line verbatim. Export therefore reproduces the source bytes.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clock.h"
#include "ff_table_int.h"
#include "jsonx.h"
#include "mem.h"

#define CSV_BUF_MIN ((size_t)8 << 20)
/* mantissas below this rebuild exactly from their double (see above) */
#define CSV_CODE_WMAX ((uint64_t)1 << 50)
/* excerpt of a bad value in messages */
#define CSV_SHOW 24

static const double csv_p10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* ----------------------------------------------------------------- numbers */

static locale_t csv_c_locale;
static pthread_once_t csv_locale_once = PTHREAD_ONCE_INIT;

static void csv_locale_init(void)
{
	csv_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * Strict syntax of a decimal number starting at s: [+-] digits [. digits]
 * [(e|E) [+-] digits], at least one mantissa digit. Returns the end, or s.
 */
static const char *csv_num_syntax(const char *s)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	size_t nd = 0;
	while ((unsigned)(*p - '0') < 10) {
		p++;
		nd++;
	}
	if (*p == '.') {
		p++;
		while ((unsigned)(*p - '0') < 10) {
			p++;
			nd++;
		}
	}
	if (!nd)
		return s;
	if (*p == 'e' || *p == 'E') {
		const char *e = p + 1;
		if (*e == '+' || *e == '-')
			e++;
		if ((unsigned)(*e - '0') >= 10)
			return s;
		while ((unsigned)(*e - '0') < 10)
			e++;
		p = e;
	}
	return p;
}

/* The slow path: strtod_l on a checked span. FF_ERANGE on overflow. */
static int csv_num_slow(const char *s, const char **end, double *v)
{
	const char *e = csv_num_syntax(s);
	if (e == s)
		return FF_EINVAL;
	pthread_once(&csv_locale_once, csv_locale_init);
	char *stop;
	errno = 0;
	double r = csv_c_locale ? strtod_l(s, &stop, csv_c_locale) : strtod(s, &stop);
	/* strtod may read further only on forms the syntax refused ("1e5x" stops
	 * at 'x' in both); a shorter read cannot happen on a valid span */
	if (stop != e)
		return FF_EINVAL;
	if (isinf(r))
		return FF_ERANGE;
	*v = r;
	*end = e;
	return FF_OK;
}

static const uint64_t csv_p10u[9] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
};

/* Leading decimal digits (0..8) of the 8 bytes whose value XOR '0'*8 is x. */
static inline unsigned csv_ndigits(uint64_t x)
{
	/* a byte is a digit iff it is < 10 after the XOR: adding 0x76 to its low
	 * seven bits sets bit 7 for 10..127, and bit 7 of x covers the rest */
	uint64_t y = (x & 0x7F7F7F7F7F7F7F7Full) + 0x7676767676767676ull;
	uint64_t nd = (y | x) & 0x8080808080808080ull;
	return nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
}

/* Value of the first k (1..8) digit bytes of x (first digit lowest byte). */
static inline uint64_t csv_swar(uint64_t x, unsigned k)
{
	x <<= 8 * (8 - k); /* drop the bytes after the digits, pad with zeros in front */
	x = ((x & 0x0F0F0F0F0F0F0F0Full) * 2561) >> 8;
	x = ((x & 0x00FF00FF00FF00FFull) * 6553601) >> 16;
	return ((x & 0x0000FFFF0000FFFFull) * 42949672960001ull) >> 32;
}

/*
 * Digits at p, eight at a time, into *w (which wraps beyond 19 digits: the
 * caller then takes the slow path). Reads up to 8 bytes past the last
 * digit: every buffer handed to csv_num has 16 readable bytes after the
 * line end.
 */
static inline const char *csv_digits(const char *p, uint64_t *w, size_t *count)
{
	for (;;) {
		uint64_t v;
		memcpy(&v, p, 8);
		uint64_t x = v ^ 0x3030303030303030ull;
		unsigned k = csv_ndigits(x);
		if (!k)
			return p;
		*w = *w * csv_p10u[k] + csv_swar(x, k);
		*count += k;
		p += k;
		if (k < 8)
			return p;
	}
}

/*
 * Parses a number at p (the field runs to a delimiter or the line end, both
 * non-digits). Returns the end and sets *v and *code: the fraction digit
 * count when the text is canonical fixed notation with a small mantissa,
 * else -1. Returns p on a syntax error and NULL on overflow.
 */
__attribute__((always_inline))
static inline const char *csv_num(const char *p, double *v, int *code)
{
	const char *s = p;
	bool neg = *p == '-';
	p += neg;
	const char *d0 = p;
	uint64_t w = 0;
	size_t ni = 0, nf = 0;
	p = csv_digits(p, &w, &ni);
	if (*p == '.') {
		const char *f0 = ++p;
		p = csv_digits(p, &w, &nf);
		if (p == f0)
			goto slow; /* "5." */
	}
	if (!ni || ni + nf > 19 || w > ((uint64_t)1 << 53) || nf > 22 || *p == 'e' || *p == 'E')
		goto slow;
	double r = (double)w;
	if (nf)
		r /= csv_p10[nf];
	*v = neg ? -r : r;
	*code = (ni > 1 && *d0 == '0') || w >= CSV_CODE_WMAX ? -1 : (int)nf;
	return p;
slow:;
	const char *e;
	int ret = csv_num_slow(s, &e, v);
	*code = -1;
	if (ret == FF_ERANGE)
		return NULL;
	return ret ? s : e;
}

int ff_text_to_double(const char *s, size_t n, double *out)
{
	/* csv_num needs a terminator that is not part of a number, and 16
	 * readable bytes after it */
	char small[96];
	char *copy = n + 17 <= sizeof(small) ? small : ff_malloc(n + 17);
	if (!copy)
		return FF_ENOMEM;
	memcpy(copy, s, n);
	memset(copy + n, 0, 17);
	int code, ret = FF_OK;
	double v;
	const char *e = csv_num(copy, &v, &code);
	if (!e)
		ret = FF_ERANGE;
	else if (e == copy || e != copy + n)
		ret = FF_EINVAL;
	else
		*out = v;
	if (copy != small)
		ff_free(copy);
	return ret;
}

/* ------------------------------------------------------------- id set */

/* Open-addressing set of id strings with the line each was first seen on. */
struct csv_ids {
	uint64_t *slot;        /* arena offset + 1, 0 = empty */
	size_t mask, used;
	char *arena;           /* records: u64 line, u32 len, bytes */
	size_t len, cap;
};

static uint64_t csv_hash(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
	while (n >= 8) {
		uint64_t k;
		memcpy(&k, s, 8);
		h = (h ^ k) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t k = 0;
	memcpy(&k, s, n);
	h = (h ^ k) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static void csv_ids_release(struct csv_ids *set)
{
	ff_free(set->slot);
	ff_free(set->arena);
	memset(set, 0, sizeof(*set));
}

static int csv_ids_grow(struct csv_ids *set)
{
	size_t n = set->slot ? (set->mask + 1) * 2 : 1024;
	uint64_t *slot;
	if (!FF_ALLOC_ARRAY(slot, n))
		return FF_ENOMEM;
	for (size_t i = 0; set->slot && i <= set->mask; i++) {
		uint64_t o = set->slot[i];
		if (!o)
			continue;
		uint32_t len;
		memcpy(&len, set->arena + o - 1 + 8, 4);
		size_t h = (size_t)csv_hash(set->arena + o - 1 + 12, len) & (n - 1);
		while (slot[h])
			h = (h + 1) & (n - 1);
		slot[h] = o;
	}
	ff_free(set->slot);
	set->slot = slot;
	set->mask = n - 1;
	return FF_OK;
}

/* Adds s; FF_EEXIST (and *first = its line) when it was there already. */
static int csv_ids_add(struct csv_ids *set, const char *s, size_t n, uint64_t line,
		       uint64_t *first)
{
	if ((set->used + 1) * 4 > (set->slot ? set->mask + 1 : 0) * 3) {
		int ret = csv_ids_grow(set);
		if (ret)
			return ret;
	}
	size_t h = (size_t)csv_hash(s, n) & set->mask;
	for (uint64_t o; (o = set->slot[h]); h = (h + 1) & set->mask) {
		const char *r = set->arena + o - 1;
		uint32_t len;
		memcpy(&len, r + 8, 4);
		if (len == n && !memcmp(r + 12, s, n)) {
			memcpy(first, r, 8);
			return FF_EEXIST;
		}
	}
	size_t need = set->len + 12 + n;
	if (need > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : (size_t)1 << 16;
		while (cap < need)
			cap *= 2;
		char *a = ff_realloc(set->arena, cap);
		if (!a)
			return FF_ENOMEM;
		set->arena = a;
		set->cap = cap;
	}
	uint32_t len = (uint32_t)n;
	memcpy(set->arena + set->len, &line, 8);
	memcpy(set->arena + set->len + 8, &len, 4);
	memcpy(set->arena + set->len + 12, s, n);
	set->slot[h] = set->len + 1;
	set->len = need;
	set->used++;
	return FF_OK;
}

/* ------------------------------------------------------------------ import */

struct csv_imp {
	const char *file;
	const struct ff_csv_opts *o;
	struct ff_error *err;
	char delim;
	int fd;
	uint64_t fsize;
	/* header */
	char *header_raw;      /* the header line as in the file, without '\n' */
	size_t ncols;
	char **names;          /* ncols owned names */
	int *layout;           /* ncols: FF__COL_* or feature index */
	size_t id_col;
	bool label_int, label_bool;
	struct ff_schema schema;
	/* input */
	char *buf;
	size_t cap, len, pos;  /* pos: first unparsed byte */
	uint64_t buf_off;      /* file offset of buf[0] */
	bool eof;
	bool final_newline;
	uint64_t line;         /* number of the next line (1-based) */
	uint64_t data_off;     /* file offset of the first data line */
	/* output */
	struct ff_table_writer *w;
	struct ff__block blk;
	double **dst;          /* ncols: where each column's value goes (NULL for the id) */
	unsigned part;
	uint64_t next_bound;   /* file offset that opens partition part + 1 */
	char sid_prefix[33];
	struct csv_ids ids;
	uint64_t rows;
};

/* "what at 'file' line L[, column K 'name']" */
FF_PRINTF(4, 5)
static int csv_err(struct csv_imp *c, uint64_t line, size_t col, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (col == SIZE_MAX)
		return ff_error_set(c->err, FF_EDATA, "%s at '%s' line %llu", what, c->file,
				    (unsigned long long)line);
	if (c->names && col < c->ncols)
		return ff_error_set(c->err, FF_EDATA, "%s at '%s' line %llu, column %zu '%.40s'",
				    what, c->file, (unsigned long long)line, col + 1, c->names[col]);
	return ff_error_set(c->err, FF_EDATA, "%s at '%s' line %llu, column %zu", what, c->file,
			    (unsigned long long)line, col + 1);
}

/* Copies at most CSV_SHOW bytes of the field at p (to a delimiter or le). */
static void csv_show(const struct csv_imp *c, const char *p, const char *le, char out[CSV_SHOW + 4])
{
	size_t n = 0;
	while (p + n < le && p[n] != c->delim && n < CSV_SHOW)
		n++;
	memcpy(out, p, n);
	bool more = p + n < le && p[n] != c->delim;
	if (more)
		memcpy(out + n, "...", 3);
	out[n + (more ? 3 : 0)] = '\0';
}

/* Reads more input behind the unparsed rest (moved to the front). */
static int csv_fill(struct csv_imp *c)
{
	if (c->pos) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->buf_off += c->pos;
		c->len -= c->pos;
		c->pos = 0;
	}
	while (!c->eof && c->len < c->cap) {
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ff_error_set(c->err, ff_from_errno(errno), "cannot read '%s': %s",
					    c->file, strerror(errno));
		if (n == 0)
			c->eof = true;
		c->len += (size_t)n;
	}
	return FF_OK;
}

/*
 * Finds the next line: *start and *eol ('\n', or a sentinel added after a
 * last line without one). 0 at the end of the file.
 */
static int csv_next_line(struct csv_imp *c, char **start, char **eol)
{
	for (;;) {
		char *p = c->buf + c->pos;
		size_t avail = c->len - c->pos;
		char *nl = memchr(p, '\n', avail);
		if (nl) {
			if ((size_t)(nl - p) + 1 > c->o->line_max)
				break;
			*start = p;
			*eol = nl;
			return 1;
		}
		if (avail > c->o->line_max)
			break;
		if (c->eof) {
			if (!avail)
				return 0;
			p[avail] = '\n'; /* the buffer keeps one spare byte */
			c->len++;
			c->final_newline = false;
			continue;
		}
		int ret = csv_fill(c);
		if (ret)
			return ret;
	}
	/* count the fields within the limit for the message */
	const char *p = c->buf + c->pos;
	size_t col = 0;
	for (size_t i = 0; i < c->o->line_max && i < c->len - c->pos; i++)
		col += p[i] == c->delim;
	return csv_err(c, c->line, col, "line longer than %zu bytes", c->o->line_max);
}

static void csv_free_names(struct csv_imp *c)
{
	for (size_t i = 0; c->names && i < c->ncols; i++)
		ff_free(c->names[i]);
	FF_FREE_AND_NULL(c->names);
}

/* Splits [p, e) by the delimiter into c->names. */
static int csv_split_names(struct csv_imp *c, const char *p, const char *e)
{
	size_t n = 1;
	for (const char *q = p; q < e; q++)
		n += *q == c->delim;
	if (!FF_ALLOC_ARRAY(c->names, n))
		return FF_ENOMEM;
	c->ncols = n;
	for (size_t k = 0; k < n; k++) {
		const char *q = memchr(p, c->delim, (size_t)(e - p));
		if (!q)
			q = e;
		if (!(c->names[k] = ff_strndup(p, (size_t)(q - p))))
			return FF_ENOMEM;
		p = q + 1;
	}
	return FF_OK;
}

static long csv_find(const struct csv_imp *c, const char *name)
{
	for (size_t k = 0; k < c->ncols; k++)
		if (!strcmp(c->names[k], name))
			return (long)k;
	return -1;
}

/* Reads the header (or makes names) and decides every column's role. */
static int csv_header(struct csv_imp *c)
{
	const struct ff_csv_opts *o = c->o;
	char *s, *eol;
	int ret = csv_next_line(c, &s, &eol);
	if (ret < 0)
		return ret;
	if (ret == 0)
		return csv_err(c, 1, SIZE_MAX, "empty file (no %s)", o->head ? "header" : "rows");
	char *le = eol > s && eol[-1] == '\r' ? eol - 1 : eol;
	char *p = s;
	if (c->buf_off + c->pos == 0 && le - s >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		p += 3; /* a UTF-8 byte order mark is not part of the first name */
	if (o->head) {
		if (!(c->header_raw = ff_strndup(s, (size_t)(eol - s))))
			return FF_ENOMEM;
		if (!ff__utf8_ok(c->header_raw) || memchr(s, '\0', (size_t)(eol - s)))
			return csv_err(c, 1, SIZE_MAX, "header is not UTF-8 text");
		if ((ret = csv_split_names(c, p, le)))
			return ret;
		c->pos += (size_t)(eol - s) + 1;
		c->line++;
	} else if (o->header) {
		if ((ret = csv_split_names(c, o->header, o->header + strlen(o->header))))
			return ret;
	} else {
		size_t n = 1;
		for (const char *q = p; q < le; q++)
			n += *q == c->delim;
		if (!FF_ALLOC_ARRAY(c->names, n))
			return FF_ENOMEM;
		c->ncols = n;
		for (size_t k = 0; k < n; k++)
			if (!(c->names[k] = k ? ff_asprintf("x%zu", k - 1) : ff_strdup("id")))
				return FF_ENOMEM;
	}
	c->data_off = c->buf_off + c->pos;
	for (size_t k = 0; k < c->ncols; k++) {
		if (!*c->names[k])
			return csv_err(c, 1, k, "empty column name");
		for (size_t m = 0; m < k; m++)
			if (!strcmp(c->names[m], c->names[k]))
				return csv_err(c, 1, k, "duplicate column name '%.40s'", c->names[k]);
	}
	return FF_OK;
}

static int csv_roles(struct csv_imp *c)
{
	const struct ff_csv_opts *o = c->o;
	long id = 0, label = -1, weight = -1;
	if (o->match_id_name) {
		if ((id = csv_find(c, o->match_id_name)) < 0)
			return csv_err(c, 1, SIZE_MAX, "match id column '%.40s' not in header",
				       o->match_id_name);
	} else if (!o->extend_sid && o->sample_id_name) {
		if ((id = csv_find(c, o->sample_id_name)) < 0)
			return csv_err(c, 1, SIZE_MAX, "sample id column '%.40s' not in header",
				       o->sample_id_name);
	}
	if (o->label_name && (label = csv_find(c, o->label_name)) < 0)
		return csv_err(c, 1, SIZE_MAX, "label column '%.40s' not in header", o->label_name);
	if (o->weight_name && (weight = csv_find(c, o->weight_name)) < 0)
		return csv_err(c, 1, SIZE_MAX, "weight column '%.40s' not in header",
			       o->weight_name);
	if (label == id || weight == id)
		return csv_err(c, 1, (size_t)id, "id column cannot be the label or the weight");
	if (label >= 0 && label == weight)
		return csv_err(c, 1, (size_t)label, "label column cannot be the weight");
	const char *sid_name = c->names[id];
	if (o->extend_sid) {
		sid_name = o->sample_id_name ? o->sample_id_name : "sid";
		if (csv_find(c, sid_name) >= 0)
			return csv_err(c, 1, (size_t)csv_find(c, sid_name),
				       "sample id name '%.40s' already in header (extend_sid)",
				       sid_name);
	}
	int ret = ff_schema_set(&c->schema, sid_name, c->names[id],
				label >= 0 ? c->names[label] : NULL,
				weight >= 0 ? c->names[weight] : NULL);
	if (ret)
		return ret;
	if (label >= 0 && o->label_type) {
		ff_free(c->schema.label_type);
		if (!(c->schema.label_type = ff_strdup(o->label_type)))
			return FF_ENOMEM;
	}
	if (o->dtype) {
		ff_free(c->schema.dtype);
		if (!(c->schema.dtype = ff_strdup(o->dtype)))
			return FF_ENOMEM;
	}
	if (!FF_ALLOC_ARRAY(c->layout, c->ncols))
		return FF_ENOMEM;
	c->id_col = (size_t)id;
	for (size_t k = 0; k < c->ncols; k++) {
		if ((long)k == id) {
			c->layout[k] = FF__COL_ID;
		} else if ((long)k == label) {
			c->layout[k] = FF__COL_LABEL;
		} else if ((long)k == weight) {
			c->layout[k] = FF__COL_WEIGHT;
		} else {
			c->layout[k] = (int)c->schema.n_features;
			if ((ret = ff_schema_add_feature(&c->schema, c->names[k])))
				return ret;
		}
	}
	if ((ret = ff_schema_validate(&c->schema, c->err))) {
		ff_error_prefix(c->err, "'%s' line 1", c->file);
		return ret;
	}
	const char *lt = c->schema.label_type;
	c->label_int = label >= 0 && !strncmp(lt, "int", 3);
	c->label_bool = label >= 0 && !strcmp(lt, "bool");
	return FF_OK;
}

/* Points dst[k] at the block column that source column k fills. */
static void csv_bind(struct csv_imp *c)
{
	for (size_t k = 0; k < c->ncols; k++) {
		int l = c->layout[k];
		c->dst[k] = l == FF__COL_ID ? NULL :
			    l == FF__COL_LABEL ? c->blk.vals :
			    l == FF__COL_WEIGHT ? c->blk.vals + c->blk.cap :
			    ff__block_col(&c->blk, (size_t)l);
	}
}

/* Partition byte boundary p of the data (offset at which partition p starts). */
static uint64_t csv_bound(const struct csv_imp *c, unsigned p)
{
	uint64_t data = c->fsize - c->data_off, np = c->o->partitions;
	return c->data_off + data / np * p + data % np * p / np;
}

static int csv_flush(struct csv_imp *c)
{
	if (!c->blk.n)
		return FF_OK;
	return ff__writer_put_block(c->w, &c->blk, c->err);
}

/* A line at file offset off starts: flush and move on at partition boundaries. */
static int csv_partition(struct csv_imp *c, uint64_t off)
{
	if (off < c->next_bound)
		return FF_OK;
	int ret = csv_flush(c);
	while (!ret && off >= c->next_bound) {
		c->part++;
		c->next_bound = c->part + 1 < c->o->partitions ? csv_bound(c, c->part + 1) : UINT64_MAX;
	}
	if (!ret)
		ret = ff__writer_goto_partition(c->w, c->part, c->err);
	return ret;
}

static char *csv_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* The id field: stored as sample id (or match id with extend_sid), deduplicated. */
static int csv_id(struct csv_imp *c, const char *q, const char *e, size_t i)
{
	struct ff__block *b = &c->blk;
	size_t n = (size_t)(e - q);
	if (!n)
		return csv_err(c, c->line, c->id_col, "empty id");
	int ret;
	if (c->o->extend_sid) {
		char num[24], *s = csv_u64(num + sizeof(num), c->rows);
		size_t nl = (size_t)(num + sizeof(num) - s);
		if ((ret = ff__block_put_str(&b->sid, b->sid_off, i, c->sid_prefix, 32)))
			return ret;
		/* extend the entry just written with the row number */
		if ((ret = ff_buf_add(&b->sid, s, nl)))
			return ret;
		b->sid_off[i + 1] = (uint32_t)b->sid.len;
		return ff__block_put_str(&b->mids, b->mid_off, i, q, n);
	}
	uint64_t first;
	ret = csv_ids_add(&c->ids, q, n, c->line, &first);
	if (ret == FF_EEXIST) {
		char show[CSV_SHOW + 4];
		csv_show(c, q, e, show);
		return csv_err(c, c->line, c->id_col, "duplicate id '%s' (first at line %llu)", show,
			       (unsigned long long)first);
	}
	if (ret)
		return ret;
	return ff__block_put_str(&b->sid, b->sid_off, i, q, n);
}

/* Message for a field at q that is not a number. */
static int csv_bad_num(struct csv_imp *c, size_t k, const char *q, const char *le, bool range)
{
	char show[CSV_SHOW + 4];
	csv_show(c, q, le, show);
	const char *t = show;
	while (*t == ' ' || *t == '\t' || *t == '+' || *t == '-')
		t++;
	bool nonfinite = range || !strncasecmp(t, "nan", 3) || !strncasecmp(t, "inf", 3);
	const char *role = c->layout[k] == FF__COL_LABEL ? "label" :
			   c->layout[k] == FF__COL_WEIGHT ? "weight" : "feature";
	if (!*show)
		return csv_err(c, c->line, k, "empty %s value", role);
	return csv_err(c, c->line, k, "%s %s value '%s'", nonfinite ? "non-finite" : "non-numeric",
		       role, show);
}

/* Parses the line [s, eol) into row b->n of the block. */
static int csv_row(struct csv_imp *c, char *s, char *eol)
{
	struct ff__block *b = &c->blk;
	size_t i = b->n;
	int ret;
	if (i == b->cap || b->sid.len + b->mids.len + b->txt.len + (size_t)(eol - s) + 64 >
				   FF__BLOCK_STR_BYTES) {
		if ((ret = csv_flush(c)))
			return ret;
		i = 0;
	}
	bool cr = eol > s && eol[-1] == '\r';
	const char *le = cr ? eol - 1 : eol;
	const char *q = s;
	bool canon = !cr;
	if (c->buf_off + (size_t)(s - c->buf) == 0 && le - s >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
		q += 3;
		canon = false;
	}
	uint8_t *codes = b->codes + i * b->ncodes;
	size_t ci = 0, last = c->ncols - 1;
	for (size_t k = 0; k <= last; k++) {
		const char *e;
		if (c->layout[k] == FF__COL_ID) {
			e = memchr(q, c->delim, (size_t)(le - q));
			if (!e)
				e = le;
			if ((ret = csv_id(c, q, e, i)))
				return ret;
		} else {
			double v;
			int code;
			e = csv_num(q, &v, &code);
			if (!e || e == q || (*e != c->delim && e != le)) {
				/* spaces around a number are accepted (not canonical) */
				const char *t = q;
				while (t < le && (*t == ' ' || *t == '\t') && *t != c->delim)
					t++;
				e = t < le ? csv_num(t, &v, &code) : t;
				if (e && e != t)
					while (e < le && (*e == ' ' || *e == '\t') && *e != c->delim)
						e++;
				if (!e || e == t || (*e != c->delim && e != le))
					return csv_bad_num(c, k, q, le, !e);
				code = -1;
			}
			if (c->layout[k] == FF__COL_LABEL &&
			    ((c->label_int && v != floor(v)) || (c->label_bool && v != 0 && v != 1))) {
				char show[CSV_SHOW + 4];
				csv_show(c, q, le, show);
				return csv_err(c, c->line, k, "label value '%s' is not a%s (label_type %s)",
					       show, c->label_bool ? " bool" : "n integer",
					       c->schema.label_type);
			}
			c->dst[k][i] = v;
			canon &= code >= 0;
			codes[ci++] = (uint8_t)(code < 0 ? 0 : code);
		}
		if (k < last) {
			if (e == le) {
				size_t n = k + 1;
				return csv_err(c, c->line, n, "row has %zu columns, expected %zu", n,
					       c->ncols);
			}
			q = e + 1;
		} else if (e != le) {
			size_t n = c->ncols;
			for (const char *t = e; t < le; t++)
				n += *t == c->delim;
			return csv_err(c, c->line, c->ncols, "row has %zu columns, expected %zu", n,
				       c->ncols);
		}
	}
	b->kind[i] = canon ? FF__TEXT_CODES : FF__TEXT_RAW;
	if ((ret = ff__block_put_str(&b->txt, b->text_off, i, s, canon ? 0 : (size_t)(eol - s))))
		return ret;
	b->n = i + 1;
	c->rows++;
	return FF_OK;
}

static int csv_rows(struct csv_imp *c)
{
	char *s, *eol;
	int ret;
	while ((ret = csv_next_line(c, &s, &eol)) > 0) {
		if ((ret = csv_partition(c, c->buf_off + (size_t)(s - c->buf))))
			return ret;
		if (eol == s || (eol == s + 1 && *s == '\r'))
			return csv_err(c, c->line, SIZE_MAX, "empty line");
		if ((ret = csv_row(c, s, eol)))
			return ret;
		c->pos = (size_t)(eol - c->buf) + 1;
		c->line++;
	}
	if (ret)
		return ret;
	if (!c->rows)
		return csv_err(c, c->line, SIZE_MAX, "no data rows");
	return csv_flush(c);
}

static int csv_open_output(struct csv_imp *c, const char *dir)
{
	struct ff_table_writer_opts wo = FF_TABLE_WRITER_OPTS_INIT;
	wo.partitions = c->o->partitions;
	wo.keep_text = true;
	wo.header = c->header_raw;
	wo.delimiter = c->delim;
	wo.no_fsync = c->o->no_fsync;
	json_t *extra = json_pack("{s:b, s:s, s:b, s:s}", "extend_sid", (int)c->o->extend_sid,
				  "sid_prefix", c->sid_prefix, "have_head", (int)c->o->head,
				  "source", c->file);
	if (!extra)
		return FF_ENOMEM;
	wo.extra = extra;
	int ret = ff_table_writer_create(&c->w, dir, &c->schema, &wo, c->err);
	json_decref(extra);
	if (ret)
		return ret;
	struct ff__text_layout t = {
		.header = c->header_raw, .delimiter = c->delim, .final_newline = true,
		.nlayout = c->ncols, .layout = c->layout,
	};
	if ((ret = ff__writer_set_text(c->w, &t, c->err)))
		return ret;
	size_t d = c->schema.n_features;
	size_t cap = FF__BLOCK_VALUE_BYTES / (8 * (d + 2));
	cap = cap < 16 ? 16 : cap > FF__BLOCK_ROWS_MAX ? FF__BLOCK_ROWS_MAX : cap;
	if ((ret = ff__block_init(&c->blk, d, c->ncols - 1, true, c->o->extend_sid, cap)))
		return ret;
	if (!FF_ALLOC_ARRAY(c->dst, c->ncols))
		return FF_ENOMEM;
	csv_bind(c);
	c->part = 0;
	c->next_bound = c->o->partitions > 1 ? csv_bound(c, 1) : UINT64_MAX;
	return FF_OK;
}

static int csv_check_opts(const struct ff_csv_opts *o, struct ff_error *err)
{
	char d = o->delimiter;
	if (!d || strchr("\r\n0123456789.+-eE", d))
		return ff_error_set(err, FF_EPARAM, "invalid delimiter '%c'", d ? d : '?');
	if (o->partitions < 1 || o->partitions > FF_TABLE_PARTITIONS_MAX)
		return ff_error_set(err, FF_EPARAM, "partitions must be 1..%d",
				    FF_TABLE_PARTITIONS_MAX);
	if (o->line_max < 16 || o->line_max > ((size_t)1 << 30))
		return ff_error_set(err, FF_EPARAM, "line limit out of range");
	return FF_OK;
}

int ff_csv_import(const char *file, const char *dir, const struct ff_csv_opts *o,
		  struct ff_csv_result *res, struct ff_error *err)
{
	struct csv_imp c = { .file = file, .o = o, .err = err, .delim = o->delimiter, .fd = -1,
			     .line = 1, .final_newline = true };
	int ret = csv_check_opts(o, err);
	if (ret)
		return ret;
	if (res)
		memset(res, 0, sizeof(*res));
	c.fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (c.fd < 0 || fstat(c.fd, &st)) {
		ret = ff_error_set(err, errno == ENOENT ? FF_ENOFILE : ff_from_errno(errno),
				   "cannot open '%s': %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = ff_error_set(err, FF_EPARAM, "'%s' is not a regular file", file);
		goto out;
	}
	(void)posix_fadvise(c.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	c.fsize = (uint64_t)st.st_size;
	c.cap = CSV_BUF_MIN > 2 * o->line_max ? CSV_BUF_MIN : 2 * o->line_max;
	/* one spare byte for a missing final '\n', 16 readable ones for csv_num */
	if (!(c.buf = ff_calloc(1, c.cap + 1 + 16))) {
		ret = FF_ENOMEM;
		goto out;
	}
	if (o->extend_sid)
		clock_uuid_hex(c.sid_prefix);
	if ((ret = csv_fill(&c)) || (ret = csv_header(&c)) || (ret = csv_roles(&c)) ||
	    (ret = csv_open_output(&c, dir)) || (ret = csv_rows(&c)))
		goto out;
	ff__writer_final_newline(c.w, c.final_newline);
	ret = ff_table_writer_commit(c.w, err);
	if (!ret && res) {
		res->count = c.rows;
		res->bytes = c.fsize;
		memcpy(res->sid_prefix, c.sid_prefix, sizeof(res->sid_prefix));
	}
out:
	if (c.fd >= 0)
		close(c.fd);
	ff_table_writer_free(c.w); /* removes everything unless committed */
	ff__block_release(&c.blk);
	csv_ids_release(&c.ids);
	csv_free_names(&c);
	ff_free(c.layout);
	ff_free(c.dst);
	ff_free(c.buf);
	ff_free(c.header_raw);
	ff_schema_release(&c.schema);
	return ret;
}

/* ------------------------------------------------------------------ options */

void ff_csv_opts_init(struct ff_csv_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->head = true;
	o->partitions = 16;
	o->delimiter = ',';
	o->line_max = FF_CSV_LINE_MAX_DEFAULT;
}

static int csv_opt_str(const json_t *meta, const char *key, const char **out,
		       struct ff_error *err)
{
	const json_t *v = json_object_get(meta, key);
	if (!v || json_is_null(v))
		return FF_OK;
	if (!json_is_string(v))
		return ff_error_set(err, FF_EPARAM, "meta.%s must be a string", key);
	*out = json_string_value(v);
	if (!**out)
		*out = NULL;
	return FF_OK;
}

int ff_csv_opts_from_json(struct ff_csv_opts *o, const json_t *params, struct ff_error *err)
{
	ff_csv_opts_init(o);
	if (!json_is_object(params))
		return ff_error_set(err, FF_EPARAM, "upload parameters must be an object");
	const json_t *v;
	bool b;
	long long n;
	if ((v = json_object_get(params, "head")) && !json_is_null(v)) {
		if (!jsonx_as_bool(v, &b))
			return ff_error_set(err, FF_EPARAM, "head must be a boolean");
		o->head = b;
	}
	if ((v = json_object_get(params, "extend_sid")) && !json_is_null(v)) {
		if (!jsonx_as_bool(v, &b))
			return ff_error_set(err, FF_EPARAM, "extend_sid must be a boolean");
		o->extend_sid = b;
	}
	if ((v = json_object_get(params, "partitions")) && !json_is_null(v)) {
		if (!jsonx_as_int(v, &n) || n < 1 || n > FF_TABLE_PARTITIONS_MAX)
			return ff_error_set(err, FF_EPARAM, "partitions must be 1..%d",
					    FF_TABLE_PARTITIONS_MAX);
		o->partitions = (unsigned)n;
	}
	const json_t *meta = json_object_get(params, "meta");
	if (!meta || json_is_null(meta))
		return FF_OK;
	if (!json_is_object(meta))
		return ff_error_set(err, FF_EPARAM, "meta must be an object");
	const char *delim = NULL, *fmt = NULL;
	int ret;
	if ((ret = csv_opt_str(meta, "delimiter", &delim, err)) ||
	    (ret = csv_opt_str(meta, "sample_id_name", &o->sample_id_name, err)) ||
	    (ret = csv_opt_str(meta, "match_id_name", &o->match_id_name, err)) ||
	    (ret = csv_opt_str(meta, "label_name", &o->label_name, err)) ||
	    (ret = csv_opt_str(meta, "label_type", &o->label_type, err)) ||
	    (ret = csv_opt_str(meta, "weight_name", &o->weight_name, err)) ||
	    (ret = csv_opt_str(meta, "dtype", &o->dtype, err)) ||
	    (ret = csv_opt_str(meta, "header", &o->header, err)) ||
	    (ret = csv_opt_str(meta, "input_format", &fmt, err)))
		return ret;
	if (delim) {
		if (strlen(delim) != 1)
			return ff_error_set(err, FF_EPARAM, "meta.delimiter must be one character");
		o->delimiter = delim[0];
	}
	if (fmt && strcmp(fmt, "dense"))
		return ff_error_set(err, FF_EPARAM, "input_format '%s' is not supported (dense only)",
				    fmt);
	v = json_object_get(meta, "na_values");
	if (v && !json_is_null(v) && !(json_is_array(v) && !json_array_size(v)))
		return ff_error_set(err, FF_EPARAM, "na_values is not supported");
	return FF_OK;
}

/* ------------------------------------------------------------------ export */

static int csv_put_double(struct ff_buf *out, double v)
{
	char s[FF_DOUBLE_TEXT_MAX];
	size_t n = ff_double_to_text(v, s);
	return ff_buf_add(out, s, n);
}

/* A row rebuilt from its codes (ids from the block, numbers in fixed notation). */
static int csv_rebuild(const struct ff_batch *b, size_t i, struct ff_buf *out)
{
	const struct ff_table *t = b->t_;
	const struct ff__blk *k = b->blk_;
	const uint8_t *codes = k->codes + i * t->ncodes;
	size_t ci = 0;
	int ret = ff_buf_grow(out, 48 * t->text.nlayout + 64);
	for (size_t c = 0; !ret && c < t->text.nlayout; c++) {
		if (c && (ret = ff_buf_addch(out, t->text.delimiter)))
			break;
		int l = t->text.layout[c];
		if (l == FF__COL_ID) {
			size_t len;
			const char *s = ff_batch_mid(b, i, &len);
			ret = ff_buf_add(out, s, len);
			continue;
		}
		double v = l == FF__COL_LABEL ? b->label[i] :
			   l == FF__COL_WEIGHT ? b->weight[i] : b->x[(size_t)l * b->n + i];
		char s[48];
		size_t n = ff__fmt_fixed(v, codes[ci++], s);
		ret = ff_buf_add(out, s, n);
	}
	return ret;
}

int ff_batch_text(const struct ff_batch *b, size_t i, unsigned flags, struct ff_buf *out)
{
	const struct ff_table *t = b->t_;
	const struct ff__blk *k = b->blk_;
	bool text = t->flags & FF__F_TEXT;
	unsigned need = FF_NEED_IDS | (text ? FF_NEED_TEXT | FF_NEED_VALUES : FF_NEED_VALUES);
	if (i >= b->n || (b->need_ & need) != need)
		return FF_EINVAL;
	char delim = text ? t->text.delimiter : ',';
	int ret = FF_OK;
	size_t len;
	const char *s;
	if ((flags & FF_CSV_WITH_SID) && !ff_schema_single_id(&t->schema)) {
		s = ff_batch_sid(b, i, &len);
		if ((ret = ff_buf_add(out, s, len)) || (ret = ff_buf_addch(out, delim)))
			return ret;
	}
	if (text && k->kind[i] == FF__TEXT_RAW)
		return ff_buf_add(out, k->text + k->text_off[i], k->text_off[i + 1] - k->text_off[i]);
	if (text)
		return csv_rebuild(b, i, out);
	s = ff_batch_mid(b, i, &len);
	ret = ff_buf_add(out, s, len);
	if (!ret && b->label)
		if (!(ret = ff_buf_addch(out, delim)))
			ret = csv_put_double(out, b->label[i]);
	if (!ret && b->weight)
		if (!(ret = ff_buf_addch(out, delim)))
			ret = csv_put_double(out, b->weight[i]);
	for (size_t j = 0; !ret && j < b->d; j++)
		if (!(ret = ff_buf_addch(out, delim)))
			ret = csv_put_double(out, b->x[j * b->n + i]);
	return ret;
}

/* Header line (without end of line); false when the table has none to show. */
static int csv_header_line(const struct ff_table *t, unsigned flags, struct ff_buf *out,
			   bool *have)
{
	const struct ff_schema *s = &t->schema;
	bool text = t->flags & FF__F_TEXT;
	char delim = text ? t->text.delimiter : ',';
	int ret = FF_OK;
	*have = !(flags & FF_CSV_NO_HEADER) && (!text || t->text.header);
	if (!*have)
		return FF_OK;
	if ((flags & FF_CSV_WITH_SID) && !ff_schema_single_id(s))
		if ((ret = ff_buf_addstr(out, s->sample_id_name)) || (ret = ff_buf_addch(out, delim)))
			return ret;
	if (text)
		return ff_buf_addstr(out, t->text.header);
	ret = ff_buf_addstr(out, s->match_id_name);
	if (!ret && s->label_name && !(ret = ff_buf_addch(out, delim)))
		ret = ff_buf_addstr(out, s->label_name);
	if (!ret && s->weight_name && !(ret = ff_buf_addch(out, delim)))
		ret = ff_buf_addstr(out, s->weight_name);
	for (size_t j = 0; !ret && j < s->n_features; j++)
		if (!(ret = ff_buf_addch(out, delim)))
			ret = ff_buf_addstr(out, s->feature_names[j]);
	return ret;
}

#define CSV_OUT_CHUNK ((size_t)1 << 20)

int ff_csv_export(const struct ff_table *t, uint64_t max_rows, unsigned flags, ff_csv_sink_fn sink,
		  void *ctx, struct ff_error *err)
{
	struct ff_buf out = FF_BUF_INIT;
	struct ff_table_iter it;
	struct ff_batch b;
	bool have, text = t->flags & FF__F_TEXT;
	uint64_t done = 0;
	int ret = csv_header_line(t, flags, &out, &have);
	if (ret)
		goto out;
	bool nl = have; /* a line is open and needs its end */
	unsigned need = FF_NEED_VALUES | FF_NEED_IDS | (text ? FF_NEED_TEXT : 0);
	if ((ret = ff_table_iter_init(&it, t, -1, need, err)))
		goto out;
	while (done < max_rows && (ret = ff_table_iter_next(&it, &b, err)) > 0) {
		for (size_t i = 0; i < b.n && done < max_rows; i++, done++) {
			if ((nl && (ret = ff_buf_addch(&out, '\n'))) ||
			    (ret = ff_batch_text(&b, i, flags, &out)))
				goto out;
			nl = true;
			if (out.len >= CSV_OUT_CHUNK) {
				if ((ret = sink(ctx, out.buf, out.len)))
					goto out;
				ff_buf_reset(&out);
			}
		}
	}
	if (ret < 0)
		goto out;
	ret = FF_OK;
	/* an uploaded file without a final newline comes back without one */
	bool whole = done == t->count;
	if (nl && (!text || !whole || t->text.final_newline))
		ret = ff_buf_addch(&out, '\n');
	if (!ret && out.len)
		ret = sink(ctx, out.buf, out.len);
out:
	if (ret && ret != FF_EDATA && err && !err->code)
		ff_error_set(err, ret, "cannot export table '%s': %s", t->dir, ff_strerror(ret));
	ff_buf_release(&out);
	return ret;
}

static int csv_sink_buf(void *ctx, const char *data, size_t n)
{
	return ff_buf_add(ctx, data, n);
}

int ff_csv_display(const struct ff_table *t, uint64_t n, unsigned flags, struct ff_buf *out,
		   struct ff_error *err)
{
	return ff_csv_export(t, n, flags, csv_sink_buf, out, err);
}

struct csv_fd_sink {
	int fd;
	const char *path;
};

static int csv_sink_fd(void *ctx, const char *data, size_t n)
{
	const struct csv_fd_sink *s = ctx;
	while (n) {
		ssize_t w = write(s->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return ff_from_errno(errno);
		data += w;
		n -= (size_t)w;
	}
	return FF_OK;
}

int ff_csv_export_file(const struct ff_table *t, const char *path, uint64_t max_rows,
		       unsigned flags, struct ff_error *err)
{
	char *tmp = ff_asprintf("%s.tmp.%d", path, (int)getpid());
	int ret = FF_OK, fd = -1;
	if (!tmp)
		return FF_ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = ff_error_set(err, ff_from_errno(errno), "cannot create '%s': %s", tmp,
				   strerror(errno));
		goto out;
	}
	struct csv_fd_sink s = { .fd = fd, .path = tmp };
	if ((ret = ff_csv_export(t, max_rows, flags, csv_sink_fd, &s, err)))
		goto out;
	if (fsync(fd) || close(fd)) {
		fd = -1;
		ret = ff_error_set(err, FF_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path))
		ret = ff_error_set(err, ff_from_errno(errno), "cannot rename '%s': %s", tmp,
				   strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		unlink(tmp);
	ff_free(tmp);
	return ret;
}

json_t *ff_csv_header_json(const struct ff_table *t, unsigned flags)
{
	struct ff_buf line = FF_BUF_INIT;
	bool have;
	json_t *arr = json_array();
	char delim = (t->flags & FF__F_TEXT) ? t->text.delimiter : ',';
	if (!arr || csv_header_line(t, flags & ~FF_CSV_NO_HEADER, &line, &have))
		goto fail;
	if (!have) {
		ff_buf_release(&line);
		return arr;
	}
	const char *p = line.buf, *e = line.buf + line.len;
	if (e > p && e[-1] == '\r')
		e--;
	if (e - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	for (;;) {
		const char *q = memchr(p, delim, (size_t)(e - p));
		if (!q)
			q = e;
		if (json_array_append_new(arr, json_stringn(p, (size_t)(q - p))))
			goto fail;
		if (q == e)
			break;
		p = q + 1;
	}
	ff_buf_release(&line);
	return arr;
fail:
	ff_buf_release(&line);
	json_decref(arr);
	return NULL;
}
