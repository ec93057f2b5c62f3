// SPDX-License-Identifier: Apache-2.0
/*
 * ff_table_dio.c - direct output of partition files: bytes are copied into
 * aligned staging buffers that are written with asynchronous O_DIRECT
 * writes (Linux AIO), bypassing the page cache (what the CSV importer's
 * durable writes use).
 *
 * DESIGN. A buffered write costs more than its copy: ext4 prepares every
 * 4 KiB page it dirties (delayed allocation, buffer heads), and the
 * writeback hints that keep the final fsync short (sync_file_range) build
 * and submit the I/O in the caller's thread. Profiled on the 1 GB import,
 * those were about two thirds of the time spent writing blocks, in the
 * threads that also parse. Here the caller copies into one of DIO_NBUF
 * buffers of DIO_BUF bytes (on huge pages where the kernel gives them:
 * io_submit pins the buffer, half the cost with 2 MiB pages, measured); a
 * full buffer is submitted (io_submit) and the
 * caller goes on while the device works. Several writes stay in flight, so
 * the device never waits for a thread to wake up (a helper thread doing
 * blocking writes was measured: on two busy cores the gaps cost a quarter
 * of the disk's rate). When every buffer is in flight the caller waits:
 * the disk is the bound then.
 *
 * ext4 runs an O_DIRECT write that extends the file synchronously, inside
 * io_submit; so a file is made sparse ahead of its writes (DIO_AHEAD past
 * the last one), its writes land inside it, and once its last write
 * completed it is cut to its real size and closed. Files are written in
 * whole DIO_ALIGN units from offset 0, but for the bytes after the last
 * whole unit (the last unit when there are none): those are written
 * through the page cache once the file has its size (cutting inside a unit
 * written with O_DIRECT made ext4 read it back from the disk: a millisecond
 * per file), and so is the first unit again (or more, up to a buffer, as
 * the caller asks), so that the file's header and footer are in the page
 * cache for the next reader. Where AIO or
 * O_DIRECT is refused (no AIO context, a file system without O_DIRECT) the
 * same bytes are written with blocking pwrite, through the page cache if
 * need be. The first error is kept and returned by the caller's next call;
 * later buffers are dropped, files are still closed. Durability stays with
 * the caller: fsync of each file after ff__dio_drain.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "ff_table_dio.h"
#include "log.h"
#include "mem.h"

/* O_DIRECT alignment of offsets, lengths and memory (logical blocks up to 4 KiB) */
#define DIO_ALIGN ((size_t)4096)
/* one write: the device streams at its rate from 1 MiB on (measured) */
#define DIO_BUF ((size_t)2 << 20)
/* the buffers' alignment: huge pages, so the kernel pins 2 MiB at a time */
#define DIO_HUGE ((size_t)2 << 20)
/* writes in flight plus the buffer being filled */
#define DIO_NBUF 4
/* how far a file is made sparse ahead of its writes, so that none extends it */
#define DIO_AHEAD ((uint64_t)64 << 20)

/* A file being written: owned by the caller until finished, then by its last write. */
struct dio_file {
	int fd;
	char *path;
	unsigned pending;      /* its writes in flight */
	bool finished;         /* no more writes: cut to size and close at pending 0 */
	uint64_t size;
	uint64_t room;         /* its size while written (sparse past the writes) */
	/* written again (the head) or only (the tail) through the page cache
	 * at the end: the first `cached` bytes (a unit at least, a buffer at
	 * most), and the bytes after the last whole unit (the last unit when
	 * there are none) */
	size_t cached;
	unsigned char *head;
	size_t head_len;
	uint64_t tail_off;
	size_t tail_len;
	unsigned char tail[DIO_ALIGN];
};

struct dio_buf {
	unsigned char *data;   /* DIO_BUF bytes, DIO_ALIGN-aligned */
	struct dio_file *file; /* of the write in flight, NULL when free */
	struct iocb cb;
};

struct ff__dio {
	aio_context_t ctx;     /* 0: blocking writes */
	unsigned char *mem;
	struct dio_buf buf[DIO_NBUF];
	unsigned cur;          /* the buffer being filled */
	int code;              /* the first error, with msg */
	char msg[FF_ERROR_MSG_MAX];
	struct dio_file *file; /* being filled, NULL between files */
	uint64_t off;          /* file offset of the buffer being filled */
	size_t fill;           /* its bytes */
};

/* A context with room for DIO_NBUF writes; 0 when AIO is not available. */
static aio_context_t dio_ctx_get(void)
{
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, (long)DIO_NBUF, &ctx))
		ctx = 0;
	return ctx;
}

static void *dio_ctx_destroy(void *arg)
{
	syscall(SYS_io_destroy, (aio_context_t)(uintptr_t)arg);
	return NULL;
}

/*
 * Destroys ctx (no write in flight) on a thread of its own: io_destroy
 * waits for an RCU grace period (30-40 ms here), and so does a process
 * that exits with a context left (exit_aio). The writer does not wait;
 * a process that exits meanwhile (an upload task, a few ms after its
 * import) waits for the rest of that grace period only, not for all of it
 * after its own work.
 */
static void dio_ctx_put(aio_context_t ctx)
{
	pthread_attr_t a;
	pthread_t th;
	bool started = false;
	if (!pthread_attr_init(&a)) {
		started = !pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) &&
			  !pthread_create(&th, &a, dio_ctx_destroy, (void *)(uintptr_t)ctx);
		pthread_attr_destroy(&a);
	}
	if (!started)
		dio_ctx_destroy((void *)(uintptr_t)ctx);
}

static void dio_fail(struct ff__dio *d, const struct dio_file *f, const char *what, int e)
{
	if (d->code)
		return;
	d->code = ff_from_errno(e);
	snprintf(d->msg, sizeof(d->msg), "cannot %s '%s': %s", what, f->path, strerror(e));
}

static void dio_file_free(struct dio_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	ff_free(f->head);
	ff_free(f->path);
	ff_free(f);
}

/* A buffered write of n bytes at off (O_DIRECT off: not whole units). */
static int dio_write_cached(struct dio_file *f, const unsigned char *p, size_t n, uint64_t off)
{
	int fl = fcntl(f->fd, F_GETFL);
	if (fl < 0 || ((fl & O_DIRECT) && fcntl(f->fd, F_SETFL, fl & ~O_DIRECT)))
		return errno;
	size_t done = 0;
	while (done < n) {
		ssize_t r = pwrite(f->fd, p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : ENOSPC;
		done += (size_t)r;
	}
	return 0;
}

/*
 * A finished file whose writes all completed: its real size, then its
 * tail and its head, closed. The tail's unit is a hole when the file is
 * cut, so the cut reads nothing; a cut inside a unit written with O_DIRECT
 * read it back from the disk to zero its end (a millisecond per file,
 * measured). The head and the tail end up in the page cache, where a
 * reader opening the table finds the file's header and footer (each a
 * read from the disk of several milliseconds here otherwise); the head's
 * unit is written twice, with the same bytes.
 */
static void dio_file_end(struct ff__dio *d, struct dio_file *f)
{
	int e = 0;
	if (!d->code && (ftruncate(f->fd, (off_t)f->size) ? (e = errno) : 0))
		dio_fail(d, f, "write", e);
	if (!d->code && f->tail_len && (e = dio_write_cached(f, f->tail, f->tail_len, f->tail_off)))
		dio_fail(d, f, "write", e);
	if (!d->code && f->head_len && (e = dio_write_cached(f, f->head, f->head_len, 0)))
		dio_fail(d, f, "write", e);
	e = close(f->fd) ? errno : 0;
	f->fd = -1;
	if (e)
		dio_fail(d, f, "close", e);
	dio_file_free(f);
}

/* One write of b has ended with res (bytes, or -errno). */
static void dio_done(struct ff__dio *d, struct dio_buf *b, long long res)
{
	struct dio_file *f = b->file;
	if (res != (long long)b->cb.aio_nbytes)
		dio_fail(d, f, "write", res < 0 ? (int)-res : ENOSPC);
	b->file = NULL;
	if (!--f->pending && f->finished)
		dio_file_end(d, f);
}

/* Blocking write of b (no AIO, or AIO refused); drops O_DIRECT if refused too. */
static long long dio_pwrite(struct dio_buf *b)
{
	size_t done = 0, len = (size_t)b->cb.aio_nbytes;
	int fd = b->file->fd;
	while (done < len) {
		ssize_t r = pwrite(fd, b->data + done, len - done, (off_t)(b->cb.aio_offset + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EINVAL) {
			int fl = fcntl(fd, F_GETFL);
			if (fl < 0 || !(fl & O_DIRECT) || fcntl(fd, F_SETFL, fl & ~O_DIRECT))
				return -EINVAL;
			continue;
		}
		if (r <= 0)
			return r < 0 ? -errno : (long long)done;
		done += (size_t)r;
	}
	return (long long)done;
}

/* Waits for at least one write in flight to end. */
static void dio_reap(struct ff__dio *d)
{
	struct io_event ev[DIO_NBUF];
	long n;
	do
		n = syscall(SYS_io_getevents, d->ctx, 1L, (long)DIO_NBUF, ev, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* cannot happen with a valid context; no write can be trusted */
		FF_BUG("io_getevents: %s", strerror(errno));
	}
	for (long k = 0; k < n; k++)
		dio_done(d, &d->buf[ev[k].data], ev[k].res);
}

/* Starts the write of the buffer being filled: len bytes (a multiple of DIO_ALIGN). */
static void dio_submit(struct ff__dio *d, size_t len)
{
	struct dio_buf *b = &d->buf[d->cur];
	struct dio_file *f = d->file;
	memset(&b->cb, 0, sizeof(b->cb));
	b->cb.aio_data = d->cur;
	b->cb.aio_lio_opcode = IOCB_CMD_PWRITE;
	b->cb.aio_fildes = (uint32_t)f->fd;
	b->cb.aio_buf = (uint64_t)(uintptr_t)b->data;
	b->cb.aio_nbytes = len;
	b->cb.aio_offset = (int64_t)d->off;
	b->file = f;
	f->pending++;
	if (!d->off && len >= DIO_ALIGN) {
		size_t h = f->cached < DIO_ALIGN ? DIO_ALIGN : f->cached < len ? f->cached : len;
		if ((f->head = ff_malloc(h))) {
			memcpy(f->head, b->data, h);
			f->head_len = h;
		}
	}
	d->off += len;
	if (d->ctx && d->off > f->room) {
		/* writes inside the file run asynchronously; a failure only costs that */
		f->room = d->off + DIO_AHEAD;
		(void)ftruncate(f->fd, (off_t)f->room);
	}
	d->fill = 0;
	d->cur = (d->cur + 1) % DIO_NBUF;
	if (d->code || !len) {
		dio_done(d, b, (long long)len); /* nothing, or dropped after an error */
		return;
	}
	/* the context has room for every buffer: no EAGAIN */
	struct iocb *cb = &b->cb;
	if (!d->ctx || syscall(SYS_io_submit, d->ctx, 1L, &cb) != 1)
		dio_done(d, b, dio_pwrite(b));
}

/* Makes the buffer to fill next free (its write ended). */
static void dio_claim(struct ff__dio *d)
{
	while (d->buf[d->cur].file)
		dio_reap(d);
}

int ff__dio_create(struct ff__dio **out, struct ff_error *err)
{
	struct ff__dio *d = ff_calloc(1, sizeof(*d));
	*out = NULL;
	if (!d || !(d->mem = ff_malloc(DIO_NBUF * DIO_BUF + DIO_HUGE))) {
		ff_free(d);
		return ff_error_set(err, FF_ENOMEM, "no memory for the table's output buffers");
	}
	unsigned char *p = d->mem + (DIO_HUGE - (uintptr_t)d->mem % DIO_HUGE) % DIO_HUGE;
	(void)madvise(p, DIO_NBUF * DIO_BUF, MADV_HUGEPAGE); /* a hint: 4 KiB pages work too */
	for (int i = 0; i < DIO_NBUF; i++)
		d->buf[i].data = p + (size_t)i * DIO_BUF;
	d->ctx = dio_ctx_get(); /* 0: no AIO here, blocking writes */
	*out = d;
	return FF_OK;
}

int ff__dio_begin(struct ff__dio *d, int fd, const char *path, size_t cached)
{
	struct dio_file *f = ff_calloc(1, sizeof(*f));
	if (!f || !(f->path = ff_strdup(path))) {
		ff_free(f);
		return FF_ENOMEM;
	}
	f->fd = fd;
	f->cached = cached;
	d->file = f;
	d->off = 0;
	d->fill = 0;
	return FF_OK;
}

int ff__dio_write(struct ff__dio *d, const void *p, size_t n, struct ff_error *err)
{
	const unsigned char *s = p;
	while (n) {
		/* a full buffer goes when more bytes come: the file's last one
		 * is left to ff__dio_finish, which keeps its last unit apart */
		if (d->fill == DIO_BUF)
			dio_submit(d, DIO_BUF);
		if (!d->fill)
			dio_claim(d);
		size_t k = DIO_BUF - d->fill < n ? DIO_BUF - d->fill : n;
		memcpy(d->buf[d->cur].data + d->fill, s, k);
		d->fill += k;
		s += k;
		n -= k;
	}
	return d->code ? ff_error_set(err, d->code, "%s", d->msg) : FF_OK;
}

int ff__dio_finish(struct ff__dio *d, struct ff_error *err)
{
	struct dio_file *f = d->file;
	if (!d->fill)
		dio_claim(d);
	f->size = d->off + d->fill;
	size_t len = d->fill / DIO_ALIGN * DIO_ALIGN;
	if (len && len == d->fill)
		len -= DIO_ALIGN; /* the last unit is the tail */
	f->tail_off = d->off + len;
	f->tail_len = d->fill - len;
	memcpy(f->tail, d->buf[d->cur].data + len, f->tail_len);
	f->pending++; /* the file must not end inside its own last submit */
	dio_submit(d, len);
	d->file = NULL;
	f->finished = true;
	if (!--f->pending)
		dio_file_end(d, f);
	return d->code ? ff_error_set(err, d->code, "%s", d->msg) : FF_OK;
}

int ff__dio_drain(struct ff__dio *d, struct ff_error *err)
{
	for (unsigned i = 0; i < DIO_NBUF; i++)
		while (d->buf[i].file)
			dio_reap(d);
	return d->code ? ff_error_set(err, d->code, "%s", d->msg) : FF_OK;
}

void ff__dio_free(struct ff__dio *d)
{
	if (!d)
		return;
	/* an unfinished file (abort): its writes end first, then it is closed */
	ff__dio_drain(d, NULL);
	if (d->file)
		dio_file_free(d->file);
	if (d->ctx)
		dio_ctx_put(d->ctx);
	ff_free(d->mem);
	ff_free(d);
}
