"""Verifier speed: the Python floor, PyJWT's ``jwt.decode``, and this verifier.

Run: ``python -m benchmarks.bench_verify`` (from the project root, in its venv).

For HS256, RS256, ES256 and EdDSA, one token of about 400 characters with
sub, iss, aud, iat, nbf, exp, jti, roles, scope and a kid. The floor is the
least any correct verifier must do, written plainly: split, three base64url
decodes, two ``json.loads``, the signature check with a prepared key (the
same PyJWT algorithm object), and the claim comparisons.

This verifier is measured three ways: **uncached** (``cache_size=0``: every
call verifies in full), **first sight** (a cache of one entry and two tokens
in turn: every call misses, verifies in full, and enters the cache, evicting
the other) and **cache hit** (the same token again). Then ``MultiIssuerVerifier``
against a plain verifier (uncached and hit), and what the token cache's bound
costs in memory (tracemalloc, 10,000 entries).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import gc
import itertools
import json
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from benchmarks import _harness
from jwt_middleware import (
    Config,
    MultiIssuerVerifier,
    TrustedIssuer,
    Verifier,
    encode,
    generate_key,
)

ISS = "https://auth.example.com"
AUD = "orders-api"
#: Uncached verify, at most this many times the floor.
TARGETS = {"HS256": 1.0, "RS256": 1.03, "ES256": 1.03, "EdDSA": 1.03}
#: A cache hit at least this many times faster than jwt.decode (for these algorithms).
HIT_TARGET = 100.0
HIT_ALGS = ("HS256", "ES256")
#: Multi-issuer at most this many times a plain verifier.
MULTI_TARGET = 1.05
HITS = 20  # cache hits per call of a hit variant (a hit is too short to time alone)


def claims_for(
    now: int, jti: str = "3f9a1c7e2b4d4e8f", sub: str = "user-7f3c2a9e-41d2"
) -> dict[str, Any]:
    return {
        "sub": sub,
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": jti,
        "roles": ["admin", "user"],
        "scope": "orders:read orders:write",
    }


def make_token(alg: str) -> tuple[str, Any, Any, Verifier]:
    key = generate_key(alg, kid=f"{alg.lower()}-2026-11")
    token = jwt.encode(
        claims_for(int(time.time())), key._sign_key, algorithm=alg, headers={"kid": key.kid}
    )
    verifier = Verifier(Config(keys=key, issuer=ISS, audience=AUD))
    return token, key._verify_key, key._alg_obj, verifier


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def floor_for(
    alg: str, key: Any, alg_obj: Any, *, iss: str = ISS, aud: str = AUD
) -> Callable[[str], dict[str, Any]]:
    def floor(token: str) -> dict[str, Any]:
        h, p, s = token.split(".")
        header = json.loads(_b64(h))
        claims = json.loads(_b64(p))
        sig = _b64(s)
        if header["alg"] != alg:
            raise ValueError("alg")
        if not alg_obj.verify((h + "." + p).encode(), key, sig):
            raise ValueError("signature")
        now = time.time()
        if not (
            claims["exp"] > now
            and claims["nbf"] <= now
            and claims["iat"] <= now
            and claims["iss"] == iss
            and claims["aud"] == aud
        ):
            raise ValueError("claims")
        return claims  # type: ignore[no-any-return]

    return floor


def _hits(verify: Callable[[str], object], token: str) -> Callable[[], object]:
    loop = range(HITS)

    def hits() -> None:
        for _ in loop:
            verify(token)

    return hits


def _per_hit(samples: dict[str, list[float]], name: str) -> None:
    samples[name] = [s / HITS for s in samples[name]]


def _variants(
    alg: str, token: str, key: Any, floor: Callable[[str], object], verifier: Verifier
) -> dict[str, Callable[[], object]]:
    config = verifier.config
    uncached = Verifier(dataclasses.replace(config, cache_size=0))
    first_sight = Verifier(dataclasses.replace(config, cache_size=1))
    other = encode(
        claims_for(int(time.time()), jti="another-token"),
        config.key_set.signing_key(),
        headers={"kid": config.key_set.signing_key().kid},
    )
    turns = itertools.cycle([token, other]).__next__
    verifier.verify(token)
    return {
        "floor": lambda: floor(token),
        "jwt.decode": lambda: jwt.decode(token, key, algorithms=[alg], issuer=ISS, audience=AUD),
        "jwt_middleware uncached": lambda: uncached.verify(token),
        "jwt_middleware first sight (miss + insert)": lambda: first_sight.verify(turns()),
        f"jwt_middleware cache hit (×{HITS} per call)": _hits(verifier.verify, token),
    }


def bench_algorithms(rounds: int, batch: int) -> list[str]:
    algs = get_default_algorithms()
    summary = [
        "| alg | token chars | jwt.decode × floor | uncached × floor | target "
        "| first sight × floor | jwt.decode ÷ hit | hit µs | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    hit = f"jwt_middleware cache hit (×{HITS} per call)"
    for alg in TARGETS:
        token, key, alg_obj, verifier = make_token(alg)
        assert algs[alg].__class__ is alg_obj.__class__
        floor = floor_for(alg, key, alg_obj)
        floor(token)
        variants = _variants(alg, token, key, floor, verifier)
        samples = _harness.run(variants, rounds=rounds, batch=batch)
        _per_hit(samples, hit)
        print(_harness.table(alg, samples, "floor", list(variants)))
        print()
        pyjwt = _harness.paired_ratio(samples, "jwt.decode", "floor")
        ours = _harness.paired_ratio(samples, "jwt_middleware uncached", "floor")
        first = _harness.paired_ratio(
            samples, "jwt_middleware first sight (miss + insert)", "floor"
        )
        speedup = _harness.paired_ratio(samples, "jwt.decode", hit)
        hit_us = sorted(samples[hit])[len(samples[hit]) // 2] * 1e6
        verdict = "met" if ours <= TARGETS[alg] else "MISSED"
        hit_verdict = "—"
        if alg in HIT_ALGS:
            hit_verdict = f"≥ {HIT_TARGET:g}× ({'met' if speedup >= HIT_TARGET else 'MISSED'})"
        summary.append(
            f"| {alg} | {len(token)} | {pyjwt:.2f}× | {ours:.2f}× | ≤ {TARGETS[alg]}× ({verdict}) "
            f"| {first:.2f}× | {speedup:.0f}× | {hit_us:.2f} | {hit_verdict} |"
        )
    return summary


def bench_multi_issuer(rounds: int, batch: int) -> list[str]:
    """One issuer among three, against a plain verifier of the same issuer."""
    lines = [
        "| variant | × plain verifier (paired) | target |",
        "|---|---:|---:|",
    ]
    for alg in ("HS256", "ES256"):
        keys = {name: generate_key(alg, kid=f"{name}-1") for name in ("a", "b", "c")}
        issuers = {name: f"https://{name}.example.com" for name in keys}
        token = encode({**claims_for(int(time.time())), "iss": issuers["b"]}, keys["b"])
        for label, size in (("uncached", 0), ("cache hit", 10_000)):
            plain = Verifier(
                Config(keys=keys["b"], issuer=issuers["b"], audience=AUD, cache_size=size)
            )
            multi = MultiIssuerVerifier(
                [TrustedIssuer(issuers[n], keys[n], audience=AUD) for n in keys], cache_size=size
            )
            assert multi.verify(token).subject == plain.verify(token).subject
            variants: dict[str, Callable[[], object]]
            if size:
                variants = {
                    "plain": _hits(plain.verify, token),
                    "multi": _hits(multi.verify, token),
                }
            else:
                variants = {
                    "plain": partial(plain.verify, token),
                    "multi": partial(multi.verify, token),
                }
            samples = _harness.run(variants, rounds=rounds, batch=batch // 2 if size else batch)
            if size:
                _per_hit(samples, "plain")
                _per_hit(samples, "multi")
            title = f"MultiIssuerVerifier, {alg}, {label}"
            print(_harness.table(title, samples, "plain", list(variants)))
            print()
            ratio = _harness.paired_ratio(samples, "multi", "plain")
            verdict = "met" if ratio <= MULTI_TARGET else "MISSED"
            lines.append(f"| {title} | {ratio:.2f}× | ≤ {MULTI_TARGET}× ({verdict}) |")
    return lines


def bench_memory(entries: int = 10_000) -> str:
    """What ``entries`` typical HS256 tokens cost in a verifier's cache (tracemalloc)."""
    key = generate_key("HS256", kid="hs256-2026-11")
    verifier = Verifier(Config(keys=key, issuer=ISS, audience=AUD, cache_size=entries))
    now = int(time.time())
    batch = [
        encode(claims_for(now, jti=f"jti-{i:08d}", sub=f"user-{i:08d}"), key)
        for i in range(entries)
    ]
    verifier.verify(batch[0])
    cache = verifier.cache
    assert cache is not None
    cache.clear()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for token in batch:
        verifier.verify(token)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return (
        f"{len(cache):,} cached tokens of {len(batch[0])} characters: {held / 2**20:.1f} MiB "
        f"measured ({held / len(cache):,.0f} bytes each), {cache.nbytes / 2**20:.1f} MiB charged "
        f"against a byte bound of {cache.max_bytes / 2**20:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args()
    print(f"PyJWT {jwt.__version__}; {args.rounds} interleaved rounds of {args.batch} calls\n")
    summary = bench_algorithms(args.rounds, args.batch)
    multi = bench_multi_issuer(args.rounds, args.batch)
    print("\n".join(summary))
    print()
    print("\n".join(multi))
    print()
    print(bench_memory())


if __name__ == "__main__":
    main()
