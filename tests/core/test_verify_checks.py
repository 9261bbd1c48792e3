"""Every check of the verifier, one table row each, cheapest stage first.

Each row builds a token from the session's keys, verifies it with a given
configuration (fixed clock ``NOW``) and expects either acceptance or one exact
error class, answered as 401 ``invalid_token``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from _pytest.mark import ParameterSet
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from jwt_middleware import (
    Config,
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidSignatureError,
    Key,
    KeySet,
    MalformedTokenError,
    MissingClaimError,
    Principal,
    RevokedTokenError,
    TokenError,
    TokenTooLargeError,
    TokenTooOldError,
    UnknownKeyError,
    Verifier,
    WrongTokenKindError,
)

from .helpers import (
    DROP,
    HOUR,
    NOW,
    KeyRing,
    assert_token_error,
    b64url,
    claims_with,
    compact_json,
    make_token,
    raw_token,
    sign_segments,
    verifier,
)

Build = Callable[[KeyRing], Any]
Keys = Callable[[KeyRing], "Key | KeySet"]


@dataclass(frozen=True)
class Check:
    build: Build
    expected: type[TokenError] | None
    keys: Keys
    kind: str = "access"
    settings: Mapping[str, Any] = field(default_factory=dict)


def hs(k: KeyRing) -> Key:
    return k.hs256


def two_keys(k: KeyRing) -> KeySet:
    return KeySet([k.es256, k.hs256])


def anonymous_hs(k: KeyRing) -> Key:
    """Our HS256 secret as a one-key set whose key has no kid."""
    return Key.from_secret(k.hs256_secret, "HS256")


def case(
    id: str,
    build: Build,
    expected: type[TokenError] | None,
    *,
    keys: Keys = hs,
    kind: str = "access",
    **settings: Any,
) -> ParameterSet:
    return pytest.param(Check(build, expected, keys, kind, settings), id=id)


def payload_of(token: str | bytes) -> dict[str, Any]:
    text = token.decode() if isinstance(token, bytes) else token
    segment = text.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def run(check: Check, keys: KeyRing) -> Principal | None:
    v = verifier(check.keys(keys), **check.settings)
    token = check.build(keys)
    if check.expected is None:
        principal = v.verify(token, kind=check.kind)
        assert dict(principal.claims) == payload_of(token)
        assert principal.kind == check.kind
        return principal
    with pytest.raises(TokenError) as info:
        v.verify(token, kind=check.kind)
    assert_token_error(info.value, check.expected)
    return None


def hs_token(**claims: Any) -> Build:
    return lambda k: make_token(k.hs256, claims_with(**claims))


def hs_header(header: Mapping[str, Any], **claims: Any) -> Build:
    return lambda k: make_token(k.hs256, claims_with(**claims), header)


# --- size and shape ---------------------------------------------------------


def token_of_length(key: Key, length: int) -> str:
    """A valid token of exactly ``length`` characters (padded with a claim)."""
    for header_pad in range(4):
        header = {"p": "x" * header_pad}
        base = len(make_token(key, claims_with(pad=""), header))
        start = max(0, (length - base) * 3 // 4 - 3)
        for n in range(start, start + 12):
            token = make_token(key, claims_with(pad="x" * n), header)
            if len(token) == length:
                return token
    raise AssertionError(f"no token of length {length}")


def with_segment(index: int, value: str) -> Build:
    """A valid HS256 token with one segment replaced by ``value``."""

    def build(k: KeyRing) -> str:
        parts = make_token(k.hs256, claims_with()).split(".")
        parts[index] = value
        return ".".join(parts)

    return build


def resigned(transform: Callable[[str, str], tuple[str, str]]) -> Build:
    """Valid segments, transformed, then signed as they are (so only the transform is wrong)."""

    def build(k: KeyRing) -> str:
        head, body, _ = make_token(k.hs256, claims_with()).split(".")
        return sign_segments(k.hs256, *transform(head, body))

    return build


def flip_last_char(segment: str) -> str:
    # The last character of a segment of length 2 or 3 (mod 4) carries unused low
    # bits, zero in the canonical form: set one, the decoded bytes stay the same.
    assert len(segment) % 4 in (2, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) | 1]


SIZE_AND_SHAPE = [
    case("size-8192-default-cap-accepted", lambda k: token_of_length(k.hs256, 8192), None),
    case(
        "size-8193-over-default-cap", lambda k: token_of_length(k.hs256, 8193), TokenTooLargeError
    ),
    case(
        "size-8193-bytes-token",
        lambda k: token_of_length(k.hs256, 8193).encode(),
        TokenTooLargeError,
    ),
    case("size-garbage-over-cap-before-parsing", lambda k: "!" * 8193, TokenTooLargeError),
    case(
        "size-1024-configured-cap-accepted",
        lambda k: token_of_length(k.hs256, 1024),
        None,
        max_token_bytes=1024,
    ),
    case(
        "size-1025-over-configured-cap",
        lambda k: token_of_length(k.hs256, 1025),
        TokenTooLargeError,
        max_token_bytes=1024,
    ),
    case(
        "size-9000-under-raised-cap",
        lambda k: token_of_length(k.hs256, 9000),
        None,
        max_token_bytes=16384,
    ),
    case("shape-bytes-token-accepted", lambda k: make_token(k.hs256, claims_with()).encode(), None),
    case("shape-empty-string", lambda k: "", MalformedTokenError),
    case("shape-one-segment", lambda k: "eyJhbGciOiJIUzI1NiJ9", MalformedTokenError),
    case(
        "shape-two-segments",
        lambda k: make_token(k.hs256, claims_with()).rsplit(".", 1)[0],
        MalformedTokenError,
    ),
    case(
        "shape-four-segments",
        lambda k: make_token(k.hs256, claims_with()) + ".e30",
        MalformedTokenError,
    ),
    case(
        "shape-trailing-dot",
        lambda k: make_token(k.hs256, claims_with()) + ".",
        MalformedTokenError,
    ),
    case("shape-empty-header", with_segment(0, ""), MalformedTokenError),
    case("shape-not-a-string", lambda k: None, MalformedTokenError),
    case("shape-a-number", lambda k: 12345, MalformedTokenError),
    case(
        "shape-non-ascii-character",
        lambda k: make_token(k.hs256, claims_with()).replace(".", ".é", 1),
        MalformedTokenError,
    ),
    case(
        "shape-space-inside-header",
        lambda k: make_token(k.hs256, claims_with()).replace(".", " .", 1),
        MalformedTokenError,
    ),
    case(
        "base64-padding-in-header",
        resigned(lambda h, p: (h + "=" * (-len(h) % 4 or 4), p)),
        MalformedTokenError,
    ),
    case("base64-padding-in-payload", resigned(lambda h, p: (h, p + "==")), MalformedTokenError),
    case(
        "base64-padding-in-signature",
        lambda k: make_token(k.hs256, claims_with()) + "=",
        MalformedTokenError,
    ),
    case(
        "base64-standard-alphabet-plus",
        lambda k: raw_token(
            k.hs256, '{"alg":"HS256","x":">>>"}', compact_json(claims_with())
        ).replace("-", "+"),
        MalformedTokenError,
    ),
    case(
        "base64-standard-alphabet-slash",
        lambda k: raw_token(
            k.hs256, '{"alg":"HS256","x":"???"}', compact_json(claims_with())
        ).replace("_", "/"),
        MalformedTokenError,
    ),
    case("base64-length-1-mod-4", resigned(lambda h, p: (h, p + "A")), MalformedTokenError),
    case(
        "base64-non-canonical-trailing-bits",
        resigned(lambda h, p: (h, flip_last_char(p))),
        MalformedTokenError,
    ),
    case(
        "base64-non-canonical-signature",
        lambda k: flip_last_char(make_token(k.hs256, claims_with())),
        MalformedTokenError,
    ),
    case(
        "json-header-is-an-array",
        lambda k: raw_token(k.hs256, '["HS256"]', "{}"),
        MalformedTokenError,
    ),
    case(
        "json-header-is-not-json",
        lambda k: raw_token(k.hs256, "{alg:HS256}", "{}"),
        MalformedTokenError,
    ),
    case(
        "json-header-not-utf8",
        lambda k: raw_token(k.hs256, b'{"alg":"HS256","x":"\xff"}', compact_json(claims_with())),
        MalformedTokenError,
    ),
    case(
        "json-header-utf16",
        lambda k: raw_token(
            k.hs256, '{"alg":"HS256"}'.encode("utf-16"), compact_json(claims_with())
        ),
        MalformedTokenError,
    ),
    case(
        "json-payload-is-an-array",
        lambda k: raw_token(k.hs256, '{"alg":"HS256"}', "[1,2]"),
        MalformedTokenError,
    ),
    case(
        "json-payload-is-a-string",
        lambda k: raw_token(k.hs256, '{"alg":"HS256"}', '"sub"'),
        MalformedTokenError,
    ),
    case(
        "json-payload-empty",
        lambda k: raw_token(k.hs256, '{"alg":"HS256"}', ""),
        MalformedTokenError,
    ),
    case(
        "json-payload-trailing-garbage",
        lambda k: raw_token(k.hs256, '{"alg":"HS256"}', compact_json(claims_with()) + b"x"),
        MalformedTokenError,
    ),
]


@pytest.mark.parametrize("check", SIZE_AND_SHAPE)
def test_size_and_shape(check: Check, keys: KeyRing) -> None:
    run(check, keys)


def test_size_cap_defaults_to_8_kib(keys: KeyRing) -> None:
    assert Config(keys=KeySet([keys.hs256])).max_token_bytes == 8192


# --- header -----------------------------------------------------------------

ATTACKER_JWK_HEADERS = ["jwk", "jku", "x5u", "x5c"]


def attacker_key_material(k: KeyRing, member: str) -> Any:
    jwk = k.attacker_es256.public_jwk()
    return {
        "jwk": jwk,
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBszCCAVmgAwIBAgIUJ"],
    }[member]


HEADER = [
    case("alg-missing", hs_header({"alg": DROP}), InvalidAlgorithmError),
    case("alg-none", hs_header({"alg": "none"}), InvalidAlgorithmError),
    case("alg-lower-case", hs_header({"alg": "hs256"}), InvalidAlgorithmError),
    case("alg-number", hs_header({"alg": 256}), InvalidAlgorithmError),
    case("alg-list", hs_header({"alg": ["HS256"]}), InvalidAlgorithmError),
    case("alg-null", hs_header({"alg": None}), InvalidAlgorithmError),
    case("alg-same-family-other-hash", hs_header({"alg": "HS512"}), InvalidAlgorithmError),
    case("alg-of-another-family", hs_header({"alg": "ES256"}), InvalidAlgorithmError),
    case(
        "alg-in-set-but-not-the-kid-keys-algorithm",
        hs_header({"kid": "es-1"}),
        InvalidAlgorithmError,
        keys=two_keys,
    ),
    case("kid-selects-hs-key-of-two", hs_header({}), None, keys=two_keys),
    case(
        "kid-selects-es-key-of-two",
        lambda k: make_token(k.es256, claims_with()),
        None,
        keys=two_keys,
    ),
    case("kid-missing-with-two-keys", hs_header({"kid": DROP}), UnknownKeyError, keys=two_keys),
    case("kid-unknown-with-two-keys", hs_header({"kid": "hs-2"}), UnknownKeyError, keys=two_keys),
    case("kid-missing-one-key-set", hs_header({"kid": DROP}), None),
    case("kid-other-one-named-key", hs_header({"kid": "hs-2"}), UnknownKeyError),
    case("kid-any-one-unnamed-key", hs_header({"kid": "whatever"}), None, keys=anonymous_hs),
    case("kid-256-chars", hs_header({"kid": "k" * 256}), None, keys=anonymous_hs),
    case("kid-257-chars", hs_header({"kid": "k" * 257}), InvalidHeaderError, keys=anonymous_hs),
    case("kid-number", hs_header({"kid": 1}), InvalidHeaderError),
    case("kid-null", hs_header({"kid": None}), InvalidHeaderError),
    case("kid-list", hs_header({"kid": ["hs-1"]}), InvalidHeaderError),
    case("typ-anything-when-not-configured", hs_header({"typ": "whatever"}), None),
    case("typ-at+jwt", hs_header({"typ": "at+jwt"}), None, token_type="at+jwt"),
    case("typ-upper-case", hs_header({"typ": "AT+JWT"}), None, token_type="at+jwt"),
    case(
        "typ-application-prefix",
        hs_header({"typ": "application/at+jwt"}),
        None,
        token_type="at+jwt",
    ),
    case(
        "typ-mixed-case-prefix",
        hs_header({"typ": "Application/At+Jwt"}),
        None,
        token_type="at+jwt",
    ),
    case(
        "typ-configured-with-prefix",
        hs_header({"typ": "at+jwt"}),
        None,
        token_type="application/at+jwt",
    ),
    case("typ-jwt-refused", hs_header({"typ": "JWT"}), InvalidHeaderError, token_type="at+jwt"),
    case(
        "typ-application-jwt-refused",
        hs_header({"typ": "application/jwt"}),
        InvalidHeaderError,
        token_type="at+jwt",
    ),
    case("typ-missing-refused", hs_header({"typ": DROP}), InvalidHeaderError, token_type="at+jwt"),
    case("typ-number-refused", hs_header({"typ": 1}), InvalidHeaderError, token_type="at+jwt"),
    case(
        "typ-suffix-refused",
        hs_header({"typ": "at+jwt2"}),
        InvalidHeaderError,
        token_type="at+jwt",
    ),
    case("crit-unknown-extension", hs_header({"crit": ["exp"], "exp": 1}), InvalidHeaderError),
    case("crit-empty-list", hs_header({"crit": []}), InvalidHeaderError),
    case("crit-b64-with-b64-true", hs_header({"crit": ["b64"], "b64": True}), InvalidHeaderError),
    case("b64-false", hs_header({"b64": False}), InvalidHeaderError),
    case(
        "b64-false-declared-critical",
        hs_header({"b64": False, "crit": ["b64"]}),
        InvalidHeaderError,
    ),
    case("b64-string-false", hs_header({"b64": "false"}), InvalidHeaderError),
    case("b64-true-is-the-default", hs_header({"b64": True}), None),
    *(
        case(
            f"{member}-ignored-when-we-signed",
            lambda k, m=member: make_token(  # type: ignore[misc]
                k.es256, claims_with(), {m: attacker_key_material(k, m)}
            ),
            None,
            keys=lambda k: k.es256,
        )
        for member in ATTACKER_JWK_HEADERS
    ),
    *(
        case(
            f"{member}-never-used-to-pick-a-key",
            lambda k, m=member: make_token(  # type: ignore[misc]
                k.attacker_es256, claims_with(), {m: attacker_key_material(k, m)}
            ),
            InvalidSignatureError,
            keys=lambda k: k.es256,
        )
        for member in ATTACKER_JWK_HEADERS
    ),
]


@pytest.mark.parametrize("check", HEADER)
def test_header(check: Check, keys: KeyRing) -> None:
    run(check, keys)


# --- signature --------------------------------------------------------------


def flip_first_signature_char(token: str) -> str:
    head, body, sig = token.split(".")
    return f"{head}.{body}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"


def swap_payload(k: KeyRing) -> str:
    head, _, sig = make_token(k.hs256, claims_with(sub="alice")).split(".")
    other = make_token(k.hs256, claims_with(sub="mallory")).split(".")[1]
    return f"{head}.{other}.{sig}"


def der_signature(k: KeyRing) -> str:
    head, body, sig = make_token(k.es256, claims_with()).split(".")
    raw = base64.urlsafe_b64decode(sig + "==")
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return f"{head}.{body}.{b64url(der)}"


def es256_signed_by_cryptography(k: KeyRing) -> str:
    """An ES256 token signed outside the library: raw r || s, as RFC 7518 says."""
    from cryptography.hazmat.primitives import hashes

    head = b64url(compact_json({"alg": "ES256", "kid": "es-1"}))
    body = b64url(compact_json(claims_with()))
    r, s = decode_dss_signature(
        k.es256_private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    )
    return f"{head}.{body}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


SIGNATURE = [
    case("hs256-valid", hs_token(), None),
    case("es256-valid", lambda k: make_token(k.es256, claims_with()), None, keys=lambda k: k.es256),
    case(
        "es256-signed-independently",
        es256_signed_by_cryptography,
        None,
        keys=lambda k: k.es256,
    ),
    case(
        "rs256-valid-public-key-only",
        lambda k: make_token(k.rs256, claims_with()),
        None,
        keys=lambda k: k.rs256_public,
    ),
    case(
        "eddsa-valid",
        lambda k: make_token(k.ed25519, claims_with()),
        None,
        keys=lambda k: k.ed25519,
    ),
    case(
        "signature-one-char-changed",
        lambda k: flip_first_signature_char(make_token(k.hs256, claims_with())),
        InvalidSignatureError,
    ),
    case(
        "signature-by-attacker-key-same-kid",
        lambda k: make_token(k.attacker_hs256, claims_with()),
        InvalidSignatureError,
    ),
    case(
        "signature-es256-by-attacker-key-same-kid",
        lambda k: make_token(k.attacker_es256, claims_with()),
        InvalidSignatureError,
        keys=lambda k: k.es256,
    ),
    case("signature-empty", with_segment(2, ""), InvalidSignatureError),
    case(
        "signature-truncated",
        lambda k: make_token(k.hs256, claims_with())[:-4],
        InvalidSignatureError,
    ),
    case("payload-swapped", swap_payload, InvalidSignatureError),
    case(
        "header-swapped",
        lambda k: (
            make_token(k.hs256, claims_with(), {"typ": "at+jwt"}).split(".")[0]
            + "."
            + ".".join(make_token(k.hs256, claims_with()).split(".")[1:])
        ),
        InvalidSignatureError,
    ),
    case("es256-der-signature", der_signature, InvalidSignatureError, keys=lambda k: k.es256),
]


@pytest.mark.parametrize("check", SIGNATURE)
def test_signature(check: Check, keys: KeyRing) -> None:
    run(check, keys)


# --- claims: times ----------------------------------------------------------

TIMES = [
    case("exp-missing", hs_token(exp=DROP), MissingClaimError),
    case("exp-missing-allowed-by-require-exp-false", hs_token(exp=DROP), None, require_exp=False),
    case(
        "exp-checked-even-when-not-required",
        hs_token(exp=NOW - 1),
        ExpiredTokenError,
        require_exp=False,
    ),
    case("exp-now-is-expired", hs_token(exp=NOW), ExpiredTokenError),
    case("exp-one-second-ago", hs_token(exp=NOW - 1), ExpiredTokenError),
    case("exp-in-one-second", hs_token(exp=NOW + 1), None),
    case(
        "exp-fraction-of-a-second-ahead-counts-from-its-second",
        hs_token(exp=NOW + 0.5),
        ExpiredTokenError,
    ),
    case("exp-float-a-second-and-a-half-ahead", hs_token(exp=NOW + 1.5), None),
    case("exp-leeway-boundary-expired", hs_token(exp=NOW - 5), ExpiredTokenError, leeway=5),
    case("exp-within-leeway", hs_token(exp=NOW - 4), None, leeway=5),
    case("exp-numeric-string", hs_token(exp=str(NOW + HOUR)), InvalidClaimError),
    case("exp-boolean", hs_token(exp=True), InvalidClaimError),
    case("exp-null", hs_token(exp=None), InvalidClaimError),
    case("exp-list", hs_token(exp=[NOW + HOUR]), InvalidClaimError),
    case("exp-beyond-range", hs_token(exp=10**16), InvalidClaimError),
    case("nbf-now", hs_token(nbf=NOW), None),
    case("nbf-in-one-second", hs_token(nbf=NOW + 1), ImmatureTokenError),
    case("nbf-fraction-ahead", hs_token(nbf=NOW + 0.25), ImmatureTokenError),
    case("nbf-within-leeway", hs_token(nbf=NOW + 5), None, leeway=5),
    case("nbf-beyond-leeway", hs_token(nbf=NOW + 6), ImmatureTokenError, leeway=5),
    case("nbf-string", hs_token(nbf="now"), InvalidClaimError),
    case("iat-now", hs_token(iat=NOW), None),
    case("iat-in-the-future", hs_token(iat=NOW + 1), InvalidIssuedAtError),
    case("iat-future-within-leeway", hs_token(iat=NOW + 5), None, leeway=5),
    case("iat-future-beyond-leeway", hs_token(iat=NOW + 6), InvalidIssuedAtError, leeway=5),
    case("iat-boolean", hs_token(iat=False), InvalidClaimError),
    case("iat-missing-is-fine-without-max-age", hs_token(iat=DROP), None),
    case("max-age-boundary-accepted", hs_token(iat=NOW - 60), None, max_age=60),
    case("max-age-exceeded", hs_token(iat=NOW - 61), TokenTooOldError, max_age=60),
    case("max-age-needs-iat", hs_token(iat=DROP), MissingClaimError, max_age=60),
    case("max-age-with-leeway", hs_token(iat=NOW - 65), None, max_age=60, leeway=5),
    case("max-age-beyond-leeway", hs_token(iat=NOW - 66), TokenTooOldError, max_age=60, leeway=5),
]


@pytest.mark.parametrize("check", TIMES)
def test_times(check: Check, keys: KeyRing) -> None:
    run(check, keys)


def test_leeway_defaults_to_zero(keys: KeyRing) -> None:
    config = Config(keys=KeySet([keys.hs256]), clock=lambda: NOW)
    assert config.leeway == 0
    with pytest.raises(ExpiredTokenError):
        Verifier(config).verify(make_token(keys.hs256, claims_with(exp=NOW)))


# --- claims: issuer, audience, subject, required ----------------------------

ISSUER = "https://issuer.example"

PARTIES = [
    case("iss-exact", hs_token(iss=ISSUER), None, issuer=ISSUER),
    case("iss-missing", hs_token(), MissingClaimError, issuer=ISSUER),
    case("iss-null", hs_token(iss=None), MissingClaimError, issuer=ISSUER),
    case("iss-trailing-slash", hs_token(iss=ISSUER + "/"), InvalidIssuerError, issuer=ISSUER),
    case("iss-other-case", hs_token(iss=ISSUER.upper()), InvalidIssuerError, issuer=ISSUER),
    case("iss-prefix-of-configured", hs_token(iss=ISSUER[:-3]), InvalidIssuerError, issuer=ISSUER),
    case("iss-list-in-token", hs_token(iss=[ISSUER]), InvalidIssuerError, issuer=ISSUER),
    case(
        "iss-one-of-configured-list",
        hs_token(iss="https://other.example"),
        None,
        issuer=[ISSUER, "https://other.example"],
    ),
    case(
        "iss-none-of-configured-list",
        hs_token(iss="https://third.example"),
        InvalidIssuerError,
        issuer=[ISSUER, "https://other.example"],
    ),
    case("iss-not-checked-when-not-configured", hs_token(iss="anyone"), None),
    case("aud-string-match", hs_token(aud="api"), None, audience="api"),
    case("aud-list-contains-ours", hs_token(aud=["web", "api"]), None, audience="api"),
    case("aud-string-other", hs_token(aud="web"), InvalidAudienceError, audience="api"),
    case("aud-list-without-ours", hs_token(aud=["web"]), InvalidAudienceError, audience="api"),
    case("aud-empty-list", hs_token(aud=[]), InvalidAudienceError, audience="api"),
    case("aud-missing", hs_token(), MissingClaimError, audience="api"),
    case(
        "aud-list-with-non-string", hs_token(aud=["api", 7]), InvalidAudienceError, audience="api"
    ),
    case("aud-number", hs_token(aud=7), InvalidAudienceError, audience="api"),
    case("aud-object", hs_token(aud={"api": True}), InvalidAudienceError, audience="api"),
    case("aud-prefix", hs_token(aud="ap"), InvalidAudienceError, audience="api"),
    case("aud-configured-list-string-token", hs_token(aud="web"), None, audience=["api", "web"]),
    case(
        "aud-configured-list-list-token", hs_token(aud=["x", "api"]), None, audience=["api", "web"]
    ),
    case(
        "aud-configured-list-no-match",
        hs_token(aud=["x"]),
        InvalidAudienceError,
        audience=["api", "web"],
    ),
    case("aud-present-none-configured", hs_token(aud="api"), InvalidAudienceError),
    case("aud-empty-list-none-configured", hs_token(aud=[]), InvalidAudienceError),
    case("aud-absent-none-configured", hs_token(), None),
    case("sub-number", hs_token(sub=5), InvalidClaimError),
    case("sub-null", hs_token(sub=None), InvalidClaimError),
    case("sub-absent", hs_token(sub=DROP), MissingClaimError),
    case("sub-empty", hs_token(sub=""), MissingClaimError),
    case("sub-absent-machine-token", hs_token(sub=DROP), None, require_subject=False),
    case("sub-empty-when-not-required", hs_token(sub=""), None, require_subject=False),
    case(
        "sub-null-even-when-not-required",
        hs_token(sub=None),
        InvalidClaimError,
        require_subject=False,
    ),
    case(
        "sub-absent-in-a-refresh-token",
        hs_header({"typ": "refresh+jwt"}, sub=DROP),
        MissingClaimError,
        kind="refresh",
    ),
    case("jti-number", hs_token(jti=5), InvalidClaimError),
    case("jti-null", hs_token(jti=None), InvalidClaimError),
    case("required-claim-present", hs_token(tenant="acme"), None, required_claims=["tenant"]),
    case("required-claim-missing", hs_token(), MissingClaimError, required_claims=["tenant"]),
    case(
        "required-claim-null", hs_token(tenant=None), MissingClaimError, required_claims=["tenant"]
    ),
    case(
        "required-claims-one-of-two-missing",
        hs_token(tenant="acme"),
        MissingClaimError,
        required_claims=["tenant", "org"],
    ),
]


@pytest.mark.parametrize("check", PARTIES)
def test_parties_and_required_claims(check: Check, keys: KeyRing) -> None:
    run(check, keys)


# --- token kind -------------------------------------------------------------

KINDS = [
    case("access-token-as-access", hs_header({"typ": "JWT"}), None),
    case("at+jwt-as-access", hs_header({"typ": "at+jwt"}), None),
    case("refresh-typ-as-access", hs_header({"typ": "refresh+jwt"}), WrongTokenKindError),
    case(
        "refresh-typ-prefixed-upper-case-as-access",
        hs_header({"typ": "application/REFRESH+JWT"}),
        WrongTokenKindError,
    ),
    case(
        "refresh-typ-as-access-with-token-type-configured",
        hs_header({"typ": "refresh+jwt"}),
        WrongTokenKindError,
        token_type="at+jwt",
    ),
    case("refresh-typ-as-refresh", hs_header({"typ": "refresh+jwt"}), None, kind="refresh"),
    case(
        "refresh-as-refresh-ignores-access-token-type",
        hs_header({"typ": "refresh+jwt"}),
        None,
        kind="refresh",
        token_type="at+jwt",
    ),
    case("jwt-typ-as-refresh", hs_header({"typ": "JWT"}), WrongTokenKindError, kind="refresh"),
    case("at+jwt-as-refresh", hs_header({"typ": "at+jwt"}), WrongTokenKindError, kind="refresh"),
    case("no-typ-as-refresh", hs_header({"typ": DROP}), WrongTokenKindError, kind="refresh"),
    case("cognito-refresh-token-use", hs_token(token_use="refresh"), WrongTokenKindError),
    case("cognito-id-token-use", hs_token(token_use="id"), WrongTokenKindError),
    case("cognito-access-token-use", hs_token(token_use="access"), None),
    case("keycloak-refresh-typ-claim", hs_token(typ="Refresh"), WrongTokenKindError),
    case("keycloak-offline-typ-claim", hs_token(typ="Offline"), WrongTokenKindError),
    case("keycloak-id-typ-claim", hs_token(typ="ID"), WrongTokenKindError),
    case("keycloak-bearer-typ-claim", hs_token(typ="Bearer"), None),
    case("keycloak-dpop-typ-claim", hs_token(typ="DPoP"), None),
    case("keycloak-logout-typ-claim", hs_token(typ="Logout"), WrongTokenKindError),
    case("keycloak-serialized-id-typ-claim", hs_token(typ="Serialized-ID"), WrongTokenKindError),
    case("keycloak-unknown-typ-claim-says-nothing", hs_token(typ="JWT"), None),
    case("keycloak-non-string-typ-claim-says-nothing", hs_token(typ=1), None),
    case("cognito-unknown-token-use", hs_token(token_use="session"), WrongTokenKindError),
    case("cognito-non-string-token-use-says-nothing", hs_token(token_use=5), None),
    case("logout-token-typ-as-access", hs_header({"typ": "logout+jwt"}), WrongTokenKindError),
    case("secevent-typ-as-access", hs_header({"typ": "secevent+jwt"}), WrongTokenKindError),
    # No marker overrides another: a header typ at+jwt does not make a refresh or ID
    # token (by its claims) an access token, and refresh+jwt does not do the reverse.
    case(
        "at+jwt-with-cognito-refresh",
        hs_header({"typ": "at+jwt"}, token_use="refresh"),
        WrongTokenKindError,
    ),
    case(
        "at+jwt-with-cognito-id", hs_header({"typ": "at+jwt"}, token_use="id"), WrongTokenKindError
    ),
    case(
        "at+jwt-with-keycloak-refresh",
        hs_header({"typ": "at+jwt"}, typ="Refresh"),
        WrongTokenKindError,
    ),
    case("at+jwt-with-keycloak-id", hs_header({"typ": "at+jwt"}, typ="ID"), WrongTokenKindError),
    case(
        "at+jwt-upper-case-with-keycloak-offline",
        hs_header({"typ": "AT+JWT"}, typ="Offline"),
        WrongTokenKindError,
        token_type="at+jwt",
    ),
    case(
        "at+jwt-with-cognito-access-and-keycloak-id",
        hs_header({"typ": "at+jwt"}, token_use="access", typ="ID"),
        WrongTokenKindError,
    ),
    case("at+jwt-with-cognito-access", hs_header({"typ": "at+jwt"}, token_use="access"), None),
    case("at+jwt-with-keycloak-bearer", hs_header({"typ": "at+jwt"}, typ="Bearer"), None),
    case(
        "refresh+jwt-with-cognito-access-as-refresh",
        hs_header({"typ": "refresh+jwt"}, token_use="access"),
        WrongTokenKindError,
        kind="refresh",
    ),
    case(
        "refresh+jwt-with-cognito-id-as-refresh",
        hs_header({"typ": "refresh+jwt"}, token_use="id"),
        WrongTokenKindError,
        kind="refresh",
    ),
    case(
        "refresh+jwt-with-keycloak-bearer-as-refresh",
        hs_header({"typ": "refresh+jwt"}, typ="Bearer"),
        WrongTokenKindError,
        kind="refresh",
    ),
    case(
        "refresh+jwt-with-keycloak-id-as-refresh",
        hs_header({"typ": "refresh+jwt"}, typ="ID"),
        WrongTokenKindError,
        kind="refresh",
    ),
    case(
        "refresh+jwt-with-keycloak-refresh-as-refresh",
        hs_header({"typ": "refresh+jwt"}, typ="Refresh"),
        None,
        kind="refresh",
    ),
    case(
        "refresh+jwt-with-cognito-refresh-as-refresh",
        hs_header({"typ": "refresh+jwt"}, token_use="refresh"),
        None,
        kind="refresh",
    ),
    case(
        "keycloak-refresh-claim-without-refresh-header-as-refresh",
        hs_header({"typ": "JWT"}, typ="Refresh"),
        WrongTokenKindError,
        kind="refresh",
    ),
]


@pytest.mark.parametrize("check", KINDS)
def test_token_kind(check: Check, keys: KeyRing) -> None:
    run(check, keys)


def test_unknown_kind_is_a_programming_error(keys: KeyRing) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        verifier(keys.hs256).verify(make_token(keys.hs256, claims_with()), kind="id")


# --- custom claim checks ----------------------------------------------------


def is_acme(value: Any) -> bool:
    return bool(value == "acme")


def explodes(value: Any) -> bool:
    raise KeyError(f"secret-{value}")


CUSTOM = [
    case("check-passes", hs_token(tenant="acme"), None, claim_checks={"tenant": is_acme}),
    case(
        "check-fails", hs_token(tenant="other"), InvalidClaimError, claim_checks={"tenant": is_acme}
    ),
    case("check-claim-missing", hs_token(), MissingClaimError, claim_checks={"tenant": is_acme}),
    case(
        "check-claim-null",
        hs_token(tenant=None),
        InvalidClaimError,
        claim_checks={"tenant": is_acme},
    ),
    case(
        "check-lambda-from-the-issue",
        hs_token(tenant="acme"),
        None,
        claim_checks={"tenant": lambda v: v == "acme"},
    ),
    case(
        "check-predicate-raises",
        hs_token(tenant="acme"),
        InvalidClaimError,
        claim_checks={"tenant": explodes},
    ),
    case(
        "check-predicate-type-error",
        hs_token(tenant=5),
        InvalidClaimError,
        claim_checks={"tenant": lambda v: v.startswith("a")},
    ),
    case(
        "check-truthy-non-bool-result",
        hs_token(tenant="acme"),
        None,
        claim_checks={"tenant": lambda v: v},
    ),
    case(
        "check-second-of-two-fails",
        hs_token(tenant="acme", org="x"),
        InvalidClaimError,
        claim_checks={"tenant": is_acme, "org": lambda v: v == "y"},
    ),
]


@pytest.mark.parametrize("check", CUSTOM)
def test_custom_claim_checks(check: Check, keys: KeyRing) -> None:
    run(check, keys)


def test_a_raising_predicate_is_logged_without_the_claim_value(
    keys: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    v = verifier(keys.hs256, claim_checks={"tenant": explodes})
    with (
        caplog.at_level(logging.WARNING, logger="jwt_middleware"),
        pytest.raises(InvalidClaimError) as info,
    ):
        v.verify(make_token(keys.hs256, claims_with(tenant="hunter2")))
    assert "hunter2" not in str(info.value)
    assert "KeyError" in caplog.text
    assert "hunter2" not in caplog.text


# --- the signature stage alone, async, and the plug-in seams -----------------


def test_verify_signature_checks_no_claims(keys: KeyRing) -> None:
    v = verifier(keys.hs256)
    expired = make_token(keys.hs256, claims_with(exp=NOW - HOUR))
    header, payload = v.verify_signature(expired)
    assert header == {"alg": "HS256", "typ": "JWT", "kid": "hs-1"}
    assert json.loads(payload) == claims_with(exp=NOW - HOUR)
    with pytest.raises(ExpiredTokenError):
        v.verify(expired)
    with pytest.raises(InvalidSignatureError):
        v.verify_signature(make_token(keys.attacker_hs256, claims_with()))


def test_averify_gives_the_same_principal(keys: KeyRing) -> None:
    v = verifier(KeySet([keys.es256, keys.hs256]), audience="api")
    token = make_token(keys.es256, claims_with(aud="api", roles=["admin"]))
    sync = v.verify(token)
    async_ = asyncio.run(v.averify(token))
    assert async_ == sync
    assert async_.subject == "alice"
    assert async_.roles == frozenset({"admin"})
    assert dict(async_.header) == dict(sync.header)


def test_averify_refuses_like_verify(keys: KeyRing) -> None:
    v = verifier(keys.hs256)
    token = make_token(keys.hs256, claims_with(exp=NOW - 1))
    with pytest.raises(ExpiredTokenError):
        asyncio.run(v.averify(token))
    with pytest.raises(WrongTokenKindError):
        asyncio.run(v.averify(make_token(keys.hs256, claims_with(), {"typ": "refresh+jwt"})))
    refresh = asyncio.run(
        v.averify(make_token(keys.hs256, claims_with(), {"typ": "refresh+jwt"}), kind="refresh")
    )
    assert refresh.kind == "refresh"


class AsyncOnlyKeys:
    """A key source whose sync lookup must not be used by ``averify``."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.calls: list[str] = []

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset({self.key.algorithm})

    def resolve(self, kid: str | None) -> Key:
        raise AssertionError("averify must use aresolve")

    async def aresolve(self, kid: str | None) -> Key:
        self.calls.append(str(kid))
        if kid != self.key.kid:
            raise UnknownKeyError()
        return self.key


class RevokeSubject:
    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.seen: list[str] = []

    def check(self, principal: Principal) -> None:
        self.seen.append("sync")
        if principal.subject == self.subject:
            raise RevokedTokenError()

    async def acheck(self, principal: Principal) -> None:
        self.seen.append("async")
        if principal.subject == self.subject:
            raise RevokedTokenError()


def test_averify_uses_the_async_seams(keys: KeyRing) -> None:
    source = AsyncOnlyKeys(keys.hs256)
    revocation = RevokeSubject("mallory")
    v = Verifier(
        Config(keys=KeySet([keys.hs256]), clock=lambda: NOW), keys=source, revocation=revocation
    )
    principal = asyncio.run(v.averify(make_token(keys.hs256, claims_with())))
    assert principal.subject == "alice"
    with pytest.raises(RevokedTokenError) as info:
        asyncio.run(v.averify(make_token(keys.hs256, claims_with(sub="mallory"))))
    assert_token_error(info.value, RevokedTokenError)
    with pytest.raises(UnknownKeyError):
        asyncio.run(v.averify(make_token(keys.hs256, claims_with(), {"kid": "other"})))
    assert source.calls == ["hs-1", "hs-1", "other"]
    assert revocation.seen == ["async", "async"]


def test_verify_runs_the_sync_revocation_check(keys: KeyRing) -> None:
    revocation = RevokeSubject("mallory")
    v = Verifier(Config(keys=KeySet([keys.hs256]), clock=lambda: NOW), revocation=revocation)
    assert v.verify(make_token(keys.hs256, claims_with())).subject == "alice"
    with pytest.raises(RevokedTokenError):
        v.verify(make_token(keys.hs256, claims_with(sub="mallory")))
    assert revocation.seen == ["sync", "sync"]
