"""The ``before_request`` hook: authenticate every routed request, per the view's or the
app's policy, and load the app's user. It runs on every request: it is bound to its app
and state when ``init_app`` installs it, resolves Flask's request proxy once, caches each
view's mode in the app's state, and takes the fast path (``_sansio.authenticator``) for a
plain ``Authorization: Bearer`` header. With a transport policy it first refuses a token
over plain HTTP (``_sansio.enforce``, before the fast path) and leaves the HSTS value for
:func:`add_hsts`, the ``after_request`` hook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, request

from .._core.errors import AuthError
from .._lifecycle.cookies import CookiePolicy
from .._lifecycle.hooks import USER_KEY, load_user
from .._sansio.authenticator import FALLBACK, PRINCIPAL_KEY, Authenticator, RequestInfo
from .._sansio.dpop import environ_proofs, environ_public_url, scheme_of
from .._sansio.enforce import HSTS_KEY, environ_transport
from ._errors import answer
from ._state import POLICY_ATTR, PUBLIC, State


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


def request_hook(app: Flask, state: State) -> Callable[[], Response | None]:
    """``app``'s ``before_request`` hook, bound to the app and its state (so a request
    looks neither up through ``current_app``)."""
    modes = state.modes
    by_mode: dict[str | None, Authenticator] = {
        None: state.default, "required": state.required, "optional": state.optional,
        PUBLIC: state.public,
    }

    def authenticate_request() -> Response | None:
        """Authenticate per the view's or the app's policy."""
        req = request._get_current_object()  # type: ignore[attr-defined]
        if state.transport is not None:  # HTTPS first, before any token is read
            try:
                hsts = environ_transport(state.transport, req.environ, state.default)
            except AuthError as exc:
                return answer(app, state, exc)
            if hsts is not None:
                req.environ[HSTS_KEY] = hsts
        endpoint = req.endpoint
        if endpoint is None:  # no route matched: Flask answers 404 / 405
            return None
        environ = req.environ
        method = req.method
        try:
            mode = modes[endpoint, method]
        except KeyError:
            mode = view_mode(app, state, endpoint, method)
        authenticator = by_mode[mode]
        header = environ.get("HTTP_AUTHORIZATION")
        principal: Any = FALLBACK
        try:
            # The fast path (see _sansio.authenticator); never for OPTIONS (a preflight).
            if header is not None and method != "OPTIONS" and authenticator.fast_path:
                principal = authenticator.fast(method, req.path, header)
            if principal is FALLBACK:
                cookie, csrf = cookie_parts(state.cookies, environ)
                principal = authenticator.authenticate(
                    RequestInfo(method, req.path, header, is_preflight(environ), None, cookie, csrf,
                                dpop=environ_proofs(environ),
                                url=lambda: environ_public_url(environ))
                )
        except AuthError as exc:
            return answer(app, state, exc)
        environ[PRINCIPAL_KEY] = principal
        loader = state.hooks.user_loader
        if principal is not None and loader is not None and mode != PUBLIC:
            try:
                environ[USER_KEY] = load_user(loader, principal)
            except AuthError as exc:  # the user is gone (or the loader refused)
                if authenticator.is_public(method, req.path):
                    environ[USER_KEY] = None  # as a bad token there: the request goes on
                else:
                    authenticator.report(exc, method, req.path, principal.subject)
                    authenticator.dpop.challenge(exc, state.realm, scheme_of(principal))
                    return answer(app, state, exc)
        return None

    return authenticate_request


def add_hsts(response: Response) -> Response:
    """``after_request``: ``Strict-Transport-Security`` on a response over HTTPS, when the
    policy has it (the request hook decided, :data:`HSTS_KEY`) and the view set none."""
    value = request.environ.get(HSTS_KEY)
    if value is not None and "Strict-Transport-Security" not in response.headers:
        response.headers["Strict-Transport-Security"] = value
    return response
