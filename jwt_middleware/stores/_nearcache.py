"""A per-process near-cache for the Redis revocation check, kept exact by the server.

Without it every verify pays one ``MGET`` round trip. With it, the answers for
the three keys a check reads (token id, subject watermark, refresh family) are
kept in process memory, and Redis itself says when one of them changes:

* **Server-assisted invalidation.** A dedicated connection speaks RESP3 and
  turns on ``CLIENT TRACKING ON BCAST PREFIX <p>...`` for the key prefixes of
  the three kinds. Every write to such a key, by any client of the server (this
  process, another process, another machine, ``redis-cli``), and every expiry
  or eviction of one, makes Redis push an ``invalidate`` message on that
  connection; a ``FLUSHDB``/``FLUSHALL`` pushes "everything". Broadcasting mode
  keeps no per-key state on the server, so the server's memory does not grow
  with the number of tokens checked. The writer does nothing special.
* **A bound, enforced by a heartbeat.** A daemon thread reads the pushes and
  sends ``PING`` on the same connection every ``bound / 4``. Redis answers in
  order, so when the ``PONG`` for a ``PING`` sent at time *T* arrives, every
  invalidation for a write that Redis executed before *T* has already been
  applied. A hit is served only while such a *T* is at most ``bound`` old
  (100 ms by default); otherwise the check reads Redis. So a revocation
  acknowledged to its writer at time *w* is honoured by every check that starts
  after *w* + ``bound`` in every process, whatever happens to the network: a
  frozen or partitioned server stops the ``PONG``s and the near-cache stops
  answering within the bound, and the reads that then go to the server meet
  its timeouts and the store's circuit breaker (fail closed).
* **Nothing unread is ever overtaken.** A hit is also refused while the
  connection has bytes waiting (an invalidation, a ``PONG``, or the end of the
  stream after ``CLIENT KILL`` or a restart) or while the thread is applying
  them. Redis writes broadcast invalidations before the replies of the same
  event-loop turn, so on one host a revocation is in every listener's socket
  before the revoking call returns: in practice the delay is the time the
  message takes to arrive, well under a millisecond on loopback (measured in
  ``tests/stores/test_nearcache.py``), and the bound is the worst case.
* **A broken channel empties the cache at once.** End of stream, a reset, a
  refused command, a ``PING`` unanswered for ``stall`` seconds (the store's
  socket timeout): the cache is cleared, hits stop, and every check reads Redis
  until a new connection has turned tracking on again and answered a ``PING``.
  Values read before the new tracking session are never kept (each fill
  carries the session and invalidation sequence it started under, and is
  dropped if either moved meanwhile), so a write missed while the channel was
  down cannot be served from memory afterwards.

Bounded memory: at most ``max_entries`` keys (oldest dropped first), keys longer
than :data:`MAX_KEY_CHARS` are never kept. The hot path takes no lock: one clock
read, one ``epoll`` poll with a zero timeout and three dictionary look-ups.

Only a plain :class:`redis.Redis` client (standalone server, or a Sentinel pool
whose connections follow the master) gets a near-cache; any other client (a
cluster) reads Redis on every check. A server that refuses ``HELLO 3`` or
``CLIENT TRACKING`` (Redis before 6, some proxies, an ACL) turns the near-cache
off with one warning on the logger ``jwt_middleware.stores.nearcache``.
"""

from __future__ import annotations

import functools
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Final

from ._base import StoreError
from ._tracking import (
    _INVALIDATED,
    _NEVER,
    _NO_SESSION,
    CLIENT_NAME,
    _Listener,
    connection_factory,
    tracking_prefixes,
)

__all__ = ["CLIENT_NAME", "DEFAULT_BOUND", "DEFAULT_MAX_ENTRIES", "MAX_KEY_CHARS", "NearCache",
           "connection_factory", "for_client", "tracking_prefixes"]

#: Seconds a hit may lag behind the server at worst.
DEFAULT_BOUND: Final = 0.1
#: Keys kept at most (each check reads three; the subject's is shared by its tokens).
DEFAULT_MAX_ENTRIES: Final = 65_536
#: Longer keys are never kept (they are read from Redis every time).
MAX_KEY_CHARS: Final = 512

_MISSING: Final = object()


def for_client(
    client: object,
    keys_of: Callable[[str, str, str], Sequence[str]],
    *,
    enabled: bool = True,
    bound: float = DEFAULT_BOUND,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    stall: float | None = None,
    owner: object | None = None,
) -> NearCache:
    """The near-cache for a store's sync ``client`` and key function (a disabled one
    when ``enabled`` is false or the client is not a plain one-server client).

    ``stall`` (the store's socket timeout) is how long a ``PING`` may go unanswered
    before the channel counts as broken; hits stop after ``bound`` regardless. When
    ``owner`` (the store) is garbage-collected unclosed, the listener stops too.
    """
    connect = connection_factory(client) if enabled else None
    prefixes = tracking_prefixes(keys_of) if connect is not None else []
    near = NearCache(connect, prefixes, bound=bound, max_entries=max_entries,
                     stall=2.0 if stall is None else stall)
    if owner is not None and connect is not None:
        weakref.finalize(owner, near.close, wait=False)
    return near


class NearCache(_Listener):
    """The near-cache of one store (see the module docstring).

    ``get(keys)`` answers from memory or returns ``None``; on ``None`` the caller
    takes a ``ticket()``, reads Redis, and hands the values to ``fill``. A
    disabled near-cache (``connect=None``) always returns ``None`` and keeps
    nothing.
    """

    def __init__(
        self,
        connect: Callable[[], Any] | None,
        prefixes: Sequence[str],
        *,
        bound: float = DEFAULT_BOUND,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        stall: float = 2.0,
    ) -> None:
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not 0 < bound <= 60:
            raise StoreError("the near-cache bound must be more than 0 and at most 60 seconds")
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise StoreError("the near-cache must hold at least one entry")
        self._connect = connect
        #: The ``BCAST`` prefixes the listener asks Redis to track.
        self.prefixes = list(prefixes)
        #: Seconds a hit may lag behind the server at worst.
        self.bound = float(bound)
        #: Keys kept at most.
        self.max_entries = max_entries
        #: Seconds a ``PING`` may stay unanswered before the channel counts as broken.
        self.stall = max(float(stall), self.bound)
        #: Checks answered from memory; checks that read Redis (either may miss a
        #: few increments under threads: they are statistics, not accounting).
        self.hits = 0
        self.misses = 0
        #: ``invalidate`` messages applied; times the whole cache was dropped.
        self.invalidations = 0
        self.resets = 0
        #: False once the server refused tracking (retried every minute, quietly).
        self.supported = True
        self._reset_state()
        if connect is not None and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))

    def _reset_state(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Any] = {}
        self._seq = 0  # bumped by every invalidation, session change and reset
        self._live = False  # tracking is on in the current session
        self._session = _NO_SESSION
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def __repr__(self) -> str:
        state = "off" if not self.enabled else ("trusted" if self.trusted else "untrusted")
        return (f"NearCache({state}, bound={self.bound:g}s, entries={self.size}"
                f"/{self.max_entries})")

    # --- what callers read -----------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False when this store reads Redis on every check (turned off, or no listener)."""
        return self._connect is not None

    @property
    def trusted(self) -> bool:
        """Whether a hit could be served now (the channel answered within the bound)."""
        return time.monotonic() - self._session.fresh <= self.bound

    @property
    def size(self) -> int:
        """Keys held now."""
        return len(self._entries)

    def get(self, keys: Sequence[str]) -> list[Any] | None:
        """The cached values of ``keys`` (all of them), or ``None``: read Redis."""
        session = self._session
        # Order matters (module docstring): freshness, then bytes waiting, then
        # the listener's flag, and only then the entries.
        if (time.monotonic() - session.fresh > self.bound or session.waiting()
                or session.draining):
            self.misses += 1
            return None
        entries = self._entries
        values = [entries.get(key, _MISSING) for key in keys]
        if _MISSING in values:
            self.misses += 1
            return None
        self.hits += 1
        return values

    def ticket(self) -> int | None:
        """Before a read of Redis: what ``fill`` needs (``None``: keep nothing)."""
        if self._thread is None and self._connect is not None:
            self._start()
        return self._seq if self._live else None

    def fill(self, keys: Sequence[str], values: Sequence[Any], ticket: int | None) -> None:
        """Keep what Redis answered, unless anything moved since ``ticket``."""
        if ticket is None:
            return
        with self._lock:
            if ticket != self._seq or not self._live:
                return
            entries = self._entries
            for key, value in zip(keys, values, strict=True):
                if len(key) > MAX_KEY_CHARS:
                    continue
                if key not in entries and len(entries) >= self.max_entries:
                    del entries[next(iter(entries))]  # the oldest
                entries[key] = value

    def wait_trusted(self, timeout: float) -> bool:
        """Start the listener if needed; wait until a hit could be served (tests, warm-up)."""
        self.ticket()
        deadline = time.monotonic() + timeout
        while not self.trusted:
            if time.monotonic() > deadline or not self.enabled:
                return False
            time.sleep(0.002)
        return True

    def close(self, *, wait: bool = True) -> None:
        """Stop the listener and forget everything; a later check starts it again."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._stop = threading.Event()
            self._drop()
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    # --- what the listener calls back ------------------------------------------------

    def _drop(self) -> None:
        """Under the lock: no hit from now on, nothing kept, fills in flight void."""
        self._session.fresh = _NEVER
        self._session = _NO_SESSION
        self._live = False
        self._seq += 1
        if self._entries:
            self._entries = {}
            self.resets += 1

    def _invalidate(self, message: Sequence[Any]) -> object:
        """The parser's handler for ``invalidate`` pushes (runs on the listener thread)."""
        keys = message[1] if len(message) > 1 else None
        with self._lock:
            self._seq += 1
            if keys is None:  # FLUSHDB, FLUSHALL
                if self._entries:
                    self._entries = {}
                    self.resets += 1
            else:
                entries = self._entries
                for key in keys:
                    entries.pop(key, None)
        self.invalidations += 1
        return _INVALIDATED


def _after_fork(ref: weakref.ref[NearCache]) -> None:
    near = ref()
    if near is not None:  # the parent's thread and connection do not exist here
        near._reset_state()
