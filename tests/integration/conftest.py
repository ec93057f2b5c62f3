# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: real fedflowd daemons on free loopback ports with
temporary homes, and helpers to submit jobs and wait for them.

FEDFLOW_BUILD selects the build folder (default: build/ at the repo root);
`make test` points it at the ASan+UBSan build so sanitizer findings in the
daemon fail the tests (a daemon that does not exit 0 on SIGTERM fails)."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("FEDFLOW_BUILD", os.path.join(ROOT, "build")))
FEDFLOWD = os.path.join(BUILD, "src", "fedflowd")
CLI = os.path.join(BUILD, "src", "cli", "fedflow")
COMPONENT = os.path.join(BUILD, "components", "fedflow-component")
SHARED = os.path.abspath(os.environ.get("FEDFLOW_SHARED") or os.path.join(ROOT, "..", "shared"))
FULL = os.environ.get("FEDFLOW_FULL") == "1"

END = ("success", "failed", "canceled", "timeout")


def pid_alive(pid):
    """True while pid runs; a zombie, or one that vanishes mid-check, is gone."""
    try:
        os.kill(pid, 0)
        # /proc can disappear between kill and read (ESRCH on read)
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except (OSError, TypeError):
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_config(party_id="9999", port=9380, **over):
    """A complete site config as a dict (written as JSON, which is YAML)."""
    cfg = {
        "party_id": party_id, "host": "127.0.0.1", "port": port, "mode": "standalone",
        "database": "sqlite:fedflow.db", "log_level": "info",
        "http": {"threads": 4, "max_body": 8 * 1024 * 1024},
        "computing": {"engine": "standalone", "cores": 32, "nodes": 1},
        "scheduler": {"sweep_interval": 30000, "poll_interval": 200},
        "job_default": {"job_cores": 4, "computing_partitions": 8,
                        "task_run": {"standalone": {"cores": 4}}, "task_timeout": 259200,
                        "auto_retries": 0, "sync_type": "callback"},
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    return cfg


class Daemon:
    def __init__(self, home, port=None, party_id="9999", config=None):
        self.home = home
        self.port = port or free_port()
        self.party_id = party_id
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.session = requests.Session()
        os.makedirs(home, exist_ok=True)
        cfg = config or base_config(party_id, self.port)
        cfg["port"] = self.port
        with open(os.path.join(home, "fedflow.yaml"), "w") as f:
            json.dump(cfg, f, indent=1)

    def start(self, timeout=15):
        self.log = open(os.path.join(self.home, "fedflowd.out"), "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.proc = subprocess.Popen([FEDFLOWD, "--home", self.home], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("fedflowd exited: " + self.output())
            try:
                if requests.get(self.url + "/v2/site/info/query", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("fedflowd did not start: " + self.output())

    def output(self):
        with open(os.path.join(self.home, "fedflowd.out"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self, check=True):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("fedflowd did not stop on SIGTERM")
        self.log.close()
        if check:
            assert self.proc.returncode == 0, "fedflowd exit %s:\n%s" % (
                self.proc.returncode, self.output())

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    # -- API helpers --
    def get(self, path, **params):
        r = self.session.get(self.url + path, params=params, timeout=30)
        return r.json()

    def post(self, path, body=None, **kw):
        r = self.session.post(self.url + path, json=body, timeout=30, **kw)
        return r.json()

    def submit(self, dag, expect=0):
        r = self.post("/v2/job/submit", {"dag_schema": dag})
        assert r["code"] == expect, r
        return r.get("job_id"), r

    def jobs(self, job_id):
        r = self.get("/v2/job/query", job_id=job_id)
        return r.get("data") or []

    def tasks(self, job_id, **kw):
        r = self.get("/v2/job/task/query", job_id=job_id, **kw)
        return r.get("data") or []

    def wait(self, job_id, timeout=60, statuses=END):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rows = self.jobs(job_id)
            if rows and all(r["status"] in statuses for r in rows):
                st = {r["status"] for r in rows}
                assert len(st) == 1, "parties disagree: %s" % rows
                return st.pop()
            time.sleep(0.02)
        raise AssertionError("job %s not ended: %s" % (job_id, self.jobs(job_id)))

    def wait_task(self, job_id, task_name, status, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            ts = self.tasks(job_id, task_name=task_name)
            # running with a pid: the status is claimed before the process starts
            if ts and all(t["party_status"] == status and
                          (status != "running" or t.get("run_pid")) for t in ts):
                return ts
            time.sleep(0.02)
        raise AssertionError("task %s not %s: %s" % (task_name, status,
                                                     self.tasks(job_id, task_name=task_name)))

    def sql(self, query):
        import sqlite3
        con = sqlite3.connect(os.path.join(self.home, "fedflow.db"), timeout=10)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def daemon():
    with tempfile.TemporaryDirectory(prefix="ffd-") as home:
        d = Daemon(home).start()
        yield d
        d.stop()


@pytest.fixture
def make_daemon():
    made = []
    tmp = tempfile.TemporaryDirectory(prefix="ffd-")

    def make(party_id="9999", **over):
        home = os.path.join(tmp.name, "site%d" % len(made))
        port = free_port()
        d = Daemon(home, port, party_id, base_config(party_id, port, **over))
        made.append(d)
        return d.start()

    yield make
    for d in made:
        if d.proc and d.proc.poll() is None:
            d.stop()
    tmp.cleanup()


# -- DAG builders --

def parties(*pairs):
    return [{"role": r, "party_id": [p]} for r, p in pairs]


GUEST_HOST = parties(("guest", "9999"), ("host", "9998"))


def dag(tasks, parties_=None, conf=None, **extra):
    d = {"parties": parties_ or GUEST_HOST, "tasks": tasks}
    if conf:
        d["conf"] = conf
    d.update(extra)
    return {"schema_version": "2.0.0", "dag": d}


def task(component="noop", inputs=(), params=None, **extra):
    t = {"component_ref": component}
    if inputs:
        chans = [{"producer_task": p, "output_artifact_key": "output_data"} for p in inputs]
        t["inputs"] = {"data": {"input_data": {"task_output_artifact":
                                               chans[0] if len(chans) == 1 else chans}}}
    if params:
        t["parameters"] = params
    t.update(extra)
    return t


def seven_task_dag(component="noop", params=None):
    """fan-out 3, fan-in 2, depth 4: a -> (b, c, d); (b, c) -> e; (d, e) -> f -> g"""
    return dag({
        "a": task(component, params=params),
        "b": task(component, ["a"], params), "c": task(component, ["a"], params),
        "d": task(component, ["a"], params),
        "e": task(component, ["b", "c"], params),
        "f": task(component, ["d", "e"], params),
        "g": task(component, ["f"], params),
    })


def chain_dag(n, component="noop", params=None):
    tasks = {}
    for i in range(n):
        tasks["t%d" % i] = task(component, ["t%d" % (i - 1)] if i else (), params)
    return dag(tasks)
