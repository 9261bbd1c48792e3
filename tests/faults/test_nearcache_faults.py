"""The Redis near-cache when its invalidation channel breaks: it never serves a stale
"not revoked" past its bound, and every check reads Redis (fail closed) until the
channel is back.

* ``CLIENT KILL`` of the tracking connection of a checker *process*, then a
  revocation at once or a little later (before and after the listener is back);
* a restart of ``redis-server`` under a checker process;
* a channel that goes silent without closing (a black-holed TCP proxy in front of
  the listener): hits stop within the bound of the last answered ``PING``, and the
  listener gives the connection up after its stall limit and comes back;
* a frozen server (``SIGSTOP``): hits stop within the bound, then every check meets
  the socket timeout and the circuit breaker (503 at the verifier), and all recovers
  after ``SIGCONT``;
* a server that refuses tracking: one warning, every check reads Redis.

No sleep stands in for synchronisation: the tests poll with bounded loops and assert
on times they measure (what a check that *started* after the bound answered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from jwt_middleware import Config, ServiceUnavailableError, Verifier, encode, generate_key
from jwt_middleware.stores import StoreError
from jwt_middleware.stores._nearcache import CLIENT_NAME, NearCache, tracking_prefixes
from jwt_middleware.stores.redis import RedisStore
from tests.redis_server import RedisServer, free_port
from tests.stores.test_nearcache import BOUND, Checker, Seen, report, revoke_and_watch

HANG = 30.0
LATER = time.time() + 3600
ISS = "https://auth.near"


@pytest.fixture
def server() -> Iterator[RedisServer]:
    redis_server = RedisServer()
    yield redis_server
    if redis_server.process is not None:
        redis_server.thaw()
    redis_server.close()


@pytest.fixture
def checker_factory() -> Iterator[Callable[..., Checker]]:
    started: list[Checker] = []

    def make(*args: str) -> Checker:
        checker = Checker(*args)
        started.append(checker)
        return checker

    yield make
    for checker in started:
        checker.close()


def _listeners(client: redis.Redis) -> list[dict[str, Any]]:
    return [c for c in client.client_list() if c.get("name") == CLIENT_NAME]


def _wait(condition: Callable[[], object], what: str, seconds: float = HANG) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.002)


def _prefix() -> str:
    return f"nf-{secrets.token_hex(4)}:"


# --- a killed tracking connection, a restarted server: checker processes ---------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_client_kill_of_the_tracking_connection_serves_nothing_stale(
    server: RedisServer, checker_factory: Callable[..., Checker], mode: str
) -> None:
    prefix = _prefix()
    admin = redis.Redis.from_url(server.url, decode_responses=True)
    writer = RedisStore(server.url, prefix=prefix, near_cache=False)
    checker = checker_factory("redis", mode, server.url, prefix)
    seen: list[Seen] = []
    # Kill, then revoke after 0 to 200 ms: before the listener is back and after it.
    for i, pause in enumerate([0.0, 0.0, 0.001, 0.005, 0.02, 0.05, 0.2, 0.0, 0.01, 0.1]):
        jti = f"killed-{i}"
        checker.watch(jti)  # answered from memory now
        (listener,) = _listeners(admin)
        started = time.monotonic()
        admin.client_kill_filter(_id=listener["id"])
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline:
            pass
        writer.revoke_token(jti, LATER)
        acked = time.monotonic()
        seen.append(checker.seen(jti, started, acked))
        old = listener["id"]
        _wait(lambda: [c["id"] for c in _listeners(admin)] not in ([], [old]),  # noqa: B023
              "the checker's listener reconnected")
    report(f"CLIENT KILL then revoke, {mode}", seen)
    assert max(s.stale_window for s in seen) <= BOUND
    # Back to normal (``watch`` returns once the answer comes from memory again): a
    # revocation through the new channel is seen within the bound too.
    after = [revoke_and_watch(checker, lambda j: writer.revoke_token(j, LATER), f"after-{i}")
             for i in range(10)]
    assert max(s.stale_window for s in after) <= BOUND
    writer.close()
    admin.close()


def test_a_restart_of_redis_serves_nothing_stale(
    server: RedisServer, checker_factory: Callable[..., Checker]
) -> None:
    prefix = _prefix()
    checker = checker_factory("redis", "sync", server.url, prefix)
    seen = []
    for i in range(3):
        jti = f"restart-{i}"
        checker.watch(jti)
        started = time.monotonic()
        server.stop()  # SIGKILL: the listener sees the end of its stream
        server.start()  # empty (no persistence), same port
        writer = RedisStore(server.url, prefix=prefix, near_cache=False)
        writer.revoke_token(jti, LATER)
        acked = time.monotonic()
        seen.append(checker.seen(jti, started, acked))
        writer.close()
    report("restart, then revoke", seen)
    assert max(s.stale_window for s in seen) <= BOUND


# --- a channel that goes silent: a black-holed proxy in front of the listener ----------


class Proxy:
    """A TCP proxy to Redis that can go silent: it keeps the sockets open and drops bytes."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = free_port()
        self.silent = threading.Event()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    break
                if not self.silent.is_set():
                    sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _keys(j: str, s: str, f: str) -> list[str]:
    return [f"bh:jti:{j}", f"bh:sub:{s}", f"bh:famrev:{f}"]


def test_a_silent_channel_stops_hits_within_the_bound_then_reconnects(
    server: RedisServer,
) -> None:
    proxy = Proxy(server.port)
    direct = redis.Redis.from_url(server.url, decode_responses=True)

    connection_class: Any = redis.Connection

    def connect() -> Any:
        return connection_class(host="127.0.0.1", port=proxy.port, protocol=3,
                                client_name=CLIENT_NAME, decode_responses=True,
                                socket_timeout=0.5, socket_connect_timeout=0.5)

    near = NearCache(connect, tracking_prefixes(_keys), stall=0.5)
    keys = _keys("victim", "alice", "fam")
    assert near.wait_trusted(HANG)
    ticket = near.ticket()
    near.fill(keys, direct.mget(keys), ticket)
    assert near.get(keys) == [None, None, None]
    proxy.silent.set()  # from now on nothing reaches the listener, and nothing closes
    direct.set(keys[0], "1")  # revoked: the invalidation is lost in the proxy
    acked = time.monotonic()
    last_stale = acked
    while True:
        start = time.monotonic()
        values = near.get(keys)
        if values is None:
            break
        assert values == [None, None, None]
        last_stale = start
        assert start - acked < HANG
    assert last_stale - acked <= BOUND, "a stale hit past the bound"
    assert not near.trusted
    # The listener gives the silent connection up (stall limit) and, once the proxy
    # speaks again, comes back with an empty cache: the lost invalidation cannot matter.
    _wait(lambda: near.resets >= 1 or near.size == 0, "the cache was dropped")
    proxy.silent.clear()
    assert near.wait_trusted(HANG)
    assert near.get(keys) is None, "nothing from before the new session"
    ticket = near.ticket()
    near.fill(keys, direct.mget(keys), ticket)
    _wait(lambda: near.get(keys) is not None, "kept again")
    assert near.get(keys) == ["1", None, None]
    near.close()
    proxy.close()
    direct.close()


# --- a frozen server: the bound, then the breaker ------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_frozen_redis_stops_hits_within_the_bound_then_fails_closed(
    server: RedisServer, mode: str
) -> None:
    store = RedisStore(server.url, prefix=_prefix(), socket_timeout=0.5,
                       breaker_failures=3, breaker_open_for=1.0)
    key = generate_key("HS256")
    verifier = Verifier(Config(keys=key, issuer=ISS, store=store))
    now = int(time.time())
    token = encode({"sub": "alice", "iss": ISS, "jti": "j1", "iat": now, "exp": now + 600}, key)
    assert store.near_cache.wait_trusted(HANG)

    async def verify() -> object:
        if mode == "sync":
            return verifier.verify(token)
        return await verifier.averify(token)

    async def scenario() -> None:
        await verify()  # kept now
        hits = store.near_cache.hits
        deadline = time.monotonic() + HANG
        while store.near_cache.hits == hits:
            await verify()
            assert time.monotonic() < deadline, "never answered from memory"
        server.freeze()
        frozen = time.monotonic()
        answered: list[float] = []  # start times of checks answered (from memory)
        refused: list[float] = []  # how long each 503 took
        while len(refused) < 20:
            start = time.monotonic()
            try:
                await verify()
                answered.append(start)
            except ServiceUnavailableError:  # 503, fail closed
                refused.append(time.monotonic() - start)
            assert start - frozen < HANG
        assert not answered or max(answered) - frozen <= BOUND, "a hit past the bound"
        timeouts = [seconds for seconds in refused if seconds >= 0.4]
        assert 1 <= len(timeouts) <= 3, refused
        assert refused[:len(timeouts)] == timeouts, "the timeouts first"
        assert all(seconds < 0.4 for seconds in refused[len(timeouts):]), "then 503 without a wait"
        server.thaw()
        deadline = time.monotonic() + HANG
        while True:
            try:
                await verify()
                break
            except ServiceUnavailableError:
                assert time.monotonic() < deadline, "never recovered"
                await asyncio.sleep(0.02)
        await store.aclose()

    asyncio.run(scenario())
    assert store.near_cache.wait_trusted(HANG), "the channel is back"
    store.close()


# --- a server that will not track -----------------------------------------------------


def test_a_server_that_refuses_tracking_warns_once_and_reads_redis(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = RedisServer("--rename-command", "CLIENT", "")
    try:
        store = RedisStore(server.url, prefix=_prefix())
        with caplog.at_level(logging.WARNING, logger="jwt_middleware.stores.nearcache"):
            assert store.is_revoked("j", None, None, None, time.time()) is False
            _wait(lambda: not store.near_cache.supported, "the refusal was noticed")
            for _ in range(20):
                assert store.is_revoked("j", None, None, None, time.time()) is False
            store.revoke_token("j", LATER)
            assert store.is_revoked("j", None, None, None, time.time()) is True
        assert store.near_cache.hits == 0
        warnings = [r for r in caplog.records if r.name == "jwt_middleware.stores.nearcache"]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "refused" in warnings[0].getMessage()
        assert str(server.port) not in warnings[0].getMessage()
        store.close()
    finally:
        server.close()


def test_store_errors_while_untrusted_are_store_errors(server: RedisServer) -> None:
    store = RedisStore(server.url, prefix=_prefix(), socket_timeout=0.5)
    assert store.near_cache.wait_trusted(HANG)
    assert store.is_revoked("j", None, None, None, time.time()) is False
    server.stop()
    with pytest.raises(StoreError):  # the closed channel: no hit, a direct read fails
        store.is_revoked("j", None, None, None, time.time())
    server.start()
    _wait(lambda: store.near_cache.trusted, "the channel is back")
    store.close()
