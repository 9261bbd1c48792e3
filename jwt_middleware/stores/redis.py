"""Redis store: for many processes on many machines (redis-py, sync and asyncio).

Keys (under a configurable prefix, ``jwtmw:`` by default) carry TTLs equal
to the remaining life of what they protect, so Redis purges them by itself.
Rotation is one Lua script (atomic); the revocation check is one ``MGET``; a DPoP
replay-cache claim is one ``SET NX PX`` (its TTL from this host's clock).
URLs: ``redis://``, ``rediss://`` (TLS) and ``unix://`` sockets for one server;
``redis+cluster://host:port[,host:port]`` (``rediss+cluster://``) for a Redis
Cluster, where every key carries the prefix as one hash tag so that each call
touches one slot; ``redis+sentinel://host:26379[,host:port]/service_name[/db]``
(``rediss+sentinel://``) for the master the sentinels name, followed across a
failover (``_redis_topology.py``).

A connection failure raises :class:`StoreError` (never a redis exception),
which the verifier turns into 503 unless configured to fail open.

**Persistence.** Revocations live only in Redis: a server that persists
nothing forgets every logout and every refresh family when it restarts. Run
it with ``appendonly yes`` (``appendfsync everysec`` loses at most about a
second of writes on a power cut, ``always`` nothing, ``no`` what the OS had
not flushed; a crash of Redis alone loses nothing acknowledged); RDB
snapshots alone lose everything since the last one. On its first answer the
store asks ``CONFIG GET appendonly`` and ``CONFIG GET save`` and logs one
warning (logger ``jwt_middleware.stores.redis``) if the server keeps
nothing; where ``CONFIG`` is refused (managed Redis) it says nothing.

**Timeouts.** ``socket_timeout`` (waiting for an answer) and
``socket_connect_timeout`` (opening a connection) default to ``timeout``
(2 s). The URL may set them too, and then wins, as in redis-py:
``redis://host:6379/0?socket_timeout=0.5&socket_connect_timeout=1``.

**Circuit breaker.** After ``breaker_failures`` (3) failures to reach the
server in a row, calls fail at once with :class:`StoreError` (503 at the
verifier) for ``breaker_open_for`` (3) seconds, without touching the network;
then one call probes and an answer closes the breaker. A frozen server then
costs a few requests a socket timeout each, not every request.
``breaker_failures=0`` turns it off. Both can be URL options too
(``?breaker_failures=5&breaker_open_for=2``); they are removed from the URL
before redis-py sees it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._base import RotateOutcome, Store, StoreError, watermark_revokes
from ._breaker import Breaker
from ._nearcache import DEFAULT_BOUND, DEFAULT_MAX_ENTRIES, NearCache, for_client
from ._persistence import PersistenceCheck
from ._redis_sessions import _RedisSessions
from ._redis_topology import ERRORS, UNREACHABLE, check_seconds, connect, key_prefix
from ._redis_topology import split_options as _split_options

__all__ = ["RedisStore"]

T = TypeVar("T")

#: Failures to reach the server that count for the breaker; any other error is an answer.
_UNREACHABLE = UNREACHABLE

#: URL query options that are ours, not redis-py's.
_BREAKER_OPTIONS = {"breaker_failures": int, "breaker_open_for": float}

# KEYS: family hash, family-revoked flag, [subject's session index]. ARGV: jti, next_jti,
# now, grace, ttl_ms, [the DPoP key the session becomes bound to] (_redis_sessions.py).
_ROTATE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'revoked' end
local cur = redis.call('HGET', KEYS[1], 'cur')
if not cur then return 'unknown' end
local ttl = tonumber(ARGV[5])
local function rotated()
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  if KEYS[3] and redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
  if ARGV[6] and ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'jkt', ARGV[6]) end
  return 'rotated'
end
if cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'at', ARGV[3])
  return rotated()
end
local grace = tonumber(ARGV[4])
if grace > 0 and redis.call('HGET', KEYS[1], 'prev') == ARGV[1] then
  local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
  if tonumber(ARGV[3]) - at <= grace then
    redis.call('HSET', KEYS[1], 'cur', ARGV[2])
    return rotated()
  end
end
local left = redis.call('PTTL', KEYS[1])
if left < 1000 then left = 1000 end
redis.call('SET', KEYS[2], '1', 'PX', left)
return 'reused'
"""

# KEYS: watermark key. ARGV: before, ttl_ms. Only ever moves forward.
_WATERMARK = """
local old = tonumber(redis.call('GET', KEYS[1]) or '-1')
local new = tonumber(ARGV[1])
if new > old then redis.call('SET', KEYS[1], ARGV[1]) end
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""


def _failed(exc: BaseException) -> StoreError:
    return StoreError(f"the Redis store failed: {type(exc).__name__}")


def _split_breaker_options(url: str) -> tuple[str, dict[str, float]]:
    """The URL without our ``breaker_*`` query options, and their values."""
    return _split_options(url, _BREAKER_OPTIONS)


def _ttl_ms(expires_at: float, now: float | None = None) -> int:
    left = expires_at - (time.time() if now is None else now)
    return max(1000, math.ceil(left * 1000))


def _claim_ms(expires_at: float) -> int:
    return max(1, math.ceil((expires_at - time.time()) * 1000))


class RedisStore(_RedisSessions, Store):
    """Redis-backed store; ``url`` as accepted by ``redis.Redis.from_url``, or a
    ``redis+cluster://`` or ``redis+sentinel://`` URL (module docstring).

    ``timeout`` is the default of both ``socket_timeout`` and
    ``socket_connect_timeout`` (seconds); URL query options win over keywords.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "jwtmw:",
        timeout: float = 2.0,
        socket_timeout: float | None = None,
        socket_connect_timeout: float | None = None,
        breaker_failures: int = 3,
        breaker_open_for: float = 3.0,
        near_cache: bool = True,
        near_cache_bound: float = DEFAULT_BOUND,
        near_cache_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.url = url
        self.prefix = prefix
        url, ours = _split_breaker_options(url)
        options: dict[str, Any] = {
            "socket_timeout": timeout if socket_timeout is None else socket_timeout,
            "socket_connect_timeout": (
                timeout if socket_connect_timeout is None else socket_connect_timeout
            ),
            "decode_responses": True,
        }
        for name in ("socket_timeout", "socket_connect_timeout"):
            check_seconds(name, options[name])
        #: One server, a cluster or a sentinel's master: the clients and options in force.
        self._topology = topology = connect(url, options)
        self._sync = topology.sync
        self._async = topology.aio
        self._key_prefix = key_prefix(prefix, cluster=topology.kind == "cluster")
        self._breaker = Breaker(
            int(ours.get("breaker_failures", breaker_failures)),
            float(ours.get("breaker_open_for", breaker_open_for)),
        )
        effective = topology.options
        for name in ("socket_timeout", "socket_connect_timeout"):
            check_seconds(name, effective.get(name))
        #: Seconds to wait for an answer (from the URL or the keywords).
        self.socket_timeout: float | None = effective.get("socket_timeout")
        #: Seconds to wait for a new connection.
        self.socket_connect_timeout: float | None = effective.get("socket_connect_timeout")
        self._rotate = self._sync.register_script(_ROTATE)
        self._arotate = self._async.register_script(_ROTATE)
        self._watermark = self._sync.register_script(_WATERMARK)
        self._awatermark = self._async.register_script(_WATERMARK)
        self._persistence = PersistenceCheck(
            self._k("jti", "") if topology.kind == "cluster" else None
        )
        #: The revocation check's near-cache (``_nearcache.py``; off: ``near_cache=False``).
        self.near_cache: NearCache = for_client(
            self._sync, self._keys, enabled=near_cache, bound=near_cache_bound,
            max_entries=near_cache_entries, stall=self.socket_timeout, owner=self,
        )

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"

    @property
    def breaker_failures(self) -> int:
        return self._breaker.failures

    @property
    def breaker_open_for(self) -> float:
        return self._breaker.open_for

    def _k(self, kind: str, name: str) -> str:
        return f"{self._key_prefix}{kind}:{name}"

    # --- every call: breaker, first-answer persistence check, error mapping -------

    def _call(self, work: Callable[[], T]) -> T:
        breaker = self._breaker
        probe = breaker.tripped and breaker.admit()
        try:
            if self._persistence.pending:
                self._persistence.run(self._sync)
            result = work()
        except _UNREACHABLE as exc:
            breaker.failed(probe)
            raise _failed(exc) from None
        except ERRORS as exc:
            breaker.succeeded()
            raise _failed(exc) from None
        except BaseException:
            breaker.abandoned(probe)
            raise
        if probe or breaker.count:
            breaker.succeeded()
        return result

    async def _acall(self, work: Callable[[], Awaitable[T]]) -> T:
        breaker = self._breaker
        probe = breaker.tripped and breaker.admit()
        try:
            if self._persistence.pending:
                await self._persistence.arun(self._async)
            result = await work()
        except _UNREACHABLE as exc:
            breaker.failed(probe)
            raise _failed(exc) from None
        except ERRORS as exc:
            breaker.succeeded()
            raise _failed(exc) from None
        except BaseException:
            breaker.abandoned(probe)
            raise
        if probe or breaker.count:
            breaker.succeeded()
        return result

    def ping(self) -> None:
        """``PING`` through the breaker; :class:`StoreError` if there is no answer."""
        self._call(lambda: self._topology.ping(self._k("jti", "")))

    async def aping(self) -> None:
        await self._acall(lambda: self._topology.aping(self._k("jti", "")))

    # --- sync -------------------------------------------------------------------

    def revoke_token(self, jti: str, expires_at: float) -> None:
        self._call(lambda: self._sync.set(self._k("jti", jti), "1", px=_ttl_ms(expires_at)))

    def revoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        self._call(
            lambda: self._watermark(
                keys=[self._k("sub", subject)], args=[repr(float(before)), _ttl_ms(expires_at)]
            )
        )

    def start_family(self, family: str, jti: str, expires_at: float) -> None:
        key = self._k("fam", family)

        def work() -> None:
            pipe = self._sync.pipeline(transaction=True)
            pipe.delete(key, self._k("famrev", family))
            pipe.hset(key, mapping={"cur": jti, "prev": "", "at": "0"})
            pipe.pexpire(key, _ttl_ms(expires_at))
            pipe.execute()

        self._call(work)

    def rotate(
        self,
        family: str,
        jti: str,
        next_jti: str,
        expires_at: float,
        now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        keys = [self._k("fam", family), self._k("famrev", family)]
        args: list[str | int] = [
            jti,
            next_jti,
            repr(now),
            repr(float(grace)),
            _ttl_ms(expires_at, now),
        ]
        return RotateOutcome(self._call(lambda: self._rotate(keys=keys, args=args)))

    def revoke_family(self, family: str, expires_at: float) -> None:
        self._call(lambda: self._sync.set(self._k("famrev", family), "1", px=_ttl_ms(expires_at)))

    def _keys(self, jti: str | None, subject: str | None, family: str | None) -> list[str]:
        return [
            self._k("jti", jti or ""),
            self._k("sub", subject or ""),
            self._k("famrev", family or ""),
        ]

    @staticmethod
    def _verdict(
        values: list[Any],
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
    ) -> bool:
        token, mark, fam = values
        if jti is not None and token is not None:
            return True
        if family is not None and fam is not None:
            return True
        return (
            subject is not None and mark is not None and watermark_revokes(float(mark), issued_at)
        )

    def is_revoked(
        self,
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
        now: float,
    ) -> bool:
        keys = self._keys(jti, subject, family)
        values = self.near_cache.get(keys)
        if values is None:  # not kept, or not trusted now: ask Redis (and keep the answer)
            ticket = self.near_cache.ticket()
            values = self._call(lambda: self._sync.mget(keys))
            self.near_cache.fill(keys, values, ticket)
        return self._verdict(values, jti, subject, issued_at, family)

    def claim_once(self, key: str, expires_at: float) -> bool:
        k = self._k("claim", key)  # the TTL is worked out as late as possible: when sent
        return bool(self._call(lambda: self._sync.set(k, "1", nx=True, px=_claim_ms(expires_at))))

    def purge(self, now: float) -> int:
        return 0  # keys carry TTLs: Redis expires them by itself

    def close(self) -> None:
        self.near_cache.close()
        self._topology.close()

    # --- async --------------------------------------------------------------------

    async def arevoke_token(self, jti: str, expires_at: float) -> None:
        await self._acall(lambda: self._async.set(self._k("jti", jti), "1", px=_ttl_ms(expires_at)))

    async def arevoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        await self._acall(
            lambda: self._awatermark(
                keys=[self._k("sub", subject)], args=[repr(float(before)), _ttl_ms(expires_at)]
            )
        )

    async def astart_family(self, family: str, jti: str, expires_at: float) -> None:
        key = self._k("fam", family)

        async def work() -> None:
            pipe = self._async.pipeline(transaction=True)
            pipe.delete(key, self._k("famrev", family))
            pipe.hset(key, mapping={"cur": jti, "prev": "", "at": "0"})
            pipe.pexpire(key, _ttl_ms(expires_at))
            await pipe.execute()

        await self._acall(work)

    async def arotate(
        self,
        family: str,
        jti: str,
        next_jti: str,
        expires_at: float,
        now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        keys = [self._k("fam", family), self._k("famrev", family)]
        args: list[str | int] = [
            jti,
            next_jti,
            repr(now),
            repr(float(grace)),
            _ttl_ms(expires_at, now),
        ]
        return RotateOutcome(await self._acall(lambda: self._arotate(keys=keys, args=args)))

    async def arevoke_family(self, family: str, expires_at: float) -> None:
        await self._acall(
            lambda: self._async.set(self._k("famrev", family), "1", px=_ttl_ms(expires_at))
        )

    async def ais_revoked(
        self,
        jti: str | None,
        subject: str | None,
        issued_at: float | None,
        family: str | None,
        now: float,
    ) -> bool:
        keys = self._keys(jti, subject, family)
        values = self.near_cache.get(keys)
        if values is None:
            ticket = self.near_cache.ticket()
            fetched: list[Any] = await self._acall(lambda: self._async.mget(keys))
            self.near_cache.fill(keys, fetched, ticket)
            values = fetched
        return self._verdict(values, jti, subject, issued_at, family)

    async def aclaim_once(self, key: str, expires_at: float) -> bool:
        k = self._k("claim", key)
        return bool(await self._acall(
            lambda: self._async.set(k, "1", nx=True, px=_claim_ms(expires_at))))

    async def aclose(self) -> None:
        self.near_cache.close(wait=False)
        await self._topology.aclose()
