"""The gateway (FastAPI): logs users in, and calls the orders service two ways.

* ``POST /auth/login``: an access token for ``gateway-api`` and ``orders-api``
  (demo users of :mod:`examples._users`), signed with the gateway's key ring,
  whose public keys it publishes at ``/.well-known/jwks.json``;
* ``GET /my-orders`` (any valid token): calls the orders service **on behalf
  of the user**, forwarding the user's own bearer token with
  :class:`~jwt_middleware.client.ForwardBearer`;
* ``GET /stats`` (role ``admin``): calls the orders service's internal API
  **as itself**, with a :class:`~jwt_middleware.client.ServiceToken` minted by
  its issuer (``sub`` ``gateway``, ``aud`` ``orders-api``, scope
  ``orders:internal``), cached and renewed before it expires.

Outgoing calls use one shared ``httpx.AsyncClient``: the event loop never waits.

Settings (environment): ``MS_ISSUER`` (this service's URL), ``MS_RING_DIR``
(its key ring), ``MS_ORDERS_URL`` (the orders service).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request

from examples._users import UserTable
from jwt_middleware import Config, Issuer, KeyRing, Principal, TokenService
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.client import ForwardBearer, ServiceToken
from jwt_middleware.fastapi import WELL_KNOWN_PATHS, JWTBearer, jwks_router, token_router
from jwt_middleware.starlette import auth_public_paths
from jwt_middleware.stores import store_from_url

ISSUER = os.environ.get("MS_ISSUER", "http://127.0.0.1:9100")
RING_DIR = os.environ.get("MS_RING_DIR", "gateway-keys")
ORDERS_URL = os.environ.get("MS_ORDERS_URL", "http://127.0.0.1:9101")
#: The orders service's audience: the forwarded user token and the service token name it.
ORDERS_AUDIENCE = "orders-api"

ring = KeyRing.load(RING_DIR)
if not ring.entries():
    ring.rotate(kid="gateway-1")
store = store_from_url("memory://")
# Signing: user tokens are for this gateway and for the orders service behind it.
issuer = Issuer(Config(keys=ring.key_set(), issuer=ISSUER,
                       audience=("gateway-api", ORDERS_AUDIENCE), store=store))
# Verifying: the gateway itself accepts only tokens meant for it.
verify_config = Config(keys=ring.key_set(), issuer=ISSUER, audience="gateway-api", store=store)
auth = JWTBearer(config=verify_config)
User = Annotated[Principal, Depends(auth)]
Admin = Annotated[Principal, Depends(auth.roles_required("admin"))]
orders_token = ServiceToken.from_issuer(
    issuer, audience=ORDERS_AUDIENCE, subject="gateway", scopes=["orders:internal"], ttl=300
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=ORDERS_URL, timeout=5.0) as client:
        app.state.orders = client
        yield


app = FastAPI(title="gateway", lifespan=lifespan)
auth.init_app(app)  # refusals in the one body shape, 401/403 in OpenAPI
app.add_middleware(
    JWTMiddleware,
    config=verify_config,
    public_paths=(*WELL_KNOWN_PATHS, *auth_public_paths("/auth"), "/health"),
)
app.include_router(token_router(TokenService(issuer, UserTable().check), prefix="/auth"))
app.include_router(jwks_router(ring, issuer=ISSUER))


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/my-orders")
async def my_orders(request: Request, user: User) -> dict[str, Any]:
    client: httpx.AsyncClient = request.app.state.orders
    answer = await client.get("/orders", auth=ForwardBearer(request.headers))
    return {"gateway_user": user.subject, "orders_status": answer.status_code,
            "orders_said": answer.json()}


@app.get("/stats")
async def stats(request: Request, admin: Admin) -> dict[str, Any]:
    client: httpx.AsyncClient = request.app.state.orders
    answer = await client.get("/internal/stats", auth=orders_token.httpx_auth())
    return {"asked_by": admin.subject, "orders_status": answer.status_code,
            "orders_said": answer.json()}
