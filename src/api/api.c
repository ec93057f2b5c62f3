// SPDX-License-Identifier: Apache-2.0
/* api.c - envelope, argument helpers and the combined route table. */
#include "ff_setup.h"
#include "api.h"
#include "jsonx.h"
#include "mem.h"
#include "site.h"

struct site *api_site(struct http_req *r)
{
	return http_req_ctx(r);
}

/* Scalar JSON members are rendered to text once and kept with the request. */
struct api_scratch {
	char *texts[32];
	size_t n;
};

static void api_scratch_free(void *p)
{
	struct api_scratch *s = p;
	for (size_t i = 0; i < s->n; i++)
		ff_free(s->texts[i]);
	ff_free(s);
}

static const char *api_keep(struct http_req *r, const char *text)
{
	struct api_scratch *s = http_req_user(r);
	if (!s) {
		s = ff_calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		http_req_set_user(r, s, api_scratch_free);
	}
	if (s->n >= FF_ARRAY_SIZE(s->texts))
		return NULL;
	char *c = ff_strdup(text);
	if (c)
		s->texts[s->n++] = c;
	return c;
}

json_t *api_body_get(struct http_req *r, const char *key)
{
	json_t *j = http_req_json(r);
	return json_is_object(j) ? json_object_get(j, key) : NULL;
}

const char *api_arg(struct http_req *r, const char *key)
{
	json_t *v = api_body_get(r, key);
	if (v && !json_is_null(v)) {
		if (json_is_string(v))
			return json_string_value(v);
		char tmp[64];
		if (!jsonx_scalar_text(v, tmp, sizeof(tmp)))
			return api_keep(r, tmp);
	}
	return http_req_arg(r, key);
}

int api_arg_int(struct http_req *r, const char *key, long long dflt, long long *out)
{
	json_t *v = api_body_get(r, key);
	if (v && !json_is_null(v))
		return jsonx_as_int(v, out) ? FF_OK : FF_EPARAM;
	const char *s = http_req_arg(r, key);
	if (!s || !*s) {
		*out = dflt;
		return FF_OK;
	}
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return (*end || errno) ? FF_EPARAM : FF_OK;
}

int api_arg_bool(struct http_req *r, const char *key, bool dflt, bool *out)
{
	json_t *v = api_body_get(r, key);
	if (v && !json_is_null(v))
		return jsonx_as_bool(v, out) ? FF_OK : FF_EPARAM;
	const char *s = http_req_arg(r, key);
	if (!s || !*s) {
		*out = dflt;
		return FF_OK;
	}
	return jsonx_text_bool(s, out) ? FF_OK : FF_EPARAM;
}

bool api_reject_bad_json(struct http_req *r)
{
	if (!http_req_json_invalid(r))
		return false;
	api_fail_code(r, 5001, "request body is not valid JSON: send a JSON object");
	return true;
}

bool api_require(struct http_req *r, const char *const *keys)
{
	if (api_reject_bad_json(r))
		return false;
	for (; *keys; keys++) {
		const char *v = api_arg(r, *keys);
		json_t *j = api_body_get(r, *keys);
		if ((v && *v) || (j && (json_is_object(j) || json_is_array(j))))
			continue;
		char msg[160];
		snprintf(msg, sizeof(msg), "missing required parameter '%s'", *keys);
		api_fail_code(r, 5001, msg);
		return false;
	}
	return true;
}

static void api_envelope_start(struct jw *w, int code, const char *message)
{
	jw_obj(w);
	jw_kint(w, "code", code);
	jw_kstr(w, "message", message);
}

void api_fail_code(struct http_req *r, int code, const char *msg)
{
	struct ff_buf *out = http_req_out(r);
	struct jw w;
	ff_buf_reset(out);
	jw_init(&w, out);
	api_envelope_start(&w, code, msg);
	jw_end(&w);
	http_req_finish(r);
}

void api_fail(struct http_req *r, int ret, const char *msg)
{
	api_fail_code(r, ff_api_code(ret), msg ? msg : ff_strerror(ret));
}

void api_fail_err(struct http_req *r, int ret, const struct ff_error *err)
{
	api_fail(r, ret, ff_error_msg(err, ret));
}

void api_ok_begin(struct http_req *r, struct jw *w)
{
	struct ff_buf *out = http_req_out(r);
	ff_buf_reset(out);
	jw_init(w, out);
	api_envelope_start(w, 0, "success");
	jw_key(w, "data");
}

void api_ok_end(struct http_req *r, struct jw *w, const char *job_id)
{
	if (job_id)
		jw_kstr(w, "job_id", job_id);
	jw_end(w);
	if (jw_finish(w)) {
		api_fail_code(r, 6000, "cannot render the answer");
		return;
	}
	http_req_finish(r);
}

void api_ok_json(struct http_req *r, const json_t *data, const char *job_id)
{
	json_t *env = json_pack("{s:i,s:s}", "code", 0, "message", "success");
	if (data)
		json_object_set(env, "data", (json_t *)data);
	if (job_id)
		json_object_set_new(env, "job_id", json_string(job_id));
	api_reply_json(r, env);
	json_decref(env);
}

void api_ok_msg(struct http_req *r, const char *message)
{
	api_fail_code(r, 0, message);
}

void api_reply_json(struct http_req *r, const json_t *envelope)
{
	struct ff_buf *out = http_req_out(r);
	ff_buf_reset(out);
	if (jsonx_dump(envelope, out)) {
		api_fail_code(r, 6000, "cannot render the answer");
		return;
	}
	http_req_finish(r);
}

extern const struct http_route_set *const __start_ff_routes[];
extern const struct http_route_set *const __stop_ff_routes[];

const struct http_route *api_routes(size_t *n)
{
	static struct http_route all[256];
	static size_t nall;
	if (nall) {
		*n = nall;
		return all;
	}
	struct http_route tmp[256];
	size_t k = 0;
	for (const struct http_route_set *const *p = __start_ff_routes; p < __stop_ff_routes; p++)
		for (size_t i = 0; i < (*p)->n && k < FF_ARRAY_SIZE(tmp); i++)
			tmp[k++] = (*p)->routes[i];
	/* exact routes before prefix routes, so a prefix never hides one */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < k; i++)
			if (!!(tmp[i].flags & HTTP_RT_PREFIX) == pass)
				all[nall++] = tmp[i];
	*n = nall;
	return all;
}

void api_q_init(struct api_q *q, const char *select)
{
	memset(q, 0, sizeof(*q));
	ff_buf_init(&q->sql, 8192);
	q->err = ff_buf_addstr(&q->sql, select);
}

void api_q_release(struct api_q *q)
{
	ff_buf_release(&q->sql);
}

static void api_q_cond(struct api_q *q, const char *fmt, const char *col)
{
	if (!q->err)
		q->err = ff_buf_addstr(&q->sql, q->where ? " AND " : " WHERE ");
	q->where = true;
	if (!q->err)
		q->err = ff_buf_addf(&q->sql, fmt, col);
}

static void api_q_arg(struct api_q *q, struct store_val v)
{
	if (q->nargs >= API_Q_MAX_ARGS) {
		q->err = FF_E2BIG;
		return;
	}
	q->args[q->nargs++] = v;
}

void api_q_eq(struct api_q *q, const char *col, const char *value)
{
	if (!value || !*value)
		return;
	api_q_cond(q, "%s = ?", col);
	api_q_arg(q, SV_TEXT(value));
}

void api_q_eq_int(struct api_q *q, const char *col, long long value)
{
	api_q_cond(q, "%s = ?", col);
	api_q_arg(q, SV_INT(value));
}

void api_q_like(struct api_q *q, const char *col, const char *value)
{
	if (!value || !*value)
		return;
	api_q_cond(q, "%s LIKE '%%' || ? || '%%'", col);
	api_q_arg(q, SV_TEXT(value));
}

void api_q_in(struct api_q *q, const char *col, const char *const *values, size_t n)
{
	if (n == 0)
		return;
	api_q_cond(q, "%s IN (", col);
	for (size_t i = 0; i < n && !q->err; i++) {
		q->err = ff_buf_addstr(&q->sql, i ? ", ?" : "?");
		api_q_arg(q, SV_TEXT(values[i]));
	}
	if (!q->err)
		q->err = ff_buf_addch(&q->sql, ')');
}

void api_q_raw(struct api_q *q, const char *sql)
{
	if (!q->err)
		q->err = ff_buf_addstr(&q->sql, sql);
}

void api_q_limit(struct api_q *q, long long limit, long long offset)
{
	if (limit <= 0)
		return;
	if (!q->err)
		q->err = ff_buf_addf(&q->sql, " LIMIT %lld OFFSET %lld", limit,
				     offset > 0 ? offset : 0);
}
