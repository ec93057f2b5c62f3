/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_args.h - the fedflow CLI's command tables and option parser.
 *
 * Every command is a row of static data: its name, the API route it calls
 * and an ordered option table. The order of the table is the order in
 * which FATE's SDK puts the arguments on the wire (query string or JSON
 * body), so a generic runner can build the request from the table alone.
 * Options are spelled as FATE's `flow` spells them ("-j/--job-id",
 * "-tn/--task-name", "-ns/--namespace") and parsed the way click does:
 * an option's value is always the next argument (or "--opt=value"), the
 * last occurrence wins, and any usage error exits with status 2.
 *
 * The parser borrows argv: values in struct cli_args point into it and live
 * as long as argv does. Nothing here is thread-safe; the CLI has one thread.
 */
#ifndef FF_CLI_ARGS_H
#define FF_CLI_ARGS_H

#include <stdbool.h>
#include <stdio.h>
#include "err.h"

/* Exit statuses of the fedflow command. */
enum cli_exit {
	CLI_EXIT_OK = 0,       /* the server answered code 0 / the job succeeded */
	CLI_EXIT_FAIL = 1,     /* the server answered another code / the job failed */
	CLI_EXIT_USAGE = 2,    /* usage error, transport error, timeout */
};

/* Option flags (struct cli_opt.flags). */
enum {
	CLI_OPT_REQ = 1u << 0,    /* must be given */
	CLI_OPT_INT = 1u << 1,    /* value is an integer (sent in decimal) */
	CLI_OPT_FLAG = 1u << 2,   /* takes no value */
	CLI_OPT_LOCAL = 1u << 3,  /* used by the client itself, never sent */
	CLI_OPT_ROLE = 1u << 4,   /* one of guest, host, arbiter, local */
	CLI_OPT_STATUS = 1u << 5, /* one of the job/task status names */
};

/* One option of a command; tables end with an all-NULL row. */
struct cli_opt {
	const char *key;    /* wire name, also the lookup key ("job_id") */
	const char *shrt;   /* short spelling ("-j", "-tn") or NULL */
	const char *lng;    /* long spelling ("--job-id") */
	const char *alias;  /* a second long spelling or NULL */
	unsigned flags;     /* CLI_OPT_* */
	const char *def;    /* value used when absent, or NULL */
	const char *meta;   /* value placeholder in help ("TEXT", "PATH") */
	const char *help;
};

struct cli;
struct cli_args;
struct cli_group;

/* Runs a parsed command; returns an enum cli_exit value. */
typedef int (*cli_cmd_run_cb)(struct cli *c, const struct cli_args *a);

/* Command flags (struct cli_cmd.flags). */
enum {
	CLI_CMD_NOBODY = 1u << 0, /* POST without any body (Content-Length 0) */
	CLI_CMD_HIDDEN = 1u << 1, /* alias, left out of the group help */
};

/* One command of a group; tables end with a row whose name is NULL. */
struct cli_cmd {
	const char *name;
	const char *help;          /* one line */
	const char *method;        /* "GET" or "POST" for the generic runner */
	const char *path;          /* API path below /v2/ ("job/query") */
	const struct cli_opt *opts;
	cli_cmd_run_cb run;        /* NULL: generic request built from opts */
	unsigned flags;            /* CLI_CMD_* */
	const char *example;       /* usage example for the help, or NULL */
};

struct cli_group {
	const char *name;
	const char *help;
	const struct cli_cmd *cmds;
};

/* A parsed command line. */
struct cli_args {
	const struct cli_group *grp;   /* borrowed (static tables) */
	const struct cli_cmd *cmd;     /* borrowed */
	const char **vals;             /* owned array, one per option; values borrow argv */
	long long *ivals;              /* owned array, parsed CLI_OPT_INT values */
	size_t n;                      /* number of options */
};

#define CLI_ARGS_INIT { .grp = NULL, .cmd = NULL, .vals = NULL, .ivals = NULL, .n = 0 }

/* Result of cli_args_parse besides errors: the user asked for --help. */
#define CLI_ARGS_HELP 1

/*
 * Parses argv[0..argc) (the words after "<group> <command>") into a for
 * cmd. Global "--server URL" / "--server=URL" may appear among them; the
 * last one is stored in *server (borrowed from argv, may stay untouched).
 * Returns FF_OK, CLI_ARGS_HELP when -h/--help was given, or FF_EINVAL /
 * FF_ENOMEM with the reason in err ("missing required option -j/--job-id").
 * a must be CLI_ARGS_INIT; release it with cli_args_release either way.
 */
int cli_args_parse(struct cli_args *a, const struct cli_group *grp,
		   const struct cli_cmd *cmd, int argc, char **argv,
		   const char **server, struct ff_error *err);
void cli_args_release(struct cli_args *a);

/*
 * Consumes the global "--server URL" / "--server=URL" at argv[*i] (advancing
 * *i past its value) and stores the URL in *server (borrowed). Returns 1
 * when it did, 0 when argv[*i] is something else, FF_EINVAL with err when
 * the value is missing or empty.
 */
int cli_args_server(int argc, char **argv, int *i, const char **server,
		    struct ff_error *err);

/* Value of the option whose key is key (default applied), or NULL. */
const char *cli_arg(const struct cli_args *a, const char *key);
/* Integer value of a CLI_OPT_INT option; false when absent. */
bool cli_arg_int(const struct cli_args *a, const char *key, long long *out);
/* True when the CLI_OPT_FLAG option key was given. */
bool cli_arg_flag(const struct cli_args *a, const char *key);

/* Finds a command of grp by name (NULL when unknown). */
const struct cli_cmd *cli_group_find(const struct cli_group *grp, const char *name);

/* Help texts (to f). */
void cli_help_cmd(FILE *f, const struct cli_group *grp, const struct cli_cmd *cmd);
void cli_help_group(FILE *f, const struct cli_group *grp);

/* Common options, spelled as FATE-Client 2.x spells them. */
#define CLI_O_JOB_ID(fl) \
	{ "job_id", "-j", "--job-id", NULL, (fl), NULL, "TEXT", "job id" }
#define CLI_O_ROLE(fl) { "role", "-r", "--role", NULL, (fl) | CLI_OPT_ROLE, NULL, "TEXT", \
		"role: guest, host, arbiter or local" }
#define CLI_O_PARTY_ID(fl) \
	{ "party_id", "-p", "--party-id", NULL, (fl), NULL, "TEXT", "party (site) id" }
#define CLI_O_STATUS(fl) { "status", "-s", "--status", NULL, (fl) | CLI_OPT_STATUS, NULL, "TEXT", \
		"status: success, failed, running, waiting, timeout, canceled, partial or deleted" }
#define CLI_O_TASK_NAME(fl) \
	{ "task_name", "-tn", "--task-name", NULL, (fl), NULL, "TEXT", "task name" }
#define CLI_O_LIMIT { "limit", "-l", "--limit", NULL, CLI_OPT_INT, "10", "INT", \
		"number of rows to return (default 10)" }
#define CLI_O_PAGE { "page", NULL, "--page", NULL, CLI_OPT_INT, NULL, "INT", \
		"page number, with --limit rows per page (fedflow addition)" }
#define CLI_O_CONF(fl) { "conf_path", "-c", "--conf-path", NULL, (fl) | CLI_OPT_LOCAL, NULL, "PATH", \
		"configuration file (JSON or YAML)" }
#define CLI_O_PATH(fl, help) { "path", "-o", "--path", "--output-path", (fl), NULL, "PATH", help }
#define CLI_O_NAME(fl) { "name", "-n", "--name", NULL, (fl), NULL, "TEXT", "table name" }
#define CLI_O_NAMESPACE(fl) \
	{ "namespace", "-ns", "--namespace", NULL, (fl), NULL, "TEXT", "table namespace" }
#define CLI_O_END { NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL }

#endif
