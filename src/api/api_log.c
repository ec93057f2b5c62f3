// SPDX-License-Identifier: Apache-2.0
/*
 * api_log.c - the /v2/log page (spec §1.3.6): line counts and line ranges
 * of a job's scheduler logs and its tasks' logs.
 */
#include "ff_setup.h"
#include <limits.h>
#include "api.h"
#include "fs.h"
#include "mem.h"
#include "site.h"

/* log_type -> file under LOG_DIR/<job>/... ; FF_EPARAM when unknown. */
static int api_log_path(struct http_req *r, char *out, size_t n)
{
	struct site *s = api_site(r);
	const char *type = api_arg(r, "log_type"), *job = api_arg(r, "job_id");
	const char *role = api_arg(r, "role"), *party = api_arg(r, "party_id");
	const char *task = api_arg(r, "task_name");
	if (!type || !job || !fs_name_ok(job, 64))
		return FF_EPARAM;
	if (!strcmp(type, "schedule_info") || !strcmp(type, "schedule_error")) {
		snprintf(out, n, "%s/%s/fate_flow_schedule%s.log", s->cfg.log_dir, job,
			 strcmp(type, "schedule_info") ? "_error" : "");
		return FF_OK;
	}
	static const char *const types[][2] = {
		{ "task_error", "ERROR" }, { "task_warning", "WARNING" },
		{ "task_info", "INFO" }, { "task_debug", "DEBUG" }, { "task_stdout", "stdout" },
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(types); i++) {
		if (strcmp(type, types[i][0]))
			continue;
		if (!role || !party || !fs_name_ok(role, 64) || !fs_name_ok(party, 64) ||
		    (task && !fs_name_ok(task, 64)))
			return FF_EPARAM;
		if (!strcmp(types[i][1], "stdout") && task)
			snprintf(out, n, "%s/%s/%s/%s/%s/stdout/task_execute", s->cfg.log_dir, job, role,
				 party, task);
		else if (task)
			snprintf(out, n, "%s/%s/%s/%s/%s/root/%s", s->cfg.log_dir, job, role, party,
				 task, types[i][1]);
		else
			snprintf(out, n, "%s/%s/%s/%s/%s", s->cfg.log_dir, job, role, party, types[i][1]);
		return FF_OK;
	}
	return FF_EPARAM;
}

static void api_log_count(struct http_req *r)
{
	char path[PATH_MAX];
	if (api_log_path(r, path, sizeof(path))) {
		api_fail_code(r, 5001, "give log_type (schedule_info, schedule_error, task_info, "
			      "task_error, task_warning, task_debug, task_stdout), job_id, and for "
			      "task logs role and party_id");
		return;
	}
	FILE *f = fopen(path, "r");
	long long lines = 0;
	if (f) {
		char buf[65536];
		size_t k;
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			for (size_t i = 0; i < k; i++)
				lines += buf[i] == '\n';
		fclose(f);
	}
	struct jw w;
	api_ok_begin(r, &w);
	jw_int(&w, lines);
	api_ok_end(r, &w, NULL);
}

/* FATE hides IPv4 addresses in served logs. */
static void api_log_mask_ip(char *line)
{
	for (char *p = line; *p; p++) {
		int a, b, c, d, len = 0;
		if ((p == line || !(p[-1] >= '0' && p[-1] <= '9')) &&
		    sscanf(p, "%3d.%3d.%3d.%3d%n", &a, &b, &c, &d, &len) == 4 && len >= 7) {
			const char mask[] = "xxx.xxx.xxx.xxx";
			size_t ml = sizeof(mask) - 1;
			if ((size_t)len >= ml) {
				memcpy(p, mask, ml);
				memmove(p + ml, p + len, strlen(p + len) + 1);
			}
			p += ml - 1;
		}
	}
}

static void api_log_query(struct http_req *r)
{
	char path[PATH_MAX];
	long long begin = 1, end = 0;
	if (api_log_path(r, path, sizeof(path)) || api_arg_int(r, "begin", 1, &begin) ||
	    api_arg_int(r, "end", 0, &end)) {
		api_fail_code(r, 5001, "give log_type, job_id, role and party_id (begin and end "
			      "are line numbers)");
		return;
	}
	if (begin < 1)
		begin = 1;
	struct jw w;
	api_ok_begin(r, &w);
	jw_arr(&w);
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long long no = 0;
	ssize_t len;
	while (f && (len = getline(&line, &cap, f)) >= 0) {
		no++;
		if (no < begin)
			continue;
		if (end > 0 && no > end)
			break;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		api_log_mask_ip(line);
		jw_obj(&w);
		jw_kint(&w, "line_num", no);
		jw_kstr(&w, "content", line);
		jw_end(&w);
		if (w.err)
			break;
	}
	free(line); /* allocated by getline */
	if (f)
		fclose(f);
	jw_end(&w);
	api_ok_end(r, &w, NULL);
}

static const struct http_route api_log_table[] = {
	{ "GET", "/v2/log/count", api_log_count, HTTP_RT_READ, NULL },
	{ "GET", "/v2/log/query", api_log_query, HTTP_RT_READ, NULL },
};

const struct http_route *api_log_routes(size_t *n)
{
	*n = FF_ARRAY_SIZE(api_log_table);
	return api_log_table;
}
