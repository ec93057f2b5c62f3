/* SPDX-License-Identifier: Apache-2.0 */
/*
 * comp_psi.h - the protocol halves of the `psi` component (ECDH PSI over
 * ristretto255, FATE's psi_ecdh message flow), callable without a task so
 * tests and tools can run them over any struct comp_net.
 *
 * Flow (guest = label holder, one or more hosts; tags as below):
 *   guest -> hosts  psi.guest_first_sign   a*H(x) for every guest match id
 *   host  -> guest  psi.host_first_sign    b*H(y) for every host match id
 *   host  -> guest  psi.guest_second_sign  b*(a*H(x)), in guest row order
 *   guest: a*(b*H(y)), join -> intersection; a host duplicate match id is
 *          an error (FATE: "duplicate match_id"), guest duplicates all join
 *   guest -> host   psi.host_indexer       for every output row: the host
 *          row and the guest's sample id (rows in guest order)
 * With several hosts a guest row is kept when every host has its id.
 * Both sides end with the same rows in the same order and the guest's
 * sample ids, which is how later hetero components align rows.
 */
#ifndef COMP_PSI_H
#define COMP_PSI_H

#include "comp_util.h"

struct comp_psi_result {
	size_t n;          /* output rows */
	size_t *rows;      /* row of the party's own input for each output row */
	char **sids;       /* host: the guest's sample id per output row; guest: NULL */
	char *sid_blob;    /* storage of sids */
};

void comp_psi_result_release(struct comp_psi_result *r);
/* f: the party's input (ids needed). r must be zeroed; owns its arrays after. */
int comp_psi_guest(struct comp_net *net, const struct comp_frame *f, unsigned nthreads,
		   struct comp_psi_result *r, struct ff_error *err);
int comp_psi_host(struct comp_net *net, const struct comp_frame *f, unsigned nthreads,
		  struct comp_psi_result *r, struct ff_error *err);

#endif
