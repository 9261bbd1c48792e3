"""SQLite store (standard library): the embedded default.

Survives a restart and ``kill -9``: every change is committed before the
call returns, in WAL mode with ``synchronous=FULL``. Safe with several
threads and several processes on one machine (WAL readers never block the
writer; writers wait up to ``busy_timeout``). Rotation runs in a
``BEGIN IMMEDIATE`` transaction, so two concurrent refreshes of one token
cannot both win. The async methods run the same code in a worker thread, so
the event loop never blocks on the disk.

Connections come from a small bounded pool, not one per thread: a call
borrows a connection and gives it back when it returns. At most
``pool_size`` connections (default 8, about two file descriptors each) are
ever open, however many threads come and go; when all are borrowed, a call
waits for one (up to ``busy_timeout``, then :class:`StoreError`). SQLite lets
one writer in at a time anyway, and a read holds its connection for some
microseconds. A forked child never uses a connection inherited from its
parent.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

from ._base import RotateOutcome, Store, StoreError, watermark_revokes

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jwt_revoked_tokens (
    jti TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jwt_revoked_subjects (
    subject TEXT PRIMARY KEY, revoked_before REAL NOT NULL, expires_at REAL NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jwt_refresh_families (
    family TEXT PRIMARY KEY, current_jti TEXT NOT NULL, previous_jti TEXT,
    rotated_at REAL NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL) WITHOUT ROWID;
"""

_IS_REVOKED = """
SELECT
  (SELECT 1 FROM jwt_revoked_tokens WHERE jti = ? AND expires_at > ?),
  (SELECT revoked_before FROM jwt_revoked_subjects WHERE subject = ? AND expires_at > ?),
  (SELECT 1 FROM jwt_refresh_families WHERE family = ? AND revoked = 1 AND expires_at > ?)
"""


class SQLiteStore(Store):
    """A SQLite file shared by the threads and processes of one machine."""

    #: Connections open at most, when ``pool_size`` is not given.
    DEFAULT_POOL_SIZE = 8

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.path = os.fspath(path)
        if self.path in ("", ":memory:"):
            raise StoreError("SQLiteStore needs a file path (use memory:// for a memory store)")
        if pool_size < 1:
            raise StoreError("SQLiteStore pool_size must be at least 1")
        self.pool_size = pool_size
        self._timeout = busy_timeout
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._idle: list[sqlite3.Connection] = []
        self._open = 0  # connections open now, idle or borrowed; at most pool_size
        self._waiting = 0  # calls waiting for a connection
        self._generation = 0  # bumped by close(): borrowed connections are not taken back
        self._inherited: list[sqlite3.Connection] = []  # a parent's, after fork: never used
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))
        self._run(lambda db: db.executescript(_SCHEMA))

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # --- the pool -----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
        except BaseException:
            db.close()
            raise
        return db

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

    def _forked(self) -> None:
        """In a forked child: the parent's connections must not be used (nor closed)."""
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._inherited.extend(self._idle)
        self._idle = []
        self._open = 0
        self._waiting = 0
        self._generation += 1

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

    # --- protocol -------------------------------------------------------------

    def revoke_token(self, jti: str, expires_at: float) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT INTO jwt_revoked_tokens VALUES (?, ?) ON CONFLICT(jti) DO UPDATE SET "
                "expires_at = max(expires_at, excluded.expires_at)",
                (jti, expires_at),
            )
        )

    def revoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT INTO jwt_revoked_subjects VALUES (?, ?, ?) ON CONFLICT(subject) DO UPDATE "
                "SET revoked_before = max(revoked_before, excluded.revoked_before), "
                "expires_at = max(expires_at, excluded.expires_at)",
                (subject, before, expires_at),
            )
        )

    def start_family(self, family: str, jti: str, expires_at: float) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO jwt_refresh_families "
                "(family, current_jti, previous_jti, rotated_at, revoked, expires_at) "
                "VALUES (?, ?, NULL, 0, 0, ?)",
                (family, jti, expires_at),
            )
        )

    def rotate(
        self,
        family: str,
        jti: str,
        next_jti: str,
        expires_at: float,
        now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        def work(db: sqlite3.Connection) -> RotateOutcome:
            row = db.execute(
                "SELECT current_jti, previous_jti, rotated_at, revoked, expires_at "
                "FROM jwt_refresh_families WHERE family = ?",
                (family,),
            ).fetchone()
            if row is None or row[4] <= now:
                return RotateOutcome.UNKNOWN
            current, previous, rotated_at, revoked, _ = row
            if revoked:
                return RotateOutcome.REVOKED
            if current == jti:
                db.execute(
                    "UPDATE jwt_refresh_families SET current_jti = ?, previous_jti = ?, "
                    "rotated_at = ?, expires_at = max(expires_at, ?) WHERE family = ?",
                    (next_jti, jti, now, expires_at, family),
                )
                return RotateOutcome.ROTATED
            if grace > 0 and previous == jti and now - rotated_at <= grace:
                db.execute(
                    "UPDATE jwt_refresh_families SET current_jti = ?, "
                    "expires_at = max(expires_at, ?) WHERE family = ?",
                    (next_jti, expires_at, family),
                )
                return RotateOutcome.ROTATED
            db.execute("UPDATE jwt_refresh_families SET revoked = 1 WHERE family = ?", (family,))
            return RotateOutcome.REUSED

        return self._transaction(work)

    def revoke_family(self, family: str, expires_at: float) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT INTO jwt_refresh_families (family, current_jti, revoked, expires_at) "
                "VALUES (?, '', 1, ?) ON CONFLICT(family) DO UPDATE SET revoked = 1, "
                "expires_at = max(expires_at, excluded.expires_at)",
                (family, expires_at),
            )
        )

    def is_revoked(
        self,
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
        now: float,
    ) -> bool:
        token, mark, fam = self._run(
            lambda db: db.execute(_IS_REVOKED, (jti, now, subject, now, family, now)).fetchone()
        )
        return bool(token) or bool(fam) or watermark_revokes(mark, issued_at)

    def purge(self, now: float) -> int:
        def work(db: sqlite3.Connection) -> int:
            count = 0
            for table in ("jwt_revoked_tokens", "jwt_revoked_subjects", "jwt_refresh_families"):
                count += db.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,)).rowcount  # noqa: S608
            return count

        return self._transaction(work)

    def ping(self) -> None:
        self._run(lambda db: db.execute("SELECT 1").fetchone())

    def close(self) -> None:
        """Close the idle connections; borrowed ones close when they come back.

        The store stays usable: the next call opens a fresh connection.
        """
        with self._lock:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._generation += 1
            self._available.notify_all()
        for db in idle:
            db.close()

    # --- async: the same code in a worker thread -------------------------------

    async def arevoke_token(self, jti: str, expires_at: float) -> None:
        await asyncio.to_thread(self.revoke_token, jti, expires_at)

    async def arevoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        await asyncio.to_thread(self.revoke_subject, subject, before, expires_at)

    async def astart_family(self, family: str, jti: str, expires_at: float) -> None:
        await asyncio.to_thread(self.start_family, family, jti, expires_at)

    async def arotate(
        self,
        family: str,
        jti: str,
        next_jti: str,
        expires_at: float,
        now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        return await asyncio.to_thread(self.rotate, family, jti, next_jti, expires_at, now, grace)

    async def arevoke_family(self, family: str, expires_at: float) -> None:
        await asyncio.to_thread(self.revoke_family, family, expires_at)

    async def ais_revoked(
        self,
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
        now: float,
    ) -> bool:
        return await asyncio.to_thread(self.is_revoked, jti, subject, issued_at, family, now)

    async def apurge(self, now: float) -> int:
        return await asyncio.to_thread(self.purge, now)

    async def aping(self) -> None:
        await asyncio.to_thread(self.ping)


def _after_fork(ref: weakref.ref[SQLiteStore]) -> None:
    store = ref()
    if store is not None:
        store._forked()
