"""The Redis store on a cluster and behind sentinels: URLs, key layout, round trips, faults.

The URL tests need no server (building a store connects to nothing). The others use the
session's cluster (3 masters, 1 replica each) and sentinel setup (``tests/redis_cluster.py``);
the whole store contract runs on both from ``test_contract.py``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from types import TracebackType
from typing import Any

import pytest
import redis
from redis.exceptions import RedisClusterException

from jwt_middleware.stores import StoreError, store_from_url
from jwt_middleware.stores._persistence import CLUSTER_WARNING
from jwt_middleware.stores._redis_topology import _LazyCluster, key_prefix
from jwt_middleware.stores.redis import RedisStore
from tests.redis_cluster import LocalCluster, LocalSentinel

LOGGER = "jwt_middleware.stores.redis"
LATER = time.time() + 3600
HANG = 30.0


def _prefix() -> str:
    return f"topo-{secrets.token_hex(4)}:"


# --- URLs (no server) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:1/0", "single"),
        ("unix:///tmp/nowhere.sock", "single"),
        ("redis+cluster://127.0.0.1:1", "cluster"),
        ("rediss+cluster://127.0.0.1:1,127.0.0.1:2/0", "cluster"),
        ("redis+sentinel://127.0.0.1:1/mymaster", "sentinel"),
        ("rediss+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster/3", "sentinel"),
    ],
)
def test_each_scheme_builds_a_store_without_connecting(url: str, kind: str) -> None:
    store = store_from_url(url)
    assert isinstance(store, RedisStore)
    assert store._topology.kind == kind
    store.close()


def test_cluster_url_startup_nodes_default_port_tls_and_options() -> None:
    store = RedisStore("rediss+cluster://u:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002"
                       "?socket_timeout=0.25&breaker_failures=5&ssl_cert_reqs=none",
                       socket_timeout=9.0, socket_connect_timeout=1.5)
    assert store.socket_timeout == 0.25, "the URL wins"
    assert store.socket_connect_timeout == 1.5
    assert store.breaker_failures == 5
    manager = store._async.nodes_manager
    assert set(manager.startup_nodes) == {"10.0.0.1:7000", "10.0.0.2:6379", "::1:7002"}
    kwargs = manager.connection_kwargs
    assert kwargs["connection_class"] is redis.asyncio.SSLConnection
    assert (kwargs["username"], kwargs["password"]) == ("u", "pw")
    assert kwargs["socket_timeout"] == 0.25
    assert kwargs["ssl_cert_reqs"] == "none"
    assert "breaker_failures" not in kwargs
    store.close()


def test_sentinel_url_service_db_credentials_and_timeouts() -> None:
    store = RedisStore("redis+sentinel://mu:mpw@127.0.0.1:1,127.0.0.1/mymaster/2"
                       "?socket_timeout=0.5&sentinel_password=spw")
    pool = store._sync.connection_pool
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["password"] == "mpw"
    assert pool.connection_kwargs["socket_timeout"] == 0.5
    sentinels = [c.connection_pool.connection_kwargs for c in store._topology._sentinels]
    assert [(k["host"], k["port"]) for k in sentinels] == [("127.0.0.1", 1), ("127.0.0.1", 26379)]
    assert all(k["password"] == "spw" and k["socket_timeout"] == 0.5 for k in sentinels)
    assert store._async.connection_pool.service_name == "mymaster"
    store.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://127.0.0.1:1/1",
        "redis+cluster://127.0.0.1:1?db=2",
        "redis+cluster://127.0.0.1:1?no_such_option=1",
        "redis+cluster://127.0.0.1:1?health_check_interval=5",  # not for a cluster client
        "redis+cluster://127.0.0.1:1?socket_timeout=-1",
        "redis+cluster://127.0.0.1:notaport",
        "redis+cluster://",
        "redis+sentinel://127.0.0.1:1",
        "redis+sentinel://127.0.0.1:1/mymaster/zero",
        "redis+sentinel://127.0.0.1:1/a/0/extra",
        "redis+sentinel://127.0.0.1:1/mymaster?no_such_option=1",
    ],
)
def test_bad_cluster_and_sentinel_urls_are_refused_when_built(url: str) -> None:
    with pytest.raises(StoreError):
        RedisStore(url)


def test_refusals_and_repr_never_echo_a_password() -> None:
    for url in ("redis+cluster://u:s3cret-pw@127.0.0.1:1/?no_such_option=1",
                "redis+sentinel://u:s3cret-pw@127.0.0.1:1/m?sentinel_password=s3cret-pw&x=1",
                "redis+cluster://u:s3cret-pw@127.0.0.1:1/7"):
        with pytest.raises(StoreError) as caught:
            RedisStore(url)
        assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(RedisStore("redis+cluster://u:s3cret-pw@127.0.0.1:1"))


@pytest.mark.parametrize("url", ["redis+cluster://127.0.0.1:1",
                                 "redis+sentinel://127.0.0.1:1/mymaster"])
def test_nothing_to_reach_opens_the_breaker_sync_and_async(url: str) -> None:
    store = RedisStore(url, breaker_failures=2)
    for _ in range(2):
        with pytest.raises(StoreError) as caught:
            store.is_revoked("jti", None, None, None, time.time())
        assert caught.value.retry_after is None, "a real failure to reach it"
    with pytest.raises(StoreError, match="circuit open"):
        store.ping()

    async def main() -> None:
        with pytest.raises(StoreError, match="circuit open"):
            await store.ais_revoked("jti", None, None, None, time.time())
        await store.aclose()

    asyncio.run(main())


class _CountingLock:
    """A lock that counts the callers that have asked for it."""

    def __init__(self) -> None:
        self.asked = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self.asked += 1
        self._lock.acquire()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._lock.release()


def test_callers_waiting_on_a_failed_cluster_connection_fail_at_once() -> None:
    """A cluster that cannot be reached costs one attempt, not one per waiting thread."""
    trying, give_up = threading.Event(), threading.Event()
    attempts: list[int] = []

    def make() -> Any:
        attempts.append(1)
        trying.set()
        give_up.wait(HANG)
        raise RedisClusterException("Redis Cluster cannot be connected")

    lazy = _LazyCluster(make, encoder=None)
    lock = _CountingLock()
    lazy._lock = lock  # type: ignore[assignment]
    failures: list[BaseException] = []

    def call() -> None:
        try:
            lazy.ping()
        except RedisClusterException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(5)]
    threads[0].start()
    assert trying.wait(HANG)
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + HANG
    while lock.asked < 5:  # every caller is waiting for the attempt in progress
        assert time.monotonic() < deadline
        time.sleep(0.001)
    give_up.set()
    for thread in threads:
        thread.join(HANG)
    assert len(failures) == 5
    assert attempts == [1]
    with pytest.raises(RedisClusterException):  # a later call tries again
        lazy.ping()
    assert attempts == [1, 1]


def test_key_prefix_is_one_hash_tag_on_a_cluster_only() -> None:
    assert key_prefix("jwtmw:", cluster=False) == "jwtmw:"
    assert key_prefix("jwtmw:", cluster=True) == "{jwtmw:}"
    assert key_prefix("{app}:jwt:", cluster=True) == "{app}:jwt:", "the user's own tag"
    assert key_prefix("", cluster=True) == "{jwtmw}", "an empty tag would hash whole keys"
    assert key_prefix("a{}b:", cluster=True) == "{a{}b:}"
    cluster = RedisStore("redis+cluster://127.0.0.1:1", prefix="p:")
    single = RedisStore("redis://127.0.0.1:1/0", prefix="p:")
    assert cluster._k("jti", "x") == "{p:}jti:x"
    assert single._k("jti", "x") == "p:jti:x", "one server keeps its key names"


# --- against the real cluster and sentinels --------------------------------------------


def _client(port: int) -> Any:
    return redis.Redis(port=port, decode_responses=True)


def _everything(store: RedisStore) -> None:
    now = time.time()
    store.revoke_token("jti-1", LATER)
    store.revoke_subject("alice", now, LATER)
    store.start_family("fam", "r1", LATER)
    store.rotate("fam", "r1", "r2", LATER, now)
    store.start_family("fam2", "s1", LATER)
    store.rotate("fam2", "s1", "s2", LATER, now)
    store.rotate("fam2", "s1", "s3", LATER, now)  # reuse: the family is revoked
    store.revoke_family("fam3", LATER)
    store.is_revoked("jti-1", "alice", now, "fam", now)


def test_every_key_of_a_store_is_in_one_slot(redis_cluster: LocalCluster) -> None:
    prefix = _prefix()
    store = RedisStore(redis_cluster.url, prefix=prefix)
    _everything(store)
    found: dict[int, list[str]] = {}
    slots = set()
    for port, role in redis_cluster.roles().items():
        if role != "master":
            continue
        client = _client(port)
        keys = [k for k in client.scan_iter(match="*", count=1000) if prefix in k]
        if keys:
            found[port] = keys
            slots |= {client.cluster("keyslot", k) for k in keys}
        client.close()
    assert list(found) == [redis_cluster.master_of(store._k("jti", ""))]
    assert len(slots) == 1
    tagged = store._k("", "")[:-1]
    kinds = sorted(k.removeprefix(tagged).split(":")[0] for k in next(iter(found.values())))
    assert kinds == ["fam", "fam", "famrev", "famrev", "jti", "sub"]
    store.close()


def _commands(ports: list[int]) -> dict[int, dict[str, int]]:
    """Commands each node ran since its stats were reset (not this reader's, nor replication's)."""
    ignored = {"info", "hello", "config|resetstat", "replconf", "ping", "psync", "sync"}
    counts: dict[int, dict[str, int]] = {}
    for port in ports:
        client = _client(port)
        stats = client.info("commandstats")
        client.close()
        counts[port] = {name.removeprefix("cmdstat_"): int(value["calls"])
                        for name, value in stats.items()
                        if name.removeprefix("cmdstat_") not in ignored}
    return {port: calls for port, calls in counts.items() if calls}


def _reset_stats(ports: list[int]) -> None:
    for port in ports:
        client = _client(port)
        client.config_resetstat()
        client.close()


def test_a_check_is_one_mget_on_one_node_sync_and_async(redis_cluster: LocalCluster) -> None:
    store = RedisStore(redis_cluster.url, prefix=_prefix())
    owner = redis_cluster.master_of(store._k("jti", ""))
    ports = redis_cluster.running()
    now = time.time()
    store.is_revoked("warm", "up", now, "fam", now)  # slot map and persistence check first
    _reset_stats(ports)
    for i in range(10):
        assert store.is_revoked(f"j{i}", "alice", now, "fam", now) is False
    assert _commands(ports) == {owner: {"mget": 10}}

    async def checks() -> None:
        await store.ais_revoked("warm", "up", now, "fam", now)
        _reset_stats(ports)
        for i in range(10):
            assert await store.ais_revoked(f"j{i}", "alice", now, "fam", now) is False
        await store.aclose()

    asyncio.run(checks())
    assert _commands(ports) == {owner: {"mget": 10}}
    store.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_cluster_persistence_warning_once_for_the_store_shard(
    redis_cluster: LocalCluster, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    store = RedisStore(redis_cluster.url, prefix=_prefix())
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        if mode == "sync":
            for _ in range(3):
                store.is_revoked("jti", None, None, None, time.time())
        else:
            async def calls() -> None:
                await asyncio.gather(*(store.ais_revoked("jti", None, None, None, time.time())
                                       for _ in range(4)))
                await store.aclose()

            asyncio.run(calls())
    warnings = [r.getMessage() for r in caplog.records
                if r.name == LOGGER and r.levelno == logging.WARNING]
    assert warnings == [CLUSTER_WARNING]
    store.close()


def _frozen_call_fails_within_its_timeout(store: RedisStore) -> float:
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        store.is_revoked("jti", None, None, None, time.time())
    assert caught.value.retry_after is None
    return time.monotonic() - started


def test_cluster_socket_timeout_from_the_url_is_honoured(redis_cluster: LocalCluster) -> None:
    # Frozen for well under the cluster-node-timeout (1 s): no failover, only timeouts.
    store = RedisStore(f"{redis_cluster.url}?socket_timeout=0.15&breaker_failures=0",
                       prefix=_prefix(), timeout=60.0)
    store.ping()
    with redis_cluster.frozen(redis_cluster.master_of(store._k("jti", ""))):
        waited = _frozen_call_fails_within_its_timeout(store)
    # The keyword says 60 s; anything far below proves the URL's 0.15 s won (one try and
    # one retry after refreshing the slot map). A generous bound: the machine is shared.
    assert waited < 10.0, "the URL's socket_timeout was not honoured"
    redis_cluster.wait_healthy()
    store.ping()
    store.close()


def test_sentinel_socket_timeout_from_the_url_is_honoured(redis_sentinel: LocalSentinel) -> None:
    store = RedisStore(f"{redis_sentinel.url}?socket_timeout=0.15&breaker_failures=0",
                       prefix=_prefix(), timeout=60.0)
    store.ping()
    with redis_sentinel.frozen(redis_sentinel.master()):
        waited = _frozen_call_fails_within_its_timeout(store)
    assert waited < 10.0, "the URL's socket_timeout was not honoured (the keyword says 60 s)"
    deadline = time.monotonic() + HANG
    while True:
        try:
            store.ping()
            break
        except StoreError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    store.close()
