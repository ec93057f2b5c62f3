// SPDX-License-Identifier: Apache-2.0
/*
 * comp_psi.c - the `psi` component: ECDH private set intersection between
 * the guest and its hosts (comp_psi.h has the message flow), then each
 * party writes its rows of the intersection, aligned, as output_data.
 */
#include "ff_setup.h"
#include <sodium.h>
#include "comp.h"
#include "comp_psi.h"
#include "jsonx.h"
#include "mem.h"
#include "psi.h"

#define PSI_ROLES "guest,host"
#define PSI_TAG_G1 "psi.guest_first_sign"
#define PSI_TAG_H1 "psi.host_first_sign"
#define PSI_TAG_G2 "psi.guest_second_sign"
#define PSI_TAG_IDX "psi.host_indexer"
/* ids above this per party are refused before any work (memory bound) */
#define PSI_MAX_IDS ((size_t)1 << 31)

void comp_psi_result_release(struct comp_psi_result *r)
{
	ff_free(r->rows);
	ff_free(r->sids);
	ff_free(r->sid_blob);
	memset(r, 0, sizeof(*r));
}

/* a*H(id) for every match id of f: *out owned, n * PSI_BYTES bytes. */
static int psi_blind_frame(const struct psi_secret *s, const struct comp_frame *f,
			   unsigned nthreads, unsigned char **out, struct ff_error *err)
{
	size_t n = f->ds.n;
	struct psi_id *ids = ff_calloc(n ? n : 1, sizeof(*ids));
	unsigned char *buf = ff_malloc(n ? n * PSI_BYTES : 1);
	int ret = FF_OK;
	if (!ids || !buf) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i].data = f->ds.mid[i];
		ids[i].len = strlen(f->ds.mid[i]);
	}
	ret = n ? psi_blind_ids(s, buf, ids, n, nthreads, err) : FF_OK;
out:
	ff_free(ids);
	if (ret) {
		ff_free(buf);
		buf = NULL;
	}
	*out = buf;
	return ret;
}

/* Receives count points (count * PSI_BYTES bytes); count SIZE_MAX = any. */
static int psi_recv_points(struct comp_net *net, const char *tag, const char *role,
			   const char *party, size_t expect, unsigned char **out, size_t *count,
			   struct ff_error *err)
{
	struct comp_msgr r;
	const unsigned char *p;
	size_t n = 0;
	*out = NULL;
	int ret = comp_net_recv(net, tag, role, party, &r, err);
	if (!ret)
		ret = comp_msgr_bytes(&r, &p, &n, PSI_MAX_IDS * PSI_BYTES, err);
	if (!ret)
		ret = comp_msgr_end(&r, err);
	if (!ret && n % PSI_BYTES)
		ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s %s: %zu bytes is "
				   "not a whole number of points", tag, role, party, n);
	if (!ret && expect != SIZE_MAX && n / PSI_BYTES != expect)
		ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s %s: %zu points "
				   "where %zu were expected", tag, role, party, n / PSI_BYTES, expect);
	if (!ret) {
		*out = ff_malloc(n ? n : 1);
		if (!*out)
			ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		else if (n)
			memcpy(*out, p, n);
	}
	*count = n / PSI_BYTES;
	comp_msgr_release(&r);
	return ret;
}

static int psi_send_points(struct comp_net *net, const char *tag, const char *role,
			   const char *party, const unsigned char *pts, size_t count,
			   struct ff_error *err)
{
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_bytes(&w, pts, count * PSI_BYTES);
	if (party)
		return comp_net_send(net, tag, role, party, &w, err);
	return comp_net_broadcast(net, tag, role, &w, err);
}

/* Re-blinds a peer's points; an invalid point is the peer's protocol error. */
static int psi_reblind_peer(const struct psi_secret *s, unsigned char *pts, size_t count,
			    unsigned nthreads, const char *tag, const char *role, const char *party,
			    struct ff_error *err)
{
	struct ff_error e2 = FF_ERROR_INIT;
	int ret = count ? psi_reblind(s, pts, pts, count, nthreads, &e2) : FF_OK;
	if (ret == FF_EINVAL)
		return ff_error_set(err, FF_EPROTO, "malformed message '%s' from %s %s: %s", tag,
				    role, party, ff_error_msg(&e2, ret));
	if (ret)
		return ff_error_set(err, ret, "%s", ff_error_msg(&e2, ret));
	return FF_OK;
}

/* One host's part of the guest side: match[gi] = host row or SIZE_MAX. */
static int psi_guest_host(struct comp_net *net, const struct psi_secret *a, const char *host,
			  size_t ng, unsigned nthreads, size_t *match, struct ff_error *err)
{
	unsigned char *hb = NULL, *ga = NULL;
	size_t nh = 0, n2 = 0, np = 0;
	struct psi_pair *pairs = NULL;
	int ret = psi_recv_points(net, PSI_TAG_H1, "host", host, SIZE_MAX, &hb, &nh, err);
	if (!ret)
		ret = psi_reblind_peer(a, hb, nh, nthreads, PSI_TAG_H1, "host", host, err);
	if (!ret)
		ret = psi_recv_points(net, PSI_TAG_G2, "host", host, ng, &ga, &n2, err);
	/* double-blinded values are only compared, so check they are points */
	for (size_t i = 0; !ret && i < n2; i++)
		if (!crypto_core_ristretto255_is_valid_point(ga + i * PSI_BYTES))
			ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from host %s: "
					   "invalid point at index %zu", PSI_TAG_G2, host, i);
	if (ret)
		goto out;
	struct ff_error e2 = FF_ERROR_INIT;
	ret = psi_intersect(ga, ng, hb, nh, PSI_REJECT_DUP_B, &pairs, &np, &e2);
	if (ret == FF_EDATA) {
		ret = ff_error_set(err, FF_EDATA, "host %s has duplicate match ids (%s)", host,
				   ff_error_msg(&e2, ret));
		goto out;
	}
	if (ret) {
		ret = ff_error_set(err, ret, "%s", ff_error_msg(&e2, ret));
		goto out;
	}
	for (size_t i = 0; i < ng; i++)
		match[i] = SIZE_MAX;
	for (size_t k = 0; k < np; k++)
		match[pairs[k].a_idx] = pairs[k].b_idx;
out:
	ff_free(hb);
	ff_free(ga);
	ff_free(pairs);
	return ret;
}

static int psi_send_indexer(struct comp_net *net, const char *host, const struct comp_frame *f,
			    const struct comp_psi_result *r, const size_t *match,
			    struct ff_error *err)
{
	uint64_t *hrows = ff_malloc((r->n ? r->n : 1) * sizeof(*hrows));
	struct ff_buf blob = FF_BUF_INIT_MAX(COMP_MSG_MAX / 2);
	int ret = hrows ? FF_OK : FF_ENOMEM;
	for (size_t i = 0; !ret && i < r->n; i++) {
		hrows[i] = match[r->rows[i]];
		ret = ff_buf_add(&blob, f->ds.sid[r->rows[i]], strlen(f->ds.sid[r->rows[i]]) + 1);
	}
	if (ret) {
		ff_free(hrows);
		ff_buf_release(&blob);
		return ff_error_set(err, ret, "cannot build message '%s'", PSI_TAG_IDX);
	}
	struct comp_msgw w;
	comp_msgw_init(&w);
	comp_msgw_u64v(&w, hrows, r->n);
	comp_msgw_bytes(&w, blob.buf, blob.len);
	ff_free(hrows);
	ff_buf_release(&blob);
	return comp_net_send(net, PSI_TAG_IDX, "host", host, &w, err);
}

int comp_psi_guest(struct comp_net *net, const struct comp_frame *f, unsigned nthreads,
		   struct comp_psi_result *r, struct ff_error *err)
{
	struct psi_secret a;
	unsigned char *ga = NULL;
	size_t nhosts, ng = f->ds.n;
	const char *const *hosts = comp_net_parties(net, "host", &nhosts);
	size_t *match = NULL, *keep = NULL;
	int ret;
	memset(r, 0, sizeof(*r));
	if (!nhosts)
		return ff_error_set(err, FF_EINVAL, "psi needs at least one host");
	if (ng > PSI_MAX_IDS)
		return ff_error_set(err, FF_E2BIG, "psi input has more than %zu rows", PSI_MAX_IDS);
	ret = psi_secret_generate(&a, err);
	if (!ret)
		ret = psi_blind_frame(&a, f, nthreads, &ga, err);
	if (!ret)
		ret = psi_send_points(net, PSI_TAG_G1, "host", NULL, ga, ng, err);
	if (ret)
		goto out;
	match = ff_malloc((ng ? ng : 1) * nhosts * sizeof(*match));
	keep = ff_malloc((ng ? ng : 1) * sizeof(*keep));
	if (!match || !keep) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t h = 0; h < nhosts && !ret; h++)
		ret = psi_guest_host(net, &a, hosts[h], ng, nthreads, match + h * ng, err);
	if (ret)
		goto out;
	for (size_t i = 0; i < ng; i++) {
		bool all = true;
		for (size_t h = 0; h < nhosts && all; h++)
			all = match[h * ng + i] != SIZE_MAX;
		if (all)
			keep[r->n++] = i;
	}
	r->rows = keep;
	keep = NULL;
	for (size_t h = 0; h < nhosts && !ret; h++)
		ret = psi_send_indexer(net, hosts[h], f, r, match + h * ng, err);
out:
	if (ret) {
		/* a host waiting for its indexer learns why at once */
		comp_net_broadcast_error(net, PSI_TAG_IDX, "host", ff_error_msg(err, ret));
		comp_psi_result_release(r);
	}
	psi_secret_wipe(&a);
	ff_free(ga);
	ff_free(match);
	ff_free(keep);
	return ret;
}

static int psi_host_indexer(struct comp_net *net, const char *guest, size_t nh,
			    struct comp_psi_result *r, struct ff_error *err)
{
	struct comp_msgr m;
	uint64_t *rows = NULL;
	size_t n = 0, blen = 0;
	const unsigned char *blob;
	int ret = comp_net_recv(net, PSI_TAG_IDX, "guest", guest, &m, err);
	if (!ret)
		ret = comp_msgr_u64v_alloc(&m, &rows, &n, PSI_MAX_IDS, err);
	if (!ret)
		ret = comp_msgr_bytes(&m, &blob, &blen, COMP_MSG_MAX, err);
	if (!ret)
		ret = comp_msgr_end(&m, err);
	if (ret)
		goto out;
	r->rows = ff_malloc((n ? n : 1) * sizeof(*r->rows));
	r->sids = ff_calloc(n ? n : 1, sizeof(*r->sids));
	r->sid_blob = ff_malloc(blen + 1);
	if (!r->rows || !r->sids || !r->sid_blob) {
		ret = ff_error_set(err, FF_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(r->sid_blob, blob, blen);
	r->sid_blob[blen] = 0;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		if (rows[i] >= nh) {
			ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from guest %s: row "
					   "%llu of %zu", PSI_TAG_IDX, guest,
					   (unsigned long long)rows[i], nh);
			goto out;
		}
		char *end = off < blen ? memchr(r->sid_blob + off, 0, blen - off) : NULL;
		if (!end || end == r->sid_blob + off) {
			ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from guest %s: "
					   "sample id %zu missing or empty", PSI_TAG_IDX, guest, i);
			goto out;
		}
		r->rows[i] = (size_t)rows[i];
		r->sids[i] = r->sid_blob + off;
		off = (size_t)(end - r->sid_blob) + 1;
	}
	if (off != blen)
		ret = ff_error_set(err, FF_EPROTO, "malformed message '%s' from guest %s: %zu extra "
				   "bytes of sample ids", PSI_TAG_IDX, guest, blen - off);
	r->n = n;
out:
	ff_free(rows);
	comp_msgr_release(&m);
	return ret;
}

int comp_psi_host(struct comp_net *net, const struct comp_frame *f, unsigned nthreads,
		  struct comp_psi_result *r, struct ff_error *err)
{
	struct psi_secret b;
	unsigned char *hb = NULL, *ga = NULL;
	size_t ng = 0, nguests;
	const char *const *guests = comp_net_parties(net, "guest", &nguests);
	memset(r, 0, sizeof(*r));
	if (nguests != 1)
		return ff_error_set(err, FF_EINVAL, "psi needs exactly one guest (%zu found)", nguests);
	const char *guest = guests[0];
	if (f->ds.n > PSI_MAX_IDS)
		return ff_error_set(err, FF_E2BIG, "psi input has more than %zu rows", PSI_MAX_IDS);
	int ret = psi_secret_generate(&b, err);
	if (!ret)
		ret = psi_blind_frame(&b, f, nthreads, &hb, err);
	if (!ret)
		ret = psi_send_points(net, PSI_TAG_H1, "guest", guest, hb, f->ds.n, err);
	if (!ret)
		ret = psi_recv_points(net, PSI_TAG_G1, "guest", guest, SIZE_MAX, &ga, &ng, err);
	if (!ret)
		ret = psi_reblind_peer(&b, ga, ng, nthreads, PSI_TAG_G1, "guest", guest, err);
	if (!ret)
		ret = psi_send_points(net, PSI_TAG_G2, "guest", guest, ga, ng, err);
	if (!ret)
		ret = psi_host_indexer(net, guest, f->ds.n, r, err);
	if (ret)
		comp_psi_result_release(r);
	psi_secret_wipe(&b);
	ff_free(hb);
	ff_free(ga);
	return ret;
}

/* ------------------------------------------------------------ component */

/*
 * Tells the peers that wait on this party why it stopped (messages already
 * sent under a tag are not replaced: the fed layer refuses a second send).
 */
static void psi_fail_peers(struct comp_net *net, const char *role, const char *why)
{
	if (!strcmp(role, "guest")) {
		comp_net_broadcast_error(net, PSI_TAG_G1, "host", why);
		comp_net_broadcast_error(net, PSI_TAG_IDX, "host", why);
		return;
	}
	comp_net_broadcast_error(net, PSI_TAG_H1, "guest", why);
	comp_net_broadcast_error(net, PSI_TAG_G2, "guest", why);
}

static json_t *psi_describe(void)
{
	json_t *params = json_pack("{s:o,s:o}",
		"protocol", comp_param_desc("str", json_string("ecdh_psi"), true,
					    "psi protocol, only 'ecdh_psi'"),
		"curve_type", comp_param_desc("str", json_string("curve25519"), true,
					      "FATE's name; fedflow runs ECDH over ristretto255 "
					      "(the prime-order group of curve25519)"));
	return comp_describe(PSI_ROLES, "default", params,
			     json_pack("{s:o}", "input_data",
				       comp_art("dataframe", false, false, PSI_ROLES, "default")),
			     NULL,
			     json_pack("{s:o}", "output_data",
				       comp_art("dataframe", false, false, PSI_ROLES, "default")),
			     NULL, comp_metric_out(PSI_ROLES, "default"));
}

static int psi_run(struct ff_task *t, struct ff_error *err)
{
	const char *protocol, *curve, *role = ff_task_role(t);
	struct comp_frame f = COMP_FRAME_INIT;
	struct comp_net *net = NULL;
	struct comp_psi_result r = { 0 };
	int ret = ff_task_param_str(t, "protocol", "ecdh_psi", &protocol, err);
	if (!ret)
		ret = ff_task_param_str(t, "curve_type", "curve25519", &curve, err);
	if (ret)
		return ret;
	if (strcmp(protocol, "ecdh_psi"))
		return ff_error_set(err, FF_EINVAL, "psi protocol '%s' is not supported (only "
				    "'ecdh_psi')", protocol);
	if (strcmp(curve, "curve25519") && strcmp(curve, "ristretto255"))
		return ff_error_set(err, FF_EINVAL, "psi curve_type '%s' is not supported (only "
				    "'curve25519')", curve);
	if (strcmp(role, "guest") && strcmp(role, "host"))
		return ff_error_set(err, FF_EROLE, "psi runs on guest and host, not '%s'", role);
	ret = comp_net_open(t, &net, err);
	if (ret)
		return ret;
	ret = comp_frame_load(t, "input_data", 0, COMP_FRAME_ALLOW_EMPTY, &f, err);
	if (ret)
		goto out;
	unsigned nt = comp_threads(t);
	ret = !strcmp(role, "guest") ? comp_psi_guest(net, &f, nt, &r, err)
				     : comp_psi_host(net, &f, nt, &r, err);
	if (ret)
		goto out;
	struct comp_out_table o = {
		.src = &f, .n = r.n, .src_rows = r.rows, .sids = (const char *const *)r.sids,
		.with_label = true, .with_weight = true,
	};
	ret = comp_frame_write(t, "output_data", &o, err);
	if (ret)
		goto out;
	double rate = f.ds.n ? (double)r.n / (double)f.ds.n : 0.0;
	ff_task_log(t, FF_TASK_INFO, "psi: %zu input rows, %zu in the intersection (rate %.6f)",
		    f.ds.n, r.n, rate);
	comp_metric(t, "summary", "metrics",
		    json_pack("{s:I,s:I,s:f,s:s}", "input_count", (json_int_t)f.ds.n,
			      "intersect_count", (json_int_t)r.n, "intersect_rate", rate,
			      "method", "ecdh_psi_ristretto255"));
out:
	if (ret && net)
		psi_fail_peers(net, role, ff_error_msg(err, ret));
	comp_psi_result_release(&r);
	comp_net_close(net);
	comp_frame_release(&f);
	return ret;
}

const struct comp comp_psi = { "psi", psi_describe, psi_run };
COMP_REGISTER(comp_psi);
