"""Fixtures for the token and key policy: a hand-moved clock and every store backend.

The Redis store runs against a private redis-server on a free port
(``tests/redis_server.py``); without the binary those cases skip, unless
``JWT_MIDDLEWARE_REQUIRE_REDIS=1`` turns the skip into a failure.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jwt_middleware.stores import Store
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_server import RedisServer

STORES = ("memory", "sqlite", "redis")


class Clock:
    """A clock the test moves by hand (whole seconds, starting now)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(time.time() if start is None else start))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL of each backend (the Redis one on the session's private server)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tokens.db'}"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
def store(request: pytest.FixtureRequest, store_url: str) -> Iterator[Store]:
    """A store object of each backend."""
    made: Store
    if store_url == "memory://":
        made = MemoryStore()
    elif store_url.startswith("sqlite:"):
        made = SQLiteStore(store_url.removeprefix("sqlite:///"))
    else:
        from jwt_middleware.stores.redis import RedisStore

        made = RedisStore(store_url, prefix=f"policy-{secrets.token_hex(6)}:")
    yield made
    made.close()
