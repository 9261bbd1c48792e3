"""The token routes: ``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout``, and
``revoke_subject``, over the app's :class:`~jwt_middleware.TokenService`.

The views only read the body into the service's reader (the rules are in
``_lifecycle.forms``), pass the ``DPoP`` header values, the method and the URL (for the
proof's ``htu``) along, and render its :class:`Reply`; the service does the rest.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from .._core.errors import AuthError, ConfigurationError
from .._lifecycle.binding import TRUSTED_PROXIES_KEY, DPoPRequest, dpop_request
from .._lifecycle.endpoints import Reply, TokenService, body_reply, error_reply
from .._lifecycle.forms import BodyError
from .._lifecycle.sessions import ClientInfo
from .._sansio.enforce import check_route_environ
from .._sansio.transport import TransportError, TrustedProxies, environ_url, info_from_environ
from .._sansio.transport import resolve as resolve_client
from ._accessors import get_principal
from ._extension import JWT
from ._hook import cookie_parts
from ._state import EXTENSION_KEY, NO_LIFECYCLE, POLICY_ATTR, PUBLIC, State, app_or_current

#: No trusted proxy: forwarding headers are ignored.
_NO_PROXIES = TrustedProxies()


def _render(reply: Reply) -> Response:
    """A :class:`Reply` as a Flask response: JSON body, headers, one ``Set-Cookie`` each."""
    response = Response(
        json.dumps(reply.body), status=reply.status, content_type="application/json"
    )
    for name, value in reply.headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    for cookie in reply.cookies:
        response.headers.add("Set-Cookie", cookie)
    return response


def _fields(service: TokenService, route: str) -> dict[str, str] | Response:
    """The route's string fields, or the 400 / 413 answer (the rules are in ``_forms``)."""
    try:
        reader = service.reader(
            request.headers.get("Content-Type"), request.environ.get("CONTENT_LENGTH")
        )
        try:  # Werkzeug stops at Content-Length; a chunked body one byte past the limit
            stream = request.stream
            while chunk := stream.read(reader.wanted):
                reader.feed(chunk)
        except HTTPException as exc:  # ClientDisconnected, or 413 for MAX_CONTENT_LENGTH
            if exc.code == 413:
                limit = min(reader.limit, request.max_content_length or reader.limit)
                raise BodyError.too_large(limit) from None
            raise BodyError.unreadable() from None
        except (OSError, ValueError):
            raise BodyError.unreadable() from None
        return reader.fields(route)
    except BodyError as exc:
        return _render(body_reply(exc))


def _service() -> TokenService:
    return JWT.token_service(app_or_current(None))


def _public_url() -> str:
    """The URL the client sent this request to, for a DPoP proof's ``htu``: from the
    WSGI environ, with forwarding headers believed only from the trusted proxies an
    adapter recorded (``TRUSTED_PROXIES_KEY``; none: the request as the server gives it)."""
    proxies = request.environ.get(TRUSTED_PROXIES_KEY)
    return environ_url(request.environ, proxies if proxies is not None else _NO_PROXIES)


def _parts(service: TokenService, route: str) -> tuple[dict[str, str], DPoPRequest] | Response:
    """The route's fields and what DPoP needs (every ``DPoP`` header value: two are
    refused; the method; the URL), or the 400 / 413 answer."""
    try:  # the body holds a password or a refresh token: never over plain HTTP
        check_route_environ(request.environ)
    except AuthError as exc:
        return _render(error_reply(exc, service.realm))
    data = _fields(service, route)
    if isinstance(data, Response):
        return data
    proofs = request.headers.getlist("DPoP")
    try:
        return data, dpop_request(service.dpop, proofs, request.method, _public_url)
    except AuthError as exc:  # a Host header no URL can be made of: 400
        return _render(error_reply(exc, service.realm))


def _client_address() -> str | None:
    """The client's address: ``remote_addr`` (after a ``ProxyFix``, if the app has one),
    or the first untrusted hop when an adapter recorded the trusted proxies."""
    proxies = request.environ.get(TRUSTED_PROXIES_KEY)
    if proxies is None:
        return request.remote_addr
    try:
        return resolve_client(info_from_environ(request.environ), proxies).client
    except TransportError:  # a trusted proxy's malformed forwarding header: unknown
        return None


def _client(service: TokenService, data: dict[str, str]) -> ClientInfo:
    """What the login's session records: ``User-Agent``, ``device``, the address if on."""
    record = service.issuer.sessions.policy.record_address
    return ClientInfo(user_agent=request.headers.get("User-Agent"), device=data.get("device"),
                      address=_client_address() if record else None)


def _login() -> Response:
    service = _service()
    parts = _parts(service, "login")
    if isinstance(parts, Response):
        return parts
    data, dpop = parts
    client = _client(service, data)
    return _render(service.login(data.get("username"), data.get("password"), **dpop,
                                 client=client))


def _refresh() -> Response:
    service = _service()
    parts = _parts(service, "refresh")
    if isinstance(parts, Response):
        return parts
    data, dpop = parts
    cookie, csrf = cookie_parts(service.cookies, request.environ)
    return _render(service.refresh(data.get("refresh_token") or None, cookie, csrf, **dpop))


def _logout() -> Response:
    service = _service()
    parts = _parts(service, "logout")
    if isinstance(parts, Response):
        return parts
    data, dpop = parts
    cookie, csrf = cookie_parts(service.cookies, request.environ)
    token, authorization = data.get("refresh_token") or None, request.headers.get("Authorization")
    reply = service.logout(
        get_principal(), token, cookie, csrf, **dpop, authorization=authorization
    )
    return _render(reply)


for _view in (_login, _refresh, _logout):
    setattr(_view, POLICY_ATTR, PUBLIC)


def registered_state(setup: Any) -> State | None:
    """At a lifecycle blueprint's registration: the app's state (``None`` before
    ``JWT(app)``, when the views check again); an app without a token service is refused."""
    state = setup.app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, State):
        return None
    if state.service is None:
        raise ConfigurationError(NO_LIFECYCLE)
    return state


def auth_blueprint(*, name: str = "jwt_auth", url_prefix: str = "/auth") -> Blueprint:
    """``POST {url_prefix}/login``, ``/refresh`` and ``/logout`` for the app's token service.

    Register it on an app whose ``JWT`` has ``check_credentials=``. The routes need no
    access token (a valid one is used by logout, a missing or bad one ignored), whatever
    the app's mode and public paths. In cookie mode the refresh cookie's path
    (``JWT_REFRESH_PATH``, ``/auth`` by default) must cover ``url_prefix``.
    """
    if not url_prefix.startswith("/"):
        raise ConfigurationError("url_prefix starts with '/', such as '/auth'")
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix.rstrip("/") or None)
    blueprint.add_url_rule("/login", "login", _login, methods=["POST"])
    blueprint.add_url_rule("/refresh", "refresh", _refresh, methods=["POST"])
    blueprint.add_url_rule("/logout", "logout", _logout, methods=["POST"])

    def check(setup: Any) -> None:
        state = registered_state(setup)
        if state is not None and state.cookies is not None:
            state.cookies.check_routes_at(setup.url_prefix or "/", "JWT_REFRESH_PATH")

    blueprint.record(check)
    return blueprint


def revoke_subject(subject: str) -> None:
    """Revoke every token of ``subject`` issued before the current second, through the
    current app's issuer (password change, compromise). Needs an app context."""
    JWT.token_issuer(app_or_current(None)).revoke_subject(subject)
