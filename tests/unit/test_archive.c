// SPDX-License-Identifier: Apache-2.0
/*
 * test_archive.c - src/data/archive.c: tar, tar.gz and zip round trips
 * (bytes, files, trees, entries written in pieces), the size checks of a
 * streamed entry, and every archive a reader must refuse (unsafe names,
 * links, garbage).
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>
#include "data/archive.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_archive.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(dir);
	return 0;
}

static char *path_of(const char *name)
{
	return ff_asprintf("%s/%s", dir, name);
}

struct seen {
	json_t *files;    /* name -> content */
};

static int collect(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	struct seen *s = arg;
	struct ff_buf b = FF_BUF_INIT;
	int ret = archive_in_to_buf(in, &b, NULL);
	assert_int_equal(ret, FF_OK);
	assert_int_equal(b.len, size);
	json_object_set_new(s->files, name, json_stringn(b.buf, b.len));
	ff_buf_release(&b);
	return FF_OK;
}

static void roundtrip(enum archive_kind kind, const char *fname)
{
	char *tree = path_of("tree");
	char *sub = path_of("tree/sub");
	char *f1 = path_of("tree/a.txt"), *f2 = path_of("tree/sub/b.bin");
	char *out = path_of(fname);
	assert_int_equal(fs_mkdirs(sub, 0755, NULL), FF_OK);
	assert_int_equal(fs_write_file(f1, "alpha", 5, NULL), FF_OK);
	assert_int_equal(fs_write_file(f2, "be\0ta", 5, NULL), FF_OK);
	struct archive_out *w = NULL;
	assert_int_equal(archive_out_open_path(&w, out, kind, NULL), FF_OK);
	assert_int_equal(archive_out_add_bytes(w, "m.yaml", "{\"k\": 1}", 8, NULL), FF_OK);
	assert_int_equal(archive_out_add_file(w, "copy.txt", f1, NULL), FF_OK);
	assert_int_equal(archive_out_add_tree(w, "model", tree, NULL), FF_OK);
	assert_int_equal(archive_out_begin(w, "pieces.csv", 6, NULL), FF_OK);
	assert_int_equal(archive_out_write(w, "a,b", 3, NULL), FF_OK);
	assert_int_equal(archive_out_write(w, "\n1,", 3, NULL), FF_OK);
	assert_int_equal(archive_out_write(w, "x", 1, NULL), FF_EDATA); /* past its size */
	assert_int_equal(archive_out_close(w, NULL), FF_OK);
	archive_out_free(w);
	struct seen s = { json_object() };
	assert_int_equal(archive_walk(out, collect, &s, NULL), FF_OK);
	assert_int_equal(json_object_size(s.files), 5);
	assert_string_equal(jsonx_str(s.files, "m.yaml"), "{\"k\": 1}");
	assert_string_equal(jsonx_str(s.files, "copy.txt"), "alpha");
	assert_string_equal(jsonx_str(s.files, "model/a.txt"), "alpha");
	assert_int_equal(json_string_length(json_object_get(s.files, "model/sub/b.bin")), 5);
	assert_memory_equal(json_string_value(json_object_get(s.files, "model/sub/b.bin")),
			    "be\0ta", 5);
	assert_string_equal(jsonx_str(s.files, "pieces.csv"), "a,b\n1,");
	json_decref(s.files);
	/* unpack below a folder */
	char *dest = path_of("unpacked");
	size_t n = 0;
	assert_int_equal(archive_unpack(out, dest, &n, NULL), FF_OK);
	assert_int_equal(n, 5);
	char *check = ff_asprintf("%s/model/sub/b.bin", dest);
	struct ff_buf b = FF_BUF_INIT;
	assert_int_equal(fs_read_file(check, &b, NULL), FF_OK);
	assert_memory_equal(b.buf, "be\0ta", 5);
	ff_buf_release(&b);
	fs_rm_rf(dest);
	fs_rm_rf(tree);
	unlink(out);
	ff_free(check);
	ff_free(dest);
	ff_free(tree);
	ff_free(sub);
	ff_free(f1);
	ff_free(f2);
	ff_free(out);
}

static void test_roundtrips(void **state)
{
	(void)state;
	roundtrip(ARCHIVE_KIND_TAR, "a.tar");
	roundtrip(ARCHIVE_KIND_TGZ, "a.tar.gz");
	roundtrip(ARCHIVE_KIND_ZIP, "a.zip");
}

static void test_short_entry(void **state)
{
	(void)state;
	char *out = path_of("short.tar");
	struct archive_out *w = NULL;
	struct ff_error err = FF_ERROR_INIT;
	assert_int_equal(archive_out_open_path(&w, out, ARCHIVE_KIND_TAR, NULL), FF_OK);
	assert_int_equal(archive_out_begin(w, "x", 10, NULL), FF_OK);
	assert_int_equal(archive_out_write(w, "abc", 3, NULL), FF_OK);
	assert_int_equal(archive_out_close(w, &err), FF_EDATA);
	assert_non_null(strstr(err.msg, "7 bytes short"));
	archive_out_free(w);
	unlink(out);
	ff_free(out);
}

static void test_names(void **state)
{
	(void)state;
	const char *ok[] = { "a", "a/b", "a.b/c..d", "dir/", "x y/z" };
	const char *bad[] = { "", "/abs", "..", "../x", "a/../b", "a//b", ".", "./a", "a/.",
			      "a\nb", "a\x7f" };
	for (size_t i = 0; i < FF_ARRAY_SIZE(ok); i++)
		assert_true(archive_name_ok(ok[i]));
	for (size_t i = 0; i < FF_ARRAY_SIZE(bad); i++)
		assert_false(archive_name_ok(bad[i]));
	assert_false(archive_name_ok(NULL));
}

/* An archive written with raw libarchive, one entry of the given type/name. */
static char *raw_archive(const char *fname, const char *name, mode_t type, const char *link)
{
	char *out = path_of(fname);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, out), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, type == AE_IFREG && !link ? 1 : 0);
	if (link && type == AE_IFLNK)
		archive_entry_set_symlink(e, link);
	else if (link)
		archive_entry_set_hardlink(e, link);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (type == AE_IFREG && !link)
		archive_write_data(a, "x", 1);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

static int never(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	(void)arg;
	(void)name;
	(void)size;
	(void)in;
	fail_msg("a refused archive must not reach the callback");
	return FF_EIO;
}

static void test_refused_archives(void **state)
{
	(void)state;
	struct ff_error err = FF_ERROR_INIT;
	struct { const char *name; mode_t type; const char *link; } cases[] = {
		{ "../escape", AE_IFREG, NULL },
		{ "/etc/passwd", AE_IFREG, NULL },
		{ "a/../../b", AE_IFREG, NULL },
		{ "link", AE_IFLNK, "/etc/passwd" },
		{ "hard", AE_IFREG, "other" },
		{ "fifo", AE_IFIFO, NULL },
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(cases); i++) {
		char *p = raw_archive("bad.tar", cases[i].name, cases[i].type, cases[i].link);
		assert_int_equal(archive_walk(p, never, NULL, &err), FF_EDATA);
		char *dest = path_of("dest");
		assert_int_equal(archive_unpack(p, dest, NULL, NULL), FF_EDATA);
		assert_false(fs_exists("/tmp/escape"));
		fs_rm_rf(dest);
		unlink(p);
		ff_free(p);
		ff_free(dest);
	}
	char *junk = path_of("junk.zip");
	assert_int_equal(fs_write_file(junk, "not an archive at all", 21, NULL), FF_OK);
	assert_int_equal(archive_walk(junk, never, NULL, &err), FF_EDATA);
	unlink(junk);
	ff_free(junk);
	char *missing = path_of("missing.tar");
	assert_int_not_equal(archive_walk(missing, never, NULL, &err), FF_OK);
	ff_free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrips),
		cmocka_unit_test(test_short_entry),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_refused_archives),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
