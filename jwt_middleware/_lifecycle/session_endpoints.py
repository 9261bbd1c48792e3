"""The session routes as framework-neutral handlers: each takes the request's principal
(the app's own authentication verified its access token) and gives a :class:`Reply`.

=====================================  ==============================================
``GET /auth/sessions``                 200 ``{"sessions": [...]}``: mine, newest first,
                                       the current one (the access token's ``fam``)
                                       with ``"current": true``
``DELETE /auth/sessions/<id>``         200 ``{"status": "revoked", "session": id}``;
                                       404 ``not_found`` for an id that is not mine
``POST /auth/sessions/revoke-others``  200 ``{"status": "revoked", "revoked": [ids],
                                       "kept": current id}``: "log out other devices"
``GET /auth/users/<sub>/sessions``     the admin role only: 200 ``{"subject", "sessions"}``
``DELETE /auth/users/<sub>/sessions/   the admin role only: 200, or 404 for an id that
<id>``                                 is not that user's
=====================================  ==============================================

No token: 401 (``invalid_request``, ``WWW-Authenticate``); another user's route without
the admin role (:attr:`SessionPolicy.admin_role`): 403 ``insufficient_role``, checked
before any look-up; the store down: 503 with ``Retry-After``. Every answer says
``Cache-Control: no-store``.

Security: another user's session is never revealed. ``DELETE /auth/sessions/<id>`` with
someone else's id answers the same 404, after the same single look-up, as an id that
never existed; the listing is asked of the store by the principal's own subject only.
"""

from __future__ import annotations

from typing import Any

from .._core.errors import AuthError, InsufficientRoleError, MissingTokenError
from .._core.principal import Principal
from .._core.revocation import FAMILY_CLAIM
from ..stores import SessionInfo
from .endpoints import Reply, TokenService, error_reply

__all__ = ["SessionEndpoints"]

_NO_STORE = [("cache-control", "no-store"), ("pragma", "no-cache")]
_NOT_FOUND = {"error": "not_found", "error_description": "no such session"}


def _current(principal: Principal) -> str | None:
    family = principal.claims.get(FAMILY_CLAIM)
    return family if isinstance(family, str) else None


class SessionEndpoints:
    """The session routes of a :class:`TokenService` (its issuer's ``sessions``)."""

    def __init__(self, service: TokenService) -> None:
        self.service = service
        self.sessions = service.issuer.sessions
        self.realm = service.realm

    @property
    def admin_role(self) -> str:
        """The role another user's routes need."""
        return self.sessions.policy.admin_role

    # --- the pure steps ------------------------------------------------------------------

    def _who(self, principal: Principal | None, *, admin: bool = False) -> Principal:
        """The authenticated principal (401 without one), with the admin role if asked
        (403 without it)."""
        if principal is None or not principal.subject:
            raise MissingTokenError()
        if admin and self.admin_role not in principal.roles:
            raise InsufficientRoleError()
        return principal

    def _refused(self, exc: AuthError) -> Reply:
        reply = error_reply(exc, self.realm)
        reply.headers.extend(h for h in _NO_STORE if h not in reply.headers)
        return reply

    @staticmethod
    def _ok(body: dict[str, Any]) -> Reply:
        return Reply(200, body, list(_NO_STORE))

    @staticmethod
    def _listed(principal: Principal, found: list[SessionInfo]) -> list[dict[str, Any]]:
        current = _current(principal)
        return [{**s.to_dict(), "current": s.id == current} for s in found]

    def _one(self, revoked: bool, session_id: str) -> Reply:
        if not revoked:
            return Reply(404, dict(_NOT_FOUND), list(_NO_STORE))
        return self._ok({"status": "revoked", "session": session_id})

    def _others(self, principal: Principal, revoked: list[str]) -> Reply:
        return self._ok({"status": "revoked", "revoked": revoked, "kept": _current(principal)})

    # --- my sessions ----------------------------------------------------------------------

    def mine(self, principal: Principal | None) -> Reply:
        """``GET /sessions``."""
        try:
            who = self._who(principal)
            found = self.sessions.list(who.subject or "")
        except AuthError as exc:
            return self._refused(exc)
        return self._ok({"sessions": self._listed(who, found)})

    async def amine(self, principal: Principal | None) -> Reply:
        """Async form of :meth:`mine`."""
        try:
            who = self._who(principal)
            found = await self.sessions.alist(who.subject or "")
        except AuthError as exc:
            return self._refused(exc)
        return self._ok({"sessions": self._listed(who, found)})

    def revoke(self, principal: Principal | None, session_id: str) -> Reply:
        """``DELETE /sessions/<id>``: one of mine (404 for any other id)."""
        try:
            who = self._who(principal)
            revoked = self.sessions.revoke(who.subject or "", session_id)
        except AuthError as exc:
            return self._refused(exc)
        return self._one(revoked, session_id)

    async def arevoke(self, principal: Principal | None, session_id: str) -> Reply:
        """Async form of :meth:`revoke`."""
        try:
            who = self._who(principal)
            revoked = await self.sessions.arevoke(who.subject or "", session_id)
        except AuthError as exc:
            return self._refused(exc)
        return self._one(revoked, session_id)

    def revoke_others(self, principal: Principal | None) -> Reply:
        """``POST /sessions/revoke-others``: every session of mine but the current one."""
        try:
            who = self._who(principal)
            revoked = self.sessions.revoke_others(who.subject or "", _current(who))
        except AuthError as exc:
            return self._refused(exc)
        return self._others(who, revoked)

    async def arevoke_others(self, principal: Principal | None) -> Reply:
        """Async form of :meth:`revoke_others`."""
        try:
            who = self._who(principal)
            revoked = await self.sessions.arevoke_others(who.subject or "", _current(who))
        except AuthError as exc:
            return self._refused(exc)
        return self._others(who, revoked)

    # --- an administrator: another user's sessions -------------------------------------------

    def of_user(self, principal: Principal | None, subject: str) -> Reply:
        """``GET /users/<subject>/sessions`` (the admin role)."""
        try:
            who = self._who(principal, admin=True)
            found = self.sessions.list(subject)
        except AuthError as exc:
            return self._refused(exc)
        return self._ok({"subject": subject, "sessions": self._listed(who, found)})

    async def aof_user(self, principal: Principal | None, subject: str) -> Reply:
        """Async form of :meth:`of_user`."""
        try:
            who = self._who(principal, admin=True)
            found = await self.sessions.alist(subject)
        except AuthError as exc:
            return self._refused(exc)
        return self._ok({"subject": subject, "sessions": self._listed(who, found)})

    def revoke_of_user(self, principal: Principal | None, subject: str, session_id: str) -> Reply:
        """``DELETE /users/<subject>/sessions/<id>`` (the admin role)."""
        try:
            self._who(principal, admin=True)
            revoked = self.sessions.revoke(subject, session_id)
        except AuthError as exc:
            return self._refused(exc)
        return self._one(revoked, session_id)

    async def arevoke_of_user(
        self, principal: Principal | None, subject: str, session_id: str
    ) -> Reply:
        """Async form of :meth:`revoke_of_user`."""
        try:
            self._who(principal, admin=True)
            revoked = await self.sessions.arevoke(subject, session_id)
        except AuthError as exc:
            return self._refused(exc)
        return self._one(revoked, session_id)
