"""``jwt_middleware.client`` with only ``requests``, only ``httpx``, or neither installed.

Each test runs a fresh interpreter in which the other library cannot be imported
(see ``isolated.py``) and makes real calls to a server on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys

from tests.client.isolated import ECHO_SERVER, run_without

# A user token and an issuer-minted service token, made without any HTTP library.
TOKENS = """
import time
from jwt_middleware import Config, Issuer, encode, generate_key
from jwt_middleware.stores.memory import MemoryStore

KEY = generate_key("ES256")
now = int(time.time())
USER = encode({"iss": "https://auth.test", "sub": "alice", "aud": "orders-api",
               "iat": now, "exp": now + 60}, KEY)
ISSUER = Issuer(Config(keys=KEY, issuer="https://auth.test", audience="billing-api",
                       store=MemoryStore()))
"""


def test_importing_the_client_imports_no_http_library() -> None:
    code = (
        "import sys, jwt_middleware.client\n"
        "print(','.join(m for m in ('requests', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_client_works_without_requests_or_httpx() -> None:
    got = run_without(
        ["requests", "httpx"],
        TOKENS
        + """
import jwt_middleware.client as client
from jwt_middleware import ConfigurationError


class Outgoing:
    def __init__(self):
        self.headers = {}


forwarded = client.ForwardBearer({"authorization": "Bearer " + USER})(Outgoing())
source = client.ServiceToken.from_issuer(ISSUER, audience="orders-api", subject="svc")
try:
    client.ServiceToken.from_client_credentials(
        "http://127.0.0.1:9/token", client_id="billing", client_secret="s3cret")
except ConfigurationError as exc:
    refused = [isinstance(exc, ImportError), str(exc)]
report({
    "forwarded": forwarded.headers["Authorization"] == "Bearer " + USER,
    "minted": source.token() == source.token() and source.fetches == 1,
    "refused": refused,
    "attempted": ATTEMPTED,
    "loaded": [m for m in ("requests", "httpx") if m in sys.modules],
})
""",
    )
    assert got["forwarded"] is True
    assert got["minted"] is True
    is_import_error, message = got["refused"]
    assert is_import_error
    assert "jwt-middleware[requests]" in message
    assert "jwt-middleware[httpx]" in message
    assert "s3cret" not in message
    assert got["loaded"] == []


def test_with_requests_only() -> None:
    got = run_without(
        ["httpx"],
        TOKENS
        + ECHO_SERVER
        + """
import asyncio
import requests
from jwt_middleware import ConfigurationError
from jwt_middleware.client import ForwardBearer, ServiceToken

server = EchoServer()
answers = []
answers.append(requests.get(server.url, auth=ForwardBearer({"Authorization": "Bearer " + USER}),
                            timeout=5).json()["authorization"])
minted = ServiceToken.from_issuer(ISSUER, audience="orders-api", subject="svc-billing")
answers.append(requests.get(server.url, auth=minted.requests_auth(), timeout=5)
               .json()["authorization"])
fetched = ServiceToken.from_client_credentials(
    server.token_url, client_id="billing", client_secret="s3cret", audience="orders-api")
with requests.Session() as session:
    session.auth = fetched.requests_auth()
    answers.append(session.get(server.url, timeout=5).json()["authorization"])
    answers.append(session.get(server.url, timeout=5).json()["authorization"])
afetched = ServiceToken.from_client_credentials(
    server.token_url, client_id="billing", client_secret="s3cret", audience="orders-api")
async_token = asyncio.run(afetched.atoken())  # requests, in a worker thread
try:
    minted.httpx_auth()
except ConfigurationError as exc:
    refused = [isinstance(exc, ImportError), exc.name, str(exc)]
server.close()
report({
    "answers": answers,
    "seen": server.seen,
    "minted": minted.token(),
    "token_requests": server.token_requests,
    "async_token": async_token,
    "refused": refused,
    "attempted": sorted(set(ATTEMPTED)),
    "loaded": "httpx" in sys.modules,
})
""",
    )
    user, service, fetched, again = got["answers"]
    assert user.startswith("Bearer ey")
    assert service == f"Bearer {got['minted']}"
    assert fetched == again == "Bearer tok-1", "fetched once, then cached"
    assert got["seen"] == got["answers"], "the server received exactly these headers"
    first = got["token_requests"][0]
    assert first["grant_type"] == ["client_credentials"]
    assert first["audience"] == ["orders-api"]
    assert first["basic"] == ["billing:s3cret"]
    assert got["async_token"] == "tok-2"
    is_import_error, name, message = got["refused"]
    assert is_import_error
    assert name == "httpx"
    assert message == "ServiceToken.httpx_auth() needs httpx: pip install 'jwt-middleware[httpx]'"
    assert got["attempted"] == ["httpx"], "only httpx_auth() tried to import httpx"
    assert got["loaded"] is False


def test_with_httpx_only() -> None:
    got = run_without(
        ["requests"],
        TOKENS
        + ECHO_SERVER
        + """
import asyncio
import httpx
from jwt_middleware import ConfigurationError
from jwt_middleware.client import ForwardBearer, ServiceToken

server = EchoServer()
forward = ForwardBearer({"Authorization": "Bearer " + USER})
minted = ServiceToken.from_issuer(ISSUER, audience="orders-api", subject="svc-billing")
fetched = ServiceToken.from_client_credentials(
    server.token_url, client_id="billing", client_secret="s3cret", audience="orders-api")
afetched = ServiceToken.from_client_credentials(
    server.token_url, client_id="billing", client_secret="s3cret", audience="orders-api")
sync_answers = []
with httpx.Client() as http:
    sync_answers.append(http.get(server.url, auth=forward).json()["authorization"])
    sync_answers.append(http.get(server.url, auth=minted.httpx_auth()).json()["authorization"])
    sync_answers.append(http.get(server.url, auth=fetched.httpx_auth()).json()["authorization"])


async def main():
    async with httpx.AsyncClient(auth=afetched.httpx_auth()) as http:
        fetched_twice = await asyncio.gather(http.get(server.url), http.get(server.url))
        forwarded = await http.get(server.url, auth=forward)
        minted_answer = await http.get(server.url, auth=minted.httpx_auth())
    answers = [a.json()["authorization"] for a in fetched_twice]
    return [*answers, forwarded.json()["authorization"], minted_answer.json()["authorization"]]


async_answers = asyncio.run(main())
try:
    minted.requests_auth()
except ConfigurationError as exc:
    refused = [isinstance(exc, ImportError), exc.name, str(exc)]
server.close()
report({
    "sync": sync_answers,
    "async": async_answers,
    "user": USER,
    "minted": minted.token(),
    "token_requests": len(server.token_requests),
    "afetches": afetched.fetches,
    "refused": refused,
    "loaded": "requests" in sys.modules,
})
""",
    )
    user, minted = f"Bearer {got['user']}", f"Bearer {got['minted']}"
    assert got["sync"] == [user, minted, "Bearer tok-1"]  # the sync fetch fell back to httpx
    assert got["async"] == ["Bearer tok-2", "Bearer tok-2", user, minted]
    assert got["afetches"] == 1, "one async fetch for two concurrent calls"
    assert got["token_requests"] == 2
    is_import_error, name, message = got["refused"]
    assert is_import_error
    assert name == "requests"
    assert message == (
        "ServiceToken.requests_auth() needs requests: pip install 'jwt-middleware[requests]'"
    )
    assert got["loaded"] is False
