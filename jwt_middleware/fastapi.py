"""FastAPI integration: a bearer-token security dependency.

Usage::

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from jwt_middleware import Principal
    from jwt_middleware.fastapi import JWTBearer

    auth = JWTBearer(config=config)
    CurrentPrincipal = Annotated[Principal, Depends(auth)]

    app = FastAPI()

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, object]:
        return principal.to_dict()

    @app.get("/admin", dependencies=[Depends(auth.roles_required("admin"))])
    async def admin() -> dict[str, str]:
        return {"ok": "admin"}

``JWTBearer`` is a FastAPI security scheme (an HTTP bearer scheme with
``bearerFormat: JWT``): every route that depends on it, directly or through
one of its guards, gets a padlock in ``/docs`` and a ``security`` entry in
the OpenAPI document, and the Authorize button sets the header.

The dependency returns the :class:`~jwt_middleware.Principal`. When the pure
ASGI :class:`~jwt_middleware.asgi.JWTMiddleware` runs in front of the app and
already attached one, that one is used; otherwise the ``Authorization``
header is read and verified here with ``averify`` (never blocking the loop).

Guards, each a dependency that returns the principal, usable in
``dependencies=[Depends(...)]`` or as a parameter:

* ``auth.jwt_required()`` (the same as ``auth``), ``auth.jwt_required(optional=True)``
  (``Principal | None``: no token gives ``None``, a bad token is still 401);
* ``auth.roles_required(*roles)`` (all), ``auth.roles_accepted(*roles)`` (any);
* ``auth.scopes_required(*scopes)``, ``auth.claims_required(predicate, description=...)``;
* ``auth.fresh_required()``: a token minted by a login, not by a refresh (401
  ``insufficient_user_authentication``): for password changes, payments.

Errors (FastAPI's own ``HTTPBearer`` answers 403 for a missing header; this
one does not): a missing or bad token is 401, a failed guard 403. They are
raised as :class:`JWTHTTPException`, an ``HTTPException`` with the RFC 6750
``WWW-Authenticate`` header (``error="invalid_request"``, ``"invalid_token"``
or ``"insufficient_scope"``) and FastAPI's usual body,
``{"detail": "<description>"}``, so no app-wide handler is needed. Call
:func:`use_rfc6750_errors` to get the RFC 6750 body
``{"error": ..., "error_description": ...}`` instead (the same body the ASGI
middleware sends). On websocket routes the handshake is closed with code 1008.

Rejections are logged on the ``jwt_middleware`` logger and passed to the
``on_event`` hook: the bearer's own, or else the middleware's.

Token lifecycle: :func:`token_router` is an ``APIRouter`` with ``POST
/auth/login``, ``/auth/refresh`` and ``/auth/logout`` for a
:class:`~jwt_middleware.TokenService` (async all the way: the password check
runs in a worker thread)::

    service = TokenService(Issuer(config), users.check, cookies=policy)
    app.include_router(token_router(service))

Login takes JSON ``{"username", "password"}`` or the OAuth 2 password form;
with ``JWTBearer(config=..., token_url="/auth/login")`` the scheme is an
OAuth 2 password flow and the ``/docs`` Authorize dialog logs in with a
username and password (bearer mode only: in cookie mode the body carries no
token). See :mod:`jwt_middleware.starlette` for what each route reads.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocketException
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowPassword, OAuthFlows
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from . import _guards
from ._authenticator import (
    PRINCIPAL_KEY,
    Authenticator,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from ._config import Config
from ._endpoints import Reply, TokenService
from ._errors import AuthError, ConfigurationError
from ._principal import Principal
from ._publish import DEFAULT_MAX_AGE as _DEFAULT_MAX_AGE
from ._publish import WELL_KNOWN_PATHS, JWKSPublisher, JWKSSource
from ._verify import Verifier
from .asgi import AUTHENTICATOR_KEY, authorization_header
from .starlette import (
    check_refresh_path,
    document_response,
    login_reply,
    logout_reply,
    publisher_for,
    refresh_reply,
    reply_response,
)

__all__ = [
    "JWTBearer",
    "JWTHTTPException",
    "WELL_KNOWN_PATHS",
    "jwks_router",
    "rfc6750_exception_handler",
    "token_router",
    "use_rfc6750_errors",
]

POLICY_VIOLATION = 1008

GuardDependency = Callable[..., Awaitable[Principal]]


class JWTHTTPException(HTTPException):
    """An ``HTTPException`` for a refused request; ``.error`` is the :class:`AuthError`."""

    def __init__(self, error: AuthError, realm: str = "api") -> None:
        super().__init__(
            error.status,
            detail=error.description,
            headers={
                "WWW-Authenticate": error.www_authenticate(realm),
                "Cache-Control": "no-store",
            },
        )
        self.error = error
        self.realm = realm


async def rfc6750_exception_handler(request: Request, exc: Exception) -> Response:
    """Render a :class:`JWTHTTPException` with the RFC 6750 JSON body."""
    if not isinstance(exc, JWTHTTPException):  # pragma: no cover - registered for that class
        raise exc
    error = exc.error
    headers = dict(error.headers(exc.realm))
    return Response(error.json_body(), status_code=error.status, headers=headers)


def use_rfc6750_errors(app: FastAPI) -> None:
    """Opt in: refusals get ``{"error": ..., "error_description": ...}`` bodies."""
    app.add_exception_handler(JWTHTTPException, rfc6750_exception_handler)


def _refuse(conn: HTTPConnection, error: AuthError, realm: str) -> Exception:
    if conn.scope["type"] == "websocket":
        return WebSocketException(code=POLICY_VIOLATION, reason=error.error)
    return JWTHTTPException(error, realm)


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
    ) -> None:
        self.model: HTTPBearerModel | OAuth2Model
        if token_url is None:
            self.model = HTTPBearerModel(bearerFormat="JWT", description=description)
        else:
            flows = OAuthFlows(password=OAuthFlowPassword(tokenUrl=token_url))
            self.model = OAuth2Model(flows=flows, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.authenticator = build_authenticator(
            config, verifier, mode="required", public_paths=(), public_methods=(), on_event=on_event
        )
        self._has_hook = on_event is not None
        self._optional = _OptionalBearer(self, on_event)

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
            raise _refuse(conn, exc, self.realm) from None
        assert verified is not None  # required mode: a principal or an error
        return verified

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
        return self._guard(_guards.fresh_required())

    def _reporter(self, conn: HTTPConnection) -> Authenticator:
        if not self._has_hook:
            front = conn.scope.get(AUTHENTICATOR_KEY)
            if isinstance(front, Authenticator):
                return front
        return self.authenticator

    def _guard(self, guard: _guards.Guard) -> GuardDependency:
        async def dependency(
            conn: HTTPConnection, principal: Annotated[Principal, Depends(self)]
        ) -> Principal:
            try:
                guard.check(principal)
            except AuthError as exc:  # 403, or 401 for fresh_required
                info = _request_info(conn)
                self._reporter(conn).report(exc, info.method, info.path, principal.subject)
                raise _refuse(conn, exc, self.realm) from None
            return principal

        dependency.__name__ = dependency.__qualname__ = guard.name.split("(")[0]
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

    async def __call__(self, conn: HTTPConnection) -> Principal | None:
        principal = conn.scope.get(PRINCIPAL_KEY)
        if isinstance(principal, Principal):
            return principal
        try:
            return await self.authenticator.aauthenticate(_request_info(conn))
        except AuthError as exc:
            raise _refuse(conn, exc, self.realm) from None


# --- token lifecycle: login, refresh, logout --------------------------------


def _body_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {name: {"type": "string", **extra} for name, extra in properties.items()},
        "required": required,
    }
    content = {"application/json": {"schema": schema}}
    content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"requestBody": {"required": bool(required), "content": content}}


_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "a token response (in cookie mode: tokens in cookies)"},
    400: {"description": "a body that is not a JSON object or form, or another grant_type"},
    401: {"description": "wrong credentials, or a bad, reused or revoked refresh token"},
    413: {"description": "a body over the service's max_body (16 KiB by default)"},
}


def token_router(
    service: TokenService,
    *,
    prefix: str = "/auth",
    tags: list[str] | None = None,
    include_in_schema: bool = True,
) -> APIRouter:
    """An ``APIRouter`` with ``POST {prefix}/login``, ``/refresh`` and ``/logout``.

    List those three paths in the middleware's ``public_paths`` (see
    :func:`jwt_middleware.starlette.auth_public_paths`). In cookie mode
    ``prefix`` must lie under the policy's ``refresh_path``.
    """
    if not isinstance(service, TokenService):
        raise ConfigurationError("token_router takes a TokenService")
    if not prefix.startswith("/") or prefix == "/":
        raise ConfigurationError("put the token routes under a prefix such as '/auth'")
    check_refresh_path(service, prefix)
    router = APIRouter(
        prefix=prefix.rstrip("/"),
        tags=list(tags) if tags is not None else ["auth"],
        include_in_schema=include_in_schema,
    )
    token_field = {"refresh_token": {"description": "omit in cookie mode"}}

    def route(
        name: str,
        handler: Callable[[TokenService, Request], Awaitable[Reply]],
        summary: str,
        body: dict[str, Any],
    ) -> None:
        async def endpoint(request: Request) -> Response:
            return reply_response(await handler(service, request))

        endpoint.__name__ = name
        router.add_api_route(
            f"/{name}",
            endpoint,
            methods=["POST"],
            summary=summary,
            name=name,
            openapi_extra=body,
            responses=_TOKEN_RESPONSES,
        )

    route(
        "login",
        login_reply,
        "Log in with a username and password (JSON or OAuth 2 form)",
        _body_schema(
            {"username": {}, "password": {"format": "password"}}, ["username", "password"]
        ),
    )
    route("refresh", refresh_reply, "Rotate the refresh token", _body_schema(token_field, []))
    route(
        "logout", logout_reply, "Revoke the access token and the session",
        _body_schema(token_field, []),
    )
    return router


# --- publishing keys: /.well-known/jwks.json and discovery --------------------


def jwks_router(
    source: JWKSSource | JWKSPublisher,
    *,
    issuer: str | None = None,
    jwks_uri: str | None = None,
    max_age: int = _DEFAULT_MAX_AGE,
    metadata: Mapping[str, Any] | None = None,
    include_in_schema: bool = False,
) -> APIRouter:
    """An ``APIRouter`` with ``GET /.well-known/jwks.json`` for ``source`` (a
    :class:`~jwt_middleware.KeySet` or :class:`~jwt_middleware.KeyRing`) and, with
    ``issuer=``, ``/.well-known/openid-configuration`` and
    ``/.well-known/oauth-authorization-server``.

    Answers carry ``Cache-Control: public, max-age={max_age}``. Include it without a
    prefix and list :data:`WELL_KNOWN_PATHS` in the middleware's ``public_paths``
    (the routes depend on no ``JWTBearer``, so they need no token without a middleware).
    """
    publisher = publisher_for(
        source, issuer=issuer, jwks_uri=jwks_uri, max_age=max_age, metadata=metadata
    )
    router = APIRouter(include_in_schema=include_in_schema)

    async def jwks() -> Response:
        return document_response(publisher.jwks())

    async def discovery() -> Response:
        return document_response(publisher.discovery())

    jwks_path, *discovery_paths = WELL_KNOWN_PATHS
    router.add_api_route(jwks_path, jwks, methods=["GET"], name="jwks")
    if publisher.issuer is not None:
        for index, path in enumerate(discovery_paths):
            router.add_api_route(path, discovery, methods=["GET"], name=f"discovery_{index}")
    return router
