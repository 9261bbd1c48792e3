"""The memory store's sessions: a record per family and an index per subject, in dicts.

A session is listed while its family (the store's own record) lives and is not revoked;
its last use and expiry are read from the family, which every rotation updates, so a
refresh writes nothing here. ``purge`` drops the records of families that are gone.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Protocol

from ._sessions import SessionInfo

__all__: list[str] = []


class _FamilyRecord(Protocol):
    rotated_at: float
    revoked: bool
    expires_at: float


class _MemorySessions:
    """Mixed into :class:`~.memory.MemoryStore`, whose lock and families it reads."""

    _lock: threading.Lock
    _families: dict[str, Any]

    def _init_sessions(self) -> None:
        self._sessions: dict[str, SessionInfo] = {}
        self._by_subject: dict[str, set[str]] = {}

    def record_session(self, info: SessionInfo, expires_at: float) -> None:
        with self._lock:
            self._drop_session(info.id)
            self._sessions[info.id] = info
            self._by_subject.setdefault(info.subject, set()).add(info.id)

    def touch_session(
        self, family: str, subject: str, now: float, expires_at: float, jkt: str | None = None
    ) -> None:
        if jkt is None:
            return  # the family's record already holds its last use and expiry
        with self._lock:
            info = self._sessions.get(family)
            if info is not None:
                self._sessions[family] = replace(info, jkt=jkt)

    def _live(self, family: str, now: float) -> SessionInfo | None:
        info = self._sessions.get(family)
        record: _FamilyRecord | None = self._families.get(family)
        if info is None or record is None or record.revoked or record.expires_at <= now:
            return None
        return info.live(record.rotated_at, record.expires_at)

    def sessions(self, subject: str, now: float) -> list[SessionInfo]:
        with self._lock:
            found = [self._live(f, now) for f in self._by_subject.get(subject, ())]
        return sorted((s for s in found if s is not None), key=lambda s: -s.created_at)

    def session(self, family: str, now: float) -> SessionInfo | None:
        with self._lock:
            return self._live(family, now)

    def _drop_session(self, family: str) -> None:
        """Forget one record (the caller holds the lock)."""
        info = self._sessions.pop(family, None)
        if info is not None:
            index = self._by_subject.get(info.subject)
            if index is not None:
                index.discard(family)
                if not index:
                    del self._by_subject[info.subject]

    def _purge_sessions(self) -> int:
        """Drop the records whose family is gone (the caller holds the lock, after the
        families were purged)."""
        gone = [f for f in self._sessions if f not in self._families]
        for family in gone:
            self._drop_session(family)
        return len(gone)
