"""Redis store: for many processes on many machines (redis-py, sync and asyncio).

Keys (under a configurable prefix, ``jwtmw:`` by default) carry TTLs equal
to the remaining life of what they protect, so Redis purges them by itself.
Rotation is one Lua script (atomic); the revocation check is one ``MGET``.
URLs: ``redis://``, ``rediss://`` (TLS) and ``unix://`` sockets.

A connection failure raises :class:`StoreError` (never a redis exception),
which the verifier turns into 503 unless configured to fail open.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis
import redis.asyncio

from ._base import RotateOutcome, Store, StoreError, watermark_revokes

__all__ = ["RedisStore"]

T = TypeVar("T")

# KEYS: family hash, family-revoked flag. ARGV: jti, next_jti, now, grace, ttl_ms
_ROTATE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'revoked' end
local cur = redis.call('HGET', KEYS[1], 'cur')
if not cur then return 'unknown' end
local ttl = tonumber(ARGV[5])
if cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'at', ARGV[3])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  return 'rotated'
end
local grace = tonumber(ARGV[4])
if grace > 0 and redis.call('HGET', KEYS[1], 'prev') == ARGV[1] then
  local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
  if tonumber(ARGV[3]) - at <= grace then
    redis.call('HSET', KEYS[1], 'cur', ARGV[2])
    if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
    return 'rotated'
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


def _ttl_ms(expires_at: float, now: float | None = None) -> int:
    left = expires_at - (time.time() if now is None else now)
    return max(1000, math.ceil(left * 1000))


class RedisStore(Store):
    """Redis-backed store; ``url`` as accepted by ``redis.Redis.from_url``."""

    def __init__(self, url: str, *, prefix: str = "jwtmw:", timeout: float = 2.0) -> None:
        self.url = url
        self.prefix = prefix
        self._timeout = timeout
        options: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "decode_responses": True,
        }
        try:
            self._sync = redis.Redis.from_url(url, **options)
            self._async = redis.asyncio.Redis.from_url(url, **options)
        except ValueError:
            raise StoreError("the Redis URL is not valid") from None
        self._rotate = self._sync.register_script(_ROTATE)
        self._arotate = self._async.register_script(_ROTATE)
        self._watermark = self._sync.register_script(_WATERMARK)
        self._awatermark = self._async.register_script(_WATERMARK)

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"

    def _k(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    @staticmethod
    def _call(work: Callable[[], T]) -> T:
        try:
            return work()
        except redis.RedisError as exc:
            raise StoreError(f"the Redis store failed: {type(exc).__name__}") from None

    @staticmethod
    async def _acall(work: Callable[[], Awaitable[T]]) -> T:
        try:
            return await work()
        except redis.RedisError as exc:
            raise StoreError(f"the Redis store failed: {type(exc).__name__}") from None

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
        values = self._call(lambda: self._sync.mget(self._keys(jti, subject, family)))
        return self._verdict(values, jti, subject, issued_at, family)

    def purge(self, now: float) -> int:
        return 0  # keys carry TTLs: Redis expires them by itself

    def close(self) -> None:
        self._sync.close()

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
        values = await self._acall(lambda: self._async.mget(self._keys(jti, subject, family)))
        return self._verdict(values, jti, subject, issued_at, family)

    async def aclose(self) -> None:
        await self._async.aclose()
        self._sync.close()
