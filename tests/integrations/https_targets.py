"""Every adapter and integration with a transport policy, called in-process.

``build(framework, settings)`` returns a :class:`Target`: the app of that framework
(or a bare ASGI / WSGI app behind the adapter) with ``GET /me`` (a token needed),
``GET /public`` (none needed) and, where the framework has them, the token routes
under ``/auth``. The policy comes from the same ``JWT_*`` settings everywhere: Flask
reads them from ``app.config``, the others get ``transport_policy_from_mapping``'s
policy as their ``transport=`` keyword. :meth:`Target.send` sets the connection's
peer (ASGI ``client``, WSGI ``REMOTE_ADDR``) and scheme, as a server would.

(No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations.)
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.test import EnvironBuilder, run_wsgi_app

from jwt_middleware import (
    Config,
    Identity,
    Issuer,
    Principal,
    TokenService,
    Verifier,
    cookie_policy_from_mapping,
    transport_policy_from_mapping,
)
from jwt_middleware._sansio.authenticator import AuthEvent
from jwt_middleware._sansio.dpop import environ_public_url, scope_public_url
from jwt_middleware.asgi import PRINCIPAL_KEY
from jwt_middleware.asgi import JWTMiddleware as ASGIMiddleware
from jwt_middleware.fastapi import JWTBearer, token_router
from jwt_middleware.flask import JWT, auth_blueprint
from jwt_middleware.flask import get_principal as flask_principal
from jwt_middleware.starlette import (
    JWTAuthBackend,
    auth_public_paths,
    jwt_required,
    on_auth_error,
    token_mount,
)
from jwt_middleware.wsgi import JWTMiddleware as WSGIMiddleware
from tests.integrations.calls import asgi_call

#: Every adapter and integration that reads a token.
FRAMEWORKS = (
    "asgi",
    "wsgi",
    "starlette",
    "fastapi",
    "flask",
    "starlette-backend",
    "fastapi-bearer",
)
#: Those that write the response too, so can add Strict-Transport-Security.
HSTS_FRAMEWORKS = ("asgi", "wsgi", "starlette", "fastapi", "flask")
#: Those serving the token routes (login, refresh, logout) under /auth.
ROUTE_FRAMEWORKS = ("starlette", "fastapi", "flask")
PUBLIC = ("/public",)
USERS = {"alice": "wonderland-42"}

Headers = Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]  # lower-cased names; repeated ones joined with ", "

    @property
    def hsts(self) -> str | None:
        return self.headers.get("strict-transport-security")


@dataclass
class Target:
    name: str
    call: Callable[..., Answer]
    verifier: Verifier
    events: list[AuthEvent] = field(default_factory=list)

    def send(
        self,
        path: str = "/me",
        headers: Headers | None = None,
        *,
        method: str = "GET",
        peer: str | None = "203.0.113.9",
        scheme: str = "http",
        body: Any = None,
    ) -> Answer:
        """``body``: a dict is sent as JSON."""
        hdrs = {"Host": "api.example", **(headers or {})}
        raw = b""
        if body is not None:
            raw = json.dumps(body).encode()
            hdrs = {**hdrs, "Content-Type": "application/json", "Content-Length": str(len(raw))}
        answer: Answer = self.call(method, path, hdrs, peer, scheme, raw)
        return answer


def _check(username: str, password: str) -> Identity | None:
    return Identity(username, roles=("user",)) if USERS.get(username) == password else None


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("latin-1")


def _subject(principal: object) -> str | None:
    return principal.subject if isinstance(principal, Principal) else None


def _url(read: Callable[[], str]) -> str | None:
    try:
        return read()
    except Exception:  # a host no URL can be made of
        return None


def _joined(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for k, v in headers:
        name = k.lower()
        found[name] = f"{found[name]}, {v}" if name in found else v
    return found


def asgi_caller(app: Any) -> Callable[..., Answer]:
    def call(
        method: str, path: str, headers: Headers, peer: str | None, scheme: str, raw: bytes
    ) -> Answer:
        status, found, body = asgi_call(
            app, method, path, headers.items(), scheme=scheme, host=None,
            client=(peer, 50000) if peer is not None else None,
            server=("10.1.1.1", 443 if scheme == "https" else 80), body=raw,
        )
        return Answer(status, _body(body), _joined(found))

    return call


def wsgi_caller(app: Any) -> Callable[..., Answer]:
    def call(
        method: str, path: str, headers: Headers, peer: str | None, scheme: str, raw: bytes
    ) -> Answer:
        environ = EnvironBuilder(
            path=path,
            method=method,
            headers=list(headers.items()),
            data=raw,
            base_url=f"{scheme}://10.1.1.1",  # the server's address; Host is a header
        ).get_environ()
        environ.pop("REMOTE_ADDR", None)
        if peer is not None:
            environ["REMOTE_ADDR"] = peer
        chunks, status, hdrs = run_wsgi_app(app, environ, buffered=True)
        return Answer(int(status.split()[0]), _body(b"".join(chunks)), _joined(hdrs.items()))

    return call


# --- the apps -----------------------------------------------------------------------


def _asgi_inner(scope: Any) -> dict[str, Any]:
    return {
        "subject": _subject(scope.get(PRINCIPAL_KEY)),
        "url": _url(lambda: scope_public_url(scope)),
    }


def build(framework: str, settings: Mapping[str, Any]) -> Target:
    """``framework``'s app for the ``JWT_*`` ``settings`` (module docstring)."""
    settings = dict(settings)
    events: list[AuthEvent] = []
    if framework == "flask":
        return _flask(settings, events)
    config = Config.from_env(environ={k: v for k, v in settings.items() if isinstance(v, str)})
    cookies = cookie_policy_from_mapping(settings)
    # Without cookies=: the adapters check the two against each other themselves.
    transport = transport_policy_from_mapping(settings)
    verifier = Verifier(config)
    middleware: dict[str, Any] = {
        "verifier": verifier,
        "on_event": events.append,
        "transport": transport,
        "cookies": cookies,
    }
    if framework == "asgi":

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            body = json.dumps(_asgi_inner(scope)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})

        app: Any = ASGIMiddleware(inner, public_paths=PUBLIC, **middleware)
        return Target(framework, asgi_caller(app), verifier, events)
    if framework == "wsgi":

        def wsgi_inner(environ: Any, start_response: Any) -> list[bytes]:
            start_response("200 OK", [("content-type", "application/json")])
            return [
                json.dumps(
                    {
                        "subject": _subject(environ.get(PRINCIPAL_KEY)),
                        "url": _url(lambda: environ_public_url(environ)),
                    }
                ).encode()
            ]

        wsgi = WSGIMiddleware(wsgi_inner, public_paths=PUBLIC, **middleware)
        return Target(framework, wsgi_caller(wsgi), verifier, events)
    service = TokenService(Issuer(config), _check, cookies=cookies)

    async def me(request: Request) -> JSONResponse:
        return JSONResponse(_asgi_inner(request.scope))

    if framework == "starlette":
        app = Starlette(
            routes=[Route("/me", jwt_required()(me)), Route("/public", me), token_mount(service)],
            middleware=[
                Middleware(
                    ASGIMiddleware, public_paths=(*PUBLIC, *auth_public_paths()), **middleware
                )
            ],
        )
    elif framework == "starlette-backend":
        backend = JWTAuthBackend(verifier=verifier, on_event=events.append, transport=transport)
        app = Starlette(
            routes=[Route("/me", jwt_required()(me)), Route("/public", me)],
            middleware=[
                Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error)
            ],
        )
    elif framework in ("fastapi", "fastapi-bearer"):
        behind = framework == "fastapi"
        bearer = JWTBearer(
            verifier=verifier,
            on_event=None if behind else events.append,
            transport=None if behind else transport,
        )
        api = FastAPI()
        bearer.init_app(api)

        @api.get("/me")
        async def api_me(
            request: Request, principal: Annotated[Principal, Depends(bearer)]
        ) -> dict[str, Any]:
            return {**_asgi_inner(request.scope), "subject": principal.subject}

        @api.get("/public")
        async def api_public(request: Request) -> dict[str, Any]:
            return _asgi_inner(request.scope)

        if behind:
            api.include_router(token_router(service))
            api.add_middleware(
                ASGIMiddleware, public_paths=(*PUBLIC, *auth_public_paths()), **middleware
            )
        app = api
    else:  # pragma: no cover - a typo in a test
        raise ValueError(framework)
    return Target(framework, asgi_caller(app), verifier, events)


def _flask(settings: dict[str, Any], events: list[AuthEvent]) -> Target:
    app = Flask(__name__)
    app.config.update({"JWT_PUBLIC_PATHS": list(PUBLIC), **settings})
    JWT(app, check_credentials=_check, on_event=events.append)
    app.register_blueprint(auth_blueprint())

    def flask_me() -> dict[str, Any]:
        environ = flask_request.environ
        return {
            "subject": _subject(flask_principal()),
            "url": _url(lambda: environ_public_url(environ)),
        }

    app.add_url_rule("/me", "me", flask_me)
    app.add_url_rule("/public", "public", flask_me)
    verifier = app.extensions["jwt_middleware"].default.verifier
    return Target("flask", wsgi_caller(app.wsgi_app), verifier, events)
