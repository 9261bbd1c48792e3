"""The cost of a DPoP-protected request against a bearer one, through the ASGI adapter.

Run with the proof-check table: ``python -m benchmarks.bench_dpop`` (project root, in its
venv; it starts its own redis-server on a free 127.0.0.1 port and puts its SQLite file in
a temporary folder), which prints this module's table second.

In-process, no network: :class:`~jwt_middleware.asgi.JWTMiddleware` (``dpop`` ``allowed``)
in front of an ASGI app that answers 200, called with a prepared scope and no-op
``receive``/``send``, a batch of requests per event-loop entry (as
``bench_frameworks.py`` does). One ES256 access token per variant, sent again on every
request, so the verified-token cache is warm (the default):

* **bearer**: ``Authorization: Bearer`` with an unbound token: the adapter's fast path
  (one cache look-up); and with the cache off (``cache_size=0``: the ES256 signature
  checked on every request), for scale;
* **DPoP**: ``Authorization: DPoP`` with a token bound to the client's key and a fresh
  ES256 proof per request (signed beforehand, outside the timing): the general path,
  the token from the cache, then the whole proof check (JWS, claims, the public ``htu``,
  ``ath``, the key's thumbprint against ``cnf.jkt``, the signature) and the replay-cache
  write, per store: **memory**, **SQLite** (a file, WAL: each claim is a commit) and
  **Redis** (one ``SET NX`` round trip on 127.0.0.1).

Interleaved rounds, medians, paired ratios (``benchmarks/_harness.py``).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from benchmarks import _harness
from jwt_middleware import Config, DPoPKey, DPoPPolicy, DPoPVerifier, Issuer, generate_key
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.stores import Store
from jwt_middleware.stores.memory import MemoryStore

ISS = "https://auth.bench"
AUD = "bench-api"
HOST = "api.bench.example"
URL = f"http://{HOST}/orders"
INNER = 25


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/orders", "raw_path": b"/orders", "root_path": "",
        "query_string": b"", "headers": [(b"host", HOST.encode()), *headers],
        "client": ("127.0.0.1", 1), "server": (HOST, 80),
    }


def runner(
    app: Any, headers: Callable[[], list[tuple[bytes, bytes]]], loop: asyncio.AbstractEventLoop
) -> Callable[[], None]:
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def many() -> None:
        for _ in range(INNER):
            await app(_scope(headers()), receive, send)

    def run() -> None:
        loop.run_until_complete(many())
        if any(status != 200 for status in statuses):
            raise RuntimeError(f"a request was refused: {sorted(set(statuses))}")
        statuses.clear()

    return run


def _proofs(key: DPoPKey, token: str, count: int) -> Iterator[list[tuple[bytes, bytes]]]:
    authorization = (b"authorization", f"DPoP {token}".encode())
    return iter([[authorization, (b"dpop", key.proof("GET", URL, access_token=token).encode())]
                 for _ in range(count)])


def measure(stores: dict[str, Store], rounds: int, batch: int) -> dict[str, list[float]]:
    loop = asyncio.new_event_loop()
    signing = generate_key("ES256")
    config = Config(keys=signing, issuer=ISS, audience=AUD, store=MemoryStore())
    issuer = Issuer(config)
    client = DPoPKey.generate("ES256")
    plain = issuer.issue("alice", roles=["admin"]).access_token
    bound = issuer.issue("alice", roles=["admin"], jkt=client.thumbprint)
    verify_only = Config(keys=signing, issuer=ISS, audience=AUD)
    calls = (rounds + 1) * batch * INNER  # the harness's warm-up round, then the rounds
    bearer_app = JWTMiddleware(_ok, config=verify_only,
                               dpop=DPoPPolicy("allowed", DPoPVerifier(store=MemoryStore())))
    bearer_headers = [(b"authorization", f"Bearer {plain}".encode())]
    uncached_app = JWTMiddleware(_ok, config=Config(keys=signing, issuer=ISS, audience=AUD,
                                                    cache_size=0))
    variants = {"bearer": runner(bearer_app, lambda: bearer_headers, loop),
                "bearer uncached": runner(uncached_app, lambda: bearer_headers, loop)}
    for name, store in stores.items():
        app = JWTMiddleware(_ok, config=verify_only,
                            dpop=DPoPPolicy("allowed", DPoPVerifier(store=store)))
        proofs = _proofs(client, bound.access_token, calls)
        variants[f"DPoP, {name}"] = runner(app, proofs.__next__, loop)
    try:
        return _harness.run(variants, rounds=rounds, batch=batch, inner=INNER)
    finally:
        loop.close()


def report(samples: dict[str, list[float]], stores: list[str]) -> str:
    lines = ["| request | replay cache | µs per request | × bearer | × bearer, cache off |",
             "|---|---|---:|---:|---:|"]
    rows = [("Bearer (fast path, cache hit)", "none", "bearer"),
            ("Bearer, cache off (ES256 verify)", "none", "bearer uncached")]
    rows += [("DPoP (cache hit + ES256 proof)", name, f"DPoP, {name}") for name in stores]
    for what, cache, row in rows:
        lines.append(
            f"| {what} | {cache} | {statistics.median(samples[row]) * 1e6:.1f} "
            f"| {_harness.paired_ratio(samples, row, 'bearer'):.2f}× "
            f"| {_harness.paired_ratio(samples, row, 'bearer uncached'):.2f}× |"
        )
    return "\n".join(lines)
