// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - the fedflow command: `fedflow [--server URL] GROUP COMMAND [OPTIONS]`.
 *
 * Dispatches to the command tables of the groups (cli_<group>.c), handles
 * the global options and help, and maps every outcome to the exit status:
 * 0 success (answer code 0), 1 the server answered another code or the job
 * failed, 2 usage error, transport error or timeout. The server comes from
 * --server (before the group, between group and command, or among the
 * command's options), else $FEDFLOW_SERVER, else http://127.0.0.1:9380.
 */
#include "ff_setup.h"
#include "cli_util.h"

static const struct cli_group *const cli_groups[] = {
	&cli_group_job, &cli_group_task, &cli_group_data, &cli_group_table, &cli_group_output,
	&cli_group_model, &cli_group_provider, &cli_group_log, &cli_group_site,
	&cli_group_server, &cli_group_test, NULL,
};

static void cli_help_main(FILE *f)
{
	fprintf(f,
		"Usage: fedflow [--server URL] GROUP COMMAND [OPTIONS]\n\n"
		"  Command-line client of fedflowd (FATE-Flow 2.x API): the commands and\n"
		"  options of FATE's `flow` CLI, plus `job wait`.\n\n"
		"Global options:\n"
		"  --server URL   fedflowd address (default: $FEDFLOW_SERVER, else %s)\n"
		"  --version      print the version and exit\n"
		"  -h, --help     show this message and exit\n\n"
		"Groups:\n", CLI_DEFAULT_SERVER);
	for (size_t i = 0; cli_groups[i]; i++)
		fprintf(f, "  %-10s %s\n", cli_groups[i]->name, cli_groups[i]->help);
	fprintf(f,
		"\nExit status: 0 success, 1 the server answered a non-zero code (or the job\n"
		"failed), 2 usage error, connection failure or timeout.\n"
		"Run 'fedflow GROUP --help' for the commands of a group.\n");
}

static const struct cli_group *cli_find_group(const char *name)
{
	for (size_t i = 0; cli_groups[i]; i++)
		if (!strcmp(cli_groups[i]->name, name))
			return cli_groups[i];
	return NULL;
}

/*
 * Global options at argv[*i]: returns 1 when consumed, 0 when argv[*i] is
 * not an option, -1 after printing help (*rc set), or -2 on a usage error.
 */
static int cli_main_opt(int argc, char **argv, int *i, const char **server,
			const struct cli_group *grp, int *rc)
{
	struct ff_error err = FF_ERROR_INIT;
	const char *w = argv[*i];
	int g = cli_args_server(argc, argv, i, server, &err);
	if (g < 0) {
		*rc = cli_usage_error(grp, NULL, "%s", err.msg);
		return -2;
	}
	if (g)
		return 1;
	if (!strcmp(w, "-h") || !strcmp(w, "--help")) {
		if (grp)
			cli_help_group(stdout, grp);
		else
			cli_help_main(stdout);
		*rc = CLI_EXIT_OK;
		return -1;
	}
	if (!grp && !strcmp(w, "--version")) {
		printf("fedflow %s\n", FF_VERSION);
		*rc = CLI_EXIT_OK;
		return -1;
	}
	if (w[0] == '-') {
		*rc = cli_usage_error(grp, NULL, "no such option '%s'", w);
		return -2;
	}
	return 0;
}

/* Parses up to the command; returns -1 when done (rc set), else the index after it. */
static int cli_dispatch(int argc, char **argv, const char **server,
			const struct cli_group **grp, const struct cli_cmd **cmd, int *rc)
{
	int i = 1, r;
	for (; i < argc && (r = cli_main_opt(argc, argv, &i, server, NULL, rc)); i++)
		if (r < 0)
			return -1;
	if (i >= argc) {
		cli_help_main(stderr);
		*rc = CLI_EXIT_USAGE;
		return -1;
	}
	if (!strcmp(argv[i], "version")) {
		printf("fedflow %s\n", FF_VERSION);
		*rc = CLI_EXIT_OK;
		return -1;
	}
	*grp = cli_find_group(argv[i]);
	if (!*grp) {
		*rc = cli_usage_error(NULL, NULL, "no such command group '%s'", argv[i]);
		return -1;
	}
	for (i++; i < argc && (r = cli_main_opt(argc, argv, &i, server, *grp, rc)); i++)
		if (r < 0)
			return -1;
	if (i >= argc) {
		cli_help_group(stderr, *grp);
		*rc = cli_usage_error(*grp, NULL, "missing command");
		return -1;
	}
	*cmd = cli_group_find(*grp, argv[i]);
	if (!*cmd) {
		*rc = cli_usage_error(*grp, NULL, "no such command '%s'", argv[i]);
		return -1;
	}
	return i + 1;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct cli_args a = CLI_ARGS_INIT;
	struct ff_error err = FF_ERROR_INIT;
	const struct cli_group *grp = NULL;
	const struct cli_cmd *cmd = NULL;
	const char *server = NULL;
	int rc = CLI_EXIT_USAGE;
	if (cli_init(&c)) {
		fprintf(stderr, "fedflow: out of memory\n");
		return CLI_EXIT_USAGE;
	}
	int i = cli_dispatch(argc, argv, &server, &grp, &cmd, &rc);
	if (i < 0)
		goto out;
	int ret = cli_args_parse(&a, grp, cmd, argc - i, argv + i, &server, &err);
	if (ret == CLI_ARGS_HELP) {
		cli_help_cmd(stdout, grp, cmd);
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (ret) {
		rc = cli_usage_error(grp, cmd, "%s", ff_error_msg(&err, ret));
		goto out;
	}
	if (server && cli_set_server(&c, server)) {
		rc = cli_usage_error(grp, cmd, "out of memory");
		goto out;
	}
	ret = cli_open(&c, &err);
	if (ret) {
		rc = cli_fail(&c, ret, &err);
		goto out;
	}
	rc = cmd->run ? cmd->run(&c, &a) : cli_run_generic(&c, &a);
out:
	cli_args_release(&a);
	cli_release(&c);
	return rc;
}
