"""Starlette behind the pure ASGI middleware, with per-endpoint decorators.

Routes: ``GET /public`` (no token), ``GET /me`` (any valid token),
``GET /admin`` (role ``admin``), ``WS /ws`` (echo, valid token: header,
``?access_token=`` or the ``["bearer", token]`` subprotocol).

Run: ``JWT_ALGORITHMS=HS256 JWT_SECRET=... python -m examples.starlette_app --port 8000``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from examples._common import PUBLIC_PATHS, config_from_env, parse_port
from jwt_middleware import Config
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.starlette import get_principal, jwt_required, roles_required


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


def create_app(config: Config) -> Starlette:
    """The example app for ``config``."""
    return Starlette(
        routes=[
            Route("/public", public),
            Route("/me", me),
            Route("/admin", admin),
            WebSocketRoute("/ws", echo),
        ],
        middleware=[
            Middleware(
                JWTMiddleware,
                config=config,
                public_paths=PUBLIC_PATHS,
                websocket_query_param="access_token",
                websocket_subprotocol=True,
            )
        ],
    )


app = create_app(config_from_env())

if __name__ == "__main__":
    import uvicorn

    host, port = parse_port()
    uvicorn.run(app, host=host, port=port)
