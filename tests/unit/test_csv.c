// SPDX-License-Identifier: Apache-2.0
/*
 * test_csv.c - unit tests of CSV import/export (runtime/ff_csv.c): the
 * shared FATE data sets imported with the example upload parameters and
 * exported byte for byte, values checked against strtod, extend_sid, the
 * reader -> copy ("noop") -> download path, odd but valid files (CRLF, no
 * final newline, BOM, spaces, no header), upload parameter parsing, and
 * every bad input: each must fail, name file, line and column, and leave no
 * table (nor temporary directory) behind. Every import is repeated with
 * several threads and tiny chunks: the table, and the first error, must not
 * change; imported numbers are compared with strtod bit for bit.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "buf.h"
#include "err.h"
#include "fedflow/table.h"
#include "ff_csv_num.h"
#include "ff_table_int.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

#ifndef FF_SHARED_DIR
#define FF_SHARED_DIR "/work/shared"
#endif

static char tmp_root[64];

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/ff-test-csv-XXXXXX");
	return mkdtemp(tmp_root) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return fs_rm_rf(tmp_root);
}

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

static char *shared(const char *rel)
{
	const char *env = getenv("FF_SHARED_DIR");
	char *p = ff_asprintf("%s/%s", env ? env : FF_SHARED_DIR, rel);
	assert_non_null(p);
	return p;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void read_whole(const char *path, struct ff_buf *b)
{
	ff_buf_init(b, (size_t)1 << 30);
	assert_int_equal(fs_read_file(path, b, NULL), FF_OK);
}

static int buf_sink(void *ctx, const char *data, size_t n)
{
	return ff_buf_add(ctx, data, n);
}

static void export_all(const char *dir, unsigned flags, struct ff_buf *out)
{
	struct ff_table *t;
	struct ff_error err = FF_ERROR_INIT;
	ff_buf_init(out, (size_t)1 << 30);
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_int_equal(ff_csv_export(t, UINT64_MAX, flags, buf_sink, out, &err),
			 FF_OK);
	ff_table_free(t);
}

/* Opts as the upload component builds them from a FATE upload JSON. */
static void opts_from_file(const char *rel, struct ff_csv_opts *o, json_t **params)
{
	char *p = shared(rel);
	struct ff_buf b;
	struct ff_error err = FF_ERROR_INIT;
	read_whole(p, &b);
	assert_int_equal(jsonx_parse(b.buf, b.len, params, &err), FF_OK);
	assert_int_equal(ff_csv_opts_from_json(o, *params, &err), FF_OK);
	o->no_fsync = true;
	ff_buf_release(&b);
	ff_free(p);
}

/* ---------------------------------------------------------- round trips */

/* Every value of the table equals strtod of the source field, row by row. */
static void check_values(const char *csv, const char *dir, bool label)
{
	struct ff_buf src;
	struct ff_table *t;
	struct ff_error err = FF_ERROR_INIT;
	struct ff_dataset ds;
	read_whole(csv, &src);
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err), FF_OK);
	char *save, *line = strtok_r(src.buf, "\n", &save);
	size_t row = 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *fs, *f = strtok_r(line, ",", &fs);
		assert_string_equal(ds.mid[row], f);
		size_t j = 0;
		if (label) {
			f = strtok_r(NULL, ",", &fs);
			assert_true(ds.label[row] == strtod(f, NULL));
		}
		while ((f = strtok_r(NULL, ",", &fs)))
			assert_true(ds.x[row * ds.d + j++] == strtod(f, NULL));
		assert_int_equal(j, ds.d);
		row++;
	}
	assert_int_equal(row, ds.n);
	ff_dataset_release(&ds);
	ff_table_free(t);
	ff_buf_release(&src);
}

static void test_breast_roundtrip(void **state)
{
	(void)state;
	static const struct {
		const char *csv, *json;
		size_t d;
		bool label;
	} cases[] = {
		{ "data/breast_hetero_guest.csv", "examples/fate_upload_guest.json", 10, true },
		{ "data/breast_hetero_host.csv", "examples/fate_upload_host.json", 20, false },
	};
	for (size_t c = 0; c < FF_ARRAY_SIZE(cases); c++) {
		struct ff_csv_opts o;
		struct ff_csv_result res;
		struct ff_error err = FF_ERROR_INIT;
		json_t *params;
		opts_from_file(cases[c].json, &o, &params);
		assert_true(o.extend_sid);
		assert_int_equal(o.partitions, 16);
		char *csv = shared(cases[c].csv);
		char *dir = tpath("experiment/%zu", c);
		assert_int_equal(ff_csv_import(csv, dir, &o, &res, &err), FF_OK);
		assert_int_equal(res.count, 569);
		assert_int_equal(strlen(res.sid_prefix), 32);

		struct ff_table *t;
		assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
		const struct ff_schema *s = ff_table_schema(t);
		assert_int_equal(ff_table_count(t), 569);
		assert_int_equal(ff_table_partitions(t), 16);
		assert_true(ff_table_has_text(t));
		assert_string_equal(s->sample_id_name, "sid");
		assert_string_equal(s->match_id_name, "id");
		assert_int_equal(s->n_features, cases[c].d);
		for (size_t j = 0; j < s->n_features; j++) {
			char name[8];
			snprintf(name, sizeof(name), "x%zu", j);
			assert_string_equal(s->feature_names[j], name);
		}
		if (cases[c].label) {
			assert_string_equal(s->label_name, "y");
			assert_string_equal(s->label_type, "int32");
		} else {
			assert_null(s->label_name);
		}
		assert_null(s->weight_name);
		/* partitions: contiguous, all used, balanced by bytes */
		uint64_t start = 0;
		for (unsigned p = 0; p < 16; p++) {
			uint64_t n = ff_table_partition_count(t, p);
			assert_int_equal(ff_table_partition_start(t, p), start);
			assert_true(n >= 30 && n <= 42);
			start += n;
		}
		assert_int_equal(start, 569);
		/* extend_sid: one random prefix + row index */
		struct ff_row_iter ri;
		struct ff_row row;
		assert_int_equal(ff_row_iter_init(&ri, t, -1, &err), FF_OK);
		while (ff_row_iter_next(&ri, &row, &err) > 0) {
			char want[64];
			int n = snprintf(want, sizeof(want), "%s%llu", res.sid_prefix,
					 (unsigned long long)row.index);
			assert_int_equal(row.sid_len, (size_t)n);
			assert_memory_equal(row.sid, want, (size_t)n);
		}
		ff_row_iter_release(&ri);
		/* display: the first lines of the file */
		struct ff_buf src, out = FF_BUF_INIT;
		read_whole(csv, &src);
		assert_int_equal(ff_csv_display(t, 5, 0, &out, &err), FF_OK);
		size_t six = 0;
		for (int k = 0; k < 6; k++)
			six = (size_t)(strchr(src.buf + six, '\n') - src.buf) + 1;
		assert_int_equal(out.len, six);
		assert_memory_equal(out.buf, src.buf, six);
		json_t *h = ff_csv_header_json(t, 0);
		assert_int_equal(json_array_size(h), cases[c].d + 1 + cases[c].label);
		assert_string_equal(json_string_value(json_array_get(h, 0)), "id");
		json_decref(h);
		ff_buf_release(&out);
		ff_table_free(t);

		/* download: byte-exact */
		export_all(dir, 0, &out);
		assert_int_equal(out.len, src.len);
		assert_memory_equal(out.buf, src.buf, src.len);
		ff_buf_release(&out);
		/* FATE's `table` download: sid column first */
		export_all(dir, FF_CSV_WITH_SID, &out);
		assert_true(!strncmp(out.buf, "sid,id,", 7));
		char *l2 = strchr(out.buf, '\n') + 1;
		assert_memory_equal(l2, res.sid_prefix, 32);
		assert_true(!strncmp(l2 + 32, "0,133,", 6));
		ff_buf_release(&out);
		check_values(csv, dir, cases[c].label);

		/* reader -> noop (row copy) -> download: still byte-exact */
		char *copy = tpath("experiment/copy%zu", c);
		struct ff_table_writer *w;
		struct ff_table_writer_opts wo = FF_TABLE_WRITER_OPTS_INIT;
		wo.partitions = 4;
		wo.expected_rows = 569;
		wo.no_fsync = true;
		assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
		assert_int_equal(ff_table_writer_create_like(&w, copy, t, &wo, &err), FF_OK);
		struct ff_table_iter it;
		struct ff_batch b;
		assert_int_equal(ff_table_iter_init(&it, t, -1,
						    FF_NEED_VALUES | FF_NEED_IDS | FF_NEED_TEXT, &err),
				 FF_OK);
		while (ff_table_iter_next(&it, &b, &err) > 0)
			for (size_t i = 0; i < b.n; i++)
				assert_int_equal(ff_table_writer_append_row(w, &b, i, &err), FF_OK);
		assert_int_equal(ff_table_writer_commit(w, &err), FF_OK);
		ff_table_writer_free(w);
		ff_table_free(t);
		export_all(copy, 0, &out);
		assert_int_equal(out.len, src.len);
		assert_memory_equal(out.buf, src.buf, src.len);
		ff_buf_release(&out);
		ff_buf_release(&src);
		ff_free(copy);
		ff_free(dir);
		ff_free(csv);
		json_decref(params);
	}
}

/* Every shared data set: import without extend_sid (ids unique) and back. */
static void test_all_datasets(void **state)
{
	(void)state;
	char *data = shared("data");
	DIR *d = opendir(data);
	assert_non_null(d);
	struct dirent *de;
	int seen = 0;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".csv"))
			continue;
		char *csv = ff_asprintf("%s/%s", data, de->d_name);
		char *dir = tpath("all/%s", de->d_name);
		struct ff_csv_opts o;
		struct ff_error err = FF_ERROR_INIT;
		ff_csv_opts_init(&o);
		o.no_fsync = true;
		o.partitions = 3;
		bool label = strstr(de->d_name, "guest") || strstr(de->d_name, "homo");
		o.label_name = label ? "y" : NULL;
		o.label_type = label ? "float64" : NULL;
		int ret = ff_csv_import(csv, dir, &o, NULL, &err);
		if (ret)
			fail_msg("%s: %s", de->d_name, err.msg);
		struct ff_buf src, out;
		read_whole(csv, &src);
		export_all(dir, 0, &out);
		if (out.len != src.len || memcmp(out.buf, src.buf, src.len))
			fail_msg("%s: export differs", de->d_name);
		check_values(csv, dir, label);
		ff_buf_release(&src);
		ff_buf_release(&out);
		ff_free(csv);
		ff_free(dir);
		seen++;
	}
	closedir(d);
	assert_true(seen >= 14);
	ff_free(data);
}

static char *write_file(const char *name, const char *content, size_t len)
{
	char *p = tpath("in/%s", name);
	char *dir = tpath("in");
	assert_int_equal(fs_mkdirs(dir, 0755, NULL), FF_OK);
	assert_int_equal(fs_write_atomic(p, content, len, NULL), FF_OK);
	ff_free(dir);
	return p;
}

/* Imports content with o and checks the export is byte-exact. */
static void roundtrip(const char *name, const char *content, struct ff_csv_opts *o,
		      uint64_t want_rows)
{
	char *csv = write_file(name, content, strlen(content));
	char *dir = tpath("odd/%s", name);
	struct ff_error err = FF_ERROR_INIT;
	struct ff_csv_result res;
	o->no_fsync = true;
	if (ff_csv_import(csv, dir, o, &res, &err))
		fail_msg("%s: %s", name, err.msg);
	assert_int_equal(res.count, want_rows);
	struct ff_buf out;
	export_all(dir, 0, &out);
	if (strcmp(out.buf, content))
		fail_msg("%s: exported '%s'", name, out.buf);
	ff_buf_release(&out);
	ff_free(dir);
	ff_free(csv);
}

static void test_odd_files(void **state)
{
	(void)state;
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.label_name = "y";
	roundtrip("crlf.csv", "id,y,a,b\r\n1,0,0.5,-1.250\r\n2,1,3,4e2\r\n", &o, 2);
	roundtrip("nofinal.csv", "id,y,a\n1,0,0.5\n2,1,-0.0", &o, 2);
	roundtrip("bom.csv", "\xEF\xBB\xBFid,y,a\n1,0,0.5\n", &o, 1);
	roundtrip("spaces.csv", "id,y,a,b\n1, 0 ,  0.5,+7\n2,1,.5,5.\n", &o, 2);
	roundtrip("zeros.csv", "id,y,a,b\n1,0,-0.000,007\n2,1,1.000000000000000000001,1e-400\n", &o,
		  2);
	roundtrip("onecol.csv", "id,y\nA,1\nB,0\n", &o, 2);
	o.label_name = NULL;
	roundtrip("idonly.csv", "id\nA\nB\n", &o, 2);
	o.delimiter = '\t';
	o.label_name = "y";
	roundtrip("tab.csv", "id\ty\ta\n1\t0\t0.5\n", &o, 1);
	o.delimiter = ',';
	o.head = false;
	o.label_name = NULL;
	roundtrip("nohead.csv", "1,0.5,2\n2,0.25,3\n", &o, 2);
	o.header = "key,y,f";
	o.label_name = "y";
	roundtrip("metahead.csv", "1,0,2\n2,1,3\n", &o, 2);

	/* names from meta.header, generated names otherwise */
	struct ff_table *t;
	struct ff_error err = FF_ERROR_INIT;
	char *dir = tpath("odd/metahead.csv");
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_string_equal(ff_table_schema(t)->sample_id_name, "key");
	assert_string_equal(ff_table_schema(t)->feature_names[0], "f");
	ff_table_free(t);
	ff_free(dir);
	dir = tpath("odd/nohead.csv");
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_string_equal(ff_table_schema(t)->sample_id_name, "id");
	assert_string_equal(ff_table_schema(t)->feature_names[1], "x1");
	ff_table_free(t);
	ff_free(dir);

	/* id column from match_id_name anywhere in the header; weight */
	ff_csv_opts_init(&o);
	o.match_id_name = "key";
	o.weight_name = "w";
	o.label_name = "y";
	roundtrip("idmid.csv", "a,key,w,y\n0.1,k1,2,1\n0.2,k2,3,0\n", &o, 2);
	dir = tpath("odd/idmid.csv");
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	struct ff_dataset ds;
	assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err), FF_OK);
	assert_string_equal(ds.sid[1], "k2");
	assert_true(ds.weight[1] == 3 && ds.label[1] == 0 && ds.x[1] == 0.2);
	ff_dataset_release(&ds);
	ff_table_free(t);
	ff_free(dir);

	/* extend_sid with a named sid column and duplicated match ids */
	ff_csv_opts_init(&o);
	o.extend_sid = true;
	o.sample_id_name = "sample";
	roundtrip("dupext.csv", "id,a\nA,1\nA,2\n", &o, 2);
	dir = tpath("odd/dupext.csv");
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	assert_string_equal(ff_table_schema(t)->sample_id_name, "sample");
	struct ff_buf out = FF_BUF_INIT;
	assert_int_equal(ff_csv_display(t, 1, FF_CSV_WITH_SID, &out, &err), FF_OK);
	assert_true(!strncmp(out.buf, "sample,id,a\n", 12));
	assert_int_equal(strlen(out.buf), 12 + 33 + 4 + 1);
	ff_buf_release(&out);
	ff_table_free(t);
	ff_free(dir);
}

/* Partition p of table dir, whole. */
static void read_part(const char *dir, unsigned p, struct ff_buf *out)
{
	char *path = ff_asprintf("%s/part-%05u", dir, p);
	read_whole(path, out);
	ff_free(path);
}

/*
 * A durable import writes its partitions with O_DIRECT (ff_table_dio.c):
 * the files hold the same bytes as a buffered import's, past the header
 * with its random table uid, at sizes that are no multiple of the write
 * unit, and the table reads back as its source.
 */
static void test_durable_direct(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT_MAX((size_t)64 << 20);
	assert_int_equal(ff_buf_addstr(&src, "id,a,b,c,d,e,f,g,h\n"), FF_OK);
	uint64_t x = 0x2545F4914F6CDD1Dull;
	for (int i = 0; i < 120000; i++) {
		ff_buf_addf(&src, "%d", i);
		for (int k = 0; k < 8; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			ff_buf_addf(&src, ",%s%llu.%06llu", x & 1 ? "-" : "",
				    (unsigned long long)(x >> 40) % 4, (unsigned long long)(x >> 8) % 1000000);
		}
		ff_buf_addch(&src, '\n');
	}
	char *csv = write_file("durable.csv", src.buf, src.len);
	char *dir[2] = { tpath("durable"), tpath("buffered") };
	struct ff_error err = FF_ERROR_INIT;
	for (int k = 0; k < 2; k++) {
		struct ff_csv_opts o;
		ff_csv_opts_init(&o);
		o.partitions = 5;
		o.threads = 2;
		o.no_fsync = k == 1;
		assert_int_equal(ff_csv_import(csv, dir[k], &o, NULL, &err), FF_OK);
	}
	struct ff_buf out;
	export_all(dir[0], 0, &out);
	assert_int_equal(out.len, src.len);
	assert_memory_equal(out.buf, src.buf, src.len);
	check_values(csv, dir[0], false);
	size_t total = 0;
	for (unsigned p = 0; p < 5; p++) {
		struct ff_buf a, b;
		read_part(dir[0], p, &a);
		read_part(dir[1], p, &b);
		assert_int_equal(a.len, b.len);
		assert_true(a.len > 64);
		assert_memory_equal(a.buf + 64, b.buf + 64, a.len - 64);
		total += a.len;
		ff_buf_release(&a);
		ff_buf_release(&b);
	}
	assert_true(total > ((size_t)4 << 20)); /* several write units */
	ff_buf_release(&out);
	ff_buf_release(&src);
	ff_free(csv);
	ff_free(dir[0]);
	ff_free(dir[1]);
}

/* Canonical fixed-notation values are stored as codes and rebuilt exactly. */
static void test_random_fixed(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT_MAX((size_t)64 << 20);
	assert_int_equal(ff_buf_addstr(&src, "id,a,b,c,d\n"), FF_OK);
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		ff_buf_addf(&src, "%d", i);
		for (int k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			int digits = (int)(x % 16);
			uint64_t w = (x >> 8) % ((uint64_t)1 << (x >> 60 ? 50 : 20));
			uint64_t p10 = 1;
			for (int q = 0; q < digits && q < 15; q++)
				p10 *= 10;
			if (digits > 15)
				digits = 15;
			if (digits)
				ff_buf_addf(&src, ",%s%llu.%0*llu", (x >> 7) & 1 ? "-" : "",
					    (unsigned long long)(w / p10), digits,
					    (unsigned long long)(w % p10));
			else
				ff_buf_addf(&src, ",%s%llu", (x >> 7) & 1 ? "-" : "",
					    (unsigned long long)w);
		}
		ff_buf_addch(&src, '\n');
	}
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.no_fsync = true;
	o.partitions = 1;
	char *csv = write_file("fixed.csv", src.buf, src.len);
	char *dir = tpath("fixed");
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff_csv_import(csv, dir, &o, NULL, &err), FF_OK);
	struct ff_buf out;
	export_all(dir, 0, &out);
	assert_int_equal(out.len, src.len);
	assert_memory_equal(out.buf, src.buf, src.len);
	check_values(csv, dir, false);
	/* rows stored as codes, not text: storing the text too would take at
	 * least 32 bytes of values per row plus the whole CSV */
	struct stat st;
	char *p0 = tpath("fixed/part-00000");
	assert_int_equal(stat(p0, &st), 0);
	assert_true((size_t)st.st_size < 32 * 20000 + src.len / 2);
	ff_free(p0);
	ff_buf_release(&out);
	ff_buf_release(&src);
	ff_free(csv);
	ff_free(dir);
}

/* ------------------------------------------------- threads and chunks */

/*
 * A text digest of a table: counts, partition sizes, then per row its ids,
 * every value's bits and its exported line. Two imports of one file must
 * give the same digest whatever the threads and chunk sizes.
 */
static void table_digest(const char *dir, struct ff_buf *out)
{
	struct ff_table *t;
	struct ff_error err = FF_ERROR_INIT;
	ff_buf_init(out, (size_t)1 << 30);
	assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
	ff_buf_addf(out, "count %llu parts %u\n", (unsigned long long)ff_table_count(t),
		    ff_table_partitions(t));
	for (unsigned p = 0; p < ff_table_partitions(t); p++)
		ff_buf_addf(out, "part %u rows %llu\n", p,
			    (unsigned long long)ff_table_partition_count(t, p));
	struct ff_table_iter it;
	struct ff_batch b;
	assert_int_equal(ff_table_iter_init(&it, t, -1, FF_NEED_VALUES | FF_NEED_IDS | FF_NEED_TEXT,
					    &err), FF_OK);
	int r;
	while ((r = ff_table_iter_next(&it, &b, &err)) > 0) {
		for (size_t i = 0; i < b.n; i++) {
			size_t n;
			const char *id = ff_batch_sid(&b, i, &n);
			ff_buf_addf(out, "%llu %.*s", (unsigned long long)(b.row0 + i), (int)n, id);
			id = ff_batch_mid(&b, i, &n);
			ff_buf_addf(out, " %.*s", (int)n, id);
			uint64_t bits;
			if (b.label) {
				memcpy(&bits, &b.label[i], 8);
				ff_buf_addf(out, " l%016llx", (unsigned long long)bits);
			}
			if (b.weight) {
				memcpy(&bits, &b.weight[i], 8);
				ff_buf_addf(out, " w%016llx", (unsigned long long)bits);
			}
			for (size_t j = 0; j < b.d; j++) {
				memcpy(&bits, &b.x[j * b.n + i], 8);
				ff_buf_addf(out, " %016llx", (unsigned long long)bits);
			}
			ff_buf_addch(out, ' ');
			assert_int_equal(ff_batch_text(&b, i, 0, out), FF_OK);
			ff_buf_addch(out, '\n');
		}
	}
	assert_int_equal(r, 0);
	ff_table_free(t);
}

/* Thread counts and chunk sizes (bytes) the tests split files with. */
static const struct {
	unsigned threads;
	size_t chunk;
} splits[] = {
	{ 1, 1 }, { 2, 1 }, { 2, 2 }, { 3, 3 }, { 2, 5 }, { 4, 7 }, { 2, 16 }, { 3, 61 },
	{ 2, 997 }, { 1, 4096 }, { 4, 65536 }, { 2, 1 << 20 },
};

/* Imports csv with o under every split and checks each table equals the default one. */
static void check_splits(const char *csv, const char *name, struct ff_csv_opts *o)
{
	char *dir = tpath("split/%s/default", name);
	struct ff_error err = FF_ERROR_INIT;
	struct ff_csv_result res;
	o->no_fsync = true;
	o->threads = 0;
	o->chunk_bytes = 0;
	if (ff_csv_import(csv, dir, o, &res, &err))
		fail_msg("%s: %s", name, err.msg);
	struct ff_buf want;
	table_digest(dir, &want);
	bool extend = o->extend_sid;
	struct stat st;
	assert_int_equal(stat(csv, &st), 0);
	for (size_t k = 0; k < FF_ARRAY_SIZE(splits); k++) {
		if ((size_t)st.st_size / splits[k].chunk > 100000)
			continue; /* a second of chunk overhead is enough */
		char *d2 = tpath("split/%s/%zu", name, k);
		o->threads = splits[k].threads;
		o->chunk_bytes = splits[k].chunk;
		struct ff_csv_result r2;
		if (ff_csv_import(csv, d2, o, &r2, &err))
			fail_msg("%s split %zu: %s", name, k, err.msg);
		assert_int_equal(r2.count, res.count);
		struct ff_buf got;
		table_digest(d2, &got);
		/* extend_sid: a new random prefix per import; the rest must match */
		if (extend) {
			for (char *p = strstr(got.buf, r2.sid_prefix); p; p = strstr(p, r2.sid_prefix))
				memcpy(p, res.sid_prefix, 32);
		}
		if (got.len != want.len || memcmp(got.buf, want.buf, want.len))
			fail_msg("%s: split %zu (threads %u, chunk %zu) differs", name, k,
				 splits[k].threads, splits[k].chunk);
		ff_buf_release(&got);
		ff_table_destroy(d2, NULL);
		ff_free(d2);
	}
	o->threads = 0;
	o->chunk_bytes = 0;
	ff_buf_release(&want);
	ff_free(dir);
}

/* Every shared data set and odd file: the same table whatever the split. */
static void test_split_equal(void **state)
{
	(void)state;
	static const struct {
		const char *csv, *json;
	} fate[] = {
		{ "data/breast_hetero_guest.csv", "examples/fate_upload_guest.json" },
		{ "data/breast_hetero_host.csv", "examples/fate_upload_host.json" },
	};
	for (size_t c = 0; c < FF_ARRAY_SIZE(fate); c++) {
		struct ff_csv_opts o;
		json_t *params;
		opts_from_file(fate[c].json, &o, &params);
		char *csv = shared(fate[c].csv);
		char name[32];
		snprintf(name, sizeof(name), "fate%zu", c);
		check_splits(csv, name, &o);
		ff_free(csv);
		json_decref(params);
	}
	char *data = shared("data");
	DIR *d = opendir(data);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".csv"))
			continue;
		char *csv = ff_asprintf("%s/%s", data, de->d_name);
		struct ff_csv_opts o;
		ff_csv_opts_init(&o);
		o.partitions = 5;
		bool label = strstr(de->d_name, "guest") || strstr(de->d_name, "homo");
		o.label_name = label ? "y" : NULL;
		o.label_type = label ? "float64" : NULL;
		check_splits(csv, de->d_name, &o);
		ff_free(csv);
	}
	closedir(d);
	ff_free(data);
	static const struct {
		const char *name, *content, *label;
		bool head;
	} odd[] = {
		{ "crlf.csv", "id,y,a,b\r\n1,0,0.5,-1.250\r\n2,1,3,4e2\r\n", "y", true },
		{ "nofinal.csv", "id,y,a\n1,0,0.5\n2,1,-0.0", "y", true },
		{ "bom.csv", "\xEF\xBB\xBFid,y,a\n1,0,0.5\n", "y", true },
		{ "bomnohead.csv", "\xEF\xBB\xBF" "1,0.5\n2,0.25", NULL, false },
		{ "spaces.csv", "id,y,a,b\n1, 0 ,  0.5,+7\n2,1,.5,5.\n3,1,\t-2e-3 ,0\n", "y", true },
		{ "idonly.csv", "id\nA\nB\nC\n", NULL, true },
		{ "lastcol.csv", "a,b,id\n1,2,x\n3,4,y\n", NULL, true },
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(odd); i++) {
		char *csv = write_file(odd[i].name, odd[i].content, strlen(odd[i].content));
		struct ff_csv_opts o;
		ff_csv_opts_init(&o);
		o.label_name = odd[i].label;
		o.head = odd[i].head;
		o.partitions = 3;
		if (!strcmp(odd[i].name, "lastcol.csv"))
			o.match_id_name = "id";
		check_splits(csv, odd[i].name, &o);
		ff_free(csv);
	}
}

/* One random number text of many shapes (the importer's fast path and the rest). */
static int random_number(uint64_t *x, char *s, size_t cap)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	uint64_t r = *x * 0x2545F4914F6CDD1Dull;
	int k = 0, ni, nf;
	switch (r % 8) {
	case 0: case 1: case 2: /* %.6f-like, 1..3 integer digits */
		ni = 1 + (int)((r >> 8) % 3);
		nf = (int)((r >> 12) % 8);
		break;
	case 3: /* around the 8-byte and 7-digit edges of the fast path */
		ni = 1 + (int)((r >> 8) % 9);
		nf = (int)((r >> 12) % 10);
		break;
	default:
		ni = (int)((r >> 8) % 21);
		nf = (int)((r >> 16) % 21);
		break;
	}
	if (!ni && !nf)
		ni = 1;
	if (r & (1u << 20))
		s[k++] = '-';
	else if ((r >> 21) % 16 == 0)
		s[k++] = '+';
	uint64_t y = r;
	for (int d = 0; d < ni; d++) {
		y = y * 6364136223846793005ull + 1442695040888963407ull;
		s[k++] = (char)('0' + (d == 0 && (y >> 56) % 5 == 0 ? 0 : (y >> 59) % 10));
	}
	if (nf)
		s[k++] = '.';
	for (int d = 0; d < nf; d++) {
		y = y * 6364136223846793005ull + 1442695040888963407ull;
		s[k++] = (char)('0' + (y >> 59) % 10);
	}
	if ((r >> 24) % 7 == 0)
		k += snprintf(s + k, cap - (size_t)k, "e%d", (int)((r >> 32) % 90) - 45);
	else if ((r >> 24) % 7 == 1)
		k += snprintf(s + k, cap - (size_t)k, "E%+d", (int)((r >> 32) % 640) - 320);
	s[k] = '\0';
	return k;
}

/*
 * Every value of ds is strtod's of the CSV text src (an id, then cols
 * numbers per row) bit for bit, and dir's export is src byte for byte.
 */
static void assert_strtod_and_export(const struct ff_buf *src, const struct ff_dataset *ds,
				     size_t rows, size_t cols, const char *dir)
{
	const char *p = strchr(src->buf, '\n') + 1;
	for (size_t i = 0; i < rows; i++) {
		p = strchr(p, ',') + 1;
		for (size_t j = 0; j < cols; j++) {
			char *end;
			double want = strtod(p, &end);
			if (memcmp(&want, &ds->x[i * cols + j], 8))
				fail_msg("row %zu col %zu '%.*s': got %.17g, strtod %.17g", i, j,
					 (int)(end - p), p, ds->x[i * cols + j], want);
			p = end + 1;
		}
	}
	struct ff_buf out;
	export_all(dir, 0, &out);
	assert_int_equal(out.len, src->len);
	assert_memory_equal(out.buf, src->buf, src->len);
	ff_buf_release(&out);
}

/* Random numbers: every imported value is strtod's, bit for bit, whatever the split. */
static void test_import_numbers(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT_MAX((size_t)64 << 20);
	assert_int_equal(ff_buf_addstr(&src, "id,a,b,c,d,e,f,g,h\n"), FF_OK);
	uint64_t x = 0x13198A2E03707344ull;
	char s[128];
	size_t rows = 0;
	while (rows < 40000) {
		ff_buf_addf(&src, "r%zu", rows);
		for (int k = 0; k < 8; k++) {
			double v;
			int n;
			do {
				n = random_number(&x, s, sizeof(s));
				v = strtod(s, NULL);
			} while (isinf(v)); /* overflow fails an import: see test_bad_inputs */
			ff_buf_addf(&src, ",%.*s", n, s);
		}
		ff_buf_addch(&src, '\n');
		rows++;
	}
	char *csv = write_file("numbers.csv", src.buf, src.len);
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.partitions = 4;
	o.no_fsync = true;
	for (int pass = 0; pass < 3; pass++) {
		o.threads = pass ? 2 : 1;
		o.chunk_bytes = pass == 2 ? 1000 : 0;
		char *dir = tpath("numbers%d", pass);
		struct ff_error err = FF_ERROR_INIT;
		assert_int_equal(ff_csv_import(csv, dir, &o, NULL, &err), FF_OK);
		struct ff_table *t;
		struct ff_dataset ds;
		assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
		assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err), FF_OK);
		assert_int_equal(ds.n, rows);
		assert_strtod_and_export(&src, &ds, rows, 8, dir);
		ff_dataset_release(&ds);
		ff_table_free(t);
		ff_free(dir);
	}
	ff_free(csv);
	ff_buf_release(&src);
}

/*
 * Six-decimal values as bench/data writes them, and the 24-bit extremes:
 * the blocks store them in 3 bytes (one with 8.388608 in column c keeps
 * int32 for that column), every value is strtod's bit for bit and the
 * export is the source, whatever the threads and chunks.
 */
static void test_import_i24(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT_MAX((size_t)1 << 24);
	assert_int_equal(ff_buf_addstr(&src, "id,a,b,c\n"), FF_OK);
	uint64_t x = 0x243F6A8885A308D3ull;
	const size_t rows = 999, outsider = 501;
	for (size_t i = 0; i < rows; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		long m = (long)((x >> 33) % 7999999) - 3999999; /* (-4, 4) with 6 decimals */
		long b = i % 2 ? 8388607 : -8388608;
		long c = i == outsider ? 8388608 : -(long)i;
		ff_buf_addf(&src, "r%zu,%s%ld.%06ld,%s%ld.%06ld,%s%ld.%06ld\n", i, m < 0 ? "-" : "",
			    labs(m) / 1000000, labs(m) % 1000000, b < 0 ? "-" : "", labs(b) / 1000000,
			    labs(b) % 1000000, c < 0 ? "-" : "", labs(c) / 1000000, labs(c) % 1000000);
	}
	char *csv = write_file("i24.csv", src.buf, src.len);
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.no_fsync = true;
	for (int pass = 0; pass < 3; pass++) {
		o.threads = pass ? 2 : 1;
		o.chunk_bytes = pass ? 3000 : 0;
		char *dir = tpath("i24-%d", pass);
		struct ff_error err = FF_ERROR_INIT;
		assert_int_equal(ff_csv_import(csv, dir, &o, NULL, &err), FF_OK);
		struct ff_table *t;
		struct ff_dataset ds;
		assert_int_equal(ff_table_open(&t, dir, 0, &err), FF_OK);
		/* encodings: 3 bytes, but int32 for c in the outsider's block */
		size_t seen = 0, i32 = 0;
		for (unsigned p = 0; p < t->nparts; p++)
			for (size_t k = 0; k < t->parts[p].nblk; k++) {
				const struct ff__blk *bk = &t->parts[p].blk[k];
				assert_non_null(bk->enc);
				assert_int_equal(bk->enc[0], FF__ENC_I24(6));
				assert_int_equal(bk->enc[1], FF__ENC_I24(6));
				bool has = bk->row0 <= outsider && outsider < bk->row0 + bk->n;
				assert_int_equal(bk->enc[2], has ? FF__ENC_I32(6) : FF__ENC_I24(6));
				i32 += has;
				seen++;
			}
		assert_int_equal(i32, 1);
		assert_true(pass == 0 || seen > 3);
		assert_int_equal(ff_table_load(t, -1, FF_NEED_VALUES, &ds, &err), FF_OK);
		assert_int_equal(ds.n, rows);
		assert_strtod_and_export(&src, &ds, rows, 3, dir);
		ff_dataset_release(&ds);
		ff_table_free(t);
		ff_free(dir);
	}
	ff_free(csv);
	ff_buf_release(&src);
}

/* ------------------------------------------------------------- bad input */

struct bad_case {
	const char *name;
	const char *content;
	const char *want;       /* message fragment */
	const char *where;      /* "line N" */
	const char *col;        /* "column K 'name'" or NULL */
};

static void expect_bad(const struct bad_case *bc, struct ff_csv_opts *o)
{
	char *csv = write_file(bc->name, bc->content, strlen(bc->content));
	char *parent = tpath("bad");
	char *dir = tpath("bad/%s", bc->name);
	struct ff_error err = FF_ERROR_INIT;
	o->no_fsync = true;
	int ret = ff_csv_import(csv, dir, o, NULL, &err);
	if (ret != FF_EDATA)
		fail_msg("%s: import gave %d (%s)", bc->name, ret, err.msg);
	if (!strstr(err.msg, bc->want) || !strstr(err.msg, csv) || !strstr(err.msg, bc->where) ||
	    (bc->col && !strstr(err.msg, bc->col)))
		fail_msg("%s: message '%s'", bc->name, err.msg);
	assert_false(fs_exists(dir));
	assert_true(count_entries(parent) <= 0);
	/* the same first error, whatever the threads and chunk sizes */
	for (size_t k = 0; k < FF_ARRAY_SIZE(splits); k++) {
		struct ff_error e2 = FF_ERROR_INIT;
		o->threads = splits[k].threads;
		o->chunk_bytes = splits[k].chunk;
		ret = ff_csv_import(csv, dir, o, NULL, &e2);
		if (ret != FF_EDATA || strcmp(e2.msg, err.msg))
			fail_msg("%s: split %zu gave %d '%s', want '%s'", bc->name, k, ret, e2.msg,
				 err.msg);
		assert_false(fs_exists(dir));
		assert_true(count_entries(parent) <= 0);
	}
	o->threads = 0;
	o->chunk_bytes = 0;
	ff_free(parent);
	ff_free(dir);
	ff_free(csv);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	static const struct bad_case label_cases[] = {
		{ "few.csv", "id,y,a,b\n1,0,1,2\n2,1,3\n", "row has 3 columns, expected 4", "line 3",
		  "column 4 'b'" },
		{ "many.csv", "id,y,a\n1,0,1\n2,1,3,4,5\n", "row has 5 columns, expected 3",
		  "line 3", "column 4" },
		{ "nonnum.csv", "id,y,x0,x1,x2\n1,0,1,2,3\n2,1,1,2,abc\n",
		  "non-numeric feature value 'abc'", "line 3", "column 5 'x2'" },
		{ "trail.csv", "id,y,a\n1,0,1.5x\n", "non-numeric feature value '1.5x'", "line 2",
		  "column 3 'a'" },
		{ "emptyval.csv", "id,y,a,b\n1,0,,2\n", "empty feature value", "line 2",
		  "column 3 'a'" },
		{ "badlabel.csv", "id,y,a\n1,yes,1\n", "non-numeric label value 'yes'", "line 2",
		  "column 2 'y'" },
		{ "intlabel.csv", "id,y,a\n1,0.5,1\n", "label value '0.5' is not an integer",
		  "line 2", "column 2 'y'" },
		{ "nan.csv", "id,y,a\n1,0,1\n2,0,NaN\n", "non-finite feature value 'NaN'", "line 3",
		  "column 3 'a'" },
		{ "inf.csv", "id,y,a\n1,0,-inf\n", "non-finite feature value '-inf'", "line 2",
		  "column 3 'a'" },
		{ "huge.csv", "id,y,a\n1,0,1e999\n", "non-finite feature value '1e999'", "line 2",
		  "column 3 'a'" },
		{ "hex.csv", "id,y,a\n1,0,0x1p3\n", "non-numeric feature value '0x1p3'", "line 2",
		  "column 3 'a'" },
		{ "nolabel.csv", "id,z,a\n1,0,1\n", "label column 'y' not in header", "line 1",
		  "'y'" },
		{ "empty.csv", "", "empty file", "line 1", NULL },
		{ "headonly.csv", "id,y,a\n", "no data rows", "line 2", NULL },
		{ "dupid.csv", "id,y,a\n7,0,1\n8,0,1\n7,1,2\n", "duplicate id '7' (first at line 2)",
		  "line 4", "column 1 'id'" },
		{ "emptyid.csv", "id,y,a\n,0,1\n", "empty id", "line 2", "column 1 'id'" },
		/* a bad field inside a run of eight features (the vector path) */
		{ "wide.csv",
		  "id,y,a,b,c,d,e,f,g,h,i,j\n1,0,1.5,2.5,-3.25,4,5,6,7,8,9,10\n"
		  "2,1,1.5,2.5,-3.25,4,5,6x,7,8,9,10\n",
		  "non-numeric feature value '6x'", "line 3", "column 8 'f'" },
		{ "wide2.csv",
		  "id,y,a,b,c,d,e,f,g,h,i,j\n1,0,1.5,2.5,-3.25,4,5,6,7,8,9,10\n"
		  "2,1,1.5,2.5,-3.25,4,5,6,7,8,9,--1\n",
		  "non-numeric feature value '--1'", "line 3", "column 12 'j'" },
		{ "wide3.csv",
		  "id,y,a,b,c,d,e,f,g,h,i,j\n1,0,1.5,2.5,-3.25,4,5,6,7,8,9,10\n"
		  "2,1,1.5,,-3.25,4,5,6,7,8,9,10\n",
		  "empty feature value", "line 3", "column 4 'b'" },
		{ "blank.csv", "id,y,a\n1,0,1\n\n2,0,1\n", "empty line", "line 3", NULL },
		{ "duphead.csv", "id,y,a,a\n1,0,1,2\n", "duplicate column name 'a'", "line 1",
		  "column 4" },
		{ "emptyname.csv", "id,y,,b\n1,0,1,2\n", "empty column name", "line 1", "column 3" },
		/* several errors: the first in file order wins */
		{ "two.csv", "id,y,a\n1,0,1\n2,0,1\n3,0,1\n4,0,bad\n5,0,1\n6,0,1\n7,0,worse\n8,0,1\n",
		  "non-numeric feature value 'bad'", "line 5", "column 3 'a'" },
		{ "dupfar.csv", "id,y,a\n10,0,1\n11,0,1\n12,0,1\n13,0,1\n14,0,1\n11,0,1\n15,0,x\n",
		  "duplicate id '11' (first at line 3)", "line 7", "column 1 'id'" },
		{ "dupthenbad.csv", "id,y,a\n1,0,1\n2,0,1\n1,0,x\n", "duplicate id '1' (first at line 2)",
		  "line 4", "column 1 'id'" },
		{ "badthenshort.csv", "id,y,a,b\n1,0,1,2\n2,x,1\n", "non-numeric label value 'x'",
		  "line 3", "column 2 'y'" },
		{ "blanklast.csv", "id,y,a\n1,0,1\n2,0,1\n\n", "empty line", "line 4", NULL },
		{ "crblank.csv", "id,y,a\r\n1,0,1\r\n\r\n2,0,1\r\n", "empty line", "line 3", NULL },
		{ "manylast.csv", "id,y,a\n1,0,1\n2,0,1,4", "row has 4 columns, expected 3", "line 3",
		  "column 4" },
		{ "badlast.csv", "id,y,a\n1,0,1\n2,0,1.2.3", "non-numeric feature value '1.2.3'",
		  "line 3", "column 3 'a'" },
		{ "intlabel2.csv", "id,y,a\n1,1,1\n2,1e-3,1\n", "label value '1e-3' is not an integer",
		  "line 3", "column 2 'y'" },
	};
	struct ff_csv_opts o;
	for (size_t i = 0; i < FF_ARRAY_SIZE(label_cases); i++) {
		ff_csv_opts_init(&o);
		o.label_name = "y";
		expect_bad(&label_cases[i], &o);
	}
	ff_csv_opts_init(&o);
	o.match_id_name = "key";
	expect_bad(&(struct bad_case){ "nomid.csv", "id,a\n1,2\n", "match id column 'key' not in "
				       "header", "line 1", "'key'" }, &o);
	/* the id is the third column: a bad value before it comes first, after it not */
	expect_bad(&(struct bad_case){ "dupbefore.csv", "a,b,key,c\n1,2,k1,3\n1,x,k1,3\n",
				       "non-numeric feature value 'x'", "line 3", "column 2 'b'" },
		   &o);
	expect_bad(&(struct bad_case){ "dupafter.csv", "a,b,key,c\n1,2,k1,3\n1,2,k1,x\n",
				       "duplicate id 'k1' (first at line 2)", "line 3",
				       "column 3 'key'" }, &o);
	expect_bad(&(struct bad_case){ "shortid.csv", "a,b,key,c\n1,2,k1,3\n1,2\n",
				       "row has 2 columns, expected 4", "line 3", "column 3 'key'" },
		   &o);
	ff_csv_opts_init(&o);
	o.weight_name = "w";
	expect_bad(&(struct bad_case){ "badw.csv", "id,w,a\n1,0.5,1\n2,heavy,1\n",
				       "non-numeric weight value 'heavy'", "line 3",
				       "column 2 'w'" }, &o);
	expect_bad(&(struct bad_case){ "now.csv", "id,a\n1,1\n", "weight column 'w' not in header",
				       "line 1", "'w'" }, &o);
	ff_csv_opts_init(&o);
	o.extend_sid = true;
	expect_bad(&(struct bad_case){ "sidclash.csv", "id,sid\n1,1\n", "sample id name 'sid' "
				       "already in header", "line 1", "column 2" }, &o);
	ff_csv_opts_init(&o);
	o.line_max = 32;
	expect_bad(&(struct bad_case){ "long.csv", "id,a,b\n1,2,3\n2,0.1234567890,0.1234567890"
				       "1234567890\n", "line longer than 32 bytes", "line 3",
				       "column 3" }, &o);
	expect_bad(&(struct bad_case){ "longlast.csv", "id,a\n1,2\n2,0.12345678901234567890123456"
				       "7890", "line longer than 32 bytes", "line 3", NULL }, &o);
	/* exactly the limit with its '\n' is fine, one more byte is not */
	expect_bad(&(struct bad_case){ "longedge.csv", "id,a\n1,2\n3,0.123456789012345678901234567"
				       "\n4,0.1234567890123456789012345678\n",
				       "line longer than 32 bytes", "line 4", "column 2" }, &o);
	/* without a final '\n' it still counts: 32 bytes are one too many */
	expect_bad(&(struct bad_case){ "longnonl.csv", "id,a\n1,2\n4,0.1234567890123456789012345678",
				       "line longer than 32 bytes", "line 3", "column 2" }, &o);

	/* a failed import over an existing table leaves the old table */
	ff_csv_opts_init(&o);
	o.no_fsync = true;
	char *good = write_file("good.csv", "id,a\n1,2\n", 9);
	char *bad = write_file("bad2.csv", "id,a\n1,x\n", 9);
	char *dir = tpath("keep/t");
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff_csv_import(good, dir, &o, NULL, &err), FF_OK);
	assert_int_equal(ff_csv_import(bad, dir, &o, NULL, &err), FF_EDATA);
	struct ff_buf out;
	export_all(dir, 0, &out);
	assert_string_equal(out.buf, "id,a\n1,2\n");
	ff_buf_release(&out);
	char *parent = tpath("keep");
	assert_int_equal(count_entries(parent), 1);
	/* missing file, not a regular file */
	char *missing = tpath("in/missing.csv");
	assert_int_equal(ff_csv_import(missing, dir, &o, NULL, &err), FF_ENOFILE);
	assert_non_null(strstr(err.msg, "missing.csv"));
	assert_int_equal(ff_csv_import(parent, dir, &o, NULL, &err), FF_EPARAM);
	o.delimiter = '.';
	assert_int_equal(ff_csv_import(good, dir, &o, NULL, &err), FF_EPARAM);
	ff_free(missing);
	ff_free(parent);
	ff_free(dir);
	ff_free(good);
	ff_free(bad);
}

/* Every allocation of an import fails in turn, on two threads: an error, never a crash or a leak. */
static void test_import_oom(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT;
	assert_int_equal(ff_buf_addstr(&src, "id,y,a,b\n"), FF_OK);
	for (int i = 0; i < 40; i++)
		ff_buf_addf(&src, "k%d,%d,%d.25,%s\n", i, i % 2, i, i % 3 ? "-1.5e-3" : " 7 ");
	char *csv = write_file("oom.csv", src.buf, src.len);
	char *parent = tpath("oom");
	char *dir = tpath("oom/t");
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.label_name = "y";
	o.no_fsync = true;
	o.threads = 2;
	o.chunk_bytes = 64;
	o.partitions = 3;
	int ret = FF_ENOMEM;
	unsigned long k;
	for (k = 1; k < 5000 && ret; k++) {
		struct ff_error err = FF_ERROR_INIT;
		ff_mem_fail_after(k);
		ret = ff_csv_import(csv, dir, &o, NULL, &err);
		ff_mem_fail_after(0);
		if (ret && ret != FF_ENOMEM)
			fail_msg("allocation %lu: %d (%s)", k, ret, err.msg);
		/* nothing left behind but the table (the parent may not exist yet) */
		assert_int_equal(fs_exists(dir), !ret);
		if (ret)
			assert_true(count_entries(parent) <= 0);
		else
			assert_int_equal(count_entries(parent), 1);
		ff_table_destroy(dir, NULL);
	}
	assert_int_equal(ret, FF_OK); /* and it got through at last */
	assert_true(k > 20);
	ff_free(dir);
	ff_free(parent);
	ff_free(csv);
	ff_buf_release(&src);
}

static void test_opts_json(void **state)
{
	(void)state;
	struct ff_csv_opts o;
	struct ff_error err = FF_ERROR_INIT;
	json_t *p = json_pack("{s:b, s:i, s:b, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}", "head", 0,
			      "partitions", 4, "extend_sid", 1, "meta", "delimiter", ";",
			      "label_name", "y", "label_type", "float64", "match_id_name", "id",
			      "weight_name", "w", "sample_id_name", "sid2", "dtype", "float64");
	assert_int_equal(ff_csv_opts_from_json(&o, p, &err), FF_OK);
	assert_false(o.head);
	assert_int_equal(o.partitions, 4);
	assert_true(o.extend_sid);
	assert_int_equal(o.delimiter, ';');
	assert_string_equal(o.label_type, "float64");
	assert_string_equal(o.weight_name, "w");
	assert_string_equal(o.sample_id_name, "sid2");
	json_decref(p);
	/* FATE clients send strings for bools and numbers */
	p = json_pack("{s:s, s:s}", "head", "False", "partitions", "8");
	assert_int_equal(ff_csv_opts_from_json(&o, p, &err), FF_OK);
	assert_false(o.head);
	assert_int_equal(o.partitions, 8);
	assert_int_equal(o.delimiter, ',');
	json_decref(p);
	static const char *bad[] = {
		"{\"partitions\": 0}", "{\"partitions\": 5000}", "{\"head\": \"maybe\"}",
		"{\"meta\": {\"delimiter\": \"ab\"}}", "{\"meta\": {\"input_format\": \"sparse\"}}",
		"{\"meta\": {\"na_values\": [\"\"]}}", "{\"meta\": 3}", "{\"meta\": {\"label_name\": 1}}",
		"[]",
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(bad); i++) {
		p = json_loads(bad[i], 0, NULL);
		assert_non_null(p);
		if (ff_csv_opts_from_json(&o, p, &err) != FF_EPARAM)
			fail_msg("accepted %s", bad[i]);
		json_decref(p);
	}
}

/* ------------------------------------------------------ vector parsing */

/* 8 fields joined by ',' from parts; checks ff__csv_fixed8 lane by lane. */
static void simd_check_line(const char *const f[8])
{
	char line[512 + FF__CSV_PAD];
	uint32_t endm[9];
	uint32_t *end = endm + 1;
	endm[0] = UINT32_MAX;
	size_t len = 0;
	for (int j = 0; j < 8; j++) {
		size_t n = strlen(f[j]);
		memcpy(line + len, f[j], n);
		len += n;
		end[j] = (uint32_t)len;
		line[len++] = ',';
	}
	len--;
	memset(line + len, 'x', FF__CSV_PAD);
	uint64_t w[8];
	uint8_t e[8], l0[8];
	unsigned ok = ff__csv_fixed8(line, len + FF__CSV_PAD, end, w, e, l0);
	for (int j = 0; j < 8; j++) {
		const char *s = line + (j ? end[j - 1] + 1 : 0), *t = line + end[j];
		uint64_t sw;
		unsigned se;
		bool sl;
		size_t body = (size_t)(t - s) - (*s == '-');
		bool want = ff__csv_fixed(s, t, &sw, &se, &sl) && body <= 8 &&
			    (size_t)(s - line) <= 119;
		if (want != (bool)(ok >> j & 1))
			fail_msg("field '%s': vector %d, scalar %d", f[j], ok >> j & 1, want);
		if (want && (sw != w[j] || se != e[j] || sl != (bool)l0[j]))
			fail_msg("field '%s': vector %llu/%u/%u, scalar %llu/%u/%u", f[j],
				 (unsigned long long)w[j], e[j], l0[j], (unsigned long long)sw, se, sl);
	}
}

static void test_simd_fields(void **state)
{
	(void)state;
	if (!ff__csv_simd_ok()) {
		print_message("no AVX-512 on this CPU: the vector path is not tested here\n");
		skip();
	}
	static const char *const odd[] = {
		"0", "-0", "00", "-00", "0.5", "00.5", "-00.5", ".5", "5.", "-", "", "1.2.3",
		"12345678", "123456789", "-12345678", "-123456789", "1234567.8", "-1234567.8",
		"1.2345678", "-1.2345678", "0.0000001", "-0.000000", "1e5", "+1", " 1", "1 ",
		"--1", "-.5", "9.9999999", "99999999", "-99999999", "0.", "a", "1:2", "1/2",
		"\x80", "1\xff", "-3.141592", "3.1415926", "12.345678",
	};
	size_t nodd = sizeof(odd) / sizeof(odd[0]);
	const char *f[8];
	/* every odd field in every lane, among ordinary ones */
	for (size_t i = 0; i < nodd; i++)
		for (int j = 0; j < 8; j++) {
			for (int k = 0; k < 8; k++)
				f[k] = k == j ? odd[i] : "-0.287570";
			simd_check_line(f);
		}
	/* random fields from digits, '.', '-' and a few others */
	static const char alpha[] = "0123456789012345678901234567890123456789..--e+ ";
	char buf[8][16];
	uint64_t x = 0x243F6A8885A308D3ull;
	for (int r = 0; r < 300000; r++) {
		for (int k = 0; k < 8; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t n = (size_t)(x % 12);
			for (size_t b = 0; b < n; b++)
				buf[k][b] = alpha[(x >> (5 + 5 * b % 55)) % (sizeof(alpha) - 1)];
			buf[k][n] = '\0';
			f[k] = buf[k];
		}
		simd_check_line(f);
	}
	/* a field starting beyond the reach of the byte permutes */
	static const char *const far[] = { "1234567890123456789012345678901234567890",
					   "1234567890123456789012345678901234567890",
					   "1234567890123456789012345678901234567890", "1.5", "2.5",
					   "3.5", "4.5", "5.5" };
	simd_check_line(far);
}

/*
 * The imports of the tests above with the field-by-field parser (what a
 * CPU without AVX-512 runs): the same tables, the same errors.
 */
static void test_scalar_path(void **state)
{
	ff__csv_simd_disable = true;
	test_random_fixed(state);
	test_import_numbers(state);
	test_bad_inputs(state);
	ff__csv_simd_disable = false;
}

/* One file imported both ways: identical values (bits), codes and text. */
static void test_simd_same_table(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT_MAX((size_t)64 << 20);
	assert_int_equal(ff_buf_addstr(&src, "id"), FF_OK);
	for (int j = 0; j < 21; j++)
		ff_buf_addf(&src, ",x%d", j);
	ff_buf_addch(&src, '\n');
	uint64_t x = 0xA4093822299F31D0ull;
	static const char *const spice[] = { "-0.000000", "1e3", "007", "12345678901", " 2",
					     "0.1234567", "-2147483648", "3." , "4.50" };
	for (int i = 0; i < 30000; i++) {
		ff_buf_addf(&src, "%d", i);
		for (int j = 0; j < 21; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (x % 997 == 0 && x % 9 != 7)
				ff_buf_addf(&src, ",%s", spice[(x >> 20) % 8]);
			else
				ff_buf_addf(&src, ",%s%llu.%06llu", x >> 63 ? "-" : "",
					    (unsigned long long)((x >> 30) % 4),
					    (unsigned long long)((x >> 8) % 1000000));
		}
		ff_buf_addch(&src, '\n');
	}
	char *csv = write_file("same.csv", src.buf, src.len);
	char *d1 = tpath("same-simd"), *d2 = tpath("same-scalar");
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.no_fsync = true;
	o.partitions = 3;
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(ff_csv_import(csv, d1, &o, NULL, &err), FF_OK);
	ff__csv_simd_disable = true;
	assert_int_equal(ff_csv_import(csv, d2, &o, NULL, &err), FF_OK);
	ff__csv_simd_disable = false;
	struct ff_buf a, b;
	export_all(d1, 0, &a);
	export_all(d2, 0, &b);
	assert_int_equal(a.len, src.len);
	assert_memory_equal(a.buf, src.buf, src.len);
	assert_int_equal(b.len, src.len);
	assert_memory_equal(b.buf, src.buf, src.len);
	struct ff_table *t1, *t2;
	struct ff_dataset s1, s2;
	assert_int_equal(ff_table_open(&t1, d1, 0, &err), FF_OK);
	assert_int_equal(ff_table_open(&t2, d2, 0, &err), FF_OK);
	assert_int_equal(ff_table_load(t1, -1, FF_NEED_VALUES, &s1, &err), FF_OK);
	assert_int_equal(ff_table_load(t2, -1, FF_NEED_VALUES, &s2, &err), FF_OK);
	assert_int_equal(s1.n, 30000);
	assert_memory_equal(s1.x, s2.x, s1.n * s1.d * sizeof(double));
	check_values(csv, d1, false);
	ff_dataset_release(&s1);
	ff_dataset_release(&s2);
	ff_table_free(t1);
	ff_table_free(t2);
	ff_buf_release(&a);
	ff_buf_release(&b);
	ff_buf_release(&src);
	ff_free(csv);
	ff_free(d1);
	ff_free(d2);
}

/* The same imports and bad inputs with every chunk read by pread (no map). */
static void test_unmapped_path(void **state)
{
	ff__csv_map_disable = true;
	test_random_fixed(state);
	test_durable_direct(state);
	test_bad_inputs(state);
	ff__csv_map_disable = false;
}

/*
 * A chunk is parsed in the file's map unless its last line, or the
 * parsers' padding after it, runs to the end of the file: then it is read
 * with pread. Files whose last line grows byte by byte move that edge over
 * every chunk size; each table must equal the one read without a map.
 */
static void test_map_edges(void **state)
{
	(void)state;
	static const size_t chunks[] = { 1, 7, 23, 61, 4096, 0 };
	struct ff_error err = FF_ERROR_INIT;
	for (int tail = 0; tail <= 48; tail++) {
		struct ff_buf src = FF_BUF_INIT_MAX((size_t)1 << 20);
		ff_buf_addstr(&src, "id,y,a,b\n");
		for (int i = 0; i < 40; i++)
			ff_buf_addf(&src, "r%d,%d,0.%06d,-%d.5%s\n", i, i & 1, i * 7919 % 1000000, i % 9,
				    tail % 3 == 1 && i % 5 == 0 ? "0" : "");
		ff_buf_addstr(&src, "last,1,");
		for (int k = 0; k < tail; k++)
			ff_buf_addch(&src, (char)('1' + k % 9));
		if (!tail)
			ff_buf_addch(&src, '0');
		/* with '\n', with "\r\n", or without a final end of line */
		ff_buf_addstr(&src, tail % 4 == 3 ? ",2" : tail % 2 ? ",2\n" : ",2\r\n");
		char name[32];
		snprintf(name, sizeof(name), "edge%d.csv", tail);
		char *csv = write_file(name, src.buf, src.len);
		for (size_t c = 0; c < FF_ARRAY_SIZE(chunks); c++) {
			struct ff_buf want, got;
			for (int mapped = 0; mapped < 2; mapped++) {
				char *dir = tpath("edge/%d-%zu-%d", tail, c, mapped);
				struct ff_csv_opts o;
				ff_csv_opts_init(&o);
				o.label_name = "y";
				o.no_fsync = true;
				o.partitions = 3;
				o.threads = 2;
				o.chunk_bytes = chunks[c];
				ff__csv_map_disable = !mapped;
				int ret = ff_csv_import(csv, dir, &o, NULL, &err);
				ff__csv_map_disable = false;
				if (ret)
					fail_msg("%s chunk %zu: %s", name, chunks[c], err.msg);
				table_digest(dir, mapped ? &got : &want);
				ff_table_destroy(dir, NULL);
				ff_free(dir);
			}
			if (got.len != want.len || memcmp(got.buf, want.buf, want.len))
				fail_msg("%s chunk %zu: mapped and read tables differ", name, chunks[c]);
			ff_buf_release(&want);
			ff_buf_release(&got);
		}
		ff_free(csv);
		ff_buf_release(&src);
	}
}

static const char *sigbus_file;

static void sigbus_cut(int fd)
{
	(void)fd;
	/* the header stays: the rows' chunks are read in the map */
	assert_int_equal(truncate(sigbus_file, 4096), 0);
}

/*
 * A file cut shorter while it is imported (here: right after it was
 * mapped): with ff_csv_exit_on_sigbus the process ends with status 1 and
 * a message naming the file, not with a crash.
 */
static void test_sigbus_exit(void **state)
{
	(void)state;
	struct ff_buf src = FF_BUF_INIT_MAX((size_t)8 << 20);
	ff_buf_addstr(&src, "id,a,b\n");
	for (int i = 0; i < 20000; i++)
		ff_buf_addf(&src, "%d,0.%06d,1.5\n", i, i);
	char *csv = write_file("cut.csv", src.buf, src.len);
	char *dir = tpath("cut");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		sigbus_file = csv;
		ff__csv_map_hook = sigbus_cut;
		ff_csv_exit_on_sigbus(csv);
		struct ff_csv_opts o;
		ff_csv_opts_init(&o);
		o.chunk_bytes = 65536;
		struct ff_error err = FF_ERROR_INIT;
		int ret = ff_csv_import(csv, dir, &o, NULL, &err);
		_exit(ret ? 3 : 4); /* not reached: the map is read past the file's end */
	}
	close(fds[1]);
	char msg[8192];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(msg) - 1 && (r = read(fds[0], msg + len, sizeof(msg) - 1 - len)) > 0)
		len += (size_t)r;
	msg[len] = '\0';
	close(fds[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
		fail_msg("status %#x, stderr: %s", st, msg);
	assert_non_null(strstr(msg, csv));
	assert_non_null(strstr(msg, "was cut shorter while it was read"));
	ff_buf_release(&src);
	ff_free(csv);
	ff_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breast_roundtrip),
		cmocka_unit_test(test_all_datasets),
		cmocka_unit_test(test_odd_files),
		cmocka_unit_test(test_random_fixed),
		cmocka_unit_test(test_durable_direct),
		cmocka_unit_test(test_split_equal),
		cmocka_unit_test(test_import_numbers),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_import_oom),
		cmocka_unit_test(test_opts_json),
		cmocka_unit_test(test_simd_fields),
		cmocka_unit_test(test_scalar_path),
		cmocka_unit_test(test_simd_same_table),
		cmocka_unit_test(test_import_i24),
		cmocka_unit_test(test_unmapped_path),
		cmocka_unit_test(test_map_edges),
		cmocka_unit_test(test_sigbus_exit),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
