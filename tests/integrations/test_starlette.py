"""jwt_middleware.starlette: decorators behind the ASGI middleware, and the auth backend."""

from __future__ import annotations

import inspect
import secrets
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.authentication import AuthenticationError, requires
from starlette.endpoints import HTTPEndpoint, WebSocketEndpoint
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from jwt_middleware import Config, ConfigurationError, Key, KeySet, Principal, Verifier, encode
from jwt_middleware._sansio.authenticator import AuthEvent
from jwt_middleware.starlette import (
    JWTAuthBackend,
    JWTMiddleware,
    JWTUser,
    claims_required,
    get_principal,
    jwt_required,
    on_auth_error,
    roles_accepted,
    roles_required,
    scopes_required,
)

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


def subject_of(conn: HTTPConnection) -> str | None:
    principal = get_principal(conn)
    return principal.subject if principal else None


# --- endpoints -------------------------------------------------------------------


@jwt_required()
async def me_async(request: Request) -> JSONResponse:
    return JSONResponse({"subject": subject_of(request)})


@jwt_required()
def me_sync(request: Request) -> JSONResponse:
    return JSONResponse({"subject": subject_of(request), "sync": True})


@jwt_required(optional=True)
async def maybe(request: Request) -> JSONResponse:
    return JSONResponse({"subject": subject_of(request)})


@roles_required("admin", "ops")
async def admin_and_ops(request: Request) -> PlainTextResponse:
    return PlainTextResponse("all roles")


@roles_accepted("admin", "ops")
def admin_or_ops(request: Request) -> PlainTextResponse:
    return PlainTextResponse("any role")


@scopes_required("read", "write")
async def read_write(request: Request) -> PlainTextResponse:
    return PlainTextResponse("scoped")


@claims_required(lambda claims: claims.get("tenant") == "acme", description="tenant is acme")
async def acme(request: Request) -> PlainTextResponse:
    return PlainTextResponse("acme")


@claims_required(lambda claims: claims["missing"] == 1)
async def raising_predicate(request: Request) -> PlainTextResponse:
    return PlainTextResponse("never")


class Items(HTTPEndpoint):
    @jwt_required()
    async def get(self, request: Request) -> JSONResponse:
        return JSONResponse({"subject": subject_of(request)})

    @roles_required("admin")
    def post(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("created", status_code=201)


@roles_required("admin")
async def admin_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hello {subject_of(websocket)}")
    await websocket.close()


@jwt_required()
async def any_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


class Echo(WebSocketEndpoint):
    encoding = "text"

    @roles_required("admin")
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_text(f"echo {data}")


async def anonymous_ok(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "authenticated": request.user.is_authenticated,
            "subject": subject_of(request),
            "scopes": request.auth.scopes,
        }
    )


@requires("admin")
async def starlette_admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse("starlette requires ok")


ROUTES = [
    Route("/me", me_async),
    Route("/me-sync", me_sync),
    Route("/maybe", maybe),
    Route("/all-roles", admin_and_ops),
    Route("/any-role", admin_or_ops),
    Route("/scoped", read_write),
    Route("/acme", acme),
    Route("/raising", raising_predicate),
    Route("/items", Items),
    Route("/anon", anonymous_ok),
    Route("/starlette-admin", starlette_admin),
    WebSocketRoute("/ws-admin", admin_ws),
    WebSocketRoute("/ws", any_ws),
    WebSocketRoute("/ws-endpoint", Echo),
]


def behind_middleware(config: Config, **options: Any) -> TestClient:
    """The decorators behind JWTMiddleware in optional mode (they do the refusing)."""
    options.setdefault("mode", "optional")
    middleware = [Middleware(JWTMiddleware, config=config, **options)]
    return TestClient(Starlette(routes=ROUTES, middleware=middleware))


def assert_refused(response: httpx.Response, status: int, error: str, realm: str = "shop") -> None:
    assert response.status_code == status
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="{realm}", error="{error}"')
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error


# --- function endpoints ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me", "/me-sync"])
def test_jwt_required_on_sync_and_async_functions(config: Config, key: Key, path: str) -> None:
    with behind_middleware(config) as c:
        assert_refused(c.get(path), 401, "invalid_request")
        response = c.get(path, headers=bearer(make_token(key)))
    assert response.status_code == 200
    assert response.json()["subject"] == "alice"


def test_without_the_middleware_refuses_with_realm_api(config: Config, key: Key) -> None:
    with TestClient(Starlette(routes=ROUTES)) as c:
        # No middleware: no principal is ever attached, even with a good token.
        assert_refused(c.get("/me", headers=bearer(make_token(key))), 401, "invalid_request", "api")
        assert_refused(c.get("/all-roles"), 401, "invalid_request", "api")
        assert c.get("/maybe").json() == {"subject": None}


def test_optional_lets_anonymous_through(config: Config, key: Key) -> None:
    with behind_middleware(config) as c:
        assert c.get("/maybe").json() == {"subject": None}
        assert c.get("/maybe", headers=bearer(make_token(key))).json() == {"subject": "alice"}
        assert_refused(c.get("/maybe", headers=bearer("bad.token.value")), 401, "invalid_token")


def test_roles_required_needs_all(config: Config, key: Key) -> None:
    with behind_middleware(config) as c:
        ok = c.get("/all-roles", headers=bearer(make_token(key, roles=["admin", "ops"])))
        partial = c.get("/all-roles", headers=bearer(make_token(key, roles=["admin"])))
        anonymous = c.get("/all-roles")
    assert ok.text == "all roles"
    assert_refused(partial, 403, "insufficient_scope")
    assert partial.json() == {
        "error": "insufficient_scope",
        "error_description": "a required role is missing",
    }
    assert_refused(anonymous, 401, "invalid_request")


def test_roles_accepted_needs_any(config: Config, key: Key) -> None:
    with behind_middleware(config) as c:
        assert c.get("/any-role", headers=bearer(make_token(key, roles=["ops"]))).text == "any role"
        refused = c.get("/any-role", headers=bearer(make_token(key, roles=["user"])))
    assert_refused(refused, 403, "insufficient_scope")


def test_scopes_required_names_the_scopes(config: Config, key: Key) -> None:
    with behind_middleware(config) as c:
        ok = c.get("/scoped", headers=bearer(make_token(key, scope="read write extra")))
        refused = c.get("/scoped", headers=bearer(make_token(key, scope="read")))
    assert ok.text == "scoped"
    assert_refused(refused, 403, "insufficient_scope")
    assert 'scope="read write"' in refused.headers["www-authenticate"]


def test_claims_required(config: Config, key: Key) -> None:
    with behind_middleware(config) as c:
        assert c.get("/acme", headers=bearer(make_token(key, tenant="acme"))).text == "acme"
        assert_refused(
            c.get("/acme", headers=bearer(make_token(key, tenant="other"))),
            403,
            "insufficient_scope",
        )
        # A predicate that raises counts as false: 403, not 500.
        raised = c.get("/raising", headers=bearer(make_token(key)))
    assert_refused(raised, 403, "insufficient_scope")


def test_guard_rejections_reach_the_middlewares_hook(config: Config, key: Key) -> None:
    events: list[AuthEvent] = []
    with behind_middleware(config, on_event=events.append) as c:
        c.get("/all-roles", headers=bearer(make_token(key, sub="bob", roles=["user"])))
        c.get("/me")
    assert [(e.reason, e.status, e.path, e.subject) for e in events] == [
        ("insufficient_role", 403, "/all-roles", "bob"),
        ("missing_token", 401, "/me", None),
    ]


# --- HTTPEndpoint methods ------------------------------------------------------------


def test_http_endpoint_methods(config: Config, key: Key) -> None:
    with behind_middleware(config) as c:
        assert_refused(c.get("/items"), 401, "invalid_request")
        assert c.get("/items", headers=bearer(make_token(key))).json() == {"subject": "alice"}
        assert_refused(c.post("/items", headers=bearer(make_token(key))), 403, "insufficient_scope")
        created = c.post("/items", headers=bearer(make_token(key, roles=["admin"])))
    assert created.status_code == 201
    assert created.text == "created"


# --- websocket endpoints ------------------------------------------------------------


def test_websocket_without_token_is_closed_1008_before_accept(config: Config) -> None:
    with behind_middleware(config) as c, pytest.raises(WebSocketDisconnect) as closed:
        c.websocket_connect("/ws").__enter__()
    assert closed.value.code == 1008
    assert closed.value.reason == "invalid_request"


def test_websocket_missing_role_is_closed_1008(config: Config, key: Key) -> None:
    with behind_middleware(config) as c, pytest.raises(WebSocketDisconnect) as closed:
        c.websocket_connect("/ws-admin", headers=bearer(make_token(key))).__enter__()
    assert closed.value.code == 1008
    assert closed.value.reason == "insufficient_scope"


def test_websocket_with_role_is_served(config: Config, key: Key) -> None:
    token = make_token(key, roles=["admin"])
    with (
        behind_middleware(config, websocket_query_param="access_token") as c,
        c.websocket_connect(f"/ws-admin?access_token={token}") as ws,
    ):
        assert ws.receive_text() == "hello alice"


def test_websocket_echo_with_token(config: Config, key: Key) -> None:
    with (
        behind_middleware(config) as c,
        c.websocket_connect("/ws", headers=bearer(make_token(key))) as ws,
    ):
        ws.send_text("ping")
        assert ws.receive_text() == "ping"


def test_websocket_endpoint_on_connect(config: Config, key: Key) -> None:
    with behind_middleware(config) as c:
        token = make_token(key, roles=["admin"])
        with c.websocket_connect("/ws-endpoint", headers=bearer(token)) as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "echo hi"
        with pytest.raises(WebSocketDisconnect) as closed:
            c.websocket_connect("/ws-endpoint", headers=bearer(make_token(key))).__enter__()
    assert closed.value.code == 1008


# --- decoration-time checks -------------------------------------------------------------


def test_function_without_request_parameter_fails_at_import_time() -> None:
    with pytest.raises(ConfigurationError, match="no 'request' or 'websocket' parameter"):

        @roles_required("admin")
        async def endpoint(conn: object) -> Response:
            return Response()


def test_parameter_found_by_annotation(config: Config, key: Key) -> None:
    @jwt_required()
    async def endpoint(req: Request) -> JSONResponse:
        return JSONResponse({"subject": subject_of(req)})

    app = Starlette(
        routes=[Route("/x", endpoint)],
        middleware=[Middleware(JWTMiddleware, config=config, mode="optional")],
    )
    with TestClient(app) as c:
        assert c.get("/x").status_code == 401
        assert c.get("/x", headers=bearer(make_token(key))).json() == {"subject": "alice"}


def test_sync_websocket_endpoint_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="async"):

        @jwt_required()
        def endpoint(websocket: WebSocket) -> None:
            return None


def test_jwt_required_needs_parentheses() -> None:
    with pytest.raises(TypeError, match="parentheses"):
        jwt_required(me_async)  # type: ignore[arg-type]


def test_guards_refuse_empty_role_lists() -> None:
    with pytest.raises(ConfigurationError):
        roles_required()


def test_decorated_functions_keep_their_signature_and_name() -> None:
    assert me_async.__name__ == "me_async"
    assert str(inspect.signature(me_async)) == "(request: 'Request') -> 'JSONResponse'"
    assert inspect.iscoroutinefunction(me_async)
    assert not inspect.iscoroutinefunction(me_sync)
    assert str(inspect.signature(Items.get)) == "(self, request: 'Request') -> 'JSONResponse'"


def test_called_without_a_request_object_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="without a Starlette Request"):
        me_sync("not a request")  # type: ignore[arg-type]


# --- JWTAuthBackend with AuthenticationMiddleware ---------------------------------------


def with_backend(backend: JWTAuthBackend) -> TestClient:
    middleware = [Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error)]
    return TestClient(Starlette(routes=ROUTES, middleware=middleware))


def test_backend_valid_token(config: Config, key: Key) -> None:
    token = make_token(key, roles=["admin"], scope="read")
    with with_backend(JWTAuthBackend(config)) as c:
        response = c.get("/anon", headers=bearer(token))
        assert c.get("/starlette-admin", headers=bearer(token)).text == "starlette requires ok"
        # The decorators work behind it too.
        assert c.get("/me", headers=bearer(token)).json() == {"subject": "alice"}
    assert response.json() == {
        "authenticated": True,
        "subject": "alice",
        "scopes": ["admin", "authenticated", "read"],
    }


def test_backend_user_exposes_the_principal(config: Config, key: Key) -> None:
    seen: list[Any] = []

    async def endpoint(request: Request) -> Response:
        seen.append(request.user)
        return Response()

    middleware = [Middleware(AuthenticationMiddleware, backend=JWTAuthBackend(config))]
    app = Starlette(routes=[Route("/", endpoint)], middleware=middleware)
    with TestClient(app) as c:
        c.get("/", headers=bearer(make_token(key)))
    (user,) = seen
    assert isinstance(user, JWTUser)
    assert isinstance(user.principal, Principal)
    assert user.principal.subject == "alice"
    assert user.display_name == "alice"


def test_backend_missing_token_is_anonymous(config: Config) -> None:
    with with_backend(JWTAuthBackend(config)) as c:
        anonymous = c.get("/anon")
        assert_refused(c.get("/me"), 401, "invalid_request")
        assert c.get("/starlette-admin").status_code == 403
    assert anonymous.json() == {"authenticated": False, "subject": None, "scopes": []}


def test_backend_bad_token_renders_rfc6750(config: Config, key: Key) -> None:
    expired = make_token(key, iat=int(time.time()) - 100, exp=int(time.time()) - 10)
    with with_backend(JWTAuthBackend(verifier=Verifier(config))) as c:
        response = c.get("/anon", headers=bearer(expired))
        twice = c.get("/anon", headers=[("authorization", f"Bearer {expired}")] * 2)
    assert_refused(response, 401, "invalid_token")
    assert response.json()["error_description"] == "the token has expired"
    assert_refused(twice, 401, "invalid_request")


def test_backend_reports_rejections(config: Config) -> None:
    events: list[AuthEvent] = []
    with with_backend(JWTAuthBackend(config, on_event=events.append)) as c:
        c.get("/anon", headers=bearer("bad.token.value"))
    assert [(e.reason, e.status) for e in events] == [("malformed", 401)]


def test_on_auth_error_for_foreign_errors_is_generic() -> None:
    conn = HTTPConnection({"type": "http", "path": "/", "headers": []})
    response = on_auth_error(conn, AuthenticationError("secret internal detail"))
    assert response.status_code == 401
    assert b"secret internal detail" not in response.body
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token"')


def test_backend_needs_config_or_verifier(config: Config) -> None:
    with pytest.raises(ConfigurationError):
        JWTAuthBackend()
    with pytest.raises(ConfigurationError):
        JWTAuthBackend(config, verifier=Verifier(config))


# --- Starlette's own @requires("authenticated") ------------------------------------


@requires("authenticated")
async def starlette_authenticated(request: Request) -> JSONResponse:
    return JSONResponse({"subject": subject_of(request), "scopes": request.auth.scopes})


@scopes_required("authenticated")
async def our_authenticated_scope(request: Request) -> PlainTextResponse:
    return PlainTextResponse("scope ok")


@pytest.mark.parametrize("mode", ["middleware", "backend"])
def test_starlettes_own_requires_authenticated_works(config: Config, key: Key, mode: str) -> None:
    """``request.auth.scopes`` holds "authenticated" (Starlette's convention) for a verified
    token, behind JWTMiddleware and JWTAuthBackend alike; our guards still read the
    principal, so a token without an "authenticated" scope does not pass scopes_required."""
    routes = [
        Route("/authenticated", starlette_authenticated),
        Route("/our-scope", our_authenticated_scope),
    ]
    middleware = (
        [Middleware(JWTMiddleware, config=config, mode="optional")]
        if mode == "middleware"
        else [Middleware(AuthenticationMiddleware, backend=JWTAuthBackend(config))]
    )
    token = make_token(key, roles=["admin"], scope="read")
    with TestClient(Starlette(routes=routes, middleware=middleware)) as c:
        allowed = c.get("/authenticated", headers=bearer(token))
        anonymous = c.get("/authenticated")
        ours = c.get("/our-scope", headers=bearer(token))
        ours_granted = c.get("/our-scope", headers=bearer(make_token(key, scope="authenticated")))
    assert allowed.status_code == 200
    assert allowed.json() == {"subject": "alice", "scopes": ["admin", "authenticated", "read"]}
    assert anonymous.status_code == 403  # Starlette's own refusal for an anonymous user
    assert_refused(ours, 403, "insufficient_scope")
    assert ours_granted.text == "scope ok"
