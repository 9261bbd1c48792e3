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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from .._core.bearer import extract_bearer
from .._core.config import Config
from .._core.errors import AuthError, ConfigurationError, InvalidRequestError, MissingTokenError
from .._core.principal import Principal
from .._core.verify import Verifier
from .._lifecycle.cookies import CookiePolicy, WebSocketOriginError

__all__ = ["AuthEvent", "Authenticator", "RequestInfo", "build_authenticator"]

logger = logging.getLogger("jwt_middleware")

MODES = ("required", "optional")
#: The namespaced key of the principal in the ASGI scope and the WSGI environ.
PRINCIPAL_KEY = "jwt_middleware.principal"
MULTIPLE = "\x00multiple"  # marks several Authorization headers


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
        "mode",
        "public_methods",
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

    def _token(self, request: RequestInfo) -> tuple[str | None, bool]:
        """(token, came from a cookie)."""
        header = request.authorization
        if header == MULTIPLE:
            raise InvalidRequestError("send one authorization header, not several")
        if header is not None:
            return extract_bearer(header, max_length=self._max), False
        if request.alt_token is not None:
            return extract_bearer("Bearer " + request.alt_token, max_length=self._max), False
        if self.cookies is not None and request.cookie:
            value = self.cookies.parse(request.cookie).get(self.cookies.access_name)
            if value:
                return extract_bearer("Bearer " + value, max_length=self._max), True
        return None, False

    def _plan(self, request: RequestInfo) -> tuple[str | None, bool, bool]:
        """(token or None, public, from cookie). Raises when the request cannot pass."""
        if request.preflight:
            return None, True, False
        public = self.is_public(request.method, request.path)
        try:
            token, from_cookie = self._token(request)
        except MissingTokenError:
            token, from_cookie = None, False
        except AuthError:
            if public:
                return None, True, False
            raise
        if token is None and not public and self.mode == "required":
            raise MissingTokenError()
        return token, public, from_cookie

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
            token, public, from_cookie = self._plan(request)
            if token is None:
                return None
            try:
                return self._checked(self.verifier.verify(token), request, from_cookie)
            except AuthError:
                if public:
                    return None
                raise
        except AuthError as exc:
            self.report(exc, request.method, request.path)
            raise

    async def aauthenticate(self, request: RequestInfo) -> Principal | None:
        """Async form of :meth:`authenticate`: never blocks the event loop."""
        try:
            token, public, from_cookie = self._plan(request)
            if token is None:
                return None
            try:
                principal = await self.verifier.averify(token)
                if from_cookie:
                    return self._checked(principal, request, from_cookie)
                return principal
            except AuthError:
                if public:
                    return None
                raise
        except AuthError as exc:
            self.report(exc, request.method, request.path)
            raise

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
) -> Authenticator:
    """Shared by both adapters: one of ``config`` or ``verifier``."""
    if verifier is None:
        if config is None:
            raise ConfigurationError("pass config= (a Config) or verifier= (a Verifier)")
        verifier = Verifier(config)
    elif config is not None:
        raise ConfigurationError("pass config= or verifier=, not both")
    return Authenticator(
        verifier,
        mode=mode,
        public_paths=public_paths,
        public_methods=public_methods,
        on_event=on_event,
        cookies=cookies,
    )
