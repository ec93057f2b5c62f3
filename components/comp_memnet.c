// SPDX-License-Identifier: Apache-2.0
/*
 * comp_memnet.c - the in-process component channel (comp_memnet.h): a
 * mutex-protected list of messages and one condition variable.
 */
#include "ff_setup.h"
#include <pthread.h>
#include <time.h>
#include "comp_memnet.h"
#include "mem.h"

#define MEMHUB_MAX_PARTIES 64

struct memhub_msg {
	struct memhub_msg *next;
	char *tag, *src_role, *src_party, *dst_role, *dst_party;
	void *data;
	size_t len;
};

struct memhub_party {
	char *role, *party;
};

struct comp_memhub {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct memhub_msg *head;
	struct memhub_party parties[MEMHUB_MAX_PARTIES];
	size_t nparties;
	/* per role lists handed to comp_net_parties (rebuilt on add) */
	const char *lists[MEMHUB_MAX_PARTIES][MEMHUB_MAX_PARTIES];
	size_t nlist[MEMHUB_MAX_PARTIES];
	int64_t timeout_ms;
	bool aborted;
	char why[200];
	char fault_prefix[136];
	char fault_role[32];
	enum comp_memhub_fault fault;
	uint64_t bytes, messages;
	json_t *metrics;
};

struct memhub_end {
	struct comp_memhub *h;
	char role[32];
	char party[96];
};

int comp_memhub_new(struct comp_memhub **out)
{
	struct comp_memhub *h = ff_calloc(1, sizeof(*h));
	if (!h)
		return FF_ENOMEM;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->timeout_ms = 600000;
	h->metrics = json_array();
	*out = h;
	return FF_OK;
}

static void memhub_msg_free(struct memhub_msg *m)
{
	ff_free(m->tag);
	ff_free(m->src_role);
	ff_free(m->src_party);
	ff_free(m->dst_role);
	ff_free(m->dst_party);
	ff_free(m->data);
	ff_free(m);
}

void comp_memhub_free(struct comp_memhub *h)
{
	if (!h)
		return;
	for (struct memhub_msg *m = h->head, *n; m; m = n) {
		n = m->next;
		memhub_msg_free(m);
	}
	for (size_t i = 0; i < h->nparties; i++) {
		ff_free(h->parties[i].role);
		ff_free(h->parties[i].party);
	}
	json_decref(h->metrics);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	ff_free(h);
}

/* Index of role in the role table (first party with that role), or -1. */
static long memhub_role_slot(struct comp_memhub *h, const char *role)
{
	for (size_t i = 0; i < h->nparties; i++)
		if (!strcmp(h->parties[i].role, role))
			return (long)i;
	return -1;
}

int comp_memhub_add(struct comp_memhub *h, const char *role, const char *party)
{
	pthread_mutex_lock(&h->mu);
	int ret = FF_OK;
	if (h->nparties == MEMHUB_MAX_PARTIES) {
		ret = FF_E2BIG;
		goto out;
	}
	long slot = memhub_role_slot(h, role);
	struct memhub_party *p = &h->parties[h->nparties];
	p->role = ff_strdup(role);
	p->party = ff_strdup(party);
	if (!p->role || !p->party) {
		ff_free(p->role);
		ff_free(p->party);
		ret = FF_ENOMEM;
		goto out;
	}
	if (slot < 0)
		slot = (long)h->nparties;
	h->lists[slot][h->nlist[slot]++] = p->party;
	h->nparties++;
out:
	pthread_mutex_unlock(&h->mu);
	return ret;
}

void comp_memhub_set_timeout(struct comp_memhub *h, int64_t ms)
{
	pthread_mutex_lock(&h->mu);
	h->timeout_ms = ms;
	pthread_mutex_unlock(&h->mu);
}

void comp_memhub_abort(struct comp_memhub *h, const char *why)
{
	pthread_mutex_lock(&h->mu);
	if (!h->aborted)
		snprintf(h->why, sizeof(h->why), "%s", why ? why : "aborted");
	h->aborted = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void comp_memhub_fault(struct comp_memhub *h, const char *tag_prefix, const char *from_role,
		       enum comp_memhub_fault f)
{
	pthread_mutex_lock(&h->mu);
	snprintf(h->fault_prefix, sizeof(h->fault_prefix), "%s", tag_prefix ? tag_prefix : "");
	snprintf(h->fault_role, sizeof(h->fault_role), "%s", from_role ? from_role : "");
	h->fault = f;
	pthread_mutex_unlock(&h->mu);
}

uint64_t comp_memhub_bytes(struct comp_memhub *h)
{
	pthread_mutex_lock(&h->mu);
	uint64_t b = h->bytes;
	pthread_mutex_unlock(&h->mu);
	return b;
}

uint64_t comp_memhub_messages(struct comp_memhub *h)
{
	pthread_mutex_lock(&h->mu);
	uint64_t b = h->messages;
	pthread_mutex_unlock(&h->mu);
	return b;
}

static bool memhub_known(struct comp_memhub *h, const char *role, const char *party)
{
	for (size_t i = 0; i < h->nparties; i++)
		if (!strcmp(h->parties[i].role, role) && !strcmp(h->parties[i].party, party))
			return true;
	return false;
}

static bool memhub_match(const struct memhub_msg *m, const char *tag, const char *sr,
			 const char *sp, const char *dr, const char *dp)
{
	return !strcmp(m->tag, tag) && !strcmp(m->src_role, sr) && !strcmp(m->src_party, sp) &&
	       !strcmp(m->dst_role, dr) && !strcmp(m->dst_party, dp);
}

/* Applies a pending fault to m (mutex held). */
static void memhub_apply_fault(struct comp_memhub *h, struct memhub_msg *m)
{
	if (h->fault == COMP_FAULT_NONE || strncmp(m->tag, h->fault_prefix, strlen(h->fault_prefix)) ||
	    (h->fault_role[0] && strcmp(m->src_role, h->fault_role)))
		return;
	switch (h->fault) {
	case COMP_FAULT_TRUNCATE:
		m->len /= 2;
		break;
	case COMP_FAULT_GARBLE:
		for (size_t i = m->len / 2 > 5 ? m->len / 2 : 5; i < m->len; i += 7)
			((unsigned char *)m->data)[i] ^= 0xA5;
		break;
	case COMP_FAULT_EMPTY:
		m->len = 0;
		break;
	case COMP_FAULT_NONE:
		break;
	}
	h->fault = COMP_FAULT_NONE;
}

static int memhub_send(void *impl, const char *tag, const char *role, const char *party,
		       const void *data, size_t len, struct ff_error *err)
{
	struct memhub_end *e = impl;
	struct comp_memhub *h = e->h;
	struct memhub_msg *m = ff_calloc(1, sizeof(*m));
	if (!m)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	m->tag = ff_strdup(tag);
	m->src_role = ff_strdup(e->role);
	m->src_party = ff_strdup(e->party);
	m->dst_role = ff_strdup(role);
	m->dst_party = ff_strdup(party);
	m->data = ff_malloc(len ? len : 1);
	m->len = len;
	if (!m->tag || !m->src_role || !m->src_party || !m->dst_role || !m->dst_party || !m->data) {
		memhub_msg_free(m);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	if (len)
		memcpy(m->data, data, len);
	int ret = FF_OK;
	pthread_mutex_lock(&h->mu);
	if (!memhub_known(h, role, party)) {
		ret = ff_error_set(err, FF_EINVAL, "no party %s %s in this task", role, party);
		goto out;
	}
	for (struct memhub_msg *o = h->head; o; o = o->next)
		if (memhub_match(o, tag, e->role, e->party, role, party)) {
			ret = ff_error_set(err, FF_EEXIST, "message '%s' to %s %s was already sent",
					   tag, role, party);
			goto out;
		}
	memhub_apply_fault(h, m);
	h->bytes += len;
	h->messages++;
	m->next = h->head;
	h->head = m;
	m = NULL;
	pthread_cond_broadcast(&h->cv);
out:
	pthread_mutex_unlock(&h->mu);
	if (m)
		memhub_msg_free(m);
	return ret;
}

static int memhub_recv(void *impl, const char *tag, const char *role, const char *party,
		       void **data, size_t *len, struct ff_error *err)
{
	struct memhub_end *e = impl;
	struct comp_memhub *h = e->h;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	pthread_mutex_lock(&h->mu);
	int64_t ms = h->timeout_ms;
	dl.tv_sec += (time_t)(ms / 1000);
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	int ret = FF_OK;
	for (;;) {
		struct memhub_msg **pp = &h->head;
		for (; *pp; pp = &(*pp)->next)
			if (memhub_match(*pp, tag, role, party, e->role, e->party))
				break;
		if (*pp) {
			struct memhub_msg *m = *pp;
			*pp = m->next;
			*data = m->data;
			*len = m->len;
			m->data = NULL;
			memhub_msg_free(m);
			break;
		}
		if (h->aborted) {
			ret = ff_error_set(err, FF_ECANCELED, "receive of '%s' from %s %s canceled: %s",
					   tag, role, party, h->why);
			break;
		}
		int w = ms ? pthread_cond_timedwait(&h->cv, &h->mu, &dl)
			   : pthread_cond_wait(&h->cv, &h->mu);
		if (w == ETIMEDOUT) {
			ret = ff_error_set(err, FF_ETIMEDOUT, "no message '%s' from %s %s within %lld ms",
					   tag, role, party, (long long)ms);
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
	return ret;
}

static const char *const *memhub_parties(void *impl, const char *role, size_t *n)
{
	struct memhub_end *e = impl;
	struct comp_memhub *h = e->h;
	pthread_mutex_lock(&h->mu);
	long slot = memhub_role_slot(h, role);
	*n = slot < 0 ? 0 : h->nlist[slot];
	const char *const *l = slot < 0 ? NULL : h->lists[slot];
	pthread_mutex_unlock(&h->mu);
	return l;
}

static void memhub_close(void *impl)
{
	ff_free(impl);
}

static const struct comp_net_ops memhub_ops = {
	.send = memhub_send, .recv = memhub_recv, .free_buf = ff_free,
	.parties = memhub_parties, .close = memhub_close,
};

int comp_memhub_net(struct comp_memhub *h, const char *role, const char *party,
		    struct comp_net **out, struct ff_error *err)
{
	*out = NULL;
	pthread_mutex_lock(&h->mu);
	bool known = memhub_known(h, role, party);
	pthread_mutex_unlock(&h->mu);
	if (!known)
		return ff_error_set(err, FF_EINVAL, "no party %s %s in this task", role, party);
	struct comp_net *n = ff_calloc(1, sizeof(*n));
	struct memhub_end *e = ff_calloc(1, sizeof(*e));
	if (!n || !e) {
		ff_free(n);
		ff_free(e);
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	}
	e->h = h;
	snprintf(e->role, sizeof(e->role), "%s", role);
	snprintf(e->party, sizeof(e->party), "%s", party);
	n->ops = &memhub_ops;
	n->impl = e;
	snprintf(n->role, sizeof(n->role), "%s", role);
	snprintf(n->party, sizeof(n->party), "%s", party);
	*out = n;
	return FF_OK;
}

static int memhub_hook_open(void *ctx, struct ff_task *t, struct comp_net **out,
			    struct ff_error *err)
{
	return comp_memhub_net(ctx, ff_task_role(t), ff_task_party_id(t), out, err);
}

static int memhub_hook_metric(void *ctx, struct ff_task *t, const char *name, const char *type,
			      json_t *data, struct ff_error *err)
{
	struct comp_memhub *h = ctx;
	json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:o}", "role", ff_task_role(t), "party_id",
			      ff_task_party_id(t), "task", ff_task_name(t), "name", name, "type",
			      type, "data", data);
	if (!m)
		return ff_error_set(err, FF_ENOMEM, "out of memory");
	pthread_mutex_lock(&h->mu);
	json_array_append_new(h->metrics, m);
	pthread_mutex_unlock(&h->mu);
	return FF_OK;
}

void comp_memhub_install_hooks(struct comp_memhub *h)
{
	struct comp_hooks hk = { .ctx = h, .net_open = memhub_hook_open,
				 .metric = memhub_hook_metric };
	comp_hooks_set(&hk);
}

json_t *comp_memhub_metrics(struct comp_memhub *h)
{
	return h->metrics;
}
