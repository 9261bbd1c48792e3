"""Fixtures for the remote-key tests: a live JWKS server, a fake clock, keys, tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jwt_middleware import Key, encode, generate_key
from jwt_middleware.jwks import JWKSClient

from .server import JWKSServer


class FakeClock:
    """The client's clock: moves only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Keys:
    """Keys generated once per session (RSA generation is slow)."""

    def __init__(self) -> None:
        self.es1 = generate_key("ES256", kid="es-1")
        self.es2 = generate_key("ES256", kid="es-2")
        self.es3 = generate_key("ES256", kid="es-3")
        self.rsa = generate_key("RS256", kid="rs-1")
        self.other = generate_key("ES256", kid="other-1")


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def server(keys: Keys) -> Iterator[JWKSServer]:
    srv = JWKSServer().start()
    srv.publish([keys.es1])
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def second_server() -> Iterator[JWKSServer]:
    """An unrelated server that must never be asked anything (jku, x5u, iss as URL)."""
    srv = JWKSServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(server: JWKSServer, clock: FakeClock, **options: Any) -> JWKSClient:
    options.setdefault("algorithms", ["ES256", "RS256"])
    options.setdefault("allow_http", True)
    options.setdefault("timeout", 2.0)
    return JWKSClient(server.jwks_uri, clock=clock, **options)


def token(key: Key, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": "alice", "iat": now, "exp": now + 600, **claims}
    return encode(body, key, headers=headers)


def token_without_kid(key: Key) -> str:
    """A token whose header has no ``kid`` member at all."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": key.algorithm, "typ": "JWT"}).encode())
    body = b64url(json.dumps({"sub": "alice", "iat": now, "exp": now + 600}).encode())
    signing_input = f"{header}.{body}".encode()
    return f"{header}.{body}.{b64url(key.sign(signing_input))}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
