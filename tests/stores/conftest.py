"""Store fixtures: every backend, sync and async, behind one interface.

The Redis backends: one server (``redis``), a three-master cluster with a replica each
(``redis-cluster``, ``redis+cluster://``) and a master, a replica and a sentinel
(``redis-sentinel``, ``redis+sentinel://``); each is started once per session and shared
with the failover tests (``tests/redis_cluster.py``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware.stores import Store
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_cluster import (
    LocalCluster,
    LocalSentinel,
    release,
    shared_cluster,
    shared_sentinel,
)
from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    cluster = shared_cluster()
    yield cluster
    release("cluster")


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[LocalSentinel]:
    sentinel = shared_sentinel()
    yield sentinel
    release("sentinel")


#: The fixture that starts each Redis backend.
_REDIS_FIXTURES = {"redis": "redis_server", "redis-cluster": "redis_cluster",
                   "redis-sentinel": "redis_sentinel"}


def _make(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if backend == "memory":
        return MemoryStore()
    if backend == "sqlite":
        return SQLiteStore(tmp_path / "tokens.db")
    from jwt_middleware.stores.redis import RedisStore

    server: RedisServer | LocalCluster | LocalSentinel = request.getfixturevalue(
        _REDIS_FIXTURES[backend])
    return RedisStore(server.url, prefix=f"test-{secrets.token_hex(6)}:")


class Ops:
    """Calls a store's sync methods or its async twins, with one signature."""

    def __init__(self, store: Store, mode: str) -> None:
        self.store = store
        self.mode = mode

    async def __call__(self, name: str, *args: Any) -> Any:
        if self.mode == "sync":
            return getattr(self.store, name)(*args)
        result: Awaitable[Any] = getattr(self.store, "a" + name)(*args)
        return await result


Runner = Callable[[Callable[[Ops], Awaitable[None]]], None]


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-cluster", "redis-sentinel"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Runner:
    """Run a contract body against one backend in one mode, in one event loop."""
    mode = str(request.param)

    def runner(body: Callable[[Ops], Awaitable[None]]) -> None:
        store = _make(backend, tmp_path, request)

        async def main() -> None:
            try:
                await body(Ops(store, mode))
            finally:
                await store.aclose()

        asyncio.run(main())

    return runner
