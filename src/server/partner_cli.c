// SPDX-License-Identifier: Apache-2.0
/*
 * partner_cli.c - route table maintenance from the command line.
 *
 * The running daemon reads routes from the database on every lookup, so a
 * change takes effect at once without a restart.
 */
#include "ff_setup.h"
#include <getopt.h>
#include "config.h"
#include "partner_cli.h"
#include "route.h"
#include "store.h"

static int partner_usage(void)
{
	fprintf(stderr, "usage: fedflowd partner add --home DIR --party-id ID --url URL "
		"--public-key KEY\n"
		"       fedflowd partner remove --home DIR --party-id ID\n"
		"       fedflowd partner list --home DIR\n"
		"KEY is the partner's <home>/site.pub (base64 Ed25519 public key).\n");
	return 2;
}

static int partner_list_cb(void *arg, const struct store_row *row)
{
	printf("%s\t%s\t%s\n", store_col_text(row, "f_party_id"), store_col_text(row, "f_url"),
	       store_col_text(row, "f_public_key"));
	return FF_OK;
}

int partner_cli(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' }, { "party-id", required_argument, NULL, 'i' },
		{ "url", required_argument, NULL, 'u' }, { "public-key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *home = NULL;
	struct route rt = { 0 };
	int c;
	if (argc < 2)
		return partner_usage();
	const char *cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': home = optarg; break;
		case 'i': snprintf(rt.party_id, sizeof(rt.party_id), "%s", optarg); break;
		case 'u': snprintf(rt.url, sizeof(rt.url), "%s", optarg); break;
		case 'k': snprintf(rt.public_key, sizeof(rt.public_key), "%s", optarg); break;
		default: return partner_usage();
		}
	}
	if (!home)
		return partner_usage();
	struct config cfg;
	struct ff_error err = FF_ERROR_INIT;
	struct store *db = NULL;
	int ret = config_load(home, NULL, &cfg, &err);
	if (!ret)
		ret = store_open(cfg.database, &db, &err);
	if (!ret && !strcmp(cmd, "add")) {
		if (!rt.party_id[0] || !rt.url[0] || !rt.public_key[0]) {
			ret = ff_error_set(&err, FF_EINVAL, "partner add needs --party-id, --url and "
					   "--public-key");
		} else {
			size_t n = strlen(rt.url);
			while (n && rt.url[n - 1] == '/')
				rt.url[--n] = '\0';
			ret = route_put(db, &rt, &err);
		}
	} else if (!ret && !strcmp(cmd, "remove")) {
		struct store_val a[] = { SV_TEXT(rt.party_id) };
		ret = store_exec(db, "DELETE FROM t_site_route WHERE f_party_id = ?", a, 1, NULL, NULL,
				 NULL, &err);
	} else if (!ret && !strcmp(cmd, "list")) {
		ret = store_exec(db, "SELECT f_party_id, f_url, f_public_key FROM t_site_route ORDER BY"
				 " f_party_id", NULL, 0, partner_list_cb, NULL, NULL, &err);
	} else if (!ret) {
		store_close(db);
		config_release(&cfg);
		return partner_usage();
	}
	store_close(db);
	config_release(&cfg);
	if (ret) {
		fprintf(stderr, "fedflowd partner %s: %s\n", cmd, ff_error_msg(&err, ret));
		return 1;
	}
	return 0;
}
