"""Shared by the encrypted-token tests: keys made once, inner tokens, and jwcrypto.

jwcrypto is the second, independent JWE implementation (the dev group's, never the
package's): tokens it encrypts must open here, and tokens we encrypt must open there.
Raw tokens (a header we write ourselves around real segments) are built by hand, so
that the refusals are tested on exactly the bytes an attacker would send.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jwcrypto import jwe as cjwe
from jwcrypto import jwk as cjwk

from jwt_middleware import Config, DecryptionKey, Key, encode, generate_key

from .helpers import HOUR, NOW, clock

ISSUER = "https://issuer.test"
AUDIENCE = "api.test"
BOTH = ("A256GCM", "A128CBC-HS256")
#: Every (key management, content encryption) pair the package accepts.
PAIRS = [
    (alg, enc) for alg in ("RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A256KW", "dir") for enc in BOTH
]


@cache
def signing_key() -> Key:
    return generate_key("ES256", kid="sig-1")


@cache
def decryption_key(algorithm: str, kid: str | None = None) -> DecryptionKey:
    """One key per algorithm (and kid), accepting both content encryptions."""
    return DecryptionKey.generate(algorithm, kid=kid or f"enc-{algorithm}", encryptions=BOTH)


def claims(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": NOW,
        "exp": NOW + HOUR,
        "roles": ["reader"],
        "email": "alice@example.com",
    }
    body.update(extra)
    return body


def inner_token(**extra: Any) -> str:
    """A signed access token the resource accepts."""
    return encode(claims(**extra), signing_key())


def resource_config(keys: Any, **options: Any) -> Config:
    """The resource's Config: our signing key, the given decryption keys, a fixed clock."""
    return Config(
        keys=signing_key(),
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        decryption_keys=keys,
        **options,
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def header_of(token: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(unb64url(token.split(".")[0]))
    return parsed


def with_header(token: str, header: Mapping[str, Any]) -> str:
    """``token`` with its protected header replaced (the AAD changes with it)."""
    head = b64url(json.dumps(dict(header), separators=(",", ":")).encode())
    return ".".join([head, *token.split(".")[1:]])


def flip(token: str, index: int, at: int = 0) -> str:
    """``token`` with one bit changed in byte ``at`` of its segment ``index``."""
    parts = token.split(".")
    raw = bytearray(unb64url(parts[index]))
    raw[at] ^= 0x01
    parts[index] = b64url(bytes(raw))
    return ".".join(parts)


# --- jwcrypto ---------------------------------------------------------------------


def _jwcrypto_key(jwk: Mapping[str, Any]) -> Any:
    return cjwk.JWK(**{k: v for k, v in jwk.items() if k not in ("use", "alg")})


def _secret_jwk(key: DecryptionKey) -> dict[str, Any]:
    return {k: v for k, v in key.private_jwk().items() if k in ("kty", "k")}


def jwcrypto_encrypt(
    key: DecryptionKey, plaintext: str | bytes, header: Mapping[str, Any]
) -> str:
    """``plaintext`` encrypted by jwcrypto to ``key`` (its public half, or the secret)."""
    jwk = _secret_jwk(key) if key.algorithm == "dir" else key.public_jwk()
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    token = cjwe.JWE(data, protected=json.dumps(dict(header)))
    token.allowed_algs = [*cjwe.default_allowed_algs, "RSA1_5", "A128KW"]
    token.add_recipient(_jwcrypto_key(jwk))
    return str(token.serialize(compact=True))


def jwcrypto_decrypt(key: DecryptionKey, token: str) -> bytes:
    """What jwcrypto finds inside ``token`` with ``key``."""
    jwk = _secret_jwk(key) if key.algorithm == "dir" else key.private_jwk()
    found = cjwe.JWE()
    found.deserialize(token, key=_jwcrypto_key(jwk))
    payload: bytes = found.payload
    return payload
