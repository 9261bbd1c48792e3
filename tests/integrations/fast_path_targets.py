"""Every place a request is authenticated, built twice: with the fast path and without.

``build(framework, ...)`` returns a :class:`Target`: an app of that framework (or a
bare pure-ASGI / WSGI app behind the adapter) called in-process with exactly the
headers a test gives, whose answer is boiled down to an :class:`Answer` (status,
JSON body, ``WWW-Authenticate``, and what the route saw). ``fast=False`` turns the
fast path off on every authenticator the app holds, so the general path answers:
the tests in ``test_fast_path.py`` send the same requests to both and compare.

(No ``from __future__ import annotations`` here: FastAPI reads the route's annotations,
which name a local dependency.)
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwt_middleware import Config, CookiePolicy, Principal, Verifier
from jwt_middleware._sansio.authenticator import Authenticator, AuthEvent
from jwt_middleware.asgi import PRINCIPAL_KEY, USER_KEY
from jwt_middleware.asgi import JWTMiddleware as ASGIMiddleware
from jwt_middleware.fastapi import JWTBearer
from jwt_middleware.flask import JWT, get_current_user, jwt_required
from jwt_middleware.flask import get_principal as flask_principal
from jwt_middleware.starlette import JWTAuthBackend, on_auth_error
from jwt_middleware.wsgi import JWTMiddleware as WSGIMiddleware
from tests.integrations.calls import asgi_call, challenge, wsgi_call

#: Every adapter and integration that authenticates a request.
FRAMEWORKS = ("asgi", "wsgi", "starlette-backend", "fastapi", "flask")
#: Those with the whole request policy (modes, public paths, cookie mode).
POLICY_FRAMEWORKS = ("asgi", "wsgi", "flask")

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    www_authenticate: str | None


@dataclass
class Target:
    """One app; ``send`` calls it, ``general_calls`` counts requests the general path took."""

    name: str
    call: Callable[[str, str, Headers], Answer]
    authenticators: list[Authenticator]
    events: list[AuthEvent] = field(default_factory=list)

    def send(self, headers: Headers, *, method: str = "GET", path: str = "/me") -> Answer:
        return self.call(method, path, headers)


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("latin-1")


def _subject(principal: object) -> str | None:
    return principal.subject if isinstance(principal, Principal) else None


# --- calling the apps ---------------------------------------------------------------


def asgi_caller(app: Any) -> Callable[[str, str, Headers], Answer]:
    def call(method: str, path: str, headers: Headers) -> Answer:
        status, found, body = asgi_call(app, method, path, headers)
        return Answer(status, _body(body), challenge(found))

    return call


def wsgi_caller(app: Any) -> Callable[[str, str, Headers], Answer]:
    def call(method: str, path: str, headers: Headers) -> Answer:
        status, found, body = wsgi_call(app, method, path, headers)
        return Answer(status, _body(body), challenge(found))

    return call


# --- the apps -------------------------------------------------------------------------


def build(
    framework: str,
    config: Config,
    *,
    fast: bool = True,
    mode: str = "required",
    public_paths: Iterable[str] = (),
    cookies: CookiePolicy | None = None,
    user_loader: Callable[[Principal], Any] | None = None,
) -> Target:
    """``framework``'s app with ``/me`` (in ``mode``) and ``/public`` (a public path where
    the framework has them). Its routes answer ``{"subject": ..., "user": ...}``."""
    events: list[AuthEvent] = []
    verifier = Verifier(config)
    public_paths = list(public_paths)
    options: dict[str, Any] = {"mode": mode, "public_paths": public_paths, "cookies": cookies}
    if framework in ("asgi", "wsgi"):
        if framework == "asgi":
            async def inner(scope: Any, receive: Any, send: Any) -> None:
                body = json.dumps({"subject": _subject(scope.get(PRINCIPAL_KEY)),
                                   "user": scope.get(USER_KEY)}).encode()
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})

            asgi = ASGIMiddleware(inner, verifier=verifier, on_event=events.append,
                                  user_loader=user_loader, **options)
            target = Target(framework, asgi_caller(asgi), [asgi.authenticator], events)
        else:
            def wsgi_inner(environ: Any, start_response: Any) -> list[bytes]:
                start_response("200 OK", [("content-type", "application/json")])
                return [json.dumps({"subject": _subject(environ.get(PRINCIPAL_KEY)),
                                    "user": None}).encode()]

            wsgi = WSGIMiddleware(wsgi_inner, verifier=verifier, on_event=events.append,
                                  **options)
            target = Target(framework, wsgi_caller(wsgi), [wsgi.authenticator], events)
    elif framework == "starlette-backend":
        backend = JWTAuthBackend(verifier=verifier, on_event=events.append,
                                 user_loader=user_loader)

        async def me(request: Request) -> JSONResponse:
            return JSONResponse({"subject": _subject(request.scope.get(PRINCIPAL_KEY)),
                                 "user": request.scope.get(USER_KEY)})

        app = Starlette(routes=[Route("/me", me), Route("/public", me)], middleware=[
            Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error)
        ])
        target = Target(framework, asgi_caller(app), [backend.authenticator], events)
    elif framework == "fastapi":
        bearer = JWTBearer(verifier=verifier, on_event=events.append, user_loader=user_loader)
        dependency = bearer.jwt_required(optional=mode == "optional")
        api = FastAPI()
        bearer.init_app(api)

        async def answer(conn: HTTPConnection, principal: Principal | None) -> dict[str, Any]:
            user = None
            if principal is not None and user_loader is not None:
                user = await bearer.current_user(conn, principal)
            return {"subject": _subject(principal), "user": user}

        @api.get("/me")
        async def api_me(
            conn: Request, principal: Annotated[Principal | None, Depends(dependency)]
        ) -> dict[str, Any]:
            return await answer(conn, principal)

        api.get("/public")(api_me)
        target = Target(framework, asgi_caller(api),
                        [bearer.authenticator, bearer._optional.authenticator], events)
    elif framework == "flask":
        flask_app = Flask(__name__)
        JWT(flask_app, config=config, on_event=events.append, user_loader=user_loader,
            **options)
        state = flask_app.extensions["jwt_middleware"]

        def flask_me() -> dict[str, Any]:
            return {"subject": _subject(flask_principal()), "user": get_current_user()}

        flask_app.add_url_rule("/me", "me", flask_me, methods=["GET", "POST", "OPTIONS"])
        flask_app.add_url_rule("/public", "public", flask_me)
        # A decorated view picks the extension's "required" authenticator.
        flask_app.add_url_rule("/guarded", "guarded", jwt_required()(flask_me))
        authenticators = [state.default, state.required, state.optional, state.public]
        target = Target(framework, wsgi_caller(flask_app.wsgi_app), authenticators, events)
    else:  # pragma: no cover - a typo in a test
        raise ValueError(framework)
    for authenticator in target.authenticators:
        authenticator.fast_path = fast
    return target


# --- counting the general path ------------------------------------------------------------


class GeneralPath:
    """How many requests reached ``Authenticator.authenticate`` / ``aauthenticate``."""

    def __init__(self) -> None:
        self.calls = 0


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeneralPath]:
    counter = GeneralPath()
    sync, asynchronous = Authenticator.authenticate, Authenticator.aauthenticate

    def authenticate(self: Authenticator, request: Any) -> Any:
        counter.calls += 1
        return sync(self, request)

    async def aauthenticate(self: Authenticator, request: Any) -> Any:
        counter.calls += 1
        return await asynchronous(self, request)

    with monkeypatch.context() as patch:  # undone when the block ends
        patch.setattr(Authenticator, "authenticate", authenticate)
        patch.setattr(Authenticator, "aauthenticate", aauthenticate)
        yield counter
