"""The SQLite store's bounded connection pool: its bound, its wait, fork and close."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from jwt_middleware.stores import StoreError
from jwt_middleware.stores.sqlite import SQLiteStore


def test_pool_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="pool_size"):
        SQLiteStore(tmp_path / "t.db", pool_size=0)


def test_a_call_waits_for_a_free_connection_then_gives_up(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", pool_size=1, busy_timeout=0.2)
    held, release = threading.Event(), threading.Event()

    def hold(db: sqlite3.Connection) -> None:
        held.set()
        release.wait(30)

    holder = threading.Thread(target=store._run, args=(hold,))
    holder.start()
    assert held.wait(30)
    with pytest.raises(StoreError, match="busy"):  # the only connection is borrowed
        store.is_revoked("jti", None, None, None, time.time())
    release.set()
    holder.join(30)
    assert store.is_revoked("jti", None, None, None, time.time()) is False
    store.close()


def test_a_waiting_call_gets_the_connection_as_soon_as_it_is_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", pool_size=1, busy_timeout=30)
    held, release = threading.Event(), threading.Event()
    answers: list[bool] = []

    def hold(db: sqlite3.Connection) -> None:
        held.set()
        release.wait(30)

    holder = threading.Thread(target=store._run, args=(hold,))
    holder.start()
    assert held.wait(30)
    waiter = threading.Thread(
        target=lambda: answers.append(store.is_revoked("j", None, None, None, time.time()))
    )
    waiter.start()
    release.set()
    holder.join(30)
    waiter.join(30)
    assert answers == [False]
    store.close()


def test_a_failed_connection_is_not_put_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", pool_size=1, busy_timeout=1)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("SELECT * FROM no_such_table")

    with pytest.raises(StoreError, match="OperationalError"):
        store._run(broken)
    assert store._open == 0
    assert store.is_revoked("j", None, None, None, time.time()) is False
    store.close()


def test_an_open_transaction_never_returns_to_the_pool(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", pool_size=2)
    store._run(lambda db: db.execute("BEGIN IMMEDIATE"))  # left open: must not be reused
    assert store._idle == []
    store.revoke_token("j", time.time() + 60)  # would wait on the write lock if it were
    assert store.is_revoked("j", None, None, None, time.time()) is True
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_uses_its_parents_connections(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    store.is_revoked("warm", None, None, None, time.time())
    parents = list(store._idle)
    assert parents, "the parent holds an idle connection"
    watch = store._watch
    assert watch is not None, "the sync check opened the change watch"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        code = 1
        try:
            fresh = all(db not in store._idle for db in parents)
            store.revoke_token("from-child", time.time() + 60)
            used = store._idle[0] not in parents
            code = 0 if fresh and used and store._inherited == [*parents, watch] else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    result = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert result == b"\x00"
    assert store.is_revoked("from-child", None, None, None, time.time()) is True
    assert store._idle[0] in parents, "the parent keeps its own"
    store.close()
