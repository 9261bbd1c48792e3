"""Outgoing calls against real servers on 127.0.0.1: a token endpoint and a protected service."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
import requests

from jwt_middleware import Config, Issuer, MissingTokenError, encode, generate_key
from jwt_middleware.client import ForwardBearer, ServiceToken, TokenEndpointError
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.wsgi import PRINCIPAL_KEY, JWTMiddleware

KEY = generate_key("ES256")
ISS = "https://auth.test"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True


def _who(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    principal = environ[PRINCIPAL_KEY]
    body = json.dumps({"sub": principal.subject, "aud": list(principal.audience)}).encode()
    start_response("200 OK", [("content-type", "application/json")])
    return [body]


@pytest.fixture
def downstream() -> Iterator[str]:
    """A real WSGI service that trusts KEY for audience orders-api and echoes who called."""
    app = JWTMiddleware(_who, config=Config(keys=KEY, issuer=ISS, audience="orders-api"))
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


class TokenEndpoint:
    """A real OAuth 2 token endpoint (client credentials) that counts its requests."""

    def __init__(self, status: int = 200, expires_in: int = 300) -> None:
        self.status = status
        self.expires_in = expires_in
        self.requests: list[dict[str, list[str]]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = parse_qs(self.rfile.read(length).decode())
                auth = self.headers.get("Authorization", "")
                form["basic"] = [base64.b64decode(auth.removeprefix("Basic ")).decode()]
                endpoint.requests.append(form)
                now = int(time.time())
                token = encode({"iss": ISS, "sub": "svc-billing", "aud": form["audience"][0],
                                "iat": now, "exp": now + endpoint.expires_in}, KEY)
                body = json.dumps({"access_token": token, "token_type": "Bearer",
                                   "expires_in": endpoint.expires_in}).encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/oauth/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    server = TokenEndpoint()
    yield server
    server.close()


def _user_token(aud: str = "orders-api") -> str:
    now = int(time.time())
    return encode({"iss": ISS, "sub": "alice", "aud": aud, "iat": now, "exp": now + 60}, KEY)


def test_forward_bearer_passes_the_user_on(downstream: str) -> None:
    incoming = {"Authorization": f"Bearer {_user_token()}"}
    answer = requests.get(f"{downstream}/who", auth=ForwardBearer(incoming), timeout=5)
    assert answer.status_code == 200
    assert answer.json()["sub"] == "alice"
    with httpx.Client() as client:
        answer_x = client.get(f"{downstream}/who", auth=ForwardBearer(incoming))
    assert answer_x.json()["sub"] == "alice"


def test_forward_bearer_without_a_token_is_refused_before_any_call() -> None:
    with pytest.raises(MissingTokenError):
        ForwardBearer({})


def test_issuer_minted_service_token_is_cached_and_renewed(downstream: str) -> None:
    now = [1_800_000_000.0]
    config = Config(keys=KEY, issuer=ISS, audience="billing-api", store=MemoryStore(),
                    clock=lambda: now[0])
    source = ServiceToken.from_issuer(Issuer(config), audience="orders-api",
                                      subject="svc-billing", ttl=120, renew_before=30)
    first = source.token()
    assert source.token() == first
    assert source.fetches == 1
    now[0] += 89
    assert source.token() == first, "still more than 30 s to go"
    now[0] += 2
    assert source.token() != first, "renewed 30 s before expiry"
    assert source.fetches == 2


def test_issuer_minted_token_is_accepted_downstream(downstream: str) -> None:
    config = Config(keys=KEY, issuer=ISS, audience="billing-api", store=MemoryStore())
    source = ServiceToken.from_issuer(Issuer(config), audience="orders-api", subject="svc-billing")
    answer = requests.get(f"{downstream}/who", auth=source.requests_auth(), timeout=5)
    assert answer.json() == {"sub": "svc-billing", "aud": ["orders-api"]}


def test_client_credentials_fetch_cache_and_concurrency(
    endpoint: TokenEndpoint, downstream: str
) -> None:
    source = ServiceToken.from_client_credentials(
        endpoint.url, client_id="billing", client_secret="s3cret-value", audience="orders-api",
        scopes=["orders:read"])
    barrier = threading.Barrier(6)

    def call() -> int:
        barrier.wait()
        return requests.get(f"{downstream}/who", auth=source.requests_auth(), timeout=5).status_code

    threads_out: list[int] = []
    workers = [threading.Thread(target=lambda: threads_out.append(call())) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert threads_out == [200] * 6
    assert len(endpoint.requests) == 1, "one fetch for six concurrent calls"
    sent = endpoint.requests[0]
    assert sent["grant_type"] == ["client_credentials"]
    assert sent["scope"] == ["orders:read"]
    assert sent["basic"] == ["billing:s3cret-value"]


def test_client_credentials_async_with_httpx(endpoint: TokenEndpoint, downstream: str) -> None:
    source = ServiceToken.from_client_credentials(
        endpoint.url, client_id="billing", client_secret="s3cret-value", audience="orders-api")

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=source.httpx_auth()) as client:
            answers = await asyncio.gather(*(client.get(f"{downstream}/who") for _ in range(5)))
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * 5
    assert source.fetches == 1


def test_token_endpoint_errors_never_carry_the_secret() -> None:
    server = TokenEndpoint(status=401)
    try:
        source = ServiceToken.from_client_credentials(
            server.url, client_id="billing", client_secret="s3cret-value", audience="x")
        with pytest.raises(TokenEndpointError) as caught:
            source.token()
        assert "401" in str(caught.value)
        assert "s3cret" not in str(caught.value)
    finally:
        server.close()
    dead = ServiceToken.from_client_credentials(
        server.url, client_id="billing", client_secret="s3cret-value", timeout=1.0)
    with pytest.raises(TokenEndpointError, match="failed"):
        dead.token()
