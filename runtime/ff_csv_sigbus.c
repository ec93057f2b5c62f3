// SPDX-License-Identifier: Apache-2.0
/*
 * ff_csv_sigbus.c - ff_csv_exit_on_sigbus: the CSV import reads its file
 * through a memory map (ff_csv_import.c), and a page past the end of a
 * file another process cut shorter meanwhile raises SIGBUS. A process that
 * imports such files (an upload task) ends then with status 1 and a line
 * naming the file, not with a crash.
 */
#include "ff_setup.h"
#include <signal.h>
#include <unistd.h>
#include "fedflow/table.h"

/* what the SIGBUS handler writes (prepared: the handler may only write) */
static char csv_sigbus_msg[4096 + 128];
static size_t csv_sigbus_len;

static void csv_on_sigbus(int sig)
{
	(void)sig;
	ssize_t r = write(2, csv_sigbus_msg, csv_sigbus_len);
	(void)r;
	_exit(1);
}

void ff_csv_exit_on_sigbus(const char *file)
{
	int n = snprintf(csv_sigbus_msg, sizeof(csv_sigbus_msg),
			 "'%s' was cut shorter while it was read; upload it again once nothing "
			 "writes to it\n", file);
	csv_sigbus_len = n < 0 ? 0 : (size_t)n < sizeof(csv_sigbus_msg) ? (size_t)n :
				      sizeof(csv_sigbus_msg) - 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = csv_on_sigbus;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGBUS, &sa, NULL);
}
