"""Rendering refusals: the RFC 6750 answer, or the one the middleware's ``on_error`` gives."""

from __future__ import annotations

from typing import cast

from starlette.requests import HTTPConnection
from starlette.responses import Response

from .._core.errors import AuthError
from ..asgi import ERROR_HOOK_KEY

#: The realm of a refusal when no middleware is installed to name its own.
DEFAULT_REALM = "api"


def error_response(error: AuthError, realm: str = DEFAULT_REALM) -> Response:
    """The RFC 6750 answer for ``error``: JSON body and ``WWW-Authenticate``."""
    return Response(error.json_body(), status_code=error.status, headers=dict(error.headers(realm)))


def answer(conn: HTTPConnection, error: AuthError, realm: str) -> Response:
    """The middleware's ``on_error`` answer when it gives one, else :func:`error_response`."""
    hook = conn.scope.get(ERROR_HOOK_KEY)
    if hook is not None:
        reply = hook(conn.scope, error)
        if reply is not None:
            return cast(Response, reply)  # any ASGI app: Starlette awaits it the same way
    return error_response(error, realm)
