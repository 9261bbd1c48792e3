"""Starlette integration: per-endpoint decorators and an authentication backend.

Put the pure ASGI :class:`~jwt_middleware.asgi.JWTMiddleware` in front of the
app (it verifies the token once per request and attaches the principal), then
state each endpoint's requirement with a decorator::

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from jwt_middleware import Config
    from jwt_middleware.starlette import JWTMiddleware, roles_required

    @roles_required("admin")
    async def admin(request): return PlainTextResponse(f"hello {request.user.display_name}")
    app = Starlette(routes=[Route("/admin", admin)])
    app.add_middleware(JWTMiddleware, config=Config.from_env())

Decorators (the same names as in ``jwt_middleware.flask``):

* ``@jwt_required()``: a verified token; ``@jwt_required(optional=True)``
  lets anonymous requests through (read the principal with
  :func:`get_principal`, ``None`` when there is none);
* ``@roles_required(*roles)``: all of the roles;
* ``@roles_accepted(*roles)``: at least one of the roles;
* ``@scopes_required(*scopes)``: all of the scopes;
* ``@claims_required(predicate, description=...)``: a predicate over the claims;
* ``@fresh_required()``: a token minted by a login, not by a refresh (401
  ``insufficient_user_authentication``): for password changes, payments;
* ``@dpop_required()``: a DPoP-bound token with a valid proof by its key, on an app
  whose middleware has DPoP ``allowed`` (``JWTMiddleware(dpop=DPoPPolicy(...))``): the
  route asks for more than the app, never less (see ``docs/dpop.md``).

They work on function endpoints (sync and async), ``HTTPEndpoint`` methods,
websocket functions and ``WebSocketEndpoint.on_connect``, and keep the
decorated function's signature. Like Starlette's own ``requires``, they find
the ``request`` or ``websocket`` parameter (by name, else by a
``Request``/``WebSocket`` annotation) when the module is imported: a function
without one is a :class:`~jwt_middleware.ConfigurationError` at import time.

They only read what the middleware attached (``scope["jwt_middleware.principal"]``);
they never verify a token themselves. Answers:

* no principal: 401 ``invalid_request`` (RFC 6750 JSON body and
  ``WWW-Authenticate``, with the middleware's realm, or ``"api"`` when no
  middleware is installed);
* a guard fails: 403 ``insufficient_scope``, same shape; the rejection is
  reported to the middleware's log and ``on_event`` hook with the subject;
* websocket endpoints: the handshake is closed with code 1008 before accept.

If you prefer Starlette's ``AuthenticationMiddleware``, use
:class:`JWTAuthBackend` with :func:`on_auth_error`::

    Middleware(AuthenticationMiddleware, backend=JWTAuthBackend(config),
               on_error=on_auth_error)

It reads only the ``Authorization`` header; an absent token gives an
anonymous user, a bad one the RFC 6750 401. The decorators work behind it too.
Starlette closes refused websockets itself (code 1000) there.

Token lifecycle: :func:`token_routes` (or :func:`token_mount`) serves
``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout`` for a
:class:`~jwt_middleware.TokenService`, with its async methods (the event loop
never waits for a password hash or the store)::

    service = TokenService(Issuer(config), users.check, cookies=policy)
    app = Starlette(routes=[token_mount(service), ...])
    app.add_middleware(JWTMiddleware, config=config, cookies=policy,
                       public_paths=auth_public_paths())

* login: JSON ``{"username", "password"}`` or an OAuth 2 form
  (``application/x-www-form-urlencoded``: ``username``, ``password``);
* refresh: JSON or form ``{"refresh_token"}``; in cookie mode the refresh
  cookie and the CSRF header instead;
* logout: the access token if the middleware attached one (a missing or
  expired one is fine: the route is public) and the refresh token from the
  body or, in cookie mode, the cookie (with the CSRF header).

Bodies (the same rules in all three integrations): at most
``TokenService(max_body=...)`` bytes (16 KiB), else 413; only ``application/json``
or ``application/x-www-form-urlencoded`` (UTF-8), else 400 (an empty body needs
no type); a JSON object nested at most 4 levels; a ``grant_type`` other than the
route's is 400 ``unsupported_grant_type``. Refusals are RFC 6749 JSON errors.

Sessions: :func:`sessions_routes` (``GET /auth/sessions``, revoking one or the others, an
administrator's view of a user's; ``docs/sessions.md``) go into the same mount,
``token_mount(service, "/auth", sessions_routes(service))``, and need the access token
the middleware verified (they are not in :func:`auth_public_paths`).
"""

from __future__ import annotations

# The names in ``__all__`` are imported plainly. The ``name as name`` ones are importable
# here too, though not in ``__all__`` (as before the split): the token routes' pieces, for
# apps that wire the routes themselves, and what ``jwt_middleware.fastapi`` shares.
from .._keysources.publish import WELL_KNOWN_PATHS
from .._sansio.health import READINESS_PATH
from ..asgi import JWTMiddleware
from ._backend import JWTAuthBackend, JWTAuthenticationError, JWTUser, on_auth_error
from ._decorators import POLICY_VIOLATION as POLICY_VIOLATION
from ._decorators import (
    EndpointDecorator,
    claims_required,
    dpop_required,
    fresh_required,
    jwt_required,
    roles_accepted,
    roles_required,
    scopes_required,
)
from ._errors import DEFAULT_REALM as DEFAULT_REALM
from ._errors import error_response
from ._publish import document_response as document_response
from ._publish import jwks_routes, readiness_routes
from ._publish import publisher_for as publisher_for
from ._routes import MAX_BODY as MAX_BODY
from ._routes import ROUTE_NAMES as ROUTE_NAMES
from ._routes import auth_public_paths, reply_response, token_mount, token_routes
from ._routes import check_refresh_path as check_refresh_path
from ._routes import login_reply as login_reply
from ._routes import logout_reply as logout_reply
from ._routes import read_fields as read_fields
from ._routes import refresh_reply as refresh_reply
from ._scope import get_current_user, get_principal
from ._sessions import session_endpoints as session_endpoints
from ._sessions import sessions_routes

__all__ = [
    "EndpointDecorator",
    "JWTAuthBackend",
    "JWTAuthenticationError",
    "JWTMiddleware",
    "JWTUser",
    "READINESS_PATH",
    "WELL_KNOWN_PATHS",
    "auth_public_paths",
    "claims_required",
    "dpop_required",
    "error_response",
    "fresh_required",
    "get_current_user",
    "get_principal",
    "jwks_routes",
    "jwt_required",
    "login_reply",
    "logout_reply",
    "on_auth_error",
    "read_fields",
    "readiness_routes",
    "refresh_reply",
    "reply_response",
    "roles_accepted",
    "roles_required",
    "scopes_required",
    "sessions_routes",
    "token_mount",
    "token_routes",
]
