// SPDX-License-Identifier: Apache-2.0
/*
 * cli_download.c - downloads and archive extraction (see cli_download.h).
 *
 * The answer is streamed into an unlinked temporary file rather than
 * memory: job logs and output data can be large, and libarchive reads the
 * file back with no size cap. libarchive (rather than a hand-written tar
 * reader) handles ustar, pax and GNU long names and the gzip filter.
 */
#include "ff_setup.h"
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>
#include "cli_download.h"
#include "cli_json.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

#define CLI_DL_JSON_MAX ((size_t)64 << 20)

static int cli_tmpfile(struct ff_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *path = ff_asprintf("%s/fedflow-download-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!path)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		int ret = ff_error_set(err, ff_from_errno(errno), "cannot create '%s': %s", path,
				       strerror(errno));
		ff_free(path);
		return ret;
	}
	unlink(path);
	ff_free(path);
	return fd;
}

/*
 * The member name to extract, relative to the target directory: "" for
 * the archive's own "./", NULL when absolute or when a component is "..".
 */
static const char *cli_entry_name(const char *name)
{
	if (!name || name[0] == '/')
		return NULL;
	while (name[0] == '.' && name[1] == '/') {
		name += 2;
		while (*name == '/')
			name++;
	}
	if (!strcmp(name, "."))
		return "";
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return NULL;
		p += n;
		while (*p == '/')
			p++;
	}
	return name;
}

static int cli_copy_data(struct archive *ar, struct archive *aw, struct ff_error *err)
{
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(ar, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return FF_OK;
		if (r < ARCHIVE_WARN)
			return ff_error_set(err, FF_EIO, "cannot read the archive: %s",
					    archive_error_string(ar));
		if (archive_write_data_block(aw, buf, len, off) < ARCHIVE_WARN)
			return ff_error_set(err, FF_EIO, "cannot write: %s", archive_error_string(aw));
	}
}

static int cli_extract_entry(struct archive *ar, struct archive *aw, struct archive_entry *e,
			     const char *dir, struct ff_error *err)
{
	const char *raw = archive_entry_pathname(e);
	const char *name = cli_entry_name(raw);
	if (!name)
		return ff_error_set(err, FF_EPERM, "refusing unsafe archive member '%s'",
				    raw ? raw : "(unnamed)");
	if (!*name)
		return FF_OK;   /* "./" itself */
	mode_t type = archive_entry_filetype(e);
	/* A hard link names a target outside the prefix; never create one. */
	if ((type != AE_IFREG && type != AE_IFDIR) || archive_entry_hardlink(e)) {
		fprintf(stderr, "fedflow: skipping archive member '%s' (not a file or directory)\n",
			name);
		return FF_OK;
	}
	char *full = cli_path_join(dir, name);
	if (!full)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	archive_entry_set_pathname(e, full);
	int ret = FF_OK;
	if (archive_write_header(aw, e) < ARCHIVE_WARN)
		ret = ff_error_set(err, FF_EIO, "cannot create '%s': %s", full,
				   archive_error_string(aw));
	else if (type == AE_IFREG && archive_entry_size(e) > 0)
		ret = cli_copy_data(ar, aw, err);
	if (!ret && archive_write_finish_entry(aw) < ARCHIVE_WARN)
		ret = ff_error_set(err, FF_EIO, "cannot write '%s': %s", full,
				   archive_error_string(aw));
	ff_free(full);
	return ret;
}

int cli_extract_fd(int fd, const char *dir, bool *not_archive, struct ff_error *err)
{
	int ret = FF_OK;
	struct archive *ar = archive_read_new();
	struct archive *aw = archive_write_disk_new();
	*not_archive = false;
	if (!ar || !aw) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(ar);
	archive_read_support_format_tar(ar);
	/* No PERM/OWNER restore: files get the user's umask, never setuid. */
	archive_write_disk_set_options(aw, ARCHIVE_EXTRACT_TIME);
	if (lseek(fd, 0, SEEK_SET) < 0 || archive_read_open_fd(ar, fd, 65536) != ARCHIVE_OK) {
		*not_archive = true;
		ret = ff_error_set(err, FF_EPROTO, "not an archive: %s", archive_error_string(ar));
		goto out;
	}
	for (bool first = true;; first = false) {
		struct archive_entry *e;
		int r = archive_read_next_header(ar, &e);
		if (r == ARCHIVE_EOF && first)
			ret = fs_mkdirs(dir, 0755, err);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			*not_archive = first;
			ret = ff_error_set(err, first ? FF_EPROTO : FF_EIO, "%s: %s",
					   first ? "not an archive" : "broken archive",
					   archive_error_string(ar));
			break;
		}
		if (first)
			ret = fs_mkdirs(dir, 0755, err);
		if (!ret)
			ret = cli_extract_entry(ar, aw, e, dir, err);
		if (ret)
			break;
	}
out:
	if (ar)
		archive_read_free(ar);
	if (aw)
		archive_write_free(aw);
	return ret;
}

/* The media type of a Content-Type value equals type (case-insensitive). */
static bool cli_ctype_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	if (strncasecmp(ct, type, n))
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static int cli_print_json_file(const struct cli *c, int fd, const char *url, long status,
			       const char *ct)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_buf b = FF_BUF_INIT_MAX(CLI_DL_JSON_MAX);
	json_t *answer = NULL;
	int ret = lseek(fd, 0, SEEK_SET) < 0 ? FF_EIO : FF_OK;
	while (!ret) {
		ret = ff_buf_grow(&b, 65536);
		if (ret)
			break;
		ssize_t n = read(fd, b.buf + b.len, b.alloc - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? FF_EIO : FF_OK;
			break;
		}
		b.len += (size_t)n;
		b.buf[b.len] = '\0';
	}
	if (ret || jsonx_parse(b.buf, b.len, &answer, NULL))
		ret = ff_error_set(&err, FF_EPROTO,
				   "download failed: answer of '%s' (HTTP %ld, Content-Type '%s') "
				   "is neither an archive nor JSON", url, status, ct);
	ff_buf_release(&b);
	return cli_finish(c, ret, answer, status, &err);
}

static int cli_download_ok(const char *dir)
{
	char *msg = ff_asprintf("download success, please check the path: %s", dir);
	json_t *o = msg ? json_pack("{s:i,s:s,s:s}", "code", 0, "directory", dir, "message", msg)
			: NULL;
	ff_free(msg);
	if (!o) {
		fprintf(stderr, "fedflow: out of memory\n");
		return CLI_EXIT_USAGE;
	}
	cli_print(o);
	json_decref(o);
	return CLI_EXIT_OK;
}

int cli_download(struct cli *c, const char *method, const char *path, const char *query,
		 const json_t *body, const char *dir)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_buf b = FF_BUF_INIT;
	struct httpc_resp r;
	struct curl_slist *hl = NULL;
	const char *ctype = NULL;
	char *url = cli_url(c, path, query);
	int rc, ret = FF_OK;
	bool not_archive = false;
	int fd = cli_tmpfile(&err);
	httpc_resp_init(&r, FF_BUF_MAX_DEFAULT);
	if (fd < 0 || !url) {
		ret = fd < 0 ? fd : ff_error_set(&err, FF_ENOMEM, "out of memory");
		rc = cli_fail(c, ret, &err);
		goto out;
	}
	r.fd = fd;
	if (cli_headers(c, &hl)) {
		ret = ff_error_set(&err, FF_ENOMEM, "cannot build the request");
		rc = cli_fail(c, ret, &err);
		goto out;
	}
	if (strcmp(method, "GET")) {
		ret = body ? cli_json_dump(&b, body, 0, true) : ff_buf_addstr(&b, "{}");
		ctype = "application/json";
	}
	c->http.timeout_ms = 0;   /* archives can be big; no whole-transfer limit */
	if (!ret)
		ret = httpc_request(&c->http, method, url, ctype, b.buf, b.len, hl, &r, &err);
	if (ret) {
		rc = cli_fail(c, ret, &err);
		goto out;
	}
	if (cli_ctype_is(r.content_type, "application/json")) {
		rc = cli_print_json_file(c, fd, url, r.status, r.content_type);
		goto out;
	}
	ret = cli_extract_fd(fd, dir, &not_archive, &err);
	if (!ret) {
		rc = cli_download_ok(dir);
	} else if (not_archive) {
		rc = cli_print_json_file(c, fd, url, r.status, r.content_type);
	} else {
		json_t *o = json_pack("{s:i,s:s+}", "code", 100, "message", "download failed, ",
				      ff_error_msg(&err, ret));
		if (o)
			cli_print(o);
		json_decref(o);
		rc = CLI_EXIT_FAIL;
	}
out:
	if (fd >= 0)
		close(fd);
	curl_slist_free_all(hl);
	httpc_resp_release(&r);
	ff_buf_release(&b);
	ff_free(url);
	return rc;
}
