"""The fast path's pieces in the request policy (``_sansio.authenticator``) and the ASGI
adapter: what it looks at, when it steps aside, and the flag that turns it off.

The equivalence with the general path, framework by framework, is
``tests/integrations/test_fast_path.py``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import pytest

from jwt_middleware import (
    Config,
    InvalidRequestError,
    Key,
    KeySet,
    MissingTokenError,
    Principal,
    TokenError,
    Verifier,
    encode,
    generate_key,
)
from jwt_middleware._core.bearer import extract_bearer
from jwt_middleware._sansio.authenticator import (
    FALLBACK,
    Authenticator,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from jwt_middleware._sansio.fastpath import fast_authenticate, single_authorization
from jwt_middleware.asgi import AuthCredentials, JWTMiddleware
from jwt_middleware.jwks import JWKSClient
from jwt_middleware.stores.memory import MemoryStore


@pytest.fixture
def key() -> Key:
    return Key.from_secret(secrets.token_bytes(32), "HS256")


def token_for(key: Key, **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": "alice", "iat": now, "exp": now + 300}
    body.update(claims)
    return encode(body, key)


def authenticator(key: Key, **options: Any) -> tuple[Authenticator, list[AuthEvent]]:
    events: list[AuthEvent] = []
    store = options.pop("store", None)
    config = Config(keys=KeySet([key]), store=store)
    return Authenticator(Verifier(config), on_event=events.append, **options), events


# --- single_authorization: what an ASGI adapter hands to the fast path ------------------------


def test_single_authorization_reads_exactly_one_header() -> None:
    assert single_authorization([(b"host", b"x"), (b"authorization", b"Bearer t")]) == "Bearer t"
    assert single_authorization([(b"host", b"x")]) is None
    two = [(b"authorization", b"Bearer t"), (b"authorization", b"Bearer t")]
    assert single_authorization(two) is None
    preflight = [(b"access-control-request-method", b"POST"), (b"authorization", b"Bearer t")]
    assert single_authorization(preflight) is None
    assert single_authorization([(b"authorization", b"Bearer \xe9")]) == "Bearer \xe9"


# --- Authenticator.fast / afast --------------------------------------------------------------


def test_fast_verifies_a_plain_bearer_and_hits_the_cache(key: Key) -> None:
    auth, events = authenticator(key)
    token = token_for(key)
    first = auth.fast("GET", "/me", "Bearer " + token)
    assert isinstance(first, Principal)
    assert first.subject == "alice"
    assert auth.fast("GET", "/me", "bearer " + token) is first  # a hit, any case of scheme
    assert asyncio.run(auth.afast("GET", "/me", "BEARER " + token)) is first
    assert events == []


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "DPoP TOKEN", "Bearer", "BearerTOKEN", "Bearer\tTOKEN"]
)
def test_fast_steps_aside_for_anything_but_the_bearer_scheme(key: Key, header: str) -> None:
    """``DPoP`` included: a sender-constrained token always goes the general way."""
    auth, _ = authenticator(key)
    header = header.replace("TOKEN", token_for(key))
    assert auth.fast("GET", "/me", header) is FALLBACK
    assert asyncio.run(auth.afast("GET", "/me", header)) is FALLBACK


def test_a_refusal_stands_only_when_the_general_path_reads_the_same_token(key: Key) -> None:
    auth, events = authenticator(key)
    expired = token_for(key, iat=int(time.time()) - 900, exp=int(time.time()) - 600)
    with pytest.raises(TokenError) as refused:
        auth.fast("GET", "/me", "Bearer " + expired)
    assert refused.value.reason == "expired"
    assert [e.reason for e in events] == ["expired"]
    # the general path strips the space and reads another token: it must answer
    assert auth.fast("GET", "/me", f"Bearer {expired} ") is FALLBACK
    # the general path refuses the header itself (a character outside b64token)
    assert auth.fast("GET", "/me", "Bearer " + expired.replace(".", "!", 1)) is FALLBACK
    with pytest.raises(InvalidRequestError):  # which the general path then says
        auth.authenticate(RequestInfo("GET", "/me", "Bearer " + expired.replace(".", "!", 1)))
    assert [e.reason for e in events] == ["expired", "malformed_header"]


def test_a_refusal_on_a_public_path_is_ignored_and_not_reported(key: Key) -> None:
    auth, events = authenticator(key, public_paths=["/public"], public_methods=["HEAD"])
    assert auth.fast("GET", "/public", "Bearer a.b.c") is None
    assert auth.fast("HEAD", "/me", "Bearer a.b.c") is None
    assert events == []
    with pytest.raises(TokenError):
        auth.fast("GET", "/me", "Bearer a.b.c")


def test_revocation_is_checked_on_every_fast_hit_sync_and_async(key: Key) -> None:
    store = MemoryStore()
    auth, events = authenticator(key, store=store)
    assert not auth.sync_safe  # a store may wait: async adapters must await afast
    token = token_for(key, jti="j-1")
    header = "Bearer " + token
    first = auth.fast("GET", "/me", header)
    assert isinstance(first, Principal)
    assert asyncio.run(auth.afast("GET", "/me", header)) is first
    store.revoke_token("j-1", time.time() + 600)
    with pytest.raises(TokenError) as refused:
        auth.fast("GET", "/me", header)
    assert refused.value.reason == "revoked"
    with pytest.raises(TokenError) as refused:
        asyncio.run(auth.afast("GET", "/me", header))
    assert refused.value.reason == "revoked"
    assert [e.reason for e in events] == ["revoked", "revoked"]


def test_sync_safe_only_without_anything_that_waits(key: Key) -> None:
    assert authenticator(key)[0].sync_safe
    assert not authenticator(key, store=MemoryStore())[0].sync_safe

    remote = JWKSClient("https://issuer.example/jwks.json", algorithms=["ES256"])
    assert not Authenticator(Verifier(Config(keys=remote))).sync_safe  # it may fetch


def test_the_fast_path_flag(key: Key) -> None:
    auth = build_authenticator(
        Config(keys=KeySet([key])), None, mode="required", public_paths=(), public_methods=(),
        on_event=None, fast_path=False,
    )
    assert auth.fast_path is False
    assert authenticator(key)[0].fast_path is True


# --- the ASGI adapter ------------------------------------------------------------------------


def scope_of(kind: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": kind, "method": "GET", "path": "/me", "headers": headers,
            "query_string": b""}


def test_fast_authenticate_only_for_http_with_one_header(key: Key) -> None:
    auth, _ = authenticator(key)
    header = (b"authorization", f"Bearer {token_for(key)}".encode())
    done = asyncio.run(fast_authenticate(auth, scope_of("http", [header])))
    assert isinstance(done, Principal)
    assert asyncio.run(fast_authenticate(auth, scope_of("websocket", [header]))) is FALLBACK
    assert asyncio.run(fast_authenticate(auth, scope_of("http", []))) is FALLBACK
    auth.fast_path = False
    assert asyncio.run(fast_authenticate(auth, scope_of("http", [header]))) is FALLBACK


def test_the_middleware_answers_missing_tokens_through_the_general_path(key: Key) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = JWTMiddleware(app, config=Config(keys=KeySet([key])))
    asyncio.run(middleware(scope_of("http", []), None, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 401
    assert not seen
    assert json.loads(sent[1]["body"])["error"] == MissingTokenError.error


def test_request_auth_scopes_are_worked_out_when_read(key: Key) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    middleware = JWTMiddleware(app, config=Config(keys=KeySet([key])))
    token = token_for(key, roles=["ops", "admin"], scope="read")
    scope = scope_of("http", [(b"authorization", f"Bearer {token}".encode())])
    asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    auth = seen[0]["auth"]
    assert isinstance(auth, AuthCredentials)
    assert auth.scopes == ["admin", "authenticated", "ops", "read"]
    assert auth.scopes is auth.scopes  # one list, as an attribute
    auth.scopes = ["changed"]
    assert auth.scopes == ["changed"]
    assert AuthCredentials(["b", "a"]).scopes == ["a", "b"]


def test_a_token_bound_to_a_key_is_handed_to_the_general_path(key: Key) -> None:
    auth, _ = authenticator(key)
    header = "Bearer " + token_for(key, cnf={"jkt": "x" * 43})
    for _ in range(2):  # verified, then a cache hit: handed back both times
        assert auth.fast("GET", "/me", header) is FALLBACK
        assert asyncio.run(auth.afast("GET", "/me", header)) is FALLBACK


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "ES256", "EdDSA"])
def test_a_token_that_verifies_is_what_the_general_path_reads(algorithm: str) -> None:
    """The fast path's premise, pinned: whatever ``verify`` accepts is base64url and dots,
    so ``extract_bearer`` reads the very same token from ``Bearer <token>``."""
    signing = generate_key(algorithm, kid="k") if algorithm != "HS256" else (
        Key.from_secret(secrets.token_bytes(32), "HS256", kid="k")
    )
    auth, _ = authenticator(signing)
    for claims in ({}, {"roles": ["a"] * 40, "name": "\u00e9\u4e2d"}):
        token = encode({"sub": "alice", "iat": int(time.time()), "exp": int(time.time()) + 60,
                        **claims}, signing, headers={"kid": "k"})
        assert isinstance(auth.fast("GET", "/me", "Bearer " + token), Principal)
        assert extract_bearer("Bearer " + token, max_length=8192) == token
