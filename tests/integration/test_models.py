# SPDX-License-Identifier: Apache-2.0
"""Issue 4, models: model outputs, query/download/delete, export -> delete ->
import -> a predict job that uses the stored model, model_warehouse checks,
the worker model routes and bad model zips."""
import io
import json
import os
import tarfile
import zipfile

import pytest
import requests

from conftest import GUEST_HOST, dag, task
from datahelp import get_raw, tgz_members


def train_dag(weight=2.5, directory=False):
    return dag({"train_0": task("model_test", params={"weight": weight,
                                                      "directory": directory})},
               conf={"model_id": "mdl_train", "model_version": "3"}, stage="train")


def predict_dag(model_id, version, key="output_model"):
    t = {"component_ref": "model_test", "stage": "predict",
         "inputs": {"model": {"input_model": {"model_warehouse": {
             "producer_task": "train_0", "output_artifact_key": key}}}}}
    return dag({"predict_0": t}, conf={"model_warehouse": {"model_id": model_id,
                                                           "model_version": version}},
               stage="predict")


def key(job_id, role="guest", party_id="9999", task_name="train_0"):
    return dict(job_id=job_id, role=role, party_id=party_id, task_name=task_name)


def loaded_weight(d, job_id, role="guest", party_id="9999", task_name="predict_0"):
    r = d.get("/v2/output/metric/query", **key(job_id, role, party_id, task_name))
    assert r["code"] == 0, r
    m = [x for x in r["data"] if x["name"] == "loaded_weight"]
    assert len(m) == 1, r
    return m[0]["data"][0]["metric"]


@pytest.fixture(scope="module")
def trained(daemon):
    job_id, r = daemon.submit(train_dag())
    assert r["data"] == {"model_id": "mdl_train", "model_version": "3"}
    assert daemon.wait(job_id) == "success", daemon.tasks(job_id)
    return daemon, job_id


def test_model_output_query_and_download(trained):
    d, job_id = trained
    r = d.get("/v2/output/model/query", **key(job_id))
    assert r["code"] == 0, r
    assert r["data"] == {"output_model": {"weight": 2.5, "rows": 0}}
    resp = get_raw(d, "/v2/output/model/download", **key(job_id))
    assert resp.headers["Content-Type"] == "application/x-tar"
    files = tgz_members(resp.content)
    assert sorted(files) == ["json_model", "json_model.meta.yaml"]
    assert json.loads(files["json_model"]) == {"weight": 2.5, "rows": 0}
    meta = json.loads(files["json_model.meta.yaml"])
    assert meta["model_key"] == "json_model" and meta["type_name"] == "json_model"
    assert meta["index"] is None and meta["model_overview"] == {"rows": 0}
    assert meta["source"]["task_name"] == "train_0"
    rows = d.sql("SELECT f_model_id, f_model_version, f_storage_key, f_type_name FROM"
                 " t_model_meta WHERE f_job_id = '%s' ORDER BY f_role" % job_id)
    assert rows == [("mdl_train", "3", "mdl_train/3/guest/9999/train_0/output_model",
                     "json_model"),
                    ("mdl_train", "3", "mdl_train/3/host/9998/train_0/output_model",
                     "json_model")]
    assert os.path.isfile(os.path.join(d.home, "model", rows[0][2]))


def test_export_delete_import_predict(trained, tmp_path):
    d, job_id = trained
    out = str(tmp_path / "exported")
    for role, pid in (("guest", "9999"), ("host", "9998")):
        r = d.post("/v2/model/export", {"model_id": "mdl_train", "model_version": "3",
                                        "role": role, "party_id": pid, "path": out})
        assert r["code"] == 0, r
    zips = sorted(os.listdir(out))
    assert zips == ["mdl_train_3_guest_9999.zip", "mdl_train_3_host_9998.zip"]
    with zipfile.ZipFile(os.path.join(out, zips[0])) as z:
        assert z.namelist() == ["mdl_train/3/guest/9999/train_0/output_model"]
    # delete the model everywhere: query and predict now fail
    r = d.post("/v2/model/delete", {"model_id": "mdl_train", "model_version": "3"})
    assert r == {"code": 0, "message": "success", "data": {"count": True}}
    assert d.get("/v2/output/model/query", **key(job_id))["code"] == 2005
    assert not os.path.exists(os.path.join(d.home, "model", "mdl_train"))
    assert d.post("/v2/model/delete", {"model_id": "mdl_train",
                                       "model_version": "3"})["code"] == 2005
    _, r = d.submit(predict_dag("mdl_train", "3"), expect=1000)
    assert "mdl_train" in r["message"]
    # import under a new identity (multipart, as the CLI sends it)
    for z in zips:
        with open(os.path.join(out, z), "rb") as f:
            r = requests.post(d.url + "/v2/model/import",
                              data={"model_id": "imported", "model_version": "7",
                                    "path": z}, files={"file": (z, f)}).json()
        assert r["code"] == 0 and r["data"]["count"] == 1, r
    keys = [k for (k,) in d.sql("SELECT f_storage_key FROM t_model_meta WHERE"
                                " f_model_id = 'imported' ORDER BY f_storage_key")]
    assert keys == ["imported/7/guest/9999/train_0/output_model",
                    "imported/7/host/9998/train_0/output_model"]
    # a predict-stage job uses it through model_warehouse
    job2, _ = d.submit(predict_dag("imported", 7))
    assert d.wait(job2) == "success", d.tasks(job2)
    assert loaded_weight(d, job2) == 2.5
    assert loaded_weight(d, job2, "host", "9998") == 2.5
    # predict does not save a model
    assert d.get("/v2/output/model/query", **key(job2, task_name="predict_0"))["code"] == 2005


def test_model_directory_in_one_job(daemon):
    d = daemon
    g = dag({
        "train_0": task("model_test", params={"weight": 4.0, "directory": True}),
        "use_0": {"component_ref": "model_test", "stage": "predict",
                  "inputs": {"model": {"input_model": {"task_output_artifact": {
                      "producer_task": "train_0", "output_artifact_key": "output_dir"}}}}},
    })
    job_id, _ = d.submit(g)
    assert d.wait(job_id) == "success", d.tasks(job_id)
    assert loaded_weight(d, job_id, task_name="use_0") == 4.0
    r = d.get("/v2/output/model/query", **key(job_id))
    assert r["data"]["output_dir"]["type_name"] == "model_directory"
    assert sorted(r["data"]["output_dir"]["files"]) == ["notes.txt", "weights.json"]
    files = tgz_members(get_raw(d, "/v2/output/model/download", **key(job_id)).content)
    assert sorted(files) == ["model_directory.meta.yaml", "model_directory/notes.txt",
                             "model_directory/weights.json"]
    r = d.post("/v2/output/model/delete", key(job_id))
    assert r["code"] == 0 and r["data"] == {"count": True}
    assert d.get("/v2/output/model/query", **key(job_id))["code"] == 2005


def test_model_warehouse_checked_at_submit(daemon):
    d = daemon
    before = d.sql("SELECT COUNT(*) FROM t_schedule_job")[0][0]
    for g in (predict_dag("no_such_model", "0"),
              dag({"p": {"component_ref": "model_test", "inputs": {"model": {"input_model": {
                  "model_warehouse": {"model_id": "nope", "model_version": "1",
                                      "producer_task": "t", "output_artifact_key": "k"}}}}}})):
        _, r = d.submit(g, expect=1000)
        assert "no stored model" in r["message"], r
    assert d.sql("SELECT COUNT(*) FROM t_schedule_job")[0][0] == before


def test_missing_model_input_fails_task(trained):
    """A stored model of another task/output key: the task fails naming it."""
    d, _ = trained
    job_id, _ = d.submit(train_dag(weight=1.0))
    assert d.wait(job_id) == "success"
    g = predict_dag("mdl_train", "3", key="output_dir")  # train saved output_model only
    job2, _ = d.submit(g)
    assert d.wait(job2) == "failed"
    err = d.tasks(job2, role="guest")[0]["error_report"]
    assert "output_dir" in err and "input_model" in err, err


def tar_bytes(members):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return bio.getvalue()


def test_worker_model_save_and_download(trained):
    d, job_id = trained
    eid = d.tasks(job_id, role="guest")[0]["execution_id"]
    meta = {"model_key": "m.json", "type_name": "json_model", "index": None,
            "model_overview": {}, "metadata": {}}
    tar = tar_bytes({"m.json": b'{"w": [1, 2]}', "meta.yaml": json.dumps(meta).encode()})
    r = requests.post(d.url + "/v2/worker/model/save",
                      data={"model_id": "wm", "model_version": "1", "execution_id": eid,
                            "output_key": "ext_model", "type_name": "json_model"},
                      files={"file": ("model.tar", tar)}).json()
    assert r["code"] == 0, r
    resp = get_raw(d, "/v2/worker/model/download", model_id="wm", model_version="1",
                   role="guest", party_id="9999", task_name="train_0", output_key="ext_model")
    assert resp.headers["Content-Type"] == "application/x-tar"
    assert resp.content == tar
    r = get_raw(d, "/v2/worker/model/download", model_id="wm", model_version="1",
                role="guest", party_id="9999", task_name="train_0", output_key="nope")
    assert r.headers["Content-Type"] == "application/json" and r.json()["code"] == 5008
    r = requests.post(d.url + "/v2/worker/model/save",
                      data={"execution_id": "nope", "output_key": "k"},
                      files={"file": ("model.tar", tar)}).json()
    assert r["code"] == 2000
    # FATE's reader shows the model of the tar's meta
    r = d.get("/v2/output/model/query", **key(job_id))
    assert r["data"]["ext_model"] == {"w": [1, 2]}


def zip_bytes(entries):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return bio.getvalue()


BAD_ZIPS = [
    ("not a zip", b"hello"),
    ("path escape", zip_bytes({"../../x/0/guest/9999/t/k": b"x"})),
    ("too few parts", zip_bytes({"a/b/c": b"x"})),
    ("no meta in package", zip_bytes({"m/1/guest/9999/t/k": tar_bytes({"m": b"{}"})})),
    ("empty zip", zip_bytes({})),
]


@pytest.mark.parametrize("label,content", BAD_ZIPS, ids=[b[0] for b in BAD_ZIPS])
def test_bad_model_import(daemon, label, content):
    d = daemon
    before = d.sql("SELECT COUNT(*) FROM t_model_meta")[0][0]
    r = requests.post(d.url + "/v2/model/import", data={"model_id": "bad", "model_version": "1"},
                      files={"file": ("m.zip", content)}).json()
    assert r["code"] == 5001, r
    assert d.sql("SELECT COUNT(*) FROM t_model_meta")[0][0] == before
    assert not os.path.exists(os.path.join(d.home, "model", "bad"))
    assert os.listdir(os.path.join(d.home, "temps")) == []


def test_model_request_errors(daemon, tmp_path):
    d = daemon
    r = requests.post(d.url + "/v2/model/import", data={"model_id": "x", "model_version": "1"},
                      files={"other": ("m.zip", b"x")}).json()
    assert r["code"] == 5007
    r = requests.post(d.url + "/v2/model/import", data={"model_id": "../x", "model_version": "1"},
                      files={"file": ("m.zip", zip_bytes({"a/1/g/9/t/k": b"x"}))}).json()
    assert r["code"] == 5001
    r = d.post("/v2/model/export", {"model_id": "none", "model_version": "0", "role": "guest",
                                    "party_id": "9999", "path": str(tmp_path)})
    assert r["code"] == 2005
    r = d.post("/v2/model/export", {"model_id": "../..", "model_version": "0", "role": "guest",
                                    "party_id": "9999", "path": str(tmp_path)})
    assert r["code"] == 5001
    assert d.post("/v2/model/delete", {"model_id": "x"})["code"] == 5001
    for stub in ("load", "migrate", "store", "restore"):
        assert d.post("/v2/model/" + stub, {})["code"] == 0


def test_cli_model_and_output_commands(daemon, tmp_path):
    from datahelp import cli
    d = daemon
    job_id, _ = d.submit(dag({"train_0": task("model_test", params={"weight": 0.5})},
                             conf={"model_id": "cli_model", "model_version": "1"}))
    assert d.wait(job_id) == "success"
    tk = ["-j", job_id, "-r", "guest", "-p", "9999", "-tn", "train_0"]
    r = cli(d, "output", "query-model", *tk)
    assert r["data"] == {"output_model": {"weight": 0.5, "rows": 0}}
    r = cli(d, "output", "download-model", *tk, "-o", str(tmp_path))
    assert r["code"] == 0, r
    got = tmp_path / ("output_model_%s_guest_9999_train_0" % job_id) / "json_model"
    assert json.loads(got.read_text()) == {"weight": 0.5, "rows": 0}
    out = tmp_path / "zips"
    r = cli(d, "model", "export", "-mid", "cli_model", "-mv", "1", "-r", "guest", "-p", "9999",
            "-o", str(out))
    assert r["code"] == 0, r
    z = out / "cli_model_1_guest_9999.zip"
    r = cli(d, "model", "import", "-mid", "cli_copy", "-mv", "2", "-i", str(z))
    assert r["code"] == 0 and r["data"]["count"] == 1, r
    job2, _ = d.submit(dag({"predict_0": {
        "component_ref": "model_test", "stage": "predict",
        "parties": [{"role": "guest", "party_id": ["9999"]}],
        "inputs": {"model": {"input_model": {"model_warehouse": {
            "producer_task": "train_0", "output_artifact_key": "output_model"}}}}}},
        conf={"model_warehouse": {"model_id": "cli_copy", "model_version": "2"}}))
    assert d.wait(job2) == "success", d.tasks(job2)
    assert loaded_weight(d, job2) == 0.5
    r = cli(d, "model", "delete", "-mid", "cli_copy", "-mv", "2")
    assert r["data"] == {"count": True}
    r = cli(d, "model", "delete", "-mid", "cli_copy", "-mv", "2")
    assert r["code"] == 2005
    r = cli(d, "output", "query-metric", "-j", job2, "-r", "guest", "-p", "9999",
            "-tn", "predict_0")
    assert r["data"][0]["name"] == "loaded_weight"


def test_job_clean_removes_outputs_models_and_folders(daemon):
    d = daemon
    job_id, _ = d.submit(dag({"train_0": task("model_test", params={"weight": 1.5}),
                              "n": task()}, conf={"model_id": "mdl_clean",
                                                  "model_version": "1"}))
    assert d.wait(job_id) == "success"
    keys = [k for (k,) in d.sql("SELECT f_storage_key FROM t_model_meta WHERE f_job_id = '%s'"
                                % job_id)]
    assert keys
    packages = [os.path.join(d.home, "model", k) for k in keys]
    assert all(os.path.exists(p) for p in packages), packages
    r = d.post("/v2/job/clean", {"job_id": job_id})
    assert r["code"] == 0, r
    assert d.get("/v2/job/query", job_id=job_id)["code"] == 1001
    for t in ("t_model_meta", "t_metric", "t_task", "t_tracking_data_output"):
        assert d.sql("SELECT COUNT(*) FROM %s WHERE f_job_id = '%s'" % (t, job_id))[0][0] == 0
    assert not any(os.path.exists(p) for p in packages), packages
    assert d.get("/v2/output/model/query", **key(job_id))["code"] != 0
    assert not [x for x in os.listdir(os.path.join(d.home, "data")) if x.startswith(job_id)]
    assert not os.path.exists(os.path.join(d.home, "jobs", job_id))
