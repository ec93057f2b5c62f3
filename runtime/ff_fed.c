// SPDX-License-Identifier: Apache-2.0
/*
 * ff_fed.c - libfedflow's side of the message gateway (fedflow/fed.h).
 *
 * DESIGN. A task talks to its own site's gateway only, over one kept-alive
 * HTTP/1.1 connection: a send is POST /v2/gateway/push with the message
 * as a Content-Length body (from the caller's memory, or sendfile'd from a
 * descriptor); a receive is GET /v2/gateway/pull, a long poll the gateway
 * holds until the message is there or its wait passed, repeated until the
 * task's own timeout. The answer to a pull is the message itself
 * (application/octet-stream), read straight into the caller's buffer or
 * copied to the caller's descriptor in bounded pieces, or a JSON envelope
 * (not yet, or an error). A task whose gateway is on this host asks for
 * spilled messages as files ("file=1"): the envelope then names the
 * gateway's spill file, which the task opens, deletes and reads itself -
 * one copy out of the page cache instead of the gateway's sendfile, a
 * TCP hop and the socket reads. Into a buffer or a regular file it also
 * follows a message from another site while its segments arrive
 * ("follow", struct fed_follow), reading the verified bytes from the spill
 * file and freeing them there. httpl cannot stream an answer into a descriptor
 * nor tell the answer's type, hence the small client here.
 */
#include "ff_setup.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "fedflow/fed.h"
#include "fedflow/task.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

#define FED_TIMEOUT_DEFAULT_MS (600 * 1000)
#define FED_POLL_MS 30000          /* one long poll; the gateway caps it too */
#define FED_SLACK_MS 30000         /* beyond the poll before the socket gives up */
#define FED_NAME_MAX 128
#define FED_IDLE_MS 120000        /* a transfer that stops moving this long fails */
#define FED_IO_BUF (1 << 20)
/* Messages above this (the gateway's segment) go through a ring when it offers one. */
#define FED_RING_MIN ((uint64_t)8 << 20)
#define FED_HEAD_MAX 16384

struct ff_fed_role {
	const char *role;          /* borrowed from parties */
	const char **ids;          /* owned array of borrowed ids */
	size_t n;
};

struct ff_fed_party {
	char *role;
	char *party_id;
};

struct ff_fed {
	struct ff_task *t;
	char *session;
	char *role;
	char *party_id;
	struct ff_fed_party *parties;
	size_t nparties;
	struct ff_fed_role *roles;
	size_t nroles;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char where[96];            /* "host:port" for messages */
	bool local;                /* the gateway is on this host (loopback) */
	int fd;
	int64_t timeout_ms;
	/* answer reader */
	char *in;
	size_t in_pos, in_len;
};

/* The answer's head. */
struct fed_resp {
	int status;
	long long clen;
	bool octet;
	bool close;
};

static int64_t fed_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool fed_name_ok(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= FED_NAME_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					   (c >= '0' && c <= '9') || c == '_' || c == '.' ||
					   c == ':' || c == '-'))
			return false;
	}
	return n > 0;
}

/* "600 s", "1.5 s" */
static void fed_secs(int64_t ms, char *buf, size_t n)
{
	if (ms % 1000 == 0)
		snprintf(buf, n, "%lld s", (long long)(ms / 1000));
	else
		snprintf(buf, n, "%.3g s", (double)ms / 1000.0);
}

/* ---- opening ---- */

static char *fed_text(const json_t *v)
{
	char tmp[256];
	return v && !jsonx_scalar_text(v, tmp, sizeof(tmp)) ? ff_strdup(tmp) : NULL;
}

/* A loopback address: the gateway runs on this host and shares its files. */
static bool fed_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return false;
}

static int fed_resolve(struct ff_fed *f, const char *host, long long port, struct ff_error *err)
{
	if (!host || !*host || !strcmp(host, "0.0.0.0"))
		host = "127.0.0.1";
	if (port <= 0 || port > 65535)
		return ff_error_set(err, FF_EINVAL, "task config: bad gateway port %lld", port);
	char ps[16];
	snprintf(ps, sizeof(ps), "%lld", port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc || !res)
		return ff_error_set(err, FF_EINVAL, "task config: cannot resolve gateway host '%s': %s",
				    host, gai_strerror(rc));
	memcpy(&f->addr, res->ai_addr, res->ai_addrlen);
	f->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(f->where, sizeof(f->where), "%s:%lld", host, port);
	f->local = fed_loopback(&f->addr);
	return FF_OK;
}

static int fed_add_role(struct ff_fed *f, const char *role, const char *id)
{
	struct ff_fed_role *r = NULL;
	for (size_t i = 0; i < f->nroles && !r; i++)
		if (!strcmp(f->roles[i].role, role))
			r = &f->roles[i];
	if (!r) {
		struct ff_fed_role *g = ff_realloc(f->roles, (f->nroles + 1) * sizeof(*g));
		if (!g)
			return FF_ENOMEM;
		f->roles = g;
		r = &f->roles[f->nroles++];
		memset(r, 0, sizeof(*r));
		r->role = role;
	}
	const char **ids = ff_realloc(r->ids, (r->n + 1) * sizeof(*ids));
	if (!ids)
		return FF_ENOMEM;
	r->ids = ids;
	r->ids[r->n++] = id;
	return FF_OK;
}

static int fed_parties(struct ff_fed *f, const json_t *list, struct ff_error *err)
{
	size_t n = json_array_size(list);
	if (!FF_ALLOC_ARRAY(f->parties, n))
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(list, i);
		struct ff_fed_party *fp = &f->parties[f->nparties];
		fp->role = fed_text(json_object_get(p, "role"));
		fp->party_id = fed_text(json_object_get(p, "partyid"));
		if (!fp->party_id)
			fp->party_id = fed_text(json_object_get(p, "party_id"));
		if (!fp->role || !fp->party_id || !fed_name_ok(fp->role) || !fed_name_ok(fp->party_id)) {
			ff_free(fp->role);
			ff_free(fp->party_id);
			return ff_error_set(err, FF_EINVAL, "task config: party %zu of "
					    "conf.federation.metadata.parties.parties is not a valid "
					    "{role, partyid}", i);
		}
		f->nparties++;
		if (fed_add_role(f, fp->role, fp->party_id))
			return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	return FF_OK;
}

static int fed_timeout_conf(struct ff_fed *f, const json_t *cfg, struct ff_error *err)
{
	const json_t *v = ff_task_param(f->t, "federation_timeout");
	if (!v)
		v = jsonx_path(cfg, "conf.federation_timeout");
	if (!v)
		v = jsonx_path(cfg, "conf.federation.metadata.federation_timeout");
	if (!v || json_is_null(v))
		return FF_OK;
	double s;
	if (!jsonx_as_double(v, &s) || s < 0 || s > 1e9)
		return ff_error_set(err, FF_EINVAL, "'federation_timeout' must be seconds >= 0");
	f->timeout_ms = (int64_t)(s * 1000.0);
	return FF_OK;
}

int ff_fed_open(struct ff_task *t, struct ff_fed **out, struct ff_error *err)
{
	const json_t *cfg = ff_task_config(t);
	const json_t *md = jsonx_path(cfg, "conf.federation.metadata");
	struct ff_fed *f = ff_calloc(1, sizeof(*f));
	int ret = FF_OK;
	*out = NULL;
	if (!f)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	f->t = t;
	f->fd = -1;
	f->timeout_ms = FED_TIMEOUT_DEFAULT_MS;
	f->session = fed_text(json_object_get(md, "federation_id"));
	const json_t *local = jsonx_path(md, "parties.local");
	f->role = fed_text(json_object_get(local, "role"));
	f->party_id = fed_text(json_object_get(local, "partyid"));
	if (!f->role)
		f->role = ff_strdup(ff_task_role(t));
	if (!f->party_id)
		f->party_id = ff_strdup(ff_task_party_id(t));
	if (!md || !f->session || !fed_name_ok(f->session) || strlen(f->session) > 255) {
		ret = ff_error_set(err, FF_EINVAL, "task config has no usable "
				   "conf.federation.metadata.federation_id: the task cannot exchange "
				   "messages");
		goto out;
	}
	if (!fed_name_ok(f->role) || !fed_name_ok(f->party_id)) {
		ret = ff_error_set(err, FF_EINVAL, "task config: bad local role or party id");
		goto out;
	}
	const json_t *gw = json_object_get(md, "gateway");
	long long port = 0;
	if (!jsonx_as_int(json_object_get(gw, "port"), &port)) {
		gw = json_object_get(cfg, "mlmd");
		jsonx_as_int(json_object_get(gw, "port"), &port);
	}
	ret = fed_resolve(f, jsonx_str(gw, "host"), port, err);
	if (!ret)
		ret = fed_parties(f, jsonx_path(md, "parties.parties"), err);
	if (!ret)
		ret = fed_timeout_conf(f, cfg, err);
	if (!ret && !(f->in = ff_malloc(FED_IO_BUF)))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
out:
	if (ret) {
		ff_fed_close(f);
		return ret;
	}
	*out = f;
	return FF_OK;
}

void ff_fed_close(struct ff_fed *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	for (size_t i = 0; i < f->nparties; i++) {
		ff_free(f->parties[i].role);
		ff_free(f->parties[i].party_id);
	}
	for (size_t i = 0; i < f->nroles; i++)
		ff_free(f->roles[i].ids);
	ff_free(f->parties);
	ff_free(f->roles);
	ff_free(f->session);
	ff_free(f->role);
	ff_free(f->party_id);
	ff_free(f->in);
	ff_free(f);
}

void ff_fed_set_timeout(struct ff_fed *f, int64_t ms)
{
	f->timeout_ms = ms < 0 ? 0 : ms;
}

const char *ff_fed_role(const struct ff_fed *f)
{
	return f->role;
}

const char *ff_fed_party_id(const struct ff_fed *f)
{
	return f->party_id;
}

const char *const *ff_fed_parties(const struct ff_fed *f, const char *role, size_t *n)
{
	for (size_t i = 0; i < f->nroles; i++) {
		if (!strcmp(f->roles[i].role, role)) {
			*n = f->roles[i].n;
			return f->roles[i].ids;
		}
	}
	*n = 0;
	return NULL;
}

/* ---- the connection ---- */

static void fed_disconnect(struct ff_fed *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->in_pos = f->in_len = 0;
}

static int fed_connect(struct ff_fed *f, struct ff_error *err)
{
	if (f->fd >= 0) {
		/* a kept-alive connection the server closed reads as ready */
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		if (poll(&p, 1, 0) == 0)
			return FF_OK;
		fed_disconnect(f);
	}
	f->fd = socket(f->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return ff_error_set(err, ff_from_errno(errno), "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(f->fd, (struct sockaddr *)&f->addr, f->addrlen)) {
		int e = errno;
		fed_disconnect(f);
		return ff_error_set(err, e == ECONNREFUSED ? FF_ECONNREFUSED : ff_from_errno(e),
				    "cannot connect to the gateway at %s: %s", f->where, strerror(e));
	}
	/* every wait is a poll with a deadline, sendfile included */
	int fl = fcntl(f->fd, F_GETFL);
	if (fl >= 0)
		fcntl(f->fd, F_SETFL, fl | O_NONBLOCK);
	return FF_OK;
}

/* Waits for ev until deadline (INT64_MAX: forever). */
static int fed_wait(struct ff_fed *f, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline == INT64_MAX ? -1 : deadline - fed_now_ms();
		if (deadline != INT64_MAX && left <= 0)
			return FF_ETIMEDOUT;
		struct pollfd p = { .fd = f->fd, .events = ev };
		int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return FF_OK;
		if (r < 0 && errno != EINTR)
			return ff_from_errno(errno);
	}
}

static int fed_send_iov(struct ff_fed *f, struct iovec *iov, int n, int64_t deadline)
{
	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(f->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int ret = fed_wait(f, POLLOUT, deadline);
			if (ret)
				return ret;
			continue;
		}
		if (w < 0)
			return ff_from_errno(errno);
		size_t k = (size_t)w;
		while (n > 0 && k >= iov->iov_len) {
			k -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= k;
		}
	}
	return FF_OK;
}

/* sendfile without a SIGPIPE when the gateway went away */
static ssize_t fed_sendfile(int sock, int fd, size_t n)
{
	sigset_t pipe, old;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	ssize_t w = sendfile(sock, fd, NULL, n);
	int e = errno;
	if (w < 0 && e == EPIPE) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe, NULL, &zero) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

/* Streams len bytes of fd (from its offset) to the socket. */
static int fed_send_fd(struct ff_fed *f, int fd, uint64_t len, int64_t deadline)
{
	bool use_sendfile = true;
	while (len) {
		size_t want = len > FED_IO_BUF ? FED_IO_BUF : (size_t)len;
		ssize_t w;
		if (use_sendfile) {
			w = fed_sendfile(f->fd, fd, want);
			if (w < 0 && (errno == EINVAL || errno == ENOSYS)) {
				use_sendfile = false;
				continue;
			}
			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				int ret = fed_wait(f, POLLOUT, deadline);
				if (ret)
					return ret;
				continue;
			}
			if (w < 0)
				return ff_from_errno(errno);
			if (w == 0)
				return FF_EDATA; /* the file is shorter than announced */
		} else {
			while ((w = read(fd, f->in, want)) < 0 && errno == EINTR)
				;
			if (w < 0)
				return ff_from_errno(errno);
			if (w == 0)
				return FF_EDATA;
			struct iovec iov = { f->in, (size_t)w };
			int ret = fed_send_iov(f, &iov, 1, deadline);
			if (ret)
				return ret;
		}
		len -= (uint64_t)w;
	}
	return FF_OK;
}

static int fed_fill(struct ff_fed *f, int64_t deadline)
{
	for (;;) {
		ssize_t r = recv(f->fd, f->in, FED_IO_BUF, MSG_DONTWAIT);
		if (r > 0) {
			f->in_pos = 0;
			f->in_len = (size_t)r;
			return FF_OK;
		}
		if (r == 0)
			return FF_EIO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return ff_from_errno(errno);
		int ret = fed_wait(f, POLLIN, deadline);
		if (ret)
			return ret;
	}
}

static int fed_line(struct ff_fed *f, char *line, size_t n, int64_t deadline)
{
	size_t k = 0;
	for (;;) {
		if (f->in_pos == f->in_len) {
			int ret = fed_fill(f, deadline);
			if (ret)
				return ret;
		}
		char c = f->in[f->in_pos++];
		if (c == '\n')
			break;
		if (c != '\r' && k + 1 < n)
			line[k++] = c;
	}
	line[k] = '\0';
	return FF_OK;
}

static int fed_read_head(struct ff_fed *f, struct fed_resp *resp, int64_t deadline)
{
	char line[1024];
	size_t total = 0;
	memset(resp, 0, sizeof(*resp));
	resp->clen = -1;
	int ret = fed_line(f, line, sizeof(line), deadline);
	if (ret)
		return ret;
	if (sscanf(line, "HTTP/1.%*d %d", &resp->status) != 1)
		return FF_EPROTO;
	for (;;) {
		ret = fed_line(f, line, sizeof(line), deadline);
		if (ret)
			return ret;
		total += strlen(line);
		if (!line[0])
			return resp->clen >= 0 ? FF_OK : FF_EPROTO;
		if (total > FED_HEAD_MAX)
			return FF_EPROTO;
		if (!strncasecmp(line, "content-length:", 15))
			resp->clen = strtoll(line + 15, NULL, 10);
		else if (!strncasecmp(line, "content-type:", 13))
			resp->octet = strstr(line + 13, "application/octet-stream") != NULL;
		else if (!strncasecmp(line, "connection:", 11) && strcasestr(line + 11, "close"))
			resp->close = true;
	}
}

/*
 * Reads the answer body: into mem (n bytes of room) or to fd. Fails when
 * no byte came for idle_ms (the transfer may take as long as it keeps going).
 */
static int fed_read_body(struct ff_fed *f, uint64_t n, char *mem, int fd, int64_t idle_ms)
{
	while (n) {
		size_t k;
		if (f->in_pos < f->in_len) {
			k = f->in_len - f->in_pos < n ? f->in_len - f->in_pos : (size_t)n;
			const char *src = f->in + f->in_pos;
			f->in_pos += k;
			if (mem) {
				memcpy(mem, src, k);
				mem += k;
			} else {
				int ret = fs_write_all(fd, src, k);
				if (ret)
					return ret;
			}
			n -= k;
			continue;
		}
		if (!mem) {
			int ret = fed_fill(f, fed_now_ms() + idle_ms);
			if (ret)
				return ret;
			continue;
		}
		/* straight into the caller's buffer */
		ssize_t r = recv(f->fd, mem, n > (uint64_t)SSIZE_MAX ? (size_t)SSIZE_MAX : (size_t)n, MSG_DONTWAIT);
		if (r > 0) {
			mem += r;
			n -= (uint64_t)r;
			continue;
		}
		if (r == 0)
			return FF_EIO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return ff_from_errno(errno);
		int ret = fed_wait(f, POLLIN, fed_now_ms() + idle_ms);
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int fed_read_json(struct ff_fed *f, const struct fed_resp *resp, json_t **out)
{
	if (resp->clen > 1 << 20)
		return FF_EPROTO;
	char *text = ff_malloc((size_t)resp->clen + 1);
	if (!text)
		return FF_ENOMEM;
	int ret = fed_read_body(f, (uint64_t)resp->clen, text, -1, FED_SLACK_MS);
	if (!ret)
		ret = jsonx_parse(text, (size_t)resp->clen, out, NULL) ? FF_EPROTO : FF_OK;
	ff_free(text);
	return ret;
}

/* The body of a request: memory, a descriptor, or none. */
struct fed_src {
	const void *data;
	int fd;
	uint64_t len;
};

/*
 * Sends one request and reads the answer's head. A kept-alive connection
 * found dead while the head was being sent is replaced once.
 */
static int fed_request(struct ff_fed *f, const char *method, const char *path,
		       const struct fed_src *src, int64_t deadline, struct fed_resp *resp,
		       struct ff_error *err)
{
	char head[2048];
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %llu"
			 "\r\n%s\r\n", method, path, f->where,
			 (unsigned long long)(src ? src->len : 0),
			 src ? "Content-Type: application/octet-stream\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return ff_error_set(err, FF_E2BIG, "request head too long");
	bool replayable = !src || src->fd < 0;
	int ret = FF_OK;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = f->fd >= 0;
		ret = fed_connect(f, err);
		if (ret)
			return ret;
		f->in_pos = f->in_len = 0;
		struct iovec iov[2] = { { head, (size_t)n }, { NULL, 0 } };
		int niov = 1;
		if (src && src->data && src->len) {
			iov[1].iov_base = (void *)src->data;
			iov[1].iov_len = (size_t)src->len;
			niov = 2;
		}
		ret = fed_send_iov(f, iov, niov, deadline);
		if (!ret && src && src->fd >= 0)
			ret = fed_send_fd(f, src->fd, src->len, deadline);
		if (!ret)
			ret = fed_read_head(f, resp, deadline);
		/* the server closed the idle connection just as it was reused */
		if (ret && ret != FF_ETIMEDOUT && ret != FF_EDATA && reused && replayable &&
		    f->in_len == 0 && attempt == 0) {
			fed_disconnect(f);
			continue;
		}
		break;
	}
	if (ret) {
		fed_disconnect(f);
		if (ret == FF_EDATA)
			return ff_error_set(err, ret, "the descriptor ended before the announced size");
		return ff_error_set(err, ret, ret == FF_ETIMEDOUT ? "no answer from the gateway at %s"
				    : "lost the connection to the gateway at %s: %s", f->where,
				    ff_strerror(ret));
	}
	return FF_OK;
}

/* ---- messages ---- */

static int fed_check(const char *tag, const char *role, const char *party_id,
		     struct ff_error *err)
{
	if (!fed_name_ok(tag))
		return ff_error_set(err, FF_EINVAL, "bad message tag '%.60s': expected 1 to %d "
				    "characters of [A-Za-z0-9_.:-]", tag ? tag : "", FED_NAME_MAX);
	if (!fed_name_ok(role) || !fed_name_ok(party_id))
		return ff_error_set(err, FF_EINVAL, "bad peer '%.40s %.40s' for message '%s'",
				    role ? role : "", party_id ? party_id : "", tag);
	return FF_OK;
}

static int fed_path(struct ff_fed *f, struct ff_buf *b, const char *op, const char *tag,
		    const char *src_role, const char *src_party, const char *dst_role,
		    const char *dst_party, long long wait_ms)
{
	int ret = ff_buf_addf(b, "/v2/gateway/%s?session=%s&tag=%s&src_role=%s&src_party=%s"
			      "&dst_role=%s&dst_party=%s", op, f->session, tag, src_role, src_party,
			      dst_role, dst_party);
	if (!ret && wait_ms >= 0)
		ret = ff_buf_addf(b, "&wait=%lld", wait_ms);
	return ret;
}

/* The gateway's refusal as an error: code by meaning, its message after what. */
static int fed_refusal(const json_t *env, const char *what, struct ff_error *err)
{
	long long code = -1;
	jsonx_as_int(json_object_get(env, "code"), &code);
	const char *msg = jsonx_str(env, "message");
	int ret = code == 8002 ? FF_EEXIST : code == 5001 ? FF_EPARAM
		: code == 5000 || code == 5003 ? FF_EVERIFY : code == 104 ? FF_EFEDERATED
		: FF_EIO;
	if (msg && strstr(msg, "has ended"))
		ret = FF_ECANCELED;
	return ff_error_set(err, ret, "%s: %s", what, msg ? msg : "the gateway gave no reason");
}

static int64_t fed_deadline(int64_t ms)
{
	return ms > 0 ? fed_now_ms() + ms : INT64_MAX;
}

/* One request of a send; *env is the gateway's envelope (code 0) or err is set. */
static int fed_call(struct ff_fed *f, const char *path, const struct fed_src *src,
		    int64_t deadline, json_t **env, const char *what, struct ff_error *err)
{
	struct fed_resp resp;
	*env = NULL;
	int ret = fed_request(f, "POST", path, src, deadline, &resp, err);
	if (!ret && resp.octet)
		ret = ff_error_set(err, FF_EPROTO, "the gateway answered a send with data");
	if (!ret && (ret = fed_read_json(f, &resp, env)))
		ff_error_set(err, ret, "the gateway's answer is not a fedflow envelope");
	if (!ret && (!json_is_integer(json_object_get(*env, "code")) ||
		     json_integer_value(json_object_get(*env, "code")) != 0))
		ret = fed_refusal(*env, what, err);
	else if (ret)
		ff_error_prefix(err, "%s", what);
	if (ret || resp.close)
		fed_disconnect(f);
	if (ret) {
		json_decref(*env);
		*env = NULL;
	}
	return ret;
}

/*
 * A ring push (docs/internals/gateway.md, "Ring pushes"): the gateway on
 * this host names a ring of segment slots in shared memory; segment k
 * goes into slot k % slots once a step said that slot is free, and each
 * step tells the gateway how many segments are written; the step that
 * sees the delivery ends it. No byte goes through the socket.
 */
struct fed_ring {
	struct ff_fed *f;
	struct ff_buf step;        /* the step's path up to "&written=" */
	int64_t deadline;
	const char *what;
	bool free, done;
};

static int fed_ring_step(struct fed_ring *rp, uint64_t written, struct ff_error *err)
{
	size_t keep = rp->step.len;
	json_t *env = NULL;
	int ret = ff_buf_addf(&rp->step, "&written=%llu&need=%llu", (unsigned long long)written,
			      (unsigned long long)written)
		? ff_error_set(err, FF_ENOMEM, "out of memory")
		: fed_call(rp->f, rp->step.buf, NULL, rp->deadline, &env, rp->what, err);
	rp->step.len = keep;
	rp->step.buf[keep] = '\0';
	const json_t *data = json_object_get(env, "data");
	rp->free = json_is_true(json_object_get(data, "free"));
	rp->done = json_is_true(json_object_get(data, "done"));
	json_decref(env);
	if (!ret && fed_now_ms() > rp->deadline)
		ret = ff_error_set(err, FF_ETIMEDOUT, "%s: not delivered within %lld ms", rp->what,
				   (long long)rp->f->timeout_ms);
	return ret;
}

/* Segment bytes into their slot: from memory, or read on from the descriptor. */
static int fed_ring_fill(const struct fed_src *src, char *slot, uint64_t off, size_t n)
{
	if (src->data) {
		memcpy(slot, (const char *)src->data + off, n);
		return FF_OK;
	}
	while (n) {
		ssize_t r = read(src->fd, slot, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? ff_from_errno(errno) : FF_EDATA;
		slot += r;
		n -= (size_t)r;
	}
	return FF_OK;
}

/* Writes the segments through the ring the gateway named (data of its answer). */
static int fed_ring_run(struct fed_ring *rp, const json_t *data, const struct fed_src *src,
			struct ff_error *err)
{
	long long slots = 0, seg = 0;
	jsonx_as_int(json_object_get(data, "slots"), &slots);
	jsonx_as_int(json_object_get(data, "segment"), &seg);
	const char *path = jsonx_str(data, "ring");
	if (slots <= 0 || seg <= 0 || slots > 64 || seg > (1LL << 30))
		return ff_error_set(err, FF_EPROTO, "%s: the gateway's ring has no shape", rp->what);
	size_t size = (size_t)(slots * seg);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char *ring = fd < 0 ? MAP_FAILED
		: mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (ring == MAP_FAILED)
		return ff_error_set(err, ff_from_errno(e), "%s: cannot map the gateway's ring '%s': %s",
				    rp->what, path, strerror(e));
	uint64_t nseg = (src->len + (uint64_t)seg - 1) / (uint64_t)seg;
	int ret = FF_OK;
	rp->free = true;
	for (uint64_t k = 0; !ret && k <= nseg; k++) {
		while (!ret && !rp->free && !rp->done)
			ret = fed_ring_step(rp, k, err);
		if (ret || k == nseg || rp->done)
			break;
		uint64_t off = k * (uint64_t)seg;
		size_t n = (size_t)(src->len - off < (uint64_t)seg ? src->len - off : (uint64_t)seg);
		ret = fed_ring_fill(src, ring + (size_t)(k % (uint64_t)slots) * (size_t)seg, off, n);
		if (ret)
			ff_error_set(err, ret, "%s: %s", rp->what, ret == FF_EDATA ? "the descriptor "
				     "ended before the announced size" : ff_strerror(ret));
		else
			ret = fed_ring_step(rp, k + 1, err);
	}
	munmap(ring, size);
	if (!ret && !rp->done)
		ret = ff_error_set(err, FF_EPROTO, "%s: the gateway ended the ring push early",
				   rp->what);
	return ret;
}

/* A ring push of src; *offered false when the gateway offers no ring (push instead). */
static int fed_send_ring(struct ff_fed *f, const char *tag, const char *role,
			 const char *party_id, const struct fed_src *src, int64_t deadline,
			 const char *what, bool *offered, struct ff_error *err)
{
	struct fed_ring rp = { .f = f, .step = FF_BUF_INIT_MAX(4096), .deadline = deadline,
			       .what = what };
	struct ff_buf path = FF_BUF_INIT_MAX(4096);
	json_t *env = NULL;
	*offered = false;
	int ret = fed_path(f, &path, "push/ring", tag, f->role, f->party_id, role, party_id, -1) ||
		  ff_buf_addf(&path, "&size=%llu", (unsigned long long)src->len)
		? ff_error_set(err, FF_ENOMEM, "out of memory")
		: fed_call(f, path.buf, NULL, deadline, &env, what, err);
	const json_t *data = json_object_get(env, "data");
	long long id = 0;
	jsonx_as_int(json_object_get(data, "push"), &id);
	*offered = !ret && jsonx_str(data, "ring");
	if (*offered && (fed_path(f, &rp.step, "push/ring/step", tag, f->role, f->party_id, role,
				  party_id, -1) || ff_buf_addf(&rp.step, "&push=%lld", id)))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	if (*offered && !ret)
		ret = fed_ring_run(&rp, data, src, err);
	json_decref(env);
	ff_buf_release(&path);
	ff_buf_release(&rp.step);
	return ret;
}

static int fed_send(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		    const struct fed_src *src, struct ff_error *err)
{
	struct ff_buf path = FF_BUF_INIT_MAX(4096);
	json_t *env = NULL;
	char what[400];
	int ret = fed_check(tag, role, party_id, err);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "cannot send message '%s' to %s %s", tag, role, party_id);
	int64_t deadline = fed_deadline(f->timeout_ms);
	/* large, from this host: through a ring if the gateway offers one */
	if (f->local && src->len > FED_RING_MIN) {
		bool offered;
		ret = fed_send_ring(f, tag, role, party_id, src, deadline, what, &offered, err);
		if (offered || ret)
			return ret;
	}
	if (fed_path(f, &path, "push", tag, f->role, f->party_id, role, party_id, -1))
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	else
		ret = fed_call(f, path.buf, src, deadline, &env, what, err);
	json_decref(env);
	ff_buf_release(&path);
	return ret;
}

int ff_fed_send(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		const void *data, size_t len, struct ff_error *err)
{
	struct fed_src src = { .data = data, .fd = -1, .len = len };
	if (!data && len)
		return ff_error_set(err, FF_EINVAL, "message '%s': no data", tag ? tag : "");
	return fed_send(f, tag, role, party_id, &src, err);
}

int ff_fed_send_fd(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		   int fd, uint64_t len, struct ff_error *err)
{
	struct fed_src src = { .data = NULL, .fd = fd, .len = len };
	if (fd < 0)
		return ff_error_set(err, FF_EINVAL, "message '%s': bad descriptor", tag ? tag : "");
	return fed_send(f, tag, role, party_id, &src, err);
}

/* Where a received message goes: a new buffer (*data) or fd. */
struct fed_sink {
	void **data;
	int fd;
	uint64_t len;
};

/* n bytes at offset off of fd into mem. */
static int fed_pread_all(int fd, char *mem, uint64_t off, uint64_t n)
{
	while (n) {
		ssize_t r = pread(fd, mem, n > FED_IO_BUF ? FED_IO_BUF : (size_t)n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ff_from_errno(errno);
		if (r == 0)
			return FF_EDATA;
		mem += r;
		off += (uint64_t)r;
		n -= (uint64_t)r;
	}
	return FF_OK;
}

/* n bytes at offset off of in to out (at its position): in the kernel when
 * it can, else through a buffer. */
static int fed_copy_at(int in, uint64_t off, int out, uint64_t n)
{
	loff_t o = (loff_t)off;
	while (n) {
		ssize_t w = copy_file_range(in, &o, out, NULL, n > FED_IO_BUF ? FED_IO_BUF : (size_t)n, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EXDEV || errno == EINVAL || errno == EBADF ||
			      errno == ENOSYS || errno == EOPNOTSUPP))
			break; /* not between these two: a pipe, a socket, O_APPEND */
		if (w < 0)
			return ff_from_errno(errno);
		if (w == 0)
			return FF_EDATA;
		n -= (uint64_t)w;
	}
	char *buf = n ? ff_malloc(FED_IO_BUF) : NULL;
	int ret = n && !buf ? FF_ENOMEM : FF_OK;
	while (n && !ret) {
		size_t k = n > FED_IO_BUF ? FED_IO_BUF : (size_t)n;
		ssize_t r = pread(in, buf, k, (off_t)o);
		if (r < 0 && errno == EINTR)
			continue;
		ret = r < 0 ? ff_from_errno(errno) : r == 0 ? FF_EDATA : fs_write_all(out, buf, (size_t)r);
		o += r > 0 ? r : 0;
		n -= r > 0 ? (uint64_t)r : 0;
	}
	ff_free(buf);
	return ret;
}

/*
 * A spilled message handed over as its file: opened and deleted at once
 * (the task owns it now; its blocks go with the descriptor), then read
 * into a new buffer or copied to the sink's descriptor.
 */
static int fed_take_file(const char *path, long long size, struct fed_sink *sink,
			 const char *what, struct ff_error *err)
{
	char *mem = NULL;
	struct stat st;
	int ret = FF_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ff_error_set(err, ff_from_errno(errno), "%s: cannot open the message file "
				    "'%s': %s", what, path, strerror(errno));
	unlink(path);
	if (fstat(fd, &st) || size < 0 || st.st_size != size) {
		ret = ff_error_set(err, FF_EIO, "%s: the message file '%s' does not have the "
				   "announced %lld bytes", what, path, size);
		goto out;
	}
	if (sink->data && !(mem = ff_malloc((size_t)size + 1))) {
		ret = ff_error_set(err, FF_ENOMEM, "%s: out of memory for %lld bytes", what, size);
		goto out;
	}
	ret = mem ? fed_pread_all(fd, mem, 0, (uint64_t)size) : fed_copy_at(fd, 0, sink->fd, (uint64_t)size);
	if (ret) {
		ff_error_set(err, ret, "%s: cannot read the message file '%s': %s", what, path,
			     ff_strerror(ret));
		goto out;
	}
	sink->len = (uint64_t)size;
	if (mem) {
		mem[size] = '\0';
		*sink->data = mem;
		mem = NULL;
	}
out:
	ff_free(mem);
	close(fd);
	return ret;
}

/*
 * Following a partner's message while its segments arrive (the gateway
 * on this host, "follow"): the first pull attaches and names the partial
 * message's spill file with its verified bytes ("have"); the task reads
 * them into its sink, frees them from the file (the page cache pages go
 * back and take the gateway's next writes, instead of a gigabyte of
 * fresh ones), and asks again with its token and the bytes it has. The
 * last answer has no "partial": the rest of the file, which the task then
 * deletes. A new token means the sender started over: from byte 0.
 * When the answer says "ring", the file is a ring of that many bytes in
 * shared memory (the gateway waits for the task before it overwrites
 * anything): the task maps it and copies byte x from x % ring, and frees
 * nothing.
 */
struct fed_follow {
	uint64_t token;            /* 0: not following */
	uint64_t seen, total;
	int fd;                    /* the followed file, -1 */
	const char *ring;          /* ... mapped when it is a ring */
	uint64_t ring_size;
	char *mem;                 /* buffer sink: total + 1 bytes */
	off_t start;               /* descriptor sink: where the message starts */
};

/* A sink a follower can start over in: a buffer, or a regular file it can seek. */
static bool fed_can_follow(const struct fed_sink *sink, struct fed_follow *fw)
{
	struct stat st;
	if (sink->data)
		return true;
	if (fstat(sink->fd, &st) || !S_ISREG(st.st_mode))
		return false;
	fw->start = lseek(sink->fd, 0, SEEK_CUR);
	return fw->start >= 0;
}

/*
 * A follower that gets the whole message after all (the sender started
 * over and it completed before the next pull): the bytes written to a
 * descriptor sink go. FF_OK or -errno.
 */
static int fed_follow_rewind(struct fed_follow *fw, const struct fed_sink *sink)
{
	if (sink->data || !fw->token)
		return FF_OK;
	if (lseek(sink->fd, fw->start, SEEK_SET) < 0 || ftruncate(sink->fd, fw->start))
		return ff_from_errno(errno);
	return FF_OK;
}

/* The followed file of an answer: opened, and mapped when it is a ring. */
static int fed_follow_open(struct fed_follow *fw, const json_t *data, const char *path,
			   const char *what, struct ff_error *err)
{
	long long ring = 0;
	jsonx_as_int(json_object_get(data, "ring"), &ring);
	if (fw->ring)
		munmap((void *)fw->ring, (size_t)fw->ring_size);
	fw->ring = NULL;
	if (fw->fd >= 0)
		close(fw->fd);
	fw->fd = open(path, (ring ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fw->fd < 0)
		return ff_error_set(err, ff_from_errno(errno), "%s: cannot open the message file "
				    "'%s': %s", what, path, strerror(errno));
	if (ring <= 0)
		return FF_OK;
	void *m = (uint64_t)ring > SIZE_MAX ? MAP_FAILED
		: mmap(NULL, (size_t)ring, PROT_READ, MAP_SHARED, fw->fd, 0);
	if (m == MAP_FAILED)
		return ff_error_set(err, ff_from_errno(errno), "%s: cannot map the message ring "
				    "'%s': %s", what, path, strerror(errno));
	fw->ring = m;
	fw->ring_size = (uint64_t)ring;
	/* mapped: the ring's memory now goes with the last of the two
	 * mappings, whichever process ends first */
	unlink(path);
	return FF_OK;
}

/* Bytes [from, to) of the message out of the ring into the sink. */
static int fed_ring_copy(const struct fed_follow *fw, const struct fed_sink *sink,
			 uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t at = from % fw->ring_size;
		size_t take = (size_t)(fw->ring_size - at < to - from ? fw->ring_size - at
								  : to - from);
		int ret = FF_OK;
		if (fw->mem)
			memcpy(fw->mem + from, fw->ring + at, take);
		else
			ret = fs_write_all(sink->fd, fw->ring + at, take);
		if (ret)
			return ret;
		from += take;
	}
	return FF_OK;
}

static void fed_follow_release(struct fed_follow *fw)
{
	if (fw->ring)
		munmap((void *)fw->ring, (size_t)fw->ring_size);
	fw->ring = NULL;
	if (fw->fd >= 0)
		close(fw->fd);
	fw->fd = -1;
	FF_FREE_AND_NULL(fw->mem);
	fw->token = 0;
}

/*
 * One answer to a follower (data has "follow"): reads the newly verified
 * bytes. *done when the message is complete (in the sink).
 */
static int fed_follow_step(struct fed_follow *fw, const json_t *data, struct fed_sink *sink,
			   const char *what, bool *done, struct ff_error *err)
{
	const char *path = jsonx_str(data, "file");
	long long token = 0, size = -1, have = -1;
	bool partial = json_is_true(json_object_get(data, "partial"));
	jsonx_as_int(json_object_get(data, "follow"), &token);
	jsonx_as_int(json_object_get(data, "size"), &size);
	if (partial)
		jsonx_as_int(json_object_get(data, "have"), &have);
	else
		have = size;
	*done = false;
	if (token <= 0 || size < 0 || have < 0 || have > size)
		return ff_error_set(err, FF_EPROTO, "%s: the gateway's answer does not say which "
				    "bytes of the message are there", what);
	if ((uint64_t)token != fw->token) {
		/* attached, or again: the sender started the message over */
		int rc = fed_follow_open(fw, data, path, what, err);
		if (rc)
			return rc;
		if (sink->data && (!fw->mem || fw->total != (uint64_t)size)) {
			ff_free(fw->mem);
			if (!(fw->mem = ff_malloc((size_t)size + 1)))
				return ff_error_set(err, FF_ENOMEM, "%s: out of memory for %lld bytes",
						    what, size);
		}
		rc = fed_follow_rewind(fw, sink);
		if (rc)
			return ff_error_set(err, rc, "%s: cannot start over in the destination file: %s",
					    what, ff_strerror(rc));
		fw->token = (uint64_t)token;
		fw->seen = 0;
		fw->total = (uint64_t)size;
	}
	if ((uint64_t)size != fw->total || (uint64_t)have < fw->seen)
		return ff_error_set(err, FF_EPROTO, "%s: the gateway's answer does not follow the "
				    "%llu bytes read of %llu", what, (unsigned long long)fw->seen,
				    (unsigned long long)fw->total);
	uint64_t n = (uint64_t)have - fw->seen;
	int ret = fw->ring ? fed_ring_copy(fw, sink, fw->seen, (uint64_t)have)
		: fw->mem ? fed_pread_all(fw->fd, fw->mem + fw->seen, fw->seen, n)
		: fed_copy_at(fw->fd, fw->seen, sink->fd, n);
	if (ret)
		return ff_error_set(err, ret, "%s: cannot read the message file '%s': %s", what, path,
				    ff_strerror(ret));
	/* what was read leaves the file; best effort (not every file system can) */
	if (n && !fw->ring)
		(void)fallocate(fw->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)fw->seen,
				(off_t)n);
	fw->seen = (uint64_t)have;
	if (partial)
		return FF_OK;
	unlink(path);
	*done = true;
	sink->len = fw->total;
	if (fw->mem) {
		fw->mem[fw->total] = '\0';
		*sink->data = fw->mem;
		fw->mem = NULL;
	}
	return FF_OK;
}

static int fed_recv(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		    struct fed_sink *sink, struct ff_error *err)
{
	struct ff_buf path = FF_BUF_INIT_MAX(4096);
	json_t *env = NULL;
	char what[400];
	int ret = fed_check(tag, role, party_id, err);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "cannot receive message '%s' from %s %s", tag, role, party_id);
	struct fed_follow fw = { .fd = -1 };
	bool follow = f->local && fed_can_follow(sink, &fw);
	int64_t deadline = fed_deadline(f->timeout_ms);
	for (;;) {
		int64_t left = deadline == INT64_MAX ? FED_POLL_MS : deadline - fed_now_ms();
		if (left <= 0) {
			char secs[32];
			fed_secs(f->timeout_ms, secs, sizeof(secs));
			ret = ff_error_set(err, FF_ETIMEDOUT, "timed out after %s waiting for message "
					   "'%s' from %s %s", secs, tag, role, party_id);
			break;
		}
		long long wait = left < FED_POLL_MS ? left : FED_POLL_MS;
		struct fed_resp resp;
		ff_buf_reset(&path);
		json_decref(env);
		env = NULL;
		if (fed_path(f, &path, "pull", tag, role, party_id, f->role, f->party_id, wait) ||
		    (f->local && ff_buf_addstr(&path, "&file=1")) ||
		    (follow && !fw.token && ff_buf_addstr(&path, "&follow=1")) ||
		    (follow && fw.token && ff_buf_addf(&path, "&follow=%llu&seen=%llu",
						       (unsigned long long)fw.token,
						       (unsigned long long)fw.seen))) {
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
			break;
		}
		int64_t io_deadline = fed_now_ms() + wait + FED_SLACK_MS;
		ret = fed_request(f, "GET", path.buf, NULL, io_deadline, &resp, err);
		if (ret) {
			ff_error_prefix(err, "%s", what);
			break;
		}
		if (resp.status == 200 && resp.octet) {
			char *mem = NULL;
			ret = fed_follow_rewind(&fw, sink);
			fed_follow_release(&fw);
			if (ret) {
				ret = ff_error_set(err, ret, "%s: cannot start over in the destination "
						   "file: %s", what, ff_strerror(ret));
				fed_disconnect(f);
				break;
			}
			sink->len = (uint64_t)resp.clen;
			if (sink->data && !(mem = ff_malloc((size_t)resp.clen + 1))) {
				fed_disconnect(f);
				ret = ff_error_set(err, FF_ENOMEM, "%s: out of memory for %lld bytes", what,
						   resp.clen);
				break;
			}
			/* the transfer itself: as long as bytes keep coming */
			ret = fed_read_body(f, (uint64_t)resp.clen, mem, sink->fd, FED_IDLE_MS);
			if (ret) {
				fed_disconnect(f);
				ff_free(mem);
				ret = ff_error_set(err, ret, "%s: the transfer broke off: %s", what,
						   ff_strerror(ret));
				break;
			}
			if (mem) {
				mem[resp.clen] = '\0';
				*sink->data = mem;
			}
			if (resp.close)
				fed_disconnect(f);
			break;
		}
		ret = fed_read_json(f, &resp, &env);
		if (ret) {
			fed_disconnect(f);
			ret = ff_error_set(err, ret, "%s: the gateway's answer is not a fedflow envelope",
					   what);
			break;
		}
		if (resp.close)
			fed_disconnect(f);
		long long code = -1;
		jsonx_as_int(json_object_get(env, "code"), &code);
		if (code != 0) {
			ret = fed_refusal(env, what, err);
			break;
		}
		/* {"ready": true, "file": ..., "size": N}: a spilled message as its file */
		const json_t *data = json_object_get(env, "data");
		long long size = -1;
		if (jsonx_str(data, "file") && json_object_get(data, "follow")) {
			bool done = false;
			ret = fed_follow_step(&fw, data, sink, what, &done, err);
			if (ret || done)
				break;
			continue;
		}
		if (jsonx_str(data, "file")) {
			jsonx_as_int(json_object_get(data, "size"), &size);
			ret = fed_follow_rewind(&fw, sink);
			fed_follow_release(&fw);
			if (ret) {
				ret = ff_error_set(err, ret, "%s: cannot start over in the destination "
						   "file: %s", what, ff_strerror(ret));
				break;
			}
			ret = fed_take_file(jsonx_str(data, "file"), size, sink, what, err);
			break;
		}
		/* {"ready": false}: ask again */
	}
	fed_follow_release(&fw);
	json_decref(env);
	ff_buf_release(&path);
	return ret;
}

int ff_fed_recv(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		void **data, size_t *len, struct ff_error *err)
{
	struct fed_sink sink = { .data = data, .fd = -1 };
	*data = NULL;
	*len = 0;
	int ret = fed_recv(f, tag, role, party_id, &sink, err);
	if (!ret)
		*len = (size_t)sink.len;
	return ret;
}

int ff_fed_recv_fd(struct ff_fed *f, const char *tag, const char *role, const char *party_id,
		   int fd, uint64_t *len, struct ff_error *err)
{
	struct fed_sink sink = { .data = NULL, .fd = fd };
	if (fd < 0)
		return ff_error_set(err, FF_EINVAL, "message '%s': bad descriptor", tag ? tag : "");
	int ret = fed_recv(f, tag, role, party_id, &sink, err);
	if (len)
		*len = ret ? 0 : sink.len;
	return ret;
}

void ff_fed_free(void *data)
{
	ff_free(data);
}

static bool fed_is_self(const struct ff_fed *f, const char *role, const char *party_id)
{
	return !strcmp(role, f->role) && !strcmp(party_id, f->party_id);
}

int ff_fed_broadcast(struct ff_fed *f, const char *tag, const char *role, const void *data,
		     size_t len, struct ff_error *err)
{
	size_t n;
	const char *const *ids = ff_fed_parties(f, role, &n);
	if (!n)
		return ff_error_set(err, FF_EINVAL, "cannot send message '%s' to every %s: the task "
				    "has no party of role '%s'", tag ? tag : "", role, role);
	for (size_t i = 0; i < n; i++) {
		if (fed_is_self(f, role, ids[i]))
			continue;
		int ret = ff_fed_send(f, tag, role, ids[i], data, len, err);
		if (ret)
			return ret;
	}
	return FF_OK;
}

int ff_fed_gather(struct ff_fed *f, const char *tag, const char *role, void ***datas,
		  size_t **lens, size_t *n, struct ff_error *err)
{
	size_t np;
	const char *const *ids = ff_fed_parties(f, role, &np);
	void **d = NULL;
	size_t *l = NULL;
	*datas = NULL;
	*lens = NULL;
	*n = 0;
	if (!np)
		return ff_error_set(err, FF_EINVAL, "cannot receive message '%s' from every %s: the "
				    "task has no party of role '%s'", tag ? tag : "", role, role);
	if (!FF_ALLOC_ARRAY(d, np) || !FF_ALLOC_ARRAY(l, np)) {
		ff_free(d);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	int ret = FF_OK;
	for (size_t i = 0; i < np && !ret; i++) {
		if (fed_is_self(f, role, ids[i]))
			continue;
		ret = ff_fed_recv(f, tag, role, ids[i], &d[i], &l[i], err);
	}
	if (ret) {
		for (size_t i = 0; i < np; i++)
			ff_free(d[i]);
		ff_free(d);
		ff_free(l);
		return ret;
	}
	*datas = d;
	*lens = l;
	*n = np;
	return FF_OK;
}
