"""FastAPI integration: a bearer-token security dependency.

Usage::

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from jwt_middleware import Principal
    from jwt_middleware.fastapi import JWTBearer

    auth = JWTBearer(config=config)
    CurrentPrincipal = Annotated[Principal, Depends(auth)]

    app = FastAPI()
    auth.init_app(app)  # RFC 6750 bodies, and the 401/403 answers in OpenAPI

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, object]:
        return principal.to_dict()

    @app.get("/admin", dependencies=[Depends(auth.roles_required("admin"))])
    async def admin() -> dict[str, str]:
        return {"ok": "admin"}

``JWTBearer`` is a FastAPI security scheme (an HTTP bearer scheme with
``bearerFormat: JWT``): every route that depends on it, directly or through
one of its guards, gets a padlock in ``/docs`` and a ``security`` entry in
the OpenAPI document, and the Authorize button sets the header.

The dependency returns the :class:`~jwt_middleware.Principal`. When the pure
ASGI :class:`~jwt_middleware.asgi.JWTMiddleware` runs in front of the app and
already attached one, that one is used; otherwise the ``Authorization``
header is read and verified here with ``averify`` (never blocking the loop).

Guards, each a dependency that returns the principal, usable in
``dependencies=[Depends(...)]`` or as a parameter:

* ``auth.jwt_required()`` (the same as ``auth``), ``auth.jwt_required(optional=True)``
  (``Principal | None``: no token gives ``None``, a bad token is still 401);
* ``auth.roles_required(*roles)`` (all), ``auth.roles_accepted(*roles)`` (any);
* ``auth.scopes_required(*scopes)``, ``auth.claims_required(predicate, description=...)``;
* ``auth.fresh_required()``: a token minted by a login, not by a refresh (401
  ``insufficient_user_authentication``): for password changes, payments.

The app's user: ``JWTBearer(config=..., user_loader=load)`` and
``Depends(auth.current_user)`` give ``load(principal)`` (sync or async; a sync
one runs in a worker thread), called once per request and cached in the scope
(the ASGI middleware's ``user_loader`` result is reused when it ran). ``None``
(the user is gone) is 401 ``invalid_token``.

Errors: a missing or bad token is 401, a failed guard 403, each raised as
:class:`JWTHTTPException` (an ``HTTPException``) with the RFC 6750
``WWW-Authenticate`` header. Call ``auth.init_app(app)`` once: refusals then
get the body every other part of the package sends,
``{"error": ..., "error_description": ...}``, and every route that depends on
a bearer declares its 401 (and, behind a guard, 403) answer in OpenAPI. A
dependency cannot answer by itself in FastAPI: whatever it raises is rendered
by the app's exception handlers, and the stock ``HTTPException`` one always
writes ``{"detail": ...}``. So ``init_app`` registers a handler for
:class:`JWTHTTPException` only (nothing but this package raises it; the app's
``HTTPException``, validation and 404 answers are untouched), and without it
refusals keep FastAPI's ``{"detail": "<description>"}``. When the ASGI
middleware in front has an ``on_error`` hook, that handler answers with it.
On websocket routes the handshake is closed with code 1008.

Rejections are logged on the ``jwt_middleware`` logger and passed to the
``on_event`` hook: the bearer's own, or else the middleware's.

Token lifecycle: :func:`token_router` is an ``APIRouter`` with ``POST
/auth/login``, ``/auth/refresh`` and ``/auth/logout`` for a
:class:`~jwt_middleware.TokenService` (async all the way: the password check
runs in a worker thread)::

    service = TokenService(Issuer(config), users.check, cookies=policy)
    app.include_router(token_router(service))

Login takes JSON ``{"username", "password"}`` or the OAuth 2 password form;
with ``JWTBearer(config=..., token_url="/auth/login")`` the scheme is an
OAuth 2 password flow and the ``/docs`` Authorize dialog logs in with a
username and password (bearer mode only: in cookie mode the body carries no
token). See :mod:`jwt_middleware.starlette` for what each route reads.

Sessions: :func:`sessions_router` (``GET /auth/sessions``, revoking one or the others, an
administrator's view of a user's; ``docs/sessions.md``) depends on the bearer, so its
routes carry the security scheme and the 401/403 answers in OpenAPI::

    app.include_router(sessions_router(service, auth))

The package by subject: ``_bearer`` (``JWTBearer``, its guards, the app's
user), ``_errors`` (the one error shape: ``JWTHTTPException`` and its handler),
``_openapi`` (the security scheme, the 401/403 answers), ``_routes`` (the token,
key and readiness routers), ``_sessions`` (the session router).
"""

from .._keysources.publish import WELL_KNOWN_PATHS
from .._sansio.health import READINESS_PATH
from ._bearer import JWTBearer
from ._errors import JWTHTTPException, rfc6750_exception_handler, use_rfc6750_errors
from ._routes import jwks_router, readiness_router, token_router
from ._sessions import sessions_router

__all__ = [
    "JWTBearer",
    "JWTHTTPException",
    "READINESS_PATH",
    "WELL_KNOWN_PATHS",
    "jwks_router",
    "readiness_router",
    "rfc6750_exception_handler",
    "sessions_router",
    "token_router",
    "use_rfc6750_errors",
]
