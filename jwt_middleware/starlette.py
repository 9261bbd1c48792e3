"""Starlette integration: per-endpoint decorators and an authentication backend.

Put the pure ASGI :class:`~jwt_middleware.asgi.JWTMiddleware` in front of the
app (it verifies the token once per request and attaches the principal), then
state each endpoint's requirement with a decorator::

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from jwt_middleware import Config
    from jwt_middleware.starlette import JWTMiddleware, roles_required

    @roles_required("admin")
    async def admin(request): return PlainTextResponse(f"hello {request.user.display_name}")
    app = Starlette(routes=[Route("/admin", admin)])
    app.add_middleware(JWTMiddleware, config=Config.from_env())

Decorators (the same names as in ``jwt_middleware.flask``):

* ``@jwt_required()``: a verified token; ``@jwt_required(optional=True)``
  lets anonymous requests through (read the principal with
  :func:`get_principal`, ``None`` when there is none);
* ``@roles_required(*roles)``: all of the roles;
* ``@roles_accepted(*roles)``: at least one of the roles;
* ``@scopes_required(*scopes)``: all of the scopes;
* ``@claims_required(predicate, description=...)``: a predicate over the claims;
* ``@fresh_required()``: a token minted by a login, not by a refresh (401
  ``insufficient_user_authentication``): for password changes, payments.

They work on function endpoints (sync and async), ``HTTPEndpoint`` methods,
websocket functions and ``WebSocketEndpoint.on_connect``, and keep the
decorated function's signature. Like Starlette's own ``requires``, they find
the ``request`` or ``websocket`` parameter (by name, else by a
``Request``/``WebSocket`` annotation) when the module is imported: a function
without one is a :class:`~jwt_middleware.ConfigurationError` at import time.

They only read what the middleware attached (``scope["jwt_middleware.principal"]``);
they never verify a token themselves. Answers:

* no principal: 401 ``invalid_request`` (RFC 6750 JSON body and
  ``WWW-Authenticate``, with the middleware's realm, or ``"api"`` when no
  middleware is installed);
* a guard fails: 403 ``insufficient_scope``, same shape; the rejection is
  reported to the middleware's log and ``on_event`` hook with the subject;
* websocket endpoints: the handshake is closed with code 1008 before accept.

If you prefer Starlette's ``AuthenticationMiddleware``, use
:class:`JWTAuthBackend` with :func:`on_auth_error`::

    Middleware(AuthenticationMiddleware, backend=JWTAuthBackend(config),
               on_error=on_auth_error)

It reads only the ``Authorization`` header; an absent token gives an
anonymous user, a bad one the RFC 6750 401. The decorators work behind it too.
Starlette closes refused websockets itself (code 1000) there.

Token lifecycle: :func:`token_routes` (or :func:`token_mount`) serves
``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout`` for a
:class:`~jwt_middleware.TokenService`, with its async methods (the event loop
never waits for a password hash or the store)::

    service = TokenService(Issuer(config), users.check, cookies=policy)
    app = Starlette(routes=[token_mount(service), ...])
    app.add_middleware(JWTMiddleware, config=config, cookies=policy,
                       public_paths=auth_public_paths())

* login: JSON ``{"username", "password"}`` or an OAuth 2 form
  (``application/x-www-form-urlencoded``: ``username``, ``password``);
* refresh: JSON or form ``{"refresh_token"}``; in cookie mode the refresh
  cookie and the CSRF header instead;
* logout: the access token if the middleware attached one (a missing or
  expired one is fine: the route is public) and the refresh token from the
  body or, in cookie mode, the cookie (with the CSRF header).

Bodies (the same rules in all three integrations): at most
``TokenService(max_body=...)`` bytes (16 KiB), else 413; only ``application/json``
or ``application/x-www-form-urlencoded`` (UTF-8), else 400 (an empty body needs
no type); a JSON object nested at most 4 levels; a ``grant_type`` other than the
route's is 400 ``unsupported_grant_type``. Refusals are RFC 6749 JSON errors.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.authentication import AuthenticationError as StarletteAuthenticationError
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.websockets import WebSocket

from ._core import guards as _guards
from ._core.bearer import extract_bearer
from ._core.config import Config
from ._core.errors import (
    AuthError,
    ConfigurationError,
    MissingTokenError,
    TokenError,
)
from ._core.principal import Principal
from ._core.verify import Verifier
from ._keysources.publish import DEFAULT_MAX_AGE as _DEFAULT_MAX_AGE
from ._keysources.publish import WELL_KNOWN_PATHS, Document, JWKSPublisher, JWKSSource
from ._lifecycle.endpoints import Reply, TokenService, body_reply
from ._lifecycle.forms import MAX_BODY as _MAX_BODY
from ._lifecycle.forms import BodyError, BodyReader
from ._lifecycle.hooks import USER_KEY, aload_user, check_hook
from ._sansio.authenticator import (
    MULTIPLE,
    PRINCIPAL_KEY,
    Authenticator,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from ._sansio.health import DEFAULT_RETRY_AFTER as _DEFAULT_RETRY_AFTER
from ._sansio.health import READINESS_PATH, Readiness, ReadinessSource, readiness_for
from .asgi import AUTHENTICATOR_KEY, ERROR_HOOK_KEY, JWTMiddleware
from .asgi import JWTUser as _ScopeUser

__all__ = [
    "EndpointDecorator",
    "JWTAuthBackend",
    "JWTAuthenticationError",
    "JWTMiddleware",
    "JWTUser",
    "READINESS_PATH",
    "WELL_KNOWN_PATHS",
    "auth_public_paths",
    "claims_required",
    "error_response",
    "fresh_required",
    "get_current_user",
    "get_principal",
    "jwks_routes",
    "jwt_required",
    "on_auth_error",
    "readiness_routes",
    "reply_response",
    "roles_accepted",
    "roles_required",
    "scopes_required",
    "token_mount",
    "token_routes",
]

P = ParamSpec("P")
R = TypeVar("R")


class EndpointDecorator(Protocol):
    """What the decorator factories return: keeps the endpoint's exact signature."""

    def __call__(self, func: Callable[P, R], /) -> Callable[P, R]: ...


DEFAULT_REALM = "api"
POLICY_VIOLATION = 1008


def get_principal(conn: HTTPConnection) -> Principal | None:
    """The verified principal of this request or websocket, or ``None``."""
    principal = conn.scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def get_current_user(conn: HTTPConnection) -> Any:
    """The app's user that the middleware's ``user_loader`` loaded for this request, or
    ``None`` (no verified token, no loader, or a public path whose user is gone)."""
    return conn.scope.get(USER_KEY)


def error_response(error: AuthError, realm: str = DEFAULT_REALM) -> Response:
    """The RFC 6750 answer for ``error``: JSON body and ``WWW-Authenticate``."""
    return Response(error.json_body(), status_code=error.status, headers=dict(error.headers(realm)))


def _answer(conn: HTTPConnection, error: AuthError, realm: str) -> Response:
    """The middleware's ``on_error`` answer when it gives one, else :func:`error_response`."""
    hook = conn.scope.get(ERROR_HOOK_KEY)
    if hook is not None:
        answer = hook(conn.scope, error)
        if answer is not None:
            return cast(Response, answer)  # any ASGI app: Starlette awaits it the same way
    return error_response(error, realm)


# --- decorators -----------------------------------------------------------


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
        return exc, DEFAULT_REALM
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    authenticator.report(exc, method, scope["path"], principal.subject if principal else None)
    return exc, authenticator.realm


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
                return _answer(conn, *refused)

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
            return _answer(conn, *refused)

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


# --- token lifecycle: login, refresh, logout --------------------------------

#: Largest body :func:`read_fields` reads (the token routes use ``TokenService.max_body``).
MAX_BODY = _MAX_BODY
ROUTE_NAMES = ("login", "refresh", "logout")


def reply_response(reply: Reply) -> Response:
    """Render a :class:`~jwt_middleware.Reply`: JSON body, its headers, one
    ``set-cookie`` header per cookie."""
    response = JSONResponse(reply.body, status_code=reply.status)
    for name, value in reply.headers:
        response.raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    for cookie in reply.cookies:
        response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
    return response


async def _read(request: Request, reader: BodyReader) -> BodyReader:
    """Feed ``reader`` the body as it arrives (it refuses one past its limit at once)."""
    try:
        async for chunk in request.stream():
            reader.feed(chunk)
    except ClientDisconnect:
        raise BodyError.unreadable() from None
    return reader


async def _token_fields(service: TokenService, request: Request, route: str) -> dict[str, str]:
    """A token route's string fields (raises :class:`BodyError`: see ``_forms``)."""
    headers = request.headers
    reader = service.reader(headers.get("content-type"), headers.get("content-length"))
    return (await _read(request, reader)).fields(route)


async def read_fields(request: Request) -> dict[str, str]:
    """The string fields of a JSON object or ``x-www-form-urlencoded`` body of at
    most :data:`MAX_BODY` bytes (anything else, or a malformed body, gives ``{}``)."""
    headers = request.headers
    try:
        reader = BodyReader(headers.get("content-type"), headers.get("content-length"), MAX_BODY)
        return (await _read(request, reader)).fields()
    except BodyError:
        return {}


def _cookie_header(request: Request) -> str | None:
    values = request.headers.getlist("cookie")
    return "; ".join(values) if values else None


def _csrf_header(service: TokenService, request: Request) -> str | None:
    if service.cookies is None:
        return None
    return request.headers.get(service.cookies.csrf_header)


async def _principal_for_logout(service: TokenService, request: Request) -> Principal | None:
    """The principal the middleware attached, else a still valid bearer token's."""
    principal = get_principal(request)
    if principal is not None:
        return principal
    values = request.headers.getlist("authorization")
    if len(values) != 1:
        return None
    try:
        return await service.issuer.verifier.averify(extract_bearer(values[0]))
    except AuthError:  # missing, expired or revoked: nothing to revoke
        return None


async def login_reply(service: TokenService, request: Request) -> Reply:
    """``POST login`` as a :class:`~jwt_middleware.Reply`."""
    try:
        fields = await _token_fields(service, request, "login")
    except BodyError as exc:
        return body_reply(exc)
    return await service.alogin(fields.get("username"), fields.get("password"))


async def refresh_reply(service: TokenService, request: Request) -> Reply:
    """``POST refresh`` as a :class:`~jwt_middleware.Reply`."""
    try:
        fields = await _token_fields(service, request, "refresh")
    except BodyError as exc:
        return body_reply(exc)
    return await service.arefresh(
        fields.get("refresh_token") or None,
        _cookie_header(request),
        _csrf_header(service, request),
    )


async def logout_reply(service: TokenService, request: Request) -> Reply:
    """``POST logout`` as a :class:`~jwt_middleware.Reply`."""
    try:
        fields = await _token_fields(service, request, "logout")
    except BodyError as exc:
        return body_reply(exc)
    return await service.alogout(
        await _principal_for_logout(service, request),
        fields.get("refresh_token") or None,
        _cookie_header(request),
        _csrf_header(service, request),
    )


def _endpoint(
    service: TokenService, handler: Callable[[TokenService, Request], Awaitable[Reply]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return reply_response(await handler(service, request))

    return endpoint


def token_routes(service: TokenService) -> list[Route]:
    """``POST /login``, ``/refresh`` and ``/logout`` (mount them under ``/auth``)."""
    if not isinstance(service, TokenService):
        raise ConfigurationError("token_routes takes a TokenService")
    handlers = (login_reply, refresh_reply, logout_reply)
    return [
        Route(f"/{name}", _endpoint(service, handler), methods=["POST"], name=name)
        for name, handler in zip(ROUTE_NAMES, handlers, strict=True)
    ]


def auth_public_paths(prefix: str = "/auth") -> tuple[str, ...]:
    """The lifecycle paths to list in the middleware's ``public_paths``: they need
    no access token (the principal is still attached when a valid one is sent)."""
    return tuple(f"{prefix.rstrip('/')}/{name}" for name in ROUTE_NAMES)


def check_refresh_path(service: TokenService, path: str) -> None:
    """Cookie mode: the refresh cookie's path must cover the refresh and logout routes."""
    if service.cookies is None:
        return
    scope = service.cookies.refresh_path.rstrip("/") + "/"
    if not (path.rstrip("/") + "/").startswith(scope):
        raise ConfigurationError(
            f"the token routes are under {path!r} but the refresh cookie's path is "
            f"{service.cookies.refresh_path!r}: the browser would not send it (set refresh_path)"
        )


def token_mount(
    service: TokenService, path: str = "/auth", routes: Sequence[Route] = ()
) -> Mount:
    """:func:`token_routes` mounted at ``path`` (plus your own ``routes`` there, such
    as a password change). In cookie mode ``path`` must match the policy's
    ``refresh_path`` (``/auth``): the browser sends the refresh cookie only there."""
    if not path.startswith("/") or path == "/":
        raise ConfigurationError("mount the token routes under a path such as '/auth'")
    check_refresh_path(service, path)
    return Mount(path.rstrip("/"), routes=[*token_routes(service), *routes], name="auth")


# --- publishing keys: /.well-known/jwks.json and discovery --------------------


def publisher_for(
    source: JWKSSource | JWKSPublisher,
    *,
    issuer: str | None = None,
    jwks_uri: str | None = None,
    max_age: int = _DEFAULT_MAX_AGE,
    metadata: Mapping[str, Any] | None = None,
) -> JWKSPublisher:
    """``source`` itself when it is a :class:`JWKSPublisher`, else a new one for it."""
    if isinstance(source, JWKSPublisher):
        return source
    return JWKSPublisher(
        source, issuer=issuer, jwks_uri=jwks_uri, max_age=max_age, metadata=metadata
    )


def document_response(document: Document) -> Response:
    """A publisher's :class:`Document` as a Starlette response."""
    headers = {k: v for k, v in document.headers if k.lower() != "content-type"}
    return Response(
        document.body,
        status_code=document.status,
        headers=headers,
        media_type=dict(document.headers).get("Content-Type", "application/json"),
    )


def jwks_routes(
    source: JWKSSource | JWKSPublisher,
    *,
    issuer: str | None = None,
    jwks_uri: str | None = None,
    max_age: int = _DEFAULT_MAX_AGE,
    metadata: Mapping[str, Any] | None = None,
) -> list[Route]:
    """``GET /.well-known/jwks.json`` for ``source`` (a :class:`~jwt_middleware.KeySet`
    or :class:`~jwt_middleware.KeyRing`) and, with ``issuer=``, the discovery documents
    at ``/.well-known/openid-configuration`` and ``/.well-known/oauth-authorization-server``.

    Answers carry ``Cache-Control: public, max-age={max_age}``. Put the routes at the
    app's root and list :data:`WELL_KNOWN_PATHS` in the middleware's ``public_paths``
    (or mount them outside the middleware).
    """
    publisher = publisher_for(
        source, issuer=issuer, jwks_uri=jwks_uri, max_age=max_age, metadata=metadata
    )

    async def jwks(request: Request) -> Response:
        return document_response(publisher.jwks())

    async def discovery(request: Request) -> Response:
        return document_response(publisher.discovery())

    jwks_path, *discovery_paths = WELL_KNOWN_PATHS
    routes = [Route(jwks_path, jwks, methods=["GET"], name="jwks")]
    if publisher.issuer is not None:
        routes += [
            Route(path, discovery, methods=["GET"], name=f"discovery_{index}")
            for index, path in enumerate(discovery_paths)
        ]
    return routes


# --- readiness: the probe a load balancer calls -----------------------------


def readiness_routes(
    source: Readiness | ReadinessSource | Iterable[ReadinessSource],
    *,
    path: str = READINESS_PATH,
    retry_after: int = _DEFAULT_RETRY_AFTER,
) -> list[Route]:
    """``GET {path}`` (``/health/ready``): 200 when the store answers and the key source
    holds a usable key, else 503 with ``Retry-After``; the JSON body names each check
    (``{"status": ..., "checks": {"store": ..., "keys": ...}}``) and never a secret.

    ``source``: the :class:`~jwt_middleware.Config` the middleware verifies with (or a
    :class:`~jwt_middleware.Verifier`, a :class:`~jwt_middleware.MultiIssuerVerifier`,
    several of them, or a ready :class:`~jwt_middleware.Readiness`). The checks run
    async (:meth:`Readiness.acheck`). List ``path`` (:data:`READINESS_PATH`) in the
    middleware's ``public_paths``: the middleware runs before any route.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError("path starts with '/', such as '/health/ready'")
    readiness = readiness_for(source, retry_after=retry_after)

    async def ready(request: Request) -> Response:
        return document_response(await readiness.acheck())

    return [Route(path, ready, methods=["GET"], name="readiness")]


# --- AuthenticationMiddleware backend ---------------------------------------


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
    token: ``(AuthCredentials(roles | scopes), JWTUser(principal))``, and the
    principal is also put in the scope for the decorators. A bad token:
    :class:`JWTAuthenticationError`; render it with :func:`on_auth_error`.
    ``user_loader`` works as on :class:`JWTMiddleware` (its ``None`` is a
    :class:`JWTAuthenticationError` too); read the user with :func:`get_current_user`.
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
        return AuthCredentials(sorted(principal.roles | principal.scopes)), JWTUser(principal)


def on_auth_error(conn: HTTPConnection, exc: Exception) -> Response:
    """``AuthenticationMiddleware(on_error=on_auth_error)``: the RFC 6750 answer.

    Errors from other backends get a generic 401 ``invalid_token`` (their
    message is not sent to the client).
    """
    if isinstance(exc, JWTAuthenticationError):
        return error_response(exc.error, exc.realm)
    return error_response(TokenError(), DEFAULT_REALM)
