"""What the ASGI and WSGI adapters share: the per-request policy.

Pure steps (is the path public, where is the token, what to log) are
shared; only the verify call differs (``authenticate`` vs
``aauthenticate``). Adapters turn their request into a :class:`RequestInfo`
and the outcome into their response.

Modes:

* ``"required"`` (default): every request needs a valid token, except
  public paths and methods and CORS preflight (``OPTIONS`` with
  ``Access-Control-Request-Method``). Routes without a decorator are
  protected too: deny by default.
* ``"optional"``: a valid token is attached, an invalid one is refused,
  an absent one passes (the principal is ``None``).

On public paths a valid token is attached and an invalid one ignored.

The fast path (:meth:`Authenticator.fast`, :meth:`Authenticator.afast`): for the
common request, one ``Authorization`` header whose value starts with ``Bearer``
and one space, not a CORS preflight, the adapters skip :class:`RequestInfo` and
the general steps and verify ``value[7:]`` at once (a cache hit is then the whole
of the request's check). It never decides differently from the general path:

* a token that verifies consists of strictly decoded base64url segments and dots
  (one within ``max_token_bytes`` is all the fast path passes on), so
  :func:`extract_bearer` would have read exactly that token from the header, and the
  general path would have verified it too (a header token
  wins over the cookie in every mode, so cookie mode and its CSRF check do not
  apply; the mode matters only when no token is sent);
* a refusal stands only if :func:`extract_bearer` reads the same token from the
  header; on a public path it is ignored and not reported, as there;
* everything else (another scheme, a malformed or padded header, several headers,
  a websocket, a preflight, a token bound to a key by a ``cnf`` claim) returns
  :data:`FALLBACK`, and the adapter takes the general path, with its own answers.

When the verifier can never wait (a :class:`Verifier` with keys held in a
:class:`KeySet` and no revocation check), ``verify`` and ``averify`` do the same
work, and :attr:`Authenticator.sync_safe` lets an async adapter call
:meth:`~Authenticator.fast` without a coroutine.

A check that must see more of the request (a proof header, the scheme) turns
the fast path off with ``Authenticator(fast_path=False)``; only ``Bearer`` ever
takes it, so ``Authorization: DPoP`` always goes the general way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal, NamedTuple

from .._core.bearer import extract_bearer
from .._core.config import Config
from .._core.dpop_policy import DPoPPolicy
from .._core.errors import AuthError, ConfigurationError, InvalidRequestError, MissingTokenError
from .._core.keyset import KeySet
from .._core.principal import Principal
from .._core.verify import Verifier
from .._lifecycle.cookies import CookiePolicy, WebSocketOriginError
from .dpop import BEARER, ResourceDPoP, header_scheme, read_authorization

__all__ = [
    "FALLBACK",
    "AuthEvent",
    "Authenticator",
    "Fallback",
    "Fast",
    "RequestInfo",
    "build_authenticator",
]

logger = logging.getLogger("jwt_middleware")

MODES = ("required", "optional")
#: The namespaced key of the principal in the ASGI scope and the WSGI environ.
PRINCIPAL_KEY = "jwt_middleware.principal"
MULTIPLE = "\x00multiple"  # marks several Authorization headers
#: A token bound to a key (RFC 7800 ``cnf``: DPoP's ``jkt``, mTLS's ``x5t#S256``) is left
#: to the general path, where the checks of its binding run.
_CONFIRMATION = "cnf"


class Fallback(Enum):
    """What the fast path answers when the request must take the general path."""

    FALLBACK = "fallback"


#: The fast path did not decide: build a :class:`RequestInfo` and authenticate it.
FALLBACK: Final = Fallback.FALLBACK
Fast = Principal | None | Literal[Fallback.FALLBACK]


class RequestInfo(NamedTuple):
    """The parts of a request the policy looks at."""

    method: str
    path: str
    authorization: str | None
    preflight: bool = False
    alt_token: str | None = None  # websocket query parameter or subprotocol
    cookie: str | None = None  # the raw Cookie header (cookie mode only)
    csrf: str | None = None  # the CSRF header (cookie mode only)
    #: Cookie-mode websocket: why its ``Origin`` may not use the cookie (``None``: it may).
    origin_refused: str | None = None
    #: Every ``DPoP`` header value (a proof; two or more are refused).
    dpop: tuple[str, ...] = ()
    #: The URL the client addressed (DPoP's ``htu``), worked out only to check a proof.
    url: Callable[[], str] | None = None


@dataclass(frozen=True)
class AuthEvent:
    """One rejection, for metrics and audit. Never carries the token."""

    reason: str
    status: int
    method: str
    path: str
    subject: str | None = None


class Authenticator:
    """The per-request policy around a :class:`Verifier`."""

    __slots__ = (
        "_exact",
        "_max",
        "_on_event",
        "_prefixes",
        "cookies",
        "dpop",
        "fast_path",
        "mode",
        "public_methods",
        "sync_safe",
        "verifier",
    )

    def __init__(
        self,
        verifier: Verifier,
        *,
        mode: str = "required",
        public_paths: Iterable[str] = (),
        public_methods: Iterable[str] = (),
        on_event: Callable[[AuthEvent], None] | None = None,
        cookies: CookiePolicy | None = None,
        fast_path: bool = True,
        dpop: DPoPPolicy | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if isinstance(public_paths, str):
            public_paths = (public_paths,)
        exact, prefixes = set(), []
        for pattern in public_paths:
            if not isinstance(pattern, str) or not pattern.startswith("/"):
                raise ConfigurationError(f"public paths start with '/': {pattern!r}")
            if pattern.endswith("*"):
                prefixes.append(pattern[:-1])
            else:
                exact.add(pattern)
        self.verifier = verifier
        self.mode = mode
        self.public_methods = frozenset(m.upper() for m in public_methods)
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)
        self._max = verifier.config.max_token_bytes
        self._on_event = on_event
        #: Cookie mode, or ``None`` (tokens only from ``Authorization``).
        self.cookies = cookies
        #: DPoP (``_sansio/dpop.py``): the app's mode; bound tokens refused as bearer in all.
        self.dpop = ResourceDPoP(dpop)
        #: Whether adapters may call :meth:`fast` (off when a check needs the whole request;
        #: with DPoP required, where no bearer token passes).
        self.fast_path = fast_path and not self.dpop.required
        #: Whether ``verifier.verify`` never waits for I/O (so ``fast`` may replace ``afast``).
        self.sync_safe = (
            type(verifier) is Verifier  # a subclass may wait in verify
            and verifier.revocation is None
            and isinstance(getattr(verifier, "_resolver", None), KeySet)
        )

    @property
    def realm(self) -> str:
        return self.verifier.config.realm

    def is_public(self, method: str, path: str) -> bool:
        """Whether this method and path need no token."""
        return (
            method in self.public_methods
            or path in self._exact
            or (bool(self._prefixes) and path.startswith(self._prefixes))
        )

    def _token(self, request: RequestInfo) -> tuple[str | None, bool, str]:
        """(token, came from a cookie, scheme: ``"bearer"`` or ``"dpop"``)."""
        header = request.authorization
        if header == MULTIPLE:
            raise InvalidRequestError("send one authorization header, not several")
        if header is not None:
            token, scheme = read_authorization(header, max_length=self._max)
            self.dpop.admit(scheme)
            return token, False, scheme
        if request.alt_token is not None:
            token = extract_bearer("Bearer " + request.alt_token, max_length=self._max)
            self.dpop.admit(BEARER)
            return token, False, BEARER
        if self.cookies is not None and request.cookie:
            value = self.cookies.parse(request.cookie).get(self.cookies.access_name)
            if value:
                token = extract_bearer("Bearer " + value, max_length=self._max)
                self.dpop.admit(BEARER)
                return token, True, BEARER
        return None, False, BEARER

    def _plan(self, request: RequestInfo) -> tuple[str | None, bool, bool, str]:
        """(token or None, public, from cookie, scheme). Raises when the request cannot pass."""
        if request.preflight:
            return None, True, False, BEARER
        public = self.is_public(request.method, request.path)
        try:
            token, from_cookie, scheme = self._token(request)
        except MissingTokenError:
            token, from_cookie, scheme = None, False, BEARER
        except AuthError:
            if public:
                return None, True, False, BEARER
            raise
        if token is None and not public and self.mode == "required":
            raise MissingTokenError()
        return token, public, from_cookie, scheme

    def _checked(self, principal: Principal, request: RequestInfo, from_cookie: bool) -> Principal:
        """The CSRF and websocket origin checks of cookie mode (a no-op otherwise)."""
        if from_cookie and self.cookies is not None:
            if request.origin_refused is not None:
                raise WebSocketOriginError(request.origin_refused)
            self.cookies.check_csrf(principal, request.method, request.csrf)
        return principal

    def authenticate(self, request: RequestInfo) -> Principal | None:
        """The principal, ``None`` when none is needed, or an :class:`AuthError`."""
        try:
            token, public, from_cookie, scheme = self._plan(request)
            if token is None:
                return None
            try:
                principal = self._checked(self.verifier.verify(token), request, from_cookie)
                self.dpop.check(principal, scheme, token, request.dpop, request.method,
                                request.url)
                return principal
            except AuthError:
                if public:
                    return None
                raise
        except AuthError as exc:
            self.report(exc, request.method, request.path)
            self.dpop.challenge(exc, self.realm, header_scheme(request.authorization))
            raise

    async def aauthenticate(self, request: RequestInfo) -> Principal | None:
        """Async form of :meth:`authenticate`: never blocks the event loop."""
        try:
            token, public, from_cookie, scheme = self._plan(request)
            if token is None:
                return None
            try:
                principal = await self.verifier.averify(token)
                if from_cookie:
                    self._checked(principal, request, from_cookie)
                await self.dpop.acheck(principal, scheme, token, request.dpop, request.method,
                                       request.url)
                return principal
            except AuthError:
                if public:
                    return None
                raise
        except AuthError as exc:
            self.report(exc, request.method, request.path)
            self.dpop.challenge(exc, self.realm, header_scheme(request.authorization))
            raise

    def fast(self, method: str, path: str, authorization: str) -> Fast:
        """The fast path for a request whose one ``Authorization`` header is
        ``authorization`` (not a preflight, not a websocket): the principal, ``None`` (a
        bad token on a public path), an :class:`AuthError`, or :data:`FALLBACK`."""
        if not authorization.startswith("Bearer ") and authorization[:7].lower() != "bearer ":
            return FALLBACK
        token = authorization[7:]
        if len(token) > self._max:  # extract_bearer refuses it: let the general path say so
            return FALLBACK
        try:
            principal = self.verifier.verify(token)
        except AuthError as exc:
            return self._fast_refusal(exc, method, path, authorization, token)
        return FALLBACK if _CONFIRMATION in principal.claims else principal

    async def afast(self, method: str, path: str, authorization: str) -> Fast:
        """Async form of :meth:`fast`."""
        if not authorization.startswith("Bearer ") and authorization[:7].lower() != "bearer ":
            return FALLBACK
        token = authorization[7:]
        if len(token) > self._max:
            return FALLBACK
        try:
            principal = await self.verifier.averify(token)
        except AuthError as exc:
            return self._fast_refusal(exc, method, path, authorization, token)
        return FALLBACK if _CONFIRMATION in principal.claims else principal

    def _fast_refusal(
        self, exc: AuthError, method: str, path: str, authorization: str, token: str
    ) -> Fast:
        """The general path's answer to a token the fast path could not verify."""
        try:
            same = extract_bearer(authorization, max_length=self._max) == token
        except AuthError:
            same = False
        if not same:  # the general path reads the header otherwise: let it answer
            return FALLBACK
        if self.is_public(method, path):
            return None
        self.report(exc, method, path)
        self.dpop.challenge(exc, self.realm, BEARER)
        raise exc

    def report(self, exc: AuthError, method: str, path: str, subject: str | None = None) -> None:
        """Log a rejection and pass it to the ``on_event`` hook (whose errors are logged)."""
        logger.info("rejected %s %s: %d %s", method, path, exc.status, exc.reason)
        if self._on_event is not None:
            try:
                self._on_event(AuthEvent(exc.reason, exc.status, method, path, subject))
            except Exception:
                logger.exception("the on_event hook raised")


def build_authenticator(
    config: Config | None,
    verifier: Verifier | None,
    *,
    mode: str,
    public_paths: Iterable[str],
    public_methods: Iterable[str],
    on_event: Callable[[AuthEvent], None] | None,
    cookies: CookiePolicy | None = None,
    fast_path: bool = True,
    metrics: Any = None,
    dpop: DPoPPolicy | None = None,
) -> Authenticator:
    """Shared by both adapters: one of ``config`` or ``verifier``; with ``metrics``, a
    policy that reports each verification (``_sansio/measured.py``)."""
    if verifier is None:
        if config is None:
            raise ConfigurationError("pass config= (a Config) or verifier= (a Verifier)")
        verifier = Verifier(config)
    elif config is not None:
        raise ConfigurationError("pass config= or verifier=, not both")
    from .measured import policy_factory  # imports this module

    return policy_factory(metrics)(
        verifier,
        mode=mode,
        public_paths=public_paths,
        public_methods=public_methods,
        on_event=on_event,
        cookies=cookies,
        fast_path=fast_path,
        dpop=dpop,
    )
