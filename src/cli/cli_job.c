// SPDX-License-Identifier: Apache-2.0
/*
 * cli_job.c - `fedflow job ...`: FATE's job commands plus `job wait`.
 *
 * `job wait` polls /v2/job/query, quickly at first (100 ms, doubling to
 * 1 s) so short jobs return promptly without hammering the server on long
 * ones. In standalone mode one site holds a row per role/party of the
 * job; the job has ended when every row has, and succeeded when every row
 * is `success`.
 */
#include "ff_setup.h"
#include "cli_download.h"
#include "cli_util.h"
#include "clock.h"
#include "jsonx.h"
#include "mem.h"

static const char *const cli_end_statuses[] = { "failed", "canceled", "timeout", "success", NULL };

/* Index in cli_end_statuses (lower = more telling), -1 if not an end status. */
static int cli_end_rank(const char *s)
{
	for (int i = 0; s && cli_end_statuses[i]; i++)
		if (!strcmp(s, cli_end_statuses[i]))
			return i;
	return -1;
}

struct cli_job_summary {
	const char *status;   /* borrowed from the answer or a literal */
	long long progress;   /* lowest progress of the rows, -1 if unknown */
	bool done;
	bool success;
};

static void cli_job_summarize(const json_t *rows, struct cli_job_summary *s)
{
	size_t n = json_is_array(rows) ? json_array_size(rows) : 0;
	size_t ended = 0, succeeded = 0;
	const char *worst_end = NULL, *ongoing = NULL;
	s->progress = -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *row = json_array_get(rows, i);
		const char *st = jsonx_str(row, "status");
		double p;
		if (jsonx_as_double(json_object_get(row, "progress"), &p) &&
		    (s->progress < 0 || (long long)p < s->progress))
			s->progress = (long long)p;
		if (!st)
			continue;
		int rank = cli_end_rank(st);
		if (rank >= 0) {
			ended++;
			if (!strcmp(st, "success"))
				succeeded++;
			else if (!worst_end || rank < cli_end_rank(worst_end))
				worst_end = st;
		} else if (!ongoing || !strcmp(st, "running")) {
			ongoing = st;
		}
	}
	s->done = n > 0 && ended == n;
	s->success = s->done && succeeded == n;
	if (s->done)
		s->status = s->success ? "success" : worst_end;
	else
		s->status = ongoing ? ongoing : (n ? "unknown" : "not visible yet");
}

/* Names of the running tasks, ", "-joined into out (may stay empty). */
static void cli_job_running_tasks(struct cli *c, const char *job_id, const char *role,
				   const char *party, struct ff_buf *out)
{
	struct ff_buf q = FF_BUF_INIT;
	json_t *answer = NULL;
	int ret = cli_query_add(&q, "job_id", job_id);
	if (!ret && role)
		ret = cli_query_add(&q, "role", role);
	if (!ret && party)
		ret = cli_query_add(&q, "party_id", party);
	if (!ret)
		ret = cli_query_add(&q, "status", "running");
	if (!ret)
		ret = cli_call(c, "GET", "job/task/query", q.buf, NULL, CLI_REQ_POLL, &answer, NULL,
			       NULL);
	json_t *rows = ret ? NULL : json_object_get(answer, "data");
	for (size_t i = 0; json_is_array(rows) && i < json_array_size(rows); i++) {
		const char *name = jsonx_str(json_array_get(rows, i), "task_name");
		if (!name)
			continue;
		/* one row per party in standalone mode: list each task once */
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++) {
			const char *prev = jsonx_str(json_array_get(rows, k), "task_name");
			seen = prev && !strcmp(prev, name);
		}
		if (!seen)
			ff_buf_addf(out, "%s%s", out->len ? ", " : "", name);
	}
	json_decref(answer);
	ff_buf_release(&q);
}

static int cli_job_query_once(struct cli *c, const char *job_id, const char *role,
			      const char *party, json_t **answer, struct ff_error *err)
{
	struct ff_buf q = FF_BUF_INIT;
	int ret = cli_query_add(&q, "job_id", job_id);
	if (!ret && role)
		ret = cli_query_add(&q, "role", role);
	if (!ret && party)
		ret = cli_query_add(&q, "party_id", party);
	if (ret)
		ret = ff_error_set(err, ret, "out of memory");
	else
		ret = cli_call(c, "GET", "job/query", q.buf, NULL, CLI_REQ_POLL, answer, NULL, err);
	ff_buf_release(&q);
	return ret;
}

/* Prints a progress line on stderr when it differs from the last one. */
static void cli_job_report(struct cli *c, const char *job_id, const char *role,
			   const char *party, const struct cli_job_summary *s, struct ff_buf *last)
{
	struct ff_buf line = FF_BUF_INIT;
	struct ff_buf tasks = FF_BUF_INIT;
	if (!strcmp(s->status, "running"))
		cli_job_running_tasks(c, job_id, role, party, &tasks);
	ff_buf_addf(&line, "job %s: %s", job_id, s->status);
	if (s->progress >= 0)
		ff_buf_addf(&line, ", progress %lld%%", s->progress);
	if (tasks.len)
		ff_buf_addf(&line, ", running tasks: %s", tasks.buf);
	if (line.len && (line.len != last->len || memcmp(line.buf, last->buf, line.len))) {
		fprintf(stderr, "%s\n", line.buf);
		fflush(stderr);
		ff_buf_reset(last);
		ff_buf_add(last, line.buf, line.len);
	}
	ff_buf_release(&tasks);
	ff_buf_release(&line);
}

/* The loop behind `job wait` and `job submit --wait`; returns the exit code. */
static int cli_job_wait_run(struct cli *c, const char *job_id, const char *role,
			    const char *party, long long timeout_s)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_buf last_line = FF_BUF_INIT;
	int64_t start = clock_mono_ms();
	int64_t deadline = timeout_s > 0 ? start + timeout_s * 1000 : 0;
	long delay = 100;
	int rc;
	for (;;) {
		json_t *answer = NULL;
		int ret = cli_job_query_once(c, job_id, role, party, &answer, &err);
		if (ret) {
			rc = cli_fail(c, ret, &err);
			break;
		}
		long long code = 0;
		if (cli_answer_code(answer, &code) && code != 0) {
			cli_print(answer);
			json_decref(answer);
			fprintf(stderr, "fedflow: cannot query job %s (code %lld)\n", job_id, code);
			rc = CLI_EXIT_FAIL;
			break;
		}
		struct cli_job_summary s;
		cli_job_summarize(json_object_get(answer, "data"), &s);
		cli_job_report(c, job_id, role, party, &s, &last_line);
		if (s.done) {
			cli_print(answer);
			json_decref(answer);
			rc = s.success ? CLI_EXIT_OK : CLI_EXIT_FAIL;
			break;
		}
		int64_t now = clock_mono_ms();
		if (deadline && now >= deadline) {
			cli_print(answer);
			fprintf(stderr, "fedflow: job %s is still %s after %lld s\n", job_id, s.status,
				timeout_s);
			json_decref(answer);
			rc = CLI_EXIT_USAGE;
			break;
		}
		json_decref(answer);
		long nap = delay;
		if (deadline && now + nap > deadline)
			nap = (long)(deadline - now);
		cli_sleep_ms(nap);
		delay = delay * 2 > 1000 ? 1000 : delay * 2;
	}
	ff_buf_release(&last_line);
	return rc;
}

static int cli_job_submit(struct cli *c, const struct cli_args *a)
{
	struct ff_error err = FF_ERROR_INIT;
	json_t *conf = NULL, *body = NULL, *answer = NULL;
	long status = 0;
	long long timeout = 0;
	int ret = cli_load_conf(cli_arg(a, "conf_path"), &conf, &err);
	if (ret)
		return cli_usage_error(a->grp, a->cmd, "%s", ff_error_msg(&err, ret));
	body = json_pack("{s:o}", "dag_schema", conf);
	if (!body)
		return cli_usage_error(a->grp, a->cmd, "out of memory");
	ret = cli_call(c, "POST", "job/submit", NULL, body, 0, &answer, &status, &err);
	json_decref(body);
	if (ret || !cli_arg_flag(a, "wait"))
		return cli_finish(c, ret, answer, status, &err);
	const char *job_id = jsonx_str(answer, "job_id");
	if (cli_answer_exit(answer, status) != CLI_EXIT_OK || !job_id) {
		if (!job_id)
			fprintf(stderr, "fedflow: the submit answer carries no job_id\n");
		return cli_finish(c, ret, answer, status, &err);
	}
	fprintf(stderr, "job %s submitted\n", job_id);
	cli_arg_int(a, "timeout", &timeout);
	char *id = ff_strdup(job_id);
	json_decref(answer);
	if (!id)
		return cli_usage_error(a->grp, a->cmd, "out of memory");
	int rc = cli_job_wait_run(c, id, NULL, NULL, timeout);
	ff_free(id);
	return rc;
}

static int cli_job_wait(struct cli *c, const struct cli_args *a)
{
	long long timeout = 0;
	cli_arg_int(a, "timeout", &timeout);
	return cli_job_wait_run(c, cli_arg(a, "job_id"), cli_arg(a, "role"),
				cli_arg(a, "party_id"), timeout);
}

static int cli_job_download_log(struct cli *c, const struct cli_args *a)
{
	const char *job_id = cli_arg(a, "job_id");
	char *name = ff_asprintf("%s_logs", job_id);
	char *dir = name ? cli_path_join(cli_arg(a, "path"), name) : NULL;
	json_t *body = json_pack("{s:s}", "job_id", job_id);
	int rc = dir && body ? cli_download(c, "POST", "job/log/download", NULL, body, dir)
			     : cli_usage_error(a->grp, a->cmd, "out of memory or invalid UTF-8");
	json_decref(body);
	ff_free(dir);
	ff_free(name);
	return rc;
}

static const struct cli_opt cli_job_submit_opts[] = {
	CLI_O_CONF(CLI_OPT_REQ),
	{ "wait", NULL, "--wait", NULL, CLI_OPT_FLAG | CLI_OPT_LOCAL, NULL, NULL,
	  "wait for the job to end, as `job wait` (fedflow addition)" },
	{ "timeout", NULL, "--timeout", NULL, CLI_OPT_INT | CLI_OPT_LOCAL, NULL, "SECONDS",
	  "with --wait: give up after this many seconds (exit 2)" },
	CLI_O_END,
};

static const struct cli_opt cli_job_query_opts[] = {
	CLI_O_JOB_ID(0), CLI_O_ROLE(0), CLI_O_PARTY_ID(0), CLI_O_STATUS(0), CLI_O_END,
};

static const struct cli_opt cli_job_id_opts[] = { CLI_O_JOB_ID(CLI_OPT_REQ), CLI_O_END };

/* SDK order: limit, page, job_id, description, party_id, role, status */
static const struct cli_opt cli_job_list_opts[] = {
	CLI_O_LIMIT, CLI_O_PAGE, CLI_O_JOB_ID(0),
	{ "description", NULL, "--description", NULL, 0, NULL, "TEXT",
	  "match jobs whose notes contain this text (fedflow addition)" },
	CLI_O_PARTY_ID(0), CLI_O_ROLE(0), CLI_O_STATUS(0), CLI_O_END,
};

static const struct cli_opt cli_job_notes_opts[] = {
	CLI_O_JOB_ID(CLI_OPT_REQ), CLI_O_ROLE(CLI_OPT_REQ), CLI_O_PARTY_ID(CLI_OPT_REQ),
	{ "notes", NULL, "--notes", NULL, CLI_OPT_REQ, NULL, "TEXT", "notes for the job" },
	CLI_O_END,
};

static const struct cli_opt cli_job_log_opts[] = {
	CLI_O_JOB_ID(CLI_OPT_REQ),
	CLI_O_PATH(CLI_OPT_REQ | CLI_OPT_LOCAL, "client directory; logs go to DIR/<job_id>_logs"),
	CLI_O_END,
};

static const struct cli_opt cli_job_dep_opts[] = {
	CLI_O_JOB_ID(CLI_OPT_REQ), CLI_O_ROLE(CLI_OPT_REQ), CLI_O_PARTY_ID(CLI_OPT_REQ), CLI_O_END,
};

static const struct cli_opt cli_job_wait_opts[] = {
	CLI_O_JOB_ID(CLI_OPT_REQ), CLI_O_ROLE(CLI_OPT_LOCAL), CLI_O_PARTY_ID(CLI_OPT_LOCAL),
	{ "timeout", NULL, "--timeout", NULL, CLI_OPT_INT | CLI_OPT_LOCAL, NULL, "SECONDS",
	  "give up after this many seconds (exit 2); default: wait forever" },
	CLI_O_END,
};

static const struct cli_cmd cli_job_cmds[] = {
	{ "submit", "submit a job from a DAG file (YAML or JSON)", "POST", "job/submit",
	  cli_job_submit_opts, cli_job_submit, 0, "fedflow job submit -c examples/lr/train_lr.yaml" },
	{ "query", "query jobs by filters", "GET", "job/query", cli_job_query_opts, NULL, 0,
	  "fedflow job query -j 202308211557455662860 -r guest -p 9999" },
	{ "stop", "stop a job", "POST", "job/stop", cli_job_id_opts, NULL, 0,
	  "fedflow job stop -j 202308211557455662860" },
	{ "rerun", "rerun a failed job", "POST", "job/rerun", cli_job_id_opts, NULL, 0,
	  "fedflow job rerun -j 202308211557455662860" },
	{ "list", "list jobs", "GET", "job/list/query", cli_job_list_opts, NULL, 0,
	  "fedflow job list -r guest -p 9999 -l 20" },
	{ "add-notes", "set the notes (description) of a job", "POST", "job/notes/add",
	  cli_job_notes_opts, NULL, 0,
	  "fedflow job add-notes -j 202308211557455662860 -r guest -p 9999 --notes \"test\"" },
	{ "download-log", "download the logs of a job", "POST", "job/log/download",
	  cli_job_log_opts, cli_job_download_log, 0,
	  "fedflow job download-log -j 202308211557455662860 -o ./logs" },
	{ "clean-queue", "cancel every waiting job", "POST", "job/queue/clean", NULL, NULL,
	  CLI_CMD_NOBODY, "fedflow job clean-queue" },
	{ "clean", "clean the outputs, metrics and models of a job", "POST", "job/clean",
	  cli_job_id_opts, NULL, 0, "fedflow job clean -j 202308211557455662860" },
	{ "dependency", "show the task dependencies of a job", "GET", "job/dag/dependency",
	  cli_job_dep_opts, NULL, 0,
	  "fedflow job dependency -j 202308211557455662860 -r guest -p 9999" },
	{ "wait", "wait until a job ends; exit 0 only on success (fedflow addition)", "GET",
	  "job/query", cli_job_wait_opts, cli_job_wait, 0,
	  "fedflow job wait -j 202308211557455662860 --timeout 600" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_job = {
	"job", "Job operations: submit, query, stop, rerun, list, logs, wait.", cli_job_cmds,
};
