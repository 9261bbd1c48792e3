"""DPoP for outgoing calls (RFC 9449): :class:`DPoPAuth` for ``requests`` and ``httpx``.

The steps are pure and shared: sign a fresh proof into the request's headers,
then read the answer (remember its ``DPoP-Nonce``; say whether to retry once
with it). ``requests``' hook and ``httpx``'s sync and async auth flows only
move requests and responses between those steps. The user guide is the
package docstring (``jwt_middleware.client``).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._core.proofs import DPoPKey
from ._service import _explain_missing

if TYPE_CHECKING:
    import httpx
    import requests.auth

__all__ = ["DPoPAuth"]

#: RFC 9449 §8.1: a nonce is one or more NQCHAR; a bound keeps a hostile one small.
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,512}").fullmatch
#: RFC 9449 §7.1 (token68, as for Bearer): what an access token may look like in a header.
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*").fullmatch
#: error="use_dpop_nonce" in a WWW-Authenticate challenge (quoted or not).
_USE_NONCE = re.compile(r'(?:^|[\s,])error\s*=\s*"?use_dpop_nonce"?(?:$|[\s,])', re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_ERROR_BODY = 65536
_MAX_ORIGINS = 256


def _origin(url: str) -> str:
    """``scheme://host:port``, lowercased, as nonces are kept (one per server)."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname or "", parts.port
    except ValueError:
        return ""
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS.get(scheme, 0)}"


def _error_code(body: bytes) -> object:
    """The ``error`` member of an OAuth 2 error body (RFC 6749 §5.2), or None."""
    if len(body) > _MAX_ERROR_BODY:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("error") if isinstance(parsed, dict) else None


def _offered_nonce(headers: Mapping[str, str]) -> str | None:
    value = headers.get("DPoP-Nonce")
    return value if value is not None and _NONCE(value) else None


def _needs_body(status: int, headers: Mapping[str, str]) -> bool:
    """Whether the answer's body says if the nonce is wanted: a token endpoint's 400."""
    return status == 400 and _offered_nonce(headers) is not None


class DPoPAuth:
    """DPoP for ``requests`` and ``httpx``: a key, the access token bound to it, the nonces.

    Each request gets ``Authorization: DPoP <access_token>`` and a fresh
    ``DPoP`` proof for its method and URL (with ``ath``, the token's hash).
    Without an access token (``None``, as before login) only the proof is
    sent: that is how the token routes (login, refresh) see the key and bind
    the tokens to it. ``access_token`` may be set again at any time (after a
    refresh); auth objects already handed out use the new value.

    Nonces (RFC 9449 §8, §9): the latest ``DPoP-Nonce`` from each server
    (origin) goes into later proofs to that server. When a server answers
    401 with ``error="use_dpop_nonce"`` (a resource) or 400 with that error
    (a token endpoint) and a new nonce, the request is sent again, once,
    with a new proof carrying it.

    Security: the token and the key are never logged or shown (``repr``
    says whether a token is set); the ``Authorization`` header is never added
    when retrying a request that a redirect took to another server.
    """

    def __init__(
        self,
        key: DPoPKey,
        access_token: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(key, DPoPKey):
            raise TypeError("DPoPAuth needs a DPoPKey (DPoPKey.generate() or DPoPKey.from_pem())")
        self.key = key
        self.access_token = access_token
        self._clock = clock
        self._nonces: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def access_token(self) -> str | None:
        """The access token sent with ``Authorization: DPoP``, or None (proofs only)."""
        return self._access_token

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        if value is not None and (not isinstance(value, str) or not _TOKEN68(value)):
            raise ValueError("an access token is token68 text (letters, digits, -._~+/ and =)")
        self._access_token = value

    def __repr__(self) -> str:
        token = "<set>" if self._access_token is not None else None
        return f"DPoPAuth({self.key!r}, access_token={token})"  # never the token itself

    # --- nonces -----------------------------------------------------------------------

    def nonce(self, url: str) -> str | None:
        """The latest nonce the server of ``url`` gave, or None."""
        with self._lock:
            return self._nonces.get(_origin(url))

    def remember_nonce(self, url: str, nonce: str | None) -> None:
        """Keep a server's ``DPoP-Nonce`` for later proofs (for other HTTP libraries).

        Values that are not a valid nonce (RFC 9449 §8.1) are ignored.
        """
        if nonce is None or not _NONCE(nonce):
            return
        origin = _origin(url)
        with self._lock:
            self._nonces[origin] = nonce
            self._nonces.move_to_end(origin)
            while len(self._nonces) > _MAX_ORIGINS:
                self._nonces.popitem(last=False)

    # --- the pure steps ---------------------------------------------------------------

    def proof_headers(
        self, method: str, url: str, *, access_token: str | None = None
    ) -> dict[str, str]:
        """The headers for one request, for any HTTP library: ``DPoP`` (with the server's
        latest nonce), and ``Authorization: DPoP`` when ``access_token`` is given.

        Without ``access_token`` it is a proof alone, as the token routes take it.
        """
        headers: dict[str, str] = {}
        self._sign(headers, method, url, access_token=access_token)
        return headers

    def _sign(
        self,
        headers: MutableMapping[str, str],
        method: str,
        url: str,
        *,
        access_token: str | None,
        nonce: str | None = None,
    ) -> str | None:
        """Put a fresh proof (and the token) into ``headers``; the nonce the proof holds."""
        if access_token is not None and not _TOKEN68(access_token):
            raise ValueError("an access token is token68 text (letters, digits, -._~+/ and =)")
        if nonce is None:
            nonce = self.nonce(url)
        headers["DPoP"] = self.key.proof(
            method, url, access_token=access_token, nonce=nonce, iat=int(self._clock())
        )
        if access_token is not None:
            headers["Authorization"] = f"DPoP {access_token}"
        return nonce

    def _answered(
        self, url: str, sent: str | None, status: int, headers: Mapping[str, str],
        body: bytes | None,
    ) -> str | None:
        """Remember the answer's nonce; the nonce to retry with, or None.

        A retry needs a new nonce (not the one the proof held) and the server
        saying it wants one: 401 with ``error="use_dpop_nonce"`` in
        ``WWW-Authenticate``, or 400 whose JSON body says that error.
        """
        offered = _offered_nonce(headers)
        if offered is None:
            return None
        self.remember_nonce(url, offered)
        if offered == sent:
            return None
        if status == 401 and _USE_NONCE.search(headers.get("WWW-Authenticate") or ""):
            return offered
        if status == 400 and body is not None and _error_code(body) == "use_dpop_nonce":
            return offered
        return None

    # --- the auth objects ---------------------------------------------------------------

    def requests_auth(self, *, proof_only: bool = False) -> requests.auth.AuthBase:
        """A ``requests`` auth object (needs ``jwt-middleware[requests]``).

        ``proof_only=True`` sends the proof without the access token (for the
        refresh route once a token is set).
        """
        try:
            import requests.auth  # noqa: F401  (only to say which extra is missing)
        except ImportError as exc:
            _explain_missing(exc, "requests", "DPoPAuth.requests_auth()")
            raise
        return _requests_dpop_auth()(self, proof_only)

    def httpx_auth(self, *, proof_only: bool = False) -> httpx.Auth:
        """An ``httpx.Auth`` for sync and async clients (needs ``jwt-middleware[httpx]``)."""
        try:
            import httpx  # noqa: F401  (only to say which extra is missing)
        except ImportError as exc:
            _explain_missing(exc, "httpx", "DPoPAuth.httpx_auth()")
            raise
        return _httpx_dpop_auth()(self, proof_only)


# --- the auth classes, defined on first use (each subclasses its library's base) --------


_NOT_REWINDABLE = object()


def _body_position(body: object) -> object:
    """Where a file-like body starts (to send it again), None for bytes or no body."""
    if body is None or isinstance(body, (bytes, str)):
        return None
    tell = getattr(body, "tell", None)
    if tell is None or getattr(body, "seek", None) is None:
        return _NOT_REWINDABLE
    try:
        return int(tell())
    except (OSError, ValueError):
        return _NOT_REWINDABLE


@functools.cache
def _requests_dpop_auth() -> Callable[[DPoPAuth, bool], requests.auth.AuthBase]:
    import requests
    import requests.auth
    from requests.cookies import extract_cookies_to_jar

    class _RequestsDPoPAuth(requests.auth.AuthBase):
        def __init__(self, source: DPoPAuth, proof_only: bool) -> None:
            self._source = source
            self._proof_only = proof_only

        def _token(self) -> str | None:
            return None if self._proof_only else self._source.access_token

        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            url = r.url or ""
            token = self._token()
            sent = self._source._sign(r.headers, r.method or "GET", url, access_token=token)
            state = (_origin(url), sent, token, _body_position(r.body))
            hook = functools.partial(self._on_answer, state)
            r.register_hook("response", hook)  # type: ignore[no-untyped-call]
            return r

        def _on_answer(
            self, state: tuple[str, str | None, str | None, object],
            r: requests.Response, **kwargs: Any,
        ) -> requests.Response:
            origin, sent, token, position = state
            url = r.request.url or ""
            body = r.content if _needs_body(r.status_code, r.headers) else None
            nonce = self._source._answered(url, sent, r.status_code, r.headers, body)
            if nonce is None or _origin(url) != origin or position is _NOT_REWINDABLE:
                return r
            if isinstance(position, int):
                r.request.body.seek(position)  # type: ignore[union-attr]
            r.content  # noqa: B018  (read the answer so the connection can be reused)
            r.close()
            prep = r.request.copy()
            jar = prep._cookies  # type: ignore[attr-defined]
            extract_cookies_to_jar(jar, r.request, r.raw)  # type: ignore[no-untyped-call]
            prep.prepare_cookies(jar)
            self._source._sign(prep.headers, prep.method or "GET", url,
                               access_token=token, nonce=nonce)
            retried: requests.Response = r.connection.send(prep, **kwargs)
            retried.history.append(r)
            retried.request = prep
            # Once only: the retried answer's nonce is kept, never acted on.
            self._source.remember_nonce(url, _offered_nonce(retried.headers))
            return retried

    return _RequestsDPoPAuth


@functools.cache
def _httpx_dpop_auth() -> Callable[[DPoPAuth, bool], httpx.Auth]:
    import httpx

    def replayable(request: httpx.Request) -> bool:
        try:
            request.content  # noqa: B018  (bytes bodies are read up front; streams are not)
        except httpx.RequestNotRead:
            return False
        return True

    class _HttpxDPoPAuth(httpx.Auth):
        def __init__(self, source: DPoPAuth, proof_only: bool) -> None:
            self._source = source
            self._proof_only = proof_only

        def _first(self, request: httpx.Request) -> tuple[str | None, str | None]:
            token = None if self._proof_only else self._source.access_token
            url = str(request.url)
            return token, self._source._sign(
                request.headers, request.method, url, access_token=token
            )

        def _retry_with(
            self, request: httpx.Request, sent: str | None, response: httpx.Response
        ) -> str | None:
            answered = str(response.request.url)
            body = response.content if _needs_body(response.status_code, response.headers) else None
            nonce = self._source._answered(
                answered, sent, response.status_code, response.headers, body
            )
            if nonce is None or _origin(answered) != _origin(str(request.url)):
                return None
            return nonce if replayable(request) else None

        def _again(self, request: httpx.Request, token: str | None, nonce: str) -> None:
            self._source._sign(
                request.headers, request.method, str(request.url), access_token=token, nonce=nonce
            )

        def _last(self, response: httpx.Response) -> None:
            self._source.remember_nonce(
                str(response.request.url), _offered_nonce(response.headers)
            )

        def sync_auth_flow(
            self, request: httpx.Request
        ) -> Generator[httpx.Request, httpx.Response, None]:
            token, sent = self._first(request)
            response = yield request
            if _needs_body(response.status_code, response.headers):
                response.read()
            nonce = self._retry_with(request, sent, response)
            if nonce is not None:
                self._again(request, token, nonce)
                self._last((yield request))

        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            token, sent = self._first(request)
            response = yield request
            if _needs_body(response.status_code, response.headers):
                await response.aread()
            nonce = self._retry_with(request, sent, response)
            if nonce is not None:
                self._again(request, token, nonce)
                self._last((yield request))

    return _HttpxDPoPAuth
