"""Verifier speed: the Python floor, PyJWT's ``jwt.decode``, and this verifier.

Run: ``python -m benchmarks.bench_verify`` (from the project root, in its venv).

For HS256, RS256, ES256 and EdDSA, one token of about 400 characters with
sub, iss, aud, iat, nbf, exp, jti, roles, scope and a kid. The floor is the
least any correct verifier must do, written plainly: split, three base64url
decodes, two ``json.loads``, the signature check with a prepared key (the
same PyJWT algorithm object), and the claim comparisons.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from benchmarks import _harness
from jwt_middleware import Config, Verifier, generate_key

ISS = "https://auth.example.com"
AUD = "orders-api"
TARGETS = {"HS256": 1.5, "RS256": 1.15, "ES256": 1.15, "EdDSA": 1.15}


def make_token(alg: str) -> tuple[str, Any, Any, Verifier]:
    key = generate_key(alg, kid=f"{alg.lower()}-2026-11")
    now = int(time.time())
    claims = {
        "sub": "user-7f3c2a9e-41d2",
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "3f9a1c7e2b4d4e8f",
        "roles": ["admin", "user"],
        "scope": "orders:read orders:write",
    }
    token = jwt.encode(claims, key._sign_key, algorithm=alg, headers={"kid": key.kid})
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


def _variants(
    alg: str, token: str, key: Any, floor: Callable[[str], object], verifier: Verifier
) -> dict[str, Callable[[], object]]:
    return {
        "floor": lambda: floor(token),
        "jwt.decode": lambda: jwt.decode(token, key, algorithms=[alg], issuer=ISS, audience=AUD),
        "jwt_middleware": lambda: verifier.verify(token),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args()
    algs = get_default_algorithms()
    print(f"PyJWT {jwt.__version__}; {args.rounds} interleaved rounds of {args.batch} calls\n")
    summary = [
        "| alg | token chars | jwt.decode × floor | jwt_middleware × floor | target |",
        "|---|---:|---:|---:|---:|",
    ]
    for alg in TARGETS:
        token, key, alg_obj, verifier = make_token(alg)
        assert algs[alg].__class__ is alg_obj.__class__
        floor = floor_for(alg, key, alg_obj)
        floor(token)
        verifier.verify(token)
        variants = _variants(alg, token, key, floor, verifier)
        samples = _harness.run(variants, rounds=args.rounds, batch=args.batch)
        print(_harness.table(f"{alg}", samples, "floor", list(variants)))
        print()
        pyjwt = _harness.paired_ratio(samples, "jwt.decode", "floor")
        ours = _harness.paired_ratio(samples, "jwt_middleware", "floor")
        verdict = "met" if ours <= TARGETS[alg] else "MISSED"
        summary.append(
            f"| {alg} | {len(token)} | {pyjwt:.2f}× | {ours:.2f}× | ≤ {TARGETS[alg]}× ({verdict}) |"
        )
    print("\n".join(summary))


if __name__ == "__main__":
    main()
