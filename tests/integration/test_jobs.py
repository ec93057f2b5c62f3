# SPDX-License-Identifier: Apache-2.0
"""Issue A: DAG jobs on one fedflowd playing every party (standalone)."""
import os
import time

from conftest import chain_dag, dag, pid_alive, seven_task_dag, task


def test_one_task_job(daemon):
    job_id, r = daemon.submit(dag({"n0": task()}))
    assert len(job_id) == 21 and job_id.isdigit()
    assert r["data"] == {"model_id": job_id, "model_version": "0"}
    # queryable the moment submit returns
    rows = daemon.jobs(job_id)
    assert {(x["role"], x["party_id"]) for x in rows} == {("guest", "9999"), ("host", "9998")}
    assert daemon.wait(job_id) == "success"
    ts = daemon.tasks(job_id)
    assert {(t["role"], t["status"], t["party_status"]) for t in ts} == {
        ("guest", "success", "success"), ("host", "success", "success")}
    for row in daemon.jobs(job_id):
        assert row["progress"] == 100 and row["tag"] == "job_end"
        assert row["end_time"] >= row["start_time"] > 0


def test_three_task_chain(daemon):
    job_id, _ = daemon.submit(chain_dag(3))
    assert daemon.wait(job_id) == "success"
    ts = daemon.tasks(job_id, role="guest")
    by = {t["task_name"]: t for t in ts}
    assert by["t0"]["end_time"] <= by["t1"]["start_time"]
    assert by["t1"]["end_time"] <= by["t2"]["start_time"]


def test_seven_task_dag(daemon):
    job_id, _ = daemon.submit(seven_task_dag())
    assert daemon.wait(job_id) == "success"
    ts = daemon.tasks(job_id)
    assert len(ts) == 14 and all(t["party_status"] == "success" for t in ts)
    by = {t["task_name"]: t for t in ts if t["role"] == "guest"}
    # every consumer starts after each of its producers ended
    edges = {"b": "a", "c": "a", "d": "a", "e": "bc", "f": "de", "g": "f"}
    for consumer, producers in edges.items():
        for p in producers:
            assert by[p]["end_time"] <= by[consumer]["start_time"], (p, consumer)
    # data passed along the edges: e got b's and c's outputs
    dep = daemon.get("/v2/job/dag/dependency", job_id=job_id, role="guest", party_id="9999")
    assert dep["code"] == 0
    assert sorted(d["component_name"] for d in dep["data"]["dependencies"]["e"]) == ["b", "c"]


def test_stop_kills_processes(daemon):
    job_id, _ = daemon.submit(dag({"s": task("sleep", params={"seconds": 60})}))
    ts = daemon.wait_task(job_id, "s", "running")
    pids = [t["run_pid"] for t in ts]
    assert all(pid_alive(p) for p in pids)
    r = daemon.post("/v2/job/stop", {"job_id": job_id})
    assert r["code"] == 0, r
    assert daemon.wait(job_id) == "canceled"
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.02)
    assert not any(pid_alive(p) for p in pids)
    assert {t["party_status"] for t in daemon.tasks(job_id)} == {"canceled"}
    # cores came back
    assert daemon.sql("SELECT f_remaining_cores, f_cores FROM t_engine_registry")[0] == (32, 32)


def test_stop_or_rerun_unknown_or_ended(daemon):
    assert daemon.post("/v2/job/stop", {"job_id": "0" * 21})["code"] == 1001
    assert daemon.post("/v2/job/rerun", {"job_id": "0" * 21})["code"] == 1001
    job_id, _ = daemon.submit(dag({"n": task()}))
    assert daemon.wait(job_id) == "success"
    r = daemon.post("/v2/job/stop", {"job_id": job_id})
    assert r["code"] == 1003 and "already ended" in r["message"]
    r = daemon.post("/v2/job/rerun", {"job_id": job_id})
    assert r["code"] == 1003 and "no failed" in r["message"]


def test_rerun_only_failed_and_dependents(daemon):
    d = dag({
        "a": task(),
        "b": task("fail", ["a"], {"times": 1}),
        "c": task("noop", ["b"]),
        "x": task(),   # independent branch: must not run again
    })
    job_id, _ = daemon.submit(d)
    assert daemon.wait(job_id) == "failed"
    ts = {(t["task_name"], t["role"]): t for t in daemon.tasks(job_id)}
    assert ts[("b", "guest")]["party_status"] == "failed"
    # whichever party failed first; the other one was stopped because of it
    assert any("failed on purpose" in ts[("b", r)]["error_report"] for r in ("guest", "host"))
    assert ts[("c", "guest")]["party_status"] == "waiting"
    a_start = ts[("a", "guest")]["start_time"]
    r = daemon.post("/v2/job/rerun", {"job_id": job_id})
    assert r["code"] == 0, r
    assert daemon.wait(job_id) == "success"
    ts = {(t["task_name"], t["role"]): t for t in daemon.tasks(job_id)}
    assert ts[("b", "guest")]["task_version"] == 1
    assert ts[("a", "guest")]["task_version"] == 0
    assert ts[("a", "guest")]["start_time"] == a_start      # not run again
    assert ts[("x", "guest")]["task_version"] == 0
    assert ts[("c", "guest")]["task_version"] == 0 and ts[("c", "guest")]["party_status"] == "success"


def test_auto_retries(daemon):
    job_id, _ = daemon.submit(dag({"f": task("fail", params={"times": 2})},
                                  conf={"auto_retries": 2}))
    assert daemon.wait(job_id) == "success"
    ts = daemon.tasks(job_id)
    assert {t["task_version"] for t in ts} == {2}
    # not enough retries: the job fails with the last version's error
    job_id, _ = daemon.submit(dag({"f": task("fail", params={"times": 3})},
                                  conf={"auto_retries": 1}))
    assert daemon.wait(job_id) == "failed"
    assert {t["task_version"] for t in daemon.tasks(job_id)} == {1}


def test_task_timeout(daemon):
    job_id, _ = daemon.submit(dag({"s": task("sleep", params={"seconds": 30},
                                             conf={"timeout": 1})}))
    t0 = time.time()
    status = daemon.wait(job_id, timeout=30)
    assert status in ("timeout", "failed")
    assert time.time() - t0 < 10
    ts = daemon.tasks(job_id)
    assert {t["party_status"] for t in ts} == {"timeout"}
    assert any("timeout of 1 s" in t["error_report"] for t in ts)


def test_process_death_noticed(daemon):
    for mode, text in (("crash", "signal 9"), ("exit", "exit status 3")):
        job_id, _ = daemon.submit(dag({"f": task("fail", params={"mode": mode})}))
        t0 = time.time()
        assert daemon.wait(job_id) == "failed"
        assert time.time() - t0 < 5
        errs = [t["error_report"] for t in daemon.tasks(job_id)]
        # each party either saw its own process die or was stopped because of the other
        assert any(text in e for e in errs), errs
        assert all(text in e or "ended failed on" in e for e in errs), errs


def test_priority_when_cores_are_short(make_daemon):
    # guest and host (4 cores each) share this site's 8: one job at a time
    d = make_daemon(computing={"cores": 8})
    blocker, _ = d.submit(dag({"s": task("sleep", params={"seconds": 1.5})}))
    d.wait_task(blocker, "s", "running")
    low, _ = d.submit(dag({"n": task()}, conf={"priority": 1}))
    high, _ = d.submit(dag({"n": task()}, conf={"priority": 9}))
    assert d.jobs(low)[0]["status"] == "waiting"
    for j in (blocker, low, high):
        assert d.wait(j) == "success"
    start = {j: d.sql("SELECT f_start_time FROM t_schedule_job WHERE f_job_id='%s'" % j)[0][0]
             for j in (blocker, low, high)}
    assert start[high] < start[low]
    assert d.sql("SELECT f_remaining_cores FROM t_engine_registry")[0][0] == 8


def test_small_jobs_do_not_pass_a_waiting_big_one(make_daemon):
    """Strict order: once a job waits for cores, later jobs queue behind it
    even when they would fit (no eager admission past it); the job holding
    the cores ends, the big one runs, then the small one."""
    d = make_daemon(computing={"cores": 8})
    blocker, _ = d.submit(dag({"s": task("sleep", params={"seconds": 1.5})},
                              conf={"cores": 2, "task": {"engine_run": {"cores": 1}}}))
    d.wait_task(blocker, "s", "running")
    big, _ = d.submit(dag({"n": task()}, conf={"cores": 4, "task": {"engine_run": {"cores": 1}}}))
    deadline = time.time() + 10
    while time.time() < deadline and "waits for cores" not in "".join(
            x["content"] for x in d.get("/v2/log/query", log_type="schedule_info", job_id=big,
                                        begin=1, end=100)["data"]):
        time.sleep(0.02)
    small, _ = d.submit(dag({"n": task()}, conf={"cores": 1, "task": {"engine_run": {"cores": 1}}}))
    time.sleep(0.3)
    assert d.jobs(small)[0]["status"] == "waiting"  # 4 of 8 cores free, yet it waits
    for j in (blocker, big, small):
        assert d.wait(j) == "success"
    start = {j: d.sql("SELECT f_start_time FROM t_schedule_job WHERE f_job_id='%s'" % j)[0][0]
             for j in (big, small)}
    assert start[big] <= start[small]
    assert d.sql("SELECT f_remaining_cores FROM t_engine_registry")[0][0] == 8


def test_task_cores_limit_parallelism(make_daemon):
    d = make_daemon()
    # 4 job cores, 2 per task: at most 2 of the 3 parallel tasks at once
    tasks = {"a": task("sleep", params={"seconds": 0.4}),
             "b": task("sleep", params={"seconds": 0.4}),
             "c": task("sleep", params={"seconds": 0.4})}
    job_id, _ = d.submit(dag(tasks, conf={"cores": 4, "task": {"engine_run": {"cores": 2}}}))
    assert d.wait(job_id) == "success"
    spans = [(t["start_time"], t["end_time"]) for t in d.tasks(job_id, role="guest")]
    for t0, _ in spans:
        assert sum(1 for s, e in spans if s <= t0 < e) <= 2


def test_logs(daemon):
    job_id, _ = daemon.submit(dag({"n0": task()}))
    assert daemon.wait(job_id) == "success"
    r = daemon.get("/v2/log/count", log_type="schedule_info", job_id=job_id)
    assert r["code"] == 0 and r["data"] >= 5
    r = daemon.get("/v2/log/query", log_type="schedule_info", job_id=job_id, begin=1, end=2)
    assert [x["line_num"] for x in r["data"]] == [1, 2]
    r = daemon.get("/v2/log/query", log_type="task_info", job_id=job_id, role="guest",
                   party_id="9999", task_name="n0")
    assert r["code"] == 0 and any("noop n0" in x["content"] for x in r["data"])
    r = daemon.get("/v2/log/query", log_type="task_info", job_id="../../etc", role="guest",
                   party_id="9999")
    assert r["code"] == 5001
    # '_' separates the fields of the flat log names: refused, not matched as a prefix
    for bad in ({"role": "guest_9999", "party_id": "9999"}, {"role": "guest", "party_id": "9999_n"}):
        r = daemon.get("/v2/log/query", log_type="task_info", job_id=job_id, **bad)
        assert r["code"] == 5001, bad


def test_logs_of_a_party_without_task_name(daemon):
    """Without task_name the party's task logs come one after the other, by task
    name, and only that job's and that party's."""
    job_id, _ = daemon.submit(dag({"a0": task(), "b0": task(inputs=["a0"])}))
    assert daemon.wait(job_id) == "success"
    other, _ = daemon.submit(dag({"c0": task()}))
    assert daemon.wait(other) == "success"
    r = daemon.get("/v2/log/query", log_type="task_stdout", job_id=job_id, role="host",
                   party_id="9998")
    lines = [x["content"] for x in r["data"]]
    a = [i for i, x in enumerate(lines) if "noop a0" in x]
    b = [i for i, x in enumerate(lines) if "noop b0" in x]
    assert a and b and max(a) < min(b), lines
    assert not any("c0" in x for x in lines)
    r = daemon.get("/v2/log/count", log_type="task_stdout", job_id=job_id, role="host",
                   party_id="9998")
    assert r["data"] == len(lines)


def test_list_and_task_list(daemon):
    job_id, _ = daemon.submit(dag({"n0": task(), "n1": task()}))
    daemon.wait(job_id)
    r = daemon.get("/v2/job/list/query", job_id=job_id, limit=10)
    assert r["code"] == 0 and r["data"]["count"] == 2
    row = [x for x in r["data"]["data"] if x["role"] == "guest"][0]
    assert row["partners"] == ["9998"]
    r = daemon.get("/v2/job/task/list/query", job_id=job_id, limit=3)
    assert r["data"]["count"] == 4 and len(r["data"]["data"]) == 3


def test_queue_clean(make_daemon):
    d = make_daemon(computing={"cores": 8})
    blocker, _ = d.submit(dag({"s": task("sleep", params={"seconds": 30})}))
    d.wait_task(blocker, "s", "running")
    waiting, _ = d.submit(dag({"n": task()}))
    r = d.post("/v2/job/queue/clean")
    assert r["code"] == 0 and waiting in r["data"]
    assert d.wait(waiting) == "canceled"
    assert d.post("/v2/job/stop", {"job_id": blocker})["code"] == 0
    assert d.wait(blocker) == "canceled"


def test_job_clean(daemon):
    import os
    job_id, _ = daemon.submit(dag({"n0": task()}))
    daemon.wait(job_id)
    # one flat folder per task version and party (no folder per job above)
    jobs = os.path.join(daemon.home, "jobs")
    mine = lambda: sorted(f for f in os.listdir(jobs) if f.startswith(job_id))  # noqa: E731
    assert mine() == [job_id + "_guest_9999_n0_0", job_id + "_host_9998_n0_0"]
    assert os.path.exists(os.path.join(jobs, job_id + "_guest_9999_n0_0", "task_parameters.yaml"))
    assert daemon.post("/v2/job/clean", {"job_id": job_id})["code"] == 0
    assert daemon.get("/v2/job/query", job_id=job_id)["code"] == 1001
    assert mine() == []


def test_notes(daemon):
    job_id, _ = daemon.submit(dag({"n0": task()}))
    daemon.wait(job_id)
    r = daemon.post("/v2/job/notes/add", {"job_id": job_id, "role": "guest",
                                           "party_id": "9999", "notes": "hello"})
    assert r["code"] == 0
    assert [x["description"] for x in daemon.jobs(job_id) if x["role"] == "guest"] == ["hello"]


def test_restart_carries_on(make_daemon):
    d = make_daemon()
    job_id, _ = d.submit(chain_dag(3))
    assert d.wait(job_id) == "success"
    d.stop()
    d.start()
    assert d.jobs(job_id)[0]["status"] == "success"
    job2, _ = d.submit(chain_dag(2))
    assert d.wait(job2) == "success"


def test_log_download(daemon, tmp_path):
    import io
    import tarfile
    import requests
    job_id, _ = daemon.submit(dag({"n0": task()}))
    daemon.wait(job_id)
    other, _ = daemon.submit(dag({"n1": task()}))
    daemon.wait(other)
    r = requests.post(daemon.url + "/v2/job/log/download", json={"job_id": job_id})
    assert r.headers["Content-Type"] == "application/gzip"
    assert job_id in r.headers["Content-Disposition"]
    tar = tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz")
    names = set(tar.getnames())
    # FATE's layout in the archive, a folder per party; nothing of the other job
    assert {"fate_flow_schedule.log", "guest-9999/n0.log", "host-9998/n0.log"} <= names
    assert not any("n1" in n or "_" in n.replace("fate_flow_schedule", "") for n in names)
    assert job_id.encode() in tar.extractfile("fate_flow_schedule.log").read()
    assert "guest-9999/n0.log" in names
    r = requests.post(daemon.url + "/v2/job/log/download", json={"job_id": "1" * 21})
    assert r.headers["Content-Type"] == "application/json" and r.json()["code"] == 8001


def test_inheritance(daemon):
    d = dag({"a": task(), "b": task("fail", ["a"], {"times": 1}), "c": task("noop", ["b"])})
    src, _ = daemon.submit(d)
    assert daemon.wait(src) == "failed"
    a_pid = [t["run_pid"] for t in daemon.tasks(src, task_name="a")]
    d["dag"]["conf"] = {"inheritance": {"job_id": src, "task_list": ["a"]}}
    job_id, _ = daemon.submit(d)
    # b fails again on its first run (version 0 of the new job): that is fine,
    # what matters is that a was not run again
    daemon.wait(job_id)
    ts = {(t["task_name"], t["role"]): t for t in daemon.tasks(job_id)}
    assert ts[("a", "guest")]["party_status"] == "success"
    assert ts[("a", "guest")]["run_pid"] is None            # never started
    assert ts[("b", "guest")]["run_pid"] not in a_pid
    # bad inheritance is refused at submit with 1007
    for inh, code, text in (({"job_id": "1" * 21, "task_list": ["a"]}, 1007, "no job"),
                            ({"job_id": src, "task_list": ["b"]}, 1007, "did not succeed"),
                            ({"job_id": src, "task_list": ["zz"]}, 1000, "'zz'")):
        d["dag"]["conf"] = {"inheritance": inh}
        r = daemon.post("/v2/job/submit", {"dag_schema": d})
        assert r["code"] == code and text in r["message"], r


def test_resource_view_health_metrics(make_daemon):
    import requests
    d = make_daemon(computing={"cores": 16})
    job_id, _ = d.submit(dag({"s": task("sleep", params={"seconds": 30})}))
    d.wait_task(job_id, "s", "running")
    r = d.get("/v2/server/resource")
    (eng,) = r["data"]["engines"]
    assert eng["cores"] == 16 and eng["used_cores"] == 8
    jobs = r["data"]["jobs"]
    assert {(j["role"], j["cores"], j["task_cores_in_use"]) for j in jobs} == {
        ("guest", 4, 4), ("host", 4, 4)}
    assert d.get("/health")["data"]["status"] == "ok"
    text = requests.get(d.url + "/metrics").text
    assert 'fedflow_cores_in_use{engine="standalone"} 8' in text
    assert "fedflow_tasks_running 2" in text
    assert "fedflow_scheduling_latency_ms_count 1" in text
    d.post("/v2/job/stop", {"job_id": job_id})
    d.wait(job_id)
    assert d.get("/v2/server/resource")["data"]["jobs"] == []


def test_queue_timeout(make_daemon):
    d = make_daemon(computing={"cores": 8}, scheduler={"detect_interval": 200},
                    job_default={"queue_timeout": 1})
    blocker, _ = d.submit(dag({"s": task("sleep", params={"seconds": 30})}))
    d.wait_task(blocker, "s", "running")
    waiting, _ = d.submit(dag({"n": task()}))
    assert d.wait(waiting, timeout=10) == "canceled"
    assert all("queue_timeout" in r["error_report"] for r in d.jobs(waiting))
    d.post("/v2/job/stop", {"job_id": blocker})
    d.wait(blocker)


def memory_cgroup_writable():
    for line in open("/proc/self/cgroup"):
        _, ctrls, path = line.strip().split(":", 2)
        if "memory" in ctrls.split(","):
            return os.access("/sys/fs/cgroup/memory" + (path if path != "/" else ""), os.W_OK)
    return False


def test_memory_limit(daemon):
    from conftest import BUILD
    if not memory_cgroup_writable() and "asan" in BUILD:
        import pytest
        pytest.skip("no writable memory cgroup, and RLIMIT_AS cannot hold ASan's shadow memory")
    ok, _ = daemon.submit(dag({"s": task("sleep", params={"seconds": 0, "alloc_mb": 16},
                                         conf={"engine_run": {"memory": 256}})}))
    assert daemon.wait(ok) == "success"
    job_id, _ = daemon.submit(dag({"s": task("sleep", params={"seconds": 0, "alloc_mb": 512},
                                             conf={"engine_run": {"memory": 64}})}))
    assert daemon.wait(job_id, timeout=60) == "failed"
    errs = [t["error_report"] for t in daemon.tasks(job_id)]
    assert any("memory limit exceeded (limit 64 MB)" in e for e in errs), errs


def test_isolation_limits(make_daemon):
    d = make_daemon(isolation={"enabled": True, "nofile": 100})
    job_id, _ = d.submit(dag({"s": task("sleep", params={"seconds": 1},
                                        conf={"engine_run": {"cores": 1}})},
                             conf={"cores": 4}))
    ts = d.wait_task(job_id, "s", "running")
    pid = ts[0]["run_pid"]
    # The task pid is fedflow-launch until it has applied the limits and
    # exec'd the component; only then are the limits final.
    deadline = time.time() + 10
    while "fedflow-launch" in os.readlink("/proc/%d/exe" % pid):
        assert time.time() < deadline, "launcher never exec'd the component"
        time.sleep(0.01)
    status = open("/proc/%d/status" % pid).read()
    assert "NoNewPrivs:\t1" in status
    assert "Cpus_allowed_list:" in status
    limits = open("/proc/%d/limits" % pid).read()
    assert [l for l in limits.splitlines() if l.startswith("Max open files")][0].split()[3] == "100"
    assert d.wait(job_id) == "success"
