// SPDX-License-Identifier: Apache-2.0
/*
 * comp_test.c - the test components that exercise the scheduler with real
 * processes: noop, sleep and fail (docs/components.md); noop can also log
 * metrics for the output API tests, and model_test saves and loads models
 * for the model tests.
 */
#include "ff_setup.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "comp.h"
#include "fedflow/data.h"
#include "fedflow/metric.h"
#include "fedflow/model.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

#define COMP_ROLES "guest,host,arbiter,local"
#define COMP_STAGES "default,train,predict"

static json_t *comp_io_in(void)
{
	return json_pack("{s:o}", "input_data",
			 comp_artifact("dataframe,table", true, true, COMP_ROLES));
}

static json_t *comp_io_out(void)
{
	return json_pack("{s:o}", "output_data", comp_artifact("dataframe", true, false, COMP_ROLES));
}

/*
 * noop: succeeds at once; its output is its first input, if any. With
 * metrics = n > 0 it also logs FATE-shaped metrics (the metric API tests):
 * a series "loss" (type loss, step_axis iterations, n points 1/(i+1)), a
 * scalar "auc" (0.75) and an object "roc", all in groups default/train.
 */
static json_t *noop_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:i}}", "metrics", "type", "int", "default", 0);
	return comp_describe(COMP_ROLES, COMP_STAGES, p, comp_io_in(), NULL, comp_io_out(), NULL,
			     NULL);
}

static int noop_metrics(struct ff_task *t, long long n, struct ff_error *err)
{
	static const char *const names[] = { "default", "train" };
	json_t *groups = ff_metric_groups(names, 2);
	struct ff_metric_series loss = FF_METRIC_SERIES_INIT;
	int ret = groups ? ff_metric_series_init(&loss, "loss", "loss", groups, "iterations")
			 : FF_ENOMEM;
	for (long long i = 0; !ret && i < n; i++)
		ret = ff_metric_series_add(&loss, i, 1.0 / (double)(i + 1));
	if (!ret)
		ret = ff_metric_series_flush(t, &loss, err);
	if (!ret)
		ret = ff_metric_scalar(t, "auc", "auc", groups, 0.75, err);
	if (!ret)
		ret = ff_metric_object(t, "roc", "roc", groups,
				       json_pack("{s:[f,f,f],s:[f,f,f]}", "fpr", 0.0, 0.5, 1.0,
						 "tpr", 0.0, 0.8, 1.0), err);
	ff_metric_series_release(&loss);
	json_decref(groups);
	return ret;
}

static int noop_run(struct ff_task *t, struct ff_error *err)
{
	long long metrics;
	int ret = ff_task_param_int(t, "metrics", 0, &metrics, err);
	if (ret)
		return ret;
	ff_task_log(t, FF_TASK_INFO, "noop %s as %s %s", ff_task_name(t), ff_task_role(t),
		    ff_task_party_id(t));
	if (metrics > 0 && (ret = noop_metrics(t, metrics, err)))
		return ret;
	return comp_pass_through(t, "input_data", "output_data");
}

const struct comp comp_noop = { "noop", noop_describe, noop_run };
COMP_REGISTER(comp_noop);

/* sleep: waits `seconds` (a number), then acts like noop. `alloc_mb`
 * first allocates and touches that much memory (to test memory limits). */
static json_t *sleep_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:f,s:b},s:{s:s,s:i,s:b}}", "seconds", "type", "float",
			      "default", 1.0, "optional", 1, "alloc_mb", "type", "int", "default", 0,
			      "optional", 1);
	return comp_describe(COMP_ROLES, COMP_STAGES, p, comp_io_in(), NULL, comp_io_out(),
			     NULL, NULL);
}

static int sleep_run(struct ff_task *t, struct ff_error *err)
{
	double sec;
	int ret = ff_task_param_double(t, "seconds", 1.0, &sec, err);
	if (ret)
		return ret;
	if (sec < 0 || sec > 86400)
		return ff_error_set(err, FF_EINVAL, "parameter 'seconds' must be between 0 and 86400");
	long long mb = 0;
	ret = ff_task_param_int(t, "alloc_mb", 0, &mb, err);
	if (ret)
		return ret;
	char *hog = NULL;
	if (mb > 0) {
		size_t n = (size_t)mb << 20;
		hog = malloc(n); /* plain malloc: the point is to hit the OS limit */
		if (!hog)
			return ff_error_set(err, FF_ENOMEM, "out of memory allocating %lld MB", mb);
		for (size_t i = 0; i < n; i += 4096)
			hog[i] = 1;
		ff_task_log(t, FF_TASK_INFO, "allocated %lld MB", mb);
	}
	ff_task_log(t, FF_TASK_INFO, "sleeping %.3f s", sec);
	struct timespec ts = { (time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	free(hog);
	return comp_pass_through(t, "input_data", "output_data");
}

const struct comp comp_sleep = { "sleep", sleep_describe, sleep_run };
COMP_REGISTER(comp_sleep);

/*
 * fail: fails its first `times` runs (task versions 0 .. times-1), then
 * succeeds. `mode` says how it fails: "error" (a failed final meta),
 * "exit" (exit status 3 without a final meta) or "crash" (SIGKILL).
 */
static json_t *fail_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:i},s:{s:s,s:s},s:{s:s,s:s}}",
			      "times", "type", "int", "default", 1,
			      "mode", "type", "str", "default", "error",
			      "message", "type", "str", "default", "failed on purpose");
	return comp_describe(COMP_ROLES, COMP_STAGES, p, comp_io_in(), NULL, comp_io_out(),
			     NULL, NULL);
}

static int fail_run(struct ff_task *t, struct ff_error *err)
{
	long long times;
	const char *mode, *msg;
	int ret = ff_task_param_int(t, "times", 1, &times, err);
	if (!ret)
		ret = ff_task_param_str(t, "mode", "error", &mode, err);
	if (!ret)
		ret = ff_task_param_str(t, "message", "failed on purpose", &msg, err);
	if (ret)
		return ret;
	if (ff_task_version(t) >= times)
		return comp_pass_through(t, "input_data", "output_data");
	ff_task_log(t, FF_TASK_WARN, "failing run %lld of %lld (%s)", ff_task_version(t) + 1,
		    times, mode);
	if (!strcmp(mode, "exit"))
		_exit(3);
	if (!strcmp(mode, "crash"))
		kill(getpid(), SIGKILL);
	return ff_error_set(err, FF_ECOMPONENT, "%s (run %lld of %lld)", msg,
			    ff_task_version(t) + 1, times);
}

const struct comp comp_fail = { "fail", fail_describe, fail_run };
COMP_REGISTER(comp_fail);

/*
 * model_test: in the train (or default) stage it saves a JSON model
 * {"weight", "rows"} (output_model) or, with directory=true, a model folder
 * holding weights.json and notes.txt (output_dir); in any stage it loads
 * input_model when given (a file or a folder) and logs the weight it found
 * as the scalar metric "loaded_weight". Its first data input, if any, is
 * counted and passed through as output_data.
 */
#define MODEL_ROLES "guest,host,arbiter,local"

static json_t *model_describe(void)
{
	json_t *p = json_pack("{s:{s:s,s:f},s:{s:s,s:b}}", "weight", "type", "float", "default",
			      1.0, "directory", "type", "bool", "default", 0);
	json_t *in_data = json_pack("{s:o}", "input_data",
				    comp_artifact("dataframe,table", true, false, MODEL_ROLES));
	json_t *in_model = json_pack("{s:o}", "input_model",
				     comp_artifact("json_model,model_directory", true, false,
						   MODEL_ROLES));
	json_t *out_data = json_pack("{s:o}", "output_data",
				     comp_artifact("dataframe", true, false, MODEL_ROLES));
	json_t *out_model = json_pack("{s:o,s:o}", "output_model",
				      comp_artifact("json_model", true, false, MODEL_ROLES),
				      "output_dir",
				      comp_artifact("model_directory", true, false, MODEL_ROLES));
	return comp_describe(MODEL_ROLES, "default,train,predict", p, in_data, in_model, out_data,
			     out_model, NULL);
}

/* The weight of a JSON model, or of weights.json in a model folder. */
static int model_load_weight(struct ff_task *t, double *w, struct ff_error *err)
{
	const char *path = ff_model_input_path(t, "input_model", 0);
	json_t *m = NULL;
	int ret;
	if (path && fs_is_dir(path)) {
		struct ff_buf b = FF_BUF_INIT_MAX(1 << 20);
		char *f = ff_asprintf("%s/weights.json", path);
		ret = f ? fs_read_file(f, &b, err) : FF_ENOMEM;
		if (!ret)
			ret = jsonx_parse(b.buf, b.len, &m, err);
		ff_free(f);
		ff_buf_release(&b);
	} else {
		ret = ff_model_load_json(t, "input_model", 0, &m, err);
	}
	if (!ret && !jsonx_as_double(json_object_get(m, "weight"), w))
		ret = ff_error_set(err, FF_EDATA, "model_test: the input model has no 'weight'");
	json_decref(m);
	return ret;
}

static int model_save_dir(struct ff_task *t, double w, long long rows, struct ff_error *err)
{
	char *dir = NULL;
	int ret = ff_model_output_dir(t, "output_dir", &dir, err);
	if (ret)
		return ret;
	char *wf = ff_asprintf("%s/weights.json", dir), *nf = ff_asprintf("%s/notes.txt", dir);
	json_t *m = json_pack("{s:f,s:I}", "weight", w, "rows", (json_int_t)rows);
	char *text = m ? jsonx_dumps(m) : NULL;
	static const char notes[] = "a model folder written by model_test\n";
	ret = wf && nf && text ? fs_write_atomic(wf, text, strlen(text), err) : FF_ENOMEM;
	if (!ret)
		ret = fs_write_atomic(nf, notes, sizeof(notes) - 1, err);
	json_t *ov = json_pack("{s:I}", "rows", (json_int_t)rows);
	if (!ret)
		ret = ff_model_save_dir(t, "output_dir", ov, err);
	json_decref(ov);
	json_decref(m);
	ff_free(text);
	ff_free(wf);
	ff_free(nf);
	ff_free(dir);
	return ret;
}

static int model_run(struct ff_task *t, struct ff_error *err)
{
	double w;
	bool as_dir;
	long long rows = 0;
	int ret = ff_task_param_double(t, "weight", 1.0, &w, err);
	if (!ret)
		ret = ff_task_param_bool(t, "directory", false, &as_dir, err);
	if (!ret && ff_task_input_count(t, "input_data")) {
		struct ff_table *tb = NULL;
		ret = ff_data_open_input(t, "input_data", 0, &tb, err);
		rows = tb ? (long long)ff_table_count(tb) : 0;
		ff_table_free(tb);
	}
	if (!ret && ff_task_input_count(t, "input_model")) {
		double loaded = 0;
		ret = model_load_weight(t, &loaded, err);
		if (!ret)
			ret = ff_metric_scalar(t, "loaded_weight", "model", NULL, loaded, err);
	}
	if (!ret && strcmp(ff_task_stage(t), "predict")) {
		if (as_dir) {
			ret = model_save_dir(t, w, rows, err);
		} else {
			json_t *m = json_pack("{s:f,s:I}", "weight", w, "rows", (json_int_t)rows);
			json_t *ov = json_pack("{s:I}", "rows", (json_int_t)rows);
			ret = m && ov ? ff_model_save_json(t, "output_model", m, ov, err) : FF_ENOMEM;
			json_decref(m);
			json_decref(ov);
		}
	}
	if (!ret)
		ret = comp_pass_through(t, "input_data", "output_data");
	return ret;
}

const struct comp comp_model_test = { "model_test", model_describe, model_run };
COMP_REGISTER(comp_model_test);
