// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz-csv.c - libFuzzer harness for the CSV importer (what an upload
 * runs on a user's file): byte 0 picks the import options (header or not,
 * label and weight columns, delimiter, extend_sid, partitions, one or two
 * threads, tiny parse chunks), the rest is written to a temporary file and
 * imported with ff_csv_import into a temporary table folder. A committed
 * table is reopened, every batch is read with ids and text, it is exported
 * again, and the folder is removed.
 *
 * Oracle: besides crashes, leaks and sanitizer reports, an imported table
 * must export as its source file byte for byte (fedflow/table.h promises
 * it); a difference traps.
 */
#include "ff_setup.h"
#include <stdlib.h>
#include <unistd.h>
#include "buf.h"
#include "err.h"
#include "fedflow/table.h"
#include "fs.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_dir;     /* a private temporary folder for this process */
static char *fuzz_src;     /* <dir>/src.csv */
static char *fuzz_table;   /* <dir>/ns/t */

/* The private folder goes when the fuzzer exits normally. */
static void fuzz_cleanup(void)
{
	fs_rm_rf(fuzz_dir);
}

static void fuzz_init(void)
{
	if (fuzz_dir)
		return;
	const char *tmp = getenv("TMPDIR");
	char *tmpl = ff_asprintf("%s/fuzz-csv-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!tmpl || !mkdtemp(tmpl))
		abort();
	fuzz_dir = tmpl;
	atexit(fuzz_cleanup);
	fuzz_src = ff_asprintf("%s/src.csv", fuzz_dir);
	fuzz_table = ff_asprintf("%s/ns/t", fuzz_dir);
	if (!fuzz_src || !fuzz_table)
		abort();
}

struct fuzz_sink {
	struct ff_buf out;
};

static int fuzz_collect(void *ctx, const char *d, size_t n)
{
	struct fuzz_sink *s = ctx;
	return ff_buf_add(&s->out, d, n);
}

/* Reads every row of t the ways a component does. */
static void fuzz_scan(const struct ff_table *t)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table_iter it;
	struct ff_batch b;
	struct ff_buf line = FF_BUF_INIT_MAX(1 << 22);
	if (ff_table_iter_init(&it, t, -1, FF_NEED_VALUES | FF_NEED_IDS | FF_NEED_TEXT, &err))
		__builtin_trap(); /* a table the importer committed must be readable */
	int r;
	while ((r = ff_table_iter_next(&it, &b, &err)) == 1) {
		for (size_t i = 0; i < b.n; i++) {
			size_t n;
			if (!ff_batch_sid(&b, i, &n) || !n || !ff_batch_mid(&b, i, &n) || !n)
				__builtin_trap();
			ff_buf_reset(&line);
			if (ff_batch_text(&b, i, 0, &line))
				__builtin_trap();
		}
	}
	if (r < 0)
		__builtin_trap();
	ff_table_iter_release(&it);
	ff_buf_release(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table *t = NULL;
	struct fuzz_sink sink = { FF_BUF_INIT_MAX(1 << 24) };
	struct ff_csv_opts o;
	if (size < 1)
		return 0;
	fuzz_init();
	unsigned f = data[0];
	data++;
	size--;

	ff_csv_opts_init(&o);
	o.head = !(f & 1);
	if (!o.head)
		o.header = (f & 2) ? "id,y,x0,w" : NULL; /* else names id, x0, x1, ... */
	o.label_name = (f & 2) ? "y" : NULL;
	o.weight_name = (f & 4) ? "w" : NULL;
	o.delimiter = (f & 8) ? ';' : ',';
	o.extend_sid = f & 16;
	static const unsigned parts[] = { 1, 2, 3, 16 };
	o.partitions = parts[(f >> 5) & 3];
	o.threads = (f & 128) ? 2 : 1;
	o.chunk_bytes = (f & 128) ? 7 : 0; /* split tiny files between threads */
	o.no_fsync = true;
	o.line_max = 4096;
	if (o.delimiter == ';' && o.header)
		o.header = "id;y;x0;w";

	if (fs_write_atomic(fuzz_src, data, size, NULL))
		abort();
	int ret = ff_csv_import(fuzz_src, fuzz_table, &o, NULL, &err);
	if (ret)
		goto out;
	if (ff_table_open(&t, fuzz_table, 0, &err))
		__builtin_trap(); /* committed but not readable */
	fuzz_scan(t);
	if (ff_csv_export(t, UINT64_MAX, 0, fuzz_collect, &sink, &err))
		__builtin_trap();
	/* without a header line the export writes the names it made up */
	if (o.head && (sink.out.len != size || memcmp(sink.out.buf, data, size)))
		__builtin_trap();
out:
	ff_table_free(t);
	ff_buf_release(&sink.out);
	ff_table_destroy(fuzz_table, NULL);
	unlink(fuzz_src);
	return 0;
}
