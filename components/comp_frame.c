// SPDX-License-Identifier: Apache-2.0
/*
 * comp_frame.c - dense data frames for the algorithm components: input
 * tables loaded and checked (rows, label, finite values), output tables
 * written at the task's output URIs and recorded in the final meta.
 */
#include "ff_setup.h"
#include <math.h>
#include <sodium.h>
#include "comp_util.h"
#include "fedflow/data.h"
#include "jsonx.h"
#include "mem.h"

static int comp_frame_check_finite(const struct comp_frame *f, unsigned flags,
				   struct ff_error *err)
{
	const struct ff_dataset *ds = &f->ds;
	for (size_t i = 0; i < ds->n; i++) {
		const double *row = ds->x + i * ds->d;
		for (size_t j = 0; j < ds->d; j++) {
			double v = row[j];
			if (isfinite(v) || (isnan(v) && (flags & COMP_FRAME_ALLOW_NAN)))
				continue;
			return ff_error_set(err, FF_EDATA, "input '%s': column '%s' has a non-finite "
					    "value (%s) at row %zu%s%s%s", f->key,
					    f->schema->feature_names[j], isnan(v) ? "nan" : "inf",
					    i + 1, ds->sid ? " (id '" : "", ds->sid ? ds->sid[i] : "",
					    ds->sid ? "')" : "");
		}
		if (ds->label && !isfinite(ds->label[i]))
			return ff_error_set(err, FF_EDATA, "input '%s': label column '%s' has a "
					    "non-finite value at row %zu", f->key,
					    f->schema->label_name, i + 1);
		if (ds->weight && !(isfinite(ds->weight[i]) && ds->weight[i] >= 0))
			return ff_error_set(err, FF_EDATA, "input '%s': weight column '%s' has a "
					    "negative or non-finite value at row %zu", f->key,
					    f->schema->weight_name, i + 1);
	}
	return FF_OK;
}

int comp_frame_from_table(struct ff_table *tbl, const char *key, unsigned flags,
			  struct comp_frame *f, struct ff_error *err)
{
	memset(f, 0, sizeof(*f));
	f->tbl = tbl;
	f->schema = ff_table_schema(tbl);
	f->key = key;
	unsigned need = FF_NEED_VALUES | ((flags & COMP_FRAME_NO_IDS) ? 0 : FF_NEED_IDS);
	int ret = ff_table_load(tbl, -1, need, &f->ds, err);
	if (ret)
		goto fail;
	if (f->ds.n == 0 && !(flags & COMP_FRAME_ALLOW_EMPTY)) {
		ret = ff_error_set(err, FF_EDATA, "input '%s' has no rows (an empty intersection: "
				   "did psi find no common ids?)", key);
		goto fail;
	}
	if ((flags & COMP_FRAME_LABEL) && !f->schema->label_name) {
		ret = ff_error_set(err, FF_EDATA, "input '%s' has no label column (upload the "
				   "table with meta.label_name)", key);
		goto fail;
	}
	ret = comp_frame_check_finite(f, flags, err);
	if (ret)
		goto fail;
	return FF_OK;
fail:
	comp_frame_release(f);
	return ret;
}

int comp_frame_load(struct ff_task *t, const char *key, size_t idx, unsigned flags,
		    struct comp_frame *f, struct ff_error *err)
{
	memset(f, 0, sizeof(*f));
	const json_t *art = ff_task_input(t, key, idx);
	if (!art)
		return ff_error_set(err, FF_EDATA, "input '%s' is missing", key);
	struct ff_table *tbl = NULL;
	int ret = ff_data_open_input(t, key, idx, &tbl, err);
	if (ret) {
		ff_error_prefix(err, "input '%s'", key);
		return ret;
	}
	ret = comp_frame_from_table(tbl, key, flags, f, err);
	if (!ret)
		f->art = art;
	return ret;
}

void comp_frame_release(struct comp_frame *f)
{
	ff_dataset_release(&f->ds);
	ff_table_free(f->tbl);
	memset(f, 0, sizeof(*f));
}

long comp_frame_col(const struct comp_frame *f, const char *name)
{
	return ff_schema_feature_index(f->schema, name);
}

void comp_frame_sid_hash(const struct comp_frame *f, unsigned char out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	unsigned char zero = 0;
	for (size_t i = 0; f->ds.sid && i < f->ds.n; i++) {
		crypto_generichash_update(&st, (const unsigned char *)f->ds.sid[i],
					  strlen(f->ds.sid[i]));
		crypto_generichash_update(&st, &zero, 1);
	}
	uint64_t n = f->ds.n;
	crypto_generichash_update(&st, (const unsigned char *)&n, sizeof(n));
	crypto_generichash_final(&st, out, 32);
}

static int comp_frame_schema(const struct comp_out_table *o, struct ff_schema *s,
			     struct ff_error *err)
{
	const struct ff_schema *src = o->src->schema;
	const char *label = NULL, *weight = NULL;
	if (o->with_label)
		label = o->label ? (o->label_name ? o->label_name : src->label_name)
				 : src->label_name;
	if (o->with_weight)
		weight = src->weight_name;
	int ret = ff_schema_set(s, src->sample_id_name,
				ff_schema_single_id(src) ? NULL : src->match_id_name, label, weight);
	if (!ret && label && src->label_type && strcmp(src->label_type, s->label_type)) {
		ff_free(s->label_type);
		s->label_type = ff_strdup(src->label_type);
		ret = s->label_type ? FF_OK : FF_ENOMEM;
	}
	size_t d = o->x ? o->d : src->n_features;
	for (size_t j = 0; !ret && j < d; j++)
		ret = ff_schema_add_feature(s, o->x ? o->names[j] : src->feature_names[j]);
	if (ret)
		return ff_error_set(err, ret, "out of memory");
	return ff_schema_validate(s, err);
}

int comp_frame_write(struct ff_task *t, const char *out_key, const struct comp_out_table *o,
		     struct ff_error *err)
{
	const struct ff_dataset *src = &o->src->ds;
	struct ff_schema s = FF_SCHEMA_INIT;
	struct ff_table_writer *w = NULL;
	int ret = comp_frame_schema(o, &s, err);
	if (ret)
		goto out;
	struct ff_table_writer_opts opts = FF_TABLE_WRITER_OPTS_INIT;
	opts.partitions = (unsigned)(o->n / 250000 + 1);
	if (opts.partitions > 16)
		opts.partitions = 16;
	opts.expected_rows = o->n;
	ret = ff_data_output_create(t, out_key, &s, &opts, &w, err);
	if (ret)
		goto out;
	bool single = ff_schema_single_id(&s);
	for (size_t i = 0; i < o->n; i++) {
		size_t r = o->src_rows ? o->src_rows[i] : i;
		if (r >= src->n || !src->sid) {
			ret = ff_error_set(err, FF_EINVAL, "output row %zu has no source row", i);
			goto out;
		}
		const char *sid = o->sids && o->sids[i] ? o->sids[i] : src->sid[r];
		const char *mid = src->mid ? src->mid[r] : sid;
		struct ff_row_in row = {
			.sid = sid, .sid_len = strlen(sid),
			.mid = single ? NULL : mid, .mid_len = single ? 0 : strlen(mid),
			.label = o->label ? o->label[i] : (src->label ? src->label[r] : 0),
			.weight = src->weight ? src->weight[r] : 1,
			.x = o->x ? o->x + i * o->d : src->x + r * src->d,
		};
		ret = ff_table_writer_append(w, &row, err);
		if (ret)
			goto out;
	}
	ret = ff_data_output_commit(t, out_key, w, err);
	w = NULL; /* freed by the commit */
out:
	ff_table_writer_free(w);
	ff_schema_release(&s);
	return ret;
}
