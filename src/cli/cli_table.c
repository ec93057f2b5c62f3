// SPDX-License-Identifier: Apache-2.0
/*
 * cli_table.c - `fedflow table ...`: query, bind a path to and delete data
 * tables, as FATE's `flow table`.
 */
#include "ff_setup.h"
#include "cli_util.h"

/* SDK order: namespace, name, display ("display" is sent as typed). */
static const struct cli_opt cli_table_query_opts[] = {
	CLI_O_NAMESPACE(CLI_OPT_REQ), CLI_O_NAME(CLI_OPT_REQ),
	{ "display", "-d", "--display", NULL, 0, NULL, "TEXT",
	  "also return a preview of the rows (true/false)" },
	CLI_O_END,
};

static const struct cli_opt cli_table_bind_opts[] = {
	CLI_O_NAMESPACE(CLI_OPT_REQ), CLI_O_NAME(CLI_OPT_REQ),
	CLI_O_PATH(CLI_OPT_REQ, "path on the server to bind the table to"),
	CLI_O_END,
};

static const struct cli_opt cli_table_delete_opts[] = {
	CLI_O_NAMESPACE(CLI_OPT_REQ), CLI_O_NAME(CLI_OPT_REQ), CLI_O_END,
};

static const struct cli_cmd cli_table_cmds[] = {
	{ "query", "show a table's metadata", "GET", "table/query", cli_table_query_opts, NULL, 0,
	  "fedflow table query -ns experiment -n breast_hetero_guest" },
	{ "bind", "bind a server path as a table", "POST", "table/bind/path",
	  cli_table_bind_opts, NULL, 0,
	  "fedflow table bind -ns experiment -n mydata -o /data/projects/mydata" },
	{ "delete", "delete a table and its data", "POST", "table/delete",
	  cli_table_delete_opts, NULL, 0,
	  "fedflow table delete -ns experiment -n breast_hetero_guest" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_table = {
	"table", "Data table operations: query, bind, delete.", cli_table_cmds,
};
