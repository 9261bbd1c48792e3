"""SQLite store (standard library): the embedded default.

Survives a restart and ``kill -9``: every change is committed before the
call returns, in WAL mode with ``synchronous=FULL``. Safe with several
threads (one connection per thread) and several processes on one machine
(WAL readers never block the writer; writers wait up to ``busy_timeout``).
Rotation runs in a ``BEGIN IMMEDIATE`` transaction, so two concurrent
refreshes of one token cannot both win. The async methods run the same
code in a worker thread, so the event loop never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
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

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        if self.path in ("", ":memory:"):
            raise StoreError("SQLiteStore needs a file path (use memory:// for a memory store)")
        self._timeout = busy_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._run(lambda db: db.executescript(_SCHEMA))

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connection())
        except sqlite3.Error as exc:
            raise StoreError(f"the SQLite store failed: {type(exc).__name__}") from None

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

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

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
