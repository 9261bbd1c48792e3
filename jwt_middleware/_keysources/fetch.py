"""Getting and reading a JWKS over HTTP, for :mod:`jwt_middleware.jwks`.

Every download is bounded by one deadline for the whole of it (connect,
headers and body) and by a size limit; redirects are not followed. The sync
path uses ``requests``, the async path ``httpx``; both are imported only
when a download happens, so importing the core never loads them.

The sync download runs in a short-lived helper thread and the caller waits
for it at most ``timeout``: whatever the server does (a slow name lookup, a
stalled TLS handshake, headers or a body sent one byte at a time), the caller
is free at the deadline. The helper stops by itself too: it checks the
deadline between body chunks and sets its socket's read timeout to the time
left before every body read, so no single ``recv`` outlives the deadline, and
a download the caller gave up on has its socket shut down. Only while headers
are still arriving can a helper outlive its caller (each read bounded by
``timeout``); a few such stragglers at most, then downloads are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from .._core.errors import ConfigurationError
from .._core.keys import Key
from .._core.keyset import KeySet, _infer_for_set

logger = logging.getLogger("jwt_middleware.jwks")

HEADERS: Final = {"Accept": "application/json", "Accept-Encoding": "identity"}
_CHUNK: Final = 16384
_DISCOVERY: Final = ("openid-configuration", "oauth-authorization-server")
#: Abandoned sync downloads still running (their server keeps them busy) before
#: a new one is refused rather than started: threads never pile up.
_MAX_STRAGGLERS: Final = 4


class FetchError(Exception):
    """One failed download or unusable document (never leaves the package)."""


def check_url(url: str, allow_http: bool, what: str) -> str:
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


# --- documents ---------------------------------------------------------------


def max_age(cache_control: str | None) -> float | None:
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


def parse_keys(body: bytes, algorithms: frozenset[str]) -> KeySet:
    """The usable signing keys of a JWKS document; raises :class:`FetchError`.

    Each entry is judged on its own: one unreadable or unfit key is skipped
    (and logged), it does not take the whole set down.
    """
    try:
        doc = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise FetchError("the document is not JSON") from None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise FetchError('the document has no "keys" list')
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
        raise FetchError("the document has no usable signing key")
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


def discovery_urls(issuer: str) -> tuple[str, str]:
    """OpenID Connect Discovery and RFC 8414 metadata URLs, in the order tried."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    oidc = f"{path}/.well-known/{_DISCOVERY[0]}"
    oauth = f"/.well-known/{_DISCOVERY[1]}{path}"
    return (
        urlunsplit((parts.scheme, parts.netloc, oidc, "", "")),
        urlunsplit((parts.scheme, parts.netloc, oauth, "", "")),
    )


Get = Callable[[str], tuple[bytes, "str | None"]]
AGet = Callable[[str], Awaitable[tuple[bytes, "str | None"]]]


def discover(issuer: str, allow_http: bool, get: Get) -> str:
    """The checked ``jwks_uri`` from the first metadata document that answers."""
    errors = []
    for url in discovery_urls(issuer):
        try:
            body, _ = get(url)
        except FetchError as exc:
            errors.append(f"{url}: {exc}")
            continue
        return jwks_uri_of(body, issuer, allow_http)
    raise FetchError("; ".join(errors))


async def adiscover(issuer: str, allow_http: bool, get: AGet) -> str:
    """Async form of :func:`discover`."""
    errors = []
    for url in discovery_urls(issuer):
        try:
            body, _ = await get(url)
        except FetchError as exc:
            errors.append(f"{url}: {exc}")
            continue
        return jwks_uri_of(body, issuer, allow_http)
    raise FetchError("; ".join(errors))


def jwks_uri_of(body: bytes, issuer: str, allow_http: bool) -> str:
    """The checked ``jwks_uri`` of a discovery document whose ``issuer`` must equal ``issuer``."""
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
    return check_url(uri, allow_http, "the discovered jwks_uri")


# --- HTTP --------------------------------------------------------------------


def _check_response(status: int, length: str | None, max_bytes: int) -> None:
    if status != 200:
        raise FetchError(f"HTTP status {status}")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError(f"the document is larger than {max_bytes} bytes")


def _timed_out(timeout: float) -> FetchError:
    return FetchError(f"timed out after {timeout:g} s")


def _describe(exc: BaseException, timeout: float) -> str:
    name = type(exc).__name__
    if "timeout" in name.lower():
        return f"timed out after {timeout:g} s"
    return f"transport error ({name})"


class SyncHTTP:
    """Sync GETs with ``requests``: one pooled session, every download under one deadline."""

    def __init__(self) -> None:
        self._session: Any = None
        self._stragglers: list[threading.Thread] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        """Drop the pooled connections."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def get(self, url: str, *, timeout: float, max_bytes: int) -> tuple[bytes, str | None]:
        """Body and ``Cache-Control`` of ``url``, in ``timeout`` s at most, or FetchError."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._session is None:
                try:
                    import requests
                except ImportError:  # pragma: no cover - depends on the environment
                    raise ConfigurationError(
                        "sync JWKS fetching needs `pip install requests`"
                    ) from None
                self._session = requests.Session()
            session = self._session
            self._stragglers = [t for t in self._stragglers if t.is_alive()]
            if len(self._stragglers) >= _MAX_STRAGGLERS:
                raise FetchError("earlier downloads from the server are still hanging")
            job = _Download(session, url, deadline, timeout, max_bytes)
            thread = threading.Thread(target=job.run, name="jwt-middleware-jwks", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # out of threads: a failed fetch, not a 500
                raise FetchError("no thread could be started for the download") from None
        if job.done.wait(max(0.0, deadline - time.monotonic())) or job.done.is_set():
            return job.result()
        job.abandon()
        with self._lock:
            self._stragglers.append(thread)
        raise _timed_out(timeout)


class _Download:
    """One sync download, run by a helper thread; the caller reads the outcome."""

    def __init__(
        self, session: Any, url: str, deadline: float, timeout: float, max_bytes: int
    ) -> None:
        self.done = threading.Event()
        self._session = session
        self._url = url
        self._deadline = deadline
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._abandoned = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._body: tuple[bytes, str | None] | None = None
        self._error = "no answer"

    def result(self) -> tuple[bytes, str | None]:
        if self._body is None:
            raise FetchError(self._error)
        return self._body

    def abandon(self) -> None:
        """The caller gave up: stop reading, and wake a ``recv`` blocked on the socket."""
        with self._lock:
            self._abandoned = True
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> None:
        try:
            self._body = self._get()
        except FetchError as exc:
            self._error = str(exc)
        except Exception as exc:  # any transport failure: no requests exception leaks
            self._error = _describe(exc, self._timeout)
        finally:
            self.done.set()

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0 or self._abandoned:
            raise _timed_out(self._timeout)
        return left

    def _get(self) -> tuple[bytes, str | None]:
        left = self._left()
        with self._session.get(
            self._url,
            headers=HEADERS,
            timeout=(left, left),
            stream=True,
            allow_redirects=False,
        ) as response:
            _check_response(
                response.status_code, response.headers.get("content-length"), self._max_bytes
            )
            sock = _socket_of(response.raw)
            with self._lock:
                self._sock = sock
            raw = response.raw
            read: Callable[..., bytes] = getattr(raw, "read1", None) or raw.read
            chunks: list[bytes] = []
            size = 0
            while True:
                left = self._left()  # the deadline, checked between chunks
                if sock is not None:  # and no single recv outlives it
                    with contextlib.suppress(OSError):  # closed at the body's end: no more reads
                        sock.settimeout(left)
                chunk = read(_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > self._max_bytes:
                    raise FetchError(f"the document is larger than {self._max_bytes} bytes")
                chunks.append(chunk)
            self._left()
            return b"".join(chunks), response.headers.get("cache-control")


def _socket_of(raw: Any) -> socket.socket | None:
    """The socket under a urllib3 response, where this urllib3 and http.client keep it."""
    # The connection's (kept alive), else the response file's own (http.client drops the
    # connection's reference to a socket that closes after this answer).
    for path in (("connection", "sock"), ("_fp", "fp", "raw", "_sock")):
        found = raw
        for name in path:
            found = getattr(found, name, None)
        if isinstance(found, socket.socket):
            return found
    return None


async def aget(url: str, *, timeout: float, max_bytes: int) -> tuple[bytes, str | None]:
    """GET ``url`` with ``httpx``, within ``timeout`` s in all; raises :class:`FetchError`."""
    try:
        return await asyncio.wait_for(_aget_unbounded(url, timeout, max_bytes), timeout)
    except FetchError:
        raise
    except asyncio.TimeoutError:
        raise _timed_out(timeout) from None
    except ConfigurationError:
        raise
    except Exception as exc:  # any transport failure: no httpx exception leaks
        raise FetchError(_describe(exc, timeout)) from None


async def _aget_unbounded(url: str, timeout: float, max_bytes: int) -> tuple[bytes, str | None]:
    try:
        import httpx
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigurationError("async JWKS fetching needs `pip install httpx`") from None
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False) as http,
        http.stream("GET", url, headers=HEADERS) as response,
    ):
        _check_response(response.status_code, response.headers.get("content-length"), max_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"the document is larger than {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks), response.headers.get("cache-control")
