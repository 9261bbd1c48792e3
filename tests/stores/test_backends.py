"""What differs per backend: expiry and purging, durability, processes, faults, URLs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from jwt_middleware import (
    Config,
    ConfigurationError,
    RevokedTokenError,
    ServiceUnavailableError,
    Verifier,
    encode,
    generate_key,
)
from jwt_middleware.stores import RotateOutcome, Store, StoreError, store_from_url
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_revocations_expire_with_the_token_and_are_purged(kind: str, tmp_path: Path) -> None:
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "t.db")
    store.revoke_token("jti", 1000.0)
    store.revoke_subject("alice", 500.0, 1000.0)
    store.start_family("fam", "r1", 1000.0)
    assert store.is_revoked("jti", None, None, None, 999.0) is True
    assert store.is_revoked("jti", None, None, None, 1001.0) is False
    assert store.rotate("fam", "r1", "r2", 1000.0, 1001.0) is RotateOutcome.UNKNOWN
    assert store.purge(999.0) == 0
    assert store.purge(1001.0) == 3
    store.close()


def test_redis_keys_carry_the_remaining_lifetime(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix="ttl-test:")
    store.revoke_token("jti", time.time() + 100)
    client = redis.Redis.from_url(redis_server.url)
    ttl = client.pttl("ttl-test:jti:jti")
    assert 95_000 < ttl <= 100_000
    assert store.purge(time.time()) == 0, "Redis expires keys by itself"
    client.close()
    store.close()


def test_sqlite_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "tokens.db"
    child = textwrap.dedent(f"""
        import sys, time
        from jwt_middleware.stores.sqlite import SQLiteStore
        store = SQLiteStore({str(db)!r})
        store.revoke_token("jti-killed", time.time() + 3600)
        store.revoke_family("fam-killed", time.time() + 3600)
        print("revoked", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"revoked"
    proc.kill()
    proc.wait()
    store = SQLiteStore(db)
    assert store.is_revoked("jti-killed", None, None, None, time.time()) is True
    assert store.is_revoked(None, None, None, "fam-killed", time.time()) is True
    store.close()


def test_sqlite_rotation_across_processes_has_one_winner(tmp_path: Path) -> None:
    db = tmp_path / "tokens.db"
    SQLiteStore(db).start_family("fam", "r1", time.time() + 3600)
    child = textwrap.dedent(f"""
        import sys, time
        from jwt_middleware.stores.sqlite import SQLiteStore
        store = SQLiteStore({str(db)!r})
        sys.stdin.readline()
        print(store.rotate("fam", "r1", "next-" + sys.argv[1], time.time() + 3600,
                           time.time()).value, flush=True)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", child, str(i)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, cwd=ROOT) for i in range(4)]
    for proc in procs:  # every child is up and waiting before any starts
        assert proc.stdin is not None
    outcomes = [p.communicate(b"go\n", timeout=60)[0].decode().strip() for p in procs]
    assert outcomes.count("rotated") == 1, outcomes
    assert all(o in ("rotated", "reused", "revoked") for o in outcomes), outcomes


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


def _token(config: Config) -> str:
    now = int(time.time())
    key = next(iter(config.key_set))
    return encode({"sub": "alice", "iss": "https://auth", "jti": "j1", "iat": now,
                   "exp": now + 600}, key)


def test_redis_down_fails_closed_then_recovers(private_redis: RedisServer) -> None:
    key = generate_key("HS256")
    store = RedisStore(private_redis.url, timeout=0.5)
    config = Config(keys=key, issuer="https://auth", store=store)
    verifier = Verifier(config)
    token = _token(config)
    assert verifier.verify(token).subject == "alice"
    private_redis.stop()
    with pytest.raises(ServiceUnavailableError) as caught:
        verifier.verify(token)
    assert caught.value.status == 503
    assert ("retry-after", "5") in caught.value.headers()
    with pytest.raises(ServiceUnavailableError):
        asyncio.run(verifier.averify(token))
    private_redis.start()
    assert verifier.verify(token).subject == "alice"
    store.revoke_token("j1", time.time() + 600)
    with pytest.raises(RevokedTokenError):
        verifier.verify(token)
    store.close()


def test_redis_down_fail_open_accepts_and_logs(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore(private_redis.url, timeout=0.5)
    config = Config(keys=generate_key("HS256"), issuer="https://auth", store=store,
                    store_failure="open")
    token = _token(config)
    private_redis.stop()
    with caplog.at_level("WARNING", logger="jwt_middleware"):
        assert Verifier(config).verify(token).subject == "alice"
    assert any("fail open" in r.getMessage() for r in caplog.records)
    assert not any(token in r.getMessage() for r in caplog.records)
    store.close()


def test_store_errors_never_leak_redis_exceptions(private_redis: RedisServer) -> None:
    store = RedisStore(private_redis.url, timeout=0.5)
    private_redis.stop()
    with pytest.raises(StoreError):
        store.revoke_token("j", time.time() + 10)
    with pytest.raises(StoreError):
        store.rotate("f", "a", "b", time.time() + 10, time.time())
    store.close()


def test_store_urls(tmp_path: Path, redis_server: RedisServer) -> None:
    assert isinstance(store_from_url("memory://"), MemoryStore)
    sqlite = store_from_url(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(sqlite, SQLiteStore)
    assert sqlite.path == f"{tmp_path}/x.db"
    assert isinstance(store_from_url(redis_server.url), RedisStore)
    with pytest.raises(StoreError, match="unknown store URL scheme"):
        store_from_url("mongodb://x")
    with pytest.raises(ConfigurationError, match="unknown store URL scheme"):
        Config(keys=generate_key("HS256"), store="ftp://x")


def test_store_url_from_the_environment(tmp_path: Path) -> None:
    env = {"JWT_ALGORITHMS": "HS256", "JWT_SECRET": "s" * 32,
           "JWT_STORE_URL": f"sqlite:///{tmp_path}/env.db", "JWT_STORE_FAILURE": "open"}
    config = Config.from_env(environ=env)
    assert isinstance(config.store, SQLiteStore)
    assert config.store_failure == "open"
    assert os.path.exists(tmp_path / "env.db")


def test_ping_raises_store_error_when_redis_is_down(private_redis: RedisServer) -> None:
    store = RedisStore(private_redis.url, timeout=0.5)
    store.ping()
    private_redis.stop()
    with pytest.raises(StoreError):
        store.ping()

    async def aping() -> None:
        try:
            await store.aping()
        finally:
            await store.aclose()

    with pytest.raises(StoreError):
        asyncio.run(aping())
    store.close()


def test_ping_raises_store_error_when_the_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    store.ping()
    store.close()  # no connection left open
    for name in ("t.db", "t.db-wal", "t.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    (tmp_path / "t.db").mkdir()  # a directory where the database was
    with pytest.raises(StoreError):
        store.ping()
    with pytest.raises(StoreError):
        asyncio.run(store.aping())


def test_the_default_ping_is_a_look_up_and_reports_its_failure() -> None:
    class Unreachable(MemoryStore):
        ping = Store.ping
        aping = Store.aping

        def is_revoked(self, *args: object) -> bool:
            raise StoreError("unreachable")

    with pytest.raises(StoreError, match="unreachable"):
        Unreachable().ping()
    with pytest.raises(StoreError, match="unreachable"):
        asyncio.run(Unreachable().aping())
    MemoryStore().ping()
