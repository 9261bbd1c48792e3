"""What the middleware attached to a request or websocket: the principal and the app's user.

Both are read from the ASGI scope, where :class:`~jwt_middleware.asgi.JWTMiddleware`
(or :class:`~jwt_middleware.starlette.JWTAuthBackend`) put them; nothing here verifies
a token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from .._core.principal import Principal
from .._lifecycle.hooks import USER_KEY
from .._sansio.authenticator import PRINCIPAL_KEY


def get_principal(conn: HTTPConnection) -> Principal | None:
    """The verified principal of this request or websocket, or ``None``."""
    principal = conn.scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def get_current_user(conn: HTTPConnection) -> Any:
    """The app's user that the middleware's ``user_loader`` loaded for this request, or
    ``None`` (no verified token, no loader, or a public path whose user is gone)."""
    return conn.scope.get(USER_KEY)
