# SPDX-License-Identifier: Apache-2.0
"""Runs fedflow's algorithm components without a daemon.

Each DAG task is one `fedflow-algo-local` process that runs the task's
party tasks (guest, host, arbiter) as threads connected in process; this
module plays the scheduler: it writes FATE TaskConfigSpec files, wires the
outputs of one task (read from the execution final metas) into the inputs
of the next, and collects the metrics the tasks logged. Tables come from
`fedflow-algo-local import` (libfedflow's CSV import, FATE upload rules).

Used by test_quality.py for the quality references when the daemon path
(upload API, reader, federation) is not what is under test."""
import json
import os
import subprocess

from conftest import BUILD

TOOL = os.path.join(BUILD, "components", "fedflow-algo-local")


def available():
    return os.access(TOOL, os.X_OK)


def import_table(csv, table_dir, label=None, extend_sid=True, match_id="id"):
    """Imports csv into table_dir; returns the row count."""
    cmd = [TOOL, "import", csv, table_dir, "--match-id", match_id]
    if label:
        cmd += ["--label", label]
    if extend_sid:
        cmd.append("--extend-sid")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def table_artifact(table_dir, task_name="upload"):
    return {"uri": "standalone://" + os.path.abspath(table_dir), "type_name": "dataframe",
            "metadata": {"source": {"task_name": task_name}}}


class Local:
    """A tiny scheduler over fedflow-algo-local in a work folder."""

    def __init__(self, work, parties):
        # parties: list of (role, party_id)
        self.work = work
        self.parties = parties
        self.outputs = {}   # (task, role, party) -> io_meta outputs
        self.metrics = {}   # task -> list of metric records
        os.makedirs(work, exist_ok=True)

    def _party_conf(self, role, pid, task_parties):
        return {"federation": {"type": "local", "metadata": {"parties": {
            "local": {"role": role, "partyid": pid},
            "parties": [{"role": r, "partyid": p} for r, p in task_parties]}}}}

    def out(self, task, role, pid, kind, key):
        """The output artifact (kind data/model) of a finished task."""
        return self.outputs[(task, role, pid)][kind][key]

    def run(self, name, component, stage="train", parties=None, params=None,
            inputs=None, outputs=("train_output_data",), models=("output_model",),
            fault=None, timeout_ms=600000, check=True):
        """inputs: {(role, pid): {key: artifact or [artifacts]}}; params may be
        per party: params[(role, pid)] overrides params[None]."""
        task_parties = parties or self.parties
        params = params or {}
        argv = [TOOL, "--metrics", os.path.join(self.work, name + ".metrics.json"),
                "--timeout-ms", str(timeout_ms)]
        if fault:
            argv += ["--fault", fault]
        metas = {}
        for role, pid in task_parties:
            d = os.path.join(self.work, name, role + "_" + pid)
            os.makedirs(d, exist_ok=True)
            p = dict(params.get(None, {}))
            p.update(params.get((role, pid), {}))
            outs = {}
            for k in outputs:
                outs[k] = {"uri": "standalone://" + os.path.join(d, "data", k),
                           "type_name": "dataframe"}
            for k in models:
                outs[k] = {"uri": "file://" + os.path.join(d, "model", k, "json_model"),
                           "type_name": "json_model"}
            cfg = {"job_id": "local", "task_id": name, "task_name": name, "task_version": "0",
                   "party_task_id": name + "_" + role + "_" + pid, "component": component,
                   "role": role, "party_id": pid, "stage": stage, "parameters": p,
                   "input_artifacts": (inputs or {}).get((role, pid), {}),
                   "output_artifacts": outs, "conf": self._party_conf(role, pid, task_parties)}
            cpath = os.path.join(d, "config.json")
            with open(cpath, "w") as f:
                json.dump(cfg, f)
            meta = os.path.join(d, "meta.json")
            if os.path.exists(meta):
                os.unlink(meta)
            metas[(role, pid)] = meta
            argv += ["--party", cpath, meta]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if "Sanitizer" in proc.stderr or "runtime error:" in proc.stderr:
            raise AssertionError("%s: sanitizer report:\n%s" % (name, proc.stderr[-6000:]))
        result = {"returncode": proc.returncode, "stderr": proc.stderr, "parties": {}}
        for key, meta in metas.items():
            with open(meta) as f:
                m = json.load(f)
            result["parties"][key] = m
            self.outputs[(name,) + key] = m.get("io_meta", {}).get("outputs", {})
        mpath = os.path.join(self.work, name + ".metrics.json")
        if os.path.exists(mpath):
            with open(mpath) as f:
                self.metrics[name] = json.load(f)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed:\n%s" % (name, proc.stderr[-4000:]))
        return result


def read_count(art):
    """Row count recorded in a data artifact's metadata."""
    return art["metadata"]["data_overview"]["count"]


def table_dir(art):
    """Folder of a data artifact (its URI without the scheme)."""
    return art["uri"].split("://", 1)[1]


def export_rows(art_or_dir, work):
    """A table's rows as (header, list of rows), read through CSV export
    (the sample id comes first)."""
    import csv
    d = art_or_dir if isinstance(art_or_dir, str) else table_dir(art_or_dir)
    out = os.path.join(work, "export-%d.csv" % abs(hash(d)))
    subprocess.run([TOOL, "export", d, out], check=True, capture_output=True)
    with open(out) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def patch_table(src, dst, column, row, value):
    """Copies table src to dst with one feature value replaced (nan/inf allowed)."""
    subprocess.run([TOOL, "patch", src, dst, column, str(row), value], check=True,
                   capture_output=True)


def quick_start(local, guest_table, host_table, guest="9999", host="10000",
                arbiter="10001", lr_params=None, scale=True, binning=True, selection=True):
    """The quick-start DAG (psi -> scale -> binning -> selection -> lr ->
    evaluation) over two uploaded tables; returns the evaluation metric."""
    G, H, A = ("guest", guest), ("host", host), ("arbiter", arbiter)
    gh = [G, H]
    local.run("psi_0", "psi", stage="default", parties=gh,
              inputs={G: {"input_data": table_artifact(guest_table, "reader_0")},
                      H: {"input_data": table_artifact(host_table, "reader_0")}},
              outputs=("output_data",), models=())
    prev, key = "psi_0", "output_data"
    if scale:
        local.run("scale_0", "feature_scale", parties=gh,
                  params={None: {"method": "standard"}},
                  inputs={p: {"train_data": local.out(prev, p[0], p[1], "data", key)} for p in gh})
        prev, key = "scale_0", "train_output_data"
    if binning:
        local.run("binning_0", "hetero_feature_binning", parties=gh,
                  params={None: {"method": "quantile", "n_bins": 10}},
                  inputs={p: {"train_data": local.out(prev, p[0], p[1], "data", key)} for p in gh})
    if selection and binning:
        local.run("selection_0", "hetero_feature_selection", parties=gh,
                  params={None: {"method": ["iv"], "iv_param": {"metrics": "iv", "threshold": 0.1,
                                                                "filter_type": "threshold"},
                                 "keep_one": True}},
                  inputs={p: {"train_data": local.out(prev, p[0], p[1], "data", key),
                              "input_models": [local.out("binning_0", p[0], p[1], "model",
                                                         "output_model")]} for p in gh},
                  models=("train_output_model",))
        prev, key = "selection_0", "train_output_data"
    local.run("lr_0", "coordinated_lr", parties=[G, H, A], params={None: lr_params or {}},
              inputs={p: {"train_data": local.out(prev, p[0], p[1], "data", key)} for p in gh})
    local.run("evaluation_0", "evaluation", stage="default", parties=[G],
              params={None: {"default_eval_setting": "binary"}},
              inputs={G: {"input_datas": [local.out("lr_0", "guest", guest, "data",
                                                    "train_output_data")]}},
              outputs=(), models=())
    return local.metrics["evaluation_0"]


def eval_value(metrics, metric, task="lr_0", dataset="train_set"):
    """A single value (auc, ks) from the evaluation metric records."""
    for rec in metrics:
        if rec["name"] != "evaluation":
            continue
        for item in rec["data"][task][dataset]:
            items = item if isinstance(item, list) else [item]
            for it in items:
                if it["metric"] == metric:
                    return it["val"]
    raise KeyError(metric)
