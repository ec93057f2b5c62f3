/* SPDX-License-Identifier: Apache-2.0 */
/*
 * upload.h - FATE's local data jobs (spec §9.1): an upload or a download is
 * an ordinary job of one task, built here as a DAG for role `local`, party
 * "0", scheduler party "0", run by the built-in provider (fedflow), and
 * submitted through the same path as /v2/job/submit (DAG parse, core
 * check, scheduler job/create). The HTTP call answers once the job exists;
 * the job then runs like any other (poll /v2/job/query role=local
 * party_id=0, or /v2/table/query).
 *
 * The component's parameters go where FATE puts them:
 * dag.party_tasks.local_0.tasks.<task>.parameters.
 *
 * Core thread only.
 */
#ifndef FF_UPLOAD_H
#define FF_UPLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "err.h"

struct site;

/*
 * Called once, on the core thread, when the scheduler answered: code 0
 * and the new job_id, or a FATE code and its message (job_id may be NULL).
 */
typedef void (*upload_done_fn)(void *arg, int code, const char *message, const char *job_id);

/*
 * Submits the local job running `component` as task `task_name` with the
 * given parameters and inputs (borrowed; inputs may be NULL, else the
 * task's DAG inputs, e.g. {"data": {"table": {"data_warehouse": {...}}}}).
 * FF_OK means done will be called; an error
 * (FF_EDAG, FF_ERESLIMIT, FF_ENOMEM ...) means it will not, and err says
 * why.
 */
int upload_submit_local(struct site *s, const char *task_name, const char *component,
			const json_t *params, const json_t *inputs, upload_done_fn done,
			void *arg, struct ff_error *err);

/*
 * The job id of an upload or transformer job into (namespace, name) that
 * has not ended yet,
 * into job_id[n]; false when there is none. Two uploads into one table at
 * once would both write its folder and its meta, each half winning.
 */
bool upload_running(struct site *s, const char *namespace_, const char *name, char *job_id,
		    size_t n);

#endif
