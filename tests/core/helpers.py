"""Helpers shared by the core tests: a fixed clock, raw token builders, error assertions.

The builders here are written independently of ``jwt_middleware._core.jws`` so that
a bug in the library's own encoder cannot hide a bug in its decoder.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jwt_middleware import (
    AuthError,
    AuthorizationError,
    Config,
    InvalidRequestError,
    Key,
    KeySet,
    TokenError,
    Verifier,
    generate_key,
)

#: The fixed "now" of every time-dependent test (2023-11-14T22:13:20Z).
NOW = 1_700_000_000
HOUR = 3600

#: Marks a claim or header member to leave out in :func:`claims_with`.
DROP: Any = object()


def clock() -> float:
    """The fixed clock passed to every :class:`Config` in these tests."""
    return NOW


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def sign_segments(key: Key, header_segment: str, payload_segment: str) -> str:
    """Sign two already-encoded segments exactly as given."""
    signing_input = f"{header_segment}.{payload_segment}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def raw_token(key: Key, header_json: str | bytes, payload_json: str | bytes) -> str:
    """A token whose header and payload are exactly the given JSON text, validly signed."""
    head = header_json.encode() if isinstance(header_json, str) else header_json
    body = payload_json.encode() if isinstance(payload_json, str) else payload_json
    return sign_segments(key, b64url(head), b64url(body))


def header_for(key: Key, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The header a well-behaved issuer would write for ``key``; ``extra`` may override
    anything (``alg`` included) and :data:`DROP` removes a member."""
    header: dict[str, Any] = {"alg": key.algorithm, "typ": "JWT"}
    if key.kid:
        header["kid"] = key.kid
    for name, value in (extra or {}).items():
        if value is DROP:
            header.pop(name, None)
        else:
            header[name] = value
    return header


def make_token(
    key: Key,
    claims: Mapping[str, Any],
    header: Mapping[str, Any] | None = None,
) -> str:
    """A validly signed token. Unlike :func:`jwt_middleware.encode`, ``header`` may
    override ``alg`` (the signature is still made with ``key``'s own algorithm)."""
    return raw_token(key, compact_json(header_for(key, header)), compact_json(dict(claims)))


def claims_with(**changes: Any) -> dict[str, Any]:
    """Good access-token claims, changed by keyword (:data:`DROP` removes a claim)."""
    claims: dict[str, Any] = {
        "sub": "alice",
        "iat": NOW - 60,
        "exp": NOW + HOUR,
        "jti": "token-1",
    }
    for name, value in changes.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def verifier(keys: Key | KeySet, **settings: Any) -> Verifier:
    """A verifier on the fixed clock."""
    settings.setdefault("clock", clock)
    key_set = keys if isinstance(keys, KeySet) else KeySet([keys])
    return Verifier(Config(keys=key_set, **settings))


def assert_token_error(exc: BaseException, expected: type[TokenError]) -> None:
    """Exactly ``expected``, answered as 401 ``invalid_token``."""
    assert type(exc) is expected, f"expected {expected.__name__}, got {exc!r}"
    assert isinstance(exc, AuthError)
    assert exc.status == 401
    assert exc.error == "invalid_token"


def assert_request_error(exc: BaseException, expected: type[InvalidRequestError]) -> None:
    """Exactly ``expected``, answered as 401 ``invalid_request``."""
    assert type(exc) is expected, f"expected {expected.__name__}, got {exc!r}"
    assert isinstance(exc, AuthError)
    assert exc.status == 401
    assert exc.error == "invalid_request"


def assert_forbidden(exc: BaseException, expected: type[AuthorizationError]) -> None:
    """Exactly ``expected``, answered as 403 ``insufficient_scope``."""
    assert type(exc) is expected, f"expected {expected.__name__}, got {exc!r}"
    assert isinstance(exc, AuthError)
    assert exc.status == 403
    assert exc.error == "insufficient_scope"


class KeyRing:
    """The keys of one test session (generated once: RSA generation is slow)."""

    def __init__(self) -> None:
        self.hs256_secret = bytes(range(100, 132))
        self.hs256 = Key.from_secret(self.hs256_secret, "HS256", kid="hs-1")
        self.rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rs256 = Key("RS256", self.rsa_private, kid="rs-1")
        self.rs256_public = Key("RS256", self.rsa_private.public_key(), kid="rs-1")
        self.es256_private = ec.generate_private_key(ec.SECP256R1())
        self.es256 = Key("ES256", self.es256_private, kid="es-1")
        self.es384_private = ec.generate_private_key(ec.SECP384R1())
        self.ed25519 = generate_key("EdDSA", kid="ed-1")
        # An attacker's keys: the same algorithms and the same kids as ours.
        self.attacker_es256 = Key("ES256", ec.generate_private_key(ec.SECP256R1()), kid="es-1")
        self.attacker_hs256 = Key.from_secret(bytes(range(32)), "HS256", kid="hs-1")
