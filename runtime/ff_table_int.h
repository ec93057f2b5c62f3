/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ff_table_int.h - internals shared by the table engine files of libfedflow
 * (ff_table.c, ff_table_write.c, ff_table_read.c, ff_csv.c, ff_schema.c).
 * Components use include/fedflow/table.h only.
 *
 * The on-disk layout these structures mirror is documented byte by byte in
 * docs/storage-format.md; the constants below are that document's numbers.
 * Symbols here use the library-internal ff__ prefix.
 */
#ifndef FF_TABLE_INT_H
#define FF_TABLE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <jansson.h>
#include "fedflow/table.h"
#include "buf.h"
#include "err.h"

#define FF__META_FILE "meta.json"
#define FF__PART_FMT "part-%05u"
#define FF__FORMAT_NAME "fedflow-table"

#define FF__FILE_HDR 64
#define FF__BLOCK_HDR 64
#define FF__FOOTER 32
static const char ff__file_magic[8] = { 'F', 'F', 'T', 'B', 'P', 'A', 'R', 'T' };
static const char ff__foot_magic[8] = { 'F', 'F', 'T', 'B', 'E', 'N', 'D', '1' };
#define FF__BLOCK_MAGIC 0x31424646u /* "FFB1" little-endian */
/* oldest partition format version readers still accept (no encoded values) */
#define FF__FORMAT_VERSION_MIN 1u

/*
 * Values encoding of a block (block header offset 48, format version 2):
 * FF__VENC_PLAIN = every column f64[n] (the only layout of version 1);
 * FF__VENC_COLUMNS = a column encoding byte per column, then each column
 * either f64[n] (FF__ENC_F64) or i32[n] decimal mantissas with a scale
 * (FF__ENC_I32(s): value = m / 10^s, one correctly rounded division).
 */
#define FF__VENC_PLAIN 0u
#define FF__VENC_COLUMNS 1u
#define FF__ENC_F64 0u
#define FF__ENC_SCALE_MAX 22u
#define FF__ENC_I32(s) (1u + (s))
/* the same mantissas packed in 3 bytes when all fit in 24 bits (readers
 * before this encoding refuse the byte as above their maximum, 23) */
#define FF__ENC_I24(s) (FF__ENC_I32(FF__ENC_SCALE_MAX) + 1u + (s))
#define FF__ENC_MAX FF__ENC_I24(FF__ENC_SCALE_MAX)

/* Bytes per value of a column in encoding e (<= FF__ENC_MAX). */
static inline size_t ff__enc_width(unsigned e)
{
	return e == FF__ENC_F64 ? 8 : e < FF__ENC_I24(0) ? 4 : 3;
}
/* The scale s of a mantissa encoding e (FF__ENC_I32(s) or FF__ENC_I24(s)). */
static inline unsigned ff__enc_scale(unsigned e)
{
	return e < FF__ENC_I24(0) ? e - FF__ENC_I32(0) : e - FF__ENC_I24(0);
}
/* Bytes of a column of n values in encoding e, padding to 8 included. */
static inline size_t ff__enc_col_bytes(unsigned e, size_t n)
{
	return (ff__enc_width(e) * n + 7) & ~(size_t)7;
}
/*
 * Codes layout of a block's text section (block header offset 52, format
 * version 2): one row of codes per row, or one row shared by all rows
 * (written when every row rebuilt from codes has the same codes).
 */
#define FF__CODES_PER_ROW 0u
#define FF__CODES_SHARED 1u

/* partition file header flags */
#define FF__F_LABEL 1u
#define FF__F_WEIGHT 2u
#define FF__F_MID 4u   /* match ids stored apart from sample ids */
#define FF__F_TEXT 8u  /* rows carry their source text */
#define FF__F_KNOWN 15u

/* text kind of a row */
#define FF__TEXT_CODES 0 /* rebuilt from the values and one code per field */
#define FF__TEXT_RAW 1   /* the source line is stored verbatim */

/* codes: 0..FF__CODE_MAX = fixed notation with that many fraction digits */
#define FF__CODE_MAX 22

/* layout entries (source column -> table column) */
#define FF__COL_ID (-1)
#define FF__COL_LABEL (-2)
#define FF__COL_WEIGHT (-3)

/* writer block limits: values bytes and string bytes per block */
#define FF__BLOCK_VALUE_BYTES ((size_t)8 << 20)
#define FF__BLOCK_STR_BYTES ((size_t)8 << 20)
#define FF__BLOCK_ROWS_MAX 65536u

/*
 * Source text description of a table that keeps row text: the header line
 * (without its end of line), the delimiter and where each source column
 * went (layout[k] is FF__COL_ID, FF__COL_LABEL, FF__COL_WEIGHT or a
 * feature index). ncodes = nlayout - 1 (the id column has no code).
 */
struct ff__text_layout {
	char *header;       /* owned, NULL when the source had no header line */
	char delimiter;
	bool final_newline; /* false when the source's last line had no '\n' */
	size_t nlayout;
	int *layout;        /* owned, nlayout entries */
};

/*
 * What ff__writer_seal_block works out of a block's final rows (its values
 * section laid out, mantissas packed, checksums of values and text), so
 * that the serial ff__writer_put_block only adds the header and copies.
 */
struct ff__seal {
	bool done;
	unsigned venc;         /* FF__VENC_* */
	size_t values;         /* bytes of the values section */
	bool shared;           /* one row of codes for all rows */
	const uint8_t *codes;  /* the codes written */
	uint32_t crc_v, crc_t;
	uint8_t *enc;          /* d + 2 encodings in file order */
};

/*
 * In-memory block: up to cap rows, columnar. Column j of the features is
 * vals + (2 + j) * cap; label at vals, weight at vals + cap (unused slots
 * stay allocated so the stride is uniform). enc (borrowed, NULL = every
 * column f64) gives each column's encoding in the same order (label,
 * weight, features); a column with FF__ENC_I32(s) holds n int32_t
 * mantissas at the start of its slot instead of n doubles.
 */
struct ff__block {
	size_t n, cap, d, ncodes;
	bool text;
	bool mid;           /* match ids stored apart */
	double *vals;       /* (d + 2) * cap */
	uint32_t *sid_off;  /* cap + 1 */
	struct ff_buf sid;
	uint32_t *mid_off;  /* cap + 1 when mid */
	struct ff_buf mids;
	uint8_t *kind;      /* cap when text */
	uint8_t *codes;     /* cap * ncodes when text */
	uint32_t *text_off; /* cap + 1 when text */
	struct ff_buf txt;
	const uint8_t *enc; /* d + 2 column encodings, borrowed; NULL: all f64 */
	struct ff__seal seal;
};

int ff__block_init(struct ff__block *b, size_t d, size_t ncodes, bool text, bool mid,
		   size_t cap);
void ff__block_release(struct ff__block *b);
void ff__block_reset(struct ff__block *b);
/* Doubles the capacity keeping the rows. */
int ff__block_grow(struct ff__block *b);
static inline double *ff__block_col(struct ff__block *b, size_t j)
{
	return b->vals + (2 + j) * b->cap;
}
/* Appends id strings / text of row b->n (call before b->n++). */
int ff__block_put_str(struct ff_buf *buf, uint32_t *off, size_t row, const char *s, size_t n);

/*
 * One block of a mapped partition file, found and header-checked at open;
 * the pointers go into the mapping (sections are 8-byte aligned in the
 * file, so doubles and offsets are used in place).
 */
struct ff__blk {
	uint64_t row0;
	uint32_t n;
	uint32_t sid_bytes, mid_bytes, text_bytes;
	const double *label, *weight, *x;     /* NULL when absent or encoded */
	const uint8_t *enc;                   /* column encodings (file order), NULL: plain */
	const unsigned char *cols;            /* first column of an encoded values section */
	const uint32_t *sid_off, *mid_off;    /* mid_off NULL for one id column */
	const char *sid, *mid;
	const uint8_t *kind, *codes;          /* NULL without text */
	bool codes_shared;                    /* one row of codes for all rows */
	const uint32_t *text_off;
	const char *text;
	/* sections for the checksums */
	const unsigned char *sec[3];
	size_t sec_len[3];
	uint32_t sec_crc[3];
	_Atomic unsigned checked;             /* FF_NEED_* bits verified */
};

struct ff__part {
	const unsigned char *map;
	size_t size;
	uint64_t rows, row0;
	size_t nblk;           /* the footer's block count */
	struct ff__blk *blk;   /* nblk entries, filled as their headers are checked */
	/* blocks checked (nblk + 1: and the partition's end after them), at
	 * open or, FF_TABLE_LAZY, as reads reach them; the walk's place */
	atomic_size_t walked;
	size_t walk_pos;
	uint64_t walk_row;
};

struct ff_table {
	char *dir;
	json_t *meta;
	struct ff_schema schema;
	unsigned flags;          /* FF__F_* */
	unsigned version;        /* format version of meta.json and the partitions */
	unsigned open_flags;     /* FF_TABLE_NO_VERIFY ... */
	unsigned nparts;
	uint64_t count;
	size_t ncodes;
	struct ff__text_layout text;
	struct ff__part *parts;
	pthread_mutex_t walk_mu; /* a partition's first walk (FF_TABLE_LAZY) */
};

/* True when s is valid UTF-8 (JSON strings must be). ff_schema.c */
bool ff__utf8_ok(const char *s);

/* table-level helpers (ff_table.c) */
uint32_t ff__crc32c(uint32_t crc, const void *data, size_t n);
uint64_t ff__fixed_mantissa(double v, unsigned code);
/* Writes the fixed form of v with code fraction digits, returns length. */
size_t ff__fmt_fixed(double v, unsigned code, char out[48]);
int ff__meta_load(const char *dir, json_t **out, struct ff_error *err);
int ff__layout_from_json(struct ff__text_layout *t, const json_t *j, const struct ff_schema *s,
			 struct ff_error *err);
json_t *ff__layout_to_json(const struct ff__text_layout *t);
int ff__layout_copy(struct ff__text_layout *dst, const struct ff__text_layout *src);
void ff__layout_release(struct ff__text_layout *t);
static inline void ff__put_le32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static inline void ff__put_le64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}
static inline uint32_t ff__le32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static inline uint64_t ff__le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static inline size_t ff__align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}
/* Section sizes of a block with n rows (see storage-format.md §4). */
size_t ff__ids_size(size_t n, size_t sid_bytes);
size_t ff__text_size(size_t n, size_t ncodes, bool shared, size_t text_bytes);
/* The codes of row i of block b (ncodes of them). */
static inline const uint8_t *ff__blk_codes(const struct ff__blk *b, size_t ncodes, size_t i)
{
	return b->codes_shared ? b->codes : b->codes + i * ncodes;
}

/* writer internals used by the CSV importer (ff_table_write.c) */
int ff__writer_set_text(struct ff_table_writer *w, const struct ff__text_layout *t,
			struct ff_error *err);
/* Whether the source's last line ended with '\n' (export repeats it). */
void ff__writer_final_newline(struct ff_table_writer *w, bool yes);
/* Writes a block the caller filled (sample ids may be generated by the writer). */
int ff__writer_put_block(struct ff_table_writer *w, struct ff__block *b, struct ff_error *err);
/*
 * Seals block b, whose rows and values (b->enc) are final: packs its
 * mantissa columns and checksums its values and text. Reads only what the
 * writer fixed before its first row, so threads seal their blocks at once,
 * in any order; ff__writer_put_block seals a block that is not.
 */
void ff__writer_seal_block(const struct ff_table_writer *w, struct ff__block *b);
/* Moves to partition p (>= the current one); the rows so far stay behind. */
int ff__writer_goto_partition(struct ff_table_writer *w, unsigned p, struct ff_error *err);
/* Keeps int32 mantissa columns as they are (never FF__ENC_I24): what
 * writers before the 3-byte encoding wrote; for tests. */
void ff__writer_no_i24(struct ff_table_writer *w);
uint64_t ff__writer_rows(const struct ff_table_writer *w);
/*
 * Writes the partition files with O_DIRECT from a helper thread
 * (ff_table_dio.c) instead of through the page cache: for large durable
 * writes, whose pages would only be written back. Call before the first
 * row; falls back to buffered writes where the file system refuses O_DIRECT.
 */
int ff__writer_direct(struct ff_table_writer *w, struct ff_error *err);

/* Powers of ten 10^0 .. 10^22, exact doubles (ff_table.c). */
extern const double ff__p10[FF__ENC_SCALE_MAX + 1];
/*
 * Decodes column `len` values of an FF__ENC_I32(s) column into doubles:
 * out[i] = m[i] / 10^s, correctly rounded (AVX-512 / AVX2 / scalar by the
 * CPU, same results). ff_table.c
 */
void ff__dec_i32(double *restrict out, const int32_t *restrict m, size_t n, unsigned s);
/* The same with the scalar loop only (tests compare both). */
void ff__dec_i32_scalar(double *restrict out, const int32_t *restrict m, size_t n, unsigned s);

/*
 * 3-byte mantissa columns (ff_table_i24.c). ff__pack_i24: when every one
 * of the n int32 mantissas at col lies in -2^23 .. 2^23 - 1, rewrites them
 * as n packed little-endian 3-byte values at the same address (may write
 * up to 8 bytes past them, within the 4 n) and returns true; else leaves
 * them as they were and returns false. ff__dec_i24: out[i] = m[i] / 10^s
 * for the n 3-byte values at p, the same bits as ff__dec_i32 gives for
 * the int32 values; reads only the 3 * n bytes at p (AVX-512 / AVX2 /
 * scalar by the CPU).
 */
bool ff__pack_i24(void *col, size_t n);
void ff__dec_i24(double *restrict out, const unsigned char *restrict p, size_t n, unsigned s);
/* The same with the scalar loop only (tests compare both). */
void ff__dec_i24_scalar(double *restrict out, const unsigned char *restrict p, size_t n,
			unsigned s);

/*
 * Column encoder of an in-memory block (the CSV importer's): *st is the
 * column's state, FF__ENCST_UNSET before its first value, a scale s while
 * the column holds int32 mantissas m (value m / 10^s) at the start of its
 * slot, FF__ENCST_F64 once it holds doubles. ff__enc_put stores row i (all
 * rows below i stored already): with exact, the value is m / 10^s exactly
 * as parsed (|m| < 2^53, s <= FF__ENC_SCALE_MAX, never -0.0: pass that as
 * v); else only v is known and s is the
 * scale to try first. A value that does not fit the column's scale moves
 * the column to a larger scale when all its mantissas fit, else to
 * doubles; so decoding gives back every value bit for bit. ff_table.c
 */
#define FF__ENCST_UNSET 0xFEu
#define FF__ENCST_F64 0xFFu
void ff__enc_put(uint8_t *st, void *slot, size_t i, double v, bool exact, int64_t m, unsigned s);
/* v as m / 10^s with an int32 m, bit for bit (never for -0.0, NaN, inf). */
bool ff__enc_fit(double v, unsigned s, int32_t *m);
/* The block encoding of a column in state st. */
static inline uint8_t ff__enc_of(uint8_t st)
{
	return st <= FF__ENC_SCALE_MAX ? (uint8_t)FF__ENC_I32(st) : (uint8_t)FF__ENC_F64;
}

/* reader internals (ff_table_read.c): verifies what `need` asks of block b */
int ff__blk_check(const struct ff_table *t, unsigned p, struct ff__blk *b, unsigned need,
		  struct ff_error *err);

#endif
