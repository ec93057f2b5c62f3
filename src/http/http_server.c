// SPDX-License-Identifier: Apache-2.0
/*
 * http_server.c - libmicrohttpd glue: routing, bodies, the core-thread
 * hand-off and responses.
 *
 * DESIGN. libmicrohttpd calls http_access several times per request: once
 * with the headers, once per body chunk, once more when the body is
 * complete, and again after a suspended connection is resumed. The request
 * object (struct http_req) is created on the first call and freed by the
 * completion callback. For HTTP_RT_CORE routes the connection is suspended
 * and the request travels to the core loop as an ev_msg; the handler there
 * finishes it (now or later) and http_req_finish resumes the connection;
 * the next http_access call sees r->finished and queues the answer. A
 * request is therefore touched by one thread at a time: the worker until
 * it suspends, the core thread until it resumes.
 */
#include "ff_setup.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "http.h"
#include "jsonx.h"
#include "jw.h"
#include "log.h"
#include "mem.h"
#include "store.h"

#define HTTP_MAX_HEADERS 8
#define HTTP_DISCARD_MAX ((uint64_t)256 << 20)
#define HTTP_STREAM_IDLE_S 30
/*
 * libmicrohttpd's memory pool per connection, which also bounds its read
 * buffer: streamed uploads (gateway messages) arrive in reads of up to
 * about half of it. 1 MiB made a receiving gateway's upload thread cheaper
 * (0.77 instead of 1.08 CPU-s per GiB: fewer reads and chunk callbacks),
 * but libmicrohttpd zeroes the whole pool between two requests of a
 * connection, and at 1 MiB that was 0.27 ms of the ~2.2 ms of CPU a party
 * task costs across three sites (bench/sites). Small requests are the
 * common case.
 */
#define HTTP_CONN_MEMORY ((size_t)128 << 10)

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_config cfg;
	const struct http_route *routes;
	size_t nroutes;
	int port;
	/* suspended requests: MHD aborts when stopped with one left */
	pthread_mutex_t park_lock;
	struct http_req *parked;
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	char method[8];
	char *path;
	const struct http_route *route;
	struct ff_buf body;
	json_t *json;
	bool json_invalid;
	bool too_big;
	bool dispatched;
	bool queued;            /* MHD takes one response per request */
	uint64_t discarded;     /* bytes of a refused body read and dropped */
	atomic_bool finished;
	int chunk_err;
	struct ff_error chunk_msg;
	struct ev_msg msg;
	/* response */
	unsigned status;
	struct ff_buf out;
	const char *ctype;
	char *hdr_name[HTTP_MAX_HEADERS];
	char *hdr_value[HTTP_MAX_HEADERS];
	size_t nhdr;
	int out_fd;
	uint64_t out_fd_size;
	char *filename;
	void *user;
	void (*user_free)(void *);
	char peer[64];
	struct http_req *park_prev, *park_next;
	bool parked;
};

static pthread_key_t http_db_key;
static pthread_once_t http_db_once = PTHREAD_ONCE_INIT;

static void http_db_close(void *p)
{
	store_close(p);
}

static void http_db_key_init(void)
{
	pthread_key_create(&http_db_key, http_db_close);
}

/* ---- request helpers ---- */

static char *http_normalize(const char *url)
{
	size_t n = strlen(url);
	char *p = ff_malloc(n + 2);
	if (!p)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n && url[i] != '?'; i++) {
		if (url[i] == '/' && j > 0 && p[j - 1] == '/')
			continue;
		p[j++] = url[i];
	}
	while (j > 1 && p[j - 1] == '/')
		j--;
	if (j == 0)
		p[j++] = '/';
	p[j] = '\0';
	return p;
}

static const struct http_route *http_route_find(const struct http_server *s,
						const char *method, const char *path,
						bool *method_mismatch)
{
	*method_mismatch = false;
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct http_route *rt = &s->routes[i];
		bool match = (rt->flags & HTTP_RT_PREFIX)
				     ? !strncmp(path, rt->path, strlen(rt->path))
				     : !strcmp(path, rt->path);
		if (!match)
			continue;
		if (rt->method && strcmp(rt->method, method)) {
			*method_mismatch = true;
			continue;
		}
		return rt;
	}
	return NULL;
}

static struct http_req *http_req_new(struct http_server *s, struct MHD_Connection *conn,
				     const char *url, const char *method)
{
	struct http_req *r = ff_calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->srv = s;
	r->conn = conn;
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->path = http_normalize(url);
	ff_buf_init(&r->body, s->cfg.max_body);
	ff_buf_init(&r->out, (size_t)1 << 30);
	r->status = 200;
	r->ctype = "application/json";
	r->out_fd = -1;
	if (!r->path) {
		ff_free(r);
		return NULL;
	}
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  r->peer, sizeof(r->peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  r->peer, sizeof(r->peer));
	}
	return r;
}

static void http_park(struct http_req *r)
{
	struct http_server *s = r->srv;
	pthread_mutex_lock(&s->park_lock);
	r->park_next = s->parked;
	if (s->parked)
		s->parked->park_prev = r;
	s->parked = r;
	r->parked = true;
	pthread_mutex_unlock(&s->park_lock);
}

static void http_unpark(struct http_req *r)
{
	struct http_server *s = r->srv;
	pthread_mutex_lock(&s->park_lock);
	if (r->parked) {
		if (r->park_prev)
			r->park_prev->park_next = r->park_next;
		else
			s->parked = r->park_next;
		if (r->park_next)
			r->park_next->park_prev = r->park_prev;
		r->parked = false;
	}
	pthread_mutex_unlock(&s->park_lock);
}

static void http_req_free(struct http_req *r)
{
	if (!r)
		return;
	http_unpark(r);
	if (r->user_free)
		r->user_free(r->user);
	ff_free(r->path);
	ff_buf_release(&r->body);
	ff_buf_release(&r->out);
	json_decref(r->json);
	for (size_t i = 0; i < r->nhdr; i++) {
		ff_free(r->hdr_name[i]);
		ff_free(r->hdr_value[i]);
	}
	if (r->out_fd >= 0)
		close(r->out_fd);
	ff_free(r->filename);
	ff_free(r);
}

/* An envelope-shaped error written straight into the response. */
static void http_error(struct http_req *r, unsigned status, int code, const char *msg)
{
	struct jw w;
	ff_buf_reset(&r->out);
	jw_init(&w, &r->out);
	jw_obj(&w);
	jw_kint(&w, "code", code);
	jw_kstr(&w, "message", msg);
	jw_end(&w);
	r->status = status;
	r->ctype = "application/json";
}

static void http_free_buf(void *p)
{
	ff_free(p);
}

static enum MHD_Result http_queue(struct http_req *r)
{
	if (r->queued)
		return MHD_YES;
	r->queued = true;
	struct MHD_Response *resp;
	if (r->out_fd >= 0) {
		resp = MHD_create_response_from_fd64(r->out_fd_size, r->out_fd);
		if (resp)
			r->out_fd = -1; /* MHD closes it */
	} else {
		size_t len;
		char *body = ff_buf_detach(&r->out, &len);
		resp = body ? MHD_create_response_from_buffer_with_free_callback(len, body,
										   http_free_buf)
			    : NULL;
		if (!resp)
			ff_free(body);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	if (r->filename) {
		char cd[512];
		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", r->filename);
		MHD_add_response_header(resp, "Content-Disposition", cd);
	}
	for (size_t i = 0; i < r->nhdr; i++)
		MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	if (r->too_big)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void http_core_cb(struct ev_msg *m)
{
	struct http_req *r = ff_container_of(m, struct http_req, msg);
	r->route->handler(r);
}

static void http_parse_body(struct http_req *r)
{
	if (r->body.len == 0)
		return;
	json_error_t je;
	r->json = json_loadb(r->body.buf, r->body.len, 0, &je);
	if (!r->json)
		r->json_invalid = true;
}

/* Body complete: run the handler here or hand it to the core thread. */
static enum MHD_Result http_dispatch(struct http_req *r)
{
	r->dispatched = true;
	if (r->too_big) {
		char msg[160];
		snprintf(msg, sizeof(msg),
			 "request body larger than the limit of %zu bytes: send less data "
			 "or raise http.max_body in the config", r->srv->cfg.max_body);
		http_error(r, 413, 5001, msg);
		return http_queue(r);
	}
	if (r->chunk_err) {
		http_error(r, 200, ff_api_code(r->chunk_err),
			   ff_error_msg(&r->chunk_msg, r->chunk_err));
		return http_queue(r);
	}
	if (!(r->route->flags & HTTP_RT_STREAM))
		http_parse_body(r);
	if (r->srv->cfg.before && r->srv->cfg.before(r))
		return http_queue(r);
	if (r->route->flags & HTTP_RT_CORE) {
		http_park(r);
		MHD_suspend_connection(r->conn);
		ev_post(r->srv->cfg.core, &r->msg, http_core_cb);
		return MHD_YES;
	}
	r->route->handler(r);
	atomic_store(&r->finished, true);
	return http_queue(r);
}

static enum MHD_Result http_first_call(struct http_server *s, struct MHD_Connection *conn,
				       const char *url, const char *method, void **con_cls)
{
	struct http_req *r = http_req_new(s, conn, url, method);
	if (!r)
		return MHD_NO;
	*con_cls = r;
	bool mismatch;
	r->route = http_route_find(s, method, r->path, &mismatch);
	if (!r->route) {
		char msg[300];
		snprintf(msg, sizeof(msg), mismatch
			 ? "method %s is not allowed on '%s': see docs/api.md"
			 : "unknown route %s '%s': see docs/api.md for the API",
			 method, r->path);
		http_error(r, mismatch ? 405 : 404, 6000, msg);
		r->dispatched = true;
		/* the body (if any) is discarded; answer once it is read */
		return MHD_YES;
	}
	/* a client that half-closes mid-upload is often not noticed: an upload
	 * idle this long is given up, and what it held is released */
	if (r->route->flags & HTTP_RT_STREAM)
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned int)HTTP_STREAM_IDLE_S);
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && !(r->route->flags & HTTP_RT_STREAM) &&
	    strtoull(cl, NULL, 10) > s->cfg.max_body) {
		r->too_big = true;
		/* huge: answer now and close; otherwise drop the body, then answer */
		if (strtoull(cl, NULL, 10) > HTTP_DISCARD_MAX)
			return http_dispatch(r);
	}
	return MHD_YES;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (!r)
		return http_first_call(s, conn, url, method, con_cls);
	if (r->dispatched) {
		if (*upload_size) {
			/* the rest of a refused body (unknown route, too big):
			 * read and drop it, answer once it is all read */
			r->discarded += *upload_size;
			*upload_size = 0;
			if (r->discarded > HTTP_DISCARD_MAX && !r->too_big) {
				r->too_big = true; /* Connection: close */
				return http_queue(r);
			}
			return MHD_YES;
		}
		if (!atomic_load(&r->finished) && (r->route && (r->route->flags & HTTP_RT_CORE)))
			return MHD_YES;
		return http_queue(r);
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->chunk_err || r->too_big) {
			/* read and drop the rest so the client gets a clean answer,
			 * but not forever */
			r->discarded += n;
			if (r->discarded > HTTP_DISCARD_MAX)
				return http_dispatch(r);
			return MHD_YES;
		}
		if (r->route->flags & HTTP_RT_STREAM) {
			r->chunk_err = r->route->on_chunk(r, upload_data, n);
			if (r->chunk_err && !r->chunk_msg.msg[0])
				ff_error_set(&r->chunk_msg, r->chunk_err, "upload refused: %s",
					     ff_strerror(r->chunk_err));
		} else if (ff_buf_add(&r->body, upload_data, n)) {
			r->too_big = true;
			r->discarded = n;
		}
		return MHD_YES;
	}
	return http_dispatch(r);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	http_req_free(*con_cls);
	*con_cls = NULL;
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	ff_log(FF_LOG_DEBUG, "http %s", msg);
}

int http_server_start(const struct http_config *cfg, const struct http_route *routes,
		      size_t nroutes, struct http_server **out, struct ff_error *err)
{
	pthread_once(&http_db_once, http_db_key_init);
	struct http_server *s = ff_calloc(1, sizeof(*s));
	if (!s)
		return FF_ENOMEM;
	s->cfg = *cfg;
	s->routes = routes;
	s->nroutes = nroutes;
	pthread_mutex_init(&s->park_lock, NULL);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
	if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
		ff_free(s);
		return ff_error_set(err, FF_EINVAL, "listen address '%s' is not an IPv4 address",
				    cfg->host);
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
	s->mhd = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, http_access, s,
				  MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				  MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000,
				  MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY,
				  MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
				  MHD_OPTION_END);
	if (!s->mhd) {
		pthread_mutex_destroy(&s->park_lock);
		ff_free(s);
		return ff_error_set(err, FF_EIO, "cannot listen on %s:%d: %s (is the port in use?)",
				    cfg->host, cfg->port, strerror(errno));
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : cfg->port;
	*out = s;
	return FF_OK;
}

/*
 * Requests still parked (their owner will never finish them now: the core
 * loop has ended) are answered 503 and resumed, so MHD can stop; their
 * owners are released after this without answering.
 */
void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->park_lock);
	for (struct http_req *r = s->parked; r; r = r->park_next) {
		if (atomic_exchange(&r->finished, true))
			continue;
		http_error(r, 503, 6000, "fedflowd is stopping: send the request again once it is back");
		if (r->dispatched)
			MHD_resume_connection(r->conn);
	}
	pthread_mutex_unlock(&s->park_lock);
	MHD_stop_daemon(s->mhd);
	pthread_mutex_destroy(&s->park_lock);
	ff_free(s);
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

/* ---- accessors ---- */

void *http_req_ctx(const struct http_req *r)
{
	return r->srv->cfg.ctx;
}

const char *http_req_method(const struct http_req *r)
{
	return r->method;
}

const char *http_req_path(const struct http_req *r)
{
	return r->path;
}

const char *http_req_path_tail(const struct http_req *r)
{
	size_t n = strlen(r->route->path);
	return strlen(r->path) >= n ? r->path + n : "";
}

const char *http_req_arg(const struct http_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct http_args_ctx {
	const char *key;
	const char **out;
	size_t max, n;
};

static enum MHD_Result http_args_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct http_args_ctx *c = cls;
	if (key && value && !strcmp(key, c->key) && c->n < c->max)
		c->out[c->n++] = value;
	return MHD_YES;
}

size_t http_req_args(const struct http_req *r, const char *key, const char **out, size_t max)
{
	struct http_args_ctx c = { .key = key, .out = out, .max = max };
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, http_args_cb, &c);
	return c.n;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const struct ff_buf *http_req_body(const struct http_req *r)
{
	return &r->body;
}

json_t *http_req_json(const struct http_req *r)
{
	return r->json;
}

bool http_req_json_invalid(const struct http_req *r)
{
	return r->json_invalid;
}

struct store *http_req_db(struct http_req *r, struct ff_error *err)
{
	struct store *db = pthread_getspecific(http_db_key);
	if (db)
		return db;
	if (store_open_reader(r->srv->cfg.db_dsn, &db, err))
		return NULL;
	pthread_setspecific(http_db_key, db);
	return db;
}

void http_req_set_user(struct http_req *r, void *user, void (*free_cb)(void *))
{
	r->user = user;
	r->user_free = free_cb;
}

void *http_req_user(const struct http_req *r)
{
	return r->user;
}

const char *http_req_peer(const struct http_req *r)
{
	return r->peer;
}

struct ff_buf *http_req_out(struct http_req *r)
{
	return &r->out;
}

void http_req_set_status(struct http_req *r, unsigned status)
{
	r->status = status;
}

void http_req_set_ctype(struct http_req *r, const char *ctype)
{
	r->ctype = ctype;
}

void http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nhdr >= HTTP_MAX_HEADERS)
		return;
	r->hdr_name[r->nhdr] = ff_strdup(name);
	r->hdr_value[r->nhdr] = ff_strdup(value);
	if (r->hdr_name[r->nhdr] && r->hdr_value[r->nhdr])
		r->nhdr++;
}

void http_req_send_fd(struct http_req *r, int fd, uint64_t size, const char *ctype,
		      const char *filename)
{
	if (r->out_fd >= 0)
		close(r->out_fd);
	r->out_fd = fd;
	r->out_fd_size = size;
	r->ctype = ctype;
	ff_free(r->filename);
	r->filename = filename ? ff_strdup(filename) : NULL;
}

void http_req_finish(struct http_req *r)
{
	if (atomic_exchange(&r->finished, true))
		return;
	if (r->route && (r->route->flags & HTTP_RT_CORE) && r->dispatched)
		MHD_resume_connection(r->conn);
}
