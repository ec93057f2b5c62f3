// SPDX-License-Identifier: Apache-2.0
/*
 * gw_forward.c - pushing messages to other sites' gateways.
 *
 * DESIGN. A few threads take jobs from one queue (mutex + condition
 * variable) and each sends one message per job: POST /v2/gateway/deliver
 * to the destination site, the body streamed from memory or from its spill
 * file, signed with this site's key over the canonical query and the
 * body's SHA-256 (computed while the task uploaded it). libcurl carries it
 * (one handle per thread, so connections to a partner are kept alive and
 * https routes work). Connection failures are retried with backoff, each
 * attempt signed afresh (the partner refuses reused nonces); an answer
 * from the partner, success or refusal, is final. Every attempt carries
 * the same msg_id, so a partner that stored the message but whose answer
 * was lost reports success on the retry instead of a duplicate.
 *
 * A stream job (a large message still being uploaded, gw_stream) is sent
 * as a pipeline of segments: the thread waits for segment k to be written
 * and hashed by the upload, sends it as its own signed delivery (query +
 * "&off=..&total=.."), then goes on with k + 1, so the task's upload, the
 * transfer and the partner's verification overlap instead of following
 * each other. Each segment has its own tries; a partner's "busy" answer
 * (an earlier attempt of the same segment still held there) is retried
 * like a connection failure.
 */
#include "ff_setup.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "gw_int.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"

#define GW_FWD_PATH "/v2/gateway/deliver"
#define GW_FWD_ANSWER_MAX (64 * 1024)
#define GW_FWD_BACKOFF_MS 500
#define GW_FWD_BACKOFF_MAX_MS 8000
#define GW_FWD_STALL_S 60
#define GW_FWD_SEG_POLL_MS 200     /* stream waits re-check the stop flag */
/*
 * libcurl's upload buffer, which it allocates anew for every request
 * (every segment; multi_done frees it): each send() is at most this
 * large. 256 KiB takes the forwarder from 0.33 to 0.17 CPU-s per GiB
 * against 64 KiB (512 KiB and 1 MiB were no better), and comes from the
 * heap once glibc's mmap threshold adapted. An ASan build keeps every
 * freed block in its quarantine for a while (64 MiB more RSS per GiB
 * sent at 512 KiB), so it stays at 64 KiB there.
 */
#ifndef GW_FWD_UPLOAD_BUF
#if defined(__SANITIZE_ADDRESS__)
#define GW_FWD_UPLOAD_BUF (64L * 1024)
#else
#define GW_FWD_UPLOAD_BUF (256L * 1024)
#endif
#endif

struct gw_forward {
	pthread_mutex_t lock;
	pthread_cond_t cond;              /* jobs queued */
	pthread_cond_t stop_cond;         /* stopping (wakes backoff sleeps) */
	struct gw_fwd_job *head, *tail;
	bool stopping;
	atomic_bool abort;
	pthread_t *threads;
	int nthreads;
	const struct sign_key *key;
	const char *party_id;
	int tries;
	long connect_ms;
};

/*
 * One delivery: the whole message (total GW_WHOLE) or one segment, bytes
 * [off, off + len) of memory or of a spill file.
 */
struct gw_fwd_piece {
	uint64_t off, len;                /* place in the message */
	uint64_t total;
	unsigned char sha[32];
	const char *mem;                  /* the bytes in memory (from mem[0]), or NULL */
	int fd;                           /* else in this file, from offset off */
};

/* The piece as libcurl reads it. */
struct gw_fwd_src {
	const struct gw_fwd_piece *pc;
	uint64_t pos;                     /* within the piece */
	struct gw_forward *fw;
};

static size_t gw_fwd_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct gw_fwd_src *s = arg;
	size_t want = size * nitems;
	uint64_t left = s->pc->len - s->pos;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (s->pc->mem) {
		memcpy(buf, s->pc->mem + s->pos, want);
		s->pos += want;
		return want;
	}
	ssize_t r;
	while ((r = pread(s->pc->fd, buf, want, (off_t)(s->pc->off + s->pos))) < 0 &&
	       errno == EINTR)
		;
	if (r <= 0)
		return CURL_READFUNC_ABORT;
	s->pos += (uint64_t)r;
	return (size_t)r;
}

static int gw_fwd_seek(void *arg, curl_off_t offset, int origin)
{
	struct gw_fwd_src *s = arg;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > s->pc->len)
		return CURL_SEEKFUNC_FAIL;
	s->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int gw_fwd_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
			   curl_off_t un)
{
	struct gw_fwd_src *s = arg;
	return atomic_load(&s->fw->abort) ? 1 : 0;
}

static size_t gw_fwd_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct ff_buf *b = arg;
	size_t n = size * nmemb;
	return ff_buf_add(b, data, n) ? 0 : n;
}

static bool gw_fwd_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

/* The path part of a base URL ("" for "http://h:p"). */
static const char *gw_fwd_url_path(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : "";
}

static struct curl_slist *gw_fwd_headers(const struct sign_headers *h,
					 const unsigned char sha[32])
{
	char line[256], hex[65];
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		hex[2 * i] = digits[sha[i] >> 4];
		hex[2 * i + 1] = digits[sha[i] & 15];
	}
	hex[64] = '\0';
	struct curl_slist *l = NULL, *t;
	const char *fixed[] = { "Content-Type: application/octet-stream", "Expect:" };
	for (size_t i = 0; i < FF_ARRAY_SIZE(fixed); i++) {
		if (!(t = curl_slist_append(l, fixed[i])))
			goto fail;
		l = t;
	}
	const char *names[] = { "X-Fedflow-Party", "X-Fedflow-Timestamp", "X-Fedflow-Nonce",
				"X-Fedflow-Signature", "X-Fedflow-Content-Sha256" };
	const char *vals[] = { h->party, h->timestamp, h->nonce, h->signature, hex };
	for (size_t i = 0; i < FF_ARRAY_SIZE(names); i++) {
		snprintf(line, sizeof(line), "%s: %s", names[i], vals[i]);
		if (!(t = curl_slist_append(l, line)))
			goto fail;
		l = t;
	}
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

/* The part of a delivery named in messages: "" or " (bytes 16777216..33554431 of N)". */
static void gw_fwd_part(const struct gw_fwd_piece *pc, char *buf, size_t n)
{
	if (pc->total == GW_WHOLE)
		buf[0] = '\0';
	else
		snprintf(buf, n, " (bytes %llu..%llu of %llu)", (unsigned long long)pc->off,
			 (unsigned long long)(pc->off + pc->len - 1), (unsigned long long)pc->total);
}

/*
 * One attempt. *retry tells whether a failure may be retried (the partner
 * was not reached, did not answer, or asked for it: "retry" in the data of
 * its refusal).
 */
static int gw_fwd_once(struct gw_forward *fw, CURL *curl, struct gw_fwd_job *j,
		       const struct gw_fwd_piece *pc, bool *retry)
{
	struct ff_buf query = FF_BUF_INIT_MAX(4096);
	struct ff_buf answer = FF_BUF_INIT_MAX(GW_FWD_ANSWER_MAX);
	struct curl_slist *hdrs = NULL;
	json_t *env = NULL;
	char *url = NULL, *path = NULL;
	struct gw_fwd_src src = { .pc = pc, .fw = fw };
	struct sign_headers sh;
	char what[400], part[96];
	int ret = FF_OK;
	*retry = false;
	gw_key_text(&j->key, what, sizeof(what));
	gw_fwd_part(pc, part, sizeof(part));
	int qret = pc->total == GW_WHOLE ? gw_key_query(&j->key, j->msg_id, &query)
		 : gw_key_query_seg(&j->key, j->msg_id, pc->off, pc->total, &query);
	if (qret || !(path = ff_asprintf("%s%s", gw_fwd_url_path(j->url), GW_FWD_PATH)) ||
	    !(url = ff_asprintf("%s%s?%s", j->url, GW_FWD_PATH, query.buf)) ||
	    sign_request(fw->key, fw->party_id, "POST", path, query.buf, pc->sha, &sh) ||
	    !(hdrs = gw_fwd_headers(&sh, pc->sha))) {
		ret = ff_error_set(&j->err, FF_ENOMEM, "out of memory");
		goto out;
	}
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pc->len);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, gw_fwd_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &src);
	curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, gw_fwd_seek);
	curl_easy_setopt(curl, CURLOPT_SEEKDATA, &src);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, gw_fwd_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, fw->connect_ms);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)GW_FWD_STALL_S);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, gw_fwd_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &src);
	curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, (long)GW_FWD_UPLOAD_BUF);
	CURLcode c = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (c == CURLE_ABORTED_BY_CALLBACK) {
		ret = ff_error_set(&j->err, FF_ECANCELED, "%s%s not delivered to '%s': the daemon is "
				   "stopping", what, part, j->url);
		goto out;
	}
	if (c != CURLE_OK) {
		*retry = gw_fwd_retryable(c);
		ret = ff_error_set(&j->err, c == CURLE_COULDNT_CONNECT ? FF_ECONNREFUSED
					    : c == CURLE_OPERATION_TIMEDOUT ? FF_ETIMEDOUT : FF_EIO,
				   "%s", curl_easy_strerror(c));
		goto out;
	}
	long long code = -1;
	if (jsonx_parse(answer.buf, answer.len, &env, NULL) ||
	    !jsonx_as_int(json_object_get(env, "code"), &code)) {
		*retry = status >= 500;
		ret = ff_error_set(&j->err, FF_EPROTO, "the partner answered HTTP %ld without a "
				   "fedflow envelope", status);
		goto out;
	}
	if (code != 0) {
		const char *m = jsonx_str(env, "message");
		*retry = json_is_true(json_object_get(json_object_get(env, "data"), "retry"));
		ret = ff_error_set(&j->err, FF_EFEDERATED, "party %s refused %s%s (code %lld): %s",
				   j->key.dst_party, what, part, code, m ? m : "?");
	}
out:
	curl_slist_free_all(hdrs);
	json_decref(env);
	ff_free(url);
	ff_free(path);
	ff_buf_release(&query);
	ff_buf_release(&answer);
	return ret;
}

/* Sleeps ms unless the forwarder stops; false when it does. */
static bool gw_fwd_backoff(struct gw_forward *fw, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fw->lock);
	while (!fw->stopping && pthread_cond_timedwait(&fw->stop_cond, &fw->lock, &ts) == 0)
		;
	bool go = !fw->stopping;
	pthread_mutex_unlock(&fw->lock);
	return go;
}

/*
 * One delivery with its tries; *tries gets the attempts made. j->err has
 * the reason of a failure.
 */
static int gw_fwd_send(struct gw_forward *fw, CURL *curl, struct gw_fwd_job *j,
		       const struct gw_fwd_piece *pc, int *tries)
{
	char what[400];
	int64_t delay = GW_FWD_BACKOFF_MS;
	bool retry = false;
	int ret = FF_ECANCELED;
	gw_key_text(&j->key, what, sizeof(what));
	for (*tries = 1; *tries <= fw->tries; (*tries)++) {
		ff_error_clear(&j->err);
		ret = gw_fwd_once(fw, curl, j, pc, &retry);
		if (!ret || !retry || *tries == fw->tries)
			break;
		ff_log(FF_LOG_WARN, "gateway: %s to %s failed (try %d of %d), retrying in %lld ms: %s",
		       what, j->url, *tries, fw->tries, (long long)delay, j->err.msg);
		if (!gw_fwd_backoff(fw, delay)) {
			ret = ff_error_set(&j->err, FF_ECANCELED, "the daemon is stopping");
			retry = false;
			break;
		}
		delay = delay * 2 > GW_FWD_BACKOFF_MAX_MS ? GW_FWD_BACKOFF_MAX_MS : delay * 2;
	}
	if (*tries > fw->tries)
		*tries = fw->tries;
	if (ret && retry) {
		char why[FF_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", j->err.msg);
		ff_error_set(&j->err, ret, "cannot deliver %s to its site at '%s' after %d tries: %s",
			     what, j->url, *tries, why);
	} else if (ret && ret != FF_EFEDERATED && ret != FF_ECANCELED) {
		char why[FF_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", j->err.msg);
		ff_error_set(&j->err, ret, "cannot deliver %s to '%s': %s", what, j->url, why);
	}
	return ret;
}

/* A whole body, in memory or in its spill file, as one delivery. */
static int gw_fwd_whole(struct gw_forward *fw, CURL *curl, struct gw_fwd_job *j)
{
	struct gw_fwd_piece pc = { .off = 0, .len = j->body->size, .total = GW_WHOLE, .fd = -1 };
	char what[400];
	memcpy(pc.sha, j->sha, 32);
	if (j->body->fd < 0) {
		pc.mem = j->body->mem.buf;
	} else if ((pc.fd = gw_body_dup_fd(j->body)) < 0) {
		return ff_error_set(&j->err, FF_EIO, "cannot reopen the spill file of %s: %s",
				    gw_key_text(&j->key, what, sizeof(what)), strerror(errno));
	}
	int ret = gw_fwd_send(fw, curl, j, &pc, &j->tries);
	if (pc.fd >= 0)
		close(pc.fd);
	return ret;
}

/* A stream, segment by segment as the upload completes them, from memory or the file. */
static int gw_fwd_stream(struct gw_forward *fw, CURL *curl, struct gw_fwd_job *j)
{
	struct gw_stream *s = j->stream;
	struct gw_fwd_piece pc = { .total = s->total, .fd = -1 };
	char what[400];
	int ret = FF_OK;
	gw_key_text(&j->key, what, sizeof(what));
	j->tries = 0;
	if ((pc.fd = gw_body_dup_fd(s->body)) < 0)
		return ff_error_set(&j->err, FF_EIO, "cannot reopen the spill file of %s: %s", what,
				    strerror(errno));
	int fd = pc.fd;
	for (uint64_t seg = 0; seg < s->nseg && !ret; seg++) {
		while ((ret = gw_stream_wait(s, seg, GW_FWD_SEG_POLL_MS, pc.sha, &pc.off, &pc.len,
					     &pc.mem)) == FF_EAGAIN &&
		       !atomic_load(&fw->abort))
			;
		if (ret == FF_EAGAIN || atomic_load(&fw->abort)) {
			ret = ff_error_set(&j->err, FF_ECANCELED, "%s not delivered to '%s': the daemon "
					   "is stopping", what, j->url);
		} else if (ret) {
			ret = ff_error_set(&j->err, FF_ECANCELED, "%s not delivered: its upload broke off",
					   what);
		} else {
			int tries = 0;
			pc.fd = pc.mem ? -1 : fd;
			ret = gw_fwd_send(fw, curl, j, &pc, &tries);
			j->tries = tries > j->tries ? tries : j->tries;
			if (!ret)
				gw_stream_sent(s, seg);
		}
	}
	close(fd);
	return ret;
}

static void gw_fwd_run(struct gw_forward *fw, CURL *curl, struct gw_fwd_job *j)
{
	j->ret = j->stream ? gw_fwd_stream(fw, curl, j) : gw_fwd_whole(fw, curl, j);
}

static void *gw_fwd_thread(void *arg)
{
	struct gw_forward *fw = arg;
	/* Made at the first message, not at start: a curl handle initialises
	 * TLS (over a megabyte of touched pages) that a site running only
	 * local jobs never needs. */
	CURL *curl = NULL;
	for (;;) {
		pthread_mutex_lock(&fw->lock);
		while (!fw->head && !fw->stopping)
			pthread_cond_wait(&fw->cond, &fw->lock);
		struct gw_fwd_job *j = fw->head;
		if (j) {
			fw->head = j->next;
			if (!fw->head)
				fw->tail = NULL;
		}
		bool stopping = fw->stopping;
		pthread_mutex_unlock(&fw->lock);
		if (!j)
			break;
		if (!curl && !stopping)
			curl = curl_easy_init();
		if (stopping || !curl) {
			j->ret = ff_error_set(&j->err, stopping ? FF_ECANCELED : FF_ENOMEM,
					      stopping ? "the daemon is stopping"
						       : "cannot start a transfer: out of memory");
		} else {
			gw_fwd_run(fw, curl, j);
		}
		j->done(j);
	}
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

int gw_forward_start(struct gw_forward **out, const struct sign_key *key,
		     const char *party_id, int nthreads, int tries, long connect_ms,
		     struct ff_error *err)
{
	struct gw_forward *fw = ff_calloc(1, sizeof(*fw));
	if (!fw || !(fw->threads = ff_calloc((size_t)nthreads, sizeof(*fw->threads)))) {
		ff_free(fw);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&fw->lock, NULL);
	pthread_cond_init(&fw->cond, NULL);
	pthread_cond_init(&fw->stop_cond, NULL);
	fw->key = key;
	fw->party_id = party_id;
	fw->tries = tries < 1 ? 1 : tries;
	fw->connect_ms = connect_ms;
	for (int i = 0; i < nthreads; i++) {
		int rc = pthread_create(&fw->threads[i], NULL, gw_fwd_thread, fw);
		if (rc) {
			gw_forward_stop(fw);
			return ff_error_set(err, ff_from_errno(rc), "cannot start gateway threads: %s",
					    strerror(rc));
		}
		fw->nthreads++;
	}
	*out = fw;
	return FF_OK;
}

void gw_forward_submit(struct gw_forward *fw, struct gw_fwd_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&fw->lock);
	if (fw->tail)
		fw->tail->next = j;
	else
		fw->head = j;
	fw->tail = j;
	pthread_cond_signal(&fw->cond);
	pthread_mutex_unlock(&fw->lock);
}

void gw_forward_stop(struct gw_forward *fw)
{
	if (!fw)
		return;
	pthread_mutex_lock(&fw->lock);
	fw->stopping = true;
	atomic_store(&fw->abort, true);
	pthread_cond_broadcast(&fw->cond);
	pthread_cond_broadcast(&fw->stop_cond);
	pthread_mutex_unlock(&fw->lock);
	for (int i = 0; i < fw->nthreads; i++)
		pthread_join(fw->threads[i], NULL);
	/* without threads nobody ran the queue: fail what is left */
	for (struct gw_fwd_job *j = fw->head, *next; j; j = next) {
		next = j->next;
		j->ret = ff_error_set(&j->err, FF_ECANCELED, "the daemon is stopping");
		j->done(j);
	}
	pthread_cond_destroy(&fw->cond);
	pthread_cond_destroy(&fw->stop_cond);
	pthread_mutex_destroy(&fw->lock);
	ff_free(fw->threads);
	ff_free(fw);
}
