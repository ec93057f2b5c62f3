// SPDX-License-Identifier: Apache-2.0
/*
 * model_store.c - model packages on disk: storage keys, atomic puts,
 * packing component outputs, unpacking inputs, reading for the API.
 */
#include "ff_setup.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clock.h"
#include "data/archive.h"
#include "fs.h"
#include "jsonx.h"
#include "mem.h"
#include "model_store.h"

#define MODEL_META_MAX ((size_t)1 << 20)
#define MODEL_JSON_MAX ((size_t)256 << 20)
#define MODEL_META_SUFFIX ".meta.yaml"

/* ---- keys and paths ---- */

int model_store_key(const struct model_key *k, char **out, struct ff_error *err)
{
	const char *parts[] = { k->model_id, k->model_version, k->role, k->party_id,
				k->task_name, k->output_key };
	static const char *const names[] = { "model_id", "model_version", "role", "party_id",
					     "task_name", "output_key" };
	for (size_t i = 0; i < FF_ARRAY_SIZE(parts); i++)
		if (!fs_name_ok(parts[i], MODEL_NAME_MAX))
			return ff_error_set(err, FF_EPARAM, "%s '%.80s' is not a valid name (1..%d "
					    "characters, no '/', not starting with '.')", names[i],
					    parts[i] ? parts[i] : "", MODEL_NAME_MAX);
	*out = ff_asprintf("%s/%s/%s/%s/%s/%s", parts[0], parts[1], parts[2], parts[3], parts[4],
			   parts[5]);
	return *out ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
}

int model_store_key_parse(const char *storage_key, char *buf, size_t bufsz,
			  struct model_key *k, struct ff_error *err)
{
	const char **parts[] = { &k->model_id, &k->model_version, &k->role, &k->party_id,
				 &k->task_name, &k->output_key };
	size_t n = strlen(storage_key);
	if (n + 1 > bufsz)
		return ff_error_set(err, FF_EPARAM, "storage key '%.80s' is too long", storage_key);
	memcpy(buf, storage_key, n + 1);
	char *p = buf;
	for (size_t i = 0; i < FF_ARRAY_SIZE(parts); i++) {
		char *e = strchr(p, '/');
		if ((e == NULL) != (i == FF_ARRAY_SIZE(parts) - 1))
			return ff_error_set(err, FF_EPARAM, "'%.100s' is not model_id/model_version/"
					    "role/party_id/task_name/output_key", storage_key);
		if (e)
			*e = '\0';
		*parts[i] = p;
		if (!fs_name_ok(p, MODEL_NAME_MAX))
			return ff_error_set(err, FF_EPARAM, "storage key '%.100s' has an invalid "
					    "part '%.60s'", storage_key, p);
		p = e ? e + 1 : p;
	}
	return FF_OK;
}

char *model_store_path(const char *model_dir, const char *storage_key)
{
	return ff_asprintf("%s/%s", model_dir, storage_key);
}

/* ---- put / delete ---- */

static int model_copy_file(const char *src, const char *dst, struct ff_error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return ff_error_set(err, errno == ENOENT ? FF_ENOMODEL : ff_from_errno(errno),
				    "cannot open '%s': %s", src, strerror(errno));
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		int e = errno;
		close(in);
		return ff_error_set(err, ff_from_errno(e), "cannot create '%s': %s", dst, strerror(e));
	}
	int ret = FF_OK;
	char *buf = ff_malloc(1 << 16);
	if (!buf)
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
	while (!ret) {
		ssize_t r = read(in, buf, 1 << 16);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = ff_error_set(err, ff_from_errno(errno), "cannot read '%s': %s", src,
					   strerror(errno));
			break;
		}
		if (r == 0)
			break;
		for (ssize_t off = 0; !ret && off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				ret = ff_error_set(err, ff_from_errno(errno), "cannot write '%s': %s",
						   dst, strerror(errno));
			else
				off += w;
		}
	}
	ff_free(buf);
	close(in);
	if (close(out) && !ret)
		ret = ff_error_set(err, ff_from_errno(errno), "cannot write '%s': %s", dst,
				   strerror(errno));
	return ret;
}

int model_store_put(const char *model_dir, const char *storage_key, const char *src, bool move,
		    struct ff_error *err)
{
	char *path = model_store_path(model_dir, storage_key);
	char uuid[33];
	clock_uuid_hex(uuid);
	char *tmp = path ? ff_asprintf("%s.tmp-%s", path, uuid) : NULL;
	char *dir = path ? ff_strdup(path) : NULL;
	int ret = tmp && dir ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret) {
		*strrchr(dir, '/') = '\0';
		ret = fs_mkdirs(dir, 0755, err);
	}
	if (!ret && move && !rename(src, path))
		goto out;
	if (!ret && move && errno != EXDEV)
		ret = ff_error_set(err, ff_from_errno(errno), "cannot store model '%s': %s",
				   storage_key, strerror(errno));
	if (!ret)
		ret = model_copy_file(src, tmp, err);
	if (!ret && rename(tmp, path))
		ret = ff_error_set(err, ff_from_errno(errno), "cannot store model '%s': %s",
				   storage_key, strerror(errno));
	if (ret && tmp)
		unlink(tmp);
	if (!ret && move)
		unlink(src);
out:
	ff_free(path);
	ff_free(tmp);
	ff_free(dir);
	return ret;
}

int model_store_delete(const char *model_dir, const char *storage_key)
{
	char *path = model_store_path(model_dir, storage_key);
	int ret = FF_OK;
	if (!path)
		return FF_ENOMEM;
	if (unlink(path) && errno != ENOENT)
		ret = ff_from_errno(errno);
	/* drop the now empty key folders, up to the model folder */
	for (char *s = strrchr(path, '/'); s && s > path + strlen(model_dir); s = strrchr(path, '/')) {
		*s = '\0';
		if (rmdir(path))
			break;
	}
	ff_free(path);
	return ret;
}

/* ---- packing ---- */

static const char *model_basename(const char *path, char *buf, size_t n)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	const char *s = path + len;
	while (s > path && s[-1] != '/')
		s--;
	snprintf(buf, n, "%.*s", (int)(path + len - s), s);
	return buf;
}

static int model_pack_one(struct archive_out *w, const json_t *a, size_t i, size_t n,
			  json_t *keys, json_t *metas, struct ff_error *err)
{
	const char *uri = jsonx_str(a, "uri");
	if (!uri || strncmp(uri, "file://", 7))
		return ff_error_set(err, FF_EWORKER, "model output %zu: uri '%.200s' is not a file:// "
				    "URI", i, uri ? uri : "");
	const char *path = uri + 7;
	struct stat st;
	if (stat(path, &st))
		return ff_error_set(err, FF_EWORKER, "model output '%.200s' was not written: %s", path,
				    strerror(errno));
	char key[NAME_MAX + 1];
	model_basename(path, key, sizeof(key));
	if (!fs_name_ok(key, MODEL_NAME_MAX))
		return ff_error_set(err, FF_EWORKER, "model output '%.200s' has an invalid name", path);
	if (json_object_get(keys, key))
		return ff_error_set(err, FF_EWORKER, "two model outputs are named '%s'", key);
	json_object_set_new(keys, key, json_true());
	const json_t *md = json_object_get(a, "metadata");
	json_t *meta = json_is_object(md) ? json_deep_copy(md) : json_object();
	const char *type = jsonx_str(a, "type_name");
	if (!type)
		type = S_ISDIR(st.st_mode) ? "model_directory" : "json_model";
	json_t *index = json_object_get(meta, "index");
	int bad = json_object_set_new(meta, "model_key", json_string(key));
	bad |= json_object_set_new(meta, "type_name", json_string(type));
	if (!index)
		bad |= json_object_set_new(meta, "index", n > 1 ? json_integer((json_int_t)i)
							   : json_null());
	char *text = bad ? NULL : jsonx_dumps(meta);
	char *mname = ff_asprintf("%s" MODEL_META_SUFFIX, key);
	int ret = text && mname ? FF_OK : ff_error_set(err, FF_ENOMEM, "out of memory");
	if (!ret)
		ret = archive_out_add_bytes(w, mname, text, strlen(text), err);
	if (!ret)
		ret = S_ISDIR(st.st_mode) ? archive_out_add_tree(w, key, path, err)
					  : archive_out_add_file(w, key, path, err);
	if (!ret && metas)
		json_array_append(metas, meta);
	json_decref(meta);
	ff_free(text);
	ff_free(mname);
	return ret;
}

int model_store_pack(const json_t *artifacts, const char *tar_path, json_t **metas,
		     struct ff_error *err)
{
	struct archive_out *w = NULL;
	json_t *keys = json_object();
	json_t *list = json_array();
	size_t n = json_array_size(artifacts);
	int ret = keys && list ? archive_out_open_path(&w, tar_path, ARCHIVE_KIND_TAR, err)
			       : FF_ENOMEM;
	for (size_t i = 0; !ret && i < n; i++)
		ret = model_pack_one(w, json_array_get(artifacts, i), i, n, keys, list, err);
	if (!ret)
		ret = archive_out_close(w, err);
	archive_out_free(w);
	json_decref(keys);
	if (ret) {
		unlink(tar_path);
		json_decref(list);
		return ret;
	}
	if (metas)
		*metas = list;
	else
		json_decref(list);
	return FF_OK;
}

/* ---- reading ---- */

static bool model_is_meta(const char *name)
{
	size_t n = strlen(name);
	return (n >= 5 && !strcmp(name + n - 5, ".yaml")) || (n >= 4 && !strcmp(name + n - 4, ".yml"));
}

static int model_meta_cb(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	json_t *metas = arg;
	if (!model_is_meta(name))
		return FF_OK;
	struct ff_error err = FF_ERROR_INIT;
	struct ff_buf b = FF_BUF_INIT_MAX(MODEL_META_MAX);
	json_t *m = NULL;
	int ret = archive_in_to_buf(in, &b, &err);
	if (!ret)
		ret = jsonx_load_any(b.buf, b.len, &m, &err);
	ff_buf_release(&b);
	if (!ret && json_is_object(m))
		json_array_append(metas, m);
	json_decref(m);
	return ret == FF_E2BIG ? ret : FF_OK; /* a member that is not a meta is ignored */
}

int model_store_metas(const char *tar_path, json_t **metas, struct ff_error *err)
{
	json_t *list = json_array();
	if (!list)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	int ret = archive_walk(tar_path, model_meta_cb, list, err);
	if (ret) {
		json_decref(list);
		return ret;
	}
	*metas = list;
	return FF_OK;
}

static json_int_t model_index(const json_t *meta)
{
	const json_t *v = json_object_get(meta, "index");
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Stable sort of an array of metas (or of artifacts, by their metadata) by index. */
static void model_sort(json_t *arr, bool artifacts)
{
	size_t n = json_array_size(arr);
	json_t **v = n > 1 ? ff_calloc(n, sizeof(*v)) : NULL;
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i; j > 0; j--) {
			const json_t *a = artifacts ? json_object_get(v[j - 1], "metadata") : v[j - 1];
			const json_t *b = artifacts ? json_object_get(v[j], "metadata") : v[j];
			if (model_index(a) <= model_index(b))
				break;
			json_t *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	}
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	ff_free(v);
}

struct model_unpack {
	const char *dest;
	json_t *metas;
	json_t *files;       /* non-meta members extracted */
	struct ff_error *err;
};

static int model_unpack_cb(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	struct model_unpack *u = arg;
	if (model_is_meta(name))
		return model_meta_cb(u->metas, name, size, in);
	char *path = ff_asprintf("%s/%s", u->dest, name);
	int ret = path ? archive_in_to_file(in, path, u->err) : FF_ENOMEM;
	if (!ret)
		json_array_append_new(u->files, json_string(name));
	ff_free(path);
	return ret;
}

int model_store_unpack(const char *tar_path, const char *dest, json_t **artifacts,
		       struct ff_error *err)
{
	struct model_unpack u = { .dest = dest, .metas = json_array(), .files = json_array(),
				  .err = err };
	json_t *out = json_array();
	int ret = u.metas && u.files && out ? fs_mkdirs(dest, 0755, err) : FF_ENOMEM;
	if (!ret)
		ret = archive_walk(tar_path, model_unpack_cb, &u, err);
	if (!ret && json_array_size(u.metas) == 0)
		ret = ff_error_set(err, FF_EDATA, "model package '%s' has no meta", tar_path);
	size_t i;
	json_t *meta;
	json_array_foreach(ret ? NULL : u.metas, i, meta) {
		const char *key = jsonx_str(meta, "model_key");
		char *path = key && fs_name_ok(key, MODEL_NAME_MAX) ? ff_asprintf("%s/%s", dest, key)
								    : NULL;
		if (path && !fs_exists(path)) {
			const char *type = jsonx_str(meta, "type_name");
			if (json_array_size(u.files) == 1) {
				ff_free(path);
				path = ff_asprintf("%s/%s", dest,
						   json_string_value(json_array_get(u.files, 0)));
			} else if (type && strcmp(type, "json_model")) {
				fs_mkdirs(path, 0755, NULL); /* an empty model directory */
			}
		}
		if (!path) {
			ret = ff_error_set(err, FF_EDATA, "model package '%s': meta without a valid "
					   "model_key", tar_path);
			break;
		}
		char *uri = ff_asprintf("file://%s", path);
		json_array_append_new(out, json_pack("{s:s?,s:O,s:s?}", "uri", uri, "metadata", meta,
						     "type_name", jsonx_str(meta, "type_name")));
		ff_free(uri);
		ff_free(path);
	}
	json_decref(u.metas);
	json_decref(u.files);
	if (ret) {
		json_decref(out);
		return ret;
	}
	model_sort(out, true);
	*artifacts = out;
	return FF_OK;
}

struct model_read {
	json_t *metas;
	json_t *models;      /* model_key -> JSON or {"files": [...]} */
	struct ff_error *err;
};

static int model_read_cb(void *arg, const char *name, uint64_t size, struct archive_in *in)
{
	struct model_read *m = arg;
	size_t i;
	json_t *meta;
	json_array_foreach(m->metas, i, meta) {
		const char *key = jsonx_str(meta, "model_key");
		size_t kn = key ? strlen(key) : 0;
		if (!kn || strncmp(name, key, kn))
			continue;
		if (!name[kn]) {
			struct ff_buf b = FF_BUF_INIT_MAX(MODEL_JSON_MAX);
			json_t *j = NULL;
			int ret = archive_in_to_buf(in, &b, m->err);
			if (!ret && jsonx_parse(b.buf, b.len, &j, NULL))
				j = json_pack("{s:s,s:I}", "model_key", key, "size", (json_int_t)b.len);
			ff_buf_release(&b);
			if (ret)
				return ret;
			json_object_set_new(m->models, key, j);
			return FF_OK;
		}
		if (name[kn] == '/') {
			json_t *d = json_object_get(m->models, key);
			if (!d) {
				d = json_pack("{s:s,s:s?,s:[]}", "model_key", key, "type_name",
					      jsonx_str(meta, "type_name"), "files");
				json_object_set_new(m->models, key, d);
			}
			json_array_append_new(json_object_get(d, "files"), json_string(name + kn + 1));
			return FF_OK;
		}
	}
	return FF_OK;
}

int model_store_read(const char *tar_path, json_t **out, struct ff_error *err)
{
	struct model_read m = { .models = json_object(), .err = err };
	int ret = model_store_metas(tar_path, &m.metas, err);
	if (!ret)
		ret = archive_walk(tar_path, model_read_cb, &m, err);
	json_t *res = NULL;
	if (!ret) {
		model_sort(m.metas, false);
		json_t *list = json_array();
		size_t i;
		json_t *meta;
		json_array_foreach(m.metas, i, meta) {
			json_t *model = json_object_get(m.models, jsonx_str(meta, "model_key") ?
							jsonx_str(meta, "model_key") : "");
			if (!model)
				continue;
			if (model_index(meta) < 0 && !res)
				res = json_incref(model);
			json_array_append(list, model);
		}
		if (!res)
			res = list;
		else
			json_decref(list);
	}
	json_decref(m.metas);
	json_decref(m.models);
	if (ret)
		return ret;
	*out = res;
	return FF_OK;
}
