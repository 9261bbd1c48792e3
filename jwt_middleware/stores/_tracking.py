"""The near-cache's invalidation channel: a RESP3 connection with ``CLIENT TRACKING``.

:class:`_Listener` is the half of :class:`~._nearcache.NearCache` that runs on
its daemon thread: it opens a dedicated RESP3 connection, turns on
``CLIENT TRACKING ON BCAST PREFIX <p>...`` for the store's key prefixes, then
sends a ``PING`` every ``bound / 4`` and applies the ``invalidate`` pushes until
the channel ends, when it reconnects with a back-off. A :class:`_Session` is the
state of one such connection as the hot path reads it: the send time of the
last answered ``PING``, whether bytes wait on the socket, whether the thread is
applying them. Why that is enough for a bound on staleness is in the docstring
of ``_nearcache.py``; what the cache keeps, and when it trusts it, lives there.
"""

from __future__ import annotations

import contextlib
import logging
import math
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["CLIENT_NAME", "connection_factory", "tracking_prefixes"]

logger = logging.getLogger("jwt_middleware.stores.nearcache")

#: The listener connection's name in ``CLIENT LIST``.
CLIENT_NAME: Final = "jwt-middleware-near-cache"

_INVALIDATED: Final = object()
_NEVER: Final = -math.inf


class _Refused(Exception):
    """The server answered, but will not track (old server, proxy, ACL)."""


class _Session:
    """One tracking connection's state, as the hot path reads it.

    A listener thread only ever changes its own session; the near-cache swaps in
    a new one under its lock, so a thread that was told to stop cannot touch the
    state of the one that replaced it.
    """

    __slots__ = ("_epoll", "_fd", "draining", "fresh")

    def __init__(self, fd: int | None = None) -> None:
        #: Send time of the last answered PING (monotonic clock); ``-inf``: never.
        self.fresh = _NEVER
        #: True while the listener reads or applies bytes.
        self.draining = False
        self._fd = fd
        self._epoll: Any = None
        if fd is not None and hasattr(select, "epoll"):
            self._epoll = select.epoll()
            self._epoll.register(fd, select.EPOLLIN)

    def waiting(self, timeout: float = 0.0) -> bool:
        """Bytes wait on the connection (or it was closed): never blocks when 0."""
        try:
            if self._epoll is not None:
                return bool(self._epoll.poll(timeout))
            if self._fd is None:
                return True
            return bool(select.select([self._fd], [], [], timeout)[0])
        except (OSError, ValueError):  # closed meanwhile by the listener
            return True

    def end(self) -> None:
        self.fresh = _NEVER
        if self._epoll is not None:
            self._epoll.close()


_NO_SESSION: Final = _Session()


def tracking_prefixes(keys_of: Callable[[str, str, str], Sequence[str]]) -> list[str]:
    """The ``BCAST`` prefixes that cover every key a check can read.

    Derived from the store's own key function (whatever its naming scheme): the
    common prefix of the same kind of key for two different names. Prefixes
    that extend another are dropped (Redis refuses overlapping prefixes).
    """
    first, second = keys_of("a", "a", "a"), keys_of("b", "b", "b")
    found = {_common_prefix(x, y) for x, y in zip(first, second, strict=True)}
    return sorted(p for p in found if not any(q != p and p.startswith(q) for q in found))


def _common_prefix(first: str, second: str) -> str:
    size = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        size += 1
    return first[:size]


def connection_factory(client: object) -> Callable[[], Any] | None:
    """A maker of RESP3 listener connections to the server ``client`` talks to.

    ``None`` for anything but a plain :class:`redis.Redis` over a connection pool
    (a cluster client, for one): such a store reads Redis on every check.
    """
    if not isinstance(client, redis.Redis):
        return None
    pool = getattr(client, "connection_pool", None)
    if not isinstance(pool, redis.ConnectionPool):
        return None
    kwargs: dict[str, Any] = {
        **pool.connection_kwargs,
        "protocol": 3,
        "client_name": CLIENT_NAME,
        "retry": Retry(NoBackoff(), 0),  # the listener has its own back-off
        "retry_on_timeout": False,
        "health_check_interval": 0,
        "decode_responses": True,
        "encoding_errors": "replace",
    }
    kwargs.pop("cache", None)
    kwargs.pop("cache_config", None)
    kwargs.pop("maint_notifications_config", None)
    connection_class = pool.connection_class

    def make() -> Any:
        return connection_class(**kwargs)

    return make


class _Listener:
    """The listener thread of a near-cache (mixed into :class:`~._nearcache.NearCache`).

    It reads and writes only the attributes declared here, under the cache's
    lock, and calls back :meth:`_drop` and :meth:`_invalidate`, which the cache
    defines.
    """

    _connect: Callable[[], Any] | None
    prefixes: list[str]
    bound: float
    stall: float
    supported: bool
    _lock: threading.Lock
    _live: bool
    _session: _Session
    _thread: threading.Thread | None
    _stop: threading.Event

    def _drop(self) -> None:
        raise NotImplementedError

    def _invalidate(self, message: Sequence[Any]) -> object:
        raise NotImplementedError

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._connect is None:
                return
            thread = threading.Thread(
                target=self._listen, args=(self._stop,), name="jwt-middleware-near-cache",
                daemon=True,
            )
            self._thread = thread
        thread.start()

    def _listen(self, stop: threading.Event) -> None:
        backoff = 0.05
        broken = False  # the last session ended by itself: say so when one is back
        while not stop.is_set():
            try:
                connection = self._open()
            except _Refused as exc:
                if self.supported:
                    logger.warning("near-cache off: the Redis server refused %s; every "
                                   "revocation check reads Redis (asked again every minute)",
                                   exc)
                    self.supported = False
                if stop.wait(60.0):
                    return
                continue
            except Exception:  # unreachable, or closed under it: try again
                if stop.wait(backoff):
                    return
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            if not self.supported or broken:
                logger.info("near-cache on: the Redis server tracks the store's keys again")
                self.supported, broken = True, False
            try:
                self._serve(connection, stop)
            except Exception as exc:  # any end of the channel: read Redis
                if not stop.is_set():
                    broken = True
                    logger.warning("near-cache: the invalidation channel broke (%s); every "
                                   "revocation check reads Redis until it is back",
                                   type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    connection.disconnect()

    def _open(self) -> Any:
        """A connection with tracking on; :class:`_Refused` when the server will not."""
        assert self._connect is not None
        connection = self._connect()
        stage = "the RESP3 handshake (HELLO 3, CLIENT SETNAME)"
        try:
            connection.connect()
            connection._get_parser().set_invalidation_push_handler(self._invalidate)
            stage = "CLIENT TRACKING"
            pieces: list[str] = ["CLIENT", "TRACKING", "ON", "BCAST"]
            for prefix in self.prefixes:
                pieces += ["PREFIX", prefix]
            connection.send_command(*pieces)
            reply = connection.read_response(timeout=self.stall)
            if reply not in ("OK", b"OK"):
                raise redis.ResponseError("not OK")
        except redis.ResponseError as exc:  # an answer: the server is there and says no
            with contextlib.suppress(Exception):
                connection.disconnect()
            raise _Refused(f"{stage} ({type(exc).__name__})") from None
        except BaseException:
            with contextlib.suppress(Exception):
                connection.disconnect()
            raise
        return connection

    def _serve(self, connection: Any, stop: threading.Event) -> None:
        """One tracking session: install it, then heartbeat and apply pushes until it ends."""
        sock = connection._sock
        if sock is None:
            raise redis.ConnectionError("no socket")
        session = _Session(sock.fileno())
        try:
            with self._lock:
                if stop.is_set():
                    return
                self._drop()  # values read before this session are not kept
                self._session = session
                self._live = True
            self._heartbeat(connection, session, stop)
        finally:
            session.fresh = _NEVER  # first: no hit from this session any more
            with self._lock:
                if self._session is session:
                    self._drop()
            session.end()

    def _heartbeat(self, connection: Any, session: _Session,
                   stop: threading.Event) -> None:
        interval = self.bound / 4
        pending: float | None = None  # send time of the PING not answered yet
        next_ping = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if pending is None and now >= next_ping:
                connection.send_command("PING", check_health=False)
                pending, next_ping = now, now + interval
            if pending is not None and now - pending > self.stall:
                raise redis.TimeoutError("the near-cache heartbeat went unanswered")
            wake = next_ping if pending is None else pending + self.stall
            if not session.waiting(max(0.0, min(wake - now, interval))):
                continue
            session.draining = True
            try:
                while True:
                    reply = connection.read_response(push_request=True, timeout=self.stall,
                                                     disconnect_on_error=False)
                    if reply is not _INVALIDATED and not isinstance(reply, list):
                        if pending is None or reply not in ("PONG", b"PONG"):
                            raise redis.ConnectionError("unexpected reply on the near-cache")
                        session.fresh, pending = pending, None
                    if not connection.can_read(timeout=0):
                        break
            except BaseException:
                session.fresh = _NEVER  # before the flag drops: no hit in between
                raise
            finally:
                session.draining = False
