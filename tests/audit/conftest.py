"""Audit fixtures: a private redis-server (one per session), a Redis Cluster on demand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_cluster import LocalCluster, release, shared_cluster
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
