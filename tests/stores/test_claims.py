"""The DPoP replay cache per backend: the memory store's bound, SQLite's purge and
shared file, Redis's key names (one hash tag on a cluster), TTLs and breaker."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis

from jwt_middleware.stores import StoreError
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_cluster import LocalCluster
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- memory: bounded, never evicting a live claim -------------------------------------------


def test_memory_claims_are_bounded_and_a_full_cache_refuses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock(1000.0)
    store = MemoryStore(max_claims=3, clock=clock)
    assert [store.claim_once(f"k{i}", 1100.0) for i in range(3)] == [True] * 3
    with caplog.at_level(logging.WARNING, logger="jwt_middleware.stores.memory"):
        assert store.claim_once("k3", 1100.0) is False  # full of live claims: refused
        assert store.claim_once("k4", 1100.0) is False
    warnings = [r for r in caplog.records if "replay cache" in r.getMessage()]
    assert len(warnings) == 1, "one warning per time it fills up"
    assert store.claim_once("k0", 1100.0) is False, "the live claims were all kept"
    clock.now = 1100.0  # they expire: room again, without a purge
    assert store.claim_once("k3", 1200.0) is True
    assert store.claim_once("k0", 1200.0) is True, "an expired claim is taken over"
    assert len(store._claims) == 2


def test_memory_claims_expire_by_the_store_clock_and_are_purged() -> None:
    clock = Clock(1000.0)
    store = MemoryStore(clock=clock)
    assert store.claim_once("a", 1010.0) is True
    assert store.claim_once("b", 1020.0) is True
    clock.now = 1010.0
    assert store.claim_once("a", 1030.0) is True, "expired at 1010"
    assert store.claim_once("b", 1030.0) is False
    assert store.purge(1025.0) == 1  # b (a now lasts until 1030)
    assert set(store._claims) == {"a"}


def test_memory_store_refuses_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_claims"):
        MemoryStore(max_claims=0)


# --- SQLite: one statement, purged, shared by connections ---------------------------------


def test_sqlite_claims_are_purged_and_then_claimable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    later = time.time() + 100
    assert store.claim_once("dpop:k:j", later) is True
    assert store.purge(later - 1) == 0
    assert store.purge(later + 1) == 1
    assert store.claim_once("dpop:k:j", later) is True
    store.close()


def test_sqlite_takes_over_an_expired_row_in_place(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    assert store.claim_once("dpop:k:j", time.time() - 5) is True  # expired already
    assert store.claim_once("dpop:k:j", time.time() + 100) is True
    assert store.claim_once("dpop:k:j", time.time() + 100) is False
    db = sqlite3.connect(tmp_path / "t.db")
    rows = db.execute("SELECT count(*), max(expires_at) FROM jwt_dpop_claims").fetchone()
    db.close()
    assert rows[0] == 1
    assert rows[1] > time.time() + 90
    store.close()


def test_sqlite_claims_are_shared_by_two_stores_on_one_file(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "t.db"), SQLiteStore(tmp_path / "t.db")
    later = time.time() + 100
    assert one.claim_once("dpop:k:j", later) is True
    assert two.claim_once("dpop:k:j", later) is False
    assert asyncio.run(two.aclaim_once("dpop:k:j", later)) is False
    one.close()
    two.close()


def test_sqlite_claims_skip_fsync_but_leave_every_connection_at_full(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", pool_size=1)  # one connection: the claim's
    assert store.claim_once("dpop:k:j", time.time() + 100) is True
    assert store._run(lambda db: db.execute("PRAGMA synchronous").fetchone()[0]) == 2  # FULL
    store.close()


def test_sqlite_claims_survive_kill_9_of_the_claiming_process(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    child = textwrap.dedent(f"""
        import sys, time
        from jwt_middleware.stores.sqlite import SQLiteStore
        store = SQLiteStore({str(db)!r})
        print(store.claim_once("dpop:k:killed", time.time() + 3600), flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"True"
    proc.kill()
    proc.wait()
    store = SQLiteStore(db)
    assert store.claim_once("dpop:k:killed", time.time() + 3600) is False
    store.close()


def test_sqlite_adds_the_claims_table_to_an_older_file(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.db")
    db.execute("CREATE TABLE jwt_revoked_tokens (jti TEXT PRIMARY KEY, expires_at REAL)")
    db.execute("INSERT INTO jwt_revoked_tokens VALUES ('kept', ?)", (time.time() + 100,))
    db.commit()
    db.close()
    store = SQLiteStore(tmp_path / "old.db")
    assert store.claim_once("dpop:k:j", time.time() + 100) is True
    assert store.is_revoked("kept", None, None, None, time.time()) is True
    store.close()


# --- Redis: key names, TTL, the breaker -----------------------------------------------------


def test_redis_claim_is_one_key_with_the_remaining_lifetime(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix="claim-test:")
    assert store.claim_once("dpop:thumb:jti", time.time() + 100) is True
    client = redis.Redis.from_url(redis_server.url)
    assert client.keys("claim-test:*") == [b"claim-test:claim:dpop:thumb:jti"]
    assert 95_000 < client.pttl("claim-test:claim:dpop:thumb:jti") <= 100_000
    assert store.purge(time.time()) == 0
    client.close()
    store.close()


def test_redis_cluster_claims_carry_the_store_hash_tag(redis_cluster: LocalCluster) -> None:
    store = RedisStore(redis_cluster.url, prefix="tagged:")
    store.claim_once("dpop:thumb:jti-a", time.time() + 100)
    store.revoke_token("jti-b", time.time() + 100)
    key, revoked = "{tagged:}claim:dpop:thumb:jti-a", "{tagged:}jti:jti-b"
    assert redis_cluster.master_of(key) == redis_cluster.master_of(revoked)
    client = redis.Redis(port=redis_cluster.master_of(key))
    assert client.exists(key) == 1
    client.close()
    assert store.claim_once("dpop:thumb:jti-a", time.time() + 100) is False
    store.close()


def test_redis_claims_go_through_the_circuit_breaker() -> None:
    server = RedisServer()
    store = RedisStore(server.url, timeout=0.5, breaker_failures=2, breaker_open_for=30,
                       near_cache=False)
    try:
        assert store.claim_once("dpop:k:j", time.time() + 100) is True
        server.stop()
        for _ in range(2):
            with pytest.raises(StoreError):
                store.claim_once("dpop:k:j2", time.time() + 100)
        started = time.monotonic()
        with pytest.raises(StoreError) as info:
            asyncio.run(store.aclaim_once("dpop:k:j3", time.time() + 100))
        assert time.monotonic() - started < 0.4, "the open breaker answers at once"
        assert info.value.retry_after is not None
        assert info.value.retry_after > 0
    finally:
        store.close()
        server.close()
