"""Flask integration: deny-by-default JWT protection with per-view decorators.

Install with ``pip install "jwt-middleware[flask]"``. Quickstart::

    from flask import Flask
    from jwt_middleware.flask import JWT, current_principal, roles_required

    app = Flask(__name__)
    app.config.update(JWT_ALGORITHMS="RS256", JWT_PUBLIC_KEY_FILE="public.pem")
    JWT(app)  # from here on, every route needs a valid token
    @app.get("/admin")
    @roles_required("admin")
    def admin():
        return {"hello": current_principal.subject}

Setup
-----
``JWT(app)`` or, with an app factory, ``jwt = JWT()`` then ``jwt.init_app(app)``.
The extension object keeps no app; everything per app lives in
``app.extensions["jwt_middleware"]``, so several apps with different settings
run in one process. Settings come from ``config=`` (a
:class:`~jwt_middleware.Config`) or else from ``app.config`` under one prefix
(``JWT_`` by default): the core keys (``JWT_ALGORITHMS``, ``JWT_SECRET``,
``JWT_PUBLIC_KEY_FILE``, ``JWT_ISSUER``, ``JWT_AUDIENCE``, ...) plus
``JWT_MODE``, ``JWT_PUBLIC_PATHS`` and ``JWT_PUBLIC_METHODS``. An unknown
``JWT_*`` key is an error at ``init_app`` (another extension using ``JWT_``,
such as Flask-JWT-Extended, needs ``prefix=`` here). Everything is validated at
``init_app``, never on the first request.

Deny by default
---------------
A ``before_request`` hook (the first one the app runs) authenticates every
request that matched a route. A view without a decorator follows the app's
policy: ``JWT_MODE`` (``"required"``, the default, or ``"optional"``) and the
public paths (``"/health"`` exact, ``"/static/*"`` prefix) and methods. A
decorated view decides for itself and the app-wide public paths and methods
do not apply to it: ``@jwt_required()`` needs a valid token,
``@jwt_required(optional=True)`` lets a request without a token through (a bad
token is still 401), and a guard decorator needs a valid token. CORS
preflight requests always pass. Requests that match no route are left to
Flask (404, 405). The principal is stored at
``request.environ["jwt_middleware.principal"]``.

Decorators (sync and async views, and ``MethodView`` methods)
-------------------------------------------------------------
``@jwt_required()``, ``@jwt_required(optional=True)``,
``@roles_required(*roles)`` (all of them), ``@roles_accepted(*roles)`` (any
one), ``@scopes_required(*scopes)`` and
``@claims_required(predicate, description=...)`` and ``@fresh_required()`` (a
token from a login, not a refresh: 401 ``insufficient_user_authentication``), and
``@dpop_required()`` (a DPoP-bound token with a valid proof by its key; needs
``JWT_DPOP`` ``allowed`` or ``required``, see ``docs/dpop.md``). Put them under
``@app.route``. Their arguments are checked when the module is imported.

Token lifecycle
---------------
``JWT(app, check_credentials=users.check)`` (a sync ``(username, password) ->
Identity | None``) also builds, per app, an :class:`~jwt_middleware.Issuer` from
the same config (it needs ``JWT_STORE_URL``, one ``JWT_ISSUER`` and a signing
key; ``JWT_ACCESS_TTL``, ``JWT_REFRESH_TTL``, ``JWT_REFRESH_GRACE``) and a
:class:`~jwt_middleware.TokenService`. ``app.register_blueprint(auth_blueprint())``
serves ``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout``; these
routes need no access token (logout uses a valid one, and ignores a missing or
bad one). ``revoke_subject(subject)`` revokes every token of a user (password
change); ``JWT.token_service(app)`` and ``JWT.token_issuer(app)`` give the parts.
``app.register_blueprint(sessions_blueprint())`` adds the session routes (``GET
/auth/sessions``, revoking one or the others, an admin's view of a user's:
``docs/sessions.md``); they need a valid access token.

Cookie mode (``JWT_COOKIES=True`` or ``cookies=CookiePolicy(...)``): login and
refresh set HttpOnly cookies instead of returning the tokens; the access token
is also read from its cookie (``Authorization`` wins), and a cookie-authenticated
unsafe request needs the CSRF header (403 otherwise).

Answers
-------
No or malformed token: 401 ``invalid_request``; bad token: 401
``invalid_token``; a failed guard: 403 ``insufficient_scope`` (401
``insufficient_user_authentication`` for ``fresh_required``). Each with the
RFC 6750 JSON body ``{"error": ..., "error_description": ...}`` and a
``WWW-Authenticate: Bearer ...`` header. ``JWT(app, on_error=shape)`` (or
``init_app(app, on_error=shape)``) shapes them: ``shape(request, error)``
returns a response, or ``None`` for the default, as the ASGI middleware's
``on_error`` does. The answers are returned as responses, not raised, so the
app's error handlers do not see them (a catch-all ``errorhandler(Exception)``
would otherwise turn refusals into 500s); call yours from ``on_error``. Rejections,
guard failures included, are logged on the ``jwt_middleware`` logger and
passed to ``on_event`` (an :class:`AuthEvent`); neither ever holds the token.

Accessors
---------
``current_principal`` (a :class:`~jwt_middleware.Principal` proxy),
``get_jwt()`` (the claims) and ``get_principal()`` (the principal or ``None``).
The first two raise :class:`RuntimeError` outside a request that carries a
verified token.

The app's user: ``@jwt.user_loader`` (or ``JWT(app, user_loader=load)``) loads it
from the principal once per request that carries a verified token, before the
view, as flask-jwt-extended's ``user_lookup_loader`` does; ``current_user`` is
that object and ``get_current_user()`` gives it or ``None``. A loader returning
``None`` (the user is gone) refuses with 401 ``invalid_token``, reason
``unknown_user``; on public paths the request goes on without a user instead.
The auth, JWKS and readiness routes never call it. ``@jwt.claims_loader`` adds
claims to every login (flask-jwt-extended's ``additional_claims_loader``).

Layout, each part importing only those listed before it (``_state`` names ``JWT``
for types only): ``_state`` (the per-app state in ``app.extensions`` and the hooks
it calls), ``_errors`` (refusals and ``on_error``), ``_hook`` (the
``before_request`` hook), ``_settings`` (``app.config`` under the prefix),
``_extension`` (``JWT``, ``init_app``), ``_accessors`` (``current_principal``,
``current_user``), ``_guards`` (the decorators), ``_routes`` (the token routes),
``_sessions`` (the session routes), ``_publish`` (JWKS and readiness).
"""

from __future__ import annotations

from .._keysources.publish import WELL_KNOWN_PATHS
from .._lifecycle.cookies import CookiePolicy
from .._lifecycle.endpoints import Identity
from .._sansio.authenticator import PRINCIPAL_KEY, AuthEvent
from .._sansio.health import READINESS_PATH
from ._accessors import (
    current_principal,
    current_user,
    get_current_user,
    get_jwt,
    get_principal,
)
from ._extension import JWT
from ._guards import (
    ViewDecorator,
    claims_required,
    dpop_required,
    fresh_required,
    jwt_required,
    roles_accepted,
    roles_required,
    scopes_required,
)
from ._publish import jwks_blueprint, readiness_blueprint
from ._routes import auth_blueprint, revoke_subject
from ._sessions import sessions_blueprint
from ._state import EXTENSION_KEY

__all__ = [
    "AuthEvent",
    "CookiePolicy",
    "EXTENSION_KEY",
    "Identity",
    "JWT",
    "PRINCIPAL_KEY",
    "READINESS_PATH",
    "ViewDecorator",
    "WELL_KNOWN_PATHS",
    "auth_blueprint",
    "claims_required",
    "current_principal",
    "current_user",
    "dpop_required",
    "fresh_required",
    "get_current_user",
    "get_jwt",
    "get_principal",
    "jwks_blueprint",
    "jwt_required",
    "readiness_blueprint",
    "revoke_subject",
    "roles_accepted",
    "roles_required",
    "scopes_required",
    "sessions_blueprint",
]
