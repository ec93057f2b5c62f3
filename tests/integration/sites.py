# SPDX-License-Identifier: Apache-2.0
"""A three-site federation for tests, started with scripts/sites: guest
9999, host 10000, arbiter 10001, each its own fedflowd, home and SQLite."""
import base64
import hashlib
import json
import os
import subprocess
import tempfile
import time

import requests

from conftest import BUILD, ROOT, Daemon, free_port

SITES = os.path.join(ROOT, "scripts", "sites")


class Federation:
    def __init__(self, ids=("9999", "10000", "10001"), sync_type="callback", liveness=300):
        self.tmp = tempfile.mkdtemp(prefix="fffed-")
        base = free_port()
        # scripts/sites takes consecutive ports: find a free run
        while not all(self._port_free(base + i) for i in range(len(ids))):
            base = free_port()
        env = dict(os.environ, FEDFLOW_BUILD=BUILD)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        out = subprocess.run([SITES, "up", "--home", self.tmp, "--count", str(len(ids)),
                              "--base-port", str(base), "--party-ids", ",".join(ids),
                              "--sync-type", sync_type],
                             capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        self.sites = {}
        self.procs = {}  # daemons restarted by the tests (our children)
        for ln in out.stdout.split("\n"):
            if ln.strip():
                pid, url, home = ln.split()
                d = Daemon.__new__(Daemon)
                d.home, d.url, d.party_id = home, url, pid
                d.port = int(url.rsplit(":", 1)[1])
                d.session = requests.Session()
                d.proc = None
                self.sites[pid] = d
        for d in self.sites.values():
            self._tune(d, liveness)

    @staticmethod
    def _port_free(port):
        import socket
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False

    def _tune(self, d, liveness):
        """Faster liveness checks for the tests (read on the next start)."""
        path = os.path.join(d.home, "fedflow.yaml")
        cfg = json.load(open(path))
        cfg["scheduler"]["liveness_interval"] = liveness
        cfg["scheduler"]["command_timeout"] = 1000
        json.dump(cfg, open(path, "w"), indent=1)

    def restart(self, pid, fault=None):
        """Restarts one site with the same home (SIGTERM, then start); with
        fault, it kills itself at that crash point (see src/base/fault.h)."""
        d = self.sites[pid]
        self.stop_site(pid)
        log = open(os.path.join(d.home, "fedflowd.out"), "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.pop("FEDFLOW_FAULT", None)
        if fault:
            env["FEDFLOW_FAULT"] = fault
        proc = subprocess.Popen([os.path.join(BUILD, "src", "fedflowd"), "--home", d.home],
                                stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        with open(os.path.join(d.home, "fedflowd.pid"), "w") as f:
            f.write(str(proc.pid))
        self.procs[pid] = proc
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if requests.get(d.url + "/v2/site/info/query", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("site %s did not restart" % pid)

    def alive(self, pid):
        """Whether the site's daemon runs (a child of ours that died is
        reaped here, or it would look alive as a zombie)."""
        proc = self.procs.get(pid)
        if proc is not None and proc.pid == self.pid_of(pid):
            return proc.poll() is None
        try:
            os.kill(self.pid_of(pid), 0)
            return True
        except ProcessLookupError:
            return False

    def pid_of(self, pid):
        return int(open(os.path.join(self.sites[pid].home, "fedflowd.pid")).read())

    def kill_site(self, pid):
        os.kill(self.pid_of(pid), 9)

    def stop_site(self, pid):
        if not self.alive(pid):
            return
        try:
            os.kill(self.pid_of(pid), 15)
        except ProcessLookupError:
            return
        for _ in range(400):
            if not self.alive(pid):
                return
            time.sleep(0.025)
        raise AssertionError("site %s did not stop on SIGTERM" % pid)

    def down(self):
        out = subprocess.run([SITES, "down", "--home", self.tmp], capture_output=True, text=True)
        return out.stdout + out.stderr

    def site_key(self, pid):
        """The site's Ed25519 signing key (its 32-byte seed), for forging tests."""
        import nacl.signing
        sk = base64.b64decode(open(os.path.join(self.sites[pid].home, "site.key")).read())
        return nacl.signing.SigningKey(sk[:32])


def signed_post(url, path, body, party, key, ts=None, nonce=None):
    """POST body to url+path signed as fedflow does (see src/auth/sign.h)."""
    raw = json.dumps(body).encode()
    ts = str(ts if ts is not None else int(time.time() * 1000))
    nonce = nonce or os.urandom(16).hex()
    text = "\n".join(["POST", path, "", ts, nonce, hashlib.sha256(raw).hexdigest()])
    sig = base64.b64encode(key.sign(text.encode()).signature).decode()
    headers = {"Content-Type": "application/json", "X-Fedflow-Party": party,
               "X-Fedflow-Timestamp": ts, "X-Fedflow-Nonce": nonce,
               "X-Fedflow-Signature": sig}
    return requests.post(url + path, data=raw, headers=headers).json(), headers, raw
