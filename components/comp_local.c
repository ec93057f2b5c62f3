// SPDX-License-Identifier: Apache-2.0
/*
 * comp_local.c - fedflow-algo-local: runs the party tasks of ONE federated
 * task (e.g. lr_0 at guest, host and arbiter) as threads of one process,
 * connected by the in-process channel (comp_memnet.h) instead of fedflowd's
 * federation. Each party gets a FATE TaskConfigSpec file and a final-meta
 * path, exactly as `fedflow-component component execute` does.
 *
 *   fedflow-algo-local [--metrics FILE] [--timeout-ms N]
 *                      [--fault TAGPREFIX:ROLE:truncate|garble|empty]
 *                      --party CONFIG META [--party CONFIG META ...]
 *
 * Used by the quality tests and for debugging a component without a
 * daemon. When one party fails, the others are woken (their receives fail
 * with "canceled") so the run never hangs. Exit status 0 when every party
 * succeeded, 1 otherwise, 2 on usage errors. Metrics the tasks log are
 * written as a JSON array to FILE.
 *
 *   fedflow-algo-local import FILE DIR [--label NAME] [--match-id NAME]
 *                      [--sample-id NAME] [--extend-sid]
 * imports a CSV into a table directory (ff_csv_import), for tests that
 * need tables without a daemon;
 *   fedflow-algo-local export DIR FILE
 * writes a table as CSV with its sample ids (ff_csv_export_file);
 *   fedflow-algo-local patch SRC DST COLUMN ROW VALUE
 * copies table SRC to DST with feature COLUMN of row ROW (0-based) set to
 * VALUE (strtod: "nan" and "inf" allowed), to make inputs that CSV import
 * refuses.
 */
#include "ff_setup.h"
#include <pthread.h>
#include "comp.h"
#include "comp_memnet.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"

#define LOCAL_MAX_PARTIES 16

struct local_party {
	const char *config, *meta;
	struct ff_task *t;
	struct comp_memhub *hub;
	pthread_t th;
	int ret;
	struct ff_error err;
};

static void *local_run(void *arg)
{
	struct local_party *p = arg;
	const struct comp *c = comp_find(ff_task_component(p->t));
	if (!c)
		p->ret = ff_error_set(&p->err, FF_EINVAL, "component '%s' is not in the fedflow "
				      "provider", ff_task_component(p->t));
	else
		p->ret = c->run(p->t, &p->err);
	if (p->ret) {
		char why[300];
		snprintf(why, sizeof(why), "%s %s failed: %s", ff_task_role(p->t),
			 ff_task_party_id(p->t), ff_error_msg(&p->err, p->ret));
		comp_memhub_abort(p->hub, why);
	}
	return NULL;
}

static int local_usage(void)
{
	fprintf(stderr, "usage: fedflow-algo-local [--metrics FILE] [--timeout-ms N] "
		"[--fault PREFIX:ROLE:KIND] --party CONFIG META [--party CONFIG META ...]\n"
		"       fedflow-algo-local import FILE DIR [--label NAME] [--match-id NAME] "
		"[--sample-id NAME] [--extend-sid]\n"
		"       fedflow-algo-local export DIR FILE\n"
		"       fedflow-algo-local patch SRC DST COLUMN ROW VALUE\n");
	return 2;
}

static int local_fault(struct comp_memhub *hub, const char *spec)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *a = strchr(buf, ':'), *b = a ? strchr(a + 1, ':') : NULL;
	if (!a || !b)
		return -1;
	*a++ = 0;
	*b++ = 0;
	enum comp_memhub_fault f = !strcmp(b, "truncate") ? COMP_FAULT_TRUNCATE :
				   !strcmp(b, "garble") ? COMP_FAULT_GARBLE :
				   !strcmp(b, "empty") ? COMP_FAULT_EMPTY : COMP_FAULT_NONE;
	if (f == COMP_FAULT_NONE)
		return -1;
	comp_memhub_fault(hub, buf, a, f);
	return 0;
}

static int local_import(int argc, char **argv)
{
	struct ff_csv_opts o;
	ff_csv_opts_init(&o);
	o.partitions = 4;
	o.no_fsync = true;
	o.match_id_name = "id";
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--label") && i + 1 < argc)
			o.label_name = argv[++i];
		else if (!strcmp(argv[i], "--match-id") && i + 1 < argc)
			o.match_id_name = argv[++i];
		else if (!strcmp(argv[i], "--sample-id") && i + 1 < argc)
			o.sample_id_name = argv[++i];
		else if (!strcmp(argv[i], "--extend-sid"))
			o.extend_sid = true;
		else
			return local_usage();
	}
	struct ff_error err = FF_ERROR_INIT;
	struct ff_csv_result res;
	int ret = ff_csv_import(argv[2], argv[3], &o, &res, &err);
	if (ret) {
		fprintf(stderr, "fedflow-algo-local: %s\n", ff_error_msg(&err, ret));
		return 1;
	}
	printf("%llu\n", (unsigned long long)res.count);
	return 0;
}

static int local_export(const char *dir, const char *file)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table *t = NULL;
	int ret = ff_table_open(&t, dir, 0, &err);
	if (!ret)
		ret = ff_csv_export_file(t, file, UINT64_MAX, FF_CSV_WITH_SID, &err);
	ff_table_free(t);
	if (ret)
		fprintf(stderr, "fedflow-algo-local: %s\n", ff_error_msg(&err, ret));
	return ret ? 1 : 0;
}

static int local_patch(char **argv)
{
	struct ff_error err = FF_ERROR_INIT;
	struct ff_table *t = NULL;
	struct ff_table_writer *w = NULL;
	struct ff_dataset ds = FF_DATASET_INIT;
	char *end;
	unsigned long long row = strtoull(argv[5], &end, 10);
	double v = strtod(argv[6], NULL);
	int col = 0;
	int ret = ff_table_open(&t, argv[2], 0, &err);
	if (!ret)
		ret = ff_table_column(t, argv[4], &col);
	if (!ret && col < 0)
		ret = ff_error_set(&err, FF_EINVAL, "'%s' is not a feature", argv[4]);
	if (!ret)
		ret = ff_table_load(t, -1, FF_NEED_VALUES | FF_NEED_IDS, &ds, &err);
	if (!ret && row >= ds.n)
		ret = ff_error_set(&err, FF_EINVAL, "row %llu of %zu", row, ds.n);
	if (!ret) {
		struct ff_table_writer_opts o = FF_TABLE_WRITER_OPTS_INIT;
		o.no_fsync = true;
		ret = ff_table_writer_create(&w, argv[3], ff_table_schema(t), &o, &err);
	}
	if (!ret)
		ds.x[row * ds.d + (size_t)col] = v;
	bool single = t && ff_schema_single_id(ff_table_schema(t));
	for (size_t i = 0; !ret && i < ds.n; i++) {
		struct ff_row_in r = { .sid = ds.sid[i], .sid_len = strlen(ds.sid[i]),
				       .mid = single ? NULL : ds.mid[i],
				       .mid_len = single ? 0 : strlen(ds.mid[i]),
				       .label = ds.label ? ds.label[i] : 0,
				       .weight = ds.weight ? ds.weight[i] : 1, .x = ds.x + i * ds.d };
		ret = ff_table_writer_append(w, &r, &err);
	}
	if (!ret)
		ret = ff_table_writer_commit(w, &err);
	ff_table_writer_free(w);
	ff_dataset_release(&ds);
	ff_table_free(t);
	if (ret)
		fprintf(stderr, "fedflow-algo-local: %s\n", ff_error_msg(&err, ret));
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "import"))
		return local_import(argc, argv);
	if (argc == 4 && !strcmp(argv[1], "export"))
		return local_export(argv[2], argv[3]);
	if (argc == 7 && !strcmp(argv[1], "patch"))
		return local_patch(argv);
	struct local_party ps[LOCAL_MAX_PARTIES];
	size_t np = 0;
	const char *metrics = NULL, *fault = NULL;
	long long timeout = 600000;
	memset(ps, 0, sizeof(ps));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--party") && i + 2 < argc && np < LOCAL_MAX_PARTIES) {
			ps[np].config = argv[i + 1];
			ps[np].meta = argv[i + 2];
			np++;
			i += 2;
		} else if (!strcmp(argv[i], "--metrics") && i + 1 < argc) {
			metrics = argv[++i];
		} else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
			char *end;
			timeout = strtoll(argv[++i], &end, 10);
			if (*end || timeout < 0)
				return local_usage();
		} else if (!strcmp(argv[i], "--fault") && i + 1 < argc) {
			fault = argv[++i];
		} else {
			return local_usage();
		}
	}
	if (!np)
		return local_usage();
	struct comp_memhub *hub = NULL;
	if (comp_memhub_new(&hub))
		return 1;
	comp_memhub_set_timeout(hub, timeout);
	if (fault && local_fault(hub, fault)) {
		comp_memhub_free(hub);
		return local_usage();
	}
	int status = 0;
	for (size_t i = 0; i < np; i++) {
		struct ff_error err = FF_ERROR_INIT;
		int ret = ff_task_load(ps[i].config, ps[i].meta, &ps[i].t, &err);
		if (ret) {
			fprintf(stderr, "fedflow-algo-local: %s: %s\n", ps[i].config,
				ff_error_msg(&err, ret));
			status = 1;
			goto out;
		}
		ps[i].hub = hub;
		comp_memhub_add(hub, ff_task_role(ps[i].t), ff_task_party_id(ps[i].t));
	}
	comp_memhub_install_hooks(hub);
	for (size_t i = 0; i < np; i++)
		if (pthread_create(&ps[i].th, NULL, local_run, &ps[i])) {
			fprintf(stderr, "fedflow-algo-local: cannot start a thread\n");
			comp_memhub_abort(hub, "cannot start a thread");
			for (size_t j = 0; j < i; j++)
				pthread_join(ps[j].th, NULL);
			status = 1;
			goto out;
		}
	for (size_t i = 0; i < np; i++)
		pthread_join(ps[i].th, NULL);
	for (size_t i = 0; i < np; i++) {
		const char *msg = ps[i].ret ? ff_error_msg(&ps[i].err, ps[i].ret) : NULL;
		if (ff_task_finish(ps[i].t, ps[i].ret, msg))
			status = 1;
		fprintf(stderr, "fedflow-algo-local: %s %s %s: %s\n", ff_task_name(ps[i].t),
			ff_task_role(ps[i].t), ff_task_party_id(ps[i].t), msg ? msg : "success");
	}
	if (metrics) {
		char *text = jsonx_dumps(comp_memhub_metrics(hub));
		if (!text || fs_write_atomic(metrics, text, strlen(text), NULL))
			status = 1;
		ff_free(text);
	}
out:
	comp_hooks_set(NULL);
	for (size_t i = 0; i < np; i++)
		ff_task_free(ps[i].t);
	comp_memhub_free(hub);
	return status;
}
