"""The token routes: ``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout``, and
``revoke_subject``, over the app's :class:`~jwt_middleware.TokenService`.

The views only read the body into the service's reader (the rules are in
``_lifecycle.forms``) and render its :class:`Reply`; the service does the rest.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from .._core.errors import ConfigurationError
from .._lifecycle.endpoints import Reply, TokenService, body_reply
from .._lifecycle.forms import BodyError
from ._accessors import get_principal
from ._extension import JWT
from ._hook import cookie_parts
from ._state import EXTENSION_KEY, NO_LIFECYCLE, POLICY_ATTR, PUBLIC, State, app_or_current


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


def _login() -> Response:
    service = _service()
    data = _fields(service, "login")
    if isinstance(data, Response):
        return data
    return _render(service.login(data.get("username"), data.get("password")))


def _refresh() -> Response:
    service = _service()
    data = _fields(service, "refresh")
    if isinstance(data, Response):
        return data
    cookie, csrf = cookie_parts(service.cookies, request.environ)
    return _render(service.refresh(data.get("refresh_token") or None, cookie, csrf))


def _logout() -> Response:
    service = _service()
    data = _fields(service, "logout")
    if isinstance(data, Response):
        return data
    cookie, csrf = cookie_parts(service.cookies, request.environ)
    return _render(service.logout(get_principal(), data.get("refresh_token") or None, cookie, csrf))


for _view in (_login, _refresh, _logout):
    setattr(_view, POLICY_ATTR, PUBLIC)


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
        state = setup.app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, State):
            return  # JWT(app) may come later; the views check again when called
        if state.service is None:
            raise ConfigurationError(NO_LIFECYCLE)
        if state.cookies is not None:
            state.cookies.check_routes_at(setup.url_prefix or "/", "JWT_REFRESH_PATH")

    blueprint.record(check)
    return blueprint


def revoke_subject(subject: str) -> None:
    """Revoke every token of ``subject`` issued before the current second, through the
    current app's issuer (password change, compromise). Needs an app context."""
    JWT.token_issuer(app_or_current(None)).revoke_subject(subject)
