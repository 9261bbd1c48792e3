"""The token policy at the issuer: lifetimes at start-up, the session limits at refresh.

:class:`~jwt_middleware.Issuer` calls these with its :class:`~jwt_middleware.TokenPolicy`
(or ``None``, which checks nothing):

* :func:`issuer_policy` when it is built: the policy's own clashes were refused when the
  policy was; here its TTLs are held against the policy (:meth:`TokenPolicy.check_issuer`);
* :func:`start_session` at each login: the session's start, ``auth_time`` (the login's
  second), goes into both tokens; every refresh copies it into the next pair, like the
  login's roles. It is set whether or not a policy limits sessions, so a limit switched
  on later applies to the sessions already running. Claims may not set it;
* :func:`check_ttl` for a one-off access token (``Issuer.access_token(ttl=...)``);
* :func:`end_if_expired` / :func:`aend_if_expired` at each refresh, after the
  refresh token was verified and before the store rotates it: a session past its
  absolute lifetime (``auth_time``) or idle timeout (the refresh token's own ``iat``, the
  last refresh) is revoked, family and every access token minted in it, and the refresh
  answers 401 ``session_expired``. Both times are read from the verified refresh token
  only, so the check needs nothing from the store and holds for every store.

A refresh token without ``auth_time`` (minted before this version, or by other code with
the signing key) has no signed start: with an absolute lifetime set, its session has
ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import ConfigurationError, SessionExpiredError
from .._core.policy import AUTH_TIME, TokenPolicy
from .._core.principal import Principal
from .._core.revocation import store_unavailable
from ..stores import Store, StoreError

__all__ = [
    "aend_if_expired",
    "check_ttl",
    "end_if_expired",
    "issuer_policy",
    "start_session",
]

_ENDED = {
    "absolute": "the session has reached its maximum lifetime: log in again",
    "idle": "the session was idle too long: log in again",
}


def issuer_policy(policy: object, access_ttl: int, refresh_ttl: int) -> TokenPolicy | None:
    """``policy`` once checked against the issuer's lifetimes (``None`` stays ``None``)."""
    if policy is None:
        return None
    if not isinstance(policy, TokenPolicy):
        raise ConfigurationError("policy must be a jwt_middleware TokenPolicy (or None)")
    policy.check_issuer(access_ttl, refresh_ttl)
    return policy


def start_session(claims: Mapping[str, Any] | None, now: float) -> dict[str, Any]:
    """A login's claims with the session's start, ``auth_time``, added."""
    found = dict(claims or {})
    if AUTH_TIME in found:
        raise ConfigurationError(
            "custom claims cannot set auth_time: the issuer sets it at login (the start of "
            "the session, which the token policy's absolute lifetime counts from)"
        )
    found[AUTH_TIME] = int(now)
    return found


def check_ttl(policy: TokenPolicy | None, ttl: int | None) -> int | None:
    """``ttl`` if the policy allows an access token that long."""
    cap = None if policy is None else policy.max_access_ttl
    if ttl is not None and cap is not None and ttl > cap:
        raise ConfigurationError(
            f"an access token of {ttl} s is longer than the token policy's "
            f"max_access_ttl ({cap:.10g} s)"
        )
    return ttl


def _refusal(policy: TokenPolicy | None, principal: Principal, now: float) -> str | None:
    if policy is None or not policy.limits_sessions:
        return None
    return policy.session_ended(principal.claims, now)


def end_if_expired(
    policy: TokenPolicy | None,
    store: Store,
    principal: Principal,
    family: str,
    now: float,
    until: float,
) -> None:
    """Revoke ``family`` (until ``until``) and raise :class:`SessionExpiredError` if the
    verified refresh token ``principal``'s session has passed a limit at ``now``."""
    ended = _refusal(policy, principal, now)
    if ended is None:
        return
    try:
        store.revoke_family(family, until)
    except StoreError as exc:
        raise store_unavailable(exc) from None
    raise SessionExpiredError(_ENDED[ended])


async def aend_if_expired(
    policy: TokenPolicy | None,
    store: Store,
    principal: Principal,
    family: str,
    now: float,
    until: float,
) -> None:
    """Async form of :func:`end_if_expired`."""
    ended = _refusal(policy, principal, now)
    if ended is None:
        return
    try:
        await store.arevoke_family(family, until)
    except StoreError as exc:
        raise store_unavailable(exc) from None
    raise SessionExpiredError(_ENDED[ended])
