"""The pure ASGI middleware, driven by Starlette's TestClient and by raw ASGI calls."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from jwt_middleware import (
    AuthError,
    Config,
    ConfigurationError,
    CookiePolicy,
    Key,
    KeySet,
    MissingTokenError,
    encode,
)
from jwt_middleware._lifecycle.cookies import normalize_origin
from jwt_middleware._sansio.authenticator import Authenticator, AuthEvent
from jwt_middleware.asgi import AUTHENTICATOR_KEY, PRINCIPAL_KEY, JWTMiddleware

ISSUER = "https://issuer.test"
AUDIENCE = "api.test"

Message = dict[str, Any]


# --- helpers ------------------------------------------------------------------


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


async def whoami(request: Request) -> JSONResponse:
    principal = request.scope[PRINCIPAL_KEY]
    return JSONResponse(
        {
            "subject": principal.subject if principal else None,
            "authenticated": request.user.is_authenticated,
            "display_name": request.user.display_name,
            "scopes": request.auth.scopes,
        }
    )


@requires("admin")
async def admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin ok")


async def preflight(request: Request) -> Response:
    return Response(status_code=204, headers={"access-control-allow-origin": "*"})


async def ws_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    principal = websocket.scope[PRINCIPAL_KEY]
    await websocket.send_json(
        {
            "subject": principal.subject if principal else None,
            "subprotocols": websocket.scope.get("subprotocols", []),
        }
    )
    await websocket.close()


def make_app(config: Config, **options: Any) -> Starlette:
    routes = [
        Route("/me", whoami),
        Route("/public", whoami),
        Route("/publicity", whoami),
        Route("/static/{name}", whoami),
        Route("/admin", admin),
        Route("/cors", preflight, methods=["OPTIONS"]),
        WebSocketRoute("/ws", ws_endpoint),
    ]
    middleware = [Middleware(JWTMiddleware, config=config, **options)]
    return Starlette(routes=routes, middleware=middleware)


def client(config: Config, **options: Any) -> TestClient:
    return TestClient(make_app(config, **options))


def assert_rfc6750(response: httpx.Response, status: int, error: str, realm: str = "shop") -> None:
    assert response.status_code == status
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="{realm}"')
    assert f'error="{error}"' in challenge
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert body["error_description"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"


class Recorder:
    """An inner ASGI app that records what reached it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append({"scope": scope, "receive": receive, "send": send})
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})


def run_raw(
    app: Any, scope: dict[str, Any], incoming: list[Message] | None = None
) -> list[Message]:
    sent: list[Message] = []
    queue = list(incoming or [])

    async def receive() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    return sent


def ws_scope(headers: list[tuple[bytes, bytes]], extensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": headers,
        "subprotocols": [],
        "extensions": extensions,
    }


def http_scope(headers: list[tuple[bytes, bytes]], method: str = "GET") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "method": method,
        "path": "/me",
        "raw_path": b"/me",
        "query_string": b"",
        "headers": headers,
    }


# --- http: required mode --------------------------------------------------------


def test_valid_token_sets_principal_user_and_auth(config: Config, key: Key) -> None:
    token = make_token(key, roles=["admin", "ops"], scope="read write")
    with client(config) as c:
        response = c.get("/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "subject": "alice",
        "authenticated": True,
        "display_name": "alice",
        "scopes": ["admin", "authenticated", "ops", "read", "write"],
    }


def test_missing_token_is_401_invalid_request(config: Config) -> None:
    with client(config) as c:
        response = c.get("/me")
    assert_rfc6750(response, 401, "invalid_request")
    assert response.json()["error_description"] == "a bearer token is required"


def test_other_scheme_counts_as_missing(config: Config) -> None:
    with client(config) as c:
        response = c.get("/me", headers={"Authorization": "Basic YWxhZGRpbjpvcGVu"})
    assert_rfc6750(response, 401, "invalid_request")


def test_bad_signature_is_401_invalid_token(config: Config, key: Key) -> None:
    other = Key.from_secret(secrets.token_bytes(32), "HS256")
    with client(config) as c:
        response = c.get("/me", headers=bearer(make_token(other)))
    assert_rfc6750(response, 401, "invalid_token")


def test_expired_token_is_401_invalid_token(config: Config, key: Key) -> None:
    token = make_token(key, iat=int(time.time()) - 100, exp=int(time.time()) - 10)
    with client(config) as c:
        response = c.get("/me", headers=bearer(token))
    assert_rfc6750(response, 401, "invalid_token")
    assert response.json()["error_description"] == "the token has expired"


def test_two_authorization_headers_are_invalid_request(config: Config, key: Key) -> None:
    token = make_token(key)
    with client(config) as c:
        twice = [("authorization", f"Bearer {token}")] * 2
        response = c.get("/me", headers=twice)
    assert_rfc6750(response, 401, "invalid_request")


def test_two_authorization_headers_raw(config: Config, key: Key) -> None:
    token = f"Bearer {make_token(key)}".encode()
    inner = Recorder()
    sent = run_raw(
        JWTMiddleware(inner, config=config),
        http_scope([(b"authorization", token), (b"authorization", token)]),
    )
    assert inner.calls == []
    assert sent[0]["status"] == 401
    assert json.loads(sent[1]["body"])["error"] == "invalid_request"


def test_starlette_requires_works_behind_the_middleware(config: Config, key: Key) -> None:
    with client(config) as c:
        assert c.get("/admin", headers=bearer(make_token(key, roles=["admin"]))).text == "admin ok"
        assert c.get("/admin", headers=bearer(make_token(key, roles=["user"]))).status_code == 403


def test_scope_carries_the_middlewares_authenticator(config: Config, key: Key) -> None:
    inner = Recorder()
    middleware = JWTMiddleware(inner, config=config)
    run_raw(middleware, http_scope([(b"authorization", f"Bearer {make_token(key)}".encode())]))
    (call,) = inner.calls
    assert call["scope"][AUTHENTICATOR_KEY] is middleware.authenticator
    assert isinstance(call["scope"][AUTHENTICATOR_KEY], Authenticator)
    assert call["scope"][PRINCIPAL_KEY].subject == "alice"


# --- modes, public paths, preflight -------------------------------------------------


def test_optional_mode(config: Config, key: Key) -> None:
    with client(config, mode="optional") as c:
        anonymous = c.get("/me")
        assert anonymous.status_code == 200
        assert anonymous.json() == {
            "subject": None,
            "authenticated": False,
            "display_name": "",
            "scopes": [],
        }
        assert c.get("/me", headers=bearer(make_token(key))).json()["subject"] == "alice"
        assert_rfc6750(c.get("/me", headers=bearer("not.a.token")), 401, "invalid_token")


def test_public_paths_exact_and_prefix(config: Config, key: Key) -> None:
    with client(config, public_paths=["/public", "/static/*"]) as c:
        assert c.get("/public").json()["authenticated"] is False
        assert c.get("/static/app.css").status_code == 200
        assert c.get("/publicity").status_code == 401  # exact match only
        # A valid token is still attached on a public path; a bad one is ignored.
        assert c.get("/public", headers=bearer(make_token(key))).json()["subject"] == "alice"
        ignored = c.get("/public", headers=bearer("garbage"))
        assert ignored.status_code == 200
        assert ignored.json()["subject"] is None


def test_cors_preflight_passes_without_token(config: Config) -> None:
    with client(config) as c:
        preflight_response = c.options(
            "/cors",
            headers={"Origin": "https://app.test", "Access-Control-Request-Method": "GET"},
        )
        plain_options = c.options("/cors")
    assert preflight_response.status_code == 204
    assert plain_options.status_code == 401


# --- lifespan ----------------------------------------------------------------


def test_lifespan_passes_through_untouched(config: Config) -> None:
    inner = Recorder()
    middleware = JWTMiddleware(inner, config=config)
    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    before = dict(scope)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: MutableMapping[str, Any]) -> None:
        raise AssertionError("the middleware must not send for lifespan")

    asyncio.run(middleware(scope, receive, send))
    (call,) = inner.calls
    assert call["scope"] is scope
    assert scope == before  # no user, auth or principal keys added
    assert call["receive"] is receive
    assert call["send"] is send


# --- websockets ---------------------------------------------------------------


def test_websocket_rejected_with_http_response_extension(config: Config) -> None:
    inner = Recorder()
    sent = run_raw(
        JWTMiddleware(inner, config=config),
        ws_scope([], {"websocket.http.response": {}}),
        [{"type": "websocket.connect"}],
    )
    assert inner.calls == []
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == 401
    headers = dict(sent[0]["headers"])
    assert b'error="invalid_request"' in headers[b"www-authenticate"]
    assert json.loads(sent[1]["body"])["error"] == "invalid_request"


def test_websocket_rejected_with_close_1008_without_extension(config: Config) -> None:
    inner = Recorder()
    sent = run_raw(
        JWTMiddleware(inner, config=config), ws_scope([], {}), [{"type": "websocket.connect"}]
    )
    assert inner.calls == []
    assert len(sent) == 1
    assert sent[0]["type"] == "websocket.close"
    assert sent[0]["code"] == 1008


def test_websocket_with_header_token(config: Config, key: Key) -> None:
    with client(config) as c, c.websocket_connect("/ws", headers=bearer(make_token(key))) as ws:
        assert ws.receive_json()["subject"] == "alice"


def test_websocket_rejection_through_testclient(config: Config) -> None:
    with client(config) as c, pytest.raises(WebSocketDenialResponse) as denied:
        c.websocket_connect("/ws").__enter__()
    assert denied.value.status_code == 401
    assert "invalid_request" in denied.value.headers["www-authenticate"]


def test_websocket_token_in_query_param(config: Config, key: Key) -> None:
    token = make_token(key)
    with client(config, websocket_query_param="access_token") as c:
        with c.websocket_connect(f"/ws?access_token={token}") as ws:
            assert ws.receive_json()["subject"] == "alice"
        with pytest.raises(WebSocketDenialResponse) as denied:
            c.websocket_connect("/ws?access_token=bad.token.here").__enter__()
        assert denied.value.status_code == 401


def test_websocket_query_param_is_off_by_default(config: Config, key: Key) -> None:
    with client(config) as c, pytest.raises(WebSocketDenialResponse):
        c.websocket_connect(f"/ws?access_token={make_token(key)}").__enter__()


def test_websocket_token_in_subprotocol(config: Config, key: Key) -> None:
    token = make_token(key)
    with (
        client(config, websocket_subprotocol=True) as c,
        c.websocket_connect("/ws", subprotocols=["bearer", token, "chat"]) as ws,
    ):
        assert ws.accepted_subprotocol == "bearer"
        seen = ws.receive_json()
    assert seen["subject"] == "alice"
    assert token not in seen["subprotocols"]  # the app never sees the token there
    assert seen["subprotocols"] == ["bearer", "chat"]


def test_websocket_subprotocol_raw_accept_message(config: Config, key: Key) -> None:
    token = make_token(key)
    inner = Recorder()
    scope = ws_scope([(b"sec-websocket-protocol", f"bearer, {token}".encode())], {})
    sent = run_raw(
        JWTMiddleware(inner, config=config, websocket_subprotocol=True),
        scope,
        [{"type": "websocket.connect"}],
    )
    assert sent == [{"type": "websocket.accept", "subprotocol": "bearer"}]


def test_websocket_disconnects_cleanly_on_bad_token_without_extension(
    config: Config, key: Key
) -> None:
    inner = Recorder()
    scope = ws_scope([(b"authorization", b"Bearer not.valid.token")], {})
    sent = run_raw(JWTMiddleware(inner, config=config), scope, [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "invalid_token"}]


# --- websockets in cookie mode: the Origin check ----------------------------------
# Browsers attach cookies to websocket handshakes that pages of other origins
# open (any page of the same site under SameSite=Lax, any site under
# SameSite=None) and no CSRF header can be sent on a handshake: a websocket
# authenticated by its cookie must come from an allowed origin.

EVIL = "https://evil.example"
OWN = "http://testserver"  # TestClient's base URL: ws://testserver, Host: testserver


def cookie_client(config: Config, *origins: str, **options: Any) -> TestClient:
    policy = (
        CookiePolicy(secure=False, websocket_origins=origins)
        if origins
        else CookiePolicy(secure=False)
    )
    return client(config, cookies=policy, **options)


def cookie_ws(
    c: TestClient, token: str, origin: str | None, path: str = "/ws", **headers: str
) -> Any:
    sent = {"cookie": f"access_token={token}", **headers}
    if origin is not None:
        sent["origin"] = origin
    return c.websocket_connect(path, headers=sent)


def denied(session: Any) -> WebSocketDenialResponse:
    """The refusal of a handshake; an accepted one fails the test (after closing cleanly)."""
    try:
        with session as ws:
            frame = ws.receive_json()
    except WebSocketDenialResponse as refusal:
        return refusal
    pytest.fail(f"the handshake was accepted (101) and a frame served: {frame}")


def assert_origin_refused(denied: WebSocketDenialResponse, description: str) -> None:
    assert denied.status_code == 403
    challenge = denied.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="shop"')
    assert 'error="invalid_request"' in challenge
    assert denied.json() == {"error": "invalid_request", "error_description": description}


def test_cross_site_websocket_hijacking_refused(config: Config, key: Key) -> None:
    """Security regression: a handshake carrying only the access cookie, opened
    by a page of another origin, was accepted (101) and its frames served."""
    events: list[AuthEvent] = []
    with cookie_client(config, on_event=events.append) as c:
        refusal = denied(cookie_ws(c, make_token(key), EVIL))
    assert_origin_refused(refusal, "this origin may not open a websocket with the cookie")
    assert [(e.reason, e.status, e.path) for e in events] == [("websocket_origin", 403, "/ws")]
    assert EVIL not in refusal.headers["www-authenticate"], "the origin is not echoed"


def test_cross_origin_websocket_refused_before_the_app_runs(config: Config, key: Key) -> None:
    inner = Recorder()
    headers = [
        (b"host", b"api.example"),
        (b"origin", EVIL.encode()),
        (b"cookie", f"access_token={make_token(key)}".encode()),
    ]
    middleware = JWTMiddleware(inner, config=config, cookies=CookiePolicy())
    with_ext = run_raw(middleware, ws_scope(headers, {"websocket.http.response": {}}))
    without = run_raw(middleware, ws_scope(headers, {}))
    assert inner.calls == []
    assert with_ext[0]["type"] == "websocket.http.response.start"
    assert with_ext[0]["status"] == 403
    assert json.loads(with_ext[1]["body"])["error"] == "invalid_request"
    assert without == [{"type": "websocket.close", "code": 1008, "reason": "invalid_request"}]


def test_own_origin_websocket_with_cookie_accepted(config: Config, key: Key) -> None:
    with cookie_client(config) as c, cookie_ws(c, make_token(key), OWN) as ws:
        assert ws.receive_json()["subject"] == "alice"


@pytest.mark.parametrize(
    ("scheme", "host", "origin", "accepted"),
    [
        ("ws", "api.example", "http://api.example", True),
        ("wss", "api.example", "https://api.example", True),
        ("wss", "api.example:443", "https://api.example", True),  # default port
        ("ws", "API.Example:8000", "http://api.example:8000", True),  # case
        ("ws", "[::1]:8000", "http://[::1]:8000", True),
        ("ws", "api.example", "https://api.example", False),  # scheme differs
        ("wss", "api.example", "http://api.example", False),
        ("ws", "api.example:8000", "http://api.example:8001", False),  # port differs
        ("ws", "api.example:8000", "http://api.example", False),
        ("ws", "api.example", "http://evil.api.example", False),  # no suffix match
        ("ws", "api.example", "http://api.example.evil", False),  # no prefix match
        ("ws", "api.example", "http://api.example/", False),  # not an origin
        ("ws", "api.example", "null", False),  # sandboxed or file: pages
        ("ws", "api.example", "", False),
    ],
)
def test_own_origin_is_scheme_host_and_port_exactly(
    config: Config, key: Key, scheme: str, host: str, origin: str, accepted: bool
) -> None:
    inner = Recorder()
    scope = ws_scope(
        [
            (b"host", host.encode()),
            (b"origin", origin.encode()),
            (b"cookie", f"access_token={make_token(key)}".encode()),
        ],
        {"websocket.http.response": {}},
    )
    scope["scheme"] = scheme
    sent = run_raw(JWTMiddleware(inner, config=config, cookies=CookiePolicy()), scope)
    if accepted:
        assert sent == [{"type": "websocket.accept"}]
        assert inner.calls[0]["scope"][PRINCIPAL_KEY].subject == "alice"
    else:
        assert sent[0]["status"] == 403
        assert inner.calls == []


def test_configured_extra_origin_accepted(config: Config, key: Key) -> None:
    extra = "https://App.Example:8443"
    with cookie_client(config, extra) as c:
        with cookie_ws(c, make_token(key), "https://app.example:8443") as ws:
            assert ws.receive_json()["subject"] == "alice"
        with cookie_ws(c, make_token(key), OWN) as ws:  # the own origin still is
            assert ws.receive_json()["subject"] == "alice"
        for other in (EVIL, "https://app.example", "http://app.example:8443"):
            assert denied(cookie_ws(c, make_token(key), other)).status_code == 403, other


def test_missing_origin_with_cookie_refused(config: Config, key: Key) -> None:
    """Browsers always send Origin on a handshake; a client without it gets the
    secure answer: the cookie is not enough (send the token in a header)."""
    with cookie_client(config) as c:
        refusal = denied(cookie_ws(c, make_token(key), None))
    assert_origin_refused(refusal, "a websocket authenticated by the cookie needs an Origin header")


def test_two_origin_headers_with_cookie_refused(config: Config, key: Key) -> None:
    inner = Recorder()
    headers = [
        (b"host", b"testserver"),
        (b"origin", OWN.encode()),
        (b"origin", EVIL.encode()),
        (b"cookie", f"access_token={make_token(key)}".encode()),
    ]
    middleware = JWTMiddleware(inner, config=config, cookies=CookiePolicy())
    sent = run_raw(middleware, ws_scope(headers, {"websocket.http.response": {}}))
    assert sent[0]["status"] == 403
    assert json.loads(sent[1]["body"])["error_description"] == "send one Origin header, not several"


def test_header_token_unaffected_by_origin(config: Config, key: Key) -> None:
    token = make_token(key)
    with cookie_client(config) as c:
        for origin in (EVIL, None):
            with cookie_ws(c, token, origin, Authorization=f"Bearer {token}") as ws:
                assert ws.receive_json()["subject"] == "alice"


def test_subprotocol_and_query_tokens_unaffected_by_origin(config: Config, key: Key) -> None:
    token = make_token(key)
    options = {"websocket_subprotocol": True, "websocket_query_param": "access_token"}
    with cookie_client(config, **options) as c:
        headers = {"cookie": f"access_token={token}", "origin": EVIL}
        with c.websocket_connect("/ws", headers=headers, subprotocols=["bearer", token]) as ws:
            assert ws.receive_json()["subject"] == "alice"
        with c.websocket_connect(f"/ws?access_token={token}", headers={"origin": EVIL}) as ws:
            assert ws.receive_json()["subject"] == "alice"


def test_cross_origin_cookie_on_public_websocket_is_ignored(config: Config, key: Key) -> None:
    """As with a bad token on a public path: the request passes, without the principal."""
    with cookie_client(config, public_paths=["/ws"]) as c:
        with cookie_ws(c, make_token(key), EVIL) as ws:
            assert ws.receive_json()["subject"] is None
        with cookie_ws(c, make_token(key), OWN) as ws:
            assert ws.receive_json()["subject"] == "alice"


def test_cross_origin_websocket_refused_in_optional_mode(config: Config, key: Key) -> None:
    with cookie_client(config, mode="optional") as c:
        assert denied(cookie_ws(c, make_token(key), EVIL)).status_code == 403


def test_http_requests_with_cookie_are_not_origin_checked(config: Config, key: Key) -> None:
    """Plain HTTP keeps the CSRF rule: a GET needs no header, whatever its Origin."""
    with cookie_client(config) as c:
        headers = {"cookie": f"access_token={make_token(key)}", "origin": EVIL}
        assert c.get("/me", headers=headers).json()["subject"] == "alice"


def test_websocket_origins_validated_and_normalized() -> None:
    policy = CookiePolicy(websocket_origins=("HTTPS://App.Example:443", "http://127.0.0.1:8000"))
    assert policy.websocket_origins == ("https://app.example", "http://127.0.0.1:8000")
    for bad in (
        "https://app.example/",
        "app.example",
        "https://*.example",
        "ftp://a.example",
        "null",
        "https://a.example:99999",
        "https://user@a.example",
    ):
        with pytest.raises(ConfigurationError, match="is not an origin"):
            CookiePolicy(websocket_origins=(bad,))
    with pytest.raises(ConfigurationError, match="not a string"):
        CookiePolicy(websocket_origins="https://app.example")  # type: ignore[arg-type]
    assert normalize_origin("http://[::1]:80") == "http://[::1]"


def test_websocket_origins_setting() -> None:
    from jwt_middleware import cookie_policy_from_mapping

    policy = cookie_policy_from_mapping(
        {"JWT_COOKIES": "1", "JWT_COOKIE_WEBSOCKET_ORIGINS": "https://a.example, https://b.example"}
    )
    assert policy is not None
    assert policy.websocket_origins == ("https://a.example", "https://b.example")
    with pytest.raises(ConfigurationError):
        cookie_policy_from_mapping({"JWT_COOKIES": "1", "JWT_COOKIE_WEBSOCKET_ORIGINS": "*"})


# --- hooks and logs -------------------------------------------------------------


def test_on_error_may_answer_with_a_starlette_response(config: Config) -> None:
    seen: list[AuthError] = []

    def on_error(scope: Any, error: AuthError) -> Response:
        seen.append(error)
        return PlainTextResponse(f"custom {error.error}", status_code=error.status)

    with client(config, on_error=on_error) as c:
        response = c.get("/me")
    assert response.status_code == 401
    assert response.text == "custom invalid_request"
    assert isinstance(seen[0], MissingTokenError)


def test_on_error_returning_none_keeps_default(config: Config) -> None:
    with client(config, on_error=lambda scope, error: None) as c:
        assert_rfc6750(c.get("/me"), 401, "invalid_request")


def test_on_event_gets_reasons_never_the_token(config: Config, key: Key) -> None:
    events: list[AuthEvent] = []
    expired = make_token(key, iat=int(time.time()) - 100, exp=int(time.time()) - 10)
    forged = make_token(Key.from_secret(secrets.token_bytes(32), "HS256"))
    with client(config, on_event=events.append) as c:
        c.get("/me")
        c.get("/me", headers=bearer(expired))
        c.post("/me", headers=bearer(forged))
        c.get("/me", headers=bearer(make_token(key)))  # accepted: no event
    assert [(e.reason, e.status, e.method, e.path) for e in events] == [
        ("missing_token", 401, "GET", "/me"),
        ("expired", 401, "GET", "/me"),
        ("bad_signature", 401, "POST", "/me"),
    ]
    for event in events:
        assert expired not in repr(event)
        assert forged not in repr(event)


def test_a_raising_on_event_hook_does_not_break_the_answer(config: Config) -> None:
    def hook(event: AuthEvent) -> None:
        raise RuntimeError("boom")

    with client(config, on_event=hook) as c:
        assert_rfc6750(c.get("/me"), 401, "invalid_request")


def test_no_log_record_contains_the_token(
    config: Config, key: Key, caplog: pytest.LogCaptureFixture
) -> None:
    expired = make_token(key, iat=int(time.time()) - 100, exp=int(time.time()) - 10)
    forged = make_token(Key.from_secret(secrets.token_bytes(32), "HS256"))
    caplog.set_level(logging.DEBUG, logger="jwt_middleware")
    with client(config) as c:
        for token in (expired, forged, "aaa.bbb.ccc"):
            assert c.get("/me", headers=bearer(token)).status_code == 401
    records = [r for r in caplog.records if r.name.startswith("jwt_middleware")]
    assert len(records) >= 3
    for record in records:
        text = record.getMessage()
        for token in (expired, forged, "aaa.bbb.ccc"):
            assert token not in text


# --- httpx.ASGITransport --------------------------------------------------------


def test_works_under_httpx_asgi_transport(config: Config, key: Key) -> None:
    app = make_app(config)

    async def scenario() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            refused = await c.get("/me")
            accepted = await c.get("/me", headers=bearer(make_token(key)))
        return refused.status_code, accepted.status_code

    assert asyncio.run(scenario()) == (401, 200)


def test_inner_app_not_called_on_refusal(config: Config) -> None:
    called: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope["path"])

    sent = run_raw(JWTMiddleware(inner, config=config), http_scope([]))
    assert called == []
    assert sent[0]["status"] == 401
