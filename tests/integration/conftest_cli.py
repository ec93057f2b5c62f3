# SPDX-License-Identifier: Apache-2.0
"""Fixtures for testing the fedflow CLI against a recording fake server.

FakeFlow is a tiny HTTP/1.1 server on a free loopback port (one thread per
connection, keep-alive honoured) that records every request exactly as it
arrived (method, path, raw query, headers, raw body) and answers canned
responses per route. A route can be given a sequence of answers; the last
one repeats. Unknown routes answer {"code": 6000, ...} like FATE-Flow.

Import the fixtures into a test module with
    from conftest_cli import fake_flow, fedflow  # noqa: F401
(the lead owns tests/integration/conftest.py, so this file is not one).
"""
import json
import os
import pathlib
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def fedflow_binary():
    """The CLI under test: $FEDFLOW_BIN, else build/src/cli/fedflow in the repo."""
    env = os.environ.get("FEDFLOW_BIN")
    return pathlib.Path(env) if env else REPO / "build" / "src" / "cli" / "fedflow"


@dataclass
class Rec:
    method: str
    path: str
    query: str                 # raw query string ("" when none)
    headers: dict              # lower-case name -> value
    body: bytes
    raw_headers: list = field(default_factory=list)

    @property
    def args(self):
        return parse_qsl(self.query, keep_blank_values=True)

    def json(self):
        return json.loads(self.body)


class Answer:
    """A canned HTTP answer: JSON (dict/list) or raw bytes with a Content-Type."""

    def __init__(self, body, ctype="application/json", status=200):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.body, self.ctype, self.status = body, ctype, status


class FakeFlow:
    def __init__(self):
        self.requests = []
        self.routes = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path, _, query = self.path.partition("?")
                rec = Rec(self.command, path, query,
                          {k.lower(): v for k, v in self.headers.items()}, body,
                          list(self.headers.items()))
                ans = fake._answer(rec)
                self.send_response(ans.status)
                if ans.ctype is not None:
                    self.send_header("Content-Type", ans.ctype)
                self.send_header("Content-Length", str(len(ans.body)))
                self.end_headers()
                self.wfile.write(ans.body)

            do_GET = _serve
            do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def route(self, method, path, *answers):
        """Answers for METHOD /v2/path, served in order, the last one repeating."""
        with self.lock:
            self.routes[(method, "/v2/" + path)] = [
                a if isinstance(a, Answer) else Answer(a) for a in answers]

    def _answer(self, rec):
        with self.lock:
            self.requests.append(rec)
            q = self.routes.get((rec.method, rec.path))
            if not q:
                return Answer({"code": 6000, "message": "no route %s %s" % (rec.method, rec.path)})
            return q.pop(0) if len(q) > 1 else q[0]

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.routes.clear()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_flow():
    f = FakeFlow()
    yield f
    f.close()


class Runner:
    """Runs the fedflow binary with FEDFLOW_SERVER pointing at a server."""

    def __init__(self, binary, server_url):
        self.binary = binary
        self.server_url = server_url

    def __call__(self, *args, env=None, timeout=60, cwd=None, server=True):
        e = dict(os.environ)
        e.pop("FEDFLOW_SERVER", None)
        if server:
            e["FEDFLOW_SERVER"] = self.server_url
        if env:
            e.update(env)
        return subprocess.run([str(self.binary), *args], capture_output=True, text=True,
                              env=e, timeout=timeout, cwd=cwd)


@pytest.fixture
def fedflow(fake_flow):
    binary = fedflow_binary()
    if not binary.exists():
        pytest.fail("fedflow CLI not built: %s (set FEDFLOW_BIN)" % binary)
    return Runner(binary, fake_flow.url)
