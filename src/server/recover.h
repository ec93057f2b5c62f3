/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recover.h - what a starting fedflowd does about the previous run.
 *
 * Task processes the previous run started are not children of this one.
 * A task whose process is gone is ended as failed (auto_retries then
 * apply); every unfinished job is stepped once, and the waiting queue
 * looked at, so scheduling carries on from the database.
 */
#ifndef FF_RECOVER_H
#define FF_RECOVER_H

struct site;

void recover_run(struct site *s);

#endif
