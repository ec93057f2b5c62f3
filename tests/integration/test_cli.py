# SPDX-License-Identifier: Apache-2.0
"""The fedflow CLI against a recording fake server.

Every command is checked for the exact request FATE-Client 2.2's `flow`
puts on the wire (shared/reference/fate-client-wire.md §4): method, path,
query string byte for byte (requests' urlencode), JSON body byte for byte
(json.dumps defaults), multipart layout; then the printed answer
(json.dumps(answer, indent=4, ensure_ascii=False)) and the exit status.

Run: /usr/bin/python3 -m pytest tests/integration/test_cli.py
(binary: $FEDFLOW_BIN or build/src/cli/fedflow).
"""
import hashlib
import io
import json
import os
import re
import socket
import tarfile
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from conftest_cli import REPO, Answer, fake_flow, fedflow  # noqa: F401

SHARED = Path(os.environ.get("FEDFLOW_SHARED") or REPO.parent / "shared")
OK = {"code": 0, "message": "success", "data": {"answer": "ok", "n": 0.1, "ü": "é"}}


def printed(answer):
    return json.dumps(answer, indent=4, ensure_ascii=False) + "\n"


def only_request(fake):
    assert len(fake.requests) == 1, [(r.method, r.path) for r in fake.requests]
    return fake.requests[0]


def assert_get(rec, path, args):
    assert rec.method == "GET"
    assert rec.path == "/v2/" + path
    assert rec.query == urlencode(args)
    assert rec.body == b""
    assert "content-type" not in rec.headers
    assert "content-length" not in rec.headers


def assert_post_json(rec, path, body):
    assert rec.method == "POST"
    assert rec.path == "/v2/" + path
    assert rec.query == ""
    assert rec.headers["content-type"] == "application/json"
    assert rec.body == json.dumps(body).encode()
    assert "transfer-encoding" not in rec.headers
    assert "expect" not in rec.headers


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def targz(members, gz=True):
    """tar(.gz) bytes from {name: bytes} (directories end with '/')."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Request shapes of the plain commands: (argv, method, path, query args or JSON body)

J = "202401011200000000000"
TASK = ["-j", J, "-r", "guest", "-p", "9999", "-tn", "lr_0"]
TASK_ARGS = [("job_id", J), ("role", "guest"), ("party_id", "9999"), ("task_name", "lr_0")]
TASK_BODY = dict(TASK_ARGS)

WIRE = [
    # job
    (["job", "query", "-j", J, "-r", "guest", "-p", "9999", "-s", "running"], "GET", "job/query",
     [("job_id", J), ("role", "guest"), ("party_id", "9999"), ("status", "running")]),
    (["job", "query"], "GET", "job/query", []),
    (["job", "query", "--status=success", "--party-id", "10000"], "GET", "job/query",
     [("party_id", "10000"), ("status", "success")]),
    (["job", "stop", "-j", J], "POST", "job/stop", {"job_id": J}),
    (["job", "rerun", "--job-id", J], "POST", "job/rerun", {"job_id": J}),
    (["job", "list"], "GET", "job/list/query", [("limit", "10")]),
    (["job", "list", "-s", "success", "-l", "30", "-r", "host", "-p", "10000", "-j", J], "GET",
     "job/list/query", [("limit", "30"), ("job_id", J), ("party_id", "10000"), ("role", "host"),
                        ("status", "success")]),
    (["job", "add-notes", "-j", J, "-r", "guest", "-p", "9999", "--notes", "run ü \"1\""],
     "POST", "job/notes/add",
     {"job_id": J, "role": "guest", "party_id": "9999", "notes": "run ü \"1\""}),
    (["job", "clean", "-j", J], "POST", "job/clean", {"job_id": J}),
    (["job", "dependency", "-j", J, "-r", "host", "-p", "10000"], "GET", "job/dag/dependency",
     [("job_id", J), ("role", "host"), ("party_id", "10000")]),
    # task
    (["task", "query", "-j", J, "-r", "guest", "-p", "9999", "-tn", "lr_0", "-s", "running",
      "-tid", "T1", "-tv", "0"], "GET", "job/task/query",
     TASK_ARGS + [("status", "running"), ("task_id", "T1"), ("task_version", "0")]),
    (["task", "list", "-tn", "lr_0", "-j", J], "GET", "job/task/list/query",
     [("limit", "10"), ("job_id", J), ("task_name", "lr_0")]),
    (["task", "list", "--limit", "5", "-r", "local", "-p", "0"], "GET", "job/task/list/query",
     [("limit", "5"), ("role", "local"), ("party_id", "0")]),
    # data
    (["data", "download-component", "-n", "t1", "-ns", "exp", "-o", "/srv/out"], "POST",
     "data/component/download", {"namespace": "exp", "name": "t1", "path": "/srv/out"}),
    # table
    (["table", "query", "-n", "breast", "-ns", "experiment"], "GET", "table/query",
     [("namespace", "experiment"), ("name", "breast")]),
    (["table", "query", "--name", "breast", "--namespace", "experiment", "-d", "True"], "GET",
     "table/query", [("namespace", "experiment"), ("name", "breast"), ("display", "True")]),
    (["table", "bind", "-n", "t", "-ns", "ns", "-o", "/data/dir"], "POST", "table/bind/path",
     {"namespace": "ns", "name": "t", "path": "/data/dir"}),
    (["table", "bind", "-n", "t", "-ns", "ns", "--path", "/data/dir"], "POST", "table/bind/path",
     {"namespace": "ns", "name": "t", "path": "/data/dir"}),
    (["table", "delete", "-ns", "ns", "-n", "t"], "POST", "table/delete",
     {"namespace": "ns", "name": "t"}),
    # output
    (["output", "query-metric-key", *TASK], "GET", "output/metric/key/query", TASK_ARGS),
    (["output", "query-metric", *TASK], "GET", "output/metric/query", TASK_ARGS),
    (["output", "delete-metric", *TASK], "POST", "output/metric/delete", TASK_BODY),
    (["output", "query-model", *TASK], "GET", "output/model/query", TASK_ARGS),
    (["output", "delete-model", *TASK], "POST", "output/model/delete", TASK_BODY),
    (["output", "query-data-table", *TASK], "GET", "output/data/table", TASK_ARGS),
    (["output", "display-data", *TASK], "GET", "output/data/display", TASK_ARGS),
    # model
    (["model", "export", "-mid", "M1", "-mv", "V1", "-p", "9999", "-r", "guest", "-o", "/srv/m"],
     "POST", "model/export", {"role": "guest", "model_id": "M1", "model_version": "V1",
                              "party_id": "9999", "path": "/srv/m"}),
    (["model", "delete", "--model-id", "M1", "--model-version", "V1"], "POST", "model/delete",
     {"model_id": "M1", "model_version": "V1"}),
    (["model", "delete", "-mid", "M1", "-mv", "V1", "-r", "host", "-p", "10000", "-tn", "lr_0",
      "--output-key", "train_output_data"], "POST", "model/delete",
     {"model_id": "M1", "model_version": "V1", "role": "host", "party_id": "10000",
      "task_name": "lr_0", "output_key": "train_output_data"}),
    # provider
    (["provider", "query", "--name", "fate", "--device", "local", "--version", "2.2.0",
      "--provider-name", "fate:2.2.0@local"], "GET", "provider/query",
     [("name", "fate"), ("device", "local"), ("version", "2.2.0"),
      ("provider_name", "fate:2.2.0@local")]),
    (["provider", "query"], "GET", "provider/query", []),
    (["provider", "delete", "-n", "fate", "--version", "2.2.0"], "POST", "provider/delete",
     {"name": "fate", "version": "2.2.0"}),
    # log
    (["log", "count", "--log-type", "schedule_info", "-j", J, "-r", "guest", "-p", "9999"], "GET",
     "log/count", [("log_type", "schedule_info"), ("job_id", J), ("role", "guest"),
                   ("party_id", "9999")]),
    (["log", "query", "-j", J, "--log-type", "task_info", "-r", "guest", "-p", "9999", "-tn",
      "lr_0", "--begin", "1", "--end", "50", "--instance-id", "i1"], "GET", "log/query",
     [("log_type", "task_info"), ("job_id", J), ("role", "guest"), ("party_id", "9999"),
      ("task_name", "lr_0"), ("begin", "1"), ("end", "50"), ("instance_id", "i1")]),
    # site / server
    (["site", "info"], "GET", "site/info/query", []),
    (["site", "query"], "GET", "site/info/query", []),
    (["server", "info"], "GET", "server/fateflow", []),
]


@pytest.mark.parametrize("argv,method,path,expect", WIRE,
                         ids=[" ".join(w[0][:2]) + "-%d" % i for i, w in enumerate(WIRE)])
def test_wire(fake_flow, fedflow, argv, method, path, expect):
    fake_flow.route(method, path, OK)
    r = fedflow(*argv)
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(OK)
    rec = only_request(fake_flow)
    if method == "GET":
        assert_get(rec, path, expect)
    else:
        assert_post_json(rec, path, expect)


def test_clean_queue_posts_no_body(fake_flow, fedflow):
    fake_flow.route("POST", "job/queue/clean", {"code": 0, "message": "success", "data": {}})
    r = fedflow("job", "clean-queue")
    assert r.returncode == 0, r.stderr
    rec = only_request(fake_flow)
    assert (rec.method, rec.path, rec.query, rec.body) == ("POST", "/v2/job/queue/clean", "", b"")
    assert rec.headers["content-length"] == "0"
    assert "content-type" not in rec.headers


def test_query_string_encoding(fake_flow, fedflow):
    fake_flow.route("GET", "job/query", OK)
    r = fedflow("job", "query", "-j", "a b/c&d=e+f~g_h.i-j", "-p", "é9")
    assert r.returncode == 0
    assert only_request(fake_flow).query == "job_id=a+b%2Fc%26d%3De%2Bf~g_h.i-j&party_id=%C3%A99"


def test_output_is_python_json(fake_flow, fedflow):
    answer = {"code": 0, "message": "success",
              "data": [{"f": 0.1, "big": 1e16, "small": 1.5e-05, "int_like": 3.0, "neg": -0.0,
                        "x": 123456.789, "e": 1e-4, "nested": {"a": [], "b": {}, "c": [1, [2]]},
                        "s": "tab\tnl\nquote\" back\\ ctl\x01 del\x7f ü 中 😀",
                        "t": True, "n": None}]}
    fake_flow.route("GET", "job/query", answer)
    r = fedflow("job", "query", "-j", J)
    assert r.returncode == 0
    assert r.stdout == printed(answer)


def test_request_body_is_python_json_dumps(fake_flow, fedflow, tmp_path):
    dag = {"dag": {"conf": {"a": 0.1, "b": 1e-07, "c": [1, 2.5, True, None], "u": "ü 中 😀",
                            "ctl": "\x01\x7f"}}, "schema_version": "2.1.0"}
    p = tmp_path / "dag.json"
    p.write_text(json.dumps(dag, ensure_ascii=False))
    fake_flow.route("POST", "job/submit", OK)
    r = fedflow("job", "submit", "-c", str(p))
    assert r.returncode == 0, r.stderr
    assert_post_json(only_request(fake_flow), "job/submit", {"dag_schema": dag})


# --------------------------------------------------------------------------------------------
# Configuration-file commands


def test_job_submit_yaml_example(fake_flow, fedflow):
    dag_file = SHARED / "examples" / "fate_train_lr.yaml"
    submit = {"code": 0, "message": "success", "job_id": J,
              "data": {"model_id": J, "model_version": "0"}}
    fake_flow.route("POST", "job/submit", submit)
    r = fedflow("job", "submit", "-c", str(dag_file))
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(submit)
    assert_post_json(only_request(fake_flow), "job/submit",
                     {"dag_schema": yaml.safe_load(dag_file.read_text())})


def test_job_submit_yaml_types(fake_flow, fedflow, tmp_path):
    p = tmp_path / "dag.yaml"
    p.write_text("dag:\n  parties:\n  - party_id: [9999]\n    role: guest\n"
                 "  - party_id: ['10000']\n    role: host\n  conf: {lr: 0.15, epochs: 10, "
                 "flag: true, none: null}\nschema_version: 2.0.0\n")
    fake_flow.route("POST", "job/submit", OK)
    assert fedflow("job", "submit", "-c", str(p)).returncode == 0
    assert_post_json(only_request(fake_flow), "job/submit",
                     {"dag_schema": yaml.safe_load(p.read_text())})


def test_job_submit_bad_files(fake_flow, fedflow, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dag: [unclosed\n")
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    for path in (tmp_path / "missing.yaml", bad, lst, tmp_path):
        r = fedflow("job", "submit", "-c", str(path))
        assert r.returncode == 2, (path, r.stdout, r.stderr)
        assert str(path) in r.stderr
    assert fake_flow.requests == []


def test_data_upload_example(fake_flow, fedflow):
    conf = SHARED / "examples" / "fate_upload_guest.json"
    c = json.loads(conf.read_text())
    answer = {"code": 0, "message": "success", "job_id": J,
              "data": {"name": c["name"], "namespace": c["namespace"]}}
    fake_flow.route("POST", "data/component/upload", answer)
    r = fedflow("data", "upload", "-c", str(conf))
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(answer)
    keys = ["file", "head", "partitions", "meta", "namespace", "name", "extend_sid"]
    assert_post_json(only_request(fake_flow), "data/component/upload", {k: c[k] for k in keys})


def test_data_upload_conf_errors(fake_flow, fedflow, tmp_path):
    base = {"file": "a.csv", "head": True, "partitions": 4, "meta": {}}
    cases = [({**base, "bogus": 1}, "bogus"), ({k: v for k, v in base.items() if k != "meta"},
                                               "meta"), ({**base, "name": ""}, "name")]
    for conf, word in cases:
        p = tmp_path / "c.json"
        p.write_text(json.dumps(conf))
        for cmd in ("upload", "upload-file"):
            r = fedflow("data", cmd, "-c", str(p))
            assert r.returncode == 2 and word in r.stderr, (cmd, conf, r.stderr)
    assert fake_flow.requests == []


def test_data_upload_drops_nulls_and_keeps_types(fake_flow, fedflow, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("party_id: 9999\nrole: guest\nname: null\nmeta: {delimiter: ','}\n"
                 "partitions: 16\nhead: true\nfile: /data/x.csv\n")
    fake_flow.route("POST", "data/component/upload", OK)
    assert fedflow("data", "upload", "-c", str(p)).returncode == 0
    assert_post_json(only_request(fake_flow), "data/component/upload",
                     {"file": "/data/x.csv", "head": True, "partitions": 16,
                      "meta": {"delimiter": ","}, "role": "guest", "party_id": 9999})


def test_data_transformer(fake_flow, fedflow, tmp_path):
    fake_flow.route("POST", "data/component/dataframe/transformer", OK)
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"site_name": "s1", "data_warehouse": {"name": "a", "namespace": "b"},
                             "name": "n", "namespace": "ns"}))
    assert fedflow("data", "transformer", "-c", str(p)).returncode == 0
    assert_post_json(only_request(fake_flow), "data/component/dataframe/transformer",
                     {"namespace": "ns", "name": "n",
                      "data_warehouse": {"name": "a", "namespace": "b"}, "drop": True,
                      "site_name": "s1"})
    fake_flow.reset()
    fake_flow.route("POST", "data/component/dataframe/transformer", OK)
    p.write_text(json.dumps({"namespace": "ns", "name": "n", "drop": False,
                             "data_warehouse": {"name": "a", "namespace": "b"}}))
    assert fedflow("data", "transformer", "-c", str(p)).returncode == 0
    assert_post_json(only_request(fake_flow), "data/component/dataframe/transformer",
                     {"namespace": "ns", "name": "n",
                      "data_warehouse": {"name": "a", "namespace": "b"}, "drop": False})


def test_provider_register_example(fake_flow, fedflow):
    conf = SHARED / "examples" / "fate_provider_register.json"
    fake_flow.route("POST", "provider/register", {"code": 0, "message": "create success"})
    r = fedflow("provider", "register", "-c", str(conf))
    assert r.returncode == 0, r.stderr
    assert_post_json(only_request(fake_flow), "provider/register", json.loads(conf.read_text()))


def multipart_expect(boundary, fields, file_name, file_bytes):
    out = b""
    for k, v in fields:
        out += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (
            boundary, k.encode(), v.encode())
    out += (b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n\r\n"
            % (boundary, file_name.encode()))
    return out + file_bytes + b"\r\n--%s--\r\n" % boundary


def multipart_boundary(rec):
    m = re.fullmatch(r"multipart/form-data; boundary=([0-9a-f]{32})", rec.headers["content-type"])
    assert m, rec.headers["content-type"]
    return m.group(1).encode()


def test_data_upload_file_multipart(fake_flow, fedflow, tmp_path):
    csv = tmp_path / "breast guest.csv"
    data = b"id,y,x0\n" + b"".join(b"%d,1,0.5\n" % i for i in range(20000))
    csv.write_bytes(data)
    conf = {"file": str(csv), "head": True, "partitions": 4, "extend_sid": False,
            "meta": {"delimiter": ",", "label_name": "y", "match_id_name": "id"},
            "namespace": "experiment", "name": "breast_ü", "role": "guest", "party_id": "9999"}
    p = tmp_path / "up.json"
    p.write_text(json.dumps(conf, ensure_ascii=False))
    answer = {"code": 0, "message": "success", "job_id": J,
              "data": {"name": "breast_ü", "namespace": "experiment"}}
    fake_flow.route("POST", "data/component/upload/file", answer)
    r = fedflow("data", "upload-file", "-c", str(p))
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(answer)
    rec = only_request(fake_flow)
    assert (rec.method, rec.path, rec.query) == ("POST", "/v2/data/component/upload/file", "")
    b = multipart_boundary(rec)
    fields = [("head", "True"), ("partitions", "4"), ("namespace", "experiment"),
              ("name", "breast_ü"), ("extend_sid", "False"), ("role", "guest"),
              ("party_id", "9999"), ("meta", json.dumps(conf["meta"]))]
    assert rec.body == multipart_expect(b, fields, "breast guest.csv", data)
    assert rec.headers["content-length"] == str(len(rec.body))
    assert "transfer-encoding" not in rec.headers and "expect" not in rec.headers


def test_data_upload_file_missing_file(fake_flow, fedflow, tmp_path):
    p = tmp_path / "up.json"
    p.write_text(json.dumps({"file": str(tmp_path / "nope.csv"), "head": True, "partitions": 4,
                             "meta": {}}))
    r = fedflow("data", "upload-file", "-c", str(p))
    assert r.returncode == 2 and "nope.csv" in r.stderr
    assert fake_flow.requests == []


def test_model_import_multipart(fake_flow, fedflow, tmp_path):
    z = tmp_path / "model.zip"
    z.write_bytes(bytes(range(256)) * 10)
    fake_flow.route("POST", "model/import", OK)
    r = fedflow("model", "import", "-mid", "M1", "-mv", "V1", "-i", str(z))
    assert r.returncode == 0, r.stderr
    rec = only_request(fake_flow)
    b = multipart_boundary(rec)
    assert rec.body == multipart_expect(
        b, [("model_id", "M1"), ("model_version", "V1"), ("path", str(z))], "model.zip",
        z.read_bytes())


# --------------------------------------------------------------------------------------------
# Exit codes, usage errors, server selection


def test_nonzero_code_exits_1(fake_flow, fedflow):
    answer = {"code": 1001, "message": "No found job: job_id[x]"}
    fake_flow.route("GET", "job/query", answer)
    r = fedflow("job", "query", "-j", "x")
    assert r.returncode == 1
    assert r.stdout == printed(answer)


def test_answer_without_code(fake_flow, fedflow):
    # FATE-Flow's /output/data/table answers a bare object (quirk): printed, success
    raw = {"train_output_data": [{"namespace": "ns", "name": "n"}]}
    fake_flow.route("GET", "output/data/table", raw)
    r = fedflow("output", "query-data-table", *TASK)
    assert r.returncode == 0 and r.stdout == printed(raw)
    fake_flow.route("GET", "output/data/table", Answer(raw, status=500))
    assert fedflow("output", "query-data-table", *TASK).returncode == 1


def test_non_json_answer_exits_2(fake_flow, fedflow):
    fake_flow.route("GET", "job/query", Answer(b"<html>404</html>", "text/html", 404))
    r = fedflow("job", "query")
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert out["code"] == 100 and "not JSON" in out["message"]


def test_connection_refused(fedflow):
    url = "http://127.0.0.1:%d" % free_port()
    r = fedflow("job", "query", "-j", "x", env={"FEDFLOW_SERVER": url})
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert out == {"code": 100, "message":
                   "Connection refused, please check that fedflowd is running at " + url}


def test_server_selection(fake_flow, fedflow):
    fake_flow.route("GET", "site/info/query", OK)
    dead = "http://127.0.0.1:%d" % free_port()
    hostport = fake_flow.url[len("http://"):]
    good = [
        (["site", "info"], None),                                        # $FEDFLOW_SERVER
        (["--server", fake_flow.url, "site", "info"], dead),             # before the group
        (["--server=" + fake_flow.url + "/", "site", "info"], dead),     # = form, trailing /
        (["site", "--server", fake_flow.url + "/v2", "info"], dead),     # between, with /v2
        (["site", "info", "--server", hostport], dead),                  # after, no scheme
    ]
    for argv, env in good:
        fake_flow.requests.clear()
        r = fedflow(*argv, env={"FEDFLOW_SERVER": env} if env else None)
        assert r.returncode == 0, (argv, r.stdout, r.stderr)
        assert only_request(fake_flow).path == "/v2/site/info/query"
    # default server when nothing is set: 127.0.0.1:9380 (nothing listens there in tests)
    r = fedflow("site", "info", server=False)
    assert r.returncode == 2 and "http://127.0.0.1:9380" in r.stdout


USAGE = [
    ([], None),
    (["nosuch"], "nosuch"),
    (["job"], "missing command"),
    (["job", "nosuch"], "nosuch"),
    (["job", "stop"], "-j/--job-id"),
    (["job", "stop", "-j"], "needs a value"),
    (["job", "stop", "-j", ""], "must not be empty"),
    (["job", "stop", "-j", "1", "extra"], "extra"),
    (["job", "stop", "-j", "1", "--bogus", "2"], "--bogus"),
    (["job", "query", "-r", "boss"], "boss"),
    (["job", "query", "-s", "done"], "done"),
    (["job", "list", "-l", "ten"], "ten"),
    (["job", "add-notes", "-j", "1", "-r", "guest", "-p", "9"], "--notes"),
    (["job", "submit"], "-c/--conf-path"),
    (["job", "wait"], "-j/--job-id"),
    (["job", "wait", "-j", "1", "--timeout", "x"], "--timeout"),
    (["output", "query-model", "-j", "1", "-r", "guest", "-p", "9"], "-tn/--task-name"),
    (["output", "download-data", *TASK], "-o/--path"),
    (["data", "download", "-n", "a", "-ns", "b"], "-o/--path"),
    (["table", "query", "-n", "a"], "-ns/--namespace"),
    (["model", "export", "-mid", "a", "-mv", "b", "-p", "1", "-r", "guest"], "-o/--path"),
    (["test", "toy", "-gid", "9999"], "-hid/--host-party-id"),
    (["log", "query", "-j", "1"], "--log-type"),
    (["--server"], "--server"),
    (["--nope", "job"], "--nope"),
]


@pytest.mark.parametrize("argv,word", USAGE, ids=[" ".join(u[0]) or "empty" for u in USAGE])
def test_usage_errors(fake_flow, fedflow, argv, word):
    r = fedflow(*argv)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    if word:
        assert word in r.stderr
    assert fake_flow.requests == []


def test_help(fake_flow, fedflow):
    r = fedflow("--help")
    assert r.returncode == 0
    for g in ("job", "task", "data", "table", "output", "model", "provider", "log", "site",
              "server", "test"):
        assert "\n  %s " % g in r.stdout
    r = fedflow("job", "--help")
    assert r.returncode == 0
    for c in ("submit", "query", "stop", "rerun", "list", "add-notes", "download-log",
              "clean-queue", "clean", "dependency", "wait"):
        assert "\n  %s " % c in r.stdout
    r = fedflow("task", "query", "--help")
    assert r.returncode == 0
    for f in ("--job-id", "-tn, --task-name", "-tid, --task-id", "-tv, --task-version"):
        assert f in r.stdout
    r = fedflow("job", "stop", "-j", "1", "-h")
    assert r.returncode == 0 and "--job-id" in r.stdout
    assert fedflow("--version").stdout.startswith("fedflow ")
    assert fake_flow.requests == []


def check_signature(rec, app_id, token, user=""):
    h = dict(rec.raw_headers)
    assert h["appId"] == app_id and h["userName"] == user
    assert re.fullmatch(r"[1-9][0-9]{3}", h["Nonce"])
    assert h["Timestamp"].endswith("000") and abs(int(h["Timestamp"]) / 1000 - time.time()) < 30
    inner = hashlib.md5((app_id + user + h["Nonce"] + h["Timestamp"]).encode()).hexdigest()
    assert h["Signature"] == hashlib.md5((inner + token).encode()).hexdigest()


def test_client_signature(fake_flow, fedflow, tmp_path):
    env = {"FEDFLOW_APP_ID": "myapp", "FEDFLOW_APP_TOKEN": "mytoken"}
    fake_flow.route("GET", "job/query", OK)
    fake_flow.route("POST", "job/stop", OK)
    fake_flow.route("POST", "model/import", OK)
    fake_flow.route("POST", "job/log/download", Answer(targz({"a": b"1"}), "application/gzip"))
    z = tmp_path / "m.zip"
    z.write_bytes(b"zip")
    for argv in (["job", "query"], ["job", "stop", "-j", J],
                 ["model", "import", "-mid", "a", "-mv", "b", "-i", str(z)],
                 ["job", "download-log", "-j", J, "-o", str(tmp_path)]):
        assert fedflow(*argv, env=env).returncode == 0, argv
    assert len(fake_flow.requests) == 4
    for rec in fake_flow.requests:
        check_signature(rec, "myapp", "mytoken")
    fake_flow.requests.clear()
    assert fedflow("job", "query", env={**env, "FEDFLOW_USER_NAME": "alice"}).returncode == 0
    check_signature(only_request(fake_flow), "myapp", "mytoken", "alice")
    # without both variables nothing is signed
    fake_flow.requests.clear()
    assert fedflow("job", "query", env={"FEDFLOW_APP_ID": "myapp"}).returncode == 0
    assert not {"appid", "signature", "nonce"} & set(only_request(fake_flow).headers)


# --------------------------------------------------------------------------------------------
# job wait


def jobs(*rows):
    return {"code": 0, "message": "success",
            "data": [{"job_id": J, "role": r, "party_id": p, "status": s, "progress": pr}
                     for r, p, s, pr in rows]}


def test_job_wait_success(fake_flow, fedflow):
    final = jobs(("guest", "9999", "success", 100))
    fake_flow.route("GET", "job/query", jobs(("guest", "9999", "waiting", 0)),
                    jobs(("guest", "9999", "running", 40)), final)
    fake_flow.route("GET", "job/task/query",
                    {"code": 0, "message": "success",
                     "data": [{"task_name": "psi_0"}, {"task_name": "psi_0"},
                              {"task_name": "reader_1"}]})
    t0 = time.monotonic()
    r = fedflow("job", "wait", "-j", J)
    assert time.monotonic() - t0 < 3
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(final)
    assert "waiting" in r.stderr
    assert "running, progress 40%, running tasks: psi_0, reader_1" in r.stderr
    assert "success" in r.stderr
    polls = [x for x in fake_flow.requests if x.path == "/v2/job/query"]
    assert len(polls) == 3 and all(p.args == [("job_id", J)] for p in polls)
    tq = [x for x in fake_flow.requests if x.path == "/v2/job/task/query"]
    assert tq and tq[0].args == [("job_id", J), ("status", "running")]


def test_job_wait_failed_and_filters(fake_flow, fedflow):
    fake_flow.route("GET", "job/query", jobs(("guest", "9999", "running", 10)),
                    jobs(("guest", "9999", "failed", 50)))
    fake_flow.route("GET", "job/task/query", {"code": 2000, "message": "no found task"})
    r = fedflow("job", "wait", "-j", J, "-r", "guest", "-p", "9999")
    assert r.returncode == 1
    assert json.loads(r.stdout)["data"][0]["status"] == "failed"
    assert fake_flow.requests[0].args == [("job_id", J), ("role", "guest"), ("party_id", "9999")]


def test_job_wait_all_rows(fake_flow, fedflow):
    # standalone: one row per party; ended only when every row has
    fake_flow.route("GET", "job/query",
                    jobs(("guest", "9999", "success", 100), ("host", "10000", "running", 90)),
                    jobs(("guest", "9999", "success", 100), ("host", "10000", "success", 100)))
    fake_flow.route("GET", "job/task/query", {"code": 0, "message": "success", "data": []})
    r = fedflow("job", "wait", "-j", J)
    assert r.returncode == 0
    assert len([x for x in fake_flow.requests if x.path == "/v2/job/query"]) == 2
    fake_flow.reset()
    fake_flow.route("GET", "job/query",
                    jobs(("guest", "9999", "success", 100), ("host", "10000", "canceled", 90)))
    r = fedflow("job", "wait", "-j", J)
    assert r.returncode == 1 and "canceled" in r.stderr


def test_job_wait_timeout(fake_flow, fedflow):
    fake_flow.route("GET", "job/query", jobs(("guest", "9999", "running", 10)))
    fake_flow.route("GET", "job/task/query", {"code": 0, "message": "success", "data": []})
    t0 = time.monotonic()
    r = fedflow("job", "wait", "-j", J, "--timeout", "1")
    elapsed = time.monotonic() - t0
    assert r.returncode == 2
    assert 0.9 < elapsed < 3
    assert "still running" in r.stderr
    assert json.loads(r.stdout)["data"][0]["status"] == "running"
    assert not [x for x in fake_flow.requests if x.method == "POST"]   # wait never stops a job


def test_job_wait_not_found_and_refused(fake_flow, fedflow):
    fake_flow.route("GET", "job/query", {"code": 1001, "message": "No found job"})
    r = fedflow("job", "wait", "-j", J)
    assert r.returncode == 1 and json.loads(r.stdout)["code"] == 1001
    dead = "http://127.0.0.1:%d" % free_port()
    r = fedflow("job", "wait", "-j", J, env={"FEDFLOW_SERVER": dead})
    assert r.returncode == 2 and "Connection refused" in r.stdout


def test_job_submit_wait(fake_flow, fedflow, tmp_path):
    p = tmp_path / "dag.yaml"
    p.write_text("dag: {stage: train}\nschema_version: 2.2.0\n")
    fake_flow.route("POST", "job/submit", {"code": 0, "message": "success", "job_id": J,
                                           "data": {"model_id": J, "model_version": "0"}})
    final = jobs(("guest", "9999", "success", 100))
    fake_flow.route("GET", "job/query", jobs(("guest", "9999", "waiting", 0)), final)
    r = fedflow("job", "submit", "-c", str(p), "--wait", "--timeout", "20")
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(final)
    assert J in r.stderr
    # refused submit: the answer is printed, no polling
    fake_flow.reset()
    refused = {"code": 1002, "message": "create job failed", "job_id": J}
    fake_flow.route("POST", "job/submit", refused)
    r = fedflow("job", "submit", "-c", str(p), "--wait")
    assert r.returncode == 1 and r.stdout == printed(refused)
    assert len(fake_flow.requests) == 1


# --------------------------------------------------------------------------------------------
# Downloads


def download_ok(directory):
    return printed({"code": 0, "directory": directory,
                    "message": "download success, please check the path: %s" % directory})


def test_job_download_log(fake_flow, fedflow, tmp_path):
    tgz = targz({"./": b"", "fate_flow_schedule.log": b"sched\n",
                 "guest/9999/INFO": b"info line\n"})
    fake_flow.route("POST", "job/log/download", Answer(tgz, "application/gzip"))
    out = str(tmp_path / "logs")
    r = fedflow("job", "download-log", "-j", J, "-o", out)
    assert r.returncode == 0, r.stderr
    target = "%s/%s_logs" % (out, J)
    assert r.stdout == download_ok(target)
    assert_post_json(only_request(fake_flow), "job/log/download", {"job_id": J})
    assert (tmp_path / "logs" / (J + "_logs") / "fate_flow_schedule.log").read_bytes() == b"sched\n"
    assert (tmp_path / "logs" / (J + "_logs") / "guest/9999/INFO").read_bytes() == b"info line\n"


def test_data_download(fake_flow, fedflow, tmp_path):
    tgz = targz({"data/0.csv": b"id,y\n1,0\n", "data/0.meta": b'{"header": ["id", "y"]}'})
    fake_flow.route("GET", "data/download", Answer(tgz, "application/gzip"))
    out = str(tmp_path / "d")
    r = fedflow("data", "download", "-n", "t", "-ns", "ns", "-o", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout == download_ok(out)
    assert_get(only_request(fake_flow), "data/download",
               [("namespace", "ns"), ("name", "t"), ("path", out)])
    assert (tmp_path / "d" / "data" / "0.csv").read_bytes() == b"id,y\n1,0\n"


def test_output_download_model_plain_tar(fake_flow, fedflow, tmp_path):
    tar = targz({"output_model/": b"", "output_model/model.json": b'{"w": [1]}'}, gz=False)
    fake_flow.route("GET", "output/model/download", Answer(tar, "application/x-tar"))
    r = fedflow("output", "download-model", *TASK, "--output-path", str(tmp_path))
    assert r.returncode == 0, r.stderr
    target = "%s/output_model_%s_guest_9999_lr_0" % (tmp_path, J)
    assert r.stdout == download_ok(target)
    assert_get(only_request(fake_flow), "output/model/download",
               TASK_ARGS + [("path", str(tmp_path))])
    assert (tmp_path / target / "output_model" / "model.json").read_bytes() == b'{"w": [1]}'


def test_output_download_data_layout(fake_flow, fedflow, tmp_path):
    big = b"".join(b"%d,%f\n" % (i, i / 7) for i in range(200000))   # several MB
    tgz = targz({"train_output_data/0.csv": big, "train_output_data/0.meta": b"{}"})
    fake_flow.route("GET", "output/data/download", Answer(tgz, "application/gzip"))
    r = fedflow("output", "download-data", *TASK, "-o", str(tmp_path) + "/")
    assert r.returncode == 0, r.stderr
    d = tmp_path / ("output_data_%s_guest_9999_lr_0" % J)
    assert [p.name for p in d.iterdir()] == ["train_output_data"]
    assert (d / "train_output_data" / "0.csv").read_bytes() == big


def test_download_json_answers(fake_flow, fedflow, tmp_path):
    err = {"code": 7001, "message": "No found table"}
    fake_flow.route("GET", "data/download", Answer(err, "application/json"))
    r = fedflow("data", "download", "-n", "t", "-ns", "ns", "-o", str(tmp_path / "x"))
    assert r.returncode == 1 and r.stdout == printed(err)
    assert not (tmp_path / "x").exists()
    # a JSON answer with a charset (FATE's client would mis-handle it) is still an answer
    fake_flow.route("GET", "data/download", Answer(err, "application/json; charset=utf-8"))
    r = fedflow("data", "download", "-n", "t", "-ns", "ns", "-o", str(tmp_path / "x"))
    assert r.returncode == 1 and r.stdout == printed(err)
    fake_flow.route("GET", "data/download", Answer({"code": 0, "message": "ok"}, "text/plain"))
    r = fedflow("data", "download", "-n", "t", "-ns", "ns", "-o", str(tmp_path / "x"))
    assert r.returncode == 0
    assert not (tmp_path / "x").exists()


def test_download_garbage_and_unsafe(fake_flow, fedflow, tmp_path):
    fake_flow.route("GET", "data/download", Answer(b"\x00\x01garbage", "application/octet-stream"))
    r = fedflow("data", "download", "-n", "t", "-ns", "ns", "-o", str(tmp_path / "g"))
    assert r.returncode == 2 and json.loads(r.stdout)["code"] == 100
    assert not (tmp_path / "g").exists()
    for evil in ("../evil.txt", "/tmp/fedflow-evil-%d.txt" % time.time_ns(), "a/../../evil.txt"):
        tgz = targz({"ok.txt": b"ok", evil: b"evil"})
        fake_flow.route("GET", "data/download", Answer(tgz, "application/gzip"))
        out = tmp_path / "sub" / "dir"
        r = fedflow("data", "download", "-n", "t", "-ns", "ns", "-o", str(out))
        assert r.returncode == 1, (evil, r.stdout)
        assert json.loads(r.stdout)["code"] == 100 and "unsafe" in r.stdout
        assert not (tmp_path / "sub" / "evil.txt").exists()
        assert not (tmp_path / "evil.txt").exists()
        if evil.startswith("/"):
            assert not __import__("os").path.exists(evil)


def test_download_skips_links(fake_flow, fedflow, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        link = tarfile.TarInfo("escape")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path)
        t.addfile(link)
        f = tarfile.TarInfo("escape/owned.txt")
        f.size = 2
        t.addfile(f, io.BytesIO(b"no"))
        hard = tarfile.TarInfo("hard.txt")
        hard.type, hard.linkname = tarfile.LNKTYPE, str(tmp_path / "victim.txt")
        t.addfile(hard)
        g = tarfile.TarInfo("real.txt")
        g.size = 3
        t.addfile(g, io.BytesIO(b"yes"))
    (tmp_path / "victim.txt").write_bytes(b"safe")
    fake_flow.route("GET", "data/download", Answer(buf.getvalue(), "application/gzip"))
    out = tmp_path / "out"
    r = fedflow("data", "download", "-n", "t", "-ns", "ns", "-o", str(out))
    assert r.returncode == 0, r.stdout
    assert "skipping" in r.stderr
    assert (out / "real.txt").read_bytes() == b"yes"
    assert not (out / "escape").is_symlink()
    assert not (tmp_path / "owned.txt").exists()
    assert not (out / "hard.txt").exists()
    assert (tmp_path / "victim.txt").stat().st_nlink == 1


def test_download_refused(fedflow, tmp_path):
    dead = "http://127.0.0.1:%d" % free_port()
    r = fedflow("job", "download-log", "-j", J, "-o", str(tmp_path), env={"FEDFLOW_SERVER": dead})
    assert r.returncode == 2 and "Connection refused" in r.stdout


# --------------------------------------------------------------------------------------------
# test toy


TOY_DAG = {"dag_schema": {"dag": {"parties": [{"party_id": ["9999"], "role": "guest"},
                                              {"party_id": ["10000"], "role": "host"}],
                                  "stage": "default",
                                  "tasks": {"toy_example_0": {"component_ref": "toy_example",
                                                              "parameters": {"data_num": 1024,
                                                                             "partition": 4}}}},
                          "schema_version": "2.0.0.alpha"}}


def test_toy_success(fake_flow, fedflow):
    fake_flow.route("POST", "job/submit", {"code": 0, "message": "success", "job_id": J,
                                           "data": {"model_id": J, "model_version": "0"}})
    fake_flow.route("GET", "site/info/query", {"code": 3000, "message": "standalone"})
    fake_flow.route("GET", "job/query", jobs(("guest", "9999", "running", 0)),
                    jobs(("guest", "9999", "success", 100)))
    r = fedflow("test", "toy", "-gid", "9999", "-hid", "10000")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "toy test job %s is running\ntoy test job %s is success\n" % (J, J)
    assert_post_json(fake_flow.requests[0], "job/submit", TOY_DAG)
    polls = [x for x in fake_flow.requests if x.path == "/v2/job/query"]
    assert [p.args for p in polls] == [[("job_id", J), ("party_id", "9999")]] * 2
    assert len([x for x in fake_flow.requests if x.path == "/v2/site/info/query"]) == 2


def test_toy_failed_uses_site_party(fake_flow, fedflow):
    fake_flow.route("POST", "job/submit", {"code": 0, "message": "success", "job_id": J})
    fake_flow.route("GET", "site/info/query", {"code": 0, "message": "success",
                                               "data": {"party_id": 9999}})
    fake_flow.route("GET", "job/query", jobs(("guest", "9999", "failed", 0)))
    r = fedflow("test", "toy", "--guest-party-id", "1", "--host-party-id", "2")
    assert r.returncode == 1
    assert r.stdout == "toy test job %s is failed\n" % J
    assert [x for x in fake_flow.requests if x.path == "/v2/job/query"][0].args == \
        [("job_id", J), ("party_id", "9999")]


def test_toy_timeout_stops_job(fake_flow, fedflow):
    fake_flow.route("POST", "job/submit", {"code": 0, "message": "success", "job_id": J})
    fake_flow.route("GET", "site/info/query", {"code": 3000, "message": "standalone"})
    fake_flow.route("GET", "job/query", jobs(("guest", "9999", "running", 0)))
    fake_flow.route("POST", "job/stop", {"code": 0, "message": "success"})
    r = fedflow("test", "toy", "-gid", "9999", "-hid", "10000", "-t", "2")
    assert r.returncode == 2
    assert "check job status timeout" in r.stdout
    stops = [x for x in fake_flow.requests if x.path == "/v2/job/stop"]
    assert len(stops) == 1 and stops[0].json() == {"job_id": J}
    assert len([x for x in fake_flow.requests if x.path == "/v2/job/query"]) == 2


def test_toy_submit_refused(fake_flow, fedflow):
    refused = {"code": 104, "message": "Federated schedule error"}
    fake_flow.route("POST", "job/submit", refused)
    r = fedflow("test", "toy", "-gid", "9999", "-hid", "10000")
    assert r.returncode == 1 and r.stdout == printed(refused)
    assert len(fake_flow.requests) == 1
