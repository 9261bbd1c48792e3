"""Starlette's ``AuthenticationMiddleware`` route: :class:`JWTAuthBackend` and its error.

The backend verifies the ``Authorization`` header itself (the pure ASGI
middleware is not needed behind it) and puts the principal in the scope, so the
decorators work behind it too; :func:`on_auth_error` renders its refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.authentication import AuthenticationError as StarletteAuthenticationError
from starlette.requests import HTTPConnection
from starlette.responses import Response

from .._core.config import Config
from .._core.errors import AuthError, TokenError
from .._core.principal import Principal
from .._core.verify import Verifier
from .._lifecycle.hooks import USER_KEY, aload_user, check_hook
from .._sansio.authenticator import (
    MULTIPLE,
    PRINCIPAL_KEY,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from ..asgi import AUTHENTICATOR_KEY
from ..asgi import JWTUser as _ScopeUser
from ._errors import DEFAULT_REALM, error_response

#: Starlette's scope for "any authenticated user" (``@requires("authenticated")``).
AUTHENTICATED = "authenticated"


class JWTUser(_ScopeUser, BaseUser):
    """``request.user`` set by :class:`JWTAuthBackend`; ``.principal`` is the token's."""

    __slots__ = ()


class JWTAuthenticationError(StarletteAuthenticationError):
    """A Starlette ``AuthenticationError`` carrying the project's :class:`AuthError`."""

    def __init__(self, error: AuthError, realm: str = DEFAULT_REALM) -> None:
        super().__init__(error.description)
        self.error = error
        self.realm = realm


class JWTAuthBackend(AuthenticationBackend):
    """Bearer tokens for Starlette's ``AuthenticationMiddleware``.

    No token: anonymous (the middleware's ``UnauthenticatedUser``). A valid
    token: ``(AuthCredentials(["authenticated", *roles, *scopes]), JWTUser(principal))``
    (sorted, as behind :class:`~jwt_middleware.asgi.JWTMiddleware`), and the
    principal is also put in the scope for the decorators. A bad token:
    :class:`JWTAuthenticationError`; render it with :func:`on_auth_error`.
    ``user_loader`` works as on :class:`~jwt_middleware.asgi.JWTMiddleware` (its
    ``None`` is a :class:`JWTAuthenticationError` too); read the user with
    :func:`~jwt_middleware.starlette.get_current_user`.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        verifier: Verifier | None = None,
        on_event: Callable[[AuthEvent], None] | None = None,
        user_loader: Callable[[Principal], Any] | None = None,
    ) -> None:
        if user_loader is not None:
            check_hook(user_loader, "user_loader", "the Principal")
        self.user_loader = user_loader
        self.authenticator = build_authenticator(
            config,
            verifier,
            mode="optional",
            public_paths=(),
            public_methods=(),
            on_event=on_event,
        )

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        values = conn.headers.getlist("authorization")
        header = MULTIPLE if len(values) > 1 else (values[0] if values else None)
        method = conn.scope.get("method", "GET") if conn.scope["type"] == "http" else "WEBSOCKET"
        try:
            principal = await self.authenticator.aauthenticate(
                RequestInfo(method, conn.scope["path"], header)
            )
        except AuthError as exc:
            raise JWTAuthenticationError(exc, self.authenticator.realm) from None
        conn.scope[PRINCIPAL_KEY] = principal
        conn.scope[AUTHENTICATOR_KEY] = self.authenticator
        if principal is None:
            return None
        if self.user_loader is not None:
            try:
                conn.scope[USER_KEY] = await aload_user(self.user_loader, principal)
            except AuthError as exc:
                self.authenticator.report(exc, method, conn.scope["path"], principal.subject)
                raise JWTAuthenticationError(exc, self.authenticator.realm) from None
        scopes = sorted({AUTHENTICATED} | principal.roles | principal.scopes)
        return AuthCredentials(scopes), JWTUser(principal)


def on_auth_error(conn: HTTPConnection, exc: Exception) -> Response:
    """``AuthenticationMiddleware(on_error=on_auth_error)``: the RFC 6750 answer.

    Errors from other backends get a generic 401 ``invalid_token`` (their
    message is not sent to the client).
    """
    if isinstance(exc, JWTAuthenticationError):
        return error_response(exc.error, exc.realm)
    return error_response(TokenError(), DEFAULT_REALM)
