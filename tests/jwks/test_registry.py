"""Several trusted issuers: iss selects the entry, never a URL; jku and x5u never fetched."""

from __future__ import annotations

import asyncio
import json

import pytest

from jwt_middleware import (
    ConfigurationError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    KeySet,
    MissingClaimError,
    MultiIssuerVerifier,
    TrustedIssuer,
    UnknownKeyError,
)
from jwt_middleware.jwks import JWKSClient

from .conftest import FakeClock, Keys, make_client, token
from .server import JWKSServer

A = "https://a.example"
B = "https://b.example"


@pytest.fixture
def remote(server: JWKSServer, clock: FakeClock) -> JWKSClient:
    return make_client(server, clock)


@pytest.fixture
def registry(remote: JWKSClient, keys: Keys) -> MultiIssuerVerifier:
    return MultiIssuerVerifier(
        [
            TrustedIssuer(A, remote, audience=("api-a", "api-shared")),
            TrustedIssuer(B, KeySet([keys.es2]), audience="api-b"),
        ]
    )


def test_two_issuers_each_with_their_own_audiences(
    registry: MultiIssuerVerifier, keys: Keys, server: JWKSServer
) -> None:
    assert registry.verify(token(keys.es1, iss=A, aud="api-a")).subject == "alice"
    assert registry.verify(token(keys.es1, iss=A, aud="api-shared")).subject == "alice"
    assert registry.verify(token(keys.es2, iss=B, aud="api-b")).subject == "alice"
    with pytest.raises(InvalidAudienceError):
        registry.verify(token(keys.es1, iss=A, aud="api-b"))
    with pytest.raises(InvalidAudienceError):
        registry.verify(token(keys.es2, iss=B, aud="api-a"))
    assert asyncio.run(registry.averify(token(keys.es2, iss=B, aud="api-b"))).subject == "alice"
    assert registry.issuers == (A, B)


def test_a_token_cannot_borrow_another_issuers_keys(
    registry: MultiIssuerVerifier, keys: Keys
) -> None:
    # signed by B's key, claims to be from A: A's key source has no es-2 → refused
    with pytest.raises(UnknownKeyError):
        registry.verify(token(keys.es2, iss=A, aud="api-a"))
    # A's kid forged onto a token signed by another key
    with pytest.raises(InvalidSignatureError):
        registry.verify(token(keys.other, headers={"kid": "es-1"}, iss=A, aud="api-a"))


@pytest.mark.parametrize("iss", ["https://c.example", A + "/", "https://A.example", ""])
def test_unknown_issuer_is_rejected_before_any_fetch(
    registry: MultiIssuerVerifier, keys: Keys, server: JWKSServer, iss: str
) -> None:
    with pytest.raises(InvalidIssuerError):
        registry.verify(token(keys.es1, iss=iss, aud="api-a"))
    with pytest.raises(InvalidIssuerError):
        asyncio.run(registry.averify(token(keys.es1, iss=iss, aud="api-a")))
    assert server.total == 0


def test_iss_missing_or_not_a_string(registry: MultiIssuerVerifier, keys: Keys) -> None:
    with pytest.raises(MissingClaimError):
        registry.verify(token(keys.es1, aud="api-a"))
    with pytest.raises(InvalidIssuerError):
        registry.verify(token(keys.es1, iss=[A], aud="api-a"))


def test_iss_is_never_a_url_and_jku_x5u_are_never_fetched(
    registry: MultiIssuerVerifier,
    keys: Keys,
    server: JWKSServer,
    second_server: JWKSServer,
) -> None:
    evil = second_server.url
    second_server.publish([keys.other])
    second_server.documents["/.well-known/openid-configuration"] = {
        "issuer": evil,
        "jwks_uri": second_server.jwks_uri,
    }
    headers = {"jku": second_server.jwks_uri, "x5u": second_server.url + "/cert.pem"}
    # an untrusted issuer that is a URL serving discovery and keys
    with pytest.raises(InvalidIssuerError):
        registry.verify(token(keys.other, headers=headers, iss=evil, aud="api-a"))
    # a trusted issuer, with the attacker's key and jku/x5u pointing at the attacker
    forged = token(keys.other, headers={**headers, "kid": "other-1"}, iss=A, aud="api-a")
    with pytest.raises(UnknownKeyError):
        registry.verify(forged)
    with pytest.raises(UnknownKeyError):
        asyncio.run(registry.averify(forged))
    # and a valid token carrying jku/x5u is verified with the configured keys only
    good = token(keys.es1, headers=headers, iss=A, aud="api-a")
    assert registry.verify(good).subject == "alice"
    assert second_server.total == 0
    assert server.count() >= 1


def test_algorithms_narrow_an_entry(keys: Keys) -> None:
    registry = MultiIssuerVerifier(
        [TrustedIssuer(A, KeySet([keys.es1, keys.rsa]), algorithms=("RS256",))]
    )
    assert registry.verify(token(keys.rsa, iss=A)).subject == "alice"
    with pytest.raises(Exception, match="algorithm"):
        registry.verify(token(keys.es1, iss=A))


def test_shared_settings_apply_to_every_entry(keys: Keys) -> None:
    registry = MultiIssuerVerifier(
        [TrustedIssuer(A, keys.es1), TrustedIssuer(B, keys.es2)], required_claims=("email",)
    )
    with pytest.raises(MissingClaimError):
        registry.verify(token(keys.es2, iss=B))
    assert registry.verify(token(keys.es2, iss=B, email="a@b.c")).subject == "alice"
    assert registry.verifier_for(B).config.required_claims == ("email",)


@pytest.mark.parametrize(
    ("entries", "settings", "message"),
    [
        ([], {}, "no trusted issuer"),
        (["x"], {}, "TrustedIssuer entries"),
        ([("dup",), ("dup",)], {}, "listed twice"),
        ([("",)], {}, "non-empty"),
        ([("a",)], {"audience": "x"}, "per TrustedIssuer"),
        ([("a", ("PS256",))], {}, "fits algorithms"),
    ],
)
def test_bad_registries_fail_at_start_up(
    keys: Keys, entries: list[object], settings: dict[str, object], message: str
) -> None:
    built: list[object] = []
    for entry in entries:
        if isinstance(entry, tuple):
            algorithms = entry[1] if len(entry) > 1 else None
            built.append(TrustedIssuer(entry[0], keys.es1, algorithms=algorithms))
        else:
            built.append(entry)
    with pytest.raises(ConfigurationError, match=message):
        MultiIssuerVerifier(built, **settings)  # type: ignore[arg-type]


def test_payload_is_only_read_for_iss(registry: MultiIssuerVerifier) -> None:
    from jwt_middleware import MalformedTokenError

    with pytest.raises(MalformedTokenError):
        registry.verify("not-a-token")
    with pytest.raises(MalformedTokenError):
        registry.verify("e30." + json.dumps({"iss": A}) + ".sig")
