# SPDX-License-Identifier: Apache-2.0
"""Issue B: one fedflowd per site, signed commands between them."""
import os
import subprocess
import time

import pytest
import requests

from conftest import BUILD, dag, free_port, parties, pid_alive, seven_task_dag, task
from sites import SITES, Federation, signed_post

THREE = parties(("guest", "9999"), ("host", "10000"), ("arbiter", "10001"))


@pytest.fixture(scope="module")
def fed():
    f = Federation()
    yield f
    out = f.down()
    assert "did not stop" not in out, out


def end_status(fed, job_id, timeout=60):
    """Waits until every site's rows of the job ended; asserts they agree."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = []
        for d in fed.sites.values():
            rows += d.jobs(job_id)
        if rows and all(r["status"] in ("success", "failed", "canceled", "timeout")
                        for r in rows) and len(rows) == 3:
            st = {r["status"] for r in rows}
            assert len(st) == 1, rows
            return st.pop(), rows
        time.sleep(0.05)
    raise AssertionError("job did not end on every site")


def test_seven_task_dag_across_three_sites(fed):
    g = fed.sites["9999"]
    d = seven_task_dag()
    d["dag"]["parties"] = THREE
    job_id, _ = g.submit(d)
    st, rows = end_status(fed, job_id)
    assert st == "success"
    for pid, d_ in fed.sites.items():
        ts = d_.tasks(job_id)
        assert len(ts) == 7 and all(t["party_status"] == "success" for t in ts), (pid, ts)
        assert all(t["status"] == "success" for t in ts)


def test_job_starts_on_every_party(fed):
    """The first task/resource/apply of a task without producers starts the
    job on its parties; a party with no such task (the arbiter here) gets a
    job/start of its own. Either way the job runs on every site at once."""
    g = fed.sites["9999"]
    two = parties(("guest", "9999"), ("host", "10000"))
    job_id, _ = g.submit(dag({"a": task("sleep", params={"seconds": 2}, parties=two),
                              "b": task("noop", ["a"])}, THREE))
    deadline = time.time() + 20
    while time.time() < deadline:
        st = {pid: [r["status"] for r in d.jobs(job_id)] for pid, d in fed.sites.items()}
        if all(v == ["running"] for v in st.values()):
            break
        time.sleep(0.05)
    assert all(v == ["running"] for v in st.values()), st
    a = [t for d in fed.sites.values() for t in d.tasks(job_id) if t["task_name"] == "a"]
    assert {t["party_status"] for t in a} == {"running"}  # b has not started yet
    assert end_status(fed, job_id)[0] == "success"
    # the end carried the federated status of the last task to every party
    for d in fed.sites.values():
        assert {t["status"] for t in d.tasks(job_id)} == {"success"}


def test_folded_start_without_task_cores_changes_nothing(fed):
    """A task/start that applies its own task cores ("apply", sent when no
    other task of the job is live) is refused with 2004 when the job's cores
    at that party are held, and leaves the task waiting and the cores as
    they were; the scheduler's own start of it later runs normally."""
    g, h = fed.sites["9999"], fed.sites["10000"]
    two = parties(("guest", "9999"), ("host", "10000"))
    conf = {"cores": 2, "task": {"engine_run": {"cores": 2}}}
    job_id, _ = g.submit(dag({"a": task("sleep", params={"seconds": 1.5}),
                              "b": task("noop", ["a"])}, two, conf=conf))
    deadline = time.time() + 20
    while time.time() < deadline and not any(
            t["task_name"] == "a" and t["party_status"] == "running" for t in h.tasks(job_id)):
        time.sleep(0.02)
    b = next(t for t in h.tasks(job_id) if t["task_name"] == "b")
    cores = "SELECT f_remaining_cores FROM t_job WHERE f_job_id = '%s'" % job_id
    before = h.sql(cores)
    body = {"job_id": job_id, "task_id": b["task_id"], "task_version": b["task_version"],
            "role": "host", "party_id": "10000", "status": "running", "apply": True}
    r, _, _ = signed_post(h.url, "/v2/partner/task/start", body, "9999", fed.site_key("9999"))
    assert r["code"] == 2004 and "no free task cores" in r["message"], r
    b2 = next(t for t in h.tasks(job_id) if t["task_name"] == "b")
    assert (b2["party_status"], b2["status"]) == ("waiting", "waiting")
    assert h.sql(cores) == before
    assert g.wait(job_id) == "success"
    deadline = time.time() + 10
    while time.time() < deadline and h.jobs(job_id)[0]["status"] != "success":
        time.sleep(0.05)
    assert h.jobs(job_id)[0]["status"] == "success"
    assert {t["party_status"] for t in h.tasks(job_id)} == {"success"}


def schedule_log(d, job_id):
    r = d.get("/v2/log/query", log_type="schedule_info", job_id=job_id, begin=1, end=1000)
    assert r["code"] == 0, r
    return "\n".join(x["content"] for x in r["data"])


def test_waiting_jobs_across_sites(fed):
    """Jobs are created waiting on every party (no waiting sync of their
    own); one stopped while waiting ends canceled everywhere; the next is
    admitted when the job holding the cores ends (its scheduler kicks its
    queue when the parties answer the end: they send it no queue/kick)."""
    g = fed.sites["9999"]
    (eng,) = fed.sites["10000"].get("/v2/server/resource")["data"]["engines"]
    conf = {"cores": eng["cores"]}  # one job at a time on the host
    blocker, _ = g.submit(dag({"s": task("sleep", params={"seconds": 1.5})}, THREE, conf=conf))
    deadline = time.time() + 20
    while time.time() < deadline and g.jobs(blocker)[0]["status"] != "running":
        time.sleep(0.05)
    stopped, _ = g.submit(dag({"a": task()}, THREE, conf=conf))
    later, _ = g.submit(dag({"a": task()}, THREE, conf=conf))
    for d in fed.sites.values():
        assert [r["status"] for r in d.jobs(stopped)] == ["waiting"]
        # created eagerly (nothing waited before them): the parties that had
        # the cores gave them back when the host had none
        q = "SELECT f_resource_in_use FROM t_job WHERE f_job_id IN ('%s', '%s')" % (stopped, later)
        deadline = time.time() + 5
        while time.time() < deadline and d.sql(q) != [(0,), (0,)]:
            time.sleep(0.02)
        assert d.sql(q) == [(0,), (0,)], d.url
    assert schedule_log(g, blocker).count("job got its cores with its creation") == 1
    assert "job got its cores with its creation" not in schedule_log(g, stopped)
    assert g.post("/v2/job/stop", {"job_id": stopped})["code"] == 0
    assert end_status(fed, stopped)[0] == "canceled"
    assert end_status(fed, blocker)[0] == "success"
    assert end_status(fed, later)[0] == "success"


@pytest.mark.parametrize("sync_type", ["callback", "poll"])
def test_sync_types(fed, sync_type):
    g = fed.sites["9999"]
    job_id, _ = g.submit(dag({"a": task(), "b": task("noop", ["a"])}, THREE,
                             conf={"sync_type": sync_type}))
    st, _ = end_status(fed, job_id)
    assert st == "success"
    assert {t["sync_type"] for t in fed.sites["10000"].tasks(job_id)} == {sync_type}


def test_stop_from_another_site(fed):
    g, h = fed.sites["9999"], fed.sites["10000"]
    job_id, _ = g.submit(dag({"s": task("sleep", params={"seconds": 60})}, THREE))
    deadline = time.time() + 20
    pids = []
    while time.time() < deadline:
        pids = [t["run_pid"] for d in fed.sites.values() for t in d.tasks(job_id)
                if t["party_status"] == "running" and t["run_pid"]]
        if len(pids) == 3:
            break
        time.sleep(0.05)
    assert len(pids) == 3
    r = h.post("/v2/job/stop", {"job_id": job_id})
    assert r["code"] == 0, r
    st, _ = end_status(fed, job_id)
    assert st == "canceled"
    deadline = time.time() + 5
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids)


def test_rerun_across_sites(fed):
    g = fed.sites["9999"]
    d = dag({"a": task(), "f": task("fail", ["a"], {"times": 1},
                                    parties=parties(("host", "10000"))),
             "c": task("noop", ["a"])}, THREE)
    job_id, _ = g.submit(d)
    st, rows = end_status(fed, job_id)
    assert st == "failed"
    assert any("failed on purpose" in (r.get("error_report") or "") for r in rows), rows
    assert g.post("/v2/job/rerun", {"job_id": job_id})["code"] == 0
    st, _ = end_status(fed, job_id)
    assert st == "success"
    (t,) = fed.sites["10000"].tasks(job_id, task_name="f")
    assert t["task_version"] == 1


def counts(d):
    return (d.sql("SELECT COUNT(*) FROM t_job")[0][0], d.sql("SELECT COUNT(*) FROM t_task")[0][0])


def test_signature_checks(fed):
    g = fed.sites["9999"]
    key = fed.site_key("10000")
    before = counts(g)
    path = "/v2/partner/task/collect"
    body = {"job_id": "1", "task_id": "1_a", "task_version": 0, "role": "guest",
            "party_id": "9999"}
    # a correctly signed command passes the check (and finds no such task)
    r, headers, raw = signed_post(g.url, path, body, "10000", key)
    assert r["code"] == 2000, r
    # the same request again: replayed nonce
    r = requests.post(g.url + path, data=raw, headers=headers).json()
    assert r["code"] == 5003 and "nonce" in r["message"]
    # signed with another site's key
    r, _, _ = signed_post(g.url, path, body, "10000", fed.site_key("10001"))
    assert r["code"] == 5003 and "signature" in r["message"]
    # expired timestamp
    r, _, _ = signed_post(g.url, path, body, "10000", key, ts=int(time.time() * 1000) - 120000)
    assert r["code"] == 5000
    # unknown party
    r, _, _ = signed_post(g.url, path, body, "55555", key)
    assert r["code"] == 5003 and "55555" in r["message"]
    # no signature at all
    r = requests.post(g.url + "/v2/partner/job/create", json={"job_id": "x"}).json()
    assert r["code"] == 5003
    # a body changed after signing
    r, headers, raw = signed_post(g.url, path, body, "10000", key)
    h2 = dict(headers, **{"X-Fedflow-Nonce": os.urandom(16).hex()})
    r = requests.post(g.url + path, data=raw.replace(b"9999", b"9998"), headers=h2).json()
    assert r["code"] == 5003
    assert counts(g) == before


def test_batch_of_commands(fed):
    """POST /v2/fed/batch (what a site sends when commands to one partner
    queue up): one signature, every command answered in order as if sent
    alone; a bad batch or signature is refused whole and changes nothing."""
    g = fed.sites["9999"]
    key = fed.site_key("10000")
    before = counts(g)
    collect = {"job_id": "1", "task_id": "1_a", "task_version": 0, "role": "guest",
               "party_id": "9999"}
    cmds = [{"endpoint": "/partner/task/collect", "body": collect},
            {"endpoint": "/partner/task/collect", "body": dict(collect, party_id="10001")},
            {"endpoint": "/nowhere", "body": {}},
            {"endpoint": "/partner/task/collect"},
            {"endpoint": "/scheduler/queue/kick", "body": {}},
            {"endpoint": "/scheduler/task/report", "body": dict(collect, status="bogus")}]
    r, _, _ = signed_post(g.url, "/v2/fed/batch", {"commands": cmds}, "10000", key)
    assert r["code"] == 0, r
    assert [a["code"] for a in r["data"]] == [2000, 5005, 5001, 5001, 0, 5001], r
    assert "not 10001" in r["data"][1]["message"]
    # refused whole: another site's key, too many commands, none, not a list
    r, _, _ = signed_post(g.url, "/v2/fed/batch", {"commands": cmds}, "10000",
                          fed.site_key("10001"))
    assert r["code"] == 5003 and "data" not in r
    for bad in (cmds[:1] * 65, [], {"endpoint": "/partner/task/collect"}):
        r, _, _ = signed_post(g.url, "/v2/fed/batch", {"commands": bad}, "10000", key)
        assert r["code"] == 5001, (bad, r)
    assert requests.post(g.url + "/v2/fed/batch", json={"commands": cmds}).json()["code"] == 5003
    assert counts(g) == before


def test_batches_under_load(fed):
    """Many jobs at once: commands to a busy partner leave in batches
    (/metrics counts them) and every job still ends right everywhere."""
    g = fed.sites["9999"]

    def metric(name):
        text = requests.get(g.url + "/metrics").text
        return int(next(line.split()[1] for line in text.splitlines()
                        if line.startswith(name + " ")))
    b0, c0, q0 = (metric("fedflow_partner_batches_total"),
                  metric("fedflow_partner_commands_total"),
                  metric("fedflow_partner_requests_total"))
    ids = [g.submit(dag({"n": task()}, THREE))[0] for _ in range(40)]
    for job_id in ids:
        assert end_status(fed, job_id)[0] == "success", job_id
    assert metric("fedflow_partner_batches_total") > b0
    sent = metric("fedflow_partner_commands_total") - c0
    assert sent >= 40 * 2 * 3 and metric("fedflow_partner_requests_total") - q0 < sent
    for d in fed.sites.values():
        assert d.sql("SELECT f_remaining_cores = f_cores FROM t_engine_registry") == [(1,)]


def test_site_info(fed):
    r = fed.sites["10000"].get("/v2/site/info/query")
    pub = open(os.path.join(fed.sites["10000"].home, "site.pub")).read().strip()
    assert r["data"]["party_id"] == "10000" and r["data"]["public_key"] == pub
    # the route table: the other two sites, with their URLs and keys
    partners = {p["party_id"]: p for p in r["data"]["partners"]}
    assert sorted(partners) == ["10001", "9999"]
    for pid, p in partners.items():
        other = fed.sites[pid]
        assert p["url"] == other.url
        assert p["public_key"] == open(os.path.join(other.home, "site.pub")).read().strip()


def test_partner_killed_mid_job():
    fed = Federation()
    try:
        g = fed.sites["9999"]
        job_id, _ = g.submit(dag({"s": task("sleep", params={"seconds": 30})}, THREE))
        deadline = time.time() + 20
        while time.time() < deadline:
            ts = [t for d in fed.sites.values() for t in d.tasks(job_id)]
            if len(ts) == 3 and all(t["party_status"] == "running" and t["run_pid"]
                                    for t in ts):
                break
            time.sleep(0.05)
        survivors = [t["run_pid"] for pid in ("9999", "10001")
                     for t in fed.sites[pid].tasks(job_id)]
        assert len(survivors) == 2 and all(survivors)
        fed.kill_site("10000")
        t0 = time.time()
        deadline = time.time() + 30
        while time.time() < deadline:
            rows = g.jobs(job_id) + fed.sites["10001"].jobs(job_id)
            if all(r["status"] == "failed" for r in rows):
                break
            time.sleep(0.05)
        assert all(r["status"] == "failed" for r in rows), rows
        assert time.time() - t0 < 15
        reason = [r["error_report"] for r in g.jobs(job_id)][0]
        assert "10000" in reason, reason
        # the other sites gave everything back
        for pid in ("9999", "10001"):
            d = fed.sites[pid]
            assert d.sql("SELECT f_remaining_cores, f_cores FROM t_engine_registry")[0] == (32, 32)
        deadline = time.time() + 5
        while any(pid_alive(p) for p in survivors) and time.time() < deadline:
            time.sleep(0.05)
        assert not any(pid_alive(p) for p in survivors)
        # the host comes back: its task of the ended job is ended too
        fed.restart("10000")
        h = fed.sites["10000"]
        deadline = time.time() + 10
        while time.time() < deadline:
            ts = h.tasks(job_id)
            if ts and ts[0]["party_status"] != "running":
                break
            time.sleep(0.05)
        assert h.tasks(job_id)[0]["party_status"] in ("failed", "canceled")
    finally:
        fed.down()


def test_sites_up_with_slow_starting_daemons(tmp_path):
    """scripts/sites waits for each site in turn; a site that needs several
    tries to answer must not shift the ports of the sites after it."""
    build = tmp_path / "build"
    (build / "src" / "cli").mkdir(parents=True)
    real = os.path.join(BUILD, "src", "fedflowd")
    slow = build / "src" / "fedflowd"
    slow.write_text('#!/bin/sh\nsleep 0.4\nexec "%s" "$@"\n' % real)
    slow.chmod(0o755)
    os.symlink(os.path.join(BUILD, "src", "cli", "fedflow"), build / "src" / "cli" / "fedflow")
    home = tmp_path / "fed"
    base = free_port()
    while not all(Federation._port_free(base + i) for i in range(2)):
        base = free_port()
    env = dict(os.environ, FEDFLOW_BUILD=str(build))
    up = subprocess.run([SITES, "up", "--home", str(home), "--count", "2",
                         "--base-port", str(base)], capture_output=True, text=True, env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        lines = [ln.split() for ln in up.stdout.split("\n") if ln.strip()]
        assert [(p, u) for p, u, _ in lines] == [
            ("9999", "http://127.0.0.1:%d" % base), ("10000", "http://127.0.0.1:%d" % (base + 1))]
        for pid, url, _ in lines:
            info = requests.get(url + "/v2/site/info/query").json()["data"]
            assert info["party_id"] == pid
            assert [p["party_id"] for p in info["partners"]] == [
                "10000" if pid == "9999" else "9999"]
    finally:
        subprocess.run([SITES, "down", "--home", str(home)], capture_output=True, env=env)
