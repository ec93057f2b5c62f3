# SPDX-License-Identifier: Apache-2.0
"""Issue 4, outputs: metrics in FATE's shape, output data views, and FATE's
codes as JSON for every missing task, output or model."""
import pytest
import requests

from conftest import dag, task
from datahelp import get_raw

GROUPS = [{"name": "default", "index": None}, {"name": "train", "index": None}]


@pytest.fixture(scope="module")
def metric_job(daemon):
    job_id, _ = daemon.submit(dag({"m": task("noop", params={"metrics": 4})}))
    assert daemon.wait(job_id) == "success", daemon.tasks(job_id)
    return daemon, job_id


def key(job_id, role="guest", party_id="9999", task_name="m"):
    return dict(job_id=job_id, role=role, party_id=party_id, task_name=task_name)


def test_metrics_in_fate_shape(metric_job):
    d, job_id = metric_job
    r = d.get("/v2/output/metric/query", **key(job_id))
    assert r["code"] == 0, r
    by_name = {m["name"]: m for m in r["data"]}
    assert [m["name"] for m in r["data"]] == ["loss", "auc", "roc"]
    loss = by_name["loss"]
    assert set(loss) == {"name", "type", "groups", "step_axis", "data"}
    assert loss["type"] == "loss" and loss["step_axis"] == "iterations"
    assert loss["groups"] == GROUPS
    assert [p["step"] for p in loss["data"]] == [0, 1, 2, 3]
    assert [p["metric"] for p in loss["data"]] == [1.0, 0.5, 1 / 3, 0.25]
    assert all(isinstance(p["timestamp"], float) for p in loss["data"])
    auc = by_name["auc"]
    assert auc["type"] == "auc" and auc["step_axis"] is None
    assert len(auc["data"]) == 1 and auc["data"][0]["metric"] == 0.75
    assert auc["data"][0]["step"] is None
    assert by_name["roc"]["data"] == {"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 0.8, 1.0]}
    # the host ran it too, with its own metrics
    r = d.get("/v2/output/metric/query", **key(job_id, "host", "9998"))
    assert len(r["data"]) == 3


def test_metric_keys_filters_and_delete(metric_job):
    d, job_id = metric_job
    r = d.get("/v2/output/metric/key/query", **key(job_id))
    assert r["code"] == 0
    assert r["data"] == [
        {"name": "loss", "type": "loss", "groups": GROUPS, "step_axis": "iterations"},
        {"name": "auc", "type": "auc", "groups": GROUPS, "step_axis": None},
        {"name": "roc", "type": "roc", "groups": GROUPS, "step_axis": None},
    ]
    r = d.get("/v2/output/metric/query", name="auc", **key(job_id))
    assert [m["name"] for m in r["data"]] == ["auc"]
    r = requests.get(d.url + "/v2/output/metric/query", params=key(job_id),
                     json={"filters": {"type": "roc"}}).json()
    assert [m["name"] for m in r["data"]] == ["roc"]
    r = d.post("/v2/output/metric/delete", key(job_id, "host", "9998"))
    assert r == {"code": 0, "message": "success", "data": True}
    assert d.get("/v2/output/metric/query", **key(job_id, "host", "9998"))["data"] == []
    assert d.post("/v2/output/metric/delete", key(job_id, "host", "9998"))["data"] is False
    assert len(d.get("/v2/output/metric/query", **key(job_id))["data"]) == 3


ROUTES = [("GET", "/v2/output/metric/key/query"), ("GET", "/v2/output/metric/query"),
          ("POST", "/v2/output/metric/delete"), ("GET", "/v2/output/model/query"),
          ("GET", "/v2/output/model/download"), ("POST", "/v2/output/model/delete"),
          ("GET", "/v2/output/data/download"), ("GET", "/v2/output/data/table"),
          ("GET", "/v2/output/data/display")]


def call(d, method, path, body):
    if method == "GET":
        return requests.get(d.url + path, params=body, timeout=30)
    return requests.post(d.url + path, json=body, timeout=30)


@pytest.mark.parametrize("method,path", ROUTES, ids=[p for _, p in ROUTES])
def test_missing_task_is_2000_json(metric_job, method, path):
    d, job_id = metric_job
    for body, code in ((key(job_id, task_name="nope"), 2000),
                       (key("20000101000000000000", task_name="m"), 2000),
                       ({"job_id": job_id, "role": "guest"}, 5001)):
        r = call(d, method, path, body)
        assert r.headers["Content-Type"] == "application/json"
        assert r.json()["code"] == code, (body, r.text)


def test_missing_outputs_give_fate_codes(metric_job):
    d, job_id = metric_job
    k = key(job_id)
    # noop without input has no data output and no model
    for path, code in (("/v2/output/data/download", 7001), ("/v2/output/model/download", 2005),
                       ("/v2/output/model/query", 2005)):
        r = get_raw(d, path, **k)
        assert r.headers["Content-Type"] == "application/json", path
        assert r.json()["code"] == code, (path, r.text)
    assert d.post("/v2/output/model/delete", k)["code"] == 2005
    # the bare views answer an empty object
    assert requests.get(d.url + "/v2/output/data/table", params=k).json() == {}
    assert requests.get(d.url + "/v2/output/data/display", params=k).json() == {}
