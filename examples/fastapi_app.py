"""FastAPI behind the pure ASGI middleware, with the ``JWTBearer`` dependency.

Routes: ``GET /public`` (no token), ``GET /health/ready`` (no token: 200 or
503 for a load balancer), ``GET /me`` (any valid token),
``GET /admin`` (role ``admin``), ``WS /ws`` (echo, valid token: header,
``?access_token=`` or the ``["bearer", token]`` subprotocol),
``POST /api/echo`` (any valid token; an unsafe method, so in cookie mode it
needs the CSRF header). ``/docs`` shows the Authorize button and a padlock on
each protected route.

Token lifecycle (demo users in :mod:`examples._users`): ``POST /auth/login``
(JSON ``{"username", "password"}`` or the OAuth 2 form), ``/auth/refresh``,
``/auth/logout`` and ``/auth/password`` (``{"new_password"}``, fresh token
only: sets the password and revokes all of the user's tokens), and the session routes
(``docs/sessions.md``): ``GET /auth/sessions``, ``DELETE /auth/sessions/{id}``,
``POST /auth/sessions/revoke-others``, for the ``admin`` role
``GET /auth/users/{subject}/sessions`` and ``DELETE /auth/users/{subject}/sessions/{id}``.

Cookie mode (``JWT_COOKIES=1``): the tokens go into HttpOnly cookies and the
single-page app in ``examples/spa/`` (served at ``/spa/``) uses them. Cookies
are ``Secure`` unless ``JWT_COOKIE_SECURE=0``, which is only for plain http
on 127.0.0.1 (the tests); production keeps them Secure behind https.

DPoP: ``JWT_DPOP`` (``off``, ``allowed``, ``required``) binds logins and refreshes that
carry a proof to the client's key; the middleware and ``JWTBearer`` take
``Authorization: DPoP`` with a proof, refuse a bound token sent as a bearer token, and
the OpenAPI document lists the ``DPoP`` scheme. ``JWT_DPOP_NONCE=1`` with
``JWT_DPOP_NONCE_SECRET`` for server nonces.

HTTPS (see :mod:`examples._common`): ``JWT_REQUIRE_HTTPS=1`` refuses a token, and the
token routes, over plain HTTP (400, except from loopback unless
``JWT_ALLOW_LOOPBACK_HTTP=0``); ``JWT_TRUSTED_PROXIES`` (addresses or networks,
comma-separated) are the TLS-terminating proxies whose ``X-Forwarded-Proto`` /
``Forwarded`` headers count; ``JWT_HSTS_MAX_AGE`` adds ``Strict-Transport-Security``.

Metrics: ``EXAMPLE_METRICS=prometheus`` (the example's switch, not a ``JWT_`` setting)
measures the middleware, ``JWTBearer``, the store and the issuer (``metrics=``, a
``PrometheusMetrics`` with a registry of its own) and serves ``GET /metrics``,
Prometheus text, as a public path left out of the OpenAPI document: no token (a scraper
has none), so keep it off the public internet; label values come from fixed sets.
Audit: ``JWT_AUDIT_URL`` (``sqlite:///audit.db`` or a Redis URL) records the issuer's
events and the refused requests (``docs/audit.md``; ``jwt-middleware audit`` reads
them). Encrypted tokens: ``JWT_DECRYPTION_KEY_FILE`` (the resource's private key, PEM or
JWK) opens them, and then only encrypted tokens are accepted;
``JWT_ENCRYPTION_KEY_FILE`` (the recipient's public key, PEM or JWK) is what the
example's issuer encrypts its access tokens to.

Run: ``JWT_ALGORITHMS=HS256 JWT_SECRET=... JWT_ISSUER=https://auth.local
uvicorn examples.fastapi_app:app`` or ``python -m examples.fastapi_app --port 8000``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from examples._asgi_auth import change_password, lifecycle_from_env
from examples._common import METRICS_PATH, PUBLIC_PATHS, parse_port
from jwt_middleware import Principal
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import (
    READINESS_PATH,
    JWTBearer,
    readiness_router,
    sessions_router,
    token_router,
)
from jwt_middleware.metrics import prometheus_exposition
from jwt_middleware.starlette import auth_public_paths, read_fields, reply_response

DOCS_PATHS = ("/docs", "/docs/*", "/redoc", "/openapi.json")
SPA_DIR = Path(__file__).resolve().parent / "spa"
SPA_PATHS = ("/", "/spa", "/spa/*")

lifecycle = lifecycle_from_env()
auth = JWTBearer(
    config=lifecycle.config, dpop=lifecycle.dpop, transport=lifecycle.transport,
    metrics=lifecycle.metrics, on_event=lifecycle.on_event,  # EXAMPLE_METRICS, JWT_AUDIT_URL
)
CurrentPrincipal = Annotated[Principal, Depends(auth)]
FreshPrincipal = Annotated[Principal, Depends(auth.fresh_required())]

app = FastAPI(title="jwt_middleware FastAPI example")
auth.init_app(app)  # refusals in the one body shape, 401/403 in OpenAPI
app.add_middleware(
    JWTMiddleware,
    config=lifecycle.config,
    cookies=lifecycle.cookies,
    dpop=lifecycle.dpop,
    transport=lifecycle.transport,  # JWT_REQUIRE_HTTPS, JWT_TRUSTED_PROXIES, ...
    metrics=lifecycle.metrics,  # EXAMPLE_METRICS=prometheus
    on_event=lifecycle.on_event,  # JWT_AUDIT_URL: the refusals
    public_paths=(
        *PUBLIC_PATHS, READINESS_PATH, *DOCS_PATHS, *SPA_PATHS, *auth_public_paths("/auth")
    ),
    websocket_query_param="access_token",
    websocket_subprotocol=True,
)
app.include_router(token_router(lifecycle.service, prefix="/auth"))
app.include_router(sessions_router(lifecycle.service, auth, prefix="/auth"))
app.include_router(readiness_router(auth))


@app.post("/auth/password", tags=["auth"], summary="Change the password (fresh token only)")
async def password(request: Request, principal: FreshPrincipal) -> Response:
    fields = await read_fields(request)
    reply = await change_password(lifecycle, principal.subject, fields.get("new_password"))
    return reply_response(reply)


@app.get("/public")
async def public() -> dict[str, bool]:
    return {"public": True}


@app.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return principal.to_dict()


@app.get("/admin", dependencies=[Depends(auth.roles_required("admin"))])
async def admin() -> dict[str, bool]:
    return {"admin": True}


@app.post("/api/echo")
async def api_echo(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return {"subject": principal.subject, "echo": await read_fields(request)}


if lifecycle.metrics is not None:
    metrics = lifecycle.metrics

    @app.get(METRICS_PATH, include_in_schema=False)
    async def scrape(request: Request) -> Response:
        body, content_type = prometheus_exposition(metrics, request.headers.get("accept"))
        return Response(body, headers={"content-type": content_type})


@app.websocket("/ws")
async def echo(websocket: WebSocket, principal: CurrentPrincipal) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


@app.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/spa/")


app.mount("/spa", StaticFiles(directory=SPA_DIR, html=True), name="spa")


if __name__ == "__main__":
    import uvicorn

    host, port = parse_port()
    uvicorn.run(app, host=host, port=port)
