# SPDX-License-Identifier: Apache-2.0
"""Issue E: fedflowd killed with SIGKILL at each phase of a job and started
again: every job reaches a correct end, no core leaks, no task version runs
twice, surviving task processes are adopted."""
import os
import signal
import time

import pytest
import requests

from conftest import Daemon, base_config, chain_dag, dag, free_port, task


def start(home, port, fault=None):
    if fault:
        os.environ["FEDFLOW_FAULT"] = fault
    try:
        d = Daemon.__new__(Daemon)
        d.home, d.port, d.party_id = home, port, "9999"
        d.url = "http://127.0.0.1:%d" % port
        d.session = requests.Session()
        return d.start()
    finally:
        os.environ.pop("FEDFLOW_FAULT", None)


def make(tmp_path):
    port = free_port()
    home = str(tmp_path / "site")
    Daemon(home, port, "9999", base_config("9999", port))  # writes the config
    return home, port


def wait_dead(d, timeout=20):
    deadline = time.time() + timeout
    while d.proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert d.proc.poll() is not None, "the fault point was not reached"
    d.log.close()


def only_job(d):
    rows = d.sql("SELECT f_job_id FROM t_schedule_job ORDER BY f_create_time DESC LIMIT 1")
    return rows[0][0]


def cores_back(d):
    assert d.sql("SELECT f_remaining_cores, f_cores FROM t_engine_registry")[0] == (32, 32)
    assert d.sql("SELECT COUNT(*) FROM t_job WHERE f_resource_in_use = 1")[0][0] == 0
    assert d.sql("SELECT COUNT(*) FROM t_task WHERE f_resource_in_use = 1")[0][0] == 0


@pytest.mark.parametrize("point,expect", [
    ("sched.create", "failed"),      # half-created: failed everywhere with a reason
    ("sched.admit", "success"),      # cores applied, not started: admitted again
    ("sched.start", "success"),      # task start cut short: resumed
    ("sched.finish", "success"),     # end recorded, parties not told: told again
])
def test_kill_at_phase(tmp_path, point, expect):
    home, port = make(tmp_path)
    d = start(home, port, point)
    try:
        d.session.post(d.url + "/v2/job/submit",
                       json={"dag_schema": chain_dag(2, "sleep", {"seconds": 0.2})}, timeout=5)
    except requests.RequestException:
        pass   # the daemon may die before it answers
    wait_dead(d)
    d = start(home, port)
    try:
        job_id = only_job(d)
        if point == "sched.create":
            # killed before any party heard of it: the scheduler's record ends failed
            deadline = time.time() + 10
            while time.time() < deadline:
                st, why = d.sql("SELECT f_status, f_error_report FROM t_schedule_job WHERE"
                                " f_job_id = '%s'" % job_id)[0]
                if st != "ready":
                    break
                time.sleep(0.05)
            assert st == "failed" and "restarted" in why
        else:
            assert d.wait(job_id, timeout=30) == expect
            # each task ran exactly once
            for t in d.tasks(job_id):
                assert t["task_version"] == 0 and t["party_status"] == "success"
        cores_back(d)
    finally:
        d.stop()


def test_running_task_adopted(tmp_path):
    home, port = make(tmp_path)
    d = start(home, port)
    job_id, _ = d.submit(dag({"s": task("sleep", params={"seconds": 1.5})}))
    ts = d.wait_task(job_id, "s", "running")
    pids = sorted(t["run_pid"] for t in ts)
    d.kill()
    d = start(home, port)
    try:
        assert d.wait(job_id, timeout=20) == "success"
        ts = d.tasks(job_id)
        assert sorted(t["run_pid"] for t in ts) == pids   # the same processes
        assert all(t["task_version"] == 0 for t in ts)
        cores_back(d)
    finally:
        d.stop()


def test_task_ended_while_down(tmp_path):
    home, port = make(tmp_path)
    d = start(home, port)
    job_id, _ = d.submit(chain_dag(2, "sleep", {"seconds": 0.5}))
    d.wait_task(job_id, "t0", "running")
    d.kill()
    time.sleep(1.5)   # t0 finishes while nobody watches
    d = start(home, port)
    try:
        assert d.wait(job_id, timeout=20) == "success"
        assert all(t["task_version"] == 0 for t in d.tasks(job_id))
        cores_back(d)
    finally:
        d.stop()


@pytest.mark.parametrize("retries,expect", [(0, "failed"), (1, "success")])
def test_task_process_killed(tmp_path, retries, expect):
    home, port = make(tmp_path)
    d = start(home, port)
    try:
        # times=0: the sleep succeeds when it runs to its end
        job_id, _ = d.submit(dag({"s": task("sleep", params={"seconds": 2})},
                                 conf={"auto_retries": retries}))
        ts = d.wait_task(job_id, "s", "running")
        victim = [t for t in ts if t["role"] == "host"][0]
        t0 = time.time()
        os.kill(victim["run_pid"], signal.SIGKILL)
        if expect == "failed":
            assert d.wait(job_id, timeout=10) == "failed"
            assert time.time() - t0 < 1.0
            err = [t for t in d.tasks(job_id) if t["role"] == "host"][0]["error_report"]
            assert "signal 9" in err
        else:
            # the failure is noticed at once and a new version starts
            deadline = time.time() + 1.0
            while time.time() < deadline:
                if any(t["task_version"] == 1 for t in d.tasks(job_id)):
                    break
                time.sleep(0.01)
            assert any(t["task_version"] == 1 for t in d.tasks(job_id))
            assert d.wait(job_id, timeout=20) == "success"
        cores_back(d)
    finally:
        d.stop()
