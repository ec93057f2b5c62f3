// SPDX-License-Identifier: Apache-2.0
/* download.c - download archives and previews of standalone tables (see download.h). */
#include "ff_setup.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive.h"
#include "download.h"
#include "fedflow/table.h"
#include "jsonx.h"
#include "mem.h"

/* An unlinked scratch file: O_TMPFILE where the file system has it. */
static int download_tmpfile(const char *temp_dir, struct ff_error *err)
{
	int fd = open(temp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char *path = ff_asprintf("%s/download-XXXXXX", temp_dir);
	if (!path)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	else
		fd = ff_error_set(err, ff_from_errno(errno), "cannot create a file in '%s': %s",
				  temp_dir, strerror(errno));
	ff_free(path);
	return fd;
}

static int download_count_sink(void *ctx, const char *data, size_t n)
{
	(void)data;
	*(uint64_t *)ctx += n;
	return FF_OK;
}

struct download_sink {
	struct archive_out *w;
	struct ff_error *err;
};

static int download_archive_sink(void *ctx, const char *data, size_t n)
{
	struct download_sink *s = ctx;
	return archive_out_write(s->w, data, n, s->err);
}

static int download_item_add(struct archive_out *w, const struct download_item *it,
			     struct ff_error *err)
{
	struct ff_table *t = NULL;
	uint64_t size = 0;
	char *meta_text = NULL;
	json_t *meta = NULL;
	int ret = ff_table_open(&t, it->table_dir, 0, err);
	if (!ret)
		ret = ff_csv_export(t, UINT64_MAX, it->flags, download_count_sink, &size, err);
	if (!ret)
		ret = archive_out_begin(w, it->csv_name, size, err);
	if (!ret) {
		struct download_sink s = { .w = w, .err = err };
		ret = ff_csv_export(t, UINT64_MAX, it->flags, download_archive_sink, &s, err);
	}
	if (!ret) {
		meta = json_pack("{s:o}", "header", ff_csv_header_json(t, it->flags));
		meta_text = meta ? jsonx_dumps(meta) : NULL;
		ret = meta_text ? archive_out_add_bytes(w, it->meta_name, meta_text, strlen(meta_text),
							err)
				: ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	ff_free(meta_text);
	json_decref(meta);
	ff_table_free(t);
	return ret;
}

int download_tgz(const struct download_item *items, size_t n, const char *temp_dir, int *fd,
		 uint64_t *size, struct ff_error *err)
{
	struct archive_out *w = NULL;
	int f = download_tmpfile(temp_dir, err);
	if (f < 0)
		return f;
	int ret = archive_out_open_fd(&w, f, ARCHIVE_KIND_TGZ, err);
	for (size_t i = 0; !ret && i < n; i++)
		ret = download_item_add(w, &items[i], err);
	if (!ret)
		ret = archive_out_close(w, err);
	archive_out_free(w);
	struct stat st;
	if (!ret && (fstat(f, &st) || lseek(f, 0, SEEK_SET) < 0))
		ret = ff_error_set(err, ff_from_errno(errno), "cannot read the archive back: %s",
				   strerror(errno));
	if (ret) {
		close(f);
		return ret;
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return FF_OK;
}

static json_t *download_split(const char *line, size_t n, char delim)
{
	json_t *row = json_array();
	if (n && line[n - 1] == '\r')
		n--;
	for (size_t i = 0; row;) {
		const char *e = memchr(line + i, delim, n - i);
		size_t m = e ? (size_t)(e - (line + i)) : n - i;
		if (json_array_append_new(row, json_stringn(line + i, m))) {
			json_decref(row);
			return NULL;
		}
		if (!e)
			break;
		i += m + 1;
	}
	return row;
}

/*
 * Same rows as libfedflow's ff_data_samples (what components report), kept
 * here so that fedflowd depends on the table engine only.
 */
int download_preview(const char *dir, size_t max_rows, json_t **rows, struct ff_error *err)
{
	struct ff_table *t = NULL;
	struct ff_buf b = FF_BUF_INIT_MAX((size_t)256 << 20);
	json_t *out = json_array();
	/* a preview reads the first rows: one partition's blocks checked */
	int ret = out ? ff_table_open(&t, dir, FF_TABLE_LAZY, err) : FF_ENOMEM;
	if (!ret)
		ret = ff_csv_display(t, max_rows, FF_CSV_NO_HEADER, &b, err);
	if (!ret) {
		const char *d = jsonx_str(jsonx_path(ff_table_meta(t), "text"), "delimiter");
		char delim = d && d[0] ? d[0] : ',';
		for (const char *p = b.buf, *end = b.buf + b.len; !ret && p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			json_t *row = download_split(p, len, delim);
			ret = row && !json_array_append_new(out, row) ? FF_OK : FF_ENOMEM;
			p += len + 1;
		}
	}
	ff_buf_release(&b);
	ff_table_free(t);
	if (ret) {
		json_decref(out);
		return ret;
	}
	*rows = out;
	return FF_OK;
}
