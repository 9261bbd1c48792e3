"""Answers per second while Redis is frozen (SIGSTOP), threads and asyncio tasks.

Run: ``python -m benchmarks.bench_redis_frozen`` (project root, in its venv; it
starts its own redis-server on a free 127.0.0.1 port and freezes that one only).

A ``Verifier`` with a ``RedisStore`` (default settings unless ``--timeout`` is
given) verifies one valid token: first once per client while Redis answers (so
every client has a pooled connection), then Redis is frozen with ``SIGSTOP`` and
``--clients`` threads (and then as many asyncio tasks) verify in a loop for
``--seconds``. Every answer is a 503 (``ServiceUnavailableError``); the figure is
how many of them complete per second, and how long the slowest one took. Nothing
is asserted: this measures, the fault tests in ``tests/faults/`` hold the behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field

from jwt_middleware import Config, ServiceUnavailableError, Verifier, encode, generate_key
from jwt_middleware.stores.redis import RedisStore
from tests.redis_server import RedisServer

ISS = "https://auth.bench"


@dataclass
class Tally:
    """Answers completed inside the measured window, and their latencies."""

    refused: int = 0
    accepted: int = 0
    other: int = 0
    latencies: list[float] = field(default_factory=list)
    retry_after: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, started: float, outcome: BaseException | None, deadline: float) -> None:
        ended = time.monotonic()
        if ended > deadline:
            return
        with self.lock:
            self.latencies.append(ended - started)
            if outcome is None:
                self.accepted += 1
            elif isinstance(outcome, ServiceUnavailableError):
                self.refused += 1
                self.retry_after.add(outcome.retry_after)
            else:
                self.other += 1

    def line(self, label: str, seconds: float) -> str:
        total = self.refused + self.accepted + self.other
        worst = max(self.latencies, default=0.0)
        median = statistics.median(self.latencies) if self.latencies else 0.0
        return (
            f"| {label} | {total / seconds:,.1f} | {self.refused} | {self.accepted + self.other} "
            f"| {median * 1000:,.3f} | {worst * 1000:,.1f} "
            f"| {', '.join(map(str, sorted(self.retry_after))) or '-'} |"
        )


def _threads(verifier: Verifier, token: str, clients: int, seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                verifier.verify(token)
            except Exception as exc:  # every outcome is counted
                tally.add(started, exc, deadline)
            else:
                tally.add(started, None, deadline)

    workers = [threading.Thread(target=client) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return tally


async def _tasks(verifier: Verifier, token: str, clients: int, seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                await verifier.averify(token)
            except Exception as exc:  # every outcome is counted
                tally.add(started, exc, deadline)
            else:
                tally.add(started, None, deadline)

    await asyncio.gather(*(client() for _ in range(clients)))
    return tally


def _warm(verifier: Verifier, token: str, clients: int) -> None:
    """One verify per client at once, so the pool holds a connection for each."""
    barrier = threading.Barrier(clients)

    def client() -> None:
        barrier.wait()
        verifier.verify(token)

    workers = [threading.Thread(target=client) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


async def _awarm(verifier: Verifier, token: str, clients: int) -> None:
    await asyncio.gather(*(verifier.averify(token) for _ in range(clients)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=None,
                        help="RedisStore(timeout=...); default: the store's own default")
    args = parser.parse_args()
    logging.getLogger("jwt_middleware").setLevel(logging.ERROR)  # one line per 503 otherwise
    server = RedisServer()
    assert server.process is not None
    pid = server.process.pid
    store = RedisStore(server.url) if args.timeout is None else RedisStore(
        server.url, timeout=args.timeout)
    key = generate_key("HS256")
    verifier = Verifier(Config(keys=key, issuer=ISS, store=store))
    now = int(time.time())
    token = encode({"sub": "alice", "iss": ISS, "jti": "bench", "iat": now,
                    "exp": now + 3600}, key)
    rows = []
    try:
        _warm(verifier, token, args.clients)
        os.kill(pid, signal.SIGSTOP)
        try:
            rows.append(_threads(verifier, token, args.clients, args.seconds)
                        .line(f"{args.clients} threads, verify", args.seconds))
        finally:
            os.kill(pid, signal.SIGCONT)

        async def run_async() -> None:
            await _awarm(verifier, token, args.clients)
            os.kill(pid, signal.SIGSTOP)
            try:
                tally = await _tasks(verifier, token, args.clients, args.seconds)
            finally:
                os.kill(pid, signal.SIGCONT)
            rows.append(tally.line(f"{args.clients} tasks, averify", args.seconds))
            await store.aclose()

        recovered_at = time.monotonic() + 30
        while time.monotonic() < recovered_at:  # the breaker (if any) closes again
            try:
                verifier.verify(token)
                break
            except ServiceUnavailableError:
                time.sleep(0.05)
        asyncio.run(run_async())
    finally:
        store.close()
        server.close()
    print(f"Redis frozen (SIGSTOP) for {args.seconds:g} s per row; {store!r}\n")
    print("| clients | answers/s | 503 | other | median ms | slowest ms | Retry-After |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
