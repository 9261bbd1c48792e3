"""What a view reads: the request's principal, its claims and the app's user.

``current_principal`` and ``current_user`` are proxies resolved at each use; the
principal and the user were stored in the WSGI environ by the hook, once per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import has_request_context, request
from werkzeug.local import LocalProxy

from .._core.principal import Principal
from .._lifecycle.hooks import USER_KEY
from .._sansio.authenticator import PRINCIPAL_KEY
from ._state import app_or_current, state_of


def get_principal() -> Principal | None:
    """The request's principal, or ``None`` when it carries none (optional or public routes)."""
    if not has_request_context():
        raise RuntimeError(
            "jwt_middleware.flask: no request is being handled. Use current_principal, "
            "get_jwt() and get_principal() inside a view or a request hook "
            "(in tests, inside app.test_request_context() or a test client request)"
        )
    principal = request.environ.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def _require_principal() -> Principal:
    principal = get_principal()
    if principal is None:
        raise RuntimeError(
            "jwt_middleware.flask: this request carries no verified token. Protect the view "
            "with @jwt_required() or a guard, or call get_principal(), which returns None, "
            "on optional or public routes"
        )
    return principal


def get_jwt() -> Mapping[str, Any]:
    """The verified token's claims (read-only). Raises :class:`RuntimeError` without one."""
    return _require_principal().claims


#: The request's :class:`~jwt_middleware.Principal`. Raises :class:`RuntimeError`
#: outside a request that carries a verified token.
current_principal: Principal = LocalProxy(_require_principal)  # type: ignore[assignment]


def get_current_user() -> Any:
    """The app's user that ``user_loader`` loaded for this request, or ``None`` (no
    verified token, no loader, or a public path whose token's user is gone)."""
    if not has_request_context():
        raise RuntimeError(
            "jwt_middleware.flask: no request is being handled. Use current_user and "
            "get_current_user() inside a view or a request hook"
        )
    return request.environ.get(USER_KEY)


def _require_user() -> Any:
    user = get_current_user()
    if user is None:
        if state_of(app_or_current(None)).hooks.user_loader is None:
            raise RuntimeError(
                "jwt_middleware.flask: current_user needs a user loader: decorate one with "
                "@jwt.user_loader or pass JWT(app, user_loader=...)"
            )
        raise RuntimeError(
            "jwt_middleware.flask: this request has no user (no verified token). Protect "
            "the view with @jwt_required() or a guard, or call get_current_user(), which "
            "returns None, on optional or public routes"
        )
    return user


#: The app's user object for this request (``user_loader(principal)``, loaded once
#: per request). Raises :class:`RuntimeError` where there is none.
current_user: Any = LocalProxy(_require_user)
