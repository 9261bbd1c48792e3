"""A slow issuer for the tests: a raw socket server that drips its answer.

Every connection gets the status line and headers at once (with a true
``Content-Length``), then the body one byte every ``pause`` seconds (with
``slow_headers=True`` the headers are dripped too). Each
connection is served by its own daemon thread. It stops by itself: a
connection ends when the body is sent, the client hangs up, ``lifetime``
seconds have passed since the server started, or :meth:`stop` is called;
the accept loop ends on the same conditions.
"""

from __future__ import annotations

import socket
import threading
import time


class DripServer:
    """Answers ``GET`` with ``body``, one byte every ``pause`` seconds, on 127.0.0.1."""

    def __init__(
        self,
        body: bytes,
        *,
        pause: float = 0.5,
        lifetime: float = 60.0,
        slow_headers: bool = False,
    ) -> None:
        self.body = body
        self.slow_headers = slow_headers
        self.pause = pause
        self.lifetime = lifetime
        #: Connections accepted (one per fetch attempt).
        self.connections = 0
        #: Answers cut short (the client went away, or the server stopped).
        self.hung_up = 0
        #: Set when the first request has been read and its answer begins.
        self.answering = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/jwks"
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._serve, name="drip-accept", daemon=True)

    def start(self) -> DripServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _serve(self) -> None:
        while self._running():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2.0)
            try:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
                )
                self.answering.set()
                slow = self.body
                if self.slow_headers:
                    slow = head.encode() + self.body
                else:
                    conn.sendall(head.encode())
                for i in range(len(slow)):
                    if self._stop.wait(self.pause) or not self._running():
                        break  # the drip pause; stopping cuts the answer short
                    conn.sendall(slow[i : i + 1])
                else:
                    return
            except OSError:
                pass
            with self._lock:
                self.hung_up += 1
