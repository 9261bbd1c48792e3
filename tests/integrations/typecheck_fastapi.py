"""Checked by mypy, never run: the documented FastAPI usage type-checks."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, assert_type

from fastapi import APIRouter, Depends, FastAPI, Request

from jwt_middleware import Config, Identity, Issuer, Key, KeySet, Principal, TokenService
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import JWTBearer, token_router, use_rfc6750_errors

config = Config(keys=KeySet([Key.from_secret(b"s" * 32, "HS256")]))
auth = JWTBearer(config=config)
CurrentPrincipal = Annotated[Principal, Depends(auth)]
MaybePrincipal = Annotated[Principal | None, Depends(auth.jwt_required(optional=True))]
Admin = Annotated[Principal, Depends(auth.roles_required("admin"))]

app = FastAPI()
app.add_middleware(JWTMiddleware, config=config, public_paths=["/docs", "/openapi.json"])
use_rfc6750_errors(app)


@app.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, Any]:
    assert_type(principal, Principal)
    return principal.to_dict()


@app.get("/maybe")
async def maybe(principal: MaybePrincipal) -> str | None:
    assert_type(principal, Principal | None)
    return principal.subject if principal else None


@app.get("/admin", dependencies=[Depends(auth.roles_required("admin"))])
async def admin() -> dict[str, bool]:
    return {"ok": True}


@app.get(
    "/guarded",
    dependencies=[
        Depends(auth.roles_accepted("a", "b")),
        Depends(auth.scopes_required("read")),
        Depends(auth.claims_required(lambda claims: "tenant" in claims, description="tenant")),
    ],
)
async def guarded(principal: Admin) -> str | None:
    return principal.subject


assert_type(auth.roles_required("admin"), Callable[..., Awaitable[Principal]])
assert_type(auth.jwt_required(optional=True), Callable[..., Awaitable[Principal | None]])


async def direct(request: Request) -> None:
    assert_type(await auth(request), Principal)


# --- token lifecycle ---------------------------------------------------------------

Fresh = Annotated[Principal, Depends(auth.fresh_required())]
assert_type(auth.fresh_required(), Callable[..., Awaitable[Principal]])
assert_type(auth.dpop_required(), Callable[..., Awaitable[Principal]])
oauth2 = JWTBearer(config=config, token_url="/auth/login")


def check(username: str, password: str) -> Identity | None:
    return None


service = TokenService(Issuer(Config(keys=config.keys, issuer="https://i", store="memory://")),
                       check)
router = token_router(service, prefix="/auth", tags=["auth"])
assert_type(router, APIRouter)
app.include_router(router)


@app.post("/auth/password")
async def password(principal: Fresh) -> dict[str, str]:
    return {"status": "password changed"}
