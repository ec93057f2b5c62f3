// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - fedflow-component, the built-in provider's executable.
 *
 * FATE 2.x's component CLI contract (spec §8.3):
 *   component describe
 *       all components' descriptions as JSON (fedflowd reads it at start)
 *   component artifact-type --name N --role R --stage S --output-path F
 *   component execute --config F --execution-final-meta-path M
 *   component cleanup [--config F]
 * Exit status 0 on success, 1 when the task failed (the final meta says
 * why), 2 on usage errors.
 */
#include "ff_setup.h"
#include "comp.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: fedflow-component component describe\n"
		"       fedflow-component component artifact-type --name N --role R --stage S "
		"--output-path F\n"
		"       fedflow-component component execute --config F "
		"--execution-final-meta-path M\n"
		"       fedflow-component component cleanup\n");
	return 2;
}

static int cmd_describe(void)
{
	json_t *all = json_object();
	size_t n;
	const struct comp *const *list = comp_list_all(&n);
	for (size_t i = 0; i < n; i++)
		json_object_set_new(all, list[i]->name, list[i]->describe());
	json_t *out = json_pack("{s:s,s:s,s:o}", "provider", "fedflow", "version", FF_VERSION,
				"components", all);
	char *text = jsonx_dumps(out);
	json_decref(out);
	if (!text)
		return 1;
	puts(text);
	ff_free(text);
	return 0;
}

/* FATE's ComponentIOArtifactsTypeSpec for one component. */
static int cmd_artifact_type(int argc, char **argv)
{
	const char *name = opt(argc, argv, "--name"), *path = opt(argc, argv, "--output-path");
	const struct comp *c = name ? comp_find(name) : NULL;
	if (!c || !path)
		return usage();
	json_t *d = c->describe();
	json_t *spec = json_pack("{s:{s:[],s:[]},s:{s:[],s:[],s:[]}}", "inputs", "data", "model",
				 "outputs", "data", "model", "metric");
	const char *sides[][2] = { { "input_artifacts", "inputs" }, { "output_artifacts", "outputs" } };
	for (size_t s = 0; s < 2; s++) {
		const char *kind;
		json_t *set;
		json_object_foreach(json_object_get(d, sides[s][0]), kind, set) {
			const char *key;
			json_t *a;
			json_object_foreach(set, key, a) {
				json_t *types = json_array();
				size_t i;
				json_t *tn;
				json_array_foreach(json_object_get(a, "types"), i, tn)
					json_array_append_new(types, json_pack("{s:O}", "type_name", tn));
				json_array_append_new(jsonx_path(spec, sides[s][1]) ?
						      json_object_get(jsonx_path(spec, sides[s][1]), kind) : NULL,
						      json_pack("{s:s,s:O,s:O,s:o}", "name", key,
								"optional", json_object_get(a, "optional"),
								"is_multi", json_object_get(a, "is_multi"),
								"types", types));
			}
		}
	}
	char *text = jsonx_dumps(spec);
	int ret = text ? fs_write_atomic(path, text, strlen(text), NULL) : FF_ENOMEM;
	ff_free(text);
	json_decref(spec);
	json_decref(d);
	return ret ? 1 : 0;
}

static int cmd_execute(int argc, char **argv)
{
	const char *cfg = opt(argc, argv, "--config");
	const char *meta = opt(argc, argv, "--execution-final-meta-path");
	struct ff_error err = FF_ERROR_INIT;
	struct ff_task *t = NULL;
	if (!cfg || !meta)
		return usage();
	int ret = ff_task_load(cfg, meta, &t, &err);
	if (ret) {
		fprintf(stderr, "fedflow-component: %s\n", ff_error_msg(&err, ret));
		return 1;
	}
	const struct comp *c = comp_find(ff_task_component(t));
	if (!c)
		ret = ff_error_set(&err, FF_EINVAL, "component '%s' is not in the fedflow provider",
				   ff_task_component(t));
	else
		ret = c->run(t, &err);
	int code = ff_task_finish(t, ret, ret ? ff_error_msg(&err, ret) : NULL);
	if (ret)
		fprintf(stderr, "fedflow-component: %s\n", ff_error_msg(&err, ret));
	ff_task_free(t);
	return code;
}

int main(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "component"))
		return usage();
	const char *sub = argv[2];
	if (!strcmp(sub, "describe"))
		return cmd_describe();
	if (!strcmp(sub, "artifact-type"))
		return cmd_artifact_type(argc, argv);
	if (!strcmp(sub, "execute"))
		return cmd_execute(argc, argv);
	if (!strcmp(sub, "cleanup"))
		return 0; /* processes leave no sessions behind */
	return usage();
}
