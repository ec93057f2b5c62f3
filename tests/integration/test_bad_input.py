# SPDX-License-Identifier: Apache-2.0
"""Issue A: every bad job gives a clear code and message and creates nothing."""
import pytest
import requests

from conftest import dag, parties, task


def job_count(d):
    return d.sql("SELECT COUNT(*) FROM t_job")[0][0] + \
        d.sql("SELECT COUNT(*) FROM t_schedule_job")[0][0]


CASES = [
    ("cycle", dag({"a": task("noop", ["b"]), "b": task("noop", ["a"])}), 1000,
     "dependency cycle"),
    ("unknown producer", dag({"a": task("noop", ["scale_9"])}), 1000,
     "dag.tasks.a.inputs.data.input_data: producer task 'scale_9' does not exist"),
    ("unknown artifact key",
     dag({"a": task(), "b": {"component_ref": "noop", "inputs": {"data": {"input_data": {
         "task_output_artifact": {"producer_task": "a", "output_artifact_key": "nope"}}}}}}),
     1000, "'nope'"),
    ("party not in dag.parties",
     dag({"a": task(parties=parties(("guest", "1234")))}), 1000, "1234"),
    ("unknown provider", dag({"a": task(conf={"provider": "nope:1.0@local"})}), 1000,
     "nope:1.0@local"),
    ("unknown component", dag({"a": task("no_such_component")}), 1000, "no_such_component"),
    ("negative cores", dag({"a": task()}, conf={"cores": -1}), 1000, "dag.conf.cores"),
    ("negative task cores", dag({"a": task(conf={"engine_run": {"cores": -2}})}), 1000,
     "cores"),
    ("wrong type", dag({"a": task()}, conf={"priority": "high"}), 1000, "dag.conf.priority"),
    ("tasks not a mapping", {"schema_version": "2.0.0", "dag": {"parties": parties(
        ("guest", "9999")), "tasks": ["a"]}}, 1000, "dag.tasks"),
    ("no parties", {"schema_version": "2.0.0", "dag": {"tasks": {"a": task()}}}, 1000,
     "dag.parties"),
    ("bad role", dag({"a": task()}, parties(("boss", "9999"))), 1000, "boss"),
    ("missing component_ref", dag({"a": {"parameters": {}}}), 1000, "component_ref"),
    ("bad stage", dag({"a": task(stage="later")}), 1000, "stage"),
    ("bad sync type", dag({"a": task()}, conf={"sync_type": "sometimes"}), 1000, "sync_type"),
    ("job cores above site total", dag({"a": task()}, conf={"cores": 1000}), 1006, "cores"),
    ("not an object", "just text", 1000, "dag_schema"),
]


@pytest.mark.parametrize("name,body,code,text", CASES, ids=[c[0] for c in CASES])
def test_bad_dag(daemon, name, body, code, text):
    before = job_count(daemon)
    r = daemon.post("/v2/job/submit", {"dag_schema": body})
    assert r["code"] == code, r
    assert text in r["message"], r["message"]
    assert "job_id" not in r
    assert job_count(daemon) == before


def test_malformed_json_body(daemon):
    before = job_count(daemon)
    r = requests.post(daemon.url + "/v2/job/submit", data=b'{"dag_schema": {',
                      headers={"Content-Type": "application/json"}).json()
    assert r["code"] == 5001 and "not valid JSON" in r["message"]
    assert job_count(daemon) == before


def test_malformed_yaml_through_cli(daemon, tmp_path):
    import subprocess
    from conftest import CLI
    f = tmp_path / "bad.yaml"
    f.write_text("schema_version: 2.0.0\ndag:\n  parties: [\n  tasks: {}\n")
    p = subprocess.run([CLI, "--server", daemon.url, "job", "submit", "-c", str(f)],
                       capture_output=True, text=True)
    assert p.returncode != 0
    assert "line" in (p.stdout + p.stderr)


def test_oversized_body(daemon):
    big = b'{"dag_schema": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    r = requests.post(daemon.url + "/v2/job/submit", data=big)
    assert r.status_code == 413
    j = r.json()
    assert j["code"] == 5001 and "larger than the limit" in j["message"]
    # the daemon still serves
    assert daemon.get("/v2/site/info/query")["code"] == 0


def test_oversized_chunked_body(daemon):
    def gen():
        for _ in range(10):
            yield b"x" * (1024 * 1024)
    r = requests.post(daemon.url + "/v2/job/submit", data=gen())
    assert r.status_code == 413 and r.json()["code"] == 5001
