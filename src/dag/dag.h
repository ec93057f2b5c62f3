/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dag.h - FATE 2.0.0 DAG schema: parse, validate, resolve per-party tasks.
 *
 * Input is the DAGSchema document a client submits ({schema_version, kind,
 * dag: {parties, conf, stage, tasks, party_tasks}}, spec §2) as a jansson
 * value (YAML and JSON both load into that). dag_parse checks everything a
 * job needs before anything is created, and resolves what FATE-Flow's
 * DagParser resolves (spec §2.6-2.7): runtime parties, dependencies from
 * artifact inputs, the conf precedence chain, parameters, per-party input
 * channels, providers, job and task cores, timeouts.
 *
 * Errors: every validation failure returns FF_EDAG (API code 1000) with a
 * message that starts with the path of the offending value, e.g.
 *   "dag.tasks.lr_0.inputs.data.train_data: producer task 'scale_9' does not exist"
 * except job cores above the site's total, which is FF_ERESLIMIT (1006),
 * and a malformed ctx->job_defaults, which is FF_EINVAL ("job_default_config.
 * ..."). Wrong types read "<path>: expected an integer, got string". The
 * first error found is reported. Nothing is allocated on failure.
 *
 * Beyond FATE's own checks (each would fail later, at run time, in FATE):
 * an input key takes channels from one source only; a data_warehouse
 * channel needs name+namespace or job_id+producer_task+output_artifact_key;
 * a model_warehouse channel without model_id needs dag.conf.model_warehouse;
 * a task_output_artifact channel whose parties name a party where the
 * consumer runs needs the producer to run there too, and its key must be a
 * data (model) output of the producer's component for a data (model)
 * input; party_tasks.<s>.tasks.<t>.inputs is refused (not supported).
 *
 * Normalised in job->schema (what partners receive): integer party ids and
 * model versions become text, a numeric schema_version becomes text ("2.0"),
 * a missing kind becomes "fate", and dag.conf carries the resolved values
 * listed at struct dag_job.
 *
 * Ownership: dag_parse returns an owned struct dag_job (free with
 * dag_job_free); every pointer inside it is owned by the job. json_t
 * members are references owned by the job (json_incref to keep them).
 * Thread-safety: dag_parse is reentrant; a dag_job is not shared.
 */
#ifndef FF_DAG_H
#define FF_DAG_H

#include <jansson.h>
#include <stdbool.h>
#include "err.h"

#define DAG_ID_MAX 64        /* role, party id, stage, sync type */
#define DAG_NAME_MAX 50      /* task names (t_task.f_task_name is varchar(50)) */

struct dag_party {
	char role[DAG_ID_MAX];      /* guest | host | arbiter | local */
	char party_id[DAG_ID_MAX];  /* always text, even if the DAG had 9999 */
};

/* One task at one (role, party_id): what that party runs. */
struct dag_party_task {
	struct dag_party party;
	char *provider;        /* resolved "name:version@device", exists in ctx */
	json_t *parameters;    /* object: task.parameters + party_tasks overrides */
	json_t *conf;          /* object: merged task conf (spec §2.6 step 5) */
	/*
	 * object {data: {key: channel | [channel]}, model: {...}} holding only
	 * the channels that apply to this party, each channel's "parties"
	 * rewritten to [{"role": r, "party_id": [p]}], model_warehouse channels
	 * completed from dag.conf.model_warehouse (spec §2.6 step 6). Empty
	 * sections are omitted; may be an empty object.
	 */
	json_t *inputs;
	/*
	 * object: job default task_run ⊕ conf.engine_run; an arbiter runs
	 * with cores 1 (spark: 1 executor x 1 core), spec §5.4
	 */
	json_t *engine_run;
	long long timeout;     /* seconds: conf.timeout or job default task_timeout */
	/* engine_run.cores (spark: num-executors x executor-cores); 0 for arbiter */
	long long task_cores;
	char launcher_name[DAG_ID_MAX]; /* "default" unless conf.launcher_name */
};

struct dag_task {
	char name[DAG_NAME_MAX + 1];
	char *component;            /* component_ref */
	char stage[DAG_ID_MAX];     /* task.stage or dag.stage or "default" */
	/* producer tasks of every task_output_artifact input, any party (§2.6 9) */
	char **deps;
	size_t ndeps;
	struct dag_party_task *ptasks;  /* one per runtime party, dag.parties order */
	size_t nptasks;
};

struct dag_job {
	json_t *schema;             /* the DAGSchema, conf defaults filled (below) */
	char schema_version[DAG_ID_MAX];
	struct dag_party *parties;  /* dag.parties flattened, in order, unique */
	size_t nparties;
	struct dag_task *tasks;     /* global topological order (stable: among
				     * ready tasks, DAG declaration order) */
	size_t ntasks;

	/*
	 * dag.conf, resolved with ctx defaults. priority, initiator_party_id,
	 * scheduler_party_id, computing_partitions, sync_type, auto_retries and
	 * model_version (and model_id, see dag_job_set_id) are also written
	 * back into schema.dag.conf so partners see the same values. cores is
	 * not: each party sizes its quota from dag.conf.cores or its own
	 * job_cores default, as in FATE.
	 */
	long long priority;
	char initiator_party_id[DAG_ID_MAX];
	char scheduler_party_id[DAG_ID_MAX];
	long long computing_partitions;
	char sync_type[DAG_ID_MAX];        /* "callback" | "poll" */
	long long auto_retries;
	char *model_id;                    /* NULL until dag_job_set_id */
	char *model_version;               /* "0" unless given */
	json_t *model_warehouse;           /* object or NULL */
	json_t *inheritance;               /* object {job_id, task_list} or NULL */
	long long job_cores;               /* conf.cores or default, >= task cores */
	/* cores one task takes: the largest task_cores of any non-arbiter
	 * party task (0 when only arbiters run) */
	long long task_cores;
};

/*
 * What the local site knows, borrowed for the duration of dag_parse.
 * dag_parse accepts ctx == NULL (every field zero/NULL).
 */
struct dag_ctx {
	/*
	 * Becomes initiator_party_id. NULL or "" keeps dag.conf.
	 * initiator_party_id (a partner parsing the initiator's DAG), which is
	 * then required.
	 */
	const char *local_party_id;
	bool is_local_job;            /* upload-style job: scheduler party "0" */
	/*
	 * FATE's job_default_config as an object: job_cores, computing_partitions,
	 * task_run.<engine> (object), task_timeout, auto_retries, sync_type.
	 * Missing keys fall back to FATE's defaults (4, 8, {cores: 4}, 259200,
	 * 0, "callback").
	 */
	const json_t *job_defaults;
	const char *computing_engine; /* key under task_run, e.g. "standalone" */
	/*
	 * Default provider parts for "name:version@device" resolution; NULL
	 * name/device mean "fate"/"local". With no default version, a task
	 * whose provider leaves the version empty or "*" is refused.
	 */
	const char *default_provider_name;
	const char *default_provider_version;
	const char *default_provider_device;
	/* total cores of the local computing engine; 0 = do not check */
	long long site_cores;
	/*
	 * Returns true when the resolved provider is registered. NULL accepts all.
	 */
	bool (*provider_exists)(void *arg, const char *provider);
	/*
	 * Borrowed component description or NULL when the provider does not
	 * have the component. Shape (FATE's ComponentSpec, trimmed):
	 *   {"roles": ["guest", ...],
	 *    "input_artifacts":  {"data": {key: {"optional": b, "is_multi": b,
	 *                                        "stages": [...]}}, "model": {...}},
	 *    "output_artifacts": {"data": {key: {...}}, "model": {...}, "metric": {...}}}
	 * Returning a description with no "output_artifacts" disables the
	 * artifact-key check (unknown shape). NULL callback accepts all.
	 */
	const json_t *(*component_spec)(void *arg, const char *provider,
					const char *component);
	void *arg;
};

/*
 * Validates and resolves dag_schema (the DAGSchema object, borrowed).
 * On success *out is an owned job. See the file comment for errors.
 */
int dag_parse(const json_t *dag_schema, const struct dag_ctx *ctx,
	      struct dag_job **out, struct ff_error *err);
void dag_job_free(struct dag_job *job);

/*
 * Sets model_id (and schema.dag.conf.model_id/model_version) to job_id when
 * the DAG gave none. Call once the scheduler has assigned the job id.
 */
int dag_job_set_id(struct dag_job *job, const char *job_id);

/* Task by name, NULL if absent. */
const struct dag_task *dag_find_task(const struct dag_job *job, const char *name);
/* The party task of t at (role, party_id), NULL when t does not run there. */
const struct dag_party_task *dag_find_ptask(const struct dag_task *t,
					    const char *role, const char *party_id);
/* True when (role, party_id) is one of dag.parties. */
bool dag_has_party(const struct dag_job *job, const char *role, const char *party_id);

/*
 * Builds /v2/job/dag/dependency's data for (role, party_id) (spec §1.3.1):
 * {"component_list": [...], "component_stage": {...}, "component_module":
 * {...}, "dependencies": {task: [{"type", "model_type", "component_name",
 * "up_output_info"}] | [{"up_output_info": []}]}}. Tasks in job order, only
 * those that run at the party; one entry per task_output_artifact channel
 * that reaches the party ("type" = input key, "model_type" = "data" or
 * "model", "up_output_info" = [output_artifact_key]). New reference; NULL
 * on OOM or a NULL argument.
 */
json_t *dag_dependency(const struct dag_job *job, const char *role,
		       const char *party_id);

/* Valid role name (guest, host, arbiter, local). */
bool dag_role_ok(const char *role);

#endif
