"""Scaling: verify cost against key-set size, trusted issuers, revoked entries, token size.

Run: ``python -m benchmarks.bench_scaling`` (project root, in its venv; about 2
minutes here; ``--quick`` for a smaller run of about 15 s; ``--only PART`` for
some). It starts its own redis-server on a free 127.0.0.1 port (never 6379) and
JWKS servers on loopback (``tests/jwks/server.py``, serving documents encoded
once). The remote JWKS part also times a refresh (same document, and a rotation).

Every curve is timed in one interleaved run (``_harness.run``: shuffled rounds,
medians) and each point is reported as a paired ratio to the smallest point of
its curve (the ratio in each round, then the median of those).

1. **Keys.** A static :class:`KeySet` of 1, 10, 100, 1,000 HS256 keys, the
   token signed by the last one (its ``kid`` looked up); a remote JWKS
   (:class:`~jwt_middleware.jwks.JWKSClient`, warm) of 1 to 1,000 ES256 keys.
   Uncached (``cache_size=0``) and a cache hit.
2. **Issuers.** :class:`MultiIssuerVerifier` with 1, 10, 100 HS256 issuers, the
   token from the first and from the last registered; uncached and a hit.
3. **Revoked entries** (``_scaling_stores.py``): memory, SQLite (a temporary
   file) and Redis (with and without its near-cache) holding 0 to 1M revoked
   token ids and as many subject watermarks.
4. **Token size.** Payloads of 0.5 to 16 KiB (a ``groups`` claim of UUIDs,
   as large tokens carry), uncached, HS256 and ES256; the µs-per-KiB slope.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import _harness
from benchmarks._scaling_stores import bench_revocation
from benchmarks.bench_verify import floor_for
from jwt_middleware import (
    Config,
    Key,
    KeySet,
    MultiIssuerVerifier,
    TrustedIssuer,
    Verifier,
    encode,
    generate_key,
)
from jwt_middleware.jwks import JWKSClient
from tests.jwks.server import JWKSServer

ISS = "https://auth.bench"
AUD = "bench-api"
#: Operations per timed call (a hit is too short to time alone); reported per operation.
INNER = 20
#: A curve counts as flat when no point costs more than this times its smallest point.
FLAT = 1.10
#: The algorithms of the token-size curves.
ALGS = ("HS256", "ES256")

Variants = dict[str, Callable[[], object]]
#: A curve: its name and its points, each (label, variant name).
Curve = tuple[str, list[tuple[str, str]]]


def claims(now: int, iss: str = ISS, **more: Any) -> dict[str, Any]:
    return {"sub": "user-7f3c2a9e", "iss": iss, "aud": AUD, "iat": now, "nbf": now,
            "exp": now + 3600, "jti": "3f9a1c7e2b4d4e8f", "roles": ["admin"],
            "scope": "orders:read", **more}


def repeat(fn: Callable[[str], object], token: str, n: int = INNER) -> Callable[[], object]:
    loop = range(n)

    def run() -> None:
        for _ in loop:
            fn(token)

    return run


def arepeat(
    fn: Callable[[str], Any], token: str, loop: asyncio.AbstractEventLoop, n: int = INNER
) -> Callable[[], object]:
    turns = range(n)

    async def many() -> None:
        for _ in turns:
            await fn(token)

    return lambda: loop.run_until_complete(many())


_UNITS = {"µs": 1e6, "ms": 1e3}


def curve_table(samples: dict[str, list[float]], head: str, curves: Sequence[Curve],
                unit: str = "µs") -> str:
    """Points as rows, curves as column pairs (median time, × the curve's first point)."""
    labels = [label for label, _ in curves[0][1]]
    scale = _UNITS[unit]
    cols = "".join(f" {name} {unit} | × first |" for name, _ in curves)
    lines = [f"| {head} |{cols}", "|---|" + "---:|---:|" * len(curves)]
    for i, label in enumerate(labels):
        row = f"| {label} |"
        for _, points in curves:
            base, name = points[0][1], points[i][1]
            med = statistics.median(samples[name]) * scale
            row += f" {med:.2f} | {_harness.paired_ratio(samples, name, base):.2f}× |"
        lines.append(row)
    return "\n".join(lines)


def ratio_table(samples: dict[str, list[float]], head: str, curves: Sequence[Curve]) -> str:
    """For wide curve sets: the first point's median µs, then every point's ratio to it."""
    labels = [label for label, _ in curves[0][1]]
    lines = ["| " + head + " | " + " | ".join(name for name, _ in curves) + " |",
             "|---|" + "---:|" * len(curves),
             f"| µs at {labels[0]} | " + " | ".join(
                 f"{statistics.median(samples[points[0][1]]) * 1e6:.2f}" for _, points in curves)
             + " |"]
    for i, label in enumerate(labels):
        cells = [f"{_harness.paired_ratio(samples, points[i][1], points[0][1]):.2f}×"
                 for _, points in curves]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(samples: dict[str, list[float]], curves: Sequence[Curve]) -> str:
    """One line per curve: first-to-last ratio, the highest point, flat or not."""
    lines = []
    for name, points in curves:
        base = points[0][1]
        ratios = [_harness.paired_ratio(samples, v, base) for _, v in points]
        worst = max(ratios)
        verdict = "flat" if worst <= FLAT else "NOT FLAT"
        lines.append(f"* {name}: {points[0][0]} → {points[-1][0]}: {ratios[-1]:.2f}× "
                     f"(highest point {worst:.2f}×): {verdict}")
    return "\n".join(lines)


def show(title: str, samples: dict[str, list[float]], head: str, curves: Sequence[Curve],
         unit: str = "µs") -> None:
    wide = len(curves) > 4
    table = ratio_table(samples, head, curves) if wide else curve_table(samples, head, curves, unit)
    print(f"**{title}**\n\n{table}\n\n{verdicts(samples, curves)}\n")


# --- 1. keys ------------------------------------------------------------------------


def bench_keys(sizes: Sequence[int], rounds: int, batch: int) -> None:
    now = int(time.time())
    keys = [generate_key("HS256", kid=f"hs-{i:04d}") for i in range(max(sizes))]
    variants: Variants = {}
    for n in sizes:
        subset = KeySet(keys[:n])
        signer = keys[n - 1]  # the last of the set: its kid is looked up among all
        token = encode(claims(now), signer)
        for label, size in (("uncached", 0), ("hit", 10_000)):
            verifier = Verifier(Config(keys=subset, issuer=ISS, audience=AUD, cache_size=size))
            verifier.verify(token)
            variants[f"{n} {label}"] = repeat(verifier.verify, token)
    samples = _harness.run(variants, rounds=rounds, batch=batch, inner=INNER)
    show("Static KeySet (HS256), verify", samples, "keys", [
        (label, [(f"{n:,}", f"{n} {label}") for n in sizes]) for label in ("uncached", "hit")])


def bench_jwks(sizes: Sequence[int], rounds: int, batch: int) -> None:
    now = int(time.time())
    keys = [generate_key("ES256", kid=f"es-{i:04d}") for i in range(max(sizes))]
    spare = generate_key("ES256", kid="es-spare")
    servers: list[JWKSServer] = []
    clients: list[JWKSClient] = []
    loop = asyncio.new_event_loop()
    variants: Variants = {}
    refreshes: Variants = {}
    try:
        for n in sizes:
            # Documents encoded once: the server only writes bytes (its cost stays out).
            docs = [_document(keys[:n]), _document([*keys[: n - 1], spare])]
            server = JWKSServer().start()
            servers.append(server)
            server.raw_body = docs[0]
            client = JWKSClient(server.jwks_uri, algorithms=["ES256"], allow_http=True,
                                max_bytes=1 << 20)
            clients.append(client)
            client.refresh()  # warm: the set is held, fresh for the default 300 s
            token = encode(claims(now, iss=server.url), keys[n - 1])
            for label, size in (("uncached", 0), ("hit", 10_000)):
                config = Config(keys=client, issuer=server.url, audience=AUD, cache_size=size)
                verifier = Verifier(config)
                verifier.verify(token)
                variants[f"{n} verify {label}"] = repeat(verifier.verify, token)
                loop.run_until_complete(verifier.averify(token))
                variants[f"{n} averify {label}"] = arepeat(verifier.averify, token, loop)
            # Off the hot path: one refresh, what the request that finds the set due pays
            # once per max-age (the others answer from the held set): the same document
            # again, and a rotation (its last key replaced, in turn: parsed and compared).
            refreshes[f"{n} same"] = client.refresh
            refreshes[f"{n} rotated"] = _rotating(server, client, docs)
        fetches = [c.fetch_count for c in clients]
        samples = _harness.run(variants, rounds=rounds, batch=batch, inner=INNER)
        if [c.fetch_count for c in clients] != fetches:
            raise RuntimeError("a JWKS client fetched during the run: not warm")
        refresh = _harness.run(refreshes, rounds=max(5, rounds // 2), batch=1)
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()
        loop.close()
    show("Remote JWKS (JWKSClient, warm; ES256)", samples, "keys", [
        (f"{call} {label}", [(f"{n:,}", f"{n} {call} {label}") for n in sizes])
        for call in ("verify", "averify") for label in ("uncached", "hit")])
    show("Not on the hot path: `JWKSClient.refresh()` from loopback, once per max-age",
         refresh, "keys", [(f"{what} document", [(f"{n:,}", f"{n} {what}") for n in sizes])
                           for what in ("same", "rotated")], unit="ms")


def _document(keys: Sequence[Key]) -> bytes:
    return json.dumps({"keys": [k.public_jwk() for k in keys]}).encode()


def _rotating(server: JWKSServer, client: JWKSClient, docs: list[bytes]) -> Callable[[], object]:
    """A refresh that brings the other of two documents each time."""
    turn = [0]

    def run() -> None:
        turn[0] ^= 1
        server.raw_body = docs[turn[0]]
        client.refresh()

    return run


# --- 2. issuers ---------------------------------------------------------------------


def bench_issuers(sizes: Sequence[int], rounds: int, batch: int) -> None:
    now = int(time.time())
    top = max(sizes)
    keys = [generate_key("HS256", kid=f"iss-{i}") for i in range(top)]
    names = [f"https://issuer-{i:03d}.bench" for i in range(top)]
    variants: Variants = {}
    for label, size in (("uncached", 0), ("hit", 10_000)):
        plain = Verifier(Config(keys=keys[0], issuer=names[0], audience=AUD, cache_size=size))
        first = encode(claims(now, iss=names[0]), keys[0])
        plain.verify(first)
        variants[f"plain {label}"] = repeat(plain.verify, first)
        for n in sizes:
            multi = MultiIssuerVerifier(
                [TrustedIssuer(names[i], keys[i], audience=AUD) for i in range(n)],
                cache_size=size)
            last = encode(claims(now, iss=names[n - 1]), keys[n - 1])
            for which, token in (("first", first), ("last", last)):
                multi.verify(token)
                variants[f"{n} {which} {label}"] = repeat(multi.verify, token)
    samples = _harness.run(variants, rounds=rounds, batch=batch, inner=INNER)
    curves: list[Curve] = [
        (f"{which} {label}", [(f"{n}", f"{n} {which} {label}") for n in sizes])
        for label in ("uncached", "hit") for which in ("first", "last")]
    show("MultiIssuerVerifier (HS256), verify", samples, "issuers", curves)
    for label in ("uncached", "hit"):
        worst = max(_harness.paired_ratio(samples, f"{n} {w} {label}", f"plain {label}")
                    for n in sizes for w in ("first", "last"))
        print(f"* {label}: at most {worst:.2f}× a plain Verifier of one issuer")
    print()


# --- 4. token size ------------------------------------------------------------------


def padded(now: int, payload_bytes: int) -> dict[str, Any]:
    """Claims whose compact JSON is about ``payload_bytes`` long (a ``groups`` claim)."""
    body = claims(now)
    base = len(encode_json(body))
    count = max(0, round((payload_bytes - base - len(',"groups":[]')) / 39))
    body["groups"] = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(count)]
    return body


def encode_json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def bench_token_size(kib: Sequence[float], rounds: int, batch: int) -> None:
    now = int(time.time())
    variants: Variants = {}
    sizes: dict[tuple[str, float], tuple[int, int]] = {}
    for alg in ALGS:
        key: Key = generate_key(alg, kid=f"{alg.lower()}-size")
        verifier = Verifier(Config(keys=key, issuer=ISS, audience=AUD, cache_size=0,
                                   max_token_bytes=65536))
        floor = floor_for(alg, key._verify_key, key._alg_obj, iss=ISS, aud=AUD)
        for k in kib:
            body = padded(now, int(k * 1024))
            token = encode(body, key)
            verifier.verify(token)
            floor(token)
            sizes[alg, k] = (len(encode_json(body)), len(token))
            variants[f"{alg} {k}"] = repeat(verifier.verify, token)
            variants[f"{alg} {k} floor"] = repeat(floor, token)
    samples = _harness.run(variants, rounds=rounds, batch=batch, inner=INNER)
    cols = "".join(f" {alg} µs | × first | × floor |" for alg in ALGS)
    lines = [f"| payload | payload bytes | token bytes |{cols}",
             "|---|---:|---:|" + "---:|---:|---:|" * len(ALGS)]
    for k in kib:
        row = f"| {k:g} KiB | {sizes[ALGS[0], k][0]:,} | {sizes[ALGS[0], k][1]:,} |"
        for alg in ALGS:
            name = f"{alg} {k}"
            row += (f" {statistics.median(samples[name]) * 1e6:.2f} "
                    f"| {_harness.paired_ratio(samples, name, f'{alg} {kib[0]}'):.2f}× "
                    f"| {_harness.paired_ratio(samples, name, f'{name} floor'):.2f}× |")
        lines.append(row)
    print("**Token size, uncached verify**\n\n" + "\n".join(lines) + "\n")
    for alg in ALGS:
        for what, suffix in (("jwt_middleware", ""), ("floor", " floor")):
            print(f"* {alg} {what}: " + _slope(samples, alg, suffix, kib, sizes))
    print()


def _slope(samples: dict[str, list[float]], alg: str, suffix: str, kib: Sequence[float],
           sizes: dict[tuple[str, float], tuple[int, int]]) -> str:
    """µs per KiB of payload: least squares over the medians, and how straight the line is."""
    xs = [sizes[alg, k][0] / 1024 for k in kib]
    names = [f"{alg} {k}{suffix}" for k in kib]
    ys = [statistics.median(samples[n]) * 1e6 for n in names]
    fit = statistics.linear_regression(xs, ys)
    r2 = statistics.correlation(xs, ys) ** 2
    worst = max(abs(y - (fit.intercept + fit.slope * x)) / y for x, y in zip(xs, ys, strict=True))
    return (f"{fit.slope:.2f} µs per KiB of payload (least squares over the medians), "
            f"intercept {fit.intercept:.1f} µs, R² {r2:.4f}, every median within {worst:.1%} "
            f"of the line; {kib[0]:g} → {kib[-1]:g} KiB: "
            f"{_harness.paired_ratio(samples, names[-1], names[0]):.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds and points")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", choices=["keys", "jwks", "issuers", "stores", "size"],
                        action="append", help="run only these parts (repeatable)")
    args = parser.parse_args()
    quick: bool = args.quick
    rounds: int = args.rounds or (9 if quick else 31)
    parts = set(args.only or ["keys", "jwks", "issuers", "stores", "size"])
    keys = (1, 10, 100, 1000)
    start = time.perf_counter()
    print(f"{rounds} interleaved rounds per curve; {INNER} operations per timed call\n")
    if "keys" in parts:
        bench_keys(keys, rounds, 20 if quick else 40)
    if "jwks" in parts:
        bench_jwks(keys, rounds, 5 if quick else 10)
    if "issuers" in parts:
        bench_issuers((1, 10, 100), rounds, 20 if quick else 40)
    if "stores" in parts:
        top = 100_000 if quick else 1_000_000
        counts = [0] + [c for c in (1_000, 10_000, 100_000, 1_000_000) if c <= top]
        bench_revocation(counts, rounds, probes=100 if quick else 1000, inner=INNER,
                         scale=0.3 if quick else 2.0, show=show)
    if "size" in parts:
        bench_token_size((0.5, 1, 2, 4, 8, 16), rounds, 5 if quick else 10)
    print(f"(whole run: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
