// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz-dag.c - libFuzzer harness for the DAG parser: bytes -> YAML/JSON
 * (jsonx_load_any) -> dag_parse -> dag_dependency for every party.
 *
 * The context has a provider default and a small fake registry so inputs
 * reach the provider, component, artifact-key and cores paths, not only
 * the shape checks. Any result is fine; crashes, leaks and sanitizer
 * reports are the findings.
 *
 * Build (clang): compile this file with -fsanitize=fuzzer,address,undefined
 * -Isrc/base -Isrc and link it with the .c files of src/dag and src/base,
 * -ljansson -lfyaml -lcurl -lm -lpthread.
 */
#include "ff_setup.h"
#include "dag/dag.h"
#include "jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *fuzz_specs;

static const json_t *fuzz_component_spec(void *arg, const char *provider,
					 const char *component)
{
	(void)arg;
	(void)provider;
	return json_object_get(fuzz_specs, component);
}

static bool fuzz_provider_exists(void *arg, const char *provider)
{
	(void)arg;
	return strncmp(provider, "fate:", 5) == 0;
}

static void fuzz_init(void)
{
	static const char specs[] =
		"{\"noop\": {\"roles\": [\"guest\", \"host\", \"arbiter\", \"local\"],"
		" \"output_artifacts\": {\"data\": {\"output_data\": {}},"
		" \"model\": {\"output_model\": {}}}},"
		" \"reader\": {\"roles\": [\"guest\", \"host\"],"
		" \"output_artifacts\": {\"data\": {\"output_data\": {}}}},"
		" \"blank\": {}}";
	if (!fuzz_specs)
		fuzz_specs = json_loads(specs, 0, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = NULL;
	struct dag_job *job = NULL;
	struct dag_ctx ctx = {
		.local_party_id = "9999",
		.computing_engine = "standalone",
		.default_provider_version = "2.1.0",
		.site_cores = 64,
		.provider_exists = fuzz_provider_exists,
		.component_spec = fuzz_component_spec,
	};
	fuzz_init();
	if (jsonx_load_any((const char *)data, size, &doc, NULL))
		goto out;
	if (dag_parse(doc, &ctx, &job, NULL))
		goto out;
	for (size_t i = 0; i < job->nparties; i++)
		json_decref(dag_dependency(job, job->parties[i].role, job->parties[i].party_id));
	dag_job_set_id(job, "202601010000000000000");
	/* what the initiator sends must parse again on a partner */
	ctx.local_party_id = NULL;
	struct dag_job *again = NULL;
	if (dag_parse(job->schema, &ctx, &again, NULL))
		__builtin_trap();
	dag_job_free(again);
out:
	dag_job_free(job);
	json_decref(doc);
	return 0;
}
