"""The store protocol: what must be shared between requests and processes.

* revoked token ids, kept until the token would have expired anyway;
* per-subject watermarks: every token of the subject issued before it is
  revoked (password change, compromise), checked in O(1);
* refresh-token families: one per login, with the one current refresh
  token id; rotation is an atomic compare-and-set, and presenting a retired
  token revokes the whole family (RFC 9700 section 4.14);
* one-time claims, the DPoP replay cache (RFC 9449 section 11.1): a key (a proof's
  ``jti`` under its key's thumbprint) is accepted once until it expires, atomically
  across processes;
* sessions (``_sessions.py``): what the login said about each refresh family (device,
  user agent, optionally the address, the DPoP key), listed per subject while the family
  lives and is not revoked. Every backend here keeps them; the defaults raise
  :class:`NotImplementedError`, so a custom store without them keeps working for
  everything else (the issuer then records none: :func:`has_sessions`).

Every backend has sync methods and ``a``-prefixed async twins with the
same meaning; one contract test suite runs against all of them. A backend
that cannot be reached raises :class:`StoreError`; the verifier turns
that into 503 (fail closed) unless configured otherwise.

:meth:`Store.ping` (and :meth:`Store.aping`) is for readiness probes: it
returns when the store can be reached and raises :class:`StoreError` when it
cannot. The default asks a look-up that matches nothing, so a custom backend
answers truthfully without writing one.

Times are seconds since the epoch. Watermarks have a one-second
granularity, like ``iat``: a token is revoked when its ``iat`` is *before*
the (whole) second of the subject's revocation.
"""

from __future__ import annotations

import enum
import time
from abc import ABC, abstractmethod

from ._sessions import SessionInfo

__all__ = ["RotateOutcome", "Store", "StoreError"]


class StoreError(Exception):
    """The store could not be reached or failed. The message never holds a token.

    ``retry_after`` is the number of seconds after which asking again makes sense,
    when the store knows it (a Redis store's open circuit breaker), else ``None``.
    """

    def __init__(self, message: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RotateOutcome(enum.Enum):
    """What :meth:`Store.rotate` found."""

    #: The presented refresh token was current; the next one is now current.
    ROTATED = "rotated"
    #: The presented token was already retired: reuse. The family is now revoked.
    REUSED = "reused"
    #: The family had been revoked before (logout, earlier reuse).
    REVOKED = "revoked"
    #: No such family (never started, or expired and purged).
    UNKNOWN = "unknown"


class Store(ABC):
    """One small protocol; backends: memory, SQLite, Redis."""

    # --- sync ---------------------------------------------------------------

    @abstractmethod
    def revoke_token(self, jti: str, expires_at: float) -> None:
        """Revoke one token id until ``expires_at`` (its own ``exp``)."""

    @abstractmethod
    def revoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        """Revoke every token of ``subject`` issued before ``before``.

        The watermark is kept until ``expires_at`` (the longest token lifetime
        from now); a later call only ever moves it forward.
        """

    @abstractmethod
    def start_family(self, family: str, jti: str, expires_at: float) -> None:
        """A login: a new refresh family whose current token is ``jti``."""

    @abstractmethod
    def rotate(
        self,
        family: str,
        jti: str,
        next_jti: str,
        expires_at: float,
        now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        """Atomically retire ``jti`` and make ``next_jti`` current.

        With ``grace`` > 0, the token retired last may be presented again for
        that many seconds after its rotation (clients that retry) without
        counting as reuse.
        """

    @abstractmethod
    def revoke_family(self, family: str, expires_at: float) -> None:
        """Revoke a refresh family (and the access tokens minted in it)."""

    @abstractmethod
    def is_revoked(
        self,
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
        now: float,
    ) -> bool:
        """One look-up for all three kinds of revocation."""

    @abstractmethod
    def purge(self, now: float) -> int:
        """Drop what has expired; returns how many records went."""

    def claim_once(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; ``True`` if it was not recorded already.

        ``False`` while an earlier claim of ``key`` has not expired. Atomic: of any
        number of threads and processes claiming one key, exactly one gets ``True``.
        A claim whose ``expires_at`` has passed keeps nothing and is ``True`` (unless
        an earlier claim still holds). Every backend here implements it; the default
        raises :class:`NotImplementedError`, so that a custom store written before the
        replay cache existed keeps working for everything else, and a DPoP verifier
        given one refuses it when it is built.
        """
        raise NotImplementedError(f"{type(self).__name__} has no replay cache (claim_once)")

    # --- sessions (optional: see has_sessions) ------------------------------------------

    def record_session(self, info: SessionInfo, expires_at: float) -> None:
        """Keep ``info`` for the family ``info.id`` (kept while the family lives; at least
        until ``expires_at``) and list it under ``info.subject``."""
        raise NotImplementedError(f"{type(self).__name__} keeps no sessions (record_session)")

    def touch_session(
        self, family: str, subject: str, now: float, expires_at: float, jkt: str | None = None
    ) -> None:
        """A rotation of ``family`` at ``now``: keep its session until ``expires_at``;
        ``jkt``: the DPoP key it became bound to (``None``: unchanged)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no sessions (touch_session)")

    def sessions(self, subject: str, now: float) -> list[SessionInfo]:
        """The sessions of ``subject`` whose family lives and is not revoked, newest first."""
        raise NotImplementedError(f"{type(self).__name__} keeps no sessions (sessions)")

    def session(self, family: str, now: float) -> SessionInfo | None:
        """The session of ``family`` while it lives and is not revoked, else ``None``."""
        raise NotImplementedError(f"{type(self).__name__} keeps no sessions (session)")

    def start_session(self, info: SessionInfo, jti: str, expires_at: float) -> None:
        """A login with its session: :meth:`start_family` and :meth:`record_session`
        (a backend may do both at once)."""
        self.start_family(info.id, jti, expires_at)
        self.record_session(info, expires_at)

    def rotate_session(
        self, family: str, subject: str, jti: str, next_jti: str, expires_at: float,
        now: float, grace: float = 0.0, jkt: str | None = None,
    ) -> RotateOutcome:
        """:meth:`rotate`, then :meth:`touch_session` when it rotated (a backend may do
        both at once)."""
        outcome = self.rotate(family, jti, next_jti, expires_at, now, grace)
        if outcome is RotateOutcome.ROTATED:
            self.touch_session(family, subject, now, expires_at, jkt)
        return outcome

    def ping(self) -> None:
        """Return if the store can be reached; raise :class:`StoreError` if not."""
        self.is_revoked(None, None, None, None, time.time())

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # --- async (default: the sync method; I/O backends override) ------------

    async def arevoke_token(self, jti: str, expires_at: float) -> None:
        self.revoke_token(jti, expires_at)

    async def arevoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        self.revoke_subject(subject, before, expires_at)

    async def astart_family(self, family: str, jti: str, expires_at: float) -> None:
        self.start_family(family, jti, expires_at)

    async def arotate(
        self,
        family: str,
        jti: str,
        next_jti: str,
        expires_at: float,
        now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        return self.rotate(family, jti, next_jti, expires_at, now, grace)

    async def arevoke_family(self, family: str, expires_at: float) -> None:
        self.revoke_family(family, expires_at)

    async def ais_revoked(
        self,
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
        now: float,
    ) -> bool:
        return self.is_revoked(jti, subject, issued_at, family, now)

    async def apurge(self, now: float) -> int:
        return self.purge(now)

    async def aclaim_once(self, key: str, expires_at: float) -> bool:
        return self.claim_once(key, expires_at)

    async def arecord_session(self, info: SessionInfo, expires_at: float) -> None:
        self.record_session(info, expires_at)

    async def atouch_session(
        self, family: str, subject: str, now: float, expires_at: float, jkt: str | None = None
    ) -> None:
        self.touch_session(family, subject, now, expires_at, jkt)

    async def asessions(self, subject: str, now: float) -> list[SessionInfo]:
        return self.sessions(subject, now)

    async def asession(self, family: str, now: float) -> SessionInfo | None:
        return self.session(family, now)

    async def astart_session(self, info: SessionInfo, jti: str, expires_at: float) -> None:
        await self.astart_family(info.id, jti, expires_at)
        await self.arecord_session(info, expires_at)

    async def arotate_session(
        self, family: str, subject: str, jti: str, next_jti: str, expires_at: float,
        now: float, grace: float = 0.0, jkt: str | None = None,
    ) -> RotateOutcome:
        outcome = await self.arotate(family, jti, next_jti, expires_at, now, grace)
        if outcome is RotateOutcome.ROTATED:
            await self.atouch_session(family, subject, now, expires_at, jkt)
        return outcome

    async def aping(self) -> None:
        await self.ais_revoked(None, None, None, None, time.time())

    async def aclose(self) -> None:
        self.close()


def has_claims(store: Store) -> bool:
    """Whether ``store`` implements :meth:`Store.claim_once` (a replay cache)."""
    return type(store).claim_once is not Store.claim_once


def has_sessions(store: Store) -> bool:
    """Whether ``store`` keeps sessions: it implements :meth:`Store.record_session`,
    :meth:`~Store.touch_session`, :meth:`~Store.sessions` and :meth:`~Store.session`
    (a store with only some of them is treated as one without)."""
    kind = type(store)
    return all(getattr(kind, name) is not getattr(Store, name)
               for name in ("record_session", "touch_session", "sessions", "session"))


def watermark_revokes(watermark: float | None, issued_at: float | None) -> bool:
    """Whether a subject watermark revokes a token issued at ``issued_at``.

    A token without ``iat`` is revoked by any watermark (it cannot prove it
    is newer).
    """
    if watermark is None:
        return False
    if issued_at is None:
        return True
    return issued_at < int(watermark)
