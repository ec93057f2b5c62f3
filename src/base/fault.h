/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fault.h - crash points for fault-injection tests.
 *
 * fault_point("sched.admit") kills the process with SIGKILL when the
 * environment variable FEDFLOW_FAULT names that point (comma-separated
 * list; "name@N" fires at the Nth pass). The tests start a daemon with
 * FEDFLOW_FAULT set, let it die at a precise phase of a job, start it
 * again without it, and check that every job still ends correctly. When
 * the variable is unset a point costs one pointer test.
 */
#ifndef FF_FAULT_H
#define FF_FAULT_H

void fault_point(const char *name);

#endif
