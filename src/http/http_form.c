// SPDX-License-Identifier: Apache-2.0
/*
 * http_form.c - streaming multipart/form-data parser (see http_form.h).
 *
 * DESIGN. The body is a sequence of parts separated by the delimiter
 * "\r\n--<boundary>"; the very first one has no leading CRLF, so the
 * parser starts as if it had just seen one ("\r\n" is pre-loaded into the
 * carry buffer). Part data is scanned with memmem for the delimiter; the
 * bytes that could still be the start of a delimiter split across chunks
 * (at most delimiter length - 1) are held back in `carry` and everything
 * before them is handed to the part's sink at once. So a file part is
 * written as it arrives, in chunks as large as the ones the server gets,
 * and memory stays bounded by the limits in the header.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>
#include "clock.h"
#include "http.h"
#include "http_form.h"
#include "mem.h"

#define HTTP_FORM_DELIM_MAX (HTTP_FORM_BOUNDARY_MAX + 4)

enum http_form_state {
	FORM_PREAMBLE,   /* before the first boundary */
	FORM_AFTER,      /* right after a delimiter: CRLF (next part) or "--" (end) */
	FORM_HEADERS,    /* part headers up to the empty line */
	FORM_BODY,       /* part data up to the next delimiter */
	FORM_DONE,       /* after the closing delimiter: epilogue ignored */
};

struct http_form_field {
	char *name;
	char *value;
};

struct http_form {
	enum http_form_state state;
	char delim[HTTP_FORM_DELIM_MAX + 1];
	size_t dlen;
	char carry[HTTP_FORM_DELIM_MAX];
	size_t carry_len;
	char after[2];
	size_t after_len;
	struct ff_buf hdr;
	char *temp_dir;
	/* the part being read */
	bool is_file;
	char *part_name;
	struct ff_buf value;
	int fd;
	struct http_form_file *cur_file;
	/* results */
	struct http_form_field fields[HTTP_FORM_PARTS_MAX];
	size_t nfields;
	struct http_form_file files[HTTP_FORM_PARTS_MAX];
	size_t nfiles;
	int err_code;
	struct ff_error err;
};

/* ---- Content-Type and Content-Disposition parameters ---- */

/*
 * Next "key=value" parameter after a ';' in s: key and value are copied
 * into owned strings (value unquoted, backslash escapes resolved). Returns
 * the position after it, or NULL when there is none.
 */
static const char *http_form_param(const char *s, char **key, char **value)
{
	*key = *value = NULL;
	s = strchr(s, ';');
	if (!s)
		return NULL;
	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	const char *k = s;
	while (*s && *s != '=' && *s != ';')
		s++;
	size_t kn = (size_t)(s - k);
	while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
		kn--;
	struct ff_buf v = FF_BUF_INIT_MAX(HTTP_FORM_HEADER_MAX);
	if (*s == '=') {
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1])
					s++;
				ff_buf_addch(&v, *s);
			}
			if (*s == '"')
				s++;
		} else {
			const char *b = s;
			while (*s && *s != ';' && *s != ' ' && *s != '\t')
				s++;
			ff_buf_add(&v, b, (size_t)(s - b));
		}
	}
	*key = ff_strndup(k, kn);
	*value = ff_buf_detach(&v, NULL);
	return s;
}

/* Value of parameter `want` (owned) or NULL. */
static char *http_form_param_get(const char *header, const char *want)
{
	const char *p = header;
	char *k, *v;
	while ((p = http_form_param(p, &k, &v))) {
		bool hit = k && v && !strcasecmp(k, want);
		ff_free(k);
		if (hit)
			return v;
		ff_free(v);
	}
	return NULL;
}

int http_form_new(struct http_form **out, const char *content_type, const char *temp_dir,
		  struct ff_error *err)
{
	static const char mp[] = "multipart/form-data";
	if (!content_type || strncasecmp(content_type, mp, sizeof(mp) - 1))
		return ff_error_set(err, FF_ENOFILE, "expected a multipart/form-data body with a "
				    "'file' part, got Content-Type '%.60s'",
				    content_type ? content_type : "");
	char *boundary = http_form_param_get(content_type, "boundary");
	size_t bn = boundary ? strlen(boundary) : 0;
	if (!bn || bn > HTTP_FORM_BOUNDARY_MAX) {
		ff_free(boundary);
		return ff_error_set(err, FF_EPARAM, "multipart/form-data body without a valid "
				    "boundary (1..%d bytes)", HTTP_FORM_BOUNDARY_MAX);
	}
	struct http_form *f = ff_calloc(1, sizeof(*f));
	if (!f || !(f->temp_dir = ff_strdup(temp_dir))) {
		ff_free(f);
		ff_free(boundary);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	f->dlen = (size_t)snprintf(f->delim, sizeof(f->delim), "\r\n--%s", boundary);
	ff_free(boundary);
	f->state = FORM_PREAMBLE;
	memcpy(f->carry, "\r\n", 2); /* the first delimiter has no CRLF of its own */
	f->carry_len = 2;
	f->fd = -1;
	ff_buf_init(&f->hdr, HTTP_FORM_HEADER_MAX);
	ff_buf_init(&f->value, HTTP_FORM_FIELD_MAX);
	*out = f;
	return FF_OK;
}

static FF_PRINTF(4, 5) int http_form_fail(struct http_form *f, struct ff_error *err, int code,
					   const char *fmt, ...)
{
	if (!f->err_code) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(f->err.msg, sizeof(f->err.msg), fmt, ap);
		va_end(ap);
		f->err_code = code;
		f->err.code = code;
	}
	if (err && err != &f->err)
		*err = f->err;
	return f->err_code;
}

/* ---- part sinks ---- */

static int http_form_emit(struct http_form *f, const char *d, size_t n, struct ff_error *err)
{
	if (!n || f->state == FORM_PREAMBLE)
		return FF_OK;
	if (!f->is_file) {
		if (ff_buf_add(&f->value, d, n))
			return http_form_fail(f, err, FF_E2BIG, "form field '%s' is larger than 1 MiB",
					      f->part_name);
		return FF_OK;
	}
	while (n) {
		ssize_t w = write(f->fd, d, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			return http_form_fail(f, err, e == ENOSPC ? FF_ENOSPC : FF_EIO,
					      "cannot store the uploaded file: %s", strerror(e));
		}
		d += w;
		n -= (size_t)w;
		f->cur_file->size += (uint64_t)w;
	}
	return FF_OK;
}

static int http_form_start_part(struct http_form *f, struct ff_error *err)
{
	char *disp = NULL;
	/* header lines: find Content-Disposition */
	const char *p = f->hdr.buf;
	while (p && *p) {
		const char *e = strstr(p, "\r\n");
		size_t n = e ? (size_t)(e - p) : strlen(p);
		static const char cd[] = "content-disposition:";
		if (n >= sizeof(cd) - 1 && !strncasecmp(p, cd, sizeof(cd) - 1))
			disp = ff_strndup(p, n);
		p = e ? e + 2 : NULL;
		if (disp)
			break;
	}
	char *name = disp ? http_form_param_get(disp, "name") : NULL;
	char *filename = disp ? http_form_param_get(disp, "filename") : NULL;
	ff_free(disp);
	int ret = FF_OK;
	if (!name || !*name) {
		ret = http_form_fail(f, err, FF_EPARAM, "%s", "form part without a "
				     "Content-Disposition name");
	} else if (f->nfields + f->nfiles >= HTTP_FORM_PARTS_MAX) {
		ret = http_form_fail(f, err, FF_E2BIG, "%s", "too many form parts");
	}
	if (ret) {
		ff_free(name);
		ff_free(filename);
		return ret;
	}
	f->part_name = name;
	f->is_file = filename != NULL;
	ff_buf_reset(&f->value);
	if (!f->is_file)
		return FF_OK;
	char uuid[33];
	clock_uuid_hex(uuid);
	struct http_form_file *file = &f->files[f->nfiles];
	file->path = ff_asprintf("%s/form-%s.part", f->temp_dir, uuid);
	file->filename = filename;
	file->name = ff_strdup(name);
	file->size = 0;
	if (!file->path || !file->name) {
		ff_free(file->path);
		ff_free(file->name);
		ff_free(filename);
		memset(file, 0, sizeof(*file));
		return http_form_fail(f, err, FF_ENOMEM, "%s", "out of memory");
	}
	f->nfiles++;
	f->cur_file = file;
	f->fd = open(file->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		int e = errno;
		return http_form_fail(f, err, ff_from_errno(e), "cannot create '%s': %s", file->path,
				      strerror(e));
	}
	return FF_OK;
}

static int http_form_end_part(struct http_form *f, struct ff_error *err)
{
	int ret = FF_OK;
	if (f->state != FORM_BODY)
		return FF_OK;
	if (f->is_file) {
		if (close(f->fd))
			ret = http_form_fail(f, err, FF_EIO, "cannot store the uploaded file: %s",
					     strerror(errno));
		f->fd = -1;
		f->cur_file = NULL;
		ff_free(f->part_name);
	} else {
		struct http_form_field *fl = &f->fields[f->nfields];
		if (memchr(f->value.buf, '\0', f->value.len)) {
			ret = http_form_fail(f, err, FF_EPARAM, "form field '%s' contains a NUL byte",
					     f->part_name);
			ff_free(f->part_name);
			f->part_name = NULL;
			return ret;
		}
		fl->name = f->part_name;
		fl->value = ff_buf_detach(&f->value, NULL);
		if (!fl->value) {
			ff_free(fl->name);
			fl->name = NULL;
			ret = http_form_fail(f, err, FF_ENOMEM, "%s", "out of memory");
		} else {
			f->nfields++;
		}
	}
	f->part_name = NULL;
	return ret;
}

/* ---- scanning ---- */

/*
 * Part data (or preamble) in d[0..n): emits what precedes a delimiter or
 * cannot start one; *used = bytes of d consumed, *found when a whole
 * delimiter ended inside d.
 */
static int http_form_scan(struct http_form *f, const char *d, size_t n, size_t *used,
			  bool *found, struct ff_error *err)
{
	const size_t dl = f->dlen;
	int ret;
	*found = false;
	if (f->carry_len) {
		/* a delimiter starting in the held-back bytes? */
		char tmp[2 * HTTP_FORM_DELIM_MAX];
		size_t take = n < dl ? n : dl;
		size_t cl = f->carry_len, tl = cl + take;
		memcpy(tmp, f->carry, cl);
		memcpy(tmp + cl, d, take);
		for (size_t i = 0; i < cl; i++) {
			size_t m = tl - i < dl ? tl - i : dl;
			if (memcmp(tmp + i, f->delim, m))
				continue;
			if ((ret = http_form_emit(f, tmp, i, err)))
				return ret;
			f->carry_len = 0;
			if (m == dl) {
				*found = true;
				*used = i + dl - cl;
				return FF_OK;
			}
			/* still a prefix: d ended inside it (only when n < dl) */
			memmove(f->carry, tmp + i, tl - i);
			f->carry_len = tl - i;
			*used = n;
			return FF_OK;
		}
		if ((ret = http_form_emit(f, tmp, cl, err)))
			return ret;
		f->carry_len = 0;
	}
	const char *p = memmem(d, n, f->delim, dl);
	if (p) {
		*found = true;
		*used = (size_t)(p - d) + dl;
		return http_form_emit(f, d, (size_t)(p - d), err);
	}
	/* hold back the longest tail of d that is a prefix of the delimiter */
	size_t k = n < dl - 1 ? n : dl - 1;
	for (; k > 0; k--)
		if (d[n - k] == '\r' && !memcmp(d + n - k, f->delim, k))
			break;
	memcpy(f->carry, d + n - k, k);
	f->carry_len = k;
	*used = n;
	return http_form_emit(f, d, n - k, err);
}

/* After a delimiter: optional transport padding, then CRLF or "--". */
static int http_form_after(struct http_form *f, const char *d, size_t n, size_t *used,
			   struct ff_error *err)
{
	size_t i = 0;
	while (i < n && f->after_len < 2) {
		char c = d[i++];
		if (f->after_len == 0 && (c == ' ' || c == '\t'))
			continue;
		f->after[f->after_len++] = c;
	}
	*used = i;
	if (f->after_len < 2)
		return FF_OK;
	f->after_len = 0;
	if (!memcmp(f->after, "--", 2)) {
		f->state = FORM_DONE;
		return FF_OK;
	}
	if (memcmp(f->after, "\r\n", 2))
		return http_form_fail(f, err, FF_EPARAM, "%s", "malformed multipart body: a "
				      "boundary is not followed by CRLF");
	f->state = FORM_HEADERS;
	ff_buf_reset(&f->hdr);
	return FF_OK;
}

static int http_form_headers(struct http_form *f, const char *d, size_t n, size_t *used,
			     struct ff_error *err)
{
	size_t i = 0;
	while (i < n) {
		if (ff_buf_addch(&f->hdr, d[i++]))
			return http_form_fail(f, err, FF_E2BIG, "%s", "form part headers are too long");
		size_t l = f->hdr.len;
		bool empty = l == 2 && !memcmp(f->hdr.buf, "\r\n", 2);
		if (empty || (l >= 4 && !memcmp(f->hdr.buf + l - 4, "\r\n\r\n", 4))) {
			*used = i;
			int ret = http_form_start_part(f, err);
			if (!ret)
				f->state = FORM_BODY;
			return ret;
		}
	}
	*used = i;
	return FF_OK;
}

int http_form_feed(struct http_form *f, const char *data, size_t n, struct ff_error *err)
{
	if (f->err_code)
		return http_form_fail(f, err, f->err_code, "%s", f->err.msg);
	while (n) {
		size_t used = 0;
		bool found = false;
		int ret = FF_OK;
		switch (f->state) {
		case FORM_PREAMBLE:
		case FORM_BODY:
			ret = http_form_scan(f, data, n, &used, &found, err);
			if (!ret && found) {
				ret = http_form_end_part(f, err);
				f->state = FORM_AFTER;
			}
			break;
		case FORM_AFTER:
			ret = http_form_after(f, data, n, &used, err);
			break;
		case FORM_HEADERS:
			ret = http_form_headers(f, data, n, &used, err);
			break;
		case FORM_DONE:
			used = n;
			break;
		}
		if (ret)
			return ret;
		data += used;
		n -= used;
	}
	return FF_OK;
}

int http_form_end(struct http_form *f, struct ff_error *err)
{
	if (f->err_code)
		return http_form_fail(f, err, f->err_code, "%s", f->err.msg);
	if (f->state != FORM_DONE)
		return http_form_fail(f, err, FF_EPARAM, "%s", "multipart body ended before its "
				      "closing boundary");
	return FF_OK;
}

const char *http_form_field(const struct http_form *f, const char *name)
{
	for (size_t i = f ? f->nfields : 0; i > 0; i--)
		if (!strcmp(f->fields[i - 1].name, name))
			return f->fields[i - 1].value;
	return NULL;
}

const struct http_form_file *http_form_file(const struct http_form *f, const char *name)
{
	for (size_t i = f ? f->nfiles : 0; i > 0; i--)
		if (f->files[i - 1].path && !strcmp(f->files[i - 1].name, name))
			return &f->files[i - 1];
	return NULL;
}

char *http_form_take_file(struct http_form *f, const char *name)
{
	struct http_form_file *file = (struct http_form_file *)http_form_file(f, name);
	if (!file)
		return NULL;
	char *p = file->path;
	file->path = NULL;
	return p;
}

void http_form_discard(struct http_form *f)
{
	if (!f)
		return;
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	for (size_t i = 0; i < f->nfiles; i++) {
		if (f->files[i].path)
			unlink(f->files[i].path);
		FF_FREE_AND_NULL(f->files[i].path);
	}
}

void http_form_free(struct http_form *f)
{
	if (!f)
		return;
	http_form_discard(f);
	for (size_t i = 0; i < f->nfiles; i++) {
		ff_free(f->files[i].name);
		ff_free(f->files[i].filename);
	}
	for (size_t i = 0; i < f->nfields; i++) {
		ff_free(f->fields[i].name);
		ff_free(f->fields[i].value);
	}
	ff_free(f->part_name);
	ff_buf_release(&f->hdr);
	ff_buf_release(&f->value);
	ff_free(f->temp_dir);
	ff_free(f);
}

/* ---- STREAM route glue ---- */

/* What the request's user slot holds: the form, or the error that prevented it. */
struct http_form_slot {
	struct http_form *form;
	int code;
	struct ff_error err;
};

static void http_form_slot_free(void *p)
{
	struct http_form_slot *s = p;
	if (s)
		http_form_free(s->form);
	ff_free(s);
}

int http_form_chunk(struct http_req *r, const char *data, size_t n, const char *temp_dir)
{
	struct http_form_slot *s = http_req_user(r);
	if (!s) {
		s = ff_calloc(1, sizeof(*s));
		if (!s)
			return FF_ENOMEM;
		http_req_set_user(r, s, http_form_slot_free);
		s->code = http_form_new(&s->form, http_req_header(r, "Content-Type"), temp_dir,
					&s->err);
	}
	if (s->code)
		return FF_OK; /* drop the rest, answer with the error later */
	s->code = http_form_feed(s->form, data, n, &s->err);
	return FF_OK;
}

struct http_form *http_form_get(struct http_req *r, struct ff_error *err)
{
	struct http_form_slot *s = http_req_user(r);
	if (!s) {
		ff_error_set(err, FF_ENOFILE, "no file: send a multipart/form-data body with a "
			     "'file' part");
		return NULL;
	}
	if (s->code) {
		if (err)
			*err = s->err;
		if (err && !err->code)
			err->code = s->code;
		return NULL;
	}
	if (http_form_end(s->form, err))
		return NULL;
	return s->form;
}

void http_form_discard_req(struct http_req *r)
{
	struct http_form_slot *s = http_req_user(r);
	if (s)
		http_form_discard(s->form);
}
