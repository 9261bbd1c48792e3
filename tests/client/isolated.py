"""Run code in a fresh interpreter where some optional libraries cannot be imported.

``run_without(["httpx"], code)`` runs ``code`` under ``python -I`` after putting a
``sys.meta_path`` finder first that raises ``ModuleNotFoundError`` (as a missing
package does) for the blocked names and their submodules. The code reports back
with ``report(value)`` (JSON); ``ATTEMPTED`` lists the blocked imports it tried.
``ECHO_SERVER`` is a tiny ``http.server`` on 127.0.0.1 for the code to call: a
GET answers the ``Authorization`` header it received, a POST to ``/token`` is an
OAuth 2 token endpoint (client credentials) answering ``tok-1``, ``tok-2``...
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from typing import Any

BLOCKER = """
import importlib.abc, json, sys

BLOCKED = {blocked!r}
ATTEMPTED = []


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            ATTEMPTED.append(name)
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _Blocker())


def report(value):
    print("REPORT " + json.dumps(value))
"""

ECHO_SERVER = """
import base64, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class EchoServer:
    def __init__(self):
        self.seen = []       # the Authorization header of each GET
        self.token_requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def _answer(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                server.seen.append(self.headers.get("Authorization"))
                self._answer({"authorization": self.headers.get("Authorization")})

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                basic = self.headers.get("Authorization", "").removeprefix("Basic ")
                form["basic"] = [base64.b64decode(basic).decode()]
                server.token_requests.append(form)
                n = len(server.token_requests)
                self._answer({"access_token": f"tok-{n}", "token_type": "Bearer",
                              "expires_in": 300})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.token_url = self.url + "/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
"""


def run_without(blocked: Iterable[str], code: str, *, timeout: float = 60) -> Any:
    """Run ``code`` with ``blocked`` unimportable; the value it ``report``\\ ed (exactly once)."""
    script = BLOCKER.format(blocked=sorted(set(blocked))) + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    reports = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert len(reports) == 1, done.stdout
    return json.loads(reports[0].removeprefix("REPORT "))
