"""What the walkthroughs share: free ports, services run until a block ends, and one HTTP
request with the standard library."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: How long a service may take to answer its health URL.
START_TIMEOUT = 30.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def send(
    url: str, method: str, *, token: str | None = None, body: Mapping[str, Any] | None = None,
    timeout: float = 10.0, extra_headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, Any], Message]:
    """(status, JSON body as a dict, headers). A body that is not JSON comes back as
    ``{"text": ...}``, a JSON value that is not an object as ``{"json": ...}``.
    ``extra_headers`` are sent as they are (a DPoP proof, ``Authorization: DPoP``)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - 127.0.0.1
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (extra_headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, headers = error.code, error.read(), error.headers
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:  # not JSON (a server error page): keep the text
        payload = {"text": raw.decode("utf-8", "replace")[:200]}
    if not isinstance(payload, dict):
        payload = {"json": payload}
    return status, payload, headers


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all bound at once, so none is handed out twice)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def uvicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning"]


def gunicorn(app: str, port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", "4", "--log-level", "warning"]


@dataclass(frozen=True)
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - 127.0.0.1
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _wait_healthy(service: Service, health: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if service.process.poll() is not None:
            raise SystemExit(
                f"{service.name} exited with {service.process.returncode}:\n"
                + service.log.read_text(errors="replace")
            )
        if _get_status(service.url + health) == 200:
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                f"{service.name} did not answer {health} within {timeout:g} s:\n"
                + service.log.read_text(errors="replace")
            )
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=0.05)  # a short, bounded pause between polls


@contextmanager
def service(
    name: str, argv: Sequence[str], port: int, env: Mapping[str, str], log_dir: Path,
    *, health: str = "/health", timeout: float | None = None,
) -> Iterator[Service]:
    """Run ``argv`` until the block ends; ready once ``GET health`` answers 200.

    If the example fails, the service's log is printed (to stderr)."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            list(argv), cwd=ROOT, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=out, stderr=subprocess.STDOUT,
        )
    running = Service(name, f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_healthy(running, health, START_TIMEOUT if timeout is None else timeout)
        yield running
    except SystemExit as exc:
        if exc.code not in (None, 0):
            print(f"--- {name} log ---\n{log.read_text(errors='replace')}", file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
