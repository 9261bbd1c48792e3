"""FastAPI: one error shape (``auth.init_app``), the 401/403 answers in OpenAPI, the
security scheme's description, ``auth.current_user`` and the claims hook at login.

No ``from __future__ import annotations``: FastAPI reads the annotations of the
endpoints defined inside the builders at runtime."""

import secrets
import threading
import time
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import JSONResponse, Response

from jwt_middleware import (
    Config,
    ConfigurationError,
    Identity,
    Issuer,
    Key,
    KeySet,
    Principal,
    ServiceUnavailableError,
    TokenService,
    encode,
)
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import JWTBearer, token_router

ISSUER = "https://issuer.test"
AUDIENCE = "api.test"
RFC6750_KEYS = {"error", "error_description"}


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
    """A user table that counts its look-ups (and the threads they ran in)."""

    def __init__(self) -> None:
        self.rows = {"alice": {"name": "Alice"}, "carol": {"name": "Carol"}}
        self.calls = 0
        self.threads: set[int] = set()

    def load(self, principal: Principal) -> dict[str, str] | None:
        self.calls += 1
        self.threads.add(threading.get_ident())
        return self.rows.get(principal.subject or "")

    async def aload(self, principal: Principal) -> dict[str, str] | None:
        self.calls += 1
        return self.rows.get(principal.subject or "")


def check(username: str, password: str) -> Identity | None:
    return Identity(username, roles=("user",)) if password == "right-password" else None


def build_app(
    auth: JWTBearer, *, init: bool = True, service: TokenService | None = None
) -> FastAPI:
    app = FastAPI()
    if init:
        auth.init_app(app)
    if service is not None:
        app.include_router(token_router(service))

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"public": True}

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(auth)]) -> dict[str, Any]:
        return principal.to_dict()

    @app.get("/claims")
    async def claims(principal: Annotated[Principal, Depends(auth)]) -> dict[str, Any]:
        return dict(principal.claims)

    @app.get("/admin", dependencies=[Depends(auth.roles_required("admin"))])
    async def admin() -> dict[str, bool]:
        return {"admin": True}

    @app.get("/fresh", dependencies=[Depends(auth.fresh_required())])
    async def fresh() -> dict[str, bool]:
        return {"fresh": True}

    @app.get("/maybe")
    async def maybe(
        principal: Annotated[Principal | None, Depends(auth.jwt_required(optional=True))],
    ) -> dict[str, Any]:
        return {"subject": principal.subject if principal else None}

    @app.get("/items")
    async def items(
        limit: int, principal: Annotated[Principal, Depends(auth)]
    ) -> dict[str, Any]:
        return {"limit": limit}

    @app.get("/documented", responses={401: {"description": "my own words"}})
    async def documented(principal: Annotated[Principal, Depends(auth)]) -> dict[str, bool]:
        return {"ok": True}

    router = APIRouter(prefix="/v1", dependencies=[Depends(auth.scopes_required("read"))])

    @router.get("/things")
    async def things() -> dict[str, bool]:
        return {"things": True}

    app.include_router(router)

    if auth.user_loader is not None:
        current_user = auth.current_user

        async def display_name(
            user: Annotated[dict[str, str], Depends(current_user)],
        ) -> str:
            return user["name"]

        @app.get("/profile")
        async def profile(
            user: Annotated[dict[str, str], Depends(current_user)],
            name: Annotated[str, Depends(display_name)],
        ) -> dict[str, Any]:
            return {"user": user, "name": name}

    return app


def assert_rfc6750(response: Any, status: int, error: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    body: dict[str, str] = response.json()
    assert set(body) == RFC6750_KEYS
    assert body["error"] == error
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="shop"')
    assert f'error="{error}"' in challenge
    assert response.headers["cache-control"] == "no-store"
    return body


# --- one error shape ----------------------------------------------------------------------


def test_init_app_gives_every_refusal_the_rfc6750_body(config: Config, key: Key) -> None:
    client = TestClient(build_app(JWTBearer(config=config)))
    assert_rfc6750(client.get("/me"), 401, "invalid_request")
    assert_rfc6750(client.get("/me", headers=bearer("not.a.token")), 401, "invalid_token")
    expired = make_token(key, exp=int(time.time()) - 60)
    body = assert_rfc6750(client.get("/me", headers=bearer(expired)), 401, "invalid_token")
    assert body["error_description"] == "the token has expired"
    denied = client.get("/admin", headers=bearer(make_token(key)))
    assert assert_rfc6750(denied, 403, "insufficient_scope")["error_description"] == (
        "a required role is missing"
    )
    stale = client.get("/fresh", headers=bearer(make_token(key, fresh=False)))
    assert_rfc6750(stale, 401, "insufficient_user_authentication")
    assert_rfc6750(client.get("/maybe", headers=bearer("bad")), 401, "invalid_token")
    scoped = client.get("/v1/things", headers=bearer(make_token(key)))
    assert_rfc6750(scoped, 403, "insufficient_scope")
    assert 'scope="read"' in scoped.headers["www-authenticate"]
    # What passes is untouched, and so are FastAPI's own answers.
    assert client.get("/me", headers=bearer(make_token(key))).status_code == 200
    assert client.get("/maybe").json() == {"subject": None}
    assert client.get("/nowhere").json() == {"detail": "Not Found"}
    valid = bearer(make_token(key))
    assert client.get("/items?limit=many", headers=valid).status_code == 422


def test_a_bad_token_is_401_never_422(config: Config, key: Key) -> None:
    client = TestClient(build_app(JWTBearer(config=config)))
    assert_rfc6750(client.get("/items?limit=many"), 401, "invalid_request")
    assert_rfc6750(client.get("/items?limit=many", headers=bearer("x.y.z")), 401, "invalid_token")
    assert_rfc6750(client.get("/items", headers=bearer("x.y.z")), 401, "invalid_token")


def test_the_dependency_middleware_and_token_routes_answer_one_shape(
    config: Config, key: Key
) -> None:
    service = TokenService(Issuer(config), check)
    auth = JWTBearer(config=config)
    app = build_app(auth, service=service)
    app.add_middleware(
        JWTMiddleware, config=config, public_paths=["/public", "/auth/*", "/me", "/admin"]
    )
    client = TestClient(app)
    from_middleware = client.get("/fresh")  # not public: the middleware refuses
    from_dependency = client.get("/me")  # public for the middleware: the bearer refuses
    from_guard = client.get("/admin", headers=bearer(make_token(key)))
    from_login = client.post("/auth/login", json={"username": "alice", "password": "wrong"})
    for response in (from_middleware, from_dependency, from_guard, from_login):
        assert set(response.json()) == RFC6750_KEYS, response.text
        assert "www-authenticate" in response.headers
    assert from_middleware.json() == from_dependency.json()


def test_without_init_app_fastapi_keeps_its_detail_body(config: Config) -> None:
    """The opt-out: no handler is registered unless asked for."""
    app = build_app(JWTBearer(config=config), init=False)
    response = TestClient(app).get("/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "a bearer token is required"}
    assert 'error="invalid_request"' in response.headers["www-authenticate"]
    assert "401" not in app.openapi()["paths"]["/me"]["get"]["responses"]


def test_the_middlewares_on_error_shapes_the_bearers_refusals(config: Config, key: Key) -> None:
    def shape(scope: Any, error: Any) -> Response:
        return JSONResponse({"message": error.description}, status_code=error.status)

    app = build_app(JWTBearer(config=config))
    app.add_middleware(JWTMiddleware, config=config, on_error=shape, public_paths=["/public"])
    client = TestClient(app)
    assert client.get("/me").json() == {"message": "a bearer token is required"}
    denied = client.get("/admin", headers=bearer(make_token(key)))
    assert (denied.status_code, denied.json()) == (403, {"message": "a required role is missing"})


def test_an_app_handler_registered_after_init_app_wins(config: Config) -> None:
    from jwt_middleware.fastapi import JWTHTTPException

    app = build_app(JWTBearer(config=config))

    @app.exception_handler(JWTHTTPException)
    async def mine(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, JWTHTTPException)
        return JSONResponse({"why": exc.error.reason}, status_code=exc.status_code)

    assert TestClient(app).get("/me").json() == {"why": "missing_token"}


# --- OpenAPI ----------------------------------------------------------------------------


def responses_of(schema: dict[str, Any], path: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path]["get"]["responses"]
    return responses


def test_openapi_declares_the_401_and_403_answers(config: Config) -> None:
    service = TokenService(Issuer(config), check)
    auth = JWTBearer(config=config, user_loader=Users().load)
    app = build_app(auth, service=service)
    auth.init_app(app)  # a second call (another bearer, say) changes nothing
    schema = app.openapi()
    assert set(responses_of(schema, "/me")) == {"200", "401"}
    assert set(responses_of(schema, "/maybe")) == {"200", "401"}
    assert set(responses_of(schema, "/fresh")) == {"200", "401"}
    assert set(responses_of(schema, "/profile")) == {"200", "401"}
    assert set(responses_of(schema, "/admin")) == {"200", "401", "403"}
    assert set(responses_of(schema, "/v1/things")) == {"200", "401", "403"}
    assert set(responses_of(schema, "/items")) == {"200", "401", "422"}
    assert set(responses_of(schema, "/public")) == {"200"}
    # A route's own declaration is kept; the token routes keep theirs.
    assert responses_of(schema, "/documented")["401"] == {"description": "my own words"}
    login = schema["paths"]["/auth/login"]["post"]["responses"]
    assert login["401"]["description"].startswith("wrong credentials")
    unauthorized = responses_of(schema, "/admin")["401"]
    body = unauthorized["content"]["application/json"]["schema"]
    assert body["required"] == ["error", "error_description"]
    assert body["properties"]["error"]["enum"] == [
        "invalid_request",
        "invalid_token",
        "insufficient_user_authentication",
    ]
    assert "WWW-Authenticate" in unauthorized["headers"]
    forbidden = responses_of(schema, "/admin")["403"]
    assert forbidden["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == [
        "insufficient_scope"
    ]
    assert app.openapi() is schema  # generated once, as FastAPI does


def test_openapi_on_a_fastapi_that_copies_routes_into_the_app(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older FastAPI has no ``iter_route_contexts``: ``app.routes`` holds every route."""
    import types

    from jwt_middleware.fastapi import _openapi

    monkeypatch.setattr(_openapi, "fastapi_routing", types.SimpleNamespace())
    schema = build_app(JWTBearer(config=config)).openapi()
    assert set(responses_of(schema, "/admin")) == {"200", "401", "403"}
    assert set(responses_of(schema, "/public")) == {"200"}


def test_the_security_scheme_says_how_to_paste_the_token(config: Config) -> None:
    schema = build_app(JWTBearer(config=config)).openapi()
    description = schema["components"]["securitySchemes"]["JWTBearer"]["description"]
    assert "without `Bearer `" in description
    custom = build_app(JWTBearer(config=config, description="mine")).openapi()
    assert custom["components"]["securitySchemes"]["JWTBearer"]["description"] == "mine"
    flow = build_app(JWTBearer(config=config, token_url="/auth/login")).openapi()
    assert "/auth/login" in flow["components"]["securitySchemes"]["JWTBearer"]["description"]


def test_init_app_takes_a_fastapi_app(config: Config) -> None:
    with pytest.raises(ConfigurationError, match="FastAPI app"):
        JWTBearer(config=config).init_app(object())  # type: ignore[arg-type]


# --- the app's user -----------------------------------------------------------------------


def test_current_user_is_loaded_once_per_request(config: Config, key: Key) -> None:
    users = Users()
    client = TestClient(build_app(JWTBearer(config=config, user_loader=users.load)))
    response = client.get("/profile", headers=bearer(make_token(key)))
    assert response.json() == {"user": {"name": "Alice"}, "name": "Alice"}
    assert users.calls == 1
    assert threading.get_ident() not in users.threads  # a sync loader runs in a worker thread
    client.get("/profile", headers=bearer(make_token(key)))
    assert users.calls == 2  # once per request, never across requests
    client.get("/me", headers=bearer(make_token(key)))
    assert users.calls == 2  # routes that do not ask for the user do not load it


def test_an_async_loader_is_awaited(config: Config, key: Key) -> None:
    users = Users()
    client = TestClient(build_app(JWTBearer(config=config, user_loader=users.aload)))
    assert client.get("/profile", headers=bearer(make_token(key))).json()["name"] == "Alice"
    assert users.calls == 1


def test_a_user_gone_is_401_and_reported(config: Config, key: Key) -> None:
    events: list[Any] = []
    users = Users()
    auth = JWTBearer(config=config, user_loader=users.load, on_event=events.append)
    client = TestClient(build_app(auth))
    gone = client.get("/profile", headers=bearer(make_token(key, sub="mallory")))
    body = assert_rfc6750(gone, 401, "invalid_token")
    assert body["error_description"] == "the token's user is unknown"
    assert [(e.reason, e.subject) for e in events] == [("unknown_user", "mallory")]
    assert_rfc6750(client.get("/profile"), 401, "invalid_request")
    assert users.calls == 1  # no token: the loader is not asked


def test_a_loader_may_refuse_with_an_auth_error(config: Config, key: Key) -> None:
    def down(principal: Principal) -> None:
        raise ServiceUnavailableError("the user database is unavailable", retry_after=7)

    client = TestClient(build_app(JWTBearer(config=config, user_loader=down)))
    response = client.get("/profile", headers=bearer(make_token(key)))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"] == "temporarily_unavailable"


def test_the_middlewares_user_is_reused(config: Config, key: Key) -> None:
    users = Users()
    app = build_app(JWTBearer(config=config, user_loader=users.load))
    app.add_middleware(
        JWTMiddleware, config=config, user_loader=users.load, public_paths=["/public"]
    )
    client = TestClient(app)
    assert client.get("/profile", headers=bearer(make_token(key))).json()["name"] == "Alice"
    assert users.calls == 1
    # The middleware refuses a gone user itself, with the same answer.
    gone = client.get("/me", headers=bearer(make_token(key, sub="x")))
    assert_rfc6750(gone, 401, "invalid_token")


def test_current_user_needs_a_loader(config: Config) -> None:
    with pytest.raises(ConfigurationError, match="user_loader"):
        JWTBearer(config=config).current_user  # noqa: B018 - the property raises
    with pytest.raises(ConfigurationError, match="one positional argument"):
        JWTBearer(config=config, user_loader=lambda: None)  # type: ignore[arg-type, misc]
    with pytest.raises(ConfigurationError, match="callable"):
        JWTBearer(config=config, user_loader="load")  # type: ignore[arg-type]


# --- the claims hook at login -----------------------------------------------------------------


def test_claims_loader_adds_claims_at_login_and_refresh_keeps_them(config: Config) -> None:
    asked: list[str] = []

    async def claims(subject: str) -> dict[str, Any]:
        asked.append(subject)
        return {"tenant": "acme", "plan": "gold"}

    service = TokenService(Issuer(config, claims_loader=claims), check)
    auth = JWTBearer(config=config)
    client = TestClient(build_app(auth, service=service))
    login = client.post("/auth/login", json={"username": "alice", "password": "right-password"})
    assert login.status_code == 200, login.text
    claims_seen = client.get("/claims", headers=bearer(login.json()["access_token"])).json()
    assert (claims_seen["tenant"], claims_seen["plan"]) == ("acme", "gold")
    assert asked == ["alice"]
    refreshed = client.post("/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    again = client.get("/claims", headers=bearer(refreshed.json()["access_token"])).json()
    assert again["tenant"] == "acme"
    assert asked == ["alice"]  # a refresh carries the login's claims, without asking again
