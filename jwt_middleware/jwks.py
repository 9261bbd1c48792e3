"""Remote keys: a JWKS client that fills the :class:`~jwt_middleware.KeyResolver` seam.

::

    from jwt_middleware import Config, Verifier
    from jwt_middleware.jwks import JWKSClient

    keys = JWKSClient.from_issuer("https://login.example.com", algorithms=["RS256"])
    verifier = Verifier(Config(keys=keys, issuer=keys.issuer, audience="my-api"))

Fetching is sync with ``requests`` (:meth:`JWKSClient.resolve`) and async with
``httpx`` (:meth:`JWKSClient.aresolve`, which never blocks the event loop).
Both are imported only when a fetch happens (in ``_fetch``), so importing the
core never loads them. See ``docs/remote-keys.md`` for the defaults and why.

Security: the token's ``kid`` only ever selects a key in the cached set (an
unknown one may cause at most one refetch per ``cooldown``); no URL is ever
taken from a token (``jku`` and ``x5u`` are ignored everywhere).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from ._core.errors import ConfigurationError, UnknownKeyError
from ._core.keys import ALGORITHMS, Key
from ._core.metrics import jwks_outcome
from ._keysources.fetch import (
    FetchError,
    SyncHTTP,
    adiscover,
    aget,
    check_url,
    discover,
    discovery_urls,
    parse_keys,
)
from ._keysources.keycache import (
    FETCH,
    REFETCH,
    KeyCache,
    KeyNotYetAvailableError,
    KeySourceUnavailableError,
)

__all__ = ["JWKSClient", "KeyNotYetAvailableError", "KeySourceUnavailableError"]

_HMAC = frozenset({"HS256", "HS384", "HS512"})
_NO_METADATA: Final = "the issuer's metadata cannot be fetched right now; retry shortly"
_parse_keys = parse_keys  # the document reader, under its former name
_WAIT: Final = "wait"


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigurationError(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


class JWKSClient:
    """Keys from a ``jwks_uri``, cached, refreshed, and shared by concurrent callers.

    ``algorithms`` (required) are the algorithms tokens may use; a key
    without ``alg`` gets the one of them its type fits. Times are seconds
    on ``clock`` (``time.monotonic`` by default; tests pass a fake one).

    * the key set is kept for the response's ``Cache-Control: max-age``,
      bounded to ``[min_ttl, max_ttl]`` (``default_ttl`` without one);
    * a ``kid`` not in the set causes one immediate refetch, then at most
      one per ``cooldown`` (0 to 86400 s); failed fetches are not retried
      within ``cooldown``. Inside the cooldown an unknown ``kid`` is answered
      :class:`KeyNotYetAvailableError` (503, ``Retry-After`` = seconds left),
      because it may be a key published since; it is 401 only when a fetch
      started after the request arrived does not have it;
    * a caller that needs a fetch another caller is running waits for it
      (threads on a lock, tasks on one shared task), at most ``timeout``
      seconds, then looks again;
    * when a refresh fails, the last good set is used for up to
      ``stale_for`` seconds past its expiry, then
      :class:`KeySourceUnavailableError` (503) is raised;
    * every fetch is bounded by ``timeout`` seconds in all (connect, headers
      and body) and by ``max_bytes``; redirects are not followed.
    """

    def __init__(
        self,
        jwks_uri: str,
        *,
        algorithms: Iterable[str],
        timeout: float = 5.0,
        max_bytes: int = 256 * 1024,
        min_ttl: float = 60.0,
        max_ttl: float = 24 * 3600.0,
        default_ttl: float = 300.0,
        cooldown: float = 30.0,
        stale_for: float = 3600.0,
        allow_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
        issuer: str | None = None,
        metrics: Any = None,
    ) -> None:
        self.jwks_uri = check_url(jwks_uri, allow_http, "jwks_uri")
        #: ``jwt_middleware.metrics``: each download's outcome and time (``None``: off).
        self.metrics = metrics
        #: The issuer whose discovery document named ``jwks_uri`` (see :meth:`from_issuer`).
        self.issuer = issuer
        if isinstance(algorithms, str):
            algorithms = (algorithms,)
        algs = frozenset(algorithms)
        if not algs:
            raise ConfigurationError("algorithms is empty: name the algorithms tokens use")
        for alg in algs:
            if alg in _HMAC:
                raise ConfigurationError(
                    f"{alg} needs a shared secret, which a JWKS never publishes: "
                    "use RS, PS, ES or EdDSA algorithms with a remote key set"
                )
            if alg not in ALGORITHMS:
                raise ConfigurationError(
                    f"unsupported algorithm {alg!r}: use some of {', '.join(ALGORITHMS)}"
                )
        self._algorithms = algs
        self.timeout = _number(timeout, "timeout", 0.001, 120)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1024:
            raise ConfigurationError("max_bytes must be an integer of at least 1024")
        self.max_bytes = max_bytes
        self.min_ttl = _number(min_ttl, "min_ttl", 0, 366 * 86400)
        self.max_ttl = _number(max_ttl, "max_ttl", self.min_ttl, 366 * 86400)
        self.default_ttl = _number(default_ttl, "default_ttl", self.min_ttl, self.max_ttl)
        self.cooldown = _number(cooldown, "cooldown", 0, 86400)
        self.stale_for = _number(stale_for, "stale_for", 0, 366 * 86400)
        if not callable(clock):
            raise ConfigurationError("clock must be a callable returning seconds")
        self._allow_http = allow_http
        self._state = KeyCache(
            source=self.jwks_uri,
            algorithms=algs,
            min_ttl=self.min_ttl,
            max_ttl=self.max_ttl,
            default_ttl=self.default_ttl,
            cooldown=self.cooldown,
            stale_for=self.stale_for,
            clock=clock,
        )
        self._lock = threading.Lock()  # one sync fetch at a time
        self._task: asyncio.Task[None] | None = None  # the async fetch in flight
        self._http = SyncHTTP()

    def __repr__(self) -> str:
        return f"<JWKSClient {self.jwks_uri} fetches={self.fetch_count}>"

    @property
    def fetch_count(self) -> int:
        """How many fetches of ``jwks_uri`` were started (for tests and metrics)."""
        return self._state.fetch_count

    @property
    def last_error(self) -> str | None:
        """Why the last fetch failed (``None`` after a good one). Never holds key material."""
        return self._state.last_error

    @property
    def algorithms(self) -> frozenset[str]:
        """The allowed algorithms (checked against the token before any fetch)."""
        return self._algorithms

    @property
    def key_version(self) -> int | None:
        """A number that grows whenever a fetched set lacks a key the one before had
        (kid, algorithm and public key compared); ``None`` while no set is held or the
        held one is due for a refresh. A verifier's token cache drops the tokens it
        verified with an older number, and takes the full path (which refreshes) on
        ``None``."""
        return self._state.key_version(self._state.clock())

    def close(self) -> None:
        """Release the pooled connections of the sync path (the cache is kept)."""
        self._http.close()

    # --- discovery --------------------------------------------------------

    @staticmethod
    def discovery_urls(issuer: str) -> tuple[str, str]:
        """OpenID Connect Discovery and RFC 8414 metadata URLs, in the order tried."""
        return discovery_urls(issuer)

    @classmethod
    def from_issuer(cls, issuer: str, *, algorithms: Iterable[str], **options: Any) -> JWKSClient:
        """Find ``jwks_uri`` in the issuer's metadata (fetched now, synchronously).

        Tries ``/.well-known/openid-configuration`` then RFC 8414's
        ``/.well-known/oauth-authorization-server``; the document's ``issuer``
        must equal ``issuer`` exactly (``ConfigurationError`` otherwise).
        Raises :class:`KeySourceUnavailableError` when neither can be fetched.
        """
        allow_http = bool(options.get("allow_http", False))
        check_url(issuer, allow_http, "issuer")
        probe = cls("https://discovery.invalid/", algorithms=algorithms, **options)
        try:
            uri = discover(issuer, allow_http, probe._get)
        except FetchError as exc:
            raise KeySourceUnavailableError(_NO_METADATA) from exc
        finally:
            probe.close()
        return cls(uri, algorithms=algorithms, issuer=issuer, **options)

    @classmethod
    async def afrom_issuer(
        cls, issuer: str, *, algorithms: Iterable[str], **options: Any
    ) -> JWKSClient:
        """Async form of :meth:`from_issuer`."""
        allow_http = bool(options.get("allow_http", False))
        check_url(issuer, allow_http, "issuer")
        probe = cls("https://discovery.invalid/", algorithms=algorithms, **options)
        try:
            uri = await adiscover(issuer, allow_http, probe._aget)
        except FetchError as exc:
            raise KeySourceUnavailableError(_NO_METADATA) from exc
        return cls(uri, algorithms=algorithms, issuer=issuer, **options)

    # --- KeyResolver ------------------------------------------------------

    def resolve(self, kid: str | None) -> Key:
        """The key for ``kid``, fetching (sync, single-flight) when needed.

        A caller that finds a fetch running waits for it on the lock (at most
        ``timeout``) and looks again; it may then run one fetch of its own.
        """
        seen = self.fetch_count  # fetches numbered above this started after we arrived
        deadline = time.monotonic() + self.timeout
        try:
            got = self._state.lookup(kid, self._state.clock(), seen, may_fetch=True)
        except KeySourceUnavailableError:
            got = _WAIT  # a fetch in flight may change this answer: look again under the lock
        if isinstance(got, Key):
            return got
        if got == _WAIT or not self._lock.acquire(blocking=False):
            if got != _WAIT:
                try:  # a fetch is running: answer from the current set if it can
                    return self._state.answer(kid, seen)
                except (UnknownKeyError, KeySourceUnavailableError):
                    pass
            if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise KeySourceUnavailableError()  # the fetch in flight outlived our wait
        try:
            now = self._state.clock()
            got = self._state.lookup(kid, now, seen, may_fetch=True)
            if isinstance(got, Key):
                return got
            self._fetch(self._state.begin(now, refetch=got == REFETCH))
            return self._state.answer(kid, seen)
        finally:
            self._lock.release()

    async def aresolve(self, kid: str | None) -> Key:
        """The key for ``kid``, fetching with ``httpx`` (async, single-flight) when needed.

        A task that finds a fetch running awaits that one shared (shielded)
        task, at most ``timeout``, and looks again; it may then run one
        fetch of its own.
        """
        loop = asyncio.get_running_loop()
        seen = self.fetch_count
        deadline = time.monotonic() + self.timeout
        own: asyncio.Task[None] | None = None  # the fetch this call started, if any
        while True:
            now = self._state.clock()
            try:
                got = self._state.lookup(kid, now, seen, may_fetch=own is None)
            except KeySourceUnavailableError:
                task = self._running(loop)
                if task is None:
                    raise
                await self._await(task, deadline)
                continue
            if isinstance(got, Key):
                return got
            task = self._running(loop)
            if task is None:
                generation = self._state.begin(now, refetch=got == REFETCH)
                own = task = loop.create_task(self._afetch(generation))
                self._task = task
                await asyncio.shield(task)  # bounded by timeout itself; then look again
                continue
            try:  # a fetch is running: answer from the current set if it can
                return self._state.answer(kid, seen)
            except (UnknownKeyError, KeySourceUnavailableError):
                pass
            await self._await(task, deadline)

    def refresh(self) -> None:
        """Fetch now (sync), e.g. at start-up. Raises :class:`KeySourceUnavailableError`."""
        if not self._lock.acquire(timeout=self.timeout):
            raise KeySourceUnavailableError()
        try:
            self._fetch(self._state.begin(self._state.clock(), refetch=False))
        finally:
            self._lock.release()
        if self.last_error is not None:
            raise KeySourceUnavailableError()

    async def arefresh(self) -> None:
        """Fetch now (async). Raises :class:`KeySourceUnavailableError`."""
        await self._afetch(self._state.begin(self._state.clock(), refetch=False))
        if self.last_error is not None:
            raise KeySourceUnavailableError()

    # --- readiness (jwt_middleware._sansio.health) -------------------------------

    def ready(self) -> bool:
        """Whether a fetched key set (at least one usable key) is held within ``stale_for``.

        For readiness probes. Without one (never fetched, or past its stale
        bound) one fetch is tried, single-flight with :meth:`resolve` and
        bounded by ``timeout``, unless a fetch failed less than ``cooldown`` ago.
        """
        if self._holds_keys():
            return True
        if not self._lock.acquire(timeout=self.timeout):
            return False  # the fetch in flight outlived our wait
        try:
            now = self._state.clock()
            if not self._holds_keys() and self._fetch_due(now):
                self._fetch(self._state.begin(now, refetch=False))
            return self._holds_keys()
        finally:
            self._lock.release()

    async def aready(self) -> bool:
        """Async form of :meth:`ready`: the fetch task is the one :meth:`aresolve` shares."""
        if self._holds_keys():
            return True
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self.timeout
        task = self._running(loop)
        if task is not None:
            try:
                await self._await(task, deadline)
            except KeySourceUnavailableError:
                return False
            return self._holds_keys()
        now = self._state.clock()
        if not self._fetch_due(now):
            return False
        task = loop.create_task(self._afetch(self._state.begin(now, refetch=False)))
        self._task = task
        await asyncio.shield(task)  # bounded by timeout itself
        return self._holds_keys()

    def _holds_keys(self) -> bool:
        """Whether a fetched set is held within its stale bound (asks the cache; no I/O)."""
        try:  # seen=-1: any held set is newer than the probe, so it never plans a fetch
            self._state.lookup(None, self._state.clock(), -1, may_fetch=False)
        except UnknownKeyError:
            pass  # several keys and no kid named: the set is there all the same
        except KeySourceUnavailableError:
            return False  # never fetched, or past stale_for
        return True

    def _fetch_due(self, now: float) -> bool:
        """With no usable set: whether a fetch may start now (none failed within cooldown)."""
        try:
            return self._state.lookup(None, now, self.fetch_count, may_fetch=True) == FETCH
        except (UnknownKeyError, KeySourceUnavailableError):
            return False

    # --- single flight ---------------------------------------------------

    def _running(self, loop: asyncio.AbstractEventLoop) -> asyncio.Task[None] | None:
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            return None
        return task

    async def _await(self, task: asyncio.Task[None], deadline: float) -> None:
        """Wait for the shared fetch until ``deadline`` at most (cancelling us never cancels it)."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise KeySourceUnavailableError()
        try:
            await asyncio.wait_for(asyncio.shield(task), left)
        except asyncio.TimeoutError:
            raise KeySourceUnavailableError() from None

    def _get(self, url: str) -> tuple[bytes, str | None]:
        return self._http.get(url, timeout=self.timeout, max_bytes=self.max_bytes)

    async def _aget(self, url: str) -> tuple[bytes, str | None]:
        return await aget(url, timeout=self.timeout, max_bytes=self.max_bytes)

    def _measured(self, started: float) -> None:
        if self.metrics is not None:
            self.metrics.jwks_fetch(jwks_outcome(self.last_error), time.perf_counter() - started)

    def _fetch(self, generation: int) -> None:
        started = time.perf_counter()
        try:
            body, cache_control = self._get(self.jwks_uri)
        except FetchError as exc:
            self._state.store(generation, None, None, str(exc))
        else:
            self._state.store(generation, body, cache_control, None)
        self._measured(started)

    async def _afetch(self, generation: int) -> None:
        started = time.perf_counter()
        try:
            body, cache_control = await self._aget(self.jwks_uri)
        except FetchError as exc:
            self._state.store(generation, None, None, str(exc))
        else:
            self._state.store(generation, body, cache_control, None)
        self._measured(started)
