"""The token routes: login, refresh and logout for a :class:`~jwt_middleware.TokenService`.

Each route reads its body (bounded, as it arrives), hands the fields, the ``DPoP``
header values, the method and the URL (for the proof's ``htu``) to the service's
async method and renders the :class:`~jwt_middleware.Reply` it gets.
The ``*_reply`` functions and :func:`reply_response` are the pieces, for apps
(and the FastAPI router) that wire the routes themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .._core.bearer import extract_bearer
from .._core.errors import AuthError, ConfigurationError
from .._core.principal import Principal
from .._lifecycle.binding import TRUSTED_PROXIES_KEY, DPoPRequest, bound_jkt, dpop_request
from .._lifecycle.endpoints import Reply, TokenService, body_reply, error_reply
from .._lifecycle.forms import MAX_BODY as _MAX_BODY
from .._lifecycle.forms import BodyError, BodyReader
from .._lifecycle.sessions import ClientInfo
from .._sansio.enforce import check_route_scope
from .._sansio.transport import TransportError, TrustedProxies, info_from_scope, scope_url
from .._sansio.transport import resolve as resolve_client
from ._scope import get_principal

#: Largest body :func:`read_fields` reads (the token routes use ``TokenService.max_body``).
MAX_BODY = _MAX_BODY
ROUTE_NAMES = ("login", "refresh", "logout")
#: No trusted proxy: forwarding headers are ignored.
_NO_PROXIES = TrustedProxies()


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


def _public_url(request: Request) -> str:
    """The URL the client sent this request to, for a DPoP proof's ``htu``: from the
    ASGI scope, with forwarding headers believed only from the trusted proxies an
    adapter recorded (``TRUSTED_PROXIES_KEY``; none: the scope as the server gives it)."""
    proxies = request.scope.get(TRUSTED_PROXIES_KEY)
    return scope_url(request.scope, proxies if proxies is not None else _NO_PROXIES)


async def _parts(
    service: TokenService, request: Request, route: str
) -> tuple[dict[str, str], DPoPRequest] | Reply:
    """The route's fields and what DPoP needs (every ``DPoP`` header value: two are
    refused; the method; the URL), or the 400 / 413 answer."""
    try:  # the body holds a password or a refresh token: never over plain HTTP
        check_route_scope(request.scope)  # by the policy the middleware put in the scope
        fields = await _token_fields(service, request, route)
    except BodyError as exc:
        return body_reply(exc)
    except AuthError as exc:
        return error_reply(exc, service.realm)
    proofs = request.headers.getlist("dpop")
    try:
        url = partial(_public_url, request)
        return fields, dpop_request(service.dpop, proofs, request.method, url)
    except AuthError as exc:  # a Host header no URL can be made of: 400
        return error_reply(exc, service.realm)


def _cookie_header(request: Request) -> str | None:
    values = request.headers.getlist("cookie")
    return "; ".join(values) if values else None


def _csrf_header(service: TokenService, request: Request) -> str | None:
    if service.cookies is None:
        return None
    return request.headers.get(service.cookies.csrf_header)


async def _principal_for_logout(service: TokenService, request: Request) -> Principal | None:
    """The principal the middleware attached, else a still valid bearer token's (not a
    DPoP-bound one: presented as a bearer token, it proves no key)."""
    principal = get_principal(request)
    if principal is not None:
        return principal
    values = request.headers.getlist("authorization")
    if len(values) != 1:
        return None
    try:
        found = await service.issuer.verifier.averify(extract_bearer(values[0]))
        return None if bound_jkt(found.claims) is not None else found
    except AuthError:  # missing, expired or revoked: nothing to revoke
        return None


def _client_address(request: Request) -> str | None:
    """The client's address: the connection's peer, or the first untrusted hop when an
    adapter recorded the trusted proxies (``TRUSTED_PROXIES_KEY``)."""
    proxies = request.scope.get(TRUSTED_PROXIES_KEY)
    if proxies is None:
        return request.client.host if request.client else None
    try:
        return resolve_client(info_from_scope(request.scope), proxies).client
    except TransportError:  # a trusted proxy's malformed forwarding header: unknown
        return None


def _client(service: TokenService, request: Request, fields: dict[str, str]) -> ClientInfo:
    """What the login's session records: ``User-Agent``, ``device``, the address if on."""
    record = service.issuer.sessions.policy.record_address
    return ClientInfo(user_agent=request.headers.get("user-agent"), device=fields.get("device"),
                      address=_client_address(request) if record else None)


async def login_reply(service: TokenService, request: Request) -> Reply:
    """``POST login`` as a :class:`~jwt_middleware.Reply` (the session records the
    ``User-Agent``, the body's ``device`` and, when the policy says so, the address)."""
    parts = await _parts(service, request, "login")
    if isinstance(parts, Reply):
        return parts
    fields, dpop = parts
    client = _client(service, request, fields)
    return await service.alogin(fields.get("username"), fields.get("password"), **dpop,
                                client=client)


async def refresh_reply(service: TokenService, request: Request) -> Reply:
    """``POST refresh`` as a :class:`~jwt_middleware.Reply`."""
    parts = await _parts(service, request, "refresh")
    if isinstance(parts, Reply):
        return parts
    fields, dpop = parts
    return await service.arefresh(
        fields.get("refresh_token") or None,
        _cookie_header(request),
        _csrf_header(service, request),
        **dpop,
    )


async def logout_reply(service: TokenService, request: Request) -> Reply:
    """``POST logout`` as a :class:`~jwt_middleware.Reply`."""
    parts = await _parts(service, request, "logout")
    if isinstance(parts, Reply):
        return parts
    fields, dpop = parts
    return await service.alogout(
        await _principal_for_logout(service, request),
        fields.get("refresh_token") or None,
        _cookie_header(request),
        _csrf_header(service, request),
        **dpop,
        authorization=request.headers.get("authorization"),
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
    if service.cookies is not None:
        service.cookies.check_routes_at(path)


def token_mount(service: TokenService, path: str = "/auth", routes: Sequence[Route] = ()) -> Mount:
    """:func:`token_routes` mounted at ``path`` (plus your own ``routes`` there, such
    as a password change). In cookie mode ``path`` must match the policy's
    ``refresh_path`` (``/auth``): the browser sends the refresh cookie only there."""
    if not path.startswith("/") or path == "/":
        raise ConfigurationError("mount the token routes under a path such as '/auth'")
    check_refresh_path(service, path)
    return Mount(path.rstrip("/"), routes=[*token_routes(service), *routes], name="auth")
