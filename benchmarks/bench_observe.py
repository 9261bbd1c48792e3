"""The request path with metrics and the audit trail on, against the same path without.

Run: ``python -m benchmarks.bench_observe`` (from the project root, in its venv).

One ES256 access token, verified by the request policy the adapters share (the
``Authenticator``: ``fast`` is what the ASGI and WSGI adapters call for a bearer token,
``aauthenticate`` the general async path), with a revocation check in a memory store:

* **off**: no metrics, no audit (``on_event=None``);
* **Prometheus**: ``metrics=PrometheusMetrics()`` (verification counter and histogram) and
  the store wrapped in ``MeasuredStore`` (store latency), with ``on_event=audit.on_event``
  (an ``Audit`` whose JSON-lines logger is enabled at INFO, with a ``NullHandler``, so
  every line is formatted as in production);
* **OpenTelemetry**: the same with ``OpenTelemetryMetrics`` on an SDK ``MeterProvider``
  (an in-memory reader, never collected during the run).

Each is also measured as a whole request through ``asgi.JWTMiddleware(metrics=...,
on_event=audit.on_event)`` around an endpoint that answers ``{}`` (scope, receive and send
in-process, no server): the cost as a share of a request.

Three requests: a **cached** token (a hit of the verified-token cache), an **uncached**
one (``cache_size=0``: the signature every time), and a **refused** one (a bad signature:
the audit trail's refusal path, rate-limited after the first 20). Interleaved rounds,
medians, paired ratios to "off" (``benchmarks/_harness.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from benchmarks import _harness
from jwt_middleware import AuthError, Config, Verifier, encode, generate_key
from jwt_middleware._core.metrics import Metrics
from jwt_middleware._sansio.authenticator import Authenticator, RequestInfo
from jwt_middleware._sansio.measured import MeasuredAuthenticator
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.audit import Audit
from jwt_middleware.metrics import MeasuredStore, OpenTelemetryMetrics, PrometheusMetrics
from jwt_middleware.stores.memory import MemoryStore

ISS = "https://auth.example.com"
AUD = "orders-api"
PER_CALL = 20  # requests per timed call (one is too short to time alone)


def _token(key: Any, now: int) -> str:
    claims = {
        "sub": "user-7f3c2a9e-41d2", "iss": ISS, "aud": AUD, "iat": now, "nbf": now,
        "exp": now + 3600, "jti": "3f9a1c7e2b4d4e8f", "roles": ["admin", "user"],
        "scope": "orders:read orders:write", "fam": "fam-1",
    }
    return encode(claims, key, headers={"kid": key.kid})


def _policy(config: Config, metrics: Metrics | None, audit: Audit | None) -> Authenticator:
    if metrics is None:
        return Authenticator(Verifier(config))
    store = MeasuredStore(config.store, metrics)  # type: ignore[arg-type]
    verifier = Verifier(dataclasses.replace(config, store=store))
    hook = None if audit is None else audit.on_event
    return MeasuredAuthenticator(verifier, on_event=hook, metrics=metrics)


async def _endpoint(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _asgi(config: Config, metrics: Metrics | None, audit: Audit | None, header: str) -> Any:
    """A whole request through ``asgi.JWTMiddleware`` (its own scope, receive and send)."""
    if metrics is not None:
        config = dataclasses.replace(config, store=MeasuredStore(config.store, metrics))  # type: ignore[arg-type]
    app = JWTMiddleware(_endpoint, config=config, metrics=metrics,
                        on_event=None if audit is None else audit.on_event)  # fmt: skip
    scope = {"type": "http", "method": "GET", "path": "/orders", "query_string": b"",
             "headers": [(b"host", b"api"), (b"authorization", header.encode())]}  # fmt: skip

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    async def requests() -> None:
        for _ in range(PER_CALL):
            await app(scope, receive, send)

    runner = asyncio.new_event_loop()
    return lambda: runner.run_until_complete(requests())


def _calls(policy: Authenticator, header: str, refused: bool) -> dict[str, Callable[[], object]]:
    loop = range(PER_CALL)
    request = RequestInfo("GET", "/orders", header)

    def fast() -> None:
        for _ in loop:
            try:
                policy.fast("GET", "/orders", header)
            except AuthError:
                if not refused:
                    raise

    async def general() -> None:
        for _ in loop:
            try:
                await policy.aauthenticate(request)
            except AuthError:
                if not refused:
                    raise

    runner = asyncio.new_event_loop()
    return {"fast": fast, "async": lambda: runner.run_until_complete(general())}


def bench(rounds: int, batch: int) -> list[str]:
    audit_logger = logging.getLogger("jwt_middleware.audit")
    audit_logger.setLevel(logging.INFO)
    audit_logger.addHandler(logging.NullHandler())
    audit_logger.propagate = False
    logging.getLogger("jwt_middleware").setLevel(logging.WARNING)  # the "rejected" lines
    key = generate_key("ES256", kid="es256-2026-11")
    now = int(time.time())
    token = _token(key, now)
    bad = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    reader = InMemoryMetricReader()
    setups = {
        "off": (None, None),
        "Prometheus + audit": (PrometheusMetrics(), Audit()),
        "OpenTelemetry + audit": (
            OpenTelemetryMetrics(MeterProvider(metric_readers=[reader])), Audit()
        ),
    }
    summary = [
        "| request | path | off µs | Prometheus + audit × off | OpenTelemetry + audit × off |",
        "|---|---|---:|---:|---:|",
    ]
    cases = (("cached", 10_000, token, False), ("uncached", 0, token, False),
             ("refused (bad signature)", 10_000, bad, True))  # fmt: skip
    for label, cache_size, presented, refused in cases:
        config = Config(keys=key, issuer=ISS, audience=AUD, store=MemoryStore(),
                        cache_size=cache_size)  # fmt: skip
        per_setup = {
            name: _calls(_policy(config, metrics, audit), f"Bearer {presented}", refused)
            for name, (metrics, audit) in setups.items()
        }
        for name, (metrics, audit) in setups.items():
            per_setup[name]["ASGI request"] = _asgi(config, metrics, audit, f"Bearer {presented}")
        for path in ("fast", "async", "ASGI request"):
            variants = {name: calls[path] for name, calls in per_setup.items()}
            samples = _harness.run(variants, rounds=rounds, batch=batch)
            samples = {n: [s / PER_CALL for s in v] for n, v in samples.items()}
            print(_harness.table(f"{label}, {path}", samples, "off", list(variants)))
            print()
            off = sorted(samples["off"])[len(samples["off"]) // 2] * 1e6
            ratios = [_harness.paired_ratio(samples, n, "off") for n in list(setups)[1:]]
            summary.append(f"| {label} | {path} | {off:.2f} | {ratios[0]:.2f}× | "
                           f"{ratios[1]:.2f}× |")  # fmt: skip
    for _, audit in setups.values():
        if audit is not None:
            audit.close()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    print(f"{args.rounds} interleaved rounds of {args.batch} calls of {PER_CALL} requests\n")
    print("\n".join(bench(args.rounds, args.batch)))


if __name__ == "__main__":
    main()
