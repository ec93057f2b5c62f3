// SPDX-License-Identifier: Apache-2.0
/*
 * cli_log.c - `fedflow log ...`: count and read the lines of a job's logs,
 * as FATE's `flow log` (plus the SDK's --begin/--end line range).
 */
#include "ff_setup.h"
#include "cli_util.h"

#define CLI_O_LOG_TYPE { "log_type", NULL, "--log-type", NULL, CLI_OPT_REQ, NULL, "TEXT", \
	"schedule_info, schedule_error, task_error, task_warning, task_info or task_debug" }
#define CLI_O_INSTANCE { "instance_id", NULL, "--instance-id", NULL, 0, NULL, "TEXT", \
	"flow server instance holding the logs" }

/* SDK order: log_type, job_id, role, party_id, task_name, instance_id */
static const struct cli_opt cli_log_count_opts[] = {
	CLI_O_LOG_TYPE, CLI_O_JOB_ID(CLI_OPT_REQ), CLI_O_ROLE(0), CLI_O_PARTY_ID(0),
	CLI_O_TASK_NAME(0), CLI_O_INSTANCE, CLI_O_END,
};

/* SDK order: log_type, job_id, role, party_id, task_name, begin, end, instance_id */
static const struct cli_opt cli_log_query_opts[] = {
	CLI_O_LOG_TYPE, CLI_O_JOB_ID(CLI_OPT_REQ), CLI_O_ROLE(0), CLI_O_PARTY_ID(0),
	CLI_O_TASK_NAME(0),
	{ "begin", NULL, "--begin", NULL, CLI_OPT_INT, NULL, "LINE", "first line (1-based)" },
	{ "end", NULL, "--end", NULL, CLI_OPT_INT, NULL, "LINE", "last line" },
	CLI_O_INSTANCE, CLI_O_END,
};

static const struct cli_cmd cli_log_cmds[] = {
	{ "count", "count the lines of a log", "GET", "log/count", cli_log_count_opts, NULL, 0,
	  "fedflow log count -j 202308211557455662860 -r guest -p 9999 --log-type schedule_info" },
	{ "query", "read the lines of a log", "GET", "log/query", cli_log_query_opts, NULL, 0,
	  "fedflow log query -j 202308211557455662860 -r guest -p 9999 --log-type task_info "
	  "-tn lr_0 --begin 1 --end 100" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_log = {
	"log", "Job log operations: count, query.", cli_log_cmds,
};
