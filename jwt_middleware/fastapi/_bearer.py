"""``JWTBearer``: the security dependency, its guards and the app's user.

The dependency reads the principal the ASGI middleware attached, else verifies
the ``Authorization`` header with ``averify``; each guard is a dependency on it
that checks the principal with the core's guard (``_core.guards``). Refusals are
raised through ``_errors`` and reported to the bearer's ``on_event`` hook, or else
the middleware's.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from .._core import guards as _guards
from .._core.config import Config
from .._core.errors import AuthError, ConfigurationError
from .._core.principal import Principal
from .._core.verify import Verifier
from .._lifecycle.hooks import USER_KEY, UnknownUserError, aload_user, check_hook
from .._sansio.authenticator import (
    PRINCIPAL_KEY,
    Authenticator,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from ..asgi import AUTHENTICATOR_KEY, authorization_header
from ._errors import refuse, use_rfc6750_errors
from ._openapi import document_refusals, refuses_with, security_model

__all__ = ["GuardDependency", "JWTBearer"]

GuardDependency = Callable[..., Awaitable[Principal]]


def _request_info(conn: HTTPConnection) -> RequestInfo:
    scope = conn.scope
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    return RequestInfo(method, scope["path"], authorization_header(scope))


class JWTBearer(SecurityBase):
    """A FastAPI security dependency: ``Depends(auth)`` gives the verified principal.

    Build it once from ``config=`` (a :class:`~jwt_middleware.Config`) or
    ``verifier=`` (a :class:`~jwt_middleware.Verifier`). ``scheme_name`` is
    the name in the OpenAPI document (default ``"JWTBearer"``). With
    ``token_url`` (the login route, such as ``"/auth/login"``) the scheme is
    documented as an OAuth 2 password flow instead of an HTTP bearer scheme.
    ``description`` replaces the scheme's default one (which tells Swagger UI
    users to paste the token alone, without ``Bearer``). ``user_loader``
    (``principal -> user | None``, sync or async) backs :attr:`current_user`.
    """

    def __init__(
        self,
        *,
        config: Config | None = None,
        verifier: Verifier | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        on_event: Callable[[AuthEvent], None] | None = None,
        token_url: str | None = None,
        user_loader: Callable[[Principal], Any] | None = None,
    ) -> None:
        if user_loader is not None:
            check_hook(user_loader, "user_loader", "the Principal")
        self.model: HTTPBearerModel | OAuth2Model = security_model(token_url, description)
        self.scheme_name = scheme_name or type(self).__name__
        self.authenticator = build_authenticator(
            config, verifier, mode="required", public_paths=(), public_methods=(), on_event=on_event
        )
        refuses_with(self, (401,))
        self._has_hook = on_event is not None
        self._optional = _OptionalBearer(self, on_event)
        self.user_loader = user_loader
        self._current_user = None if user_loader is None else self._user_dependency(user_loader)

    @property
    def realm(self) -> str:
        return self.authenticator.realm

    async def __call__(self, conn: HTTPConnection) -> Principal:
        principal = conn.scope.get(PRINCIPAL_KEY)
        if isinstance(principal, Principal):
            return principal
        try:
            verified = await self.authenticator.aauthenticate(_request_info(conn))
        except AuthError as exc:
            raise refuse(conn, exc, self.realm) from None
        assert verified is not None  # required mode: a principal or an error
        return verified

    def init_app(self, app: FastAPI) -> None:
        """Set ``app`` up for the bearers' refusals (once is enough for several bearers).

        Refusals get the RFC 6750 body ``{"error": ..., "error_description": ...}``, the
        one the ASGI middleware and the token routes send (a handler for
        :class:`JWTHTTPException` only), and the OpenAPI document declares the 401 (and,
        behind a guard, 403) answer of every route that depends on a bearer.
        """
        if not isinstance(app, FastAPI):
            raise ConfigurationError("init_app takes the FastAPI app")
        use_rfc6750_errors(app)
        document_refusals(app)

    # --- the app's user --------------------------------------------------------

    @property
    def current_user(self) -> Callable[..., Awaitable[Any]]:
        """A dependency: the app's user, ``user_loader(principal)``, loaded once per request.

        ``None`` from the loader is 401 ``invalid_token`` (reason ``unknown_user``); an
        :class:`~jwt_middleware.AuthError` it raises refuses with that error. When the ASGI
        middleware in front already loaded the user, that one is used.
        """
        if self._current_user is None:
            raise ConfigurationError(
                "auth.current_user needs a user loader: JWTBearer(config=..., user_loader=load)"
            )
        return self._current_user

    def _user_dependency(self, loader: Callable[[Principal], Any]) -> Callable[..., Awaitable[Any]]:
        async def current_user(
            conn: HTTPConnection, principal: Annotated[Principal, Depends(self)]
        ) -> Any:
            scope = conn.scope
            try:
                if USER_KEY in scope:  # the middleware's loader ran, or an earlier dependency
                    user = scope[USER_KEY]
                    if user is None:
                        raise UnknownUserError()
                    return user
                user = scope[USER_KEY] = await aload_user(loader, principal)
                return user
            except AuthError as exc:
                info = _request_info(conn)
                self._reporter(conn).report(exc, info.method, info.path, principal.subject)
                raise refuse(conn, exc, self.realm) from None

        refuses_with(current_user, (401,))
        return current_user

    # --- guards -------------------------------------------------------------

    def jwt_required(self, optional: bool = False) -> Callable[..., Awaitable[Principal | None]]:
        """The principal (``optional=True``: or ``None`` when no token was sent)."""
        return self._optional if optional else self

    def roles_required(self, *roles: str) -> GuardDependency:
        """All of ``roles``; 403 ``insufficient_scope`` otherwise."""
        return self._guard(_guards.roles_required(*roles))

    def roles_accepted(self, *roles: str) -> GuardDependency:
        """At least one of ``roles``; 403 ``insufficient_scope`` otherwise."""
        return self._guard(_guards.roles_accepted(*roles))

    def scopes_required(self, *scopes: str) -> GuardDependency:
        """All of ``scopes``; the 403 names them in ``WWW-Authenticate``."""
        return self._guard(_guards.scopes_required(*scopes))

    def claims_required(
        self, predicate: Callable[[Mapping[str, Any]], bool], description: str = "claims_required"
    ) -> GuardDependency:
        """``predicate(principal.claims)`` must be true (raising counts as false)."""
        return self._guard(_guards.claims_required(predicate, description))

    def fresh_required(self) -> GuardDependency:
        """A token minted by a login; 401 ``insufficient_user_authentication`` otherwise."""
        return self._guard(_guards.fresh_required(), (401,))

    def _reporter(self, conn: HTTPConnection) -> Authenticator:
        if not self._has_hook:
            front = conn.scope.get(AUTHENTICATOR_KEY)
            if isinstance(front, Authenticator):
                return front
        return self.authenticator

    def _guard(
        self, guard: _guards.Guard, statuses: tuple[int, ...] = (401, 403)
    ) -> GuardDependency:
        async def dependency(
            conn: HTTPConnection, principal: Annotated[Principal, Depends(self)]
        ) -> Principal:
            try:
                guard.check(principal)
            except AuthError as exc:  # 403, or 401 for fresh_required
                info = _request_info(conn)
                self._reporter(conn).report(exc, info.method, info.path, principal.subject)
                raise refuse(conn, exc, self.realm) from None
            return principal

        dependency.__name__ = dependency.__qualname__ = guard.name.split("(")[0]
        refuses_with(dependency, statuses)
        return dependency


class _OptionalBearer(SecurityBase):
    """``auth.jwt_required(optional=True)``: the same OpenAPI scheme, ``None`` without a token."""

    def __init__(self, bearer: JWTBearer, on_event: Callable[[AuthEvent], None] | None) -> None:
        self.model = bearer.model
        self.scheme_name = bearer.scheme_name
        self.realm = bearer.realm
        self.authenticator = Authenticator(
            bearer.authenticator.verifier, mode="optional", on_event=on_event
        )
        refuses_with(self, (401,))

    async def __call__(self, conn: HTTPConnection) -> Principal | None:
        principal = conn.scope.get(PRINCIPAL_KEY)
        if isinstance(principal, Principal):
            return principal
        try:
            return await self.authenticator.aauthenticate(_request_info(conn))
        except AuthError as exc:
            raise refuse(conn, exc, self.realm) from None
