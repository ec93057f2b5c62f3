# SPDX-License-Identifier: Apache-2.0
"""The message gateway (docs/internals/gateway.md): toy_example through
the API and the CLI, exactly-once, receive timeouts, large messages in
bounded memory, and two daemons in site mode forwarding a message, signed,
with every kind of bad delivery refused and nothing stored. Messages to
another site above 8 MiB go in signed segments while they are uploaded:
segments are signed by hand here to check their order, retries, the busy
answer, replays, forgeries, tampering and replacement, and a push that
breaks off half-way and is sent again.

The 200 MB message takes about 2 s here and the 1 GiB one about 5 s, so
they always run."""
import base64
import ctypes
import hashlib
import mmap
import os
import socket
import struct
import subprocess
import threading
import time
import uuid

import pytest
import requests
from nacl.signing import SigningKey

from conftest import CLI, dag, task

TOY = {"data_num": 1024, "partition": 4}


def key(session="s1", tag="t1", src=("guest", "9999"), dst=("host", "9998")):
    return {"session": session, "tag": tag, "src_role": src[0], "src_party": src[1],
            "dst_role": dst[0], "dst_party": dst[1]}


def query(k, msg_id=None):
    """The canonical query the gateway signs (fixed order, no escaping)."""
    q = "&".join("%s=%s" % (f, k[f]) for f in
                 ("session", "tag", "src_role", "src_party", "dst_role", "dst_party"))
    return q + ("&msg_id=" + msg_id if msg_id else "")


def push(d, k, body, timeout=120):
    r = requests.post(d.url + "/v2/gateway/push", params=k, data=body, timeout=timeout)
    return r.json()


def pull(d, k, wait=0, timeout=60):
    """(bytes, None) for a message, (None, envelope) otherwise."""
    r = requests.get(d.url + "/v2/gateway/pull", params=dict(k, wait=wait), timeout=timeout)
    if r.headers.get("content-type") == "application/octet-stream":
        return r.content, None
    return None, r.json()


def pull_file(d, k, wait=0, timeout=60):
    """A pull by a receiver on the gateway's host (file=1): (bytes, envelope);
    a spilled message comes as its file, which is read and deleted, as
    libfedflow does."""
    r = requests.get(d.url + "/v2/gateway/pull", params=dict(k, wait=wait, file=1),
                     timeout=timeout)
    if r.headers.get("content-type") == "application/octet-stream":
        return r.content, None
    env = r.json()
    path = (env.get("data") or {}).get("file")
    if not path:
        return None, env
    with open(path, "rb") as f:
        os.unlink(path)
        data = f.read()
    assert len(data) == env["data"]["size"], env
    return data, env


def stats(d):
    r = d.get("/v2/gateway/stats")
    assert r["code"] == 0, r
    return r["data"]


def spill_files(d):
    p = os.path.join(d.home, "gateway")
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


def rss_peak_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 << 20)
            f.write(os.urandom(n))
            left -= n


# ---------------------------------------------------------------- standalone

def test_toy_example_via_api(daemon):
    job_id, _ = daemon.submit(dag({"toy_example_0": task("toy_example", params=TOY)}))
    assert daemon.wait(job_id) == "success"
    ts = daemon.tasks(job_id)
    assert {(t["role"], t["party_status"]) for t in ts} == {("guest", "success"),
                                                           ("host", "success")}
    logs = ""
    for role, party in (("guest", "9999"), ("host", "9998")):
        with open(os.path.join(daemon.home, "logs", "%s_%s_%s_toy_example_0.log"
                               % (job_id, role, party))) as f:
            logs += f.read()
    assert "host 9998 returned all 1024 rows, verified" in logs
    assert "guest 9999 sent 1024 sample ids, all found" in logs
    # FATE's outputs: the rows as output_data, {"test_role": role} as the model
    for role, party in (("guest", "9999"), ("host", "9998")):
        q = dict(job_id=job_id, role=role, party_id=party, task_name="toy_example_0")
        shown = daemon.get("/v2/output/data/display", **q)["output_data"][0]
        assert shown["total"] == 1024 and len(shown["data"]) == 100, shown
        models = daemon.get("/v2/output/model/query", **q)
        assert models["code"] == 0, models
        assert models["data"]["json_model_output"] == {"test_role": role}, models


def test_toy_example_via_cli(daemon):
    out = subprocess.run([CLI, "--server", daemon.url, "test", "toy", "-gid", "9999",
                          "-hid", "9998", "-t", "60"], capture_output=True, text=True,
                         timeout=90)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("is success"), out.stdout


def test_toy_example_bad_parameters(daemon):
    job_id, _ = daemon.submit(dag({"toy_0": task("toy_example",
                                                  params={"data_num": 0, "partition": 4})}))
    assert daemon.wait(job_id) == "failed"
    errs = [t["error_report"] for t in daemon.tasks(job_id)]
    assert any("'data_num' must be 1 to" in e for e in errs), errs


def test_send_receive_exactly_once(daemon):
    k = key(session="once_" + uuid.uuid4().hex, tag="x")
    r = push(daemon, k, b"hello")
    assert r["code"] == 0 and r["data"]["size"] == 5, r
    r = push(daemon, k, b"hello again")
    assert r["code"] == 8002, r
    assert "message 'x' from guest 9999 to host 9998" in r["message"]
    assert "already sent" in r["message"]
    body, env = pull(daemon, k)
    assert body == b"hello", env
    body, env = pull(daemon, k)
    assert body is None and env["code"] == 8002 and "already received" in env["message"]
    # after delivery the key is still taken
    r = push(daemon, k, b"third")
    assert r["code"] == 8002, r
    # other tags, directions and sessions are other messages
    for other in (dict(k, tag="y"), dict(k, src_party="9998", dst_party="9999"),
                  dict(k, session=k["session"] + "b")):
        assert push(daemon, other, b"z")["code"] == 0
        assert pull(daemon, other)[0] == b"z"


def test_empty_message_and_bad_keys(daemon):
    k = key(session="empty_" + uuid.uuid4().hex)
    assert push(daemon, k, b"")["code"] == 0
    body, env = pull(daemon, k)
    assert body == b"", env
    bad = [(dict(k, tag="no spaces"), "bad message tag 'no spaces'"),
           (dict(k, tag="x" * 129), "parameter 'tag' is longer than 128"),
           (dict(k, session=""), "missing required parameter 'session'"),
           (dict(k, dst_party="a/b"), "bad message dst_party 'a/b'")]
    for b, text in bad:
        r = push(daemon, b, b"x")
        assert r["code"] == 5001 and text in r["message"], r
        _, env = pull(daemon, b)
        assert env["code"] == 5001 and text in env["message"], env
    k2 = dict(k)
    del k2["tag"]
    r = requests.post(daemon.url + "/v2/gateway/push", params=k2, data=b"x").json()
    assert r["code"] == 5001 and "'tag'" in r["message"], r


def test_long_poll(daemon):
    k = key(session="poll_" + uuid.uuid4().hex)
    t0 = time.time()
    body, env = pull(daemon, k, wait=300)
    assert body is None and env == {"code": 0, "message": "success",
                                     "data": {"ready": False}}, env
    assert 0.25 < time.time() - t0 < 5
    got = {}

    def receiver():
        got["r"] = pull(daemon, k, wait=10000)
        got["t"] = time.time()

    th = threading.Thread(target=receiver)
    th.start()
    time.sleep(0.5)
    sent = time.time()
    assert push(daemon, k, b"late")["code"] == 0
    th.join(15)
    assert got["r"][0] == b"late"
    assert got["t"] - sent < 1.0   # handed over at once, not at the end of the wait


def test_receive_timeout_fails_the_task(daemon):
    job_id, _ = daemon.submit(dag({"xfer": task("gateway_transfer", params={
        "size": 100, "host_silent": True, "federation_timeout": 2})}))
    t0 = time.time()
    assert daemon.wait(job_id, timeout=60) == "failed"
    ts = {t["role"]: t for t in daemon.tasks(job_id)}
    # the silent host outlives the guest's wait; the failed job stops it
    assert ts["host"]["party_status"] in ("failed", "canceled"), ts["host"]
    err = ts["guest"]["error_report"]
    assert "timed out after 2 s waiting for message 'ack' from host 9998" in err, err
    assert time.time() - t0 < 30


def test_messages_dropped_when_the_task_ends(make_daemon):
    """The silent host never takes the guest's message; when the tasks end
    the gateway drops it and refuses late messages for them."""
    d = make_daemon()
    job_id, _ = d.submit(dag({"xfer": task("gateway_transfer", params={
        "size": 5000, "host_silent": True, "federation_timeout": 1})}))
    assert d.wait(job_id, timeout=60) == "failed"
    # the host is stopped when the job fails; its end (and drop) follows
    deadline = time.time() + 10
    st = stats(d)
    while st["dropped"] < 2 and time.time() < deadline:
        time.sleep(0.05)
        st = stats(d)
    assert st["dropped"] == 2 and st["ready"] == 0 and st["mem_bytes"] == 0, st
    t = d.tasks(job_id, role="host")[0]
    session = "%s_%s" % (t["task_id"], t["task_version"])
    r = push(d, key(session=session, tag="late"), b"x")
    assert r["code"] != 0 and "the task of host 9998 in session" in r["message"], r
    assert "has ended" in r["message"]
    _, env = pull(d, key(session=session, tag="payload"))
    assert env["code"] != 0 and "has ended" in env["message"], env


def run_transfer(d, tmp_path, size, timeout):
    src = str(tmp_path / "src.bin")
    dst = str(tmp_path / "dst.bin")
    random_file(src, size)
    job_id, _ = d.submit(dag({"xfer": task("gateway_transfer", params={
        "source": src, "target": dst, "tag": "big"})}))
    peak = 0
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        peak = max(peak, rss_peak_kb(d.proc.pid))
        rows = d.jobs(job_id)
        if rows and all(r["status"] in ("success", "failed", "canceled") for r in rows):
            status = rows[0]["status"]
            break
        time.sleep(0.05)
    peak = max(peak, rss_peak_kb(d.proc.pid))
    assert status == "success", [t["error_report"] for t in d.tasks(job_id)]
    assert os.path.getsize(dst) == size
    assert sha256_file(dst) == sha256_file(src)
    # the gateway held the message in a spill file, never in memory, and
    # deleted the file once the host had it
    assert peak < 100 * 1024, "fedflowd peak RSS %d kB" % peak
    assert spill_files(d) == []
    assert stats(d)["mem_bytes"] == 0
    return peak


def test_20mb_message_between_tasks(make_daemon, tmp_path):
    d = make_daemon()
    run_transfer(d, tmp_path, 20 * 1000 * 1000 + 7, 60)


def test_20mb_message_into_memory(make_daemon):
    """The host receives into one buffer (ff_fed_recv): the spilled message
    comes as its file, read and deleted by the task."""
    d = make_daemon()
    job_id, _ = d.submit(dag({"xfer": task("gateway_transfer", params={
        "size": 20 * 1000 * 1000 + 5, "into_memory": True, "tag": "big"})}))
    assert d.wait(job_id, timeout=60) == "success", \
        [t["error_report"] for t in d.tasks(job_id)]
    assert spill_files(d) == []
    assert stats(d)["mem_bytes"] == 0


def test_200mb_message_between_tasks(make_daemon, tmp_path):
    d = make_daemon()
    run_transfer(d, tmp_path, 200 * 1000 * 1000 + 3, 180)


def test_spill_and_memory_limits(daemon):
    """Small bodies stay in memory, large ones go to a file that is gone
    once the message is received."""
    s = "spill_" + uuid.uuid4().hex
    small, big = key(session=s, tag="small"), key(session=s, tag="big")
    data = os.urandom(3 << 20)
    st0 = stats(daemon)
    assert push(daemon, small, data[:1000])["code"] == 0
    assert push(daemon, big, data)["code"] == 0
    st = stats(daemon)
    assert st["spill_files"] == st0["spill_files"] + 1, st
    assert st["spill_bytes"] == st0["spill_bytes"] + len(data), st
    assert st["mem_bytes"] == st0["mem_bytes"] + 1000, st
    assert pull(daemon, big)[0] == data
    assert pull(daemon, small)[0] == data[:1000]
    st = stats(daemon)
    for f in ("spill_files", "spill_bytes", "mem_bytes"):
        assert st[f] == st0[f], (f, st, st0)


def test_receive_spilled_message_as_file(daemon):
    """A receiver on the gateway's host asks for spilled messages as files:
    it is named the spill file instead of being sent its bytes; small
    messages still come in the answer; exactly once holds either way."""
    s = "file_" + uuid.uuid4().hex
    small, big, later = (key(session=s, tag=t) for t in ("small", "big", "later"))
    data = os.urandom(3 << 20)
    assert push(daemon, small, data[:1000])["code"] == 0
    assert push(daemon, big, data)["code"] == 0
    got, env = pull_file(daemon, big)
    assert got == data, env
    assert env["data"]["ready"] is True
    assert os.path.dirname(env["data"]["file"]) == os.path.join(daemon.home, "gateway")
    assert pull_file(daemon, big)[1]["code"] == 8002
    assert pull(daemon, big)[1]["code"] == 8002
    assert pull_file(daemon, small) == (data[:1000], None)
    # a receiver that came first is named the file when the message arrives
    res = {}
    th = threading.Thread(target=lambda: res.setdefault("r", pull_file(daemon, later,
                                                                       wait=30000)))
    th.start()
    time.sleep(0.3)
    assert push(daemon, later, data[::-1])["code"] == 0
    th.join(30)
    assert res["r"][0] == data[::-1], res["r"][1]
    assert spill_files(daemon) == []
    assert stats(daemon)["mem_bytes"] == 0


# ---------------------------------------------------------------- two sites

def read_key(home):
    with open(os.path.join(home, "site.key")) as f:
        sk = base64.b64decode(f.read().strip())
    with open(os.path.join(home, "site.pub")) as f:
        pub = f.read().strip()
    return SigningKey(sk[:32]), pub


def add_route(d, party, url, pub):
    import sqlite3
    con = sqlite3.connect(os.path.join(d.home, "fedflow.db"), timeout=10)
    now = int(time.time() * 1000)
    con.execute("INSERT OR REPLACE INTO t_site_route (f_party_id, f_url, f_public_key,"
                " f_create_time, f_update_time) VALUES (?, ?, ?, ?, ?)",
                (party, url, pub, now, now))
    con.commit()
    con.close()


@pytest.fixture
def two_sites(make_daemon):
    a = make_daemon("9999", mode="site")
    b = make_daemon("10000", mode="site")
    a.sk, a.pub = read_key(a.home)
    b.sk, b.pub = read_key(b.home)
    add_route(a, "10000", b.url, b.pub)
    add_route(b, "9999", a.url, a.pub)
    return a, b


def signed_deliver(b, sk, party, k, body, msg_id=None, ts=None, nonce=None, sig=None,
                   sha=None, seg=None, sent_query=None):
    """seg=(off, total): one segment of a message sent in segments. sent_query
    replaces the query on the wire (to check that the signed one is checked)."""
    msg_id = msg_id or uuid.uuid4().hex
    q = query(k, msg_id) + ("&off=%d&total=%d" % seg if seg else "")
    ts = str(ts if ts is not None else int(time.time() * 1000))
    nonce = nonce or uuid.uuid4().hex
    sha = sha or hashlib.sha256(body).hexdigest()
    text = "\n".join(["POST", "/v2/gateway/deliver", q, ts, nonce, sha]).encode()
    if sig is None:
        sig = base64.b64encode(sk.sign(text).signature).decode()
    headers = {"X-Fedflow-Party": party, "X-Fedflow-Timestamp": ts,
               "X-Fedflow-Nonce": nonce, "X-Fedflow-Signature": sig,
               "X-Fedflow-Content-Sha256": sha, "Content-Type": "application/octet-stream"}
    r = requests.post(b.url + "/v2/gateway/deliver?" + (sent_query or q), data=body,
                      headers=headers, timeout=60)
    return r.json(), headers, q


def test_two_sites_forward(two_sites, tmp_path):
    a, b = two_sites
    k = key(session="fwd_" + uuid.uuid4().hex, tag="hello", src=("guest", "9999"),
            dst=("host", "10000"))
    r = push(a, k, b"over the wire")
    assert r["code"] == 0 and r["data"]["tries"] == 1, r
    assert stats(a)["done"] == 1 and stats(a)["ready"] == 0
    assert stats(b)["ready"] == 1
    body, env = pull(b, k)
    assert body == b"over the wire", env
    # exactly once across sites: A refuses the same key, B refuses a second receive
    assert push(a, k, b"again")["code"] == 8002
    assert pull(b, k)[1]["code"] == 8002
    # the receiver may come first: it is handed the message when it arrives
    k2 = dict(k, tag="big")
    data = os.urandom(20 * 1000 * 1000 + 1)
    got = {}
    th = threading.Thread(target=lambda: got.setdefault("r", pull(b, k2, wait=30000)))
    th.start()
    time.sleep(0.3)
    r = push(a, k2, data)
    assert r["code"] == 0 and r["data"]["size"] == len(data), r
    th.join(60)
    assert hashlib.sha256(got["r"][0]).hexdigest() == hashlib.sha256(data).hexdigest()
    assert spill_files(a) == [] and spill_files(b) == []
    # ... also as the file its segments were stored in
    k3 = dict(k, tag="big_file")
    th = threading.Thread(target=lambda: got.setdefault("f", pull_file(b, k3, wait=30000)))
    th.start()
    time.sleep(0.3)
    r = push(a, k3, data[::-1])
    assert r["code"] == 0 and r["data"]["size"] == len(data), r
    th.join(60)
    assert "file" in got["f"][1]["data"], got["f"][1]
    assert hashlib.sha256(got["f"][0]).hexdigest() == hashlib.sha256(data[::-1]).hexdigest()
    assert spill_files(a) == [] and spill_files(b) == []
    # a task receives at its own site only, and sends from its own party
    assert pull(a, k)[1]["code"] == 5001
    assert push(a, dict(k, tag="x", src_party="10000"), b"x")["code"] == 5001


def test_two_sites_unreachable_or_unrouted(two_sites):
    a, b = two_sites
    k = key(session="nr_" + uuid.uuid4().hex, dst=("host", "10001"))
    r = push(a, k, b"x")
    assert r["code"] != 0 and "'10001' is not in this site's route table" in r["message"], r
    # a route to a site that is down: retried with backoff, then a clear error
    add_route(a, "10002", "http://127.0.0.1:9", b.pub)
    k = key(session="down_" + uuid.uuid4().hex, dst=("host", "10002"))
    t0 = time.time()
    r = push(a, k, b"x")
    assert r["code"] == 104, r
    assert "message 't1' from guest 9999 to host 10002" in r["message"]
    assert "http://127.0.0.1:9" in r["message"] and "after 3 tries" in r["message"], r
    assert time.time() - t0 >= 1.4  # 500 ms + 1 s of backoff
    # the failed message can be sent again once the site is back
    add_route(a, "10002", b.url, b.pub)
    assert stats(a)["forwarding"] == 0


def test_bad_deliveries_refused_nothing_stored(two_sites):
    a, b = two_sites
    k = key(session="sig_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    body = os.urandom(3 << 20)   # large enough to be spilled if it were kept
    before = stats(b)
    other = SigningKey.generate()

    def refused(r, code, text):
        assert r["code"] == code, r
        assert text in r["message"], r
        st = stats(b)
        for f in ("messages", "ready", "receiving", "spill_files", "spill_bytes"):
            assert st[f] == before[f], (f, st, before)

    # forged: signed by another key
    r, _, _ = signed_deliver(b, other, "9999", k, body)
    refused(r, 5003, "signature does not match")
    # forged: a valid signature over another body
    r, _, _ = signed_deliver(b, a.sk, "9999", k, body, sha=hashlib.sha256(b"x").hexdigest())
    refused(r, 5003, "does not match its signed SHA-256")
    # expired: two minutes old
    r, _, _ = signed_deliver(b, a.sk, "9999", k, body, ts=int(time.time() * 1000) - 120000)
    refused(r, 5000, "expired")
    # unknown party
    r, _, _ = signed_deliver(b, other, "12345", dict(k, src_party="12345"), body)
    refused(r, 5003, "'12345' is not a partner of this site")
    # not signed at all
    r = requests.post(b.url + "/v2/gateway/deliver?" + query(k, uuid.uuid4().hex),
                      data=body).json()
    refused(r, 5003, "not signed")
    # a partner delivering another party's message
    r, _, _ = signed_deliver(b, a.sk, "9999", dict(k, src_party="10001"), body)
    refused(r, 5003, "cannot deliver messages of party '10001'")
    # replayed: a valid delivery is stored once; the same request again is refused
    r, headers, q = signed_deliver(b, a.sk, "9999", k, body)
    assert r["code"] == 0, r
    before = stats(b)
    assert before["ready"] == 1
    assert before["spill_files"] == 1 and before["spill_bytes"] == len(body)
    r = requests.post(b.url + "/v2/gateway/deliver?" + q, data=body, headers=headers).json()
    refused(r, 5003, "already used")
    got, env = pull(b, k)
    assert got == body, env
    assert spill_files(b) == []


def test_delivery_retry_is_idempotent(two_sites):
    """A partner that retries a delivery whose answer it lost (same msg_id)
    gets success, and the message is stored once."""
    a, b = two_sites
    k = key(session="idem_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    mid = uuid.uuid4().hex
    r, _, _ = signed_deliver(b, a.sk, "9999", k, b"once", msg_id=mid)
    assert r["code"] == 0 and r["data"]["again"] is False, r
    r, _, _ = signed_deliver(b, a.sk, "9999", k, b"once", msg_id=mid)
    assert r["code"] == 0 and r["data"]["again"] is True, r
    r, _, _ = signed_deliver(b, a.sk, "9999", k, b"once", msg_id=uuid.uuid4().hex)
    assert r["code"] == 8002, r
    assert pull(b, k)[0] == b"once"


MIB = 1 << 20


def test_segments_signed_by_hand(two_sites):
    """A partner's message in three segments: only in order, each signed
    with its place, retries are success, a held segment answers "busy",
    and the message appears whole or not at all."""
    a, b = two_sites
    k = key(session="seg_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    data = os.urandom(7 * MIB)
    total = len(data)
    segs = [(0, 3 * MIB), (3 * MIB, 6 * MIB), (6 * MIB, total)]
    mid = uuid.uuid4().hex
    before = stats(b)

    def part(i):
        return data[segs[i][0]:segs[i][1]]

    def send(i, **kw):
        kw.setdefault("msg_id", mid)
        return signed_deliver(b, a.sk, "9999", k, part(i), seg=(segs[i][0], total), **kw)

    def same(**want):
        st = stats(b)
        for f, v in want.items():
            assert st[f] == before[f] + v, (f, st, before)

    # the first segment must come first
    r, _, _ = send(1)
    assert r["code"] != 0 and "has no start here" in r["message"], r
    same(messages=0, receiving=0, spill_files=0)
    r, _, _ = send(0)
    assert r["code"] == 0 and r["data"] == {"size": 3 * MIB, "again": False}, r
    same(messages=1, receiving=1, ready=0, spill_files=1, spill_bytes=3 * MIB)
    _, env = pull(b, k)
    assert env["data"] == {"ready": False}, env   # not visible while partial
    # a retry of a stored segment (its answer was lost) is success, stored once
    r, _, _ = send(0)
    assert r["code"] == 0 and r["data"]["again"] is True, r
    # out of order, a place not matching the signed one, another key, a replay
    r, _, _ = send(2)
    assert r["code"] != 0 and "does not follow the 3145728 bytes received" in r["message"], r
    r, _, q = send(1, sent_query=query(k, mid) + "&off=%d&total=%d" % (3 * MIB, total + MIB))
    assert r["code"] == 5003 and "signature" in r["message"], r
    r, _, _ = signed_deliver(b, SigningKey.generate(), "9999", k, part(1), msg_id=mid,
                             seg=(3 * MIB, total))
    assert r["code"] == 5003, r
    r, _, _ = signed_deliver(b, a.sk, "9999", k, part(1)[:100], msg_id=mid,
                             seg=(total - 50, total))
    assert r["code"] == 5001 and "does not fit" in r["message"], r
    same(messages=1, receiving=1, spill_files=1, spill_bytes=3 * MIB)
    # segment 1 held open half-sent by one connection: a second attempt is told to retry
    ts = str(int(time.time() * 1000))
    nonce = uuid.uuid4().hex
    sq = query(k, mid) + "&off=%d&total=%d" % (3 * MIB, total)
    sha = hashlib.sha256(part(1)).hexdigest()
    text = "\n".join(["POST", "/v2/gateway/deliver", sq, ts, nonce, sha]).encode()
    sig = base64.b64encode(a.sk.sign(text).signature).decode()
    held = socket.create_connection(("127.0.0.1", b.port))
    held.sendall(("POST /v2/gateway/deliver?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                  "X-Fedflow-Party: 9999\r\nX-Fedflow-Timestamp: %s\r\nX-Fedflow-Nonce: %s\r\n"
                  "X-Fedflow-Signature: %s\r\nX-Fedflow-Content-Sha256: %s\r\n\r\n"
                  % (sq, len(part(1)), ts, nonce, sig, sha)).encode())
    held.sendall(part(1)[:MIB])
    deadline = time.time() + 10
    while True:
        r, _, _ = send(1)
        if r["code"] != 0 or time.time() > deadline:
            break
        time.sleep(0.1)   # the held request had not started yet
    assert r["code"] != 0 and r["data"] == {"retry": True}, r
    assert "is being received" in r["message"], r
    held.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    held.close()
    # once the broken-off request is noticed, the retry goes through (its tail cut off)
    deadline = time.time() + 10
    while True:
        r, headers1, q1 = send(1)
        if r["code"] == 0 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert r["code"] == 0 and r["data"]["again"] is False, r
    same(messages=1, receiving=1, spill_bytes=6 * MIB)
    r = requests.post(b.url + "/v2/gateway/deliver?" + q1, data=part(1), headers=headers1).json()
    assert r["code"] == 5003 and "already used" in r["message"], r
    # the receiver comes first; the last segment completes the message and hands it over
    got = {}
    th = threading.Thread(target=lambda: got.setdefault("r", pull(b, k, wait=10000)))
    th.start()
    time.sleep(0.3)
    r, _, _ = send(2)
    assert r["code"] == 0, r
    th.join(15)
    assert got["r"][0] == data
    same(messages=1, receiving=0, ready=0, done=1, spill_files=0, spill_bytes=0)
    # after it was received: a late retry is success, another delivery a duplicate
    r, _, _ = send(2)
    assert r["code"] == 0 and r["data"]["again"] is True, r
    r, _, _ = send(0, msg_id=uuid.uuid4().hex)
    assert r["code"] == 8002, r


def test_segments_tampered_or_replaced(two_sites):
    a, b = two_sites
    data = os.urandom(4 * MIB)
    total = len(data)
    before = stats(b)
    # a segment whose bytes do not match its signed SHA-256: the whole message goes
    k = key(session="tamper_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    mid = uuid.uuid4().hex
    r, _, _ = signed_deliver(b, a.sk, "9999", k, data[:2 * MIB], msg_id=mid, seg=(0, total))
    assert r["code"] == 0, r
    assert stats(b)["spill_files"] == before["spill_files"] + 1
    r, _, _ = signed_deliver(b, a.sk, "9999", k, data[2 * MIB:], msg_id=mid, seg=(2 * MIB, total),
                             sha=hashlib.sha256(b"other").hexdigest())
    assert r["code"] == 5003 and "does not match its signed SHA-256" in r["message"], r
    st = stats(b)
    for f in ("messages", "receiving", "ready", "spill_files", "spill_bytes"):
        assert st[f] == before[f], (f, st, before)
    r, _, _ = signed_deliver(b, a.sk, "9999", k, data[2 * MIB:], msg_id=mid, seg=(2 * MIB, total))
    assert r["code"] != 0 and "has no start here" in r["message"], r
    # a sender that gave a partial up sends the message again under a new msg_id
    r, _, _ = signed_deliver(b, a.sk, "9999", k, os.urandom(2 * MIB), msg_id=mid, seg=(0, total))
    assert r["code"] == 0, r
    mid2 = uuid.uuid4().hex
    for off in (0, 2 * MIB):
        r, _, _ = signed_deliver(b, a.sk, "9999", k, data[off:off + 2 * MIB], msg_id=mid2,
                                 seg=(off, total))
        assert r["code"] == 0, r
    assert pull(b, k)[0] == data
    assert spill_files(b) == []


def follow_pull(d, k, token=None, seen=0, wait=0, **extra):
    """A follower's pull (file=1&follow=...): the envelope."""
    params = dict(k, wait=wait, file=1, follow=token if token else 1, **extra)
    if token:
        params["seen"] = seen
    r = requests.get(d.url + "/v2/gateway/pull", params=params, timeout=60)
    return r.json()


def punch(fd, off, n):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    assert libc.fallocate(fd, 0x03, off, n) == 0, ctypes.get_errno()


def test_follow_a_message_in_segments(two_sites):
    """A receiver on B's host follows a partner's message while its segments
    arrive: it is named the partial's file and the verified bytes, reads
    them, frees them, and asks again with its token; the message is its
    own from the first answer (exactly once), and the file is gone at the
    end."""
    a, b = two_sites
    k = key(session="follow_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    data = os.urandom(6 * MIB)
    total = len(data)
    mid = uuid.uuid4().hex
    before = stats(b)

    def send(i):
        r, _, _ = signed_deliver(b, a.sk, "9999", k, data[2 * i * MIB:2 * (i + 1) * MIB],
                                 msg_id=mid, seg=(2 * i * MIB, total))
        assert r["code"] == 0, r

    # nothing there yet: not yet (bad parameters refused first)
    env = follow_pull(b, k)
    assert env["code"] == 0 and env["data"] == {"ready": False}, env
    for bad in ({"follow": "x"}, {"follow": "7"}, {"follow": "-1"}):
        r = requests.get(b.url + "/v2/gateway/pull", params=dict(k, file=1, **bad),
                         timeout=10).json()
        assert r["code"] == 5001 and "'follow'" in r["message"], (bad, r)
    send(0)
    env = follow_pull(b, k)
    d = env["data"]
    assert env["code"] == 0 and d["partial"] is True and d["have"] == 2 * MIB, env
    assert d["size"] == total and d["follow"] >= 2, env
    token, path = d["follow"], d["file"]
    assert os.path.dirname(path) == os.path.join(b.home, "gateway"), path
    assert stats(b)["followed"] == before["followed"] + 1
    fd = os.open(path, os.O_RDWR)
    got = bytearray(total)
    got[:2 * MIB] = os.pread(fd, 2 * MIB, 0)
    punch(fd, 0, 2 * MIB)
    # the message is the follower's: others are refused, so is a wrong token
    for env in (pull_file(b, k)[1], pull(b, k)[1], follow_pull(b, k),
                follow_pull(b, k, token=token + 1, seen=0)):
        assert env["code"] == 8002 and "already received" in env["message"], env
    # nothing new: not yet; the next segment answers a parked follower
    env = follow_pull(b, k, token=token, seen=2 * MIB)
    assert env["data"] == {"ready": False}, env
    res = {}
    th = threading.Thread(target=lambda: res.setdefault(
        "r", follow_pull(b, k, token=token, seen=2 * MIB, wait=10000)))
    th.start()
    time.sleep(0.3)
    send(1)
    th.join(15)
    d = res["r"]["data"]
    assert d["partial"] is True and d["have"] == 4 * MIB and d["follow"] == token, res
    got[2 * MIB:4 * MIB] = os.pread(fd, 2 * MIB, 2 * MIB)
    # the last segment: the next pull names the rest of the file, without "partial"
    send(2)
    env = follow_pull(b, k, token=token, seen=4 * MIB)
    d = env["data"]
    assert env["code"] == 0 and "partial" not in d and d["follow"] == token, env
    assert d["file"] == path and d["size"] == total, env
    got[4 * MIB:] = os.pread(fd, 2 * MIB, 4 * MIB)
    os.unlink(path)
    os.close(fd)
    assert bytes(got) == data
    env = follow_pull(b, k, token=token, seen=total)
    assert env["code"] == 8002, env
    st = stats(b)
    assert st["done"] == before["done"] + 1 and st["receiving"] == before["receiving"], st
    assert spill_files(b) == []


def test_follow_into_a_ring(two_sites):
    """A receiver that waits to follow a partner's message before its first
    segment gets it through a ring in shared memory: the answers name the
    ring and its size, byte x is at x % ring, a segment that would overwrite
    bytes the follower has not read waits and is then refused for now
    (retry, nothing changed), and the follower's next pull makes room."""
    a, b = two_sites
    k = key(session="ring_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    seg, ring_size = 2 * MIB, 32 * MIB
    nseg = ring_size // seg
    data = os.urandom((nseg + 1) * seg)
    total = len(data)
    mid = uuid.uuid4().hex
    before = stats(b)

    def send(i):
        r, _, _ = signed_deliver(b, a.sk, "9999", k, data[i * seg:(i + 1) * seg],
                                 msg_id=mid, seg=(i * seg, total))
        return r

    res = {}
    th = threading.Thread(target=lambda: res.setdefault("r", follow_pull(b, k, wait=10000)))
    th.start()
    time.sleep(0.3)   # parked before the first segment
    assert send(0)["code"] == 0
    th.join(15)
    d = res["r"]["data"]
    assert d["partial"] is True and d["have"] == seg and d["ring"] == ring_size, res
    token, path = d["follow"], d["file"]
    assert path.startswith("/dev/shm/ffgw-"), path
    assert stats(b)["rings"] == before["rings"] + 1
    fd = os.open(path, os.O_RDONLY)
    ring = mmap.mmap(fd, ring_size, prot=mmap.PROT_READ)
    for i in range(1, nseg):
        assert send(i)["code"] == 0
    # the ring is full of unread bytes: the last segment waits, then is refused for now
    r = send(nseg)
    assert r["code"] != 0 and r["data"] == {"retry": True}, r
    assert "has read 0 of the %d bytes" % ring_size in r["message"], r
    env = follow_pull(b, k, token=token, seen=0)
    assert env["data"]["have"] == ring_size, env          # nothing changed
    assert ring[:] == data[:ring_size]
    # the follower has read the first segment: the last one goes in, where it was
    env = follow_pull(b, k, token=token, seen=seg)
    assert env["code"] == 0 and env["data"]["have"] == ring_size, env
    assert send(nseg)["code"] == 0
    env = follow_pull(b, k, token=token, seen=ring_size)
    d = env["data"]
    assert "partial" not in d and d["follow"] == token and d["ring"] == ring_size, env
    assert d["size"] == total and d["file"] == path, env
    assert ring[:seg] == data[ring_size:] and ring[seg:] == data[seg:ring_size]
    ring.close()
    os.close(fd)
    os.unlink(path)
    st = stats(b)
    assert st["done"] == before["done"] + 1 and st["receiving"] == before["receiving"], st
    assert spill_files(b) == []
    # a receiver that was not waiting at the first segment gets a spill file (above)
    k2 = dict(k, tag="late")
    r, _, _ = signed_deliver(b, a.sk, "9999", k2, data[:seg], msg_id=uuid.uuid4().hex,
                             seg=(0, total))
    assert r["code"] == 0, r
    env = follow_pull(b, k2)
    assert "ring" not in env["data"], env
    assert os.path.dirname(env["data"]["file"]) == os.path.join(b.home, "gateway"), env


def ring_call(d, path, **params):
    r = requests.post(d.url + path, params=params, timeout=60)
    return r.json()


def ring_open(d, k, size):
    return ring_call(d, "/v2/gateway/push/ring", size=size, **k)


def ring_step(d, k, push_id, written, need=None):
    return ring_call(d, "/v2/gateway/push/ring/step", push=push_id, written=written,
                     need=written if need is None else need, **k)


def ring_write(d, k, data):
    """A ring push as libfedflow does it: (open answer, last step's envelope)."""
    o = ring_open(d, k, len(data))
    assert o["code"] == 0 and o["data"]["ring"], o
    seg, slots, pid = o["data"]["segment"], o["data"]["slots"], o["data"]["push"]
    fd = os.open(o["data"]["ring"], os.O_RDWR)
    ring = mmap.mmap(fd, seg * slots)
    os.close(fd)
    nseg = (len(data) + seg - 1) // seg
    env = {"code": 0, "data": {"free": True, "done": False}}
    for i in range(nseg + 1):
        while env["code"] == 0 and not env["data"]["free"] and not env["data"]["done"]:
            env = ring_step(d, k, pid, i)
        if i == nseg or env["code"] != 0 or env["data"]["done"]:
            break
        part = data[i * seg:(i + 1) * seg]
        ring[(i % slots) * seg:(i % slots) * seg + len(part)] = part
        env = ring_step(d, k, pid, i + 1)
    ring.close()
    return o, env


def test_ring_push_between_two_sites(two_sites):
    """A task at A writes a 30 MB message into the ring its gateway offers
    (4 slots of 8 MiB: the slots are reused), steps, and the last step
    answers once B stored it; nothing is left at A, in /dev/shm neither."""
    a, b = two_sites
    k = key(session="rp_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    data = os.urandom(30 * 1000 * 1000 + 7)
    before = stats(a)
    o, env = ring_write(a, k, data)
    assert o["data"]["slots"] == 4 and o["data"]["segment"] == 8 * MIB, o
    assert o["data"]["ring"].startswith("/dev/shm/ffgw-%d-" % a.proc.pid), o
    assert env["code"] == 0 and env["data"]["done"] and env["data"]["size"] == len(data), env
    got, _ = pull(b, k)
    assert got == data
    st = stats(a)
    assert st["ring_pushes"] == before["ring_pushes"] + 1 and st["done"] == before["done"] + 1
    assert st["mem_bytes"] == 0 and st["receiving"] == 0 and st["forwarding"] == 0, st
    assert not os.path.exists(o["data"]["ring"])
    # exactly once: the same key again is refused, through a ring or a push
    r = ring_open(a, k, len(data))
    assert r["code"] == 8002, r
    assert push(a, k, b"x")["code"] == 8002


def test_ring_push_offered_only_where_it_pays(two_sites):
    """No ring for a small message or one whose destination is this site:
    {"ring": false}, and the task pushes; bad parameters are refused."""
    a, _ = two_sites
    k = key(session="rp_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    assert ring_open(a, k, 8 * MIB) == {"code": 0, "message": "success", "data": {"ring": False}}
    here = dict(k, dst_party="9999")
    assert ring_open(a, here, 20 * MIB)["data"] == {"ring": False}
    for bad in ("", "-1", "x", "1e9"):
        r = ring_call(a, "/v2/gateway/push/ring", size=bad, **k)
        assert r["code"] == 5001 and "'size'" in r["message"], (bad, r)
    r = ring_open(a, dict(k, src_party="10000"), 20 * MIB)
    assert r["code"] == 5001 and "not run by this site" in r["message"], r
    r = ring_open(a, dict(k, dst_party="424242"), 20 * MIB)
    assert r["code"] != 0 and "route table" in r["message"], r
    # nothing was reserved by any of them
    assert stats(a)["messages"] == 0


def test_ring_push_misuse_refused(two_sites, make_daemon):
    """Steps of a push that is not there, counts out of range, and a task
    writing into a slot whose segment was not sent yet (the partner is
    down, so segment 0 stays in its slot): refused, the push fails and the
    key is free again."""
    a, b = two_sites
    k = key(session="rp_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    r = ring_step(a, k, 12345, 0)
    assert r["code"] == 5001 and "no ring push 12345" in r["message"], r
    b.stop()
    total = 5 * 8 * MIB
    o = ring_open(a, k, total)
    assert o["code"] == 0 and o["data"]["ring"], o
    pid = o["data"]["push"]
    for bad in (6, -1):
        r = ring_step(a, k, pid, bad)
        assert r["code"] == 5001 and "'written'" in r["message"], (bad, r)
    # another key cannot step this push
    r = ring_step(a, dict(k, tag="other"), pid, 0)
    assert r["code"] == 5001 and "no ring push" in r["message"], r
    r = ring_step(a, k, pid, 4)      # slots 0..3 written: all taken, none sent
    assert r["code"] == 0 and r["data"] == {"free": False, "done": False, "size": total,
                                            "tries": 0}, r
    r = ring_step(a, k, pid, 5)      # segment 4 went into slot 0, still holding segment 0
    assert r["code"] != 0 and "while it still held segment 0" in r["message"], r
    r = ring_step(a, k, pid, 5)
    assert r["code"] == 5001 and "no ring push" in r["message"], r
    assert stats(a)["messages"] == 0
    # the ring goes with the forward, once its tries of segment 0 are over
    deadline = time.time() + 60
    while os.path.exists(o["data"]["ring"]) and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(o["data"]["ring"])


def test_ring_push_abandoned_when_idle(make_daemon):
    """A ring push its task stops stepping is abandoned after
    scheduler.ring_push_idle: the key can be sent again, the ring is gone."""
    a = make_daemon("9999", mode="site", scheduler={"ring_push_idle": 300})
    b = make_daemon("10000", mode="site")
    a.sk, a.pub = read_key(a.home)
    b.sk, b.pub = read_key(b.home)
    add_route(a, "10000", b.url, b.pub)
    add_route(b, "9999", a.url, a.pub)
    k = key(session="rp_" + uuid.uuid4().hex, tag="m", src=("guest", "9999"),
            dst=("host", "10000"))
    o = ring_open(a, k, 20 * MIB)
    assert o["code"] == 0 and o["data"]["ring"], o
    deadline = time.time() + 10
    while stats(a)["messages"] and time.time() < deadline:
        time.sleep(0.05)
    assert stats(a)["messages"] == 0
    assert not os.path.exists(o["data"]["ring"])
    r = ring_step(a, k, o["data"]["push"], 1)
    assert r["code"] == 5001 and "abandoned after 300 ms" in r["message"], r
    data = os.urandom(20 * MIB)
    o, env = ring_write(a, k, data)
    assert env["code"] == 0 and env["data"]["done"], env
    assert pull(b, k)[0] == data


def raw_push(d, k, total, chunks, stop_after=None):
    """POSTs a push of total bytes from an iterator of chunks on a raw
    socket; stop_after: reset the connection after that many bytes (a
    reset: libmicrohttpd may not notice a plain close in the middle of a
    body before its connection timeout). Returns the answer's envelope
    (None when cut off)."""
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(("POST /v2/gateway/push?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
               % (query(k), total)).encode())
    sent = 0
    for c in chunks:
        if stop_after is not None and sent + len(c) > stop_after:
            s.sendall(c[:stop_after - sent])
            time.sleep(0.5)   # let the daemon read it all
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            return None
        s.sendall(c)
        sent += len(c)
    f = s.makefile("rb")
    n = 0
    while True:
        ln = f.readline()
        if ln.lower().startswith(b"content-length:"):
            n = int(ln.split(b":")[1])
        if ln in (b"\r\n", b""):
            break
    body = f.read(n)
    s.close()
    import json
    return json.loads(body)


def blocks(seed, total, size=MIB):
    """total bytes: a random block, the block number stamped in each."""
    base = bytearray(seed)
    for i in range(0, total, size):
        base[0:8] = i.to_bytes(8, "little")
        yield bytes(base[:min(size, total - i)])


def raw_pull_sha(d, k, wait=60000):
    """Receives k into a running SHA-256 (never whole in memory): (size, hex)."""
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(("GET /v2/gateway/pull?%s&wait=%d HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
               % (query(k), wait)).encode())
    f = s.makefile("rb", buffering=1 << 20)
    n, octet = 0, False
    while True:
        ln = f.readline()
        if ln.lower().startswith(b"content-length:"):
            n = int(ln.split(b":")[1])
        if ln.lower().startswith(b"content-type:") and b"octet-stream" in ln:
            octet = True
        if ln in (b"\r\n", b""):
            break
    assert octet, f.read(n)
    h = hashlib.sha256()
    got = 0
    while got < n:
        c = f.read(min(1 << 20, n - got))
        if not c:
            break
        h.update(c)
        got += len(c)
    s.close()
    return got, h.hexdigest()


def test_push_broken_off_then_sent_again(two_sites):
    """A task's upload of a large message to another site breaks off after
    two segments went ahead: nothing stays at its site, the partial at the
    destination is not visible, and the task's new attempt replaces it."""
    a, b = two_sites
    k = key(session="broken_" + uuid.uuid4().hex, tag="big", src=("guest", "9999"),
            dst=("host", "10000"))
    total = 30 * MIB + 7
    seed = os.urandom(MIB)
    assert raw_push(a, k, total, blocks(seed, total), stop_after=20 * MIB) is None
    deadline = time.time() + 10
    while time.time() < deadline:
        sa, sb = stats(a), stats(b)
        if sa["messages"] == 0 and sa["spill_files"] == 0 and sa["mem_bytes"] == 0 and \
                sb["receiving"] == 1:
            break
        time.sleep(0.1)
    assert (sa["messages"], sa["forwarding"], sa["spill_files"], sa["mem_bytes"]) == (0, 0, 0, 0), sa
    assert sb["receiving"] == 1 and sb["ready"] == 0, sb
    _, env = pull(b, k)
    assert env["data"] == {"ready": False}, env
    seed2 = os.urandom(MIB)
    r = raw_push(a, k, total, blocks(seed2, total))
    assert r["code"] == 0 and r["data"]["size"] == total, r
    want = hashlib.sha256(b"".join(blocks(seed2, total))).hexdigest()
    assert raw_pull_sha(b, k) == (total, want)
    assert spill_files(a) == [] and spill_files(b) == []
    assert stats(a)["mem_bytes"] == 0 and stats(b)["mem_bytes"] == 0


def test_1gib_message_between_two_sites(two_sites):
    """1 GiB from a task at A to a task at B, forwarded in segments while it
    is uploaded: the daemons' peak RSS stays below 100 MB, and nothing is
    left behind."""
    a, b = two_sites
    k = key(session="gib_" + uuid.uuid4().hex, tag="big", src=("guest", "9999"),
            dst=("host", "10000"))
    total = 1 << 30
    seed = os.urandom(MIB)
    want = hashlib.sha256()
    for c in blocks(seed, total):
        want.update(c)
    got = {}
    th = threading.Thread(target=lambda: got.setdefault("r", raw_pull_sha(b, k)))
    th.start()
    time.sleep(0.3)
    r = raw_push(a, k, total, blocks(seed, total))
    assert r["code"] == 0 and r["data"]["size"] == total and r["data"]["tries"] == 1, r
    th.join(120)
    assert got["r"] == (total, want.hexdigest())
    for d in (a, b):
        peak = rss_peak_kb(d.proc.pid)
        assert 0 < peak < 100 * 1024, "fedflowd peak RSS %d kB" % peak
        st = stats(d)
        assert st["spill_files"] == 0 and st["mem_bytes"] == 0, st
    assert stats(a)["done"] == 1 and stats(b)["done"] == 1


# ------------------------------------------------ jobs across three sites

@pytest.fixture(scope="module")
def fed():
    from sites import Federation
    f = Federation()
    yield f
    out = f.down()
    assert "did not stop" not in out, out


def fed_wait(fed, job_id, n, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = [r for d in fed.sites.values() for r in d.jobs(job_id)]
        if len(rows) == n and all(r["status"] in ("success", "failed", "canceled")
                                  for r in rows):
            return {r["status"] for r in rows}
        time.sleep(0.05)
    raise AssertionError("job %s did not end on every site" % job_id)


def test_toy_example_across_sites(fed):
    from conftest import parties
    g = fed.sites["9999"]
    d = dag({"toy_example_0": task("toy_example", params=TOY)},
            parties_=parties(("guest", "9999"), ("host", "10000"), ("host", "10001")))
    job_id, _ = g.submit(d)
    assert fed_wait(fed, job_id, 3) == {"success"}
    # every message was taken: none left at any gateway
    for pid, site_ in fed.sites.items():
        st = stats(site_)
        assert st["ready"] == 0 and st["mem_bytes"] == 0 and st["spill_files"] == 0, (pid, st)
    out = subprocess.run([CLI, "--server", g.url, "test", "toy", "-gid", "9999", "-hid",
                          "10000", "-t", "60"], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0 and out.stdout.strip().endswith("is success"), \
        out.stdout + out.stderr


def test_200mb_message_across_sites(fed, tmp_path):
    from conftest import parties
    g = fed.sites["9999"]
    size = 200 * 1000 * 1000 + 5
    src, dst = str(tmp_path / "src.bin"), str(tmp_path / "dst.bin")
    random_file(src, size)
    d = dag({"xfer": task("gateway_transfer", params={"source": src, "target": dst})},
            parties_=parties(("guest", "9999"), ("host", "10000")))
    followed = stats(fed.sites["10000"])["followed"]
    ring_pushes = stats(g)["ring_pushes"]
    job_id, _ = g.submit(d)
    pids = {p: fed.pid_of(p) for p in ("9999", "10000")}
    assert fed_wait(fed, job_id, 2, timeout=300) == {"success"}, \
        [t["error_report"] for s in fed.sites.values() for t in s.tasks(job_id)]
    assert os.path.getsize(dst) == size and sha256_file(dst) == sha256_file(src)
    # the host's task wrote the message to its file while it arrived; the
    # guest's ff_fed_send_fd read it into the ring its gateway offered
    assert stats(fed.sites["10000"])["followed"] == followed + 1
    assert stats(g)["ring_pushes"] == ring_pushes + 1
    for p, pid in pids.items():
        peak = rss_peak_kb(pid)
        assert 0 < peak < 100 * 1024, "site %s: fedflowd peak RSS %d kB" % (p, peak)
        assert spill_files(fed.sites[p]) == []


def test_message_into_memory_across_sites(fed):
    """ff_fed_recv at B follows the message while its segments arrive. (After
    the 200 MB test, whose RSS check an earlier stream would skew in an ASan
    build: freed segment slots stay in its quarantine.)"""
    from conftest import parties
    g, h = fed.sites["9999"], fed.sites["10000"]
    before = stats(h)["followed"]
    d = dag({"xfer": task("gateway_transfer", params={"size": 30 * 1000 * 1000 + 3,
                                                      "into_memory": True})},
            parties_=parties(("guest", "9999"), ("host", "10000")))
    job_id, _ = g.submit(d)
    assert fed_wait(fed, job_id, 2, timeout=120) == {"success"}, \
        [t["error_report"] for s in fed.sites.values() for t in s.tasks(job_id)]
    assert stats(h)["followed"] == before + 1
    for site_ in (g, h):
        assert spill_files(site_) == []


@pytest.mark.parametrize("into_memory", [True, False])
def test_message_through_a_ring_across_sites(fed, tmp_path, into_memory):
    """The host's ff_fed_recv waits before the guest sends (send_delay_ms):
    the message comes through a ring in shared memory (into a buffer, or
    into a file), intact, and no ring is left in /dev/shm."""
    from conftest import parties
    g, h = fed.sites["9999"], fed.sites["10000"]
    before, sent_before = stats(h), stats(g)["ring_pushes"]
    params = {"size": 70 * MIB + 5, "send_delay_ms": 1500}
    if into_memory:
        params["into_memory"] = True
    else:
        params["target"] = str(tmp_path / "dst.bin")
    d = dag({"xfer": task("gateway_transfer", params=params)},
            parties_=parties(("guest", "9999"), ("host", "10000")))
    job_id, _ = g.submit(d)
    assert fed_wait(fed, job_id, 2, timeout=120) == {"success"}, \
        [t["error_report"] for s in fed.sites.values() for t in s.tasks(job_id)]
    st = stats(h)
    assert st["rings"] == before["rings"] + 1 and st["followed"] == before["followed"] + 1, st
    # and the guest's ff_fed_send wrote it into a ring at its own gateway
    assert stats(g)["ring_pushes"] == sent_before + 1
    if not into_memory:
        assert os.path.getsize(params["target"]) == params["size"]
    assert not [f for f in os.listdir("/dev/shm") if f.startswith("ffgw-%d-" % fed.pid_of("10000"))]
    for site_ in (g, h):
        assert spill_files(site_) == []
