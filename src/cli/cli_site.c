// SPDX-License-Identifier: Apache-2.0
/*
 * cli_site.c - `fedflow site info` (FATE spells it `flow site query`;
 * both names work): the party id of the site the server belongs to.
 */
#include "ff_setup.h"
#include "cli_util.h"

static const struct cli_opt cli_site_no_opts[] = { CLI_O_END };

static const struct cli_cmd cli_site_cmds[] = {
	{ "info", "show the site's party id", "GET", "site/info/query", cli_site_no_opts, NULL,
	  0, "fedflow site info" },
	{ "query", "same as `site info` (FATE's name)", "GET", "site/info/query",
	  cli_site_no_opts, NULL, CLI_CMD_HIDDEN, "fedflow site query" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_site = {
	"site", "Site information (`site info`, also spelled `site query`).", cli_site_cmds,
};
