// SPDX-License-Identifier: Apache-2.0
/*
 * api_log.c - the /v2/log page (spec §1.3.6): line counts and line ranges
 * of a job's scheduler logs and its tasks' logs.
 *
 * Each party task writes one log file (its stdout and stderr, which is
 * where libfedflow writes its records). FATE's per-level views are
 * filters over it: task_error shows ERROR records, task_warning WARNING
 * and above, task_info INFO and above, task_debug everything;
 * task_stdout is the file as written. Lines that are not fedflow log
 * records (a Python provider's prints) count as INFO. Without task_name
 * the party's tasks are shown one after the other.
 */
#include "ff_setup.h"
#include <dirent.h>
#include <limits.h>
#include "api.h"
#include "fs.h"
#include "log.h"
#include "mem.h"
#include "site.h"

#define LOG_MAX_FILES 512

struct log_src {
	char *files[LOG_MAX_FILES];
	size_t n;
	int min_level;      /* -1: no filter */
};

static void log_src_release(struct log_src *src)
{
	for (size_t i = 0; i < src->n; i++)
		ff_free(src->files[i]);
}

static int log_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files a provider wrote into its own log folder dir, if any, by name. */
static void log_task_files(const char *dir, struct log_src *src)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = src->n;
	while (d && (de = readdir(d)) && src->n < LOG_MAX_FILES) {
		char *f = de->d_name[0] == '.' ? NULL : ff_asprintf("%s/%s", dir, de->d_name);
		if (f && !fs_is_dir(f))
			src->files[src->n++] = f;
		else
			ff_free(f);
	}
	if (d)
		closedir(d);
	qsort(src->files + first, src->n - first, sizeof(src->files[0]), log_cmp);
}

static int log_party_entry(void *arg, const char *path, const char *rest)
{
	struct log_src *src = arg;
	(void)rest;
	if (src->n >= LOG_MAX_FILES)
		return 1;
	if (fs_is_dir(path))
		log_task_files(path, src);
	else if ((src->files[src->n] = ff_strdup(path)))
		src->n++;
	return 0;
}

/*
 * Every task log of (job, role, party), sorted by task name: the flat logs
 * folder holds <job>_<role>_<party>_<task>.log per task (the process's
 * output), and <job>_<role>_<party>_<task>/ with the files of providers
 * that write their own (exec_task_log_base).
 */
static void log_party_files(const char *dir, const char *prefix, struct log_src *src)
{
	fs_each_prefixed(dir, prefix, log_party_entry, src);
	/* "<task>.log" sorts before "<task>/...": each task's files stay together */
	qsort(src->files, src->n, sizeof(src->files[0]), log_cmp);
}

static int log_resolve(struct http_req *r, struct log_src *src)
{
	struct site *s = api_site(r);
	const char *type = api_arg(r, "log_type"), *job = api_arg(r, "job_id");
	const char *role = api_arg(r, "role"), *party = api_arg(r, "party_id");
	const char *task = api_arg(r, "task_name");
	memset(src, 0, sizeof(*src));
	src->min_level = -1;
	if (!type || !job || !fs_name_ok(job, 64) || strchr(job, '_'))
		return FF_EPARAM;
	if (!strcmp(type, "schedule_info") || !strcmp(type, "schedule_error")) {
		src->files[src->n++] = site_joblog_path(s, job, strcmp(type, "schedule_info"));
		return FF_OK;
	}
	static const struct { const char *type; int level; } types[] = {
		{ "task_error", FF_LOG_ERROR }, { "task_warning", FF_LOG_WARN },
		{ "task_info", FF_LOG_INFO }, { "task_debug", 0 }, { "task_stdout", -1 },
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(types); i++) {
		if (strcmp(type, types[i].type))
			continue;
		/* no '_' in role and party: they are fields of flat file names */
		if (!role || !party || !fs_name_ok(role, 64) || !fs_name_ok(party, 64) ||
		    strchr(role, '_') || strchr(party, '_') || (task && !fs_name_ok(task, 64)))
			return FF_EPARAM;
		src->min_level = types[i].level;
		char prefix[PATH_MAX];
		snprintf(prefix, sizeof(prefix), "%s_%s_%s_", job, role, party);
		if (task) {
			src->files[src->n++] = ff_asprintf("%s/%s%s.log", s->cfg.log_dir, prefix, task);
			char sub[PATH_MAX];
			snprintf(sub, sizeof(sub), "%s/%s%s", s->cfg.log_dir, prefix, task);
			log_task_files(sub, src);
		} else {
			log_party_files(s->cfg.log_dir, prefix, src);
		}
		return FF_OK;
	}
	return FF_EPARAM;
}

/* Level of a fedflow record ("<time> LEVEL ..."); INFO for other lines. */
static int log_line_level(const char *line)
{
	const char *sp = strchr(line, ' ');
	if (!sp || sp - line != 24)
		return FF_LOG_INFO;
	static const struct { const char *name; int level; } lv[] = {
		{ "DEBUG ", FF_LOG_DEBUG }, { "INFO ", FF_LOG_INFO },
		{ "WARNING ", FF_LOG_WARN }, { "ERROR ", FF_LOG_ERROR },
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(lv); i++)
		if (!strncmp(sp + 1, lv[i].name, strlen(lv[i].name)))
			return lv[i].level;
	return FF_LOG_INFO;
}

/* FATE hides IPv4 addresses in served logs. */
static void log_mask_ip(char *line)
{
	for (char *p = line; *p; p++) {
		int a, b, c, d, len = 0;
		if ((p == line || !(p[-1] >= '0' && p[-1] <= '9')) &&
		    sscanf(p, "%3d.%3d.%3d.%3d%n", &a, &b, &c, &d, &len) == 4 && len >= 7) {
			static const char mask[] = "xxx.xxx.xxx.xxx";
			size_t ml = sizeof(mask) - 1;
			if ((size_t)len >= ml) {
				memcpy(p, mask, ml);
				memmove(p + ml, p + len, strlen(p + len) + 1);
			}
			p += ml - 1;
		}
	}
}

typedef int (*log_line_cb)(void *arg, long long no, char *line);

/* Visits the selected lines of every source file, numbered from 1. */
static int log_visit(const struct log_src *src, log_line_cb cb, void *arg)
{
	long long no = 0;
	char *line = NULL;
	size_t cap = 0;
	int ret = FF_OK;
	for (size_t i = 0; i < src->n && !ret; i++) {
		FILE *f = src->files[i] ? fopen(src->files[i], "r") : NULL;
		ssize_t len;
		while (f && !ret && (len = getline(&line, &cap, f)) >= 0) {
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = '\0';
			if (src->min_level >= 0 && log_line_level(line) < src->min_level)
				continue;
			ret = cb(arg, ++no, line);
		}
		if (f)
			fclose(f);
	}
	free(line); /* from getline */
	return ret > 0 ? FF_OK : ret;
}

static int log_count_cb(void *arg, long long no, char *line)
{
	*(long long *)arg = no;
	return FF_OK;
}

static void api_log_usage(struct http_req *r)
{
	api_fail_code(r, 5001, "give log_type (schedule_info, schedule_error, task_info, "
		      "task_error, task_warning, task_debug, task_stdout), job_id, and for "
		      "task logs role and party_id (task_name optional)");
}

static void api_log_count(struct http_req *r)
{
	struct log_src src;
	long long n = 0;
	if (log_resolve(r, &src)) {
		log_src_release(&src);
		api_log_usage(r);
		return;
	}
	log_visit(&src, log_count_cb, &n);
	log_src_release(&src);
	struct jw w;
	api_ok_begin(r, &w);
	jw_int(&w, n);
	api_ok_end(r, &w, NULL);
}

struct log_query {
	struct jw *w;
	long long begin, end;
};

static int log_query_cb(void *arg, long long no, char *line)
{
	struct log_query *q = arg;
	if (no < q->begin)
		return FF_OK;
	if (q->end > 0 && no > q->end)
		return 1; /* stop */
	log_mask_ip(line);
	jw_obj(q->w);
	jw_kint(q->w, "line_num", no);
	jw_kstr(q->w, "content", line);
	jw_end(q->w);
	return q->w->err;
}

static void api_log_query(struct http_req *r)
{
	struct log_src src;
	struct log_query q = { .begin = 1 };
	if (log_resolve(r, &src) || api_arg_int(r, "begin", 1, &q.begin) ||
	    api_arg_int(r, "end", 0, &q.end)) {
		log_src_release(&src);
		api_log_usage(r);
		return;
	}
	struct jw w;
	q.w = &w;
	api_ok_begin(r, &w);
	jw_arr(&w);
	log_visit(&src, log_query_cb, &q);
	log_src_release(&src);
	jw_end(&w);
	api_ok_end(r, &w, NULL);
}

static const struct http_route api_log_table[] = {
	{ "GET", "/v2/log/count", api_log_count, HTTP_RT_READ, NULL },
	{ "GET", "/v2/log/query", api_log_query, HTTP_RT_READ, NULL },
};

HTTP_ROUTES(api_log_table);
