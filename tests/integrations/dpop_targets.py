"""The resource side of DPoP in every adapter and framework, built from one policy.

``build(framework, policy, ...)`` returns a :class:`Target`: an app called in-process
with exactly the headers (and the peer address, scheme and host) a test gives. Its
routes: ``/me`` (the app's mode), and where the framework has per-route guards
``/bound`` (``dpop_required``) and ``/admin`` (``roles_required("admin")``); each
answers ``{"subject": ..., "jkt": ...}``. The answer keeps every response header.

(No ``from __future__ import annotations`` here: FastAPI reads the route's annotations.)
"""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwt_middleware import Config, DPoPKey, DPoPPolicy, Key, Principal, Verifier, encode
from jwt_middleware._lifecycle.binding import TRUSTED_PROXIES_KEY
from jwt_middleware._sansio.transport import TrustedProxies
from jwt_middleware.asgi import PRINCIPAL_KEY
from jwt_middleware.asgi import JWTMiddleware as ASGIMiddleware
from jwt_middleware.fastapi import JWTBearer
from jwt_middleware.flask import JWT
from jwt_middleware.flask import dpop_required as flask_dpop_required
from jwt_middleware.flask import get_principal as flask_principal
from jwt_middleware.flask import roles_required as flask_roles_required
from jwt_middleware.starlette import JWTAuthBackend, get_principal, jwt_required, on_auth_error
from jwt_middleware.starlette import dpop_required as starlette_dpop_required
from jwt_middleware.starlette import roles_required as starlette_roles_required
from jwt_middleware.wsgi import JWTMiddleware as WSGIMiddleware
from tests.integrations.calls import asgi_call, wsgi_call

#: Every adapter and integration that authenticates a request.
FRAMEWORKS = ("asgi", "wsgi", "starlette", "starlette-backend", "fastapi", "flask")
#: Those with per-route guards (``/bound``, ``/admin``).
ROUTED = ("starlette", "starlette-backend", "fastapi", "flask")

SECRET = "r" * 48
ISSUER = "https://issuer.dpop.test"
AUDIENCE = "dpop-resource"
HOST = "api.test"
PEER = "203.0.113.7"

Headers = list[tuple[str, str]]


def config() -> Config:
    return Config(keys=Key.from_secret(SECRET, "HS256"), issuer=ISSUER, audience=AUDIENCE)


def token(jkt: str | None = None, *, roles: tuple[str, ...] = (), **claims: Any) -> str:
    """An access token, bound to ``jkt`` (``cnf.jkt``) when given."""
    now = int(time.time())
    body: dict[str, Any] = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                            "exp": now + 300, "roles": list(roles), **claims}
    if jkt is not None:
        body["cnf"] = {"jkt": jkt}
    return encode(body, Key.from_secret(SECRET, "HS256"))


def url(path: str = "/me", *, scheme: str = "http", host: str = HOST) -> str:
    return f"{scheme}://{host}{path}"


def dpop_headers(key: DPoPKey, access: str, path: str = "/me", method: str = "GET",
                 **proof: Any) -> Headers:
    """``Authorization: DPoP`` and a fresh proof for ``method`` ``url(path)``."""
    target = proof.pop("htu", url(path))
    return [("Authorization", f"DPoP {access}"),
            ("DPoP", key.proof(method, target, access_token=access, **proof))]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(found) if found else None

    @property
    def www_authenticate(self) -> str:
        return self.header("WWW-Authenticate") or ""

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


@dataclass
class Target:
    name: str
    call: Callable[..., Answer]
    routed: bool

    def send(self, headers: Headers, *, method: str = "GET", path: str = "/me",
             peer: str = PEER, scheme: str = "http", host: str = HOST) -> Answer:
        return self.call(method, path, headers, peer, scheme, host)


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("latin-1")


def _seen(principal: object) -> dict[str, Any]:
    if not isinstance(principal, Principal):
        return {"subject": None, "jkt": None}
    return {"subject": principal.subject, "jkt": principal.jkt}


# --- calling the apps ---------------------------------------------------------------


def asgi_caller(app: Any, proxies: TrustedProxies | None) -> Callable[..., Answer]:
    # the trusted proxies in the scope, as an adapter that knows the app's does
    extra = None if proxies is None else {TRUSTED_PROXIES_KEY: proxies}

    def call(method: str, path: str, headers: Headers, peer: str, scheme: str,
             host: str) -> Answer:
        status, found, body = asgi_call(
            app, method, path, headers, scheme=scheme, host=host, client=(peer, 50000),
            server=("10.1.1.1", 8000), extra=extra,
        )
        return Answer(status, _body(body), found)

    return call


def wsgi_caller(app: Any, proxies: TrustedProxies | None) -> Callable[..., Answer]:
    extra = None if proxies is None else {TRUSTED_PROXIES_KEY: proxies}

    def call(method: str, path: str, headers: Headers, peer: str, scheme: str,
             host: str) -> Answer:
        status, found, body = wsgi_call(
            app, method, path, headers, scheme=scheme, host=host,
            server=("10.1.1.1", "8000"), peer=peer, extra=extra,
        )
        return Answer(status, _body(body), found)

    return call


# --- the apps -------------------------------------------------------------------------


async def _asgi_inner(scope: Any, receive: Any, send: Any) -> None:
    body = json.dumps(_seen(scope.get(PRINCIPAL_KEY))).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _wsgi_inner(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps(_seen(environ.get(PRINCIPAL_KEY))).encode()]


@jwt_required()
async def _me(request: Request) -> JSONResponse:
    return JSONResponse(_seen(get_principal(request)))


@starlette_dpop_required()
async def _bound(request: Request) -> JSONResponse:
    return JSONResponse(_seen(get_principal(request)))


@starlette_roles_required("admin")
async def _admin(request: Request) -> JSONResponse:
    return JSONResponse(_seen(get_principal(request)))


_STARLETTE_ROUTES = [Route("/me", _me, methods=["GET", "POST"]), Route("/bound", _bound),
                     Route("/admin", _admin)]


def _fastapi(verifier: Verifier, policy: DPoPPolicy | None, mode: str) -> FastAPI:
    bearer = JWTBearer(verifier=verifier, dpop=policy)
    api = FastAPI()
    bearer.init_app(api)
    me = bearer.jwt_required(optional=mode == "optional")

    @api.get("/me")
    @api.post("/me")
    async def fastapi_me(principal: Annotated[Principal | None, Depends(me)]) -> dict[str, Any]:
        return _seen(principal)

    @api.get("/bound")
    async def fastapi_bound(
        principal: Annotated[Principal, Depends(bearer.dpop_required())]
    ) -> dict[str, Any]:
        return _seen(principal)

    @api.get("/admin")
    async def fastapi_admin(
        principal: Annotated[Principal, Depends(bearer.roles_required("admin"))]
    ) -> dict[str, Any]:
        return _seen(principal)

    return api


def _flask(cfg: Config, policy: DPoPPolicy | None, mode: str,
           settings: Mapping[str, Any] | None) -> Flask:
    app = Flask(__name__)
    if settings is not None:  # the policy from app.config (JWT_DPOP, ...)
        app.config.update(settings)
        JWT(app, mode=mode)
    else:
        JWT(app, config=cfg, dpop=policy, mode=mode)

    def flask_me() -> dict[str, Any]:
        return _seen(flask_principal())

    app.add_url_rule("/me", "me", flask_me, methods=["GET", "POST"])
    app.add_url_rule("/bound", "bound", flask_dpop_required()(flask_me))
    app.add_url_rule("/admin", "admin", flask_roles_required("admin")(flask_me))
    return app


def build(
    framework: str,
    policy: DPoPPolicy | None,
    *,
    mode: str = "required",
    proxies: TrustedProxies | None = None,
    cfg: Config | None = None,
    flask_settings: Mapping[str, Any] | None = None,
) -> Target:
    """``framework``'s app with DPoP ``policy`` (``None``: the adapter's default, off)."""
    cfg = cfg or config()
    verifier = Verifier(cfg)
    extra: dict[str, Any] = {} if policy is None else {"dpop": policy}
    if framework == "asgi":
        app: Any = ASGIMiddleware(_asgi_inner, verifier=verifier, mode=mode, **extra)
        return Target(framework, asgi_caller(app, proxies), False)
    if framework == "wsgi":
        wsgi = WSGIMiddleware(_wsgi_inner, verifier=verifier, mode=mode, **extra)
        return Target(framework, wsgi_caller(wsgi, proxies), False)
    if framework == "starlette":
        app = Starlette(routes=_STARLETTE_ROUTES, middleware=[
            Middleware(ASGIMiddleware, verifier=verifier, mode=mode, **extra)])
        return Target(framework, asgi_caller(app, proxies), True)
    if framework == "starlette-backend":  # no token: anonymous, the routes decide
        backend = JWTAuthBackend(verifier=verifier, **extra)
        app = Starlette(routes=_STARLETTE_ROUTES, middleware=[
            Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error)])
        return Target(framework, asgi_caller(app, proxies), True)
    if framework == "fastapi":
        return Target(framework, asgi_caller(_fastapi(verifier, policy, mode), proxies), True)
    if framework == "flask":
        flask_app = _flask(cfg, policy, mode, flask_settings)
        return Target(framework, wsgi_caller(flask_app.wsgi_app, proxies), True)
    raise ValueError(framework)  # pragma: no cover - a typo in a test
