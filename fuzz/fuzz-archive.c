// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz-archive.c - libFuzzer harness for the archive readers a user's
 * upload reaches (src/data/archive.c, src/model/model_store.c): model
 * import (zip) and model packages (tar) come from other people. The bytes
 * are written to a temporary file (tar, tar.gz or zip: libarchive detects
 * the format) and then:
 *   archive_walk         every entry read to memory (bounded);
 *   archive_unpack       extracted below <tmp>/x;
 *   model_store_read     the package as /v2/output/model/query shows it;
 *   model_store_unpack   extracted below <tmp>/m, as a task input.
 * Oracles: every name a walk hands out passes archive_name_ok; after the
 * unpacks nothing exists in <tmp> but the source and the two folders, and
 * no symbolic link exists below them (path tricks: "..", absolute names,
 * links, links followed by files through them).
 */
#include "ff_setup.h"
#include <ftw.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive.h"
#include "buf.h"
#include "err.h"
#include "fs.h"
#include "mem.h"
#include "model_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[256];
static char *fuzz_src, *fuzz_x, *fuzz_m;

/* The private folder goes when the fuzzer exits normally. */
static void fuzz_cleanup(void)
{
	fs_rm_rf(fuzz_dir);
}

static void fuzz_init(void)
{
	if (*fuzz_dir)
		return;
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz-archive-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir))
		abort();
	atexit(fuzz_cleanup);
	fuzz_src = ff_asprintf("%s/src", fuzz_dir);
	fuzz_x = ff_asprintf("%s/x", fuzz_dir);
	fuzz_m = ff_asprintf("%s/m", fuzz_dir);
	if (!fuzz_src || !fuzz_x || !fuzz_m)
		abort();
}

static int fuzz_visit(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	(void)arg;
	(void)size;
	if (!archive_name_ok(name))
		__builtin_trap(); /* an unchecked name reached a caller */
	struct ff_buf b = FF_BUF_INIT_MAX(1 << 20);
	int ret = archive_in_to_buf(in, &b, NULL);
	ff_buf_release(&b);
	return ret == FF_E2BIG ? FF_OK : ret;
}

static int fuzz_no_link(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)ftw;
	if (type == FTW_SL || type == FTW_SLN)
		__builtin_trap(); /* an archive made a symbolic link */
	return 0;
}

/* Only src, x and m in the folder, and no link below x or m. */
static void fuzz_check_tree(void)
{
	DIR *d = opendir(fuzz_dir);
	struct dirent *e;
	if (!d)
		abort();
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "src") && strcmp(n, "x") &&
		    strcmp(n, "m"))
			__builtin_trap(); /* something was written outside the destination */
	}
	closedir(d);
	if (nftw(fuzz_x, fuzz_no_link, 16, FTW_PHYS) > 0 ||
	    nftw(fuzz_m, fuzz_no_link, 16, FTW_PHYS) > 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;
	fuzz_init();
	if (fs_write_atomic(fuzz_src, data, size, NULL))
		abort();
	(void)archive_walk(fuzz_src, fuzz_visit, NULL, NULL);
	(void)archive_unpack(fuzz_src, fuzz_x, NULL, NULL);
	if (!model_store_read(fuzz_src, &j, NULL))
		json_decref(j);
	j = NULL;
	if (!model_store_unpack(fuzz_src, fuzz_m, &j, NULL))
		json_decref(j);
	fuzz_check_tree();
	fs_rm_rf(fuzz_x);
	fs_rm_rf(fuzz_m);
	unlink(fuzz_src);
	return 0;
}
