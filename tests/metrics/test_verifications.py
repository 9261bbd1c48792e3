"""Verification metrics on the request path: one per checked token, by outcome and reason."""

from __future__ import annotations

import asyncio
import time

import pytest

from jwt_middleware import AuthError, Config, Key, encode
from jwt_middleware._core.metrics import Metrics
from jwt_middleware._core.verify import Verifier
from jwt_middleware._sansio.authenticator import FALLBACK, RequestInfo
from jwt_middleware._sansio.measured import MeasuredAuthenticator
from jwt_middleware.stores import Store, StoreError
from jwt_middleware.stores.memory import MemoryStore

KEY = Key.from_secret("m" * 32, "HS256", kid="k1")


class Recorder(Metrics):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def verification(self, outcome: str, reason: str | None, seconds: float | None) -> None:
        assert seconds is not None
        assert seconds >= 0
        self.seen.append((outcome, reason))


class Down(MemoryStore):
    def is_revoked(self, *args: object) -> bool:
        raise StoreError("down")


def _token(**extra: object) -> str:
    return encode({"sub": "alice", "jti": "j1", "exp": time.time() + 60, **extra}, KEY)


def _policy(store: Store | None = None) -> tuple[MeasuredAuthenticator, Recorder]:
    recorder = Recorder()
    verifier = Verifier(Config(keys=KEY, store=store or MemoryStore()))
    return MeasuredAuthenticator(verifier, public_paths=["/public"], metrics=recorder), recorder


def test_each_outcome_once_per_checked_token() -> None:
    policy, recorder = _policy()
    token = _token()
    assert policy.authenticate(RequestInfo("GET", "/api", f"Bearer {token}")) is not None
    with pytest.raises(AuthError):
        policy.authenticate(RequestInfo("GET", "/api", f"Bearer {token[:-3]}abc"))
    with pytest.raises(AuthError):
        policy.authenticate(RequestInfo("GET", "/api", None))
    assert policy.authenticate(RequestInfo("GET", "/public", None)) is None  # not counted
    assert recorder.seen == [("ok", None), ("refused", "bad_signature"),
                             ("refused", "missing_token")]  # fmt: skip


def test_the_fast_path_and_async_count_the_same() -> None:
    policy, recorder = _policy()
    token = _token()
    assert policy.fast("GET", "/api", f"Bearer {token}") not in (None, FALLBACK)
    assert policy.fast("GET", "/api", "Basic abc") is FALLBACK  # the general path counts it
    with pytest.raises(AuthError):
        policy.fast("GET", "/api", f"Bearer {token}x")
    assert policy.fast("GET", "/public", f"Bearer {token}x") is None  # ignored on a public path

    async def main() -> None:
        assert await policy.afast("GET", "/api", f"Bearer {token}") is not None
        assert await policy.aauthenticate(RequestInfo("GET", "/api", f"Bearer {token}"))

    asyncio.run(main())
    assert recorder.seen == [("ok", None), ("refused", "bad_signature"), ("ok", None),
                             ("ok", None)]  # fmt: skip


def test_a_store_that_is_down_is_unavailable() -> None:
    policy, recorder = _policy(Down())
    with pytest.raises(AuthError) as caught:
        policy.authenticate(RequestInfo("GET", "/api", f"Bearer {_token()}"))
    assert caught.value.status == 503
    assert recorder.seen == [("unavailable", "store_unavailable")]
