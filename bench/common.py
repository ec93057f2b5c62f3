# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the benchmarks: start real daemons from the release
build, submit jobs, measure. Benchmarks print figures; they never assert."""
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("FEDFLOW_BUILD", os.path.join(ROOT, "build"))

from conftest import Daemon, base_config, free_port, dag, task, chain_dag, seven_task_dag  # noqa
# release build for benchmarks, and quiet daemons
os.environ.setdefault("FEDFLOW_BENCH", "1")


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / hz


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_daemon(**over):
    home = tempfile.mkdtemp(prefix="ffbench-")
    port = free_port()
    cfg = base_config("9999", port, **over)
    cfg["log_level"] = "warn"
    d = Daemon(home, port, "9999", cfg)
    return d.start()


def run_until_end(d, job_id, timeout=600):
    """Tight poll on a keep-alive connection; returns the job status."""
    deadline = time.time() + timeout
    url = "/v2/job/query"
    while time.time() < deadline:
        rows = d.get(url, job_id=job_id, role="guest", party_id="9999").get("data") or []
        if rows and rows[0]["status"] in ("success", "failed", "canceled", "timeout"):
            return rows[0]["status"]
    return "timeout"


def server_elapsed_ms(d, job_id):
    r = d.sql("SELECT f_end_time - f_create_time FROM t_schedule_job WHERE f_job_id='%s'"
              % job_id)
    return r[0][0] if r else None


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def line(name, value, unit, ref=None, target=None, higher_better=False):
    """One figure; with ref, the ratio to FATE-Flow's (>1 means fedflow is better)."""
    s = "%-52s %10.2f %s" % (name + ":", value, unit)
    if ref is not None:
        ratio = (value / ref if higher_better else ref / value) if value else 0
        s += "   (FATE-Flow 2.x: %g %s, %.0fx better)" % (ref, unit, ratio)
    if target is not None:
        s += "   target %s" % target
    print(s, flush=True)
