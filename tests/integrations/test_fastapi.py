"""jwt_middleware.fastapi: the JWTBearer dependency, its guards and OpenAPI."""

import secrets
import time
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from jwt_middleware import Config, ConfigurationError, Key, KeySet, Principal, Verifier, encode
from jwt_middleware._sansio.authenticator import AuthEvent
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import JWTBearer, use_rfc6750_errors

ISSUER = "https://issuer.test"
AUDIENCE = "api.test"


@pytest.fixture
def key() -> Key:
    return Key.from_secret(secrets.token_bytes(32), "HS256")


@pytest.fixture
def config(key: Key) -> Config:
    return Config(keys=KeySet([key]), issuer=ISSUER, audience=AUDIENCE, realm="shop")


def make_token(key: Key, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    body.update(claims)
    return encode(body, key)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def build_app(auth: JWTBearer) -> FastAPI:
    # This module has no `from __future__ import annotations` on purpose: FastAPI
    # resolves string annotations in module globals, and `auth` is a local here.
    app = FastAPI()

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"public": True}

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(auth)]) -> dict[str, Any]:
        return principal.to_dict()

    @app.get("/admin", dependencies=[Depends(auth.roles_required("admin"))])
    async def admin() -> dict[str, bool]:
        return {"admin": True}

    @app.get("/any-role")
    async def any_role(
        principal: Annotated[Principal, Depends(auth.roles_accepted("admin", "ops"))],
    ) -> dict[str, Any]:
        return {"subject": principal.subject}

    @app.get("/scoped", dependencies=[Depends(auth.scopes_required("read", "write"))])
    async def scoped() -> dict[str, bool]:
        return {"scoped": True}

    @app.get(
        "/acme",
        dependencies=[Depends(auth.claims_required(lambda c: c.get("tenant") == "acme", "acme"))],
    )
    async def acme() -> dict[str, bool]:
        return {"acme": True}

    @app.get("/maybe")
    async def maybe(
        principal: Annotated[Principal | None, Depends(auth.jwt_required(optional=True))],
    ) -> dict[str, Any]:
        return {"subject": principal.subject if principal else None}

    @app.get("/required")
    async def required(
        principal: Annotated[Principal | None, Depends(auth.jwt_required())],
    ) -> dict[str, Any]:
        return {"subject": principal.subject if principal else None}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, principal: Annotated[Principal, Depends(auth)]) -> None:
        await websocket.accept()
        await websocket.send_text(f"hello {principal.subject}")
        await websocket.close()

    return app


def client(config: Config, **options: Any) -> TestClient:
    return TestClient(build_app(JWTBearer(config=config, **options)))


def assert_challenge(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="shop", error="{error}"')


# --- the principal dependency ---------------------------------------------------------


def test_valid_token_gives_the_principal(config: Config, key: Key) -> None:
    with client(config) as c:
        response = c.get("/me", headers=bearer(make_token(key, roles=["x"])))
    assert response.status_code == 200
    assert response.json()["subject"] == "alice"
    assert response.json()["roles"] == ["x"]


def test_missing_token_is_401_not_403_nor_422(config: Config) -> None:
    with client(config) as c:
        response = c.get("/me")
    assert_challenge(response, 401, "invalid_request")
    assert response.json() == {"detail": "a bearer token is required"}


def test_other_scheme_is_401(config: Config) -> None:
    with client(config) as c:
        assert_challenge(
            c.get("/me", headers={"Authorization": "Basic YTpi"}), 401, "invalid_request"
        )


def test_bad_token_is_401_invalid_token(config: Config, key: Key) -> None:
    expired = make_token(key, iat=int(time.time()) - 100, exp=int(time.time()) - 10)
    with client(config) as c:
        response = c.get("/me", headers=bearer(expired))
        forged = c.get("/me", headers=bearer(make_token(Key.from_secret(b"x" * 32, "HS256"))))
    assert_challenge(response, 401, "invalid_token")
    assert response.json() == {"detail": "the token has expired"}
    assert_challenge(forged, 401, "invalid_token")


def test_two_authorization_headers_are_401(config: Config, key: Key) -> None:
    with client(config) as c:
        response = c.get("/me", headers=[("authorization", f"Bearer {make_token(key)}")] * 2)
    assert_challenge(response, 401, "invalid_request")


def test_verifier_instead_of_config(config: Config, key: Key) -> None:
    with TestClient(build_app(JWTBearer(verifier=Verifier(config)))) as c:
        assert c.get("/me", headers=bearer(make_token(key))).status_code == 200


def test_config_or_verifier_exactly_one(config: Config) -> None:
    with pytest.raises(ConfigurationError):
        JWTBearer()
    with pytest.raises(ConfigurationError):
        JWTBearer(config=config, verifier=Verifier(config))


# --- guards -----------------------------------------------------------------------------


def test_role_dependency_in_dependencies(config: Config, key: Key) -> None:
    with client(config) as c:
        ok = c.get("/admin", headers=bearer(make_token(key, roles=["admin"])))
        refused = c.get("/admin", headers=bearer(make_token(key, roles=["user"])))
        anonymous = c.get("/admin")
    assert ok.json() == {"admin": True}
    assert_challenge(refused, 403, "insufficient_scope")
    assert refused.json() == {"detail": "a required role is missing"}
    assert_challenge(anonymous, 401, "invalid_request")


def test_guard_as_parameter_returns_the_principal(config: Config, key: Key) -> None:
    with client(config) as c:
        ok = c.get("/any-role", headers=bearer(make_token(key, roles=["ops"])))
        refused = c.get("/any-role", headers=bearer(make_token(key, roles=["user"])))
    assert ok.json() == {"subject": "alice"}
    assert_challenge(refused, 403, "insufficient_scope")


def test_scopes_required(config: Config, key: Key) -> None:
    with client(config) as c:
        ok = c.get("/scoped", headers=bearer(make_token(key, scp=["read", "write"])))
        refused = c.get("/scoped", headers=bearer(make_token(key, scope="read")))
    assert ok.status_code == 200
    assert_challenge(refused, 403, "insufficient_scope")
    assert 'scope="read write"' in refused.headers["www-authenticate"]


def test_claims_required(config: Config, key: Key) -> None:
    with client(config) as c:
        assert c.get("/acme", headers=bearer(make_token(key, tenant="acme"))).status_code == 200
        refused = c.get("/acme", headers=bearer(make_token(key, tenant="x")))
    assert_challenge(refused, 403, "insufficient_scope")


def test_optional(config: Config, key: Key) -> None:
    with client(config) as c:
        assert c.get("/maybe").json() == {"subject": None}
        assert c.get("/maybe", headers=bearer(make_token(key))).json() == {"subject": "alice"}
        assert_challenge(c.get("/maybe", headers=bearer("bad.token.value")), 401, "invalid_token")
        # jwt_required() without optional is the bearer itself: required.
        assert_challenge(c.get("/required"), 401, "invalid_request")


def test_guard_rejections_reach_on_event(config: Config, key: Key) -> None:
    events: list[AuthEvent] = []
    with client(config, on_event=events.append) as c:
        c.get("/admin", headers=bearer(make_token(key, sub="bob")))
        c.get("/me")
    assert [(e.reason, e.status, e.method, e.path, e.subject) for e in events] == [
        ("insufficient_role", 403, "GET", "/admin", "bob"),
        ("missing_token", 401, "GET", "/me", None),
    ]


def test_guard_rejections_reach_the_middlewares_hook(config: Config, key: Key) -> None:
    events: list[AuthEvent] = []
    app = build_app(JWTBearer(config=config))
    app.add_middleware(JWTMiddleware, config=config, on_event=events.append)
    with TestClient(app) as c:
        c.get("/admin", headers=bearer(make_token(key, sub="bob")))
    assert [(e.reason, e.subject) for e in events] == [("insufficient_role", "bob")]


def test_rfc6750_bodies_on_request(config: Config, key: Key) -> None:
    app = build_app(JWTBearer(config=config))
    use_rfc6750_errors(app)
    with TestClient(app) as c:
        missing = c.get("/me")
        refused = c.get("/admin", headers=bearer(make_token(key)))
    assert_challenge(missing, 401, "invalid_request")
    assert missing.json() == {
        "error": "invalid_request",
        "error_description": "a bearer token is required",
    }
    assert_challenge(refused, 403, "insufficient_scope")
    assert refused.json()["error"] == "insufficient_scope"


# --- websockets ---------------------------------------------------------------------------


def test_websocket_dependency(config: Config, key: Key) -> None:
    with client(config) as c:
        with c.websocket_connect("/ws", headers=bearer(make_token(key))) as ws:
            assert ws.receive_text() == "hello alice"
        with pytest.raises(WebSocketDisconnect) as closed:
            c.websocket_connect("/ws").__enter__()
    assert closed.value.code == 1008


# --- OpenAPI ------------------------------------------------------------------------------


def test_openapi_security_scheme_and_padlocks(config: Config) -> None:
    app = build_app(JWTBearer(config=config, description="an access token"))
    schema = app.openapi()
    assert schema["components"]["securitySchemes"] == {
        "JWTBearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "an access token",
        }
    }
    paths = schema["paths"]
    for path in ("/me", "/admin", "/any-role", "/scoped", "/acme", "/maybe", "/required"):
        assert paths[path]["get"]["security"] == [{"JWTBearer": []}], path
    assert "security" not in paths["/public"]["get"]
    # The principal is not mistaken for a request parameter or body.
    assert "parameters" not in paths["/me"]["get"]
    assert "requestBody" not in paths["/me"]["get"]


def test_openapi_scheme_name(config: Config) -> None:
    schema = build_app(JWTBearer(config=config, scheme_name="AccessToken")).openapi()
    assert list(schema["components"]["securitySchemes"]) == ["AccessToken"]
    assert schema["paths"]["/admin"]["get"]["security"] == [{"AccessToken": []}]


# --- behind the ASGI middleware --------------------------------------------------------


def test_principal_taken_from_the_middleware(config: Config, key: Key) -> None:
    # The bearer's own verifier would refuse these tokens (another key): a 200
    # proves the principal came from the middleware's scope, not a second verify.
    other = Config(keys=KeySet([Key.from_secret(secrets.token_bytes(32), "HS256")]))
    app = build_app(JWTBearer(config=other))
    app.add_middleware(JWTMiddleware, config=config, public_paths=["/public", "/openapi.json"])
    with TestClient(app) as c:
        assert c.get("/me", headers=bearer(make_token(key))).json()["subject"] == "alice"
        admin = c.get("/admin", headers=bearer(make_token(key, roles=["admin"])))
        refused = c.get("/admin", headers=bearer(make_token(key)))
        missing = c.get("/me")
        assert c.get("/public").json() == {"public": True}
        assert c.get("/openapi.json").status_code == 200
    assert admin.json() == {"admin": True}
    assert refused.status_code == 403
    # The middleware answers first, with its RFC 6750 body.
    assert missing.status_code == 401
    assert missing.json()["error"] == "invalid_request"


def test_middleware_in_optional_mode_then_dependency_refuses(config: Config, key: Key) -> None:
    app = build_app(JWTBearer(config=config))
    app.add_middleware(JWTMiddleware, config=config, mode="optional")
    with TestClient(app) as c:
        assert c.get("/public").status_code == 200
        assert_challenge(c.get("/me"), 401, "invalid_request")
        assert c.get("/me", headers=bearer(make_token(key))).status_code == 200
