// SPDX-License-Identifier: Apache-2.0
/*
 * cli_test.c - `fedflow test toy`: the connectivity test of FATE's
 * `flow test toy`. Submits a two-party toy_example job, then once per
 * second asks the site's party id and the job's status, printing
 * "toy test job <id> is <status>" until it ends or the timeout passes
 * (then the job is stopped). Exit 0 on success, 1 when the job failed or
 * was canceled or the submit was refused, 2 on timeout or transport error.
 */
#include "ff_setup.h"
#include "cli_util.h"
#include "jsonx.h"
#include "mem.h"

static json_t *cli_toy_dag(const char *guest, const char *host)
{
	return json_pack("{s:{s:{s:[{s:[s],s:s},{s:[s],s:s}],s:s,s:{s:{s:s,s:{s:i,s:i}}}},"
			 "s:s}}",
			 "dag_schema", "dag", "parties", "party_id", guest, "role", "guest",
			 "party_id", host, "role", "host", "stage", "default", "tasks",
			 "toy_example_0", "component_ref", "toy_example", "parameters",
			 "data_num", 1024, "partition", 4, "schema_version", "2.0.0.alpha");
}

/* The site's own party id when the server tells it, else fallback. */
static void cli_toy_party(struct cli *c, const char *fallback, char *out, size_t n)
{
	json_t *answer = NULL;
	long long code;
	snprintf(out, n, "%s", fallback);
	if (cli_call(c, "GET", "site/info/query", NULL, NULL, CLI_REQ_POLL, &answer, NULL, NULL))
		return;
	json_t *data = json_object_get(answer, "data");
	if (cli_answer_code(answer, &code) && code == 0 && json_is_object(data)) {
		char tmp[128];
		if (!jsonx_scalar_text(json_object_get(data, "party_id"), tmp, sizeof(tmp)))
			snprintf(out, n, "%s", tmp);
	}
	json_decref(answer);
}

/* One status poll: *status set (owned) when the job was found. */
static int cli_toy_poll(struct cli *c, const char *job_id, const char *party, char **status,
			struct ff_error *err)
{
	struct ff_buf q = FF_BUF_INIT;
	json_t *answer = NULL;
	long long code;
	*status = NULL;
	int ret = cli_query_add(&q, "job_id", job_id);
	if (!ret)
		ret = cli_query_add(&q, "party_id", party);
	if (!ret)
		ret = cli_call(c, "GET", "job/query", q.buf, NULL, CLI_REQ_POLL, &answer, NULL, err);
	ff_buf_release(&q);
	if (ret)
		return ret;
	json_t *data = json_object_get(answer, "data");
	const char *st = jsonx_str(json_array_get(data, 0), "status");
	if (cli_answer_code(answer, &code) && code == 0 && st)
		*status = ff_strdup(st);
	json_decref(answer);
	return FF_OK;
}

static int cli_toy_stop(struct cli *c, const char *job_id)
{
	struct ff_error err = FF_ERROR_INIT;
	json_t *body = json_pack("{s:s}", "job_id", job_id), *answer = NULL;
	long status = 0;
	int ret = body ? cli_call(c, "POST", "job/stop", NULL, body, 0, &answer, &status, &err)
		       : FF_ENOMEM;
	json_decref(body);
	if (!ret)
		cli_print(answer);
	json_decref(answer);
	return ret;
}

static int cli_test_toy(struct cli *c, const struct cli_args *a)
{
	struct ff_error err = FF_ERROR_INIT;
	const char *guest = cli_arg(a, "guest_party_id");
	long long timeout = 300;
	long status = 0;
	json_t *answer = NULL, *body = cli_toy_dag(guest, cli_arg(a, "host_party_id"));
	cli_arg_int(a, "timeout", &timeout);
	if (!body)
		return cli_usage_error(a->grp, a->cmd, "party ids must be valid UTF-8");
	int ret = cli_call(c, "POST", "job/submit", NULL, body, 0, &answer, &status, &err);
	json_decref(body);
	const char *id = ret ? NULL : jsonx_str(answer, "job_id");
	if (ret || cli_answer_exit(answer, status) != CLI_EXIT_OK || !id) {
		if (!ret && !id)
			fprintf(stderr, "fedflow: the submit answer carries no job_id\n");
		/* code 0 without a job id is still a failed test */
		int r = cli_finish(c, ret, answer, status, &err);
		return r == CLI_EXIT_OK ? CLI_EXIT_FAIL : r;
	}
	char *job_id = ff_strdup(id);
	json_decref(answer);
	if (!job_id)
		return cli_usage_error(a->grp, a->cmd, "out of memory");
	int rc = CLI_EXIT_USAGE;
	bool ended = false;
	for (long long t = 0; t < timeout && !ended; t++) {
		char party[128], *st = NULL;
		cli_toy_party(c, guest, party, sizeof(party));
		ret = cli_toy_poll(c, job_id, party, &st, &err);
		if (ret) {
			rc = cli_fail(c, ret, &err);
			ended = true;
			break;
		}
		if (st) {
			printf("toy test job %s is %s\n", job_id, st);
			fflush(stdout);
			if (!strcmp(st, "success") || !strcmp(st, "failed") || !strcmp(st, "canceled")) {
				rc = strcmp(st, "success") ? CLI_EXIT_FAIL : CLI_EXIT_OK;
				ended = true;
			}
		}
		ff_free(st);
		if (!ended)
			cli_sleep_ms(1000);
	}
	if (!ended) {
		printf("check job status timeout\n");
		fflush(stdout);
		cli_toy_stop(c, job_id);
		rc = CLI_EXIT_USAGE;
	}
	ff_free(job_id);
	return rc;
}

static const struct cli_opt cli_test_toy_opts[] = {
	{ "guest_party_id", "-gid", "--guest-party-id", NULL, CLI_OPT_REQ, NULL, "TEXT",
	  "party id of the guest" },
	{ "host_party_id", "-hid", "--host-party-id", NULL, CLI_OPT_REQ, NULL, "TEXT",
	  "party id of the host" },
	{ "timeout", "-t", "--timeout", NULL, CLI_OPT_INT, "300", "SECONDS",
	  "seconds to wait for the job" },
	{ "task_cores", NULL, "--task-cores", NULL, CLI_OPT_INT | CLI_OPT_LOCAL, "2", "INT",
	  "accepted for compatibility; FATE's client does not send it either" },
	CLI_O_END,
};

static const struct cli_cmd cli_test_cmds[] = {
	{ "toy", "run the toy_example job between a guest and a host", "POST", "job/submit",
	  cli_test_toy_opts, cli_test_toy, 0, "fedflow test toy -gid 9999 -hid 10000" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
};

const struct cli_group cli_group_test = {
	"test", "Connectivity tests: toy.", cli_test_cmds,
};
