"""Stores for what must be shared: revocations, watermarks, refresh families.

Pick one by URL with :func:`store_from_url`:

* ``memory://``: :class:`~jwt_middleware.stores.memory.MemoryStore` (tests, one process);
* ``sqlite:///path/to/file.db``: :class:`~jwt_middleware.stores.sqlite.SQLiteStore`
  (the embedded default: one machine, survives restarts);
* ``redis://host:port/db``, ``rediss://...``, ``unix:///path.sock``:
  :class:`~jwt_middleware.stores.redis.RedisStore` (needs ``jwt-middleware[redis]``
  and a Redis that persists: ``appendonly yes``).

Every store answers ``ping()`` / ``await aping()`` (readiness: :class:`StoreError`
when it cannot be reached). ``docs/stores.md`` covers durability, the SQLite
connection pool, Redis timeouts and its circuit breaker.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from ._base import RotateOutcome, Store, StoreError

__all__ = ["RotateOutcome", "Store", "StoreError", "store_from_url"]


def store_from_url(url: str) -> Store:
    """The store a URL names. Raises :class:`StoreError` for an unknown scheme."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(_sqlite_path(url))
    if scheme in ("redis", "rediss", "unix"):
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
