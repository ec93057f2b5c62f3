/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route.h - the site's route table and identity for site-to-site traffic.
 *
 * Each site has an Ed25519 key pair made on first start (<home>/site.key,
 * mode 0600; the public key also in <home>/site.pub as base64). The route
 * table (t_site_route, managed with `fedflowd partner add`) maps every
 * partner party id to its base URL and public key. Both the command
 * channel (src/fed) and the message gateway use it: requests to a partner
 * are signed with this site's key, requests from a partner are verified
 * with the key the table holds for it.
 *
 * Thread-safe: the table is read from the database on each lookup through
 * the caller's connection (writer or a thread's reader).
 */
#ifndef FF_ROUTE_H
#define FF_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include "err.h"

struct store;

#define ROUTE_KEY_B64 64     /* base64 of a 32-byte public key, with NUL */

struct route {
	char party_id[64];
	char url[256];                 /* http://host:port, no trailing slash */
	char public_key[ROUTE_KEY_B64];
};

/* FF_ENOTFOUND when party_id has no route. */
int route_get(struct store *db, const char *party_id, struct route *out, struct ff_error *err);
/* Adds or replaces one route (the key is checked: 32 bytes of base64). */
int route_put(struct store *db, const struct route *r, struct ff_error *err);

#endif
