"""A private redis-server for tests: free 127.0.0.1 port, temporary directory.

It never touches a shared instance (6379) and never flushes what it did not
create. By default it persists nothing (``--save "" --appendonly no``); extra
arguments (``RedisServer("--appendonly", "yes")``) come after the defaults and
so override them. ``freeze()``/``thaw()`` stop and continue the process
(``SIGSTOP``/``SIGCONT``), as a stalled host would.

Without the binary the tests skip with a reason, except when
``JWT_MIDDLEWARE_REQUIRE_REDIS=1`` (set by CI), which turns the skip into a
failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("JWT_MIDDLEWARE_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed but JWT_MIDDLEWARE_REQUIRE_REDIS=1")
        pytest.skip("redis-server is not installed (set JWT_MIDDLEWARE_REQUIRE_REDIS=1 to fail)")
    return binary


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process that a test may stop and start again (same port)."""

    def __init__(self, *extra_args: str) -> None:
        self.binary = redis_binary()
        self.extra_args = extra_args
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="jwtmw-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        log = Path(self._dir.name, "redis.log")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir.name, "--logfile", str(log),
             "--protected-mode", "yes", *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {log.read_text()[-2000:]}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.02)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("redis-server is not running")
        return self.process.pid

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()
