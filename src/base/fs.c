// SPDX-License-Identifier: Apache-2.0
/* fs.c - mkdir -p, atomic writes, rm -rf, tree copy. */
#include "ff_setup.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs.h"
#include "mem.h"

/*
 * Creates the missing levels from the deepest existing one down: usually
 * only the last level (or two) is new, so this is one or two mkdir calls,
 * not one per level of the path.
 */
int fs_mkdirs(const char *path, mode_t mode, struct ff_error *err)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(tmp))
		return ff_error_set(err, FF_EINVAL, "invalid directory path '%s'", path);
	memcpy(tmp, path, n + 1);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	/* walk up until a level can be made (or exists) */
	char *cut[PATH_MAX / 2];
	size_t ncut = 0;
	for (;;) {
		if (!mkdir(tmp, mode) || errno == EEXIST)
			break;
		char *slash = strrchr(tmp, '/');
		if (errno != ENOENT || !slash || slash == tmp)
			return ff_error_set(err, ff_from_errno(errno),
					    "cannot create directory '%s': %s", tmp, strerror(errno));
		*slash = '\0';
		cut[ncut++] = slash;
	}
	/* then back down, one level at a time */
	while (ncut > 0) {
		*cut[--ncut] = '/';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return ff_error_set(err, ff_from_errno(errno),
					    "cannot create directory '%s': %s", tmp, strerror(errno));
	}
	return FF_OK;
}

/*
 * Why: every task start creates a few inodes (its folder, its config, its
 * log), and on an ext4 without a journal an inode allocation scans the
 * group's free inodes past every one deleted in the last seconds
 * (recently_deleted). Packed into the group of the home's parent - shared
 * with whatever else lives and is deleted next to it, e.g. in /tmp - that
 * scan was most of a task start's CPU; in a group of its own it is short.
 * A folder made below a top directory pays for the spreading (the
 * allocator weighs every block group: about 150 us here, against 30 us
 * beside its parent), but the spreading is what keeps the scan short:
 * with the mark on the home instead, jobs/ and the folders in it share one
 * group, where the last minutes' deletions (cleaned jobs, earlier homes)
 * pile up and a task start took twice as long. logs/ holds files, not
 * folders (one per job, one per task): it is made spread itself
 * (fs_mkdir_spread), so they go into its own group.
 */
/* An open descriptor of the directory path and its inode flags, or -1. */
static int fs_dir_flags(const char *path, int *flags)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*flags = 0;
	if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, flags)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

bool fs_set_topdir(const char *path, bool top)
{
	int flags;
	int fd = fs_dir_flags(path, &flags);
	if (fd < 0)
		return false;
	bool ok = true;
	if (!(flags & FS_TOPDIR_FL) != !top) {
		flags = top ? flags | FS_TOPDIR_FL : flags & ~FS_TOPDIR_FL;
		ok = !ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
	return ok;
}

static bool fs_get_topdir(const char *path)
{
	int flags;
	int fd = fs_dir_flags(path, &flags);
	if (fd >= 0)
		close(fd);
	return fd >= 0 && (flags & FS_TOPDIR_FL);
}

int fs_mkdir_spread(const char *path, mode_t mode, struct ff_error *err)
{
	if (fs_is_dir(path))
		return FF_OK;
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else
		snprintf(parent, sizeof(parent), "%s", slash ? "/" : ".");
	bool marked = fs_get_topdir(parent) || !fs_set_topdir(parent, true);
	int ret = fs_mkdirs(path, mode, err);
	if (!marked)
		fs_set_topdir(parent, false);
	return ret;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return ff_from_errno(errno);
		if (w == 0) {
			errno = EIO;
			return FF_EIO;
		}
		p += w;
		len -= (size_t)w;
	}
	return FF_OK;
}

int fs_each_prefixed(const char *dir, const char *prefix,
		     int (*fn)(void *arg, const char *path, const char *rest), void *arg)
{
	size_t len = strlen(prefix);
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;
	while (!ret && d && (de = readdir(d))) {
		if (strncmp(de->d_name, prefix, len) || !strcmp(de->d_name, ".") ||
		    !strcmp(de->d_name, ".."))
			continue;
		char *path = ff_asprintf("%s/%s", dir, de->d_name);
		ret = path ? fn(arg, path, de->d_name + len) : FF_ENOMEM;
		ff_free(path);
	}
	if (d)
		closedir(d);
	return ret;
}

int fs_write_atomic(const char *path, const void *data, size_t len,
		    struct ff_error *err)
{
	char tmp[PATH_MAX];
	int ret = FF_OK;
	int fd = -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return ff_error_set(err, FF_EINVAL, "path too long '%s'", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = ff_error_set(err, ff_from_errno(errno), "cannot create '%s': %s",
				   tmp, strerror(errno));
		goto out;
	}
	ret = fs_write_all(fd, data, len);
	if (ret) {
		ret = ff_error_set(err, ret, "cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		ret = ff_error_set(err, FF_EIO, "cannot close '%s': %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path))
		ret = ff_error_set(err, ff_from_errno(errno), "cannot rename '%s': %s",
				   tmp, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		unlink(tmp);
	return ret;
}

int fs_write_file(const char *path, const void *data, size_t len, struct ff_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ff_error_set(err, ff_from_errno(errno), "cannot create '%s': %s", path,
				    strerror(errno));
	int ret = FF_OK;
	if (fs_write_all(fd, data, len))
		ret = ff_error_set(err, FF_EIO, "cannot write '%s': %s", path, strerror(errno));
	if (close(fd) && !ret)
		ret = ff_error_set(err, FF_EIO, "cannot close '%s': %s", path, strerror(errno));
	return ret;
}

int fs_read_file(const char *path, struct ff_buf *out, struct ff_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ff_error_set(err, errno == ENOENT ? FF_ENOENT : ff_from_errno(errno),
				    "cannot open '%s': %s", path, strerror(errno));
	int ret = FF_OK;
	for (;;) {
		size_t room = out->max - out->len;
		if (room == 0) {
			char probe;
			ssize_t n = read(fd, &probe, 1);
			if (n > 0)
				ret = ff_error_set(err, FF_E2BIG, "cannot read '%s': file too large", path);
			break;
		}
		ret = ff_buf_grow(out, room < 65536 ? room : 65536);
		if (ret) {
			ff_error_set(err, ret, "cannot read '%s': out of memory", path);
			break;
		}
		ssize_t n = read(fd, out->buf + out->len, out->alloc - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = ff_error_set(err, FF_EIO, "cannot read '%s': %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->buf[out->len] = '\0';
	}
	close(fd);
	return ret;
}

static int fs_rm_at(int parent, const char *name)
{
	if (!unlinkat(parent, name, 0) || errno == ENOENT)
		return FF_OK;
	if (errno != EISDIR && errno != EPERM)
		return ff_from_errno(errno);
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ff_from_errno(errno);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return FF_ENOMEM;
	}
	int ret = FF_OK;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = fs_rm_at(dirfd(d), de->d_name);
		if (r && !ret)
			ret = r;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) && errno != ENOENT && !ret)
		ret = ff_from_errno(errno);
	return ret;
}

int fs_rm_rf(const char *path)
{
	return fs_rm_at(AT_FDCWD, path);
}

static int fs_copy_file(const char *src, const char *dst, struct ff_error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return ff_error_set(err, ff_from_errno(errno), "cannot open '%s'", src);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return ff_error_set(err, ff_from_errno(errno), "cannot create '%s'", dst);
	}
	char buf[65536];
	int ret = FF_OK;
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			ret = ff_error_set(err, FF_EIO, "cannot write '%s'", dst);
			break;
		}
	}
	if (n < 0)
		ret = ff_error_set(err, FF_EIO, "cannot read '%s'", src);
	close(in);
	if (close(out) && !ret)
		ret = ff_error_set(err, FF_EIO, "cannot close '%s'", dst);
	return ret;
}

int fs_copy_tree(const char *src, const char *dst, struct ff_error *err)
{
	struct stat st;
	if (lstat(src, &st))
		return ff_error_set(err, ff_from_errno(errno), "cannot stat '%s'", src);
	if (S_ISREG(st.st_mode))
		return fs_copy_file(src, dst, err);
	if (!S_ISDIR(st.st_mode))
		return FF_OK;
	int ret = fs_mkdirs(dst, 0755, err);
	if (ret)
		return ret;
	DIR *d = opendir(src);
	if (!d)
		return ff_error_set(err, ff_from_errno(errno), "cannot open '%s'", src);
	struct dirent *de;
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *s = ff_asprintf("%s/%s", src, de->d_name);
		char *t = ff_asprintf("%s/%s", dst, de->d_name);
		ret = (s && t) ? fs_copy_tree(s, t, err) : FF_ENOMEM;
		ff_free(s);
		ff_free(t);
	}
	closedir(d);
	return ret;
}

bool fs_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

bool fs_is_dir(const char *path)
{
	struct stat st;
	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

bool fs_name_ok(const char *name, size_t max_len)
{
	if (!name)
		return false;
	size_t n = strnlen(name, max_len + 1);
	if (n == 0 || n > max_len || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == '/' || c == '\\' || c == 0x7f)
			return false;
	}
	return true;
}

char *fs_abspath(const char *path)
{
	char cwd[PATH_MAX];
	struct ff_buf b = FF_BUF_INIT_MAX(PATH_MAX);
	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		ff_buf_addstr(&b, cwd);
	}
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(b.buf, '/');
			if (slash)
				ff_buf_setlen(&b, (size_t)(slash - b.buf));
		} else {
			ff_buf_addch(&b, '/');
			ff_buf_add(&b, p, n);
		}
		p = e;
	}
	if (b.len == 0)
		ff_buf_addch(&b, '/');
	return ff_buf_detach(&b, NULL);
}

char *fs_self_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	char *slash = strrchr(path, '/');
	if (slash)
		*slash = '\0';
	return ff_strdup(path);
}
