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
  login, not a refresh); sets the password and revokes every token of the user;
* sessions (``docs/sessions.md``; a login may name its ``"device"``): ``GET
  /auth/sessions``, ``DELETE /auth/sessions/<id>``, ``POST /auth/sessions/revoke-others``,
  and for the ``admin`` role ``GET /auth/users/<subject>/sessions`` and ``DELETE
  /auth/users/<subject>/sessions/<id>``.

With a public key or JWKS only, the app verifies tokens and serves no
``/auth`` routes.

The store: ``JWT_STORE_URL``. Only when it is unset, the example uses
``sqlite:///<tempdir>/jwt-middleware-flask-example.db`` (``tempfile.gettempdir()``),
which the gunicorn workers of one machine share. Cookie mode: ``JWT_COOKIES=1``
(and ``JWT_COOKIE_SECURE=0`` to try it on plain ``http://`` with a client other
than a browser on localhost). Other lifecycle settings: ``JWT_ACCESS_TTL``,
``JWT_REFRESH_TTL``, ``JWT_REFRESH_GRACE``, ``JWT_COOKIE_SAMESITE``. DPoP: ``JWT_DPOP``
(``off``, ``allowed`` or ``required``: a login or refresh that carries a proof gets tokens
bound to its key, and every route takes ``Authorization: DPoP`` with a proof and refuses
a bound token sent as a bearer token), ``JWT_DPOP_NONCE=1`` with ``JWT_DPOP_NONCE_SECRET``
for server nonces (``python -m examples.dpop --app flask`` walks through it). The demo user
table lives in each process: a password change holds only in the worker that made it.

HTTPS (read by the extension from ``app.config``, copied from the environment like the
rest): ``JWT_REQUIRE_HTTPS=1`` refuses a token, and a login, refresh or logout, over
plain HTTP with 400 ``invalid_request`` (loopback may use HTTP unless
``JWT_ALLOW_LOOPBACK_HTTP=0``); ``JWT_TRUSTED_PROXIES`` (addresses or networks,
comma-separated, such as ``10.0.0.0/8``) are the proxies whose ``X-Forwarded-Proto`` /
``Forwarded`` headers count, and from which DPoP takes its public URL;
``JWT_HSTS_MAX_AGE`` (seconds, ``JWT_HSTS_INCLUDE_SUBDOMAINS=1``) adds
``Strict-Transport-Security`` over HTTPS. ``JWT_COOKIES=1`` with ``JWT_COOKIE_SECURE=0``
refuses to start while ``JWT_REQUIRE_HTTPS=1``. Under gunicorn, leave the proxy rule to
these settings (gunicorn's own ``--forwarded-allow-ips`` trusts 127.0.0.1 by default).

Metrics: ``EXAMPLE_METRICS=prometheus`` (the example's own switch, not a ``JWT_`` setting,
so it stays out of ``app.config``) measures the request hook, the store and the issuer
(``JWT(app, metrics=...)``, a ``PrometheusMetrics`` with a registry of its own, never
``prometheus_client``'s global one) and serves ``GET /metrics``: Prometheus text, as a
public path (no token: a scraper has none; keep it off the public internet). Label values
come from fixed sets, never from a token. Each gunicorn worker counts its own (see
``docs/metrics.md`` for the multiprocess mode). Audit: ``JWT_AUDIT_URL``
(``sqlite:///audit.db`` or a Redis URL) gives ``JWT(app, audit=...)`` an
``Audit``: the issuer's events (issued, refreshed, reuse_detected, logout, revoked_*)
and the refused requests, as JSON lines on the ``jwt_middleware.audit`` logger and in the
append-only log at that URL (``jwt-middleware audit`` reads it; ``docs/audit.md``).
``python -m examples.flask_app`` stops on SIGTERM by exiting, so the trail is flushed.

Encrypted tokens (``docs/security.md``): ``JWT_DECRYPTION_KEY_FILE`` (the resource's
private key, PEM or JWK, or a JWKS of several) opens them, and then only encrypted tokens
are accepted (``JWT_REQUIRE_ENCRYPTION=0`` takes plain ones too);
``JWT_ENCRYPTION_KEY_FILE`` (the recipient's public key, PEM or JWK) is what the issuer
of ``/auth/login`` encrypts its access tokens to.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Mapping
from types import FrameType
from typing import Any

from flask import Flask, Response, request

from examples._common import (
    METRICS_PATH,
    PUBLIC_PATHS,
    audit_from_env,
    measured,
    metrics_from_env,
    parse_port,
)
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
    sessions_blueprint,
)
from jwt_middleware.metrics import prometheus_exposition

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
    metrics = metrics_from_env(env)  # EXAMPLE_METRICS=prometheus
    config = measured(Config.from_env(environ=env), metrics)
    app = Flask(__name__)
    # The lifecycle keys (JWT_COOKIES, JWT_ACCESS_TTL, ...) and the HTTPS ones
    # (JWT_REQUIRE_HTTPS, JWT_TRUSTED_PROXIES, ...) are read from app.config; the key
    # and claim settings come from ``config``.
    app.config.update({k: v for k, v in env.items() if k.startswith("JWT_")})
    users = UserTable()
    lifecycle = _can_issue(config)
    JWT(
        app,
        config=config,
        public_paths=AUTH_PUBLIC_PATHS,
        check_credentials=users.check if lifecycle else None,
        metrics=metrics,
        audit=audit_from_env(env),  # JWT_AUDIT_URL: the issuer's events and the refusals
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

    if metrics is not None:

        @app.get(METRICS_PATH)
        def scrape() -> Response:
            body, content_type = prometheus_exposition(metrics, request.headers.get("Accept"))
            return Response(body, content_type=content_type)

    if not lifecycle:
        app.logger.info("no signing key or no single JWT_ISSUER: verifying tokens only")
        return app

    app.register_blueprint(auth_blueprint(url_prefix="/auth"))
    app.register_blueprint(sessions_blueprint(url_prefix="/auth"))

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


def _stop(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)  # a normal exit: the audit trail's buffer is written (atexit)


def main() -> None:
    host, port = parse_port()
    signal.signal(signal.SIGTERM, _stop)  # Werkzeug's server would die without exiting
    app.run(host=host, port=port, threaded=True)


if __name__ == "__main__":
    main()
