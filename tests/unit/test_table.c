// SPDX-License-Identifier: Apache-2.0
/*
 * test_table.c - unit tests of the standalone table engine (runtime/
 * ff_table*.c, ff_schema.c): schema and meta round trip, shortest number
 * text, exact number parsing, writer -> reader (batches, rows, dense load,
 * columns, partitions), atomic commit/abort/replace, and refusal of
 * truncated or corrupted files (every byte flipped in turn, never a crash),
 * and the int32 and 3-byte mantissa column encodings (encoder, packing and
 * decoders, bit exact; tables mixing encodings, older int32 tables).
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "err.h"
#include "fedflow/table.h"
#include "ff_table_dio.h"
#include "ff_table_int.h"
#include "fs.h"
#include "mem.h"

static char tmp_root[64];

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/ff-test-table-XXXXXX");
	return mkdtemp(tmp_root) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return fs_rm_rf(tmp_root);
}

/* Owned path under the test root. */
static char *tpath(const char *fmt, ...)
{
	char rel[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	char *p = ff_asprintf("%s/%s", tmp_root, rel);
	assert_non_null(p);
	return p;
}

/* Number of entries in dir whose name starts with prefix. */
static int count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ schema */

static void make_schema(struct ff_schema *s, size_t d, bool label, bool weight, bool two_ids)
{
	ff_schema_init(s);
	assert_int_equal(ff_schema_set(s, two_ids ? "sid" : "id", "id", label ? "y" : NULL,
				       weight ? "w" : NULL), FF_OK);
	for (size_t j = 0; j < d; j++) {
		char name[16];
		snprintf(name, sizeof(name), "x%zu", j);
		assert_int_equal(ff_schema_add_feature(s, name), FF_OK);
	}
}

static void test_schema_roundtrip(void **state)
{
	(void)state;
	struct ff_schema s, back = FF_SCHEMA_INIT;
	struct ff_error err = FF_ERROR_INIT;
	make_schema(&s, 3, true, true, true);
	assert_string_equal(s.label_type, "int32");
	assert_string_equal(s.dtype, "float32");
	assert_false(ff_schema_single_id(&s));
	assert_int_equal(ff_schema_validate(&s, &err), FF_OK);
	json_t *j = ff_schema_to_json(&s);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "label_name")), "y");
	assert_int_equal(json_array_size(json_object_get(j, "feature_names")), 3);
	assert_int_equal(ff_schema_from_json(&back, j, &err), FF_OK);
	assert_true(ff_schema_equal(&s, &back));
	assert_int_equal(ff_schema_feature_index(&back, "x2"), 2);
	assert_int_equal(ff_schema_feature_index(&back, "nope"), -1);
	json_decref(j);

	/* no label or weight: null in JSON, NULL after */
	struct ff_schema s2;
	make_schema(&s2, 1, false, false, false);
	assert_true(ff_schema_single_id(&s2));
	j = ff_schema_to_json(&s2);
	assert_true(json_is_null(json_object_get(j, "label_name")));
	assert_int_equal(ff_schema_from_json(&back, j, &err), FF_OK);
	assert_null(back.label_name);
	assert_null(back.weight_name);
	assert_true(ff_schema_equal(&s2, &back));
	assert_false(ff_schema_equal(&s, &back));
	json_decref(j);

	/* invalid: duplicate names, empty names, bad label type, wrong types */
	assert_int_equal(ff_schema_add_feature(&s2, "x0"), FF_OK);
	assert_int_equal(ff_schema_validate(&s2, &err), FF_EINVAL);
	assert_non_null(strstr(err.msg, "duplicate column name 'x0'"));
	ff_free(s.label_type);
	s.label_type = ff_strdup("string");
	assert_int_equal(ff_schema_validate(&s, &err), FF_EINVAL);
	assert_non_null(strstr(err.msg, "label type"));
	j = json_pack("{s:s, s:s, s:[s, i]}", "sample_id_name", "id", "match_id_name", "id",
		      "feature_names", "a", 3);
	assert_int_equal(ff_schema_from_json(&back, j, &err), FF_EINVAL);
	json_decref(j);
	j = json_pack("{s:s, s:[]}", "sample_id_name", "", "feature_names");
	assert_int_equal(ff_schema_from_json(&back, j, &err), FF_EINVAL);
	json_decref(j);
	assert_int_equal(ff_schema_from_json(&back, NULL, &err), FF_EINVAL);
	ff_schema_release(&s);
	ff_schema_release(&s2);
	ff_schema_release(&back);
}

/* ----------------------------------------------------------------- numbers */

static void check_text(double v, const char *want)
{
	char out[FF_DOUBLE_TEXT_MAX];
	size_t n = ff_double_to_text(v, out);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_shortest_text(void **state)
{
	(void)state;
	check_text(0.1, "0.1");
	check_text(-0.28757, "-0.28757");
	check_text(1.0 / 3.0, "0.3333333333333333");
	check_text(0.1 + 0.2, "0.30000000000000004");
	check_text(2.0 / 3.0, "0.6666666666666666");
	check_text(100.0, "100");
	check_text(-0.0, "-0");
	check_text(0.0, "0");
	check_text(1e21, "1e+21");
	check_text(1e-7, "1e-07");
	check_text(123456789012345678.0, "1.2345678901234568e+17");
	check_text(9007199254740993.0, "9007199254740992"); /* 2^53 + 1 is not a double */
	check_text(DBL_MAX, "1.7976931348623157e+308");
	check_text(-DBL_MAX, "-1.7976931348623157e+308");
	check_text(DBL_MIN, "2.2250738585072014e-308");
	check_text(5e-324, "4.94065645841247e-324");
	check_text(0.20965599999999998, "0.20965599999999998");
	check_text(NAN, "nan");
	check_text(-INFINITY, "-inf");

	/* random bit patterns: reads back exactly, and no shorter precision would */
	uint64_t x = 0x243F6A8885A308D3ull;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double v;
		memcpy(&v, &x, 8);
		if (!isfinite(v))
			continue;
		char out[FF_DOUBLE_TEXT_MAX], shorter[64];
		ff_double_to_text(v, out);
		double back = strtod(out, NULL);
		assert_memory_equal(&back, &v, 8);
		int prec = 0;
		for (int p = 15; p <= 17; p++) {
			snprintf(shorter, sizeof(shorter), "%.*g", p, v);
			if (!strcmp(shorter, out)) {
				prec = p;
				break;
			}
		}
		assert_true(prec >= 15);
		if (prec > 15) {
			snprintf(shorter, sizeof(shorter), "%.*g", prec - 1, v);
			back = strtod(shorter, NULL);
			assert_memory_not_equal(&back, &v, 8);
		}
	}
}

static void check_parse(const char *s)
{
	double a, b = strtod(s, NULL);
	assert_int_equal(ff_text_to_double(s, strlen(s), &a), FF_OK);
	if (memcmp(&a, &b, 8))
		fail_msg("'%s': got %.17g, strtod %.17g", s, a, b);
}

/* Parses s like check_parse, or expects FF_ERANGE when strtod overflows. */
static void check_parse_or_range(const char *s)
{
	double a, b = strtod(s, NULL);
	int ret = ff_text_to_double(s, strlen(s), &a);
	if (isinf(b)) {
		if (ret != FF_ERANGE)
			fail_msg("'%s': gave %d, strtod overflows", s, ret);
		return;
	}
	if (ret != FF_OK || memcmp(&a, &b, 8))
		fail_msg("'%s': gave %d %.17g, strtod %.17g", s, ret, a, b);
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x * 0x2545F4914F6CDD1Dull;
}

/*
 * Every shape the parser has a path for, against strtod bit for bit: the
 * edges of Clinger's fast path (2^53, 10^22, exponents that still give an
 * exact integer), long mantissas, leading zeros, signs, denormals and
 * overflow.
 */
static void test_parse_wide(void)
{
	static const char *edges[] = {
		"9007199254740991", "9007199254740992", "9007199254740993", "9007199254740994",
		"9007199254740995", "900719925474099.3", "90071992547409.93e2", "18014398509481985",
		"1e22", "1e23", "1e-22", "1e-23", "9007199254740992e22", "9007199254740993e22",
		"9007199254740991e-22", "1e37", "1e38", "123e30", "123456789e30", "1e300", "1e308",
		"1e309", "1.7976931348623157e308", "1.7976931348623158e308",
		"1.7976931348623159e308", "2.4703282292062327e-324", "2.4703282292062328e-324",
		"4.9406564584124654e-324", "2.2250738585072014e-308", "2.2250738585072009e-308",
		"-0", "-0.0", "-0e5", "+0", "0e-999", "0.000e+99999", "-1e-400", "00000000000000000000001",
		"0000000000000000000000.5", "1.00000000000000000000000000000000000000001",
		"0.30000000000000004", "3.0000000000000004e-1", "1e00005", "1e000005", "5.e3",
		"123456789012345678", "1234567890123456789", "12345678901234567890",
		"-99999999999999999999.99999999999999999999e-10", "7.038531e-26",
		"1448997445238699", "8.98846567431158e307", "1e-5", "1.5e-7", "-1.234567",
		"12345678.9", "1.23456789", "-12345678.0", "0.1234567", "0.12345678",
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(edges); i++)
		check_parse_or_range(edges[i]);
	/* a mantissa of 800 digits: the slow path */
	char big[900];
	memset(big, '7', 800);
	big[800] = 'e';
	snprintf(big + 801, sizeof(big) - 801, "-700");
	check_parse_or_range(big);

	uint64_t x = 0x243F6A8885A308D3ull;
	char s[128];
	for (int i = 0; i < 400000; i++) {
		uint64_t r = rng_next(&x);
		int k = 0;
		int sign = (int)(r % 4);
		if (sign == 1)
			s[k++] = '-';
		else if (sign == 2 && (r & 64))
			s[k++] = '+';
		int ni = (int)((r >> 8) % 24), nf = (int)((r >> 16) % 24);
		if (!ni && !nf)
			ni = 1;
		if ((r >> 30) % 4 == 0) /* mostly short ones, the common case */
			ni = 1 + (int)((r >> 36) % 3), nf = (int)((r >> 40) % 9);
		uint64_t y = rng_next(&x);
		for (int d = 0; d < ni; d++, y = rng_next(&x))
			s[k++] = (char)('0' + (d == 0 && (y & 7) == 0 ? 0 : (y >> 58) % 10));
		if (nf || (r & (1u << 24)))
			s[k++] = '.';
		for (int d = 0; d < nf; d++, y = rng_next(&x))
			s[k++] = (char)('0' + (y >> 58) % 10);
		switch ((r >> 44) % 6) {
		case 0: /* within 10^+-22 */
			k += snprintf(s + k, sizeof(s) - (size_t)k, "e%d", (int)((r >> 50) % 45) - 22);
			break;
		case 1: /* anywhere, denormals and overflow included */
			k += snprintf(s + k, sizeof(s) - (size_t)k, "E%+d", (int)((r >> 50) % 701) - 350);
			break;
		default:
			break;
		}
		s[k] = '\0';
		if (k == (s[0] == '-' || s[0] == '+') + 1 && s[k - 1] == '.')
			continue; /* "." alone is no number */
		check_parse_or_range(s);
	}
	/* nothing that strtod reads as inf or nan is a number */
	static const char *nonfinite[] = { "inf", "INF", "-Infinity", "nan", "NaN", "-nan(1)", "+inf" };
	double v;
	for (size_t i = 0; i < FF_ARRAY_SIZE(nonfinite); i++)
		assert_int_equal(ff_text_to_double(nonfinite[i], strlen(nonfinite[i]), &v), FF_EINVAL);
}

static void test_parse_exact(void **state)
{
	(void)state;
	const char *good[] = {
		"0", "-0", "1", "-1", "0.1", "-0.287570", "0.254879", "18", "007", "1.", ".5",
		"+3.25", "1e5", "1E-5", "-2.5e+3", "0.20965599999999998", "9007199254740993",
		"9007199254740992", "123456789012345678901234567890", "0.000000000000000000001",
		"2.2250738585072011e-308", "4.9406564584124654e-324", "1e-400",
		"1.7976931348623157e308", "0.1000000000000000055511151231257827",
		"3.14159265358979323846264338327950288", "1234567.1234567",
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(good); i++)
		check_parse(good[i]);
	double v;
	const char *bad[] = { "", "-", "+", "abc", "1e", "1e+", "nan", "inf", "-inf", "0x10",
			      "1.5x", " 1", "1 ", "1,5", "--1", "1e5.5", "." };
	for (size_t i = 0; i < FF_ARRAY_SIZE(bad); i++)
		if (ff_text_to_double(bad[i], strlen(bad[i]), &v) != FF_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(ff_text_to_double("1e999", 5, &v), FF_ERANGE);
	assert_int_equal(ff_text_to_double("-1e400", 6, &v), FF_ERANGE);
	/* length-bounded: only the first n bytes count */
	assert_int_equal(ff_text_to_double("12345", 3, &v), FF_OK);
	assert_true(v == 123.0);

	/* random decimals in many shapes against strtod, bit for bit */
	uint64_t x = 0x9E3779B97F4A7C15ull;
	char s[96];
	for (int i = 0; i < 300000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int ni = (int)(x % 12), nf = (int)((x >> 8) % 21), k = 0;
		if (x & (1u << 20))
			s[k++] = '-';
		uint64_t y = x * 0x2545F4914F6CDD1Dull;
		for (int d = 0; d < ni + 1; d++, y = y * 6364136223846793005ull + 1442695040888963407ull)
			s[k++] = (char)('0' + (y >> 60) % 10);
		if (nf) {
			s[k++] = '.';
			for (int d = 0; d < nf; d++, y = y * 6364136223846793005ull + 1)
				s[k++] = (char)('0' + (y >> 59) % 10);
		}
		if ((x >> 24) % 5 == 0)
			k += snprintf(s + k, sizeof(s) - (size_t)k, "e%d", (int)((x >> 32) % 60) - 30);
		s[k] = '\0';
		check_parse(s);
	}
	test_parse_wide();
}

/* CRC-32C bit by bit, the definition (reflected 0x82F63B78, ~ in and out). */
static uint32_t crc_ref(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* The known answer, and every length and alignment around the three-lane path. */
static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(ff__crc32c(0, "123456789", 9), 0xE3069283u);
	size_t cap = 64 * 1024 + 64;
	unsigned char *buf = ff_malloc(cap);
	assert_non_null(buf);
	uint64_t x = 0x452821E638D01377ull;
	for (size_t i = 0; i < cap; i++)
		buf[i] = (unsigned char)(rng_next(&x) >> 56);
	static const size_t lens[] = { 0, 1, 7, 8, 9, 63, 6143, 6144, 6145, 6151, 12288, 12300,
				       20000, 40000, 64 * 1024 };
	for (size_t a = 0; a < 9; a++)
		for (size_t k = 0; k < FF_ARRAY_SIZE(lens); k++) {
			uint32_t want = crc_ref(0x1234u * (uint32_t)a, buf + a, lens[k]);
			uint32_t got = ff__crc32c(0x1234u * (uint32_t)a, buf + a, lens[k]);
			if (got != want)
				fail_msg("offset %zu length %zu: %08x, want %08x", a, lens[k], got, want);
			/* in two calls, split anywhere */
			size_t cut = lens[k] ? (size_t)(rng_next(&x) % lens[k]) : 0;
			got = ff__crc32c(ff__crc32c(0x1234u * (uint32_t)a, buf + a, cut), buf + a + cut,
					 lens[k] - cut);
			assert_int_equal(got, want);
		}
	ff_free(buf);
}

/* --------------------------------------------------------- writer / reader */

static const char *test_sid(size_t i, char buf[32])
{
	snprintf(buf, 32, "s%05zu", i);
	return buf;
}

/* Value of feature j of row i in make_table tables (not exactly decimal). */
static double fval(size_t i, size_t j)
{
	return (double)i / 7.0 - (double)j * 1.25 + (j == 1 ? 1e-300 : 0);
}

/* Writes rows [0, n) of a table with d features, label, weight, two ids. */
static void make_table(const char *dir, size_t n, size_t d, unsigned parts, uint64_t expected,
		       bool commit)
{
	struct ff_schema s;
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table_writer *w = NULL;
	struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
	o.partitions = parts;
	o.expected_rows = expected;
	o.no_fsync = true;
	make_schema(&s, d, true, true, true);
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_OK);
	double x[16];
	for (size_t i = 0; i < n; i++) {
		char sid[32], mid[32];
		for (size_t j = 0; j < d; j++)
			x[j] = fval(i, j);
		snprintf(mid, sizeof(mid), "m%zu", i % 50);
		struct ff_row_in r = { .sid = test_sid(i, sid), .sid_len = strlen(sid), .mid = mid,
				       .mid_len = strlen(mid), .label = (double)(i % 2),
				       .weight = 0.5 + (double)i, .x = x };
		assert_int_equal(ff_table_writer_append(w, &r, &err), FF_OK);
	}
	assert_int_equal(ff_table_writer_count(w), n);
	if (commit)
		assert_int_equal(ff_table_writer_commit(w, &err), FF_OK);
	ff_table_writer_free(w);
	ff_schema_release(&s);
}

static void test_write_read(void **state)
{
	(void)state;
	char *dir = tpath("ns/t1");
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table *t = NULL;
	const size_t n = 103, d = 6;
	make_table(dir, n, d, 4, n, true);
	assert_true(ff_table_exists(dir));
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_int_equal(ff_table_count(t), n);
	assert_int_equal(ff_table_partitions(t), 4);
	assert_false(ff_table_has_text(t));
	/* expected_rows cuts 103 rows into 26, 26, 26, 25 */
	static const uint64_t want[4] = { 26, 26, 26, 25 };
	for (unsigned p = 0; p < 4; p++) {
		assert_int_equal(ff_table_partition_count(t, p), want[p]);
		assert_int_equal(ff_table_partition_start(t, p), 26 * p);
	}
	const struct ff_schema *s = ff_table_schema(t);
	assert_string_equal(s->sample_id_name, "sid");
	assert_int_equal(s->n_features, d);
	const json_t *m = ff_table_meta(t);
	assert_string_equal(json_string_value(json_object_get(m, "engine")), "standalone");
	assert_int_equal(json_integer_value(json_object_get(m, "format_version")),
			 FF_TABLE_FORMAT_VERSION);
	assert_int_equal(json_integer_value(json_object_get(m, "count")), n);

	/* batches: global order, values, ids */
	struct ff_table_iter it;
	struct ff_batch b;
	uint64_t next = 0;
	assert_int_equal(ff_table_iter_init(&it, t, -1, FF_NEED_VALUES | FF_NEED_IDS, &err), FF_OK);
	int r;
	while ((r = ff_table_iter_next(&it, &b, &err)) > 0) {
		assert_int_equal(b.row0, next);
		assert_int_equal(b.d, d);
		for (size_t i = 0; i < b.n; i++) {
			size_t row = (size_t)b.row0 + i, len;
			char sid[32];
			const char *p = ff_batch_sid(&b, i, &len);
			test_sid(row, sid);
			assert_int_equal(len, strlen(sid));
			assert_memory_equal(p, sid, len);
			p = ff_batch_mid(&b, i, &len);
			char mid[32];
			snprintf(mid, sizeof(mid), "m%zu", row % 50);
			assert_int_equal(len, strlen(mid));
			assert_memory_equal(p, mid, len);
			assert_true(b.label[i] == (double)(row % 2));
			assert_true(b.weight[i] == 0.5 + (double)row);
			for (size_t j = 0; j < d; j++)
				assert_true(ff_batch_col(&b, j)[i] == fval(row, j));
		}
		next += b.n;
	}
	assert_int_equal(r, 0);
	assert_int_equal(next, n);

	/* one partition: exactly its row range */
	assert_int_equal(ff_table_iter_init(&it, t, 2, FF_NEED_VALUES, &err), FF_OK);
	next = 52;
	while ((r = ff_table_iter_next(&it, &b, &err)) > 0) {
		assert_int_equal(b.partition, 2);
		assert_int_equal(b.row0, next);
		next += b.n;
	}
	assert_int_equal(next, 78);
	assert_int_equal(ff_table_iter_init(&it, t, 4, FF_NEED_VALUES, &err), FF_EINVAL);

	/* rows */
	struct ff_row_iter ri;
	struct ff_row row;
	assert_int_equal(ff_row_iter_init(&ri, t, -1, &err), FF_OK);
	next = 0;
	while ((r = ff_row_iter_next(&ri, &row, &err)) > 0) {
		assert_int_equal(row.index, next);
		assert_true(row.x[2] == fval(next, 2));
		assert_true(row.weight == 0.5 + (double)next);
		next++;
	}
	ff_row_iter_release(&ri);
	assert_int_equal(r, 0);
	assert_int_equal(next, n);

	/* dense load, whole and one partition */
	struct ff_dataset ds;
	assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err), FF_OK);
	assert_int_equal(ds.n, n);
	assert_int_equal(ds.d, d);
	for (size_t i = 0; i < n; i++) {
		char sid[32];
		assert_string_equal(ds.sid[i], test_sid(i, sid));
		for (size_t j = 0; j < d; j++)
			assert_true(ds.x[i * d + j] == fval(i, j));
		assert_true(ds.label[i] == (double)(i % 2));
	}
	assert_ptr_not_equal(ds.mid, ds.sid);
	assert_string_equal(ds.mid[77], "m27");
	ff_dataset_release(&ds);
	assert_int_equal(ff_table_load(t, 3, FF_NEED_VALUES, &ds, &err), FF_OK);
	assert_int_equal(ds.n, 25);
	assert_null(ds.sid);
	assert_true(ds.x[0] == fval(78, 0));
	ff_dataset_release(&ds);

	/* columns */
	int col;
	double *c;
	assert_int_equal(ff_table_column(t, "x1", &col), FF_OK);
	assert_int_equal(col, 1);
	assert_int_equal(ff_table_column(t, "y", &col), FF_OK);
	assert_int_equal(col, FF_COL_LABEL);
	assert_int_equal(ff_table_column(t, "w", &col), FF_OK);
	assert_int_equal(col, FF_COL_WEIGHT);
	assert_int_equal(ff_table_column(t, "zz", &col), FF_ENOENT);
	assert_non_null(FF_ALLOC_ARRAY(c, n));
	assert_int_equal(ff_table_read_column(t, 1, -1, c, &err), FF_OK);
	for (size_t i = 0; i < n; i++)
		assert_true(c[i] == fval(i, 1));
	assert_int_equal(ff_table_read_column(t, FF_COL_WEIGHT, 1, c, &err), FF_OK);
	assert_true(c[0] == 26.5);
	assert_int_equal(ff_table_read_column(t, (int)d, -1, c, &err), FF_EINVAL);
	ff_free(c);
	ff_table_free(t);
	ff_free(dir);
}

static void test_partitions_unknown_count(void **state)
{
	(void)state;
	char *dir = tpath("ns/parts");
	struct ff_schema s;
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table_writer *w;
	struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
	o.partitions = 5;
	o.no_fsync = true;
	make_schema(&s, 1, false, false, false);
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_OK);
	/* 3 rows, next, 0 rows, next, 4 rows; partitions 3 and 4 stay empty */
	size_t counts[3] = { 3, 0, 4 }, row = 0;
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < counts[k]; i++, row++) {
			char sid[32];
			double x = (double)row;
			struct ff_row_in r = { .sid = test_sid(row, sid), .sid_len = 6, .x = &x };
			assert_int_equal(ff_table_writer_append(w, &r, &err), FF_OK);
		}
		if (k < 2)
			assert_int_equal(ff_table_writer_next_partition(w, &err), FF_OK);
	}
	assert_int_equal(ff_table_writer_commit(w, &err), FF_OK);
	ff_table_writer_free(w);
	struct ff_table *t;
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	static const uint64_t want[5] = { 3, 0, 4, 0, 0 };
	for (unsigned p = 0; p < 5; p++)
		assert_int_equal(ff_table_partition_count(t, p), want[p]);
	double col[7];
	assert_int_equal(ff_table_read_column(t, 0, -1, col, &err), FF_OK);
	for (int i = 0; i < 7; i++)
		assert_true(col[i] == i);
	/* rendering of computed doubles: shortest round trip */
	struct ff_buf out = FF_BUF_INIT;
	assert_int_equal(ff_csv_display(t, 2, 0, &out, &err), FF_OK);
	assert_string_equal(out.buf, "id,x0\ns00000,0\ns00001,1\n");
	ff_buf_release(&out);
	ff_table_free(t);
	ff_schema_release(&s);
	ff_free(dir);
}

static void test_render_computed(void **state)
{
	(void)state;
	char *dir = tpath("ns/render");
	struct ff_error err = FF_ERROR_INIT;
	make_table(dir, 3, 2, 2, 0, true);
	struct ff_table *t;
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	struct ff_buf out = FF_BUF_INIT;
	assert_int_equal(ff_csv_display(t, UINT64_MAX, 0, &out, &err), FF_OK);
	assert_string_equal(out.buf, "id,y,w,x0,x1\n"
				     "m0,0,0.5,0,-1.25\n"
				     "m1,1,1.5,0.14285714285714285,-1.1071428571428572\n"
				     "m2,0,2.5,0.2857142857142857,-0.9642857142857143\n");
	ff_buf_reset(&out);
	assert_int_equal(ff_csv_display(t, 1, FF_CSV_WITH_SID, &out, &err), FF_OK);
	assert_string_equal(out.buf, "sid,id,y,w,x0,x1\ns00000,m0,0,0.5,0,-1.25\n");
	ff_buf_reset(&out);
	assert_int_equal(ff_csv_display(t, 1, FF_CSV_NO_HEADER, &out, &err), FF_OK);
	assert_string_equal(out.buf, "m0,0,0.5,0,-1.25\n");
	json_t *h = ff_csv_header_json(t, FF_CSV_WITH_SID);
	assert_int_equal(json_array_size(h), 6);
	assert_string_equal(json_string_value(json_array_get(h, 0)), "sid");
	assert_string_equal(json_string_value(json_array_get(h, 5)), "x1");
	json_decref(h);
	ff_buf_release(&out);
	ff_table_free(t);
	ff_free(dir);
}

/* ------------------------------------------------------------- atomicity */

static void test_atomic(void **state)
{
	(void)state;
	char *parent = tpath("atomic");
	char *dir = tpath("atomic/t");
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table *t;

	/* an aborted writer leaves nothing, not even its temporary directory */
	make_table(dir, 10, 2, 2, 10, false);
	assert_false(fs_exists(dir));
	assert_int_equal(count_entries(parent, ""), 0);
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_ENOTABLE);

	/* a committed table, then a second writer: the old one stays until commit */
	make_table(dir, 10, 2, 2, 10, true);
	struct ff_schema s;
	struct ff_table_writer *w;
	struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
	o.no_fsync = true;
	make_schema(&s, 1, false, false, false);
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_OK);
	double x = 42;
	struct ff_row_in r = { .sid = "only", .sid_len = 4, .x = &x };
	assert_int_equal(ff_table_writer_append(w, &r, &err), FF_OK);
	assert_int_equal(count_entries(parent, ".t.tmp-"), 1);
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_int_equal(ff_table_count(t), 10);
	ff_table_free(t);
	ff_table_writer_free(w); /* abort */
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_int_equal(ff_table_count(t), 10);

	/* keep the old table open while a new one replaces it */
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_OK);
	assert_int_equal(ff_table_writer_append(w, &r, &err), FF_OK);
	assert_int_equal(ff_table_writer_commit(w, &err), FF_OK);
	assert_int_equal(ff_table_writer_append(w, &r, &err), FF_EINVAL);
	assert_int_equal(ff_table_writer_commit(w, &err), FF_EINVAL);
	ff_table_writer_free(w);
	struct ff_dataset ds;
	assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES, &ds, &err), FF_OK);
	assert_int_equal(ds.n, 10); /* the old mapping still reads */
	ff_dataset_release(&ds);
	ff_table_free(t);
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_int_equal(ff_table_count(t), 1);
	ff_table_free(t);
	assert_int_equal(count_entries(parent, "."), 0);

	/* a directory that is not a table is never replaced */
	char *other = tpath("atomic/notatable");
	char *keep = tpath("atomic/notatable/keep.txt");
	assert_int_equal(fs_mkdirs(other, 0755, &err), FF_OK);
	assert_int_equal(fs_write_atomic(keep, "x", 1, &err), FF_OK);
	assert_int_equal(ff_table_writer_create(&w, other, &s, &o, &err), FF_OK);
	assert_int_equal(ff_table_writer_append(w, &r, &err), FF_OK);
	assert_int_equal(ff_table_writer_commit(w, &err), FF_EEXIST);
	ff_table_writer_free(w);
	assert_true(fs_exists(keep));
	assert_int_equal(count_entries(parent, "."), 0);

	/* stale temporary directories of dead writers are cleaned up */
	char *stale = tpath("atomic/.t.tmp-999999999-abcdef12");
	assert_int_equal(fs_mkdirs(stale, 0755, &err), FF_OK);
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_OK);
	assert_false(fs_exists(stale));
	ff_table_writer_free(w);

	/* destroy */
	assert_int_equal(ff_table_destroy(dir, &err), FF_OK);
	assert_false(fs_exists(dir));
	assert_int_equal(ff_table_destroy(dir, &err), FF_OK);
	assert_int_equal(count_entries(parent, "."), 0);

	/* bad arguments */
	o.partitions = 0;
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_EINVAL);
	o.partitions = FF_TABLE_PARTITIONS_MAX + 1;
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_EINVAL);
	o.partitions = 1;
	char *path;
	assert_int_equal(ff_table_dir("/data", "ns", "name", &path, &err), FF_OK);
	assert_string_equal(path, "/data/ns/name");
	ff_free(path);
	assert_int_equal(ff_table_dir("/data", "..", "name", &path, &err), FF_EINVAL);
	assert_int_equal(ff_table_dir("/data", "ns", "a/b", &path, &err), FF_EINVAL);
	assert_int_equal(ff_table_dir("/data", "ns", ".hidden", &path, &err), FF_EINVAL);
	ff_schema_release(&s);
	ff_free(stale);
	ff_free(keep);
	ff_free(other);
	ff_free(dir);
	ff_free(parent);
}

static void test_oom(void **state)
{
	(void)state;
	/* every allocation of a write + open + load fails in turn: errors, never crashes */
	char *dir = tpath("oom/t");
	struct ff_error err = FF_ERROR_INIT;
	for (unsigned long k = 1; k < 400; k++) {
		struct ff_schema s;
		make_schema(&s, 2, true, false, true);
		struct ff_table_writer *w = NULL;
		struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
		o.no_fsync = true;
		o.partitions = 2;
		ff_mem_fail_after(k);
		int ret = ff_table_writer_create(&w, dir, &s, &o, &err);
		for (size_t i = 0; !ret && i < 5; i++) {
			double x[2] = { 1, 2 };
			struct ff_row_in r = { .sid = "a", .sid_len = 1, .mid = "b", .mid_len = 1,
					       .x = x };
			ret = ff_table_writer_append(w, &r, &err);
		}
		if (!ret)
			ret = ff_table_writer_commit(w, &err);
		ff_table_writer_free(w);
		struct ff_table *t = NULL;
		struct ff_dataset ds;
		if (!ret && !(ret = ff_table_open(&t, dir, 0, &err))) {
			if (!ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err))
				ff_dataset_release(&ds);
			ff_table_free(t);
		}
		ff_mem_fail_after(0);
		ff_schema_release(&s);
		ff_table_destroy(dir, NULL);
	}
	ff_free(dir);
}

/* ----------------------------------------------------------- corruption */

static void copy_file(const char *from, const char *to)
{
	struct ff_buf b = FF_BUF_INIT;
	assert_int_equal(fs_read_file(from, &b, NULL), FF_OK);
	assert_int_equal(fs_write_atomic(to, b.buf, b.len, NULL), FF_OK);
	ff_buf_release(&b);
}

/* Opens and reads everything; returns the first error (FF_OK when all fine). */
static int read_all(const char *dir, unsigned flags, struct ff_error *err)
{
	struct ff_table *t;
	int ret = ff_table_open(&t, dir, flags, err);
	if (ret)
		return ret;
	struct ff_buf out = FF_BUF_INIT;
	struct ff_dataset ds;
	ret = ff_csv_display(t, UINT64_MAX, FF_CSV_WITH_SID, &out, err);
	if (!ret && !(ret = ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, err)))
		ff_dataset_release(&ds);
	ff_buf_release(&out);
	ff_table_free(t);
	return ret;
}

/*
 * FF_TABLE_LAZY: a bad block header in partition 1 lets the table open and
 * partition 0 be read; the first read of partition 1 (an iteration, a
 * load) is refused naming it, every time; without the flag the open is.
 */
static void test_lazy_open(void **state)
{
	(void)state;
	char *dir = tpath("lazy/t");
	char *part = tpath("lazy/t/part-00001");
	struct ff_error err = FF_ERROR_INIT;
	make_table(dir, 40, 2, 2, 40, true);
	struct ff_buf b = FF_BUF_INIT;
	assert_int_equal(fs_read_file(part, &b, NULL), FF_OK);
	b.buf[64 + 4] ^= 1; /* the first block's row count: its header checksum fails */
	assert_int_equal(fs_write_atomic(part, b.buf, b.len, NULL), FF_OK);
	struct ff_table *t;
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "bad block header 0"));
	assert_int_equal(ff_table_open(&t, dir, FF_TABLE_LAZY, &err), FF_OK);
	assert_int_equal(ff_table_count(t), 40);
	struct ff_table_iter it;
	struct ff_batch bt;
	assert_int_equal(ff_table_iter_init(&it, t, 0, FF_NEED_VALUES | FF_NEED_IDS, &err), FF_OK);
	uint64_t rows = 0;
	int r;
	while ((r = ff_table_iter_next(&it, &bt, &err)) > 0)
		rows += bt.n;
	assert_int_equal(r, 0);
	assert_int_equal(rows, ff_table_partition_count(t, 0));
	for (int k = 0; k < 2; k++) {
		assert_int_equal(ff_table_iter_init(&it, t, -1, FF_NEED_VALUES, &err), FF_OK);
		while ((r = ff_table_iter_next(&it, &bt, &err)) > 0)
			;
		assert_int_equal(r, FF_EDATA);
		assert_non_null(strstr(err.msg, "part-00001"));
		assert_non_null(strstr(err.msg, "bad block header 0"));
	}
	struct ff_dataset ds;
	assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "bad block header 0"));
	assert_int_equal(ff_table_load(t, 0, FF_NEED_IDS, &ds, &err), FF_OK);
	ff_dataset_release(&ds);
	ff_table_free(t);
	b.buf[64 + 4] ^= 1;
	assert_int_equal(fs_write_atomic(part, b.buf, b.len, NULL), FF_OK);
	assert_int_equal(read_all(dir, FF_TABLE_LAZY, &err), FF_OK);
	ff_buf_release(&b);
	ff_free(part);
	ff_free(dir);
}

/*
 * FF_TABLE_LAZY checks block headers one ahead of the reads: with block 1
 * of partition 0 bad, the first row is shown (only block 0 is checked),
 * all rows are refused naming block 1, and without the flag the open is.
 */
static void test_lazy_walk(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT;
	ff_buf_addstr(&src, "id,a,b\n");
	for (int i = 0; i < 200; i++)
		ff_buf_addf(&src, "%d,0.%03d,%d\n", i, i, i % 7);
	char *csv = tpath("walk.csv");
	char *dir = tpath("walk/t");
	assert_int_equal(fs_write_atomic(csv, src.buf, src.len, NULL), FF_OK);
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.partitions = 1;
	o.no_fsync = true;
	o.chunk_bytes = 256; /* a block per chunk at least */
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff_csv_import(csv, dir, &o, NULL, &err), FF_OK);
	char *part = tpath("walk/t/part-00000");
	struct ff_buf b = FF_BUF_INIT;
	assert_int_equal(fs_read_file(part, &b, NULL), FF_OK);
	uint64_t payload;
	memcpy(&payload, b.buf + 64 + 16, 8); /* block 0's payload size: block 1 follows */
	size_t h1 = 64 + 64 + (size_t)payload;
	assert_true(h1 + 64 < b.len);
	b.buf[h1 + 4] ^= 1;
	assert_int_equal(fs_write_atomic(part, b.buf, b.len, NULL), FF_OK);
	struct ff_table *t;
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "bad block header 1"));
	assert_int_equal(ff_table_open(&t, dir, FF_TABLE_LAZY, &err), FF_OK);
	struct ff_buf out = FF_BUF_INIT;
	assert_int_equal(ff_csv_display(t, 1, FF_CSV_NO_HEADER, &out, &err), FF_OK);
	assert_string_equal(out.buf, "0,0.000,0\n");
	ff_buf_reset(&out);
	assert_int_equal(ff_csv_display(t, UINT64_MAX, 0, &out, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "bad block header 1"));
	ff_table_free(t);
	ff_buf_release(&out);
	ff_buf_release(&b);
	ff_buf_release(&src);
	ff_free(part);
	ff_free(dir);
	ff_free(csv);
}

static void test_corrupt(void **state)
{
	(void)state;
	char *dir = tpath("bad/t");
	char *part = tpath("bad/t/part-00001");
	char *save = tpath("bad/saved");
	char *meta = tpath("bad/t/meta.json");
	struct ff_error err = FF_ERROR_INIT;
	make_table(dir, 40, 2, 2, 40, true);
	copy_file(part, save);
	assert_int_equal(read_all(dir, 0, &err), FF_OK);

	/* truncated */
	assert_int_equal(truncate(part, 500), 0);
	assert_int_equal(read_all(dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "part-00001"));
	assert_non_null(strstr(err.msg, "truncated"));

	/* every single byte flipped: refused or read, never a crash; a flip in
	 * a checksummed section is always refused when verifying */
	struct ff_buf orig = FF_BUF_INIT;
	assert_int_equal(fs_read_file(save, &orig, NULL), FF_OK);
	int refused = 0;
	for (size_t i = 0; i < orig.len; i++) {
		orig.buf[i] ^= 0x5a;
		assert_int_equal(fs_write_atomic(part, orig.buf, orig.len, NULL), FF_OK);
		int r1 = read_all(dir, 0, &err);
		if (r1 != FF_OK) {
			assert_int_equal(r1, FF_EDATA);
			assert_non_null(strstr(err.msg, "corrupted table"));
			refused++;
		}
		/* checking block headers on first read refuses the same */
		assert_int_equal(read_all(dir, FF_TABLE_LAZY, &err), r1);
		(void)read_all(dir, FF_TABLE_NO_VERIFY, &err);
		orig.buf[i] ^= 0x5a;
	}
	/* headers, footer and payload are all under a checksum */
	assert_int_equal(refused, (int)orig.len);
	assert_int_equal(fs_write_atomic(part, orig.buf, orig.len, NULL), FF_OK);
	assert_int_equal(read_all(dir, 0, &err), FF_OK);

	/* a value flipped: checksum names the block */
	size_t at = 64 + 64 + 8; /* first block, second label value */
	orig.buf[at] ^= 1;
	assert_int_equal(fs_write_atomic(part, orig.buf, orig.len, NULL), FF_OK);
	assert_int_equal(read_all(dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "block 0: values checksum mismatch"));
	assert_int_equal(read_all(dir, FF_TABLE_NO_VERIFY, &err), FF_OK);
	orig.buf[at] ^= 1;

	/* string offsets broken: refused even without checksums */
	size_t n = 20, ncol = 4;
	size_t sid_off = 64 + 64 + 8 * n * ncol;
	uint32_t bogus = 0xFFFFFF;
	memcpy(orig.buf + sid_off + 4 * 3, &bogus, 4);
	assert_int_equal(fs_write_atomic(part, orig.buf, orig.len, NULL), FF_OK);
	assert_int_equal(read_all(dir, FF_TABLE_NO_VERIFY, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "bad string offsets"));
	ff_buf_release(&orig);

	/* missing partition file, garbage meta, unknown version, no table */
	copy_file(save, part);
	unlink(part);
	assert_int_equal(read_all(dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "cannot open"));
	copy_file(save, part);
	struct ff_buf mb = FF_BUF_INIT;
	assert_int_equal(fs_read_file(meta, &mb, NULL), FF_OK);
	assert_int_equal(fs_write_atomic(meta, "{\"format\":", 10, NULL), FF_OK);
	assert_int_equal(read_all(dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "corrupted table meta"));
	char *v2 = ff_strdup(mb.buf);
	char *pos = strstr(v2, "\"format_version\": 2");
	assert_non_null(pos);
	pos[strlen("\"format_version\": ")] = '7';
	assert_int_equal(fs_write_atomic(meta, v2, strlen(v2), NULL), FF_OK);
	assert_int_equal(read_all(dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "unsupported format version"));
	ff_free(v2);
	char *c2 = ff_strdup(mb.buf);
	pos = strstr(c2, "\"count\": 40");
	assert_non_null(pos);
	pos[strlen("\"count\": ")] = '5';
	assert_int_equal(fs_write_atomic(meta, c2, strlen(c2), NULL), FF_OK);
	assert_int_equal(read_all(dir, 0, &err), FF_EDATA);
	ff_free(c2);
	assert_int_equal(fs_write_atomic(meta, mb.buf, mb.len, NULL), FF_OK);
	assert_int_equal(read_all(dir, 0, &err), FF_OK);
	ff_buf_release(&mb);
	char *none = tpath("bad/none");
	assert_int_equal(read_all(none, 0, &err), FF_ENOTABLE);
	ff_free(none);
	ff_free(dir);
	ff_free(part);
	ff_free(save);
	ff_free(meta);
}

/* ------------------------------------------------ int32 mantissa columns */

static bool same_bits(double a, double b)
{
	return !memcmp(&a, &b, sizeof(a));
}

static void test_enc_fit(void **state)
{
	(void)state;
	int32_t m;
	assert_true(ff__enc_fit(0.0, 0, &m) && m == 0);
	assert_true(ff__enc_fit(0.0, 6, &m) && m == 0);
	assert_false(ff__enc_fit(-0.0, 0, &m)); /* would decode as +0.0 */
	assert_false(ff__enc_fit(-0.0, 6, &m));
	assert_true(ff__enc_fit(1.5, 1, &m) && m == 15);
	assert_true(ff__enc_fit(1.5, 3, &m) && m == 1500);
	assert_false(ff__enc_fit(1.25, 1, &m));
	assert_true(ff__enc_fit(0.1, 1, &m) && m == 1);
	assert_true(ff__enc_fit(-3.141592, 6, &m) && m == -3141592);
	assert_true(ff__enc_fit(strtod("0.123456789", NULL), 9, &m) && m == 123456789);
	assert_true(ff__enc_fit(strtod("-9.99999999", NULL), 8, &m) && m == -999999999);
	assert_true(ff__enc_fit(2147483647.0, 0, &m) && m == INT32_MAX);
	assert_false(ff__enc_fit(2147483648.0, 0, &m));
	assert_true(ff__enc_fit(-2147483647.0, 0, &m) && m == -INT32_MAX);
	assert_false(ff__enc_fit(-2147483648.0, 0, &m)); /* only +-(2^31 - 1) */
	assert_false(ff__enc_fit(1e-7, 6, &m));
	assert_false(ff__enc_fit(1.0 / 3.0, 9, &m));
	assert_false(ff__enc_fit(NAN, 0, &m));
	assert_false(ff__enc_fit(INFINITY, 0, &m));
	assert_false(ff__enc_fit(1.0, FF__ENC_SCALE_MAX + 1, &m));
	/* every fit decodes to the same bits */
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (int k = 0; k < 200000; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = (unsigned)(x % 12);
		char txt[48];
		snprintf(txt, sizeof(txt), "%s%llu.%0*llu", x >> 63 ? "-" : "",
			 (unsigned long long)((x >> 20) % 5000), (int)(s ? s : 1),
			 (unsigned long long)((x >> 8) % 1000000000000ull % (s ? 1000000000000ull : 10)));
		double v = strtod(txt, NULL);
		for (unsigned t = 0; t <= 12; t++)
			if (ff__enc_fit(v, t, &m))
				assert_true(same_bits((double)m / ff__p10[t], v));
	}
}

/*
 * Feeds a column of decimal texts through ff__enc_put the way the importer
 * does (short fixed notation as exact mantissas, anything else as strtod's
 * double), then decodes it: every value must come back bit for bit.
 * Returns the column's final state.
 */
static uint8_t enc_column(const char *const *txt, size_t n)
{
	double *slot = ff_malloc(8 * n + 8);
	assert_non_null(slot);
	uint8_t st = FF__ENCST_UNSET;
	for (size_t i = 0; i < n; i++) {
		const char *t = txt[i];
		bool neg = *t == '-';
		const char *dot = strchr(t, '.');
		size_t nf = dot ? strlen(dot + 1) : 0;
		bool plain = strspn(t + neg, "0123456789.") == strlen(t + neg) && nf <= 7 &&
			     strlen(t + neg) - (dot ? 1 : 0) <= 14;
		double v = strtod(t, NULL);
		if (plain && !(v == 0 && neg)) {
			int64_t w = 0;
			for (const char *p = t + neg; *p; p++)
				if (*p != '.')
					w = w * 10 + (*p - '0');
			ff__enc_put(&st, slot, i, 0, true, neg ? -w : w, (unsigned)nf);
		} else {
			ff__enc_put(&st, slot, i, v, false, 0, (unsigned)nf);
		}
	}
	double *out = ff_malloc(8 * n + 8);
	assert_non_null(out);
	if (st <= FF__ENC_SCALE_MAX)
		ff__dec_i32(out, (const int32_t *)(const void *)slot, n, st);
	else
		memcpy(out, slot, 8 * n);
	for (size_t i = 0; i < n; i++)
		if (!same_bits(out[i], strtod(txt[i], NULL)))
			fail_msg("row %zu '%s' decoded as %.17g", i, txt[i], out[i]);
	ff_free(out);
	ff_free(slot);
	return st;
}

static void test_enc_columns(void **state)
{
	(void)state;
	static const char *const fixed6[] = { "-0.287570", "3.141592", "0.000001", "-3.999999" };
	assert_int_equal(enc_column(fixed6, 4), 6);
	/* scales grow when every earlier mantissa fits, shorter ones scale up */
	static const char *const mixed[] = { "3", "1.5", "1.25", "-7", "0.125", "2.5" };
	assert_int_equal(enc_column(mixed, 6), 3);
	/* nine-digit mantissas */
	static const char *const nine[] = { "0.123456789", "-0.999999999", "2.147483647" };
	assert_int_equal(enc_column(nine, 3), 9);
	/* ... and one that needs ten digits at the column's scale */
	static const char *const ten[] = { "0.123456789", "-9.99999999" };
	assert_int_equal(enc_column(ten, 2), FF__ENCST_F64);
	/* -0.0 anywhere: doubles (so its sign survives) */
	static const char *const nz_mid[] = { "1.500000", "-0.000000", "2.000000" };
	assert_int_equal(enc_column(nz_mid, 3), FF__ENCST_F64);
	static const char *const nz_first[] = { "-0", "1" };
	assert_int_equal(enc_column(nz_first, 2), FF__ENCST_F64);
	/* +0 is fine */
	static const char *const zeros[] = { "0.000000", "0", "-1.5" };
	assert_int_equal(enc_column(zeros, 3), 6);
	/* mantissas that do not fit int32, first or later */
	static const char *const big_first[] = { "12345678901", "1.5" };
	assert_int_equal(enc_column(big_first, 2), FF__ENCST_F64);
	static const char *const big_mid[] = { "1.5", "2.25", "2147483648", "3" };
	assert_int_equal(enc_column(big_mid, 4), FF__ENCST_F64);
	static const char *const edge[] = { "2147483647", "-2147483647" };
	assert_int_equal(enc_column(edge, 2), 0);
	/* scaling up would overflow: doubles */
	static const char *const grow[] = { "2000000", "0.0000001" };
	assert_int_equal(enc_column(grow, 2), FF__ENCST_F64);
	/* values parsed by the general parser (exponents, long mantissas) */
	static const char *const general[] = { "0.001", "2.5e-1", "1E-3", " 7" };
	assert_int_equal(enc_column(general, 4), 3);
	static const char *const inexact[] = { "0.1", "1e-30" };
	assert_int_equal(enc_column(inexact, 2), FF__ENCST_F64);
	static const char *const longm[] = { "0.1234567890123456789", "1" };
	assert_int_equal(enc_column(longm, 2), FF__ENCST_F64);
	/* random columns of mixed scales, signs and sizes */
	uint64_t x = 88172645463325252ull;
	char buf[64][40];
	const char *col[64];
	for (int k = 0; k < 3000; k++) {
		size_t n = 1 + (size_t)(k % 64);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			int s = (int)(x % 10);
			uint64_t w = (x >> 10) % (k % 3 ? 100000000ull : 100000000000ull);
			uint64_t p = 1;
			for (int q = 0; q < s; q++)
				p *= 10;
			if (s)
				snprintf(buf[i], sizeof(buf[i]), "%s%llu.%0*llu", x >> 63 ? "-" : "",
					 (unsigned long long)(w / p), s, (unsigned long long)(w % p));
			else
				snprintf(buf[i], sizeof(buf[i]), "%s%llu", x >> 63 ? "-" : "",
					 (unsigned long long)w);
			col[i] = buf[i];
		}
		(void)enc_column(col, n);
	}
}

/* The AVX-512 / AVX2 decoders (whichever the CPU has) against the scalar loop. */
static void test_dec_dispatch(void **state)
{
	(void)state;
	int32_t m[67];
	double a[67], b[67];
	uint64_t x = 1;
	for (size_t n = 0; n <= 67; n++) {
		for (unsigned s = 0; s <= FF__ENC_SCALE_MAX; s++) {
			for (size_t i = 0; i < n; i++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				m[i] = (int32_t)(x >> 32);
				if (i == 0)
					m[i] = INT32_MAX;
				if (i == 1)
					m[i] = -INT32_MAX;
			}
			ff__dec_i32(a, m, n, s);
			ff__dec_i32_scalar(b, m, n, s);
			assert_memory_equal(a, b, n * sizeof(double));
			for (size_t i = 0; i < n; i++)
				assert_true(same_bits(b[i], (double)m[i] / ff__p10[s]));
		}
	}
}

/* ------------------------------------------------ 3-byte mantissa columns */

/* Packs a copy of the n values at m; on refusal the copy must be unchanged. */
static bool i24_pack_copy(const int32_t *m, size_t n)
{
	int32_t c[32];
	assert_true(n <= FF_ARRAY_SIZE(c));
	memcpy(c, m, 4 * n);
	bool ok = ff__pack_i24(c, n);
	if (!ok)
		assert_memory_equal(c, m, 4 * n);
	return ok;
}

/* The 24-bit limits, and one value outside them anywhere in a column
 * (both sides of the 8-value steps): the column stays int32, unchanged. */
static void test_i24_fits(void **state)
{
	(void)state;
	const int32_t ok[] = { 0, 1, -1, 8388607, -8388608, 3999999, -3999999 };
	for (size_t n = 0; n <= FF_ARRAY_SIZE(ok); n++)
		assert_true(i24_pack_copy(ok, n));
	const int32_t bad[] = { 8388608, -8388609, INT32_MAX, INT32_MIN, -INT32_MAX, 1 << 24 };
	for (size_t k = 0; k < FF_ARRAY_SIZE(bad); k++) {
		int32_t m[27];
		for (size_t at = 0; at < FF_ARRAY_SIZE(m); at++) {
			for (size_t i = 0; i < FF_ARRAY_SIZE(m); i++)
				m[i] = i % 2 ? 8388607 : -8388608 + (int32_t)i;
			m[at] = bad[k];
			assert_false(i24_pack_copy(m, FF_ARRAY_SIZE(m)));
			assert_true(i24_pack_copy(m, at)); /* the values before it fit */
		}
	}
}

/*
 * Packing then decoding gives ff__dec_i32's bits for every row count (tail
 * handling of every width) and scale; the packed column is copied to a
 * buffer of exactly 3 n bytes, so a decoder reading past it fails under
 * ASan. The wide decoder is compared with the scalar one.
 */
static void test_i24_pack_dec(void **state)
{
	(void)state;
	enum { N = 75 };
	int32_t m[N];
	unsigned char col[4 * N + 4];
	double a[N], b[N], c[N];
	uint64_t x = 7;
	for (size_t n = 0; n <= N; n++) {
		for (unsigned s = 0; s <= FF__ENC_SCALE_MAX; s++) {
			for (size_t i = 0; i < n; i++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				m[i] = (int32_t)(x >> 40) - (1 << 23); /* -2^23 .. 2^23 - 1 */
			}
			if (n > 0)
				m[n - 1] = -8388608; /* extremes last: the tail path */
			if (n > 1)
				m[n - 2] = 8388607;
			if (n > 2)
				m[0] = 8388607;
			if (n > 3)
				m[1] = -8388608;
			memcpy(col, m, 4 * n);
			assert_true(ff__pack_i24(col, n));
			for (size_t i = 0; i < n; i++) { /* little-endian, 3 bytes each */
				uint32_t u = (uint32_t)m[i];
				assert_int_equal(col[3 * i], u & 255);
				assert_int_equal(col[3 * i + 1], (u >> 8) & 255);
				assert_int_equal(col[3 * i + 2], (u >> 16) & 255);
			}
			unsigned char *exact = ff_malloc(3 * n + !n);
			assert_non_null(exact);
			memcpy(exact, col, 3 * n);
			ff__dec_i24(a, exact, n, s);
			ff__dec_i24_scalar(b, exact, n, s);
			ff__dec_i32_scalar(c, m, n, s);
			assert_memory_equal(a, c, n * sizeof(double));
			assert_memory_equal(b, c, n * sizeof(double));
			ff_free(exact);
		}
	}
}

/*
 * Block of n rows, column k of which holds the mantissas mk(i) at scale
 * sk (through the importer's column encoder), column 3 as doubles.
 */
struct i24_col {
	unsigned s;
	int64_t (*m)(size_t i, size_t blk);
};

static int64_t i24_m0(size_t i, size_t blk) /* 24-bit extremes */
{
	(void)blk;
	return i % 3 == 0 ? 8388607 : i % 3 == 1 ? -8388608 : (int64_t)i * 1000 - 4000000;
}

static int64_t i24_m1(size_t i, size_t blk) /* one value outside 24 bits */
{
	(void)blk;
	return i == 5 ? 8388608 : -(int64_t)i;
}

static int64_t i24_m2(size_t i, size_t blk) /* 24 bits in even blocks only */
{
	return blk % 2 ? -8388609 - (int64_t)i : -3999999 + (int64_t)i;
}

static const struct i24_col i24_cols[3] = { { 6, i24_m0 }, { 0, i24_m1 }, { 3, i24_m2 } };
static const size_t i24_rows[] = { 1, 7, 8, 13, 16, 3 }; /* odd and round row counts */

static double i24_val(size_t c, size_t i, size_t blk)
{
	if (c == 3)
		return 1.0 / 3.0 + (double)i;
	return (double)i24_cols[c].m(i, blk) / ff__p10[i24_cols[c].s];
}

/* Writes the blocks of i24_rows through ff__writer_put_block, as the importer does. */
static void i24_write(const char *dir, bool old_writer)
{
	struct ff_schema s;
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table_writer *w = NULL;
	struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
	o.no_fsync = true;
	make_schema(&s, 4, true, false, false);
	assert_int_equal(ff_table_writer_create(&w, dir, &s, &o, &err), FF_OK);
	if (old_writer)
		ff__writer_no_i24(w);
	struct ff__block b;
	assert_int_equal(ff__block_init(&b, 4, 0, false, false, 16), FF_OK);
	uint8_t st[6], enc[6];
	size_t row = 0;
	for (size_t k = 0; k < FF_ARRAY_SIZE(i24_rows); k++) {
		memset(st, FF__ENCST_UNSET, sizeof(st));
		for (size_t i = 0; i < i24_rows[k]; i++, row++) {
			char id[32];
			snprintf(id, sizeof(id), "r%zu", row);
			assert_int_equal(ff__block_put_str(&b.sid, b.sid_off, i, id, strlen(id)),
					 FF_OK);
			/* label: 24 bits; features 0..2 as i24_cols; feature 3 doubles */
			ff__enc_put(&st[0], b.vals, i, 0, true, (int64_t)(i % 2), 0);
			for (size_t c = 0; c < 3; c++)
				ff__enc_put(&st[2 + c], ff__block_col(&b, c), i, 0, true,
					    i24_cols[c].m(i, k), i24_cols[c].s);
			ff__enc_put(&st[5], ff__block_col(&b, 3), i, i24_val(3, i, k), false, 0, 0);
			b.n++;
		}
		for (size_t c = 0; c < 6; c++)
			enc[c] = ff__enc_of(st[c]);
		b.enc = enc;
		assert_int_equal(ff__writer_put_block(w, &b, &err), FF_OK);
	}
	assert_int_equal(ff_table_writer_commit(w, &err), FF_OK);
	ff_table_writer_free(w);
	ff__block_release(&b);
	ff_schema_release(&s);
}

/* Every value read back bit for bit; column encodings as expected. */
static void i24_check(const char *dir, bool old_writer)
{
	struct ff_table *t;
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	const struct ff__part *pt = &t->parts[0];
	assert_int_equal(pt->nblk, FF_ARRAY_SIZE(i24_rows));
	for (size_t k = 0; k < pt->nblk; k++) {
		const uint8_t *e = pt->blk[k].enc;
		assert_non_null(e);
		unsigned w24 = old_writer ? FF__ENC_I32(0) : FF__ENC_I24(0);
		assert_int_equal(e[0], w24);                     /* label */
		assert_int_equal(e[1], w24 + 6);                 /* extremes */
		assert_int_equal(e[2], i24_rows[k] > 5 ? FF__ENC_I32(0) : w24); /* 2^23 at row 5 */
		assert_int_equal(e[3], k % 2 ? FF__ENC_I32(3) : w24 + 3);
		assert_int_equal(e[4], FF__ENC_F64);
	}
	struct ff_dataset ds;
	assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES, &ds, &err), FF_OK);
	size_t row = 0;
	for (size_t k = 0; k < FF_ARRAY_SIZE(i24_rows); k++)
		for (size_t i = 0; i < i24_rows[k]; i++, row++) {
			assert_true(same_bits(ds.label[row], (double)(i % 2)));
			for (size_t c = 0; c < 4; c++)
				assert_true(same_bits(ds.x[row * 4 + c], i24_val(c, i, k)));
		}
	assert_int_equal(ds.n, row);
	ff_dataset_release(&ds);
	ff_table_free(t);
}

/*
 * Tables of blocks mixing encodings (3-byte, int32, f64 columns; a column
 * 3-byte in one block and int32 in the next) at odd row counts read back
 * bit for bit, as do the same blocks written the older way (int32 only);
 * the 3-byte tables are smaller; a changed 3-byte value fails the values
 * checksum.
 */
static void test_i24_table(void **state)
{
	(void)state;
	char *dir = tpath("i24/new");
	char *old = tpath("i24/old");
	char *part = tpath("i24/new/part-00000");
	char *oldpart = tpath("i24/old/part-00000");
	struct ff_error err = FF_ERROR_INIT;
	i24_write(dir, false);
	i24_check(dir, false);
	i24_write(old, true);
	i24_check(old, true);
	struct stat a, b;
	assert_int_equal(stat(part, &a), 0);
	assert_int_equal(stat(oldpart, &b), 0);
	assert_true(a.st_size < b.st_size);

	/* a byte of the first block's 3-byte extremes column (label: 1 row, 8 bytes) */
	struct ff_buf f = FF_BUF_INIT;
	assert_int_equal(fs_read_file(part, &f, NULL), FF_OK);
	size_t at = 64 + 64 + 8 + 8 + 1;
	int32_t m = 0;
	memcpy(&m, f.buf + at - 1, 3);
	assert_int_equal(m, 8388607); /* the value the test means to change */
	f.buf[at] ^= 4;
	assert_int_equal(fs_write_atomic(part, f.buf, f.len, NULL), FF_OK);
	assert_int_equal(read_all(dir, 0, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "block 0: values checksum mismatch"));
	assert_int_equal(read_all(dir, FF_TABLE_NO_VERIFY, &err), FF_OK);
	f.buf[at] ^= 4;
	/* an encoding byte past the last one is refused at open */
	f.buf[64 + 64 + 1] = (char)(FF__ENC_MAX + 1);
	assert_int_equal(fs_write_atomic(part, f.buf, f.len, NULL), FF_OK);
	assert_int_equal(read_all(dir, FF_TABLE_NO_VERIFY, &err), FF_EDATA);
	ff_buf_release(&f);
	ff_free(dir);
	ff_free(old);
	ff_free(part);
	ff_free(oldpart);
}

#ifndef FF_FUZZ_CORPUS
#define FF_FUZZ_CORPUS "fuzz/corpus"
#endif

static int v1_sink(void *ctx, const char *data, size_t n)
{
	return ff_buf_add(ctx, data, n);
}

/*
 * Tables written by format 1 (the fuzz-table seeds csv0..csv2, made before
 * format 2; fuzz/fuzz-table.c has their source CSVs): still opened, read
 * and exported as their source byte for byte.
 */
static void test_read_format1(void **state)
{
	(void)state;
	static const char *const src[] = {
		"id,y,x0,x1\n1,0,0.5,-1.25\n2,1,3,7\n3,0,1e300,0.1\n",
		"id,x0\r\na,1\r\nb,2.50\r\nc,-0\r\n",
		"sid,mid,y,w,x0\n1,m1,1,0.5,2\n2,m2,0,1.5,3\n",
	};
	struct ff_error err = FF_ERROR_INIT;
	for (int i = 0; i < 3; i++) {
		char *seed = ff_asprintf("%s/table/csv%d", FF_FUZZ_CORPUS, i);
		struct ff_buf in = FF_BUF_INIT_MAX(1 << 24);
		assert_int_equal(fs_read_file(seed, &in, NULL), FF_OK);
		/* the harness's input: flags, 16-bit meta length, meta, partitions */
		const unsigned char *d = (const unsigned char *)in.buf;
		size_t mlen = (size_t)d[1] | (size_t)d[2] << 8;
		assert_true(3 + mlen <= in.len);
		char *dir = tpath("v1/t%d", i);
		assert_int_equal(fs_mkdirs(dir, 0755, NULL), FF_OK);
		char *p = ff_asprintf("%s/meta.json", dir);
		assert_int_equal(fs_write_atomic(p, in.buf + 3, mlen, NULL), FF_OK);
		ff_free(p);
		size_t start = 3 + mlen;
		for (unsigned k = 0; start < in.len; k++) {
			size_t next = in.len;
			for (size_t q = start + 8; q + 8 <= in.len; q += 8)
				if (!memcmp(in.buf + q, "FFTBPART", 8)) {
					next = q;
					break;
				}
			assert_int_equal(ff__le32(d + start + 8), 1); /* written by format 1 */
			p = ff_asprintf("%s/" FF__PART_FMT, dir, k);
			assert_int_equal(fs_write_atomic(p, in.buf + start, next - start, NULL), FF_OK);
			ff_free(p);
			start = next;
		}
		struct ff_table *t;
		assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
		assert_int_equal(json_integer_value(json_object_get(ff_table_meta(t),
								    "format_version")), 1);
		struct ff_buf out = FF_BUF_INIT_MAX(1 << 24);
		assert_int_equal(ff_csv_export(t, UINT64_MAX, 0, v1_sink, &out, &err), FF_OK);
		assert_int_equal(out.len, strlen(src[i]));
		assert_memory_equal(out.buf, src[i], out.len);
		struct ff_dataset ds;
		assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err), FF_OK);
		assert_int_equal(ds.n, 3 - (i == 2));
		if (i == 0)
			assert_true(ds.x[2 * 2] == 1e300 && ds.x[1] == -1.25);
		if (i == 1)
			assert_true(ds.x[2] == 0 && signbit(ds.x[2]));
		ff_dataset_release(&ds);
		ff_table_free(t);
		ff_buf_release(&out);
		ff_buf_release(&in);
		ff_free(dir);
		ff_free(seed);
	}
}

/* ------------------------------------------------------- direct output */

static unsigned char dio_byte(size_t i, unsigned f)
{
	return (unsigned char)((i * 131 + i / 4099 + f * 17) & 255);
}

/* Whether page k of the file at path is in the page cache. */
static bool dio_cached(const char *path, size_t k)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	unsigned char vec[1] = { 0 };
	assert_int_equal(mincore((char *)m + k * 4096, 1, vec), 0);
	munmap(m, (size_t)st.st_size);
	close(fd);
	return vec[0] & 1;
}

/* A file for ff__dio: O_DIRECT where the file system has it. */
static int dio_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0644);
	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	return fd;
}

/*
 * Files written one after the other through one ff__dio, in uneven pieces,
 * at sizes around the 4 KiB unit and the 2 MiB buffers, and one past the
 * 64 MiB a file is made sparse ahead of its writes at a time: each holds
 * exactly its bytes, at its exact size, with no more than its size on
 * disk (nothing allocated past its end), and its first and last pages are
 * in the page cache (a reader's open finds its header and footer there),
 * with the whole first buffer of the first file.
 */
static void test_dio_files(void **state)
{
	(void)state;
	static const size_t sizes[] = { (9 << 20) + 12345, 1, 96, 4095, 4096, 4097, (2 << 20) - 1,
					2 << 20, (2 << 20) + 1, 8192, (70 << 20) + 5 };
	const size_t nf = sizeof(sizes) / sizeof(sizes[0]);
	size_t maxsz = (70 << 20) + 5;
	unsigned char *data = ff_malloc(maxsz);
	assert_non_null(data);
	struct ff__dio *d;
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff__dio_create(&d, &err), FF_OK);
	for (unsigned f = 0; f < nf; f++) {
		char *path = ff_asprintf("%s/dio-%u", tmp_root, f);
		int fd = dio_open(path);
		assert_true(fd >= 0);
		/* the first file keeps its first buffer cached, as a table's partition 0 */
		assert_int_equal(ff__dio_begin(d, fd, path, f ? 0 : SIZE_MAX), FF_OK);
		for (size_t i = 0; i < sizes[f]; i++)
			data[i] = dio_byte(i, f);
		for (size_t at = 0, step = 1; at < sizes[f]; step = step * 7 % 300007 + 1) {
			size_t n = sizes[f] - at < step ? sizes[f] - at : step;
			assert_int_equal(ff__dio_write(d, data + at, n, &err), FF_OK);
			at += n;
		}
		assert_int_equal(ff__dio_finish(d, &err), FF_OK);
		ff_free(path);
	}
	assert_int_equal(ff__dio_drain(d, &err), FF_OK);
	ff__dio_free(d);
	for (unsigned f = 0; f < nf; f++) {
		char *path = ff_asprintf("%s/dio-%u", tmp_root, f);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_true((uint64_t)st.st_blocks * 512 <= (sizes[f] + 4095) / 4096 * 4096);
		assert_true(dio_cached(path, 0));
		assert_true(dio_cached(path, (sizes[f] - 1) / 4096));
		if (f == 0) /* the first file's first buffer: a table's first rows */
			assert_true(dio_cached(path, ((size_t)2 << 20) / 4096 - 1));
		struct ff_buf b = FF_BUF_INIT_MAX((size_t)128 << 20);
		assert_int_equal(fs_read_file(path, &b, NULL), FF_OK);
		assert_int_equal(b.len, sizes[f]);
		for (size_t i = 0; i < b.len; i++)
			if ((unsigned char)b.buf[i] != dio_byte(i, f))
				fail_msg("file %u byte %zu", f, i);
		ff_buf_release(&b);
		unlink(path);
		ff_free(path);
	}
	ff_free(data);
}

/*
 * A write that fails (a descriptor not open for writing) is returned by a
 * later call, naming the file; an unfinished file is closed by the free.
 */
static void test_dio_error(void **state)
{
	(void)state;
	char *path = ff_asprintf("%s/dio-ro", tmp_root);
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	struct ff__dio *d;
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff__dio_create(&d, &err), FF_OK);
	assert_int_equal(ff__dio_begin(d, fd, path, 0), FF_OK);
	static unsigned char zero[1 << 16];
	int ret = FF_OK;
	for (int i = 0; i < 100 && !ret; i++)
		ret = ff__dio_write(d, zero, sizeof(zero), &err);
	if (!ret)
		ret = ff__dio_finish(d, &err);
	if (!ret)
		ret = ff__dio_drain(d, &err);
	assert_int_not_equal(ret, FF_OK);
	assert_non_null(strstr(err.msg, "cannot write"));
	assert_non_null(strstr(err.msg, path));
	ff__dio_free(d);
	/* and one aborted in the middle of a file */
	char *p2 = ff_asprintf("%s/dio-abort", tmp_root);
	assert_int_equal(ff__dio_create(&d, &err), FF_OK);
	fd = dio_open(p2);
	assert_true(fd >= 0);
	assert_int_equal(ff__dio_begin(d, fd, p2, 0), FF_OK);
	for (int i = 0; i < 100; i++)
		assert_int_equal(ff__dio_write(d, zero, sizeof(zero), &err), FF_OK);
	ff__dio_free(d);
	unlink(path);
	unlink(p2);
	ff_free(path);
	ff_free(p2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_roundtrip),
		cmocka_unit_test(test_shortest_text),
		cmocka_unit_test(test_parse_exact),
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_partitions_unknown_count),
		cmocka_unit_test(test_render_computed),
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_lazy_open),
		cmocka_unit_test(test_lazy_walk),
		cmocka_unit_test(test_enc_fit),
		cmocka_unit_test(test_enc_columns),
		cmocka_unit_test(test_dec_dispatch),
		cmocka_unit_test(test_i24_fits),
		cmocka_unit_test(test_i24_pack_dec),
		cmocka_unit_test(test_i24_table),
		cmocka_unit_test(test_read_format1),
		cmocka_unit_test(test_dio_files),
		cmocka_unit_test(test_dio_error),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
