// SPDX-License-Identifier: Apache-2.0
/*
 * test_dag.c - unit tests of src/dag: the FATE train_lr example, ordering,
 * conf precedence, parameters, providers, cores, input channels, the
 * dependency view, OOM handling, and every bad input of
 * data/dag/bad.yaml as its own test (exact messages).
 *
 * The component registry is faked: fake_specs below maps
 * "name:version" -> {component: ComponentSpec}.
 */
#include "ff_setup.h"
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include "dag/dag.h"
#include "err.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

#ifndef DAG_TEST_DATA
#error "DAG_TEST_DATA must name tests/unit/data/dag"
#endif

/* ---- fake provider registry ---- */

#define OUT_DATA(k) "\"data\": {\"" k "\": {}}"
#define LEARNER "{\"roles\": [\"guest\", \"host\"], \"output_artifacts\": {" \
	"\"data\": {\"train_output_data\": {}, \"test_output_data\": {}}, " \
	"\"model\": {\"output_model\": {}}}}"

static const char fake_specs_json[] =
	"{\"fate:2.1.0\": {"
	"  \"reader\": {\"roles\": [\"guest\", \"host\"], \"output_artifacts\": {" OUT_DATA("output_data") "}},"
	"  \"psi\": {\"roles\": [\"guest\", \"host\"], \"output_artifacts\": {" OUT_DATA("output_data") "}},"
	"  \"feature_scale\": " LEARNER ","
	"  \"hetero_feature_binning\": " LEARNER ","
	"  \"hetero_feature_selection\": " LEARNER ","
	"  \"coordinated_lr\": {\"roles\": [\"guest\", \"host\", \"arbiter\"], \"output_artifacts\": {"
	"      \"data\": {\"train_output_data\": {}}, \"model\": {\"output_model\": {}}}},"
	"  \"evaluation\": {\"roles\": [\"guest\", \"host\"], \"output_artifacts\": {\"metric\": {\"metric\": {}}}},"
	"  \"noop\": {\"roles\": [\"guest\", \"host\", \"arbiter\", \"local\"], \"output_artifacts\": {"
	"      " OUT_DATA("output_data") ", \"model\": {\"output_model\": {}}}},"
	"  \"blank\": {\"roles\": [\"guest\", \"host\"]}"
	"}, \"fate:2.2.0\": {"
	"  \"noop\": {\"roles\": [\"guest\", \"host\", \"arbiter\"], \"output_artifacts\": {" OUT_DATA("output_data") "}}"
	"}, \"fate_flow:2.1.0\": {"
	"  \"upload\": {\"roles\": [\"local\"], \"output_artifacts\": {\"data\": {\"table\": {}}}}"
	"}}";

static json_t *fake_specs;

static bool fake_exists(void *arg, const char *provider)
{
	(void)arg;
	static const char *const known[] = {
		"fate:2.1.0@local", "fate:2.2.0@local", "fate_flow:2.1.0@local",
	};
	for (size_t i = 0; i < FF_ARRAY_SIZE(known); i++)
		if (!strcmp(provider, known[i]))
			return true;
	return false;
}

static const json_t *fake_spec(void *arg, const char *provider, const char *component)
{
	char key[128];
	size_t n = strcspn(provider, "@");
	(void)arg;
	snprintf(key, sizeof(key), "%.*s", (int)n, provider);
	return json_object_get(json_object_get(fake_specs, key), component);
}

static struct dag_ctx test_ctx(void)
{
	return (struct dag_ctx){
		.local_party_id = "9999",
		.computing_engine = "standalone",
		.default_provider_name = "fate",
		.default_provider_version = "2.1.0",
		.default_provider_device = "local",
		.provider_exists = fake_exists,
		.component_spec = fake_spec,
	};
}

/* ---- helpers ---- */

static json_t *load_text(const char *text)
{
	json_t *doc = NULL;
	struct ff_error err = FF_ERROR_INIT;
	int ret = jsonx_load_any(text, strlen(text), &doc, &err);
	if (ret)
		fail_msg("cannot load test DAG: %s", err.msg);
	return doc;
}

static json_t *load_file(const char *name)
{
	struct ff_buf b = FF_BUF_INIT;
	struct ff_error err = FF_ERROR_INIT;
	char path[512];
	json_t *doc = NULL;
	snprintf(path, sizeof(path), "%s/%s", DAG_TEST_DATA, name);
	if (fs_read_file(path, &b, &err) || jsonx_load_any(b.buf, b.len, &doc, &err))
		fail_msg("cannot load '%s': %s", path, err.msg);
	ff_buf_release(&b);
	return doc;
}

static struct dag_job *parse_ok(const json_t *doc, const struct dag_ctx *ctx)
{
	struct dag_job *job = NULL;
	struct ff_error err = FF_ERROR_INIT;
	int ret = dag_parse(doc, ctx, &job, &err);
	if (ret)
		fail_msg("dag_parse failed (%s): %s", ff_errname(ret), err.msg);
	assert_non_null(job);
	return job;
}

static struct dag_job *parse_file(const char *name, const struct dag_ctx *ctx)
{
	json_t *doc = load_file(name);
	struct dag_job *job = parse_ok(doc, ctx);
	json_decref(doc);
	return job;
}

static struct dag_job *parse_text(const char *text, const struct dag_ctx *ctx)
{
	json_t *doc = load_text(text);
	struct dag_job *job = parse_ok(doc, ctx);
	json_decref(doc);
	return job;
}

/* Compact JSON of v compared with the expected text (keys in order). */
static void assert_json(const json_t *v, const char *expected)
{
	char *got = jsonx_dumps(v);
	json_t *want = load_text(expected);
	char *exp = jsonx_dumps(want);
	assert_non_null(got);
	assert_string_equal(got, exp);
	ff_free(got);
	ff_free(exp);
	json_decref(want);
}

static const struct dag_party_task *ptask(const struct dag_job *job, const char *task,
					  const char *role, const char *party_id)
{
	const struct dag_task *t = dag_find_task(job, task);
	assert_non_null(t);
	const struct dag_party_task *pt = dag_find_ptask(t, role, party_id);
	if (!pt)
		fail_msg("task '%s' has no party task at %s %s", task, role, party_id);
	return pt;
}

static void assert_order(const struct dag_job *job, const char *const *names, size_t n)
{
	assert_int_equal(job->ntasks, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(job->tasks[i].name, names[i]);
}

static void assert_deps(const struct dag_job *job, const char *task,
			const char *const *deps, size_t n)
{
	const struct dag_task *t = dag_find_task(job, task);
	assert_non_null(t);
	assert_int_equal(t->ndeps, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(t->deps[i], deps[i]);
}

static void assert_parties(const struct dag_task *t, const char *const *parties, size_t n)
{
	assert_int_equal(t->nptasks, n);
	for (size_t i = 0; i < n; i++) {
		char got[2 * DAG_ID_MAX + 2];
		snprintf(got, sizeof(got), "%s:%s", t->ptasks[i].party.role, t->ptasks[i].party.party_id);
		assert_string_equal(got, parties[i]);
	}
}

#define ARR(...) ((const char *const[]){ __VA_ARGS__ }), \
	(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* ---- the FATE example ---- */

static void test_train_lr_order_and_parties(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("train_lr.yaml", &ctx);
	assert_order(job, ARR("reader_0", "psi_0", "scale_0", "binning_0", "selection_0",
			      "lr_0", "evaluation_0"));
	assert_string_equal(job->schema_version, "2.0.0");
	assert_int_equal(job->nparties, 3);
	assert_true(dag_has_party(job, "arbiter", "9998"));
	assert_false(dag_has_party(job, "arbiter", "9999"));
	assert_parties(dag_find_task(job, "lr_0"), ARR("guest:9999", "host:9998", "arbiter:9998"));
	assert_parties(dag_find_task(job, "evaluation_0"), ARR("guest:9999"));
	assert_parties(dag_find_task(job, "reader_0"), ARR("guest:9999", "host:9998"));
	assert_null(dag_find_task(job, "nope"));
	assert_null(dag_find_ptask(dag_find_task(job, "evaluation_0"), "host", "9998"));
	/* binning's model feeds selection: a dependency like the data edge */
	assert_deps(job, "selection_0", ARR("scale_0", "binning_0"));
	assert_deps(job, "lr_0", ARR("selection_0"));
	assert_deps(job, "reader_0", NULL, 0);
	assert_string_equal(dag_find_task(job, "lr_0")->stage, "train");
	assert_string_equal(dag_find_task(job, "reader_0")->stage, "default");
	assert_string_equal(dag_find_task(job, "lr_0")->component, "coordinated_lr");
	dag_job_free(job);
}

static void test_train_lr_party_values(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("train_lr.yaml", &ctx);
	assert_json(ptask(job, "reader_0", "guest", "9999")->parameters,
		    "{\"name\": \"breast_hetero_guest\", \"namespace\": \"experiment\"}");
	assert_json(ptask(job, "reader_0", "host", "9998")->parameters,
		    "{\"name\": \"breast_hetero_host\", \"namespace\": \"experiment\"}");
	const struct dag_party_task *lr_g = ptask(job, "lr_0", "guest", "9999");
	const struct dag_party_task *lr_a = ptask(job, "lr_0", "arbiter", "9998");
	assert_json(lr_g->inputs, "{\"data\": {\"train_data\": {\"output_artifact_key\": "
		    "\"train_output_data\", \"producer_task\": \"selection_0\", \"parties\": "
		    "[{\"role\": \"guest\", \"party_id\": [\"9999\"]}]}}}");
	/* the channel names guest and host only: the arbiter gets no inputs */
	assert_json(lr_a->inputs, "{}");
	assert_json(ptask(job, "psi_0", "host", "9998")->inputs,
		    "{\"data\": {\"input_data\": {\"output_artifact_key\": \"output_data\", "
		    "\"producer_task\": \"reader_0\", \"parties\": [{\"role\": \"host\", "
		    "\"party_id\": [\"9998\"]}]}}}");
	assert_json(ptask(job, "evaluation_0", "guest", "9999")->inputs,
		    "{\"data\": {\"input_datas\": {\"output_artifact_key\": \"train_output_data\", "
		    "\"producer_task\": \"lr_0\", \"parties\": [{\"role\": \"guest\", "
		    "\"party_id\": [\"9999\"]}]}}}");
	assert_string_equal(lr_g->provider, "fate:2.1.0@local");
	assert_int_equal(lr_g->timeout, 259200);
	assert_string_equal(lr_g->launcher_name, "default");
	assert_int_equal(lr_g->task_cores, 4);
	assert_int_equal(lr_a->task_cores, 0);
	assert_json(lr_g->engine_run, "{\"cores\": 4}");
	assert_json(lr_a->engine_run, "{\"cores\": 1}");
	assert_json(lr_g->conf, "{}");
	assert_int_equal(job->job_cores, 4);
	assert_int_equal(job->task_cores, 4);
	dag_job_free(job);
}

static void test_train_lr_conf_written_back(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("train_lr.yaml", &ctx);
	assert_string_equal(job->initiator_party_id, "9999");
	assert_string_equal(job->scheduler_party_id, "9999");
	assert_string_equal(job->sync_type, "callback");
	assert_int_equal(job->computing_partitions, 8);
	assert_int_equal(job->auto_retries, 0);
	assert_int_equal(job->priority, 0);
	assert_null(job->model_id);
	assert_string_equal(job->model_version, "0");
	assert_null(job->model_warehouse);
	assert_null(job->inheritance);
	assert_json(jsonx_path(job->schema, "dag.conf"),
		    "{\"priority\": 0, \"initiator_party_id\": \"9999\", \"scheduler_party_id\": "
		    "\"9999\", \"computing_partitions\": 8, \"sync_type\": \"callback\", "
		    "\"auto_retries\": 0, \"model_version\": \"0\"}");
	assert_string_equal(jsonx_str(job->schema, "kind"), "fate");
	assert_int_equal(dag_job_set_id(job, "202611261230001234560"), FF_OK);
	assert_string_equal(job->model_id, "202611261230001234560");
	assert_string_equal(jsonx_str(jsonx_path(job->schema, "dag.conf"), "model_id"),
			    "202611261230001234560");
	assert_int_equal(dag_job_set_id(job, "other"), FF_OK);  /* once only */
	assert_string_equal(job->model_id, "202611261230001234560");
	assert_int_equal(dag_job_set_id(job, ""), FF_EINVAL);
	dag_job_free(job);
}

/* What the initiator sends parses the same on a partner that keeps it. */
static void test_partner_reparse(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("train_lr.yaml", &ctx);
	assert_int_equal(dag_job_set_id(job, "j1"), FF_OK);
	ctx.local_party_id = NULL;  /* partner: keep the initiator from the DAG */
	struct dag_job *again = parse_ok(job->schema, &ctx);
	assert_string_equal(again->initiator_party_id, "9999");
	assert_string_equal(again->model_id, "j1");
	assert_int_equal(again->ntasks, job->ntasks);
	for (size_t i = 0; i < job->ntasks; i++)
		assert_string_equal(again->tasks[i].name, job->tasks[i].name);
	char *a = jsonx_dumps(job->schema), *b = jsonx_dumps(again->schema);
	assert_string_equal(a, b);
	ff_free(a);
	ff_free(b);
	dag_job_free(again);
	dag_job_free(job);
}

static void test_dependency_view(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("train_lr.yaml", &ctx);
	json_t *dep = dag_dependency(job, "host", "9998");
	assert_json(json_object_get(dep, "component_list"), "[\"reader_0\", \"psi_0\", "
		    "\"scale_0\", \"binning_0\", \"selection_0\", \"lr_0\"]");
	assert_string_equal(jsonx_str(json_object_get(dep, "component_stage"), "psi_0"), "default");
	assert_string_equal(jsonx_str(json_object_get(dep, "component_stage"), "lr_0"), "train");
	assert_string_equal(jsonx_str(json_object_get(dep, "component_module"), "lr_0"),
			    "coordinated_lr");
	json_t *deps = json_object_get(dep, "dependencies");
	assert_json(json_object_get(deps, "reader_0"), "[{\"up_output_info\": []}]");
	assert_json(json_object_get(deps, "selection_0"),
		    "[{\"type\": \"train_data\", \"model_type\": \"data\", \"component_name\": "
		    "\"scale_0\", \"up_output_info\": [\"train_output_data\"]}, {\"type\": "
		    "\"input_models\", \"model_type\": \"model\", \"component_name\": \"binning_0\", "
		    "\"up_output_info\": [\"output_model\"]}]");
	json_decref(dep);
	dep = dag_dependency(job, "arbiter", "9998");
	assert_json(dep, "{\"component_list\": [\"lr_0\"], \"component_stage\": {\"lr_0\": "
		    "\"train\"}, \"component_module\": {\"lr_0\": \"coordinated_lr\"}, "
		    "\"dependencies\": {\"lr_0\": [{\"up_output_info\": []}]}}");
	json_decref(dep);
	dep = dag_dependency(job, "guest", "1");
	assert_json(dep, "{\"component_list\": [], \"component_stage\": {}, "
		    "\"component_module\": {}, \"dependencies\": {}}");
	json_decref(dep);
	dag_job_free(job);
}

/* ---- ordering ---- */

static void test_fan_out_fan_in(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("fan.yaml", &ctx);
	/* ready tasks are taken in declaration order (g, f, e, d, c, b, a) */
	assert_order(job, ARR("a", "d", "g", "c", "b", "e", "f"));
	assert_deps(job, "a", NULL, 0);  /* dependent_tasks is ignored */
	assert_deps(job, "b", ARR("a"));
	assert_deps(job, "e", ARR("b", "c"));
	assert_deps(job, "f", ARR("d", "e"));
	assert_deps(job, "g", ARR("d"));
	/* integer party ids became text, in the schema too */
	assert_parties(dag_find_task(job, "e"), ARR("guest:9999", "host:9998", "host:9997"));
	assert_json(jsonx_path(job->schema, "dag.parties"),
		    "[{\"role\": \"guest\", \"party_id\": [\"9999\"]}, "
		    "{\"role\": \"host\", \"party_id\": [\"9998\", \"9997\"]}]");
	/* fan-in of two channels under one key stays a list */
	json_t *in = jsonx_path(ptask(job, "e", "host", "9997")->inputs, "data.input_data");
	assert_true(json_is_array(in));
	assert_int_equal(json_array_size(in), 2);
	assert_string_equal(jsonx_str(json_array_get(in, 1), "producer_task"), "c");
	assert_json(json_object_get(json_array_get(in, 1), "parties"),
		    "[{\"role\": \"host\", \"party_id\": [\"9997\"]}]");
	dag_job_free(job);
}

/* ---- conf precedence and parameters ---- */

static void test_conf_precedence(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("conf_chain.yaml", &ctx);
	const struct dag_party_task *tg = ptask(job, "t", "guest", "9999");
	const struct dag_party_task *th = ptask(job, "t", "host", "9998");
	assert_json(tg->conf, "{\"k1\": \"job\", \"k2\": \"task\", \"k3\": \"party\", \"k4\": "
		    "\"ptask\", \"timeout\": 400, \"engine_run\": {\"cores\": 3}}");
	assert_json(th->conf, "{\"k1\": \"job\", \"k2\": \"task\", \"k3\": \"task\", \"k4\": "
		    "\"task\", \"timeout\": 100, \"engine_run\": {\"cores\": 3}}");
	assert_int_equal(tg->timeout, 400);
	assert_int_equal(th->timeout, 100);
	/* tasks.t.conf.engine_run replaces dag.conf.task.engine_run (shallow) */
	assert_json(tg->engine_run, "{\"cores\": 3}");
	assert_int_equal(tg->task_cores, 3);
	assert_null(dag_find_ptask(dag_find_task(job, "t"), "arbiter", "9998"));

	const struct dag_party_task *ug = ptask(job, "u", "guest", "9999");
	const struct dag_party_task *ua = ptask(job, "u", "arbiter", "9998");
	assert_string_equal(jsonx_str(ug->conf, "k2"), "job");
	assert_string_equal(jsonx_str(ug->conf, "k3"), "party");
	assert_string_equal(jsonx_str(ug->conf, "k4"), "party");
	assert_string_equal(jsonx_str(ua->conf, "k3"), "arbiter");
	assert_string_equal(jsonx_str(ua->conf, "k4"), "job");
	assert_string_equal(ug->launcher_name, "deepspeed");
	assert_json(ug->engine_run, "{\"cores\": 2, \"mode\": \"fast\"}");
	assert_json(ua->engine_run, "{\"cores\": 1, \"mode\": \"fast\"}");
	assert_int_equal(ug->task_cores, 2);
	assert_int_equal(ua->task_cores, 0);
	assert_int_equal(job->task_cores, 3);
	assert_int_equal(job->job_cores, 4);
	dag_job_free(job);
}

static void test_parameter_overrides(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("conf_chain.yaml", &ctx);
	/* key by key, shallow; the later party_tasks block wins */
	assert_json(ptask(job, "t", "guest", "9999")->parameters,
		    "{\"a\": 1, \"b\": {\"y\": 2}, \"c\": 4}");
	assert_json(ptask(job, "t", "host", "9998")->parameters, "{\"a\": 1, \"b\": {\"x\": 1}}");
	assert_json(ptask(job, "u", "host", "9998")->parameters, "{}");
	/* party tasks own deep copies: the schema is untouched */
	assert_json(jsonx_path(job->schema, "dag.tasks.t.parameters"),
		    "{\"a\": 1, \"b\": {\"x\": 1}}");
	dag_job_free(job);
}

/* ---- providers ---- */

static const char provider_dag[] =
	"{\"schema_version\": \"2.0.0\", \"dag\": {\"parties\": ["
	"{\"role\": \"guest\", \"party_id\": [\"9999\"]}, {\"role\": \"host\", \"party_id\": [\"9998\"]}],"
	" \"tasks\": {\"a\": {\"component_ref\": \"noop\", \"conf\": {\"provider\": \"%s\"}}},"
	" \"party_tasks\": {\"h\": {\"parties\": [{\"role\": \"host\", \"party_id\": [\"9998\"]}],"
	" \"conf\": {\"provider\": \"%s\"}}}}}";

static void check_provider(const char *task_provider, const char *host_provider,
			   const char *want_guest, const char *want_host)
{
	char text[1024];
	struct dag_ctx ctx = test_ctx();
	snprintf(text, sizeof(text), provider_dag, task_provider, host_provider);
	struct dag_job *job = parse_text(text, &ctx);
	assert_string_equal(ptask(job, "a", "guest", "9999")->provider, want_guest);
	assert_string_equal(ptask(job, "a", "host", "9998")->provider, want_host);
	dag_job_free(job);
}

static void test_provider_resolution(void **state)
{
	(void)state;
	check_provider("*:*@*", ":@", "fate:2.1.0@local", "fate:2.1.0@local");
	check_provider("fate:2.2.0@*", "*:*@*", "fate:2.2.0@local", "fate:2.1.0@local");
	check_provider(":2.2.0@local", "fate:2.2.0@", "fate:2.2.0@local", "fate:2.2.0@local");
	check_provider("fate:2.1.0@local", "*:2.2.0@*", "fate:2.1.0@local", "fate:2.2.0@local");
	check_provider("", "fate:2.2.0@local", "fate:2.1.0@local", "fate:2.2.0@local");

	/* no provider anywhere: the site default; a local job on fate_flow */
	struct dag_ctx ctx = test_ctx();
	ctx.is_local_job = true;
	ctx.local_party_id = "10000";
	struct dag_job *job = parse_text(
		"{schema_version: 2.1.0, dag: {parties: [{role: local, party_id: ['0']}],"
		" tasks: {upload_0: {component_ref: upload, conf: {provider: 'fate_flow:*@*'}},"
		" noop_0: {component_ref: noop}}}}", &ctx);
	assert_string_equal(ptask(job, "upload_0", "local", "0")->provider, "fate_flow:2.1.0@local");
	assert_string_equal(ptask(job, "noop_0", "local", "0")->provider, "fate:2.1.0@local");
	assert_string_equal(job->initiator_party_id, "10000");
	assert_string_equal(job->scheduler_party_id, "0");
	dag_job_free(job);
}

/* Without callbacks every provider and component is accepted. */
static void test_no_registry(void **state)
{
	(void)state;
	struct dag_ctx ctx = { .local_party_id = "1", .default_provider_version = "2.1.0" };
	struct dag_job *job = parse_text(
		"{schema_version: 2, dag: {parties: [{role: guest, party_id: [1]}],"
		" conf: {scheduler_party_id: 7, model_version: 12, model_id: m},"
		" tasks: {a: {component_ref: anything, conf: {provider: 'x:1@gpu'}},"
		" b: {component_ref: blank, inputs: {data: {d: {task_output_artifact:"
		" {producer_task: a, output_artifact_key: whatever}}}}}}}}", &ctx);
	assert_string_equal(job->schema_version, "2");
	assert_string_equal(ptask(job, "a", "guest", "1")->provider, "x:1@gpu");
	assert_string_equal(ptask(job, "b", "guest", "1")->provider, "fate:2.1.0@local");
	assert_string_equal(job->initiator_party_id, "1");
	assert_string_equal(job->scheduler_party_id, "7");
	assert_string_equal(job->model_version, "12");
	assert_string_equal(job->model_id, "m");
	assert_string_equal(jsonx_str(jsonx_path(job->schema, "dag.conf"), "model_version"), "12");
	dag_job_free(job);

	/* no ctx at all: the DAG must carry the initiator and full providers */
	job = parse_text("{schema_version: 2.0.0, dag: {parties: [{role: host, party_id: ['5']}],"
			 " conf: {initiator_party_id: 4, task: {provider: 'p:1@local'}},"
			 " tasks: {a: {component_ref: c}}}}", NULL);
	assert_string_equal(job->initiator_party_id, "4");
	assert_string_equal(job->scheduler_party_id, "4");
	assert_string_equal(ptask(job, "a", "host", "5")->provider, "p:1@local");
	dag_job_free(job);
}

/* A component spec without output_artifacts cannot say which keys exist. */
static void test_artifact_check_unknown_shape(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_text(
		"{schema_version: 2.0.0, dag: {parties: [{role: guest, party_id: ['9999']}],"
		" tasks: {a: {component_ref: blank}, b: {component_ref: noop, inputs: {data:"
		" {d: {task_output_artifact: {producer_task: a, output_artifact_key: any}}}}}}}}",
		&ctx);
	assert_deps(job, "b", ARR("a"));
	dag_job_free(job);
}

static void test_schema_version_number(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_text("schema_version: 2.0\ndag: {parties: [{role: guest, "
					 "party_id: ['9999']}], tasks: {a: {component_ref: noop}}}\n",
					 &ctx);
	assert_string_equal(job->schema_version, "2.0");
	assert_string_equal(jsonx_str(job->schema, "schema_version"), "2.0");
	dag_job_free(job);
}

/* ---- cores (spec §5.4) ---- */

static const char cores_dag[] =
	"{\"schema_version\": \"2.0.0\", \"dag\": {\"parties\": ["
	"{\"role\": \"guest\", \"party_id\": [\"9999\"]}, {\"role\": \"arbiter\", \"party_id\": [\"9999\"]}],"
	" \"conf\": %s, \"tasks\": {\"a\": {\"component_ref\": \"noop\", \"conf\": %s}}}}";

static struct dag_job *cores_job(const char *conf, const char *task_conf,
				 const struct dag_ctx *ctx)
{
	char text[1024];
	snprintf(text, sizeof(text), cores_dag, conf, task_conf);
	return parse_text(text, ctx);
}

static void check_cores(const char *conf, const char *task_conf, long long job_cores,
			long long task_cores)
{
	struct dag_ctx ctx = test_ctx();
	ctx.site_cores = 16;
	struct dag_job *job = cores_job(conf, task_conf, &ctx);
	assert_int_equal(job->job_cores, job_cores);
	assert_int_equal(job->task_cores, task_cores);
	assert_int_equal(ptask(job, "a", "guest", "9999")->task_cores, task_cores);
	assert_int_equal(ptask(job, "a", "arbiter", "9999")->task_cores, 0);
	dag_job_free(job);
}

static void test_cores(void **state)
{
	(void)state;
	check_cores("{}", "{}", 4, 4);
	check_cores("{\"cores\": 2}", "{}", 4, 4);          /* raised to the task's cores */
	check_cores("{\"cores\": 10}", "{}", 10, 4);
	check_cores("{\"cores\": 16}", "{}", 16, 4);        /* equal to the site: fine */
	check_cores("{\"task\": {\"engine_run\": {\"cores\": 6}}}", "{}", 6, 6);
	check_cores("{\"cores\": 8, \"task\": {\"engine_run\": {\"cores\": 6}}}",
		    "{\"engine_run\": {\"cores\": 2}}", 8, 2);
	check_cores("{\"cores\": 0}", "{\"engine_run\": {\"cores\": 0}}", 0, 0);
}

static void test_cores_site_defaults(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	json_t *defaults = load_text("{job_cores: 2, computing_partitions: 16, task_timeout: 60,"
				     " auto_retries: 2, sync_type: poll,"
				     " task_run: {standalone: {cores: 1, extra: x}}}");
	ctx.job_defaults = defaults;
	struct dag_job *job = cores_job("{}", "{}", &ctx);
	assert_int_equal(job->job_cores, 2);
	assert_int_equal(job->task_cores, 1);
	assert_int_equal(job->computing_partitions, 16);
	assert_int_equal(job->auto_retries, 2);
	assert_string_equal(job->sync_type, "poll");
	const struct dag_party_task *pt = ptask(job, "a", "guest", "9999");
	assert_int_equal(pt->timeout, 60);
	assert_json(pt->engine_run, "{\"cores\": 1, \"extra\": \"x\"}");
	dag_job_free(job);

	/* the DAG beats the site */
	job = cores_job("{\"sync_type\": \"callback\", \"auto_retries\": 0, "
			"\"computing_partitions\": 4}", "{\"timeout\": 5}", &ctx);
	assert_string_equal(job->sync_type, "callback");
	assert_int_equal(job->auto_retries, 0);
	assert_int_equal(job->computing_partitions, 4);
	assert_int_equal(ptask(job, "a", "guest", "9999")->timeout, 5);
	dag_job_free(job);

	/* spark counts executors x cores; arbiter runs on one of each */
	ctx.job_defaults = NULL;
	ctx.computing_engine = "spark";
	job = cores_job("{}", "{\"engine_run\": {\"num-executors\": 3}}", &ctx);
	assert_int_equal(job->task_cores, 6);
	assert_int_equal(job->job_cores, 6);
	assert_json(ptask(job, "a", "arbiter", "9999")->engine_run,
		    "{\"num-executors\": 1, \"executor-cores\": 1}");
	dag_job_free(job);
	json_decref(defaults);

	/* a broken site default is a configuration error, not a DAG error */
	static const char *const broken[][2] = {
		{ "{job_cores: many}", "job_default_config.job_cores: expected an integer >= 0" },
		{ "{sync_type: push}", "job_default_config.sync_type: expected poll or callback" },
		{ "{task_run: {standalone: 4}}",
		  "job_default_config.task_run.standalone: expected an object" },
	};
	ctx.computing_engine = NULL;
	for (size_t i = 0; i < FF_ARRAY_SIZE(broken); i++) {
		struct ff_error err = FF_ERROR_INIT;
		json_t *doc = load_text("{schema_version: 2.0.0, dag: {parties: [{role: guest,"
					" party_id: ['9999']}], tasks: {a: {component_ref: noop}}}}");
		defaults = load_text(broken[i][0]);
		ctx.job_defaults = defaults;
		job = NULL;
		assert_int_equal(dag_parse(doc, &ctx, &job, &err), FF_EINVAL);
		assert_null(job);
		assert_string_equal(err.msg, broken[i][1]);
		json_decref(defaults);
		json_decref(doc);
	}
}

static void test_cores_site_limit_code(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct ff_error err = FF_ERROR_INIT;
	struct dag_job *job = NULL;
	json_t *doc = load_text("{schema_version: 2.0.0, dag: {parties: [{role: guest, party_id:"
				" ['9999']}], conf: {cores: 9}, tasks: {a: {component_ref: noop}}}}");
	ctx.site_cores = 8;
	int ret = dag_parse(doc, &ctx, &job, &err);
	assert_int_equal(ret, FF_ERESLIMIT);
	assert_int_equal(ff_api_code(ret), 1006);
	assert_null(job);
	ret = dag_parse(json_object_get(doc, "dag"), &ctx, &job, &err);
	assert_int_equal(ret, FF_EDAG);
	assert_int_equal(ff_api_code(ret), 1000);
	json_decref(doc);
}

/* ---- input channels ---- */

static void test_model_warehouse_fill(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("model_warehouse.yaml", &ctx);
	assert_json(job->model_warehouse, "{\"model_id\": \"m_1\", \"model_version\": \"3\"}");
	assert_deps(job, "lr_0", ARR("reader_0"));  /* warehouses add no dependency */
	assert_string_equal(dag_find_task(job, "lr_0")->stage, "predict");
	assert_json(jsonx_path(ptask(job, "lr_0", "guest", "9999")->inputs, "model"),
		    "{\"input_model\": {\"producer_task\": \"lr_0\", \"output_artifact_key\": "
		    "\"output_model\", \"model_id\": \"m_1\", \"model_version\": \"3\", \"parties\": "
		    "[{\"role\": \"guest\", \"party_id\": [\"9999\"]}]}}");
	/* a channel that names its model keeps it; a one-element list collapses */
	assert_json(jsonx_path(ptask(job, "lr_0", "host", "9998")->inputs, "model.warm_model"),
		    "{\"model_id\": \"other\", \"model_version\": \"7\", \"producer_task\": "
		    "\"lr_0\", \"output_artifact_key\": \"output_model\", \"parties\": [{\"role\": "
		    "\"host\", \"party_id\": [\"9998\"]}]}");
	dag_job_free(job);
}

static void test_channel_collapse(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	struct dag_job *job = parse_file("collapse.yaml", &ctx);
	const json_t *g = ptask(job, "c", "guest", "9999")->inputs;
	const json_t *h = ptask(job, "c", "host", "9998")->inputs;
	assert_json(jsonx_path(g, "data.table"), "{\"name\": \"t1\", \"namespace\": \"ns\", "
		    "\"parties\": [{\"role\": \"guest\", \"party_id\": [\"9999\"]}]}");
	assert_int_equal(json_array_size(jsonx_path(g, "data.both")), 2);
	assert_string_equal(jsonx_str(jsonx_path(g, "data.split"), "producer_task"), "a");
	assert_string_equal(jsonx_str(jsonx_path(h, "data.split"), "producer_task"), "b");
	assert_null(jsonx_path(g, "data.host_table"));
	assert_string_equal(jsonx_str(jsonx_path(h, "data.host_table"), "job_id"), "j1");
	assert_null(json_object_get(g, "model"));  /* empty sections are omitted */
	assert_deps(job, "c", ARR("a", "b"));
	json_t *dep = dag_dependency(job, "guest", "9999");
	assert_json(jsonx_path(dep, "dependencies.c"),
		    "[{\"type\": \"both\", \"model_type\": \"data\", \"component_name\": \"a\", "
		    "\"up_output_info\": [\"output_data\"]}, {\"type\": \"both\", \"model_type\": "
		    "\"data\", \"component_name\": \"b\", \"up_output_info\": [\"output_data\"]}, "
		    "{\"type\": \"split\", \"model_type\": \"data\", \"component_name\": \"a\", "
		    "\"up_output_info\": [\"output_data\"]}]");
	json_decref(dep);
	dag_job_free(job);
}

/* ---- out of memory: every allocation failure is FF_ENOMEM, no leak ---- */

static void test_oom(void **state)
{
	(void)state;
	struct dag_ctx ctx = test_ctx();
	json_t *doc = load_file("train_lr.yaml");
	size_t base = ff_mem_used();
	unsigned long n;
	for (n = 1; n < 100000; n++) {
		struct dag_job *job = NULL;
		struct ff_error err = FF_ERROR_INIT;
		ff_mem_fail_after(n);
		int ret = dag_parse(doc, &ctx, &job, &err);
		ff_mem_fail_after(0);
		if (!ret) {
			dag_job_free(job);
			break;
		}
		assert_int_equal(ret, FF_ENOMEM);
		assert_null(job);
		assert_int_equal(ff_mem_used(), base);
	}
	assert_true(n > 10);  /* the parse allocates; every failure point was hit */
	assert_int_equal(ff_mem_used(), base);
	json_decref(doc);
}

/* ---- bad inputs, from data/dag/bad.yaml ---- */

static int code_by_name(const char *name)
{
	if (!name || !strcmp(name, "EDAG"))
		return FF_EDAG;
	if (!strcmp(name, "ERESLIMIT"))
		return FF_ERESLIMIT;
	if (!strcmp(name, "EINVAL"))
		return FF_EINVAL;
	fail_msg("unknown code '%s' in bad.yaml", name);
	return 0;
}

static void apply_ctx_overrides(struct dag_ctx *ctx, const json_t *o)
{
	if (json_object_get(o, "local_party_id"))
		ctx->local_party_id = jsonx_str(o, "local_party_id");
	if (json_object_get(o, "default_provider_version"))
		ctx->default_provider_version = jsonx_str(o, "default_provider_version");
	if (json_is_integer(json_object_get(o, "site_cores")))
		ctx->site_cores = json_integer_value(json_object_get(o, "site_cores"));
}

static void check_message(const json_t *c, const struct ff_error *err)
{
	const char *exact = jsonx_str(c, "message"), *prefix = jsonx_str(c, "prefix");
	if (exact)
		assert_string_equal(err->msg, exact);
	else if (prefix && strncmp(err->msg, prefix, strlen(prefix)))
		fail_msg("message '%s' does not start with '%s'", err->msg, prefix);
	else if (!prefix)
		fail_msg("case has neither message nor prefix");
}

static void test_bad_case(void **state)
{
	const json_t *c = *state;
	struct dag_ctx ctx = test_ctx();
	struct ff_error err = FF_ERROR_INIT;
	struct dag_job *job = NULL;
	int want = code_by_name(jsonx_str(c, "code")), ret;
	apply_ctx_overrides(&ctx, json_object_get(c, "ctx"));
	if (jsonx_str(c, "text")) {
		json_t *doc = NULL;
		const char *text = jsonx_str(c, "text");
		ret = jsonx_load_any(text, strlen(text), &doc, &err);
		json_decref(doc);
	} else {
		ret = dag_parse(json_object_get(c, "dag"), &ctx, &job, &err);
	}
	assert_int_equal(ret, want);
	assert_null(job);
	assert_int_equal(err.code, want);
	check_message(c, &err);
}

static int run_bad_cases(void)
{
	json_t *cases = load_file("bad.yaml");
	size_t n = json_array_size(cases), i;
	struct CMUnitTest *tests = ff_calloc(n ? n : 1, sizeof(*tests));
	json_t *c;
	assert_non_null(tests);
	json_array_foreach(cases, i, c) {
		tests[i].name = jsonx_str(c, "name");
		tests[i].test_func = test_bad_case;
		tests[i].initial_state = c;
	}
	int failed = _cmocka_run_group_tests("dag_bad_inputs", tests, n, NULL, NULL);
	ff_free(tests);
	json_decref(cases);
	return failed;
}

static void test_role_names(void **state)
{
	(void)state;
	assert_true(dag_role_ok("guest"));
	assert_true(dag_role_ok("host"));
	assert_true(dag_role_ok("arbiter"));
	assert_true(dag_role_ok("local"));
	assert_false(dag_role_ok("Guest"));
	assert_false(dag_role_ok(""));
	assert_false(dag_role_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_train_lr_order_and_parties),
		cmocka_unit_test(test_train_lr_party_values),
		cmocka_unit_test(test_train_lr_conf_written_back),
		cmocka_unit_test(test_partner_reparse),
		cmocka_unit_test(test_dependency_view),
		cmocka_unit_test(test_fan_out_fan_in),
		cmocka_unit_test(test_conf_precedence),
		cmocka_unit_test(test_parameter_overrides),
		cmocka_unit_test(test_provider_resolution),
		cmocka_unit_test(test_no_registry),
		cmocka_unit_test(test_artifact_check_unknown_shape),
		cmocka_unit_test(test_schema_version_number),
		cmocka_unit_test(test_cores),
		cmocka_unit_test(test_cores_site_defaults),
		cmocka_unit_test(test_cores_site_limit_code),
		cmocka_unit_test(test_model_warehouse_fill),
		cmocka_unit_test(test_channel_collapse),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_role_names),
	};
	fake_specs = load_text(fake_specs_json);
	int failed = cmocka_run_group_tests_name("dag", tests, NULL, NULL);
	failed += run_bad_cases();
	json_decref(fake_specs);
	return failed ? 1 : 0;
}
