// SPDX-License-Identifier: Apache-2.0
/*
 * cli_server.c - `fedflow server info|resource|health`: the flow server
 * instances of this site (GET /v2/server/fateflow), its cores per engine
 * and per job (GET /v2/server/resource), and a health check.
 */
#include "ff_setup.h"
#include "cli_util.h"

static const struct cli_opt cli_server_no_opts[] = { CLI_O_END };

static const struct cli_cmd cli_server_cmds[] = {
	{ "info", "show the registered flow server instances", "GET", "server/fateflow",
	  cli_server_no_opts, NULL, 0, "fedflow server info" },
	{ "resource", "show cores per engine (total, used) and per job holding cores", "GET",
	  "server/resource", cli_server_no_opts, NULL, 0, "fedflow server resource" },
	{ "health", "check that the server and its database answer", "GET", "server/health",
	  cli_server_no_opts, NULL, 0, "fedflow server health" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_server = {
	"server", "Flow server information.", cli_server_cmds,
};
