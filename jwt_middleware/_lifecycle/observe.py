"""What the issuer reports: audit events and token metrics, from one place.

:class:`Issuer` calls one method here at each step (a pair signed, a rotation refused, a
logout, a revocation), after the store agreed; :func:`issuer_events` gives it
:data:`NO_EVENTS` when it has neither an ``audit`` nor ``metrics``, whose methods do
nothing. Ids only: the subject, the session (the refresh family), the token id and the
signing key's ``kid``; never a token.

* ``issued`` / ``refreshed``: a login pair, a rotation; ``token_id`` is the new refresh
  token's ``jti`` (the session's current one), ``key_id`` the signing key's.
* ``reuse_detected``: a retired refresh token came back and its session is now revoked;
  ``token_id`` is the presented token's ``jti``, reason ``revoked``.
* ``refused``: a token route (``TokenService``) answered with an error, with its reason
  code only (a reuse is ``reuse_detected``, then ``refused`` for the request).
* ``logout``: one per session the logout revoked (``token_id``: the access token's ``jti``,
  else the refresh token's); ``revoked_subject``: :meth:`Issuer.revoke_subject`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._core.audit import AuditKind
from .._core.errors import AuthenticationError, AuthError, ConfigurationError
from .._core.metrics import Metrics
from .._core.principal import Principal

__all__ = ["NO_EVENTS", "IssuerEvents", "issuer_events"]


class InvalidCredentialsError(AuthenticationError):
    """A login's credentials were wrong. Never raised: the token route answers
    ``invalid_grant`` itself; the class gives the audit trail its fixed reason code."""

    error = "invalid_grant"
    reason = "invalid_credentials"
    default_description = "wrong username or password"


class IssuerEvents:
    """Reports to an ``Audit`` and a :class:`Metrics` (either may be ``None``)."""

    __slots__ = ("audit", "key_id", "metrics")

    def __init__(self, audit: Any, metrics: Metrics | None, key_id: str | None) -> None:
        self.audit = audit
        self.metrics = metrics
        self.key_id = key_id

    def _emit(self, kind: AuditKind, event: str | None, **ids: Any) -> None:
        if self.audit is not None:
            self.audit.emit(kind, **ids)
        if self.metrics is not None and event is not None:
            self.metrics.token_event(event)

    def paired(self, fresh: bool, subject: str, family: str, refresh_jti: str) -> None:
        """A pair was signed: a login (``fresh``) or a rotation."""
        kind, event = (AuditKind.ISSUED, "issued") if fresh else (AuditKind.REFRESHED,
                                                                  "refreshed")  # fmt: skip
        self._emit(kind, event, subject=subject, session=family, token_id=refresh_jti,
                   key_id=self.key_id)  # fmt: skip

    def reuse_detected(self, principal: Principal, family: str) -> None:
        """A retired refresh token came back: its session is now revoked."""
        self._emit(AuditKind.REUSE_DETECTED, "reuse_detected", subject=principal.subject,
                   session=family, token_id=principal.token_id, reason="revoked")  # fmt: skip

    def wrong_credentials(self) -> None:
        """A login with a wrong username or password: its reason only (never the
        username, which may be a password typed in the wrong field)."""
        self._emit(AuditKind.REFUSED, None, reason=InvalidCredentialsError.reason)

    def refused(self, exc: AuthError) -> None:
        """A token route refused (a refresh token that is bad, expired or revoked, a
        proof...): its reason only, since the token may not even be ours."""
        self._emit(AuditKind.REFUSED, None, reason=exc.reason)

    def logged_out(
        self, principal: Principal | None, refresh: Principal | None, families: Iterable[str]
    ) -> None:
        """A logout revoked these sessions (and the tokens presented)."""
        token = next((p for p in (principal, refresh) if p is not None), None)
        subject = None if token is None else token.subject
        token_id = None if token is None else token.token_id
        sessions: list[str | None] = [*sorted(families)] or [None]
        for family in sessions:
            self._emit(AuditKind.LOGOUT, "logout", subject=subject, session=family,
                       token_id=token_id)  # fmt: skip

    def revoked(self, kind: AuditKind, **ids: Any) -> None:
        """A revocation (``revoked_subject``, ``revoked_family``, ``revoked_session``...)."""
        self._emit(kind, "revoked", **ids)

    def subject_revoked(self, subject: str) -> None:
        """Every token of ``subject`` issued before now was revoked."""
        self.revoked(AuditKind.REVOKED_SUBJECT, subject=subject)


#: The issuer's events when it has neither an audit nor metrics: every call does nothing.
NO_EVENTS = IssuerEvents(None, None, None)


def issuer_events(
    audit: Any, metrics: Metrics | None, key_id: str | None, *, policy: object = None
) -> IssuerEvents:
    """The events of an issuer (:data:`NO_EVENTS` when both are ``None``).

    With a token ``policy`` (already checked), its loading is the first event:
    ``policy_loaded``, with the signing key's id.
    """
    if audit is None and metrics is None:
        return NO_EVENTS
    if audit is not None and not callable(getattr(audit, "emit", None)):
        raise ConfigurationError("audit must be a jwt_middleware.audit.Audit (it has emit)")
    events = IssuerEvents(audit, metrics, key_id)
    if policy is not None:
        events._emit(AuditKind.POLICY_LOADED, None, key_id=key_id)
    return events
