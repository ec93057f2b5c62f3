/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpc.h - a small blocking HTTP client on libcurl.
 *
 * One struct httpc per thread keeps one curl handle, so consecutive calls
 * reuse the keep-alive connection. Used by the CLI, by libfedflow (task
 * processes calling their site's worker API) and by tests. The daemon's
 * site-to-site command channel is asynchronous and lives in src/fed.
 */
#ifndef FF_HTTPC_H
#define FF_HTTPC_H

#include <curl/curl.h>
#include <jansson.h>
#include "buf.h"
#include "err.h"

struct httpc {
	CURL *curl;
	long timeout_ms;           /* whole-request timeout, 0 = none */
	long connect_timeout_ms;
};

struct httpc_resp {
	long status;               /* HTTP status, 0 if no response */
	struct ff_buf body;        /* response body (when not streamed to fd) */
	int fd;                    /* >= 0: body is written here instead */
	char content_type[128];
};

/* Process-wide libcurl init; call once from main before threads start. */
void httpc_global_init(void);

int httpc_init(struct httpc *c, struct ff_error *err);
void httpc_release(struct httpc *c);

void httpc_resp_init(struct httpc_resp *r, size_t max_body);
void httpc_resp_release(struct httpc_resp *r);

/*
 * Sends method url with an optional body (ctype may be NULL) and extra
 * headers ("Name: value" lines, may be NULL). Fills resp. Transport
 * failures return FF_ECONNREFUSED/FF_ETIMEDOUT/FF_EIO with curl's reason.
 * Any HTTP status is success at this level.
 */
int httpc_request(struct httpc *c, const char *method, const char *url,
		  const char *ctype, const void *body, size_t len,
		  const struct curl_slist *headers, struct httpc_resp *resp,
		  struct ff_error *err);

/* POSTs JSON and parses a JSON answer (*out new reference). */
int httpc_post_json(struct httpc *c, const char *url, const json_t *body,
		    json_t **out, struct ff_error *err);
/* GETs url and parses a JSON answer. */
int httpc_get_json(struct httpc *c, const char *url, json_t **out,
		   struct ff_error *err);

/* Appends "k=v" (URL-encoded) to a query string being built in q. */
int httpc_query_add(struct httpc *c, struct ff_buf *q, const char *k, const char *v);

#endif
