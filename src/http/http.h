/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h - fedflowd's HTTP server (libmicrohttpd) and request objects.
 *
 * Threads: libmicrohttpd runs a small pool of worker threads. A route is
 * either HTTP_RT_READ - its handler runs right there on the worker thread
 * and may only read the database through http_req_db() (a per-thread
 * read-only connection) - or HTTP_RT_CORE - the connection is suspended,
 * the request is posted to the core loop, the handler runs on the core
 * thread (where all scheduler and store writes happen) and the connection
 * is resumed when http_req_finish() is called, possibly much later (the
 * handler may complete asynchronously). HTTP_RT_STREAM routes receive the
 * body in chunks on the worker thread (uploads) before their handler runs.
 *
 * Every answer is a JSON envelope unless a handler sends a file. Bodies
 * above the configured limit are refused with 413 and a JSON message; the
 * connection is then closed, since the rest of the body was not read.
 * Paths are normalised: duplicate slashes merged, trailing slash dropped.
 */
#ifndef FF_HTTP_H
#define FF_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "err.h"
#include "ev.h"

struct http_server;
struct http_req;
struct store;
struct MHD_Connection;

enum http_route_flags {
	HTTP_RT_READ = 1,     /* run on the worker thread, read-only db */
	HTTP_RT_CORE = 2,     /* run on the core thread */
	HTTP_RT_STREAM = 4,   /* body streamed to on_chunk, no size limit */
	HTTP_RT_PREFIX = 8,   /* path is a prefix ("/v2/worker/metric/save/") */
};

typedef void (*http_handler)(struct http_req *r);
/* Streaming body chunk; return FF_OK to continue, an error to refuse. */
typedef int (*http_chunk_cb)(struct http_req *r, const char *data, size_t n);

struct http_route {
	const char *method;      /* "GET", "POST" or NULL for both */
	const char *path;
	http_handler handler;
	int flags;
	http_chunk_cb on_chunk;  /* HTTP_RT_STREAM only */
};

/*
 * Route tables register themselves: a page file writes
 *   HTTP_ROUTES(my_table);
 * after its table and api_routes() finds it (linker section ff_routes), so
 * adding a page never means editing a shared list. fedflowd links its
 * library whole so no page is dropped.
 */
struct http_route_set {
	const struct http_route *routes;
	size_t n;
};
#define HTTP_ROUTES(table)                                                    \
	static const struct http_route_set table##_set = { (table),             \
							   FF_ARRAY_SIZE(table) }; \
	static const struct http_route_set *const table##_ptr                  \
		__attribute__((used, section("ff_routes"))) = &table##_set

struct http_config {
	const char *host;
	int port;
	int threads;
	size_t max_body;
	struct ev_loop *core;    /* where HTTP_RT_CORE handlers run */
	const char *db_dsn;      /* for per-thread read connections */
	void *ctx;               /* handed to handlers via http_req_ctx */
	/* optional hook run on the worker thread before routing (auth) */
	int (*before)(struct http_req *r);
};

int http_server_start(const struct http_config *cfg, const struct http_route *routes,
		      size_t nroutes, struct http_server **out, struct ff_error *err);
/* Stops accepting, waits for worker threads. Suspended requests are dropped. */
void http_server_stop(struct http_server *s);
int http_server_port(const struct http_server *s);

/* ---- request accessors (valid until http_req_finish) ---- */

void *http_req_ctx(const struct http_req *r);
const char *http_req_method(const struct http_req *r);
const char *http_req_path(const struct http_req *r);
/* Path remainder after a HTTP_RT_PREFIX route's prefix. */
const char *http_req_path_tail(const struct http_req *r);
/* Query-string argument (first occurrence), NULL if absent. */
const char *http_req_arg(const struct http_req *r, const char *key);
/* All occurrences of a query argument; returns the count (<= max). */
size_t http_req_args(const struct http_req *r, const char *key, const char **out,
		     size_t max);
const char *http_req_header(const struct http_req *r, const char *name);
/* Raw body and its parsed JSON (NULL when empty or not JSON). */
const struct ff_buf *http_req_body(const struct http_req *r);
json_t *http_req_json(const struct http_req *r);
/* True when the body was present but did not parse as JSON. */
bool http_req_json_invalid(const struct http_req *r);
/* Per-thread read-only database connection (HTTP_RT_READ handlers). */
struct store *http_req_db(struct http_req *r, struct ff_error *err);
/* Handler-owned slot (for streaming state); freed with the request via free_cb. */
void http_req_set_user(struct http_req *r, void *user, void (*free_cb)(void *));
void *http_req_user(const struct http_req *r);
/* Peer IPv4/IPv6 address text. */
const char *http_req_peer(const struct http_req *r);

/* ---- responses ---- */

/* Response body buffer the handler fills (JSON by default). */
struct ff_buf *http_req_out(struct http_req *r);
void http_req_set_status(struct http_req *r, unsigned status);
void http_req_set_ctype(struct http_req *r, const char *ctype);
void http_req_add_header(struct http_req *r, const char *name, const char *value);
/* Sends the file at fd (owned: closed after sending) instead of the buffer. */
void http_req_send_fd(struct http_req *r, int fd, uint64_t size, const char *ctype,
		      const char *filename);
/*
 * Marks the response complete. For HTTP_RT_CORE routes this resumes the
 * connection (call it exactly once, from the core thread, possibly later);
 * for HTTP_RT_READ routes the server calls it when the handler returns if
 * the handler did not.
 */
void http_req_finish(struct http_req *r);

#endif
