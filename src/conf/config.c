// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - load, default and check <home>/fedflow.yaml.
 */
#include "ff_setup.h"
#include <limits.h>
#include "config.h"
#include "buf.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "yaml.h"

#ifndef FF_VERSION
#define FF_VERSION "0.0.0"
#endif

char *config_default_text(const char *party_id, const char *host, int port)
{
	return ff_asprintf(
"# fedflowd site configuration (docs/config.md explains every key)\n"
"party_id: \"%s\"             # this site's party id\n"
"host: %s               # listen address, also given to task processes\n"
"port: %d\n"
"# advertise_url: http://10.0.0.5:%d   # how other sites reach this one\n"
"mode: standalone              # standalone: this daemon plays every party; site: one party\n"
"database: sqlite:fedflow.db   # relative paths are inside the home\n"
"log_level: info\n"
"http:\n"
"  threads: 4                  # HTTP worker threads\n"
"  max_body: 67108864          # largest JSON request body in bytes\n"
"default_provider:\n"
"  name: fedflow\n"
"  version: \"" FF_VERSION "\"\n"
"  device: local\n"
"computing:\n"
"  engine: standalone\n"
"  cores: 32                   # cores jobs may hold at once on this site\n"
"  nodes: 1\n"
"scheduler:\n"
"  sweep_interval: 30000       # ms; safety net, scheduling is event-driven\n"
"  poll_interval: 1000         # ms; sync_type poll\n"
"  liveness_interval: 5000     # ms; callback mode: check tasks running at other sites\n"
"  command_timeout: 10000      # ms per site-to-site command attempt\n"
"  detect_interval: 10000      # ms between detector passes (safety net)\n"
"  ring_push_idle: 30000       # ms a task's ring push may go without a step\n"
"isolation:                    # limits of task processes (docs/config.md)\n"
"  enabled: false              # true: cores -> CPU quota and pinning, nofile, no_new_privs\n"
"  memory_mb: 0                # memory limit per task (0: none; engine_run.memory overrides)\n"
"  nofile: 65536\n"
"  cpu_quota: true\n"
"  affinity: true\n"
"job_default:                  # FATE's job_default_config\n"
"  job_cores: 4\n"
"  computing_partitions: 8\n"
"  task_run:\n"
"    standalone: {cores: 4}\n"
"  task_timeout: 259200        # seconds\n"
"  remote_request_timeout: 30000\n"
"  federated_command_trys: 3\n"
"  auto_retries: 0\n"
"  sync_type: callback\n"
"  queue_timeout: 0            # seconds a job may wait for cores (0: no limit)\n"
"  task_dir_ttl: 604800        # seconds task folders are kept after a job ended\n"
"  task_device: {type: CPU}\n",
		party_id, host, port, port);
}

static int config_str(const json_t *root, const char *path, char *out, size_t n,
		      const char *dflt, struct ff_error *err)
{
	const json_t *v = jsonx_path(root, path);
	if (!v || json_is_null(v)) {
		snprintf(out, n, "%s", dflt);
		return FF_OK;
	}
	if (jsonx_scalar_text(v, out, n))
		return ff_error_set(err, FF_EINVAL, "config '%s': expected text, got %s",
				    path, jsonx_type_name(v));
	return FF_OK;
}

static int config_int(const json_t *root, const char *path, long long *out,
		      long long dflt, long long min, struct ff_error *err)
{
	const json_t *v = jsonx_path(root, path);
	if (!v || json_is_null(v)) {
		*out = dflt;
		return FF_OK;
	}
	if (!jsonx_as_int(v, out))
		return ff_error_set(err, FF_EINVAL, "config '%s': expected an integer, got %s",
				    path, jsonx_type_name(v));
	if (*out < min)
		return ff_error_set(err, FF_EINVAL, "config '%s': must be at least %lld",
				    path, min);
	return FF_OK;
}

static char *config_join(const char *home, const char *name)
{
	return ff_asprintf("%s/%s", home, name);
}

static int config_dirs(struct config *cfg, struct ff_error *err)
{
	cfg->data_dir = config_join(cfg->home, "data");
	cfg->job_dir = config_join(cfg->home, "jobs");
	cfg->log_dir = config_join(cfg->home, "logs");
	cfg->model_dir = config_join(cfg->home, "model");
	cfg->temp_dir = config_join(cfg->home, "temps");
	const char *dirs[] = { cfg->data_dir, cfg->job_dir, cfg->log_dir, cfg->model_dir,
			       cfg->temp_dir };
	for (size_t i = 0; i < FF_ARRAY_SIZE(dirs); i++)
		if (!dirs[i])
			return FF_ENOMEM;
	/* logs/ holds the job and task log files themselves: a block group of
	 * its own, not the one of the home (see fs_set_topdir) */
	int ret = fs_mkdir_spread(cfg->log_dir, 0755, err);
	for (size_t i = 0; !ret && i < FF_ARRAY_SIZE(dirs); i++)
		ret = fs_mkdirs(dirs[i], 0755, err);
	if (ret)
		return ret;
	/* one folder per job or task version below these: see fs_set_topdir
	 * (a home of an earlier version had the mark on logs/ too) */
	fs_set_topdir(cfg->job_dir, true);
	fs_set_topdir(cfg->data_dir, true);
	fs_set_topdir(cfg->log_dir, false);
	return FF_OK;
}

/* Fills FATE's job_default_config keys that the file left out. */
static int config_job_default(const json_t *root, struct config *cfg,
			      struct ff_error *err)
{
	const json_t *jd = json_object_get(root, "job_default");
	if (jd && !json_is_object(jd))
		return ff_error_set(err, FF_EINVAL, "config 'job_default': expected a mapping");
	cfg->job_default = jd ? json_deep_copy(jd) : json_object();
	json_t *d = cfg->job_default;
	if (!json_object_get(d, "job_cores"))
		json_object_set_new(d, "job_cores", json_integer(4));
	if (!json_object_get(d, "computing_partitions"))
		json_object_set_new(d, "computing_partitions", json_integer(8));
	if (!json_object_get(d, "task_run"))
		json_object_set_new(d, "task_run", json_pack("{s:{s:i}}", "standalone", "cores", 4));
	if (!json_object_get(d, "task_timeout"))
		json_object_set_new(d, "task_timeout", json_integer(259200));
	if (!json_object_get(d, "auto_retries"))
		json_object_set_new(d, "auto_retries", json_integer(0));
	if (!json_object_get(d, "sync_type"))
		json_object_set_new(d, "sync_type", json_string("callback"));
	if (!json_object_get(d, "federated_command_trys"))
		json_object_set_new(d, "federated_command_trys", json_integer(3));
	long long v;
	int ret = config_int(d, "federated_command_trys", &cfg->command_tries, 3, 1, err);
	if (!ret)
		ret = config_int(d, "job_cores", &v, 4, 0, err);
	if (!ret)
		ret = config_int(d, "task_timeout", &v, 259200, 1, err);
	const char *st = jsonx_str(d, "sync_type");
	if (!ret && (!st || (strcmp(st, "callback") && strcmp(st, "poll"))))
		ret = ff_error_set(err, FF_EINVAL,
				   "config 'job_default.sync_type': expected callback or poll");
	return ret;
}

static int config_bool(const json_t *root, const char *path, bool dflt, bool *out,
		       struct ff_error *err)
{
	const json_t *v = jsonx_path(root, path);
	*out = dflt;
	if (v && !json_is_null(v) && !jsonx_as_bool(v, out))
		return ff_error_set(err, FF_EINVAL, "config '%s': expected true or false", path);
	return FF_OK;
}

static int config_isolation(const json_t *root, struct config *cfg, struct ff_error *err)
{
	int ret = config_bool(root, "isolation.enabled", false, &cfg->iso_enabled, err);
	if (!ret)
		ret = config_int(root, "isolation.memory_mb", &cfg->iso_memory_mb, 0, 0, err);
	if (!ret)
		ret = config_int(root, "isolation.nofile", &cfg->iso_nofile, 65536, 0, err);
	if (!ret)
		ret = config_bool(root, "isolation.cpu_quota", true, &cfg->iso_cpu_quota, err);
	if (!ret)
		ret = config_bool(root, "isolation.affinity", true, &cfg->iso_affinity, err);
	return ret;
}

static void config_warn_unknown(const json_t *root)
{
	static const char *const known[] = {
		"party_id", "host", "port", "advertise_url", "mode", "database", "log_level",
		"http", "default_provider", "computing", "scheduler", "job_default",
		"partners", "isolation", NULL,
	};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)root, key, v) {
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = !strcmp(*k, key);
		if (!ok)
			ff_log(FF_LOG_WARN, "config key '%s' is unknown and ignored", key);
	}
}

static int config_apply(const json_t *root, const struct config_overrides *ov,
			struct config *cfg, struct ff_error *err)
{
	long long v;
	char tmp[PATH_MAX];
	int ret = config_str(root, "party_id", cfg->party_id, sizeof(cfg->party_id), "9999", err);
	if (!ret)
		ret = config_str(root, "host", cfg->host, sizeof(cfg->host), "127.0.0.1", err);
	if (!ret)
		ret = config_int(root, "port", &v, 9380, 0, err);
	if (ret)
		return ret;
	cfg->port = (int)v;
	if (ov && ov->party_id)
		snprintf(cfg->party_id, sizeof(cfg->party_id), "%s", ov->party_id);
	if (ov && ov->host)
		snprintf(cfg->host, sizeof(cfg->host), "%s", ov->host);
	if (ov && ov->port > 0)
		cfg->port = ov->port;
	if (v > 65535 || cfg->port > 65535)
		return ff_error_set(err, FF_EINVAL, "config 'port': must be at most 65535");
	if (!fs_name_ok(cfg->party_id, CONFIG_ID_MAX - 1) || !strcmp(cfg->party_id, "0"))
		return ff_error_set(err, FF_EINVAL,
				    "config 'party_id': '%s' is not a valid party id", cfg->party_id);
	ret = config_str(root, "mode", cfg->mode, sizeof(cfg->mode), "standalone", err);
	if (!ret && strcmp(cfg->mode, "standalone") && strcmp(cfg->mode, "site"))
		ret = ff_error_set(err, FF_EINVAL, "config 'mode': expected standalone or site");
	if (!ret)
		ret = config_str(root, "database", tmp, sizeof(tmp), "sqlite:fedflow.db", err);
	if (ret)
		return ret;
	const char *path = !strncmp(tmp, "sqlite:", 7) ? tmp + 7 : tmp;
	if (strstr(tmp, "://") || path[0] == '/')
		cfg->database = ff_strdup(tmp);
	else
		cfg->database = ff_asprintf("sqlite:%s/%s", cfg->home, path);
	ret = config_str(root, "advertise_url", tmp, sizeof(tmp), "", err);
	if (ret)
		return ret;
	cfg->advertise_url = tmp[0] ? ff_strdup(tmp)
				    : ff_asprintf("http://%s:%d", cfg->host, cfg->port);
	ret = config_str(root, "log_level", tmp, sizeof(tmp), "info", err);
	if (ret)
		return ret;
	cfg->log_level = ff_log_parse_level(tmp);
	if (cfg->log_level < 0)
		return ff_error_set(err, FF_EINVAL, "config 'log_level': unknown level '%s'", tmp);
	ret = config_int(root, "http.threads", &v, 4, 1, err);
	cfg->http_threads = (int)v;
	if (!ret)
		ret = config_int(root, "http.max_body", &cfg->http_max_body, 64LL << 20, 1024, err);
	if (!ret)
		ret = config_str(root, "default_provider.name", cfg->provider_name,
				 sizeof(cfg->provider_name), "fedflow", err);
	if (!ret)
		ret = config_str(root, "default_provider.version", cfg->provider_version,
				 sizeof(cfg->provider_version), FF_VERSION, err);
	if (!ret)
		ret = config_str(root, "default_provider.device", cfg->provider_device,
				 sizeof(cfg->provider_device), "local", err);
	if (!ret)
		ret = config_str(root, "computing.engine", cfg->computing_engine,
				 sizeof(cfg->computing_engine), "standalone", err);
	if (!ret)
		ret = config_int(root, "computing.cores", &cfg->engine_cores, 32, 0, err);
	if (!ret)
		ret = config_int(root, "computing.nodes", &cfg->engine_nodes, 1, 1, err);
	if (!ret)
		ret = config_int(root, "scheduler.sweep_interval", &cfg->sweep_interval_ms, 30000, 100, err);
	if (!ret)
		ret = config_int(root, "scheduler.poll_interval", &cfg->poll_interval_ms, 1000, 10, err);
	if (!ret)
		ret = config_int(root, "scheduler.command_timeout", &cfg->command_timeout_ms, 10000, 100, err);
	if (!ret)
		ret = config_int(root, "scheduler.detect_interval", &cfg->detect_interval_ms, 10000,
				 50, err);
	if (!ret)
		ret = config_int(root, "scheduler.liveness_interval", &cfg->liveness_interval_ms, 5000,
				 50, err);
	if (!ret)
		ret = config_int(root, "scheduler.ring_push_idle", &cfg->ring_push_idle_ms, 30000, 100,
				 err);
	if (!ret)
		ret = config_job_default(root, cfg, err);
	if (!ret)
		ret = config_isolation(root, cfg, err);
	return ret;
}

static int config_read_or_create(const struct config *cfg, json_t **root,
				 const struct config_overrides *ov, struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT_MAX(1 << 20);
	int ret = FF_OK;
	if (!fs_exists(cfg->path)) {
		char *text = config_default_text(ov && ov->party_id ? ov->party_id : "9999",
						 ov && ov->host ? ov->host : "127.0.0.1",
						 ov && ov->port > 0 ? ov->port : 9380);
		ret = text ? fs_write_atomic(cfg->path, text, strlen(text), err) : FF_ENOMEM;
		ff_free(text);
		if (ret)
			return ret;
		ff_log(FF_LOG_INFO, "wrote default config path=%s", cfg->path);
	}
	ret = fs_read_file(cfg->path, &b, err);
	if (!ret)
		ret = yaml_load(b.buf, b.len, root, err);
	if (!ret && !json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		ret = ff_error_set(err, FF_EINVAL, "config file '%s' is not a mapping", cfg->path);
	} else if (ret) {
		ff_error_prefix(err, "config file '%s'", cfg->path);
	}
	ff_buf_release(&b);
	return ret;
}

int config_load(const char *home, const struct config_overrides *ov,
		struct config *cfg, struct ff_error *err)
{
	json_t *root = NULL;
	memset(cfg, 0, sizeof(*cfg));
	int ret = fs_mkdirs(home, 0755, err);
	if (ret)
		return ret;
	cfg->home = fs_abspath(home);
	if (!cfg->home)
		return FF_ENOMEM;
	cfg->path = ov && ov->config_file ? fs_abspath(ov->config_file)
					  : ff_asprintf("%s/fedflow.yaml", cfg->home);
	if (!cfg->path)
		return FF_ENOMEM;
	ret = config_read_or_create(cfg, &root, ov, err);
	if (!ret)
		ret = config_apply(root, ov, cfg, err);
	if (!ret) {
		config_warn_unknown(root);
		ret = config_dirs(cfg, err);
	}
	json_decref(root);
	return ret;
}

void config_release(struct config *cfg)
{
	ff_free(cfg->home);
	ff_free(cfg->path);
	ff_free(cfg->database);
	ff_free(cfg->advertise_url);
	ff_free(cfg->data_dir);
	ff_free(cfg->job_dir);
	ff_free(cfg->log_dir);
	ff_free(cfg->model_dir);
	ff_free(cfg->temp_dir);
	ff_free(cfg->component_bin);
	ff_free(cfg->launch_bin);
	json_decref(cfg->job_default);
	memset(cfg, 0, sizeof(*cfg));
}
