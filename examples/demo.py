"""The demo behind ``make demo``: keys, a token, and its verification.

It generates an ES256 key into a temporary directory, loads it back the
way an app would (from PEM files, through the environment-variable
loader), signs a token, verifies it, and shows what happens to a tampered
token, an expired one, and one signed with the wrong algorithm.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from jwt_middleware import (
    Config,
    JWTMiddlewareError,
    Key,
    TokenError,
    Verifier,
    encode,
    generate_key,
)

ISSUER = "https://auth.demo.local"
AUDIENCE = "demo-api"


def _attempt(verifier: Verifier, label: str, token: str) -> None:
    try:
        principal = verifier.verify(token)
    except TokenError as exc:
        print(f"  {label:<28} -> 401 {exc.error}: {exc.description}")
        print(f"  {'':<28}    WWW-Authenticate: {exc.www_authenticate()}")
    else:
        print(f"  {label:<28} -> accepted: {json.dumps(principal.to_dict())}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        key = generate_key("ES256", kid="demo-2026-11")
        private = Path(tmp, "private.pem")
        public = Path(tmp, "public.pem")
        private.write_bytes(key.private_pem())
        public.write_bytes(key.public_pem())
        print(f"generated an ES256 key pair in {tmp} (kid {key.kid})")

        env = {
            "JWT_ALGORITHMS": "ES256",
            "JWT_PUBLIC_KEY_FILE": str(public),
            "JWT_KID": key.kid or "",
            "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE,
        }
        print("verifier configured from the environment:", ", ".join(f"{k}" for k in env))
        verifier = Verifier(Config.from_env(environ=env))
        signer = Key.from_pem_file(private, "ES256", kid=key.kid)

        now = int(time.time())
        claims = {
            "sub": "alice",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 900,
            "roles": ["admin"],
            "scope": "orders:read",
        }
        good = encode(claims, signer)
        print("\nverifying:")
        _attempt(verifier, "a fresh token", good)
        head, _, sig = good.split(".")
        tampered = encode({**claims, "roles": ["admin", "root"]}, signer).split(".")[1]
        _attempt(verifier, "payload swapped", f"{head}.{tampered}.{sig}")
        _attempt(verifier, "expired", encode({**claims, "exp": now - 5}, signer))
        _attempt(verifier, "wrong issuer", encode({**claims, "iss": ISSUER + ".evil"}, signer))
        hs = Key.from_secret(b"x" * 32, "HS256", kid=key.kid)
        _attempt(verifier, "HS256 with the same kid", encode(claims, hs))
        _attempt(verifier, "not a token", "not-a-token")
        try:
            Key.from_secret("short", "HS256")
        except JWTMiddlewareError as exc:
            print(f"\nweak keys are refused at start-up: {exc}")


if __name__ == "__main__":
    main()
