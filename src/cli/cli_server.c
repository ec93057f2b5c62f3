// SPDX-License-Identifier: Apache-2.0
/*
 * cli_server.c - `fedflow server info`: the flow server instances
 * registered for this site (GET /v2/server/fateflow).
 */
#include "ff_setup.h"
#include "cli_util.h"

static const struct cli_opt cli_server_no_opts[] = { CLI_O_END };

static const struct cli_cmd cli_server_cmds[] = {
	{ "info", "show the registered flow server instances", "GET", "server/fateflow",
	  cli_server_no_opts, NULL, 0, "fedflow server info" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_server = {
	"server", "Flow server information.", cli_server_cmds,
};
