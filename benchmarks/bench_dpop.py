"""The cost of a DPoP check against the bearer verify of the same access token, per store.

Run: ``python -m benchmarks.bench_dpop`` (project root, in its venv; it starts its own
redis-server on a free 127.0.0.1 port and puts its SQLite file in a temporary folder).

One ES256 access token; two bearer baselines: ``Verifier.verify`` with the
verified-token cache off (``cache_size=0``: parse and signature every time) and a cache
hit (the default). Then ``DPoPVerifier.check`` of a fresh proof per call (ES256 and
EdDSA proofs, each with its ``ath``), per replay cache:

* **no replay write**: a store whose ``claim_once`` answers ``True`` at once: the proof
  alone (JWS parse, claims, ``htu`` normalisation, ``ath`` hash, signature);
* **memory**, **SQLite** (a file, WAL, ``synchronous=FULL``: each claim is a commit),
  **Redis** (one ``SET NX PX`` round trip);
* **first sight of a key**: every proof by a new key (memory store), so the header is
  parsed, the key imported and its thumbprint computed each time: what a proof costs
  when its header is not in the verifier's cache.

A DPoP-protected request is the bearer verify and the proof check together, so it
costs 1 + the check's ratio times the bearer request it replaces. Interleaved rounds,
medians, paired ratios (``benchmarks/_harness.py``).

The second table is whole requests through the ASGI adapter, a DPoP-protected one
against a bearer one, per replay cache (``bench_dpop_request.py``, which also runs alone).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks import _harness, bench_dpop_request
from jwt_middleware import Config, DPoPVerifier, Issuer, Key, Verifier, generate_key
from jwt_middleware.stores import Store
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.core.dpop_support import proof
from tests.redis_server import RedisServer

ISS = "https://auth.bench"
AUD = "bench-api"
URL = "https://api.bench.example/orders"


class NoReplayWrite(MemoryStore):
    """A replay cache that records nothing: the floor of a proof check."""

    def claim_once(self, key: str, expires_at: float) -> bool:
        return True


def _proofs(keys: Iterator[Key], token: str, count: int) -> Iterator[str]:
    return iter([proof(next(keys), url=URL, access_token=token) for _ in range(count)])


def _checker(verifier: DPoPVerifier, proofs: Iterator[str], token: str) -> Callable[[], object]:
    check = verifier.check

    def run() -> object:
        return check(next(proofs), method="GET", url=URL, access_token=token)

    return run


def _same(key: Key) -> Iterator[Key]:
    while True:
        yield key


def measure(stores: dict[str, Store], rounds: int, batch: int) -> dict[str, list[float]]:
    signing = generate_key("ES256")
    issuer = Issuer(Config(keys=signing, issuer=ISS, audience=AUD, store=MemoryStore()))
    token = issuer.issue("alice", roles=["admin"]).access_token
    uncached = Verifier(Config(keys=signing, issuer=ISS, audience=AUD, cache_size=0))
    cached = Verifier(Config(keys=signing, issuer=ISS, audience=AUD))
    cached.verify(token)
    variants: dict[str, Callable[[], object]] = {
        "bearer uncached": lambda: uncached.verify(token),
        "bearer cache hit": lambda: cached.verify(token),
    }
    calls = (rounds + 1) * batch  # the harness's warm-up round, then the rounds
    for algorithm in ("ES256", "EdDSA"):
        key = generate_key(algorithm)
        for name, store in stores.items():
            verifier = DPoPVerifier(store=store)
            variants[f"{algorithm} {name}"] = _checker(
                verifier, _proofs(_same(key), token, calls), token)
        fresh = iter([generate_key(algorithm) for _ in range(calls)])
        variants[f"{algorithm} first sight of a key"] = _checker(
            DPoPVerifier(store=MemoryStore()), _proofs(fresh, token, calls), token)
    return _harness.run(variants, rounds=rounds, batch=batch)


def report(samples: dict[str, list[float]], stores: list[str]) -> str:
    lines = ["| what | replay cache | µs per call | × bearer uncached | × bearer cache hit |",
             "|---|---|---:|---:|---:|"]
    rows = [("bearer verify", base[7:], base) for base in ("bearer uncached", "bearer cache hit")]
    rows += [(f"{algorithm} proof check", name, f"{algorithm} {name}")
             for algorithm in ("ES256", "EdDSA") for name in [*stores, "first sight of a key"]]
    for what, cache, row in rows:
        lines.append(
            f"| {what} | {cache} | {statistics.median(samples[row]) * 1e6:.1f} "
            f"| {_harness.paired_ratio(samples, row, 'bearer uncached'):.2f}× "
            f"| {_harness.paired_ratio(samples, row, 'bearer cache hit'):.2f}× |"
        )
    return "\n".join(lines)


def claim_memory(count: int = MemoryStore.DEFAULT_MAX_CLAIMS) -> str:
    """Bytes a memory store holds for ``count`` claims shaped like the verifier's."""
    store = MemoryStore()
    jkt = "o0k_pDkVrKdklDrIo6ZsmsJjIxSXpBn8gni4oZIqOS4"
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for n in range(count):
        store.claim_once(f"dpop:{jkt}:{n:022d}", 4_000_000_000.0)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return f"| {count:,} claims (the default bound) | {used / 1e6:.1f} MB | {used / count:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    server = RedisServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stores: dict[str, Store] = {
                "no replay write": NoReplayWrite(),
                "memory": MemoryStore(),
                "SQLite": SQLiteStore(Path(tmp) / "replay.db"),
                "Redis": RedisStore(server.url, prefix="bench-dpop:", near_cache=False),
            }
            print(f"{args.rounds} interleaved rounds of {args.batch} calls per variant\n")
            samples = measure(stores, args.rounds, args.batch)
            print(report(samples, list(stores)))
            print("\nThe memory store's replay cache (tracemalloc)\n")
            print("| held | memory | bytes per claim |\n|---|---:|---:|")
            print(claim_memory())
            print("\nWhole requests through the ASGI adapter (bench_dpop_request.py)\n")
            per_request = {name: stores[name] for name in ("memory", "SQLite", "Redis")}
            request_samples = bench_dpop_request.measure(per_request, 31, 8)
            print(bench_dpop_request.report(request_samples, list(per_request)))
            for store in stores.values():
                store.close()
    finally:
        server.close()


if __name__ == "__main__":
    main()
