// SPDX-License-Identifier: Apache-2.0
/*
 * cli_model.c - `fedflow model ...`: export, import and delete models, as
 * FATE's `flow model`. Import is a multipart upload of a file from this
 * machine (fields model_id, model_version, path, then the file).
 */
#include "ff_setup.h"
#include "cli_mime.h"
#include "cli_util.h"

#define CLI_O_MODEL_ID { "model_id", "-mid", "--model-id", NULL, CLI_OPT_REQ, NULL, "TEXT", \
	"model id" }
#define CLI_O_MODEL_VERSION { "model_version", "-mv", "--model-version", NULL, CLI_OPT_REQ, \
	NULL, "TEXT", "model version" }

static int cli_model_import(struct cli *c, const struct cli_args *a)
{
	struct ff_error err = FF_ERROR_INIT;
	struct cli_mime m;
	json_t *answer = NULL;
	long status = 0;
	const char *path = cli_arg(a, "path");
	int rc, ret;
	cli_mime_init(&m);
	ret = cli_mime_field(&m, "model_id", cli_arg(a, "model_id"));
	if (!ret)
		ret = cli_mime_field(&m, "model_version", cli_arg(a, "model_version"));
	if (!ret)
		ret = cli_mime_field(&m, "path", path);
	if (ret) {
		rc = cli_usage_error(a->grp, a->cmd, "out of memory");
	} else if ((ret = cli_mime_file(&m, "file", path, &err))) {
		rc = cli_usage_error(a->grp, a->cmd, "%s", ff_error_msg(&err, ret));
	} else {
		ret = cli_mime_post(c, "model/import", &m, &answer, &status, &err);
		rc = cli_finish(c, ret, answer, status, &err);
	}
	cli_mime_release(&m);
	return rc;
}

/* SDK order: role, model_id, model_version, party_id, path */
static const struct cli_opt cli_model_export_opts[] = {
	CLI_O_ROLE(CLI_OPT_REQ), CLI_O_MODEL_ID, CLI_O_MODEL_VERSION, CLI_O_PARTY_ID(CLI_OPT_REQ),
	CLI_O_PATH(CLI_OPT_REQ, "directory on the server to write the zip to"), CLI_O_END,
};

static const struct cli_opt cli_model_import_opts[] = {
	CLI_O_MODEL_ID, CLI_O_MODEL_VERSION,
	{ "path", "-i", "--path", "--input-path", CLI_OPT_REQ, NULL, "PATH",
	  "model zip file on this machine" },
	CLI_O_END,
};

/* SDK order: model_id, model_version, role, party_id, task_name, output_key */
static const struct cli_opt cli_model_delete_opts[] = {
	CLI_O_MODEL_ID, CLI_O_MODEL_VERSION, CLI_O_ROLE(0), CLI_O_PARTY_ID(0), CLI_O_TASK_NAME(0),
	{ "output_key", NULL, "--output-key", NULL, 0, NULL, "TEXT", "output key of the task" },
	CLI_O_END,
};

static const struct cli_cmd cli_model_cmds[] = {
	{ "export", "export a model as a zip file on the server", "POST", "model/export",
	  cli_model_export_opts, NULL, 0,
	  "fedflow model export -mid 202308211557455662860 -mv 0 -r guest -p 9999 -o /data/models" },
	{ "import", "import a model zip file from this machine", "POST", "model/import",
	  cli_model_import_opts, cli_model_import, 0,
	  "fedflow model import -mid 202308211557455662860 -mv 0 -i ./model.zip" },
	{ "delete", "delete models", "POST", "model/delete", cli_model_delete_opts, NULL, 0,
	  "fedflow model delete -mid 202308211557455662860 -mv 0" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_model = {
	"model", "Model operations: export, import, delete.", cli_model_cmds,
};
