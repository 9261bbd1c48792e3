"""Sessions and devices: each refresh family is a session the user can see and end.

A login starts a refresh family (``Issuer.issue``); the issuer records it as a session
(:class:`~jwt_middleware.SessionInfo`) in the same store call: the subject, the time, what
the client said (:class:`ClientInfo`: a device label given at login, its ``User-Agent``,
cleaned and cut to 256 characters, and its address only when
:attr:`SessionPolicy.record_address` is on) and the DPoP key the family is bound to. Each
refresh is the session's last use (the rotation itself records it). The session lives as
long as its family: the family's TTL, which every refresh extends, in every store.

``issuer.sessions`` (:class:`Sessions`) is the API, framework-free: :meth:`~Sessions.list`
a subject's sessions, :meth:`~Sessions.get` one of them, :meth:`~Sessions.revoke` one,
:meth:`~Sessions.revoke_others` all but one (and ``a``-prefixed async twins). Revoking a
session revokes its family, as logout does: its refresh token is refused, and so is every
access token minted in it (they carry the family in ``fam``). A session id that is not
the subject's is treated exactly as one that does not exist.

A store that keeps no sessions (a custom one written before they existed) still issues
and refreshes; the issuer then records none and this API raises
:class:`~jwt_middleware.ConfigurationError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core.audit import AuditKind
from .._core.errors import ConfigurationError
from .._core.principal import Principal
from .._core.revocation import store_unavailable
from ..stores import RotateOutcome, SessionInfo, Store, StoreError
from ..stores._base import has_sessions
from ..stores._sessions import MAX_ADDRESS, MAX_DEVICE, MAX_USER_AGENT, clean_text
from .binding import bound_jkt

if TYPE_CHECKING:
    from .issue import Issuer

__all__ = ["ClientInfo", "SessionPolicy", "Sessions", "valid_session_id"]

#: A subject's sessions, and the ids of some (names: ``Sessions.list`` hides ``list``).
Listing = list[SessionInfo]
Ids = list[str]
#: What a session id looks like (the issuer's family ids are 24 base64url characters).
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def valid_session_id(value: object) -> bool:
    """Whether ``value`` can be a session id (anything else is no session of anyone's)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class ClientInfo:
    """What a login's client says about itself; cleaned when made (control and format
    characters dropped, spaces collapsed, cut to the limits of ``stores._sessions``)."""

    #: The ``User-Agent`` header (at most 256 characters kept).
    user_agent: str | None = None
    #: A label the client chose at login (``"device"`` in the body: ``"phone"``).
    device: str | None = None
    #: The client's address (kept only when the policy records addresses).
    address: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_agent", clean_text(self.user_agent, MAX_USER_AGENT))
        object.__setattr__(self, "device", clean_text(self.device, MAX_DEVICE))
        object.__setattr__(self, "address", clean_text(self.address, MAX_ADDRESS))


@dataclass(frozen=True)
class SessionPolicy:
    """What the issuer records and who may see everyone's sessions.

    ``record_address``: keep the client's address with each session (off by default: an
    address is personal data; ``JWT_SESSION_RECORD_ADDRESS``). ``admin_role``: the role
    that may list and revoke another user's sessions (``JWT_SESSION_ADMIN_ROLE``).
    """

    record_address: bool = False
    admin_role: str = "admin"

    def __post_init__(self) -> None:
        if not isinstance(self.record_address, bool):
            raise ConfigurationError("record_address is true or false")
        if not isinstance(self.admin_role, str) or not self.admin_role.strip():
            raise ConfigurationError("admin_role names a role, such as 'admin'")


class Sessions:
    """An issuer's sessions (``issuer.sessions``): recorded at login and refresh, listed
    and revoked by subject. Store failures are 503 (:class:`ServiceUnavailableError`)."""

    def __init__(self, issuer: Issuer, policy: SessionPolicy | None = None) -> None:
        if policy is not None and not isinstance(policy, SessionPolicy):
            raise ConfigurationError("sessions must be a jwt_middleware SessionPolicy")
        self._issuer = issuer
        #: What is recorded, and the administrators' role.
        self.policy = policy or SessionPolicy()

    @property
    def store(self) -> Store:
        return self._issuer.store

    @property
    def enabled(self) -> bool:
        """Whether the store keeps sessions (every store of this package does)."""
        return has_sessions(self.store)

    def _now(self) -> float:
        clock: Callable[[], float] = self._issuer.config.clock
        return clock()

    # --- recording: called by the issuer (StoreError propagates to it) ---------------------

    def _info(self, family: str, subject: str, jkt: str | None,
              client: ClientInfo | None) -> SessionInfo:
        client = client or ClientInfo()
        address = client.address if self.policy.record_address else None
        return SessionInfo(family, str(subject), self._now(), device=client.device,
                           user_agent=client.user_agent, address=address, jkt=jkt)

    def _expires(self) -> float:
        return self._now() + self._issuer.refresh_ttl

    def start(self, family: str, jti: str, subject: str, jkt: str | None,
              client: ClientInfo | None) -> None:
        """A login: the family (``refresh_ttl`` from now) and, when the store keeps them,
        its session."""
        expires_at = self._expires()
        if not self.enabled:
            self.store.start_family(family, jti, expires_at)
            return
        self.store.start_session(self._info(family, subject, jkt, client), jti, expires_at)

    async def astart(self, family: str, jti: str, subject: str, jkt: str | None,
                     client: ClientInfo | None) -> None:
        """Async form of :meth:`start`."""
        expires_at = self._expires()
        if not self.enabled:
            await self.store.astart_family(family, jti, expires_at)
            return
        await self.store.astart_session(self._info(family, subject, jkt, client), jti,
                                        expires_at)

    @staticmethod
    def _upgrade(principal: Principal, jkt: str | None) -> str | None:
        """The key a bearer family becomes bound to at this refresh (else ``None``)."""
        return jkt if jkt is not None and bound_jkt(principal.claims) is None else None

    def rotate(self, principal: Principal, jkt: str | None, family: str, jti: str,
               next_jti: str, expires_at: float, now: float) -> RotateOutcome:
        """A refresh: the store's rotation (with the issuer's ``refresh_grace``), which is
        the session's last use."""
        grace = self._issuer.refresh_grace
        if not self.enabled:
            return self.store.rotate(family, jti, next_jti, expires_at, now, grace)
        return self.store.rotate_session(family, principal.subject or "", jti, next_jti,
                                         expires_at, now, grace, self._upgrade(principal, jkt))

    async def arotate(self, principal: Principal, jkt: str | None, family: str, jti: str,
                      next_jti: str, expires_at: float, now: float) -> RotateOutcome:
        """Async form of :meth:`rotate`."""
        grace = self._issuer.refresh_grace
        if not self.enabled:
            return await self.store.arotate(family, jti, next_jti, expires_at, now, grace)
        return await self.store.arotate_session(
            family, principal.subject or "", jti, next_jti, expires_at, now, grace,
            self._upgrade(principal, jkt))

    # --- the API ------------------------------------------------------------------------

    def _check(self) -> None:
        if not self.enabled:
            raise ConfigurationError(
                f"{type(self.store).__name__} keeps no sessions: use a store of "
                "jwt_middleware.stores, or implement Store.record_session and the others"
            )

    def _revoked(self, subject: str, families: Ids) -> None:
        """One ``revoked_session`` audit event per session (the issuer's events)."""
        for family in families:
            self._issuer.events.revoked(AuditKind.REVOKED_SESSION, subject=subject,
                                        session=family)

    def list(self, subject: str) -> Listing:
        """``subject``'s live sessions, newest first."""
        self._check()
        try:
            return self.store.sessions(str(subject), self._now())
        except StoreError as exc:
            raise store_unavailable(exc) from None

    async def alist(self, subject: str) -> Listing:
        """Async form of :meth:`list`."""
        self._check()
        try:
            return await self.store.asessions(str(subject), self._now())
        except StoreError as exc:
            raise store_unavailable(exc) from None

    def _mine(self, subject: str, found: SessionInfo | None) -> SessionInfo | None:
        return found if found is not None and found.subject == str(subject) else None

    def get(self, subject: str, session_id: str) -> SessionInfo | None:
        """The session ``session_id`` if it is ``subject``'s and live, else ``None``."""
        self._check()
        if not valid_session_id(session_id):
            return None
        try:
            return self._mine(subject, self.store.session(session_id, self._now()))
        except StoreError as exc:
            raise store_unavailable(exc) from None

    async def aget(self, subject: str, session_id: str) -> SessionInfo | None:
        """Async form of :meth:`get`."""
        self._check()
        if not valid_session_id(session_id):
            return None
        try:
            return self._mine(subject, await self.store.asession(session_id, self._now()))
        except StoreError as exc:
            raise store_unavailable(exc) from None

    def _revoke_all(self, subject: str, families: Ids) -> Ids:
        try:
            for family in families:
                self.store.revoke_family(family, self._expires())
        except StoreError as exc:
            raise store_unavailable(exc) from None
        self._revoked(str(subject), families)
        return families

    async def _arevoke_all(self, subject: str, families: Ids) -> Ids:
        try:
            for family in families:
                await self.store.arevoke_family(family, self._expires())
        except StoreError as exc:
            raise store_unavailable(exc) from None
        self._revoked(str(subject), families)
        return families

    def revoke(self, subject: str, session_id: str) -> bool:
        """End ``subject``'s session ``session_id`` (its family and every token minted in
        it); ``False`` when ``subject`` has no such live session."""
        found = self.get(subject, session_id)
        return found is not None and bool(self._revoke_all(subject, [found.id]))

    async def arevoke(self, subject: str, session_id: str) -> bool:
        """Async form of :meth:`revoke`."""
        found = await self.aget(subject, session_id)
        return found is not None and bool(await self._arevoke_all(subject, [found.id]))

    def revoke_others(self, subject: str, keep: str | None) -> Ids:
        """End every session of ``subject`` but ``keep`` (the current one); the ids ended."""
        others = [s.id for s in self.list(subject) if s.id != keep]
        return self._revoke_all(subject, others)

    async def arevoke_others(self, subject: str, keep: str | None) -> Ids:
        """Async form of :meth:`revoke_others`."""
        others = [s.id for s in await self.alist(subject) if s.id != keep]
        return await self._arevoke_all(subject, others)
