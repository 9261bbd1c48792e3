"""The Redis store against a real redis-server that the tests restart, freeze and cripple.

* A restart keeps revocations only if the server persists them (``appendonly
  yes``); without persistence a logout is undone, which is why the store warns
  once when the server says it keeps nothing (and stays silent when ``CONFIG``
  is refused, as on managed Redis).
* A frozen server (``SIGSTOP``) costs a few calls a socket timeout each; then
  the circuit breaker answers at once (``StoreError``, 503 at the verifier)
  until a probe after its window finds the server again.

No sleep stands in for synchronisation: the tests wait for deadlines they
measure (the breaker's own window) and poll with bounded loops.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from jwt_middleware import Config, ServiceUnavailableError, Verifier, encode, generate_key
from jwt_middleware.stores import StoreError
from jwt_middleware.stores.redis import RedisStore
from tests.redis_server import RedisServer

T = TypeVar("T")
LOGGER = "jwt_middleware.stores.redis"
HANG = 30.0  # generous bound on anything that must not hang
# The breaker tests count every call that reaches (or would reach) the server; a near-cache
# hit answers from memory for up to its 100 ms bound after a freeze, which these tests do
# not measure. The near-cache's own freeze and restart faults: test_nearcache_faults.py.
NO_NEAR_CACHE = False
ISS = "https://auth.faults"


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A private redis-server; ``@pytest.mark.parametrize("server", [args], indirect=True)``."""
    args: tuple[str, ...] = tuple(getattr(request, "param", ()))
    redis_server = RedisServer(*args)
    yield redis_server
    if redis_server.process is not None:
        redis_server.thaw()  # never leave a stopped process behind
    redis_server.close()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def _now() -> float:
    return time.time()


def _poll(attempt: Callable[[], T], seconds: float) -> T:
    """``attempt()`` until it stops failing (StoreError, 503), for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return attempt()
        except (StoreError, ServiceUnavailableError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)


# --- persistence: the warning, and what a restart keeps -------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_server_that_persists_nothing_gets_exactly_one_warning(
    server: RedisServer, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    store = RedisStore(server.url, prefix="warn:")
    barrier = threading.Barrier(8)

    def first_calls() -> None:
        barrier.wait(timeout=HANG)
        store.is_revoked("jti", "alice", _now(), "fam", _now())

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        if mode == "sync":
            threads = [threading.Thread(target=first_calls) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=HANG)
            store.revoke_token("secret-jti-value", _now() + 60)
            store.ping()
        else:
            async def calls() -> None:
                await asyncio.gather(*(store.ais_revoked("jti", None, None, None, _now())
                                       for _ in range(8)))
                await store.arevoke_token("secret-jti-value", _now() + 60)
                await store.aping()
                await store.aclose()

            asyncio.run(calls())
    warnings = _warnings(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "appendonly yes" in message
    assert "secret-jti-value" not in message
    assert str(server.port) not in message
    store.close()


@pytest.mark.parametrize(
    "server", [("--appendonly", "yes"), ("--save", "3600 1")], indirect=True,
    ids=["aof", "rdb"],
)
def test_a_server_that_persists_something_gets_no_warning(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore(server.url, prefix="persist:")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        store.revoke_token("jti", _now() + 60)
        assert store.is_revoked("jti", None, None, None, _now()) is True
    assert _warnings(caplog) == []
    store.close()


@pytest.mark.parametrize("server", [("--rename-command", "CONFIG", "")], indirect=True)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_config_refused_as_on_managed_redis_says_nothing_and_works(
    server: RedisServer, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    store = RedisStore(server.url, prefix="managed:")
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        if mode == "sync":
            store.revoke_token("jti", _now() + 60)
            assert store.is_revoked("jti", None, None, None, _now()) is True
            store.ping()
        else:
            async def calls() -> None:
                await store.arevoke_token("jti", _now() + 60)
                assert await store.ais_revoked("jti", None, None, None, _now()) is True
                await store.aping()
                await store.aclose()

            asyncio.run(calls())
    assert [r for r in caplog.records if r.name == LOGGER] == []
    store.close()


def _revoke_everything(store: RedisStore) -> None:
    later = _now() + 3600
    store.revoke_token("logged-out-jti", later)
    store.revoke_family("logged-out-family", later)
    store.revoke_subject("alice", _now() + 1, later)


def _revoked(store: RedisStore) -> list[bool]:
    now = _now()
    return [
        store.is_revoked("logged-out-jti", None, None, None, now),
        store.is_revoked(None, None, None, "logged-out-family", now),
        store.is_revoked("other", "alice", now - 60, None, now),
    ]


@pytest.mark.parametrize("server", [("--appendonly", "yes")], indirect=True)
def test_with_appendonly_revocations_survive_kill_and_restart(server: RedisServer) -> None:
    store = RedisStore(server.url, prefix="restart:")
    _revoke_everything(store)
    assert _revoked(store) == [True, True, True]
    server.stop()  # SIGKILL: no shutdown save, only what the AOF holds
    server.start()
    assert _poll(lambda: _revoked(store), HANG) == [True, True, True], "the same store, reconnected"

    async def async_check() -> bool:
        try:
            return await store.ais_revoked("logged-out-jti", None, None, None, _now())
        finally:
            await store.aclose()

    assert asyncio.run(async_check()) is True
    fresh = RedisStore(server.url, prefix="restart:")
    assert _revoked(fresh) == [True, True, True]
    fresh.close()
    store.close()


def test_without_persistence_a_restart_undoes_every_logout(server: RedisServer) -> None:
    """The documented loss: the reason for the warning and for ``appendonly yes``."""
    store = RedisStore(server.url, prefix="restart:")
    _revoke_everything(store)
    assert _revoked(store) == [True, True, True]
    server.stop()
    server.start()
    assert _poll(lambda: _revoked(store), HANG) == [False, False, False]
    store.close()


# --- a frozen server: timeouts and the circuit breaker ----------------------------------


def _open_breaker(store: RedisStore) -> None:
    """Frozen server: ``breaker_failures`` calls time out, then the breaker is open."""
    for _ in range(store.breaker_failures):
        with pytest.raises(StoreError) as caught:
            store.is_revoked("jti", None, None, None, _now())
        assert caught.value.retry_after is None, "a real timeout, not the breaker"


def test_frozen_redis_opens_the_breaker_then_fails_fast_then_recovers(
    server: RedisServer,
) -> None:
    # If the open breaker let calls through, each of the 100 below would wait the
    # 0.5 s socket timeout (50 s in all) and break the hang bound.
    store = RedisStore(server.url, prefix="frozen:", near_cache=NO_NEAR_CACHE, socket_timeout=0.5,
                       breaker_failures=3, breaker_open_for=4.0)
    store.revoke_token("jti", _now() + 3600)
    store.is_revoked("jti", None, None, None, _now())
    server.freeze()
    _open_breaker(store)
    started = time.monotonic()
    for _ in range(100):
        with pytest.raises(StoreError) as caught:
            store.is_revoked("jti", None, None, None, _now())
        assert caught.value.retry_after in (1, 2, 3, 4), "the seconds left in the 4 s window"
        assert "circuit open" in str(caught.value)
    with pytest.raises(StoreError, match="circuit open"):
        store.ping()
    assert time.monotonic() - started < HANG  # hang bound only
    server.thaw()
    assert _poll(lambda: store.is_revoked("jti", None, None, None, _now()), HANG) is True
    store.ping()
    assert store._breaker.tripped is False
    store.close()


def test_half_open_sends_one_probe_while_the_others_fail_fast(server: RedisServer) -> None:
    # The probe waits its whole 2 s socket timeout on the frozen server: ample
    # time to see that every other call meanwhile fails at once.
    store = RedisStore(server.url, prefix="probe:", near_cache=NO_NEAR_CACHE, socket_timeout=2.0,
                       breaker_failures=1, breaker_open_for=1.0)
    store.is_revoked("jti", None, None, None, _now())
    server.freeze()
    _open_breaker(store)
    deadline = time.monotonic() + store._breaker.remaining()
    while time.monotonic() < deadline:  # the window the breaker itself reports
        time.sleep(max(0.0, deadline - time.monotonic()))
    probe_result: list[StoreError] = []

    def probe() -> None:
        try:
            store.is_revoked("jti", None, None, None, _now())
        except StoreError as exc:
            probe_result.append(exc)

    prober = threading.Thread(target=probe)
    prober.start()
    until = time.monotonic() + HANG
    while not store._breaker._probing and prober.is_alive() and time.monotonic() < until:
        time.sleep(0.005)
    assert store._breaker._probing, "the probe went to the (frozen) server"
    with pytest.raises(StoreError) as caught:  # meanwhile everyone else fails at once
        store.is_revoked("jti", None, None, None, _now())
    assert caught.value.retry_after == 1
    prober.join(timeout=HANG)
    assert len(probe_result) == 1
    assert probe_result[0].retry_after is None, "the probe met a real timeout"
    assert store._breaker.tripped, "the failed probe opened a new window"
    server.thaw()
    _poll(store.ping, HANG)
    store.close()


def test_frozen_redis_async_tasks_fail_fast_with_503_then_recover(server: RedisServer) -> None:
    store = RedisStore(server.url, prefix="afrozen:", near_cache=NO_NEAR_CACHE, socket_timeout=0.5,
                       breaker_failures=3, breaker_open_for=3.0)
    key = generate_key("HS256")
    verifier = Verifier(Config(keys=key, issuer=ISS, store=store))
    now = int(_now())
    token = encode({"sub": "alice", "iss": ISS, "jti": "j1", "iat": now, "exp": now + 600}, key)

    async def main() -> None:
        assert (await verifier.averify(token)).subject == "alice"
        server.freeze()
        try:
            first = await asyncio.gather(*(store.ais_revoked("j1", None, None, None, _now())
                                           for _ in range(16)), return_exceptions=True)
            assert all(isinstance(r, StoreError) for r in first)
            assert store._breaker.tripped
            started = time.monotonic()
            for _ in range(50):
                with pytest.raises(ServiceUnavailableError) as caught:
                    await verifier.averify(token)
                assert caught.value.status == 503
                with pytest.raises(StoreError, match="circuit open"):
                    await store.aping()
            assert time.monotonic() - started < HANG  # hang bound: 100 timeouts would be 50 s
        finally:
            server.thaw()
        deadline = time.monotonic() + HANG
        while True:
            try:
                principal = await verifier.averify(token)
                break
            except ServiceUnavailableError:
                assert time.monotonic() < deadline, "never recovered"
                await asyncio.sleep(0.02)
        assert principal.subject == "alice"
        await store.aping()
        await store.aclose()

    asyncio.run(main())
    store.close()


def test_frozen_redis_sync_verifier_answers_503_at_once_once_open(server: RedisServer) -> None:
    store = RedisStore(server.url, prefix="vfrozen:", near_cache=NO_NEAR_CACHE, socket_timeout=0.5,
                       breaker_failures=3, breaker_open_for=1.0)
    key = generate_key("HS256")
    verifier = Verifier(Config(keys=key, issuer=ISS, store=store))
    now = int(_now())
    token = encode({"sub": "alice", "iss": ISS, "jti": "j1", "iat": now, "exp": now + 600}, key)
    assert verifier.verify(token).subject == "alice"
    server.freeze()
    refused: list[int] = []
    hints: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(10):
            try:
                verifier.verify(token)
            except ServiceUnavailableError as exc:
                with lock:
                    refused.append(exc.status)
                    hints.append(exc.retry_after)

    clients = [threading.Thread(target=client) for _ in range(16)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=HANG)
        assert not thread.is_alive(), "a client hung on the frozen server"
    server.thaw()
    assert refused == [503] * 160
    # Timeouts say "5 s"; an open breaker says its own seconds left (1 s window).
    assert set(hints) <= {1, 5}
    assert 1 in hints
    _poll(lambda: verifier.verify(token), HANG)
    store.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_socket_timeout_from_the_url_wins_and_is_honoured(server: RedisServer, mode: str) -> None:
    # The keyword says 60 s; the URL says 0.3 s. A frozen server must answer
    # within the hang bound, which only the URL's value can meet.
    store = RedisStore(f"{server.url}?socket_timeout=0.3&breaker_failures=0",
                       near_cache=NO_NEAR_CACHE, prefix="url:", timeout=60.0)
    assert store.socket_timeout == 0.3
    assert store.socket_connect_timeout == 60.0
    assert store.breaker_failures == 0
    store.ping()

    async def five_async_calls() -> list[BaseException]:
        await store.aping()
        server.freeze()
        errors: list[BaseException] = []
        for _ in range(5):
            try:
                await store.ais_revoked("jti", None, None, None, _now())
            except StoreError as exc:
                errors.append(exc)
        await store.aclose()
        return errors

    started = time.monotonic()
    if mode == "sync":
        server.freeze()
        errors: list[BaseException] = []
        for _ in range(5):  # no breaker: every call waits its own timeout
            try:
                store.is_revoked("jti", None, None, None, _now())
            except StoreError as exc:
                errors.append(exc)
    else:
        errors = asyncio.run(five_async_calls())
    assert len(errors) == 5
    assert all(isinstance(e, StoreError) and e.retry_after is None for e in errors)
    assert time.monotonic() - started < HANG
    server.thaw()
    store.close()
