"""In-memory store: for tests and a single process. Nothing survives a restart."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ._base import RotateOutcome, Store, watermark_revokes

__all__ = ["MemoryStore"]


@dataclass
class _Family:
    current: str
    previous: str | None
    rotated_at: float
    revoked: bool
    expires_at: float


class MemoryStore(Store):
    """A dict behind a lock. Thread-safe; its async methods never block for long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._subjects: dict[str, tuple[float, float]] = {}
        self._families: dict[str, _Family] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    def revoke_token(self, jti: str, expires_at: float) -> None:
        with self._lock:
            self._tokens[jti] = max(expires_at, self._tokens.get(jti, expires_at))

    def revoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        with self._lock:
            old = self._subjects.get(subject)
            if old is not None:
                before, expires_at = max(before, old[0]), max(expires_at, old[1])
            self._subjects[subject] = (before, expires_at)

    def start_family(self, family: str, jti: str, expires_at: float) -> None:
        with self._lock:
            self._families[family] = _Family(jti, None, 0.0, False, expires_at)

    def rotate(
        self,
        family: str,
        jti: str,
        next_jti: str,
        expires_at: float,
        now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        with self._lock:
            record = self._families.get(family)
            if record is None or record.expires_at <= now:
                return RotateOutcome.UNKNOWN
            if record.revoked:
                return RotateOutcome.REVOKED
            if record.current == jti:
                record.previous, record.current, record.rotated_at = jti, next_jti, now
                record.expires_at = max(record.expires_at, expires_at)
                return RotateOutcome.ROTATED
            if grace > 0 and record.previous == jti and now - record.rotated_at <= grace:
                record.current = next_jti
                record.expires_at = max(record.expires_at, expires_at)
                return RotateOutcome.ROTATED
            record.revoked = True
            return RotateOutcome.REUSED

    def revoke_family(self, family: str, expires_at: float) -> None:
        with self._lock:
            record = self._families.get(family)
            if record is None:
                self._families[family] = _Family("", None, 0.0, True, expires_at)
            else:
                record.revoked = True
                record.expires_at = max(record.expires_at, expires_at)

    def is_revoked(
        self,
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
        now: float,
    ) -> bool:
        if jti is not None:
            until = self._tokens.get(jti)
            if until is not None and until > now:
                return True
        if subject is not None:
            mark = self._subjects.get(subject)
            if mark is not None and mark[1] > now and watermark_revokes(mark[0], issued_at):
                return True
        if family is not None:
            record = self._families.get(family)
            if record is not None and record.revoked and record.expires_at > now:
                return True
        return False

    def ping(self) -> None:
        """Always reachable."""

    def purge(self, now: float) -> int:
        with self._lock:
            gone = [k for k, v in self._tokens.items() if v <= now]
            for k in gone:
                del self._tokens[k]
            subjects = [k for k, v in self._subjects.items() if v[1] <= now]
            for k in subjects:
                del self._subjects[k]
            families = [k for k, v in self._families.items() if v.expires_at <= now]
            for k in families:
                del self._families[k]
            return len(gone) + len(subjects) + len(families)
