// SPDX-License-Identifier: Apache-2.0
/*
 * archive.c - tar, tar.gz and zip writing and checked reading over
 * libarchive (see archive.h).
 */
#include "ff_setup.h"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive.h"
#include "fs.h"
#include "mem.h"

#define ARCHIVE_IO_CHUNK ((size_t)64 << 10)

struct archive_out {
	struct archive *a;
	bool own_fd;
	int fd;
	bool in_entry;
	uint64_t left;        /* bytes the open entry still expects */
	char name[PATH_MAX];  /* of the open entry, for messages */
	time_t now;
};

static int archive_fail(struct archive *a, struct ff_error *err, const char *what,
			const char *name)
{
	const char *msg = a ? archive_error_string(a) : NULL;
	int e = a ? archive_errno(a) : 0;
	/* system failures keep their errno; everything else is a bad archive */
	int code = (e == ENOSPC || e == ENOMEM || e == EIO || e == EACCES || e == ENOENT ||
		    e == EROFS || e == EDQUOT) ? ff_from_errno(e) : FF_EDATA;
	return ff_error_set(err, code, "%s '%s': %s", what, name ? name : "?",
			    msg ? msg : "archive error");
}

static int archive_out_setup(struct archive_out *w, enum archive_kind kind, struct ff_error *err)
{
	int r;
	if (kind == ARCHIVE_KIND_ZIP) {
		r = archive_write_set_format_zip(w->a);
		if (r == ARCHIVE_OK)
			r = archive_write_set_format_option(w->a, "zip", "compression", "deflate");
	} else {
		r = archive_write_set_format_pax_restricted(w->a);
		if (r == ARCHIVE_OK && kind == ARCHIVE_KIND_TGZ) {
			r = archive_write_add_filter_gzip(w->a);
			if (r == ARCHIVE_OK)
				r = archive_write_set_filter_option(w->a, "gzip", "compression-level",
								    "1");
		}
	}
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_per_block(w->a, 64 << 10);
	/* the last block is not padded past the data: the size stays exact */
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_in_last_block(w->a, 1);
	return r == ARCHIVE_OK ? FF_OK : archive_fail(w->a, err, "cannot set up archive", "output");
}

static int archive_out_new(struct archive_out **out, int fd, bool own_fd,
			   enum archive_kind kind, struct ff_error *err)
{
	struct archive_out *w = ff_calloc(1, sizeof(*w));
	if (!w) {
		if (own_fd)
			close(fd);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	w->fd = fd;
	w->own_fd = own_fd;
	w->now = time(NULL);
	w->a = archive_write_new();
	int ret = w->a ? archive_out_setup(w, kind, err) : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret && archive_write_open_fd(w->a, fd) != ARCHIVE_OK)
		ret = archive_fail(w->a, err, "cannot open archive", "output");
	if (ret) {
		archive_out_free(w);
		return ret;
	}
	*out = w;
	return FF_OK;
}

int archive_out_open_fd(struct archive_out **out, int fd, enum archive_kind kind,
			struct ff_error *err)
{
	return archive_out_new(out, fd, false, kind, err);
}

int archive_out_open_path(struct archive_out **out, const char *path, enum archive_kind kind,
			  struct ff_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ff_error_set(err, ff_from_errno(errno), "cannot create '%s': %s", path,
				    strerror(errno));
	return archive_out_new(out, fd, true, kind, err);
}

/* Closes the open entry; its data must have been complete. */
static int archive_out_end_entry(struct archive_out *w, struct ff_error *err)
{
	if (!w->in_entry)
		return FF_OK;
	w->in_entry = false;
	if (w->left)
		return ff_error_set(err, FF_EDATA, "archive entry '%s' is %llu bytes short",
				    w->name, (unsigned long long)w->left);
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
		return archive_fail(w->a, err, "cannot write archive entry", w->name);
	return FF_OK;
}

static int archive_out_header(struct archive_out *w, const char *name, bool dir, uint64_t size,
			      struct ff_error *err)
{
	int ret = archive_out_end_entry(w, err);
	if (ret)
		return ret;
	if (size > INT64_MAX)
		return ff_error_set(err, FF_E2BIG, "archive entry '%s' is too large", name);
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(e, w->now, 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		ret = archive_fail(w->a, err, "cannot write archive entry", name);
	archive_entry_free(e);
	if (ret)
		return ret;
	if (!dir) {
		w->in_entry = true;
		w->left = size;
		snprintf(w->name, sizeof(w->name), "%s", name);
	} else if (archive_write_finish_entry(w->a) != ARCHIVE_OK) {
		return archive_fail(w->a, err, "cannot write archive entry", name);
	}
	return FF_OK;
}

int archive_out_begin(struct archive_out *a, const char *name, uint64_t size,
		      struct ff_error *err)
{
	return archive_out_header(a, name, false, size, err);
}

int archive_out_write(struct archive_out *a, const void *data, size_t n, struct ff_error *err)
{
	if (!a->in_entry || n > a->left)
		return ff_error_set(err, FF_EDATA, "archive entry '%s' got more data than its size",
				    a->in_entry ? a->name : "?");
	const char *p = data;
	while (n) {
		la_ssize_t w = archive_write_data(a->a, p, n);
		if (w <= 0)
			return archive_fail(a->a, err, "cannot write archive entry", a->name);
		p += w;
		n -= (size_t)w;
		a->left -= (uint64_t)w;
	}
	return FF_OK;
}

int archive_out_add_bytes(struct archive_out *a, const char *name, const void *data, size_t n,
			  struct ff_error *err)
{
	int ret = archive_out_begin(a, name, n, err);
	if (!ret && n)
		ret = archive_out_write(a, data, n, err);
	if (!ret)
		ret = archive_out_end_entry(a, err);
	return ret;
}

static int archive_out_copy_fd(struct archive_out *a, const char *name, const char *path,
			       int fd, uint64_t size, struct ff_error *err)
{
	char *buf = ff_malloc(ARCHIVE_IO_CHUNK);
	if (!buf)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret = archive_out_begin(a, name, size, err);
	while (!ret && a->left) {
		size_t want = a->left < ARCHIVE_IO_CHUNK ? (size_t)a->left : ARCHIVE_IO_CHUNK;
		ssize_t r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			ret = ff_error_set(err, ff_from_errno(errno), "cannot read '%s': %s", path,
					   strerror(errno));
		else if (r == 0)
			ret = ff_error_set(err, FF_EDATA, "'%s' shrank while being archived", path);
		else
			ret = archive_out_write(a, buf, (size_t)r, err);
	}
	if (!ret)
		ret = archive_out_end_entry(a, err);
	ff_free(buf);
	return ret;
}

int archive_out_add_file(struct archive_out *a, const char *name, const char *path,
			 struct ff_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ff_error_set(err, ff_from_errno(e), "cannot open '%s': %s", path, strerror(e));
	}
	int ret = S_ISREG(st.st_mode)
		? archive_out_copy_fd(a, name, path, fd, (uint64_t)st.st_size, err)
		: ff_error_set(err, FF_EDATA, "'%s' is not a regular file", path);
	close(fd);
	return ret;
}

static int archive_out_tree(struct archive_out *a, const char *prefix, const char *dir,
			    int depth, struct ff_error *err)
{
	if (depth > 32)
		return ff_error_set(err, FF_EDATA, "'%s' is nested too deeply", dir);
	DIR *d = opendir(dir);
	if (!d)
		return ff_error_set(err, ff_from_errno(errno), "cannot open '%s': %s", dir,
				    strerror(errno));
	int ret = FF_OK;
	struct dirent *de;
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = ff_asprintf("%s/%s", dir, de->d_name);
		char *name = prefix && *prefix ? ff_asprintf("%s/%s", prefix, de->d_name)
					       : ff_strdup(de->d_name);
		struct stat st;
		if (!path || !name)
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		else if (lstat(path, &st))
			ret = ff_error_set(err, ff_from_errno(errno), "cannot stat '%s': %s", path,
					   strerror(errno));
		else if (S_ISDIR(st.st_mode)) {
			ret = archive_out_header(a, name, true, 0, err);
			if (!ret)
				ret = archive_out_tree(a, name, path, depth + 1, err);
		} else if (S_ISREG(st.st_mode))
			ret = archive_out_add_file(a, name, path, err);
		else
			ret = ff_error_set(err, FF_EDATA, "'%s' is not a regular file or directory",
					   path);
		ff_free(path);
		ff_free(name);
	}
	closedir(d);
	return ret;
}

int archive_out_add_tree(struct archive_out *a, const char *prefix, const char *dir,
			 struct ff_error *err)
{
	return archive_out_tree(a, prefix, dir, 0, err);
}

int archive_out_close(struct archive_out *a, struct ff_error *err)
{
	int ret = archive_out_end_entry(a, err);
	if (!ret && archive_write_close(a->a) != ARCHIVE_OK)
		ret = archive_fail(a->a, err, "cannot finish archive", "output");
	if (a->own_fd && a->fd >= 0) {
		if (close(a->fd) && !ret)
			ret = ff_error_set(err, ff_from_errno(errno), "cannot close archive: %s",
					   strerror(errno));
		a->fd = -1;
	}
	return ret;
}

void archive_out_free(struct archive_out *a)
{
	if (!a)
		return;
	if (a->a)
		archive_write_free(a->a);
	if (a->own_fd && a->fd >= 0)
		close(a->fd);
	ff_free(a);
}

/* ---- reading ---- */

struct archive_in {
	struct archive *a;
	const char *name;
};

bool archive_name_ok(const char *name)
{
	if (!name || !*name || *name == '/')
		return false;
	const char *p = name;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 && e)
			return false;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return false;
		if (!e)
			return n > 0;
		p = e + 1;
		if (!*p)
			return true; /* "dir/" */
	}
}

int archive_in_read(struct archive_in *in, void *buf, size_t n, size_t *got,
		    struct ff_error *err)
{
	la_ssize_t r = archive_read_data(in->a, buf, n);
	if (r < 0)
		return archive_fail(in->a, err, "cannot read archive entry", in->name);
	*got = (size_t)r;
	return FF_OK;
}

int archive_in_to_buf(struct archive_in *in, struct ff_buf *out, struct ff_error *err)
{
	char buf[16384];
	for (;;) {
		size_t got = 0;
		int ret = archive_in_read(in, buf, sizeof(buf), &got, err);
		if (ret || !got)
			return ret;
		if ((ret = ff_buf_add(out, buf, got)))
			return ff_error_set(err, ret, "archive entry '%s' is too large", in->name);
	}
}

int archive_in_to_file(struct archive_in *in, const char *path, struct ff_error *err)
{
	char *dir = ff_strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int ret = dir ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret && slash && slash != dir) {
		*slash = '\0';
		ret = fs_mkdirs(dir, 0755, err);
	}
	ff_free(dir);
	if (ret)
		return ret;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ff_error_set(err, ff_from_errno(errno), "cannot create '%s': %s", path,
				    strerror(errno));
	char *buf = ff_malloc(ARCHIVE_IO_CHUNK);
	if (!buf)
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	while (!ret) {
		size_t got = 0;
		if ((ret = archive_in_read(in, buf, ARCHIVE_IO_CHUNK, &got, err)) || !got)
			break;
		for (size_t off = 0; !ret && off < got;) {
			ssize_t w = write(fd, buf + off, got - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				ret = ff_error_set(err, ff_from_errno(errno), "cannot write '%s': %s",
						   path, strerror(errno));
			else
				off += (size_t)w;
		}
	}
	ff_free(buf);
	if (close(fd) && !ret)
		ret = ff_error_set(err, ff_from_errno(errno), "cannot write '%s': %s", path,
				   strerror(errno));
	if (ret)
		unlink(path);
	return ret;
}

int archive_walk(const char *path, archive_visit_fn fn, void *arg, struct ff_error *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_format_zip(a);
	archive_read_support_filter_gzip(a);
	int ret = FF_OK;
	if (archive_read_open_filename(a, path, ARCHIVE_IO_CHUNK) != ARCHIVE_OK) {
		ret = archive_fail(a, err, "cannot open archive", path);
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			ret = archive_fail(a, err, "cannot read archive", path);
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (name && !strncmp(name, "./", 2))
			name += 2;
		if (name && (!*name || !strcmp(name, ".")))
			continue;
		if (!archive_name_ok(name)) {
			ret = ff_error_set(err, FF_EDATA, "archive '%s' has an unsafe entry name '%.100s'",
					   path, name ? name : "");
			break;
		}
		mode_t type = archive_entry_filetype(e);
		if (type == AE_IFDIR)
			continue;
		if (type != AE_IFREG || archive_entry_hardlink(e)) {
			ret = ff_error_set(err, FF_EDATA, "archive '%s': entry '%s' is not a regular file",
					   path, name);
			break;
		}
		la_int64_t size = archive_entry_size(e);
		struct archive_in in = { .a = a, .name = name };
		ret = fn(arg, name, size > 0 ? (uint64_t)size : 0, &in);
		if (ret)
			break;
	}
out:
	archive_read_free(a);
	return ret;
}

struct archive_unpack_ctx {
	const char *dest;
	size_t n;
	struct ff_error *err;
};

static int archive_unpack_cb(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	struct archive_unpack_ctx *c = arg;
	char *path = ff_asprintf("%s/%s", c->dest, name);
	if (!path)
		return ff_error_set(c->err, FF_ENOMEM, "out of memory");
	size_t len = strlen(path);
	int ret = len && path[len - 1] == '/' ? fs_mkdirs(path, 0755, c->err)
					       : archive_in_to_file(in, path, c->err);
	ff_free(path);
	c->n += ret ? 0 : 1;
	return ret;
}

int archive_unpack(const char *path, const char *dest, size_t *nfiles, struct ff_error *err)
{
	struct archive_unpack_ctx c = { .dest = dest, .err = err };
	int ret = fs_mkdirs(dest, 0755, err);
	if (!ret)
		ret = archive_walk(path, archive_unpack_cb, &c, err);
	if (nfiles)
		*nfiles = c.n;
	return ret;
}
