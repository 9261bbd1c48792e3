"""The ``before_request`` hook: authenticate every routed request, per the view's or the
app's policy, and load the app's user. It runs on every request: it resolves Flask's
proxies once, and caches each view's mode in the app's state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, request

from .._core.errors import AuthError
from .._lifecycle.cookies import CookiePolicy
from .._lifecycle.hooks import USER_KEY, load_user
from .._sansio.authenticator import PRINCIPAL_KEY, RequestInfo
from ._errors import answer
from ._state import POLICY_ATTR, PUBLIC, State, state_of


def view_mode(app: Flask, state: State, endpoint: str, method: str) -> str | None:
    """The mode a decorator set on the view (or the ``MethodView`` method), if any."""
    cache_key = (endpoint, method)
    try:
        return state.modes[cache_key]
    except KeyError:
        pass
    view = app.view_functions.get(endpoint)
    mode: str | None = getattr(view, POLICY_ATTR, None)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        mode = getattr(handler, POLICY_ATTR, mode)
    state.modes[cache_key] = mode
    return mode


def cookie_parts(
    cookies: CookiePolicy | None, environ: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """The raw ``Cookie`` header and the CSRF header, in cookie mode."""
    if cookies is None:
        return None, None
    return environ.get("HTTP_COOKIE"), environ.get(cookies.csrf_environ_key)


def is_preflight(environ: Mapping[str, Any]) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    )


def authenticate_request() -> Response | None:
    """The ``before_request`` hook: authenticate per the view's or the app's policy."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    endpoint = req.endpoint
    if endpoint is None:  # no route matched: Flask answers 404 / 405
        return None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = state_of(app)
    environ = req.environ
    method = req.method
    mode = view_mode(app, state, endpoint, method)
    authenticator = state.default if mode is None else getattr(state, mode)
    cookie, csrf = cookie_parts(state.cookies, environ)
    info = RequestInfo(
        method, req.path, environ.get("HTTP_AUTHORIZATION"), is_preflight(environ), None,
        cookie, csrf,
    )
    try:
        principal = environ[PRINCIPAL_KEY] = authenticator.authenticate(info)
    except AuthError as exc:
        return answer(app, state, exc)
    loader = state.hooks.user_loader
    if principal is not None and loader is not None and mode != PUBLIC:
        try:
            environ[USER_KEY] = load_user(loader, principal)
        except AuthError as exc:  # the user is gone (or the loader refused)
            if authenticator.is_public(method, req.path):
                environ[USER_KEY] = None  # as a bad token there: the request goes on
            else:
                authenticator.report(exc, method, req.path, principal.subject)
                return answer(app, state, exc)
    return None
