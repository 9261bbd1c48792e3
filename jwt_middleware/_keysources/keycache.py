"""The JWKS client's cache: what to answer for a ``kid``, and when a fetch is due.

:class:`KeyCache` holds the last good key set and the times of the last
fetches; it never does I/O and never waits. :mod:`jwt_middleware.jwks`
decides who fetches and who waits (single flight), asks :meth:`KeyCache.lookup`
before and after, and hands each fetch's outcome to :meth:`KeyCache.store`.
The rules are written out in ``docs/remote-keys.md`` ("Which error, when").
A refresh that brings the held document again, byte for byte, keeps its parsed
keys (parsing 1,000 keys costs tens of milliseconds); any other is parsed afresh.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .._core.errors import ServiceUnavailableError, UnknownKeyError
from .._core.keys import Key
from .._core.keyset import KeySet
from .fetch import FetchError, max_age, parse_keys

logger = logging.getLogger("jwt_middleware.jwks")

FETCH: Final = "fetch"
REFETCH: Final = "refetch"


class KeySourceUnavailableError(ServiceUnavailableError):
    """503: the issuer's keys could not be fetched and no usable cached copy is left.

    Raised when there has never been a good fetch, when the last good key set
    is older than its ``stale_for`` bound, when a token names a key that
    is not in the stale set kept after a failed refresh (it may be a new key
    we could not fetch: the client should retry, not log the user out), or
    when a caller gave up waiting (``timeout``) for a fetch in flight.
    """

    __module__ = "jwt_middleware.jwks"
    reason = "key_source_unavailable"
    default_description = "the signing keys cannot be fetched right now; retry shortly"


class KeyNotYetAvailableError(KeySourceUnavailableError):
    """503: the token names a key we have not seen, and ``cooldown`` forbids asking yet.

    The last refetch for an unknown ``kid`` was less than ``cooldown`` ago and
    no fetch started since this request arrived has looked for the key, so it
    may be a key published since: ``retry_after`` is the whole seconds until
    a refetch is allowed (at least 1). A key missing from a fetch started after
    the request arrived is a plain :class:`~jwt_middleware.UnknownKeyError` (401).
    """

    __module__ = "jwt_middleware.jwks"
    reason = "key_refetch_cooldown"
    default_description = "the token's signing key is not known yet; retry shortly"


_Prints = frozenset[tuple[str | None, str, str]]


@dataclass(frozen=True)
class _Cache:
    keys: KeySet
    expires: float  # on the client's clock: time to refresh
    stale_until: float  # after a failed refresh, the set is used up to here
    generation: int  # the number of the fetch that brought it (see fetch_count)
    # The document it was parsed from (public keys only, at most max_bytes): a refresh
    # that brings the same bytes keeps ``keys`` as they are, without parsing them again.
    body: bytes = b""
    prints: _Prints | None = None  # the keys' fingerprints, once computed


def _fingerprints(keys: KeySet) -> _Prints:
    """What makes each key the same key: kid, algorithm and public JWK."""
    return frozenset(
        (k.kid, k.algorithm, json.dumps(k.public_jwk(), sort_keys=True)) for k in keys
    )


def retry_after(seconds: float) -> int:
    """Seconds for a ``Retry-After`` header: rounded up, at least 1."""
    return max(1, math.ceil(seconds - 1e-9))


class KeyCache:
    """The state of one key source. Times are seconds on ``clock``."""

    def __init__(
        self,
        *,
        source: str,
        algorithms: frozenset[str],
        min_ttl: float,
        max_ttl: float,
        default_ttl: float,
        cooldown: float,
        stale_for: float,
        clock: Callable[[], float],
    ) -> None:
        self._source = source  # for the log only
        self._algorithms = algorithms
        self._min_ttl, self._max_ttl, self._default_ttl = min_ttl, max_ttl, default_ttl
        self._cooldown = cooldown
        self._stale_for = stale_for
        self.clock = clock
        #: How many fetches were started; fetch ``n`` is numbered ``n`` (its generation).
        self.fetch_count = 0
        #: Why the last fetch failed (``None`` after a good one). Never holds key material.
        self.last_error: str | None = None
        self._cache: _Cache | None = None
        #: Grows when a key leaves the set (a fetched set lacks one the last one had).
        self.version = 0
        self._settled = 0  # the newest fetch whose outcome is stored
        self._failed_at: float | None = None
        self._refetched_at: float | None = None
        self._lock = threading.Lock()

    def _failed_recently(self, now: float) -> bool:
        return self._failed_at is not None and now - self._failed_at < self._cooldown

    def _refetch_wait(self, now: float) -> float:
        """Seconds until an unknown ``kid`` may cause a refetch (0 or less: now)."""
        if self._refetched_at is None:
            return 0.0
        return self._refetched_at + self._cooldown - now

    def _unavailable(self, now: float) -> KeySourceUnavailableError:
        if self._failed_at is not None and self._failed_recently(now):
            left = self._failed_at + self._cooldown - now
            return KeySourceUnavailableError(retry_after=retry_after(left))
        return KeySourceUnavailableError()

    def lookup(self, kid: str | None, now: float, seen: int, *, may_fetch: bool) -> Key | str:
        """A key, or :data:`FETCH`/:data:`REFETCH` (only when ``may_fetch``), or an error.

        ``seen`` is ``fetch_count`` when the caller arrived: a set from a
        later fetch that lacks ``kid`` proves the key unknown (401).
        """
        cache = self._cache
        fetchable = may_fetch and not self._failed_recently(now)
        if cache is None:
            if fetchable:
                return FETCH
            raise self._unavailable(now)
        if now >= cache.expires:
            if fetchable:
                return FETCH
            if now >= cache.stale_until:
                raise self._unavailable(now)
        try:
            return cache.keys.resolve(kid)
        except UnknownKeyError:
            if cache.generation > seen:
                raise  # fetched after the token arrived, and not there: unknown
            if fetchable and self._refetch_wait(now) <= 0:
                return REFETCH
            if self._failed_at is not None:
                raise self._unavailable(now) from None  # maybe a new key we could not fetch
            if kid is None:
                raise  # no kid and several keys: a new key would not help
            wait = retry_after(self._refetch_wait(now))
            raise KeyNotYetAvailableError(retry_after=wait) from None

    def key_version(self, now: float) -> int | None:
        """:attr:`version` while the held set is fresh; ``None`` when there is none or it
        is due for a refresh (a cached token is then verified in full, which refreshes)."""
        cache = self._cache
        if cache is None or now >= cache.expires:
            return None
        return self.version

    def answer(self, kid: str | None, seen: int) -> Key:
        """The answer from the current state, without fetching."""
        got = self.lookup(kid, self.clock(), seen, may_fetch=False)
        if not isinstance(got, Key):  # pragma: no cover - may_fetch=False never asks to fetch
            raise KeySourceUnavailableError()
        return got

    def begin(self, now: float, *, refetch: bool) -> int:
        """Number a new fetch, before it starts (later callers then know it is not theirs)."""
        with self._lock:
            self.fetch_count += 1
            generation = self.fetch_count
        if refetch:
            self._refetched_at = now
        return generation

    def store(
        self, generation: int, body: bytes | None, cache_control: str | None, error: str | None
    ) -> None:
        """The outcome of fetch ``generation``: a document, or why it failed."""
        now = self.clock()
        with self._lock:
            if generation < self._settled:
                return  # a newer fetch (sync and async may overlap) already settled
            self._settled = generation
        if body is not None:
            old = self._cache
            # The usual refresh brings the same bytes: the same keys, nothing to parse.
            same = old if old is not None and body == old.body else None
            try:
                keys = same.keys if same is not None else parse_keys(body, self._algorithms)
            except FetchError as exc:
                error = str(exc)
            else:
                age = max_age(cache_control)
                ttl = self._default_ttl if age is None else age
                ttl = min(max(ttl, self._min_ttl), self._max_ttl)
                left = False
                prints = None if same is None else same.prints
                if old is not None and same is None:  # did one of the old keys go?
                    before = old.prints if old.prints is not None else _fingerprints(old.keys)
                    prints = _fingerprints(keys)
                    left = not before <= prints
                self._cache = _Cache(
                    keys, now + ttl, now + ttl + self._stale_for, generation, body, prints
                )
                if left:
                    self.version += 1  # after the new set is in place: see key_version
                self._failed_at = None
                self.last_error = None
                return
        self._failed_at = now
        self.last_error = error
        logger.warning("JWKS fetch from %s failed: %s", self._source, error)
