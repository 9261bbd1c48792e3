"""The ASGI examples under a real server (uvicorn), over real sockets: verification,
websockets, and the token lifecycle (login, refresh, replay, logout, password change)."""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from jwt_middleware import Key, encode
from tests.e2e.servers import Server, free_port, run_server, uvicorn_argv

pytestmark = pytest.mark.slow

ISSUER = "https://issuer.e2e.test"
AUDIENCE = "e2e-api"
TIMEOUT = 10


@pytest.fixture(autouse=True)
def _store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's servers keep their tokens in a SQLite file of its own."""
    monkeypatch.setenv("JWT_STORE_URL", f"sqlite:///{tmp_path}/tokens.db")


def environment(secret: str) -> dict[str, str]:
    return {
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": secret,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
    }


def make_token(secret: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    body.update(claims)
    return encode(body, Key.from_secret(secret, "HS256"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def check_http(server: Server, secret: str) -> None:
    url = server.url
    user = make_token(secret, roles=["user"])
    admin = make_token(secret, roles=["admin"])

    public = requests.get(f"{url}/public", timeout=TIMEOUT)
    assert public.status_code == 200

    missing = requests.get(f"{url}/me", timeout=TIMEOUT)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith('Bearer realm="api"')
    assert missing.json()["error"] == "invalid_request"

    forged = requests.get(
        f"{url}/me", headers=bearer(make_token(secrets.token_urlsafe(48))), timeout=TIMEOUT
    )
    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid_token"

    me = requests.get(f"{url}/me", headers=bearer(user), timeout=TIMEOUT)
    assert me.status_code == 200
    assert me.json()["subject"] == "alice"
    assert me.json()["roles"] == ["user"]
    assert me.json()["issuer"] == ISSUER

    refused = requests.get(f"{url}/admin", headers=bearer(user), timeout=TIMEOUT)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    allowed = requests.get(f"{url}/admin", headers=bearer(admin), timeout=TIMEOUT)
    assert allowed.status_code == 200


def check_websocket(server: Server, secret: str) -> None:
    ws_url = f"ws://127.0.0.1:{server.port}/ws"
    token = make_token(secret)

    with connect(ws_url, additional_headers=bearer(token), open_timeout=TIMEOUT) as ws:
        ws.send("via header")
        assert ws.recv(timeout=TIMEOUT) == "via header"

    with connect(f"{ws_url}?access_token={token}", open_timeout=TIMEOUT) as ws:
        ws.send("via query")
        assert ws.recv(timeout=TIMEOUT) == "via query"

    with connect(ws_url, subprotocols=["bearer", token], open_timeout=TIMEOUT) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "bearer"
        ws.send("via subprotocol")
        assert ws.recv(timeout=TIMEOUT) == "via subprotocol"

    # No token: uvicorn offers the websocket.http.response extension, so the
    # middleware refuses the handshake with the HTTP 401 answer itself.
    with pytest.raises(InvalidStatus) as refused, connect(ws_url, open_timeout=TIMEOUT):
        pass
    assert refused.value.response.status_code == 401
    assert b"invalid_request" in refused.value.response.body


@pytest.mark.parametrize("app", ["examples.starlette_app:app", "examples.fastapi_app:app"])
def test_example_under_uvicorn(app: str) -> None:
    secret = secrets.token_urlsafe(48)
    with run_server(uvicorn_argv(app), environment(secret), port=free_port()) as server:
        check_http(server, secret)
        check_websocket(server, secret)


def test_fastapi_example_serves_docs_and_openapi_without_token() -> None:
    secret = secrets.token_urlsafe(48)
    argv = uvicorn_argv("examples.fastapi_app:app")
    with run_server(argv, environment(secret), port=free_port()) as server:
        docs = requests.get(f"{server.url}/docs", timeout=TIMEOUT)
        schema = requests.get(f"{server.url}/openapi.json", timeout=TIMEOUT).json()
    assert docs.status_code == 200
    assert schema["components"]["securitySchemes"]["JWTBearer"]["bearerFormat"] == "JWT"
    assert schema["paths"]["/admin"]["get"]["security"] == [{"JWTBearer": []}]


def test_starlette_example_as_a_module() -> None:
    secret = secrets.token_urlsafe(48)
    argv = [sys.executable, "-m", "examples.starlette_app", "--port", "{port}"]
    with run_server(argv, environment(secret), port=free_port()) as server:
        check_http(server, secret)
        check_websocket(server, secret)


ALICE = {"username": "alice", "password": "wonderland-42"}
BOB = {"username": "bob", "password": "builder-2026"}


def check_lifecycle(url: str) -> None:
    """The route contract shared with the Flask example and the demo."""
    def me(token: str) -> int:
        return requests.get(f"{url}/me", headers=bearer(token), timeout=TIMEOUT).status_code

    def post(path: str, body: dict[str, str], token: str | None = None) -> requests.Response:
        headers = bearer(token) if token else {}
        return requests.post(f"{url}{path}", json=body, headers=headers, timeout=TIMEOUT)

    wrong = post("/auth/login", {**ALICE, "password": "guess"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_grant"

    login = post("/auth/login", ALICE)
    assert login.status_code == 200
    assert login.headers["Cache-Control"] == "no-store"
    pair = login.json()
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert me(pair["access_token"]) == 200
    admin = requests.get(f"{url}/admin", headers=bearer(pair["access_token"]), timeout=TIMEOUT)
    assert admin.status_code == 200

    renewed = post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200
    new = renewed.json()
    assert me(new["access_token"]) == 200
    stale = post("/auth/password", {"new_password": "x" * 12}, new["access_token"])
    assert stale.status_code == 401, "a refreshed token is not fresh"
    assert stale.headers["WWW-Authenticate"].count("insufficient_user_authentication") == 1
    assert post("/auth/refresh", {"refresh_token": pair["refresh_token"]}).status_code == 401
    assert post("/auth/refresh", {"refresh_token": new["refresh_token"]}).status_code == 401
    assert me(new["access_token"]) == 401, "reuse revoked the whole family"

    bob = post("/auth/login", BOB).json()
    out = post("/auth/logout", {"refresh_token": bob["refresh_token"]}, bob["access_token"])
    assert out.status_code == 200
    assert out.json() == {"status": "logged out"}
    assert me(bob["access_token"]) == 401
    assert post("/auth/refresh", {"refresh_token": bob["refresh_token"]}).status_code == 401

    # Password change: a fresh token; every older token of alice dies.
    time.sleep(1.05)  # revocation watermarks have one-second granularity
    fresh = post("/auth/login", ALICE).json()
    time.sleep(1.05)
    changed = post("/auth/password", {"new_password": "looking-glass-7"}, fresh["access_token"])
    assert changed.status_code == 200
    assert changed.json() == {"status": "password changed"}
    assert me(fresh["access_token"]) == 401
    assert post("/auth/refresh", {"refresh_token": fresh["refresh_token"]}).status_code == 401
    time.sleep(1.05)
    assert post("/auth/login", ALICE).status_code == 401, "the old password"
    again = post("/auth/login", {"username": "alice", "password": "looking-glass-7"})
    assert again.status_code == 200
    assert me(again.json()["access_token"]) == 200


@pytest.mark.parametrize("app", ["examples.starlette_app:app", "examples.fastapi_app:app"])
def test_token_lifecycle_under_uvicorn(app: str) -> None:
    secret = secrets.token_urlsafe(48)
    with run_server(uvicorn_argv(app), environment(secret), port=free_port()) as server:
        check_lifecycle(server.url)
