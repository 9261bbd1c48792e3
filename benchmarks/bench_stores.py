"""The cost of revocation per store, and refresh rotation throughput per store.

Run: ``python -m benchmarks.bench_stores`` (project root, in its venv; it
starts its own redis-server on a free 127.0.0.1 port).

1. Per-request cost of the revocation check: ``Verifier.verify`` (sync) and
   ``averify`` (async) of one ES256 token with no store, and with the memory,
   SQLite and Redis stores (one look-up per verify: token id, subject
   watermark and refresh family together). Redis twice: with its near-cache
   (the default; steady state, the listener trusted and the keys cached) and
   without (``near_cache=False``: one ``MGET`` per check). SQLite's async
   check in steady state skips the worker thread (``PRAGMA data_version``
   unchanged). Interleaved, medians, paired ratios against no store.
2. The near-cache's memory: bytes per kept key and for a full default cache
   (tracemalloc, realistic key names).
3. Refresh rotation: ``Issuer.refresh`` (verify the refresh token, check
   revocation, atomic rotate, sign a new pair) per store, and the bare
   ``store.rotate`` call; reported as rotations per second (median).

Verifiers are built with ``cache_size=0`` where the configuration has that
setting, so that every verify parses and checks the signature (the cost the
revocation check is compared with).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import _harness
from jwt_middleware import Config, Issuer, Verifier, generate_key
from jwt_middleware.stores import Store
from jwt_middleware.stores._nearcache import DEFAULT_MAX_ENTRIES, NearCache
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
        "SQLite (check_cache_size=0)": SQLiteStore(tmp / "bench.db", check_cache_size=0),
        "Redis (near-cache)": RedisStore(redis_url, prefix="bench:"),
        "Redis (no near-cache)": RedisStore(redis_url, prefix="bench:", near_cache=False),
    }


#: No verified-token cache where the configuration has one: every verify does the work.
_UNCACHED: dict[str, Any] = (
    {"cache_size": 0} if "cache_size" in {f.name for f in dataclasses.fields(Config)} else {}
)


def _steady(store: Store | None) -> None:
    """Wait until a Redis near-cache is trusted (its listener answered a PING)."""
    near = store.near_cache if isinstance(store, RedisStore) else None
    if near is not None and near.enabled and not near.wait_trusted(10.0):
        raise RuntimeError("the near-cache never became trusted")


def revocation_check(
    stores: dict[str, Store | None], rounds: int, batch: int, extra: dict[str, Any],
    loop: asyncio.AbstractEventLoop,
) -> str:
    key = generate_key("ES256")
    issuer = Issuer(Config(keys=key, issuer=ISS, audience=AUD, store=MemoryStore()))
    token = issuer.issue("alice", roles=["admin"]).access_token
    sync: dict[str, Callable[[], object]] = {}
    inner = 20
    for name, store in stores.items():
        config = Config(keys=key, issuer=ISS, audience=AUD, store=store, **extra)
        verifier = Verifier(config)
        verifier.verify(token)
        _steady(store)
        verifier.verify(token)  # kept now: the steady state
        loop.run_until_complete(verifier.averify(token))
        sync[f"{name} (verify)"] = _repeat(verifier, token, inner)
        sync[f"{name} (averify)"] = _arepeat(verifier, token, inner, loop)
    near = next(s.near_cache for s in stores.values()
                if isinstance(s, RedisStore) and s.near_cache.enabled)
    hits, misses = near.hits, near.misses
    samples = _harness.run(sync, rounds=rounds, batch=batch, inner=inner)
    hits, misses = near.hits - hits, near.misses - misses
    print(f"Redis near-cache during the run: {hits:,} checks from memory, {misses:,} read "
          f"Redis ({misses / max(1, hits + misses):.2%})\n")
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


def near_cache_memory(entries: int = DEFAULT_MAX_ENTRIES) -> str:
    """Bytes a full near-cache holds: keys shaped like the store's, one check's three."""
    near = NearCache(None, [])
    near._live = True  # a stand-in for a session: fill without a listener
    ticket = near._seq
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(entries // 3 + 1):
        jti, subject, family = secrets.token_urlsafe(16), f"user-{i}", secrets.token_urlsafe(16)
        keys = [f"jwtmw:jti:{jti}", f"jwtmw:sub:{subject}", f"jwtmw:famrev:{family}"]
        near.fill(keys, [None, None, None], ticket)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    held = near.size
    return (f"| {held:,} keys (the default bound) | {used / 1e6:.1f} MB | "
            f"{used / held:.0f} bytes per key |")


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
        if store is None or name in ("Redis (no near-cache)", "SQLite (check_cache_size=0)"):
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
            print("Revocation check per request (ES256 token; one look-up per verify; "
                  "uncached verify)\n")
            loop = asyncio.new_event_loop()  # one for all: the async clients stay in it
            print(revocation_check(stores, args.rounds, args.batch, _UNCACHED, loop))
            if _UNCACHED:
                print("\nThe same with the verified-token cache on (the default): a hit, "
                      "which still consults revocation\n")
                print(revocation_check(stores, args.rounds, args.batch, {}, loop))
            print("\nThe Redis near-cache's memory (tracemalloc)\n")
            print("| held | memory | per key |\n|---|---:|---:|")
            print(near_cache_memory())
            print("\nRefresh rotation throughput (one thread)\n")
            print(rotation(stores, args.seconds))
            for store in stores.values():
                if store is not None:
                    loop.run_until_complete(store.aclose())
                    store.close()
            loop.close()
    finally:
        server.close()


if __name__ == "__main__":
    main()
