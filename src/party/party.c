// SPDX-License-Identifier: Apache-2.0
/*
 * party.c - partner command dispatch, status compare-and-set, reports.
 */
#include "ff_setup.h"
#include "clock.h"
#include "fault.h"
#include "fed.h"
#include "gateway.h"
#include "jsonx.h"
#include "log.h"
#include "mem.h"
#include "party_int.h"
#include "site.h"
#include "status.h"
#include "store.h"

struct party_cmd {
	const char *name;
	json_t *(*fn)(struct site *s, const json_t *body);
};

static const struct party_cmd party_cmds[] = {
	{ "job/create", party_job_create },
	{ "job/status/update", party_job_status_update },
	{ "job/update", party_job_update },
	{ "job/resource/apply", party_job_apply },
	{ "job/resource/return", party_job_return },
	{ "job/start", party_job_start },
	{ "job/stop", party_job_stop },
	{ "job/clean", party_job_clean },
	{ "task/resource/apply", party_task_apply },
	{ "task/resource/return", party_task_return },
	{ "task/start", party_task_start },
	{ "task/collect", party_task_collect },
	{ "task/status/update", party_task_status_update },
	{ "task/stop", party_task_stop },
	{ "task/rerun", party_task_rerun },
};

int party_init(struct site *s, struct ff_error *err)
{
	s->party = ff_calloc(1, sizeof(*s->party));
	if (!s->party)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	return party_resource_register(s, err);
}

void party_release(struct site *s)
{
	FF_FREE_AND_NULL(s->party);
}

void party_on_resource_free(struct site *s, void (*cb)(struct site *s))
{
	s->party->on_free = cb;
}

static void party_kick_done(struct fed_call *c, void *arg)
{
	(void)c;
	(void)arg;
}

struct party_kick {
	struct site *site;
	const char *command;
	char skip[64];      /* a scheduler that needs no kick */
};

static int party_kick_cb(void *arg, const struct store_row *row)
{
	struct party_kick *k = arg;
	const char *sp = store_col_text(row, "f_scheduler_party_id");
	if (sp && !site_is_local_party(k->site, sp) && strcmp(sp, k->skip)) {
		json_t *b = json_object();
		fed_scheduler_send(k->site, sp, k->command, b, party_kick_done, NULL);
		json_decref(b);
	}
	return FF_OK;
}

/*
 * A restarted site tells the schedulers of its unfinished jobs that it is
 * back, so that what it missed while down (a job that ended, a task to
 * start) reaches it now rather than on their next sweep.
 */
void party_announce_back(struct site *s)
{
	struct party_kick k = { s, "party/back", "" };
	store_exec(s->db, "SELECT DISTINCT f_scheduler_party_id FROM t_job WHERE f_status IN"
		   " ('ready', 'waiting', 'running')", NULL, 0, party_kick_cb, &k, NULL, NULL);
}

/*
 * Cores came back on this site: this site's scheduler looks at its queue
 * at once, and so does every other site that schedules a job waiting for
 * cores here (an event, not their next sweep). Not the scheduler whose
 * command gave them back (the end of a job, cores returned after a refused
 * admission): it kicks its own queue when it has the answer, or - after a
 * refused admission - waits, since the cores it gave back are the ones it
 * had just taken.
 */
void party_notify_free(struct site *s)
{
	struct party_kick k = { s, "queue/kick", "" };
	if (s->party->answering_job) {
		struct store_val a[] = { SV_TEXT(s->party->answering_job) };
		char *sp = NULL;
		if (!store_get_text(s->db, "SELECT f_scheduler_party_id FROM t_job WHERE"
				    " f_job_id = ? LIMIT 1", a, 1, &sp, NULL) && sp)
			snprintf(k.skip, sizeof(k.skip), "%s", sp);
		ff_free(sp);
	}
	if (s->party->on_free && !(k.skip[0] && site_is_local_party(s, k.skip)))
		s->party->on_free(s);
	store_exec(s->db, "SELECT DISTINCT f_scheduler_party_id FROM t_job WHERE f_status ="
		   " 'waiting'", NULL, 0, party_kick_cb, &k, NULL, NULL);
}

json_t *party_ok(void)
{
	return json_pack("{s:i,s:s}", "code", 0, "message", "success");
}

json_t *party_fail(int ret, const struct ff_error *err)
{
	return json_pack("{s:i,s:s}", "code", ff_api_code(ret), "message",
			 ff_error_msg(err, ret));
}

json_t *party_command(struct site *s, const char *command, const json_t *body)
{
	for (size_t i = 0; i < FF_ARRAY_SIZE(party_cmds); i++) {
		if (strcmp(party_cmds[i].name, command))
			continue;
		/*
		 * One transaction per command: its writes reach the disk in one
		 * commit, before the answer. Not task/start: its claim must be
		 * on disk before the process is spawned.
		 */
		bool txn = strcmp(command, "task/start") && !store_txn_begin(s->db, NULL);
		json_t *res = party_cmds[i].fn(s, body);
		if (txn && store_txn_commit(s->db, NULL)) {
			json_decref(res);
			struct ff_error err = FF_ERROR_INIT;
			ff_error_set(&err, FF_EIO, "cannot commit '%s' on this site", command);
			return party_fail(FF_EIO, &err);
		}
		return res;
	}
	struct ff_error err = FF_ERROR_INIT;
	ff_error_set(&err, FF_ENOROUTE, "unknown partner command '%s'", command);
	return party_fail(FF_ENOROUTE, &err);
}

static int party_copy_field(const json_t *body, const char *key, char *out, size_t n,
			    struct ff_error *err)
{
	const json_t *v = json_object_get(body, key);
	if (!v || jsonx_scalar_text(v, out, n) || !out[0])
		return ff_error_set(err, FF_EPARAM, "missing or invalid '%s'", key);
	return FF_OK;
}

void party_key_from_row(const struct store_row *row, struct party_task_key *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->job_id, sizeof(k->job_id), "%s", store_col_text(row, "f_job_id"));
	snprintf(k->task_id, sizeof(k->task_id), "%s", store_col_text(row, "f_task_id"));
	k->version = store_col_int(row, "f_task_version");
	snprintf(k->role, sizeof(k->role), "%s", store_col_text(row, "f_role"));
	snprintf(k->party_id, sizeof(k->party_id), "%s", store_col_text(row, "f_party_id"));
}

int party_keys_cb(void *arg, const struct store_row *row)
{
	struct party_keys *l = arg;
	struct party_task_key *k = ff_realloc(l->keys, (l->n + 1) * sizeof(*k));
	if (!k)
		return FF_ENOMEM;
	l->keys = k;
	party_key_from_row(row, &l->keys[l->n++]);
	return FF_OK;
}

int party_key_from_json(const json_t *body, struct party_task_key *k, struct ff_error *err)
{
	memset(k, 0, sizeof(*k));
	int ret = party_copy_field(body, "job_id", k->job_id, sizeof(k->job_id), err);
	if (!ret)
		ret = party_copy_field(body, "task_id", k->task_id, sizeof(k->task_id), err);
	if (!ret)
		ret = party_copy_field(body, "role", k->role, sizeof(k->role), err);
	if (!ret)
		ret = party_copy_field(body, "party_id", k->party_id, sizeof(k->party_id), err);
	if (!ret && !jsonx_as_int(json_object_get(body, "task_version"), &k->version))
		ret = ff_error_set(err, FF_EPARAM, "missing or invalid 'task_version'");
	return ret;
}

static int party_get_status(struct site *s, const char *sql, const struct store_val *a,
			    size_t n, char *out, size_t outn, struct ff_error *err)
{
	char *st = NULL;
	int ret = store_get_text(s->db, sql, a, n, &st, err);
	if (!ret)
		snprintf(out, outn, "%s", st ? st : "");
	ff_free(st);
	return ret;
}

/*
 * The compare-and-set updates below are one statement: the WHERE clause
 * holds every status the move is allowed from (status_*_sources). Only when
 * nothing changed is the row read, to tell "no such row" from "not allowed".
 */
int party_task_set_party_status(struct site *s, const struct party_task_key *k,
				const char *status, const char *error, bool *changed,
				struct ff_error *err)
{
	char from[STATUS_SOURCES_MAX], old[32];
	status_task_sources(status, from, sizeof(from));
	*changed = false;
	int64_t now = clock_now_ms(), ch = 0;
	bool end = status_is_end(status);
	struct store_val a[] = {
		SV_TEXT(status), SV_INT(now), SV_INT(end), SV_INT(now), SV_INT(end), SV_INT(now),
		SV_TEXT(error), SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
		SV_TEXT(k->role), SV_TEXT(k->party_id), SV_TEXT(from),
	};
	int ret = store_exec(s->db,
		"UPDATE t_task SET f_party_status = ?, f_update_time = ?,"
		" f_end_time = CASE WHEN ? = 1 THEN ? ELSE f_end_time END,"
		" f_elapsed = CASE WHEN ? = 1 AND f_start_time IS NOT NULL THEN ? - f_start_time"
		" ELSE f_elapsed END,"
		" f_error_report = COALESCE(?, f_error_report)"
		" WHERE f_job_id = ? AND f_task_id = ? AND f_task_version = ? AND f_role = ? AND"
		" f_party_id = ? AND instr(?, ',' || f_party_status || ',') > 0",
		a, FF_ARRAY_SIZE(a), NULL, NULL, &ch, err);
	*changed = !ret && ch == 1;
	if (ret || ch)
		return ret;
	ret = party_get_status(s, "SELECT f_party_status FROM t_task WHERE f_job_id = ? AND"
			       " f_task_id = ? AND f_task_version = ? AND f_role = ? AND"
			       " f_party_id = ?", a + 7, 5 /* the key, as in the UPDATE */, old,
			       sizeof(old), err);
	if (ret == FF_ENOTFOUND)
		return ff_error_set(err, FF_ENOTASK, "no task '%s' version %lld for %s %s",
				    k->task_id, k->version, k->role, k->party_id);
	return ret;
}

int party_job_set_status(struct site *s, const char *job_id, const char *role,
			 const char *party_id, const char *status, const char *reason,
			 bool *changed, struct ff_error *err)
{
	char from[STATUS_SOURCES_MAX], old[32];
	status_job_sources(status, from, sizeof(from));
	*changed = false;
	int64_t now = clock_now_ms(), ch = 0;
	bool end = status_is_end(status);
	bool start = !strcmp(status, ST_RUNNING);
	struct store_val a[] = {
		SV_TEXT(status), SV_INT(now), SV_INT(end), SV_INT(now), SV_INT(end), SV_INT(now),
		SV_INT(end), SV_INT(start), SV_INT(now), SV_TEXT(reason), SV_TEXT(status),
		SV_TEXT(job_id), SV_TEXT(role), SV_TEXT(party_id), SV_TEXT(from),
	};
	int ret = store_exec(s->db,
		"UPDATE t_job SET f_status = ?, f_update_time = ?,"
		" f_end_time = CASE WHEN ? = 1 THEN ? ELSE f_end_time END,"
		" f_elapsed = CASE WHEN ? = 1 AND f_start_time IS NOT NULL THEN ? - f_start_time"
		" ELSE f_elapsed END,"
		" f_tag = CASE WHEN ? = 1 THEN 'job_end' ELSE f_tag END,"
		" f_start_time = CASE WHEN ? = 1 AND f_start_time IS NULL THEN ? ELSE f_start_time END,"
		" f_error_report = COALESCE(?, f_error_report),"
		" f_progress = CASE WHEN ? = 'success' THEN 100 ELSE f_progress END"
		" WHERE f_job_id = ? AND f_role = ? AND f_party_id = ?"
		" AND instr(?, ',' || f_status || ',') > 0",
		a, FF_ARRAY_SIZE(a), NULL, NULL, &ch, err);
	*changed = !ret && ch == 1;
	if (!ret && !ch) {
		ret = party_get_status(s, "SELECT f_status FROM t_job WHERE f_job_id = ? AND"
				       " f_role = ? AND f_party_id = ?", a + 11, 3 /* the key */, old,
				       sizeof(old), err);
		if (ret == FF_ENOTFOUND)
			return ff_error_set(err, FF_ENOJOB, "no job '%s' for %s %s", job_id, role,
					    party_id);
	}
	if (*changed && end) {
		fault_point("party.end"); /* ended, its cores not yet given back */
		ret = party_job_resource_return(s, job_id, role, party_id, err);
	}
	return ret;
}

struct party_report_ctx {
	struct party_task_key k;
	char status[32];
};

static void party_report_done(struct fed_call *c, void *arg)
{
	struct party_report_ctx *r = arg;
	json_t *d = json_object_get(c->res[0].resp, "data");
	if (json_is_true(json_object_get(d, "stop"))) {
		const char *st = jsonx_str(d, "status");
		party_stop_task(c->site, &r->k, st ? st : ST_CANCELED,
				"the job ended while this site was out of reach", NULL);
	}
	if (!fed_all_ok(c)) {
		char msg[300];
		fed_first_error(c, msg, sizeof(msg));
		site_joblog(c->site, r->k.job_id, FF_LOG_WARN,
			    "report of task %s %s %s status %s to the scheduler failed: %s",
			    r->k.task_id, r->k.role, r->k.party_id, r->status, msg);
	}
	ff_free(r);
}

struct party_sched_info {
	char scheduler[64];
	char sync_type[16];
	char error[512];
};

static int party_sched_info_cb(void *arg, const struct store_row *row)
{
	struct party_sched_info *i = arg;
	const char *sp = store_col_text(row, "f_scheduler_party_id");
	const char *st = store_col_text(row, "f_sync_type");
	snprintf(i->scheduler, sizeof(i->scheduler), "%s", sp ? sp : "");
	snprintf(i->sync_type, sizeof(i->sync_type), "%s", st ? st : "callback");
	const char *e = store_col_text(row, "f_error_report");
	snprintf(i->error, sizeof(i->error), "%s", e ? e : "");
	return FF_OK;
}

void party_report(struct site *s, const struct party_task_key *k, const char *status)
{
	struct party_sched_info info = { 0 };
	struct store_val a[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				 SV_TEXT(k->role), SV_TEXT(k->party_id) };
	store_exec(s->db, "SELECT f_scheduler_party_id, f_sync_type, f_error_report FROM t_task"
		   " WHERE f_job_id = ?"
		   " AND f_task_id = ? AND f_task_version = ? AND f_role = ? AND f_party_id = ?",
		   a, 5, party_sched_info_cb, &info, NULL, NULL);
	if (!info.scheduler[0] || strcmp(info.sync_type, "callback"))
		return;
	struct party_report_ctx *r = ff_calloc(1, sizeof(*r));
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "job_id", k->job_id, "role",
				 k->role, "party_id", k->party_id, "task_id", k->task_id,
				 "task_version", (json_int_t)k->version, "status", status);
	if (body && info.error[0] && status_is_interrupt(status))
		json_object_set_new(body, "error", json_string(info.error));
	if (r && body) {
		r->k = *k;
		snprintf(r->status, sizeof(r->status), "%s", status);
		if (fed_scheduler_send(s, info.scheduler, "task/report", body,
				       party_report_done, r))
			ff_free(r);
	} else {
		ff_free(r);
	}
	json_decref(body);
}

void party_task_drop_messages(struct site *s, const struct party_task_key *k)
{
	/* messages to or from an ended task version can never be received */
	char session[160];
	snprintf(session, sizeof(session), "%s_%lld", k->task_id, k->version);
	gateway_drop(s, session, k->role, k->party_id);
}

void party_task_ended(struct site *s, const struct party_task_key *k,
		      const char *status, const char *error)
{
	struct ff_error err = FF_ERROR_INIT;
	bool changed = false;
	party_task_drop_messages(s, k);
	int ret = party_task_set_party_status(s, k, status, error, &changed, &err);
	if (ret)
		site_joblog(s, k->job_id, FF_LOG_ERROR, "cannot record end of task %s: %s",
			    k->task_id, ff_error_msg(&err, ret));
	if (changed)
		site_joblog(s, k->job_id, status_is_success(status) ? FF_LOG_INFO : FF_LOG_WARN,
			    "task %s version %lld %s %s ended: %s%s%s", k->task_id, k->version,
			    k->role, k->party_id, status, error ? ": " : "", error ? error : "");
	party_task_resource_return(s, k, NULL);
	/* Report what is stored, so a late or duplicate end cannot mislead. */
	char cur[32];
	struct store_val a[] = { SV_TEXT(k->job_id), SV_TEXT(k->task_id), SV_INT(k->version),
				 SV_TEXT(k->role), SV_TEXT(k->party_id) };
	if (!party_get_status(s, "SELECT f_party_status FROM t_task WHERE f_job_id = ? AND"
			      " f_task_id = ? AND f_task_version = ? AND f_role = ? AND"
			      " f_party_id = ?", a, 5, cur, sizeof(cur), NULL))
		party_report(s, k, cur);
}
