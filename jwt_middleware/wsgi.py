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

``transport=TransportPolicy(...)`` (``transport_policy_from_mapping(os.environ)``): a
token over plain HTTP is refused with 400 ``invalid_request`` (``JWT_REQUIRE_HTTPS``)
before it is read, responses over HTTPS get ``Strict-Transport-Security`` when
configured, and the scheme comes from forwarding headers of the trusted proxies only
(see :mod:`jwt_middleware.asgi` and docs/security.md).

``dpop=DPoPPolicy(...)``: ``Authorization: DPoP`` with its proof, as in
:mod:`jwt_middleware.asgi` (docs/dpop.md); a bound token sent as ``Bearer`` is refused in
every mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._core.config import Config
from ._core.dpop_policy import DPoPPolicy
from ._core.errors import AuthError
from ._core.verify import Verifier
from ._lifecycle.cookies import CookiePolicy
from ._sansio.authenticator import (
    FALLBACK,
    PRINCIPAL_KEY,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from ._sansio.dpop import environ_proofs, environ_public_url
from ._sansio.enforce import TransportPolicy, transport_option, wsgi_transport

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["JWTMiddleware", "PRINCIPAL_KEY", "error_response"]

_STATUS = {
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    503: "503 Service Unavailable",
}


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
        metrics: Any = None,
        transport: TransportPolicy | None = None,
        dpop: DPoPPolicy | None = None,
    ) -> None:
        self.app = app
        self.transport = transport_option(transport, cookies)
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
        self._csrf_key = cookies.csrf_environ_key if cookies else None
        self.on_error = on_error

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        header = environ.get("HTTP_AUTHORIZATION")
        authenticator = self.authenticator
        principal: Any = FALLBACK
        try:
            if self.transport is not None:  # HTTPS first, before any token is read
                start_response = wsgi_transport(
                    self.transport, environ, start_response, authenticator
                )
            # The fast path (see _sansio.authenticator); never for OPTIONS (a preflight).
            if header is not None and method != "OPTIONS" and authenticator.fast_path:
                principal = authenticator.fast(method, path, header)
            if principal is FALLBACK:
                principal = authenticator.authenticate(
                    RequestInfo(
                        method,
                        path,
                        header,
                        method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ,
                        None,
                        environ.get("HTTP_COOKIE") if self._csrf_key else None,
                        environ.get(self._csrf_key) if self._csrf_key else None,
                        dpop=environ_proofs(environ),
                        url=lambda: environ_public_url(environ),
                    )
                )
        except AuthError as exc:
            if self.on_error is not None:
                answer = self.on_error(environ, exc)
                if answer is not None:
                    return answer(environ, start_response)
            return error_response(exc, authenticator.realm, start_response)
        environ[PRINCIPAL_KEY] = principal
        return self.app(environ, start_response)
