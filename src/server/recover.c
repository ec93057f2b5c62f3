// SPDX-License-Identifier: Apache-2.0
/* recover.c - carry on after a restart (see recover.h). */
#include "ff_setup.h"
#include "party/party.h"
#include "recover.h"
#include "sched/sched.h"
#include "site.h"

void recover_run(struct site *s)
{
	party_recover_tasks(s);
	sched_recover(s);
	party_announce_back(s);
}
