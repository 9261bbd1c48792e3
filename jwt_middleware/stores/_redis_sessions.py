"""The Redis store's sessions: fields of the family's own hash, and an index per subject.

* What the login said (``sub``, ``t0``, ``dev``, ``ua``, ``addr``, ``jkt``) goes into the
  family's hash ``fam:<family>``, beside its current token: it lives exactly as long as the
  family (every rotation extends the hash), and the hash's ``at`` (the last rotation) is
  the session's last use. A login writes the family and its session in one script.
* ``subsess:<subject>``, a set of the subject's family ids, lists them; its TTL is kept at
  least as long as its longest-lived family's (a login and every rotation extend it: the
  store's rotation script takes the index as an optional third key, so a refresh is still
  one round trip, and a DPoP key the family becomes bound to as an optional argument). A
  listing reads the members' hashes and revocation flags in one pipeline and drops the
  members whose family is gone or revoked.

On a Cluster every key of a store carries the store's one hash tag
(:func:`~._redis_topology.key_prefix`), so a subject's index and all of its families sit in
one slot: the login script and the listing's pipeline touch one node, as every other call
of the store does. (Tagging by subject instead would spread subjects across slots, but a
login would then touch two slots; the store keeps its one-slot rule.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ._base import RotateOutcome
from ._sessions import SessionInfo, from_fields, to_fields

__all__: list[str] = []

T = TypeVar("T")

# KEYS: family hash, family-revoked flag, subject index. ARGV: jti, ttl_ms, family, then
# the session's field/value pairs. A login: the family and its session, atomically.
_START = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'cur', ARGV[1], 'prev', '', 'at', '0', unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return 1
"""

# KEYS: family hash, subject index. ARGV: ttl_ms, family, field/value pairs.
_RECORD = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: subject index, family hash. ARGV: ttl_ms, jkt ('' when unchanged).
_TOUCH = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'jkt', ARGV[2])
end
return 1
"""

#: The hash fields a listing reads: the family's current token and last rotation, then
#: the session's own.
_READ = ("cur", "at", "sub", "t0", "dev", "ua", "addr", "jkt")


def _ttl_ms(expires_at: float) -> int:
    return max(1000, math.ceil((expires_at - time.time()) * 1000))


def _pairs(info: SessionInfo) -> list[str]:
    return [item for pair in to_fields(info).items() for item in pair]


def _parse(family: str, values: Sequence[Any]) -> SessionInfo | None:
    """A live family's session from its hash fields, PTTL and revocation flag."""
    fields, pttl, revoked = values
    current, at = fields[0], fields[1]
    if current is None or revoked or pttl is None or pttl < 0:
        return None
    named = dict(zip(_READ, fields, strict=True))
    return from_fields(family, named, float(at or 0.0), time.time() + pttl / 1000)


class _RedisSessions:
    """Mixed into :class:`~.redis.RedisStore`: its clients, key names and error mapping."""

    _sync: Any
    _async: Any
    _k: Callable[[str, str], str]
    _call: Callable[[Callable[[], Any]], Any]
    _acall: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
    _rotate: Any
    _arotate: Any

    def _session_scripts(self) -> dict[str, Any]:
        scripts: dict[str, Any] | None = self.__dict__.get("_scripts")
        if scripts is None:
            scripts = {}
            for name, text in (("start", _START), ("record", _RECORD), ("touch", _TOUCH)):
                scripts[name] = self._sync.register_script(text)
                scripts["a" + name] = self._async.register_script(text)
            self.__dict__["_scripts"] = scripts
        return scripts

    def _start_call(self, info: SessionInfo, jti: str, expires_at: float, kind: str) -> Any:
        keys = [self._k("fam", info.id), self._k("famrev", info.id),
                self._k("subsess", info.subject)]
        args = [jti, _ttl_ms(expires_at), info.id, *_pairs(info)]
        return self._session_scripts()[kind](keys=keys, args=args)

    def _record_call(self, info: SessionInfo, expires_at: float, kind: str) -> Any:
        keys = [self._k("fam", info.id), self._k("subsess", info.subject)]
        args = [_ttl_ms(expires_at), info.id, *_pairs(info)]
        return self._session_scripts()[kind](keys=keys, args=args)

    def _touch_call(self, family: str, subject: str, expires_at: float, jkt: str | None,
                    kind: str) -> Any:
        keys = [self._k("subsess", subject), self._k("fam", family)]
        return self._session_scripts()[kind](keys=keys, args=[_ttl_ms(expires_at), jkt or ""])

    def _rotation(
        self, family: str, subject: str, jti: str, next_jti: str, expires_at: float,
        now: float, grace: float, jkt: str | None,
    ) -> dict[str, list[Any]]:
        """The rotation script's keys and arguments, with the index and the new key."""
        keys = [self._k("fam", family), self._k("famrev", family), self._k("subsess", subject)]
        ttl = max(1000, math.ceil((expires_at - now) * 1000))
        return {"keys": keys, "args": [jti, next_jti, repr(now), repr(float(grace)), ttl,
                                       jkt or ""]}

    def _queue(self, pipe: Any, families: Sequence[str]) -> None:
        for family in families:
            pipe.hmget(self._k("fam", family), list(_READ))
            pipe.pttl(self._k("fam", family))
            pipe.exists(self._k("famrev", family))

    @staticmethod
    def _found(families: Sequence[str], values: Sequence[Any]) -> list[SessionInfo | None]:
        return [_parse(f, values[3 * i: 3 * i + 3]) for i, f in enumerate(families)]

    @staticmethod
    def _listed(found: list[SessionInfo | None]) -> list[SessionInfo]:
        return sorted((s for s in found if s is not None), key=lambda s: -s.created_at)

    # --- sync ---------------------------------------------------------------------------

    def start_session(self, info: SessionInfo, jti: str, expires_at: float) -> None:
        self._call(lambda: self._start_call(info, jti, expires_at, "start"))

    def record_session(self, info: SessionInfo, expires_at: float) -> None:
        self._call(lambda: self._record_call(info, expires_at, "record"))

    def touch_session(
        self, family: str, subject: str, now: float, expires_at: float, jkt: str | None = None
    ) -> None:
        self._call(lambda: self._touch_call(family, subject, expires_at, jkt, "touch"))

    def rotate_session(
        self, family: str, subject: str, jti: str, next_jti: str, expires_at: float,
        now: float, grace: float = 0.0, jkt: str | None = None,
    ) -> RotateOutcome:
        call = self._rotation(family, subject, jti, next_jti, expires_at, now, grace, jkt)
        return RotateOutcome(self._call(lambda: self._rotate(**call)))

    def _read(self, families: Sequence[str]) -> list[SessionInfo | None]:
        def work() -> list[Any]:
            pipe = self._sync.pipeline(transaction=False)
            self._queue(pipe, families)
            result: list[Any] = pipe.execute()
            return result

        return self._found(families, self._call(work))

    def sessions(self, subject: str, now: float) -> list[SessionInfo]:
        index = self._k("subsess", subject)
        families = sorted(self._call(lambda: self._sync.smembers(index)))
        found = self._read(families) if families else []
        dead = [f for f, s in zip(families, found, strict=True) if s is None]
        if dead:
            self._call(lambda: self._sync.srem(index, *dead))
        return self._listed(found)

    def session(self, family: str, now: float) -> SessionInfo | None:
        return self._read([family])[0]

    # --- async ----------------------------------------------------------------------------

    async def astart_session(self, info: SessionInfo, jti: str, expires_at: float) -> None:
        await self._acall(lambda: self._start_call(info, jti, expires_at, "astart"))

    async def arecord_session(self, info: SessionInfo, expires_at: float) -> None:
        await self._acall(lambda: self._record_call(info, expires_at, "arecord"))

    async def atouch_session(
        self, family: str, subject: str, now: float, expires_at: float, jkt: str | None = None
    ) -> None:
        await self._acall(lambda: self._touch_call(family, subject, expires_at, jkt, "atouch"))

    async def arotate_session(
        self, family: str, subject: str, jti: str, next_jti: str, expires_at: float,
        now: float, grace: float = 0.0, jkt: str | None = None,
    ) -> RotateOutcome:
        call = self._rotation(family, subject, jti, next_jti, expires_at, now, grace, jkt)
        return RotateOutcome(await self._acall(lambda: self._arotate(**call)))

    async def _aread(self, families: Sequence[str]) -> list[SessionInfo | None]:
        async def work() -> list[Any]:
            pipe = self._async.pipeline(transaction=False)
            self._queue(pipe, families)
            result: list[Any] = await pipe.execute()
            return result

        return self._found(families, await self._acall(work))

    async def asessions(self, subject: str, now: float) -> list[SessionInfo]:
        index = self._k("subsess", subject)
        families = sorted(await self._acall(lambda: self._async.smembers(index)))
        found = await self._aread(families) if families else []
        dead = [f for f, s in zip(families, found, strict=True) if s is None]
        if dead:
            await self._acall(lambda: self._async.srem(index, *dead))
        return self._listed(found)

    async def asession(self, family: str, now: float) -> SessionInfo | None:
        return (await self._aread([family]))[0]
