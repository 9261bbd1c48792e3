"""Per-request cost in each framework: bare, this package, and the peers.

Run: ``python -m benchmarks.bench_frameworks`` (project root, in its venv).

In-process, no network: ASGI apps are called with a prepared scope and
no-op ``receive``/``send`` (a batch of requests per event-loop entry), the
Flask app through ``app.wsgi_app(environ, start_response)``. Every
protected variant checks one HS256 token with ``iss`` and ``aud``, sent again on every
request, and every route returns a small JSON body. The package's rows run with the
verified-token cache on (the default: warm after the first request) and with
``cache_size=0`` ("uncached"); the peers and the references verify on every request.

The reference rows place work in the framework's cheapest hook (a pure ASGI middleware,
a FastAPI dependency, a Flask ``before_request``): nothing at all (and, in FastAPI, a
security scheme that does nothing: what a dependency documented in OpenAPI costs); the
floor verify (bench_verify's hand-written check); and the package's warm cache hit alone
(``Verifier.verify`` of a token it has seen), the least any cached check costs there.

Targets (issue 9): a warm-cache protected route at most 1.3× bare Starlette, 1.35× bare
FastAPI and 1.15× bare Flask; uncached, at most 1.1× the floor verify placed in the
framework's cheapest hook (the "reference: floor in ..." row of each framework).
"""


import argparse
import asyncio
import dataclasses
import io
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import jwt

from benchmarks import _harness, bench_verify
from jwt_middleware import Config, Key, Principal, Verifier

SECRET = "benchmark-secret-0123456789-abcdefghijklmnop"
ISS = "https://auth.example.com"
AUD = "orders-api"
INNER = 50
#: Issue 9: a warm-cache protected route against the bare framework ...
TARGETS = {"starlette": 1.3, "fastapi": 1.35, "flask": 1.15}
#: ... and the uncached one against the floor in the framework's cheapest hook.
UNCACHED_TARGET = 1.1
WARM, UNCACHED = "jwt_middleware", "jwt_middleware, uncached"


def make_token() -> str:
    now = int(time.time())
    claims = {
        "sub": "user-42", "iss": ISS, "aud": AUD, "iat": now, "nbf": now, "exp": now + 3600,
        "jti": "b1f0c2d3-0000-4000-8000-000000000001", "type": "access", "fresh": False,
        "roles": ["admin"], "scope": "orders:read",
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def config(cache_size: int | None = None) -> Config:
    """The package's configuration; ``cache_size=0`` turns the verified-token cache off."""
    base = Config(keys=Key.from_secret(SECRET, "HS256"), issuer=ISS, audience=AUD)
    return base if cache_size is None else dataclasses.replace(base, cache_size=cache_size)


def floor() -> Callable[[str], dict[str, Any]]:
    """The Python floor for one HS256 token (see bench_verify): the least any check costs."""
    key = Key.from_secret(SECRET, "HS256")
    return bench_verify.floor_for("HS256", key._verify_key, key._alg_obj, iss=ISS, aud=AUD)


def cache_hit() -> Callable[[str], Any]:
    """The package's warm cache hit alone (``Verifier.verify`` of a token seen before),
    returning the claims: what any adapter's check costs at least, with the cache on."""
    verifier = Verifier(config())
    return lambda token: verifier.verify(token).claims


def _bearer(value: str | None) -> str:
    scheme, _, token = (value or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ValueError("no bearer token")
    return token


# --- ASGI ------------------------------------------------------------------

def asgi_runner(
    app: Any, token: str, loop: asyncio.AbstractEventLoop, *, scheme: str = "http",
    client: str = "127.0.0.1", extra: list[tuple[bytes, bytes]] | None = None,
) -> Callable[[], None]:
    """``INNER`` requests per call; ``scheme``, ``client`` and ``extra`` headers for
    bench_https."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    headers += extra or []
    template = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": scheme, "path": "/me", "raw_path": b"/me", "root_path": "", "query_string": b"",
        "headers": headers, "client": (client, 1), "server": ("bench", 80),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def many() -> None:
        for _ in range(INNER):
            await app(dict(template), receive, send)

    def run() -> None:
        loop.run_until_complete(many())
        if statuses[-1] != 200:
            raise RuntimeError(f"status {statuses[-1]}")
        statuses.clear()

    return run


def starlette_apps() -> dict[str, Any]:
    from starlette.applications import Starlette
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        SimpleUser,
    )
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jwt_middleware.asgi import JWTMiddleware
    from jwt_middleware.starlette import JWTAuthBackend, on_auth_error

    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    class PyJWTBackend(AuthenticationBackend):
        async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser]:
            scheme, _, token = conn.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer":
                raise AuthenticationError("no token")
            try:
                claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISS, audience=AUD)
            except jwt.PyJWTError as exc:
                raise AuthenticationError("bad token") from exc
            return AuthCredentials(claims.get("roles", [])), SimpleUser(claims["sub"])

    def floor_middleware(app: Any, check: Callable[[str], Any]) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            headers = dict(scope["headers"])
            scope["claims"] = check(_bearer(headers.get(b"authorization", b"").decode()))
            await app(scope, receive, send)

        return wrapped

    class Nothing:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    routes = [Route("/me", me)]
    return {
        "bare Starlette": Starlette(routes=routes),
        f"{WARM} ASGI": Starlette(
            routes=routes, middleware=[Middleware(JWTMiddleware, config=config())]
        ),
        f"{UNCACHED} ASGI": Starlette(
            routes=routes, middleware=[Middleware(JWTMiddleware, config=config(0))]
        ),
        f"{WARM} JWTAuthBackend": Starlette(
            routes=routes,
            middleware=[
                Middleware(
                    AuthenticationMiddleware, backend=JWTAuthBackend(config()),
                    on_error=on_auth_error,
                )
            ],
        ),
        "AuthenticationMiddleware + PyJWT": Starlette(
            routes=routes,
            middleware=[Middleware(AuthenticationMiddleware, backend=PyJWTBackend())],
        ),
        "reference: a pure ASGI middleware that does nothing": Starlette(
            routes=routes, middleware=[Middleware(Nothing)]
        ),
        "reference: floor in a pure ASGI middleware": floor_middleware(
            Starlette(routes=routes), floor()
        ),
        "reference: the cache hit alone in a pure ASGI middleware": floor_middleware(
            Starlette(routes=routes), cache_hit()
        ),
    }


def fastapi_apps() -> dict[str, Any]:
    from authx import AuthX, AuthXConfig, TokenPayload
    from fastapi import Depends, FastAPI, Request
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from fastapi.security.base import SecurityBase
    from starlette.requests import HTTPConnection

    from jwt_middleware.fastapi import JWTBearer

    bare = FastAPI()

    @bare.get("/me")
    async def bare_me() -> dict[str, Any]:
        return {"ok": True}

    def ours(cache_size: int | None = None) -> FastAPI:
        app = FastAPI()
        auth = JWTBearer(config=config(cache_size))

        @app.get("/me")
        async def ours_me(principal: Annotated[Principal, Depends(auth)]) -> dict[str, Any]:
            return {"ok": True, "sub": principal.subject}

        return app

    peer = FastAPI()
    bearer = HTTPBearer()

    @peer.get("/me")
    async def peer_me(
        cred: Annotated[HTTPAuthorizationCredentials, Depends(bearer)],
    ) -> dict[str, Any]:
        claims = jwt.decode(cred.credentials, SECRET, algorithms=["HS256"], issuer=ISS,
                            audience=AUD)
        return {"ok": True, "sub": claims["sub"]}

    authx_app = FastAPI()
    authx: AuthX[Any] = AuthX(config=AuthXConfig(
        JWT_SECRET_KEY=SECRET, JWT_ALGORITHM="HS256", JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_TOKEN_LOCATION=["headers"], JWT_DECODE_ISSUER=ISS, JWT_DECODE_AUDIENCE=AUD,
    ))

    @authx_app.get("/me")
    async def authx_me(
        payload: Annotated[TokenPayload, Depends(authx.access_token_required)],
    ) -> dict[str, Any]:
        return {"ok": True, "sub": payload.sub}

    trivial_app = FastAPI()

    async def nothing(request: Request) -> int:
        return 1

    @trivial_app.get("/me")
    async def trivial_me(_: Annotated[int, Depends(nothing)]) -> dict[str, Any]:
        return {"ok": True}

    class NoScheme(SecurityBase):  # what FastAPI adds for a security scheme (OpenAPI)
        def __init__(self) -> None:
            self.model = HTTPBearerModel()
            self.scheme_name = "NoScheme"

        async def __call__(self, conn: HTTPConnection) -> int:
            return 1

    scheme_app = FastAPI()
    no_scheme = NoScheme()

    @scheme_app.get("/me")
    async def scheme_me(_: Annotated[int, Depends(no_scheme)]) -> dict[str, Any]:
        return {"ok": True}

    def checked(check: Callable[[str], Any]) -> FastAPI:
        app = FastAPI()

        async def floor_dep(request: Request) -> Any:
            return check(_bearer(request.headers.get("authorization")))

        @app.get("/me")
        async def floor_me(claims: Annotated[Any, Depends(floor_dep)]) -> dict[str, Any]:
            return {"ok": True, "sub": claims["sub"]}

        return app

    return {
        "bare FastAPI": bare,
        f"{WARM} dependency": ours(),
        f"{UNCACHED} dependency": ours(0),
        "HTTPBearer + PyJWT": peer,
        "AuthX": authx_app,
        "reference: a dependency that does nothing": trivial_app,
        "reference: a security scheme that does nothing": scheme_app,
        "reference: floor in a dependency": checked(floor()),
        "reference: the cache hit alone in a dependency": checked(cache_hit()),
    }


# --- WSGI ------------------------------------------------------------------

def wsgi_runner(app: Any, token: str) -> Callable[[], None]:
    base = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/me", "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "bench", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "bench", "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(s)

    def run() -> None:
        for _ in range(INNER):
            body = app(dict(base), start_response)
            b"".join(body)
            if hasattr(body, "close"):
                body.close()
        if not status[-1].startswith("200"):
            raise RuntimeError(status[-1])
        status.clear()

    return run


def flask_apps() -> dict[str, Any]:
    from flask import Flask, g, request
    from flask_jwt_extended import JWTManager, get_jwt_identity
    from flask_jwt_extended import jwt_required as fje_required

    from jwt_middleware.flask import JWT, jwt_required
    from jwt_middleware.wsgi import JWTMiddleware

    bare = Flask("bare")

    @bare.get("/me")
    def bare_me() -> dict[str, Any]:
        return {"ok": True}

    def ours(cache_size: int | None = None) -> Flask:
        app = Flask("ours")
        JWT(app, config=config(cache_size))

        @app.get("/me")
        @jwt_required()
        def ours_me() -> dict[str, Any]:
            return {"ok": True}

        return app

    peer = Flask("peer")
    peer.config.update(JWT_SECRET_KEY=SECRET, JWT_DECODE_ISSUER=ISS, JWT_DECODE_AUDIENCE=AUD)
    JWTManager(peer)

    @peer.get("/me")
    @fje_required()  # type: ignore[untyped-decorator]
    def peer_me() -> dict[str, Any]:
        return {"ok": True, "sub": get_jwt_identity()}

    def checked(name: str, check: Callable[[str], Any]) -> Flask:
        app = Flask(name)

        @app.before_request
        def floor_hook() -> None:
            g.claims = check(_bearer(request.headers.get("Authorization")))

        @app.get("/me")
        def floor_me() -> dict[str, Any]:
            return {"ok": True}

        return app

    hook_app = Flask("hook")

    @hook_app.before_request
    def nothing() -> None:
        return None

    @hook_app.get("/me")
    def hook_me() -> dict[str, Any]:
        return {"ok": True}

    return {
        "bare Flask": bare.wsgi_app,
        f"{WARM} extension": ours().wsgi_app,
        f"{UNCACHED} extension": ours(0).wsgi_app,
        f"{WARM} WSGI middleware": JWTMiddleware(bare.wsgi_app, config=config()),
        "flask-jwt-extended": peer.wsgi_app,
        "reference: a before_request hook that does nothing": hook_app.wsgi_app,
        "reference: floor in before_request": checked("floor", floor()).wsgi_app,
        "reference: the cache hit alone in before_request": checked("hit", cache_hit()).wsgi_app,
    }


def _run_group(
    title: str, runners: dict[str, Callable[[], None]], baseline: str, rounds: int, batch: int
) -> tuple[str, dict[str, list[float]]]:
    for run in runners.values():
        run()
    samples = _harness.run(runners, rounds=rounds, batch=batch, inner=INNER)
    return _harness.table(title, samples, baseline, list(runners)), samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--only", choices=sorted(TARGETS), action="append",
                        help="run only this framework (repeatable)")
    args = parser.parse_args()
    token = make_token()
    loop = asyncio.new_event_loop()
    builders: list[tuple[str, str, Callable[[], dict[str, Callable[[], None]]]]] = [
        ("starlette", "Starlette",
         lambda: {k: asgi_runner(v, token, loop) for k, v in starlette_apps().items()}),
        ("fastapi", "FastAPI",
         lambda: {k: asgi_runner(v, token, loop) for k, v in fastapi_apps().items()}),
        ("flask", "Flask", lambda: {k: wsgi_runner(v, token) for k, v in flask_apps().items()}),
    ]
    groups = [
        (key, title, f"bare {title}", build())
        for key, title, build in builders if not args.only or key in args.only
    ]
    print(f"{args.rounds} interleaved rounds of {args.batch}×{INNER} requests per variant\n")
    summary = [
        "| framework | warm cache × bare | target | uncached × floor in hook | target "
        "| peers × bare | references × bare |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for key, title, baseline, runners in groups:
        text, samples = _run_group(title, runners, baseline, args.rounds, args.batch)
        print(text, "\n")
        summary.append(_summary_row(key, title, baseline, list(runners), samples))
    loop.close()
    print("\n".join(summary))


def _verdict(ratio: float, target: float) -> str:
    return f"≤ {target}× ({'met' if ratio <= target else 'MISSED'})"


def _summary_row(
    key: str, title: str, baseline: str, names: list[str], samples: dict[str, list[float]]
) -> str:
    """One framework's line: the first warm and uncached rows of ours against their
    targets, the peers and the references against the bare framework."""
    def ratio(name: str, to: str = baseline) -> float:
        return _harness.paired_ratio(samples, name, to)

    warm = next(n for n in names if n.startswith(WARM + " "))
    uncached = next(n for n in names if n.startswith(UNCACHED + " "))
    floor_ref = next(n for n in names if n.startswith("reference: floor"))
    peers = ", ".join(
        f"{n} {ratio(n):.2f}×" for n in names[1:]
        if not n.startswith(("reference", "jwt_middleware"))
    )
    refs = ", ".join(
        f"{n[len('reference: '):]} {ratio(n):.2f}×" for n in names if n.startswith("reference")
    )
    hot, cold = ratio(warm), ratio(uncached, floor_ref)
    return (
        f"| {title} | {hot:.2f}× | {_verdict(hot, TARGETS[key])} "
        f"| {cold:.2f}× | {_verdict(cold, UNCACHED_TARGET)} | {peers} | {refs} |"
    )


if __name__ == "__main__":
    main()
