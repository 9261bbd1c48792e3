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
from .._core.dpop_policy import DPoPPolicy
from .._core.errors import AuthError, TokenError
from .._core.principal import Principal
from .._core.verify import Verifier
from .._lifecycle.hooks import USER_KEY, aload_user, check_hook
from .._sansio.authenticator import (
    FALLBACK,
    MULTIPLE,
    PRINCIPAL_KEY,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from .._sansio.dpop import scheme_of, scope_proofs, scope_public_url
from .._sansio.enforce import TransportPolicy, scope_transport, transport_option
from .._sansio.fastpath import fast_authenticate
from ..asgi import AUTHENTICATOR_KEY, Scope, _LazyScopes
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
    :func:`~jwt_middleware.starlette.get_current_user`. ``dpop`` (a
    :class:`~jwt_middleware.DPoPPolicy`) takes ``Authorization: DPoP`` with its proof, as
    the middleware does. ``transport`` (a :class:`~jwt_middleware.TransportPolicy`)
    refuses a token over plain HTTP before it is read, as the middleware does; a backend
    cannot touch the response, so ``Strict-Transport-Security`` needs the middleware.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        verifier: Verifier | None = None,
        on_event: Callable[[AuthEvent], None] | None = None,
        user_loader: Callable[[Principal], Any] | None = None,
        metrics: Any = None,
        dpop: DPoPPolicy | None = None,
        transport: TransportPolicy | None = None,
    ) -> None:
        self.transport = transport_option(transport)
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
            metrics=metrics,
            dpop=dpop,
        )

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        scope = conn.scope
        authenticator = self.authenticator
        try:
            if self.transport is not None:  # HTTPS first, before any token is read
                scope_transport(self.transport, scope, authenticator)
            principal = await fast_authenticate(authenticator, scope)  # see _sansio
            if principal is FALLBACK:
                values = conn.headers.getlist("authorization")
                header = MULTIPLE if len(values) > 1 else (values[0] if values else None)
                principal = await authenticator.aauthenticate(
                    RequestInfo(_method(scope), scope["path"], header,
                                dpop=scope_proofs(scope["headers"]),
                                url=lambda: scope_public_url(scope))
                )
        except AuthError as exc:
            raise JWTAuthenticationError(exc, authenticator.realm) from None
        scope[PRINCIPAL_KEY] = principal
        scope[AUTHENTICATOR_KEY] = authenticator
        if principal is None:
            return None
        if self.user_loader is not None:
            try:
                scope[USER_KEY] = await aload_user(self.user_loader, principal)
            except AuthError as exc:
                authenticator.report(exc, _method(scope), scope["path"], principal.subject)
                exc = authenticator.dpop.challenge(exc, authenticator.realm, scheme_of(principal))
                raise JWTAuthenticationError(exc, authenticator.realm) from None
        return _Credentials(principal), JWTUser(principal)


def _method(scope: Scope) -> str:
    return scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"


class _Credentials(_LazyScopes, AuthCredentials):
    """Starlette's ``request.auth`` for a principal (``scopes`` worked out when read)."""


def on_auth_error(conn: HTTPConnection, exc: Exception) -> Response:
    """``AuthenticationMiddleware(on_error=on_auth_error)``: the RFC 6750 answer.

    Errors from other backends get a generic 401 ``invalid_token`` (their
    message is not sent to the client).
    """
    if isinstance(exc, JWTAuthenticationError):
        return error_response(exc.error, exc.realm)
    return error_response(TokenError(), DEFAULT_REALM)
