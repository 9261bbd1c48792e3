"""The cost of revocation per store, and refresh rotation throughput per store.

Run: ``python -m benchmarks.bench_stores`` (project root, in its venv; it
starts its own redis-server on a free 127.0.0.1 port).

1. Per-request cost of the revocation check: ``Verifier.verify`` (sync) and
   ``averify`` (async) of one ES256 token with no store, and with the memory,
   SQLite and Redis stores (one look-up per verify: token id, subject
   watermark and refresh family together). Interleaved, medians, paired
   ratios against no store.
2. Refresh rotation: ``Issuer.refresh`` (verify the refresh token, check
   revocation, atomic rotate, sign a new pair) per store, and the bare
   ``store.rotate`` call; reported as rotations per second (median).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import _harness
from jwt_middleware import Config, Issuer, Verifier, generate_key
from jwt_middleware.stores import Store
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_server import RedisServer

ISS = "https://auth.bench"
AUD = "bench-api"


def _stores(tmp: Path, redis_url: str) -> dict[str, Store | None]:
    return {
        "no store": None,
        "memory": MemoryStore(),
        "SQLite": SQLiteStore(tmp / "bench.db"),
        "Redis": RedisStore(redis_url, prefix="bench:"),
    }


def revocation_check(stores: dict[str, Store | None], rounds: int, batch: int) -> str:
    key = generate_key("ES256")
    issuer = Issuer(Config(keys=key, issuer=ISS, audience=AUD, store=MemoryStore()))
    token = issuer.issue("alice", roles=["admin"]).access_token
    loop = asyncio.new_event_loop()
    sync: dict[str, Callable[[], object]] = {}
    inner = 20
    for name, store in stores.items():
        verifier = Verifier(Config(keys=key, issuer=ISS, audience=AUD, store=store))
        verifier.verify(token)
        sync[f"{name} (verify)"] = _repeat(verifier, token, inner)
        sync[f"{name} (averify)"] = _arepeat(verifier, token, inner, loop)
    samples = _harness.run(sync, rounds=rounds, batch=batch, inner=inner)
    loop.close()
    lines = ["| store | verify µs | × no store | averify µs | × no store |",
             "|---|---:|---:|---:|---:|"]
    for name in stores:
        v, a = f"{name} (verify)", f"{name} (averify)"
        lines.append(
            f"| {name} | {statistics.median(samples[v]) * 1e6:.1f} "
            f"| {_harness.paired_ratio(samples, v, 'no store (verify)'):.2f}× "
            f"| {statistics.median(samples[a]) * 1e6:.1f} "
            f"| {_harness.paired_ratio(samples, a, 'no store (averify)'):.2f}× |"
        )
    return "\n".join(lines)


def _repeat(verifier: Verifier, token: str, n: int) -> Callable[[], object]:
    def run() -> object:
        for _ in range(n):
            verifier.verify(token)
        return None

    return run


def _arepeat(
    verifier: Verifier, token: str, n: int, loop: asyncio.AbstractEventLoop
) -> Callable[[], object]:
    async def many() -> None:
        for _ in range(n):
            await verifier.averify(token)

    return lambda: loop.run_until_complete(many())


def rotation(stores: dict[str, Store | None], seconds: float) -> str:
    lines = ["| store | Issuer.refresh per s (median of 5) | store.rotate per s (median of 5) |",
             "|---|---:|---:|"]
    key = generate_key("ES256")
    for name, store in stores.items():
        if store is None:
            continue
        issuer = Issuer(Config(keys=key, issuer=ISS, audience=AUD, store=store))
        full, bare = [], []
        for _ in range(5):
            full.append(_rate_refresh(issuer, seconds))
            bare.append(_rate_rotate(store, seconds))
        lines.append(
            f"| {name} | {statistics.median(full):,.0f} | {statistics.median(bare):,.0f} |"
        )
    return "\n".join(lines)


def _rate_refresh(issuer: Issuer, seconds: float) -> float:
    refresh = issuer.issue("alice").refresh_token
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        refresh = issuer.refresh(refresh).refresh_token
        count += 1
    return count / (time.perf_counter() - start)


def _rate_rotate(store: Store, seconds: float) -> float:
    family = f"fam-{time.perf_counter_ns()}"
    later = time.time() + 3600
    store.start_family(family, "r0", later)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        store.rotate(family, f"r{count}", f"r{count + 1}", later, time.time())
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    server = RedisServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stores = _stores(Path(tmp), server.url)
            print("Revocation check per request (ES256 token; one look-up per verify)\n")
            print(revocation_check(stores, args.rounds, args.batch))
            print("\nRefresh rotation throughput (one thread)\n")
            print(rotation(stores, args.seconds))
            for store in stores.values():
                if store is not None:
                    store.close()
    finally:
        server.close()


if __name__ == "__main__":
    main()
