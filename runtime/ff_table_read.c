// SPDX-License-Identifier: Apache-2.0
/*
 * ff_table_read.c - the standalone table reader: open (meta.json, mapped
 * partition files, structural checks), batch and row iteration, dense
 * loading and single-column reads.
 *
 * Every partition file is mapped read-only at open and every block header
 * is checked then (magic, header CRC, row numbering, section sizes against
 * the file size; with FF_TABLE_LAZY when a read first reaches the
 * block, rd_walk_to), so no access can leave the mapping whatever the
 * file holds. A block's payload checksums, and its string offsets, are
 * checked on first access for the parts the caller needs (values, ids,
 * text); the result is remembered in an atomic bit set so that concurrent
 * readers may race on it harmlessly. Committed tables are never modified in
 * place (replacement is a directory rename), so the mappings stay valid.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ff_table_int.h"
#include "jsonx.h"
#include "mem.h"

/* ------------------------------------------------------------------- open */

FF_PRINTF(4, 5)
static int rd_bad(struct ff_error *err, const struct ff_table *t, unsigned p, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ff_error_set(err, FF_EDATA, "corrupted table '%s': partition file '" FF__PART_FMT
			    "' %s", t->dir, p, what);
}

static bool rd_uint(const json_t *m, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(m, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* Checks the meta fields and fills t's schema, counts and text layout. */
static int rd_meta(struct ff_table *t, struct ff_error *err)
{
	const json_t *m = t->meta;
	const char *fmt = jsonx_str(m, "format");
	uint64_t ver, parts, count;
	if (!json_is_object(m) || !fmt || strcmp(fmt, FF__FORMAT_NAME))
		return ff_error_set(err, FF_EDATA, "'%s' is not a fedflow table (bad meta format)",
				    t->dir);
	if (!rd_uint(m, "format_version", UINT32_MAX, &ver) || ver < FF__FORMAT_VERSION_MIN ||
	    ver > FF_TABLE_FORMAT_VERSION)
		return ff_error_set(err, FF_EDATA, "table '%s' has an unsupported format version",
				    t->dir);
	t->version = (unsigned)ver;
	if (!rd_uint(m, "partitions", FF_TABLE_PARTITIONS_MAX, &parts) || !parts ||
	    !rd_uint(m, "count", INT64_MAX, &count))
		return ff_error_set(err, FF_EDATA, "corrupted table meta of '%s': partitions/count",
				    t->dir);
	const json_t *rows = json_object_get(m, "partition_rows");
	const json_t *bytes = json_object_get(m, "partition_bytes");
	const char *uid = jsonx_str(m, "table_uid");
	if (json_array_size(rows) != parts || json_array_size(bytes) != parts || !uid ||
	    strlen(uid) != 32)
		return ff_error_set(err, FF_EDATA, "corrupted table meta of '%s': partition lists",
				    t->dir);
	int ret = ff_schema_from_json(&t->schema, json_object_get(m, "schema"), err);
	if (ret) {
		ff_error_prefix(err, "corrupted table meta of '%s'", t->dir);
		return err ? (err->code = FF_EDATA) : FF_EDATA;
	}
	const json_t *text = json_object_get(m, "text");
	if (text && !json_is_null(text)) {
		if ((ret = ff__layout_from_json(&t->text, text, &t->schema, err))) {
			ff_error_prefix(err, "table '%s'", t->dir);
			return ret;
		}
		t->flags |= FF__F_TEXT;
		t->ncodes = t->text.nlayout ? t->text.nlayout - 1 : 0;
	}
	t->flags |= (t->schema.label_name ? FF__F_LABEL : 0) |
		    (t->schema.weight_name ? FF__F_WEIGHT : 0) |
		    (ff_schema_single_id(&t->schema) ? 0 : FF__F_MID);
	t->nparts = (unsigned)parts;
	t->count = count;
	if (!FF_ALLOC_ARRAY(t->parts, parts))
		return FF_ENOMEM;
	uint64_t sum = 0;
	for (unsigned p = 0; p < parts; p++) {
		const json_t *r = json_array_get(rows, p);
		if (!json_is_integer(r) || json_integer_value(r) < 0 ||
		    !json_is_integer(json_array_get(bytes, p)))
			return ff_error_set(err, FF_EDATA, "corrupted table meta of '%s': rows", t->dir);
		t->parts[p].rows = (uint64_t)json_integer_value(r);
		t->parts[p].row0 = sum;
		sum += t->parts[p].rows;
	}
	if (sum != count)
		return ff_error_set(err, FF_EDATA, "corrupted table meta of '%s': count %llu != %llu",
				    t->dir, (unsigned long long)count, (unsigned long long)sum);
	return FF_OK;
}

static void rd_uid(const char *hex, unsigned char out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + k];
			v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
		}
		out[i] = (unsigned char)v;
	}
}

static size_t rd_ncol(const struct ff_table *t)
{
	return t->schema.n_features + !!(t->flags & FF__F_LABEL) + !!(t->flags & FF__F_WEIGHT);
}

/*
 * Values section size of a block of n rows: plain (enc NULL), or with the
 * column encodings enc (ncol bytes, each checked); 0 for a bad encoding.
 */
static uint64_t rd_values_size(const struct ff_table *t, uint64_t n, const uint8_t *enc)
{
	uint64_t ncol = rd_ncol(t);
	if (!enc)
		return 8 * n * ncol;
	uint64_t sz = ff__align8((size_t)ncol);
	for (uint64_t c = 0; c < ncol; c++) {
		if (enc[c] > FF__ENC_MAX)
			return 0;
		sz += ff__enc_col_bytes(enc[c], (size_t)n);
	}
	return sz;
}

/* Sets the section pointers of block b from its header at h. */
static void rd_sections(const struct ff_table *t, struct ff__blk *b, const unsigned char *h)
{
	size_t n = b->n, off = FF__BLOCK_HDR;
	const unsigned char *base = h;
	b->sec[0] = base + off;
	b->sec_len[0] = (size_t)rd_values_size(t, n, b->enc);
	if (b->enc) {
		/* encoded: the iterator decodes the columns (rd_decode) */
		b->cols = base + off + ff__align8(rd_ncol(t));
		off += b->sec_len[0];
	} else {
		if (t->flags & FF__F_LABEL) {
			b->label = (const double *)(const void *)(base + off);
			off += 8 * n;
		}
		if (t->flags & FF__F_WEIGHT) {
			b->weight = (const double *)(const void *)(base + off);
			off += 8 * n;
		}
		b->x = (const double *)(const void *)(base + off);
		off += 8 * n * t->schema.n_features;
	}
	b->sec[1] = base + off;
	b->sid_off = (const uint32_t *)(const void *)(base + off);
	b->sid = (const char *)(base + off + 4 * (n + 1));
	off += ff__ids_size(n, b->sid_bytes);
	if (t->flags & FF__F_MID) {
		b->mid_off = (const uint32_t *)(const void *)(base + off);
		b->mid = (const char *)(base + off + 4 * (n + 1));
		off += ff__ids_size(n, b->mid_bytes);
	}
	b->sec_len[1] = (size_t)(base + off - b->sec[1]);
	b->sec[2] = base + off;
	if (t->flags & FF__F_TEXT) {
		b->kind = base + off;
		b->codes = base + off + n;
		off += ff__align8(n + (b->codes_shared ? 1 : n) * t->ncodes);
		b->text_off = (const uint32_t *)(const void *)(base + off);
		b->text = (const char *)(base + off + 4 * (n + 1));
		off += ff__align8(4 * (n + 1) + b->text_bytes);
	}
	b->sec_len[2] = (size_t)(base + off - b->sec[2]);
}

/* Payload bytes implied by a block header's counts (0 on overflow). */
static uint64_t rd_payload(const struct ff_table *t, uint64_t n, const uint8_t *enc, bool shared,
			   uint64_t sb, uint64_t mb, uint64_t tb)
{
	uint64_t ncol = rd_ncol(t);
	if (n > UINT32_MAX || ncol > ((uint64_t)1 << 30))
		return 0;
	uint64_t vs = rd_values_size(t, n, enc);
	if (!vs && ncol)
		return 0;
	uint64_t sz = vs + ff__ids_size(n, sb);
	if (t->flags & FF__F_MID)
		sz += ff__ids_size(n, mb);
	else if (mb)
		return 0;
	if (t->flags & FF__F_TEXT)
		sz += ff__text_size(n, t->ncodes, shared, tb);
	else if (tb)
		return 0;
	return sz;
}

/*
 * Checks the header of block k of partition p, at pt->walk_pos, and fills
 * pt->blk[k]; moves walk_pos and walk_row past it (only when it is good).
 */
static int rd_block(struct ff_table *t, unsigned p, size_t k, struct ff_error *err)
{
	struct ff__part *pt = &t->parts[p];
	size_t end = pt->size - FF__FOOTER, pos = pt->walk_pos;
	if (end - pos < FF__BLOCK_HDR)
		return rd_bad(err, t, p, "is truncated at block %zu (offset %zu)", k, pos);
	const unsigned char *h = pt->map + pos;
	struct ff__blk *b = &pt->blk[k];
	if (ff__le32(h) != FF__BLOCK_MAGIC || ff__le32(h + 60) != ff__crc32c(0, h, 60))
		return rd_bad(err, t, p, "has a bad block header %zu at offset %zu", k, pos);
	b->n = ff__le32(h + 4);
	b->row0 = ff__le64(h + 8);
	uint64_t payload = ff__le64(h + 16);
	b->sid_bytes = ff__le32(h + 24);
	b->mid_bytes = ff__le32(h + 28);
	b->text_bytes = ff__le32(h + 32);
	if (!b->n || b->row0 != pt->walk_row)
		return rd_bad(err, t, p, "block %zu has bad row numbers (first row %llu)", k,
			      (unsigned long long)b->row0);
	uint32_t venc = ff__le32(h + 48);
	if (venc > (t->version >= 2 ? FF__VENC_COLUMNS : FF__VENC_PLAIN))
		return rd_bad(err, t, p, "block %zu has an unknown values encoding %u", k, venc);
	b->enc = NULL;
	if (venc == FF__VENC_COLUMNS) {
		/* the encodings lie in the payload: within the file first */
		if (rd_ncol(t) > end - pos - FF__BLOCK_HDR)
			return rd_bad(err, t, p, "is truncated in block %zu (offset %zu)", k, pos);
		b->enc = h + FF__BLOCK_HDR;
	}
	uint32_t cl = ff__le32(h + 52);
	if (cl > (t->version >= 2 && (t->flags & FF__F_TEXT) ? FF__CODES_SHARED :
							     FF__CODES_PER_ROW))
		return rd_bad(err, t, p, "block %zu has an unknown codes layout %u", k, cl);
	b->codes_shared = cl == FF__CODES_SHARED;
	uint64_t want = rd_payload(t, b->n, b->enc, b->codes_shared, b->sid_bytes, b->mid_bytes,
				   b->text_bytes);
	if (!want || want != payload)
		return rd_bad(err, t, p, "block %zu has a bad size %llu", k,
			      (unsigned long long)payload);
	if (payload > end - pos - FF__BLOCK_HDR)
		return rd_bad(err, t, p, "is truncated in block %zu (offset %zu)", k, pos);
	for (int sec = 0; sec < 3; sec++)
		b->sec_crc[sec] = ff__le32(h + 36 + 4 * sec);
	rd_sections(t, b, h);
	pt->walk_pos = pos + FF__BLOCK_HDR + (size_t)payload;
	pt->walk_row += b->n;
	return FF_OK;
}

/* After the last block: nothing after it, and the rows meta gives. */
static int rd_part_end(struct ff_table *t, unsigned p, struct ff_error *err)
{
	const struct ff__part *pt = &t->parts[p];
	size_t end = pt->size - FF__FOOTER;
	if (pt->walk_pos != end)
		return rd_bad(err, t, p, "has %zu stray bytes after %zu blocks", end - pt->walk_pos,
			      pt->nblk);
	if (pt->walk_row - pt->row0 != pt->rows)
		return rd_bad(err, t, p, "holds %llu rows, meta says %llu",
			      (unsigned long long)(pt->walk_row - pt->row0),
			      (unsigned long long)pt->rows);
	return FF_OK;
}

/*
 * Checks partition p's block headers, in file order, until the first need
 * are (need = nblk + 1: all, and the partition's end after them): at open,
 * or with FF_TABLE_LAZY as reads reach them (concurrent readers wait for
 * one walk). A bad header is reported by every read that reaches it; the
 * blocks before it stay readable.
 */
static int rd_walk_to(const struct ff_table *t, unsigned p, size_t need, struct ff_error *err)
{
	struct ff__part *pt = &t->parts[p];
	if (atomic_load_explicit(&pt->walked, memory_order_acquire) >= need)
		return FF_OK;
	struct ff_table *w = (struct ff_table *)t; /* fills in what the open left out */
	int ret = FF_OK;
	pthread_mutex_lock(&w->walk_mu);
	size_t k = atomic_load_explicit(&pt->walked, memory_order_relaxed);
	for (; k < need && k < pt->nblk && !(ret = rd_block(w, p, k, err)); k++)
		;
	if (!ret && k == pt->nblk && need > pt->nblk && !(ret = rd_part_end(w, p, err)))
		k++;
	atomic_store_explicit(&pt->walked, k, memory_order_release);
	pthread_mutex_unlock(&w->walk_mu);
	return ret;
}

static int rd_part(struct ff_table *t, unsigned p, const unsigned char uid[16],
		   uint64_t want_size, struct ff_error *err)
{
	struct ff__part *pt = &t->parts[p];
	char *path = ff_asprintf("%s/" FF__PART_FMT, t->dir, p);
	int ret = FF_OK;
	if (!path)
		return FF_ENOMEM;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		ret = ff_error_set(err, FF_EDATA, "corrupted table '%s': cannot open '%s': %s",
				   t->dir, path, strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size != want_size) {
		ret = rd_bad(err, t, p, "%s (%llu bytes, expected %llu)",
			     (uint64_t)st.st_size < want_size ? "is truncated" : "has a wrong size",
			     (unsigned long long)st.st_size, (unsigned long long)want_size);
		goto out;
	}
	if (want_size < FF__FILE_HDR + FF__FOOTER || want_size % 8 || want_size > SIZE_MAX / 2) {
		ret = rd_bad(err, t, p, "has an impossible size %llu",
			     (unsigned long long)want_size);
		goto out;
	}
	pt->size = (size_t)want_size;
	void *map = mmap(NULL, pt->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = ff_error_set(err, ff_from_errno(errno), "cannot map '%s': %s", path,
				   strerror(errno));
		goto out;
	}
	pt->map = map;
	const unsigned char *h = pt->map, *f = pt->map + pt->size - FF__FOOTER;
	if (memcmp(h, ff__file_magic, 8) || ff__le32(h + 60) != ff__crc32c(0, h, 60)) {
		ret = rd_bad(err, t, p, "has a bad header");
		goto out;
	}
	if (ff__le32(h + 8) != t->version || ff__le32(h + 12) != p ||
	    ff__le32(h + 16) != t->nparts || ff__le32(h + 20) != t->schema.n_features ||
	    ff__le32(h + 24) != t->flags || ff__le32(h + 28) != t->ncodes || memcmp(h + 32, uid, 16)) {
		ret = rd_bad(err, t, p, "does not belong to this table");
		goto out;
	}
	if (memcmp(f, ff__foot_magic, 8) || ff__le32(f + 28) != ff__crc32c(0, f, 28)) {
		ret = rd_bad(err, t, p, "has a bad footer (truncated?)");
		goto out;
	}
	if (ff__le64(f + 8) != pt->rows) {
		ret = rd_bad(err, t, p, "footer says %llu rows, meta says %llu",
			     (unsigned long long)ff__le64(f + 8), (unsigned long long)pt->rows);
		goto out;
	}
	uint32_t nblk = ff__le32(f + 16);
	if (nblk > (pt->size - FF__FOOTER - FF__FILE_HDR) / FF__BLOCK_HDR) {
		ret = rd_bad(err, t, p, "has a bad block count %u", nblk);
		goto out;
	}
	if (nblk && !FF_ALLOC_ARRAY(pt->blk, nblk)) {
		ret = FF_ENOMEM;
		goto out;
	}
	pt->nblk = nblk;
	pt->walk_pos = FF__FILE_HDR;
	pt->walk_row = pt->row0;
	if (!(t->open_flags & FF_TABLE_LAZY))
		ret = rd_walk_to(t, p, pt->nblk + 1, err);
out:
	if (fd >= 0)
		close(fd);
	ff_free(path);
	return ret;
}

int ff_table_open(struct ff_table **out, const char *dir, unsigned flags, struct ff_error *err)
{
	const uint16_t probe = 1;
	struct ff_table *t = NULL;
	int ret = FF_OK;
	*out = NULL;
	if (*(const unsigned char *)&probe != 1)
		return ff_error_set(err, FF_EINVAL, "tables need a little-endian host");
	if (!(t = ff_calloc(1, sizeof(*t))))
		return FF_ENOMEM;
	pthread_mutex_init(&t->walk_mu, NULL);
	if (!(t->dir = ff_strdup(dir))) {
		ret = FF_ENOMEM;
		goto out;
	}
	t->open_flags = flags;
	if ((ret = ff__meta_load(dir, &t->meta, err)) || (ret = rd_meta(t, err)))
		goto out;
	unsigned char uid[16];
	rd_uid(jsonx_str(t->meta, "table_uid"), uid);
	const json_t *bytes = json_object_get(t->meta, "partition_bytes");
	for (unsigned p = 0; p < t->nparts; p++) {
		json_int_t sz = json_integer_value(json_array_get(bytes, p));
		if ((ret = rd_part(t, p, uid, sz < 0 ? 0 : (uint64_t)sz, err)))
			goto out;
	}
out:
	if (ret)
		ff_table_free(t);
	else
		*out = t;
	return ret;
}

void ff_table_free(struct ff_table *t)
{
	if (!t)
		return;
	for (unsigned p = 0; t->parts && p < t->nparts; p++) {
		if (t->parts[p].map)
			munmap((void *)t->parts[p].map, t->parts[p].size);
		ff_free(t->parts[p].blk);
	}
	ff_free(t->parts);
	ff_free(t->dir);
	json_decref(t->meta);
	ff_schema_release(&t->schema);
	ff__layout_release(&t->text);
	pthread_mutex_destroy(&t->walk_mu);
	ff_free(t);
}

const struct ff_schema *ff_table_schema(const struct ff_table *t)
{
	return &t->schema;
}

uint64_t ff_table_count(const struct ff_table *t)
{
	return t->count;
}

unsigned ff_table_partitions(const struct ff_table *t)
{
	return t->nparts;
}

uint64_t ff_table_partition_count(const struct ff_table *t, unsigned p)
{
	return p < t->nparts ? t->parts[p].rows : 0;
}

uint64_t ff_table_partition_start(const struct ff_table *t, unsigned p)
{
	return p < t->nparts ? t->parts[p].row0 : t->count;
}

bool ff_table_has_text(const struct ff_table *t)
{
	return t->flags & FF__F_TEXT;
}

const json_t *ff_table_meta(const struct ff_table *t)
{
	return t->meta;
}

const char *ff_table_path(const struct ff_table *t)
{
	return t->dir;
}

/* ------------------------------------------------------------------ checks */

static bool rd_offsets_ok(const uint32_t *off, size_t n, uint32_t total)
{
	if (off[0] != 0 || off[n] != total)
		return false;
	for (size_t i = 0; i < n; i++)
		if (off[i] > off[i + 1])
			return false;
	return true;
}

int ff__blk_check(const struct ff_table *t, unsigned p, struct ff__blk *b, unsigned need,
		  struct ff_error *err)
{
	need &= FF_NEED_VALUES | FF_NEED_IDS | FF_NEED_TEXT;
	unsigned todo = need & ~atomic_load_explicit(&b->checked, memory_order_acquire);
	if (!todo)
		return FF_OK;
	size_t k = (size_t)(b - t->parts[p].blk);
	bool verify = !(t->open_flags & FF_TABLE_NO_VERIFY);
	static const unsigned bit[3] = { FF_NEED_VALUES, FF_NEED_IDS, FF_NEED_TEXT };
	static const char *const what[3] = { "values", "ids", "text" };
	for (int s = 0; s < 3; s++) {
		if (!(todo & bit[s]) || !verify)
			continue;
		if (ff__crc32c(0, b->sec[s], b->sec_len[s]) != b->sec_crc[s])
			return ff_error_set(err, FF_EDATA,
					    "corrupted table '%s': partition file '" FF__PART_FMT
					    "' block %zu: %s checksum mismatch", t->dir, p, k, what[s]);
	}
	bool ok = true;
	if (todo & FF_NEED_IDS) {
		ok = rd_offsets_ok(b->sid_off, b->n, b->sid_bytes);
		if (ok && b->mid_off)
			ok = rd_offsets_ok(b->mid_off, b->n, b->mid_bytes);
	}
	if (ok && (todo & FF_NEED_TEXT) && b->kind) {
		ok = rd_offsets_ok(b->text_off, b->n, b->text_bytes);
		for (size_t i = 0; ok && i < b->n; i++)
			ok = b->kind[i] <= FF__TEXT_RAW;
	}
	if (!ok)
		return ff_error_set(err, FF_EDATA, "corrupted table '%s': partition file '" FF__PART_FMT
				    "' block %zu: bad string offsets", t->dir, p, k);
	atomic_fetch_or_explicit(&b->checked, todo, memory_order_release);
	return FF_OK;
}

/* --------------------------------------------------------------- iterators */

/* private iterator bit: map a block's values before reading them all */
#define RD_PREFAULT 0x100u

/*
 * One madvise call maps the pages of a range that is about to be read in
 * full, instead of a page fault every 64 KiB (faults dominated the dense
 * load). Kernels without MADV_POPULATE_READ (< 5.14) just fault as before.
 */
static void rd_prefault(const void *p, size_t n)
{
#ifdef MADV_POPULATE_READ
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
	(void)madvise((void *)a, n + ((uintptr_t)p - a), MADV_POPULATE_READ);
#else
	(void)p;
	(void)n;
#endif
}

/*
 * Maps the pages of a fresh allocation that is about to be written in full,
 * in one call rather than a fault per page (huge pages were tried: faster
 * once available, but their first allocation can stall on compaction).
 */
static void rd_prepare_write(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
	uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)n;
#endif
}

/*
 * Decodes the values of encoded block k into the iterator's buffer (the
 * layout of a plain block: label, weight, features, n each) and points the
 * batch at it. The section is checked (ff__blk_check) before this runs.
 */
static int rd_decode(struct ff_table_iter *it, const struct ff__blk *k, struct ff_batch *b,
		     struct ff_error *err)
{
	const struct ff_table *t = it->t;
	size_t n = k->n, ncol = rd_ncol(t), need;
	if (!ff_st_mult(n, ncol, &need))
		return ff_error_set(err, FF_ENOMEM, "block too large in table '%s'", t->dir);
	if (need > it->dec_cap_) {
		double *d = ff_realloc(it->dec_, (need ? need : 1) * sizeof(double));
		if (!d)
			return ff_error_set(err, FF_ENOMEM, "out of memory reading table '%s'",
					    t->dir);
		it->dec_ = d;
		it->dec_cap_ = need;
	}
	const unsigned char *p = k->cols;
	double *out = it->dec_;
	for (size_t c = 0; c < ncol; c++, out += n) {
		unsigned e = k->enc[c];
		if (e == FF__ENC_F64)
			memcpy(out, p, 8 * n);
		else if (e < FF__ENC_I24(0))
			ff__dec_i32(out, (const int32_t *)(const void *)p, n, ff__enc_scale(e));
		else
			ff__dec_i24(out, p, n, ff__enc_scale(e));
		p += ff__enc_col_bytes(e, n);
	}
	out = it->dec_;
	b->label = (t->flags & FF__F_LABEL) ? out : NULL;
	out += (t->flags & FF__F_LABEL) ? n : 0;
	b->weight = (t->flags & FF__F_WEIGHT) ? out : NULL;
	out += (t->flags & FF__F_WEIGHT) ? n : 0;
	b->x = out;
	return FF_OK;
}

int ff_table_iter_init(struct ff_table_iter *it, const struct ff_table *t, int partition,
		       unsigned need, struct ff_error *err)
{
	memset(it, 0, sizeof(*it));
	if (partition < -1 || (partition >= 0 && (unsigned)partition >= t->nparts))
		return ff_error_set(err, FF_EINVAL, "no partition %d in table '%s'", partition,
				    t->dir);
	if ((need & FF_NEED_TEXT) && !(t->flags & FF__F_TEXT))
		need &= ~FF_NEED_TEXT;
	it->t = t;
	it->part = partition < 0 ? 0 : (unsigned)partition;
	it->part_end = partition < 0 ? t->nparts : (unsigned)partition + 1;
	it->need = need;
	return FF_OK;
}

int ff_table_iter_next(struct ff_table_iter *it, struct ff_batch *b, struct ff_error *err)
{
	const struct ff_table *t = it->t;
	while (it->part < it->part_end) {
		struct ff__part *pt = &t->parts[it->part];
		/* the block read next, or past the last one the partition's end */
		int ret = rd_walk_to(t, it->part, it->blk + 1, err);
		if (ret) {
			ff_table_iter_release(it);
			return ret;
		}
		if (it->blk >= pt->nblk) {
			it->part++;
			it->blk = 0;
			continue;
		}
		struct ff__blk *k = &pt->blk[it->blk];
		if (it->need & RD_PREFAULT)
			rd_prefault(k->sec[0], k->sec_len[0]);
		ret = ff__blk_check(t, it->part, k, it->need, err);
		if (!ret && k->enc && (it->need & FF_NEED_VALUES))
			ret = rd_decode(it, k, b, err);
		if (ret) {
			ff_table_iter_release(it);
			return ret;
		}
		b->row0 = k->row0;
		b->n = k->n;
		b->d = t->schema.n_features;
		b->partition = it->part;
		if (!k->enc) {
			b->label = k->label;
			b->weight = k->weight;
			b->x = k->x;
		} else if (!(it->need & FF_NEED_VALUES)) {
			b->label = b->weight = b->x = NULL;
		}
		b->t_ = t;
		b->blk_ = k;
		b->need_ = it->need;
		it->blk++;
		return 1;
	}
	ff_table_iter_release(it);
	return 0;
}

void ff_table_iter_release(struct ff_table_iter *it)
{
	FF_FREE_AND_NULL(it->dec_);
	it->dec_cap_ = 0;
}

const char *ff_batch_sid(const struct ff_batch *b, size_t i, size_t *len)
{
	const struct ff__blk *k = b->blk_;
	*len = k->sid_off[i + 1] - k->sid_off[i];
	return k->sid + k->sid_off[i];
}

const char *ff_batch_mid(const struct ff_batch *b, size_t i, size_t *len)
{
	const struct ff__blk *k = b->blk_;
	if (!k->mid_off)
		return ff_batch_sid(b, i, len);
	*len = k->mid_off[i + 1] - k->mid_off[i];
	return k->mid + k->mid_off[i];
}

int ff_row_iter_init(struct ff_row_iter *r, const struct ff_table *t, int partition,
		     struct ff_error *err)
{
	memset(r, 0, sizeof(*r));
	int ret = ff_table_iter_init(&r->it, t, partition, FF_NEED_VALUES | FF_NEED_IDS, err);
	if (ret)
		return ret;
	if (!FF_ALLOC_ARRAY(r->x, t->schema.n_features))
		return FF_ENOMEM;
	return FF_OK;
}

int ff_row_iter_next(struct ff_row_iter *r, struct ff_row *row, struct ff_error *err)
{
	while (r->i >= r->b.n) {
		int ret = ff_table_iter_next(&r->it, &r->b, err);
		if (ret <= 0)
			return ret;
		r->i = 0;
	}
	const struct ff_batch *b = &r->b;
	size_t i = r->i++;
	row->index = b->row0 + i;
	row->sid = ff_batch_sid(b, i, &row->sid_len);
	row->mid = ff_batch_mid(b, i, &row->mid_len);
	row->label = b->label ? b->label[i] : 0;
	row->weight = b->weight ? b->weight[i] : 1;
	for (size_t j = 0; j < b->d; j++)
		r->x[j] = b->x[j * b->n + i];
	row->x = r->x;
	return 1;
}

void ff_row_iter_release(struct ff_row_iter *r)
{
	FF_FREE_AND_NULL(r->x);
	ff_table_iter_release(&r->it);
}

/* -------------------------------------------------------------- dense load */

/* Columns [n][d] of src (column j at src + j*n) into rows of dst (stride d). */
static void rd_transpose(double *restrict dst, const double *restrict src, size_t n, size_t d)
{
	enum { TILE = 64 };
	for (size_t i0 = 0; i0 < n; i0 += TILE) {
		size_t i1 = i0 + TILE < n ? i0 + TILE : n;
		size_t j = 0;
		for (; j + 4 <= d; j += 4) {
			const double *c0 = src + j * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
			double *o = dst + j;
			for (size_t i = i0; i < i1; i++) {
				double *r = o + i * d;
				r[0] = c0[i];
				r[1] = c1[i];
				r[2] = c2[i];
				r[3] = c3[i];
			}
		}
		for (; j < d; j++) {
			const double *c = src + j * n;
			for (size_t i = i0; i < i1; i++)
				dst[i * d + j] = c[i];
		}
	}
}

void ff_dataset_release(struct ff_dataset *ds)
{
	ff_free(ds->x);
	ff_free(ds->label);
	ff_free(ds->weight);
	if (ds->mid != ds->sid)
		ff_free(ds->mid);
	ff_free(ds->sid);
	ff_free(ds->ids_);
	memset(ds, 0, sizeof(*ds));
}

/* Bytes of id strings (with NULs) of the rows the iteration covers. */
static int rd_ids_bytes(const struct ff_table *t, int partition, size_t *out,
			struct ff_error *err)
{
	size_t total = 0;
	unsigned lo = partition < 0 ? 0 : (unsigned)partition;
	unsigned hi = partition < 0 ? t->nparts : lo + 1;
	for (unsigned p = lo; p < hi; p++) {
		int ret = rd_walk_to(t, p, t->parts[p].nblk + 1, err);
		if (ret)
			return ret;
		for (size_t k = 0; k < t->parts[p].nblk; k++) {
			const struct ff__blk *b = &t->parts[p].blk[k];
			size_t add = (size_t)b->sid_bytes + b->mid_bytes + 2 * (size_t)b->n;
			if (!ff_st_add(total, add, &total))
				return ff_error_set(err, FF_ENOMEM, "table '%s' too large to load",
						    t->dir);
		}
	}
	*out = total;
	return FF_OK;
}

static void rd_copy_ids(struct ff_dataset *ds, const struct ff_batch *b, size_t base, char **pos,
			bool mid)
{
	char **dst = mid ? ds->mid : ds->sid;
	for (size_t i = 0; i < b->n; i++) {
		size_t len;
		const char *s = mid ? ff_batch_mid(b, i, &len) : ff_batch_sid(b, i, &len);
		memcpy(*pos, s, len);
		(*pos)[len] = '\0';
		dst[base + i] = *pos;
		*pos += len + 1;
	}
}

int ff_table_load(const struct ff_table *t, int partition, unsigned need, struct ff_dataset *ds,
		  struct ff_error *err)
{
	struct ff_table_iter it;
	struct ff_batch b;
	int ret;
	memset(ds, 0, sizeof(*ds));
	need &= FF_NEED_VALUES | FF_NEED_IDS;
	if ((ret = ff_table_iter_init(&it, t, partition, need, err)))
		return ret;
	uint64_t n64 = partition < 0 ? t->count : t->parts[partition].rows;
	size_t n = (size_t)n64, d = t->schema.n_features, nd;
	if (n64 > SIZE_MAX || !ff_st_mult(n, d, &nd))
		return ff_error_set(err, FF_ENOMEM, "table '%s' too large to load", t->dir);
	ds->n = n;
	ds->d = d;
	uint64_t first = partition < 0 ? 0 : t->parts[partition].row0;
	char *pos = NULL;
	/* every element gets written: no zeroing (ff_malloc, not calloc) */
	if (need & FF_NEED_VALUES) {
		if (!(ds->x = ff_malloc(nd ? nd * sizeof(double) : 1)) ||
		    (t->schema.label_name && !(ds->label = ff_malloc(n * sizeof(double) + 1))) ||
		    (t->schema.weight_name && !(ds->weight = ff_malloc(n * sizeof(double) + 1))))
			goto oom;
		rd_prepare_write(ds->x, nd * sizeof(double));
		it.need |= RD_PREFAULT;
	}
	if (need & FF_NEED_IDS) {
		size_t bytes = 0;
		if ((ret = rd_ids_bytes(t, partition, &bytes, err))) {
			ff_dataset_release(ds);
			return ret;
		}
		if (!(ds->ids_ = ff_malloc(bytes + 1)) || !FF_ALLOC_ARRAY(ds->sid, n))
			goto oom;
		if (t->flags & FF__F_MID) {
			if (!FF_ALLOC_ARRAY(ds->mid, n))
				goto oom;
		} else {
			ds->mid = ds->sid;
		}
		pos = ds->ids_;
	}
	while ((ret = ff_table_iter_next(&it, &b, err)) > 0) {
		size_t base = (size_t)(b.row0 - first);
		if (need & FF_NEED_VALUES) {
			rd_transpose(ds->x + base * d, b.x, b.n, d);
			if (ds->label)
				memcpy(ds->label + base, b.label, b.n * sizeof(double));
			if (ds->weight)
				memcpy(ds->weight + base, b.weight, b.n * sizeof(double));
		}
		if (need & FF_NEED_IDS) {
			rd_copy_ids(ds, &b, base, &pos, false);
			if (ds->mid != ds->sid)
				rd_copy_ids(ds, &b, base, &pos, true);
		}
	}
	if (ret < 0)
		ff_dataset_release(ds);
	return ret < 0 ? ret : FF_OK;
oom:
	ff_dataset_release(ds);
	return ff_error_set(err, FF_ENOMEM, "out of memory loading table '%s'", t->dir);
}

/* ------------------------------------------------------------------ column */

int ff_table_column(const struct ff_table *t, const char *name, int *col)
{
	if (t->schema.label_name && !strcmp(name, t->schema.label_name)) {
		*col = FF_COL_LABEL;
		return FF_OK;
	}
	if (t->schema.weight_name && !strcmp(name, t->schema.weight_name)) {
		*col = FF_COL_WEIGHT;
		return FF_OK;
	}
	long j = ff_schema_feature_index(&t->schema, name);
	if (j < 0 || j > INT32_MAX)
		return FF_ENOENT;
	*col = (int)j;
	return FF_OK;
}

int ff_table_read_column(const struct ff_table *t, int col, int partition, double *out,
			 struct ff_error *err)
{
	if ((col == FF_COL_LABEL && !t->schema.label_name) ||
	    (col == FF_COL_WEIGHT && !t->schema.weight_name) || col < FF_COL_WEIGHT ||
	    (col >= 0 && (size_t)col >= t->schema.n_features))
		return ff_error_set(err, FF_EINVAL, "no column %d in table '%s'", col, t->dir);
	struct ff_table_iter it;
	struct ff_batch b;
	int ret = ff_table_iter_init(&it, t, partition, FF_NEED_VALUES, err);
	if (ret)
		return ret;
	size_t at = 0;
	while ((ret = ff_table_iter_next(&it, &b, err)) > 0) {
		const double *src = col == FF_COL_LABEL ? b.label :
				    col == FF_COL_WEIGHT ? b.weight : ff_batch_col(&b, (size_t)col);
		memcpy(out + at, src, b.n * sizeof(double));
		at += b.n;
	}
	return ret < 0 ? ret : FF_OK;
}
