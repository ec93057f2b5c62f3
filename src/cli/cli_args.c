// SPDX-License-Identifier: Apache-2.0
/*
 * cli_args.c - option parsing and help text for the fedflow CLI.
 *
 * The rules follow click, which FATE's `flow` is built on, so scripts
 * written for `flow` parse the same way: options only (no positional
 * arguments), the value is the next word even when it starts with '-',
 * "--long=value" is accepted, the last occurrence wins, choices are
 * checked, empty values are refused (FATE's SDK raises on them), and
 * every error is a usage error.
 */
#include "ff_setup.h"
#include <errno.h>
#include <limits.h>
#include <sys/types.h>
#include "cli_args.h"
#include "mem.h"

static const char *const cli_roles[] = { "guest", "host", "arbiter", "local", NULL };
static const char *const cli_statuses[] = {
	"success", "failed", "running", "waiting", "timeout", "canceled",
	"partial", "deleted", NULL,
};

static size_t cli_opt_count(const struct cli_opt *o)
{
	size_t n = 0;
	while (o && o[n].lng)
		n++;
	return n;
}

/* "-j/--job-id" for messages. */
static void cli_opt_name(const struct cli_opt *o, char *out, size_t n)
{
	if (o->shrt)
		snprintf(out, n, "%s/%s", o->shrt, o->lng);
	else
		snprintf(out, n, "%s", o->lng);
}

static bool cli_in(const char *v, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (!strcmp(v, set[i]))
			return true;
	return false;
}

/*
 * Matches word against o. Returns the length of the option name matched
 * (so "--job-id=5" can be split), 0 when it does not match.
 */
static size_t cli_opt_match(const struct cli_opt *o, const char *word)
{
	const char *names[3] = { o->shrt, o->lng, o->alias };
	for (size_t i = 0; i < 3; i++) {
		if (!names[i])
			continue;
		size_t n = strlen(names[i]);
		if (!strncmp(word, names[i], n) && (word[n] == '\0' || (word[n] == '=' && i > 0)))
			return n;
	}
	return 0;
}

static int cli_check_value(struct cli_args *a, size_t i, const char *v,
			   struct ff_error *err)
{
	const struct cli_opt *o = &a->cmd->opts[i];
	char name[64];
	cli_opt_name(o, name, sizeof(name));
	if (!*v)
		return ff_error_set(err, FF_EINVAL, "option %s must not be empty", name);
	if (o->flags & CLI_OPT_INT) {
		char *end = NULL;
		errno = 0;
		long long x = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			return ff_error_set(err, FF_EINVAL, "option %s: '%s' is not a valid integer",
					    name, v);
		a->ivals[i] = x;
	}
	if ((o->flags & CLI_OPT_ROLE) && !cli_in(v, cli_roles))
		return ff_error_set(err, FF_EINVAL,
				    "option %s: '%s' is not one of guest, host, arbiter, local",
				    name, v);
	if ((o->flags & CLI_OPT_STATUS) && !cli_in(v, cli_statuses))
		return ff_error_set(err, FF_EINVAL,
				    "option %s: '%s' is not one of success, failed, running, "
				    "waiting, timeout, canceled, partial, deleted", name, v);
	return FF_OK;
}

int cli_args_server(int argc, char **argv, int *i, const char **server,
		    struct ff_error *err)
{
	const char *w = argv[*i];
	if (strcmp(w, "--server") && strncmp(w, "--server=", 9))
		return 0;
	if (w[8] == '=')
		*server = w + 9;
	else if (*i + 1 < argc)
		*server = argv[++*i];
	else
		return ff_error_set(err, FF_EINVAL, "option --server needs a value");
	if (!**server)
		return ff_error_set(err, FF_EINVAL, "option --server must not be empty");
	return 1;
}

/* Handles argv[*i]; advances *i past the value. */
static int cli_parse_one(struct cli_args *a, int argc, char **argv, int *i,
			 const char **server, struct ff_error *err)
{
	const char *w = argv[*i];
	if (!strcmp(w, "-h") || !strcmp(w, "--help"))
		return CLI_ARGS_HELP;
	int g = cli_args_server(argc, argv, i, server, err);
	if (g)
		return g < 0 ? g : FF_OK;
	for (size_t k = 0; k < a->n; k++) {
		const struct cli_opt *o = &a->cmd->opts[k];
		size_t m = cli_opt_match(o, w);
		if (!m)
			continue;
		char name[64];
		cli_opt_name(o, name, sizeof(name));
		const char *v;
		if (o->flags & CLI_OPT_FLAG) {
			if (w[m] == '=')
				return ff_error_set(err, FF_EINVAL, "option %s takes no value", name);
			v = "1";
		} else if (w[m] == '=') {
			v = w + m + 1;
		} else if (*i + 1 < argc) {
			v = argv[++*i];
		} else {
			return ff_error_set(err, FF_EINVAL, "option %s needs a value", name);
		}
		int ret = cli_check_value(a, k, v, err);
		if (!ret)
			a->vals[k] = v;
		return ret;
	}
	if (w[0] == '-')
		return ff_error_set(err, FF_EINVAL, "no such option '%s'", w);
	return ff_error_set(err, FF_EINVAL, "unexpected argument '%s'", w);
}

int cli_args_parse(struct cli_args *a, const struct cli_group *grp,
		   const struct cli_cmd *cmd, int argc, char **argv,
		   const char **server, struct ff_error *err)
{
	a->grp = grp;
	a->cmd = cmd;
	a->n = cli_opt_count(cmd->opts);
	FF_ALLOC_ARRAY(a->vals, a->n);
	FF_ALLOC_ARRAY(a->ivals, a->n);
	if (!a->vals || !a->ivals)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	for (int i = 0; i < argc; i++) {
		int ret = cli_parse_one(a, argc, argv, &i, server, err);
		if (ret)
			return ret;
	}
	for (size_t k = 0; k < a->n; k++) {
		const struct cli_opt *o = &cmd->opts[k];
		if (a->vals[k])
			continue;
		if (o->flags & CLI_OPT_REQ) {
			char name[64];
			cli_opt_name(o, name, sizeof(name));
			return ff_error_set(err, FF_EINVAL, "missing required option %s", name);
		}
		if (o->def) {
			int ret = cli_check_value(a, k, o->def, err);
			if (ret)
				return ret;
			a->vals[k] = o->def;
		}
	}
	return FF_OK;
}

void cli_args_release(struct cli_args *a)
{
	FF_FREE_AND_NULL(a->vals);
	FF_FREE_AND_NULL(a->ivals);
	a->n = 0;
}

static ssize_t cli_arg_index(const struct cli_args *a, const char *key)
{
	for (size_t k = 0; k < a->n; k++)
		if (!strcmp(a->cmd->opts[k].key, key))
			return (ssize_t)k;
	return -1;
}

const char *cli_arg(const struct cli_args *a, const char *key)
{
	ssize_t k = cli_arg_index(a, key);
	return k < 0 ? NULL : a->vals[k];
}

bool cli_arg_int(const struct cli_args *a, const char *key, long long *out)
{
	ssize_t k = cli_arg_index(a, key);
	if (k < 0 || !a->vals[k] || !(a->cmd->opts[k].flags & CLI_OPT_INT))
		return false;
	*out = a->ivals[k];
	return true;
}

bool cli_arg_flag(const struct cli_args *a, const char *key)
{
	return cli_arg(a, key) != NULL;
}

const struct cli_cmd *cli_group_find(const struct cli_group *grp, const char *name)
{
	for (const struct cli_cmd *c = grp->cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* "-j, --job-id TEXT" */
static void cli_opt_spelling(const struct cli_opt *o, char *out, size_t n)
{
	const char *meta = (o->flags & CLI_OPT_FLAG) ? "" : (o->meta ? o->meta : "TEXT");
	snprintf(out, n, "%s%s%s%s%s%s%s", o->shrt ? o->shrt : "", o->shrt ? ", " : "",
		 o->lng, o->alias ? ", " : "", o->alias ? o->alias : "", *meta ? " " : "", meta);
}

void cli_help_cmd(FILE *f, const struct cli_group *grp, const struct cli_cmd *cmd)
{
	fprintf(f, "Usage: fedflow %s %s [OPTIONS]\n\n  %s\n", grp->name, cmd->name, cmd->help);
	if (cmd->method && cmd->path)
		fprintf(f, "  Request: %s /v2/%s\n", cmd->method, cmd->path);
	fprintf(f, "\nOptions:\n");
	for (const struct cli_opt *o = cmd->opts; o && o->lng; o++) {
		char sp[96];
		cli_opt_spelling(o, sp, sizeof(sp));
		fprintf(f, "  %-34s %s%s", sp, o->help, (o->flags & CLI_OPT_REQ) ? " [required]" : "");
		if (o->def && !(o->flags & CLI_OPT_FLAG))
			fprintf(f, " [default: %s]", o->def);
		fputc('\n', f);
	}
	fprintf(f, "  %-34s %s\n", "--server URL", "fedflowd address (also $FEDFLOW_SERVER)");
	fprintf(f, "  %-34s %s\n", "-h, --help", "show this message and exit");
	if (cmd->example)
		fprintf(f, "\nExample:\n  %s\n", cmd->example);
}

void cli_help_group(FILE *f, const struct cli_group *grp)
{
	fprintf(f, "Usage: fedflow %s COMMAND [OPTIONS]\n\n  %s\n\nCommands:\n", grp->name,
		grp->help);
	for (const struct cli_cmd *c = grp->cmds; c->name; c++) {
		if (c->flags & CLI_CMD_HIDDEN)
			continue;
		fprintf(f, "  %-20s %s\n", c->name, c->help);
		size_t col = 0;
		for (const struct cli_opt *o = c->opts; o && o->lng; o++) {
			char sp[96];
			const char *meta = (o->flags & CLI_OPT_FLAG) ? "" : (o->meta ? o->meta : "TEXT");
			snprintf(sp, sizeof(sp), "%s%s%s%s%s", (o->flags & CLI_OPT_REQ) ? "" : "[",
				 o->shrt ? o->shrt : o->lng, *meta ? " " : "", meta,
				 (o->flags & CLI_OPT_REQ) ? "" : "]");
			if (col == 0) {
				fprintf(f, "  %-20s", "");
				col = 23;
			} else if (col + strlen(sp) + 1 > 96) {
				fprintf(f, "\n  %-20s", "");
				col = 23;
			}
			fprintf(f, " %s", sp);
			col += strlen(sp) + 1;
		}
		if (col)
			fputc('\n', f);
	}
	fprintf(f, "\nRun 'fedflow %s COMMAND --help' for the options of a command.\n", grp->name);
}
