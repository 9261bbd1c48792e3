"""The Flask example under real servers: gunicorn (HS256 and RS256) and ``python -m``."""

from __future__ import annotations

import base64
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from jwt_middleware import Key, encode, generate_key
from tests.e2e.servers import Server, free_port, gunicorn_argv, run_server

pytestmark = pytest.mark.slow

ISSUER = "https://issuer.e2e.test"
AUDIENCE = "flask-e2e"
APP = "examples.flask_app:app"
STARTUP_TIMEOUT = 20.0
TIMEOUT = 5.0


def make_token(key: Key, **claims: Any) -> str:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
    }
    base.update(claims)
    return encode(base, key)


def get(server: Server, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(server.url + path, headers=headers, timeout=TIMEOUT)


def hs256_env() -> tuple[dict[str, str], Key]:
    secret = secrets.token_bytes(32)
    env = {
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": "base64:" + base64.b64encode(secret).decode(),
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
    }
    return env, Key.from_secret(secret, "HS256")


@pytest.fixture(scope="module")
def hs256_server() -> Iterator[tuple[Server, Key]]:
    env, key = hs256_env()
    with run_server(gunicorn_argv(APP), env, port=free_port(), timeout=STARTUP_TIMEOUT) as server:
        yield server, key


def test_public_needs_no_token(hs256_server: tuple[Server, Key]) -> None:
    server, _ = hs256_server
    response = get(server, "/public")
    assert response.status_code == 200
    assert response.json() == {"message": "anyone can read this"}


def test_me_without_a_token_is_401(hs256_server: tuple[Server, Key]) -> None:
    server, _ = hs256_server
    response = get(server, "/me")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_request"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_me_with_a_valid_token_returns_the_principal(hs256_server: tuple[Server, Key]) -> None:
    server, key = hs256_server
    response = get(server, "/me", make_token(key, sub="bob", roles=["user"]))
    assert response.status_code == 200
    body = response.json()
    assert (body["subject"], body["roles"], body["issuer"]) == ("bob", ["user"], ISSUER)
    assert body["audience"] == [AUDIENCE]


def test_me_with_an_expired_token_is_401(hs256_server: tuple[Server, Key]) -> None:
    server, key = hs256_server
    now = int(time.time())
    expired = make_token(key, iat=now - 600, exp=now - 60)
    response = get(server, "/me", expired)
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "the token has expired",
    }
    assert expired not in response.text


def test_me_with_a_token_for_another_audience_is_401(hs256_server: tuple[Server, Key]) -> None:
    server, key = hs256_server
    response = get(server, "/me", make_token(key, aud="someone-else"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_admin_needs_the_admin_role(hs256_server: tuple[Server, Key]) -> None:
    server, key = hs256_server
    user = get(server, "/admin", make_token(key, roles=["user"]))
    assert user.status_code == 403
    assert user.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in user.headers["WWW-Authenticate"]
    admin = get(server, "/admin", make_token(key, sub="root", roles=["admin"]))
    assert admin.status_code == 200
    assert admin.json() == {"message": "welcome, admin root"}


def test_unknown_route_is_flasks_404(hs256_server: tuple[Server, Key]) -> None:
    server, _ = hs256_server
    assert get(server, "/nope").status_code == 404


def test_rs256_from_a_pem_file(tmp_path: Path) -> None:
    key = generate_key("RS256")
    pem = tmp_path / "public.pem"
    pem.write_bytes(key.public_pem())
    env = {
        "JWT_ALGORITHMS": "RS256",
        "JWT_PUBLIC_KEY_FILE": str(pem),
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
    }
    argv = gunicorn_argv(APP, workers=1)
    with run_server(argv, env, port=free_port(), timeout=STARTUP_TIMEOUT) as server:
        assert get(server, "/me", make_token(key, sub="rsa-user")).json()["subject"] == "rsa-user"
        assert get(server, "/admin", make_token(key, roles=["admin"])).status_code == 200
        forged = make_token(generate_key("RS256", kid=key.kid))
        assert get(server, "/me", forged).status_code == 401
        hs_token = make_token(Key.from_secret(secrets.token_bytes(32), "HS256", kid=key.kid))
        assert get(server, "/me", hs_token).status_code == 401


def test_python_dash_m_runs_the_example() -> None:
    env, key = hs256_env()
    argv = [sys.executable, "-m", "examples.flask_app", "--port", "{port}"]
    with run_server(argv, env, port=free_port(), timeout=STARTUP_TIMEOUT) as server:
        assert get(server, "/public").status_code == 200
        assert get(server, "/me").status_code == 401
        assert get(server, "/me", make_token(key)).json()["subject"] == "alice"


def post(
    server: Server, path: str, body: dict[str, Any] | None = None, token: str | None = None
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(server.url + path, json=body, headers=headers, timeout=TIMEOUT)


def test_token_lifecycle_across_gunicorn_workers(tmp_path: Path) -> None:
    """Login, refresh, reuse detection and logout; the two workers share one SQLite store."""
    env, _ = hs256_env()
    env["JWT_STORE_URL"] = f"sqlite:///{tmp_path}/tokens.db"
    with run_server(
        gunicorn_argv(APP, workers=2), env, port=free_port(), timeout=STARTUP_TIMEOUT
    ) as server:
        wrong = post(server, "/auth/login", {"username": "alice", "password": "guess"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_grant"

        login = post(server, "/auth/login", {"username": "alice", "password": "wonderland-42"})
        assert login.status_code == 200
        assert login.headers["Cache-Control"] == "no-store"
        pair = login.json()
        assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
        me = get(server, "/me", pair["access_token"])
        assert me.status_code == 200
        assert (me.json()["subject"], me.json()["issuer"]) == ("alice", ISSUER)
        assert get(server, "/admin", pair["access_token"]).status_code == 200

        renewed = post(server, "/auth/refresh", {"refresh_token": pair["refresh_token"]})
        assert renewed.status_code == 200
        new_pair = renewed.json()
        assert get(server, "/me", new_pair["access_token"]).status_code == 200
        # Replaying the retired refresh token revokes the whole family, in every worker.
        replay = post(server, "/auth/refresh", {"refresh_token": pair["refresh_token"]})
        assert replay.status_code == 401
        for _ in range(4):  # whichever worker answers
            assert get(server, "/me", new_pair["access_token"]).status_code == 401
        again = post(server, "/auth/refresh", {"refresh_token": new_pair["refresh_token"]})
        assert again.status_code == 401

        bob = post(server, "/auth/login", {"username": "bob", "password": "builder-2026"}).json()
        assert get(server, "/me", bob["access_token"]).status_code == 200
        out = post(
            server, "/auth/logout", {"refresh_token": bob["refresh_token"]}, bob["access_token"]
        )
        assert out.status_code == 200
        assert out.json() == {"status": "logged out"}
        for _ in range(4):
            assert get(server, "/me", bob["access_token"]).status_code == 401
        refused = post(server, "/auth/refresh", {"refresh_token": bob["refresh_token"]})
        assert refused.status_code == 401
