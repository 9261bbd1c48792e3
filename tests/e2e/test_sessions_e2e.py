"""Sessions across real server processes sharing one store.

The three examples run at once, each in its own process (Flask under gunicorn with two
workers, Starlette and FastAPI under uvicorn), on one SQLite file or one real Redis: a
session started through one server is listed by the others, and revoked through one it is
refused by the others on the very next request. The test process is one more: it opens
the same store with an ``Issuer`` of its own and revokes a session there, as an
administrator's script would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from jwt_middleware import Config, Issuer, generate_key
from tests.e2e.servers import free_port, gunicorn_argv, run_server, uvicorn_argv
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow

PASSWORDS = {"alice": "wonderland-42", "bob": "builder-2026"}
APPS = {
    "flask": gunicorn_argv("examples.flask_app:app"),
    "starlette": uvicorn_argv("examples.starlette_app:app"),
    "fastapi": uvicorn_argv("examples.fastapi_app:app"),
}


@pytest.fixture
def keyed_env(tmp_path: Path) -> dict[str, str]:
    key = generate_key("ES256", kid="sessions-e2e")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.private_pem())
    return {
        "JWT_ALGORITHMS": "ES256",
        "JWT_PRIVATE_KEY_FILE": str(pem),
        "JWT_KID": "sessions-e2e",
        "JWT_ISSUER": "https://auth.e2e.local",
        "JWT_AUDIENCE": "e2e-api",
    }


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/shared.db"
        return
    server = RedisServer()
    try:
        yield server.url
    finally:
        server.close()


def _servers(env: dict[str, str], stack: ExitStack) -> dict[str, str]:
    return {name: stack.enter_context(run_server(argv, env, port=free_port())).url
            for name, argv in APPS.items()}


def _login(base: str, user: str, device: str, agent: str) -> dict[str, Any]:
    response = requests.post(f"{base}/auth/login", timeout=10,
                             json={"username": user, "password": PASSWORDS[user],
                                   "device": device}, headers={"User-Agent": agent})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def _get(base: str, path: str, token: str) -> requests.Response:
    return requests.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"},
                        timeout=10)


def _sessions(base: str, token: str) -> list[dict[str, Any]]:
    response = _get(base, "/auth/sessions", token)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["sessions"]
    return listed


def test_servers_sharing_a_store_share_sessions_and_their_revocation(
    keyed_env: dict[str, str], store_url: str
) -> None:
    env = {**keyed_env, "JWT_STORE_URL": store_url}
    with ExitStack() as stack:
        urls = _servers(env, stack)
        laptop = _login(urls["flask"], "alice", "laptop", "Laptop-Browser/1.0")
        phone = _login(urls["starlette"], "alice", "phone", "Phone-App/2.0")
        tablet = _login(urls["fastapi"], "alice", "tablet", "Tablet/3.0")
        for base in urls.values():  # every server sees the three sessions
            listed = _sessions(base, laptop["access_token"])
            assert sorted((s["device"], s["user_agent"]) for s in listed) == [
                ("laptop", "Laptop-Browser/1.0"), ("phone", "Phone-App/2.0"),
                ("tablet", "Tablet/3.0")]
            assert [s["device"] for s in listed if s["current"]] == ["laptop"]
            assert {s["address"] for s in listed} == {None}, "off by default"
        phone_id = next(s["id"] for s in listed if s["device"] == "phone")

        revoked = requests.delete(f"{urls['fastapi']}/auth/sessions/{phone_id}", timeout=10,
                                  headers={"Authorization": f"Bearer {laptop['access_token']}"})
        assert revoked.status_code == 200, revoked.text
        for base in urls.values():  # the phone is refused everywhere at once
            assert _get(base, "/me", phone["access_token"]).status_code == 401
            refresh = requests.post(f"{base}/auth/refresh", timeout=10,
                                    json={"refresh_token": phone["refresh_token"]})
            assert refresh.status_code == 401

        others = requests.post(f"{urls['starlette']}/auth/sessions/revoke-others", timeout=10,
                               headers={"Authorization": f"Bearer {laptop['access_token']}"})
        assert others.status_code == 200, others.text
        assert _get(urls["flask"], "/me", tablet["access_token"]).status_code == 401
        assert [s["device"] for s in _sessions(urls["fastapi"], laptop["access_token"])] == [
            "laptop"]


def test_an_admin_on_one_server_ends_a_user_s_session_on_another(
    keyed_env: dict[str, str], store_url: str
) -> None:
    env = {**keyed_env, "JWT_STORE_URL": store_url}
    with ExitStack() as stack:
        urls = _servers(env, stack)
        bob = _login(urls["starlette"], "bob", "phone", "Bob-Phone/1.0")
        admin = _login(urls["flask"], "alice", "console", "Admin/1.0")
        assert _get(urls["fastapi"], "/auth/users/alice/sessions",
                    bob["access_token"]).status_code == 403, "bob is no admin"
        listed = _get(urls["fastapi"], "/auth/users/bob/sessions", admin["access_token"])
        assert listed.status_code == 200, listed.text
        (theirs,) = listed.json()["sessions"]
        assert (theirs["device"], theirs["user_agent"]) == ("phone", "Bob-Phone/1.0")
        done = requests.delete(f"{urls['flask']}/auth/users/bob/sessions/{theirs['id']}",
                               headers={"Authorization": f"Bearer {admin['access_token']}"},
                               timeout=10)
        assert done.status_code == 200, done.text
        assert _get(urls["starlette"], "/me", bob["access_token"]).status_code == 401


def test_a_script_in_another_process_revokes_a_session_a_server_started(
    keyed_env: dict[str, str], store_url: str
) -> None:
    """The test process is the second process: an ``Issuer`` on the same store."""
    env = {**keyed_env, "JWT_STORE_URL": store_url, "JWT_SESSION_RECORD_ADDRESS": "1"}
    port = free_port()
    with run_server(APPS["flask"], env, port=port) as server:
        pair = _login(server.url, "bob", "phone", "Bob-Phone/1.0")
        issuer = Issuer(Config.from_env(environ=env))
        (found,) = issuer.sessions.list("bob")
        assert (found.device, found.address) == ("phone", "127.0.0.1"), "recorded when on"
        assert _get(server.url, "/me", pair["access_token"]).status_code == 200
        assert issuer.sessions.revoke("bob", found.id) is True
        assert _get(server.url, "/me", pair["access_token"]).status_code == 401
        assert _sessions(server.url, _login(server.url, "bob", "laptop", "x")["access_token"])[
            0]["device"] == "laptop"
        issuer.store.close()
