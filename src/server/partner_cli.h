/* SPDX-License-Identifier: Apache-2.0 */
/*
 * partner_cli.h - `fedflowd partner add|list|remove --home DIR ...`: edits
 * the route table of a site (running or not) in its database.
 */
#ifndef FF_PARTNER_CLI_H
#define FF_PARTNER_CLI_H

/* argv[0] is "partner". Returns the process exit status. */
int partner_cli(int argc, char **argv);

#endif
