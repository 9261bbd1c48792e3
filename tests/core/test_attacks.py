"""One named regression test per known attack on JWT verifiers.

Every forged token here is built the way an attacker would build it, and a
sanity check shows the forgery is well-formed where that matters (so a test
cannot pass just because the forgery was broken).
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import hashlib
import hmac
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

import jwt_middleware._core.verify
from jwt_middleware import (
    Config,
    ConfigurationError,
    InvalidAlgorithmError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidIssuerError,
    InvalidRequestError,
    InvalidSignatureError,
    Issuer,
    Key,
    KeySet,
    MalformedTokenError,
    MissingClaimError,
    TokenError,
    TokenTooLargeError,
    UnknownKeyError,
    Verifier,
    WrongTokenKindError,
    extract_bearer,
)

from .helpers import (
    DROP,
    HOUR,
    NOW,
    KeyRing,
    assert_token_error,
    b64url,
    claims_with,
    clock,
    compact_json,
    make_token,
    raw_token,
    verifier,
)


def refused(
    v: Verifier, token: str | bytes, expected: type[TokenError], kind: str = "access"
) -> None:
    with pytest.raises(TokenError) as info:
        v.verify(token, kind=kind)
    assert_token_error(info.value, expected)


def hs256_forgery(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token MACed with ``secret`` by hand, as an attacker without our key would."""
    signing_input = f"{b64url(compact_json(header))}.{b64url(compact_json(claims))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def mac_is_valid(token: str, secret: bytes) -> bool:
    signing_input, _, signature = token.rpartition(".")
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(b64url(mac), signature)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail loudly on any attempt to resolve a name or open a connection."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args!r}")
            raise AssertionError(f"network access attempted: {what}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    yield attempts
    assert attempts == []


def test_no_network_guard_catches_connections(no_network: list[str]) -> None:
    with pytest.raises(AssertionError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(AssertionError, match="network access attempted"):
        socket.getaddrinfo("attacker.example", 443)
    assert len(no_network) == 2
    no_network.clear()  # seen: the guard works


# --- algorithm -----------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["none", "None", "NONE", "nOnE", ""])
def test_attack_alg_none_every_spelling(keys: KeyRing, spelling: str) -> None:
    verifiers = [
        verifier(keys.hs256),
        verifier(keys.es256),
        verifier(keys.rs256_public),
        verifier(KeySet([keys.hs256, keys.es256])),
        verifier(Key.from_secret(keys.hs256_secret)),  # one key, no kid: takes any kid
    ]
    claims = b64url(compact_json(claims_with(sub="admin")))
    for header in (
        {"alg": spelling},
        {"alg": spelling, "kid": "hs-1"},
        {"alg": spelling, "typ": "JWT"},
    ):
        head = b64url(compact_json(header))
        unsigned = f"{head}.{claims}."
        signed = make_token(keys.hs256, claims_with(sub="admin"), header)
        for v in verifiers:
            refused(v, unsigned, InvalidAlgorithmError)
            refused(v, signed, InvalidAlgorithmError)


def public_key_forms(keys: KeyRing) -> dict[str, bytes]:
    public = keys.rsa_private.public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return {
        "pem": public.public_bytes(serialization.Encoding.PEM, spki),
        "der": public.public_bytes(serialization.Encoding.DER, spki),
        "jwk-json": json.dumps(keys.rs256_public.public_jwk()).encode(),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }


@pytest.mark.parametrize("form", ["pem", "der", "jwk-json", "openssh"])
def test_attack_hs256_signed_with_the_rsa_public_key(keys: KeyRing, form: str) -> None:
    secret = public_key_forms(keys)[form]
    header = {"alg": "HS256", "typ": "JWT", "kid": "rs-1"}
    forged = hs256_forgery(secret, header, claims_with(sub="admin"))
    assert mac_is_valid(forged, secret)  # a naive verifier using the "key" as a secret agrees
    server = Key.from_pem(public_key_forms(keys)["pem"], "RS256", kid="rs-1")
    refused(verifier(server), forged, InvalidAlgorithmError)
    # With an HMAC key in the same set, HS256 is an allowed algorithm: the kid still
    # picks the RSA key, whose pinned algorithm is RS256.
    mixed = verifier(KeySet([server, keys.hs256]))
    refused(mixed, forged, InvalidAlgorithmError)
    # Naming the HMAC key instead: it holds our secret, not the public key.
    refused(
        mixed,
        hs256_forgery(secret, {**header, "kid": "hs-1"}, claims_with()),
        InvalidSignatureError,
    )
    # And the public key can never be configured as an HMAC secret in the first place.
    with pytest.raises(ConfigurationError, match="looks like a public key"):
        Key.from_secret(secret, "HS256")


# --- key material taken from the token ---------------------------------------------


def test_attack_embedded_jwk_header(keys: KeyRing, no_network: list[str]) -> None:
    attacker_jwk = keys.attacker_es256.public_jwk()
    for header in (
        {"jwk": attacker_jwk},
        {"jwk": attacker_jwk, "kid": attacker_jwk["kid"]},
        {"jwk": {**attacker_jwk, "kid": "other"}, "kid": "es-1"},
    ):
        forged = make_token(keys.attacker_es256, claims_with(sub="admin"), header)
        # The forgery is genuine: the key it carries verifies it.
        assert verifier(Key.from_jwk(attacker_jwk)).verify(forged).subject == "admin"
        refused(verifier(keys.es256), forged, InvalidSignatureError)
        refused(verifier(KeySet([keys.es256, keys.hs256])), forged, InvalidSignatureError)


def assert_key_url_ignored(keys: KeyRing, member: str) -> None:
    for url in (
        "http://127.0.0.1:9/jwks.json",
        "https://attacker.example/.well-known/jwks.json",
        "file:///etc/passwd",
    ):
        forged = make_token(keys.attacker_es256, claims_with(sub="admin"), {member: url})
        refused(verifier(keys.es256), forged, InvalidSignatureError)
        refused(verifier(KeySet([keys.es256, keys.hs256])), forged, InvalidSignatureError)
        ours = make_token(keys.es256, claims_with(), {member: url})
        assert verifier(keys.es256).verify(ours).header[member] == url  # carried, never fetched


def test_attack_jku_header(keys: KeyRing, no_network: list[str]) -> None:
    assert_key_url_ignored(keys, "jku")
    assert no_network == []


def test_attack_x5u_header(keys: KeyRing, no_network: list[str]) -> None:
    assert_key_url_ignored(keys, "x5u")
    assert no_network == []


def test_attack_embedded_x5c_header(keys: KeyRing, no_network: list[str]) -> None:
    material = base64.b64encode(keys.attacker_es256.public_pem()).decode()
    forged = make_token(keys.attacker_es256, claims_with(sub="admin"), {"x5c": [material]})
    refused(verifier(keys.es256), forged, InvalidSignatureError)


KID_ATTACKS = [
    "../../dev/null",
    "/dev/null",
    "../../../../../../etc/passwd",
    "' OR 1=1 --",
    "x' UNION SELECT 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' --",
    "| rm -rf /",
    "$(touch /tmp/pwned)",
    "`id`",
    "hs-1\x00.pem",
    "http://127.0.0.1:9/key",
]


def test_attack_kid_path_traversal_and_injection(
    keys: KeyRing, monkeypatch: pytest.MonkeyPatch, no_network: list[str]
) -> None:
    # What each kid would yield if it were used as a path, a query or a command: nothing.
    named = verifier(KeySet([keys.hs256, keys.es256]))
    single = verifier(Key.from_secret(keys.hs256_secret))  # takes any kid as a hint
    forgeries = {
        kid: hs256_forgery(b"", {"alg": "HS256", "kid": kid}, claims_with(sub="admin"))
        for kid in KID_ATTACKS
    }
    effects: list[str] = []

    def record(name: str) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            effects.append(name)
            raise AssertionError(f"{name} called while verifying")

        return called

    with monkeypatch.context() as patch:
        patch.setattr(builtins, "open", record("open"))
        patch.setattr(os, "open", record("os.open"))
        patch.setattr(os, "system", record("os.system"))
        patch.setattr(subprocess, "Popen", record("subprocess.Popen"))
        for forged in forgeries.values():
            refused(named, forged, UnknownKeyError)
            refused(single, forged, InvalidSignatureError)
    assert effects == []


@pytest.mark.parametrize(
    "kid",
    ["k" * 10_000, "k" * 257, 5, 0, True, None, ["hs-1"], {"path": "../../dev/null"}],
    ids=["10000-chars", "257-chars", "number", "zero", "boolean", "null", "list", "object"],
)
def test_attack_oversized_or_non_string_kid(keys: KeyRing, kid: Any) -> None:
    forged = make_token(keys.hs256, claims_with(), {"kid": kid})
    raised = 65536
    for v in (
        verifier(keys.hs256, max_token_bytes=raised),
        verifier(Key.from_secret(keys.hs256_secret), max_token_bytes=raised),
    ):
        refused(v, forged, InvalidHeaderError)
    # Under the default cap a 10 000-character kid does not even get parsed.
    expected = TokenTooLargeError if len(forged) > 8192 else InvalidHeaderError
    refused(verifier(keys.hs256), forged, expected)


# --- JWS extensions ---------------------------------------------------------------


def test_attack_unknown_crit(keys: KeyRing) -> None:
    headers: list[dict[str, Any]] = [
        {"crit": ["exp"], "exp": NOW + HOUR},
        {"crit": ["http://example.com/must-understand"], "http://example.com/must-understand": 1},
        {"crit": ["b64"], "b64": True},
        {"crit": []},
        {"crit": "exp"},
    ]
    for header in headers:
        token = make_token(keys.hs256, claims_with(), header)
        refused(verifier(keys.hs256), token, InvalidHeaderError)


def test_attack_b64_false(keys: KeyRing) -> None:
    # RFC 7797: the payload is signed unencoded; a verifier that ignores b64 checks
    # a different signing input than the one signed.
    claims = compact_json(claims_with(sub="admin")).decode()
    head = b64url(compact_json({"alg": "HS256", "b64": False, "crit": ["b64"]}))
    signing_input = f"{head}.{claims}".encode()
    unencoded = f"{head}.{claims}.{b64url(keys.hs256.sign(signing_input))}"
    refused(verifier(keys.hs256), unencoded, InvalidHeaderError)
    detached = f"{head}..{b64url(keys.hs256.sign(signing_input))}"
    refused(verifier(keys.hs256), detached, InvalidHeaderError)
    for header in ({"b64": False, "crit": ["b64"]}, {"b64": False}, {"b64": 0}):
        refused(
            verifier(keys.hs256), make_token(keys.hs256, claims_with(), header), InvalidHeaderError
        )


# --- JSON parsing --------------------------------------------------------------------


def test_attack_duplicate_json_keys(keys: KeyRing) -> None:
    good = compact_json(claims_with()).decode()
    body = good[1:]  # without the opening brace: members can be put in front
    cases = [
        ('{"alg":"none","alg":"HS256"}', good),
        ('{"alg":"HS256","alg":"none"}', good),
        ('{"alg":"HS256","kid":"es-1","kid":"hs-1"}', good),
        ('{"alg":"HS256"}', f'{{"exp":{NOW - HOUR},{body}'),
        ('{"alg":"HS256"}', good[:-1] + f',"exp":{NOW - HOUR}}}'),
        ('{"alg":"HS256"}', f'{{"sub":"admin",{body}'),
        ('{"alg":"HS256"}', good[:-1] + ',"sub":"admin"}'),
        ('{"alg":"HS256"}', good[:-1] + ',"roles":{"a":[],"a":["admin"]}}'),
    ]
    v = verifier(keys.hs256)
    for header, payload in cases:
        token = raw_token(keys.hs256, header, payload)
        # Last-one-wins parsing (Python's default) would have read something else.
        json.loads(header)
        json.loads(payload)
        refused(v, token, MalformedTokenError)


@pytest.mark.parametrize(
    "exp",
    ["9999999999", str(NOW + HOUR), "1e10", " 9999999999", "0x7fffffff"],
    ids=["far-future", "an-hour-ahead", "exponent", "leading-space", "hex"],
)
def test_attack_numeric_string_exp(keys: KeyRing, exp: str) -> None:
    refused(verifier(keys.hs256), make_token(keys.hs256, claims_with(exp=exp)), InvalidClaimError)


@pytest.mark.parametrize("exp", [True, False], ids=["true", "false"])
def test_attack_boolean_exp(keys: KeyRing, exp: bool) -> None:
    refused(verifier(keys.hs256), make_token(keys.hs256, claims_with(exp=exp)), InvalidClaimError)


def test_attack_missing_exp(keys: KeyRing) -> None:
    without_exp = {name: value for name, value in claims_with().items() if name != "exp"}
    refused(verifier(keys.hs256), make_token(keys.hs256, without_exp), MissingClaimError)
    refused(
        verifier(keys.hs256, leeway=300), make_token(keys.hs256, without_exp), MissingClaimError
    )
    # "exp": null is not "no exp", and not a date either.
    refused(verifier(keys.hs256), make_token(keys.hs256, claims_with(exp=None)), InvalidClaimError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NaN", MalformedTokenError),
        ("Infinity", MalformedTokenError),
        ("-Infinity", MalformedTokenError),
        ("1e999", InvalidClaimError),
        ("1e308", InvalidClaimError),
        ("-1e999", InvalidClaimError),
    ],
    ids=["nan", "infinity", "minus-infinity", "1e999", "1e308", "minus-1e999"],
)
def test_attack_non_finite_exp(keys: KeyRing, text: str, expected: type[TokenError]) -> None:
    payload = '{"sub":"admin","exp":' + text + "}"
    for v in (verifier(keys.hs256), verifier(keys.hs256, require_exp=False)):
        refused(v, raw_token(keys.hs256, '{"alg":"HS256"}', payload), expected)
    nbf = '{"sub":"admin","exp":' + str(NOW + HOUR) + ',"nbf":' + text + "}"
    refused(verifier(keys.hs256), raw_token(keys.hs256, '{"alg":"HS256"}', nbf), expected)


def nested_segment(depth: int) -> str:
    return b64url(b"[" * depth)


def test_attack_deeply_nested_json(keys: KeyRing) -> None:
    head = b64url(b'{"alg":"HS256"}')
    # 100 000 '[' in the payload: far over the default cap, refused before parsing.
    huge = f"{head}.{nested_segment(100_000)}.{b64url(b'x' * 32)}"
    refused(verifier(keys.hs256), huge, TokenTooLargeError)
    # Under a raised cap the parser meets it, and must not overflow the stack.
    raised = verifier(keys.hs256, max_token_bytes=65536)
    deep_header = f"{nested_segment(40_000)}.{b64url(b'{}')}.{b64url(b'x' * 32)}"
    assert len(deep_header) < 65536
    refused(raised, deep_header, MalformedTokenError)
    balanced = b'{"alg":"HS256","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    refused(
        raised, raw_token(keys.hs256, balanced, compact_json(claims_with())), MalformedTokenError
    )
    objects = b'{"alg":"HS256","x":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"
    refused(
        raised, raw_token(keys.hs256, objects, compact_json(claims_with())), MalformedTokenError
    )
    # A validly signed payload nested beyond the recursion limit.
    deep_payload = raw_token(keys.hs256, '{"alg":"HS256"}', b"[" * 30_000)
    refused(raised, deep_payload, MalformedTokenError)
    nested_claim = (
        b'{"exp":' + str(NOW + HOUR).encode() + b',"x":' + b"[" * 3000 + b"]" * 3000 + b"}"
    )
    refused(raised, raw_token(keys.hs256, '{"alg":"HS256"}', nested_claim), MalformedTokenError)



def test_attack_nesting_limit_is_the_same_on_every_python(keys: KeyRing) -> None:
    """Python 3.13's parser accepts 5,000 levels that 3.10-3.12 refuse with
    RecursionError: the depth limit is our own, so every version answers alike."""
    from jwt_middleware._core.jws import MAX_DEPTH

    def claims(depth: int) -> bytes:
        inner = b"[" * (depth - 1) + b"]" * (depth - 1)
        return b'{"sub":"a","exp":' + str(NOW + HOUR).encode() + b',"x":' + inner + b"}"

    v = verifier(keys.hs256)
    assert v.verify(raw_token(keys.hs256, '{"alg":"HS256"}', claims(MAX_DEPTH))).subject == "a"
    deeper = raw_token(keys.hs256, '{"alg":"HS256"}', claims(MAX_DEPTH + 1))
    refused(v, deeper, MalformedTokenError)
    # Brackets inside strings are not nesting.
    strings = b'{"sub":"a","exp":' + str(NOW + HOUR).encode() + b',"x":"' + b"[" * 100 + b'"}'
    assert v.verify(raw_token(keys.hs256, '{"alg":"HS256"}', strings)).subject == "a"


# --- claims ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        "https://issuer.example.evil",
        "https://issuer.exam",
        "https://issuer.example/",
        "https://issuer.example.",
        "http://issuer.example",
        "https://issuer.example\u0000",
        "https://ISSUER.example",
        "https://issuer.example https://evil.example",
        " https://issuer.example",
    ],
    ids=[
        "suffix",
        "prefix",
        "trailing-slash",
        "trailing-dot",
        "http",
        "nul",
        "case",
        "space-list",
        "leading-space",
    ],
)
def test_attack_issuer_prefix_and_substring(keys: KeyRing, iss: str) -> None:
    token = make_token(keys.hs256, claims_with(iss=iss))
    refused(verifier(keys.hs256, issuer="https://issuer.example"), token, InvalidIssuerError)
    listed = verifier(keys.hs256, issuer=["https://issuer.example", "https://other.example"])
    refused(listed, token, InvalidIssuerError)


def test_attack_refresh_token_used_as_access_token(keys: KeyRing) -> None:
    refresh = make_token(keys.hs256, claims_with(), {"typ": "refresh+jwt"})
    access = make_token(keys.hs256, claims_with(), {"typ": "at+jwt"})
    v = verifier(keys.hs256)
    assert v.verify(refresh, kind="refresh").kind == "refresh"
    assert v.verify(access).kind == "access"
    refused(v, refresh, WrongTokenKindError)
    refused(v, access, WrongTokenKindError, kind="refresh")
    refused(verifier(keys.hs256, token_type="at+jwt"), refresh, WrongTokenKindError)
    cognito = make_token(keys.hs256, claims_with(token_use="refresh"))
    refused(v, cognito, WrongTokenKindError)


REFRESH_OR_ID_CLAIMS = [
    {"token_use": "refresh"},
    {"token_use": "id"},
    {"typ": "Refresh"},
    {"typ": "Offline"},
    {"typ": "ID"},
    {"token_use": "access", "typ": "Refresh"},
]


@pytest.mark.parametrize(
    "marker",
    REFRESH_OR_ID_CLAIMS,
    ids=["cognito-refresh", "cognito-id", "keycloak-refresh", "keycloak-offline", "keycloak-id",
         "cognito-access-keycloak-refresh"],
)  # fmt: skip
def test_attack_at_jwt_header_does_not_override_a_refresh_or_id_claim(
    keys: KeyRing, marker: dict[str, str]
) -> None:
    # A header ``typ: at+jwt`` once won over the claims: a refresh or ID token whose
    # issuer also writes RFC 9068's typ (or a client that can choose the header) was
    # accepted as an access token. Every marker counts, wherever it stands.
    token = make_token(keys.hs256, claims_with(**marker), {"typ": "at+jwt"})
    for v in (verifier(keys.hs256), verifier(keys.hs256, token_type="at+jwt")):
        refused(v, token, WrongTokenKindError)
        with pytest.raises(WrongTokenKindError):
            asyncio.run(v.averify(token))
    plain = make_token(keys.hs256, claims_with(), {"typ": "at+jwt"})
    assert verifier(keys.hs256, token_type="at+jwt").verify(plain).kind == "access"


@pytest.mark.parametrize(
    "marker",
    [{"token_use": "access"}, {"token_use": "id"}, {"typ": "Bearer"}, {"typ": "ID"}],
    ids=["cognito-access", "cognito-id", "keycloak-bearer", "keycloak-id"],
)
def test_attack_refresh_header_does_not_override_an_access_or_id_claim(
    keys: KeyRing, marker: dict[str, str]
) -> None:
    token = make_token(keys.hs256, claims_with(**marker), {"typ": "refresh+jwt"})
    v = verifier(keys.hs256)
    refused(v, token, WrongTokenKindError, kind="refresh")
    refused(v, token, WrongTokenKindError)  # and it is no access token either


def wrong_kind(call: Callable[[], object], description: str) -> None:
    """``call`` raises WrongTokenKindError (401 invalid_token) saying exactly ``description``."""
    with pytest.raises(WrongTokenKindError) as info:
        call()
    assert_token_error(info.value, WrongTokenKindError)
    assert info.value.description == description


HERE = "a refresh token cannot be used here"
TO_REFRESH = "an access token cannot be used to refresh"


@pytest.mark.parametrize("audience", ["orders-api", None], ids=["audience", "no-audience"])
def test_attack_wrong_kind_is_named_before_the_audience(
    keys: KeyRing, audience: str | None
) -> None:
    # A refresh token names the issuer as its audience, an access token the API: the
    # audience check used to answer first, with a message about audiences.
    config = Config(
        keys=keys.hs256,
        issuer="https://auth.example",
        audience=audience,
        store="memory://",
        clock=clock,
    )
    issuer = Issuer(config)
    pair = issuer.issue("alice")
    wrong_kind(lambda: issuer.verifier.verify(pair.refresh_token), HERE)
    wrong_kind(lambda: asyncio.run(issuer.verifier.averify(pair.refresh_token)), HERE)
    wrong_kind(lambda: issuer.refresh(pair.access_token), TO_REFRESH)
    wrong_kind(lambda: asyncio.run(issuer.arefresh(pair.access_token)), TO_REFRESH)
    assert issuer.peek_refresh(pair.access_token) is None
    assert issuer.verifier.verify(pair.access_token).subject == "alice"
    assert issuer.refresh(pair.refresh_token).refresh_token  # the real thing still works


def test_attack_wrong_kind_is_named_before_expiry_and_audience(keys: KeyRing) -> None:
    # Told first even when the token has also expired: the kind is the real problem.
    stale = make_token(keys.hs256, claims_with(exp=NOW - HOUR, aud="x"), {"typ": "refresh+jwt"})
    wrong_kind(lambda: verifier(keys.hs256, audience="api").verify(stale), HERE)
    id_token = make_token(keys.hs256, claims_with(token_use="id", aud="spa-client"))
    wrong_kind(
        lambda: verifier(keys.hs256, audience="api").verify(id_token),
        "an ID token cannot be used here",
    )
    wrong_kind(
        lambda: verifier(keys.hs256).verify(id_token, kind="refresh"),
        "an ID token cannot be used to refresh",
    )
    unmarked = make_token(keys.hs256, claims_with(aud="x"))
    wrong_kind(
        lambda: verifier(keys.hs256).verify(unmarked, kind="refresh"),
        "only a refresh token is accepted here",
    )


def test_attack_kind_message_never_quotes_the_claim(keys: KeyRing) -> None:
    token = make_token(keys.hs256, claims_with(token_use="<script>secret-value</script>"))
    with pytest.raises(WrongTokenKindError) as info:
        verifier(keys.hs256).verify(token)
    assert info.value.description == "this kind of token cannot be used here"


def test_attack_issuer_refuses_custom_kind_markers(keys: KeyRing) -> None:
    # A custom typ or token_use would contradict the header and make the pair unusable.
    config = Config(keys=keys.hs256, issuer="https://auth.example", store="memory://", clock=clock)
    for claim in ({"token_use": "access"}, {"typ": "Bearer"}):
        with pytest.raises(ConfigurationError, match="custom claims cannot set"):
            Issuer(config).issue("alice", claims=claim)


# --- roles, scopes and subject ---------------------------------------------------------


@pytest.mark.parametrize("claim", ["roles", "scope", "scp"])
def test_attack_null_roles_or_scopes_claim(keys: KeyRing, claim: str) -> None:
    # ``"roles": null`` was read as "no roles": a present claim of the wrong shape means
    # the issuer and the app disagree, so the token is invalid (401 invalid_token).
    token = make_token(keys.hs256, claims_with(**{claim: None}))
    refused(verifier(keys.hs256), token, InvalidClaimError)
    custom = make_token(keys.hs256, claims_with(**{"app": {claim: None}}))
    refused(verifier(keys.hs256, roles_claim=[f"app.{claim}"]), custom, InvalidClaimError)
    refused(verifier(keys.hs256, scopes_claim=[f"app.{claim}"]), custom, InvalidClaimError)


def test_attack_token_without_subject(keys: KeyRing) -> None:
    # RFC 9068 section 2.2: an access token names its subject. Without one the app saw
    # ``subject = None`` and could mistake the request for an anonymous or system one.
    for sub in (DROP, ""):
        token = make_token(keys.hs256, claims_with(sub=sub))
        refused(verifier(keys.hs256), token, MissingClaimError)
        refused(verifier(keys.hs256, required_claims=["jti"]), token, MissingClaimError)
    machine = make_token(keys.hs256, claims_with(sub=DROP, client_id="billing"))
    principal = verifier(keys.hs256, require_subject=False).verify(machine)
    assert principal.subject is None


# --- signatures ----------------------------------------------------------------------


def test_attack_es256_zero_signature(keys: KeyRing) -> None:
    # CVE-2022-21449 ("psychic signatures"): r = s = 0 must never verify.
    head = b64url(compact_json({"alg": "ES256", "kid": "es-1"}))
    body = b64url(compact_json(claims_with(sub="admin")))
    order = bytes.fromhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
    for signature in (
        bytes(64),
        bytes(32) + (1).to_bytes(32, "big"),
        order + order,
        bytes(32) + order,
    ):
        refused(verifier(keys.es256), f"{head}.{body}.{b64url(signature)}", InvalidSignatureError)


def test_attack_signature_stripped(keys: KeyRing) -> None:
    head, body, _ = make_token(keys.hs256, claims_with(sub="admin")).split(".")
    refused(verifier(keys.hs256), f"{head}.{body}.", InvalidSignatureError)
    es_head, es_body, _ = make_token(keys.es256, claims_with(sub="admin")).split(".")
    refused(verifier(keys.es256), f"{es_head}.{es_body}.", InvalidSignatureError)


# --- resource exhaustion ---------------------------------------------------------------


def test_attack_one_megabyte_token(keys: KeyRing, monkeypatch: pytest.MonkeyPatch) -> None:
    def parsed(*args: Any) -> Any:
        raise AssertionError("a token over the cap was parsed")

    monkeypatch.setattr(jwt_middleware._core.verify, "b64url_decode", parsed)
    monkeypatch.setattr(jwt_middleware._core.verify, "json_object", parsed)
    head = base64.urlsafe_b64encode(b'{"alg":"HS256"}').rstrip(b"=").decode()
    megabyte = f"{head}.{'A' * (1 << 20)}.{'A' * 43}"
    v = verifier(keys.hs256)
    for token in (megabyte, megabyte.encode(), "é" * (1 << 20), "." * (1 << 20)):
        refused(v, token, TokenTooLargeError)  # refused before any parsing (see above)
    with pytest.raises(InvalidRequestError, match="too long"):
        extract_bearer("Bearer " + megabyte)
