"""The token life across real server processes.

* Two servers (Flask under gunicorn, FastAPI under uvicorn) share one Redis:
  a logout through one is honoured by the other on the very next request.
* A server on the SQLite store is killed (SIGKILL) and started again: the
  revocations made before are still in force.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from jwt_middleware import generate_key
from tests.e2e.servers import free_port, gunicorn_argv, run_server, uvicorn_argv
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow

ALICE = {"username": "alice", "password": "wonderland-42"}


@pytest.fixture
def keyed_env(tmp_path: Path) -> dict[str, str]:
    key = generate_key("ES256", kid="e2e-key")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.private_pem())
    return {
        "JWT_ALGORITHMS": "ES256",
        "JWT_PRIVATE_KEY_FILE": str(pem),
        "JWT_KID": "e2e-key",
        "JWT_ISSUER": "https://auth.e2e.local",
        "JWT_AUDIENCE": "e2e-api",
    }


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


def _login(base: str) -> dict[str, str]:
    response = requests.post(f"{base}/auth/login", json=ALICE, timeout=10)
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


def _me(base: str, token: str) -> int:
    return requests.get(f"{base}/me", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code


def test_two_servers_share_revocations_through_redis(
    keyed_env: dict[str, str], redis_server: RedisServer
) -> None:
    env = {**keyed_env, "JWT_STORE_URL": redis_server.url}
    flask_port, fastapi_port = free_port(), free_port()
    with run_server(gunicorn_argv("examples.flask_app:app"), env, port=flask_port) as flask_srv, \
            run_server(uvicorn_argv("examples.fastapi_app:app"), env,
                       port=fastapi_port) as fastapi_srv:
        pair = _login(flask_srv.url)
        assert _me(fastapi_srv.url, pair["access_token"]) == 200, "B trusts A's token"
        renewed = requests.post(f"{fastapi_srv.url}/auth/refresh",
                                json={"refresh_token": pair["refresh_token"]}, timeout=10)
        assert renewed.status_code == 200, "B rotates a refresh token A issued"
        replay = requests.post(f"{flask_srv.url}/auth/refresh",
                               json={"refresh_token": pair["refresh_token"]}, timeout=10)
        assert replay.status_code == 401, "A sees that B retired it"
        fresh = _login(fastapi_srv.url)
        assert _me(flask_srv.url, fresh["access_token"]) == 200
        out = requests.post(f"{flask_srv.url}/auth/logout", json=fresh,
                            headers={"Authorization": f"Bearer {fresh['access_token']}"},
                            timeout=10)
        assert out.status_code == 200
        assert _me(fastapi_srv.url, fresh["access_token"]) == 401, "B honours A's logout"


def test_sqlite_revocations_survive_a_kill_and_restart(
    keyed_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**keyed_env, "JWT_STORE_URL": f"sqlite:///{tmp_path}/tokens.db"}
    port = free_port()
    with run_server(gunicorn_argv("examples.flask_app:app", workers=1), env, port=port) as srv:
        revoked = _login(srv.url)
        kept = _login(srv.url)
        out = requests.post(f"{srv.url}/auth/logout", json=revoked,
                            headers={"Authorization": f"Bearer {revoked['access_token']}"},
                            timeout=10)
        assert out.status_code == 200
        assert _me(srv.url, revoked["access_token"]) == 401
        srv.process.send_signal(signal.SIGKILL)
        srv.process.wait()
    port = free_port()
    with run_server(gunicorn_argv("examples.flask_app:app", workers=1), env, port=port) as srv:
        assert _me(srv.url, revoked["access_token"]) == 401, "logout survived the restart"
        assert _me(srv.url, kept["access_token"]) == 200, "other sessions did too"
        replay = requests.post(f"{srv.url}/auth/refresh",
                               json={"refresh_token": revoked["refresh_token"]}, timeout=10)
        assert replay.status_code == 401
