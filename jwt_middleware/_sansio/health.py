"""Readiness: can this process verify tokens right now? The answer a load balancer probes.

::

    readiness = Readiness(config)
    document = readiness.check()          # sync: Flask, WSGI
    document = await readiness.acheck()   # async: Starlette, FastAPI
    document.status                       # 200 or 503
    document.json()  # {"status": "ready", "checks": {"store": "ok", "keys": "ok"}}

Two checks, each named in the body with a fixed state:

* ``store``: every store of the configuration answers :meth:`Store.ping`
  (``"ok"``); ``"unreachable"`` when it raises :class:`StoreError`, ``"error"``
  when it raises anything else; ``"not_configured"`` (not a failure) when
  there is no store;
* ``keys``: every key source holds at least one usable key. A
  :class:`~jwt_middleware.KeySet` always does (``"ok"``). A remote source
  with a ``ready()`` method (and ``aready()`` for the async path), such as
  :class:`~jwt_middleware.jwks.JWKSClient`, is asked: ``"ok"`` or
  ``"unavailable"`` (``"error"`` when it raises). A source without
  ``ready()`` (a :class:`~jwt_middleware.KeyRing`, your own resolver) cannot
  be asked and is reported ``"unknown"``, which does not fail the probe.

Any failing check makes the answer 503 ``{"status": "unavailable", ...}`` with
``Retry-After`` (the store's own figure when it knows one, such as an open
circuit breaker's, else ``retry_after``); every answer carries
``Cache-Control: no-store``. A check is bounded by the part's own limits
(the Redis store's socket timeouts and circuit breaker, the JWKS client's
``timeout`` and ``cooldown``), not by this module.

The ready routes are ``jwt_middleware.flask.readiness_blueprint``,
``jwt_middleware.starlette.readiness_routes`` and
``jwt_middleware.fastapi.readiness_router``, at :data:`READINESS_PATH` by
default. This module imports no framework.

Security: the body holds only the check names and the fixed states above,
never an exception's text (a store's error may name a host, and its URL may
hold a password), a key or a token. What failed is logged once when a check
starts failing and once when it recovers, not on every probe.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, Protocol, TypeAlias, runtime_checkable

from .._core.config import Config
from .._core.errors import ConfigurationError
from .._core.keyset import KeySet
from .._core.protocols import KeyResolver
from .._core.verify import Verifier
from .._keysources.publish import Document
from .._keysources.registry import MultiIssuerVerifier, _Narrowed
from ..stores import Store, StoreError

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "READINESS_PATH",
    "Readiness",
    "ReadinessSource",
    "SupportsReady",
    "readiness_for",
]

logger = logging.getLogger("jwt_middleware.health")

#: Where the framework routes answer by default.
READINESS_PATH: Final = "/health/ready"
#: ``Retry-After`` seconds of a 503 when no part knows better.
DEFAULT_RETRY_AFTER: Final = 5

OK: Final = "ok"
NOT_CONFIGURED: Final = "not_configured"
UNREACHABLE: Final = "unreachable"
UNAVAILABLE: Final = "unavailable"
UNKNOWN: Final = "unknown"
ERROR: Final = "error"
#: The states that fail the probe.
FAILING: Final = frozenset({UNREACHABLE, UNAVAILABLE, ERROR})

#: What :class:`Readiness` checks: a configuration, a verifier (its config's store,
#: its key source), or a multi-issuer verifier (every issuer's).
ReadinessSource: TypeAlias = Config | Verifier | MultiIssuerVerifier

#: (state, the Retry-After a part asked for, why it failed: for the log, never the body)
_Result: TypeAlias = tuple[str, int | None, str | None]


@runtime_checkable
class SupportsReady(Protocol):
    """The optional readiness side of a key source (``JWKSClient`` has it).

    ``ready()`` is true when the source holds at least one usable key; it may
    fetch, bounded by the source's own timeout. ``aready()``, when present,
    is its async form for the event loop (else ``ready()`` runs in a thread).
    """

    def ready(self) -> bool:
        """Whether at least one usable key is held (may fetch, bounded)."""


def _parts(source: object) -> list[tuple[Config, KeyResolver]]:
    """(config, key source) of each verifier ``source`` stands for."""
    if isinstance(source, MultiIssuerVerifier):
        return [_parts(source.verifier_for(issuer))[0] for issuer in source.issuers]
    if isinstance(source, Verifier):
        return [(source.config, source._resolver)]  # keys= may replace the config's
    if isinstance(source, Config):
        return [(source, source.resolver)]
    raise ConfigurationError(
        "Readiness checks a Config, a Verifier or a MultiIssuerVerifier (or several), "
        f"not {type(source).__name__}"
    )


def _unwrapped(resolver: KeyResolver) -> KeyResolver:
    """The key source itself, without a per-issuer algorithm filter around it."""
    while isinstance(resolver, _Narrowed):
        resolver = resolver._inner
    return resolver


def _unique(items: Iterable[object]) -> tuple[object, ...]:
    return tuple({id(item): item for item in items}.values())


def _combine(results: Iterable[_Result], none: str) -> _Result:
    """One state for a check over several parts: the first failure, else ``unknown``
    if any part could not be asked, else ``ok`` (``none`` when there are no parts)."""
    results = list(results)
    if not results:
        return none, None, None
    failed = [r for r in results if r[0] in FAILING]
    if failed:
        asked = [r[1] for r in failed if r[1] is not None]
        return failed[0][0], max(asked, default=None), failed[0][2]
    return (UNKNOWN if any(r[0] == UNKNOWN for r in results) else OK), None, None


def _store_failed(exc: BaseException) -> _Result:
    if isinstance(exc, StoreError):
        return UNREACHABLE, exc.retry_after, str(exc) or type(exc).__name__
    return ERROR, None, f"the store's ping raised {type(exc).__name__}"


def _keys_result(source: object, value: object) -> _Result:
    if value is True:
        return OK, None, None
    why = getattr(source, "last_error", None)  # JWKSClient: never holds key material
    return UNAVAILABLE, None, why if isinstance(why, str) else "no usable key"


def _keys_failed(exc: BaseException) -> _Result:
    return ERROR, None, f"the key source's ready() raised {type(exc).__name__}"


class Readiness:
    """The readiness answer for one or several sources (see the module docstring).

    ``source``: a :class:`Config`, a :class:`Verifier`, a :class:`MultiIssuerVerifier`,
    or an iterable of them; stores and key sources shared by several are
    checked once. ``retry_after``: the ``Retry-After`` seconds of a 503 when no
    part names its own.
    """

    __slots__ = ("_last", "key_sources", "retry_after", "stores")

    def __init__(
        self,
        source: ReadinessSource | Iterable[ReadinessSource],
        *,
        retry_after: int = DEFAULT_RETRY_AFTER,
    ) -> None:
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 1:
            raise ConfigurationError("retry_after must be whole seconds, at least 1")
        sources: list[object] = (
            [source]
            if isinstance(source, (Config, Verifier, MultiIssuerVerifier))
            else list(source)
        )
        parts = [part for item in sources for part in _parts(item)]
        if not parts:
            raise ConfigurationError("Readiness needs at least one Config or Verifier")
        #: The stores pinged (each once).
        self.stores: tuple[Store, ...] = tuple(
            store
            for store in _unique(config.store for config, _ in parts)
            if isinstance(store, Store)
        )
        #: The key sources asked (each once).
        self.key_sources: tuple[object, ...] = _unique(_unwrapped(keys) for _, keys in parts)
        self.retry_after = retry_after
        self._last: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<Readiness stores={len(self.stores)} key_sources={len(self.key_sources)}>"

    # --- the checks: the sync and async forms differ only in how a part is asked --

    def check(self) -> Document:
        """The answer, asking each part in turn (sync: blocks while a part answers)."""
        stores = [self._ping(store) for store in self.stores]
        keys = [self._keys(source) for source in self.key_sources]
        return self._verdict(stores, keys)

    async def acheck(self) -> Document:
        """The answer, asking every part at once without blocking the event loop."""
        results = await asyncio.gather(
            *(self._aping(store) for store in self.stores),
            *(self._akeys(source) for source in self.key_sources),
        )
        split = len(self.stores)
        return self._verdict(results[:split], results[split:])

    @staticmethod
    def _ping(store: Store) -> _Result:
        try:
            store.ping()
        except Exception as exc:
            return _store_failed(exc)
        return OK, None, None

    @staticmethod
    async def _aping(store: Store) -> _Result:
        try:
            await store.aping()
        except Exception as exc:
            return _store_failed(exc)
        return OK, None, None

    @staticmethod
    def _keys(source: object) -> _Result:
        if isinstance(source, KeySet):
            return OK, None, None  # a key set is never empty
        if not isinstance(source, SupportsReady):
            return UNKNOWN, None, None
        try:
            return _keys_result(source, source.ready())
        except Exception as exc:
            return _keys_failed(exc)

    @staticmethod
    async def _akeys(source: object) -> _Result:
        if isinstance(source, KeySet):
            return OK, None, None
        aready: Callable[[], Awaitable[object]] | None = getattr(source, "aready", None)
        try:
            if callable(aready):
                return _keys_result(source, await aready())
            if isinstance(source, SupportsReady):
                return _keys_result(source, await asyncio.to_thread(source.ready))
        except Exception as exc:
            return _keys_failed(exc)
        return UNKNOWN, None, None

    # --- the pure step both forms share ---------------------------------------------

    def _verdict(self, stores: Iterable[_Result], keys: Iterable[_Result]) -> Document:
        results = {"store": _combine(stores, NOT_CONFIGURED), "keys": _combine(keys, UNKNOWN)}
        self._log_changes(results)
        checks = {name: result[0] for name, result in results.items()}
        failed = any(state in FAILING for state in checks.values())
        headers: list[tuple[str, str]] = [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
        ]
        if failed:
            asked = [r[1] for r in results.values() if r[1] is not None]
            headers.append(("Retry-After", str(max(asked, default=self.retry_after))))
        body = {"status": "unavailable" if failed else "ready", "checks": checks}
        return Document(
            503 if failed else 200,
            json.dumps(body, separators=(",", ":")).encode(),
            tuple(headers),
        )

    def _log_changes(self, results: dict[str, _Result]) -> None:
        """Log a check that starts failing, or recovers (not every probe)."""
        for name, (state, _, why) in results.items():
            before = self._last.get(name)
            if before == state:
                continue
            self._last[name] = state
            if state in FAILING:
                logger.warning("readiness: the %s check is failing (%s): %s", name, state, why)
            elif before in FAILING:
                logger.info("readiness: the %s check recovered (%s)", name, state)


def readiness_for(
    source: Readiness | ReadinessSource | Iterable[ReadinessSource],
    *,
    retry_after: int = DEFAULT_RETRY_AFTER,
) -> Readiness:
    """``source`` itself when it is a :class:`Readiness`, else a new one for it."""
    if isinstance(source, Readiness):
        return source
    return Readiness(source, retry_after=retry_after)
