"""Resource service 2 (FastAPI): the ``profile-api``, trusting the auth service's JWKS.

Routes: ``GET /health`` (public) and ``GET /whoami`` (any valid token for
``profile-api``). Run: ``SSO_ISSUER=http://127.0.0.1:9000 uvicorn
examples.sso.profile_service:app``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from examples.sso.trust import sso_config
from jwt_middleware import Principal
from jwt_middleware.fastapi import JWTBearer

AUDIENCE = "profile-api"

auth = JWTBearer(config=sso_config(AUDIENCE))
CurrentPrincipal = Annotated[Principal, Depends(auth)]

app = FastAPI(title="profile-api")
auth.init_app(app)  # refusals in the one body shape, 401/403 in OpenAPI


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/whoami")
async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "service": "profile (FastAPI)",
        "subject": principal.subject,
        "roles": sorted(principal.roles),
    }
