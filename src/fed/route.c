// SPDX-License-Identifier: Apache-2.0
/* route.c - partner routes in t_site_route. */
#include "ff_setup.h"
#include "auth/sign.h"
#include "clock.h"
#include "route.h"
#include "store.h"

static int route_cb(void *arg, const struct store_row *row)
{
	struct route *r = arg;
	snprintf(r->party_id, sizeof(r->party_id), "%s", store_col_text(row, "f_party_id"));
	snprintf(r->url, sizeof(r->url), "%s", store_col_text(row, "f_url"));
	snprintf(r->public_key, sizeof(r->public_key), "%s", store_col_text(row, "f_public_key"));
	return FF_OK;
}

int route_get(struct store *db, const char *party_id, struct route *out, struct ff_error *err)
{
	memset(out, 0, sizeof(*out));
	struct store_val a[] = { SV_TEXT(party_id) };
	int ret = store_exec(db, "SELECT f_party_id, f_url, f_public_key FROM t_site_route WHERE"
			     " f_party_id = ?", a, 1, route_cb, out, NULL, err);
	if (!ret && !out->party_id[0])
		ret = ff_error_set(err, FF_ENOTFOUND, "party '%s' is not in this site's route table;"
				   " add it with 'fedflowd partner add'", party_id);
	return ret;
}

int route_put(struct store *db, const struct route *r, struct ff_error *err)
{
	int ret = sign_key_check(r->public_key, err);
	if (ret)
		return ret;
	if (strncmp(r->url, "http://", 7) && strncmp(r->url, "https://", 8))
		return ff_error_set(err, FF_EINVAL, "partner url '%s' must start with http:// or https://",
				    r->url);
	int64_t now = clock_now_ms();
	struct store_val a[] = { SV_TEXT(r->party_id), SV_TEXT(r->url), SV_TEXT(r->public_key),
				 SV_INT(now), SV_INT(now) };
	return store_exec(db, "INSERT INTO t_site_route (f_party_id, f_url, f_public_key,"
			  " f_create_time, f_update_time) VALUES (?, ?, ?, ?, ?) ON CONFLICT"
			  " (f_party_id) DO UPDATE SET f_url = excluded.f_url, f_public_key ="
			  " excluded.f_public_key, f_update_time = excluded.f_update_time",
			  a, FF_ARRAY_SIZE(a), NULL, NULL, NULL, err);
}
