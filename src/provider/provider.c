// SPDX-License-Identifier: Apache-2.0
/*
 * provider.c - provider registry, cache and how to start a component.
 */
#include "ff_setup.h"
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clock.h"
#include "dag/dag.h"
#include "fs.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "provider.h"
#include "site.h"
#include "store.h"

struct provider_cache {
	json_t *providers;   /* provider_name -> {name, version, device, metadata} */
	json_t *components;  /* provider_name -> {component -> description} */
};

extern char **environ;

static int provider_load_cb(void *arg, const struct store_row *row)
{
	struct provider_cache *c = arg;
	const char *md = store_col_text(row, "f_metadata");
	json_t *mdj = md ? json_loads(md, 0, NULL) : NULL;
	json_object_set_new(c->providers, store_col_text(row, "f_provider_name"),
			    json_pack("{s:s?,s:s?,s:s?,s:o}", "name", store_col_text(row, "f_name"),
				      "version", store_col_text(row, "f_version"), "device",
				      store_col_text(row, "f_device"), "metadata",
				      mdj ? mdj : json_object()));
	return FF_OK;
}

static int provider_comp_cb(void *arg, const struct store_row *row)
{
	struct provider_cache *c = arg;
	const char *pn = store_col_text(row, "f_provider_name");
	const char *desc = store_col_text(row, "f_component_description");
	json_t *d = desc ? json_loads(desc, 0, NULL) : NULL;
	json_t *set = json_object_get(c->components, pn);
	if (!set) {
		set = json_object();
		json_object_set_new(c->components, pn, set);
	}
	json_object_set_new(set, store_col_text(row, "f_component_name"), d ? d : json_object());
	return FF_OK;
}

static int provider_reload(struct site *s, struct ff_error *err)
{
	struct provider_cache *c = s->providers;
	json_object_clear(c->providers);
	json_object_clear(c->components);
	int ret = store_exec(s->db, "SELECT * FROM t_provider_info", NULL, 0, provider_load_cb, c,
			     NULL, err);
	if (!ret)
		ret = store_exec(s->db, "SELECT f_provider_name, f_component_name,"
				 " f_component_description FROM t_component_info", NULL, 0,
				 provider_comp_cb, c, NULL, err);
	return ret;
}

/* Runs `<bin> component describe` and returns its JSON (new reference). */
static int provider_describe(const char *bin, json_t **out, struct ff_error *err)
{
	int pfd[2];
	if (pipe(pfd))
		return ff_error_set(err, FF_EIO, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	char *argv[] = { (char *)bin, (char *)"component", (char *)"describe", NULL };
	pid_t pid;
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t empty;
	sigemptyset(&empty);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	int rc = posix_spawn(&pid, bin, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pfd[1]);
	if (rc) {
		close(pfd[0]);
		return ff_error_set(err, FF_ENOENT, "cannot run the built-in provider '%s': %s",
				    bin, strerror(rc));
	}
	struct ff_buf b = FF_BUF_INIT_MAX(16 << 20);
	char tmp[8192];
	ssize_t n;
	while ((n = read(pfd[0], tmp, sizeof(tmp))) > 0)
		if (ff_buf_add(&b, tmp, (size_t)n))
			break;
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int ret = FF_OK;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		ret = ff_error_set(err, FF_EPROVIDER, "'%s component describe' failed", bin);
	else
		ret = jsonx_parse(b.buf, b.len, out, err);
	ff_buf_release(&b);
	return ret;
}

static int provider_builtin(struct site *s, struct ff_error *err)
{
	const struct config *c = &s->cfg;
	json_t *desc = NULL;
	int ret = provider_describe(c->component_bin, &desc, err);
	if (ret)
		return ret;
	char *dir = ff_strdup(c->component_bin);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	json_t *body = json_pack("{s:s,s:s,s:s,s:{s:s?,s:s},s:O}", "name", "fedflow",
				 "version", FF_VERSION, "device", "local", "metadata", "path", dir,
				 "executable", c->component_bin, "components_description",
				 json_object_get(desc, "components"));
	bool created;
	ret = body ? provider_register(s, body, &created, err) : FF_ENOMEM;
	json_decref(body);
	json_decref(desc);
	ff_free(dir);
	return ret;
}

int provider_init(struct site *s, struct ff_error *err)
{
	s->providers = ff_calloc(1, sizeof(*s->providers));
	if (!s->providers)
		return FF_ENOMEM;
	s->providers->providers = json_object();
	s->providers->components = json_object();
	int ret = provider_builtin(s, err);
	if (!ret)
		ret = provider_reload(s, err);
	return ret;
}

void provider_release(struct site *s)
{
	if (!s->providers)
		return;
	json_decref(s->providers->providers);
	json_decref(s->providers->components);
	FF_FREE_AND_NULL(s->providers);
}

static bool provider_exists_cb(void *arg, const char *provider)
{
	struct site *s = arg;
	return json_object_get(s->providers->providers, provider) != NULL;
}

const json_t *provider_component(struct site *s, const char *provider_name,
				 const char *component)
{
	json_t *set = json_object_get(s->providers->components, provider_name);
	json_t *d = json_object_get(set, component);
	if (!d)
		d = json_object_get(set, "*");
	return d;
}

static const json_t *provider_spec_cb(void *arg, const char *provider, const char *component)
{
	return provider_component(arg, provider, component);
}

void provider_dag_ctx(struct site *s, struct dag_ctx *ctx, bool is_local_job)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->local_party_id = s->cfg.party_id;
	ctx->is_local_job = is_local_job;
	ctx->job_defaults = s->cfg.job_default;
	ctx->computing_engine = s->cfg.computing_engine;
	ctx->default_provider_name = s->cfg.provider_name;
	ctx->default_provider_version = s->cfg.provider_version;
	ctx->default_provider_device = s->cfg.provider_device;
	ctx->site_cores = s->cfg.engine_cores;
	ctx->provider_exists = provider_exists_cb;
	ctx->component_spec = provider_spec_cb;
	ctx->arg = s;
}

int provider_get(struct site *s, const char *provider_name, struct provider_info *out,
		 struct ff_error *err)
{
	memset(out, 0, sizeof(*out));
	json_t *p = json_object_get(s->providers->providers, provider_name);
	if (!p)
		return ff_error_set(err, FF_EPROVIDER, "provider '%s' is not registered on this site",
				    provider_name);
	snprintf(out->provider_name, sizeof(out->provider_name), "%s", provider_name);
	snprintf(out->name, sizeof(out->name), "%s", jsonx_str(p, "name"));
	snprintf(out->version, sizeof(out->version), "%s", jsonx_str(p, "version"));
	snprintf(out->device, sizeof(out->device), "%s", jsonx_str(p, "device"));
	out->metadata = json_incref(json_object_get(p, "metadata"));
	return FF_OK;
}

void provider_info_release(struct provider_info *p)
{
	json_decref(p->metadata);
	p->metadata = NULL;
}

static int provider_check(const json_t *body, char *name, char *version, char *device,
			  struct ff_error *err)
{
	const char *keys[] = { "name", "version", "device" };
	char *outs[] = { name, version, device };
	for (size_t i = 0; i < 3; i++) {
		const json_t *v = json_object_get(body, keys[i]);
		if (!v || jsonx_scalar_text(v, outs[i], 64) || !outs[i][0])
			return ff_error_set(err, FF_EPARAM, "missing or invalid '%s'", keys[i]);
		if (strpbrk(outs[i], ":@ /"))
			return ff_error_set(err, FF_EPARAM, "'%s' must not contain ':', '@', '/' or spaces",
					    keys[i]);
	}
	if (strcmp(device, "local"))
		return ff_error_set(err, FF_EDEVICE, "device '%s' is not supported: only 'local'",
				    device);
	const json_t *md = json_object_get(body, "metadata");
	if (!json_is_object(md))
		return ff_error_set(err, FF_EPARAM, "missing or invalid 'metadata' (an object)");
	const char *path = jsonx_str(md, "path"), *venv = jsonx_str(md, "venv");
	const char *exe = jsonx_str(md, "executable");
	if (!exe && !path)
		return ff_error_set(err, FF_EPARAM,
				    "metadata needs 'executable' (native provider) or 'path' (Python package)");
	/* Tasks run in their own folders: a relative path would name another file. */
	const char *rel = path && *path != '/' ? path : venv && *venv != '/' ? venv
			: exe && *exe != '/' ? exe : NULL;
	if (rel)
		return ff_error_set(err, FF_EPARAM, "metadata path '%s' is relative: give the "
				    "absolute path as fedflowd sees it", rel);
	if (path && !fs_exists(path))
		return ff_error_set(err, FF_ENOTFOUND, "metadata.path '%s' does not exist", path);
	if (venv && !fs_exists(venv))
		return ff_error_set(err, FF_ENOTFOUND, "metadata.venv '%s' does not exist", venv);
	if (exe && access(exe, X_OK))
		return ff_error_set(err, FF_ENOTFOUND, "metadata.executable '%s' is not executable",
				    exe);
	return FF_OK;
}

static int provider_store_components(struct site *s, const char *pname, const char *name,
				     const char *version, const char *device,
				     const json_t *desc, int64_t now, struct ff_error *err)
{
	struct store_val d[] = { SV_TEXT(pname) };
	int ret = store_exec(s->db, "DELETE FROM t_component_info WHERE f_provider_name = ?", d, 1,
			     NULL, NULL, NULL, err);
	json_t *all = json_is_object(desc) ? json_incref((json_t *)desc)
					   : json_pack("{s:{}}", "*");
	const char *comp;
	json_t *cd;
	json_object_foreach(all, comp, cd) {
		if (ret)
			break;
		char *cds = jsonx_dumps(cd);
		struct store_val a[] = { SV_TEXT(pname), SV_TEXT(comp), SV_TEXT(name),
					 SV_TEXT(version), SV_TEXT(device), SV_TEXT(cds),
					 SV_INT(now), SV_INT(now) };
		ret = cds ? store_exec(s->db, "INSERT INTO t_component_info (f_provider_name,"
				       " f_component_name, f_name, f_version, f_device,"
				       " f_component_description, f_create_time, f_update_time)"
				       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", a, FF_ARRAY_SIZE(a),
				       NULL, NULL, NULL, err) : FF_ENOMEM;
		ff_free(cds);
	}
	json_decref(all);
	return ret;
}

int provider_register(struct site *s, const json_t *body, bool *created, struct ff_error *err)
{
	char name[64], version[64], device[64], pname[200];
	int ret = provider_check(body, name, version, device, err);
	if (ret)
		return ret;
	snprintf(pname, sizeof(pname), "%s:%s@%s", name, version, device);
	char *md = jsonx_dumps(json_object_get(body, "metadata"));
	int64_t now = clock_now_ms();
	*created = json_object_get(s->providers->providers, pname) == NULL;
	ret = store_txn_begin(s->db, err);
	struct store_val a[] = { SV_TEXT(pname), SV_TEXT(name), SV_TEXT(version), SV_TEXT(device),
				 SV_TEXT(md), SV_INT(now), SV_INT(now) };
	if (!ret)
		ret = store_exec(s->db, "INSERT INTO t_provider_info (f_provider_name, f_name,"
				 " f_version, f_device, f_metadata, f_create_time, f_update_time)"
				 " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (f_provider_name) DO UPDATE"
				 " SET f_metadata = excluded.f_metadata, f_update_time ="
				 " excluded.f_update_time", a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	if (!ret)
		ret = provider_store_components(s, pname, name, version, device,
						json_object_get(body, "components_description"), now, err);
	if (!ret)
		ret = store_txn_commit(s->db, err);
	else
		store_txn_abort(s->db);
	ff_free(md);
	if (!ret)
		ret = provider_reload(s, err);
	return ret;
}

int provider_delete(struct site *s, const char *name, const char *version,
		    const char *device, const char *provider_name, int64_t *deleted,
		    struct ff_error *err)
{
	if (!name && !version && !device && !provider_name)
		return ff_error_set(err, FF_EPARAM, "give name, version, device or provider_name");
	struct store_val a[] = { SV_TEXT(name), SV_TEXT(name), SV_TEXT(version), SV_TEXT(version),
				 SV_TEXT(device), SV_TEXT(device), SV_TEXT(provider_name),
				 SV_TEXT(provider_name) };
	const char *where = " WHERE (? IS NULL OR f_name = ?) AND (? IS NULL OR f_version = ?) AND"
			    " (? IS NULL OR f_device = ?) AND (? IS NULL OR f_provider_name = ?)";
	char sql[512];
	snprintf(sql, sizeof(sql), "DELETE FROM t_component_info%s", where);
	int ret = store_exec(s->db, sql, a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
	snprintf(sql, sizeof(sql), "DELETE FROM t_provider_info%s", where);
	if (!ret)
		ret = store_exec(s->db, sql, a, FF_ARRAY_SIZE(a), NULL, NULL, deleted, err);
	if (!ret)
		ret = provider_reload(s, err);
	return ret;
}

static char *provider_python(const json_t *md)
{
	const char *venv = jsonx_str(md, "venv");
	if (!venv)
		return ff_strdup("/usr/bin/python3");
	if (fs_is_dir(venv))
		return ff_asprintf("%s/bin/python", venv);
	return ff_strdup(venv);
}

char **provider_argv(const struct provider_info *p, const char *const *extra)
{
	size_t n = 0;
	while (extra && extra[n])
		n++;
	char **argv = ff_calloc(n + 6, sizeof(*argv));
	if (!argv)
		return NULL;
	size_t j = 0;
	const char *exe = jsonx_str(p->metadata, "executable");
	if (exe) {
		argv[j++] = ff_strdup(exe);
	} else {
		const char *mod = jsonx_str(p->metadata, "module");
		argv[j++] = provider_python(p->metadata);
		argv[j++] = ff_strdup("-m");
		argv[j++] = ff_strdup(mod ? mod : "fate.components");
	}
	argv[j++] = ff_strdup("component");
	for (size_t i = 0; i < n; i++)
		argv[j++] = ff_strdup(extra[i]);
	for (size_t i = 0; i < j; i++)
		if (!argv[i]) {
			provider_argv_free(argv);
			return NULL;
		}
	return argv;
}

void provider_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		ff_free(*a);
	ff_free(argv);
}

char **provider_env(const struct provider_info *p)
{
	char **env = ff_calloc(4, sizeof(*env));
	if (!env)
		return NULL;
	const char *path = jsonx_str(p->metadata, "path");
	if (path && !jsonx_str(p->metadata, "executable")) {
		const char *old = getenv("PYTHONPATH");
		env[0] = old && *old ? ff_asprintf("PYTHONPATH=%s:%s", path, old)
				     : ff_asprintf("PYTHONPATH=%s", path);
	}
	return env;
}
