"""The view decorators: ``@jwt_required()`` and the guards (roles, scopes, claims,
freshness), for sync and async views and ``MethodView`` methods.

A decorator marks the view with its mode (the hook reads it to pick the authenticator)
and checks, when the view is called, that the hook ran, that a token is there if needed
and that the guard holds. Their arguments are checked when the decorating module is
imported.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, NoReturn, ParamSpec, Protocol, TypeVar, cast

from flask import abort, current_app, request

from .._core.errors import AuthError, ConfigurationError, MissingTokenError
from .._core.guards import Guard
from .._core.guards import claims_required as _claims_guard
from .._core.guards import fresh_required as _fresh_guard
from .._core.guards import roles_accepted as _roles_accepted_guard
from .._core.guards import roles_required as _roles_required_guard
from .._core.guards import scopes_required as _scopes_guard
from .._sansio.authenticator import PRINCIPAL_KEY
from .._sansio.dpop import DPoPGuard, route_refusal
from .._sansio.dpop import dpop_required as _dpop_guard
from ._errors import answer
from ._hook import is_preflight
from ._state import NOT_SET_UP, POLICY_ATTR, state_of

P = ParamSpec("P")
R = TypeVar("R")


class ViewDecorator(Protocol):
    """What the decorators return: it keeps the view's parameters and return type."""

    def __call__(self, view: Callable[P, R], /) -> Callable[P, R]: ...


def _enforce(guard: Guard | None, optional: bool) -> None:
    """At call time: the hook ran, a token is there if needed, and the guard holds."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    if PRINCIPAL_KEY not in environ:
        state_of(current_app._get_current_object())  # type: ignore[attr-defined]
        raise RuntimeError(NOT_SET_UP)
    principal = environ[PRINCIPAL_KEY]
    if principal is None:
        if (optional and guard is None) or is_preflight(environ):
            return
        _refuse(MissingTokenError(), req, None, guard)
    if guard is not None:
        try:
            guard.check(principal)
        except AuthError as denied:  # 403, or 401 for fresh_required and dpop_required
            _refuse(denied, req, principal, guard)


def _refuse(exc: AuthError, req: Any, principal: Any, guard: Guard | None) -> NoReturn:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = state_of(app)
    subject = principal.subject if principal is not None else None
    state.default.report(exc, req.method, req.path, subject)
    route_refusal(state.default.dpop, exc, state.realm, principal, guard)
    abort(answer(app, state, exc))


def _wrap(
    view: Callable[P, R], guard: Guard | None, mode: Literal["required", "optional"] | None
) -> Callable[P, R]:
    if not callable(view):
        raise ConfigurationError("decorate a view function")
    # An explicit @jwt_required wins over the "required" a guard implies, in any order.
    # dpop_required implies "optional": the hook lets a missing token through and the
    # guard answers it, with the DPoP challenge the route needs.
    implied = "optional" if isinstance(guard, DPoPGuard) else "required"
    chosen = mode or getattr(view, POLICY_ATTR, None) or implied
    optional = chosen == "optional"
    wrapped: Callable[P, R]
    if inspect.iscoroutinefunction(view):
        async_view = cast(Callable[P, Awaitable[Any]], view)

        @functools.wraps(view)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            _enforce(guard, optional)
            return await async_view(*args, **kwargs)

        wrapped = cast(Callable[P, R], async_wrapper)
    else:

        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            _enforce(guard, optional)
            return view(*args, **kwargs)

        wrapped = wrapper
    setattr(wrapped, POLICY_ATTR, chosen)
    return wrapped


def _guard_decorator(guard: Guard) -> ViewDecorator:
    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        return _wrap(view, guard, None)

    return decorate


def _names(values: tuple[object, ...], what: str) -> tuple[str, ...]:
    if len(values) == 1 and callable(values[0]):
        raise ConfigurationError(f"{what} takes names: write @{what}('admin'), with arguments")
    return cast(tuple[str, ...], values)


def jwt_required(*, optional: bool = False) -> ViewDecorator:
    """The view needs a valid token; with ``optional=True`` none is fine, a bad one is not."""
    if not isinstance(optional, bool):
        raise ConfigurationError(
            "write @jwt_required() or @jwt_required(optional=True), with the parentheses"
        )
    mode: Literal["required", "optional"] = "optional" if optional else "required"

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        return _wrap(view, None, mode)

    return decorate


def roles_required(*roles: str) -> ViewDecorator:
    """A valid token holding every one of ``roles`` (403 otherwise)."""
    return _guard_decorator(_roles_required_guard(*_names(roles, "roles_required")))


def roles_accepted(*roles: str) -> ViewDecorator:
    """A valid token holding at least one of ``roles`` (403 otherwise)."""
    return _guard_decorator(_roles_accepted_guard(*_names(roles, "roles_accepted")))


def scopes_required(*scopes: str) -> ViewDecorator:
    """A valid token holding every one of ``scopes`` (403 naming them otherwise)."""
    return _guard_decorator(_scopes_guard(*_names(scopes, "scopes_required")))


def claims_required(
    predicate: Callable[[Mapping[str, Any]], bool], description: str = "claims_required"
) -> ViewDecorator:
    """A valid token whose claims satisfy ``predicate`` (a predicate that raises fails)."""
    return _guard_decorator(_claims_guard(predicate, description))


def fresh_required() -> ViewDecorator:
    """A valid token minted by a login, not by a refresh (401
    ``insufficient_user_authentication`` otherwise): for password changes, payments."""
    return _guard_decorator(_fresh_guard())


def dpop_required() -> ViewDecorator:
    """A DPoP-bound token presented with ``Authorization: DPoP`` and a valid proof by its
    key (401 ``invalid_token`` with the ``DPoP`` challenge for a bearer token, 401
    ``invalid_request`` with it for none). Needs ``JWT_DPOP`` ``allowed`` or ``required``:
    with ``off`` every request to the view is refused."""
    return _guard_decorator(_dpop_guard())
