"""The SQLite store's bounded connection pool.

A call borrows a connection and gives it back when it returns: at most
``pool_size`` connections are ever open, however many threads come and go, and
when all are borrowed a call waits for one (up to ``busy_timeout``, then
:class:`StoreError`). A connection left in a transaction, or borrowed before
``close()``, is closed instead of taken back; one that raised is discarded. A
forked child never uses (nor closes) a connection inherited from its parent.

:class:`_ConnectionPool` is mixed into :class:`~.sqlite.SQLiteStore`, which
holds the state on itself (``_idle``, ``_open``, ...); ``_run`` and
``_transaction`` are what the store's methods call.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ._base import StoreError

__all__: list[str] = []

T = TypeVar("T")


class _ConnectionPool:
    """At most ``pool_size`` WAL connections to ``path``, shared by every thread."""

    path: str
    pool_size: int
    _timeout: float

    def _init_pool(self) -> None:
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._idle: list[sqlite3.Connection] = []
        self._open = 0  # connections open now, idle or borrowed; at most pool_size
        self._waiting = 0  # calls waiting for a connection
        self._generation = 0  # bumped by close(): borrowed connections are not taken back
        self._inherited: list[sqlite3.Connection] = []  # a parent's, after fork: never used

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._wal(db)
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
        except BaseException:
            db.close()
            raise
        return db

    def _wal(self, db: sqlite3.Connection) -> None:
        """``journal_mode=WAL``, asked again while another process holds the lock it needs:
        SQLite answers "database is locked" at once there, without its busy handler, so
        processes opening a new file together would fail (until ``busy_timeout``)."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)

    def _acquire(self) -> tuple[sqlite3.Connection, int]:
        """An idle connection, a new one while the pool has room, else wait for one."""
        deadline: float | None = None
        with self._lock:  # the condition's own lock: wait/notify only when needed
            while True:
                if self._idle:
                    return self._idle.pop(), self._generation
                if self._open < self.pool_size:
                    self._open += 1
                    generation = self._generation
                    break
                if deadline is None:
                    deadline = time.monotonic() + self._timeout
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreError("the SQLite store is busy: no connection became free")
                self._waiting += 1
                try:
                    self._available.wait(left)
                finally:
                    self._waiting -= 1
        try:
            return self._connect(), generation
        except BaseException:
            self._gone()
            raise

    def _release(self, db: sqlite3.Connection, generation: int) -> None:
        """Back to the pool if it is clean and current, else closed."""
        with self._lock:
            if generation == self._generation and not db.in_transaction:
                self._idle.append(db)
                if self._waiting:
                    self._available.notify()
                return
        db.close()
        self._gone()

    def _discard(self, db: sqlite3.Connection) -> None:
        db.close()
        self._gone()

    def _gone(self) -> None:
        with self._lock:
            self._open -= 1
            if self._waiting:
                self._available.notify()

    def _pool_forked(self) -> None:
        """In a forked child: the parent's connections must not be used (nor closed)."""
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._inherited.extend(self._idle)
        self._idle = []
        self._open = 0
        self._waiting = 0
        self._generation += 1

    def _close_idle(self) -> None:
        """Close the idle connections; borrowed ones close when they come back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._generation += 1
            self._available.notify_all()
        for db in idle:
            db.close()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            db, generation = self._acquire()
        except sqlite3.Error as exc:
            raise StoreError(f"the SQLite store failed: {type(exc).__name__}") from None
        try:
            result = work(db)
        except sqlite3.Error as exc:
            self._discard(db)
            raise StoreError(f"the SQLite store failed: {type(exc).__name__}") from None
        except BaseException:
            self._discard(db)
            raise
        self._release(db, generation)
        return result

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def run(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        return self._run(run)
