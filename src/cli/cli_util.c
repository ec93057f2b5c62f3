// SPDX-License-Identifier: Apache-2.0
/*
 * cli_util.c - shared plumbing of the fedflow commands (see cli_util.h).
 *
 * Requests are encoded the way FATE-Client's requests/urllib3 stack encodes
 * them (query strings with quote_plus, JSON bodies from json.dumps), so
 * fedflowd and real FATE-Flow both see the bytes they were written for.
 */
#include "ff_setup.h"
#include <stdarg.h>
#include <sys/random.h>
#include <time.h>
#include <openssl/evp.h>
#include "cli_json.h"
#include "cli_util.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

/* Whole-request limits: FATE's client has none; a CLI should not hang forever. */
#define CLI_TIMEOUT_MS 600000L
#define CLI_POLL_TIMEOUT_MS 30000L
#define CLI_CONF_MAX ((size_t)64 << 20)

int cli_init(struct cli *c)
{
	const char *env = getenv("FEDFLOW_SERVER");
	const char *id = getenv("FEDFLOW_APP_ID"), *token = getenv("FEDFLOW_APP_TOKEN");
	const char *user = getenv("FEDFLOW_USER_NAME");
	c->server = NULL;
	c->http.curl = NULL;
	c->http_ready = false;
	/* FATE signs only when both are set (and non-empty). */
	c->app_id = id && *id && token && *token ? id : NULL;
	c->app_token = c->app_id ? token : NULL;
	c->user_name = user ? user : "";
	return cli_set_server(c, env && *env ? env : CLI_DEFAULT_SERVER);
}

int cli_set_server(struct cli *c, const char *url)
{
	struct ff_buf b = FF_BUF_INIT_MAX(1 << 16);
	int ret = strstr(url, "://") ? FF_OK : ff_buf_addstr(&b, "http://");
	if (!ret)
		ret = ff_buf_addstr(&b, url);
	if (ret)
		return ret;
	for (;;) {
		if (b.len && b.buf[b.len - 1] == '/')
			ff_buf_setlen(&b, b.len - 1);
		else if (b.len >= 3 && !strcmp(b.buf + b.len - 3, "/v2"))
			ff_buf_setlen(&b, b.len - 3);
		else
			break;
	}
	ff_free(c->server);
	c->server = ff_buf_detach(&b, NULL);
	return c->server ? FF_OK : FF_ENOMEM;
}

int cli_open(struct cli *c, struct ff_error *err)
{
	httpc_global_init();
	int ret = httpc_init(&c->http, err);
	if (!ret)
		c->http_ready = true;
	return ret;
}

void cli_release(struct cli *c)
{
	if (c->http_ready)
		httpc_release(&c->http);
	c->http_ready = false;
	FF_FREE_AND_NULL(c->server);
}

static int cli_quote_plus(struct ff_buf *q, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int ret = FF_OK;
	for (const unsigned char *p = (const unsigned char *)s; *p && !ret; p++) {
		unsigned char ch = *p;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '_' || ch == '.' || ch == '-' || ch == '~') {
			ret = ff_buf_addch(q, (char)ch);
		} else if (ch == ' ') {
			ret = ff_buf_addch(q, '+');
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			ret = ff_buf_add(q, e, 3);
		}
	}
	return ret;
}

int cli_query_add(struct ff_buf *q, const char *k, const char *v)
{
	int ret = q->len ? ff_buf_addch(q, '&') : FF_OK;
	if (!ret)
		ret = cli_quote_plus(q, k);
	if (!ret)
		ret = ff_buf_addch(q, '=');
	if (!ret)
		ret = cli_quote_plus(q, v);
	return ret;
}

static bool cli_opt_sent(const struct cli_args *a, size_t k)
{
	return a->vals[k] && !(a->cmd->opts[k].flags & CLI_OPT_LOCAL);
}

int cli_args_query(const struct cli_args *a, struct ff_buf *q)
{
	int ret = FF_OK;
	for (size_t k = 0; k < a->n && !ret; k++) {
		if (!cli_opt_sent(a, k))
			continue;
		const struct cli_opt *o = &a->cmd->opts[k];
		char num[32];
		const char *v = a->vals[k];
		if (o->flags & CLI_OPT_INT) {
			snprintf(num, sizeof(num), "%lld", a->ivals[k]);
			v = num;
		} else if (o->flags & CLI_OPT_FLAG) {
			v = "True";
		}
		ret = cli_query_add(q, o->key, v);
	}
	return ret;
}

int cli_args_body(const struct cli_args *a, json_t **out)
{
	json_t *o = json_object();
	if (!o)
		return FF_ENOMEM;
	for (size_t k = 0; k < a->n; k++) {
		if (!cli_opt_sent(a, k))
			continue;
		const struct cli_opt *opt = &a->cmd->opts[k];
		json_t *v;
		if (opt->flags & CLI_OPT_INT)
			v = json_integer(a->ivals[k]);
		else if (opt->flags & CLI_OPT_FLAG)
			v = json_true();
		else
			v = json_string(a->vals[k]);
		if (!v || json_object_set_new(o, opt->key, v)) {
			json_decref(o);
			/* json_string refuses invalid UTF-8; that is the user's input. */
			return v ? FF_ENOMEM : FF_EINVAL;
		}
	}
	*out = o;
	return FF_OK;
}

char *cli_url(const struct cli *c, const char *path, const char *query)
{
	if (query && *query)
		return ff_asprintf("%s/v2/%s?%s", c->server, path, query);
	return ff_asprintf("%s/v2/%s", c->server, path);
}

static int cli_slist_add(struct curl_slist **hl, const char *line)
{
	struct curl_slist *tmp = curl_slist_append(*hl, line);
	if (!tmp)
		return FF_ENOMEM;
	*hl = tmp;
	return FF_OK;
}

/* Lowercase hex MD5 of text into out[33]. */
static int cli_md5_hex(const char *text, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(text, strlen(text), md, &n, EVP_md5(), NULL) || n != 16)
		return FF_EIO;
	for (unsigned int i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
	return FF_OK;
}

int cli_headers(const struct cli *c, struct curl_slist **hl)
{
	int ret = cli_slist_add(hl, "User-Agent: fedflow/" FF_VERSION);
	if (ret || !c->app_id)
		return ret;
	unsigned short r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned short)clock();
	char nonce[8], ts[32], inner[33], outer[33];
	snprintf(nonce, sizeof(nonce), "%d", 1000 + r % 9000);
	/* epoch seconds * 1000, as FATE's client computes it */
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) * 1000);
	char *a = ff_asprintf("%s%s%s%s", c->app_id, c->user_name, nonce, ts);
	ret = a ? cli_md5_hex(a, inner) : FF_ENOMEM;
	ff_free(a);
	char *b = ret ? NULL : ff_asprintf("%s%s", inner, c->app_token);
	if (!ret)
		ret = b ? cli_md5_hex(b, outer) : FF_ENOMEM;
	ff_free(b);
	char *lines[5] = {
		ff_asprintf("appId: %s", c->app_id),
		/* "Name;" is how curl sends a header with an empty value */
		*c->user_name ? ff_asprintf("userName: %s", c->user_name) : ff_strdup("userName;"),
		ff_asprintf("Nonce: %s", nonce),
		ff_asprintf("Timestamp: %s", ts),
		ret ? NULL : ff_asprintf("Signature: %s", outer),
	};
	for (size_t i = 0; i < 5; i++) {
		if (!ret)
			ret = lines[i] ? cli_slist_add(hl, lines[i]) : FF_ENOMEM;
		ff_free(lines[i]);
	}
	return ret;
}

int cli_call(struct cli *c, const char *method, const char *path, const char *query,
	     const json_t *body, unsigned flags, json_t **answer, long *status,
	     struct ff_error *err)
{
	int ret = FF_OK;
	struct ff_buf b = FF_BUF_INIT;
	struct httpc_resp r;
	struct curl_slist *hl = NULL;
	const char *ctype = NULL;
	char *url = cli_url(c, path, query);
	httpc_resp_init(&r, FF_BUF_MAX_DEFAULT);
	*answer = NULL;
	if (!url || cli_headers(c, &hl)) {
		ret = ff_error_set(err, FF_ENOMEM, "cannot build the request");
		goto out;
	}
	if (strcmp(method, "GET") && (flags & CLI_REQ_NOBODY)) {
		/* Like FATE's clean-queue: Content-Length 0 and no Content-Type
		 * (an empty "Content-Type:" stops curl adding its form default). */
		if (cli_slist_add(&hl, "Content-Type:")) {
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
			goto out;
		}
	} else if (strcmp(method, "GET")) {
		ret = body ? cli_json_dump(&b, body, 0, true) : ff_buf_addstr(&b, "{}");
		if (ret) {
			ff_error_set(err, ret, "cannot encode the request body");
			goto out;
		}
		ctype = "application/json";
	}
	c->http.timeout_ms = (flags & CLI_REQ_POLL) ? CLI_POLL_TIMEOUT_MS : CLI_TIMEOUT_MS;
	ret = httpc_request(&c->http, method, url, ctype, b.buf, b.len, hl, &r, err);
	if (ret)
		goto out;
	if (status)
		*status = r.status;
	if (jsonx_parse(r.body.buf, r.body.len, answer, NULL)) {
		size_t n = r.body.len < 120 ? r.body.len : 120;
		ret = ff_error_set(err, FF_EPROTO, "answer of '%s' (HTTP %ld) is not JSON: %.*s",
				   url, r.status, (int)n, r.body.buf);
	}
out:
	curl_slist_free_all(hl);
	httpc_resp_release(&r);
	ff_buf_release(&b);
	ff_free(url);
	return ret;
}

void cli_print(const json_t *v)
{
	struct ff_buf b = FF_BUF_INIT;
	if (cli_json_dump(&b, v, 4, false) || ff_buf_addch(&b, '\n')) {
		fprintf(stderr, "fedflow: out of memory while printing the answer\n");
	} else {
		fwrite(b.buf, 1, b.len, stdout);
		fflush(stdout);
	}
	ff_buf_release(&b);
}

bool cli_answer_code(const json_t *answer, long long *code)
{
	json_t *v = json_is_object(answer) ? json_object_get(answer, "code") : NULL;
	return v && jsonx_as_int(v, code);
}

int cli_answer_exit(const json_t *answer, long status)
{
	long long code;
	json_t *v = json_is_object(answer) ? json_object_get(answer, "code") : NULL;
	if (!v)
		return status >= 400 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	return jsonx_as_int(v, &code) && code == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cli_fail(const struct cli *c, int ret, const struct ff_error *err)
{
	char msg[FF_ERROR_MSG_MAX + 128];
	if (ret == FF_ECONNREFUSED)
		snprintf(msg, sizeof(msg),
			 "Connection refused, please check that fedflowd is running at %s",
			 c->server);
	else if (ret == FF_ETIMEDOUT)
		snprintf(msg, sizeof(msg), "Request timed out: %s", ff_error_msg(err, ret));
	else
		snprintf(msg, sizeof(msg), "%s", ff_error_msg(err, ret));
	json_t *o = json_pack("{s:i,s:s}", "code", 100, "message", msg);
	if (o)
		cli_print(o);
	else
		fprintf(stderr, "fedflow: %s\n", msg);
	json_decref(o);
	return CLI_EXIT_USAGE;
}

int cli_finish(const struct cli *c, int ret, json_t *answer, long status,
	       const struct ff_error *err)
{
	if (ret) {
		json_decref(answer);
		return cli_fail(c, ret, err);
	}
	cli_print(answer);
	int rc = cli_answer_exit(answer, status);
	json_decref(answer);
	return rc;
}

int cli_usage_error(const struct cli_group *grp, const struct cli_cmd *cmd,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *g = grp ? grp->name : NULL, *n = cmd ? cmd->name : NULL;
	fprintf(stderr, "fedflow%s%s%s%s: error: %s\n", g ? " " : "", g ? g : "", n ? " " : "",
		n ? n : "", msg);
	fprintf(stderr, "Try 'fedflow%s%s%s%s --help' for help.\n", g ? " " : "", g ? g : "",
		n ? " " : "", n ? n : "");
	return CLI_EXIT_USAGE;
}

int cli_load_conf(const char *path, json_t **out, struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT_MAX(CLI_CONF_MAX);
	int ret = fs_read_file(path, &b, err);
	*out = NULL;
	if (!ret) {
		ret = jsonx_load_any(b.buf, b.len, out, err);
		if (ret)
			ff_error_prefix(err, "cannot parse '%s'", path);
	}
	if (!ret && !json_is_object(*out)) {
		ret = ff_error_set(err, FF_EINVAL, "'%s' must hold a mapping (JSON object), not %s",
				   path, jsonx_type_name(*out));
		json_decref(*out);
		*out = NULL;
	}
	ff_buf_release(&b);
	return ret;
}

static bool cli_in_list(const char *const *list, const char *k)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(list[i], k))
			return true;
	return false;
}

int cli_conf_pick(const json_t *conf, const char *const *keys,
		  const char *const *required, json_t **out, struct ff_error *err)
{
	const char *k;
	json_t *v;
	*out = NULL;
	json_object_foreach((json_t *)conf, k, v) {
		if (!cli_in_list(keys, k))
			return ff_error_set(err, FF_EINVAL, "unknown key '%s' in the configuration", k);
		if (json_is_string(v) && !json_string_length(v))
			return ff_error_set(err, FF_EINVAL, "key '%s' must not be empty", k);
	}
	for (size_t i = 0; required && required[i]; i++) {
		v = json_object_get(conf, required[i]);
		if (!v || json_is_null(v))
			return ff_error_set(err, FF_EINVAL, "missing key '%s' in the configuration",
					    required[i]);
	}
	json_t *o = json_object();
	if (!o)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (size_t i = 0; keys[i]; i++) {
		v = json_object_get(conf, keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (json_object_set(o, keys[i], v)) {
			json_decref(o);
			return ff_error_set(err, FF_ENOMEM, "out of memory");
		}
	}
	*out = o;
	return FF_OK;
}

int cli_run_generic(struct cli *c, const struct cli_args *a)
{
	const struct cli_cmd *cmd = a->cmd;
	struct ff_error err = FF_ERROR_INIT;
	struct ff_buf q = FF_BUF_INIT;
	json_t *body = NULL, *answer = NULL;
	long status = 0;
	int ret;
	if (!strcmp(cmd->method, "GET")) {
		ret = cli_args_query(a, &q);
		if (!ret)
			ret = cli_call(c, "GET", cmd->path, q.buf, NULL, 0, &answer, &status, &err);
	} else if (cmd->flags & CLI_CMD_NOBODY) {
		ret = cli_call(c, cmd->method, cmd->path, NULL, NULL, CLI_REQ_NOBODY, &answer,
			       &status, &err);
	} else {
		ret = cli_args_body(a, &body);
		if (ret == FF_EINVAL) {
			ff_buf_release(&q);
			return cli_usage_error(a->grp, cmd, "option values must be valid UTF-8");
		}
		if (!ret)
			ret = cli_call(c, cmd->method, cmd->path, NULL, body, 0, &answer, &status,
				       &err);
	}
	ff_buf_release(&q);
	json_decref(body);
	return cli_finish(c, ret, answer, status, &err);
}

char *cli_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	if (name[0] == '/' || n == 0)
		return ff_strdup(name);
	return ff_asprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

void cli_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
