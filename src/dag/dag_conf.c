// SPDX-License-Identifier: Apache-2.0
/*
 * dag_conf.c - dag.conf (JobConfSpec) with the site's job defaults,
 * TaskConfSpec checks, provider names and the cores a job reserves.
 *
 * Site defaults come from ctx->job_defaults (FATE's job_default_config);
 * a missing key falls back to FATE's built-in value. The values resolved
 * here are written back into schema.dag.conf, as FATE's submit does, so
 * every partner schedules with the same priority, partitions, sync type,
 * retries, initiator and scheduler. cores is deliberately not written
 * back: each party sizes its own quota from dag.conf.cores or its own
 * job_cores default (spec §5.4).
 */
#include "ff_setup.h"
#include <limits.h>
#include "dag_int.h"
#include "jsonx.h"
#include "mem.h"

#define DAG_DEFAULT_JOB_CORES 4
#define DAG_DEFAULT_PARTITIONS 8
#define DAG_DEFAULT_TASK_CORES 4
#define DAG_DEFAULT_TIMEOUT 259200
#define DAG_DEFAULT_RETRIES 0

/* ---- site defaults (ctx->job_defaults) ---- */

static const json_t *dag_default(const struct dag__st *st, const char *key)
{
	return dag__get(st->ctx->job_defaults, key);
}

/* A site default is configuration, not DAG input: a bad one is FF_EINVAL. */
static int dag_default_int(const struct dag__st *st, const char *key, long long fallback,
			   long long min, long long *out)
{
	const json_t *v = dag_default(st, key);
	if (!v) {
		*out = fallback;
		return FF_OK;
	}
	if (!jsonx_as_int(v, out) || *out < min)
		return ff_error_set(st->err, FF_EINVAL, "job_default_config.%s: expected an "
				    "integer >= %lld", key, min);
	return FF_OK;
}

static bool dag_sync_ok(const char *s)
{
	return s && (!strcmp(s, "poll") || !strcmp(s, "callback"));
}

static json_t *dag_builtin_task_run(const char *engine)
{
	if (!strcmp(engine, "spark"))
		return json_pack("{s:i, s:i}", "num-executors", 2, "executor-cores", 2);
	return json_pack("{s:i}", "cores", DAG_DEFAULT_TASK_CORES);
}

/* st->engine, st->task_run and st->task_timeout from the site defaults. */
static int dag_engine_defaults(struct dag__st *st)
{
	const char *e = st->ctx->computing_engine;
	st->engine = e && *e ? e : "standalone";
	const json_t *tr = dag__get(dag_default(st, "task_run"), st->engine);
	if (tr && !json_is_object(tr))
		return ff_error_set(st->err, FF_EINVAL, "job_default_config.task_run.%s: "
				    "expected an object", st->engine);
	const json_t *cores = dag__get(tr, "cores");
	if (cores && (!json_is_integer(cores) || json_integer_value(cores) < 0))
		return ff_error_set(st->err, FF_EINVAL, "job_default_config.task_run.%s.cores: "
				    "expected an integer >= 0", st->engine);
	st->task_run = tr ? json_deep_copy(tr) : dag_builtin_task_run(st->engine);
	if (!st->task_run)
		return FF_ENOMEM;
	return dag_default_int(st, "task_timeout", DAG_DEFAULT_TIMEOUT, 1, &st->task_timeout);
}

/* ---- TaskConfSpec ---- */

static bool dag_provider_part_ok(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return true;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == '+';
		if (!ok)
			return false;
	}
	return n < DAG_ID_MAX;
}

static bool dag_provider_part(const char *s, size_t n, char out[DAG_ID_MAX])
{
	if (!dag_provider_part_ok(s, n))
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

bool dag__provider_split(const char *s, char name[DAG_ID_MAX], char version[DAG_ID_MAX],
			 char device[DAG_ID_MAX])
{
	const char *colon = strchr(s, ':');
	const char *at = colon ? strchr(colon + 1, '@') : NULL;
	if (!at || strchr(colon + 1, ':') || strchr(at + 1, '@') || memchr(s, '@', (size_t)(colon - s)))
		return false;
	return dag_provider_part(s, (size_t)(colon - s), name) &&
	       dag_provider_part(colon + 1, (size_t)(at - colon - 1), version) &&
	       dag_provider_part(at + 1, strlen(at + 1), device);
}

static int dag_check_engine_run(const json_t *conf, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	json_t *er;
	long long n;
	bool set;
	dag__pathf(p, "%s.engine_run", path);
	int ret = dag__opt_object(conf, "engine_run", p, &er, err);
	dag__pathf(p, "%s.engine_run.cores", path);
	if (!ret && er)
		ret = dag__opt_int(er, "cores", p, 0, &n, &set, err);
	return ret;
}

static int dag_check_provider(const json_t *conf, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX], n[DAG_ID_MAX], v[DAG_ID_MAX], d[DAG_ID_MAX];
	const char *s;
	dag__pathf(p, "%s.provider", path);
	int ret = dag__opt_string(conf, "provider", p, &s, err);
	if (!ret && s && *s && !dag__provider_split(s, n, v, d))
		ret = dag__fail(err, p, "provider '%.80s' must be name:version@device", s);
	return ret;
}

int dag__check_task_conf(const json_t *conf, const char *path, struct ff_error *err)
{
	char p[DAG_PATH_MAX];
	const char *s;
	long long n;
	bool set;
	int ret = dag_check_engine_run(conf, path, err);
	if (!ret)
		ret = dag_check_provider(conf, path, err);
	dag__pathf(p, "%s.timeout", path);
	if (!ret)
		ret = dag__opt_int(conf, "timeout", p, 1, &n, &set, err);
	dag__pathf(p, "%s.launcher_name", path);
	if (!ret)
		ret = dag__opt_string(conf, "launcher_name", p, &s, err);
	if (!ret && s && !dag__name_ok(s, DAG_ID_MAX - 1))
		ret = dag__fail(err, p, "launcher name '%.80s' must be 1 to %d characters of "
				"A-Z a-z 0-9 _ . -", s, DAG_ID_MAX - 1);
	return ret;
}

/* ---- providers ---- */

static void dag_fill_part(char part[DAG_ID_MAX], const char *def)
{
	if (part[0] && strcmp(part, "*"))
		return;
	snprintf(part, DAG_ID_MAX, "%s", def ? def : "");
}

int dag__resolve_provider(const struct dag__st *st, const char *given, const char *path,
			  const struct dag_party *party, char **out)
{
	const struct dag_ctx *ctx = st->ctx;
	char n[DAG_ID_MAX] = "", v[DAG_ID_MAX] = "", d[DAG_ID_MAX] = "";
	*out = NULL;
	/* FATE treats an empty provider like a missing one: all defaults */
	if (given && *given && !dag__provider_split(given, n, v, d))
		return dag__fail(st->err, path, "provider '%.80s' must be name:version@device", given);
	dag_fill_part(n, ctx->default_provider_name ? ctx->default_provider_name : "fate");
	dag_fill_part(v, ctx->default_provider_version);
	dag_fill_part(d, ctx->default_provider_device ? ctx->default_provider_device : "local");
	if (!n[0] || !v[0] || !d[0])
		return dag__fail(st->err, path, "provider '%s:%s@%s' is incomplete and the site "
				 "has no default to fill it; give conf.provider as "
				 "name:version@device", n, v, d);
	*out = ff_asprintf("%s:%s@%s", n, v, d);
	if (!*out)
		return FF_ENOMEM;
	if (ctx->provider_exists && !ctx->provider_exists(ctx->arg, *out)) {
		dag__fail(st->err, path, "provider '%s' is not registered (needed by %s '%s')",
			  *out, party->role, party->party_id);
		FF_FREE_AND_NULL(*out);
		return FF_EDAG;
	}
	return FF_OK;
}

/* ---- cores (spec §5.4) ---- */

static long long dag_run_int(const json_t *engine_run, const char *key, long long def)
{
	long long v;
	if (!jsonx_as_int(dag__get(engine_run, key), &v) || v < 0)
		return def;
	return v;
}

long long dag__engine_cores(const struct dag__st *st, const json_t *engine_run)
{
	if (!strcmp(st->engine, "spark")) {
		long long ne = dag_run_int(engine_run, "num-executors", 2);
		long long ec = dag_run_int(engine_run, "executor-cores", 2);
		long long r;
		return __builtin_mul_overflow(ne, ec, &r) ? LLONG_MAX : r;
	}
	return dag_run_int(engine_run, "cores", DAG_DEFAULT_TASK_CORES);
}

int dag__resolve_cores(struct dag__st *st)
{
	struct dag_job *job = st->job;
	long long tc = 0;
	for (size_t i = 0; i < job->ntasks; i++) {
		const struct dag_task *t = &job->tasks[i];
		for (size_t k = 0; k < t->nptasks; k++)
			if (t->ptasks[k].task_cores > tc)
				tc = t->ptasks[k].task_cores;
	}
	job->task_cores = tc;
	if (tc > job->job_cores)
		job->job_cores = tc;
	long long site = st->ctx->site_cores;
	if (site > 0 && job->job_cores > site)
		return ff_error_set(st->err, FF_ERESLIMIT, "dag.conf.cores: the job needs %lld "
				    "cores but this site has %lld; lower dag.conf.cores or "
				    "engine_run.cores", job->job_cores, site);
	return FF_OK;
}

/* ---- dag.conf ---- */

static int dag_required_text(struct dag__st *st, const json_t *obj, const char *key,
			     const char *path)
{
	const char *s;
	int ret = dag__opt_string(obj, key, path, &s, st->err);
	if (!ret && !s)
		ret = dag__expected(st->err, path, "a string", NULL);
	if (!ret && !*s)
		ret = dag__fail(st->err, path, "must not be empty");
	return ret;
}

static int dag_conf_parties(struct dag__st *st, const json_t *conf)
{
	struct dag_job *job = st->job;
	const char *local = st->ctx->local_party_id;
	json_t *v = dag__get(conf, "initiator_party_id");
	char given[DAG_ID_MAX];
	int ret = v ? dag__party_id_text(v, "dag.conf.initiator_party_id", given, st->err) : 0;
	if (ret)
		return ret;
	if (local && *local) {
		if (!dag__name_ok(local, DAG_ID_MAX - 1))
			return ff_error_set(st->err, FF_EINVAL, "local party id '%.80s' is not "
					    "a valid party id", local);
		snprintf(job->initiator_party_id, DAG_ID_MAX, "%s", local);
	} else if (v) {
		snprintf(job->initiator_party_id, DAG_ID_MAX, "%s", given);
	} else {
		return dag__expected(st->err, "dag.conf.initiator_party_id",
				     "a string or an integer", NULL);
	}
	v = dag__get(conf, "scheduler_party_id");
	if (v)
		return dag__party_id_text(v, "dag.conf.scheduler_party_id",
					  job->scheduler_party_id, st->err);
	snprintf(job->scheduler_party_id, DAG_ID_MAX, "%s",
		 st->ctx->is_local_job ? "0" : job->initiator_party_id);
	return FF_OK;
}

static int dag_conf_inheritance(struct dag__st *st, json_t *conf)
{
	json_t *inh, *v;
	size_t i;
	char p[DAG_PATH_MAX];
	int ret = dag__opt_object(conf, "inheritance", "dag.conf.inheritance", &inh, st->err);
	if (ret || !inh)
		return ret;
	ret = dag_required_text(st, inh, "job_id", "dag.conf.inheritance.job_id");
	if (!ret && !dag__get(inh, "task_list"))
		ret = dag__expected(st->err, "dag.conf.inheritance.task_list", "a list", NULL);
	if (!ret)
		ret = dag__opt_str_list(inh, "task_list", "dag.conf.inheritance.task_list", true,
					st->err);
	json_array_foreach(ret ? NULL : json_object_get(inh, "task_list"), i, v) {
		dag__pathf(p, "dag.conf.inheritance.task_list[%zu]", i);
		if (json_is_object(st->tasks) && !json_object_get(st->tasks, json_string_value(v)))
			return dag__fail(st->err, p, "task '%s' does not exist in dag.tasks",
					 json_string_value(v));
	}
	if (!ret)
		st->job->inheritance = json_incref(inh);
	return ret;
}

static int dag_conf_int(struct dag__st *st, const json_t *conf, const char *key,
			long long min, long long fallback, long long *out)
{
	char p[DAG_PATH_MAX];
	bool set;
	dag__pathf(p, "dag.conf.%s", key);
	int ret = dag__opt_int(conf, key, p, min, out, &set, st->err);
	if (!ret && !set)
		ret = dag_default_int(st, key, fallback, min, out);
	return ret;
}

static int dag_conf_numbers(struct dag__st *st, const json_t *conf)
{
	struct dag_job *job = st->job;
	bool set;
	int ret = dag__opt_int(conf, "priority", "dag.conf.priority", LLONG_MIN, &job->priority,
			       &set, st->err);
	if (!ret && dag__get(conf, "cores"))
		ret = dag__opt_int(conf, "cores", "dag.conf.cores", 0, &job->job_cores, &set,
				   st->err);
	else if (!ret)
		ret = dag_default_int(st, "job_cores", DAG_DEFAULT_JOB_CORES, 0, &job->job_cores);
	if (!ret)
		ret = dag_conf_int(st, conf, "computing_partitions", 1, DAG_DEFAULT_PARTITIONS,
				   &job->computing_partitions);
	if (!ret)
		ret = dag_conf_int(st, conf, "auto_retries", 0, DAG_DEFAULT_RETRIES,
				   &job->auto_retries);
	return ret;
}

static int dag_conf_sync(struct dag__st *st, const json_t *conf)
{
	const char *s;
	int ret = dag__opt_string(conf, "sync_type", "dag.conf.sync_type", &s, st->err);
	if (ret)
		return ret;
	if (s && !dag_sync_ok(s))
		return dag__fail(st->err, "dag.conf.sync_type", "unknown sync type '%.80s' "
				 "(expected poll or callback)", s);
	if (!s) {
		const json_t *d = dag_default(st, "sync_type");
		s = d ? json_string_value(d) : "callback";
		if (!dag_sync_ok(s))
			return ff_error_set(st->err, FF_EINVAL, "job_default_config.sync_type: "
					    "expected poll or callback");
	}
	snprintf(st->job->sync_type, DAG_ID_MAX, "%s", s);
	return FF_OK;
}

/* model_warehouse: {model_id: non-empty str, model_version: str|int -> text}. */
static int dag_conf_warehouse(struct dag__st *st, json_t *conf)
{
	char text[DAG_ID_MAX];
	json_t *mw, *v;
	int ret = dag__opt_object(conf, "model_warehouse", "dag.conf.model_warehouse", &mw,
				  st->err);
	if (ret || !mw)
		return ret;
	ret = dag_required_text(st, mw, "model_id", "dag.conf.model_warehouse.model_id");
	v = dag__get(mw, "model_version");
	if (!ret && !v)
		ret = dag__expected(st->err, "dag.conf.model_warehouse.model_version",
				    "a string or an integer", NULL);
	if (!ret)
		ret = dag__scalar_text(v, false, "dag.conf.model_warehouse.model_version", text,
				       sizeof(text), st->err);
	if (!ret && json_object_set_new(mw, "model_version", json_string(text)))
		ret = FF_ENOMEM;
	if (!ret)
		st->job->model_warehouse = json_incref(mw);
	return ret;
}

static int dag_conf_model(struct dag__st *st, json_t *conf)
{
	struct dag_job *job = st->job;
	char text[DAG_ID_MAX] = "0";
	const char *s;
	int ret = dag__opt_string(conf, "model_id", "dag.conf.model_id", &s, st->err);
	if (ret)
		return ret;
	if (s && *s && !(job->model_id = ff_strdup(s)))
		return FF_ENOMEM;
	json_t *v = dag__get(conf, "model_version");
	if (v && (ret = dag__scalar_text(v, false, "dag.conf.model_version", text, sizeof(text),
					 st->err)))
		return ret;
	if (!(job->model_version = ff_strdup(text)))
		return FF_ENOMEM;
	return dag_conf_warehouse(st, conf);
}

static int dag_conf_rest(struct dag__st *st, const json_t *conf)
{
	json_t *obj;
	int ret = dag__opt_object(conf, "task", "dag.conf.task", &obj, st->err);
	if (!ret && obj)
		ret = dag__check_task_conf(obj, "dag.conf.task", st->err);
	if (!ret)
		ret = dag__opt_object(conf, "extra", "dag.conf.extra", &obj, st->err);
	return ret;
}

static int dag_conf_write_back(const struct dag_job *job, json_t *conf)
{
	int bad = 0;
	bad |= json_object_set_new(conf, "priority", json_integer(job->priority));
	bad |= json_object_set_new(conf, "initiator_party_id",
				   json_string(job->initiator_party_id));
	bad |= json_object_set_new(conf, "scheduler_party_id",
				   json_string(job->scheduler_party_id));
	bad |= json_object_set_new(conf, "computing_partitions",
				   json_integer(job->computing_partitions));
	bad |= json_object_set_new(conf, "sync_type", json_string(job->sync_type));
	bad |= json_object_set_new(conf, "auto_retries", json_integer(job->auto_retries));
	bad |= json_object_set_new(conf, "model_version", json_string(job->model_version));
	return bad ? FF_ENOMEM : FF_OK;
}

int dag__resolve_conf(struct dag__st *st)
{
	json_t *conf;
	int ret = dag__opt_object(st->dag, "conf", "dag.conf", &conf, st->err);
	if (ret)
		return ret;
	if (!conf) {
		conf = json_object();
		if (json_object_set_new(st->dag, "conf", conf))
			return FF_ENOMEM;
	}
	ret = dag_conf_numbers(st, conf);
	if (!ret)
		ret = dag_conf_parties(st, conf);
	if (!ret)
		ret = dag_conf_sync(st, conf);
	if (!ret)
		ret = dag_conf_inheritance(st, conf);
	if (!ret)
		ret = dag_conf_model(st, conf);
	if (!ret)
		ret = dag_conf_rest(st, conf);
	if (!ret)
		ret = dag_engine_defaults(st);
	if (!ret)
		ret = dag_conf_write_back(st->job, conf);
	return ret;
}
