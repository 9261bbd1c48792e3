"""The session routes beside the token routes (``docs/sessions.md``).

:func:`sessions_routes` gives ``GET /sessions``, ``DELETE /sessions/{id}``, ``POST
/sessions/revoke-others``, ``GET /users/{subject}/sessions`` and ``DELETE
/users/{subject}/sessions/{id}``; mount them with the token routes::

    token_mount(service, "/auth", sessions_routes(service))

They read the principal the middleware attached (``request.auth``): keep them out of
``public_paths`` (:func:`auth_public_paths` lists only login, refresh and logout), so the
middleware answers a missing or bad token with 401 before they run, and checks the CSRF
header of a cookie-authenticated ``DELETE`` or ``POST``. The answers are the
:class:`~jwt_middleware.SessionEndpoints` ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._core.errors import ConfigurationError
from .._lifecycle.endpoints import Reply, TokenService
from .._lifecycle.session_endpoints import SessionEndpoints
from ._routes import reply_response
from ._scope import get_principal

__all__ = ["session_endpoints", "sessions_routes"]


def session_endpoints(service: TokenService) -> SessionEndpoints:
    """The service's session endpoints; a store that keeps no sessions is refused."""
    if not isinstance(service, TokenService):
        raise ConfigurationError("the session routes take a TokenService")
    if not service.issuer.sessions.enabled:
        raise ConfigurationError(
            f"{type(service.issuer.store).__name__} keeps no sessions: the session routes "
            "need a store of jwt_middleware.stores (or one with record_session)"
        )
    return SessionEndpoints(service)


def sessions_routes(service: TokenService) -> list[Route]:
    """The session routes for ``service`` (module docstring); mount them under ``/auth``."""
    endpoints = session_endpoints(service)

    def route(
        path: str, method: str, name: str, call: Callable[[Request], Awaitable[Reply]]
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            return reply_response(await call(request))

        return Route(path, endpoint, methods=[method], name=name)

    def params(request: Request) -> tuple[str, str]:
        path = request.path_params
        return str(path.get("subject", "")), str(path.get("session_id", ""))

    return [
        route("/sessions", "GET", "sessions", lambda r: endpoints.amine(get_principal(r))),
        route("/sessions/revoke-others", "POST", "revoke_others",
              lambda r: endpoints.arevoke_others(get_principal(r))),
        route("/sessions/{session_id}", "DELETE", "revoke_session",
              lambda r: endpoints.arevoke(get_principal(r), params(r)[1])),
        route("/users/{subject:path}/sessions", "GET", "user_sessions",
              lambda r: endpoints.aof_user(get_principal(r), params(r)[0])),
        route("/users/{subject:path}/sessions/{session_id}", "DELETE", "revoke_user_session",
              lambda r: endpoints.arevoke_of_user(get_principal(r), *params(r))),
    ]
