# SPDX-License-Identifier: Apache-2.0
"""Issue E: many jobs at once across 3 sites with 8 cores each: all
succeed, running tasks never hold more cores than a site has, and every
core comes back. 300 jobs with FEDFLOW_FULL=1, 60 otherwise."""
import json
import os
import threading
import time

from conftest import FULL, dag, parties, task
from sites import Federation

THREE = parties(("guest", "9999"), ("host", "10000"), ("arbiter", "10001"))


def test_many_jobs_at_once():
    fed = Federation(liveness=5000)
    try:
        for d in fed.sites.values():
            path = os.path.join(d.home, "fedflow.yaml")
            cfg = json.load(open(path))
            cfg["computing"]["cores"] = 8
            json.dump(cfg, open(path, "w"))
        for pid in fed.sites:
            fed.restart(pid)
        g = fed.sites["9999"]
        n = 300 if FULL else 60
        ids, lock = [], threading.Lock()

        def submit(k):
            s = __import__("requests").Session()
            for _ in range(k):
                r = s.post(g.url + "/v2/job/submit", json={"dag_schema": dag(
                    {"s": task("sleep", params={"seconds": 0.05})}, THREE)}).json()
                assert r["code"] == 0, r
                with lock:
                    ids.append(r["job_id"])
        threads = [threading.Thread(target=submit, args=(n // 4,)) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        deadline = time.time() + (600 if FULL else 180)
        pending = set(ids)
        while pending and time.time() < deadline:
            for j in list(pending):
                rows = g.jobs(j)
                if rows and rows[0]["status"] in ("success", "failed", "canceled"):
                    assert rows[0]["status"] == "success", rows
                    pending.discard(j)
            time.sleep(0.2)
        assert not pending, "%d jobs did not end" % len(pending)
        for pid, d in fed.sites.items():
            spans = d.sql("SELECT f_start_time, f_end_time, f_task_cores FROM t_task WHERE"
                          " f_role != 'arbiter'")
            events = sorted([(s, c) for s, e, c in spans] + [(e, -c) for s, e, c in spans])
            used = peak = 0
            for _, c in events:
                used += c
                peak = max(peak, used)
            assert peak <= 8, "site %s held %d cores at once" % (pid, peak)
            assert d.sql("SELECT f_remaining_cores, f_cores FROM t_engine_registry")[0] == (8, 8)
            assert d.sql("SELECT COUNT(*) FROM t_job WHERE f_resource_in_use = 1")[0][0] == 0
    finally:
        fed.down()
