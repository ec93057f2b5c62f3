# SPDX-License-Identifier: Apache-2.0
"""Issue 5: the quick-start DAG (FATE's benchmark LR settings on breast)
across three sites — guest 9999, host 10000, arbiter 10001, each its own
fedflowd, tables uploaded where they belong — gives the same model quality
as the same DAG in one standalone fedflowd."""
import os

import yaml

import datahelp
from conftest import ROOT
from sites import Federation
from test_quality import daemon_auc, daemon_quick_start


def test_quick_start_three_sites_matches_standalone(make_daemon):
    _, data = daemon_quick_start(make_daemon(), "train_lr_benchmark.yaml")
    alone = daemon_auc(data)
    fed = Federation()
    try:
        g, h, a = fed.sites["9999"], fed.sites["10000"], fed.sites["10001"]
        datahelp.upload(g, datahelp.GUEST_CONF)
        datahelp.upload(h, datahelp.HOST_CONF)
        with open(os.path.join(ROOT, "examples", "train_lr_sites.yaml")) as f:
            job, _ = g.submit(yaml.safe_load(f))
        assert g.wait(job, timeout=900) == "success", [
            (t["task_name"], t["party_status"], t.get("error")) for t in g.tasks(job)]
        for d in (h, a):
            assert d.wait(job, timeout=60) == "success"
        m = g.get("/v2/output/metric/query", job_id=job, role="guest", party_id="9999",
                  task_name="evaluation_0")
        auc = daemon_auc([x for x in m["data"] if x["name"] == "evaluation"][0]["data"])
        ks = daemon_auc([x for x in m["data"] if x["name"] == "evaluation"][0]["data"], "ks")
        print("\nbreast across 3 sites: AUC %.6f KS %.4f; standalone AUC %.6f" % (auc, ks, alone))
        assert abs(auc - alone) < 1e-9 and auc > 0.99
        # each site holds its own part: the arbiter the loss, the host its model
        loss = a.get("/v2/output/metric/query", job_id=job, role="arbiter", party_id="10001",
                     task_name="lr_0")
        assert any(x["name"] == "lr_loss" for x in loss["data"]), loss
        model = h.get("/v2/output/model/query", job_id=job, role="host", party_id="10000",
                      task_name="lr_0")
        assert model["code"] == 0 and model["data"], model
        # and nothing of the host's data went to the guest's store
        tables = g.get("/v2/table/query", namespace="experiment", name="breast_hetero_host")
        assert tables["code"] != 0 or not tables.get("data"), tables
    finally:
        fed.down()
