"""The one error shape: how a refusal leaves a FastAPI app.

A dependency cannot answer by itself in FastAPI: whatever it raises is rendered
by the app's exception handlers. So a refusal is raised as
:class:`JWTHTTPException` (an ``HTTPException`` carrying the
:class:`~jwt_middleware.AuthError`), and :func:`use_rfc6750_errors` registers
the handler that renders it with the body the rest of the package sends,
``{"error": ..., "error_description": ...}`` (or the ASGI middleware's
``on_error`` answer). On a websocket the handshake is closed with 1008.
"""

from typing import cast

from fastapi import FastAPI, HTTPException, WebSocketException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from .._core.errors import AuthError
from ..asgi import ERROR_HOOK_KEY

__all__ = [
    "JWTHTTPException",
    "POLICY_VIOLATION",
    "refuse",
    "rfc6750_exception_handler",
    "use_rfc6750_errors",
]

#: The websocket close code for a refused handshake.
POLICY_VIOLATION = 1008


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
                "WWW-Authenticate": error.challenge or error.www_authenticate(realm),
                "Cache-Control": "no-store",
            },
        )
        self.error = error
        self.realm = realm


def refuse(conn: HTTPConnection, error: AuthError, realm: str) -> Exception:
    """What a dependency raises for ``error``: a :class:`JWTHTTPException` on HTTP, a
    ``WebSocketException`` (1008) on a websocket."""
    if conn.scope["type"] == "websocket":
        return WebSocketException(code=POLICY_VIOLATION, reason=error.error)
    return JWTHTTPException(error, realm)


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
