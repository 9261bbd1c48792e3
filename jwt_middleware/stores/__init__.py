"""Stores for what must be shared: revocations, watermarks, refresh families.

Pick one by URL with :func:`store_from_url`:

* ``memory://``: :class:`~jwt_middleware.stores.memory.MemoryStore` (tests, one process);
* ``sqlite:///path/to/file.db``: :class:`~jwt_middleware.stores.sqlite.SQLiteStore`
  (the embedded default: one machine, survives restarts);
* ``redis://host:port/db``, ``rediss://...``, ``unix:///path.sock``:
  :class:`~jwt_middleware.stores.redis.RedisStore` (needs ``jwt-middleware[redis]``
  and a Redis that persists: ``appendonly yes``);
* ``redis+cluster://host:port[,host:port...]`` (``rediss+cluster://`` for TLS): the same
  store on a Redis Cluster;
* ``redis+sentinel://host:26379[,host:port...]/service_name[/db]``
  (``rediss+sentinel://``): the same store on the master the sentinels name, followed
  across a failover.

Every store keeps sessions too (one per refresh family: :class:`SessionInfo`,
``docs/sessions.md``). Every store answers ``ping()`` / ``await aping()``
(readiness: :class:`StoreError` when it cannot be reached). ``docs/stores.md`` covers
durability, the SQLite connection pool, Redis timeouts and its circuit breaker.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from ._base import RotateOutcome, Store, StoreError
from ._sessions import SessionInfo

__all__ = ["RotateOutcome", "SessionInfo", "Store", "StoreError", "store_from_url"]

#: The schemes of the Redis store (one server, a cluster, a sentinel's master); kept
#: here too so that choosing a store never imports the Redis client for another one.
_REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster",
                  "redis+sentinel", "rediss+sentinel")


def store_from_url(url: str) -> Store:
    """The store a URL names. Raises :class:`StoreError` for an unknown scheme."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(_sqlite_path(url))
    if scheme in _REDIS_SCHEMES:
        # Loaded by name, only when a Redis URL is chosen: the core never
        # imports the Redis client otherwise (checked by the import contract).
        redis_backend = importlib.import_module("jwt_middleware.stores.redis")
        store: Store = redis_backend.RedisStore(url)
        return store
    raise StoreError(
        f"unknown store URL scheme {scheme!r}: use memory://, sqlite:///path.db or redis://"
    )


def _sqlite_path(url: str) -> str:
    """``sqlite:///relative.db`` -> ``relative.db``; ``sqlite:////abs/x.db`` -> ``/abs/x.db``."""
    rest = url[len("sqlite://") :]
    if not rest.startswith("/"):
        raise StoreError("a SQLite URL looks like sqlite:///path/to/file.db")
    return rest[1:]
