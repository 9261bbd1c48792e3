"""Starlette: the middleware's ``user_loader`` and ``get_current_user``, its ``on_error``
shaping the decorators' refusals too, and the claims hook at login (``Issuer``)."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from jwt_middleware import (
    AuthError,
    Config,
    ConfigurationError,
    Identity,
    Issuer,
    Key,
    KeySet,
    Principal,
    ServiceUnavailableError,
    TokenService,
    Verifier,
    encode,
)
from jwt_middleware.starlette import (
    JWTAuthBackend,
    JWTMiddleware,
    auth_public_paths,
    get_current_user,
    get_principal,
    jwt_required,
    on_auth_error,
    roles_required,
    token_mount,
)

ISSUER = "https://issuer.test"
AUDIENCE = "api.test"


@pytest.fixture
def key() -> Key:
    return Key.from_secret(secrets.token_bytes(32), "HS256")


@pytest.fixture
def config(key: Key) -> Config:
    return Config(
        keys=KeySet([key]), issuer=ISSUER, audience=AUDIENCE, realm="shop", store="memory://"
    )


def make_token(key: Key, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    body.update(claims)
    return encode(body, key)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Users:
    """A user table that counts its look-ups and the threads they ran in."""

    def __init__(self) -> None:
        self.rows = {"alice": {"name": "Alice"}}
        self.calls = 0
        self.threads: set[int] = set()

    def load(self, principal: Principal) -> dict[str, str] | None:
        self.calls += 1
        self.threads.add(threading.get_ident())
        return self.rows.get(principal.subject or "")

    async def aload(self, principal: Principal) -> dict[str, str] | None:
        self.calls += 1
        await asyncio.sleep(0)
        return self.rows.get(principal.subject or "")


async def profile(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "user": get_current_user(request),
            "again": get_current_user(request),
            "authenticated": request.user.is_authenticated,
            "display_name": request.user.display_name,
        }
    )


@roles_required("admin")
async def admin(request: Request) -> JSONResponse:
    return JSONResponse({"admin": True})


@jwt_required()
async def guarded(request: Request) -> JSONResponse:
    return JSONResponse({"user": get_current_user(request)})


async def ws_profile(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"user": get_current_user(websocket)})
    await websocket.close()


def build(config: Config, **options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/profile", profile),
            Route("/public", profile),
            Route("/admin", admin),
            Route("/guarded", guarded),
            WebSocketRoute("/ws", ws_profile),
        ]
    )
    app.add_middleware(JWTMiddleware, config=config, public_paths=["/public"], **options)
    return app


# --- the user loader ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_user_loader_loads_once_per_request(config: Config, key: Key, kind: str) -> None:
    users = Users()
    loader = users.load if kind == "sync" else users.aload
    client = TestClient(build(config, user_loader=loader))
    body = client.get("/profile", headers=bearer(make_token(key))).json()
    assert body == {
        "user": {"name": "Alice"},
        "again": {"name": "Alice"},
        "authenticated": True,  # request.user stays Starlette's authentication user
        "display_name": "alice",
    }
    assert users.calls == 1
    if kind == "sync":
        assert threading.get_ident() not in users.threads  # run in a worker thread
    assert client.get("/guarded", headers=bearer(make_token(key))).json() == {
        "user": {"name": "Alice"}
    }
    assert users.calls == 2


def test_no_token_no_loader_call(config: Config) -> None:
    users = Users()
    client = TestClient(build(config, user_loader=users.load))
    assert client.get("/public").json()["user"] is None
    assert client.get("/profile").status_code == 401
    assert users.calls == 0


def test_a_gone_user_is_401_and_reported(config: Config, key: Key) -> None:
    events: list[Any] = []
    users = Users()
    client = TestClient(build(config, user_loader=users.load, on_event=events.append))
    response = client.get("/profile", headers=bearer(make_token(key, sub="mallory")))
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "the token's user is unknown",
    }
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert [(e.reason, e.status, e.subject) for e in events] == [("unknown_user", 401, "mallory")]


def test_on_a_public_path_a_gone_user_is_no_user(config: Config, key: Key) -> None:
    client = TestClient(build(config, user_loader=Users().load))
    response = client.get("/public", headers=bearer(make_token(key, sub="mallory")))
    assert response.status_code == 200
    assert response.json()["user"] is None


def test_a_loader_may_refuse_with_an_auth_error(config: Config, key: Key) -> None:
    def down(principal: Principal) -> None:
        raise ServiceUnavailableError("the user database is unavailable", retry_after=3)

    response = TestClient(build(config, user_loader=down)).get(
        "/profile", headers=bearer(make_token(key))
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"


def test_websockets_get_the_user_and_a_gone_user_is_refused(config: Config, key: Key) -> None:
    client = TestClient(build(config, user_loader=Users().load))
    with client.websocket_connect("/ws", headers=bearer(make_token(key))) as ws:
        assert ws.receive_json() == {"user": {"name": "Alice"}}
    gone = bearer(make_token(key, sub="x"))
    # The test server offers HTTP answers to websockets: the same 401 as for a request.
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect(
        "/ws", headers=gone
    ) as ws:
        ws.receive_json()
    assert denied.value.status_code == 401
    assert denied.value.json()["error_description"] == "the token's user is unknown"


def test_the_auth_backend_takes_a_user_loader(config: Config, key: Key) -> None:
    backend = JWTAuthBackend(verifier=Verifier(config), user_loader=Users().aload)
    app = Starlette(
        routes=[Route("/profile", profile)],
        middleware=[Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error)],
    )
    client = TestClient(app)
    assert client.get("/profile", headers=bearer(make_token(key))).json()["user"] == {
        "name": "Alice"
    }
    gone = client.get("/profile", headers=bearer(make_token(key, sub="x")))
    assert gone.status_code == 401
    assert gone.json()["error_description"] == "the token's user is unknown"


def test_user_loader_is_checked_at_set_up(config: Config) -> None:
    with pytest.raises(ConfigurationError, match="callable"):
        JWTMiddleware(build(config), config=config, user_loader="users.load")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="one positional argument"):
        JWTAuthBackend(config, user_loader=lambda a, b: None)  # type: ignore[arg-type, misc]


# --- on_error shapes the decorators' refusals too -----------------------------------------------


def test_on_error_shapes_the_middleware_and_the_decorators(config: Config, key: Key) -> None:
    seen: list[str] = []

    def shape(scope: Any, error: AuthError) -> Response | None:
        seen.append(error.reason)
        if error.status == 403:
            return JSONResponse({"message": error.description}, status_code=403)
        return None  # the default answer

    client = TestClient(build(config, on_error=shape))
    denied = client.get("/admin", headers=bearer(make_token(key)))
    assert (denied.status_code, denied.json()) == (403, {"message": "a required role is missing"})
    missing = client.get("/admin")
    assert missing.json()["error"] == "invalid_request"
    assert seen == ["insufficient_role", "missing_token"]


def test_without_the_middleware_the_decorators_answer_as_before(key: Key) -> None:
    @jwt_required()
    async def me(request: Request) -> JSONResponse:
        principal = get_principal(request)
        return JSONResponse({"subject": principal.subject if principal else None})

    response = TestClient(Starlette(routes=[Route("/me", me)])).get("/me")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_request"


# --- the claims hook at login -------------------------------------------------------------------


def check(username: str, password: str) -> Identity | None:
    if password != "right-password":
        return None
    return Identity(username, roles=("user",), claims={"plan": "from-identity"})


def lifecycle_app(config: Config, issuer: Issuer) -> Starlette:
    async def claims(request: Request) -> JSONResponse:
        principal = get_principal(request)
        assert principal is not None
        return JSONResponse(dict(principal.claims))

    app = Starlette(routes=[Route("/claims", claims), token_mount(TokenService(issuer, check))])
    app.add_middleware(JWTMiddleware, config=config, public_paths=auth_public_paths())
    return app


def test_claims_loader_runs_at_login_only(config: Config) -> None:
    asked: list[tuple[str, int]] = []

    def claims(subject: str) -> dict[str, Any]:
        asked.append((subject, threading.get_ident()))
        return {"tenant": "acme", "plan": "from-loader"}

    client = TestClient(lifecycle_app(config, Issuer(config, claims_loader=claims)))
    login = client.post("/auth/login", json={"username": "alice", "password": "right-password"})
    assert login.status_code == 200, login.text
    seen = client.get("/claims", headers=bearer(login.json()["access_token"])).json()
    assert seen["tenant"] == "acme"
    assert seen["plan"] == "from-identity"  # the Identity's claims win over the loader's
    assert seen["roles"] == ["user"]
    assert [subject for subject, _ in asked] == ["alice"]
    assert asked[0][1] != threading.get_ident()  # a sync loader runs in a worker thread
    refreshed = client.post("/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    again = client.get("/claims", headers=bearer(refreshed.json()["access_token"])).json()
    assert (again["tenant"], again["fresh"]) == ("acme", False)
    assert len(asked) == 1  # the refresh carried the claims over


def test_a_claims_loader_may_refuse_the_login(config: Config) -> None:
    def claims(subject: str) -> dict[str, Any]:
        raise ServiceUnavailableError("the directory is unavailable")

    client = TestClient(lifecycle_app(config, Issuer(config, claims_loader=claims)))
    login = client.post("/auth/login", json={"username": "alice", "password": "right-password"})
    assert login.status_code == 503
    assert login.json()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize(
    "claim", ["sub", "iss", "exp", "jti", "fam", "fresh", "typ", "roles", "scope", "csrf"]
)
def test_a_claims_loader_may_not_set_reserved_claims(config: Config, claim: str) -> None:
    issuer = Issuer(config, claims_loader=lambda subject: {claim: "x"})
    with pytest.raises(ConfigurationError, match=f"claims_loader cannot set {claim}"):
        issuer.issue("alice")
    with pytest.raises(ConfigurationError, match="claims_loader cannot set"):
        asyncio.run(issuer.aissue("alice"))


def test_the_claims_loader_is_checked(config: Config) -> None:
    with pytest.raises(ConfigurationError, match="callable"):
        Issuer(config, claims_loader={"tenant": "acme"})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="one positional argument"):
        Issuer(config, claims_loader=lambda: {})  # type: ignore[arg-type, misc]
    not_a_mapping = Issuer(config, claims_loader=lambda subject: ["tenant"])  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="mapping"):
        not_a_mapping.issue("alice")

    async def async_claims(subject: str) -> dict[str, Any]:
        return {"tenant": "acme"}

    async_issuer = Issuer(config, claims_loader=async_claims)
    with pytest.raises(TypeError, match="sync claims_loader"):
        async_issuer.issue("alice")
    pair = asyncio.run(async_issuer.aissue("alice"))
    assert async_issuer.verifier.verify(pair.access_token).claims["tenant"] == "acme"
