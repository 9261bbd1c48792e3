"""FastAPI integration: a bearer-token security dependency.

Usage::

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from jwt_middleware import Principal
    from jwt_middleware.fastapi import JWTBearer

    auth = JWTBearer(config=config)
    CurrentPrincipal = Annotated[Principal, Depends(auth)]

    app = FastAPI()
    auth.init_app(app)  # RFC 6750 bodies, and the 401/403 answers in OpenAPI

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

The app's user: ``JWTBearer(config=..., user_loader=load)`` and
``Depends(auth.current_user)`` give ``load(principal)`` (sync or async; a sync
one runs in a worker thread), called once per request and cached in the scope
(the ASGI middleware's ``user_loader`` result is reused when it ran). ``None``
(the user is gone) is 401 ``invalid_token``.

Errors: a missing or bad token is 401, a failed guard 403, each raised as
:class:`JWTHTTPException` (an ``HTTPException``) with the RFC 6750
``WWW-Authenticate`` header. Call ``auth.init_app(app)`` once: refusals then
get the body every other part of the package sends,
``{"error": ..., "error_description": ...}``, and every route that depends on
a bearer declares its 401 (and, behind a guard, 403) answer in OpenAPI. A
dependency cannot answer by itself in FastAPI: whatever it raises is rendered
by the app's exception handlers, and the stock ``HTTPException`` one always
writes ``{"detail": ...}``. So ``init_app`` registers a handler for
:class:`JWTHTTPException` only (nothing but this module raises it; the app's
``HTTPException``, validation and 404 answers are untouched), and without it
refusals keep FastAPI's ``{"detail": "<description>"}``. When the ASGI
middleware in front has an ``on_error`` hook, that handler answers with it.
On websocket routes the handshake is closed with code 1008.

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

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocketException
from fastapi import routing as fastapi_routing
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowPassword, OAuthFlows
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from ._core import guards as _guards
from ._core.config import Config
from ._core.errors import AuthError, ConfigurationError
from ._core.principal import Principal
from ._core.verify import Verifier
from ._keysources.publish import DEFAULT_MAX_AGE as _DEFAULT_MAX_AGE
from ._keysources.publish import WELL_KNOWN_PATHS, JWKSPublisher, JWKSSource
from ._lifecycle.endpoints import Reply, TokenService
from ._lifecycle.hooks import USER_KEY, UnknownUserError, aload_user, check_hook
from ._sansio.authenticator import (
    PRINCIPAL_KEY,
    Authenticator,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from ._sansio.health import DEFAULT_RETRY_AFTER as _DEFAULT_RETRY_AFTER
from ._sansio.health import READINESS_PATH, Readiness, ReadinessSource, readiness_for
from .asgi import AUTHENTICATOR_KEY, ERROR_HOOK_KEY, authorization_header
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
    "READINESS_PATH",
    "WELL_KNOWN_PATHS",
    "jwks_router",
    "readiness_router",
    "rfc6750_exception_handler",
    "token_router",
    "use_rfc6750_errors",
]

POLICY_VIOLATION = 1008

GuardDependency = Callable[..., Awaitable[Principal]]
#: The statuses a dependency may refuse with, for the OpenAPI document.
_REFUSES = "_REFUSES_WITH"
#: Marks an ``app.openapi`` that already declares them.
_DOCUMENTED = "_jwt_middleware_refusals"
_BEARER_DESCRIPTION = (
    "A JWT access token. Paste the token alone, without `Bearer `: Swagger UI adds "
    "the prefix itself. Missing or bad: 401; a token without the rights a route "
    "needs: 403."
)
_PASSWORD_DESCRIPTION = (
    "Log in with a username and password (the form is posted to {}); the access "
    "token is then sent as `Authorization: Bearer <token>`."
)


class JWTHTTPException(HTTPException):
    """An ``HTTPException`` for a refused request; ``.error`` is the :class:`AuthError`.

    ``auth.init_app(app)`` renders it with the RFC 6750 body; to shape refusals
    yourself, register your own handler for this class after it.
    """

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
    """Render a :class:`JWTHTTPException` with the RFC 6750 JSON body (or the answer
    of the ASGI middleware's ``on_error`` hook, when it is in front and gives one)."""
    if not isinstance(exc, JWTHTTPException):  # pragma: no cover - registered for that class
        raise exc
    error = exc.error
    hook = request.scope.get(ERROR_HOOK_KEY)
    if hook is not None:
        answer = hook(request.scope, error)
        if answer is not None:
            return cast(Response, answer)  # any ASGI app: Starlette awaits it the same way
    headers = dict(error.headers(exc.realm))
    return Response(error.json_body(), status_code=error.status, headers=headers)


def use_rfc6750_errors(app: FastAPI) -> None:
    """Refusals get ``{"error": ..., "error_description": ...}`` bodies (a handler for
    :class:`JWTHTTPException` only). ``JWTBearer.init_app`` calls it."""
    app.add_exception_handler(JWTHTTPException, rfc6750_exception_handler)


# --- OpenAPI: the 401 and 403 answers -------------------------------------------


def _error_response(description: str, codes: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "error": {"type": "string", "enum": codes, "description": "the RFC 6750 error code"},
            "error_description": {"type": "string", "description": "a short, fixed text"},
        },
        "required": ["error", "error_description"],
    }
    header = {
        "description": 'Bearer realm="...", error="...", error_description="..." (RFC 6750)',
        "schema": {"type": "string"},
    }
    return {
        "description": description,
        "headers": {"WWW-Authenticate": header},
        "content": {"application/json": {"schema": schema}},
    }


_REFUSAL_RESPONSES: dict[int, dict[str, Any]] = {
    401: _error_response(
        "Not authenticated: the bearer token is missing or malformed (invalid_request), "
        "bad, expired or revoked, or its user is gone (invalid_token), or not fresh "
        "enough (insufficient_user_authentication)",
        ["invalid_request", "invalid_token", "insufficient_user_authentication"],
    ),
    403: _error_response(
        "Forbidden: the token lacks a required role, scope or claim (insufficient_scope)",
        ["insufficient_scope"],
    ),
}


def _api_routes(app: FastAPI) -> Iterable[Any]:
    """The app's path operations, included routers' among them. Recent FastAPI nests an
    included router (``iter_route_contexts`` gives each route with the router's prefix
    and dependencies); older versions copy its routes into ``app.routes``."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:
        return [route for route in app.routes if isinstance(route, APIRoute)]
    return [c for c in contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def _refusals(route: Any) -> set[int]:
    """The statuses the route's dependencies (this module's) may refuse with."""
    statuses: set[int] = set()
    stack = [route.dependant]
    seen: set[int] = set()
    while stack:
        dependant = stack.pop()
        if id(dependant) in seen:
            continue
        seen.add(id(dependant))
        statuses.update(getattr(dependant.call, _REFUSES, ()))
        stack.extend(dependant.dependencies)
    return statuses


def _declare_refusals(app: FastAPI, schema: dict[str, Any]) -> None:
    paths = schema.get("paths", {})
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        statuses = _refusals(route)
        if not statuses:
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(str(status), _REFUSAL_RESPONSES[status])


def _document_refusals(app: FastAPI) -> None:
    """Wrap ``app.openapi`` (FastAPI's extension point) once to add the 401/403 answers."""
    if getattr(app.openapi, _DOCUMENTED, False):
        return
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = generate()
        if fresh:
            _declare_refusals(app, schema)
        return schema

    setattr(openapi, _DOCUMENTED, True)
    app.openapi = openapi  # type: ignore[method-assign]
    app.openapi_schema = None


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
    ``description`` replaces the scheme's default one (which tells Swagger UI
    users to paste the token alone, without ``Bearer``). ``user_loader``
    (``principal -> user | None``, sync or async) backs :attr:`current_user`.
    """

    _REFUSES_WITH = (401,)

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
        self.model: HTTPBearerModel | OAuth2Model
        if token_url is None:
            self.model = HTTPBearerModel(
                bearerFormat="JWT", description=description or _BEARER_DESCRIPTION
            )
        else:
            flows = OAuthFlows(password=OAuthFlowPassword(tokenUrl=token_url))
            self.model = OAuth2Model(
                flows=flows, description=description or _PASSWORD_DESCRIPTION.format(token_url)
            )
        self.scheme_name = scheme_name or type(self).__name__
        self.authenticator = build_authenticator(
            config, verifier, mode="required", public_paths=(), public_methods=(), on_event=on_event
        )
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
            raise _refuse(conn, exc, self.realm) from None
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
        _document_refusals(app)

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
                raise _refuse(conn, exc, self.realm) from None

        setattr(current_user, _REFUSES, (401,))
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
                raise _refuse(conn, exc, self.realm) from None
            return principal

        dependency.__name__ = dependency.__qualname__ = guard.name.split("(")[0]
        setattr(dependency, _REFUSES, statuses)
        return dependency


class _OptionalBearer(SecurityBase):
    """``auth.jwt_required(optional=True)``: the same OpenAPI scheme, ``None`` without a token."""

    _REFUSES_WITH = (401,)

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


# --- readiness: the probe a load balancer calls -----------------------------


def readiness_router(
    source: Readiness | JWTBearer | ReadinessSource | Iterable[ReadinessSource],
    *,
    path: str = READINESS_PATH,
    retry_after: int = _DEFAULT_RETRY_AFTER,
    include_in_schema: bool = False,
) -> APIRouter:
    """An ``APIRouter`` with ``GET {path}`` (``/health/ready``): 200 when the store
    answers and the key source holds a usable key, else 503 with ``Retry-After``; the
    JSON body names each check (``{"status": ..., "checks": {"store": ..., "keys": ...}}``)
    and never a secret.

    ``source``: a :class:`JWTBearer` (its verifier), a :class:`~jwt_middleware.Config`,
    a :class:`~jwt_middleware.Verifier`, a :class:`~jwt_middleware.MultiIssuerVerifier`,
    several of them, or a ready :class:`~jwt_middleware.Readiness`. The route depends
    on no ``JWTBearer``; behind the ASGI middleware list ``path``
    (:data:`READINESS_PATH`) in its ``public_paths``.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError("path starts with '/', such as '/health/ready'")
    if isinstance(source, JWTBearer):
        source = source.authenticator.verifier
    readiness = readiness_for(source, retry_after=retry_after)
    router = APIRouter(include_in_schema=include_in_schema)

    async def ready() -> Response:
        return document_response(await readiness.acheck())

    router.add_api_route(path, ready, methods=["GET", "HEAD"], name="readiness")
    return router
