// SPDX-License-Identifier: Apache-2.0
/* yaml.c - libfyaml document tree -> jansson value. */
#include "ff_setup.h"
#include <libfyaml.h>
#include "yaml.h"
#include "log.h"
#include "mem.h"

static bool yaml_match_int(const char *s, size_t n, long long *out)
{
	char tmp[64];
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	int base = 10;
	const char *p = tmp;
	if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) {
		base = p[1] == 'x' ? 16 : 8;
		p += 2;
	} else {
		if (*p == '-' || *p == '+')
			p++;
		if (!*p)
			return false;
		for (const char *q = p; *q; q++)
			if (*q < '0' || *q > '9')
				return false;
		p = tmp;
	}
	char *end;
	errno = 0;
	long long v = strtoll(p, &end, base);
	if (errno || *end || end == p)
		return false;
	*out = v;
	return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_match_float(const char *s, size_t n, double *out)
{
	char tmp[128];
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	const char *p = tmp;
	if (*p == '-' || *p == '+')
		p++;
	size_t digits = 0;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return false;
	*out = strtod(tmp, NULL);
	return true;
}

static bool yaml_is(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && !memcmp(s, *words, n))
			return true;
	return false;
}

static json_t *yaml_plain_scalar(const char *s, size_t n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	long long iv;
	double dv;
	if (yaml_is(s, n, nulls))
		return json_null();
	if (yaml_is(s, n, trues))
		return json_true();
	if (yaml_is(s, n, falses))
		return json_false();
	if (yaml_match_int(s, n, &iv))
		return json_integer(iv);
	if (yaml_match_float(s, n, &dv)) {
		json_t *r = json_real(dv);
		if (r)
			return r;
	}
	return json_stringn(s, n);
}

static int yaml_mark_err(struct fy_node *fyn, struct ff_error *err,
			 const char *what)
{
	struct fy_token *t = fy_node_get_type(fyn) == FYNT_SCALAR ? fy_node_get_scalar_token(fyn) : NULL;
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
	if (m)
		return ff_error_set(err, FF_EINVAL,
				    "malformed YAML at line %d, column %d: %s",
				    m->line + 1, m->column + 1, what);
	return ff_error_set(err, FF_EINVAL, "malformed YAML: %s", what);
}

static int yaml_node(struct fy_node *fyn, json_t **out, struct ff_error *err,
		     int depth)
{
	if (depth > 200)
		return yaml_mark_err(fyn, err, "nesting deeper than 200 levels");
	if (!fyn) {
		*out = json_null();
		return FF_OK;
	}
	switch (fy_node_get_type(fyn)) {
	case FYNT_SCALAR: {
		size_t n;
		const char *s = fy_node_get_scalar(fyn, &n);
		if (!s)
			return yaml_mark_err(fyn, err, "unreadable scalar");
		*out = fy_node_get_style(fyn) == FYNS_PLAIN ?
			yaml_plain_scalar(s, n) : json_stringn(s, n);
		return *out ? FF_OK : yaml_mark_err(fyn, err, "invalid UTF-8 in scalar");
	}
	case FYNT_SEQUENCE: {
		json_t *arr = json_array();
		void *it = NULL;
		struct fy_node *child;
		while ((child = fy_node_sequence_iterate(fyn, &it))) {
			json_t *v;
			int ret = yaml_node(child, &v, err, depth + 1);
			if (ret) {
				json_decref(arr);
				return ret;
			}
			json_array_append_new(arr, v);
		}
		*out = arr;
		return FF_OK;
	}
	case FYNT_MAPPING: {
		json_t *obj = json_object();
		void *it = NULL;
		struct fy_node_pair *pair;
		while ((pair = fy_node_mapping_iterate(fyn, &it))) {
			struct fy_node *k = fy_node_pair_key(pair);
			if (!k || fy_node_get_type(k) != FYNT_SCALAR) {
				json_decref(obj);
				return yaml_mark_err(k ? k : fyn, err, "mapping key is not a scalar");
			}
			size_t kn;
			const char *ks = fy_node_get_scalar(k, &kn);
			char *key = ks ? ff_strndup(ks, kn) : NULL;
			json_t *v = NULL;
			int ret = key ? yaml_node(fy_node_pair_value(pair), &v, err, depth + 1)
				      : FF_ENOMEM;
			if (!ret && json_object_set_new(obj, key, v) < 0)
				ret = yaml_mark_err(k, err, "invalid mapping key");
			ff_free(key);
			if (ret) {
				json_decref(obj);
				return ret;
			}
		}
		*out = obj;
		return FF_OK;
	}
	}
	return yaml_mark_err(fyn, err, "unknown node type");
}

/* First diagnostic libfyaml printed ("<file>:L:C: error: text"). */
struct yaml_diag_text {
	char text[FF_ERROR_MSG_MAX];
};

static void yaml_diag_out(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	struct yaml_diag_text *d = user;
	if (d->text[0] || !len)
		return;
	size_t n = len < sizeof(d->text) - 1 ? len : sizeof(d->text) - 1;
	memcpy(d->text, buf, n);
	d->text[n] = '\0';
	char *nl = strchr(d->text, '\n');
	if (nl)
		*nl = '\0';
}

/*
 * The first error libfyaml collected, as "malformed YAML at line L, column
 * C: text"; else the first line it printed without a position.
 */
static int yaml_diag_error(struct fy_diag *diag, const struct yaml_diag_text *d,
			   struct ff_error *err)
{
	void *it = NULL;
	struct fy_diag_error *e;
	while ((e = fy_diag_errors_iterate(diag, &it))) {
		if (e->type < FYET_ERROR || !e->msg)
			continue;
		if (e->line > 0 && e->column > 0)
			return ff_error_set(err, FF_EINVAL, "malformed YAML at line %d, column %d: %s",
					    e->line, e->column, e->msg);
		return ff_error_set(err, FF_EINVAL, "malformed YAML: %s", e->msg);
	}
	return ff_error_set(err, FF_EINVAL, "malformed YAML or JSON document%s%s",
			    d->text[0] ? ": " : "", d->text);
}

/*
 * libfyaml can hang on invalid UTF-8 in directives: refuse it up front.
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF; libfyaml 0.7.12 spins forever on "%\xf6\x91\x91\x91n\nnnn"
 * (a lead byte 0xf5..0xf7, which a check of the bit patterns alone lets
 * through; fuzz/corpus/dag/hang-fyaml-directive-utf8).
 */
static bool yaml_utf8_ok(const char *s, size_t n, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t k;
		/* the allowed range of the second byte; the others are 80..bf */
		unsigned char lo = 0x80, hi = 0xbf;
		if (c < 0x80)
			k = 0;
		else if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			goto bad;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* surrogates */
		else if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* above U+10FFFF */
		if (k > n - i - 1)
			goto bad;
		if (k && (p[i + 1] < lo || p[i + 1] > hi))
			goto bad;
		for (size_t j = 2; j <= k; j++)
			if ((p[i + j] >> 6) != 2)
				goto bad;
		if (c == 0 && i + 1 < n)
			goto bad;
		i += k + 1;
		continue;
bad:
		*bad = i;
		return false;
	}
	return true;
}

int yaml_load(const char *text, size_t len, json_t **out, struct ff_error *err)
{
	int ret = FF_OK;
	size_t bad = 0;
	*out = NULL;
	if (!yaml_utf8_ok(text, len, &bad))
		return ff_error_set(err, FF_EINVAL, "malformed document: invalid UTF-8 or NUL at "
				    "byte %zu", bad);
	struct yaml_diag_text dtext = { .text = "" };
	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = yaml_diag_out;
	dcfg.user = &dtext;
	dcfg.colorize = false;
	dcfg.level = FYET_ERROR;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	/*
	 * Errors are collected, not printed: printing renders the source line
	 * under the message, and libfyaml 0.7.12 (Debian 12) reads a wild
	 * pointer there for some malformed scalars (fy_diag_error_atom_display;
	 * fuzz/corpus/dag/crash-fyaml-diag-source), so any DAG, config or
	 * request body could crash the daemon.
	 */
	if (diag)
		fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = {
		.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_RESOLVE_DOCUMENT |
			 FYPCF_DEFAULT_VERSION_1_2,
		.diag = diag,
	};
	struct fy_document *fyd = NULL;
	if (!diag)
		return ff_error_set(err, FF_ENOMEM, "cannot create YAML parser");
	/* fy_document_build_from_string keeps a pointer to the text. */
	fyd = fy_document_build_from_string(&cfg, text, len);
	if (!fyd || fy_diag_got_error(diag)) {
		ret = yaml_diag_error(diag, &dtext, err);
		goto out;
	}
	ret = yaml_node(fy_document_root(fyd), out, err, 0);
out:
	if (fyd)
		fy_document_destroy(fyd);
	fy_diag_destroy(diag);
	return ret;
}
