// SPDX-License-Identifier: Apache-2.0
/*
 * dag_deps.c - task dependencies, cycle check, topological order and the
 * /v2/job/dag/dependency view.
 *
 * A task depends on the producer_task of every task_output_artifact
 * channel in its inputs, whatever the channel's parties (spec §2.6 step 9):
 * that is the edge set the scheduler waits on, so it is also the one the
 * order and the cycle check use. dependent_tasks is ignored, as in FATE.
 *
 * The order is Kahn's algorithm that always takes the ready task declared
 * first, so the same DAG always yields the same order on every party.
 * Graphs are small (tens of tasks), so the O(n^2) scans stay simple.
 */
#include "ff_setup.h"
#include "buf.h"
#include "dag_int.h"
#include "jsonx.h"
#include "mem.h"

struct dag_node {
	const char *name;   /* key in dag.tasks, borrowed */
	json_t *spec;       /* borrowed */
	size_t *deps;       /* producer indexes, unique, first-seen order */
	size_t ndeps;
	size_t waiting;     /* deps not placed yet */
	bool placed;
};

struct dag_graph {
	struct dag_node *nodes;
	size_t n;
};

static size_t dag_graph_index(const struct dag_graph *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->nodes[i].name, name))
			return i;
	return g->n;
}

static void dag_graph_release(struct dag_graph *g)
{
	for (size_t i = 0; g->nodes && i < g->n; i++)
		ff_free(g->nodes[i].deps);
	FF_FREE_AND_NULL(g->nodes);
}

struct dag_collect {
	struct dag_graph *g;
	struct dag_node *node;
	size_t cap;
};

static int dag_add_dep(struct dag_collect *c, size_t idx)
{
	struct dag_node *node = c->node;
	for (size_t i = 0; i < node->ndeps; i++)
		if (node->deps[i] == idx)
			return FF_OK;
	if (node->ndeps == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4, bytes;
		if (!ff_st_mult(cap, sizeof(*node->deps), &bytes))
			return FF_ENOMEM;
		size_t *d = ff_realloc(node->deps, bytes);
		if (!d)
			return FF_ENOMEM;
		node->deps = d;
		c->cap = cap;
	}
	node->deps[node->ndeps++] = idx;
	return FF_OK;
}

static int dag_collect_cb(const char *type, const char *key, const char *source,
			  json_t *chans, void *arg)
{
	struct dag_collect *c = arg;
	(void)type;
	(void)key;
	if (strcmp(source, "task_output_artifact"))
		return FF_OK;
	for (size_t i = 0; i < dag__chan_count(chans); i++) {
		const char *producer = jsonx_str(dag__chan_at(chans, i), "producer_task");
		int ret = dag_add_dep(c, dag_graph_index(c->g, producer));
		if (ret)
			return ret;
	}
	return FF_OK;
}

static int dag_graph_build(struct dag_graph *g, json_t *tasks)
{
	const char *name;
	json_t *spec;
	g->n = 0;
	if (!FF_ALLOC_ARRAY(g->nodes, json_object_size(tasks)))
		return FF_ENOMEM;
	json_object_foreach(tasks, name, spec) {
		g->nodes[g->n].name = name;
		g->nodes[g->n++].spec = spec;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct dag_collect c = { .g = g, .node = &g->nodes[i] };
		int ret = dag__for_each_input(g->nodes[i].spec, dag_collect_cb, &c);
		if (ret)
			return ret;
		g->nodes[i].waiting = g->nodes[i].ndeps;
	}
	return FF_OK;
}

static void dag_place(struct dag_graph *g, size_t idx)
{
	g->nodes[idx].placed = true;
	for (size_t j = 0; j < g->n; j++)
		for (size_t k = 0; k < g->nodes[j].ndeps; k++)
			if (g->nodes[j].deps[k] == idx)
				g->nodes[j].waiting--;
}

/* Fills order[0..n); false when a cycle leaves tasks unplaced. */
static bool dag_graph_sort(struct dag_graph *g, size_t *order)
{
	for (size_t k = 0; k < g->n; k++) {
		size_t i = 0;
		while (i < g->n && (g->nodes[i].placed || g->nodes[i].waiting))
			i++;
		if (i == g->n)
			return false;
		order[k] = i;
		dag_place(g, i);
	}
	return true;
}

static size_t dag_unplaced_dep(const struct dag_graph *g, size_t i)
{
	const struct dag_node *node = &g->nodes[i];
	for (size_t k = 0; k < node->ndeps; k++)
		if (!g->nodes[node->deps[k]].placed)
			return node->deps[k];
	return g->n;  /* not reached: an unplaced node waits on an unplaced dep */
}

/*
 * Names one cycle among the unplaced tasks. Walking from a stuck task to
 * one of its stuck producers must revisit a task; the revisited stretch,
 * read backwards, is the cycle in producer -> consumer order.
 */
static int dag_report_cycle(const struct dag_graph *g, struct ff_error *err)
{
	struct ff_buf b = FF_BUF_INIT;
	size_t *pos = NULL, *path = NULL, len = 0, cur = 0;
	int ret = FF_ENOMEM;
	if (!FF_ALLOC_ARRAY(pos, g->n) || !FF_ALLOC_ARRAY(path, g->n))
		goto out;
	for (size_t i = 0; i < g->n; i++)
		pos[i] = SIZE_MAX;
	while (cur < g->n && g->nodes[cur].placed)
		cur++;
	while (cur < g->n && pos[cur] == SIZE_MAX) {
		pos[cur] = len;
		path[len++] = cur;
		cur = dag_unplaced_dep(g, cur);
	}
	if (cur == g->n) {  /* defensive: sort failed without a cycle */
		ret = dag__fail(err, "dag.tasks", "dependency cycle");
		goto out;
	}
	ret = ff_buf_addstr(&b, g->nodes[cur].name);
	for (size_t k = len; !ret && k-- > pos[cur] + 1;)
		ret = ff_buf_addf(&b, " -> %s", g->nodes[path[k]].name);
	if (!ret)
		ret = ff_buf_addf(&b, " -> %s", g->nodes[cur].name);
	if (!ret)
		ret = dag__fail(err, "dag.tasks", "dependency cycle: %s", b.buf);
out:
	ff_buf_release(&b);
	ff_free(pos);
	ff_free(path);
	return ret;
}

static int dag_build_task(struct dag__st *st, const struct dag_node *node,
			  const struct dag_graph *g, struct dag_task *t)
{
	const char *stage = jsonx_str(node->spec, "stage");
	if (!stage)
		stage = jsonx_str(st->dag, "stage");
	snprintf(t->name, sizeof(t->name), "%s", node->name);
	snprintf(t->stage, sizeof(t->stage), "%s", stage ? stage : "default");
	t->component = ff_strdup(jsonx_str(node->spec, "component_ref"));
	if (!t->component || !FF_ALLOC_ARRAY(t->deps, node->ndeps))
		return FF_ENOMEM;
	for (size_t k = 0; k < node->ndeps; k++) {
		t->deps[k] = ff_strdup(g->nodes[node->deps[k]].name);
		if (!t->deps[k])
			return FF_ENOMEM;
		t->ndeps++;
	}
	return FF_OK;
}

int dag__order_tasks(struct dag__st *st)
{
	struct dag_job *job = st->job;
	struct dag_graph g = { 0 };
	size_t *order = NULL;
	int ret = dag_graph_build(&g, st->tasks);
	if (ret)
		goto out;
	ret = FF_ENOMEM;
	if (!FF_ALLOC_ARRAY(order, g.n) || !FF_ALLOC_ARRAY(job->tasks, g.n))
		goto out;
	ret = FF_OK;
	if (!dag_graph_sort(&g, order)) {
		ret = dag_report_cycle(&g, st->err);
		goto out;
	}
	for (size_t k = 0; !ret && k < g.n; k++) {
		ret = dag_build_task(st, &g.nodes[order[k]], &g, &job->tasks[k]);
		job->ntasks++;
	}
out:
	ff_free(order);
	dag_graph_release(&g);
	return ret;
}

/* ---- /v2/job/dag/dependency ---- */

struct dag_dep_walk {
	const struct dag_job *job;
	const struct dag_party *party;
	json_t *list;
};

static int dag_dep_cb(const char *type, const char *key, const char *source,
		      json_t *chans, void *arg)
{
	struct dag_dep_walk *w = arg;
	if (strcmp(source, "task_output_artifact"))
		return FF_OK;
	for (size_t i = 0; i < dag__chan_count(chans); i++) {
		json_t *ch = dag__chan_at(chans, i);
		if (!dag__channel_applies(w->job, source, ch, w->party))
			continue;
		json_t *e = json_pack("{s:s, s:s, s:s, s:[s]}", "type", key, "model_type", type,
				      "component_name", jsonx_str(ch, "producer_task"),
				      "up_output_info", jsonx_str(ch, "output_artifact_key"));
		if (!e || json_array_append_new(w->list, e))
			return FF_ENOMEM;
	}
	return FF_OK;
}

static int dag_dep_task(const struct dag_job *job, const struct dag_task *t,
			const struct dag_party *party, json_t *out)
{
	json_t *tasks = json_object_get(json_object_get(job->schema, "dag"), "tasks");
	struct dag_dep_walk w = { .job = job, .party = party, .list = json_array() };
	if (!w.list)
		return FF_ENOMEM;
	int ret = dag__for_each_input(json_object_get(tasks, t->name), dag_dep_cb, &w);
	if (!ret && !json_array_size(w.list) &&
	    json_array_append_new(w.list, json_pack("{s:[]}", "up_output_info")))
		ret = FF_ENOMEM;
	if (ret) {
		json_decref(w.list);
		return ret;
	}
	int bad = json_array_append_new(json_object_get(out, "component_list"),
					json_string(t->name));
	bad |= json_object_set_new(json_object_get(out, "component_stage"), t->name,
				   json_string(t->stage));
	bad |= json_object_set_new(json_object_get(out, "component_module"), t->name,
				   json_string(t->component));
	bad |= json_object_set_new(json_object_get(out, "dependencies"), t->name, w.list);
	return bad ? FF_ENOMEM : FF_OK;
}

json_t *dag_dependency(const struct dag_job *job, const char *role, const char *party_id)
{
	struct dag_party party;
	if (!job || !role || !party_id)
		return NULL;
	snprintf(party.role, sizeof(party.role), "%s", role);
	snprintf(party.party_id, sizeof(party.party_id), "%s", party_id);
	json_t *out = json_pack("{s:[], s:{}, s:{}, s:{}}", "component_list", "component_stage",
				"component_module", "dependencies");
	for (size_t i = 0; out && i < job->ntasks; i++) {
		const struct dag_task *t = &job->tasks[i];
		if (!dag_find_ptask(t, role, party_id))
			continue;
		if (dag_dep_task(job, t, &party, out)) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}
