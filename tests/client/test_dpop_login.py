"""DPoPAuth against the package's own token routes (Starlette, under a real uvicorn on
127.0.0.1) with DPoP required and server nonces on: a bound login, a bound refresh by the
same key, and a refresh by another key refused."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import requests
import uvicorn
from starlette.applications import Starlette

from examples._users import UserTable
from jwt_middleware import (
    Config,
    DPoPNonces,
    DPoPPolicy,
    DPoPVerifier,
    Issuer,
    TokenService,
    generate_key,
)
from jwt_middleware.client import DPoPAuth, DPoPKey
from jwt_middleware.starlette import token_mount
from jwt_middleware.stores.memory import MemoryStore

ALICE = {"username": "alice", "password": "wonderland-42"}


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    """The token routes under /auth, DPoP required, nonces on, served by uvicorn."""
    store = MemoryStore()
    config = Config(keys=generate_key("ES256"), issuer="https://issuer.test",
                    audience="api.test", store=store)
    verifier = DPoPVerifier(store=store, nonces=DPoPNonces(secrets.token_bytes(32)))
    service = TokenService(Issuer(config), UserTable().check,
                           dpop=DPoPPolicy("required", verifier))
    app = Starlette(routes=[token_mount(service)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        thread.join(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_login_and_refresh_are_bound_to_the_clients_key(api: str) -> None:
    dpop = DPoPAuth(DPoPKey.generate())
    login = requests.post(f"{api}/auth/login", json=ALICE, auth=dpop.requests_auth(), timeout=5)
    assert login.status_code == 200, login.text
    assert [r.status_code for r in login.history] == [400], "the route asked for its nonce"
    pair = login.json()
    assert pair["token_type"] == "DPoP"
    assert _claims(pair["access_token"])["cnf"] == {"jkt": dpop.key.thumbprint}
    dpop.access_token = pair["access_token"]
    renewed = requests.post(f"{api}/auth/refresh", json={"refresh_token": pair["refresh_token"]},
                            auth=dpop.requests_auth(proof_only=True), timeout=5)
    assert renewed.status_code == 200, renewed.text
    assert renewed.history == [], "the nonce from the login was remembered"
    assert _claims(renewed.json()["access_token"])["cnf"] == {"jkt": dpop.key.thumbprint}


def test_a_stolen_refresh_token_is_useless_without_the_key(api: str) -> None:
    owner = DPoPAuth(DPoPKey.generate())
    pair = requests.post(f"{api}/auth/login", json=ALICE, auth=owner.requests_auth(),
                         timeout=5).json()
    thief = DPoPAuth(DPoPKey.generate())
    stolen = requests.post(f"{api}/auth/refresh", json={"refresh_token": pair["refresh_token"]},
                           auth=thief.requests_auth(), timeout=5)
    assert stolen.status_code == 401, stolen.text
    assert "refresh_token" not in stolen.json()
    without_proof = requests.post(f"{api}/auth/refresh",
                                  json={"refresh_token": pair["refresh_token"]}, timeout=5)
    assert without_proof.status_code in (400, 401)


def test_httpx_async_login_is_bound(api: str) -> None:
    dpop = DPoPAuth(DPoPKey.generate("EdDSA"))

    async def login() -> httpx.Response:
        async with httpx.AsyncClient(auth=dpop.httpx_auth()) as client:
            return await client.post(f"{api}/auth/login", json=ALICE)

    answer = asyncio.run(login())
    assert answer.status_code == 200, answer.text
    assert _claims(answer.json()["access_token"])["cnf"] == {"jkt": dpop.key.thumbprint}
