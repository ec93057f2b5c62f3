/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider.h - algorithm providers and their components (spec §8).
 *
 * A provider is "name:version@device" with metadata saying how to start
 * its components: a native executable (metadata.executable, like the
 * built-in provider) or a Python package (metadata.path + metadata.venv,
 * started as `<python> -m <module> component ...`, module defaulting to
 * fate.components as FATE's provider). The built-in provider
 * fedflow:<version>@local is registered at every start from its
 * executable's own `component describe` output.
 *
 * The registry lives in t_provider_info / t_component_info; the core
 * thread keeps a cache of it for job creation (provider_dag_ctx) and task
 * starts. Core thread only, except the read-only API queries.
 */
#ifndef FF_PROVIDER_H
#define FF_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>
#include "err.h"

struct site;
struct dag_ctx;

struct provider_info {
	char provider_name[200];
	char name[64];
	char version[64];
	char device[64];
	json_t *metadata;          /* owned reference */
};

int provider_init(struct site *s, struct ff_error *err);
void provider_release(struct site *s);

/* Fills a DAG parse context for this site (callbacks use the cache). */
void provider_dag_ctx(struct site *s, struct dag_ctx *ctx, bool is_local_job);

/* Looks up a registered provider; FF_EPROVIDER when unknown. */
int provider_get(struct site *s, const char *provider_name, struct provider_info *out,
		 struct ff_error *err);
void provider_info_release(struct provider_info *p);

/* Component description (borrowed from the cache) or NULL. */
const json_t *provider_component(struct site *s, const char *provider_name,
				 const char *component);

/*
 * Registers or updates a provider from a FATE register body
 * {name, device, version, metadata, components_description?}. *created
 * tells create from update. FF_EDEVICE for docker/k8s/unknown devices,
 * FF_ENOTFOUND when metadata paths do not exist.
 */
int provider_register(struct site *s, const json_t *body, bool *created, struct ff_error *err);
/* Deletes providers matching the non-NULL filters; *deleted gets the count. */
int provider_delete(struct site *s, const char *name, const char *version,
		    const char *device, const char *provider_name, int64_t *deleted,
		    struct ff_error *err);

/*
 * argv for `component <sub> ...` of provider p (owned, NULL-terminated;
 * free with provider_argv_free). extra args are appended.
 */
char **provider_argv(const struct provider_info *p, const char *const *extra);
void provider_argv_free(char **argv);
/* Extra environment (KEY=VALUE, NULL-terminated, owned) for provider p. */
char **provider_env(const struct provider_info *p);

#endif
