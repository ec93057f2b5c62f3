// SPDX-License-Identifier: Apache-2.0
/*
 * cli_output.c - `fedflow output ...`: a task's metrics, models and output
 * data, as FATE's `flow output`. Every command names the task with
 * -j -r -p -tn; the two downloads extract into
 * DIR/output_model_<job>_<role>_<party>_<task> and
 * DIR/output_data_<job>_<role>_<party>_<task> like FATE's client.
 */
#include "ff_setup.h"
#include "cli_download.h"
#include "cli_util.h"
#include "mem.h"

#define CLI_O_TASK_KEY CLI_O_JOB_ID(CLI_OPT_REQ), CLI_O_ROLE(CLI_OPT_REQ), \
	CLI_O_PARTY_ID(CLI_OPT_REQ), CLI_O_TASK_NAME(CLI_OPT_REQ)

static int cli_output_download(struct cli *c, const struct cli_args *a, const char *what)
{
	struct ff_buf q = FF_BUF_INIT;
	char *name = ff_asprintf("output_%s_%s_%s_%s_%s", what, cli_arg(a, "job_id"),
				 cli_arg(a, "role"), cli_arg(a, "party_id"), cli_arg(a, "task_name"));
	char *dir = name ? cli_path_join(cli_arg(a, "path"), name) : NULL;
	int rc;
	if (!dir || cli_args_query(a, &q))
		rc = cli_usage_error(a->grp, a->cmd, "out of memory");
	else
		rc = cli_download(c, "GET", a->cmd->path, q.buf, NULL, dir);
	ff_buf_release(&q);
	ff_free(dir);
	ff_free(name);
	return rc;
}

static int cli_output_download_model(struct cli *c, const struct cli_args *a)
{
	return cli_output_download(c, a, "model");
}

static int cli_output_download_data(struct cli *c, const struct cli_args *a)
{
	return cli_output_download(c, a, "data");
}

static const struct cli_opt cli_output_opts[] = { CLI_O_TASK_KEY, CLI_O_END };

/* The client path is also sent as the `path` query argument, as FATE does. */
static const struct cli_opt cli_output_dl_opts[] = {
	CLI_O_TASK_KEY,
	CLI_O_PATH(CLI_OPT_REQ, "client directory to extract into"),
	CLI_O_END,
};

#define CLI_OUTPUT_EX(cmd) \
	"fedflow output " cmd " -j 202308211557455662860 -r guest -p 9999 -tn lr_0"

static const struct cli_cmd cli_output_cmds[] = {
	{ "query-metric-key", "list the metric keys of a task", "GET", "output/metric/key/query",
	  cli_output_opts, NULL, 0, CLI_OUTPUT_EX("query-metric-key") },
	{ "query-metric", "show the metrics of a task", "GET", "output/metric/query",
	  cli_output_opts, NULL, 0, CLI_OUTPUT_EX("query-metric") },
	{ "delete-metric", "delete the metrics of a task", "POST", "output/metric/delete",
	  cli_output_opts, NULL, 0, CLI_OUTPUT_EX("delete-metric") },
	{ "query-model", "show the models of a task", "GET", "output/model/query",
	  cli_output_opts, NULL, 0, CLI_OUTPUT_EX("query-model") },
	{ "download-model", "download the models of a task", "GET", "output/model/download",
	  cli_output_dl_opts, cli_output_download_model, 0,
	  CLI_OUTPUT_EX("download-model") " -o ./out" },
	{ "delete-model", "delete the models of a task", "POST", "output/model/delete",
	  cli_output_opts, NULL, 0, CLI_OUTPUT_EX("delete-model") },
	{ "download-data", "download the output data of a task", "GET", "output/data/download",
	  cli_output_dl_opts, cli_output_download_data, 0,
	  CLI_OUTPUT_EX("download-data") " -o ./out" },
	{ "query-data-table", "show the output tables of a task", "GET", "output/data/table",
	  cli_output_opts, NULL, 0, CLI_OUTPUT_EX("query-data-table") },
	{ "display-data", "preview the output data of a task", "GET", "output/data/display",
	  cli_output_opts, NULL, 0, CLI_OUTPUT_EX("display-data") },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_output = {
	"output", "Task output operations: metrics, models, data.", cli_output_cmds,
};
