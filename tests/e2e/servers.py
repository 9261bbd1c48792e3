"""Run an example under a real server on a free 127.0.0.1 port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll the port until the server accepts connections (or fails, or times out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            process_wait = min(0.05, max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=process_wait)
    raise RuntimeError(f"server did not listen on {port} in {timeout}s:\n{log.read_text()}")


@contextmanager
def run_server(
    argv: Sequence[str], env: Mapping[str, str], *, port: int, timeout: float = 30.0
) -> Iterator[Server]:
    """Start ``argv`` (with ``{port}`` filled in) in the project root; stop it afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp, "server.log")
        with log.open("wb") as out:
            process = subprocess.Popen(
                [a.format(port=port) for a in argv],
                cwd=ROOT,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(port, process, log, timeout)
            yield Server(f"http://127.0.0.1:{port}", port, process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def uvicorn_argv(app: str) -> list[str]:
    return [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", "{port}", "--no-access-log"]


def gunicorn_argv(app: str, workers: int = 2) -> list[str]:
    return [str(BIN / "gunicorn"), app, "--bind", "127.0.0.1:{port}", "--workers", str(workers),
            "--threads", "4"]
