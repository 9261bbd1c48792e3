"""Starlette behind the pure ASGI middleware, with per-endpoint decorators.

Routes: ``GET /public`` (no token), ``GET /health/ready`` (no token: 200 or
503 for a load balancer), ``GET /me`` (any valid token),
``GET /admin`` (role ``admin``), ``WS /ws`` (echo, valid token: header,
``?access_token=`` or the ``["bearer", token]`` subprotocol), and the token
lifecycle (demo users in :mod:`examples._users`):

* ``POST /auth/login`` ``{"username", "password"}`` -> ``{"access_token",
  "token_type", "expires_in", "refresh_token"}``;
* ``POST /auth/refresh`` ``{"refresh_token"}`` -> a new pair (a reused one: 401);
* ``POST /auth/logout`` (Bearer, ``{"refresh_token"}``) -> ``{"status": "logged out"}``;
* ``POST /auth/password`` ``{"new_password"}``: a fresh token (from a login,
  not a refresh); sets the password and revokes all of the user's tokens;
* sessions (``docs/sessions.md``): ``GET /auth/sessions``, ``DELETE /auth/sessions/{id}``,
  ``POST /auth/sessions/revoke-others``, and for the ``admin`` role
  ``GET /auth/users/{subject}/sessions`` and ``DELETE /auth/users/{subject}/sessions/{id}``.

With ``JWT_COOKIES=1`` the tokens travel in HttpOnly cookies instead (see
``docs/starlette.md``). Needs a signing key and ``JWT_ISSUER``; the store is
``JWT_STORE_URL`` (default: SQLite in the temporary directory). DPoP: ``JWT_DPOP``
(``off``, ``allowed``, ``required``) binds logins and refreshes that carry a proof to
the client's key, and the middleware takes ``Authorization: DPoP`` with a proof (and
refuses a bound token sent as a bearer token); ``JWT_DPOP_NONCE=1`` with
``JWT_DPOP_NONCE_SECRET`` for server nonces (``python -m examples.dpop`` walks through it).

HTTPS (see :mod:`examples._common`): ``JWT_REQUIRE_HTTPS=1`` refuses a token, and the
token routes, over plain HTTP (400, except from loopback unless
``JWT_ALLOW_LOOPBACK_HTTP=0``); ``JWT_TRUSTED_PROXIES`` (addresses or networks,
comma-separated) are the TLS-terminating proxies whose ``X-Forwarded-Proto`` /
``Forwarded`` headers count; ``JWT_HSTS_MAX_AGE`` adds ``Strict-Transport-Security``.

Metrics: ``EXAMPLE_METRICS=prometheus`` (the example's switch, not a ``JWT_`` setting)
measures the middleware, the store and the issuer (``metrics=``, a
``PrometheusMetrics`` with a registry of its own) and serves ``GET /metrics``,
Prometheus text, as a public path: no token (a scraper has none), so keep it off the
public internet; label values come from fixed sets. Audit: ``JWT_AUDIT_URL``
(``sqlite:///audit.db`` or a Redis URL) records the issuer's events and the refused
requests (``docs/audit.md``; read them with ``jwt-middleware audit``). Encrypted tokens:
``JWT_DECRYPTION_KEY_FILE`` (the resource's private key, PEM or JWK) opens them, and
then only encrypted tokens are accepted; ``JWT_ENCRYPTION_KEY_FILE`` (the recipient's
public key, PEM or JWK) is what the example's issuer encrypts its access tokens to.

Run: ``JWT_ALGORITHMS=HS256 JWT_SECRET=... JWT_ISSUER=https://auth.local
python -m examples.starlette_app --port 8000``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from examples._asgi_auth import Lifecycle, change_password, lifecycle_from_env
from examples._common import METRICS_PATH, PUBLIC_PATHS, parse_port
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.metrics import prometheus_exposition
from jwt_middleware.starlette import (
    READINESS_PATH,
    auth_public_paths,
    fresh_required,
    get_principal,
    jwt_required,
    read_fields,
    readiness_routes,
    reply_response,
    roles_required,
    sessions_routes,
    token_mount,
)


async def public(request: Request) -> JSONResponse:
    return JSONResponse({"public": True})


@jwt_required()
async def me(request: Request) -> JSONResponse:
    principal = get_principal(request)
    assert principal is not None  # jwt_required guarantees it
    return JSONResponse(principal.to_dict())


@roles_required("admin")
async def admin(request: Request) -> JSONResponse:
    return JSONResponse({"admin": True})


@jwt_required()
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


def create_app(auth: Lifecycle) -> Starlette:
    """The example app for ``auth`` (see :func:`examples._asgi_auth.lifecycle_from_env`)."""

    @fresh_required()
    async def password(request: Request) -> Response:
        principal = get_principal(request)
        subject = principal.subject if principal is not None else None
        fields = await read_fields(request)
        return reply_response(await change_password(auth, subject, fields.get("new_password")))

    async def scrape(request: Request) -> Response:
        assert auth.metrics is not None  # routed only when metrics are on
        body, content_type = prometheus_exposition(auth.metrics, request.headers.get("accept"))
        return Response(body, headers={"content-type": content_type})

    metrics = [Route(METRICS_PATH, scrape)] if auth.metrics is not None else []
    return Starlette(
        routes=[
            Route("/public", public),
            *readiness_routes(auth.config),
            Route("/me", me),
            Route("/admin", admin),
            *metrics,  # EXAMPLE_METRICS=prometheus: GET /metrics, public
            WebSocketRoute("/ws", echo),
            token_mount(auth.service, "/auth", [
                Route("/password", password, methods=["POST"]), *sessions_routes(auth.service),
            ]),
        ],
        middleware=[
            Middleware(
                JWTMiddleware,
                config=auth.config,
                cookies=auth.cookies,
                dpop=auth.dpop,
                transport=auth.transport,  # JWT_REQUIRE_HTTPS, JWT_TRUSTED_PROXIES, ...
                metrics=auth.metrics,  # EXAMPLE_METRICS=prometheus
                on_event=auth.on_event,  # JWT_AUDIT_URL: the refusals
                public_paths=(*PUBLIC_PATHS, READINESS_PATH, *auth_public_paths("/auth")),
                websocket_query_param="access_token",
                websocket_subprotocol=True,
            )
        ],
    )


app = create_app(lifecycle_from_env())

if __name__ == "__main__":
    import uvicorn

    host, port = parse_port()
    uvicorn.run(app, host=host, port=port)
