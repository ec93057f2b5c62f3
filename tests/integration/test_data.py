# SPDX-License-Identifier: Apache-2.0
"""Issue 4, data: upload (server path, multipart, CLI), table query/bind/delete,
reader -> noop outputs, downloads, and every bad input."""
import csv
import json
import os
import random
import threading
import time

import pytest
import requests

from conftest import FULL, dag, task
from datahelp import (DATA, GUEST_CONF, GUEST_CSV, HOST_CONF, HOST_CSV, cli, get_raw, read,
                      reader_dag, table, tgz_members, upload, upload_file)


def header(path):
    with open(path) as f:
        return next(csv.reader(f))


def rows(path):
    with open(path) as f:
        return list(csv.reader(f))[1:]


@pytest.fixture(scope="module")
def loaded(daemon):
    """The breast tables uploaded both ways: guest by server path, host multipart."""
    upload(daemon, GUEST_CONF)
    upload_file(daemon, HOST_CONF)
    return daemon


def test_upload_both_ways_and_query(loaded):
    d = loaded
    for conf, path, label in ((GUEST_CONF, GUEST_CSV, "y"), (HOST_CONF, HOST_CSV, None)):
        r = table(d, conf["namespace"], conf["name"])
        assert r["code"] == 0, r
        t = r["data"]
        assert t["count"] == 569
        assert t["engine"] == "standalone" and t["data_type"] == "dataframe"
        assert t["path"] == "standalone://%s/data/experiment/%s" % (d.home, conf["name"])
        names = [c for c in header(path) if c not in ("id", "y")]
        assert t["meta"]["feature_names"] == names
        assert t["meta"]["match_id_name"] == "id"
        assert t["meta"]["label_name"] == label
        assert t["meta"]["header"] == header(path)
        assert t["meta"]["sample_id_name"] == "sid"  # extend_sid
        assert t["partitions"] == 4
        assert t["source"]["component"] == "upload"
        assert "display" not in t
    # display=true: the first rows, as field lists
    t = table(d, "experiment", "breast_hetero_guest", display="true")["data"]
    assert t["display"][:100] == rows(GUEST_CSV)[:100]
    # the upload job is a local job: role local, party 0
    jobs = d.sql("SELECT f_role, f_party_id, f_status FROM t_job WHERE f_job_id IN (SELECT"
                 " f_job_id FROM t_task WHERE f_component = 'upload')")
    assert jobs and all(j == ("local", "0", "success") for j in jobs)
    # the multipart file does not linger in temps
    assert os.listdir(os.path.join(d.home, "temps")) == []


def test_upload_metric_and_nameless_upload(loaded):
    d = loaded
    conf = dict(GUEST_CONF, extend_sid=False)
    conf.pop("namespace")
    conf.pop("name")
    r = d.post("/v2/data/component/upload", conf)
    assert r["code"] == 0 and r["data"]["namespace"] == "upload", r
    assert len(r["data"]["name"]) == 36  # uuid1, dashed
    assert d.wait(r["job_id"]) == "success"
    assert table(d, "upload", r["data"]["name"])["data"]["count"] == 569
    m = d.get("/v2/output/metric/query", job_id=r["job_id"], role="local", party_id="0",
              task_name="upload_0")
    assert m["code"] == 0
    assert m["data"][0]["name"] == "upload"
    assert m["data"][0]["data"] == {"name": r["data"]["name"], "namespace": "upload",
                                    "count": 569}


def test_upload_with_cli(daemon, tmp_path):
    for cmd, name in (("upload", "cli_path"), ("upload-file", "cli_multipart")):
        conf = dict(GUEST_CONF, name=name, namespace="cli")
        path = tmp_path / (name + ".json")
        path.write_text(json.dumps(conf))
        r = cli(daemon, "data", cmd, "-c", str(path))
        assert r["code"] == 0 and r["data"] == {"name": name, "namespace": "cli"}, r
        assert daemon.wait(r["job_id"]) == "success"
        q = cli(daemon, "table", "query", "-ns", "cli", "-n", name)
        assert q["data"]["count"] == 569
    out = tmp_path / "dl"
    r = cli(daemon, "data", "download", "-ns", "cli", "-n", "cli_multipart", "-o", str(out))
    assert r["code"] == 0, r
    got = (out / "data" / "0.csv").read_bytes().decode().splitlines()
    src = read(GUEST_CSV).decode().splitlines()
    assert got[0] == "sid," + src[0]
    assert [line.split(",", 1)[1] for line in got[1:]] == src[1:]
    r = cli(daemon, "table", "delete", "-ns", "cli", "-n", "cli_path")
    assert r["code"] == 0
    assert cli(daemon, "table", "query", "-ns", "cli", "-n", "cli_path")["code"] == 7001


def test_reader_noop_display_and_download(loaded):
    d = loaded
    job_id, _ = d.submit(reader_dag())
    assert d.wait(job_id) == "success", d.tasks(job_id)
    for role, pid, path in (("guest", "9999", GUEST_CSV), ("host", "9998", HOST_CSV)):
        key = dict(job_id=job_id, role=role, party_id=pid, task_name="noop_0")
        name = os.path.basename(path)[:-4]
        # data/table: FATE's bare object
        r = requests.get(d.url + "/v2/output/data/table", params=key).json()
        assert r == {"output_data": [{"namespace": "experiment", "name": name}]}
        # display: first 100 rows, field by field, with metadata and total
        r = requests.get(d.url + "/v2/output/data/display", params=key).json()
        shown = r["output_data"][0]
        assert shown["total"] == 569
        assert shown["data"] == rows(path)[:100]
        assert shown["metadata"]["header"] == header(path)
        # download: <output_key>/<index>.csv is the source file byte for byte
        resp = get_raw(d, "/v2/output/data/download", **key)
        assert resp.headers["Content-Type"] == "application/gzip"
        files = tgz_members(resp.content)
        assert sorted(files) == ["output_data/0.csv", "output_data/0.meta"]
        assert files["output_data/0.csv"] == read(path)
        assert json.loads(files["output_data/0.meta"]) == {"header": header(path)}
        # the reader output too
        r = requests.get(d.url + "/v2/output/data/table",
                         params=dict(key, task_name="reader_0")).json()
        assert r["output_data"][0]["name"] == name


def test_output_download_with_cli(loaded, tmp_path):
    d = loaded
    job_id, _ = d.submit(reader_dag())
    assert d.wait(job_id) == "success"
    r = cli(d, "output", "download-data", "-j", job_id, "-r", "guest", "-p", "9999",
            "-tn", "noop_0", "-o", str(tmp_path))
    assert r["code"] == 0, r
    out = tmp_path / ("output_data_%s_guest_9999_noop_0" % job_id) / "output_data" / "0.csv"
    assert out.read_bytes() == read(GUEST_CSV)


def test_data_download_tgz(loaded, tmp_path):
    d = loaded
    # a table without a generated sample id downloads as its source file
    conf = dict(GUEST_CONF, name="plain", extend_sid=False)
    upload(d, conf)
    resp = get_raw(d, "/v2/data/download", namespace="experiment", name="plain")
    assert resp.headers["Content-Type"] == "application/gzip"
    assert "download_data_experiment_plain.tar.gz" in resp.headers["Content-Disposition"]
    files = tgz_members(resp.content)
    assert sorted(files) == ["data/0.csv", "data/0.meta"]
    assert files["data/0.csv"] == read(GUEST_CSV)
    assert json.loads(files["data/0.meta"]) == {"header": header(GUEST_CSV)}
    # extend_sid: FATE's table download puts the generated id first
    files = tgz_members(get_raw(d, "/v2/data/download", namespace="experiment",
                                name="breast_hetero_guest").content)
    lines = files["data/0.csv"].decode().splitlines()
    assert lines[0] == "sid," + ",".join(header(GUEST_CSV))
    sids = [x.split(",", 1)[0] for x in lines[1:]]
    assert len(set(sids)) == 569 and all(len(s) > 32 for s in sids)
    assert [x.split(",", 1)[1] for x in lines[1:]] == read(GUEST_CSV).decode().splitlines()[1:]
    # missing table: JSON, exactly application/json
    resp = get_raw(d, "/v2/data/download", namespace="experiment", name="nope")
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json()["code"] == 7001


def test_download_component(loaded, tmp_path):
    d = loaded
    out = str(tmp_path / "server_side")
    r = d.post("/v2/data/component/download", {"namespace": "experiment",
                                                "name": "breast_hetero_host", "path": out})
    assert r["code"] == 0, r
    assert r["data"] == {"name": "breast_hetero_host", "namespace": "experiment", "path": out}
    assert d.wait(r["job_id"]) == "success", d.tasks(r["job_id"])
    lines = read(os.path.join(out, "data", "0.csv")).decode().splitlines()
    assert [x.split(",", 1)[1] for x in lines[1:]] == read(HOST_CSV).decode().splitlines()[1:]
    meta = json.loads(read(os.path.join(out, "data", "0.meta")))
    assert meta["header"] == ["sid"] + header(HOST_CSV)
    r = d.post("/v2/data/component/download", {"namespace": "experiment", "name": "nope",
                                                "path": out})
    assert r["code"] == 7001


def test_table_bind_and_delete(loaded, tmp_path):
    d = loaded
    r = d.post("/v2/table/bind/path", {"namespace": "bound", "name": "dir1",
                                       "path": str(tmp_path)})
    assert r["code"] == 0, r
    t = table(d, "bound", "dir1")["data"]
    assert t["engine"] == "path" and t["data_type"] == "data_directory"
    assert t["path"] == "file://" + str(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    assert d.post("/v2/table/delete", {"namespace": "bound", "name": "dir1"})["code"] == 0
    assert (tmp_path / "keep.txt").exists()  # a bound path is never deleted
    assert table(d, "bound", "dir1")["code"] == 7001
    # delete an uploaded table: meta and folder go
    conf = dict(GUEST_CONF, name="to_delete")
    upload(d, conf)
    folder = os.path.join(d.home, "data", "experiment", "to_delete")
    assert os.path.isdir(folder)
    r = d.post("/v2/table/delete", {"namespace": "experiment", "name": "to_delete"})
    assert r["code"] == 0 and r["data"] == {"name": "to_delete", "namespace": "experiment"}
    assert not os.path.exists(folder)
    assert table(d, "experiment", "to_delete")["code"] == 7001
    assert d.post("/v2/table/delete", {"namespace": "experiment",
                                       "name": "to_delete"})["code"] == 7001


def test_existing_table_7002_unless_drop(loaded):
    d = loaded
    conf = dict(GUEST_CONF, name="twice", extend_sid=False)
    upload(d, conf)
    r = d.post("/v2/data/component/upload", conf)
    assert r["code"] == 7002 and "twice" in r["message"], r
    r = requests.post(d.url + "/v2/data/component/upload/file", data=dict(
        {k: str(v) for k, v in conf.items() if k not in ("file", "meta")},
        meta=json.dumps(conf["meta"])), files={"file": ("x.csv", read(HOST_CSV))}).json()
    assert r["code"] == 7002, r
    assert os.listdir(os.path.join(d.home, "temps")) == []
    # drop=true replaces it: the host file has 20 features
    upload(d, dict(conf, file=HOST_CSV, meta={"match_id_name": "id"}, drop=True))
    t = table(d, "experiment", "twice")["data"]
    assert len(t["meta"]["feature_names"]) == 20 and t["meta"]["label_name"] is None


def test_reader_missing_table_fails_clearly(loaded):
    d = loaded
    job_id, _ = d.submit(reader_dag(guest=("experiment", "no_such_table")))
    assert d.wait(job_id) == "failed"
    t = d.tasks(job_id, task_name="reader_0", role="guest")[0]
    assert "no_such_table" in t["error_report"] and "does not exist" in t["error_report"], t


# ---- bad CSV input: the job fails naming file, line and column; no table ----

GOOD = "id,y,x0,x1\n1,0,0.5,1.5\n2,1,0.25,2.5\n3,0,0.75,3.5\n"
BAD = [
    ("wrong column count", "id,y,x0,x1\n1,0,0.5,1.5\n2,1,0.25\n", {"label_name": "y"},
     ["line 3"]),
    ("non-numeric feature", "id,y,x0,x1\n1,0,0.5,1.5\n2,1,abc,2.5\n", {"label_name": "y"},
     ["'abc'", "line 3", "column 3", "'x0'"]),
    ("missing label column", GOOD, {"label_name": "label"}, ["label"]),
    ("empty file", "", {"label_name": "y"}, ["empty"]),
    ("duplicated match ids", "id,y,x0,x1\n1,0,0.5,1.5\n2,1,0.25,2.5\n1,0,0.5,0.5\n",
     {"label_name": "y", "match_id_name": "id"}, ["duplicate id '1'", "line 4"]),
]


@pytest.mark.parametrize("how", ["path", "multipart"])
@pytest.mark.parametrize("label,text,meta,words", BAD, ids=[b[0] for b in BAD])
def test_bad_csv(daemon, tmp_path, how, label, text, meta, words):
    d = daemon
    path = tmp_path / "bad_input.csv"
    path.write_text(text)
    name = "bad_%s_%s" % (how, label.replace(" ", "_"))
    conf = {"file": str(path), "head": True, "partitions": 2, "meta": meta,
            "namespace": "bad", "name": name}
    if how == "path":
        job_id, _ = upload(d, conf, expect="failed")
    else:
        job_id, _ = upload_file(d, conf, expect="failed")
    err = d.tasks(job_id)[0]["error_report"]
    assert "bad_input.csv" in err, err
    for w in words:
        assert w in err, (w, err)
    assert table(d, "bad", name)["code"] == 7001
    ns_dir = os.path.join(d.home, "data", "bad")
    assert not os.path.exists(ns_dir) or os.listdir(ns_dir) == []  # nothing half written
    assert os.listdir(os.path.join(d.home, "temps")) == []


def test_failed_replace_keeps_old_table(daemon, tmp_path):
    d = daemon
    conf = dict(GUEST_CONF, name="kept", namespace="keep", extend_sid=False)
    upload(d, conf)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,y,x0\n1,0,zz\n")
    upload(d, dict(conf, file=str(bad), drop=True), expect="failed")
    files = tgz_members(get_raw(d, "/v2/data/download", namespace="keep", name="kept").content)
    assert files["data/0.csv"] == read(GUEST_CSV)
    assert table(d, "keep", "kept")["data"]["count"] == 569


# ---- refused requests ----

PATHS = ["..", "a/b", "../../etc", ".hidden", "x\u0000y", "", "a\nb"]


@pytest.mark.parametrize("bad", PATHS, ids=repr)
def test_path_tricks_refused(daemon, bad):
    d = daemon
    conf = dict(GUEST_CONF, namespace=bad, name="t")
    for c in (conf, dict(GUEST_CONF, name=bad)):
        r = d.post("/v2/data/component/upload", c)
        if bad == "":
            continue  # an empty pair asks for a generated name; a half-empty one is refused
        assert r["code"] == 5001, (c, r)
    for path, body in (("/v2/table/delete", {"namespace": bad, "name": "x"}),
                       ("/v2/table/bind/path", {"namespace": "x", "name": bad, "path": "/tmp"}),
                       ("/v2/data/component/download", {"namespace": bad, "name": "x",
                                                        "path": "/tmp/x"})):
        assert d.post(path, body)["code"] == 5001, (path, body)
    r = requests.post(d.url + "/v2/data/component/upload/file",
                      data={"head": "True", "partitions": "1", "meta": "{}", "namespace": bad,
                            "name": "t"}, files={"file": ("a.csv", b"id,x\n1,2\n")}).json()
    assert r["code"] == 5001 or (bad == "" and r["code"] == 0), r
    assert not any(n.startswith(".") or n == "t" for n in os.listdir(os.path.join(d.home, "data")))


def test_upload_request_errors(daemon, tmp_path):
    d = daemon
    r = d.post("/v2/data/component/upload", dict(GUEST_CONF, file="/no/such/file.csv",
                                                  name="x1"))
    assert r["code"] == 8001 and "/no/such/file.csv" in r["message"], r
    r = d.post("/v2/data/component/upload", {"head": True, "partitions": 1, "meta": {}})
    assert r["code"] == 5001 and "file" in r["message"]
    r = d.post("/v2/data/component/upload", dict(GUEST_CONF, partitions=0, name="x2"))
    assert r["code"] == 5001 and "partitions" in r["message"]
    r = d.post("/v2/data/component/upload", dict(GUEST_CONF, meta={"input_format": "sparse"},
                                                 name="x3"))
    assert r["code"] == 5001 and "sparse" in r["message"]
    # multipart without a file part, and a body that is not multipart: 5007
    r = requests.post(d.url + "/v2/data/component/upload/file",
                      files={"head": (None, "True"), "partitions": (None, "1"),
                             "meta": (None, "{}")}).json()
    assert r["code"] == 5007, r
    r = requests.post(d.url + "/v2/data/component/upload/file", json={"head": True}).json()
    assert r["code"] == 5007, r
    r = requests.post(d.url + "/v2/data/component/upload/file").json()
    assert r["code"] == 5007, r
    # a truncated multipart body
    body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nid"
    r = requests.post(d.url + "/v2/data/component/upload/file", data=body,
                      headers={"Content-Type": "multipart/form-data; boundary=XyZ"}).json()
    assert r["code"] == 5001 and "closing boundary" in r["message"], r
    r = requests.post(d.url + "/v2/data/component/upload/file",
                      data={"head": "maybe", "partitions": "1", "meta": "{}"},
                      files={"file": ("a.csv", b"id,x\n1,2\n")}).json()
    assert r["code"] == 5001 and "head" in r["message"], r
    assert os.listdir(os.path.join(d.home, "temps")) == []
    assert table(d, "x", "y")["code"] == 7001
    assert d.get("/v2/table/query", namespace="x")["code"] == 5001


# ---- 1 GB in bounded memory (FEDFLOW_FULL=1) ----

def rss_watch(pids_fn, stop, peaks):
    while not stop.is_set():
        for pid in pids_fn():
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            kb = int(line.split()[1])
                            peaks[pid] = max(peaks.get(pid, 0), kb)
            except OSError:
                pass
        time.sleep(0.05)


def component_pids():
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    if b"fedflow-component" in f.read():
                        out.append(int(p))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not FULL, reason="FEDFLOW_FULL=1 runs the 1 GB upload")
def test_one_gigabyte_upload_bounded_memory(daemon, tmp_path):
    d = daemon
    path = tmp_path / "big.csv"
    rnd = random.Random(7)
    cols = 100
    line_vals = ["%.6f" % rnd.uniform(-10, 10) for _ in range(4096)]
    with open(path, "w") as f:
        f.write("id," + ",".join("x%d" % i for i in range(cols)) + "\n")
        i = 0
        while f.tell() < (1 << 30):
            chunk = []
            for _ in range(1000):
                chunk.append("%d,%s\n" % (i, ",".join(line_vals[(i * 7 + j) % 4096]
                                                      for j in range(cols))))
                i += 1
            f.write("".join(chunk))
    size = os.path.getsize(path)
    conf = {"file": str(path), "head": True, "partitions": 8, "extend_sid": True,
            "meta": {"match_id_name": "id"}, "namespace": "big", "name": "gig"}
    stop, peaks = threading.Event(), {}
    watcher = threading.Thread(target=rss_watch, args=(
        lambda: [d.proc.pid] + component_pids(), stop, peaks))
    watcher.start()
    try:
        cfg = tmp_path / "up.json"
        cfg.write_text(json.dumps(conf))
        t0 = time.time()
        r = cli(d, "data", "upload-file", "-c", str(cfg))  # streamed from disk
        assert r["code"] == 0, r
        assert d.wait(r["job_id"], timeout=1800) == "success", d.tasks(r["job_id"])
        took = time.time() - t0
    finally:
        stop.set()
        watcher.join()
    assert table(d, "big", "gig")["data"]["count"] == i
    daemon_peak = peaks.pop(d.proc.pid, 0)
    comp_peak = max(peaks.values() or [0])
    print("1 GB upload: %.1f MB in %.1f s, daemon peak RSS %d MB, component peak RSS %d MB"
          % (size / 1e6, took, daemon_peak // 1024, comp_peak // 1024))
    assert daemon_peak < 200 * 1024
    assert comp_peak < 300 * 1024


def test_upload_while_an_upload_of_that_table_waits_7002(make_daemon):
    """Two uploads into one table at once would both write its folder and
    meta: while the first waits for cores, a second one is refused, even
    with drop; after the first ends, drop replaces the table."""
    d = make_daemon(computing={"cores": 8})
    # guest and host (4 cores each) take the site's 8: the upload must wait
    blocker, _ = d.submit(dag({"s": task("sleep", params={"seconds": 60})}))
    d.wait_task(blocker, "s", "running")
    conf = dict(GUEST_CONF, namespace="race", name="t", extend_sid=False)
    first = d.post("/v2/data/component/upload", conf)
    assert first["code"] == 0, first
    assert d.jobs(first["job_id"])[0]["status"] == "waiting"
    for again in (conf, dict(conf, drop=True)):
        r = d.post("/v2/data/component/upload", again)
        assert r["code"] == 7002 and first["job_id"] in r["message"], r
        assert "wait until it ends" in r["message"], r
    assert d.sql("SELECT COUNT(*) FROM t_job WHERE f_role = 'local'")[0][0] == 1
    assert d.post("/v2/job/stop", {"job_id": blocker})["code"] == 0
    assert d.wait(first["job_id"]) == "success"
    assert table(d, "race", "t")["data"]["count"] == 569
    r = d.post("/v2/data/component/upload", dict(conf, drop=True))
    assert r["code"] == 0 and d.wait(r["job_id"]) == "success", r


def test_dataframe_transformer(loaded):
    """FATE's data transformer: a local job copying a table into (namespace,
    name) as a dataframe; drop (default true) replaces, false answers 7002."""
    d = loaded
    src = {"namespace": GUEST_CONF["namespace"], "name": GUEST_CONF["name"]}
    body = {"data_warehouse": src, "namespace": "frames", "name": "breast_guest"}
    r = d.post("/v2/data/component/dataframe/transformer", body)
    assert r["code"] == 0 and r["data"] == {"name": "breast_guest", "namespace": "frames"}, r
    assert d.wait(r["job_id"]) == "success"
    a, b = table(d, src["namespace"], src["name"])["data"], table(d, "frames", "breast_guest")
    assert b["code"] == 0 and b["data"]["count"] == a["count"] == 569, b
    assert b["data"]["meta"]["feature_names"] == a["meta"]["feature_names"]
    assert b["data"]["partitions"] == a["partitions"]
    # the rows come back byte-exact, in order
    da = tgz_members(get_raw(d, "/v2/data/download", **src).content)["data/0.csv"]
    db = tgz_members(get_raw(d, "/v2/data/download", namespace="frames",
                             name="breast_guest").content)["data/0.csv"]
    assert len(da.splitlines()) == 570 and da == db
    assert d.post("/v2/data/component/dataframe/transformer",
                  dict(body, drop=False))["code"] == 7002
    again = d.post("/v2/data/component/dataframe/transformer", dict(body, drop=True))
    assert again["code"] == 0 and d.wait(again["job_id"]) == "success"
    jobs = d.sql("SELECT COUNT(*) FROM t_job WHERE f_role = 'local'")[0][0]
    for bad, code in (({"data_warehouse": {"namespace": "no", "name": "such"}}, 7001),
                      ({"data_warehouse": "x"}, 5001),
                      ({"data_warehouse": {"namespace": "..", "name": "x"}}, 5001),
                      ({"namespace": "a/b"}, 5001),
                      ({"drop": "maybe"}, 5001)):
        r = d.post("/v2/data/component/dataframe/transformer", dict(body, **bad))
        assert r["code"] == code, (bad, r)
    r = d.post("/v2/data/component/dataframe/transformer", {"namespace": "a", "name": "b"})
    assert r["code"] != 0 and "data_warehouse" in r["message"], r
    assert d.sql("SELECT COUNT(*) FROM t_job WHERE f_role = 'local'")[0][0] == jobs
