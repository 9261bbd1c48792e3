"""The app's hooks, shared by the three integrations: the user loader and the claims loader.

* ``user_loader(principal)`` returns the app's user object for a verified
  :class:`~jwt_middleware.Principal`, or ``None`` when that user no longer
  exists. It runs at most once per request; ``None`` refuses the request with
  401 ``invalid_token`` (reason ``unknown_user``), as a bad token would be.
* ``claims_loader(subject)`` returns extra claims for a login (see
  :class:`~jwt_middleware.Issuer`).

Either hook may raise an :class:`~jwt_middleware.AuthError` to refuse with that
answer (a :class:`~jwt_middleware.ServiceUnavailableError`, 503 with
``Retry-After``, when the user database is down). Any other exception is the
app's own and propagates as one raised by a view would.

Async integrations accept a sync or an async hook: an async one is awaited, a
sync one runs in a worker thread (like ``check_credentials``), so the event
loop never waits for a database. Flask takes sync hooks only.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from .._core.errors import ConfigurationError, TokenError
from .._core.principal import Principal

__all__ = [
    "USER_KEY",
    "UnknownUserError",
    "acall_hook",
    "aload_user",
    "call_hook",
    "check_hook",
    "is_async",
    "load_user",
]

#: The namespaced key of the loaded user in the ASGI scope and the WSGI environ.
USER_KEY = "jwt_middleware.user"

T = TypeVar("T")


class UnknownUserError(TokenError):
    """401 ``invalid_token``: the token is valid but the app's ``user_loader`` found no user."""

    reason = "unknown_user"
    default_description = "the token's user is unknown"


def is_async(func: Callable[..., object]) -> bool:
    """An ``async def`` function, or an object whose ``__call__`` is one."""
    # ``type(func).__call__``: a callable object's own method (always found: for a class
    # without one, the metaclass's)
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(type(func).__call__)


def check_hook(
    func: object, name: str, argument: str, *, sync_only: bool = False, arity: int = 1
) -> None:
    """At set-up: ``func`` is a callable taking ``arity`` positional arguments (``argument``)."""
    if not callable(func):
        raise ConfigurationError(f"{name} must be a callable taking {argument}")
    if sync_only and is_async(func):
        raise ConfigurationError(
            f"{name} must be a sync function here: Flask calls it synchronously"
        )
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return
    try:
        signature.bind(*[object()] * arity)
    except TypeError:
        count = "one positional argument," if arity == 1 else f"{arity} positional arguments,"
        raise ConfigurationError(f"{name} must take exactly {count} {argument}") from None


def call_hook(func: Callable[[T], object], value: T, name: str) -> object:
    """Call a sync hook (an awaitable result is refused: the caller cannot await)."""
    result = func(value)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        raise TypeError(f"{name} returned an awaitable: use a sync {name} here")
    return result


async def acall_hook(func: Callable[[T], object], value: T) -> object:
    """Await an async hook; run a sync one in a worker thread."""
    result = func(value) if is_async(func) else await asyncio.to_thread(func, value)
    if inspect.isawaitable(result):
        result = await result
    return result


def load_user(loader: Callable[[Principal], object], principal: Principal) -> Any:
    """The app's user for ``principal`` (sync); :class:`UnknownUserError` for ``None``."""
    user = call_hook(loader, principal, "user_loader")
    if user is None:
        raise UnknownUserError()
    return user


async def aload_user(loader: Callable[[Principal], object], principal: Principal) -> Any:
    """Async form of :func:`load_user`."""
    user = await acall_hook(loader, principal)
    if user is None:
        raise UnknownUserError()
    return user
