# SPDX-License-Identifier: Apache-2.0
"""HTTP conventions (spec §1.1): envelope, routes, keep-alive, paths."""
import http.client
import json
import os
import shutil
import subprocess
import sys

from conftest import CLI, COMPONENT, ROOT, dag, task


def test_unknown_route_is_json(daemon):
    import requests
    r = requests.get(daemon.url + "/v2/nope/nothing")
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["code"] == 6000
    r = requests.get(daemon.url + "/")
    assert r.json()["code"] == 6000
    r = requests.get(daemon.url + "/v2/job/submit")   # wrong method
    assert r.json()["code"] == 6000 and "not allowed" in r.json()["message"]


def test_unknown_route_with_a_body_is_json_and_keeps_the_connection(daemon):
    # the body is read and dropped, then answered once; the connection lives on
    c = http.client.HTTPConnection("127.0.0.1", daemon.port)
    body = json.dumps({"namespace": "a", "name": "b", "pad": "x" * 200000})
    for method, path, status, words in (
            ("POST", "/v2/nope/nothing", 404, "unknown route"),
            ("POST", "/v2/job/query", 405, "not allowed"),
            ("PUT", "/v2/job/submit", 405, "not allowed")):
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        answer = json.loads(r.read())
        assert r.status == status and answer["code"] == 6000, (path, answer)
        assert words in answer["message"], answer
        c.request("GET", "/v2/site/info/query")
        r = c.getresponse()
        assert json.loads(r.read())["code"] == 0
    c.close()


def test_keep_alive_and_slashes(daemon):
    c = http.client.HTTPConnection("127.0.0.1", daemon.port)
    for path in ("/v2/site/info/query", "/v2//site/info/query/", "/v2/server/fateflow"):
        c.request("GET", path)
        r = c.getresponse()
        body = json.loads(r.read())
        assert body["code"] == 0, (path, body)
    # POST without a body and without Content-Type (FATE's job clean-queue)
    c.request("POST", "/v2/job/queue/clean", body=b"", headers={"Content-Length": "0"})
    r = c.getresponse()
    assert json.loads(r.read())["code"] == 0
    c.close()


def test_json_whatever_content_type(daemon):
    import requests
    body = json.dumps({"dag_schema": dag({"a": task()})})
    r = requests.post(daemon.url + "/v2/job/submit", data=body,
                      headers={"Content-Type": "text/plain"}).json()
    assert r["code"] == 0 and r["job_id"]
    daemon.wait(r["job_id"])


def test_missing_parameter(daemon):
    r = daemon.post("/v2/job/stop", {})
    assert r["code"] == 5001 and "job_id" in r["message"]
    r = daemon.get("/v2/job/query")
    assert r["code"] == 1001
    r = daemon.get("/v2/job/task/query", job_id="0" * 21)
    assert r["code"] == 2000


def test_site_and_server_info(daemon):
    r = daemon.get("/v2/site/info/query")
    assert r["data"]["party_id"] == "9999"
    r = daemon.get("/v2/server/fateflow")
    (inst,) = r["data"].values()
    assert inst["http_port"] == daemon.port and inst["version"]


def test_provider_register_query_delete(daemon, tmp_path):
    r = daemon.get("/v2/provider/query", name="fedflow")
    assert r["code"] == 0 and r["data"][0]["device"] == "local"
    bad = daemon.post("/v2/provider/register", {"name": "x", "version": "1", "device": "docker",
                                                 "metadata": {"image": "x"}})
    assert bad["code"] == 4001
    bad = daemon.post("/v2/provider/register", {"name": "x", "version": "1", "device": "local",
                                                 "metadata": {"path": "/no/such/dir"}})
    assert bad["code"] == 8001 and "/no/such/dir" in bad["message"]
    bad = daemon.post("/v2/provider/register", {"name": "x", "version": "1", "device": "local",
                                                 "metadata": {"executable": "bin/comp"}})
    assert bad["code"] == 5001 and "absolute" in bad["message"], bad
    md = {"executable": COMPONENT}
    r = daemon.post("/v2/provider/register", {"name": "copy", "version": "9", "device": "local",
                                               "metadata": md})
    assert r == {"code": 0, "message": "create success"}
    r = daemon.post("/v2/provider/register", {"name": "copy", "version": "9", "device": "local",
                                               "metadata": md})
    assert r["message"] == "update success"
    # a job on it (components unknown: described by artifact-type at run time)
    job_id, _ = daemon.submit(dag({"a": task(conf={"provider": "copy:9@local"})}))
    assert daemon.wait(job_id) == "success"
    r = daemon.post("/v2/provider/delete", {"provider_name": "copy:9@local"})
    assert r["code"] == 0 and r["data"] is True
    assert daemon.get("/v2/provider/query", name="copy")["data"] == []


def test_python_package_provider(daemon):
    path = os.path.join(ROOT, "tests", "integration", "pyprovider")
    r = daemon.post("/v2/provider/register", {
        "name": "fate", "version": "2.1.0", "device": "local",
        "metadata": {"path": path, "venv": "/usr/bin/python3"}})
    assert r["code"] == 0, r
    d = dag({"a": task("echo", params={"word": "hi"}, conf={"provider": "fate:2.1.0@local"}),
             "b": task("echo", ["a"], params={"word": "there"},
                       conf={"provider": "fate:2.1.0@local"})})
    job_id, _ = daemon.submit(d)
    assert daemon.wait(job_id) == "success", daemon.tasks(job_id)
    r = daemon.get("/v2/log/query", log_type="task_stdout", job_id=job_id, role="guest",
                   party_id="9999", task_name="b")
    text = "\n".join(x["content"] for x in r["data"])
    assert "echo there" in text and "inputs: ['input_data']" in text


def test_worker_metric_save(daemon):
    job_id, _ = daemon.submit(dag({"a": task()}))
    daemon.wait(job_id)
    eid = "%s_a_0_guest_9999" % job_id
    m = [{"name": "loss", "type": "loss", "groups": [{"name": "train", "index": None}],
          "step_axis": "iterations", "data": [{"metric": [0.5], "step": 0}]}]
    r = daemon.post("/v2/worker/metric/save/" + eid, {"data": m})
    assert r["code"] == 0, r
    r = daemon.post("/v2/worker/metric/save", {"execution_id": "nope", "data": m})
    assert r["code"] == 2000
    r = daemon.post("/v2/worker/metric/save/" + eid, {"data": [{"type": "x"}]})
    assert r["code"] == 5008 and "name" in r["message"]
    assert daemon.sql("SELECT COUNT(*) FROM t_metric WHERE f_job_id='%s'" % job_id)[0][0] == 1
