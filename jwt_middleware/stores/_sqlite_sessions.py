"""The SQLite store's sessions: one row per family in ``jwt_sessions``, indexed by subject.

The row holds what the login said (subject, time, device, user agent, address, DPoP key);
a login writes it and the family's row in one transaction. Its last use and expiry are
the family row's ``rotated_at`` and ``expires_at``, read by a join, so a refresh writes
nothing here (one transaction, as before). The async twins run
the same code in a worker thread, like the store's. A session is listed
while its family lives and is not revoked; ``purge`` deletes the rows whose family is gone.
The table is created beside the others in the same file (``CREATE TABLE IF NOT EXISTS``:
a file from an older version gains it when it is next opened).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from ._sessions import SessionInfo

__all__ = ["SESSION_SCHEMA", "START_FAMILY"]

T = TypeVar("T")

SESSION_SCHEMA = """
CREATE TABLE IF NOT EXISTS jwt_sessions (
    family TEXT PRIMARY KEY, subject TEXT NOT NULL, created_at REAL NOT NULL,
    device TEXT, user_agent TEXT, address TEXT, jkt TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jwt_sessions_by_subject ON jwt_sessions (subject);
"""

#: A login's family row (``SQLiteStore.start_family`` and :meth:`start_session`).
START_FAMILY = (
    "INSERT OR REPLACE INTO jwt_refresh_families "
    "(family, current_jti, previous_jti, rotated_at, revoked, expires_at) "
    "VALUES (?, ?, NULL, 0, 0, ?)"
)
_RECORD = "INSERT OR REPLACE INTO jwt_sessions VALUES (?, ?, ?, ?, ?, ?, ?)"

_SELECT = (
    "SELECT s.family, s.subject, s.created_at, s.device, s.user_agent, s.address, s.jkt, "
    "f.rotated_at, f.expires_at FROM jwt_sessions s JOIN jwt_refresh_families f "
    "ON f.family = s.family WHERE f.revoked = 0 AND f.expires_at > ? "
)


def _row(info: SessionInfo) -> tuple[Any, ...]:
    return (info.id, info.subject, info.created_at, info.device, info.user_agent, info.address,
            info.jkt)


def _info(row: tuple[Any, ...]) -> SessionInfo:
    family, subject, created, device, user_agent, address, jkt, rotated_at, expires_at = row
    return SessionInfo(family, subject, created, device=device, user_agent=user_agent,
                       address=address, jkt=jkt).live(rotated_at, expires_at)


def purge_sessions(db: sqlite3.Connection) -> int:
    """Delete the rows whose family is gone (run after the families were purged)."""
    count: int = db.execute(
        "DELETE FROM jwt_sessions WHERE family NOT IN (SELECT family FROM jwt_refresh_families)"
    ).rowcount
    return count


class _SQLiteSessions:
    """Mixed into :class:`~.sqlite.SQLiteStore` (its ``_run`` borrows a connection)."""

    _run: Callable[[Callable[[sqlite3.Connection], Any]], Any]
    _transaction: Callable[[Callable[[sqlite3.Connection], Any]], Any]

    def start_session(self, info: SessionInfo, jti: str, expires_at: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(START_FAMILY, (info.id, jti, expires_at))
            db.execute(_RECORD, _row(info))

        self._transaction(work)

    def record_session(self, info: SessionInfo, expires_at: float) -> None:
        self._run(lambda db: db.execute(_RECORD, _row(info)))

    def touch_session(
        self, family: str, subject: str, now: float, expires_at: float, jkt: str | None = None
    ) -> None:
        if jkt is None:
            return  # the family row already holds its last use and expiry
        self._run(lambda db: db.execute(
            "UPDATE jwt_sessions SET jkt = ? WHERE family = ?", (jkt, family)))

    def sessions(self, subject: str, now: float) -> list[SessionInfo]:
        rows: list[tuple[Any, ...]] = self._run(lambda db: db.execute(
            _SELECT + "AND s.subject = ? ORDER BY s.created_at DESC", (now, subject)).fetchall())
        return [_info(row) for row in rows]

    def session(self, family: str, now: float) -> SessionInfo | None:
        row: tuple[Any, ...] | None = self._run(lambda db: db.execute(
            _SELECT + "AND s.family = ?", (now, family)).fetchone())
        return None if row is None else _info(row)

    # --- async: the same code in a worker thread -------------------------------

    async def astart_session(self, info: SessionInfo, jti: str, expires_at: float) -> None:
        await asyncio.to_thread(self.start_session, info, jti, expires_at)

    async def arecord_session(self, info: SessionInfo, expires_at: float) -> None:
        await asyncio.to_thread(self.record_session, info, expires_at)

    async def atouch_session(
        self, family: str, subject: str, now: float, expires_at: float, jkt: str | None = None
    ) -> None:
        if jkt is not None:
            await asyncio.to_thread(self.touch_session, family, subject, now, expires_at, jkt)

    async def asessions(self, subject: str, now: float) -> list[SessionInfo]:
        return await asyncio.to_thread(self.sessions, subject, now)

    async def asession(self, family: str, now: float) -> SessionInfo | None:
        return await asyncio.to_thread(self.session, family, now)
