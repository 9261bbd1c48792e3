"""Pure ASGI middleware: JWT bearer authentication for any ASGI app.

Usage::

    from jwt_middleware import Config, Key
    from jwt_middleware.asgi import JWTMiddleware

    config = Config(keys=Key.from_pem_file("public.pem", "RS256"), issuer="https://auth.example")
    app = JWTMiddleware(app, config=config, public_paths=["/health", "/docs*"])

With Starlette or FastAPI, ``app.add_middleware(JWTMiddleware, config=config)``.

For ``http`` and ``websocket`` scopes it reads ``Authorization: Bearer``,
verifies the token without blocking the event loop, and sets:

* ``scope["jwt_middleware.principal"]``: the :class:`~jwt_middleware.Principal`
  (or ``None`` when the request needed no token);
* ``scope["user"]`` and ``scope["auth"]`` in the shapes Starlette reads, so
  ``request.user.is_authenticated``, ``request.auth.scopes`` and Starlette's
  own ``@requires("admin")`` and ``@requires("authenticated")`` work.
  ``auth.scopes`` holds the token's roles and scopes together, plus
  ``"authenticated"`` (Starlette's convention) when a token was verified.

Everything else (``lifespan``, ...) passes through untouched.

A refused HTTP request gets the RFC 6750 answer: 401 or 403, a JSON body
``{"error": ..., "error_description": ...}`` and ``WWW-Authenticate``.
A refused websocket handshake gets that same HTTP answer when the server
offers the ``websocket.http.response`` extension, and close code 1008
otherwise. Browsers cannot set headers on websockets, so the token may also
come from a query parameter (``websocket_query_param="access_token"``) or
from the subprotocol list (``websocket_subprotocol=True``: the client offers
``["bearer", token]`` and the middleware accepts ``"bearer"`` on the app's
behalf). Both are off by default; query strings end up in access logs.

In cookie mode (``cookies=CookiePolicy(...)``) a websocket whose token came
from the cookie must come from an allowed origin, since browsers attach
cookies to handshakes opened by other pages of the site (and, under
``SameSite=None``, of any site) and no CSRF header can be sent on one. The
``Origin`` header must equal the request's own origin (``http://`` for
``ws``, ``https://`` for ``wss``, plus ``Host``) or one of the policy's
``websocket_origins``; otherwise, and when ``Origin`` is missing, the
handshake is refused with 403 ``invalid_request``. A token from
``Authorization``, the query parameter or the subprotocol is not checked
(a page of another origin cannot have it).

``on_error(scope, error)`` may return an ASGI app (a Starlette ``Response``
is one) to answer instead; returning ``None`` keeps the default. The hook is
also put in the scope (``scope["jwt_middleware.on_error"]``), so the Starlette
decorators and FastAPI's ``JWTBearer`` shape their refusals (a failed guard)
with it too.

``user_loader(principal)`` (sync or async; a sync one runs in a worker thread)
loads the app's user once per request that carries a verified token and puts
it at ``scope["jwt_middleware.user"]`` (read it with
``jwt_middleware.starlette.get_current_user(request)``). ``None`` (the user is
gone) refuses the request with 401 ``invalid_token`` (reason ``unknown_user``),
and so does an :class:`~jwt_middleware.AuthError` the loader raises, with its
own answer; on public paths, where a bad token is ignored, the request goes on
with no user instead. ``scope["user"]`` stays the Starlette authentication
user (:class:`JWTUser`), so ``request.user.is_authenticated`` and Starlette's
``@requires`` keep working.

``transport=TransportPolicy(...)`` (``transport_policy_from_mapping(os.environ)``) refuses
a token over plain HTTP (400, ``JWT_REQUIRE_HTTPS``) before it is read, adds HSTS over
HTTPS and believes forwarding headers from the trusted proxies only (docs/security.md).

``dpop=DPoPPolicy(...)`` takes ``Authorization: DPoP`` with its proof and refuses a bound
token sent as ``Bearer`` (in every mode, ``off`` included): ``_sansio/dpop.py``, docs/dpop.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from ._core.config import Config
from ._core.dpop_policy import DPoPPolicy
from ._core.errors import AuthError, ConfigurationError
from ._core.principal import Principal
from ._core.verify import Verifier
from ._lifecycle.cookies import CookiePolicy, normalize_origin
from ._lifecycle.hooks import USER_KEY, aload_user, check_hook
from ._sansio.authenticator import (
    FALLBACK,
    MULTIPLE,
    PRINCIPAL_KEY,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from ._sansio.dpop import scheme_of, scope_proofs, scope_public_url
from ._sansio.enforce import TransportPolicy, transport_gate, transport_option
from ._sansio.fastpath import single_authorization

__all__ = [
    "AUTHENTICATOR_KEY",
    "AnonymousUser",
    "AuthCredentials",
    "ERROR_HOOK_KEY",
    "JWTMiddleware",
    "JWTUser",
    "PRINCIPAL_KEY",
    "USER_KEY",
]

#: Scope key of the middleware's :class:`Authenticator`, so that integrations
#: (decorators, dependencies) answer with its realm and report to its hooks.
AUTHENTICATOR_KEY = "jwt_middleware.authenticator"
#: Scope key of the middleware's ``on_error`` hook (set only when there is one).
ERROR_HOOK_KEY = "jwt_middleware.on_error"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ErrorHook = Callable[[Scope, AuthError], "ASGIApp | None"]

_SUBPROTOCOL = "bearer"
_NO_ORIGIN = "a websocket authenticated by the cookie needs an Origin header"
_TWO_ORIGINS = "send one Origin header, not several"
_OTHER_ORIGIN = "this origin may not open a websocket with the cookie"


class JWTUser:
    """``request.user`` for a verified token (Starlette's ``BaseUser`` shape)."""

    __slots__ = ("principal",)

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.subject or ""

    @property
    def identity(self) -> str:
        return self.principal.subject or ""

    def __repr__(self) -> str:
        return f"<JWTUser {self.principal.subject!r}>"


class AnonymousUser:
    """``request.user`` when no token was needed or given."""

    __slots__ = ()
    is_authenticated = False
    display_name = ""
    identity = ""
    principal = None


class _LazyScopes:
    """``request.auth.scopes`` of a principal, sorted when first read (most requests never
    read it). The base of ours and, behind ``JWTAuthBackend``, of Starlette's."""

    __slots__ = ("_principal", "_scopes")

    def __init__(self, principal: Principal) -> None:
        self._principal: Principal | None = principal
        self._scopes: list[str] | None = None

    @property
    def scopes(self) -> list[str]:
        if self._scopes is None:
            p: Any = self._principal  # set when _scopes is not
            self._scopes = sorted({"authenticated"} | p.roles | p.scopes)
        return self._scopes

    @scopes.setter
    def scopes(self, value: list[str]) -> None:
        self._scopes = value


class AuthCredentials(_LazyScopes):
    """``request.auth``: ``scopes`` holds the principal's roles and scopes (and "authenticated")."""

    __slots__ = ()

    def __init__(self, scopes: Iterable[str] = ()) -> None:
        self._principal = None
        self._scopes = sorted(scopes)


class _PrincipalCredentials(AuthCredentials):
    __slots__ = ()  # request.auth of a verified token

    def __init__(self, principal: Principal) -> None:
        self._principal = principal
        self._scopes = None


_ANONYMOUS = AnonymousUser()


def authorization_header(scope: Scope) -> str | None:
    """The ``Authorization`` header of an ASGI scope (``MULTIPLE`` when sent twice)."""
    authorization: str | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = MULTIPLE if authorization is not None else value.decode("latin-1")
    return authorization


class JWTMiddleware:
    """Pure ASGI middleware. Configuration in the constructor; no state per request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: Config | None = None,
        verifier: Verifier | None = None,
        mode: str = "required",
        public_paths: Iterable[str] = (),
        public_methods: Iterable[str] = (),
        websocket_query_param: str | None = None,
        websocket_subprotocol: bool = False,
        on_error: ErrorHook | None = None,
        on_event: Callable[[AuthEvent], None] | None = None,
        cookies: CookiePolicy | None = None,
        user_loader: Callable[[Principal], Any] | None = None,
        metrics: Any = None,
        transport: TransportPolicy | None = None,
        dpop: DPoPPolicy | None = None,
    ) -> None:
        if user_loader is not None:
            check_hook(user_loader, "user_loader", "the Principal")
        if on_error is not None and not callable(on_error):
            raise ConfigurationError("on_error must be a callable (scope, error)")
        self.app = app
        self.authenticator = build_authenticator(
            config,
            verifier,
            mode=mode,
            public_paths=public_paths,
            public_methods=public_methods,
            on_event=on_event,
            cookies=cookies,
            metrics=metrics,  # jwt_middleware.metrics: verifications by outcome and reason
            dpop=dpop,
        )
        self._csrf_header = cookies.csrf_header.lower().encode() if cookies else None
        #: Origins, besides the request's own, allowed a cookie-authenticated websocket.
        self._origins = frozenset(cookies.websocket_origins if cookies else ())
        self.query_param = websocket_query_param
        self.subprotocol = websocket_subprotocol
        self.on_error = on_error
        self.user_loader = user_loader
        self.transport = transport_option(transport, cookies)  # HTTPS: _sansio.enforce

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if self.transport is not None and kind in ("http", "websocket"):
            gated = await transport_gate(self, scope, receive, send)  # before any token
            if gated is None:
                return
            send = gated
        authenticator = self.authenticator
        principal: Any = FALLBACK
        offered: list[str] | None = None
        if kind == "http":
            # The fast path (see _sansio.authenticator): one plain bearer header.
            header = single_authorization(scope["headers"]) if authenticator.fast_path else None
            if header is not None:
                try:
                    if authenticator.sync_safe:
                        principal = authenticator.fast(scope["method"], scope["path"], header)
                    else:
                        principal = await authenticator.afast(
                            scope["method"], scope["path"], header
                        )
                except AuthError as exc:
                    await self._refuse(scope, receive, send, exc)
                    return
        elif kind != "websocket":
            await self.app(scope, receive, send)
            return
        if principal is FALLBACK:
            request, offered = self._request(scope)
            try:
                principal = await authenticator.aauthenticate(request)
            except AuthError as exc:
                await self._refuse(scope, receive, send, exc)
                return
        scope[PRINCIPAL_KEY] = principal
        scope[AUTHENTICATOR_KEY] = authenticator
        if self.on_error is not None:
            scope[ERROR_HOOK_KEY] = self.on_error
        if principal is None:
            scope["user"] = _ANONYMOUS
            scope["auth"] = AuthCredentials()
        else:
            if self.user_loader is not None:
                method, path = scope.get("method", "GET"), scope["path"]
                try:
                    scope[USER_KEY] = await aload_user(self.user_loader, principal)
                except AuthError as exc:
                    if not authenticator.is_public(method, path):
                        authenticator.report(exc, method, path, principal.subject)
                        realm, scheme = authenticator.realm, scheme_of(principal)
                        exc = authenticator.dpop.challenge(exc, realm, scheme)
                        await self._refuse(scope, receive, send, exc)
                        return
                    scope[USER_KEY] = None
            scope["user"] = JWTUser(principal)
            # Starlette's convention: "authenticated" for any verified user, so its own
            # @requires("authenticated") works (our guards read the principal, not this).
            scope["auth"] = _PrincipalCredentials(principal)
        if offered is not None:
            send = _accepting_bearer(send)
            scope["subprotocols"] = offered
        await self.app(scope, receive, send)

    def _request(self, scope: Scope) -> tuple[RequestInfo, list[str] | None]:
        authorization: str | None = None
        preflight = False
        protocols: str | None = None
        cookie: str | None = None
        csrf: str | None = None
        origin: str | None = None
        host: str | None = None
        csrf_header = self._csrf_header
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = MULTIPLE if authorization is not None else value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight = True
            elif name == b"sec-websocket-protocol":
                protocols = value.decode("latin-1")
            elif csrf_header is not None:
                if name == b"cookie":
                    text = value.decode("latin-1")
                    cookie = text if cookie is None else f"{cookie}; {text}"
                elif name == csrf_header:
                    csrf = value.decode("latin-1")
                elif name == b"origin":
                    origin = MULTIPLE if origin is not None else value.decode("latin-1")
                elif name == b"host":
                    host = MULTIPLE if host is not None else value.decode("latin-1")
        method = scope.get("method", "GET")
        alt: str | None = None
        offered: list[str] | None = None
        kind = scope["type"]
        if kind == "websocket" and authorization is None:
            if self.subprotocol and protocols:
                items = [p.strip() for p in protocols.split(",")]
                if _SUBPROTOCOL in items:
                    at = items.index(_SUBPROTOCOL)
                    if at + 1 < len(items):
                        alt = items[at + 1]
                        offered = items[: at + 1] + items[at + 2 :]
            if alt is None and self.query_param:
                query = scope.get("query_string", b"").decode("latin-1")
                alt = dict(parse_qsl(query)).get(self.query_param)
        refused: str | None = None
        if kind == "websocket" and cookie is not None and authorization is None and alt is None:
            refused = self._origin_refused(scope, origin, host)
        request = RequestInfo(
            method,
            scope["path"],
            authorization,
            preflight and method == "OPTIONS",
            alt,
            cookie,
            csrf,
            refused,
            scope_proofs(scope["headers"]),
            lambda: scope_public_url(scope),
        )
        return request, offered

    def _origin_refused(self, scope: Scope, origin: str | None, host: str | None) -> str | None:
        """Why this websocket's ``Origin`` may not use the cookie, or ``None`` when it may."""
        if origin is None:
            return _NO_ORIGIN
        if origin == MULTIPLE:
            return _TWO_ORIGINS
        seen = normalize_origin(origin)
        if seen is None:
            return _OTHER_ORIGIN
        if seen in self._origins:
            return None
        if host is not None and host != MULTIPLE:
            scheme = "https://" if scope.get("scheme") == "wss" else "http://"
            if seen == normalize_origin(scheme + host):
                return None
        return _OTHER_ORIGIN

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: AuthError) -> None:
        if self.on_error is not None:
            answer = self.on_error(scope, exc)
            if answer is not None:
                await answer(scope, receive, send)
                return
        realm = self.authenticator.realm
        headers = [(k.encode(), v.encode()) for k, v in exc.headers(realm)]
        body = exc.json_body()
        headers.append((b"content-length", str(len(body)).encode()))
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": exc.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif "websocket.http.response" in scope.get("extensions", {}):
            await send(
                {"type": "websocket.http.response.start", "status": exc.status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": exc.error})


def _accepting_bearer(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": _SUBPROTOCOL}
        await send(message)

    return wrapped
