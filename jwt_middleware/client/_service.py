"""Service identity for outgoing calls: :class:`ForwardBearer` and :class:`ServiceToken`.

Also the helpers every outgoing-call module shares: which HTTP library is
importable, and the message naming the extra to install when one is missing.
The user guide is the package docstring (``jwt_middleware.client``).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from .._core.bearer import extract_bearer
from .._core.errors import ConfigurationError, JWTMiddlewareError
from .._lifecycle.issue import Issuer

if TYPE_CHECKING:
    import httpx
    import requests.auth

__all__ = ["ForwardBearer", "ServiceToken", "TokenEndpointError"]


class TokenEndpointError(JWTMiddlewareError):
    """The token endpoint refused or failed. The message never holds a secret."""


class _MissingExtraError(ConfigurationError, ImportError):
    """An optional HTTP library is not installed: catch it as either base."""


class _HasHeaders(Protocol):
    @property
    def headers(self) -> MutableMapping[str, str]: ...


# requests.PreparedRequest or httpx.Request: both carry mutable str headers.
_Request = TypeVar("_Request", bound=_HasHeaders)


def _importable(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _explain_missing(exc: ImportError, library: str, what: str) -> None:
    """Raise a message naming the extra if ``exc`` says ``library`` itself is missing."""
    if (exc.name or "").partition(".")[0] == library:
        error = _MissingExtraError(
            f"{what} needs {library}: pip install 'jwt-middleware[{library}]'"
        )
        error.name = library
        raise error from exc


class ForwardBearer:
    """``Authorization: Bearer <the token of the request being served>``.

    ``source`` is the incoming request's headers (any case-insensitive
    mapping: Flask's ``request.headers``, Starlette's ``request.headers``) or
    the token itself (for instance from cookie mode).

    It is a callable taking the outgoing request and returning it with the
    header set: ``requests`` calls it as an auth object, ``httpx`` (sync and
    async clients) wraps it in its ``FunctionAuth``. Neither library is needed
    to build one.
    """

    def __init__(self, source: Mapping[str, str] | str) -> None:
        if isinstance(source, str):
            self._token = extract_bearer("Bearer " + source)
        else:
            self._token = extract_bearer(source.get("Authorization") or source.get("authorization"))

    def __call__(self, r: _Request) -> _Request:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def __repr__(self) -> str:
        return "ForwardBearer(<token>)"  # never the token itself


@dataclass
class _Cached:
    token: str
    expires_at: float


class ServiceToken:
    """A cached service token for one audience, renewed ``renew_before`` seconds early."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        afetch: Callable[[], Awaitable[tuple[str, float]]] | None = None,
        *,
        renew_before: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._afetch = afetch
        self._renew_before = renew_before
        self._clock = clock
        self._cached: _Cached | None = None
        self._lock = threading.Lock()
        self._alock: asyncio.Lock | None = None
        #: How many tokens were obtained (for tests and observability).
        self.fetches = 0

    # --- construction ---------------------------------------------------------------

    @classmethod
    def from_issuer(
        cls,
        issuer: Issuer,
        *,
        audience: str,
        subject: str,
        scopes: Iterable[str] = (),
        ttl: int = 300,
        renew_before: float = 30.0,
    ) -> ServiceToken:
        """Mint with your own issuer: ``sub`` is the calling service, ``aud`` the callee."""
        if not audience or not subject:
            raise ConfigurationError("a service token needs an audience and a subject")
        scope_list = tuple(scopes)

        def mint() -> tuple[str, float]:
            token = issuer.access_token(subject, scopes=scope_list, ttl=ttl, audience=audience)
            return token, issuer.config.clock() + ttl

        return cls(mint, None, renew_before=renew_before, clock=issuer.config.clock)

    @classmethod
    def from_client_credentials(
        cls,
        token_url: str,
        *,
        client_id: str,
        client_secret: str,
        audience: str | None = None,
        scopes: Iterable[str] = (),
        timeout: float = 5.0,
        renew_before: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> ServiceToken:
        """Fetch with the OAuth 2 client credentials grant (RFC 6749 §4.4).

        The fetch uses ``requests`` if it is installed, else ``httpx``; the
        async fetch uses ``httpx`` if installed, else ``requests`` in a worker
        thread. Refused at once if neither is installed.
        """
        if not (_importable("requests") or _importable("httpx")):
            raise _MissingExtraError(
                "ServiceToken.from_client_credentials() needs requests or httpx: "
                "pip install 'jwt-middleware[requests]' or 'jwt-middleware[httpx]'"
            )
        form = {"grant_type": "client_credentials"}
        if audience:
            form["audience"] = audience
        if scopes:
            form["scope"] = " ".join(scopes)
        basic = (client_id, client_secret)

        def fetch() -> tuple[str, float]:
            if _importable("requests"):
                status, content = _post_with_requests(token_url, form, basic, timeout)
            else:
                status, content = _post_with_httpx(token_url, form, basic, timeout)
            return _parse(status, content, clock)

        async def afetch() -> tuple[str, float]:
            if _importable("httpx"):
                status, content = await _apost_with_httpx(token_url, form, basic, timeout)
            else:
                status, content = await asyncio.to_thread(
                    _post_with_requests, token_url, form, basic, timeout
                )
            return _parse(status, content, clock)

        return cls(fetch, afetch, renew_before=renew_before, clock=clock)

    # --- the token ------------------------------------------------------------------

    def _fresh(self) -> str | None:
        cached = self._cached
        if cached is not None and cached.expires_at - self._renew_before > self._clock():
            return cached.token
        return None

    def token(self) -> str:
        """The current token, fetched or renewed when needed (one fetch at a time)."""
        token = self._fresh()
        if token is not None:
            return token
        with self._lock:
            token = self._fresh()
            if token is None:
                token, expires_at = self._fetch()
                self.fetches += 1
                self._cached = _Cached(token, expires_at)
            return token

    async def atoken(self) -> str:
        """Async form of :meth:`token` (the fetch never blocks the event loop)."""
        token = self._fresh()
        if token is not None:
            return token
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            token = self._fresh()
            if token is None:
                if self._afetch is not None:
                    token, expires_at = await self._afetch()
                else:
                    token, expires_at = self._fetch()  # local signing: CPU only
                self.fetches += 1
                self._cached = _Cached(token, expires_at)
            return token

    def requests_auth(self) -> requests.auth.AuthBase:
        """A ``requests`` auth object (needs ``jwt-middleware[requests]``)."""
        try:
            import requests.auth  # noqa: F401  (only to say which extra is missing)
        except ImportError as exc:
            _explain_missing(exc, "requests", "ServiceToken.requests_auth()")
            raise
        return _requests_service_auth()(self)

    def httpx_auth(self) -> httpx.Auth:
        """An ``httpx.Auth`` for sync and async clients (needs ``jwt-middleware[httpx]``)."""
        try:
            import httpx  # noqa: F401  (only to say which extra is missing)
        except ImportError as exc:
            _explain_missing(exc, "httpx", "ServiceToken.httpx_auth()")
            raise
        return _httpx_service_auth()(self)


# --- the auth classes, defined on first use (each subclasses its library's base) --------


@functools.cache
def _requests_service_auth() -> Callable[[ServiceToken], requests.auth.AuthBase]:
    import requests
    import requests.auth

    class _RequestsServiceAuth(requests.auth.AuthBase):
        def __init__(self, source: ServiceToken) -> None:
            self._source = source

        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            r.headers["Authorization"] = f"Bearer {self._source.token()}"
            return r

    return _RequestsServiceAuth


@functools.cache
def _httpx_service_auth() -> Callable[[ServiceToken], httpx.Auth]:
    from collections.abc import AsyncGenerator, Generator

    import httpx

    class _HttpxServiceAuth(httpx.Auth):
        def __init__(self, source: ServiceToken) -> None:
            self._source = source

        def sync_auth_flow(
            self, request: httpx.Request
        ) -> Generator[httpx.Request, httpx.Response, None]:
            request.headers["Authorization"] = f"Bearer {self._source.token()}"
            yield request

        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            request.headers["Authorization"] = f"Bearer {await self._source.atoken()}"
            yield request

    return _HttpxServiceAuth


# --- the token endpoint ------------------------------------------------------------------


def _post_with_requests(
    url: str, form: Mapping[str, str], basic: tuple[str, str], timeout: float
) -> tuple[int, bytes]:
    import requests

    try:
        response = requests.post(url, data=dict(form), auth=basic, timeout=timeout)
    except requests.RequestException as exc:
        raise TokenEndpointError(_failed(exc)) from None
    return response.status_code, response.content


def _post_with_httpx(
    url: str, form: Mapping[str, str], basic: tuple[str, str], timeout: float
) -> tuple[int, bytes]:
    import httpx

    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.post(url, data=dict(form), auth=basic)
    except httpx.HTTPError as exc:
        raise TokenEndpointError(_failed(exc)) from None
    return response.status_code, response.content


async def _apost_with_httpx(
    url: str, form: Mapping[str, str], basic: tuple[str, str], timeout: float
) -> tuple[int, bytes]:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, data=dict(form), auth=basic)
    except httpx.HTTPError as exc:
        raise TokenEndpointError(_failed(exc)) from None
    return response.status_code, response.content


def _failed(exc: Exception) -> str:
    return f"the token endpoint failed: {type(exc).__name__}"


def _parse(status: int, content: bytes, clock: Callable[[], float]) -> tuple[str, float]:
    import json

    if status != 200:
        raise TokenEndpointError(f"the token endpoint answered {status}")
    try:
        body = json.loads(content)
        token, expires_in = body["access_token"], float(body.get("expires_in", 300))
    except (ValueError, KeyError, TypeError):
        raise TokenEndpointError("the token endpoint's answer is not a token response") from None
    if not isinstance(token, str) or not token:
        raise TokenEndpointError("the token endpoint's answer has no access_token")
    return token, clock() + expires_in
