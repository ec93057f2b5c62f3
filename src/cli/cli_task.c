// SPDX-License-Identifier: Apache-2.0
/*
 * cli_task.c - `fedflow task ...`: query tasks and list them, as FATE's
 * `flow task`. Both are plain GETs built from the option tables, whose
 * order is the SDK's argument order on the wire.
 */
#include "ff_setup.h"
#include "cli_util.h"

/* SDK order: job_id, role, party_id, task_name, status, task_id, task_version */
static const struct cli_opt cli_task_query_opts[] = {
	CLI_O_JOB_ID(0), CLI_O_ROLE(0), CLI_O_PARTY_ID(0), CLI_O_TASK_NAME(0), CLI_O_STATUS(0),
	{ "task_id", "-tid", "--task-id", NULL, 0, NULL, "TEXT", "task id" },
	{ "task_version", "-tv", "--task-version", NULL, 0, NULL, "TEXT", "task version" },
	CLI_O_END,
};

/* SDK order: limit, page, job_id, role, party_id, task_name */
static const struct cli_opt cli_task_list_opts[] = {
	CLI_O_LIMIT, CLI_O_PAGE, CLI_O_JOB_ID(0), CLI_O_ROLE(0), CLI_O_PARTY_ID(0),
	CLI_O_TASK_NAME(0), CLI_O_END,
};

static const struct cli_cmd cli_task_cmds[] = {
	{ "query", "query tasks by filters (latest version of each task)", "GET",
	  "job/task/query", cli_task_query_opts, NULL, 0,
	  "fedflow task query -j 202308211557455662860 -r guest -p 9999 -tn lr_0" },
	{ "list", "list tasks", "GET", "job/task/list/query", cli_task_list_opts, NULL, 0,
	  "fedflow task list -j 202308211557455662860 -r guest -p 9999" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_task = {
	"task", "Task operations: query and list.", cli_task_cmds,
};
