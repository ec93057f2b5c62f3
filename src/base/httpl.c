// SPDX-License-Identifier: Apache-2.0
/* httpl.c - one-connection HTTP/1.1 client (see httpl.h). */
#include "ff_setup.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "httpl.h"
#include "jsonx.h"

int httpl_init(struct httpl *c, const char *base_url, struct ff_error *err)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = 600000;
	const char *p = base_url;
	if (!strncmp(p, "http://", 7))
		p += 7;
	const char *colon = strchr(p, ':');
	size_t hn = colon ? (size_t)(colon - p) : strcspn(p, "/");
	if (hn == 0 || hn >= sizeof(c->host))
		return ff_error_set(err, FF_EINVAL, "bad server address '%s'", base_url);
	memcpy(c->host, p, hn);
	c->host[hn] = '\0';
	c->port = colon ? (int)strtol(colon + 1, NULL, 10) : 80;
	struct in_addr a;
	if (inet_pton(AF_INET, c->host, &a) != 1 || c->port <= 0 || c->port > 65535)
		return ff_error_set(err, FF_EINVAL, "server address '%s' must be http://IPv4:port",
				    base_url);
	return FF_OK;
}

void httpl_release(struct httpl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int httpl_connect(struct httpl *c, struct ff_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->port) };
	inet_pton(AF_INET, c->host, &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return ff_error_set(err, FF_EIO, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		httpl_release(c);
		return ff_error_set(err, e == ECONNREFUSED ? FF_ECONNREFUSED : FF_EIO,
				    "cannot connect to fedflowd at %s:%d: %s", c->host, c->port,
				    strerror(e));
	}
	return FF_OK;
}

static int httpl_wait(struct httpl *c, short ev)
{
	struct pollfd p = { .fd = c->fd, .events = ev };
	int r;
	while ((r = poll(&p, 1, c->timeout_ms ? c->timeout_ms : -1)) < 0 && errno == EINTR)
		;
	return r == 1 ? FF_OK : r == 0 ? FF_ETIMEDOUT : FF_EIO;
}

static int httpl_send(struct httpl *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int ret = httpl_wait(c, POLLOUT);
			if (ret)
				return ret;
			continue;
		}
		if (w <= 0)
			return FF_EIO;
		p += w;
		n -= (size_t)w;
	}
	return FF_OK;
}

/* Buffered reader over the socket for the answer. */
struct httpl_in {
	struct httpl *c;
	char buf[16384];
	size_t pos, len;
};

static int httpl_fill(struct httpl_in *in)
{
	int ret = httpl_wait(in->c, POLLIN);
	if (ret)
		return ret;
	ssize_t r;
	while ((r = recv(in->c->fd, in->buf, sizeof(in->buf), 0)) < 0 && errno == EINTR)
		;
	if (r <= 0)
		return FF_EIO;
	in->pos = 0;
	in->len = (size_t)r;
	return FF_OK;
}

static int httpl_line(struct httpl_in *in, char *line, size_t n)
{
	size_t k = 0;
	for (;;) {
		if (in->pos == in->len) {
			int ret = httpl_fill(in);
			if (ret)
				return ret;
		}
		char ch = in->buf[in->pos++];
		if (ch == '\n')
			break;
		if (k + 1 < n && ch != '\r')
			line[k++] = ch;
	}
	line[k] = '\0';
	return FF_OK;
}

static int httpl_take(struct httpl_in *in, size_t n, struct ff_buf *out)
{
	while (n) {
		if (in->pos == in->len) {
			int ret = httpl_fill(in);
			if (ret)
				return ret;
		}
		size_t k = in->len - in->pos < n ? in->len - in->pos : n;
		int ret = ff_buf_add(out, in->buf + in->pos, k);
		if (ret)
			return ret;
		in->pos += k;
		n -= k;
	}
	return FF_OK;
}

static int httpl_read_answer(struct httpl *c, int *status, struct ff_buf *resp, bool *keep)
{
	struct httpl_in in = { .c = c };
	char line[1024];
	int ret = httpl_line(&in, line, sizeof(line));
	if (ret)
		return ret;
	if (sscanf(line, "HTTP/1.%*d %d", status) != 1)
		return FF_EPROTO;
	long long clen = -1;
	bool chunked = false;
	*keep = true;
	for (;;) {
		ret = httpl_line(&in, line, sizeof(line));
		if (ret)
			return ret;
		if (!line[0])
			break;
		if (!strncasecmp(line, "content-length:", 15))
			clen = strtoll(line + 15, NULL, 10);
		else if (!strncasecmp(line, "transfer-encoding:", 18) && strstr(line, "chunked"))
			chunked = true;
		else if (!strncasecmp(line, "connection:", 11) && strstr(line, "close"))
			*keep = false;
	}
	if (chunked) {
		for (;;) {
			ret = httpl_line(&in, line, sizeof(line));
			if (ret)
				return ret;
			long long n = strtoll(line, NULL, 16);
			if (n <= 0)
				return httpl_line(&in, line, sizeof(line));
			ret = httpl_take(&in, (size_t)n, resp);
			if (!ret)
				ret = httpl_line(&in, line, sizeof(line));
			if (ret)
				return ret;
		}
	}
	if (clen < 0) {
		*keep = false;
		return FF_EPROTO;
	}
	/* anything already buffered beyond the body would be a protocol error */
	return httpl_take(&in, (size_t)clen, resp);
}

static int httpl_send_body(struct httpl *c, const struct httpl_body *b)
{
	if (!b)
		return FF_OK;
	if (b->data)
		return httpl_send(c, b->data, b->len);
	char buf[65536];
	uint64_t left = b->len;
	while (left) {
		long long n = b->read(b->arg, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n <= 0)
			return n < 0 ? (int)n : FF_EIO;
		int ret = httpl_send(c, buf, (size_t)n);
		if (ret)
			return ret;
		left -= (uint64_t)n;
	}
	return FF_OK;
}

static int httpl_once(struct httpl *c, const char *method, const char *path,
		      const struct httpl_body *body, const char *headers, int *status,
		      struct ff_buf *resp)
{
	char head[2048];
	int n = snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %llu\r\n%s%s%s%s\r\n",
			 method, path, c->host, c->port,
			 (unsigned long long)(body ? body->len : 0),
			 body && body->ctype ? "Content-Type: " : "",
			 body && body->ctype ? body->ctype : "", body && body->ctype ? "\r\n" : "",
			 headers ? headers : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return FF_E2BIG;
	int ret = httpl_send(c, head, (size_t)n);
	if (!ret)
		ret = httpl_send_body(c, body);
	bool keep = false;
	if (!ret) {
		ff_buf_reset(resp);
		ret = httpl_read_answer(c, status, resp, &keep);
	}
	if (ret || !keep)
		httpl_release(c);
	return ret;
}

int httpl_request(struct httpl *c, const char *method, const char *path,
		  const struct httpl_body *body, const char *headers, int *status,
		  struct ff_buf *resp, struct ff_error *err)
{
	bool reused = c->fd >= 0;
	int ret = FF_OK;
	if (!reused)
		ret = httpl_connect(c, err);
	if (ret)
		return ret;
	ret = httpl_once(c, method, path, body, headers, status, resp);
	/* a kept-alive connection may have been closed by the server meanwhile;
	 * streamed bodies cannot be replayed */
	if (ret == FF_EIO && reused && (!body || body->data)) {
		ret = httpl_connect(c, err);
		if (!ret)
			ret = httpl_once(c, method, path, body, headers, status, resp);
	}
	if (ret && !(err && err->code))
		ff_error_set(err, ret, "request %s %s to %s:%d failed: %s", method, path, c->host,
			     c->port, ff_strerror(ret));
	return ret;
}

int httpl_post_json(struct httpl *c, const char *path, const json_t *body, json_t **out,
		    struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT;
	struct ff_buf r = FF_BUF_INIT;
	int status = 0;
	int ret = jsonx_dump(body, &b);
	struct httpl_body hb = { .data = b.buf, .len = b.len, .ctype = "application/json" };
	if (!ret)
		ret = httpl_request(c, "POST", path, &hb, NULL, &status, &r, err);
	if (!ret)
		ret = jsonx_parse(r.buf, r.len, out, err);
	ff_buf_release(&b);
	ff_buf_release(&r);
	return ret;
}

int httpl_get_json(struct httpl *c, const char *path, json_t **out, struct ff_error *err)
{
	struct ff_buf r = FF_BUF_INIT;
	int status = 0;
	int ret = httpl_request(c, "GET", path, NULL, NULL, &status, &r, err);
	if (!ret)
		ret = jsonx_parse(r.buf, r.len, out, err);
	ff_buf_release(&r);
	return ret;
}
