// SPDX-License-Identifier: Apache-2.0
/*
 * ff_csv_import.c - CSV import into a standalone table (what the `upload`
 * component runs): the header and the role of every column, then the rows,
 * parsed on several threads and written in file order.
 *
 * DESIGN. After the header, the data bytes [D, S) are cut into chunks of a
 * few MiB, also cut at every partition boundary, so all lines of a chunk go
 * to one partition. A chunk owns the lines that start inside it: it reads
 * its bytes from one byte before its start (a line starts there iff that
 * byte is '\n'), and the last line it owns may run past its end, which it
 * reads on demand (up to line_max). So chunks are parsed independently, by
 * whichever thread claims the next one (the importing thread plus up to
 * CSV_THREADS_MAX - 1 others), each into the blocks of a free slot (one
 * slot more than threads). A chunk is then committed in file order, by
 * whichever thread is free when its turn comes: only then are line numbers
 * known (the rows before), duplicate ids checked against the ids of all
 * earlier rows (one set, in file order, so "first at line N" is right),
 * extend_sid sample ids numbered, and the blocks written. Parsing
 * stops at a chunk's first error, which is kept (text, row within the
 * chunk, column) and reported at its turn: so the error reported is always
 * the first in file order - an earlier chunk's error wins, and a later one
 * is never seen - with the line number the serial parse would give.
 *
 * Rows. A line is found with memchr, then the offsets of all its
 * delimiters at once (csv_index, 32 bytes per step), so each field's
 * bounds are known before it is parsed and fields do not wait for each
 * other. An id is copied (and hashed for the duplicate check); a number in
 * short fixed notation ("-0.287570": ff__csv_fixed, one 8-byte load, no
 * branch on its digits or sign) becomes its digits over a power of ten,
 * one correctly rounded division; any other field goes out of line to
 * ff__csv_num (exponents, long mantissas, spaces, '+', errors).
 *
 * Input. The file is mapped, and a chunk is parsed where it lies in the map
 * (csv_input): no copy. Only a chunk whose last line, or the parsers'
 * padding after it, runs to the end of the file is read into the slot's
 * buffer. Each line is prefetched CSV_AHEAD bytes ahead. The blocks of a
 * chunk are sealed (packed, checksummed) by the thread that parsed it, so
 * the commit, which one thread at a time runs in file order, only checks
 * ids, adds headers and copies.
 *
 * Memory: per slot one input buffer (a chunk plus its last line, for the
 * chunks not parsed in the map) and the blocks of one chunk (bounded by
 * CSV_BLOCK_BUDGET through the chunk size); the mapped pages of the chunks
 * not yet committed (csv_drop_input); plus, when the ids are the sample
 * ids, the set of ids seen (O(rows), sized once from the first chunk's
 * rows so it is not rehashed as it grows).
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "clock.h"
#include "ff_csv_num.h"
#include "ff_table_int.h"
#include "mem.h"

/* source bytes per chunk (before the budget below) */
#define CSV_CHUNK ((size_t)4 << 20)
/* block bytes one chunk may produce at most, which can cut the chunk size */
#define CSV_BLOCK_BUDGET ((size_t)24 << 20)
#define CSV_THREADS_MAX 4
/* mapped input dropped from the resident set at least this much at a time */
#define CSV_MAP_DROP ((size_t)4 << 20)
/* first read past a chunk's end for the rest of its last line */
#define CSV_TAIL ((size_t)4 << 10)
/* input prefetched ahead of the line being parsed */
#define CSV_AHEAD ((size_t)8 << 10)
/* ids whose slot is prefetched ahead of the insertion */
#define CSV_PREFETCH 32
/* excerpt of a bad value in messages */
#define CSV_SHOW 24

/* role of a source column */
enum csv_kind { CSV_K_FEATURE, CSV_K_ID, CSV_K_LABEL, CSV_K_WEIGHT };

/* divisors of ff__csv_fixed's e: 10^k, negated for a '-' sign */
static const double csv_div[64] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, [32] = -1e0, -1e1, -1e2, -1e3, -1e4, -1e5, -1e6,
	-1e7,
};

/* ------------------------------------------------------------------ id set */

/*
 * Open-addressing set of id strings with the line each was first seen on.
 * A slot holds the arena offset + 1 in its low CSV_IDS_OFF_BITS and the top
 * bits of the id's hash above, so most probes never touch the arena.
 */
#define CSV_IDS_OFF_BITS 40
#define CSV_IDS_OFF_MASK (((uint64_t)1 << CSV_IDS_OFF_BITS) - 1)
/* the most slots reserved ahead from an estimate (32 MiB); more by growing */
#define CSV_IDS_RESERVE_MAX ((size_t)1 << 22)

struct csv_ids {
	uint64_t *slot;        /* 0 = empty */
	size_t mask, used;
	char *arena;           /* records: u64 line, u32 len, bytes */
	size_t len, cap;
};

static uint64_t csv_hash(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
	while (n >= 8) {
		uint64_t k;
		memcpy(&k, s, 8);
		h = (h ^ k) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t k = 0;
	memcpy(&k, s, n);
	h = (h ^ k) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static void csv_ids_release(struct csv_ids *set)
{
	ff_free(set->slot);
	ff_free(set->arena);
	memset(set, 0, sizeof(*set));
}

/* Rehashes into n slots (a power of two). */
static int csv_ids_resize(struct csv_ids *set, size_t n)
{
	uint64_t *slot;
	if (!FF_ALLOC_ARRAY(slot, n))
		return FF_ENOMEM;
	/* the records in arena order (sequential reads), in batches whose
	 * slots are prefetched first: the probes of a large set miss the cache */
	uint64_t h[16];
	size_t at[16];
	for (size_t o = 0; o < set->len;) {
		size_t k = 0;
		for (; k < 16 && o < set->len; k++) {
			uint32_t len;
			memcpy(&len, set->arena + o + 8, 4);
			h[k] = csv_hash(set->arena + o + 12, len);
			at[k] = o;
			__builtin_prefetch(&slot[h[k] & (n - 1)], 1);
			o += 12 + len;
		}
		for (size_t j = 0; j < k; j++) {
			size_t i = (size_t)h[j] & (n - 1);
			while (slot[i])
				i = (i + 1) & (n - 1);
			slot[i] = (h[j] & ~CSV_IDS_OFF_MASK) | (at[j] + 1);
		}
	}
	ff_free(set->slot);
	set->slot = slot;
	set->mask = n - 1;
	return FF_OK;
}

static int csv_ids_grow(struct csv_ids *set)
{
	return csv_ids_resize(set, set->slot ? (set->mask + 1) * 2 : 1024);
}

/* Room for about n ids without growing (at most CSV_IDS_RESERVE_MAX slots). */
static int csv_ids_reserve(struct csv_ids *set, uint64_t n)
{
	size_t slots = 1024;
	while (slots < CSV_IDS_RESERVE_MAX && (uint64_t)slots * 3 < n * 4)
		slots *= 2;
	if (set->slot && slots <= set->mask + 1)
		return FF_OK;
	return csv_ids_resize(set, slots);
}

static inline void csv_ids_prefetch(const struct csv_ids *set, uint64_t hash)
{
	if (set->slot)
		__builtin_prefetch(&set->slot[hash & set->mask]);
}

/* Adds s (hash h); FF_EEXIST (and *first = its line) when it was there already. */
static int csv_ids_add(struct csv_ids *set, const char *s, size_t n, uint64_t h, uint64_t line,
		       uint64_t *first)
{
	if ((set->used + 1) * 4 > (set->slot ? set->mask + 1 : 0) * 3) {
		int ret = csv_ids_grow(set);
		if (ret)
			return ret;
	}
	size_t i = (size_t)h & set->mask;
	uint64_t tag = h & ~CSV_IDS_OFF_MASK;
	for (uint64_t o; (o = set->slot[i]); i = (i + 1) & set->mask) {
		if ((o & ~CSV_IDS_OFF_MASK) != tag)
			continue;
		const char *r = set->arena + (o & CSV_IDS_OFF_MASK) - 1;
		uint32_t len;
		memcpy(&len, r + 8, 4);
		if (len == n && !memcmp(r + 12, s, n)) {
			memcpy(first, r, 8);
			return FF_EEXIST;
		}
	}
	size_t need = set->len + 12 + n;
	if (need >= CSV_IDS_OFF_MASK || n > UINT32_MAX)
		return FF_ENOMEM;
	if (need > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : (size_t)1 << 16;
		while (cap < need)
			cap *= 2;
		char *a = ff_realloc(set->arena, cap);
		if (!a)
			return FF_ENOMEM;
		set->arena = a;
		set->cap = cap;
	}
	uint32_t len = (uint32_t)n;
	memcpy(set->arena + set->len, &line, 8);
	memcpy(set->arena + set->len + 8, &len, 4);
	memcpy(set->arena + set->len + 12, s, n);
	set->slot[i] = tag | (set->len + 1);
	set->len = need;
	set->used++;
	return FF_OK;
}

/* ------------------------------------------------------------------ state */

/* The first error of a chunk, reported when the chunk's turn comes. */
struct csv_fail {
	int code;              /* FF_OK: none */
	bool at_line;          /* `what` gets " at 'file' line L[, column K]" */
	uint64_t rel;          /* the failing line: rows of the chunk before it */
	size_t col;            /* 0-based, SIZE_MAX: none */
	const char *id;        /* the failing row's id when it was read before the
				* error: its duplicate is reported first */
	size_t id_len;
	uint64_t id_hash;
	char what[200];        /* or the whole message when !at_line */
};

/*
 * One block of parsed rows, with the hash of each row's id. Numbers go into
 * the block's columns through the column encoder (ff__enc_put): st[k] is
 * the state of source column k's table column (int32 mantissas at a scale,
 * or doubles), enc what the writer is told at commit.
 */
struct csv_out {
	struct ff__block blk;
	uint64_t *hash;        /* cap entries, without extend_sid only */
	uint8_t *st;           /* ncols entries (the id column's unused) */
	uint8_t *enc;          /* d + 2 entries: blk.enc */
};

struct csv_imp;

/*
 * A slot: the input buffer and the blocks of one chunk, parsed by one
 * thread and later committed by whichever thread is free then.
 */
struct csv_work {
	struct csv_imp *c;
	bool busy;             /* holds a chunk (under c->mu) */
	bool ready;            /* its chunk is parsed, waiting for its turn */
	char *buf;             /* input read: cap bytes + 1 + FF__CSV_PAD */
	size_t cap;
	const char *in;        /* the chunk's input: in c->map, or buf */
	/* the chunk being parsed */
	uint64_t idx;
	uint64_t hi;           /* its end in the file */
	unsigned part;
	uint64_t rows;
	uint64_t bytes;        /* of the rows */
	bool no_final_nl;
	struct csv_out *out;
	size_t nout, nalloc;   /* blocks used by the chunk / allocated */
	struct csv_fail fail;
	/* row scratch, one entry per source column */
	double **dst;
	uint32_t *dpos;        /* where each field ends (csv_index); dpos[-1] = UINT32_MAX */
	uint32_t *dpos_mem;
	bool simd;             /* ff__csv_fixed8 on runs of 8 features */
	const char *row_id;    /* the current row's id once read */
	size_t row_id_len;
	uint64_t row_id_hash;
};

struct csv_imp {
	const char *file;
	const struct ff_csv_opts *o;
	struct ff_error *err;
	char delim;
	int fd;
	uint64_t fsize;
	const char *map;       /* the whole file, read-only; NULL: read with pread */
	uint64_t map_dropped;  /* its pages below are out of the resident set */
	/* header */
	char *header_raw;      /* the header line as in the file, without '\n' */
	size_t ncols;
	char **names;          /* ncols owned names */
	int *layout;           /* ncols: FF__COL_* or feature index */
	uint8_t *kind;         /* ncols: enum csv_kind */
	uint8_t *featrun;      /* ncols: features from column k on (at most 8) */
	size_t id_col;
	bool label_int, label_bool;
	struct ff_schema schema;
	/* header input */
	char *buf;
	size_t cap, len, pos;  /* pos: first unparsed byte */
	uint64_t buf_off;      /* file offset of buf[0] */
	bool eof;
	bool final_newline;
	uint64_t line;         /* number of the next line (1-based) */
	uint64_t data_off;     /* file offset of the first data line */
	/* chunks */
	size_t chunk;
	size_t blk_cap;
	pthread_mutex_t mu;
	pthread_cond_t cv;     /* broadcast: a chunk parsed or committed, or stop */
	struct csv_work *slots;
	unsigned nslots;
	bool committing;       /* a thread is committing chunk `turn` */
	uint64_t next_idx;     /* index of the next chunk to claim */
	uint64_t next_lo;      /* its start */
	unsigned next_part;
	uint64_t turn;         /* index of the next chunk to commit */
	bool stop;             /* a commit failed: everyone stops */
	atomic_bool cancel;    /* the same, polled while parsing */
	int ret;
	/* output (the thread committing) */
	struct ff_table_writer *w;
	char sid_prefix[33];
	struct csv_ids ids;
	uint64_t rows;
};

/* "what at 'file' line L[, column K 'name']" */
FF_PRINTF(4, 5)
static int csv_err(struct csv_imp *c, uint64_t line, size_t col, const char *fmt, ...)
{
	char what[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (col == SIZE_MAX)
		return ff_error_set(c->err, FF_EDATA, "%s at '%s' line %llu", what, c->file,
				    (unsigned long long)line);
	if (c->names && col < c->ncols)
		return ff_error_set(c->err, FF_EDATA, "%s at '%s' line %llu, column %zu '%.40s'",
				    what, c->file, (unsigned long long)line, col + 1, c->names[col]);
	return ff_error_set(c->err, FF_EDATA, "%s at '%s' line %llu, column %zu", what, c->file,
			    (unsigned long long)line, col + 1);
}

/* Copies at most CSV_SHOW bytes of the field at p (to a delimiter or le). */
static void csv_show(char delim, const char *p, const char *le, char out[CSV_SHOW + 4])
{
	size_t n = 0;
	while (p + n < le && p[n] != delim && n < CSV_SHOW)
		n++;
	memcpy(out, p, n);
	bool more = p + n < le && p[n] != delim;
	if (more)
		memcpy(out + n, "...", 3);
	out[n + (more ? 3 : 0)] = '\0';
}

/* --------------------------------------------------------------- header */

/* Reads more input behind the unparsed rest (moved to the front). */
static int csv_fill(struct csv_imp *c)
{
	if (c->pos) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->buf_off += c->pos;
		c->len -= c->pos;
		c->pos = 0;
	}
	while (!c->eof && c->len < c->cap) {
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ff_error_set(c->err, ff_from_errno(errno), "cannot read '%s': %s",
					    c->file, strerror(errno));
		if (n == 0)
			c->eof = true;
		c->len += (size_t)n;
	}
	return FF_OK;
}

/* Delimiters in the first line_max bytes of a too long line (its column). */
static size_t csv_long_col(const struct csv_imp *c, const char *p, size_t avail)
{
	size_t col = 0;
	for (size_t i = 0; i < c->o->line_max && i < avail; i++)
		col += p[i] == c->delim;
	return col;
}

/*
 * Finds the first line: *start and *eol ('\n', or a sentinel added after a
 * last line without one). 0 for an empty file.
 */
static int csv_first_line(struct csv_imp *c, char **start, char **eol)
{
	for (;;) {
		char *p = c->buf + c->pos;
		size_t avail = c->len - c->pos;
		char *nl = memchr(p, '\n', avail);
		if (nl) {
			if ((size_t)(nl - p) + 1 > c->o->line_max)
				break;
			*start = p;
			*eol = nl;
			return 1;
		}
		if (avail > c->o->line_max)
			break;
		if (c->eof) {
			if (!avail)
				return 0;
			p[avail] = '\n'; /* the buffer keeps one spare byte */
			c->len++;
			c->final_newline = false;
			continue;
		}
		int ret = csv_fill(c);
		if (ret)
			return ret;
	}
	return csv_err(c, c->line, csv_long_col(c, c->buf + c->pos, c->len - c->pos),
		       "line longer than %zu bytes", c->o->line_max);
}

static void csv_free_names(struct csv_imp *c)
{
	for (size_t i = 0; c->names && i < c->ncols; i++)
		ff_free(c->names[i]);
	FF_FREE_AND_NULL(c->names);
}

/* Splits [p, e) by the delimiter into c->names. */
static int csv_split_names(struct csv_imp *c, const char *p, const char *e)
{
	size_t n = 1;
	for (const char *q = p; q < e; q++)
		n += *q == c->delim;
	if (!FF_ALLOC_ARRAY(c->names, n))
		return FF_ENOMEM;
	c->ncols = n;
	for (size_t k = 0; k < n; k++) {
		const char *q = memchr(p, c->delim, (size_t)(e - p));
		if (!q)
			q = e;
		if (!(c->names[k] = ff_strndup(p, (size_t)(q - p))))
			return FF_ENOMEM;
		p = q + 1;
	}
	return FF_OK;
}

static long csv_find(const struct csv_imp *c, const char *name)
{
	for (size_t k = 0; k < c->ncols; k++)
		if (!strcmp(c->names[k], name))
			return (long)k;
	return -1;
}

/* Reads the header (or makes names) and decides every column's role. */
static int csv_header(struct csv_imp *c)
{
	const struct ff_csv_opts *o = c->o;
	char *s = NULL, *eol = NULL;
	int ret = csv_first_line(c, &s, &eol);
	if (ret < 0)
		return ret;
	if (ret == 0)
		return csv_err(c, 1, SIZE_MAX, "empty file (no %s)", o->head ? "header" : "rows");
	char *le = eol > s && eol[-1] == '\r' ? eol - 1 : eol;
	char *p = s;
	if (c->buf_off + c->pos == 0 && le - s >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		p += 3; /* a UTF-8 byte order mark is not part of the first name */
	if (o->head) {
		if (!(c->header_raw = ff_strndup(s, (size_t)(eol - s))))
			return FF_ENOMEM;
		if (!ff__utf8_ok(c->header_raw) || memchr(s, '\0', (size_t)(eol - s)))
			return csv_err(c, 1, SIZE_MAX, "header is not UTF-8 text");
		if ((ret = csv_split_names(c, p, le)))
			return ret;
		c->pos += (size_t)(eol - s) + 1;
		c->line++;
	} else if (o->header) {
		if ((ret = csv_split_names(c, o->header, o->header + strlen(o->header))))
			return ret;
	} else {
		size_t n = 1;
		for (const char *q = p; q < le; q++)
			n += *q == c->delim;
		if (!FF_ALLOC_ARRAY(c->names, n))
			return FF_ENOMEM;
		c->ncols = n;
		for (size_t k = 0; k < n; k++)
			if (!(c->names[k] = k ? ff_asprintf("x%zu", k - 1) : ff_strdup("id")))
				return FF_ENOMEM;
	}
	c->data_off = c->buf_off + c->pos;
	for (size_t k = 0; k < c->ncols; k++) {
		if (!*c->names[k])
			return csv_err(c, 1, k, "empty column name");
		for (size_t m = 0; m < k; m++)
			if (!strcmp(c->names[m], c->names[k]))
				return csv_err(c, 1, k, "duplicate column name '%.40s'", c->names[k]);
	}
	return FF_OK;
}

static int csv_roles(struct csv_imp *c)
{
	const struct ff_csv_opts *o = c->o;
	long id = 0, label = -1, weight = -1;
	if (o->match_id_name) {
		if ((id = csv_find(c, o->match_id_name)) < 0)
			return csv_err(c, 1, SIZE_MAX, "match id column '%.40s' not in header",
				       o->match_id_name);
	} else if (!o->extend_sid && o->sample_id_name) {
		if ((id = csv_find(c, o->sample_id_name)) < 0)
			return csv_err(c, 1, SIZE_MAX, "sample id column '%.40s' not in header",
				       o->sample_id_name);
	}
	if (o->label_name && (label = csv_find(c, o->label_name)) < 0)
		return csv_err(c, 1, SIZE_MAX, "label column '%.40s' not in header", o->label_name);
	if (o->weight_name && (weight = csv_find(c, o->weight_name)) < 0)
		return csv_err(c, 1, SIZE_MAX, "weight column '%.40s' not in header",
			       o->weight_name);
	if (label == id || weight == id)
		return csv_err(c, 1, (size_t)id, "id column cannot be the label or the weight");
	if (label >= 0 && label == weight)
		return csv_err(c, 1, (size_t)label, "label column cannot be the weight");
	const char *sid_name = c->names[id];
	if (o->extend_sid) {
		sid_name = o->sample_id_name ? o->sample_id_name : "sid";
		if (csv_find(c, sid_name) >= 0)
			return csv_err(c, 1, (size_t)csv_find(c, sid_name),
				       "sample id name '%.40s' already in header (extend_sid)",
				       sid_name);
	}
	int ret = ff_schema_set(&c->schema, sid_name, c->names[id],
				label >= 0 ? c->names[label] : NULL,
				weight >= 0 ? c->names[weight] : NULL);
	if (ret)
		return ret;
	if (label >= 0 && o->label_type) {
		ff_free(c->schema.label_type);
		if (!(c->schema.label_type = ff_strdup(o->label_type)))
			return FF_ENOMEM;
	}
	if (o->dtype) {
		ff_free(c->schema.dtype);
		if (!(c->schema.dtype = ff_strdup(o->dtype)))
			return FF_ENOMEM;
	}
	if (!FF_ALLOC_ARRAY(c->layout, c->ncols) || !FF_ALLOC_ARRAY(c->kind, c->ncols))
		return FF_ENOMEM;
	c->id_col = (size_t)id;
	for (size_t k = 0; k < c->ncols; k++) {
		if ((long)k == id) {
			c->layout[k] = FF__COL_ID;
			c->kind[k] = CSV_K_ID;
		} else if ((long)k == label) {
			c->layout[k] = FF__COL_LABEL;
			c->kind[k] = CSV_K_LABEL;
		} else if ((long)k == weight) {
			c->layout[k] = FF__COL_WEIGHT;
			c->kind[k] = CSV_K_WEIGHT;
		} else {
			c->layout[k] = (int)c->schema.n_features;
			c->kind[k] = CSV_K_FEATURE;
			if ((ret = ff_schema_add_feature(&c->schema, c->names[k])))
				return ret;
		}
	}
	if ((ret = ff_schema_validate(&c->schema, c->err))) {
		ff_error_prefix(c->err, "'%s' line 1", c->file);
		return ret;
	}
	if (!(c->featrun = ff_calloc(1, c->ncols)))
		return FF_ENOMEM;
	for (size_t k = 0; k < c->ncols; k++)
		while (c->featrun[k] < 8 && k + c->featrun[k] < c->ncols &&
		       c->kind[k + c->featrun[k]] == CSV_K_FEATURE)
			c->featrun[k]++;
	const char *lt = c->schema.label_type;
	c->label_int = label >= 0 && !strncmp(lt, "int", 3);
	c->label_bool = label >= 0 && !strcmp(lt, "bool");
	return FF_OK;
}

/* Partition byte boundary p of the data (offset at which partition p starts). */
static uint64_t csv_bound(const struct csv_imp *c, unsigned p)
{
	uint64_t data = c->fsize - c->data_off, np = c->o->partitions;
	return c->data_off + data / np * p + data % np * p / np;
}

/* ------------------------------------------------------------ one chunk */

/* Records the chunk's error (a bad line) for its turn; returns FF_EDATA. */
FF_PRINTF(3, 4)
static int csv_fail(struct csv_work *wk, size_t col, const char *fmt, ...)
{
	struct csv_fail *f = &wk->fail;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);
	va_end(ap);
	f->code = FF_EDATA;
	f->at_line = true;
	f->rel = wk->rows;
	f->col = col;
	f->id = wk->row_id;
	f->id_len = wk->row_id_len;
	f->id_hash = wk->row_id_hash;
	return FF_EDATA;
}

/* Points dst[k] at the column of block b that source column k fills. */
static void csv_bind(struct csv_work *wk, struct ff__block *b)
{
	const struct csv_imp *c = wk->c;
	for (size_t k = 0; k < c->ncols; k++) {
		int l = c->layout[k];
		wk->dst[k] = l == FF__COL_ID ? NULL :
			     l == FF__COL_LABEL ? b->vals :
			     l == FF__COL_WEIGHT ? b->vals + b->cap :
			     ff__block_col(b, (size_t)l);
	}
}

/* Starts the next block of the chunk (allocated on first use). */
static int csv_next_out(struct csv_work *wk)
{
	struct csv_imp *c = wk->c;
	if (wk->nout == wk->nalloc) {
		struct csv_out *out = ff_realloc(wk->out, (wk->nalloc + 1) * sizeof(*out));
		if (!out)
			return FF_ENOMEM;
		wk->out = out;
		struct csv_out *o = &out[wk->nalloc];
		memset(o, 0, sizeof(*o));
		int ret = ff__block_init(&o->blk, c->schema.n_features, c->ncols - 1, true,
					 c->o->extend_sid, c->blk_cap);
		if (!ret && !c->o->extend_sid && !FF_ALLOC_ARRAY(o->hash, c->blk_cap))
			ret = FF_ENOMEM;
		if (!ret && (!(o->st = ff_malloc(c->ncols)) ||
			     !(o->enc = ff_calloc(1, c->schema.n_features + 2))))
			ret = FF_ENOMEM;
		if (ret) {
			ff__block_release(&o->blk);
			ff_free(o->hash);
			ff_free(o->st);
			ff_free(o->enc);
			return ret;
		}
		wk->nalloc++;
	}
	struct csv_out *o = &wk->out[wk->nout++];
	ff__block_reset(&o->blk);
	memset(o->st, FF__ENCST_UNSET, c->ncols);
	csv_bind(wk, &o->blk);
	return FF_OK;
}

/* The id field [q, e) of row i of block o. */
static int csv_id(struct csv_work *wk, struct csv_out *o, size_t i, const char *q,
		  const char *e)
{
	const struct csv_imp *c = wk->c;
	struct ff__block *b = &o->blk;
	size_t n = (size_t)(e - q);
	if (!n)
		return csv_fail(wk, c->id_col, "empty id");
	if (c->o->extend_sid) /* the sample ids are numbered at commit */
		return ff__block_put_str(&b->mids, b->mid_off, i, q, n);
	uint64_t h = csv_hash(q, n);
	o->hash[i] = h;
	wk->row_id = q;
	wk->row_id_len = n;
	wk->row_id_hash = h;
	return ff__block_put_str(&b->sid, b->sid_off, i, q, n);
}

/* Message for a field at q that is not a number. */
static int csv_bad_num(struct csv_work *wk, size_t k, const char *q, const char *le, bool range)
{
	const struct csv_imp *c = wk->c;
	char show[CSV_SHOW + 4];
	csv_show(c->delim, q, le, show);
	const char *t = show;
	while (*t == ' ' || *t == '\t' || *t == '+' || *t == '-')
		t++;
	bool nonfinite = range || !strncasecmp(t, "nan", 3) || !strncasecmp(t, "inf", 3);
	const char *role = c->kind[k] == CSV_K_LABEL ? "label" :
			   c->kind[k] == CSV_K_WEIGHT ? "weight" : "feature";
	if (!*show)
		return csv_fail(wk, k, "empty %s value", role);
	return csv_fail(wk, k, "%s %s value '%s'", nonfinite ? "non-finite" : "non-numeric", role,
			show);
}

/*
 * Any numeric field the fast path did not take: ff__csv_num, then spaces
 * around the number, then the label's type. Sets *v, *code and *end.
 */
static int csv_general(struct csv_work *wk, size_t k, const char *q, const char *le, double *v,
		       int *code, const char **end)
{
	const struct csv_imp *c = wk->c;
	char delim = c->delim;
	const char *e = ff__csv_num(q, v, code);
	if (!e || e == q || (*e != delim && e != le)) {
		/* spaces around a number are accepted (not canonical) */
		const char *t = q;
		while (t < le && (*t == ' ' || *t == '\t') && *t != delim)
			t++;
		e = t < le ? ff__csv_num(t, v, code) : t;
		if (e && e != t)
			while (e < le && (*e == ' ' || *e == '\t') && *e != delim)
				e++;
		if (!e || e == t || (*e != delim && e != le))
			return csv_bad_num(wk, k, q, le, !e);
		*code = -1;
	}
	if (c->kind[k] == CSV_K_LABEL &&
	    ((c->label_int && *v != floor(*v)) || (c->label_bool && *v != 0 && *v != 1))) {
		char show[CSV_SHOW + 4];
		csv_show(delim, q, le, show);
		return csv_fail(wk, k, "label value '%s' is not a%s (label_type %s)", show,
				c->label_bool ? " bool" : "n integer", c->schema.label_type);
	}
	*end = e;
	return FF_OK;
}

/* Room after the first max entries of csv_index's output: it stores four
 * offsets per window without looking at how many there are. */
#define CSV_INDEX_SLACK 80 /* 40 for csv_index, 80 for ff__csv_index8 */

/* Set bits of m (the builtin is a call on baseline x86-64). */
static inline uint32_t csv_popcount(uint32_t m)
{
	m = m - ((m >> 1) & 0x55555555u);
	m = (m & 0x33333333u) + ((m >> 2) & 0x33333333u);
	return (((m + (m >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}

/*
 * Offsets from q of the delimiters in [q, le), the first max of them into
 * pos (which has max + CSV_INDEX_SLACK entries); returns how many there
 * are. Reads up to 31 bytes past le (within FF__CSV_PAD of the line's
 * end).
 */
static size_t csv_index(const char *q, const char *le, char delim, uint32_t *pos, size_t max)
{
	size_t n = 0, len = (size_t)(le - q);
#if defined(__SSE2__)
	const __m128i d = _mm_set1_epi8(delim);
	for (size_t i = 0; i < len; i += 32) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(q + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(q + i + 16));
		uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a, d)) |
			     (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(b, d)) << 16;
		if (len - i < 32)
			m &= ((uint32_t)1 << (len - i)) - 1;
		if (!m)
			continue;
		uint32_t cnt = csv_popcount(m);
		if (n <= max) { /* room for 32 more: CSV_INDEX_SLACK */
			/* four at once, whatever the count: no branch per delimiter
			 * (bit 32 stays set: the offsets of missing ones are defined,
			 * and ignored) */
			const uint64_t stop = (uint64_t)1 << 32;
			uint64_t mm = (uint64_t)m | stop;
			for (int k = 0; k < 4; k++) {
				pos[n + (size_t)k] = (uint32_t)(i + (unsigned)__builtin_ctzll(mm));
				mm = (mm & (mm - 1)) | stop;
			}
			for (size_t k = 4; k < cnt; k++) {
				pos[n + k] = (uint32_t)(i + (unsigned)__builtin_ctzll(mm));
				mm &= mm - 1;
			}
			n += cnt;
			continue;
		}
		for (; m; m &= m - 1) {
			if (n < max)
				pos[n] = (uint32_t)(i + (unsigned)__builtin_ctz(m));
			n++;
		}
	}
#else
	for (size_t i = 0; i < len; i++) {
		if (q[i] != delim)
			continue;
		if (n < max)
			pos[n] = (uint32_t)i;
		n++;
	}
#endif
	return n;
}

/*
 * Field k of row i when it is not a short fixed-notation feature: the id,
 * or any number through csv_general. Kept out of line: the row loop stays
 * small.
 */
__attribute__((noinline))
static int csv_other(struct csv_work *wk, struct csv_out *o, size_t i, size_t k, const char *f,
		     const char *e, const char *le, uint8_t *codes, bool *canon)
{
	const struct csv_imp *c = wk->c;
	if (c->kind[k] == CSV_K_ID)
		return csv_id(wk, o, i, f, e);
	double v;
	int code;
	int ret = csv_general(wk, k, f, le, &v, &code, &e);
	if (ret)
		return ret;
	ff__enc_put(&o->st[k], wk->dst[k], i, v, false, 0, code > 0 ? (unsigned)code : 0);
	*canon &= code >= 0;
	codes[k - (k > c->id_col)] = (uint8_t)(code < 0 ? 0 : code);
	return FF_OK;
}

/*
 * A short fixed-notation value w / 10^(x & 31) (negative when x & 32) that
 * the column's state did not take as it is: the encoder decides (a new
 * scale, or doubles from now on).
 */
__attribute__((noinline))
static void csv_put_slow(uint8_t *st, double *col, size_t i, uint64_t w, unsigned x)
{
	if (*st == FF__ENCST_F64) {
		/* w < 2^53: the signed conversion is exact (and short) */
		col[i] = (double)(int64_t)w / csv_div[x];
		return;
	}
	if (!w && (x & 32)) /* -0.0 has no int32 mantissa */
		ff__enc_put(st, col, i, -0.0, false, 0, x & 31);
	else
		ff__enc_put(st, col, i, 0, true, x & 32 ? -(int64_t)w : (int64_t)w, x & 31);
}

/* Stores a short fixed-notation feature value w / 10^(x & 31) (ff__csv_fixed). */
static inline void csv_put_fixed(uint8_t *st, double *col, size_t i, uint64_t w, unsigned x)
{
	/* the column holds mantissas at this scale: the value is exactly
	 * w / 10^nf, stored as the signed mantissa */
	if (__builtin_expect(*st == (x & 31) && w <= INT32_MAX && (w || x < 32), 1))
		((int32_t *)(void *)col)[i] = (int32_t)(x & 32 ? -(int64_t)w : (int64_t)w);
	else
		csv_put_slow(st, col, i, w, x);
}

/* Field k of row i (line at q, ends in wk->dpos), one at a time. */
static inline int csv_field(struct csv_work *wk, struct csv_out *o, size_t i, size_t k,
			    const char *q, const char *le, uint8_t *codes, bool *canon,
			    unsigned *lead0s)
{
	const struct csv_imp *c = wk->c;
	/* dpos[-1] is UINT32_MAX: field 0 starts at q */
	const char *f = q + (uint32_t)(wk->dpos[(ptrdiff_t)k - 1] + 1);
	const char *e = q + wk->dpos[k];
	uint64_t w;
	unsigned x;
	bool lead0;
	if (__builtin_expect(c->kind[k] == CSV_K_FEATURE, 1) && ff__csv_fixed(f, e, &w, &x, &lead0)) {
		csv_put_fixed(&o->st[k], wk->dst[k], i, w, x);
		*lead0s |= lead0;
		codes[k - (k > c->id_col)] = (uint8_t)(lead0 ? 0 : x & 31);
		return FF_OK;
	}
	return csv_other(wk, o, i, k, f, e, le, codes, canon);
}

/* Parses the line [s, eol) (at file offset off) as the chunk's next row. */
static int csv_row(struct csv_work *wk, const char *s, const char *eol, uint64_t off)
{
	const struct csv_imp *c = wk->c;
	struct csv_out *o = &wk->out[wk->nout - 1];
	struct ff__block *b = &o->blk;
	size_t len = (size_t)(eol - s);
	int ret;
	if (b->n == b->cap || b->sid.len + b->mids.len + b->txt.len + len + 64 >
				      FF__BLOCK_STR_BYTES) {
		if ((ret = csv_next_out(wk)))
			return ret;
		o = &wk->out[wk->nout - 1];
		b = &o->blk;
	}
	size_t i = b->n;
	bool cr = eol > s && eol[-1] == '\r';
	const char *le = cr ? eol - 1 : eol;
	const char *q = s;
	bool canon = !cr;
	if (off == 0 && le - s >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
		q += 3;
		canon = false;
	}
	uint8_t *codes = b->codes + i * b->ncodes;
	double *const *dst = wk->dst;
	uint8_t *st = o->st;
	uint32_t *dpos = wk->dpos;
	size_t last = c->ncols - 1, idc = c->id_col;
	/* readable after the line: the buffer's padding (FF__CSV_PAD) */
	size_t avail = (size_t)(le - q) + FF__CSV_PAD;
	/* where every field ends, first: then no field waits for the one before */
	size_t nd = wk->simd ? ff__csv_index8(q, (size_t)(le - q), c->delim, dpos, c->ncols) :
			       csv_index(q, le, c->delim, dpos, c->ncols);
	size_t kmax = nd < last ? nd : last;
	if (nd <= last)
		dpos[nd] = (uint32_t)(le - q);
	unsigned lead0s = 0;
	for (size_t k = 0; k <= kmax;) {
		size_t cnt = kmax + 1 - k < 8 ? kmax + 1 - k : 8;
		if (wk->simd && c->featrun[k] >= cnt) {
			/* up to eight features at once; a field the vector path
			 * does not take goes the scalar way */
			int32_t m32[8];
			unsigned done = ff__csv_put8(q, avail, dpos + k, (unsigned)cnt, st + k, m32,
						     codes + k - (k > idc), &lead0s);
			if (done == 0xFF) {
				/* eight plain stores, no loop counter between them */
#pragma GCC unroll 8
				for (size_t j = 0; j < 8; j++)
					((int32_t *)(void *)dst[k + j])[i] = m32[j];
			} else {
				for (unsigned d = done; d; d &= d - 1) {
					size_t j = (unsigned)__builtin_ctz(d);
					((int32_t *)(void *)dst[k + j])[i] = m32[j];
				}
			}
			for (unsigned left = ~done & ((1u << cnt) - 1); left; left &= left - 1) {
				size_t kk = k + (unsigned)__builtin_ctz(left);
				if ((ret = csv_field(wk, o, i, kk, q, le, codes, &canon, &lead0s)))
					return ret;
			}
			k += cnt;
			continue;
		}
		if ((ret = csv_field(wk, o, i, k, q, le, codes, &canon, &lead0s)))
			return ret;
		k++;
	}
	canon &= !lead0s;
	if (nd != last)
		return csv_fail(wk, nd < last ? nd + 1 : c->ncols, "row has %zu columns, expected %zu",
				nd + 1, c->ncols);
	b->kind[i] = canon ? FF__TEXT_CODES : FF__TEXT_RAW;
	if ((ret = ff__block_put_str(&b->txt, b->text_off, i, s, canon ? 0 : len)))
		return ret;
	b->n = i + 1;
	wk->rows++;
	return FF_OK;
}

/* Reads up to n bytes at off into dst (fewer at the end of the file). */
static int csv_pread(struct csv_work *wk, char *dst, size_t n, uint64_t off, size_t *got)
{
	const struct csv_imp *c = wk->c;
	*got = 0;
	while (*got < n) {
		ssize_t r = pread(c->fd, dst + *got, n - *got, (off_t)(off + *got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			wk->fail.code = ff_from_errno(e);
			snprintf(wk->fail.what, sizeof(wk->fail.what), "cannot read '%s': %s", c->file,
				 strerror(e));
			return wk->fail.code;
		}
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return FF_OK;
}

/* Makes room for n bytes of input (plus the sentinel and the padding). */
static int csv_reserve(struct csv_work *wk, size_t n)
{
	if (n <= wk->cap)
		return FF_OK;
	size_t cap = wk->cap * 2 > n ? wk->cap * 2 : n;
	char *b = ff_realloc(wk->buf, cap + 1 + FF__CSV_PAD);
	if (!b)
		return FF_ENOMEM;
	memset(b + cap, 0, 1 + FF__CSV_PAD); /* only ever read as padding */
	wk->buf = b;
	wk->cap = cap;
	return FF_OK;
}

/*
 * Reads more of a line that starts at buf + pos and has no '\n' in the
 * first *have bytes of the buffer, until it has one, the file ends (a
 * sentinel '\n' is added) or the line is over line_max. Sets *nl (NULL for
 * a too long line).
 */
static int csv_tail(struct csv_work *wk, uint64_t start, size_t pos, size_t *have,
		    const char **nl)
{
	const struct csv_imp *c = wk->c;
	size_t lmax = c->o->line_max;
	*nl = NULL;
	for (;;) {
		size_t len = *have - pos;
		if (len > lmax)
			return FF_OK;
		uint64_t end = start + *have;
		size_t step = len > CSV_TAIL ? len : CSV_TAIL;
		if (step > lmax + 1 - len)
			step = lmax + 1 - len;
		if (end < c->fsize && step > c->fsize - end)
			step = (size_t)(c->fsize - end);
		size_t got = 0;
		int ret;
		if (end < c->fsize) {
			if ((ret = csv_reserve(wk, *have + step)) ||
			    (ret = csv_pread(wk, wk->buf + *have, step, end, &got)))
				return ret;
		}
		if (!got) {
			/* the end of the file: the last line has no '\n' */
			if (len + 1 > lmax)
				return FF_OK;
			wk->buf[*have] = '\n'; /* the buffer keeps one spare byte */
			*nl = wk->buf + *have;
			(*have)++;
			wk->no_final_nl = true;
			return FF_OK;
		}
		*nl = memchr(wk->buf + *have, '\n', got);
		*have += got;
		if (*nl)
			return FF_OK;
	}
}

/*
 * The chunk's input from file offset start, to the end of the last line
 * that starts before hi: in the file's map when that line ends with a
 * '\n' and the parsers' padding after it is still in the file (every
 * chunk but the last, as a rule: no copy, which was a tenth of an
 * import's CPU), else read into wk->buf (to hi; csv_tail reads the rest).
 * Sets wk->in and *have.
 */
static int csv_input(struct csv_work *wk, uint64_t start, uint64_t hi, size_t *have)
{
	const struct csv_imp *c = wk->c;
	size_t lmax = c->o->line_max;
	if (c->map && hi < c->fsize) {
		uint64_t look = c->fsize - (hi - 1);
		const char *nl = memchr(c->map + hi - 1, '\n', look < lmax + 1 ? look : lmax + 1);
		uint64_t end = nl ? (uint64_t)(nl - c->map) + 1 : 0;
		if (nl && end + FF__CSV_PAD <= c->fsize) {
			wk->in = c->map + start;
			*have = (size_t)(end - start);
			return FF_OK;
		}
	}
	int ret = csv_reserve(wk, (size_t)(hi - start));
	if (!ret)
		ret = csv_pread(wk, wk->buf, (size_t)(hi - start), start, have);
	wk->in = wk->buf;
	return ret;
}

/*
 * After the commit of the chunk that ends at hi (caller holds mu): no
 * chunk reads the map below hi - 1 any more (chunks are committed in file
 * order, and the next one reads from a byte before its start), so those
 * pages go out of this process's resident set, at least CSV_MAP_DROP bytes
 * at a time (each call costs the other threads a TLB flush). They stay in
 * the page cache. The import's memory stays bounded. The madvise runs
 * outside mu, once the next commit may start.
 */
static void csv_drop_input(struct csv_imp *c, uint64_t hi)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t lim = (hi - 1) & ~(page - 1), lo = c->map_dropped;
	if (!c->map || lim < lo + CSV_MAP_DROP)
		return;
	c->map_dropped = lim;
	pthread_mutex_unlock(&c->mu);
	(void)madvise((void *)(uintptr_t)(c->map + lo), (size_t)(lim - lo), MADV_DONTNEED);
	pthread_mutex_lock(&c->mu);
}

/*
 * Seals the chunk's blocks (their values are final): the packing and
 * checksums are done here, on the parsing threads, not in the commit that
 * one thread at a time runs in file order.
 */
static void csv_seal(struct csv_work *wk)
{
	const struct csv_imp *c = wk->c;
	for (size_t k = 0; k < wk->nout; k++) {
		struct csv_out *o = &wk->out[k];
		for (size_t m = 0; m < c->ncols; m++) {
			int l = c->layout[m];
			if (l != FF__COL_ID)
				o->enc[l == FF__COL_LABEL ? 0 : l == FF__COL_WEIGHT ? 1 : 2 + (size_t)l] =
					ff__enc_of(o->st[m]);
		}
		o->blk.enc = o->enc;
		if (o->blk.n)
			ff__writer_seal_block(c->w, &o->blk);
	}
}

/*
 * Parses the lines that start in [lo, hi) into the slot's blocks. The
 * first error is left in wk->fail; parsing stops there.
 */
static void csv_parse(struct csv_work *wk, uint64_t lo, uint64_t hi)
{
	struct csv_imp *c = wk->c;
	size_t lmax = c->o->line_max;
	memset(&wk->fail, 0, sizeof(wk->fail));
	wk->rows = 0;
	wk->bytes = 0;
	wk->nout = 0;
	wk->no_final_nl = false;
	int ret = csv_next_out(wk);
	uint64_t start = lo > c->data_off ? lo - 1 : lo;
	size_t have = 0, pos = 0;
	if (!ret)
		ret = csv_input(wk, start, hi, &have);
	if (!ret && start < lo) {
		/* a line starts at lo only when the byte before is '\n' */
		const char *nl = memchr(wk->in, '\n', have);
		pos = nl ? (size_t)(nl - wk->in) + 1 : have;
	}
	size_t pf = pos; /* prefetched up to */
	while (!ret && pos < have && start + pos < hi) {
		if (atomic_load_explicit(&c->cancel, memory_order_relaxed))
			return;
		wk->row_id = NULL;
		const char *s = wk->in + pos;
		/* each cache line once, CSV_AHEAD bytes before it is parsed: the
		 * hardware prefetcher stops at 4 KiB pages, and mapped input
		 * comes from memory, not from a cache a copy just filled (a
		 * tenth of the import's time) */
		for (size_t end = pos + CSV_AHEAD < have ? pos + CSV_AHEAD : have; pf < end; pf += 64)
			__builtin_prefetch(wk->in + pf);
		const char *nl = memchr(s, '\n', have - pos);
		if (!nl || (size_t)(nl - s) + 1 > lmax) {
			if (!nl) {
				/* read into buf (a mapped chunk ends after a '\n') */
				if ((ret = csv_tail(wk, start, pos, &have, &nl)))
					break;
				wk->in = wk->buf; /* csv_tail may have moved it */
				s = wk->in + pos;
			}
			if (!nl || (size_t)(nl - s) + 1 > lmax) {
				size_t col = 0;
				for (size_t k = 0; k < lmax && pos + k < have; k++)
					col += s[k] == c->delim;
				csv_fail(wk, col, "line longer than %zu bytes", lmax);
				return;
			}
		}
		if (nl == s || (nl == s + 1 && *s == '\r')) {
			csv_fail(wk, SIZE_MAX, "empty line");
			return;
		}
		if ((ret = csv_row(wk, s, nl, start + pos)))
			break;
		wk->bytes += (size_t)(nl - s) + 1;
		pos = (size_t)(nl - wk->in) + 1;
	}
	if (ret && !wk->fail.code)
		wk->fail.code = ret; /* no memory, or the read failed (message set) */
}

/* A slot's chunk: its rows parsed, its blocks sealed. */
static void csv_chunk(struct csv_work *wk, uint64_t lo, uint64_t hi)
{
	csv_parse(wk, lo, hi);
	csv_seal(wk);
}

/* ----------------------------------------------------------------- commit */

static char *csv_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* extend_sid: the sample id of row i is the prefix and its global index. */
static int csv_number_sids(struct csv_imp *c, struct ff__block *b, uint64_t row0)
{
	ff_buf_reset(&b->sid);
	for (size_t i = 0; i < b->n; i++) {
		char num[24], *s = csv_u64(num + sizeof(num), row0 + i);
		size_t nl = (size_t)(num + sizeof(num) - s);
		int ret;
		if ((ret = ff__block_put_str(&b->sid, b->sid_off, i, c->sid_prefix, 32)) ||
		    (ret = ff_buf_add(&b->sid, s, nl)))
			return ret;
		b->sid_off[i + 1] = (uint32_t)b->sid.len;
	}
	return FF_OK;
}

static int csv_dup(struct csv_imp *c, const char *id, size_t n, uint64_t line, uint64_t first)
{
	char show[CSV_SHOW + 4];
	csv_show(c->delim, id, id + n, show);
	return csv_err(c, line, c->id_col, "duplicate id '%s' (first at line %llu)", show,
		       (unsigned long long)first);
}

/* Adds the ids of block o (its first row on line line0) to the set. */
static int csv_check_ids(struct csv_imp *c, const struct csv_out *o, uint64_t line0)
{
	const struct ff__block *b = &o->blk;
	for (size_t i = 0; i < b->n; i++) {
		if (i + CSV_PREFETCH < b->n)
			csv_ids_prefetch(&c->ids, o->hash[i + CSV_PREFETCH]);
		const char *s = b->sid.buf + b->sid_off[i];
		size_t n = b->sid_off[i + 1] - b->sid_off[i];
		uint64_t first;
		int ret = csv_ids_add(&c->ids, s, n, o->hash[i], line0 + i, &first);
		if (ret == FF_EEXIST)
			return csv_dup(c, s, n, line0 + i, first);
		if (ret)
			return ret;
	}
	return FF_OK;
}

/* The chunk's error, now that its line number is known. */
static int csv_report(struct csv_imp *c, const struct csv_fail *f, uint64_t line0)
{
	if (!f->at_line)
		return f->what[0] ? ff_error_set(c->err, f->code, "%s", f->what) : f->code;
	uint64_t line = line0 + f->rel;
	if (f->id && !c->o->extend_sid) {
		uint64_t first;
		int ret = csv_ids_add(&c->ids, f->id, f->id_len, f->id_hash, line, &first);
		if (ret == FF_EEXIST)
			return csv_dup(c, f->id, f->id_len, line, first);
		if (ret)
			return ret;
	}
	return csv_err(c, line, f->col, "%s", f->what);
}

/* Writes the chunk's rows (its turn has come) and reports its error. */
static int csv_commit(struct csv_work *wk)
{
	struct csv_imp *c = wk->c;
	uint64_t line0 = c->line, row = 0;
	int ret = FF_OK;
	if (wk->rows && (ret = ff__writer_goto_partition(c->w, wk->part, c->err)))
		return ret;
	if (!c->rows && wk->rows && !c->o->extend_sid) {
		/* size the id set once for the rows the file seems to hold */
		uint64_t per_row = wk->bytes / wk->rows + 1;
		if ((ret = csv_ids_reserve(&c->ids, (c->fsize - c->data_off) / per_row + 1)))
			return ret;
	}
	for (size_t k = 0; k < wk->nout; k++) {
		struct csv_out *o = &wk->out[k];
		struct ff__block *b = &o->blk;
		if (!b->n)
			continue;
		size_t n = b->n;
		if (c->o->extend_sid)
			ret = csv_number_sids(c, b, c->rows + row);
		else
			ret = csv_check_ids(c, o, line0 + row);
		if (ret || (ret = ff__writer_put_block(c->w, b, c->err)))
			return ret;
		row += n;
	}
	c->rows += row;
	c->line += row;
	if (wk->no_final_nl)
		c->final_newline = false;
	return wk->fail.code ? csv_report(c, &wk->fail, line0) : FF_OK;
}

/* ---------------------------------------------------------------- threads */

/* Claims the next chunk (caller holds mu): 1 and its range, 0 at the end. */
static int csv_claim(struct csv_imp *c, uint64_t *idx, uint64_t *lo, uint64_t *hi,
		     unsigned *part)
{
	if (c->stop || c->next_lo >= c->fsize)
		return 0;
	unsigned np = c->o->partitions, p = c->next_part;
	uint64_t l = c->next_lo;
	while (p + 1 < np && l >= csv_bound(c, p + 1))
		p++;
	uint64_t h = c->fsize - l > c->chunk ? l + c->chunk : c->fsize;
	if (p + 1 < np && h > csv_bound(c, p + 1))
		h = csv_bound(c, p + 1);
	*idx = c->next_idx++;
	*lo = l;
	*hi = h;
	*part = p;
	c->next_lo = h;
	c->next_part = p;
	return 1;
}

/* Ends the turn of the chunk just committed by slot wk (caller holds mu). */
static void csv_next_turn(struct csv_imp *c, struct csv_work *wk, int ret)
{
	if (ret) {
		c->stop = true;
		c->ret = ret;
		atomic_store(&c->cancel, true);
	}
	c->committing = false;
	wk->busy = wk->ready = false;
	c->turn++;
	/* the next chunk may be parsed already, and a slot is free */
	pthread_cond_broadcast(&c->cv);
}

/* The slot whose chunk is idx, parsed; NULL when it is not (caller holds mu). */
static struct csv_work *csv_ready(const struct csv_imp *c, uint64_t idx)
{
	for (unsigned s = 0; s < c->nslots; s++)
		if (c->slots[s].ready && c->slots[s].idx == idx)
			return &c->slots[s];
	return NULL;
}

static struct csv_work *csv_free_slot(const struct csv_imp *c)
{
	for (unsigned s = 0; s < c->nslots; s++)
		if (!c->slots[s].busy)
			return &c->slots[s];
	return NULL;
}

/*
 * A thread's loop: commit the next chunk when it is parsed and no one
 * commits, else parse a new chunk into a free slot, else wait. With one
 * slot more than threads, a thread whose chunk must wait for an earlier
 * one's commit parses the next chunk meanwhile, and the commit is done by
 * whoever is free: the threads never idle while there is work (a thread
 * waiting for its own turn idled 5-15 % of the import).
 */
static void csv_work_loop(struct csv_imp *c)
{
	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct csv_work *wk;
		uint64_t lo, hi;
		if (c->stop)
			break;
		if (!c->committing && (wk = csv_ready(c, c->turn))) {
			c->committing = true;
			pthread_mutex_unlock(&c->mu);
			uint64_t hi_done = wk->hi;
			int ret = csv_commit(wk);
			pthread_mutex_lock(&c->mu);
			csv_next_turn(c, wk, ret);
			csv_drop_input(c, hi_done);
			continue;
		}
		if ((wk = csv_free_slot(c)) && csv_claim(c, &wk->idx, &lo, &hi, &wk->part)) {
			wk->busy = true;
			wk->hi = hi;
			pthread_mutex_unlock(&c->mu);
			csv_chunk(wk, lo, hi);
			pthread_mutex_lock(&c->mu);
			wk->ready = true;
			if (wk->idx == c->turn)
				pthread_cond_broadcast(&c->cv);
			continue;
		}
		if (c->turn == c->next_idx && c->next_lo >= c->fsize)
			break; /* every chunk committed */
		pthread_cond_wait(&c->cv, &c->mu);
	}
	pthread_mutex_unlock(&c->mu);
}

static void *csv_thread(void *arg)
{
	csv_work_loop(arg);
	return NULL;
}

static int csv_work_init(struct csv_work *wk, struct csv_imp *c)
{
	memset(wk, 0, sizeof(*wk));
	wk->c = c;
	size_t n = c->ncols;
	wk->cap = c->chunk + 1 + CSV_TAIL;
	if (!(wk->buf = ff_malloc(wk->cap + 1 + FF__CSV_PAD)) || !FF_ALLOC_ARRAY(wk->dst, n) ||
	    !FF_ALLOC_ARRAY(wk->dpos_mem, n + CSV_INDEX_SLACK + 1))
		return FF_ENOMEM;
	wk->dpos_mem[0] = UINT32_MAX;
	wk->dpos = wk->dpos_mem + 1;
	wk->simd = ff__csv_simd_ok();
	memset(wk->buf + wk->cap, 0, 1 + FF__CSV_PAD);
	return FF_OK;
}

static void csv_work_release(struct csv_work *wk)
{
	for (size_t k = 0; k < wk->nalloc; k++) {
		ff__block_release(&wk->out[k].blk);
		ff_free(wk->out[k].hash);
		ff_free(wk->out[k].st);
		ff_free(wk->out[k].enc);
	}
	ff_free(wk->out);
	ff_free(wk->buf);
	ff_free(wk->dst);
	ff_free(wk->dpos_mem);
	memset(wk, 0, sizeof(*wk));
}

/*
 * Chunk size: CSV_CHUNK, or less when a chunk of the smallest rows possible
 * (one byte per field) would fill more than CSV_BLOCK_BUDGET of blocks.
 */
static size_t csv_chunk_size(const struct csv_imp *c)
{
	if (c->o->chunk_bytes)
		return c->o->chunk_bytes;
	size_t d = c->schema.n_features, n = c->ncols;
	size_t row_bytes = 8 * (d + 2) + n + 32;  /* values, codes, offsets, hash, kind */
	size_t rows = CSV_BLOCK_BUDGET / row_bytes;
	size_t chunk = rows * 2 * n;               /* a row takes 2 * n bytes at least */
	return chunk < CSV_CHUNK ? (chunk < 4096 ? 4096 : chunk) : CSV_CHUNK;
}

static unsigned csv_thread_count(const struct csv_imp *c)
{
	long n = c->o->threads ? (long)c->o->threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > CSV_THREADS_MAX)
		n = CSV_THREADS_MAX;
	uint64_t data = c->fsize > c->data_off ? c->fsize - c->data_off : 0;
	uint64_t chunks = (data + c->chunk - 1) / c->chunk;
	if (!c->o->threads && (uint64_t)n > chunks)
		n = chunks ? (long)chunks : 1;
	return (unsigned)n;
}

/* Parses and writes all rows: this thread and the threads it starts. */
static int csv_rows(struct csv_imp *c)
{
	c->chunk = csv_chunk_size(c);
	size_t d = c->schema.n_features;
	size_t cap = FF__BLOCK_VALUE_BYTES / (8 * (d + 2));
	c->blk_cap = cap < 16 ? 16 : cap > FF__BLOCK_ROWS_MAX ? FF__BLOCK_ROWS_MAX : cap;
	c->next_lo = c->data_off;
	unsigned nt = csv_thread_count(c);
	/* one slot more than threads (csv_work_loop); one thread needs one */
	unsigned ns = nt > 1 ? nt + 1 : 1;
	struct csv_work *wk;
	pthread_t *tid;
	if (!FF_ALLOC_ARRAY(wk, ns))
		return FF_ENOMEM;
	if (!FF_ALLOC_ARRAY(tid, nt)) {
		ff_free(wk);
		return FF_ENOMEM;
	}
	int ret = FF_OK;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	unsigned n = 0;
	while (n < ns && !(ret = csv_work_init(&wk[n], c)))
		n++;
	if (n < ns)
		csv_work_release(&wk[n]);
	if (!n)
		goto out;
	ret = FF_OK; /* fewer slots is no error: fewer threads then */
	if (n < ns)
		nt = n > 1 ? n - 1 : 1;
	c->slots = wk;
	c->nslots = n;
	unsigned started = 1;
	while (started < nt && !pthread_create(&tid[started], NULL, csv_thread, c))
		started++;
	csv_work_loop(c);
	for (unsigned t = 1; t < started; t++)
		pthread_join(tid[t], NULL);
	ret = c->ret;
	if (!ret && !c->rows)
		ret = csv_err(c, c->line, SIZE_MAX, "no data rows");
out:
	for (unsigned t = 0; t < n; t++)
		csv_work_release(&wk[t]);
	ff_free(wk);
	ff_free(tid);
	c->slots = NULL;
	c->nslots = 0;
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	return ret;
}

static int csv_open_output(struct csv_imp *c, const char *dir)
{
	struct ff_table_writer_opts wo = FF_TABLE_WRITER_OPTS_INIT;
	wo.partitions = c->o->partitions;
	wo.keep_text = true;
	wo.header = c->header_raw;
	wo.delimiter = c->delim;
	wo.no_fsync = c->o->no_fsync;
	json_t *extra = json_pack("{s:b, s:s, s:b, s:s}", "extend_sid", (int)c->o->extend_sid,
				  "sid_prefix", c->sid_prefix, "have_head", (int)c->o->head,
				  "source", c->file);
	if (!extra)
		return FF_ENOMEM;
	wo.extra = extra;
	int ret = ff_table_writer_create(&c->w, dir, &c->schema, &wo, c->err);
	json_decref(extra);
	/* a durable table goes to disk anyway: past the page cache, whose
	 * per-page work would be done by the parsing threads */
	if (!ret && !c->o->no_fsync)
		ret = ff__writer_direct(c->w, c->err);
	if (ret)
		return ret;
	struct ff__text_layout t = {
		.header = c->header_raw, .delimiter = c->delim, .final_newline = true,
		.nlayout = c->ncols, .layout = c->layout,
	};
	return ff__writer_set_text(c->w, &t, c->err);
}

bool ff__csv_map_disable;
void (*ff__csv_map_hook)(int fd);

/*
 * Maps the whole file for the chunks to parse in place (csv_input); without
 * a map (mmap refused, or a file too large for the address space) they
 * are read with pread. A file cut shorter while mapped raises SIGBUS
 * (include/fedflow/table.h).
 */
static void csv_map(struct csv_imp *c)
{
	if (!c->fsize || c->fsize > SIZE_MAX / 2 || ff__csv_map_disable)
		return;
	void *m = mmap(NULL, (size_t)c->fsize, PROT_READ, MAP_SHARED, c->fd, 0);
	c->map = m == MAP_FAILED ? NULL : m;
	if (c->map && ff__csv_map_hook)
		ff__csv_map_hook(c->fd);
}

static int csv_check_opts(const struct ff_csv_opts *o, struct ff_error *err)
{
	char d = o->delimiter;
	if (!d || strchr("\r\n0123456789.+-eE", d))
		return ff_error_set(err, FF_EPARAM, "invalid delimiter '%c'", d ? d : '?');
	if (o->partitions < 1 || o->partitions > FF_TABLE_PARTITIONS_MAX)
		return ff_error_set(err, FF_EPARAM, "partitions must be 1..%d",
				    FF_TABLE_PARTITIONS_MAX);
	if (o->line_max < 16 || o->line_max > ((size_t)1 << 30))
		return ff_error_set(err, FF_EPARAM, "line limit out of range");
	return FF_OK;
}

int ff_csv_import(const char *file, const char *dir, const struct ff_csv_opts *o,
		  struct ff_csv_result *res, struct ff_error *err)
{
	struct csv_imp c = { .file = file, .o = o, .err = err, .delim = o->delimiter, .fd = -1,
			     .line = 1, .final_newline = true };
	int ret = csv_check_opts(o, err);
	if (ret)
		return ret;
	if (res)
		memset(res, 0, sizeof(*res));
	c.fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (c.fd < 0 || fstat(c.fd, &st)) {
		ret = ff_error_set(err, errno == ENOENT ? FF_ENOFILE : ff_from_errno(errno),
				   "cannot open '%s': %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = ff_error_set(err, FF_EPARAM, "'%s' is not a regular file", file);
		goto out;
	}
	(void)posix_fadvise(c.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	c.fsize = (uint64_t)st.st_size;
	csv_map(&c);
	/* the header: at most line_max bytes and the byte telling it is too long */
	c.cap = o->line_max + 1;
	/* one spare byte for a missing final '\n', the padding for the parsers */
	if (!(c.buf = ff_calloc(1, c.cap + 1 + FF__CSV_PAD))) {
		ret = FF_ENOMEM;
		goto out;
	}
	if (o->extend_sid)
		clock_uuid_hex(c.sid_prefix);
	if ((ret = csv_fill(&c)) || (ret = csv_header(&c)) || (ret = csv_roles(&c)))
		goto out;
	FF_FREE_AND_NULL(c.buf);
	if ((ret = csv_open_output(&c, dir)) || (ret = csv_rows(&c)))
		goto out;
	ff__writer_final_newline(c.w, c.final_newline);
	ret = ff_table_writer_commit(c.w, err);
	if (!ret && res) {
		res->count = c.rows;
		res->bytes = c.fsize;
		memcpy(res->sid_prefix, c.sid_prefix, sizeof(res->sid_prefix));
	}
out:
	if (c.map)
		munmap((void *)(uintptr_t)c.map, (size_t)c.fsize);
	if (c.fd >= 0)
		close(c.fd);
	ff_table_writer_free(c.w); /* removes everything unless committed */
	csv_ids_release(&c.ids);
	csv_free_names(&c);
	ff_free(c.layout);
	ff_free(c.kind);
	ff_free(c.featrun);
	ff_free(c.buf);
	ff_free(c.header_raw);
	ff_schema_release(&c.schema);
	return ret;
}
