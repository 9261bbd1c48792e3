"""MeasuredStore: every store call timed and labelled, errors counted, the breaker seen."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from jwt_middleware import Config, Key, Verifier
from jwt_middleware._core.metrics import Metrics
from jwt_middleware.metrics import MeasuredStore
from jwt_middleware.stores import RotateOutcome, Store, StoreError
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_server import RedisServer


class Recorder(Metrics):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []
        self.states: list[tuple[str, str]] = []

    def store_operation(self, store: str, operation: str, seconds: float, error: bool) -> None:
        assert seconds >= 0
        self.calls.append((store, operation, error))

    def breaker_state(self, store: str, state: str) -> None:
        self.states.append((store, state))


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_every_call_sync_and_async_is_reported(backend: str, tmp_path: Path) -> None:
    inner: Store = MemoryStore() if backend == "memory" else SQLiteStore(tmp_path / "s.db")
    recorder = Recorder()
    store = MeasuredStore(inner, recorder)
    now = time.time()
    store.start_family("fam", "j1", now + 60)
    assert store.rotate("fam", "j1", "j2", now + 60, now) is RotateOutcome.ROTATED
    store.revoke_token("j9", now + 60)

    async def main() -> bool:
        await store.arevoke_family("fam", now + 60)
        return await store.ais_revoked("j9", None, None, None, now)

    assert asyncio.run(main())
    assert recorder.calls == [
        (backend, "start_family", False), (backend, "rotate", False),
        (backend, "revoke_token", False), (backend, "revoke_family", False),
        (backend, "is_revoked", False),
    ]
    assert recorder.states == []  # no breaker in this backend
    store.close()


def test_a_verifier_uses_the_wrapped_store_for_revocation() -> None:
    recorder = Recorder()
    key = Key.from_secret("k" * 32, "HS256")
    config = Config(keys=key, store=MeasuredStore(MemoryStore(), recorder))
    from jwt_middleware import encode

    token = encode({"sub": "a", "jti": "j", "exp": time.time() + 60}, key)
    assert Verifier(config).verify(token).subject == "a"
    assert recorder.calls == [("memory", "is_revoked", False)]


def test_redis_errors_and_the_breaker_are_reported(redis_server: RedisServer) -> None:
    from jwt_middleware.stores.redis import RedisStore

    recorder = Recorder()
    store = MeasuredStore(
        RedisStore(redis_server.url, timeout=0.3, breaker_failures=2, breaker_open_for=60,
                   near_cache=False),
        recorder,
    )
    assert recorder.states == [("redis", "closed")]
    store.revoke_token("j1", time.time() + 60)
    redis_server.freeze()
    try:
        for _ in range(3):
            with pytest.raises(StoreError):
                store.is_revoked("j1", None, None, None, time.time())
    finally:
        redis_server.thaw()
    assert recorder.calls == [("redis", "revoke_token", False)] + [
        ("redis", "is_revoked", True)
    ] * 3
    assert recorder.states == [("redis", "closed"), ("redis", "open")]
    assert store.breaker_failures == 2  # other attributes are the wrapped store's
    store.close()


def test_what_the_store_leaves_to_the_protocol_stays_the_protocol_s() -> None:
    from jwt_middleware.stores._base import has_claims, has_sessions

    class Plain(Store):  # a custom store of before the replay cache and sessions
        def revoke_token(self, jti: str, expires_at: float) -> None: ...
        def revoke_subject(self, subject: str, before: float, expires_at: float) -> None: ...
        def start_family(self, family: str, jti: str, expires_at: float) -> None: ...
        def rotate(self, family: str, jti: str, next_jti: str, expires_at: float, now: float,
                   grace: float = 0.0) -> RotateOutcome:  # fmt: skip
            return RotateOutcome.ROTATED

        def revoke_family(self, family: str, expires_at: float) -> None: ...
        def is_revoked(self, jti: str | None, subject: str | None, issued_at: float | None,
                       family: str | None, now: float) -> bool:  # fmt: skip
            return False

        def purge(self, now: float) -> int:
            return 0

    recorder = Recorder()
    plain, memory = MeasuredStore(Plain(), recorder), MeasuredStore(MemoryStore(), recorder)
    assert (has_claims(plain), has_sessions(plain)) == (False, False)
    assert (has_claims(memory), has_sessions(memory)) == (True, True)
    assert isinstance(plain, MeasuredStore)
    assert memory.claim_once("k", time.time() + 60)
    plain.ping()  # the protocol's ping asks is_revoked, which is measured
    assert recorder.calls[-2:] == [("memory", "claim_once", False), ("other", "is_revoked", False)]
