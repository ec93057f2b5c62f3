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

/* The body as libcurl reads it. */
struct gw_fwd_src {
	const struct gw_body *body;
	int fd;
	uint64_t off;
	struct gw_forward *fw;
};

static size_t gw_fwd_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct gw_fwd_src *s = arg;
	size_t want = size * nitems;
	uint64_t left = s->body->size - s->off;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (s->fd < 0) {
		memcpy(buf, s->body->mem.buf + s->off, want);
		s->off += want;
		return want;
	}
	ssize_t r;
	while ((r = pread(s->fd, buf, want, (off_t)s->off)) < 0 && errno == EINTR)
		;
	if (r <= 0)
		return CURL_READFUNC_ABORT;
	s->off += (uint64_t)r;
	return (size_t)r;
}

static int gw_fwd_seek(void *arg, curl_off_t offset, int origin)
{
	struct gw_fwd_src *s = arg;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > s->body->size)
		return CURL_SEEKFUNC_FAIL;
	s->off = (uint64_t)offset;
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

/*
 * One attempt. *retry tells whether a failure may be retried (the partner
 * was not reached or did not answer).
 */
static int gw_fwd_once(struct gw_forward *fw, CURL *curl, struct gw_fwd_job *j, bool *retry)
{
	struct ff_buf query = FF_BUF_INIT_MAX(4096);
	struct ff_buf answer = FF_BUF_INIT_MAX(GW_FWD_ANSWER_MAX);
	struct curl_slist *hdrs = NULL;
	json_t *env = NULL;
	char *url = NULL, *path = NULL;
	struct gw_fwd_src src = { .body = j->body, .fd = -1, .fw = fw };
	struct sign_headers sh;
	char what[400];
	int ret = FF_OK;
	*retry = false;
	gw_key_text(&j->key, what, sizeof(what));
	if (gw_key_query(&j->key, j->msg_id, &query) ||
	    !(path = ff_asprintf("%s%s", gw_fwd_url_path(j->url), GW_FWD_PATH)) ||
	    !(url = ff_asprintf("%s%s?%s", j->url, GW_FWD_PATH, query.buf)) ||
	    sign_request(fw->key, fw->party_id, "POST", path, query.buf, j->sha, &sh) ||
	    !(hdrs = gw_fwd_headers(&sh, j->sha))) {
		ret = ff_error_set(&j->err, FF_ENOMEM, "out of memory");
		goto out;
	}
	if (j->body->fd >= 0 && (src.fd = gw_body_dup_fd(j->body)) < 0) {
		ret = ff_error_set(&j->err, FF_EIO, "cannot reopen the spill file of %s: %s", what,
				   strerror(errno));
		goto out;
	}
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body->size);
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
	curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
	CURLcode c = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (c == CURLE_ABORTED_BY_CALLBACK) {
		ret = ff_error_set(&j->err, FF_ECANCELED, "%s not delivered to '%s': the daemon is "
				   "stopping", what, j->url);
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
		ret = ff_error_set(&j->err, FF_EFEDERATED, "party %s refused %s (code %lld): %s",
				   j->key.dst_party, what, code, m ? m : "?");
	}
out:
	if (src.fd >= 0)
		close(src.fd);
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

static void gw_fwd_run(struct gw_forward *fw, CURL *curl, struct gw_fwd_job *j)
{
	char what[400];
	int64_t delay = GW_FWD_BACKOFF_MS;
	bool retry = false;
	int ret = FF_ECANCELED;
	gw_key_text(&j->key, what, sizeof(what));
	for (j->tries = 1; j->tries <= fw->tries; j->tries++) {
		ff_error_clear(&j->err);
		ret = gw_fwd_once(fw, curl, j, &retry);
		if (!ret || !retry || j->tries == fw->tries)
			break;
		ff_log(FF_LOG_WARN, "gateway: %s to %s failed (try %d of %d), retrying in %lld ms: %s",
		       what, j->url, j->tries, fw->tries, (long long)delay, j->err.msg);
		if (!gw_fwd_backoff(fw, delay)) {
			ret = ff_error_set(&j->err, FF_ECANCELED, "the daemon is stopping");
			retry = false;
			break;
		}
		delay = delay * 2 > GW_FWD_BACKOFF_MAX_MS ? GW_FWD_BACKOFF_MAX_MS : delay * 2;
	}
	if (j->tries > fw->tries)
		j->tries = fw->tries;
	if (ret && retry) {
		char why[FF_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", j->err.msg);
		ff_error_set(&j->err, ret, "cannot deliver %s to its site at '%s' after %d tries: %s",
			     what, j->url, j->tries, why);
	} else if (ret && ret != FF_EFEDERATED && ret != FF_ECANCELED) {
		char why[FF_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", j->err.msg);
		ff_error_set(&j->err, ret, "cannot deliver %s to '%s': %s", what, j->url, why);
	}
	j->ret = ret;
}

static void *gw_fwd_thread(void *arg)
{
	struct gw_forward *fw = arg;
	CURL *curl = curl_easy_init();
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
