"""The SQLite store's change watch: what lets the async check skip its thread hop.

The event loop asks a separate read-only connection ``PRAGMA data_version`` (a
few microseconds: it reads the WAL index in shared memory, and never waits for
a lock, with a busy timeout of 0). While that number stays the same no
connection of any process has committed, so a check's rows read from the file
before are still the answer, and come from a small bounded cache. Any commit
anywhere changes the number and empties the cache.

:class:`_ChangeWatch` is mixed into :class:`~.sqlite.SQLiteStore`, which keeps
the state on itself (``_watch``, ``_watch_lock``, ``_checks``) and does the
look-up in ``ais_revoked``.
"""

from __future__ import annotations

import sqlite3
import threading

__all__: list[str] = []

#: What the check's query found for one (jti, subject, family): the token's
#: expiry, the subject's watermark and its expiry, the revoked family's expiry.
_Rows = tuple[float | None, float | None, float | None, float | None]
#: The key of one cached check: (jti, subject, family).
_CheckKey = tuple[str | None, str | None, str | None]


class _ChangeWatch:
    """One read-only connection, used under a lock never waited for, and its cache."""

    path: str
    check_cache_size: int

    def _init_watch(self) -> None:
        self._watch_lock = threading.Lock()
        self._watch: sqlite3.Connection | None = None
        self._checks: tuple[int, dict[_CheckKey, _Rows]] = (-1, {})

    def _watch_forked(self) -> sqlite3.Connection | None:
        """In a forked child: a fresh lock, an empty cache; the parent's watch (or ``None``)."""
        self._watch_lock = threading.Lock()
        watch, self._watch = self._watch, None
        self._checks = (-1, {})
        return watch

    def _close_watch(self) -> None:
        with self._watch_lock:
            watch, self._watch = self._watch, None
            self._checks = (-1, {})
        if watch is not None:
            watch.close()

    def _data_version(self) -> int | None:
        """``PRAGMA data_version`` of the watch connection; ``None``: not now (ask the file).

        Runs on the event loop: never waits (another thread holds the watch, or SQLite
        is busy: ``None``), never opens the connection (the worker thread does).
        """
        if self._watch is None or not self._watch_lock.acquire(blocking=False):
            return None
        try:
            watch = self._watch
            if watch is None:
                return None
            try:
                version: int = watch.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:  # busy (recovery, a checkpoint), or broken: ask the file
                return None
            if version != self._checks[0]:
                self._checks = (version, {})  # something was committed: forget everything
            return version
        finally:
            self._watch_lock.release()

    def _open_watch(self) -> None:
        """In the worker thread: the read-only connection the loop asks for changes."""
        if self._watch is not None or self.check_cache_size == 0:
            return
        try:
            db = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            db.execute("PRAGMA query_only=1")
            db.execute("PRAGMA busy_timeout=0")
            db.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            db.close()
            return
        with self._watch_lock:
            if self._watch is None:
                self._watch = db
                return
        db.close()  # another thread was quicker
