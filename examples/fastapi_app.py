"""FastAPI behind the pure ASGI middleware, with the ``JWTBearer`` dependency.

Routes: ``GET /public`` (no token), ``GET /me`` (any valid token),
``GET /admin`` (role ``admin``), ``WS /ws`` (echo, valid token: header,
``?access_token=`` or the ``["bearer", token]`` subprotocol). ``/docs`` shows
the Authorize button and a padlock on each protected route.

Run: ``JWT_ALGORITHMS=HS256 JWT_SECRET=... uvicorn examples.fastapi_app:app``
or ``python -m examples.fastapi_app --port 8000``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect

from examples._common import PUBLIC_PATHS, config_from_env, parse_port
from jwt_middleware import Principal
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import JWTBearer

DOCS_PATHS = ("/docs", "/docs/*", "/redoc", "/openapi.json")

config = config_from_env()
auth = JWTBearer(config=config)
CurrentPrincipal = Annotated[Principal, Depends(auth)]

app = FastAPI(title="jwt_middleware FastAPI example")
app.add_middleware(
    JWTMiddleware,
    config=config,
    public_paths=(*PUBLIC_PATHS, *DOCS_PATHS),
    websocket_query_param="access_token",
    websocket_subprotocol=True,
)


@app.get("/public")
async def public() -> dict[str, bool]:
    return {"public": True}


@app.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return principal.to_dict()


@app.get("/admin", dependencies=[Depends(auth.roles_required("admin"))])
async def admin() -> dict[str, bool]:
    return {"admin": True}


@app.websocket("/ws")
async def echo(websocket: WebSocket, principal: CurrentPrincipal) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


if __name__ == "__main__":
    import uvicorn

    host, port = parse_port()
    uvicorn.run(app, host=host, port=port)
