// SPDX-License-Identifier: Apache-2.0
/* httpc.c - blocking libcurl wrapper with connection reuse. */
#include "ff_setup.h"
#include <strings.h>
#include <unistd.h>
#include "httpc.h"
#include "jsonx.h"

void httpc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int httpc_init(struct httpc *c, struct ff_error *err)
{
	c->curl = curl_easy_init();
	c->timeout_ms = 60000;
	c->connect_timeout_ms = 5000;
	if (!c->curl)
		return ff_error_set(err, FF_ENOMEM, "cannot create HTTP client");
	return FF_OK;
}

void httpc_release(struct httpc *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

void httpc_resp_init(struct httpc_resp *r, size_t max_body)
{
	r->status = 0;
	ff_buf_init(&r->body, max_body);
	r->fd = -1;
	r->content_type[0] = '\0';
}

void httpc_resp_release(struct httpc_resp *r)
{
	ff_buf_release(&r->body);
}

static size_t httpc_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct httpc_resp *r = arg;
	size_t n = size * nmemb;
	if (r->fd >= 0) {
		size_t done = 0;
		while (done < n) {
			ssize_t w = write(r->fd, data + done, n - done);
			if (w <= 0)
				return 0;
			done += (size_t)w;
		}
		return n;
	}
	return ff_buf_add(&r->body, data, n) ? 0 : n;
}

static size_t httpc_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct httpc_resp *r = arg;
	size_t n = size * nmemb;
	static const char key[] = "content-type:";
	if (n > sizeof(key) - 1 && !strncasecmp(data, key, sizeof(key) - 1)) {
		const char *v = data + sizeof(key) - 1;
		size_t vn = n - (sizeof(key) - 1);
		while (vn && (*v == ' ' || *v == '\t')) {
			v++;
			vn--;
		}
		while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
			vn--;
		if (vn >= sizeof(r->content_type))
			vn = sizeof(r->content_type) - 1;
		memcpy(r->content_type, v, vn);
		r->content_type[vn] = '\0';
	}
	return n;
}

int httpc_request(struct httpc *c, const char *method, const char *url,
		  const char *ctype, const void *body, size_t len,
		  const struct curl_slist *headers, struct httpc_resp *resp,
		  struct ff_error *err)
{
	CURL *h = c->curl;
	struct curl_slist *hl = NULL;
	char ct[160];
	int ret = FF_OK;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, httpc_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, httpc_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	for (const struct curl_slist *p = headers; p; p = p->next)
		hl = curl_slist_append(hl, p->data);
	/* libcurl would add "Expect: 100-continue" for large bodies. */
	hl = curl_slist_append(hl, "Expect:");
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hl = curl_slist_append(hl, ct);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		if (strcmp(method, "POST"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		int code = FF_EIO;
		if (rc == CURLE_COULDNT_CONNECT)
			code = FF_ECONNREFUSED;
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			code = FF_ETIMEDOUT;
		ret = ff_error_set(err, code, "request to '%s' failed: %s", url,
				   curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
out:
	curl_slist_free_all(hl);
	return ret;
}

static int httpc_parse(struct httpc_resp *r, const char *url, json_t **out,
		       struct ff_error *err)
{
	int ret = jsonx_parse(r->body.buf, r->body.len, out, err);
	if (ret)
		ff_error_prefix(err, "answer of '%s' (HTTP %ld) is not JSON", url, r->status);
	return ret;
}

int httpc_post_json(struct httpc *c, const char *url, const json_t *body,
		    json_t **out, struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT;
	struct httpc_resp r;
	httpc_resp_init(&r, FF_BUF_MAX_DEFAULT);
	int ret = body ? jsonx_dump(body, &b) : FF_OK;
	if (!ret)
		ret = httpc_request(c, "POST", url, "application/json", b.buf, b.len,
				    NULL, &r, err);
	if (!ret)
		ret = httpc_parse(&r, url, out, err);
	ff_buf_release(&b);
	httpc_resp_release(&r);
	return ret;
}

int httpc_get_json(struct httpc *c, const char *url, json_t **out,
		   struct ff_error *err)
{
	struct httpc_resp r;
	httpc_resp_init(&r, FF_BUF_MAX_DEFAULT);
	int ret = httpc_request(c, "GET", url, NULL, NULL, 0, NULL, &r, err);
	if (!ret)
		ret = httpc_parse(&r, url, out, err);
	httpc_resp_release(&r);
	return ret;
}

int httpc_query_add(struct httpc *c, struct ff_buf *q, const char *k, const char *v)
{
	char *ek = curl_easy_escape(c->curl, k, 0);
	char *ev = curl_easy_escape(c->curl, v, 0);
	int ret = (ek && ev) ? ff_buf_addf(q, "%s%s=%s", q->len ? "&" : "", ek, ev)
			     : FF_ENOMEM;
	curl_free(ek);
	curl_free(ev);
	return ret;
}
