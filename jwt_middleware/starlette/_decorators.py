"""The endpoint guards: ParamSpec-typed decorators, checked when they decorate.

Each finds the endpoint's ``request`` or ``websocket`` parameter once, at import
time (a function without one is a :class:`~jwt_middleware.ConfigurationError`),
then on every call reads the principal the middleware attached and checks the
guard: the endpoint runs, or the refusal is answered (401/403, or close code
1008 on a websocket handshake) and reported to the middleware's hooks.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from .._core import guards as _guards
from .._core.errors import AuthError, ConfigurationError, MissingTokenError
from .._sansio.authenticator import Authenticator
from .._sansio.dpop import ResourceDPoP, route_refusal
from .._sansio.dpop import dpop_required as _dpop_guard
from ..asgi import AUTHENTICATOR_KEY
from ._errors import DEFAULT_REALM, answer
from ._scope import get_principal

P = ParamSpec("P")
R = TypeVar("R")

#: The websocket close code of a refused handshake.
POLICY_VIOLATION = 1008
#: The challenges of a refusal when no middleware is installed (DPoP off).
_NO_DPOP = ResourceDPoP()


class EndpointDecorator(Protocol):
    """What the decorator factories return: keeps the endpoint's exact signature."""

    def __call__(self, func: Callable[P, R], /) -> Callable[P, R]: ...


def _connection_parameter(func: Callable[..., Any]) -> tuple[int, str, bool]:
    """(position, name, is websocket) of the request/websocket parameter."""
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the signature of {func!r}") from exc
    for index, parameter in enumerate(parameters):
        if parameter.name in ("request", "websocket"):
            return index, parameter.name, parameter.name == "websocket"
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    for index, parameter in enumerate(parameters):
        hint = hints.get(parameter.name)
        if isinstance(hint, type) and issubclass(hint, HTTPConnection):
            return index, parameter.name, issubclass(hint, WebSocket)
    name = getattr(func, "__qualname__", repr(func))
    raise ConfigurationError(
        f"{name} has no 'request' or 'websocket' parameter: jwt_middleware's decorators "
        "go on Starlette endpoints (functions, HTTPEndpoint methods, websocket endpoints)"
    )


def _refusal(
    conn: HTTPConnection, guard: _guards.Guard | None, optional: bool
) -> tuple[AuthError, str] | None:
    """``None`` to let the endpoint run, else (error, realm). Reports the refusal."""
    scope = conn.scope
    principal = get_principal(conn)
    exc: AuthError
    if principal is None:
        if optional and guard is None:
            return None
        exc = MissingTokenError()
    elif guard is None:
        return None
    else:
        try:
            guard.check(principal)
        except AuthError as denied:  # 403, or 401 for fresh_required
            exc = denied
        else:
            return None
    authenticator = scope.get(AUTHENTICATOR_KEY)
    if not isinstance(authenticator, Authenticator):
        return route_refusal(_NO_DPOP, exc, DEFAULT_REALM, principal, guard), DEFAULT_REALM
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    authenticator.report(exc, method, scope["path"], principal.subject if principal else None)
    realm = authenticator.realm
    return route_refusal(authenticator.dpop, exc, realm, principal, guard), realm


def _find(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if index < len(args) else None


def _check_conn(conn: Any, func: Callable[..., Any]) -> HTTPConnection:
    if not isinstance(conn, HTTPConnection):
        raise TypeError(
            f"{getattr(func, '__qualname__', func)!r} was called without a Starlette "
            f"Request or WebSocket (got {type(conn).__name__})"
        )
    return conn


def _decorator(guard: _guards.Guard | None, *, optional: bool = False) -> EndpointDecorator:
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        index, name, websocket = _connection_parameter(func)
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                conn = _check_conn(_find(args, kwargs, index, name), func)
                refused = _refusal(conn, guard, optional)
                if refused is None:
                    return await cast(Any, func)(*args, **kwargs)
                if isinstance(conn, WebSocket):
                    await conn.close(POLICY_VIOLATION, reason=refused[0].error)
                    return None
                return answer(conn, *refused)

            return cast(Callable[P, R], async_wrapper)
        if websocket:
            raise ConfigurationError(
                f"{func.__qualname__}: websocket endpoints are async functions"
            )

        @functools.wraps(func)
        def sync_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            conn = _check_conn(_find(args, kwargs, index, name), func)
            refused = _refusal(conn, guard, optional)
            if refused is None:
                return func(*args, **kwargs)
            return answer(conn, *refused)

        return cast(Callable[P, R], sync_wrapper)

    return decorate


def jwt_required(optional: bool = False) -> EndpointDecorator:
    """A verified token (``optional=True``: or none at all)."""
    if not isinstance(optional, bool):
        raise TypeError("use @jwt_required() with parentheses")
    return _decorator(None, optional=optional)


def roles_required(*roles: str) -> EndpointDecorator:
    """All of ``roles``; 403 ``insufficient_scope`` otherwise."""
    return _decorator(_guards.roles_required(*roles))


def roles_accepted(*roles: str) -> EndpointDecorator:
    """At least one of ``roles``; 403 ``insufficient_scope`` otherwise."""
    return _decorator(_guards.roles_accepted(*roles))


def scopes_required(*scopes: str) -> EndpointDecorator:
    """All of ``scopes``; the 403 names them in ``WWW-Authenticate``."""
    return _decorator(_guards.scopes_required(*scopes))


def claims_required(
    predicate: Callable[[Mapping[str, Any]], bool], description: str = "claims_required"
) -> EndpointDecorator:
    """``predicate(principal.claims)`` must be true (a predicate that raises counts as false)."""
    return _decorator(_guards.claims_required(predicate, description))


def fresh_required() -> EndpointDecorator:
    """A token minted by a login, not by a refresh; 401 ``insufficient_user_authentication``."""
    return _decorator(_guards.fresh_required())


def dpop_required() -> EndpointDecorator:
    """A DPoP-bound token, presented with ``Authorization: DPoP`` and a valid proof by its
    key (401 ``invalid_token`` with the ``DPoP`` challenge for a bearer token, 401
    ``invalid_request`` with it for none). Needs the middleware's DPoP ``allowed`` or
    ``required`` (``JWTMiddleware(dpop=...)``): with ``off`` every request is refused."""
    return _decorator(_dpop_guard())
