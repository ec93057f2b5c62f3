// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz-form.c - libFuzzer harness for the streaming multipart/form-data
 * parser (src/http/http_form.c, what every upload and model import body
 * goes through). Input: the Content-Type header value up to the first
 * "\n", then the body. Byte 0 of the body's length picks how the body is
 * cut into chunks (the parser must give the same answer whatever the
 * split, as a network does). After http_form_end the fields are read, one
 * file is taken (and deleted, as a handler does), the form is freed, and
 * the temporary folder must be empty again: a file left behind traps.
 */
#include "ff_setup.h"
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>
#include "err.h"
#include "fs.h"
#include "http_form.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[256];

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
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz-form-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir))
		abort();
	atexit(fuzz_cleanup);
}

static size_t fuzz_files_left(void)
{
	size_t n = 0;
	DIR *d = opendir(fuzz_dir);
	struct dirent *e;
	if (!d)
		abort();
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ff_error err = FF_ERROR_INIT;
	struct http_form *f = NULL;
	char *ctype = NULL, *taken = NULL;
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	fuzz_init();
	if (!(ctype = ff_strndup((const char *)data, (size_t)(nl - data))))
		abort();
	const char *body = (const char *)nl + 1;
	size_t n = size - (size_t)(nl - data) - 1;
	/* chunk size: 1..16 bytes, or everything at once */
	size_t step = n ? (size_t)(unsigned char)body[0] % 17 : 0;
	if (!step)
		step = n ? n : 1;
	if (http_form_new(&f, ctype, fuzz_dir, &err))
		goto out;
	int ret = FF_OK;
	for (size_t off = 0; off < n && !ret; off += step)
		ret = http_form_feed(f, body + off, n - off < step ? n - off : step, &err);
	if (ret || http_form_end(f, &err))
		goto out;
	(void)http_form_field(f, "name");
	(void)http_form_field(f, "namespace");
	const struct http_form_file *file = http_form_file(f, "file");
	if (file && (!file->path || !file->name))
		__builtin_trap();
	if ((taken = http_form_take_file(f, "file")))
		unlink(taken);
out:
	http_form_free(f);
	if (fuzz_files_left())
		__builtin_trap(); /* a temporary file outlived its form */
	ff_free(taken);
	ff_free(ctype);
	return 0;
}
