"""Per-route requirements, framework-neutral.

A guard checks a verified :class:`Principal` and raises an
:class:`~jwt_middleware.AuthorizationError` (403 ``insufficient_scope``)
when it falls short. Each integration wraps these as decorators (Flask,
Starlette) or dependencies (FastAPI) under the same names:

* ``roles_required(*roles)``: every one of the roles;
* ``roles_accepted(*roles)``: at least one of the roles;
* ``scopes_required(*scopes)``: every one of the scopes;
* ``claims_required(predicate, description=...)``: a predicate over the claims;
* ``fresh_required()``: a token minted by a login, not by a refresh (401
  ``insufficient_user_authentication``, RFC 9470): for password changes, payments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import (
    AuthorizationError,
    ConfigurationError,
    FreshTokenRequiredError,
    InsufficientRoleError,
    InsufficientScopeError,
)
from .principal import Principal

__all__ = [
    "Guard",
    "claims_required",
    "fresh_required",
    "roles_accepted",
    "roles_required",
    "scopes_required",
]


class Guard:
    """A requirement on a principal. Call :meth:`check`; it raises or returns ``None``."""

    __slots__ = ("_check", "name")

    def __init__(self, name: str, check: Callable[[Principal], None]) -> None:
        self.name = name
        self._check = check

    def __repr__(self) -> str:
        return f"<Guard {self.name}>"

    def check(self, principal: Principal) -> None:
        """Raise :class:`AuthorizationError` unless ``principal`` satisfies the guard."""
        self._check(principal)


def _names(values: tuple[str, ...], what: str) -> frozenset[str]:
    if not values:
        raise ConfigurationError(f"{what} needs at least one name")
    for value in values:
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{what} takes non-empty strings")
    return frozenset(values)


def roles_required(*roles: str) -> Guard:
    """All of ``roles``."""
    needed = _names(roles, "roles_required")

    def check(principal: Principal) -> None:
        if not needed <= principal.roles:
            raise InsufficientRoleError()

    return Guard(f"roles_required{tuple(sorted(needed))}", check)


def roles_accepted(*roles: str) -> Guard:
    """At least one of ``roles``."""
    accepted = _names(roles, "roles_accepted")

    def check(principal: Principal) -> None:
        if accepted.isdisjoint(principal.roles):
            raise InsufficientRoleError()

    return Guard(f"roles_accepted{tuple(sorted(accepted))}", check)


def scopes_required(*scopes: str) -> Guard:
    """All of ``scopes``. The 403 names them in ``WWW-Authenticate: ... scope="..."``."""
    needed = _names(scopes, "scopes_required")
    scope_text = " ".join(sorted(needed))

    def check(principal: Principal) -> None:
        if not needed <= principal.scopes:
            raise InsufficientScopeError(scope=scope_text)

    return Guard(f"scopes_required{tuple(sorted(needed))}", check)


def claims_required(
    predicate: Callable[[Mapping[str, Any]], bool], description: str = "claims_required"
) -> Guard:
    """``predicate(principal.claims)`` must be true. A predicate that raises counts as false."""
    if not callable(predicate):
        raise ConfigurationError("claims_required takes a callable")

    def check(principal: Principal) -> None:
        try:
            ok = bool(predicate(principal.claims))
        except Exception:
            ok = False
        if not ok:
            raise AuthorizationError()

    return Guard(description, check)


def fresh_required() -> Guard:
    """The token must be fresh: minted by a login (``"fresh": true``), not by a refresh."""

    def check(principal: Principal) -> None:
        if principal.claims.get("fresh") is not True:
            raise FreshTokenRequiredError()

    return Guard("fresh_required", check)
