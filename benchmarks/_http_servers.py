"""The servers ``bench_http`` measures: start, wait until ready, check, account, stop.

Each variant runs in its own server process (uvicorn for ASGI, gunicorn for WSGI) on a
free 127.0.0.1 port, in a session of its own, so that its CPU time can be read (the sum
over the processes of that session: gunicorn's master and workers) and the whole group
killed at the end.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks import _http_apps

ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 60.0
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Variant:
    """One row: an app of ``_http_apps`` under one server."""

    key: str
    server: str  # "uvicorn" or "gunicorn"
    group: str
    label: str
    baseline: str  # the bare variant of the same group ("" for the bare one itself)
    #: The statuses without a token and with a forged one (200, 200 for a bare app).
    refused: tuple[int, int] = (401, 401)

    @property
    def bare(self) -> bool:
        return not self.baseline


@dataclass
class Server:
    variant: Variant
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def fail(self, why: str) -> SystemExit:
        tail = self.log.read_text(errors="replace")[-2000:]
        return SystemExit(f"{self.variant.key} (port {self.port}): {why}\n{tail}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of every live process in the server's session."""
        ticks = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
            if int(fields[3]) == self.process.pid:  # the session id
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / _TICK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpus: str | None, command: list[str]) -> list[str]:
    """``command`` under ``taskset -c cpus`` (which execs it: the pid stays the same)."""
    return ["taskset", "-c", cpus, *command] if cpus else command


def server_command(variant: Variant, port: int, cpus: str | None, workers: int) -> list[str]:
    """The same settings for every app of a server kind."""
    if variant.server == "uvicorn":
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "benchmarks._http_apps:create",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--loop", "asyncio", "--http", "h11", "--no-access-log", "--log-level", "warning",
        ]
    else:
        command = [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "sync", "--log-level", "warning",
            "benchmarks._http_apps:create()",
        ]
    return pinned(cpus, command)


def get(port: int, headers: dict[str, str]) -> int:
    """The status of one ``GET /me``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/me", headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_ready(server: Server, deadline: float) -> None:
    """Poll until the server answers a request (or died, or the deadline passed)."""
    while True:
        if server.process.poll() is not None:
            raise server.fail(f"exited with {server.process.returncode}")
        try:
            get(server.port, {})
            return
        except OSError:
            if time.monotonic() > deadline:
                raise server.fail("not answering") from None
            time.sleep(0.02)  # between polls


def check(server: Server, token: str, forged: str) -> None:
    """200 with the token; the variant's refusals without one and with a forged one."""
    port = server.port
    got = (
        get(port, {"Authorization": f"Bearer {token}"}),
        get(port, {}),
        get(port, {"Authorization": f"Bearer {forged}"}),
    )
    expected = (200, *server.variant.refused)
    if got != expected:
        raise server.fail(f"statuses (valid token, none, forged) were {got}, expected {expected}")


@contextlib.contextmanager
def serving(
    variants: Iterable[Variant], logs: Path, cpus: str | None, workers: int
) -> Iterator[dict[str, Server]]:
    """Every variant's server, started at once, ready; all stopped on the way out."""
    started: dict[str, Server] = {}
    try:
        for variant in variants:
            port = free_port()
            log = logs / f"{variant.key}.log"
            env = {**os.environ, _http_apps.ENV: variant.key}
            with log.open("wb") as out:
                process = subprocess.Popen(
                    server_command(variant, port, cpus, workers), cwd=ROOT, env=env,
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started[variant.key] = Server(variant, port, process, log)
        deadline = time.monotonic() + READY_SECONDS
        for server in started.values():
            wait_ready(server, deadline)
        yield started
    finally:
        for server in started.values():
            stop(server.process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (a quick shutdown for uvicorn and gunicorn), then SIGKILL to its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # its own session: gunicorn's workers too
    process.wait()
