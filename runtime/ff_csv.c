// SPDX-License-Identifier: Apache-2.0
/*
 * ff_csv.c - decimal numbers (ff_text_to_double and the general parser the
 * CSV importer falls back to), the upload options, and CSV export of a
 * table (download and display). The import itself is ff_csv_import.c.
 *
 * Numbers. ff__csv_num reads the digits eight at a time into a 64-bit
 * mantissa w; when w <= 2^53 and the decimal exponent k (fraction digits
 * and exponent together) has |k| <= 22, the value is w * 10^k or w / 10^-k,
 * one correctly rounded operation on two exact doubles - Clinger's exact
 * case, the same double strtod returns. A larger exponent still takes that
 * path when w * 10^(k-22) is an integer below 2^53. Anything else (more
 * than 19 digits, huge exponents, denormals) goes to strtod_l in the C
 * locale after a strict syntax check.
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
#include <sys/stat.h>
#include <unistd.h>
#include "ff_csv_num.h"
#include "ff_table_int.h"
#include "jsonx.h"
#include "mem.h"

/* mantissas below this rebuild exactly from their double (see above) */
#define CSV_CODE_WMAX ((uint64_t)1 << 50)
/* the largest mantissa a double holds exactly */
#define CSV_W_EXACT ((uint64_t)1 << 53)
/* longest exponent (digits) the fast path reads; longer ones go to strtod */
#define CSV_EXP_DIGITS 5

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
	int saved = errno;
	double r = csv_c_locale ? strtod_l(s, &stop, csv_c_locale) : strtod(s, &stop);
	errno = saved; /* ERANGE on underflow is not an error: the value is right */
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

/*
 * Digits at p, eight at a time, into *w (which wraps beyond 19 digits: the
 * caller then takes the slow path). Reads up to 8 bytes past the last
 * digit (FF__CSV_PAD).
 */
static inline const char *csv_digits(const char *p, uint64_t *w, size_t *count)
{
	for (;;) {
		uint64_t x = ff__csv_load8(p) ^ 0x3030303030303030ull;
		unsigned k = ff__csv_ndigits(x);
		if (!k)
			return p;
		*w = *w * ff__csv_p10u[k] + ff__csv_swar(x, k);
		*count += k;
		p += k;
		if (k < 8)
			return p;
	}
}

/*
 * Exponent digits at p (after 'e' and its sign) into *x. Returns the end,
 * or NULL when there is none or more than CSV_EXP_DIGITS of them.
 */
static const char *csv_exp(const char *p, int *x)
{
	int v = 0, n = 0;
	while ((unsigned)(*p - '0') < 10) {
		if (++n > CSV_EXP_DIGITS)
			return NULL;
		v = v * 10 + (*p++ - '0');
	}
	*x = v;
	return n ? p : NULL;
}

/* w * 10^k exactly rounded, or false when Clinger's fast path does not apply. */
static bool csv_scale(uint64_t w, int k, double *out)
{
	if (w > CSV_W_EXACT)
		return false;
	double r = (double)w;
	if (k < 0) {
		if (k < -22)
			return false;
		*out = r / csv_p10[-k];
		return true;
	}
	if (k > 22) {
		/* w * 10^(k-22) may still be an exact integer below 2^53 */
		int extra = k - 22;
		if (extra > 15)
			return false;
		uint64_t m = 1;
		for (int i = 0; i < extra; i++)
			m *= 10;
		if (w > CSV_W_EXACT / m)
			return false;
		r = (double)(w * m);
		k = 22;
	}
	*out = r * csv_p10[k];
	return true;
}

const char *ff__csv_num(const char *p, double *v, int *code)
{
	const char *s = p;
	bool neg = *p == '-';
	p += neg || *p == '+';
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
	if (!ni || ni + nf > 19)
		goto slow;
	int k = -(int)nf;
	bool fixed = *s != '+';
	if (*p == 'e' || *p == 'E') {
		const char *q = p + 1;
		bool eneg = *q == '-';
		q += eneg || *q == '+';
		int x;
		if (!(q = csv_exp(q, &x)))
			goto slow;
		k += eneg ? -x : x;
		p = q;
		fixed = false;
	}
	double r;
	if (!csv_scale(w, k, &r))
		goto slow;
	*v = neg ? -r : r;
	*code = fixed && !(ni > 1 && *d0 == '0') && w < CSV_CODE_WMAX ? (int)nf : -1;
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
	/* ff__csv_num needs a terminator that is not part of a number, and
	 * FF__CSV_PAD readable bytes after it */
	char small[96];
	size_t need = n + 1 + FF__CSV_PAD;
	char *copy = need <= sizeof(small) ? small : ff_malloc(need);
	if (!copy)
		return FF_ENOMEM;
	memcpy(copy, s, n);
	memset(copy + n, 0, 1 + FF__CSV_PAD);
	int code, ret = FF_OK;
	double v;
	const char *e = ff__csv_num(copy, &v, &code);
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
	const uint8_t *codes = ff__blk_codes(k, t->ncodes, i);
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
	struct ff_table_iter it = { 0 };
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
	ff_table_iter_release(&it);
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
