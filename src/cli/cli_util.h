/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_util.h - what every fedflow command shares: the client context,
 * request building (FATE's query-string and JSON-body encodings), sending,
 * printing answers, exit codes and configuration files.
 *
 * Exit codes (enum cli_exit): 0 when the server answered code 0, 1 when it
 * answered another code, 2 for usage errors and for transport failures
 * (connection refused, timeout, an answer that is not JSON). Answers are
 * printed on stdout as json.dumps(answer, indent=4, ensure_ascii=False);
 * usage errors and progress go to stderr.
 *
 * One struct cli per process; not thread-safe.
 */
#ifndef FF_CLI_UTIL_H
#define FF_CLI_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include "buf.h"
#include "cli_args.h"
#include "err.h"
#include "httpc.h"

#define CLI_DEFAULT_SERVER "http://127.0.0.1:9380"

struct cli {
	char *server;          /* owned base URL without trailing '/' */
	struct httpc http;     /* one connection, reused across requests */
	bool http_ready;
	const char *app_id;    /* $FEDFLOW_APP_ID (borrowed), NULL: no signing */
	const char *app_token; /* $FEDFLOW_APP_TOKEN (borrowed) */
	const char *user_name; /* $FEDFLOW_USER_NAME (borrowed), "" by default */
};

/*
 * Sets the server from $FEDFLOW_SERVER or the default, and the client
 * credentials from $FEDFLOW_APP_ID / $FEDFLOW_APP_TOKEN when both are set.
 */
int cli_init(struct cli *c);
/* Replaces the server URL (normalised: scheme added, trailing "/" and "/v2" dropped). */
int cli_set_server(struct cli *c, const char *url);
/* Opens the HTTP client (after argument parsing, so --help needs no curl). */
int cli_open(struct cli *c, struct ff_error *err);
void cli_release(struct cli *c);

/* Appends k=v to a query string, encoded as Python's urlencode does
 * (unreserved kept, space as '+', the rest %XX). */
int cli_query_add(struct ff_buf *q, const char *k, const char *v);
/* Query string from the sent options of a (table order, defaults applied). */
int cli_args_query(const struct cli_args *a, struct ff_buf *q);
/* JSON object from the sent options of a (table order); *out new reference. */
int cli_args_body(const struct cli_args *a, json_t **out);

/*
 * Appends the headers every request carries to *hl: User-Agent, and when
 * credentials are set FATE's client signature (appId, userName, Nonce,
 * Timestamp, Signature = md5(md5(app_id + user_name + nonce + timestamp)
 * + app_token), lowercase hex). Returns FF_OK or FF_ENOMEM/FF_EIO; *hl may
 * then hold some of the lines, and the caller frees it either way.
 */
int cli_headers(const struct cli *c, struct curl_slist **hl);

/* Request flags for cli_call. */
enum {
	CLI_REQ_NOBODY = 1u << 0,   /* POST with no body and no Content-Type */
	CLI_REQ_POLL = 1u << 1,     /* short timeout (polling loops) */
};

/*
 * Sends METHOD <server>/v2/<path>[?query] with body as JSON (POST) and
 * parses the JSON answer into *answer (new reference) and its HTTP status
 * into *status (may be NULL). Transport failures return FF_ECONNREFUSED,
 * FF_ETIMEDOUT or FF_EIO; a non-JSON answer FF_EPROTO; err says why.
 */
int cli_call(struct cli *c, const char *method, const char *path, const char *query,
	     const json_t *body, unsigned flags, json_t **answer, long *status,
	     struct ff_error *err);

/* Full URL of an API path (owned string, free with ff_free), NULL on OOM. */
char *cli_url(const struct cli *c, const char *path, const char *query);

/* Prints v on stdout (indent 4, UTF-8 as is) followed by a newline. */
void cli_print(const json_t *v);
/* Exit code for a parsed answer: 0 for code 0 (or no code and status < 400), else 1. */
int cli_answer_exit(const json_t *answer, long status);
/* The answer's integer code; false when it has none. */
bool cli_answer_code(const json_t *answer, long long *code);
/*
 * Prints {"code": 100, "message": ...} for a failed call (connection
 * refused names the server) and returns CLI_EXIT_USAGE.
 */
int cli_fail(const struct cli *c, int ret, const struct ff_error *err);
/* Prints the outcome of cli_call and returns the exit code; takes answer. */
int cli_finish(const struct cli *c, int ret, json_t *answer, long status,
	       const struct ff_error *err);
/* Usage error for a command (grp/cmd may be NULL): message to stderr, returns 2. */
int cli_usage_error(const struct cli_group *grp, const struct cli_cmd *cmd,
		    const char *fmt, ...) FF_PRINTF(3, 4);

/* Loads a JSON or YAML file that must hold an object; *out new reference. */
int cli_load_conf(const char *path, json_t **out, struct ff_error *err);
/*
 * Copies the members of conf named in keys (NULL-terminated, in that
 * order) into a new object, skipping nulls. A member not in keys, a
 * missing member listed in required, or an empty string is FF_EINVAL.
 */
int cli_conf_pick(const json_t *conf, const char *const *keys,
		  const char *const *required, json_t **out, struct ff_error *err);

/* The generic runner: request from the option table, print, exit code. */
int cli_run_generic(struct cli *c, const struct cli_args *a);

/* Joins dir and name as os.path.join does (owned, ff_free), NULL on OOM. */
char *cli_path_join(const char *dir, const char *name);
/* Sleeps ms milliseconds. */
void cli_sleep_ms(long ms);

/* The command groups, one per cli_<group>.c. */
extern const struct cli_group cli_group_job;
extern const struct cli_group cli_group_task;
extern const struct cli_group cli_group_data;
extern const struct cli_group cli_group_table;
extern const struct cli_group cli_group_output;
extern const struct cli_group cli_group_model;
extern const struct cli_group cli_group_provider;
extern const struct cli_group cli_group_log;
extern const struct cli_group cli_group_site;
extern const struct cli_group cli_group_server;
extern const struct cli_group cli_group_test;

#endif
