"""In-memory store: for tests and a single process. Nothing survives a restart.

Its replay cache (:meth:`MemoryStore.claim_once`) is bounded: at most ``max_claims``
unexpired claims (default 100,000, about 22 MB). Expired claims are dropped as new ones
come (a heap ordered by expiry, so each claim costs O(log n)). A claim is never evicted
before it expires, since that would let its proof be replayed: when the cache is full of
unexpired claims, a new claim is refused (``False``, so the DPoP proof is refused as if
replayed) and one warning is logged until there is room again.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._base import RotateOutcome, Store, watermark_revokes
from ._memory_sessions import _MemorySessions

__all__ = ["MemoryStore"]

logger = logging.getLogger("jwt_middleware.stores.memory")


@dataclass
class _Family:
    current: str
    previous: str | None
    rotated_at: float
    revoked: bool
    expires_at: float


class MemoryStore(_MemorySessions, Store):
    """A dict behind a lock. Thread-safe; its async methods never block for long.

    ``max_claims`` bounds the replay cache (module docstring); ``clock`` is the time
    its claims expire by (the other methods are given ``now`` by their callers).
    """

    #: Unexpired replay-cache claims kept at most, when ``max_claims`` is not given.
    DEFAULT_MAX_CLAIMS = 100_000

    def __init__(
        self, *, max_claims: int = DEFAULT_MAX_CLAIMS, clock: Callable[[], float] = time.time
    ) -> None:
        if max_claims < 1:
            raise ValueError("MemoryStore max_claims must be at least 1")
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._subjects: dict[str, tuple[float, float]] = {}
        self._families: dict[str, _Family] = {}
        self.max_claims = max_claims
        self._clock = clock
        self._claims: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []  # a heap; stale entries are skipped
        self._full = False
        self._init_sessions()

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

    def claim_once(self, key: str, expires_at: float) -> bool:
        now = self._clock()
        with self._lock:
            until = self._claims.get(key)
            if until is not None and until > now:
                return False
            self._expire(now)
            if expires_at <= now:
                return True
            if len(self._claims) >= self.max_claims:
                if not self._full:
                    self._full = True
                    logger.warning("the memory store's replay cache holds %d unexpired claims "
                                   "(max_claims): new DPoP proofs are refused", len(self._claims))
                return False
            self._full = False
            self._claims[key] = expires_at
            heapq.heappush(self._expiries, (expires_at, key))
            return True

    def _expire(self, now: float) -> int:
        """Drop the claims expired by ``now`` (the caller holds the lock)."""
        heap, claims, gone = self._expiries, self._claims, 0
        while heap and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            if claims.get(key) == at:
                del claims[key]
                gone += 1
        return gone

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
            sessions = self._purge_sessions()
            return len(gone) + len(subjects) + len(families) + sessions + self._expire(now)
