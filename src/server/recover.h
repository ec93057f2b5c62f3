/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recover.h - what a starting fedflowd does about the previous run: it
 * adopts the task processes that still run and ends the ones that do not
 * (party_recover_tasks), then lets the scheduler finish what it left half
 * done and step every unfinished job (sched_recover).
 */
#ifndef FF_RECOVER_H
#define FF_RECOVER_H

struct site;

void recover_run(struct site *s);

#endif
