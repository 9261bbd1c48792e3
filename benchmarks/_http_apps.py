"""The apps ``bench_http`` serves: one per variant, chosen by an environment variable.

A server process builds one app: ``uvicorn --factory benchmarks._http_apps:create`` or
``gunicorn 'benchmarks._http_apps:create()'``, with ``JWT_BENCH_APP`` set to one of
:data:`VARIANTS`. The apps are ``bench_frameworks``' own (the same ``GET /me`` routes with a
small JSON body, the same HS256 secret, ``iss`` and ``aud``; this package's apps import only
its public modules, with the verified-token cache on, or off with ``cache_size=0``), except
the HTTPBearer + PyJWT peer, which here answers a bad token with 401 instead of a 500 (the
in-process benchmark only ever sends it a good one). Each bare app is served twice
(``-bare`` and ``-bare-again``): the second is the control row, whose ratio to the first
shows the noise of the run.
"""

import os
from collections.abc import Callable
from typing import Annotated, Any

from benchmarks import bench_frameworks as bf

ENV = "JWT_BENCH_APP"


def fastapi_peer() -> Any:
    """FastAPI's HTTPBearer with PyJWT, refusing a token PyJWT refuses with 401."""
    import jwt
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    app = FastAPI()
    bearer = HTTPBearer()

    @app.get("/me")
    async def me(cred: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> dict[str, Any]:
        try:
            claims = jwt.decode(cred.credentials, bf.SECRET, algorithms=["HS256"], issuer=bf.ISS,
                                audience=bf.AUD)
        except jwt.PyJWTError as exc:
            raise HTTPException(401, "invalid token", {"WWW-Authenticate": "Bearer"}) from exc
        return {"ok": True, "sub": claims["sub"]}

    return app


def _from(group: Callable[[], dict[str, Any]], name: str) -> Callable[[], Any]:
    def build() -> Any:
        apps = group()
        if name not in apps:
            raise SystemExit(f"bench_frameworks.{group.__name__}() has no app {name!r}")
        return apps[name]

    return build


#: Variant name -> app builder (the names are ``bench_http``'s variant keys).
VARIANTS: dict[str, Callable[[], Any]] = {
    "starlette-bare": _from(bf.starlette_apps, "bare Starlette"),
    "starlette-bare-again": _from(bf.starlette_apps, "bare Starlette"),
    "starlette-ours": _from(bf.starlette_apps, f"{bf.WARM} ASGI"),
    "starlette-ours-uncached": _from(bf.starlette_apps, f"{bf.UNCACHED} ASGI"),
    "starlette-peer": _from(bf.starlette_apps, "AuthenticationMiddleware + PyJWT"),
    "fastapi-bare": _from(bf.fastapi_apps, "bare FastAPI"),
    "fastapi-bare-again": _from(bf.fastapi_apps, "bare FastAPI"),
    "fastapi-ours": _from(bf.fastapi_apps, f"{bf.WARM} dependency"),
    "fastapi-ours-uncached": _from(bf.fastapi_apps, f"{bf.UNCACHED} dependency"),
    "fastapi-peer": fastapi_peer,
    "fastapi-authx": _from(bf.fastapi_apps, "AuthX"),
    "fastapi-nothing": _from(bf.fastapi_apps, "reference: a dependency that does nothing"),
    "flask-bare": _from(bf.flask_apps, "bare Flask"),
    "flask-bare-again": _from(bf.flask_apps, "bare Flask"),
    "flask-ours": _from(bf.flask_apps, f"{bf.WARM} extension"),
    "flask-ours-uncached": _from(bf.flask_apps, f"{bf.UNCACHED} extension"),
    "flask-peer": _from(bf.flask_apps, "flask-jwt-extended"),
}


def create() -> Any:
    """The app named by ``$JWT_BENCH_APP`` (the servers' factory)."""
    name = os.environ.get(ENV, "")
    if name not in VARIANTS:
        raise SystemExit(f"{ENV} must be one of {', '.join(VARIANTS)}, not {name!r}")
    return VARIANTS[name]()
