"""Pure WSGI middleware: JWT bearer authentication for any WSGI app.

Usage (Flask shown; any WSGI app works the same)::

    from jwt_middleware import Config
    from jwt_middleware.wsgi import JWTMiddleware

    app.wsgi_app = JWTMiddleware(app.wsgi_app, config=Config.from_env(),
                                 public_paths=["/health", "/static/*"])

It reads ``Authorization: Bearer``, verifies the token, and puts the
:class:`~jwt_middleware.Principal` at ``environ["jwt_middleware.principal"]``
(``None`` when the request needed no token). A refused request gets the
RFC 6750 answer: 401 or 403, a JSON body and ``WWW-Authenticate``.

Modes and public paths are those of :mod:`jwt_middleware.asgi`:
``mode="required"`` (default, deny by default; CORS preflight passes) or
``"optional"``. The middleware keeps no state per request, so it is safe
under threaded servers.

``on_error(environ, error)`` may return a WSGI app (a Werkzeug ``Response``
is one) to answer instead; returning ``None`` keeps the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ._core.config import Config
from ._core.errors import AuthError
from ._core.verify import Verifier
from ._lifecycle.cookies import CookiePolicy
from ._sansio.authenticator import PRINCIPAL_KEY, AuthEvent, RequestInfo, build_authenticator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["JWTMiddleware", "PRINCIPAL_KEY", "error_response"]

_STATUS = {401: "401 Unauthorized", 403: "403 Forbidden", 503: "503 Service Unavailable"}


def error_response(exc: AuthError, realm: str, start_response: StartResponse) -> list[bytes]:
    """Start the RFC 6750 answer for ``exc`` and return its body."""
    body = exc.json_body()
    headers = [*exc.headers(realm), ("content-length", str(len(body)))]
    start_response(_STATUS.get(exc.status, f"{exc.status} Error"), headers)
    return [body]


class JWTMiddleware:
    """Pure WSGI middleware. Wrap ``app.wsgi_app``; configuration in the constructor."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        config: Config | None = None,
        verifier: Verifier | None = None,
        mode: str = "required",
        public_paths: Iterable[str] = (),
        public_methods: Iterable[str] = (),
        on_error: Callable[[WSGIEnvironment, AuthError], WSGIApplication | None] | None = None,
        on_event: Callable[[AuthEvent], None] | None = None,
        cookies: CookiePolicy | None = None,
    ) -> None:
        self.app = app
        self.authenticator = build_authenticator(
            config,
            verifier,
            mode=mode,
            public_paths=public_paths,
            public_methods=public_methods,
            on_event=on_event,
            cookies=cookies,
        )
        self._csrf_key = cookies.csrf_environ_key if cookies else None
        self.on_error = on_error

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        request = RequestInfo(
            method,
            environ.get("PATH_INFO", "") or "/",
            environ.get("HTTP_AUTHORIZATION"),
            method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ,
            None,
            environ.get("HTTP_COOKIE") if self._csrf_key else None,
            environ.get(self._csrf_key) if self._csrf_key else None,
        )
        try:
            environ[PRINCIPAL_KEY] = self.authenticator.authenticate(request)
        except AuthError as exc:
            if self.on_error is not None:
                answer = self.on_error(environ, exc)
                if answer is not None:
                    return answer(environ, start_response)
            return error_response(exc, self.authenticator.realm, start_response)
        return self.app(environ, start_response)
