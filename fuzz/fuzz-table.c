// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz-table.c - libFuzzer harness for the table reader on corrupted
 * table folders (runtime/ff_table_read.c; docs/storage-format.md): a
 * component opens whatever is on disk, so a damaged or hostile partition
 * file must be refused (FF_EDATA), not read out of bounds.
 *
 * Input: byte 0 flags, a 16-bit little-endian length L, L bytes of
 * meta.json, then the partition files back to back; a new file starts at
 * every 8-aligned "FFTBPART" magic (part-00000, part-00001, ...). Flags:
 * bit 0 recomputes the file header, footer and block header CRC-32Cs
 * before writing (so mutations get past them into the structure checks),
 * bit 1 opens with FF_TABLE_NO_VERIFY (section checksums skipped: the
 * offset and text checks must hold alone). The folder is opened and read
 * every way a component reads a table: batches with ids and text, rows,
 * a dense load, one column, a CSV export.
 *
 * Seeds: FUZZ_TABLE_SEEDS=<dir> fuzz-table -runs=0 writes a few valid
 * tables in this format to <dir> (fuzz/corpus/table was made that way).
 */
#include "ff_setup.h"
#include <stdlib.h>
#include <unistd.h>
#include "buf.h"
#include "err.h"
#include "fedflow/table.h"
#include "ff_table_int.h"
#include "fs.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_PARTS_MAX 4

static char fuzz_dir[256];
static char *fuzz_table;

static void fuzz_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t fuzz_get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Recomputes the structural CRCs of one partition file in place. */
static void fuzz_fix_crcs(unsigned char *f, size_t n)
{
	if (n < 64 + 32)
		return;
	fuzz_put32(f + 60, ff__crc32c(0, f, 60));
	fuzz_put32(f + n - 32 + 28, ff__crc32c(0, f + n - 32, 28));
	size_t pos = 64, end = n - 32;
	while (end - pos >= 64) {
		fuzz_put32(f + pos + 60, ff__crc32c(0, f + pos, 60));
		uint64_t payload = fuzz_get64(f + pos + 16);
		if (payload > end - pos - 64)
			break;
		pos += 64 + (size_t)payload;
	}
}

static int fuzz_sink(void *ctx, const char *d, size_t n)
{
	(void)ctx;
	(void)d;
	(void)n;
	return FF_OK;
}

static void fuzz_read(const struct ff_table *t)
{
	struct ff_table_iter it;
	struct ff_batch b;
	struct ff_buf line = FF_BUF_INIT_MAX(1 << 20);
	int r = ff_table_iter_init(&it, t, -1, FF_NEED_VALUES | FF_NEED_IDS | FF_NEED_TEXT, NULL);
	int more = r ? 0 : 1;
	while (more == 1 && (more = ff_table_iter_next(&it, &b, NULL)) == 1) {
		for (size_t i = 0; i < b.n; i++) {
			size_t n;
			const char *s = ff_batch_sid(&b, i, &n);
			if (s && n)
				(void)s[n - 1];
			s = ff_batch_mid(&b, i, &n);
			if (s && n)
				(void)s[n - 1];
			ff_buf_reset(&line);
			(void)ff_batch_text(&b, i, 0, &line);
			ff_buf_reset(&line);
			(void)ff_batch_text(&b, i, FF_CSV_WITH_SID, &line);
		}
	}
	ff_table_iter_release(&it);
	ff_buf_release(&line);

	struct ff_row_iter ri;
	struct ff_row row;
	if (!ff_row_iter_init(&ri, t, -1, NULL)) {
		while (ff_row_iter_next(&ri, &row, NULL) == 1)
			;
		ff_row_iter_release(&ri);
	}
	struct ff_dataset ds = FF_DATASET_INIT;
	if (!ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, NULL))
		ff_dataset_release(&ds);
	uint64_t count = ff_table_count(t);
	if (count && count < 1000000 && ff_table_schema(t)->n_features) {
		double *col = ff_calloc((size_t)count, sizeof(double));
		if (col)
			(void)ff_table_read_column(t, 0, -1, col, NULL);
		ff_free(col);
	}
	(void)ff_csv_export(t, UINT64_MAX, FF_CSV_WITH_SID, fuzz_sink, NULL, NULL);
	json_decref(ff_csv_header_json(t, 0));
}

/* Writes dir's meta.json and partition files as one input of this harness. */
static void fuzz_dump_seed(const char *dir, const char *out, unsigned flags)
{
	struct ff_buf in = FF_BUF_INIT_MAX(1 << 24), f = FF_BUF_INIT_MAX(1 << 24);
	char *p = ff_asprintf("%s/meta.json", dir);
	if (!p || fs_read_file(p, &f, NULL) || f.len > 0xffff)
		abort();
	unsigned char hdr[3] = { (unsigned char)flags, (unsigned char)f.len,
				 (unsigned char)(f.len >> 8) };
	if (ff_buf_add(&in, hdr, 3) || ff_buf_add(&in, f.buf, f.len))
		abort();
	ff_free(p);
	for (unsigned k = 0;; k++) {
		p = ff_asprintf("%s/part-%05u", dir, k);
		if (!p)
			abort();
		if (!fs_exists(p)) {
			ff_free(p);
			break;
		}
		ff_buf_reset(&f);
		if (fs_read_file(p, &f, NULL) || ff_buf_add(&in, f.buf, f.len))
			abort();
		ff_free(p);
	}
	if (fs_write_atomic(out, in.buf, in.len, NULL))
		abort();
	ff_buf_release(&in);
	ff_buf_release(&f);
}

/* A few small valid tables, for the seed corpus. */
static void fuzz_make_seeds(const char *out)
{
	static const char *const csvs[] = {
		"id,y,x0,x1\n1,0,0.5,-1.25\n2,1,3,7\n3,0,1e300,0.1\n",
		"id,x0\r\na,1\r\nb,2.50\r\nc,-0\r\n",
		"sid,mid,y,w,x0\n1,m1,1,0.5,2\n2,m2,0,1.5,3\n",
		/* mantissa columns (3-byte since that encoding: v2-csv3-i24 in the
		 * corpus; v2-csv3 keeps the int32 ones) and one shared row of codes */
		"id,x0,x1,x2,x3,x4,x5,x6,x7,x8\n"
		"1,0.500000,-1.250000,3.000000,0.000001,-0.287570,2.000000,1.000000,0.100000,7.000000\n"
		"2,1.500000,-2.250000,4.000000,0.000002,-0.287571,3.000000,2.000000,0.200000,8.000000\n",
	};
	static const char *const labels[] = { "y", NULL, "y", NULL };
	static const char *const weights[] = { NULL, NULL, "w", NULL };
	static const char *const mids[] = { NULL, NULL, "mid", NULL };
	static const unsigned parts[] = { 1, 2, 1, 1 };
	char *src = ff_asprintf("%s/src.csv", fuzz_dir);
	if (!src || fs_mkdirs(out, 0755, NULL))
		abort();
	for (size_t i = 0; i < sizeof(csvs) / sizeof(csvs[0]); i++) {
		struct ff_csv_opts o;
		struct ff_error err = FF_ERROR_INIT;
		ff_csv_opts_init(&o);
		o.label_name = labels[i];
		o.weight_name = weights[i];
		o.match_id_name = mids[i];
		o.sample_id_name = mids[i] ? "sid" : NULL;
		o.partitions = parts[i];
		o.no_fsync = true;
		if (fs_write_atomic(src, csvs[i], strlen(csvs[i]), NULL) ||
		    ff_csv_import(src, fuzz_table, &o, NULL, &err)) {
			fprintf(stderr, "seed %zu: %s\n", i, err.msg);
			abort();
		}
		/* csvN: written by format 1 writers, still read (kept as seeds) */
		char *name = ff_asprintf("%s/v%d-csv%zu", out, FF_TABLE_FORMAT_VERSION, i);
		char *name2 = ff_asprintf("%s/v%d-csv%zu-noverify", out, FF_TABLE_FORMAT_VERSION, i);
		if (!name || !name2)
			abort();
		fuzz_dump_seed(fuzz_table, name, 0);
		fuzz_dump_seed(fuzz_table, name2, 3);
		ff_free(name);
		ff_free(name2);
		ff_table_destroy(fuzz_table, NULL);
	}
	unlink(src);
	ff_free(src);
}

/* The private folder goes when the fuzzer exits normally. */
static void fuzz_cleanup(void)
{
	fs_rm_rf(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz-table-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir) || !(fuzz_table = ff_asprintf("%s/t", fuzz_dir)))
		abort();
	atexit(fuzz_cleanup);
	const char *seeds = getenv("FUZZ_TABLE_SEEDS");
	if (seeds && *seeds)
		fuzz_make_seeds(seeds);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ff_table *t = NULL;
	char *path = NULL;
	unsigned char *copy = NULL;
	if (size < 3)
		return 0;
	unsigned flags = data[0];
	size_t mlen = (size_t)data[1] | (size_t)data[2] << 8;
	if (mlen > size - 3)
		return 0;
	if (fs_mkdirs(fuzz_table, 0755, NULL))
		abort();
	path = ff_asprintf("%s/meta.json", fuzz_table);
	if (!path || fs_write_atomic(path, data + 3, mlen, NULL))
		abort();
	size_t rest = size - 3 - mlen;
	if (rest && !(copy = ff_malloc(rest)))
		abort();
	if (rest)
		memcpy(copy, data + 3 + mlen, rest);
	size_t start = 0;
	for (unsigned k = 0; k < FUZZ_PARTS_MAX && start < rest; k++) {
		size_t next = rest;
		for (size_t q = start + 8; k + 1 < FUZZ_PARTS_MAX && q + 8 <= rest; q += 8) {
			if (!memcmp(copy + q, "FFTBPART", 8)) {
				next = q;
				break;
			}
		}
		if (flags & 1)
			fuzz_fix_crcs(copy + start, next - start);
		ff_free(path);
		path = ff_asprintf("%s/part-%05u", fuzz_table, k);
		if (!path || fs_write_atomic(path, copy + start, next - start, NULL))
			abort();
		start = next;
	}
	if (!ff_table_open(&t, fuzz_table, (flags & 2) ? FF_TABLE_NO_VERIFY : 0, NULL)) {
		fuzz_read(t);
		ff_table_free(t);
	}
	fs_rm_rf(fuzz_table);
	ff_free(path);
	ff_free(copy);
	return 0;
}
