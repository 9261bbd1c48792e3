"""The session routes beside the token routes: my sessions, revoking one or all the others,
and an administrator's view of another user's (``docs/sessions.md``).

``sessions_blueprint()`` serves, under ``/auth`` by default, ``GET /sessions``,
``DELETE /sessions/<id>``, ``POST /sessions/revoke-others``, ``GET
/users/<subject>/sessions`` and ``DELETE /users/<subject>/sessions/<id>`` for the app's
:class:`~jwt_middleware.TokenService`. Every view needs a valid access token whatever the
app's mode (the ``before_request`` hook checks it, CSRF included in cookie mode); the
answers are the :class:`~jwt_middleware.SessionEndpoints` ones. The login route records the
client's ``User-Agent``, the ``device`` label of its body and, with
``JWT_SESSION_RECORD_ADDRESS``, ``request.remote_addr`` (behind a proxy, apply Werkzeug's
``ProxyFix`` with the number of proxies you trust; where an adapter recorded the trusted
proxies, the first hop that is not one of them).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from .._core.errors import ConfigurationError
from .._lifecycle.session_endpoints import SessionEndpoints
from ._accessors import get_principal
from ._extension import JWT
from ._routes import _render, registered_state
from ._state import POLICY_ATTR, app_or_current

__all__ = ["sessions_blueprint"]


def _endpoints() -> SessionEndpoints:
    return SessionEndpoints(JWT.token_service(app_or_current(None)))


def _mine() -> Response:
    return _render(_endpoints().mine(get_principal()))


def _revoke(session_id: str) -> Response:
    return _render(_endpoints().revoke(get_principal(), session_id))


def _revoke_others() -> Response:
    return _render(_endpoints().revoke_others(get_principal()))


def _of_user(subject: str) -> Response:
    return _render(_endpoints().of_user(get_principal(), subject))


def _revoke_of_user(subject: str, session_id: str) -> Response:
    return _render(_endpoints().revoke_of_user(get_principal(), subject, session_id))


for _view in (_mine, _revoke, _revoke_others, _of_user, _revoke_of_user):
    setattr(_view, POLICY_ATTR, "required")


def sessions_blueprint(*, name: str = "jwt_sessions", url_prefix: str = "/auth") -> Blueprint:
    """The session routes for the app's token service (module docstring), under
    ``url_prefix``; register it beside :func:`auth_blueprint`. A store that keeps no
    sessions is refused when the blueprint is registered."""
    if not url_prefix.startswith("/"):
        raise ConfigurationError("url_prefix starts with '/', such as '/auth'")
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix.rstrip("/") or None)
    blueprint.add_url_rule("/sessions", "sessions", _mine, methods=["GET"])
    blueprint.add_url_rule("/sessions/revoke-others", "revoke_others", _revoke_others,
                           methods=["POST"])
    blueprint.add_url_rule("/sessions/<session_id>", "revoke", _revoke, methods=["DELETE"])
    blueprint.add_url_rule("/users/<path:subject>/sessions", "user_sessions", _of_user,
                           methods=["GET"])
    blueprint.add_url_rule("/users/<path:subject>/sessions/<session_id>", "revoke_user_session",
                           _revoke_of_user, methods=["DELETE"])

    def check(setup: Any) -> None:
        state = registered_state(setup)
        if state is not None and state.service is not None and (
            not state.service.issuer.sessions.enabled
        ):
            raise ConfigurationError(
                f"{type(state.service.issuer.store).__name__} keeps no sessions: the session "
                "routes need a store of jwt_middleware.stores (or one with record_session)"
            )

    blueprint.record(check)
    return blueprint
