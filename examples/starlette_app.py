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
  not a refresh); sets the password and revokes all of the user's tokens.

With ``JWT_COOKIES=1`` the tokens travel in HttpOnly cookies instead (see
``docs/starlette.md``). Needs a signing key and ``JWT_ISSUER``; the store is
``JWT_STORE_URL`` (default: SQLite in the temporary directory).

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
from examples._common import PUBLIC_PATHS, parse_port
from jwt_middleware.asgi import JWTMiddleware
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

    return Starlette(
        routes=[
            Route("/public", public),
            *readiness_routes(auth.config),
            Route("/me", me),
            Route("/admin", admin),
            WebSocketRoute("/ws", echo),
            token_mount(auth.service, "/auth", [Route("/password", password, methods=["POST"])]),
        ],
        middleware=[
            Middleware(
                JWTMiddleware,
                config=auth.config,
                cookies=auth.cookies,
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
