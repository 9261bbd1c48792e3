"""Store-backed audit logs against a real SQLite file and a real redis-server: append,
query (subject, kind, time range, limit), append-only, bounded, hash-tagged on a cluster."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from jwt_middleware.audit import (
    Audit,
    AuditEvent,
    AuditKind,
    AuditLog,
    RedisAuditLog,
    SQLiteAuditLog,
    audit_log_from_url,
)
from jwt_middleware.stores import StoreError
from tests.redis_cluster import LocalCluster
from tests.redis_server import RedisServer

T0 = 1_700_000_000.0


def _events() -> list[AuditEvent]:
    """Ten events over ten seconds: alice and bob, three kinds."""
    kinds = [AuditKind.ISSUED, AuditKind.REFRESHED, AuditKind.LOGOUT]
    return [
        AuditEvent(T0 + n, kinds[n % 3], subject="alice" if n % 2 == 0 else "bob",
                   session=f"fam-{n // 3}", token_id=f"jti-{n}", key_id="k1")
        for n in range(10)
    ]


@pytest.fixture(params=["sqlite", "redis"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditLog]:
    if request.param == "sqlite":
        made: AuditLog = audit_log_from_url(f"sqlite:///{tmp_path / 'audit.db'}")
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        made = audit_log_from_url(server.url, prefix=f"t{secrets.token_hex(6)}:")
    yield made
    made.close()


def test_append_then_query_by_subject_kind_time_and_limit(log: AuditLog) -> None:
    log.append([e.to_record() for e in _events()])
    every = log.query(limit=100)
    assert [r["token_id"] for r in every] == [f"jti-{n}" for n in range(10)]
    assert [AuditEvent.from_record(r) for r in every] == _events()
    alice = log.query(subject="alice")
    assert [r["token_id"] for r in alice] == ["jti-0", "jti-2", "jti-4", "jti-6", "jti-8"]
    logouts = log.query(kind="logout")
    assert [r["token_id"] for r in logouts] == ["jti-2", "jti-5", "jti-8"]
    two_kinds = log.query(kind=["issued", "logout"], subject="bob")
    assert [r["token_id"] for r in two_kinds] == ["jti-3", "jti-5", "jti-9"]
    window = log.query(since=T0 + 3, until=T0 + 6)
    assert [r["token_id"] for r in window] == ["jti-3", "jti-4", "jti-5"]
    newest = log.query(limit=3)
    assert [r["token_id"] for r in newest] == ["jti-7", "jti-8", "jti-9"]
    assert log.query(subject="carol") == []
    with pytest.raises(ValueError, match="limit"):
        log.query(limit=0)


def test_the_audit_writes_through_its_worker(log: AuditLog) -> None:
    from jwt_middleware.audit import LogSink

    clock = iter(T0 + n for n in range(1000))
    audit = Audit([LogSink(log)], clock=lambda: next(clock))
    audit.emit("issued", subject="alice", session="fam", token_id="j1", key_id="k1")
    audit.emit("refused", reason="bad_signature")
    assert audit.flush(10)
    records = log.query()
    assert [(r["kind"], r["outcome"], r["reason"]) for r in records] == [
        ("issued", "ok", None), ("refused", "refused", "bad_signature"),
    ]
    audit.close()


def test_an_unencodable_id_loses_no_event_of_its_batch(log: AuditLog) -> None:
    from jwt_middleware.audit import LogSink

    audit = Audit([LogSink(log)], clock=lambda: T0)
    for subject in ("bob", "\udc80", "carol"):
        audit.emit("issued", subject=subject)
    assert audit.flush(10)
    assert [r["subject"] for r in log.query()] == ["bob", "<redacted>", "carol"]
    assert audit.lost == 0
    audit.close()


def test_the_sqlite_table_is_append_only(tmp_path: Path) -> None:
    log = SQLiteAuditLog(tmp_path / "audit.db")
    log.append([_events()[0].to_record()])
    db = sqlite3.connect(tmp_path / "audit.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE jwtmw_audit SET subject = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM jwtmw_audit")
    db.close()
    assert log.query()[0]["subject"] == "alice"
    log.close()


def test_the_sqlite_log_shares_the_store_s_file(tmp_path: Path) -> None:
    from jwt_middleware.stores import store_from_url

    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    store = store_from_url(url)
    store.revoke_token("j1", T0 + 10)
    log = audit_log_from_url(url)
    log.append([_events()[0].to_record()])
    assert store.is_revoked("j1", None, None, None, T0)
    assert len(log.query()) == 1
    log.close()
    store.close()


def test_a_sqlite_log_that_cannot_be_written_raises_store_error(tmp_path: Path) -> None:
    log = SQLiteAuditLog(tmp_path / "missing" / "audit.db")
    with pytest.raises(StoreError, match="SQLite store failed: OperationalError"):
        log.append([_events()[0].to_record()])


def test_the_redis_stream_is_bounded_by_maxlen(redis_server: RedisServer) -> None:
    log = RedisAuditLog(redis_server.url, prefix="bounded:", max_entries=100)
    for _ in range(10):
        log.append([e.to_record() for e in _events() * 50])  # 500 a call
    client = redis.Redis.from_url(redis_server.url)
    length = client.xlen("bounded:audit")
    assert 100 <= length < 5000  # MAXLEN ~ trims whole nodes: at least 100, far below 5000
    newest = log.query(limit=5)
    assert [r["token_id"] for r in newest] == [f"jti-{n}" for n in range(5, 10)]
    client.close()
    log.close()


def test_a_redis_log_that_cannot_be_reached_raises_store_error() -> None:
    from tests.redis_server import free_port

    log = RedisAuditLog(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    with pytest.raises(StoreError, match="Redis audit log failed: ConnectionError"):
        log.append([_events()[0].to_record()])
    log.close()


@pytest.mark.slow
def test_on_a_cluster_the_stream_is_one_hash_tagged_key(redis_cluster: LocalCluster) -> None:
    log = audit_log_from_url(redis_cluster.url)
    assert isinstance(log, RedisAuditLog)
    assert log.key == "{jwtmw:}audit"  # the store's own tag: {jwtmw:}jti:..., one slot
    log.append([e.to_record() for e in _events()])
    assert [r["token_id"] for r in log.query(subject="bob", limit=2)] == ["jti-7", "jti-9"]
    log.close()


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(StoreError, match="unknown audit log URL scheme 'memory'"):
        audit_log_from_url("memory://")
    with pytest.raises(StoreError, match="sqlite:///path"):
        audit_log_from_url("sqlite://relative.db")
