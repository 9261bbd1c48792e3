"""What the multi-service examples share: start services, talk to them, print a transcript.

Each service runs in its own process (``uvicorn`` or ``gunicorn`` through
``python -m``, so the project's interpreter is used) on a free 127.0.0.1
port. :func:`service` waits for its health URL with a deadline and stops it
at the end, whatever happens. :class:`Transcript` sends requests with the
standard library and prints each one with its status; :func:`expect` turns a
wrong status into a non-zero exit.
"""

from __future__ import annotations

import base64
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

from examples._http import send

ROOT = Path(__file__).resolve().parents[2]
#: How long a service may take to answer its health URL.
START_TIMEOUT = 30.0


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


def kid_of(token: str) -> str:
    """The ``kid`` of a token's header (read for display only, never trusted)."""
    head = token.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return str(header.get("kid"))


def _cut(name: str, value: Any) -> Any:
    if isinstance(value, str) and (name.endswith("_token") or name in ("x", "y", "n")):
        return f"{value[:12]}…"
    return _short(value)


def _short(value: Any) -> Any:
    """Long tokens and key coordinates cut short for the transcript."""
    if isinstance(value, dict):
        return {k: _cut(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: Message


class Transcript:
    """Sends requests to named services and prints each one with its status."""

    def __init__(self, services: Mapping[str, str]) -> None:
        self.services = dict(services)
        self.step = 0

    def call(
        self, label: str, name: str, method: str, path: str, *, token: str | None = None,
        body: Mapping[str, Any] | None = None, show: Sequence[str] | None = None,
    ) -> Answer:
        """One request; ``show`` limits the printed body to those members."""
        self.step += 1
        status, payload, headers = send(self.services[name] + path, method, token=token,
                                        body=body)
        shown = payload if show is None else {k: payload[k] for k in show if k in payload}
        auth = f"  (Bearer, kid {kid_of(token)})" if token else ""
        print(f"\n{self.step:>2}. {label}")
        print(f"    {method} {name}{path}{auth}")
        print(f"    -> {status}  {json.dumps(_short(shown), ensure_ascii=False)}")
        challenge = headers.get("WWW-Authenticate")
        if challenge and status >= 400:
            print(f"       WWW-Authenticate: {challenge}")
        return Answer(status, payload, headers)

    def note(self, text: str) -> None:
        print(f"    {text}")


def expect(answer: Answer | int, wanted: int, what: str) -> None:
    """Stop the example (exit status 1) when a step answered unexpectedly."""
    status = answer if isinstance(answer, int) else answer.status
    if status != wanted:
        raise SystemExit(f"\nFAILED: {what} answered {status}, expected {wanted}")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"\nFAILED: {what}")
