"""Sessions per backend: expiry and purge, an older SQLite file, the Redis keys and TTLs,
one slot on a Cluster, stores sharing one file or one server."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from jwt_middleware.stores import RotateOutcome, SessionInfo, Store
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_cluster import LocalCluster
from tests.redis_server import RedisServer

# The schema of a file written before sessions existed.
_OLD_SCHEMA = """
CREATE TABLE jwt_revoked_tokens (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE jwt_revoked_subjects (subject TEXT PRIMARY KEY, revoked_before REAL NOT NULL,
    expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE jwt_refresh_families (family TEXT PRIMARY KEY, current_jti TEXT NOT NULL,
    previous_jti TEXT, rotated_at REAL NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL) WITHOUT ROWID;
"""


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_session_expires_with_its_family_and_is_purged(kind: str, tmp_path: Path) -> None:
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "t.db")
    store.start_session(SessionInfo("fam", "alice", 900.0, device="phone"), "r1", 1000.0)
    assert [s.id for s in store.sessions("alice", 999.0)] == ["fam"]
    assert store.sessions("alice", 1001.0) == []
    assert store.session("fam", 1001.0) is None
    assert store.purge(1001.0) == 2, "the family and its session"
    store.start_family("fam", "r2", 2000.0)  # the same id again, without a session
    assert store.sessions("alice", 1001.0) == [], "the old record went with its family"
    store.close()


def test_an_older_sqlite_file_gains_the_sessions_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
        db.execute("INSERT INTO jwt_refresh_families VALUES ('old', 'r1', NULL, 0, 0, ?)",
                   (time.time() + 60,))
    store = SQLiteStore(path)
    assert store.rotate("old", "r1", "r2", time.time() + 60, time.time()) is RotateOutcome.ROTATED
    assert store.sessions("alice", time.time()) == [], "an old family has no session"
    store.start_session(SessionInfo("new", "alice", time.time()), "r1", time.time() + 60)
    assert [s.id for s in store.sessions("alice", time.time())] == ["new"]
    store.close()


def test_two_sqlite_stores_on_one_file_share_sessions(tmp_path: Path) -> None:
    first, second = SQLiteStore(tmp_path / "t.db"), SQLiteStore(tmp_path / "t.db")
    now = time.time()
    first.start_session(SessionInfo("fam", "alice", now, device="laptop"), "r1", now + 60)
    (seen,) = second.sessions("alice", now)
    assert seen.device == "laptop"
    assert second.rotate_session("fam", "alice", "r1", "r2", now + 120, now + 5) is (
        RotateOutcome.ROTATED)
    (after,) = first.sessions("alice", now + 5)
    assert after.last_used_at == pytest.approx(now + 5)
    first.close()
    second.close()


def test_a_sqlite_refresh_writes_no_session_row(tmp_path: Path) -> None:
    """The last use and expiry come from the family row: a rotation is one write."""
    store = SQLiteStore(tmp_path / "t.db")
    now = time.time()
    store.start_session(SessionInfo("fam", "alice", now), "r1", now + 60)
    with sqlite3.connect(tmp_path / "t.db") as db:
        before = db.execute("SELECT * FROM jwt_sessions").fetchall()
    store.rotate_session("fam", "alice", "r1", "r2", now + 120, now + 1)
    with sqlite3.connect(tmp_path / "t.db") as db:
        assert db.execute("SELECT * FROM jwt_sessions").fetchall() == before
    store.close()


# --- Redis ---------------------------------------------------------------------------------


def test_redis_keeps_the_session_in_the_family_hash_and_the_index_alive(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url, prefix="sess-ttl:")
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    now = time.time()
    info = SessionInfo("fam", "alice", now, device="phone", user_agent="ua/1")
    store.start_session(info, "r1", now + 100)
    assert client.hgetall("sess-ttl:fam:fam") == {
        "cur": "r1", "prev": "", "at": "0", "sub": "alice", "t0": repr(now), "dev": "phone",
        "ua": "ua/1"}
    assert client.smembers("sess-ttl:subsess:alice") == {"fam"}
    assert 95_000 < client.pttl("sess-ttl:subsess:alice") <= 100_000
    outcome = store.rotate_session("fam", "alice", "r1", "r2", now + 500, now)
    assert outcome is RotateOutcome.ROTATED
    assert 495_000 < client.pttl("sess-ttl:subsess:alice") <= 500_000, "extended by the refresh"
    assert 495_000 < client.pttl("sess-ttl:fam:fam") <= 500_000
    client.close()
    store.close()


def test_redis_rotation_without_sessions_is_unchanged(redis_server: RedisServer) -> None:
    """``rotate`` (two keys) never touches an index or a session field."""
    store = RedisStore(redis_server.url, prefix="sess-plain:")
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    now = time.time()
    store.start_family("fam", "r1", now + 100)
    assert store.rotate("fam", "r1", "r2", now + 500, now) is RotateOutcome.ROTATED
    assert set(client.hgetall("sess-plain:fam:fam")) == {"cur", "prev", "at"}
    assert client.keys("sess-plain:subsess:*") == []
    client.close()
    store.close()


def test_a_redis_listing_drops_the_families_that_are_gone(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix="sess-gone:")
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    now = time.time()
    for family in ("kept", "expired", "revoked"):
        store.start_session(SessionInfo(family, "alice", now), "r1", now + 100)
    client.delete("sess-gone:fam:expired")  # as its TTL would
    store.revoke_family("revoked", now + 100)
    assert [s.id for s in store.sessions("alice", now)] == ["kept"]
    assert client.smembers("sess-gone:subsess:alice") == {"kept"}
    client.close()
    store.close()


def test_two_redis_stores_share_sessions(redis_server: RedisServer) -> None:
    first = RedisStore(redis_server.url, prefix="sess-share:")
    second = RedisStore(redis_server.url, prefix="sess-share:")
    now = time.time()
    first.start_session(SessionInfo("fam", "alice", now, device="laptop"), "r1", now + 60)
    (seen,) = second.sessions("alice", now)
    assert seen.device == "laptop"
    second.revoke_family("fam", now + 60)
    assert first.sessions("alice", now) == []
    first.close()
    second.close()


def test_on_a_cluster_a_subject_s_index_and_families_share_one_slot(
    redis_cluster: LocalCluster,
) -> None:
    store = RedisStore(redis_cluster.url, prefix="sess-slot:")
    keys = [store._k("subsess", "alice"), store._k("fam", "f1"), store._k("fam", "f2"),
            store._k("famrev", "f1")]
    assert len({key_slot(k.encode()) for k in keys}) == 1, keys
    now = time.time()
    store.start_session(SessionInfo("f1", "alice", now), "r1", now + 60)
    store.start_session(SessionInfo("f2", "alice", now + 1), "r1", now + 60)
    assert [s.id for s in store.sessions("alice", now)] == ["f2", "f1"]
    store.close()
