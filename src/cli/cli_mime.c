// SPDX-License-Identifier: Apache-2.0
/*
 * cli_mime.c - multipart/form-data bodies streamed with libcurl (see
 * cli_mime.h). The body is three segments, head (in memory), file (read
 * from the descriptor) and tail, fed to curl by a read callback with the
 * total length announced up front.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli_mime.h"
#include "clock.h"
#include "jsonx.h"
#include "mem.h"

void cli_mime_init(struct cli_mime *m)
{
	clock_uuid_hex(m->boundary);
	ff_buf_init(&m->head, FF_BUF_MAX_DEFAULT);
	m->tail[0] = '\0';
	m->fd = -1;
	m->fsize = 0;
}

void cli_mime_release(struct cli_mime *m)
{
	ff_buf_release(&m->head);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

/* Header parameter as urllib3's HTML5 formatting writes it. */
static int cli_mime_param(struct ff_buf *b, const char *v)
{
	int ret = ff_buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p && !ret; p++) {
		if (*p == '"')
			ret = ff_buf_addstr(b, "%22");
		else if (*p == '\\')
			ret = ff_buf_addstr(b, "\\\\");
		else if (*p < 0x20 && *p != 0x1b)
			ret = ff_buf_addf(b, "%%%02X", *p);
		else
			ret = ff_buf_addch(b, (char)*p);
	}
	return ret ? ret : ff_buf_addch(b, '"');
}

static int cli_mime_part_head(struct cli_mime *m, const char *name, const char *filename)
{
	int ret = ff_buf_addf(&m->head, "--%s\r\nContent-Disposition: form-data; name=",
			      m->boundary);
	if (!ret)
		ret = cli_mime_param(&m->head, name);
	if (!ret && filename) {
		ret = ff_buf_addstr(&m->head, "; filename=");
		if (!ret)
			ret = cli_mime_param(&m->head, filename);
	}
	return ret ? ret : ff_buf_addstr(&m->head, "\r\n\r\n");
}

int cli_mime_field(struct cli_mime *m, const char *name, const char *value)
{
	if (m->fd >= 0)
		return FF_EINVAL;
	int ret = cli_mime_part_head(m, name, NULL);
	if (!ret)
		ret = ff_buf_addstr(&m->head, value);
	return ret ? ret : ff_buf_addstr(&m->head, "\r\n");
}

int cli_mime_file(struct cli_mime *m, const char *name, const char *path,
		  struct ff_error *err)
{
	struct stat st;
	if (m->fd >= 0)
		return ff_error_set(err, FF_EINVAL, "a form has one file part");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ff_error_set(err, errno == ENOENT ? FF_ENOENT : ff_from_errno(errno),
				    "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ff_error_set(err, FF_EINVAL, "'%s' is not a regular file", path);
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	int ret = cli_mime_part_head(m, name, base);
	if (ret) {
		close(fd);
		return ff_error_set(err, ret, "out of memory");
	}
	m->fd = fd;
	m->fsize = (uint64_t)st.st_size;
	return FF_OK;
}

struct cli_mime_rd {
	struct cli_mime *m;
	size_t tail_len;
	uint64_t pos;        /* bytes handed to curl so far */
	bool short_file;     /* the file shrank while being sent */
};

static size_t cli_mime_read_cb(char *dst, size_t size, size_t nitems, void *arg)
{
	struct cli_mime_rd *rd = arg;
	struct cli_mime *m = rd->m;
	size_t want = size * nitems, done = 0;
	uint64_t hl = m->head.len, fl = m->fd >= 0 ? m->fsize : 0;
	while (done < want) {
		if (rd->pos < hl) {
			size_t n = (size_t)(hl - rd->pos) < want - done ? (size_t)(hl - rd->pos)
									: want - done;
			memcpy(dst + done, m->head.buf + rd->pos, n);
			done += n;
			rd->pos += n;
		} else if (rd->pos < hl + fl) {
			uint64_t left = hl + fl - rd->pos;
			size_t n = left < want - done ? (size_t)left : want - done;
			ssize_t r = read(m->fd, dst + done, n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rd->short_file = true;
				return CURL_READFUNC_ABORT;
			}
			done += (size_t)r;
			rd->pos += (uint64_t)r;
		} else if (rd->pos < hl + fl + rd->tail_len) {
			size_t off = (size_t)(rd->pos - hl - fl);
			size_t n = rd->tail_len - off < want - done ? rd->tail_len - off : want - done;
			memcpy(dst + done, m->tail + off, n);
			done += n;
			rd->pos += n;
		} else {
			break;
		}
	}
	return done;
}

static size_t cli_mime_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	size_t n = size * nmemb;
	return ff_buf_add(arg, data, n) ? 0 : n;
}

int cli_mime_post(struct cli *c, const char *path, struct cli_mime *m, json_t **answer,
		  long *status, struct ff_error *err)
{
	int ret = FF_OK;
	CURL *h = c->http.curl;
	struct curl_slist *hl = NULL, *tmp;
	struct ff_buf body = FF_BUF_INIT;
	char ct[128];
	char *url = cli_url(c, path, NULL);
	struct cli_mime_rd rd = { .m = m, .tail_len = 0, .pos = 0, .short_file = false };
	*answer = NULL;
	if (!url)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	snprintf(m->tail, sizeof(m->tail), "%s--%s--\r\n", m->fd >= 0 ? "\r\n" : "", m->boundary);
	rd.tail_len = strlen(m->tail);
	snprintf(ct, sizeof(ct), "Content-Type: multipart/form-data; boundary=%s", m->boundary);
	const char *hdrs[] = { ct, "Expect:" };
	if (cli_headers(c, &hl)) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < FF_ARRAY_SIZE(hdrs); i++) {
		tmp = curl_slist_append(hl, hdrs[i]);
		if (!tmp) {
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
			goto out;
		}
		hl = tmp;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->http.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, cli_mime_read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &rd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)(m->head.len + (m->fd >= 0 ? m->fsize : 0) + rd.tail_len));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cli_mime_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		int code = rc == CURLE_COULDNT_CONNECT ? FF_ECONNREFUSED
			 : rc == CURLE_OPERATION_TIMEDOUT ? FF_ETIMEDOUT : FF_EIO;
		ret = ff_error_set(err, code, "request to '%s' failed: %s", url,
				   rd.short_file ? "the file shrank while it was sent"
						 : curl_easy_strerror(rc));
		goto out;
	}
	long st = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	if (status)
		*status = st;
	if (jsonx_parse(body.buf, body.len, answer, NULL)) {
		size_t n = body.len < 120 ? body.len : 120;
		ret = ff_error_set(err, FF_EPROTO, "answer of '%s' (HTTP %ld) is not JSON: %.*s",
				   url, st, (int)n, body.buf);
	}
out:
	/* The handle keeps pointers to hl and rd; drop them before returning. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	ff_buf_release(&body);
	ff_free(url);
	return ret;
}
