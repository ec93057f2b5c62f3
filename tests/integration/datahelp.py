# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by test_data.py, test_outputs.py and test_models.py:
uploads (server path, multipart, CLI), tar/zip readers, small DAGs."""
import io
import json
import os
import subprocess
import tarfile

import requests

from conftest import BUILD, SHARED, dag

DATA = os.path.join(SHARED, "data")
GUEST_CSV = os.path.join(DATA, "breast_hetero_guest.csv")
HOST_CSV = os.path.join(DATA, "breast_hetero_host.csv")
CLI = os.path.join(BUILD, "src", "cli", "fedflow")

GUEST_CONF = {"file": GUEST_CSV, "head": True, "partitions": 4, "extend_sid": True,
              "meta": {"delimiter": ",", "label_name": "y", "match_id_name": "id"},
              "namespace": "experiment", "name": "breast_hetero_guest"}
HOST_CONF = {"file": HOST_CSV, "head": True, "partitions": 4, "extend_sid": True,
             "meta": {"delimiter": ",", "match_id_name": "id"},
             "namespace": "experiment", "name": "breast_hetero_host"}


def upload(d, conf, expect="success", timeout=120):
    """POST /v2/data/component/upload, wait for the job; returns (job_id, answer)."""
    r = d.post("/v2/data/component/upload", conf)
    assert r["code"] == 0, r
    assert r["data"] == {"name": conf["name"], "namespace": conf["namespace"]} or \
        "name" not in conf, r
    assert d.wait(r["job_id"], timeout) == expect, d.tasks(r["job_id"])
    return r["job_id"], r


def form_fields(conf):
    """Form fields as FATE's client sends them: str() of each value, meta as JSON."""
    out = {}
    for k, v in conf.items():
        if k in ("file", "meta"):
            continue
        out[k] = str(v)
    out["meta"] = json.dumps(conf.get("meta", {}))
    return out


def upload_file(d, conf, path=None, expect="success", timeout=120):
    """Multipart POST /v2/data/component/upload/file with the file's bytes."""
    path = path or conf["file"]
    with open(path, "rb") as f:
        r = requests.post(d.url + "/v2/data/component/upload/file", data=form_fields(conf),
                          files={"file": (os.path.basename(path), f)}, timeout=600).json()
    if expect is None:
        return None, r
    assert r["code"] == 0, r
    assert d.wait(r["job_id"], timeout) == expect, d.tasks(r["job_id"])
    return r["job_id"], r


def cli(d, *args, timeout=600):
    """Runs the fedflow CLI against daemon d; returns the parsed JSON it printed.
    fedflow exits 0 for code 0 and 1 for an error answer (docs/cli.md)."""
    env = dict(os.environ, FEDFLOW_SERVER=d.url)
    p = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=timeout)
    out = json.loads(p.stdout)
    assert p.returncode == (0 if out.get("code") == 0 else 1), (p.returncode, p.stderr)
    return out


def table(d, ns, name, display=None):
    params = {"namespace": ns, "name": name}
    if display is not None:
        params["display"] = display
    return d.get("/v2/table/query", **params)


def tgz_members(content):
    """{name: bytes} of every regular file in a tar or tar.gz."""
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:*") as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}


def get_raw(d, path, **params):
    r = requests.get(d.url + path, params=params, timeout=120)
    assert r.status_code == 200
    return r


def reader_dag(consumer="noop", guest=("experiment", "breast_hetero_guest"),
               host=("experiment", "breast_hetero_host"), consumer_params=None):
    """reader_0 (guest 9999 + host 9998) -> noop_0, FATE's layout."""
    parts = [{"role": "guest", "party_id": ["9999"]}, {"role": "host", "party_id": ["9998"]}]
    tasks = {
        "reader_0": {"component_ref": "reader"},
        "noop_0": {"component_ref": consumer,
                   "inputs": {"data": {"input_data": {"task_output_artifact": {
                       "producer_task": "reader_0", "output_artifact_key": "output_data"}}}}},
    }
    if consumer_params:
        tasks["noop_0"]["parameters"] = consumer_params
    party_tasks = {
        "guest_9999": {"parties": [parts[0]], "tasks": {"reader_0": {"parameters": {
            "namespace": guest[0], "name": guest[1]}}}},
        "host_9998": {"parties": [parts[1]], "tasks": {"reader_0": {"parameters": {
            "namespace": host[0], "name": host[1]}}}},
    }
    return dag(tasks, parts, party_tasks=party_tasks)


def read(path):
    with open(path, "rb") as f:
        return f.read()
