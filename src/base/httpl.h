/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpl.h - a lightweight HTTP/1.1 client for task processes.
 *
 * A component talks to exactly one server, its own site's fedflowd, over
 * a numeric IPv4 address. libcurl would cost each task process about 30
 * shared libraries and several milliseconds to load; this client is one
 * TCP connection kept alive across requests, Content-Length bodies (sent
 * from memory or streamed from a callback), and Content-Length or
 * chunked answers. Not for the daemon or the CLI (they use libcurl).
 * Not thread-safe per struct httpl.
 */
#ifndef FF_HTTPL_H
#define FF_HTTPL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"

struct httpl {
	char host[64];        /* numeric IPv4 */
	int port;
	int fd;               /* -1 when not connected */
	int timeout_ms;       /* per read/write, 0 = none */
};

/* Parses "http://1.2.3.4:9380[/...]" into host and port. */
int httpl_init(struct httpl *c, const char *base_url, struct ff_error *err);
void httpl_release(struct httpl *c);

/*
 * Body source for streamed uploads: fills buf with up to n bytes and
 * returns the count (0 at the end) or a negative error.
 */
typedef long long (*httpl_read_cb)(void *arg, char *buf, size_t n);

struct httpl_body {
	const char *data;     /* whole body in memory, or */
	httpl_read_cb read;   /* streamed from read(arg) */
	void *arg;
	uint64_t len;         /* Content-Length */
	const char *ctype;    /* may be NULL */
};

/*
 * Sends method path (path includes the query string) with an optional
 * body and extra header lines ("Name: value\r\n" each, may be NULL).
 * The answer body goes to resp (bounded by resp->max); *status gets the
 * HTTP status. Reconnects once if a kept-alive connection was closed.
 */
int httpl_request(struct httpl *c, const char *method, const char *path,
		  const struct httpl_body *body, const char *headers, int *status,
		  struct ff_buf *resp, struct ff_error *err);

/* POST JSON, parse a JSON answer (*out new reference). */
int httpl_post_json(struct httpl *c, const char *path, const json_t *body, json_t **out,
		    struct ff_error *err);
int httpl_get_json(struct httpl *c, const char *path, json_t **out, struct ff_error *err);

#endif
