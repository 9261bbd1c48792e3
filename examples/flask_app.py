"""Flask example: protected routes plus the whole token lifecycle.

Configure it from the environment (``JWT_ALGORITHMS``, ``JWT_SECRET`` or
``JWT_PRIVATE_KEY_FILE``, ``JWT_ISSUER``, ``JWT_AUDIENCE``, ...), then run::

    python -m examples.flask_app --port 8000
    gunicorn examples.flask_app:app

Routes: ``GET /public`` (no token), ``GET /me`` (any valid token; the
principal as JSON), ``GET /admin`` (role ``admin``) and ``GET /health/ready``
(no token: 200 or 503 for a load balancer, naming the store and key checks).

When the app can sign (``JWT_SECRET``, ``JWT_PRIVATE_KEY`` or
``JWT_PRIVATE_KEY_FILE``) and has one ``JWT_ISSUER``, it also issues tokens
for the demo users of :mod:`examples._users` (alice / wonderland-42, admin;
bob / builder-2026, user):

* ``POST /auth/login`` ``{"username", "password"}`` (JSON or form) -> 200
  ``{"access_token", "token_type", "expires_in", "refresh_token"}``;
* ``POST /auth/refresh`` ``{"refresh_token"}`` -> a new pair; a replayed
  refresh token -> 401 and its whole family is revoked;
* ``POST /auth/logout`` (Bearer, ``{"refresh_token"}``) -> 200
  ``{"status": "logged out"}``: the access token and its family are revoked;
* ``POST /auth/password`` ``{"new_password"}``: needs a *fresh* token (from a
  login, not a refresh); sets the password and revokes every token of the user.

With a public key or JWKS only, the app verifies tokens and serves no
``/auth`` routes.

The store: ``JWT_STORE_URL``. Only when it is unset, the example uses
``sqlite:///<tempdir>/jwt-middleware-flask-example.db`` (``tempfile.gettempdir()``),
which the gunicorn workers of one machine share. Cookie mode: ``JWT_COOKIES=1``
(and ``JWT_COOKIE_SECURE=0`` to try it on plain ``http://`` with a client other
than a browser on localhost). Other lifecycle settings: ``JWT_ACCESS_TTL``,
``JWT_REFRESH_TTL``, ``JWT_REFRESH_GRACE``, ``JWT_COOKIE_SAMESITE``. The demo user
table lives in each process: a password change holds only in the worker that made it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

from flask import Flask, request

from examples._common import PUBLIC_PATHS, parse_port
from examples._users import UserTable
from jwt_middleware import Config, ConfigurationError
from jwt_middleware.flask import (
    JWT,
    auth_blueprint,
    current_principal,
    fresh_required,
    readiness_blueprint,
    revoke_subject,
    roles_required,
)

#: The store when ``JWT_STORE_URL`` is unset: a SQLite file in the temporary directory.
DEFAULT_STORE_URL = "sqlite:///" + os.path.join(
    tempfile.gettempdir(), "jwt-middleware-flask-example.db"
)
#: Paths served without a token (the auth routes also say so themselves).
AUTH_PUBLIC_PATHS = (*PUBLIC_PATHS, "/auth/login", "/auth/refresh", "/auth/logout")
MIN_PASSWORD_LENGTH = 8


def _can_issue(config: Config) -> bool:
    """Whether ``config`` can sign tokens under one issuer name (else: verify only)."""
    if not isinstance(config.issuer, str):
        return False
    try:
        config.key_set.signing_key()
    except ConfigurationError:
        return False
    return True


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    """The app factory: settings from ``JWT_*`` environment variables (or ``environ``)."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("JWT_STORE_URL", DEFAULT_STORE_URL)
    config = Config.from_env(environ=env)
    app = Flask(__name__)
    # The lifecycle keys (JWT_COOKIES, JWT_ACCESS_TTL, ...) are read from app.config;
    # the key and claim settings come from ``config``.
    app.config.update({k: v for k, v in env.items() if k.startswith("JWT_")})
    users = UserTable()
    lifecycle = _can_issue(config)
    JWT(
        app,
        config=config,
        public_paths=AUTH_PUBLIC_PATHS,
        check_credentials=users.check if lifecycle else None,
    )

    app.register_blueprint(readiness_blueprint())  # public by itself, like the auth routes

    @app.get("/public")
    def public() -> dict[str, Any]:
        return {"message": "anyone can read this"}

    @app.get("/me")
    def me() -> dict[str, Any]:
        return current_principal.to_dict()

    @app.get("/admin")
    @roles_required("admin")
    def admin() -> dict[str, Any]:
        return {"message": f"welcome, admin {current_principal.subject}"}

    if not lifecycle:
        app.logger.info("no signing key or no single JWT_ISSUER: verifying tokens only")
        return app

    app.register_blueprint(auth_blueprint(url_prefix="/auth"))

    @app.post("/auth/password")
    @fresh_required()
    def change_password() -> tuple[dict[str, Any], int]:
        data = request.get_json(silent=True)
        new = data.get("new_password") if isinstance(data, dict) else None
        if not isinstance(new, str) or len(new) < MIN_PASSWORD_LENGTH:
            return {
                "error": "invalid_request",
                "error_description": f"new_password must be at least "
                f"{MIN_PASSWORD_LENGTH} characters",
            }, 400
        subject = current_principal.subject or ""
        try:
            users.set_password(subject, new)
        except KeyError:
            return {"error": "not_found", "error_description": "no such user"}, 404
        revoke_subject(subject)  # every token issued before this second, this one too
        return {"status": "password changed"}, 200

    return app


app = create_app()


def main() -> None:
    host, port = parse_port()
    app.run(host=host, port=port, threaded=True)


if __name__ == "__main__":
    main()
