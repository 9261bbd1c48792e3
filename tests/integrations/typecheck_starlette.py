"""Checked by mypy, never run: the documented Starlette usage type-checks and the
decorators keep the endpoints' exact signatures."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, assert_type

from mypy_extensions import Arg
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from jwt_middleware import Config, Identity, Issuer, Key, KeySet, Principal, Reply, TokenService
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.starlette import (
    JWTAuthBackend,
    auth_public_paths,
    claims_required,
    dpop_required,
    fresh_required,
    get_principal,
    jwt_required,
    login_reply,
    on_auth_error,
    read_fields,
    reply_response,
    roles_accepted,
    roles_required,
    scopes_required,
    token_mount,
    token_routes,
)

config = Config(keys=KeySet([Key.from_secret(b"s" * 32, "HS256")]))


@roles_required("admin")
async def admin(request: Request) -> JSONResponse:
    principal = get_principal(request)
    assert_type(principal, Principal | None)
    return JSONResponse({})


@jwt_required(optional=True)
def sync_page(request: Request, *, page: int = 1) -> PlainTextResponse:
    return PlainTextResponse(str(page))


@roles_accepted("a", "b")
@scopes_required("read")
@claims_required(lambda claims: claims.get("tenant") == "acme", description="acme")
async def stacked(request: Request) -> PlainTextResponse:
    return PlainTextResponse("")


@jwt_required()
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()


class Items(HTTPEndpoint):
    @roles_required("admin")
    async def get(self, request: Request) -> JSONResponse:
        return JSONResponse([])


# The exact signatures, parameter names included (mypy_extensions.Arg names them).
assert_type(admin, Callable[[Arg(Request, "request")], Coroutine[Any, Any, JSONResponse]])
assert_type(
    stacked, Callable[[Arg(Request, "request")], Coroutine[Any, Any, PlainTextResponse]]
)
assert_type(ws, Callable[[Arg(WebSocket, "websocket")], Coroutine[Any, Any, None]])
assert_type(
    Items.get,
    Callable[[Arg(Items, "self"), Arg(Request, "request")], Coroutine[Any, Any, JSONResponse]],
)
assert_type(sync_page(Request({"type": "http"}), page=2), PlainTextResponse)
# Wrong calls are still caught (the ignores would be reported unused otherwise).
_ = admin(42)  # type: ignore[arg-type]
sync_page(Request({"type": "http"}), page="2")  # type: ignore[arg-type]

app = Starlette(
    routes=[
        Route("/admin", admin),
        Route("/page", sync_page),
        Route("/items", Items),
        WebSocketRoute("/ws", ws),
    ],
    middleware=[Middleware(JWTMiddleware, config=config, public_paths=["/public"])],
)

backend_app = Starlette(
    routes=[Route("/admin", admin)],
    middleware=[
        Middleware(AuthenticationMiddleware, backend=JWTAuthBackend(config), on_error=on_auth_error)
    ],
)


# --- token lifecycle ---------------------------------------------------------------


def check(username: str, password: str) -> Identity | None:
    return Identity(subject=username) if password == "right" else None


service = TokenService(Issuer(Config(keys=config.keys, issuer="https://i", store="memory://")),
                       check)


@fresh_required()
async def change_password(request: Request) -> Response:
    fields = await read_fields(request)
    assert_type(fields, dict[str, str])
    reply = await login_reply(service, request)
    assert_type(reply, Reply)
    return reply_response(reply)


assert_type(change_password, Callable[[Arg(Request, "request")], Coroutine[Any, Any, Response]])


@dpop_required()
async def bound_only(request: Request) -> PlainTextResponse:
    return PlainTextResponse("bound")


assert_type(bound_only, Callable[[Arg(Request, "request")], Coroutine[Any, Any, PlainTextResponse]])
assert_type(token_routes(service), list[Route])
lifecycle_app = Starlette(
    routes=[token_mount(service, "/auth", [Route("/password", change_password)])],
    middleware=[Middleware(JWTMiddleware, config=config, public_paths=auth_public_paths())],
)
