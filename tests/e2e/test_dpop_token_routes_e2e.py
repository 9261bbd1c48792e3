"""DPoP at the token routes over real sockets: the Flask example under gunicorn (two
workers sharing one SQLite store) and the FastAPI example under uvicorn, called with
``requests`` and the package's own ``DPoPAuth`` client helper, with server nonces on.

The examples read ``JWT_DPOP`` and the ``JWT_DPOP_*`` settings from the environment like
the rest of their settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from jwt_middleware import generate_key
from jwt_middleware.client import DPoPAuth, DPoPKey
from tests.e2e.servers import free_port, gunicorn_argv, run_server, uvicorn_argv

pytestmark = pytest.mark.slow

ALICE = {"username": "alice", "password": "wonderland-42"}


SERVERS = {
    "flask-gunicorn": gunicorn_argv("examples.flask_app:app", workers=2),
    "fastapi-uvicorn": uvicorn_argv("examples.fastapi_app:app"),
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_dpop_login_bound_refresh_and_a_stolen_refresh_token(server: str, tmp_path: Path) -> None:
    key = generate_key("ES256", kid="e2e-key")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.private_pem())
    env = {
        "JWT_ALGORITHMS": "ES256",
        "JWT_PRIVATE_KEY_FILE": str(pem),
        "JWT_KID": "e2e-key",
        "JWT_ISSUER": "https://auth.e2e.local",
        "JWT_AUDIENCE": "e2e-api",
        "JWT_STORE_URL": f"sqlite:///{tmp_path}/tokens.db",
        "JWT_DPOP": "allowed",
        "JWT_DPOP_NONCE": "on",
        "JWT_DPOP_NONCE_SECRET": "e2e-nonce-secret-" + "x" * 32,
    }
    port = free_port()
    with run_server(SERVERS[server], env, port=port) as srv:
        device = DPoPAuth(DPoPKey.generate())
        # The first proof has no nonce: 400 use_dpop_nonce, and the helper retries once.
        login = requests.post(f"{srv.url}/auth/login", json=ALICE, auth=device.requests_auth(),
                              timeout=10)
        assert login.status_code == 200, login.text
        assert [r.status_code for r in login.history] == [400]
        pair = login.json()
        assert pair["token_type"] == "DPoP"

        thief = DPoPAuth(DPoPKey.generate())
        body = {"refresh_token": pair["refresh_token"]}
        stolen = requests.post(f"{srv.url}/auth/refresh", json=body, auth=thief.requests_auth(),
                               timeout=10)
        assert stolen.status_code == 401, stolen.text
        assert stolen.json()["error"] == "invalid_dpop_proof"
        bare = requests.post(f"{srv.url}/auth/refresh", json=body, timeout=10)
        assert bare.status_code == 401

        # The device's own refresh still works: the thief's attempts were not reuse.
        renewed = requests.post(f"{srv.url}/auth/refresh", json=body,
                                auth=device.requests_auth(proof_only=True), timeout=10)
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["token_type"] == "DPoP"
        assert renewed.history == []  # the login's answer carried the next nonce

        # A replayed proof is refused, whichever worker gets it (one store).
        proof = device.proof_headers("POST", f"{srv.url}/auth/login")
        first = requests.post(f"{srv.url}/auth/login", json=ALICE, headers=proof, timeout=10)
        assert first.status_code == 200, first.text
        again = [
            requests.post(f"{srv.url}/auth/login", json=ALICE, headers=proof, timeout=10)
            for _ in range(4)
        ]
        assert {a.status_code for a in again} == {401}
