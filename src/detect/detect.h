/* SPDX-License-Identifier: Apache-2.0 */
/*
 * detect.h - detectors: the slow timer that finds what events missed.
 *
 * Scheduling and task ends are event-driven (src/sched, src/exec); the
 * detectors run every detector.interval as a safety net and for things
 * that are about time, not events: cores still held by ended jobs or tasks
 * are given back; jobs waiting longer than job_default.queue_timeout are
 * canceled; task folders of jobs that ended more than
 * detector.task_dir_ttl ago are removed (logs and outputs stay). Every
 * finding goes into the job's log with what was done. Core thread only.
 */
#ifndef FF_DETECT_H
#define FF_DETECT_H

#include "err.h"

struct site;

int detect_init(struct site *s, struct ff_error *err);
void detect_release(struct site *s);
/* One pass now (tests and the timer). */
void detect_run(struct site *s);

#endif
