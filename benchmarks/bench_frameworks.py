"""Per-request cost in each framework: bare, this package, and the peers.

Run: ``python -m benchmarks.bench_frameworks`` (project root, in its venv).

In-process, no network: ASGI apps are called with a prepared scope and
no-op ``receive``/``send`` (a batch of requests per event-loop entry), the
Flask app through ``app.wsgi_app(environ, start_response)``. Every
protected variant verifies an HS256 token with ``iss`` and ``aud`` checked,
uncached, on every request, and every route returns a small JSON body.
"""


import argparse
import asyncio
import io
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import jwt

from benchmarks import _harness, bench_verify
from jwt_middleware import Config, Key, Principal

SECRET = "benchmark-secret-0123456789-abcdefghijklmnop"
ISS = "https://auth.example.com"
AUD = "orders-api"
INNER = 50
TARGETS = {"starlette": 3.2, "fastapi": 1.6, "flask": 1.4}


def make_token() -> str:
    now = int(time.time())
    claims = {
        "sub": "user-42", "iss": ISS, "aud": AUD, "iat": now, "nbf": now, "exp": now + 3600,
        "jti": "b1f0c2d3-0000-4000-8000-000000000001", "type": "access", "fresh": False,
        "roles": ["admin"], "scope": "orders:read",
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def config() -> Config:
    return Config(keys=Key.from_secret(SECRET, "HS256"), issuer=ISS, audience=AUD)


def floor() -> Callable[[str], dict[str, Any]]:
    """The Python floor for one HS256 token (see bench_verify): the least any check costs."""
    key = Key.from_secret(SECRET, "HS256")
    return bench_verify.floor_for("HS256", key._verify_key, key._alg_obj, iss=ISS, aud=AUD)


def _bearer(value: str | None) -> str:
    scheme, _, token = (value or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ValueError("no bearer token")
    return token


# --- ASGI ------------------------------------------------------------------

def asgi_runner(app: Any, token: str, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    template = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/me", "raw_path": b"/me", "root_path": "", "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 1), "server": ("bench", 80),
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

    check = floor()

    def floor_middleware(app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            headers = dict(scope["headers"])
            scope["claims"] = check(_bearer(headers.get(b"authorization", b"").decode()))
            await app(scope, receive, send)

        return wrapped

    routes = [Route("/me", me)]
    return {
        "bare Starlette": Starlette(routes=routes),
        "jwt_middleware ASGI": Starlette(
            routes=routes, middleware=[Middleware(JWTMiddleware, config=config())]
        ),
        "AuthenticationMiddleware + PyJWT": Starlette(
            routes=routes,
            middleware=[Middleware(AuthenticationMiddleware, backend=PyJWTBackend())],
        ),
        "reference: floor in a pure ASGI middleware": floor_middleware(Starlette(routes=routes)),
    }


def fastapi_apps() -> dict[str, Any]:
    from authx import AuthX, AuthXConfig, TokenPayload
    from fastapi import Depends, FastAPI, Request
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    from jwt_middleware.fastapi import JWTBearer

    bare = FastAPI()

    @bare.get("/me")
    async def bare_me() -> dict[str, Any]:
        return {"ok": True}

    ours = FastAPI()
    auth = JWTBearer(config=config())

    @ours.get("/me")
    async def ours_me(principal: Annotated[Principal, Depends(auth)]) -> dict[str, Any]:
        return {"ok": True, "sub": principal.subject}

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

    floor_app = FastAPI()
    check = floor()

    async def floor_dep(request: Request) -> dict[str, Any]:
        return check(_bearer(request.headers.get("authorization")))

    @floor_app.get("/me")
    async def floor_me(claims: Annotated[dict[str, Any], Depends(floor_dep)]) -> dict[str, Any]:
        return {"ok": True, "sub": claims["sub"]}

    return {
        "bare FastAPI": bare,
        "jwt_middleware dependency": ours,
        "HTTPBearer + PyJWT": peer,
        "AuthX": authx_app,
        "reference: a dependency that does nothing": trivial_app,
        "reference: floor in a dependency": floor_app,
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

    bare = Flask("bare")

    @bare.get("/me")
    def bare_me() -> dict[str, Any]:
        return {"ok": True}

    ours = Flask("ours")
    JWT(ours, config=config())

    @ours.get("/me")
    @jwt_required()
    def ours_me() -> dict[str, Any]:
        return {"ok": True}

    peer = Flask("peer")
    peer.config.update(JWT_SECRET_KEY=SECRET, JWT_DECODE_ISSUER=ISS, JWT_DECODE_AUDIENCE=AUD)
    JWTManager(peer)

    @peer.get("/me")
    @fje_required()  # type: ignore[untyped-decorator]
    def peer_me() -> dict[str, Any]:
        return {"ok": True, "sub": get_jwt_identity()}

    floor_app = Flask("floor")
    check = floor()

    @floor_app.before_request
    def floor_hook() -> None:
        g.claims = check(_bearer(request.headers.get("Authorization")))

    @floor_app.get("/me")
    def floor_me() -> dict[str, Any]:
        return {"ok": True}

    return {"bare Flask": bare.wsgi_app, "jwt_middleware extension": ours.wsgi_app,
            "flask-jwt-extended": peer.wsgi_app,
            "reference: floor in before_request": floor_app.wsgi_app}


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
    args = parser.parse_args()
    token = make_token()
    loop = asyncio.new_event_loop()
    groups: list[tuple[str, str, str, dict[str, Callable[[], None]]]] = [
        ("starlette", "Starlette", "bare Starlette",
         {k: asgi_runner(v, token, loop) for k, v in starlette_apps().items()}),
        ("fastapi", "FastAPI", "bare FastAPI",
         {k: asgi_runner(v, token, loop) for k, v in fastapi_apps().items()}),
        ("flask", "Flask", "bare Flask",
         {k: wsgi_runner(v, token) for k, v in flask_apps().items()}),
    ]
    print(f"{args.rounds} interleaved rounds of {args.batch}×{INNER} requests per variant\n")
    summary = [
        "| framework | jwt_middleware × bare | target | peers × bare | references × bare |",
        "|---|---:|---:|---|---|",
    ]
    for key, title, baseline, runners in groups:
        text, samples = _run_group(title, runners, baseline, args.rounds, args.batch)
        print(text, "\n")
        names = list(runners)
        ours = _harness.paired_ratio(samples, names[1], baseline)
        peers = ", ".join(
            f"{n} {_harness.paired_ratio(samples, n, baseline):.2f}×"
            for n in names[2:] if not n.startswith("reference")
        )
        refs = ", ".join(
            f"{n[len('reference: '):]} {_harness.paired_ratio(samples, n, baseline):.2f}×"
            for n in names[2:] if n.startswith("reference")
        )
        verdict = "met" if ours <= TARGETS[key] else "MISSED"
        summary.append(
            f"| {title} | {ours:.2f}× | ≤ {TARGETS[key]}× ({verdict}) | {peers} | {refs} |"
        )
    loop.close()
    print("\n".join(summary))




if __name__ == "__main__":
    main()
