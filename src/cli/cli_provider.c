// SPDX-License-Identifier: Apache-2.0
/*
 * cli_provider.c - `fedflow provider ...`: register, query and delete
 * component providers, as FATE's `flow provider`.
 */
#include "ff_setup.h"
#include "cli_util.h"

/* The SDK's register() signature, in order: the only keys a conf may hold. */
static const char *const cli_provider_keys[] = {
	"name", "device", "version", "metadata", "protocol", "components_description", NULL,
};

static int cli_provider_register(struct cli *c, const struct cli_args *a)
{
	struct ff_error err = FF_ERROR_INIT;
	json_t *conf = NULL, *body = NULL, *answer = NULL;
	long status = 0;
	int ret = cli_load_conf(cli_arg(a, "conf_path"), &conf, &err);
	if (!ret)
		ret = cli_conf_pick(conf, cli_provider_keys, NULL, &body, &err);
	json_decref(conf);
	if (ret)
		return cli_usage_error(a->grp, a->cmd, "%s", ff_error_msg(&err, ret));
	ret = cli_call(c, "POST", "provider/register", NULL, body, 0, &answer, &status, &err);
	json_decref(body);
	return cli_finish(c, ret, answer, status, &err);
}

static const struct cli_opt cli_provider_register_opts[] = { CLI_O_CONF(CLI_OPT_REQ), CLI_O_END };

/* SDK order: name, device, version, provider_name */
static const struct cli_opt cli_provider_filter_opts[] = {
	{ "name", "-n", "--name", NULL, 0, NULL, "TEXT", "provider name (\"fate\")" },
	{ "device", NULL, "--device", NULL, 0, NULL, "TEXT", "device (\"local\")" },
	{ "version", NULL, "--version", NULL, 0, NULL, "TEXT", "provider version" },
	{ "provider_name", NULL, "--provider-name", "--provider_name", 0, NULL, "TEXT",
	  "full provider name (\"fate:2.2.0@local\")" },
	CLI_O_END,
};

static const struct cli_cmd cli_provider_cmds[] = {
	{ "register", "register or update a provider from a conf file", "POST",
	  "provider/register", cli_provider_register_opts, cli_provider_register, 0,
	  "fedflow provider register -c examples/provider/register.json" },
	{ "query", "list providers matching the filters", "GET", "provider/query",
	  cli_provider_filter_opts, NULL, 0, "fedflow provider query --name fate" },
	{ "delete", "delete providers matching the filters", "POST", "provider/delete",
	  cli_provider_filter_opts, NULL, 0, "fedflow provider delete --name fate --version 2.2.0" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_provider = {
	"provider", "Component provider operations: register, query, delete.", cli_provider_cmds,
};
