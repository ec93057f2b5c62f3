// SPDX-License-Identifier: Apache-2.0
/*
 * cli_data.c - `fedflow data ...`: upload (server file or multipart from
 * the client), download, download-component and transformer, as FATE's
 * `flow data`.
 *
 * Conf files are passed to the server as FATE's SDK passes them: only the
 * keys of the SDK function's signature, in signature order, nulls dropped.
 * A key the SDK would not accept is a usage error here (a TypeError there).
 */
#include "ff_setup.h"
#include "cli_download.h"
#include "cli_json.h"
#include "cli_mime.h"
#include "cli_util.h"
#include "mem.h"

/* Data.upload / Data.upload_file signature order. */
static const char *const cli_upload_keys[] = {
	"file", "head", "partitions", "meta", "namespace", "name", "extend_sid", "role",
	"party_id", NULL,
};
static const char *const cli_upload_required[] = { "file", "head", "partitions", "meta", NULL };

/* Data.dataframe_transformer signature order. */
static const char *const cli_transformer_keys[] = {
	"namespace", "name", "data_warehouse", "drop", "site_name", NULL,
};
static const char *const cli_transformer_required[] = {
	"namespace", "name", "data_warehouse", NULL,
};

/* Loads the conf of a and picks keys; usage error text in err. */
static int cli_data_conf(const struct cli_args *a, const char *const *keys,
			 const char *const *required, json_t **out, struct ff_error *err)
{
	json_t *conf = NULL;
	int ret = cli_load_conf(cli_arg(a, "conf_path"), &conf, err);
	if (!ret)
		ret = cli_conf_pick(conf, keys, required, out, err);
	json_decref(conf);
	return ret;
}

static int cli_data_post_conf(struct cli *c, const struct cli_args *a, const char *path,
			      json_t *body)
{
	struct ff_error err = FF_ERROR_INIT;
	json_t *answer = NULL;
	long status = 0;
	int ret = cli_call(c, "POST", path, NULL, body, 0, &answer, &status, &err);
	json_decref(body);
	return cli_finish(c, ret, answer, status, &err);
}

static int cli_data_upload(struct cli *c, const struct cli_args *a)
{
	struct ff_error err = FF_ERROR_INIT;
	json_t *body = NULL;
	int ret = cli_data_conf(a, cli_upload_keys, cli_upload_required, &body, &err);
	if (ret)
		return cli_usage_error(a->grp, a->cmd, "%s", ff_error_msg(&err, ret));
	return cli_data_post_conf(c, a, "data/component/upload", body);
}

static int cli_data_transformer(struct cli *c, const struct cli_args *a)
{
	struct ff_error err = FF_ERROR_INIT;
	json_t *body = NULL;
	int ret = cli_data_conf(a, cli_transformer_keys, cli_transformer_required, &body, &err);
	if (ret)
		return cli_usage_error(a->grp, a->cmd, "%s", ff_error_msg(&err, ret));
	/* The SDK's default drop=True is always sent; keep its place in the order. */
	if (!json_object_get(body, "drop")) {
		json_t *site = json_incref(json_object_get(body, "site_name"));
		json_object_del(body, "site_name");
		json_object_set_new(body, "drop", json_true());
		if (site)
			json_object_set_new(body, "site_name", site);
	}
	return cli_data_post_conf(c, a, "data/component/dataframe/transformer", body);
}

/*
 * Form text of a conf value as Python's str() writes it (requests sends
 * str(v)): True/False, decimal integers, repr() floats, strings as they
 * are. Containers are sent as JSON. Owned, free with ff_free.
 */
static char *cli_form_text(const json_t *v)
{
	char num[40];
	struct ff_buf b = FF_BUF_INIT;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return ff_strndup(json_string_value(v), json_string_length(v));
	case JSON_TRUE:
		return ff_strdup("True");
	case JSON_FALSE:
		return ff_strdup("False");
	case JSON_INTEGER:
		return ff_asprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		cli_json_real(json_real_value(v), num, sizeof(num));
		return ff_strdup(num);
	default:
		if (cli_json_dump(&b, v, 0, true))
			return NULL;
		return ff_buf_detach(&b, NULL);
	}
}

static int cli_data_upload_file(struct cli *c, const struct cli_args *a)
{
	struct ff_error err = FF_ERROR_INIT;
	struct cli_mime m;
	json_t *conf = NULL, *answer = NULL;
	long status = 0;
	int ret = cli_data_conf(a, cli_upload_keys, cli_upload_required, &conf, &err);
	if (ret)
		return cli_usage_error(a->grp, a->cmd, "%s", ff_error_msg(&err, ret));
	cli_mime_init(&m);
	/* Text fields in signature order without file and meta, then meta, then the file. */
	const char *k;
	json_t *v;
	json_object_foreach(conf, k, v) {
		if (!strcmp(k, "file") || !strcmp(k, "meta"))
			continue;
		char *text = cli_form_text(v);
		ret = text ? cli_mime_field(&m, k, text) : FF_ENOMEM;
		ff_free(text);
		if (ret)
			break;
	}
	if (!ret) {
		struct ff_buf meta = FF_BUF_INIT;
		ret = cli_json_dump(&meta, json_object_get(conf, "meta"), 0, true);
		if (!ret)
			ret = cli_mime_field(&m, "meta", meta.buf);
		ff_buf_release(&meta);
	}
	const char *file = json_string_value(json_object_get(conf, "file"));
	int rc;
	if (ret) {
		rc = cli_usage_error(a->grp, a->cmd, "out of memory");
	} else if (!file) {
		rc = cli_usage_error(a->grp, a->cmd, "key 'file' must be a path (string)");
	} else if ((ret = cli_mime_file(&m, "file", file, &err))) {
		rc = cli_usage_error(a->grp, a->cmd, "%s", ff_error_msg(&err, ret));
	} else {
		ret = cli_mime_post(c, "data/component/upload/file", &m, &answer, &status, &err);
		rc = cli_finish(c, ret, answer, status, &err);
	}
	cli_mime_release(&m);
	json_decref(conf);
	return rc;
}

static int cli_data_download(struct cli *c, const struct cli_args *a)
{
	struct ff_buf q = FF_BUF_INIT;
	int rc = cli_args_query(a, &q) ? cli_usage_error(a->grp, a->cmd, "out of memory")
				       : cli_download(c, "GET", "data/download", q.buf, NULL,
						      cli_arg(a, "path"));
	ff_buf_release(&q);
	return rc;
}

static const struct cli_opt cli_data_conf_opts[] = { CLI_O_CONF(CLI_OPT_REQ), CLI_O_END };

/* SDK order: namespace, name, path (the client path is sent too). */
static const struct cli_opt cli_data_download_opts[] = {
	CLI_O_NAMESPACE(CLI_OPT_REQ), CLI_O_NAME(CLI_OPT_REQ),
	CLI_O_PATH(CLI_OPT_REQ, "client directory to extract into"), CLI_O_END,
};

static const struct cli_opt cli_data_dlcomp_opts[] = {
	CLI_O_NAMESPACE(CLI_OPT_REQ), CLI_O_NAME(CLI_OPT_REQ),
	CLI_O_PATH(CLI_OPT_REQ, "directory on the server to write the data to"), CLI_O_END,
};

static const struct cli_cmd cli_data_cmds[] = {
	{ "upload", "upload a file that is on the server (conf: file, head, partitions, meta, "
	  "namespace, name, extend_sid)", "POST", "data/component/upload", cli_data_conf_opts,
	  cli_data_upload, 0, "fedflow data upload -c examples/upload/upload_guest.json" },
	{ "upload-file", "upload a file from this machine (same conf; multipart)", "POST",
	  "data/component/upload/file", cli_data_conf_opts, cli_data_upload_file, 0,
	  "fedflow data upload-file -c examples/upload/upload_guest.json" },
	{ "download", "download a table into a client directory", "GET", "data/download",
	  cli_data_download_opts, cli_data_download, 0,
	  "fedflow data download -ns experiment -n breast_hetero_guest -o ./data" },
	{ "download-component", "run a download job that writes a table on the server", "POST",
	  "data/component/download", cli_data_dlcomp_opts, NULL, 0,
	  "fedflow data download-component -ns experiment -n breast_hetero_guest -o /data/out" },
	{ "transformer", "turn a table into a dataframe table (conf: namespace, name, "
	  "data_warehouse, drop, site_name)", "POST", "data/component/dataframe/transformer",
	  cli_data_conf_opts, cli_data_transformer, 0,
	  "fedflow data transformer -c examples/transformer/transformer_guest.json" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_data = {
	"data", "Data operations: upload, download, transformer.", cli_data_cmds,
};
