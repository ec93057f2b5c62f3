# SPDX-License-Identifier: Apache-2.0
"""Issue E across 3 sites: one fedflowd (the scheduler or a participant)
kills itself with SIGKILL at a precise phase of a job (FEDFLOW_FAULT crash
points) and is started again. Every job must reach the same end on every
site, every site's cores must return to their totals, no task process may
be left behind and no task version may run twice."""
import os
import time

import pytest
import requests

from conftest import dag, parties, pid_alive, task
from sites import Federation

THREE = parties(("guest", "9999"), ("host", "10000"), ("arbiter", "10001"))
END = ("success", "failed", "canceled", "timeout")


@pytest.fixture(scope="module")
def fed():
    f = Federation(liveness=1000)
    yield f
    f.down()


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def statuses(fed, job_id):
    """Each site's job statuses, plus the scheduler's own record ("sched");
    a site that never heard of the job has none."""
    st = {pid: [j["status"] for j in d.jobs(job_id)] for pid, d in fed.sites.items()}
    st["sched"] = [r[0] for r in fed.sites["9999"].sql(
        "SELECT f_status FROM t_schedule_job WHERE f_job_id = '%s'" % job_id)]
    return st


def all_ended(fed, job_id):
    st = statuses(fed, job_id)
    return st["sched"] and all(s in END for rows in st.values() for s in rows)


def cores_back(d):
    return (d.sql("SELECT f_remaining_cores = f_cores FROM t_engine_registry")[0][0] == 1 and
            d.sql("SELECT COUNT(*) FROM t_job WHERE f_resource_in_use = 1")[0][0] == 0 and
            d.sql("SELECT COUNT(*) FROM t_task WHERE f_resource_in_use = 1")[0][0] == 0)


def sleep_runs(d, job_id):
    """How many times the sleep task started on site d (each run logs it)."""
    n = 0
    logs = os.path.join(d.home, "logs")
    for f in os.listdir(logs):
        if f.startswith(job_id + "_") and f.endswith("_s.log"):
            n += open(os.path.join(logs, f)).read().count("sleeping ")
    return n


# (site, crash point, statuses the job may end in)
CASES = [
    ("9999", "sched.create", ("failed",)),       # half-created: failed everywhere
    ("9999", "sched.admit", ("success",)),       # cores applied everywhere, not started
    ("9999", "sched.start", ("success",)),       # a task start cut short
    ("9999", "sched.finish", ("success",)),      # the end recorded, parties not told
    ("10000", "party.create", ("success", "failed")),  # created, the scheduler not told
    ("10000", "party.apply", ("success", "failed")),   # cores taken, the scheduler not told
    ("10000", "exec.spawned", ("success",)),     # task running, its pid not recorded
    ("10000", "party.end", ("success",)),        # ended, cores not given back
]


@pytest.mark.parametrize("site,point,expect", CASES, ids=[c[1] + "@" + c[0] for c in CASES])
def test_site_killed_at_phase(fed, site, point, expect):
    g = fed.sites["9999"]
    fed.restart(site, fault=point)
    try:
        job_id = g.post("/v2/job/submit", {"dag_schema": dag(
            {"s": task("sleep", params={"seconds": 1})}, THREE)}).get("job_id")
    except requests.RequestException:
        job_id = None  # the scheduler died before it answered
    wait_for(lambda: not fed.alive(site), 20, "%s to die at %s" % (site, point))
    fed.restart(site)
    if not job_id:
        job_id = g.sql("SELECT f_job_id FROM t_schedule_job ORDER BY f_create_time DESC"
                       " LIMIT 1")[0][0]
    wait_for(lambda: all_ended(fed, job_id), 60, "job %s to end on every site" % job_id)
    st = statuses(fed, job_id)
    ends = {s for rows in st.values() for s in rows}
    assert len(ends) == 1 and ends <= set(expect), st
    if ends == {"failed"}:
        reason = g.sql("SELECT f_error_report FROM t_schedule_job WHERE f_job_id = '%s'"
                       % job_id)[0][0]
        assert reason, "a failed job must say why"
    for pid, d in fed.sites.items():
        wait_for(lambda: cores_back(d), 10, "cores back on %s" % pid)
        runs = sleep_runs(d, job_id)
        assert runs <= len(d.tasks(job_id)), "a task version ran twice on %s" % pid
        for t in d.tasks(job_id):
            wait_for(lambda: not pid_alive(t["run_pid"]), 10,
                     "task process %s on %s to end" % (t["run_pid"], pid))
