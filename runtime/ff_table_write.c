// SPDX-License-Identifier: Apache-2.0
/*
 * ff_table_write.c - the standalone table writer: rows are gathered into a
 * columnar block, blocks are appended to the current partition file, and
 * commit makes the whole table visible at once.
 *
 * DESIGN. Everything is written under <parent>/.<name>.tmp-<pid>-<rand>, a
 * hidden sibling of the destination (same file system, so rename is
 * atomic; hidden, so no name check ever accepts it as a table). Partition
 * files are written one after the other - partition p holds a contiguous
 * row range - so only one file is open and memory is one block (allocated
 * on the first appended row: the CSV importer brings its own). Every
 * WR_KICK_BYTES the kernel is asked to start writeback (sync_file_range),
 * which overlaps disk I/O with parsing and leaves little for the final
 * fsync. A writer told so (ff__writer_direct: the CSV importer's durable
 * tables) hands its bytes to ff_table_dio.c instead, which writes them
 * with O_DIRECT past the page cache.
 * Commit: close the last partitions, write meta.json, fsync files and the
 * directory, then swap the directory into place (renameat2 RENAME_EXCHANGE
 * when a table is already there, so readers see the old or the new table,
 * never none) and fsync the parent. Anything before the swap that fails,
 * and any writer freed before commit, removes the temporary directory.
 */
#include "ff_setup.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "clock.h"
#include "ff_table_dio.h"
#include "ff_table_int.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

/* longest single id or text (one row) */
#define WR_STR_MAX ((size_t)64 << 20)
/* written bytes between two writeback starts (sync_file_range) */
#define WR_KICK_BYTES ((uint64_t)8 << 20)
#define WR_FEATURES_MAX ((size_t)1 << 24)

struct ff_table_writer {
	char *dir;
	char *tmp;
	struct ff_schema schema;
	struct ff__text_layout text;
	bool keep_text;
	bool no_fsync;
	bool committed;
	unsigned flags;
	size_t ncodes;
	unsigned nparts;
	uint64_t expected;
	json_t *extra;
	unsigned char uid[16];
	/* current partition; files below part are finished */
	unsigned part;
	int fd;
	uint64_t off;
	uint64_t part_rows;
	uint32_t part_blocks;
	uint64_t kicked;       /* file offset up to which writeback was started */
	struct ff__dio *dio;   /* direct output (ff__writer_direct), owns fd */
	uint64_t *rows;
	uint64_t *bytes;
	uint64_t count;
	/* rows appended one by one; allocated on the first (the CSV importer
	 * fills its own blocks and never needs this one) */
	struct ff__block blk;
	bool no_i24;           /* keep int32 mantissas (tests: tables of older writers) */
};

/* ------------------------------------------------------------- file output */

/* gathered writes to fd, or copies into dio when set */
struct wr_vec {
	struct iovec iov[64];
	int n;
	int fd;
	const char *path;
	struct ff__dio *dio;
};

static int wr_fail(struct ff_error *err, const char *what, const char *path)
{
	int e = errno;
	return ff_error_set(err, ff_from_errno(e), "cannot %s '%s': %s", what, path, strerror(e));
}

static int wr_vec_flush(struct wr_vec *v, struct ff_error *err)
{
	struct iovec *iov = v->iov;
	int n = v->n;
	while (n > 0) {
		ssize_t w = writev(v->fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return wr_fail(err, "write", v->path);
		}
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	v->n = 0;
	return FF_OK;
}

static int wr_vec_add(struct wr_vec *v, const void *p, size_t len, struct ff_error *err)
{
	if (!len)
		return FF_OK;
	if (v->dio)
		return ff__dio_write(v->dio, p, len, err);
	if (v->n == (int)FF_ARRAY_SIZE(v->iov)) {
		int ret = wr_vec_flush(v, err);
		if (ret)
			return ret;
	}
	v->iov[v->n].iov_base = (void *)p;
	v->iov[v->n].iov_len = len;
	v->n++;
	return FF_OK;
}

static const unsigned char wr_zero[8];

static int wr_vec_pad(struct wr_vec *v, size_t len, struct ff_error *err)
{
	return wr_vec_add(v, wr_zero, ff__align8(len) - len, err);
}

static char *wr_part_path(const struct ff_table_writer *w, unsigned p)
{
	return ff_asprintf("%s/" FF__PART_FMT, w->tmp, p);
}

static int wr_part_open(struct ff_table_writer *w, struct ff_error *err)
{
	if (w->fd >= 0)
		return FF_OK;
	char *path = wr_part_path(w, w->part);
	if (!path)
		return FF_ENOMEM;
	int ret = FF_OK;
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
	w->fd = open(path, flags | (w->dio ? O_DIRECT : 0), 0644);
	if (w->fd < 0 && w->dio && errno == EINVAL) {
		/* no O_DIRECT on this file system: the page cache, as without dio */
		ff__dio_free(w->dio);
		w->dio = NULL;
		w->fd = open(path, flags, 0644);
	}
	if (w->fd < 0) {
		ret = wr_fail(err, "create", path);
		goto out;
	}
	/* partition 0 holds the table's first rows, which the upload's
	 * samples and the output display read right after */
	if (w->dio && (ret = ff__dio_begin(w->dio, w->fd, path, w->part ? 0 : SIZE_MAX))) {
		close(w->fd);
		w->fd = -1;
		goto out;
	}
	unsigned char h[FF__FILE_HDR] = { 0 };
	memcpy(h, ff__file_magic, 8);
	ff__put_le32(h + 8, FF_TABLE_FORMAT_VERSION);
	ff__put_le32(h + 12, w->part);
	ff__put_le32(h + 16, w->nparts);
	ff__put_le32(h + 20, (uint32_t)w->schema.n_features);
	ff__put_le32(h + 24, w->flags);
	ff__put_le32(h + 28, (uint32_t)w->ncodes);
	memcpy(h + 32, w->uid, 16);
	ff__put_le32(h + 60, ff__crc32c(0, h, 60));
	struct wr_vec v = { .fd = w->fd, .path = path, .dio = w->dio };
	if ((ret = wr_vec_add(&v, h, sizeof(h), err)) || (ret = wr_vec_flush(&v, err)))
		goto out;
	w->off = FF__FILE_HDR;
	w->kicked = 0;
	w->part_rows = 0;
	w->part_blocks = 0;
out:
	ff_free(path);
	return ret;
}

/* Writes the footer, syncs and closes the current partition. */
static int wr_part_close(struct ff_table_writer *w, struct ff_error *err)
{
	int ret = wr_part_open(w, err);
	if (ret)
		return ret;
	char *path = wr_part_path(w, w->part);
	if (!path)
		return FF_ENOMEM;
	unsigned char f[FF__FOOTER] = { 0 };
	memcpy(f, ff__foot_magic, 8);
	ff__put_le64(f + 8, w->part_rows);
	ff__put_le32(f + 16, w->part_blocks);
	ff__put_le32(f + 28, ff__crc32c(0, f, 28));
	struct wr_vec v = { .fd = w->fd, .path = path, .dio = w->dio };
	if ((ret = wr_vec_add(&v, f, sizeof(f), err)) || (ret = wr_vec_flush(&v, err)))
		goto out;
	if (w->dio) {
		/* its writes end in the background; then it is cut and closed */
		w->fd = -1;
		if ((ret = ff__dio_finish(w->dio, err)))
			goto out;
	} else {
		/* start writing the rest now; commit waits for it (wr_sync_parts):
		 * an fsync here would stall the importer's pipeline on the disk */
		(void)sync_file_range(w->fd, (off_t)w->kicked, 0, SYNC_FILE_RANGE_WRITE);
		int fd = w->fd;
		w->fd = -1;
		if (close(fd)) {
			ret = wr_fail(err, "close", path);
			goto out;
		}
	}
	w->rows[w->part] = w->part_rows;
	w->bytes[w->part] = w->off + FF__FOOTER;
out:
	ff_free(path);
	return ret;
}

int ff__writer_goto_partition(struct ff_table_writer *w, unsigned p, struct ff_error *err)
{
	if (p >= w->nparts)
		p = w->nparts - 1;
	while (w->part < p) {
		int ret = wr_part_close(w, err);
		if (ret)
			return ret;
		w->part++;
	}
	return FF_OK;
}

int ff_table_writer_next_partition(struct ff_table_writer *w, struct ff_error *err)
{
	int ret = FF_OK;
	if (w->blk.n)
		ret = ff__writer_put_block(w, &w->blk, err);
	if (!ret && w->part + 1 < w->nparts)
		ret = ff__writer_goto_partition(w, w->part + 1, err);
	return ret;
}

/* Column c (file order: label, weight, features) of block b: its slot. */
static unsigned char *wr_slot(const struct ff_table_writer *w, const struct ff__block *b, size_t c)
{
	size_t j = c;
	if (!w->schema.label_name)
		j++;
	if (j >= 1 && !w->schema.weight_name)
		j++;
	return (unsigned char *)(b->vals + j * b->cap); /* feature j - 2 is at 2 + (j - 2) */
}

/*
 * Stores the int32 mantissa column c of block b in 3 bytes a value when
 * they all fit (packed in its slot, enc[c] updated): a quarter fewer value
 * bytes for the disk that bounds durable imports (ff_table_i24.c).
 */
static void wr_narrow(const struct ff_table_writer *w, struct ff__block *b, uint8_t *enc, size_t c)
{
	if (w->no_i24 || enc[c] == FF__ENC_F64)
		return;
	if (ff__pack_i24(wr_slot(w, b, c), b->n))
		enc[c] = (uint8_t)FF__ENC_I24(enc[c] - FF__ENC_I32(0));
}

/*
 * Values layout of block b: its encoding byte per column in file order
 * (label, weight, features) into enc and the section size; FF__VENC_PLAIN
 * (enc unused) when every column is f64. Mantissa columns that fit 24 bits
 * are packed in place (wr_narrow), so this runs once per block.
 */
static unsigned wr_values_layout(const struct ff_table_writer *w, struct ff__block *b,
				 uint8_t *enc, size_t *bytes)
{
	size_t n = b->n, d = w->schema.n_features, nc = 0;
	bool any = false;
	if (w->schema.label_name)
		enc[nc++] = b->enc ? b->enc[0] : FF__ENC_F64;
	if (w->schema.weight_name)
		enc[nc++] = b->enc ? b->enc[1] : FF__ENC_F64;
	for (size_t j = 0; j < d; j++)
		enc[nc++] = b->enc ? b->enc[2 + j] : FF__ENC_F64;
	for (size_t j = 0; j < nc; j++)
		any |= enc[j] != FF__ENC_F64;
	if (!any) {
		*bytes = 8 * n * nc;
		return FF__VENC_PLAIN;
	}
	size_t sz = ff__align8(nc);
	for (size_t j = 0; j < nc; j++) {
		wr_narrow(w, b, enc, j);
		sz += ff__enc_col_bytes(enc[j], n);
	}
	*bytes = sz;
	return FF__VENC_COLUMNS;
}

/*
 * Column c (file order: label, weight, features) of block b: its bytes in
 * the values section and the zero padding after them.
 */
static const void *wr_col(const struct ff_table_writer *w, const struct ff__block *b, size_t c,
			  size_t *len, size_t *pad)
{
	*len = (b->seal.venc == FF__VENC_COLUMNS ? ff__enc_width(b->seal.enc[c]) : 8) * b->n;
	*pad = ff__align8(*len) - *len;
	return wr_slot(w, b, c);
}

/*
 * Whether every row of b rebuilt from codes has the same codes (the rows
 * kept verbatim never use theirs): then one row of them is written. *codes
 * is that row, or all the rows.
 */
static bool wr_codes_shared(const struct ff__block *b, size_t ncodes, const uint8_t **codes)
{
	const uint8_t *first = NULL;
	*codes = b->codes;
	for (size_t i = 0; i < b->n; i++) {
		if (b->kind[i] != FF__TEXT_CODES)
			continue;
		const uint8_t *r = b->codes + i * ncodes;
		if (!first)
			first = r;
		else if (memcmp(first, r, ncodes))
			return false;
	}
	/* no row from codes: any row of codes will do */
	*codes = first ? first : b->codes;
	return true;
}

void ff__writer_seal_block(const struct ff_table_writer *w, struct ff__block *b)
{
	struct ff__seal *sl = &b->seal;
	if (sl->done)
		return;
	size_t n = b->n, d = w->schema.n_features;
	size_t ncol = d + (w->schema.label_name ? 1 : 0) + (w->schema.weight_name ? 1 : 0);
	sl->venc = wr_values_layout(w, b, sl->enc, &sl->values);
	sl->codes = b->codes;
	sl->shared = b->text && wr_codes_shared(b, w->ncodes, &sl->codes);
	/* values: [encodings,] label, weight, features: n doubles or n int32 each */
	size_t ehead = sl->venc == FF__VENC_COLUMNS ? ncol : 0;
	uint32_t crc_v = ff__crc32c(0, sl->enc, ehead), crc_t = 0;
	crc_v = ff__crc32c(crc_v, wr_zero, ff__align8(ehead) - ehead);
	for (size_t c = 0; c < ncol; c++) {
		size_t len, pad;
		const void *col = wr_col(w, b, c, &len, &pad);
		crc_v = ff__crc32c(crc_v, col, len);
		crc_v = ff__crc32c(crc_v, wr_zero, pad);
	}
	if (b->text) {
		size_t soff = 4 * (n + 1), text_bytes = b->txt.len;
		size_t ncb = (sl->shared ? 1 : n) * w->ncodes, kc = n + ncb;
		crc_t = ff__crc32c(crc_t, b->kind, n);
		crc_t = ff__crc32c(crc_t, sl->codes, ncb);
		crc_t = ff__crc32c(crc_t, wr_zero, ff__align8(kc) - kc);
		crc_t = ff__crc32c(crc_t, b->text_off, soff);
		crc_t = ff__crc32c(crc_t, b->txt.buf, text_bytes);
		crc_t = ff__crc32c(crc_t, wr_zero, ff__align8(soff + text_bytes) - soff - text_bytes);
	}
	sl->crc_v = crc_v;
	sl->crc_t = crc_t;
	sl->done = true;
}

/* Serialises block b (see storage-format.md §4) at the end of the current file. */
int ff__writer_put_block(struct ff_table_writer *w, struct ff__block *b, struct ff_error *err)
{
	int ret = wr_part_open(w, err);
	if (ret || !b->n)
		return ret;
	ff__writer_seal_block(w, b);
	const struct ff__seal *sl = &b->seal;
	size_t n = b->n, d = w->schema.n_features;
	size_t sid_bytes = b->sid.len, mid_bytes = b->mid ? b->mids.len : 0;
	size_t text_bytes = b->text ? b->txt.len : 0;
	size_t ncol = d + (w->schema.label_name ? 1 : 0) + (w->schema.weight_name ? 1 : 0);
	size_t ncb = (sl->shared ? 1 : n) * w->ncodes;
	size_t payload = sl->values + ff__ids_size(n, sid_bytes) +
			 (b->mid ? ff__ids_size(n, mid_bytes) : 0) +
			 (b->text ? ff__text_size(n, w->ncodes, sl->shared, text_bytes) : 0);
	char *path = wr_part_path(w, w->part);
	if (!path)
		return FF_ENOMEM;
	struct wr_vec v = { .fd = w->fd, .path = path, .dio = w->dio };
	unsigned char h[FF__BLOCK_HDR] = { 0 };
	size_t ehead = sl->venc == FF__VENC_COLUMNS ? ncol : 0;
	/* the ids: numbered sample ids are only final now (extend_sid) */
	size_t soff = 4 * (n + 1);
	uint32_t crc_i = ff__crc32c(0, b->sid_off, soff);
	crc_i = ff__crc32c(crc_i, b->sid.buf, sid_bytes);
	crc_i = ff__crc32c(crc_i, wr_zero, ff__align8(soff + sid_bytes) - soff - sid_bytes);
	if (b->mid) {
		crc_i = ff__crc32c(crc_i, b->mid_off, soff);
		crc_i = ff__crc32c(crc_i, b->mids.buf, mid_bytes);
		crc_i = ff__crc32c(crc_i, wr_zero, ff__align8(soff + mid_bytes) - soff - mid_bytes);
	}
	size_t kc = n + ncb;
	ff__put_le32(h, FF__BLOCK_MAGIC);
	ff__put_le32(h + 4, (uint32_t)n);
	ff__put_le64(h + 8, w->count);
	ff__put_le64(h + 16, payload);
	ff__put_le32(h + 24, (uint32_t)sid_bytes);
	ff__put_le32(h + 28, (uint32_t)mid_bytes);
	ff__put_le32(h + 32, (uint32_t)text_bytes);
	ff__put_le32(h + 36, sl->crc_v);
	ff__put_le32(h + 40, crc_i);
	ff__put_le32(h + 44, sl->crc_t);
	ff__put_le32(h + 48, sl->venc);
	ff__put_le32(h + 52, sl->shared ? FF__CODES_SHARED : FF__CODES_PER_ROW);
	ff__put_le32(h + 60, ff__crc32c(0, h, 60));
	if ((ret = wr_vec_add(&v, h, sizeof(h), err)) ||
	    (ret = wr_vec_add(&v, sl->enc, ehead, err)) || (ret = wr_vec_pad(&v, ehead, err)))
		goto out;
	for (size_t c = 0; c < ncol; c++) {
		size_t len, pad;
		const void *col = wr_col(w, b, c, &len, &pad);
		if ((ret = wr_vec_add(&v, col, len, err)) || (ret = wr_vec_add(&v, wr_zero, pad, err)))
			goto out;
	}
	if ((ret = wr_vec_add(&v, b->sid_off, soff, err)) ||
	    (ret = wr_vec_add(&v, b->sid.buf, sid_bytes, err)) ||
	    (ret = wr_vec_pad(&v, soff + sid_bytes, err)))
		goto out;
	if (b->mid && ((ret = wr_vec_add(&v, b->mid_off, soff, err)) ||
		       (ret = wr_vec_add(&v, b->mids.buf, mid_bytes, err)) ||
		       (ret = wr_vec_pad(&v, soff + mid_bytes, err))))
		goto out;
	if (b->text && ((ret = wr_vec_add(&v, b->kind, n, err)) ||
			(ret = wr_vec_add(&v, sl->codes, ncb, err)) ||
			(ret = wr_vec_pad(&v, kc, err)) ||
			(ret = wr_vec_add(&v, b->text_off, soff, err)) ||
			(ret = wr_vec_add(&v, b->txt.buf, text_bytes, err)) ||
			(ret = wr_vec_pad(&v, soff + text_bytes, err))))
		goto out;
	if ((ret = wr_vec_flush(&v, err)))
		goto out;
	w->off += FF__BLOCK_HDR + payload;
	w->part_rows += n;
	w->part_blocks++;
	w->count += n;
	/* start writeback now: commit's fsync finds little left, and a large
	 * import is not throttled for dirty pages (measured: also without
	 * fsync); in steps of WR_KICK_BYTES, not one small I/O per small block */
	if (!w->dio && w->off - w->kicked >= WR_KICK_BYTES) {
		(void)sync_file_range(w->fd, (off_t)w->kicked, (off_t)(w->off - w->kicked),
				      SYNC_FILE_RANGE_WRITE);
		w->kicked = w->off;
	}
	ff__block_reset(b);
out:
	ff_free(path);
	return ret;
}

/* -------------------------------------------------------------- life cycle */

/* Removes temporary directories of this table left by writers that died. */
static void wr_clean_stale(const char *parent, const char *name)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	size_t nl = strlen(name);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		if (s[0] != '.' || strncmp(s + 1, name, nl) || s[1 + nl] != '.')
			continue;
		s += 2 + nl;
		if (strncmp(s, "tmp-", 4) && strncmp(s, "del-", 4))
			continue;
		char *end;
		long pid = strtol(s + 4, &end, 10);
		if (end == s + 4 || *end != '-' || pid <= 0 || pid > INT32_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char *p = ff_asprintf("%s/%s", parent, de->d_name);
		if (p)
			fs_rm_rf(p);
		ff_free(p);
	}
	closedir(d);
}

/* Splits dir into its parent and last component (owned copies). */
static int wr_split(const char *dir, char **parent, char **name)
{
	char *c = ff_strdup(dir);
	if (!c)
		return FF_ENOMEM;
	size_t len = strlen(c);
	while (len > 1 && c[len - 1] == '/')
		c[--len] = '\0';
	char *slash = strrchr(c, '/');
	if (slash) {
		*name = ff_strdup(slash + 1);
		*parent = slash == c ? ff_strdup("/") : ff_strndup(c, (size_t)(slash - c));
	} else {
		*name = ff_strdup(c);
		*parent = ff_strdup(".");
	}
	ff_free(c);
	if (!*name || !*parent) {
		FF_FREE_AND_NULL(*name);
		FF_FREE_AND_NULL(*parent);
		return FF_ENOMEM;
	}
	return FF_OK;
}

static unsigned wr_hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

static size_t wr_block_cap(size_t d)
{
	size_t cap = FF__BLOCK_VALUE_BYTES / (8 * (d + 2));
	if (cap < 16)
		cap = 16;
	if (cap > FF__BLOCK_ROWS_MAX)
		cap = FF__BLOCK_ROWS_MAX;
	return cap;
}

int ff_table_writer_create(struct ff_table_writer **out, const char *dir,
			   const struct ff_schema *schema, const struct ff_table_writer_opts *opts,
			   struct ff_error *err)
{
	struct ff_table_writer *w = NULL;
	char *parent = NULL, *name = NULL;
	int ret = FF_OK;
	*out = NULL;
	if (!dir || !*dir)
		return ff_error_set(err, FF_EINVAL, "empty table directory");
	if (!opts || opts->partitions < 1 || opts->partitions > FF_TABLE_PARTITIONS_MAX)
		return ff_error_set(err, FF_EINVAL, "partitions must be 1..%d",
				    FF_TABLE_PARTITIONS_MAX);
	if (opts->delimiter == '\n' || opts->delimiter == '\r' || opts->delimiter == '\0')
		return ff_error_set(err, FF_EINVAL, "invalid delimiter");
	if (opts->keep_text && opts->header && (strchr(opts->header, '\n') ||
						 !ff__utf8_ok(opts->header)))
		return ff_error_set(err, FF_EINVAL, "header is not one line of UTF-8 text");
	if ((ret = ff_schema_validate(schema, err)))
		return ret;
	if (schema->n_features > WR_FEATURES_MAX)
		return ff_error_set(err, FF_EINVAL, "too many features (%zu)", schema->n_features);
	if (!(w = ff_calloc(1, sizeof(*w))))
		return FF_ENOMEM;
	w->fd = -1;
	w->nparts = opts->partitions;
	w->expected = opts->expected_rows;
	w->keep_text = opts->keep_text;
	w->no_fsync = opts->no_fsync;
	w->text.delimiter = opts->delimiter;
	w->text.final_newline = true;
	char hex[33];
	clock_uuid_hex(hex);
	for (int i = 0; i < 16; i++)
		w->uid[i] = (unsigned char)(wr_hexval(hex[2 * i]) << 4 | wr_hexval(hex[2 * i + 1]));
	if ((ret = ff_schema_copy(&w->schema, schema)))
		goto out;
	if (opts->keep_text && opts->header && !(w->text.header = ff_strdup(opts->header))) {
		ret = FF_ENOMEM;
		goto out;
	}
	if (opts->extra && !(w->extra = json_deep_copy(opts->extra))) {
		ret = FF_ENOMEM;
		goto out;
	}
	w->flags = (schema->label_name ? FF__F_LABEL : 0) | (schema->weight_name ? FF__F_WEIGHT : 0) |
		   (ff_schema_single_id(schema) ? 0 : FF__F_MID) | (opts->keep_text ? FF__F_TEXT : 0);
	if (!FF_ALLOC_ARRAY(w->rows, w->nparts) || !FF_ALLOC_ARRAY(w->bytes, w->nparts) ||
	    !(w->dir = ff_strdup(dir))) {
		ret = FF_ENOMEM;
		goto out;
	}
	if ((ret = wr_split(dir, &parent, &name)))
		goto out;
	if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "/")) {
		ret = ff_error_set(err, FF_EINVAL, "invalid table directory '%s'", dir);
		goto out;
	}
	if ((ret = fs_mkdirs(parent, 0755, err)))
		goto out;
	wr_clean_stale(parent, name);
	if (!(w->tmp = ff_asprintf("%s/.%s.tmp-%d-%.8s", parent, name, (int)getpid(), hex + 16))) {
		ret = FF_ENOMEM;
		goto out;
	}
	if (mkdir(w->tmp, 0755)) {
		ret = wr_fail(err, "create directory", w->tmp);
		FF_FREE_AND_NULL(w->tmp);
		goto out;
	}
out:
	ff_free(parent);
	ff_free(name);
	if (ret)
		ff_table_writer_free(w);
	else
		*out = w;
	return ret;
}

int ff__writer_set_text(struct ff_table_writer *w, const struct ff__text_layout *t,
			struct ff_error *err)
{
	if (!w->keep_text || w->count || w->blk.n)
		return ff_error_set(err, FF_EINVAL, "text layout set on a writer without text");
	struct ff__text_layout copy;
	int ret = ff__layout_copy(&copy, t);
	if (ret)
		return ret;
	ff__layout_release(&w->text);
	w->text = copy;
	w->ncodes = t->nlayout ? t->nlayout - 1 : 0;
	ff__block_release(&w->blk); /* empty; made again with the new code count */
	return FF_OK;
}

void ff__writer_final_newline(struct ff_table_writer *w, bool yes)
{
	w->text.final_newline = yes;
}

int ff_table_writer_create_like(struct ff_table_writer **out, const char *dir,
				const struct ff_table *src, const struct ff_table_writer_opts *opts,
				struct ff_error *err)
{
	struct ff_table_writer_opts o = *opts;
	o.keep_text = ff_table_has_text(src);
	o.header = src->text.header;
	o.delimiter = src->text.delimiter ? src->text.delimiter : ',';
	int ret = ff_table_writer_create(out, dir, &src->schema, &o, err);
	if (!ret && o.keep_text) {
		ret = ff__writer_set_text(*out, &src->text, err);
		if (ret) {
			ff_table_writer_free(*out);
			*out = NULL;
		}
	}
	return ret;
}

int ff__writer_direct(struct ff_table_writer *w, struct ff_error *err)
{
	if (w->dio || w->fd >= 0)
		return FF_OK; /* a file is open already: it stays buffered */
	return ff__dio_create(&w->dio, err);
}

void ff__writer_no_i24(struct ff_table_writer *w)
{
	w->no_i24 = true;
}

uint64_t ff__writer_rows(const struct ff_table_writer *w)
{
	return w->count + w->blk.n;
}

uint64_t ff_table_writer_count(const struct ff_table_writer *w)
{
	return ff__writer_rows(w);
}

/* Moves to the partition row `count` belongs to when the row count is known. */
static int wr_auto_partition(struct ff_table_writer *w, struct ff_error *err)
{
	if (!w->expected || w->part + 1 >= w->nparts)
		return FF_OK;
	uint64_t per = w->expected / w->nparts, rem = w->expected % w->nparts;
	uint64_t next = (uint64_t)(w->part + 1) * per + (w->part + 1 < rem ? w->part + 1 : rem);
	if (ff__writer_rows(w) < next)
		return FF_OK;
	return ff_table_writer_next_partition(w, err);
}

/* Room for one more row with str_bytes of strings; flushes a full block. */
static int wr_make_room(struct ff_table_writer *w, size_t str_bytes, struct ff_error *err)
{
	int ret = wr_auto_partition(w, err);
	if (ret)
		return ret;
	struct ff__block *b = &w->blk;
	if (!b->cap)
		return ff__block_init(b, w->schema.n_features, w->ncodes, w->keep_text,
				      w->flags & FF__F_MID, wr_block_cap(w->schema.n_features));
	if (b->n && (b->n == b->cap ||
		     b->sid.len + b->mids.len + b->txt.len + str_bytes > FF__BLOCK_STR_BYTES))
		ret = ff__writer_put_block(w, b, err);
	return ret;
}

static int wr_put_row(struct ff_table_writer *w, const char *sid, size_t sid_len, const char *mid,
		      size_t mid_len, struct ff_error *err)
{
	struct ff__block *b = &w->blk;
	if (!sid_len || sid_len > WR_STR_MAX)
		return ff_error_set(err, FF_EINVAL, "sample id of row %llu is empty or too long",
				    (unsigned long long)ff__writer_rows(w));
	if (b->mid && (!mid_len || mid_len > WR_STR_MAX))
		return ff_error_set(err, FF_EINVAL, "match id of row %llu is empty or too long",
				    (unsigned long long)ff__writer_rows(w));
	int ret = ff__block_put_str(&b->sid, b->sid_off, b->n, sid, sid_len);
	if (!ret && b->mid)
		ret = ff__block_put_str(&b->mids, b->mid_off, b->n, mid, mid_len);
	return ret;
}

int ff_table_writer_append(struct ff_table_writer *w, const struct ff_row_in *r,
			   struct ff_error *err)
{
	if (w->committed)
		return ff_error_set(err, FF_EINVAL, "append to a committed table");
	if (w->keep_text && (!r->text || r->text_len > WR_STR_MAX ||
			     memchr(r->text, '\n', r->text_len)))
		return ff_error_set(err, FF_EINVAL, "row %llu needs one line of text",
				    (unsigned long long)ff__writer_rows(w));
	bool mid = w->flags & FF__F_MID;
	size_t strs = r->sid_len + (mid ? r->mid_len : 0) + (w->keep_text ? r->text_len : 0);
	int ret = wr_make_room(w, strs, err);
	if (ret)
		return ret;
	struct ff__block *b = &w->blk;
	size_t i = b->n;
	if ((ret = wr_put_row(w, r->sid, r->sid_len, r->mid, r->mid_len, err)))
		return ret;
	if (w->keep_text) {
		b->kind[i] = FF__TEXT_RAW;
		memset(b->codes + i * w->ncodes, 0, w->ncodes);
		if ((ret = ff__block_put_str(&b->txt, b->text_off, i, r->text, r->text_len)))
			return ret;
	}
	b->vals[i] = w->schema.label_name ? r->label : 0;
	b->vals[b->cap + i] = w->schema.weight_name ? r->weight : 0;
	for (size_t j = 0; j < b->d; j++)
		ff__block_col(b, j)[i] = r->x[j];
	b->n++;
	return FF_OK;
}

int ff_table_writer_append_row(struct ff_table_writer *w, const struct ff_batch *src, size_t i,
			       struct ff_error *err)
{
	const struct ff_table *t = src->t_;
	const struct ff__blk *sb = src->blk_;
	if (w->committed)
		return ff_error_set(err, FF_EINVAL, "append to a committed table");
	if (i >= src->n || !(src->need_ & FF_NEED_VALUES) || !(src->need_ & FF_NEED_IDS))
		return ff_error_set(err, FF_EINVAL, "row %zu of the batch is not readable", i);
	if (!ff_schema_equal(&t->schema, &w->schema))
		return ff_error_set(err, FF_EINVAL, "copying a row between different schemas");
	size_t sl, ml = 0;
	const char *sid = ff_batch_sid(src, i, &sl);
	const char *mid = (w->flags & FF__F_MID) ? ff_batch_mid(src, i, &ml) : NULL;
	bool same_text = w->keep_text && ff_table_has_text(t) && (src->need_ & FF_NEED_TEXT) &&
			 t->text.nlayout == w->text.nlayout &&
			 (!t->text.nlayout ||
			  !memcmp(t->text.layout, w->text.layout, t->text.nlayout * sizeof(int)));
	struct ff_buf tb = FF_BUF_INIT_MAX(WR_STR_MAX);
	const char *text = NULL;
	size_t tl = 0;
	int ret = FF_OK;
	if (same_text && sb->kind[i] == FF__TEXT_RAW) {
		text = sb->text + sb->text_off[i];
		tl = sb->text_off[i + 1] - sb->text_off[i];
	} else if (w->keep_text && !same_text) {
		/* different text layout: keep the row's text verbatim */
		if ((ret = ff_batch_text(src, i, 0, &tb)))
			goto out;
		text = tb.buf;
		tl = tb.len;
	}
	if ((ret = wr_make_room(w, sl + ml + tl, err)))
		goto out;
	struct ff__block *b = &w->blk;
	size_t k = b->n;
	if ((ret = wr_put_row(w, sid, sl, mid, ml, err)))
		goto out;
	if (w->keep_text) {
		bool codes = same_text && sb->kind[i] == FF__TEXT_CODES;
		b->kind[k] = codes ? FF__TEXT_CODES : FF__TEXT_RAW;
		if (codes)
			memcpy(b->codes + k * w->ncodes, ff__blk_codes(sb, w->ncodes, i), w->ncodes);
		else
			memset(b->codes + k * w->ncodes, 0, w->ncodes);
		if ((ret = ff__block_put_str(&b->txt, b->text_off, k, text ? text : "", tl)))
			goto out;
	}
	b->vals[k] = src->label ? src->label[i] : 0;
	b->vals[b->cap + k] = src->weight ? src->weight[i] : 0;
	for (size_t j = 0; j < b->d; j++)
		ff__block_col(b, j)[k] = src->x[j * src->n + i];
	b->n++;
out:
	ff_buf_release(&tb);
	return ret;
}

/* ------------------------------------------------------------------ commit */

static int wr_fsync_path(const char *path, struct ff_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return wr_fail(err, "open", path);
	int ret = FF_OK;
	if (fsync(fd))
		ret = wr_fail(err, "sync", path);
	close(fd);
	return ret;
}

/* Waits until every partition file is on disk (fsync, in file order). */
static int wr_sync_parts(const struct ff_table_writer *w, struct ff_error *err)
{
	int ret = FF_OK;
	for (unsigned p = 0; !ret && p < w->nparts; p++) {
		char *path = wr_part_path(w, p);
		if (!path)
			return FF_ENOMEM;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			ret = wr_fail(err, "open", path);
		else if (fsync(fd))
			ret = wr_fail(err, "sync", path);
		if (fd >= 0)
			close(fd);
		ff_free(path);
	}
	return ret;
}

static json_t *wr_meta(const struct ff_table_writer *w)
{
	char uid[33];
	for (int i = 0; i < 16; i++)
		snprintf(uid + 2 * i, 3, "%02x", w->uid[i]);
	json_t *rows = json_array(), *bytes = json_array();
	json_t *m = json_pack("{s:s, s:s, s:i, s:s, s:I, s:i, s:o, s:o, s:o, s:o, s:I}",
			      "engine", FF_TABLE_ENGINE, "format", FF__FORMAT_NAME,
			      "format_version", FF_TABLE_FORMAT_VERSION, "table_uid", uid,
			      "count", (json_int_t)w->count, "partitions", (int)w->nparts,
			      "partition_rows", rows, "partition_bytes", bytes, "schema",
			      ff_schema_to_json(&w->schema), "text",
			      w->keep_text ? ff__layout_to_json(&w->text) : json_null(),
			      "create_time", (json_int_t)clock_now_ms());
	if (!m)
		return NULL;
	for (unsigned p = 0; p < w->nparts; p++)
		if (json_array_append_new(rows, json_integer((json_int_t)w->rows[p])) ||
		    json_array_append_new(bytes, json_integer((json_int_t)w->bytes[p]))) {
			json_decref(m);
			return NULL;
		}
	if (w->extra && json_object_set(m, "extra", w->extra)) {
		json_decref(m);
		return NULL;
	}
	return m;
}

static int wr_write_meta(struct ff_table_writer *w, struct ff_error *err)
{
	json_t *m = wr_meta(w);
	char *text = m ? json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	char *path = ff_asprintf("%s/%s", w->tmp, FF__META_FILE);
	int ret = FF_OK, fd = -1;
	if (!text || !path) {
		ret = FF_ENOMEM;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = wr_fail(err, "create", path);
		goto out;
	}
	struct wr_vec v = { .fd = fd, .path = path };
	if ((ret = wr_vec_add(&v, text, strlen(text), err)) ||
	    (ret = wr_vec_add(&v, "\n", 1, err)) || (ret = wr_vec_flush(&v, err)))
		goto out;
	if (!w->no_fsync && fsync(fd))
		ret = wr_fail(err, "sync", path);
out:
	if (fd >= 0 && close(fd) && !ret)
		ret = wr_fail(err, "close", path);
	free(text);
	ff_free(path);
	json_decref(m);
	return ret;
}

/* Puts tmp at dir; an existing table is swapped out and deleted. */
static int wr_swap_in(struct ff_table_writer *w, struct ff_error *err)
{
	if (!rename(w->tmp, w->dir))
		return FF_OK;
	if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOTDIR && errno != EISDIR)
		return wr_fail(err, "rename table into", w->dir);
	if (!ff_table_exists(w->dir))
		return ff_error_set(err, FF_EEXIST, "'%s' exists and is not a table", w->dir);
	if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->dir, RENAME_EXCHANGE) == 0)
		return FF_OK; /* w->tmp now holds the old table */
	if (errno != EINVAL && errno != ENOSYS)
		return wr_fail(err, "replace table", w->dir);
	/* No exchange on this file system: a short window without a table. */
	char *old = ff_asprintf("%s.old", w->tmp);
	if (!old)
		return FF_ENOMEM;
	int ret = FF_OK;
	if (rename(w->dir, old)) {
		ret = wr_fail(err, "move old table", w->dir);
	} else if (rename(w->tmp, w->dir)) {
		ret = wr_fail(err, "rename table into", w->dir);
		(void)rename(old, w->dir);
	} else {
		fs_rm_rf(old);
	}
	ff_free(old);
	return ret;
}

int ff_table_writer_commit(struct ff_table_writer *w, struct ff_error *err)
{
	int ret = FF_OK;
	if (w->committed || !w->tmp)
		return ff_error_set(err, FF_EINVAL, "table '%s' already committed", w->dir);
	if (w->blk.n && (ret = ff__writer_put_block(w, &w->blk, err)))
		return ret;
	while (!ret) {
		ret = wr_part_close(w, err);
		if (ret || w->part + 1 >= w->nparts)
			break;
		w->part++;
	}
	if (!ret && w->dio)
		ret = ff__dio_drain(w->dio, err);
	if (ret || (!w->no_fsync && (ret = wr_sync_parts(w, err))) ||
	    (ret = wr_write_meta(w, err)))
		return ret;
	if (!w->no_fsync && (ret = wr_fsync_path(w->tmp, err)))
		return ret;
	if ((ret = wr_swap_in(w, err)))
		return ret;
	w->committed = true;
	/* after an exchange tmp holds the old table; else it is gone already */
	fs_rm_rf(w->tmp);
	FF_FREE_AND_NULL(w->tmp);
	char *parent = NULL, *name = NULL;
	if (!w->no_fsync && !wr_split(w->dir, &parent, &name))
		ret = wr_fsync_path(parent, err);
	ff_free(parent);
	ff_free(name);
	return ret;
}

void ff_table_writer_free(struct ff_table_writer *w)
{
	if (!w)
		return;
	if (w->dio)
		ff__dio_free(w->dio); /* closes the file it owns */
	else if (w->fd >= 0)
		close(w->fd);
	/* not committed: discard the partial table */
	if (w->tmp)
		fs_rm_rf(w->tmp);
	ff_free(w->tmp);
	ff_free(w->dir);
	ff_free(w->rows);
	ff_free(w->bytes);
	json_decref(w->extra);
	ff_schema_release(&w->schema);
	ff__layout_release(&w->text);
	ff__block_release(&w->blk);
	ff_free(w);
}
