"""The SQLite audit log: one append-only table, ``jwtmw_audit``.

The table may share the store's file (``sqlite:///tokens.db`` for both) or have its
own. Rows are only ever inserted: triggers refuse ``UPDATE`` and ``DELETE`` (an
auditor's copy should be kept elsewhere too: the file's owner can still drop the
table). Connections come from the store's bounded pool (``_sqlite_pool``: WAL,
``synchronous=FULL``, a busy timeout, none inherited by a forked child), two at most by
default (the audit's worker thread writes, a query reads); the first makes the table.
Each append is one ``BEGIN IMMEDIATE`` transaction. Queries use the indexes on ``time``,
``(subject, time)`` and ``(kind, time)``.

Retention is the operator's: nothing here deletes old rows (copy them out, then start a
new file).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._audit_base import FIELDS, AuditLog, AuditRecord, check_query
from ._base import StoreError
from ._sqlite_pool import _ConnectionPool

__all__ = ["SQLiteAuditLog"]

_TABLE = "jwtmw_audit"

_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {_TABLE} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL,
        subject TEXT, session TEXT, token_id TEXT, key_id TEXT, reason TEXT,
        request_id TEXT, count INTEGER)""",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_time ON {_TABLE} (time)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_subject ON {_TABLE} (subject, time)",
    f"CREATE INDEX IF NOT EXISTS {_TABLE}_kind ON {_TABLE} (kind, time)",
    f"""CREATE TRIGGER IF NOT EXISTS {_TABLE}_no_update BEFORE UPDATE ON {_TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {_TABLE}_no_delete BEFORE DELETE ON {_TABLE}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
)

# Built from constants only (the table, the field names, placeholders): no value is spliced.
_INSERT = f"INSERT INTO {_TABLE} ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"  # noqa: S608


def _after_fork(ref: weakref.ref[SQLiteAuditLog]) -> None:
    log = ref()
    if log is not None:
        log._pool_forked()


class SQLiteAuditLog(_ConnectionPool, AuditLog):
    """Audit records in the table ``jwtmw_audit`` of the SQLite file ``path``.

    ``timeout`` is how long a write waits for another writer, or a call for a free
    connection (seconds); ``pool_size`` connections at most (the store's pool).
    """

    kind = "sqlite"

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 5.0, pool_size: int = 2
    ) -> None:
        if not (isinstance(timeout, (int, float)) and 0 < timeout < 3600):
            raise StoreError("the SQLite audit log's timeout must be a positive number of seconds")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise StoreError("the SQLite audit log's pool_size must be at least 1")
        self.path = os.fspath(path)
        self.pool_size = pool_size
        self._timeout = float(timeout)
        self._init_pool()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))

    def __repr__(self) -> str:
        return f"SQLiteAuditLog({self.path!r})"

    def _connect(self) -> sqlite3.Connection:
        """A pool connection (WAL, ``synchronous=FULL``, busy timeout), the table made."""
        db = super()._connect()
        try:
            for statement in _SCHEMA:
                db.execute(statement)
        except BaseException:
            db.close()
            raise
        return db

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        if records:
            rows = [tuple(record.get(name) for name in FIELDS) for record in records]
            self._transaction(lambda db: db.executemany(_INSERT, rows))

    def query(
        self,
        *,
        subject: str | None = None,
        kind: Iterable[str] | str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        kinds = check_query(limit, kind)
        where: list[str] = []
        params: list[Any] = []
        if subject is not None:
            where.append("subject = ?")
            params.append(subject)
        if kinds:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params.extend(kinds)
        if since is not None:
            where.append("time >= ?")
            params.append(float(since))
        if until is not None:
            where.append("time < ?")
            params.append(float(until))
        sql = f"SELECT {', '.join(FIELDS)} FROM {_TABLE}"  # noqa: S608 - constants and "?"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time DESC, id DESC LIMIT ?"
        params.append(limit)
        rows = self._run(lambda db: db.execute(sql, params).fetchall())
        return [dict(zip(FIELDS, row, strict=True)) for row in reversed(rows)]

    def close(self) -> None:
        """Close the idle connections (the log stays usable)."""
        self._close_idle()
