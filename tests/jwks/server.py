"""A real JWKS server for the tests: stdlib ``ThreadingHTTPServer`` on a free 127.0.0.1 port.

It can rotate keys, go down (HTTP 500, or close the connection without an
answer), answer slowly (the handler waits on an Event, bounded), serve
discovery documents and oversized or endless bodies, set ``Cache-Control``,
and it counts every request by path.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jwt_middleware import Key

JWKS_PATH = "/jwks"


class JWKSServer:
    """State the handler reads on every request; change it from the test."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.documents: dict[str, dict[str, Any]] = {}  # path -> JSON served with 200
        #: "ok", "error" (HTTP 500), "drop" (close without answering), "endless" (stream forever)
        self.mode = "ok"
        self.cache_control: str | None = None
        self.raw_body: bytes | None = None  # served instead of the JWKS when set
        self.redirects: dict[str, str] = {}  # path -> Location of a 302
        #: When set, the handler waits up to ``hold_for`` seconds for ``release``.
        self.hold = False
        self.hold_for = 10.0
        self.release = threading.Event()
        #: Set when the first request of a held batch has arrived.
        self.arrived = threading.Event()
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = _Quiet(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.jwks_uri = self.url + JWKS_PATH
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> JWKSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def publish(self, keys: Iterable[Key], **extra: Any) -> None:
        """Serve these keys' public JWKs (``extra`` members added to each)."""
        self.jwks = {"keys": [{**k.public_jwk(), **extra} for k in keys]}

    def count(self, path: str = JWKS_PATH) -> int:
        with self._lock:
            return self.requests[path]

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1


class _Quiet(ThreadingHTTPServer):
    """No traceback on stderr when a client hangs up mid-answer (timeouts, size limits)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _handler(state: JWKSServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state._record(path)
            if state.hold:
                state.arrived.set()
                state.release.wait(state.hold_for)
            if state.mode == "drop":
                self.close_connection = True
                return
            if state.mode == "error":
                self._send(500, b'{"error":"down"}')
                return
            if state.mode == "endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()  # no Content-Length: the body runs until the connection ends
                chunk = b" " * 65536
                try:
                    for _ in range(10_000):
                        self.wfile.write(chunk)
                except OSError:
                    pass
                return
            if path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path in state.documents:
                self._send(200, json.dumps(state.documents[path]).encode())
            elif path == JWKS_PATH:
                body = state.raw_body if state.raw_body is not None else json.dumps(state.jwks)
                self._send(200, body if isinstance(body, bytes) else body.encode())
            else:
                self._send(404, b'{"error":"not found"}')

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if state.cache_control is not None:
                self.send_header("Cache-Control", state.cache_control)
            self.end_headers()
            self.wfile.write(body)

    return Handler
