"""The session routes, the same table in Flask, Starlette and FastAPI (``docs/sessions.md``).

Every app is built from one settings mapping: Flask reads it from ``app.config``, the
ASGI apps through ``Config.from_env`` and ``issuer_options_from_mapping``. The clients
are the frameworks' own test clients; the client address each app sees is set in the
WSGI environ or the ASGI scope, as a server would.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.testclient import TestClient

from jwt_middleware import (
    Config,
    ConfigurationError,
    Identity,
    Issuer,
    TokenService,
    cookie_policy_from_mapping,
    issuer_options_from_mapping,
)
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import JWTBearer, sessions_router, token_router
from jwt_middleware.flask import JWT, auth_blueprint, sessions_blueprint
from jwt_middleware.starlette import auth_public_paths, sessions_routes, token_mount
from jwt_middleware.stores import SessionInfo, Store
from jwt_middleware.stores.memory import MemoryStore
from tests.integrations.test_dpop_token_routes import Answer
from tests.stores.without_sessions import WithoutSessions

BASE = "https://api.test"
FRAMEWORKS = ("flask", "starlette", "fastapi")
PASSWORDS = {"alice": "wonderland-42", "bob": "builder-2026"}
ROLES = {"alice": ("admin", "user"), "bob": ("user",)}
#: The address every app's client connects from.
PEER = "192.0.2.10"
SESSION_KEYS = {"id", "subject", "created_at", "last_used_at", "expires_at", "device",
                "user_agent", "address", "dpop_bound", "jkt", "current"}


def check_credentials(username: str, password: str) -> Identity | None:
    if PASSWORDS.get(username) != password:
        return None
    return Identity(username, roles=ROLES[username])


def settings(**extra: str) -> dict[str, str]:
    return {
        "JWT_SECRET": "s" * 48,
        "JWT_ALGORITHMS": "HS256",
        "JWT_ISSUER": "https://issuer.test",
        "JWT_AUDIENCE": "api.test",
        "JWT_STORE_URL": "memory://",
        **extra,
    }


Call = Callable[..., Answer]


def _flask(env: Mapping[str, str]) -> Call:
    app = Flask(__name__)
    app.config.update(env)
    JWT(app, check_credentials=check_credentials)
    app.register_blueprint(auth_blueprint())
    app.register_blueprint(sessions_blueprint())
    client = app.test_client()

    def call(method: str, path: str, *, token: str | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        response = client.open(path, method=method, json=body, headers=sent, base_url=BASE,
                               environ_base={"REMOTE_ADDR": PEER})
        return Answer(response.status_code, response.get_json() or {}, dict(response.headers))

    return call


def asgi_service(env: Mapping[str, str], store: Store | None = None) -> TokenService:
    config = Config.from_env(environ=dict(env))
    if store is not None:
        config = dataclasses.replace(config, store=store)
    issuer = Issuer(config, **issuer_options_from_mapping(env))
    return TokenService(issuer, check_credentials, cookies=cookie_policy_from_mapping(env))


def _asgi(env: Mapping[str, str], fastapi: bool) -> Call:
    service = asgi_service(env)
    config = service.issuer.config
    if fastapi:
        app: Any = FastAPI()
        bearer = JWTBearer(config=config)
        bearer.init_app(app)
        app.include_router(token_router(service))
        app.include_router(sessions_router(service, bearer))
    else:
        app = Starlette(routes=[token_mount(service, "/auth", sessions_routes(service))])
    wrapped = JWTMiddleware(app, config=config, cookies=service.cookies,
                            public_paths=auth_public_paths())

    async def served(scope: Any, receive: Any, send: Any) -> None:
        await wrapped({**scope, "client": (PEER, 50000)}, receive, send)

    client = TestClient(served, base_url=BASE)

    def call(method: str, path: str, *, token: str | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        content = None if body is None else json.dumps(body).encode()
        if content is not None:
            sent.setdefault("Content-Type", "application/json")
        response = client.request(method, path, content=content, headers=sent)
        data = response.json() if response.content else {}
        return Answer(response.status_code, data, response.headers)

    return call


def make(framework: str, **extra: str) -> Call:
    env = settings(**extra)
    if framework == "flask":
        return _flask(env)
    return _asgi(env, framework == "fastapi")


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def login(call: Call, user: str = "alice", device: str | None = None,
          user_agent: str = "demo-client/1.0") -> dict[str, Any]:
    body: dict[str, Any] = {"username": user, "password": PASSWORDS[user]}
    if device is not None:
        body["device"] = device
    answer = call("POST", "/auth/login", body=body, headers={"User-Agent": user_agent})
    assert answer.status == 200, answer.body
    return answer.body


def sessions(call: Call, token: str) -> list[dict[str, Any]]:
    answer = call("GET", "/auth/sessions", token=token)
    assert answer.status == 200, answer.body
    assert answer.header("Cache-Control") == "no-store"
    listed: list[dict[str, Any]] = answer.body["sessions"]
    return listed


def by_device(listed: list[dict[str, Any]], device: str) -> dict[str, Any]:
    (found,) = [s for s in listed if s["device"] == device]
    return found


# --- what a login records ---------------------------------------------------------------


def test_a_login_records_the_user_agent_and_the_device_label(framework: str) -> None:
    call = make(framework)
    laptop = login(call, device="laptop", user_agent="Mozilla/5.0\t(X11)  Firefox/140")
    login(call, device="phone", user_agent="x" * 300)
    listed = sessions(call, laptop["access_token"])
    assert all(set(s) == SESSION_KEYS for s in listed)
    mine = by_device(listed, "laptop")
    assert mine["user_agent"] == "Mozilla/5.0 (X11) Firefox/140", "tab and runs of spaces"
    assert mine["current"] is True
    assert mine["subject"] == "alice"
    assert mine["dpop_bound"] is False
    assert mine["jkt"] is None
    assert mine["created_at"] <= mine["last_used_at"] < mine["expires_at"]
    phone = by_device(listed, "phone")
    assert phone["user_agent"] == "x" * 256, "cut to 256 characters"
    assert phone["current"] is False


def test_the_address_is_not_recorded_by_default(framework: str) -> None:
    call = make(framework)
    pair = login(call, device="laptop")
    assert [s["address"] for s in sessions(call, pair["access_token"])] == [None]


def test_the_address_is_recorded_when_the_setting_is_on(framework: str) -> None:
    call = make(framework, JWT_SESSION_RECORD_ADDRESS="1")
    pair = login(call, device="laptop")
    assert [s["address"] for s in sessions(call, pair["access_token"])] == [PEER]


@pytest.mark.parametrize("device", ["", "   ", "a\nb", "x" * 65, 42, ["phone"], "\u202eevil"])
def test_a_device_label_that_is_not_a_short_printable_string_is_refused(
    framework: str, device: object
) -> None:
    call = make(framework)
    answer = call("POST", "/auth/login", body={"username": "alice", "password": "wonderland-42",
                                               "device": device})
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "invalid_request"
    assert "device" in answer.body["error_description"]
    assert "access_token" not in answer.body


# --- my sessions ---------------------------------------------------------------------------


def test_revoking_one_of_my_sessions_refuses_its_access_and_refresh_tokens(
    framework: str,
) -> None:
    call = make(framework)
    laptop, phone = login(call, device="laptop"), login(call, device="phone")
    phone_id = by_device(sessions(call, laptop["access_token"]), "phone")["id"]
    answer = call("DELETE", f"/auth/sessions/{phone_id}", token=laptop["access_token"])
    assert (answer.status, answer.body) == (200, {"status": "revoked", "session": phone_id})
    assert call("GET", "/auth/sessions", token=phone["access_token"]).status == 401
    refresh = call("POST", "/auth/refresh", body={"refresh_token": phone["refresh_token"]})
    assert refresh.status == 401
    assert [s["device"] for s in sessions(call, laptop["access_token"])] == ["laptop"]
    again = call("DELETE", f"/auth/sessions/{phone_id}", token=laptop["access_token"])
    assert again.status == 404, "a revoked session is gone"


def test_a_refresh_is_the_session_s_last_use_and_keeps_it_current(framework: str) -> None:
    call = make(framework)
    pair = login(call, device="laptop")
    renewed = call("POST", "/auth/refresh", body={"refresh_token": pair["refresh_token"]})
    assert renewed.status == 200
    (listed,) = sessions(call, renewed.body["access_token"])
    assert (listed["device"], listed["current"]) == ("laptop", True), "same family"
    assert listed["last_used_at"] >= listed["created_at"]


def test_revoke_others_keeps_the_current_session(framework: str) -> None:
    call = make(framework)
    laptop = login(call, device="laptop")
    others = [login(call, device=d) for d in ("phone", "tablet")]
    current = by_device(sessions(call, laptop["access_token"]), "laptop")["id"]
    answer = call("POST", "/auth/sessions/revoke-others", token=laptop["access_token"])
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "revoked"
    assert answer.body["kept"] == current
    assert len(answer.body["revoked"]) == 2
    assert current not in answer.body["revoked"]
    assert [s["id"] for s in sessions(call, laptop["access_token"])] == [current]
    for pair in others:
        assert call("GET", "/auth/sessions", token=pair["access_token"]).status == 401


def test_security_another_users_sessions_are_invisible_and_cannot_be_revoked(
    framework: str,
) -> None:
    """Named security test: alice can neither see bob's session nor end it, and the answer
    for bob's id is the very one for an id that never existed."""
    call = make(framework)
    alice, bob = login(call, "alice", device="laptop"), login(call, "bob", device="phone")
    bob_id = sessions(call, bob["access_token"])[0]["id"]
    assert [s["subject"] for s in sessions(call, alice["access_token"])] == ["alice"]
    theirs = call("DELETE", f"/auth/sessions/{bob_id}", token=alice["access_token"])
    unknown = call("DELETE", "/auth/sessions/no-such-session", token=alice["access_token"])
    assert theirs.status == unknown.status == 404
    assert theirs.body == unknown.body == {"error": "not_found",
                                           "error_description": "no such session"}
    assert call("GET", "/auth/sessions", token=bob["access_token"]).status == 200, "alive"
    assert sessions(call, bob["access_token"])[0]["id"] == bob_id
    others = call("POST", "/auth/sessions/revoke-others", token=alice["access_token"])
    assert others.body["revoked"] == [], "revoke-others ends only alice's own"
    assert call("GET", "/auth/sessions", token=bob["access_token"]).status == 200


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/auth/sessions"), ("DELETE", "/auth/sessions/abc"),
    ("POST", "/auth/sessions/revoke-others"), ("GET", "/auth/users/bob/sessions"),
    ("DELETE", "/auth/users/bob/sessions/abc"),
])
def test_the_session_routes_need_an_access_token(framework: str, method: str,
                                                  path: str) -> None:
    call = make(framework)
    answer = call(method, path)
    assert answer.status == 401, answer.body
    assert answer.body["error"] == "invalid_request"
    assert (answer.header("WWW-Authenticate") or "").startswith("Bearer ")
    pair = login(call)
    refresh_as_access = call(method, path, token=pair["refresh_token"])
    assert refresh_as_access.status == 401, "a refresh token is no access token"


# --- an administrator ----------------------------------------------------------------------


def test_the_admin_routes_need_the_admin_role(framework: str) -> None:
    call = make(framework)
    bob = login(call, "bob", device="phone")
    bob_id = sessions(call, bob["access_token"])[0]["id"]
    for method, path in (("GET", "/auth/users/alice/sessions"),
                         ("DELETE", f"/auth/users/bob/sessions/{bob_id}")):
        answer = call(method, path, token=bob["access_token"])
        assert answer.status == 403, answer.body
        assert answer.body == {"error": "insufficient_scope",
                               "error_description": "a required role is missing"}
    assert call("GET", "/auth/sessions", token=bob["access_token"]).status == 200, "untouched"


def test_an_admin_lists_and_revokes_a_user_s_sessions(framework: str) -> None:
    call = make(framework)
    admin = login(call, "alice", device="console")
    bob = login(call, "bob", device="phone")
    listed = call("GET", "/auth/users/bob/sessions", token=admin["access_token"])
    assert listed.status == 200, listed.body
    assert listed.body["subject"] == "bob"
    (theirs,) = listed.body["sessions"]
    assert (theirs["device"], theirs["current"]) == ("phone", False)
    mine = by_device(sessions(call, admin["access_token"]), "console")["id"]
    wrong = call("DELETE", f"/auth/users/bob/sessions/{mine}", token=admin["access_token"])
    assert wrong.status == 404, "alice's own session is no session of bob's"
    done = call("DELETE", f"/auth/users/bob/sessions/{theirs['id']}",
                token=admin["access_token"])
    assert (done.status, done.body) == (200, {"status": "revoked", "session": theirs["id"]})
    assert call("GET", "/auth/sessions", token=bob["access_token"]).status == 401
    empty = call("GET", "/auth/users/bob/sessions", token=admin["access_token"])
    assert empty.body["sessions"] == []


def test_the_admin_role_is_a_setting(framework: str) -> None:
    call = make(framework, JWT_SESSION_ADMIN_ROLE="user")
    bob = login(call, "bob")
    assert call("GET", "/auth/users/alice/sessions", token=bob["access_token"]).status == 200


# --- the same answers everywhere, cookie mode, stores without sessions ---------------------


def _script(call: Call) -> list[tuple[int, list[str]]]:
    laptop, phone = login(call, device="laptop"), login(call, device="phone")
    phone_id = by_device(sessions(call, laptop["access_token"]), "phone")["id"]
    steps = [
        call("GET", "/auth/sessions", token=laptop["access_token"]),
        call("DELETE", f"/auth/sessions/{phone_id}", token=laptop["access_token"]),
        call("DELETE", f"/auth/sessions/{phone_id}", token=laptop["access_token"]),
        call("POST", "/auth/sessions/revoke-others", token=laptop["access_token"]),
        call("GET", "/auth/users/alice/sessions", token=laptop["access_token"]),
        call("GET", "/auth/sessions", token=phone["access_token"]),
    ]
    return [(a.status, sorted(a.body)) for a in steps]


def test_the_three_frameworks_answer_alike() -> None:
    transcripts = {framework: _script(make(framework)) for framework in FRAMEWORKS}
    assert transcripts["flask"] == transcripts["starlette"] == transcripts["fastapi"]
    assert [status for status, _ in transcripts["flask"]] == [200, 200, 404, 200, 200, 401]


def test_cookie_mode_checks_csrf_on_the_unsafe_session_routes(framework: str) -> None:
    call = make(framework, JWT_COOKIES="1")
    answer = call("POST", "/auth/login", body={"username": "alice", "password": "wonderland-42",
                                               "device": "browser"})
    assert answer.status == 200, answer.body
    csrf = answer.body["csrf_token"]
    listed = call("GET", "/auth/sessions")
    assert listed.status == 200, listed.body
    (mine,) = listed.body["sessions"]
    assert mine["device"] == "browser"
    assert mine["current"] is True
    refused = call("POST", "/auth/sessions/revoke-others")
    assert refused.status == 403, "a cookie-authenticated POST needs the CSRF header"
    done = call("POST", "/auth/sessions/revoke-others", headers={"X-CSRF-Token": csrf})
    assert done.status == 200
    assert done.body["kept"] == mine["id"]


def test_a_store_without_sessions_still_logs_in_and_its_routes_are_refused() -> None:
    service = asgi_service(settings(), store=WithoutSessions(MemoryStore()))
    assert service.issuer.sessions.enabled is False
    pair = service.issuer.issue("alice")
    assert service.issuer.refresh(pair.refresh_token).access_token
    with pytest.raises(ConfigurationError, match="keeps no sessions"):
        sessions_routes(service)
    with pytest.raises(ConfigurationError, match="keeps no sessions"):
        service.issuer.sessions.list("alice")
    with pytest.raises(NotImplementedError, match="keeps no sessions"):
        service.issuer.store.record_session(SessionInfo("f", "alice", 0.0), 1.0)
    app = Flask(__name__)
    JWT(app, config=service.issuer.config, check_credentials=check_credentials)
    with pytest.raises(ConfigurationError, match="keeps no sessions"):
        app.register_blueprint(sessions_blueprint())
    with pytest.raises(ConfigurationError, match="keeps no sessions"):
        sessions_router(service, JWTBearer(config=service.issuer.config))


def test_fastapi_documents_the_session_routes_with_the_bearer_scheme() -> None:
    service = asgi_service(settings())
    app = FastAPI()
    bearer = JWTBearer(config=service.issuer.config)
    bearer.init_app(app)
    app.include_router(sessions_router(service, bearer))
    paths = app.openapi()["paths"]
    operations = {
        ("get", "/auth/sessions"): {"200", "401", "503"},
        ("post", "/auth/sessions/revoke-others"): {"200", "401", "503"},
        ("delete", "/auth/sessions/{session_id}"): {"200", "401", "404", "503"},
        ("get", "/auth/users/{subject}/sessions"): {"200", "401", "403", "503"},
        ("delete", "/auth/users/{subject}/sessions/{session_id}"): {"200", "401", "403", "404",
                                                                    "503"},
    }
    for (method, path), statuses in operations.items():
        operation = paths[path][method]
        assert operation["security"] == [{"JWTBearer": []}], path
        assert statuses <= set(operation["responses"]), (path, operation["responses"])
        assert "422" not in operation["responses"], "a string path parameter cannot fail"
        names = {p["name"] for p in operation.get("parameters", [])}
        assert names == set(re.findall(r"\{(\w+)\}", path)), (path, names)
    listed = paths["/auth/sessions"]["get"]["responses"]["200"]["content"]["application/json"]
    item = listed["schema"]["properties"]["sessions"]["items"]
    assert {"id", "device", "user_agent", "current", "dpop_bound"} <= set(item["properties"])
