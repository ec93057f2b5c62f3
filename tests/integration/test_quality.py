# SPDX-License-Identifier: Apache-2.0
"""Model quality and bad inputs of the built-in algorithm components,
against independent references computed here with scikit-learn/numpy on
the pooled data (guest and host joined on id, fit and score on all rows:
FATE's benchmark-quality protocol).

The pipeline runs each DAG task's parties in one process
(fedflow-algo-local, algo_local.py), so these tests need no daemon; the
same components run in fedflowd (test_quality_daemon at the end runs the
quick-start DAG through a daemon when the upload API, the reader and the
federation are available). Long runs (default credit, 100,000-id PSI) need
FEDFLOW_FULL=1."""
import csv
import json
import os
import random
import tempfile
import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

import algo_local as al
from conftest import FULL, SHARED

DATA = os.path.join(SHARED, "data")
pytestmark = pytest.mark.skipif(not al.available(), reason="fedflow-algo-local not built")

BREAST_LR = {"epochs": 20, "batch_size": 240, "tol": 1e-5, "early_stop": "diff",
             "optimizer": {"method": "rmsprop", "penalty": "l2", "alpha": 0.01,
                           "optimizer_params": {"lr": 0.15}},
             "init_param": {"method": "random_uniform", "random_state": 42,
                            "fit_intercept": True},
             "learning_rate_scheduler": {"method": "constant",
                                         "scheduler_params": {"factor": 1.0}}}
# FATE's examples/benchmark_quality/lr/default_credit_config.yaml as
# pipeline-lr-binary.py passes it to CoordinatedLR (which adds tol 1e-5): the
# scheduler is torch's LinearLR from 0.7 x lr over 1000 epochs, i.e. about
# 0.084 for all 16 epochs, not a constant 0.12.
CREDIT_LR = {"epochs": 16, "batch_size": 10000, "tol": 1e-5, "early_stop": "diff",
             "optimizer": {"method": "rmsprop", "penalty": "L2", "alpha": 0.1,
                           "optimizer_params": {"lr": 0.12}},
             "init_param": {"method": "zeros", "fit_intercept": True, "random_state": 42},
             "learning_rate_scheduler": {"method": "linear",
                                         "scheduler_params": {"start_factor": 0.7,
                                                              "total_iters": 1000}}}


def pooled(name):
    """(X, y) of guest joined with host on id, in guest row order."""
    def read(path):
        with open(path) as f:
            r = list(csv.reader(f))
        return r[0], {row[0]: row[1:] for row in r[1:]}, [row[0] for row in r[1:]]
    gh, gd, order = read(os.path.join(DATA, name + "_hetero_guest.csv"))
    hh, hd, _ = read(os.path.join(DATA, name + "_hetero_host.csv"))
    ids = [i for i in order if i in hd]
    y = np.array([float(gd[i][0]) for i in ids])
    X = np.array([[float(v) for v in gd[i][1:]] + [float(v) for v in hd[i]] for i in ids])
    return X, y


def sklearn_auc(name):
    X, y = pooled(name)
    Xs = StandardScaler().fit_transform(X)
    m = LogisticRegression(max_iter=2000).fit(Xs, y)
    return roc_auc_score(y, m.decision_function(Xs))


def torch_lr(p, epoch):
    """The learning rate torch's scheduler gives in epoch (0-based)."""
    s, lr = p["learning_rate_scheduler"], p["optimizer"]["optimizer_params"]["lr"]
    sp = s.get("scheduler_params") or {}
    if s["method"] == "linear":
        a, b, t = sp.get("start_factor", 1 / 3), sp.get("end_factor", 1.0), sp.get("total_iters", 5)
        return lr * (a + (b - a) * min(epoch, t) / t)
    return lr * (sp.get("factor", 1 / 3) if epoch < sp.get("total_iters", 5) else 1.0)


def fate_taylor(X, y, dg, p, order=None, fate_loss=False):
    """numpy emulation of FATE 2.x's coordinated LR (guest.py, host.py,
    arbiter.py, _optimizer.py): labels to -1/+1, d = (u_g + u_h)/4 - y/2,
    g = X^T d / h, L2 alpha*w added to the gradient except the intercept,
    torch RMSprop (alpha 0.99, eps 1e-8) on a shadow parameter, the
    scheduler stepped once per epoch, batches cut from the rows in `order`
    (FATE: sorted sample ids), early stop `diff` on the sum of the batch
    losses. fate_loss: the host's quadratic term as FATE's guest adds it,
    1/8 * sum((u_h/4)^2) / h (FATE's host sends Xw_h already divided by 4).
    Returns (scores, epochs run, losses)."""
    n, d = X.shape
    if order is not None:
        X, y = X[order], y[order]
    ypm = np.where(y == 1, 1.0, -1.0)
    a, bs = p["optimizer"]["alpha"], p["batch_size"] or n
    w, v = np.zeros(d + 1), np.zeros(d + 1)
    losses, e = [], 0
    for e in range(p["epochs"]):
        lr, tot = torch_lr(p, e), 0.0
        for lo in range(0, n, bs):
            xb, yb = X[lo:lo + bs], ypm[lo:lo + bs]
            h = len(xb)
            ug, uh = xb[:, :dg] @ w[:dg] + w[d], xb[:, dg:] @ w[dg:d]
            u = ug + uh
            q = (uh @ uh) / (16 if fate_loss else 1)
            tot += (h * np.log(2) - 0.5 * yb @ u + 0.125 * (ug @ ug + 2 * ug @ uh + q)) / h
            tot += 0.5 * a * (w @ w)
            dd = 0.25 * u - 0.5 * yb
            g = np.append(xb.T @ dd, dd.sum()) / h
            g[:d] += a * w[:d]
            v = 0.99 * v + 0.01 * g * g
            w = w - lr * g / (np.sqrt(v) + 1e-8)
        losses.append(tot)
        if len(losses) > 1 and abs(losses[-2] - losses[-1]) < p["tol"]:
            break
    scores = np.empty(n)
    scores[np.arange(n) if order is None else order] = X @ w[:d] + w[d]
    return scores, e + 1, losses


def guest_features(name):
    with open(os.path.join(DATA, name + "_hetero_guest.csv")) as f:
        return len(f.readline().split(",")) - 2


def fate_local_baseline_auc(name):
    """FATE's own comparison for the LR benchmark: sklearn-lr-binary.py with
    default_credit_lr_sklearn_config.yaml (SGDClassifier, log loss, L2
    alpha 0.05, 30 iterations, optimal learning rate, random_state 105) on
    the pooled data, not scaled."""
    from sklearn.linear_model import SGDClassifier
    X, y = pooled(name)
    m = SGDClassifier(loss="log_loss", penalty="l2", max_iter=30, alpha=0.05,
                      learning_rate="optimal", eta0=0.1, random_state=105)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    return roc_auc_score(y, m.predict_proba(X)[:, 1])


@pytest.fixture
def work():
    with tempfile.TemporaryDirectory(prefix="ffq-") as d:
        yield d


def upload(work, name):
    g, h = os.path.join(work, "tables", "g"), os.path.join(work, "tables", "h")
    al.import_table(os.path.join(DATA, name + "_hetero_guest.csv"), g, label="y")
    al.import_table(os.path.join(DATA, name + "_hetero_host.csv"), h)
    return g, h


def test_breast_benchmark_within_one_percent(work):
    g, h = upload(work, "breast")
    loc = al.Local(os.path.join(work, "run"), [])
    t0 = time.time()
    m = al.quick_start(loc, g, h, lr_params=BREAST_LR)
    auc, ks = al.eval_value(m, "auc"), al.eval_value(m, "ks")
    ref = sklearn_auc("breast")
    print("\nbreast: federated AUC %.4f KS %.4f in %.1f s (quick-start DAG: psi, scale, "
          "binning, iv selection, lr, evaluation); sklearn LogisticRegression %.4f "
          "(ratio %.4f)" % (auc, ks, time.time() - t0, ref, auc / ref))
    assert auc >= 0.99 * ref
    # the selection kept most columns (IV >= 0.1) and every task wrote its outputs
    kept = loc.out("selection_0", "guest", "9999", "data", "train_output_data")
    assert al.read_count(kept) == 569
    losses = [r["data"][0]["metric"] for r in loc.metrics["lr_0"] if r["name"] == "lr_loss"]
    assert len(losses) >= 2 and losses[-1] < losses[0]


def sid_order(loc, work, task="psi_0"):
    """The guest's rows (in table order) sorted by sample id: FATE's
    DataLoader batches, as coordinated_lr cuts them."""
    _, rows = al.export_rows(loc.out(task, "guest", "9999", "data", "output_data"), work)
    return np.array(sorted(range(len(rows)), key=lambda i: (rows[i][0], i)))


@pytest.mark.skipif(not FULL, reason="default credit takes ~80 s: FEDFLOW_FULL=1")
def test_default_credit_benchmark(work):
    """FATE's default-credit LR benchmark as FATE runs it
    (pipeline-lr-binary.py: psi -> coordinated_lr, no scaling, the data are
    standardized already) against the numpy emulation of FATE's algorithm
    on the same batches, FATE's own gate (1 % of its local SGDClassifier)
    and scikit-learn's LogisticRegression."""
    g, h = upload(work, "default_credit")
    loc = al.Local(os.path.join(work, "run"), [])
    t0 = time.time()
    m = al.quick_start(loc, g, h, lr_params=CREDIT_LR, scale=False, binning=False,
                       selection=False)
    secs = time.time() - t0
    auc = al.eval_value(m, "auc")
    epochs = [r for r in loc.metrics["lr_0"] if r["name"] == "lr_loss"]
    ref = sklearn_auc("default_credit")
    local = fate_local_baseline_auc("default_credit")
    X, y = pooled("default_credit")
    order = sid_order(loc, work)
    dg = guest_features("default_credit")
    s, ep, losses = fate_taylor(X, y, dg, CREDIT_LR, order)
    fate = roc_auc_score(y, s)
    _, ep_fl, _ = fate_taylor(X, y, dg, CREDIT_LR, order, fate_loss=True)
    print("\ndefault credit: federated AUC %.4f in %.1f s, %d epochs; FATE's algorithm "
          "emulated in numpy on the same batches %.4f (%d epochs; %d with FATE's reported "
          "loss); FATE's local SGDClassifier %.4f (ratio %.4f); sklearn LogisticRegression "
          "%.4f (ratio %.4f)" % (auc, secs, len(epochs), fate, ep, ep_fl, local, auc / local,
                                 ref, auc / ref))
    # fedflow computes FATE's algorithm: the same AUC, epochs and losses
    assert abs(auc - fate) <= 2e-4
    assert len(epochs) == ep
    got = [r["data"][0]["metric"] for r in sorted(epochs, key=lambda r: r["data"][0]["step"])]
    assert np.allclose(got, losses, rtol=1e-5, atol=1e-6)
    # FATE's own quality gate for this benchmark (lr_benchmark.yaml, relative_tol 0.01)
    assert auc >= 0.99 * local
    # within 2 % of the centralized LR; 1 % is out of reach of FATE's objective
    # with L2 alpha 0.1 (test_default_credit_fate_objective_optimum)
    assert auc >= 0.98 * ref


def test_default_credit_fate_objective_optimum():
    """Why issue 5's bar (1 % of LogisticRegression, AUC >= 0.7170) is out of
    reach with FATE's settings: the minimizer of FATE's own objective (the
    Taylor loss plus 0.1/2 |w|^2, intercept free) and even the exact logistic
    loss with the same L2 both score below it on the training data; the L2
    alpha 0.1, not the Taylor approximation or the optimizer, costs the AUC."""
    X, y = pooled("default_credit")
    n, d = X.shape
    ref = sklearn_auc("default_credit")
    Xa = np.hstack([X, np.ones((n, 1))])
    ypm = np.where(y == 1, 1.0, -1.0)
    aucs = {}
    for alpha in (0.1, 0.0):
        R = alpha * np.eye(d + 1)
        R[d, d] = 0
        w = np.linalg.solve(Xa.T @ Xa / (4 * n) + R, Xa.T @ ypm / (2 * n))
        aucs[alpha] = roc_auc_score(y, Xa @ w)
    exact = LogisticRegression(C=1 / (0.1 * n), max_iter=5000).fit(X, y)
    exact_auc = roc_auc_score(y, exact.decision_function(X))
    print("\ndefault credit: optimum of FATE's objective (Taylor + L2 0.1) %.4f, without L2 "
          "%.4f; exact logistic loss + L2 0.1 %.4f; LogisticRegression %.4f, 1 %% bar %.4f"
          % (aucs[0.1], aucs[0.0], exact_auc, ref, 0.99 * ref))
    assert aucs[0.1] < 0.99 * ref and exact_auc < 0.99 * ref
    assert aucs[0.0] > aucs[0.1] + 0.004


@pytest.mark.skipif(not FULL, reason="default credit takes ~80 s: FEDFLOW_FULL=1")
@pytest.mark.xfail(strict=True, reason="FATE's algorithm with FATE's settings (L2 alpha 0.1) "
                   "reaches 0.712-0.713, below 0.99 x LogisticRegression's 0.724; the optimum "
                   "of FATE's own objective is 0.713 (test_default_credit_fate_objective_optimum)")
def test_default_credit_within_one_percent_of_logistic_regression(work):
    g, h = upload(work, "default_credit")
    loc = al.Local(os.path.join(work, "run"), [])
    m = al.quick_start(loc, g, h, lr_params=CREDIT_LR, scale=False, binning=False,
                       selection=False)
    assert al.eval_value(m, "auc") >= 0.99 * sklearn_auc("default_credit")


def write_ids(path, ids, label=False, seed=0):
    rnd = random.Random(seed)
    with open(path, "w") as f:
        f.write("id,y,x0\n" if label else "id,x0\n")
        for i in ids:
            if label:
                f.write("%s,%d,%.6f\n" % (i, rnd.randint(0, 1), rnd.random()))
            else:
                f.write("%s,%.6f\n" % (i, rnd.random()))


def psi_case(work, n_guest, n_host, n_common, dup_guest=0, seed=1):
    rnd = random.Random(seed)
    universe = rnd.sample(range(10 ** 9), n_guest + n_host - n_common)
    common = universe[:n_common]
    gids = common + universe[n_common:n_guest]
    hids = common + universe[n_guest:]
    gids += rnd.sample(common, dup_guest) if dup_guest else []
    rnd.shuffle(gids)
    rnd.shuffle(hids)
    gcsv, hcsv = os.path.join(work, "g.csv"), os.path.join(work, "h.csv")
    write_ids(gcsv, ["u%d" % i for i in gids], label=True, seed=seed)
    write_ids(hcsv, ["u%d" % i for i in hids], seed=seed + 1)
    g, h = os.path.join(work, "t", "g"), os.path.join(work, "t", "h")
    al.import_table(gcsv, g, label="y")
    al.import_table(hcsv, h)
    loc = al.Local(os.path.join(work, "run"), [])
    G, H = ("guest", "9999"), ("host", "10000")
    t0 = time.time()
    loc.run("psi_0", "psi", stage="default", parties=[G, H],
            inputs={G: {"input_data": al.table_artifact(g)}, H: {"input_data": al.table_artifact(h)}},
            outputs=("output_data",), models=())
    secs = time.time() - t0
    truth = set("u%d" % i for i in common)
    return loc, truth, secs, gids


def check_psi(loc, work, truth, gids):
    summ = {r["role"]: r["data"] for r in loc.metrics["psi_0"] if r["name"] == "summary"}
    hg, grows = al.export_rows(loc.out("psi_0", "guest", "9999", "data", "output_data"), work)
    hh, hrows = al.export_rows(loc.out("psi_0", "host", "10000", "data", "output_data"), work)
    gid = hg.index("id")
    hid = hh.index("id")
    expected_rows = sum(1 for i in gids if "u%d" % i in truth)
    assert summ["guest"]["intersect_count"] == expected_rows
    assert summ["host"]["intersect_count"] == expected_rows
    assert summ["guest"]["input_count"] == len(gids)
    assert len(grows) == len(hrows) == expected_rows
    assert {r[gid] for r in grows} == truth          # exactly the true intersection
    for a, b in zip(grows, hrows):                   # aligned: same sample id, same match id
        assert a[0] == b[0] and a[gid] == b[hid]
    return summ


def test_psi_known_overlap_exact(work):
    loc, truth, secs, gids = psi_case(work, 3000, 2500, 1234, dup_guest=17)
    summ = check_psi(loc, work, truth, gids)
    print("\npsi 3000 x 2500 (1234 common, 17 guest duplicates): %d rows, rate %.4f, %.2f s"
          % (summ["guest"]["intersect_count"], summ["guest"]["intersect_rate"], secs))


@pytest.mark.skipif(not FULL, reason="100,000 x 100,000 PSI: FEDFLOW_FULL=1")
def test_psi_100k_exact(work):
    loc, truth, secs, gids = psi_case(work, 100000, 100000, 37000, seed=7)
    check_psi(loc, work, truth, gids)
    print("\npsi 100000 x 100000 (37000 common): %.1f s, %.0f ids/s per party"
          % (secs, 200000 / secs / 2))


def test_predict_stage_statistics_and_other_filters(work):
    """Train (scale min_max, binning with woe, selection manual + statistics
    + iv, lr), then a predict job through every predict stage with the
    trained models: the predicted scores equal the train output's."""
    g, h = upload(work, "breast")
    loc = al.Local(os.path.join(work, "run"), [])
    G, H, A = GH[0], GH[1], GHA[2]
    ins = aligned(loc, g, h)
    loc.run("scale_0", "feature_scale", parties=GH, inputs=ins,
            params={None: {"method": "min_max", "feature_range": [-1, 1]}})
    sc = {p: {"train_data": loc.out("scale_0", p[0], p[1], "data", "train_output_data")}
          for p in GH}
    loc.run("stat_0", "statistics", stage="default", parties=GH,
            inputs={p: {"input_data": sc[p]["train_data"]} for p in GH},
            params={None: {"metrics": ["mean", "std", "max", "median", "75%", "skewness",
                                       "missing_count"]}}, outputs=())
    stat = loc.out("stat_0", "guest", "9999", "model", "output_model")
    with open(stat["uri"][7:]) as f:
        import json
        sm = json.load(f)
    X, _ = pooled("breast")
    col = X[:, 0]
    mm = 2 * (col - col.min()) / (col.max() - col.min()) - 1
    assert abs(sm["data"]["metrics_summary"]["mean"]["x0"] - mm.mean()) < 1e-9
    assert abs(sm["data"]["metrics_summary"]["max"]["x0"] - 1.0) < 1e-12
    loc.run("binning_0", "hetero_feature_binning", parties=GH, inputs=sc,
            params={None: {"method": "bucket", "n_bins": 8}})
    models = {p: [loc.out("binning_0", p[0], p[1], "model", "output_model"),
                  loc.out("stat_0", p[0], p[1], "model", "output_model")] for p in GH}
    loc.run("sel_0", "hetero_feature_selection", parties=GH,
            inputs={p: {"train_data": sc[p]["train_data"], "input_models": models[p]}
                    for p in GH},
            params={None: {"method": ["manual", "statistics", "iv"],
                           "manual_param": {"filter_out_col": ["x9"]},
                           "statistic_param": {"metrics": ["std"], "threshold": 0.05},
                           "iv_param": {"metrics": "iv", "threshold": 0.2}},
                    H: {"manual_param": {"filter_out_col": ["x19"]}}},
            models=("train_output_model",))
    hs, _ = al.export_rows(loc.out("sel_0", "host", "10000", "data", "train_output_data"), work)
    gs, _ = al.export_rows(loc.out("sel_0", "guest", "9999", "data", "train_output_data"), work)
    assert "x9" not in gs and "x19" not in hs and len(hs) > 5
    sel = {p: {"train_data": loc.out("sel_0", p[0], p[1], "data", "train_output_data")}
           for p in GH}
    loc.run("lr_0", "coordinated_lr", parties=GHA, inputs=sel,
            params={None: dict(BREAST_LR, epochs=5)})
    # predict job over the aligned raw tables with the trained models
    t = {p: loc.out("psi_a", p[0], p[1], "data", "output_data") for p in GH}
    loc.run("scale_1", "feature_scale", stage="predict", parties=GH,
            inputs={p: {"test_data": t[p], "input_model": loc.out("scale_0", p[0], p[1], "model",
                                                                 "output_model")} for p in GH},
            outputs=("test_output_data",), models=())
    loc.run("binning_1", "hetero_feature_binning", stage="predict", parties=GH,
            params={None: {"transform_method": "bin_idx"}},
            inputs={p: {"test_data": loc.out("scale_1", p[0], p[1], "data", "test_output_data"),
                        "input_model": loc.out("binning_0", p[0], p[1], "model", "output_model")}
                    for p in GH}, outputs=("test_output_data",), models=())
    hb, rows = al.export_rows(loc.out("binning_1", "host", "10000", "data", "test_output_data"),
                              work)
    assert {r[hb.index("x3")] for r in rows} <= {str(i) for i in range(8)}
    loc.run("sel_1", "hetero_feature_selection", stage="predict", parties=GH,
            inputs={p: {"test_data": loc.out("scale_1", p[0], p[1], "data", "test_output_data"),
                        "input_model": loc.out("sel_0", p[0], p[1], "model",
                                               "train_output_model")} for p in GH},
            outputs=("test_output_data",), models=())
    loc.run("lr_1", "coordinated_lr", stage="predict", parties=GH,
            inputs={p: {"test_data": loc.out("sel_1", p[0], p[1], "data", "test_output_data"),
                        "input_model": loc.out("lr_0", p[0], p[1], "model", "output_model")}
                    for p in GH}, outputs=("test_output_data",), models=())
    th, trows = al.export_rows(loc.out("lr_0", "guest", "9999", "data", "train_output_data"), work)
    ph, prows = al.export_rows(loc.out("lr_1", "guest", "9999", "data", "test_output_data"), work)
    ts, ps = th.index("predict_score"), ph.index("predict_score")
    assert len(trows) == len(prows) == 569
    for a, b in zip(trows, prows):
        assert a[0] == b[0] and abs(float(a[ts]) - float(b[ps])) < 1e-9
    assert {r[ph.index("type")] for r in prows} == {"2"}
    loc.run("eval_1", "evaluation", stage="default", parties=[G],
            inputs={G: {"input_datas": [loc.out("lr_0", "guest", "9999", "data",
                                                "train_output_data"),
                                        loc.out("lr_1", "guest", "9999", "data",
                                                "test_output_data")]}},
            params={None: {"metrics": ["auc", "ks", "roc_curve", "binary_accuracy"]}},
            outputs=(), models=())
    ev = loc.metrics["eval_1"][0]["data"]
    assert ev["lr_1"]["test_set"][0]["val"] == ev["lr_0"]["train_set"][0]["val"]
    roc = ev["lr_0"]["train_set"][2]["val"]
    assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1
    del A


def ref_woe_iv(col, y, splits, adjust=0.5):
    """FATE's bins (x <= split, last bin open) and IV without the first bin."""
    import bisect
    k = len(splits)
    ev, ne = [0.0] * k, [0.0] * k
    for v, t in zip(col, y):
        b = min(bisect.bisect_left(splits, v), k - 1)
        if t == 1:
            ev[b] += 1
        else:
            ne[b] += 1
    E, N = sum(ev) or 1, sum(ne) or 1
    er = [e / E + (adjust if e == 0 else 0) for e in ev]
    nr = [n / N + (adjust if n == 0 else 0) for n in ne]
    ivb = [(a - b) * np.log(a / b) for a, b in zip(er, nr)]
    return ev, ne, sum(ivb[1:])


def fate_quantile_splits(col, n_bins):
    s = np.sort(col)
    n = len(s)
    qs = [i * (1.0 / n_bins) for i in range(1, n_bins)] + [1.0]
    pts = [s[max(1, int(np.floor(q * n))) - 1] for q in qs]
    return sorted(set(pts))


@pytest.mark.parametrize("method", ["quantile", "bucket", "manual"])
def test_binning_iv_matches_reference(work, method):
    """The guest's IVs of its own and of the host's columns (the host's from
    encrypted label sums) equal a plain computation on the pooled data."""
    g, h = upload(work, "breast")
    loc = al.Local(os.path.join(work, "run"), [])
    ins = aligned(loc, g, h)
    X, y = pooled("breast")
    params = {"method": method, "n_bins": 6}
    if method == "manual":
        params = {"method": "manual", "bin_col": ["x0", "x1", "x2"],
                  "split_pt_dict": {"x0": [-1, 0, 1, 9], "x1": [0.5, 9], "x2": [-0.5, 0, 9]}}
    loc.run("binning_0", "hetero_feature_binning", parties=GH, inputs=ins, params={None: params})
    path = loc.out("binning_0", "guest", "9999", "model", "output_model")["uri"][7:]
    with open(path) as f:
        model = json.load(f)["data"]
    iv_g = model["metrics_summary"]["iv"]
    iv_h = model["host_metrics_summary"]["10000"]["iv"]
    cols = params.get("bin_col") or ["x%d" % j for j in range(10)]
    for side, base, ivs, prefix in (("guest", 0, iv_g, ""), ("host", 10, iv_h, "host_10000_")):
        names = cols if side == "guest" or method == "manual" else \
            ["x%d" % j for j in range(20)]
        for name in names:
            j = int(name[1:])
            col = X[:, base + j]
            if method == "quantile":
                sp = fate_quantile_splits(col, 6)
            elif method == "bucket":
                lo, hi = col.min(), col.max()
                sp = sorted(set([lo + i * (hi - lo) / 6 for i in range(1, 6)] + [hi]))
            else:
                sp = params["split_pt_dict"][name]
            _, _, iv = ref_woe_iv(col, y, sp)
            got = ivs[(prefix + "x%d" % j) if side == "host" else name]
            assert abs(got - iv) <= 1e-9 * max(1, abs(iv)), (side, name, got, iv)


# ---------------------------------------------------------------- bad inputs

def run_expect_fail(loc, name, component, parties, needle, **kw):
    r = loc.run(name, component, parties=parties, check=False, **kw)
    assert r["returncode"] != 0, r["stderr"]
    msgs = {k: m["status"].get("exceptions") or "" for k, m in r["parties"].items()}
    assert any(needle in m for m in msgs.values()), (needle, msgs)
    return msgs


def small_tables(work, label=True, host_ids=None, extra_guest_col=None):
    X, y = pooled("breast")
    gcsv, hcsv = os.path.join(work, "g.csv"), os.path.join(work, "h.csv")
    with open(gcsv, "w") as f:
        f.write("id," + ("y," if label else "") + ",".join("x%d" % j for j in range(10)) +
                ("," + extra_guest_col if extra_guest_col else "") + "\n")
        for i in range(len(y)):
            f.write("%d," % i + ("%d," % y[i] if label else "") +
                    ",".join("%.6f" % v for v in X[i, :10]) + (",3.5" if extra_guest_col else "") + "\n")
    with open(hcsv, "w") as f:
        f.write("id," + ",".join("x%d" % j for j in range(20)) + "\n")
        for i in range(len(y)):
            hid = host_ids(i) if host_ids else i
            f.write("%d," % hid + ",".join("%.6f" % v for v in X[i, 10:]) + "\n")
    g, h = os.path.join(work, "t", "g"), os.path.join(work, "t", "h")
    al.import_table(gcsv, g, label="y" if label else None)
    al.import_table(hcsv, h)
    return g, h


GH = [("guest", "9999"), ("host", "10000")]
GHA = GH + [("arbiter", "10001")]


def inputs_of(g, h, key="train_data"):
    return {GH[0]: {key: al.table_artifact(g)}, GH[1]: {key: al.table_artifact(h)}}


def aligned(loc, g, h, key="train_data"):
    """Runs psi on the two tables; the aligned outputs as inputs under key."""
    loc.run("psi_a", "psi", stage="default", parties=GH, inputs=inputs_of(g, h, "input_data"),
            outputs=("output_data",), models=())
    return {p: {key: loc.out("psi_a", p[0], p[1], "data", "output_data")} for p in GH}


def test_missing_label(work):
    g, h = small_tables(work, label=False)
    loc = al.Local(os.path.join(work, "run"), [])
    run_expect_fail(loc, "lr_0", "coordinated_lr", GHA, "has no label column",
                    inputs=inputs_of(g, h), timeout_ms=20000)
    run_expect_fail(loc, "binning_0", "hetero_feature_binning", GH, "has no label column",
                    inputs=inputs_of(g, h), timeout_ms=20000)


def test_no_overlap_gives_empty_psi_then_clear_failure(work):
    g, h = small_tables(work, host_ids=lambda i: 100000 + i)
    loc = al.Local(os.path.join(work, "run"), [])
    loc.run("psi_0", "psi", stage="default", parties=GH,
            inputs=inputs_of(g, h, "input_data"), outputs=("output_data",), models=())
    summ = {r["role"]: r["data"] for r in loc.metrics["psi_0"]}
    assert summ["guest"]["intersect_count"] == 0 and summ["guest"]["intersect_rate"] == 0
    out = {p: {"train_data": loc.out("psi_0", p[0], p[1], "data", "output_data")} for p in GH}
    msgs = run_expect_fail(loc, "scale_0", "feature_scale", GH, "has no rows", inputs=out)
    assert "psi" in msgs[GH[0]]
    run_expect_fail(loc, "lr_0", "coordinated_lr", GHA, "has no rows", inputs=out,
                    timeout_ms=20000)


def test_constant_feature(work):
    g, h = small_tables(work, extra_guest_col="const")
    loc = al.Local(os.path.join(work, "run"), [])
    m = al.quick_start(loc, g, h, lr_params=BREAST_LR)
    assert al.eval_value(m, "auc") > 0.98
    # the constant column went through scaling (as 0) and binning (one bin)
    hdr, rows = al.export_rows(loc.out("scale_0", "guest", "9999", "data", "train_output_data"),
                               work)
    c = hdr.index("const")
    assert {r[c] for r in rows} == {"0"}


def test_key_below_1024_refused(work):
    g, h = small_tables(work)
    loc = al.Local(os.path.join(work, "run"), [])
    p = {None: {"he_param": {"kind": "paillier", "key_length": 512}}}
    msgs = run_expect_fail(loc, "lr_0", "coordinated_lr", GHA,
                           "key_length 512 is below the minimum of 1024 bits",
                           inputs=inputs_of(g, h), params=p, timeout_ms=20000)
    assert all(msgs.values())
    run_expect_fail(loc, "binning_0", "hetero_feature_binning", GH,
                    "key_length 512 is below the minimum of 1024 bits", inputs=inputs_of(g, h),
                    params=p, timeout_ms=20000)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nonfinite_value_refused_naming_the_column(work, value):
    g, h = small_tables(work)
    bad = os.path.join(work, "t", "h_bad")
    al.patch_table(h, bad, "x7", 42, value)
    loc = al.Local(os.path.join(work, "run"), [])
    kind = "nan" if value == "nan" else "inf"
    needle = "column 'x7' has a non-finite value (%s) at row 43" % kind
    for comp, params in (("feature_scale", {}), ("hetero_feature_binning", {}),
                         ("coordinated_lr", {})):
        parties = GHA if comp == "coordinated_lr" else GH
        msgs = run_expect_fail(loc, comp + "_x", comp, parties, needle,
                               inputs=inputs_of(g, bad), params={None: params}, timeout_ms=20000)
        assert needle in msgs[GH[1]]


@pytest.mark.parametrize("fault,victim,needle", [
    ("lr.e0.b0.xw:host:truncate", "guest", "malformed message 'lr.e0.b0.xw' from host 10000"),
    ("lr.e0.b1.g:host:empty", "arbiter", "malformed message 'lr.e0.b1.g' from host 10000"),
    ("lr.e0.b0.d:guest:garble", "host", "malformed message 'lr.e0.b0.d' from guest 9999"),
    ("psi.host_first_sign:host:truncate", "guest", "malformed message 'psi.host_first_sign'"),
    ("binning.event_count:host:truncate", "guest", "malformed message 'binning.event_count'"),
])
def test_malformed_message_fails_clearly(work, fault, victim, needle):
    g, h = small_tables(work)
    loc = al.Local(os.path.join(work, "run"), [])
    comp = fault.split(".")[0]
    comp = {"lr": "coordinated_lr", "psi": "psi", "binning": "hetero_feature_binning"}[comp]
    parties = GHA if comp == "coordinated_lr" else GH
    ins = inputs_of(g, h, "input_data") if comp == "psi" else aligned(loc, g, h)
    t0 = time.time()
    r = loc.run("t_0", comp, stage="default" if comp == "psi" else "train", parties=parties,
                inputs=ins, params={None: {"batch_size": 200}} if comp ==
                "coordinated_lr" else {}, fault=fault, timeout_ms=60000, check=False,
                outputs=("output_data",) if comp == "psi" else ("train_output_data",))
    assert r["returncode"] != 0
    assert time.time() - t0 < 50, "a party waited for its receive timeout"
    msgs = {k[0]: m["status"].get("exceptions") or "" for k, m in r["parties"].items()}
    assert needle in msgs[victim], msgs


# ------------------------------------------------------- through a daemon

def daemon_quick_start(d, dag_file):
    """Uploads breast (guest, host) into d, runs dag_file; returns (job, evaluation data)."""
    import yaml
    import datahelp
    datahelp.upload(d, datahelp.GUEST_CONF)
    datahelp.upload(d, datahelp.HOST_CONF)
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(root, "examples", dag_file)) as f:
        dag = yaml.safe_load(f)
    job, _ = d.submit(dag)
    status = d.wait(job, timeout=900)
    assert status == "success", [(t["task_name"], t["role"], t["party_status"],
                                  t.get("error")) for t in d.tasks(job)]
    m = d.get("/v2/output/metric/query", job_id=job, role="guest", party_id="9999",
              task_name="evaluation_0")
    assert m["code"] == 0, m
    ev = [x for x in m["data"] if x["name"] == "evaluation"]
    assert ev, m
    return job, ev[0]["data"]


def daemon_auc(data, metric="auc"):
    for item in data["lr_0"]["train_set"]:
        for it in (item if isinstance(item, list) else [item]):
            if it["metric"] == metric:
                return it["val"]
    raise KeyError(metric)


def test_quality_daemon(make_daemon):
    """The quick-start DAG with FATE's benchmark LR settings through one
    fedflowd (standalone: the daemon plays guest 9999, host and arbiter
    9998): upload, reader, psi, scale, binning, selection, coordinated_lr,
    evaluation, all through the fed API, the data and the model store."""
    d = make_daemon()
    t0 = time.time()
    job, data = daemon_quick_start(d, "train_lr_benchmark.yaml")
    auc, ks = daemon_auc(data), daemon_auc(data, "ks")
    ref = sklearn_auc("breast")
    print("\nbreast through fedflowd: job %s, AUC %.4f KS %.4f in %.1f s; sklearn %.4f"
          % (job, auc, ks, time.time() - t0, ref))
    assert auc >= 0.99 * ref
    loss = d.get("/v2/output/metric/query", job_id=job, role="arbiter", party_id="9998",
                 task_name="lr_0")
    assert any(x["name"] == "lr_loss" for x in loss["data"]), loss
    psi = d.get("/v2/output/metric/query", job_id=job, role="guest", party_id="9999",
                task_name="psi_0")
    summ = [x for x in psi["data"] if x["name"] == "summary"][0]["data"]
    assert "569" in json.dumps(summ), summ
