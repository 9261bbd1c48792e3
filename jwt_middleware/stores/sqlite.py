"""SQLite store (standard library): the embedded default.

Survives a restart and ``kill -9``: every change is committed before the
call returns, in WAL mode with ``synchronous=FULL``. Safe with several
threads and several processes on one machine (WAL readers never block the
writer; writers wait up to ``busy_timeout``). Rotation runs in a
``BEGIN IMMEDIATE`` transaction, so two concurrent refreshes of one token
cannot both win. The async methods run the same code in a worker thread, so
the event loop never blocks on the disk.

The async revocation check skips that thread hop when nothing changed: the
loop asks a separate read-only connection ``PRAGMA data_version`` (a few
microseconds: it reads the WAL index in shared memory, and never waits for a
lock, with a busy timeout of 0), and while that number stays the same, no
connection of any process has committed, so the answer read from the file
before is still the answer and comes from a small bounded cache (at most
``check_cache_size`` token look-ups, default 4,096; the rows are kept with
their expiry times, so an expired revocation stops counting on time). Any
commit anywhere, by this process or another, changes the number and empties
the cache; the next check runs its query in a worker thread as before. The
sync check uses the same watch and cache (its query's pages stop fitting
SQLite's page cache at a million revoked rows; the cache keeps it flat). The
cross-process guarantee is the same: a revocation committed by another process
is seen by the next check.

Connections come from a small bounded pool, not one per thread: a call
borrows a connection and gives it back when it returns. At most
``pool_size`` connections (default 8, about two file descriptors each) are
ever open, however many threads come and go; when all are borrowed, a call
waits for one (up to ``busy_timeout``, then :class:`StoreError`). SQLite lets
one writer in at a time anyway, and a read holds its connection for some
microseconds. A forked child never uses a connection inherited from its
parent.

The DPoP replay cache (:meth:`SQLiteStore.claim_once`) is one ``INSERT .. ON CONFLICT
DO UPDATE .. WHERE`` statement: atomic across the processes sharing the file, an
expired claim taken over in place, and ``purge()`` deletes the expired ones. A claim
is committed with ``synchronous=NORMAL``, without an ``fsync`` (on the test machine's
disk 20 to 50 µs instead of 2 to 3 ms): a crashed or killed process loses no claim, a
power cut may lose the last ones, which matters only if the machine is back up within
the proofs' ``iat`` window. Each claim is a commit, and a commit empties the async
revocation check's cache above: give the replay cache a file of its own where both are
busy.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
import time
import weakref

from ._base import RotateOutcome, Store, StoreError, watermark_revokes
from ._sqlite_pool import _ConnectionPool
from ._sqlite_sessions import SESSION_SCHEMA, START_FAMILY, _SQLiteSessions, purge_sessions
from ._sqlite_watch import _ChangeWatch, _CheckKey, _Rows

__all__ = ["SQLiteStore"]

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
CREATE TABLE IF NOT EXISTS jwt_dpop_claims (
    key TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
"""

# One statement, so one write transaction: a new key is inserted, an expired one taken
# over, a live one left alone (then no row changes, and the claim is refused).
_CLAIM = (
    "INSERT INTO jwt_dpop_claims VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET "
    "expires_at = excluded.expires_at WHERE jwt_dpop_claims.expires_at <= ?3"
)

# What a check needs, with the expiry times, so that one answer serves any ``now``
# (a revocation only ever stops counting as time passes, never starts).
_CHECK_ROWS = """
SELECT
  (SELECT expires_at FROM jwt_revoked_tokens WHERE jti = ?),
  (SELECT revoked_before FROM jwt_revoked_subjects WHERE subject = ?),
  (SELECT expires_at FROM jwt_revoked_subjects WHERE subject = ?),
  (SELECT expires_at FROM jwt_refresh_families WHERE family = ? AND revoked = 1)
"""


def _revoked(rows: _Rows, issued_at: float | None, now: float) -> bool:
    token, mark, mark_expires, family = rows
    if token is not None and token > now:
        return True
    if family is not None and family > now:
        return True
    live_mark = mark if mark_expires is not None and mark_expires > now else None
    return watermark_revokes(live_mark, issued_at)


class SQLiteStore(_ConnectionPool, _ChangeWatch, _SQLiteSessions, Store):
    """A SQLite file shared by the threads and processes of one machine."""

    #: Connections open at most, when ``pool_size`` is not given.
    DEFAULT_POOL_SIZE = 8
    #: Async look-ups kept while nothing is committed, when ``check_cache_size`` is not given.
    DEFAULT_CHECK_CACHE_SIZE = 4096

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        pool_size: int = DEFAULT_POOL_SIZE,
        check_cache_size: int = DEFAULT_CHECK_CACHE_SIZE,
    ) -> None:
        self.path = os.fspath(path)
        if self.path in ("", ":memory:"):
            raise StoreError("SQLiteStore needs a file path (use memory:// for a memory store)")
        if pool_size < 1:
            raise StoreError("SQLiteStore pool_size must be at least 1")
        if check_cache_size < 0:
            raise StoreError("SQLiteStore check_cache_size must be 0 (no cache) or more")
        self.pool_size = pool_size
        #: Async look-ups kept while ``PRAGMA data_version`` stays the same (0: none).
        self.check_cache_size = check_cache_size
        self._init_watch()
        self._timeout = busy_timeout
        self._init_pool()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))
        self._run(lambda db: db.executescript(_SCHEMA + SESSION_SCHEMA))

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _forked(self) -> None:
        """In a forked child: the parent's connections must not be used (nor closed)."""
        self._pool_forked()
        watch = self._watch_forked()
        if watch is not None:
            self._inherited.append(watch)

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
        self._run(lambda db: db.execute(START_FAMILY, (family, jti, expires_at)))

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
        # The change watch serves threads too: at a million rows the query's pages no
        # longer fit SQLite's page cache, and a look-up read since the last commit
        # anywhere is still the answer (benchmarks/README.md, "Scaling").
        version = self._data_version()
        key = (jti, subject, family)
        rows = self._cached_rows(version, key)
        if rows is None:
            rows = self._rows_and_watch(jti, subject, family)
            self._remember(version, key, rows)
        return _revoked(rows, issued_at, now)

    def _rows(self, jti: str | None, subject: str | None, family: str | None) -> _Rows:
        rows: _Rows = self._run(
            lambda db: db.execute(_CHECK_ROWS, (jti, subject, subject, family)).fetchone()
        )
        return rows

    def purge(self, now: float) -> int:
        def work(db: sqlite3.Connection) -> int:
            count = 0
            for table in ("jwt_revoked_tokens", "jwt_revoked_subjects", "jwt_refresh_families",
                          "jwt_dpop_claims"):
                count += db.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,)).rowcount  # noqa: S608
            return count + purge_sessions(db)

        return self._transaction(work)

    def claim_once(self, key: str, expires_at: float) -> bool:
        now = time.time()

        def work(db: sqlite3.Connection) -> int:
            # Committed without waiting for the disk (module docstring), then FULL again.
            db.execute("PRAGMA synchronous=NORMAL")
            changed: int = db.execute(_CLAIM, (key, expires_at, now)).rowcount
            db.execute("PRAGMA synchronous=FULL")
            return changed

        return self._run(work) == 1

    def ping(self) -> None:
        self._run(lambda db: db.execute("SELECT 1").fetchone())

    def close(self) -> None:
        """Close the idle connections; borrowed ones close when they come back.

        The store stays usable: the next call opens a fresh connection.
        """
        self._close_idle()
        self._close_watch()

    # --- the async check's change watch ----------------------------------------------

    def _rows_and_watch(self, jti: str | None, subject: str | None,
                        family: str | None) -> _Rows:
        self._open_watch()
        return self._rows(jti, subject, family)

    def _cached_rows(self, version: int | None, key: _CheckKey) -> _Rows | None:
        """The rows read for ``key`` while nothing was committed since, else ``None``."""
        return None if version is None else self._checks[1].get(key)

    def _remember(self, version: int | None, key: _CheckKey, rows: _Rows) -> None:
        if version is None:
            return
        seen, cache = self._checks
        if seen == version:  # read after ``version`` was: still the answer while it holds
            if len(cache) >= self.check_cache_size:
                cache.clear()
            cache[key] = rows

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
        version = self._data_version()
        key = (jti, subject, family)
        rows = self._cached_rows(version, key)
        if rows is None:
            rows = await asyncio.to_thread(self._rows_and_watch, jti, subject, family)
            self._remember(version, key, rows)
        return _revoked(rows, issued_at, now)

    async def apurge(self, now: float) -> int:
        return await asyncio.to_thread(self.purge, now)

    async def aclaim_once(self, key: str, expires_at: float) -> bool:
        return await asyncio.to_thread(self.claim_once, key, expires_at)

    async def aping(self) -> None:
        await asyncio.to_thread(self.ping)


def _after_fork(ref: weakref.ref[SQLiteStore]) -> None:
    store = ref()
    if store is not None:
        store._forked()
