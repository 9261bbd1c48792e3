"""Building DPoP proofs for the tests, good and bad, independently of the client helpers."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from jwt_middleware import Key, generate_key

URL = "https://api.example.com/orders"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"  # any ASCII token

_DROP = object()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode("ascii")).digest())


def public_jwk(key: Key) -> dict[str, Any]:
    """The key's public JWK as a client sends it: no kid, no use."""
    jwk = key.public_jwk()
    for member in ("kid", "use", "alg"):
        jwk.pop(member, None)
    return jwk


def sign(header: Mapping[str, Any], claims: Mapping[str, Any] | bytes,
         key: Key | Callable[[bytes], bytes]) -> str:
    """A compact JWS of exactly this header and these claims (or raw payload bytes),
    signed by ``key`` (or any signing function)."""
    head = b64(json.dumps(dict(header), separators=(",", ":")).encode())
    raw = claims if isinstance(claims, bytes) else json.dumps(dict(claims)).encode()
    body = b64(raw)
    signer = key.sign if isinstance(key, Key) else key
    signature = signer(f"{head}.{body}".encode("ascii"))
    return f"{head}.{body}.{b64(signature)}"


def proof(
    key: Key,
    *,
    method: str = "GET",
    url: str = URL,
    access_token: str | None = TOKEN,
    header: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """A good proof for ``method`` ``url`` (and ``access_token``'s ``ath``), then
    ``header`` and ``claims`` changes on top (a value of ``DROP`` removes the member)."""
    full_header: dict[str, Any] = {"typ": "dpop+jwt", "alg": key.algorithm,
                                   "jwk": public_jwk(key)}
    full_claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16), "htm": method, "htu": url,
        "iat": int(time.time() if now is None else now),
    }
    if access_token is not None:
        full_claims["ath"] = ath(access_token)
    for target, changes in ((full_header, header), (full_claims, claims)):
        for name, value in (changes or {}).items():
            if value is DROP:
                target.pop(name, None)
            else:
                target[name] = value
    return sign(full_header, full_claims, key)


#: Pass as a header or claim value to leave that member out.
DROP: Any = _DROP


@functools.cache
def dpop_key(algorithm: str = "ES256") -> Key:
    """One private key per algorithm, made once per test session."""
    return generate_key(algorithm)
