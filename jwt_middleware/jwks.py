"""Remote keys: a JWKS client that fills the :class:`~jwt_middleware.KeyResolver` seam.

::

    from jwt_middleware import Config, Verifier
    from jwt_middleware.jwks import JWKSClient

    keys = JWKSClient.from_issuer("https://login.example.com", algorithms=["RS256"])
    verifier = Verifier(Config(keys=keys, issuer=keys.issuer, audience="my-api"))

Fetching is sync with ``requests`` (:meth:`JWKSClient.resolve`) and async with
``httpx`` (:meth:`JWKSClient.aresolve`, which never blocks the event loop).
Both are imported here only, and only when a fetch happens, so importing the
core never loads them. See ``docs/remote-keys.md`` for the defaults and why.

Security: the token's ``kid`` only ever selects a key in the cached set (an
unknown one may cause at most one refetch per ``cooldown``); no URL is ever
taken from a token (``jku`` and ``x5u`` are ignored everywhere).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from ._errors import ConfigurationError, ServiceUnavailableError, UnknownKeyError
from ._keys import ALGORITHMS, Key, KeySet, _infer_for_set

__all__ = ["JWKSClient", "KeySourceUnavailableError"]

logger = logging.getLogger("jwt_middleware.jwks")

_HMAC = frozenset({"HS256", "HS384", "HS512"})
_HEADERS: Final = {"Accept": "application/json", "Accept-Encoding": "identity"}
_DISCOVERY: Final = ("openid-configuration", "oauth-authorization-server")


class KeySourceUnavailableError(ServiceUnavailableError):
    """503: the issuer's keys could not be fetched and no usable cached copy is left.

    Raised when there has never been a good fetch, when the last good key set
    is older than its ``stale_for`` bound, or when a token names a key that
    is not in the stale set kept after a failed refresh (it may be a new key
    we could not fetch: the client should retry, not log the user out).
    """

    reason = "key_source_unavailable"
    default_description = "the signing keys cannot be fetched right now; retry shortly"


class _FetchError(Exception):
    """Internal: one failed fetch (never leaves this module)."""


@dataclass(frozen=True)
class _Cache:
    keys: KeySet
    expires: float  # on the client's clock: time to refresh
    stale_until: float  # after a failed refresh, the set is used up to here


_FETCH: Final = "fetch"
_REFETCH: Final = "refetch"


def _check_url(url: str, allow_http: bool, what: str) -> str:
    if not isinstance(url, str):
        raise ConfigurationError(f"{what} must be a URL string")
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise ConfigurationError(
            f"{what} must be an https:// URL (got scheme {parts.scheme!r}); "
            "plain http is only for local tests, with allow_http=True"
        )
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{what} needs a host and no user:password part")
    if parts.fragment:
        raise ConfigurationError(f"{what} must not have a #fragment")
    return url


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigurationError(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


def _max_age(cache_control: str | None) -> float | None:
    """Seconds from ``Cache-Control``: ``max-age``, or 0 for ``no-cache``/``no-store``."""
    if not cache_control:
        return None
    age = None
    for part in cache_control.split(","):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return 0.0
        arg = arg.strip().strip('"')
        if name == "max-age" and arg.isdigit() and age is None:
            age = float(min(int(arg), 10**9))
    return age


def _parse_keys(body: bytes, algorithms: frozenset[str]) -> KeySet:
    """The usable signing keys of a JWKS document; raises :class:`_FetchError`.

    Each entry is judged on its own: one unreadable or unfit key is skipped
    (and logged), it does not take the whole set down.
    """
    try:
        doc = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise _FetchError("the document is not JSON") from None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise _FetchError('the document has no "keys" list')
    keys: list[Key] = []
    for entry in entries:
        key = _parse_entry(entry, algorithms)
        if key is not None:
            keys.append(key)
    named: dict[str, Key] = {}
    for key in keys:
        if key.kid is not None and key.kid not in named:
            named[key.kid] = key
        elif key.kid is not None:
            logger.warning("JWKS: a second key with kid %r skipped", key.kid)
    if len(keys) == 1:
        return KeySet(keys)
    if any(key.kid is None for key in keys):
        logger.warning("JWKS: keys without kid skipped (several keys: a token must name its key)")
    if not named:
        raise _FetchError("the document has no usable signing key")
    return KeySet(named.values())


def _parse_entry(entry: Any, algorithms: frozenset[str]) -> Key | None:
    if not isinstance(entry, dict):
        return None
    kid = entry.get("kid")
    if entry.get("use", "sig") != "sig":
        return None  # use "enc": an encryption key is never used to verify
    ops = entry.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    if entry.get("kty") == "oct":
        logger.warning("JWKS: symmetric (oct) key %r skipped: a JWKS is public", kid)
        return None
    alg = _infer_for_set(entry, set(algorithms))
    if alg is None:
        logger.info("JWKS: key %r fits none (or several) of the allowed algorithms", kid)
        return None
    try:
        return Key.from_jwk(entry, alg)
    except ConfigurationError as exc:
        logger.warning("JWKS: key %r skipped: %s", kid, exc)
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class JWKSClient:
    """Keys from a ``jwks_uri``, cached, refreshed, and shared by concurrent callers.

    ``algorithms`` (required) are the algorithms tokens may use; a key
    without ``alg`` gets the one of them its type fits. Times are seconds
    on ``clock`` (``time.monotonic`` by default; tests pass a fake one).

    * the key set is kept for the response's ``Cache-Control: max-age``,
      bounded to ``[min_ttl, max_ttl]`` (``default_ttl`` without one);
    * a ``kid`` not in the set causes one immediate refetch, then at most
      one per ``cooldown``; failed fetches are not retried within ``cooldown``;
    * when a refresh fails, the last good set is used for up to
      ``stale_for`` seconds past its expiry, then
      :class:`KeySourceUnavailableError` (503) is raised;
    * every fetch is bounded by ``timeout`` seconds and ``max_bytes``;
      redirects are not followed.
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
    ) -> None:
        self.jwks_uri = _check_url(jwks_uri, allow_http, "jwks_uri")
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
        self._clock = clock
        self._allow_http = allow_http
        #: How many fetches of ``jwks_uri`` were started (for tests and metrics).
        self.fetch_count = 0
        #: Why the last fetch failed (``None`` after a good one). Never holds key material.
        self.last_error: str | None = None
        self._cache: _Cache | None = None
        self._failed_at: float | None = None
        self._refetched_at: float | None = None
        self._lock = threading.Lock()  # one sync fetch at a time
        self._count_lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None  # the async fetch in flight
        self._session: Any = None

    def __repr__(self) -> str:
        return f"<JWKSClient {self.jwks_uri} fetches={self.fetch_count}>"

    @property
    def algorithms(self) -> frozenset[str]:
        """The allowed algorithms (checked against the token before any fetch)."""
        return self._algorithms

    def close(self) -> None:
        """Release the pooled connections of the sync path (the cache is kept)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # --- discovery --------------------------------------------------------

    @staticmethod
    def discovery_urls(issuer: str) -> tuple[str, str]:
        """OpenID Connect Discovery and RFC 8414 metadata URLs, in the order tried."""
        parts = urlsplit(issuer)
        path = parts.path.rstrip("/")
        oidc = f"{path}/.well-known/{_DISCOVERY[0]}"
        oauth = f"/.well-known/{_DISCOVERY[1]}{path}"
        return tuple(  # type: ignore[return-value]
            urlunsplit((parts.scheme, parts.netloc, p, "", "")) for p in (oidc, oauth)
        )

    @classmethod
    def from_issuer(cls, issuer: str, *, algorithms: Iterable[str], **options: Any) -> JWKSClient:
        """Find ``jwks_uri`` in the issuer's metadata (fetched now, synchronously).

        Tries ``/.well-known/openid-configuration`` then RFC 8414's
        ``/.well-known/oauth-authorization-server``; the document's ``issuer``
        must equal ``issuer`` exactly (``ConfigurationError`` otherwise).
        Raises :class:`KeySourceUnavailableError` when neither can be fetched.
        """
        allow_http = bool(options.get("allow_http", False))
        _check_url(issuer, allow_http, "issuer")
        probe = cls("https://discovery.invalid/", algorithms=algorithms, **options)
        errors = []
        for url in cls.discovery_urls(issuer):
            try:
                body, _ = probe._get(url)
            except _FetchError as exc:
                errors.append(f"{url}: {exc}")
                continue
            return cls(
                _jwks_uri_of(body, issuer, allow_http),
                algorithms=algorithms,
                issuer=issuer,
                **options,
            )
        raise KeySourceUnavailableError(
            "the issuer's metadata cannot be fetched right now; retry shortly"
        ) from _FetchError("; ".join(errors))

    @classmethod
    async def afrom_issuer(
        cls, issuer: str, *, algorithms: Iterable[str], **options: Any
    ) -> JWKSClient:
        """Async form of :meth:`from_issuer`."""
        allow_http = bool(options.get("allow_http", False))
        _check_url(issuer, allow_http, "issuer")
        probe = cls("https://discovery.invalid/", algorithms=algorithms, **options)
        errors = []
        for url in cls.discovery_urls(issuer):
            try:
                body, _ = await probe._aget(url)
            except _FetchError as exc:
                errors.append(f"{url}: {exc}")
                continue
            return cls(
                _jwks_uri_of(body, issuer, allow_http),
                algorithms=algorithms,
                issuer=issuer,
                **options,
            )
        raise KeySourceUnavailableError(
            "the issuer's metadata cannot be fetched right now; retry shortly"
        ) from _FetchError("; ".join(errors))

    # --- KeyResolver ------------------------------------------------------

    def resolve(self, kid: str | None) -> Key:
        """The key for ``kid``, fetching (sync, single-flight) when needed."""
        got = self._lookup(kid, self._clock(), may_fetch=True)
        if isinstance(got, Key):
            return got
        if not self._lock.acquire(blocking=False):
            # A fetch is running: answer from the current set if it can, else wait.
            try:
                return self._lookup_final(kid)
            except (UnknownKeyError, KeySourceUnavailableError):
                pass
            self._lock.acquire()
        try:
            now = self._clock()
            got = self._lookup(kid, now, may_fetch=True)
            if isinstance(got, Key):
                return got
            self._fetch(now, refetch=got == _REFETCH)
            return self._lookup_final(kid)
        finally:
            self._lock.release()

    async def aresolve(self, kid: str | None) -> Key:
        """The key for ``kid``, fetching with ``httpx`` (async, single-flight) when needed."""
        loop = asyncio.get_running_loop()
        while True:
            now = self._clock()
            got = self._lookup(kid, now, may_fetch=True)
            if isinstance(got, Key):
                return got
            task = self._task
            if task is None or task.done() or task.get_loop() is not loop:
                task = loop.create_task(self._afetch(now, refetch=got == _REFETCH))
                self._task = task
                await asyncio.shield(task)
                return self._lookup_final(kid)
            try:
                return self._lookup_final(kid)
            except (UnknownKeyError, KeySourceUnavailableError):
                pass
            await asyncio.shield(task)  # then look again: the set may now hold the kid

    def refresh(self) -> None:
        """Fetch now (sync), e.g. at start-up. Raises :class:`KeySourceUnavailableError`."""
        with self._lock:
            self._fetch(self._clock(), refetch=False)
        if self.last_error is not None:
            raise KeySourceUnavailableError()

    async def arefresh(self) -> None:
        """Fetch now (async). Raises :class:`KeySourceUnavailableError`."""
        await self._afetch(self._clock(), refetch=False)
        if self.last_error is not None:
            raise KeySourceUnavailableError()

    # --- the cache state machine -----------------------------------------

    def _failed_recently(self, now: float) -> bool:
        return self._failed_at is not None and now - self._failed_at < self.cooldown

    def _lookup(self, kid: str | None, now: float, *, may_fetch: bool) -> Key | str:
        """A key, or ``_FETCH``/``_REFETCH`` (only when ``may_fetch``), or an error."""
        cache = self._cache
        degraded = self._failed_at is not None  # the latest attempt failed
        if cache is None:
            if may_fetch and not self._failed_recently(now):
                return _FETCH
            raise KeySourceUnavailableError()
        if now >= cache.expires:
            if may_fetch and not self._failed_recently(now):
                return _FETCH
            if now >= cache.stale_until:
                raise KeySourceUnavailableError()
        try:
            return cache.keys.resolve(kid)
        except UnknownKeyError:
            if (
                may_fetch
                and not self._failed_recently(now)
                and (self._refetched_at is None or now - self._refetched_at >= self.cooldown)
            ):
                return _REFETCH
            if degraded:
                raise KeySourceUnavailableError() from None
            raise

    def _lookup_final(self, kid: str | None) -> Key:
        got = self._lookup(kid, self._clock(), may_fetch=False)
        assert isinstance(got, Key)
        return got

    def _begin(self, now: float, refetch: bool) -> None:
        with self._count_lock:
            self.fetch_count += 1
        if refetch:
            self._refetched_at = now

    def _store(self, body: bytes | None, cache_control: str | None, error: str | None) -> None:
        now = self._clock()
        if body is not None:
            try:
                keys = _parse_keys(body, self._algorithms)
            except _FetchError as exc:
                error = str(exc)
            else:
                age = _max_age(cache_control)
                ttl = min(max(self.default_ttl if age is None else age, self.min_ttl), self.max_ttl)
                self._cache = _Cache(keys, now + ttl, now + ttl + self.stale_for)
                self._failed_at = None
                self.last_error = None
                return
        self._failed_at = now
        self.last_error = error
        logger.warning("JWKS fetch from %s failed: %s", self.jwks_uri, error)

    def _fetch(self, now: float, *, refetch: bool) -> None:
        self._begin(now, refetch)
        try:
            body, cache_control = self._get(self.jwks_uri)
        except _FetchError as exc:
            self._store(None, None, str(exc))
        else:
            self._store(body, cache_control, None)

    async def _afetch(self, now: float, *, refetch: bool) -> None:
        self._begin(now, refetch)
        try:
            body, cache_control = await self._aget(self.jwks_uri)
        except _FetchError as exc:
            self._store(None, None, str(exc))
        else:
            self._store(body, cache_control, None)

    # --- HTTP -------------------------------------------------------------

    def _get(self, url: str) -> tuple[bytes, str | None]:
        """GET ``url`` with ``requests``: bounded in time and size; raises :class:`_FetchError`."""
        try:
            import requests
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigurationError("sync JWKS fetching needs `pip install requests`") from None
        if self._session is None:
            self._session = requests.Session()
        deadline = time.monotonic() + self.timeout
        try:
            with self._session.get(
                url,
                headers=_HEADERS,
                timeout=(self.timeout, self.timeout),
                stream=True,
                allow_redirects=False,
            ) as response:
                self._check_response(response.status_code, response.headers.get("content-length"))
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(16384):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise _FetchError(f"the document is larger than {self.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise _FetchError(f"timed out after {self.timeout:g} s")
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("cache-control")
        except _FetchError:
            raise
        except Exception as exc:  # any transport failure: no requests exception leaks
            raise _FetchError(_describe(exc, self.timeout)) from None

    async def _aget(self, url: str) -> tuple[bytes, str | None]:
        """GET ``url`` with ``httpx``: bounded in time and size; raises :class:`_FetchError`."""
        try:
            return await asyncio.wait_for(self._aget_unbounded(url), self.timeout)
        except _FetchError:
            raise
        except asyncio.TimeoutError:
            raise _FetchError(f"timed out after {self.timeout:g} s") from None
        except Exception as exc:  # any transport failure: no httpx exception leaks
            raise _FetchError(_describe(exc, self.timeout)) from None

    async def _aget_unbounded(self, url: str) -> tuple[bytes, str | None]:
        try:
            import httpx
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigurationError("async JWKS fetching needs `pip install httpx`") from None
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(self.timeout), follow_redirects=False) as http,
            http.stream("GET", url, headers=_HEADERS) as response,
        ):
            self._check_response(response.status_code, response.headers.get("content-length"))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw(16384):
                size += len(chunk)
                if size > self.max_bytes:
                    raise _FetchError(f"the document is larger than {self.max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("cache-control")

    def _check_response(self, status: int, length: str | None) -> None:
        if status != 200:
            raise _FetchError(f"HTTP status {status}")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            raise _FetchError(f"the document is larger than {self.max_bytes} bytes")


def _describe(exc: BaseException, timeout: float) -> str:
    name = type(exc).__name__
    if "timeout" in name.lower():
        return f"timed out after {timeout:g} s"
    return f"transport error ({name})"


def _jwks_uri_of(body: bytes, issuer: str, allow_http: bool) -> str:
    try:
        doc = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ConfigurationError("the issuer's metadata document is not JSON") from None
    if not isinstance(doc, Mapping):
        raise ConfigurationError("the issuer's metadata document is not a JSON object")
    found = doc.get("issuer")
    if found != issuer:
        raise ConfigurationError(
            f"the metadata names issuer {found!r}, not {issuer!r}: they must be equal exactly "
            "(OpenID Connect Discovery 1.0 section 4.3, RFC 8414 section 3.3)"
        )
    uri = doc.get("jwks_uri")
    if not isinstance(uri, str):
        raise ConfigurationError("the issuer's metadata has no jwks_uri")
    return _check_url(uri, allow_http, "the discovered jwks_uri")
