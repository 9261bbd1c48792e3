"""Cookie mode: tokens in HttpOnly cookies, with CSRF double-submit protection.

Off unless configured. When on, the access token may come from a cookie as
well as from ``Authorization`` (the header wins when both are sent).

* access cookie (``access_token``): HttpOnly, Secure, SameSite=Lax, path ``/``;
* refresh cookie (``refresh_token``): HttpOnly, Secure, SameSite=Lax, scoped
  to ``refresh_path`` (``/auth`` by default: the refresh and logout routes);
* CSRF cookie (``csrf_token``): readable by the page's JavaScript, which
  echoes it in the ``X-CSRF-Token`` header on unsafe methods.

The CSRF value is also a claim (``csrf``) of the tokens it came with, so the
check compares the header with the *signed* value: a cookie planted by a
sibling subdomain cannot forge it. A request whose token came from a cookie
and whose method is not GET, HEAD or OPTIONS is refused (403) without a
matching header, with a message that says what is missing.

Websockets cannot carry the CSRF header (a browser sets no headers on the
handshake) but do carry the cookies, from any page of the same site under
``SameSite=Lax`` and from any site under ``SameSite=None``. So a websocket
whose token came from the cookie must come from an allowed origin: the
request's own (``ws://`` -> ``http://``, ``wss://`` -> ``https://``, plus
its ``Host``) or one of ``websocket_origins``; anything else, a missing
``Origin`` included, is refused (403, :class:`WebSocketOriginError`).
Origins are compared whole (scheme, host and port, lower-cased), never by
prefix or suffix.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from functools import cached_property
from http.cookies import CookieError, SimpleCookie

from .._core.errors import AuthorizationError, ConfigurationError
from .._core.principal import Principal

__all__ = ["CSRF_CLAIM", "CSRFError", "CookiePolicy", "WebSocketOriginError", "normalize_origin"]

#: The claim holding the CSRF value of cookie-mode tokens.
CSRF_CLAIM = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# scheme://host[:port], the serialization of RFC 6454 (lower-cased first).
_ORIGIN = re.compile(r"(https?)://(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::([0-9]{1,5}))?", re.ASCII)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normalize_origin(text: str) -> str | None:
    """``scheme://host[:port]`` lower-cased, without a default port; ``None``
    when ``text`` is not an http(s) origin (``null``, a path, user info...)."""
    match = _ORIGIN.fullmatch(text.strip().lower())
    if match is None:
        return None
    scheme, host, port = match.groups()
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    if not 0 < int(port) < 65536:
        return None
    return f"{scheme}://{host}:{int(port)}"


class CSRFError(AuthorizationError):
    """403: a cookie-authenticated unsafe request without the matching CSRF header."""

    error = "invalid_request"
    reason = "csrf"
    default_description = "the CSRF header does not match"


class WebSocketOriginError(AuthorizationError):
    """403: a websocket authenticated by the cookie, opened by a page of another origin."""

    error = "invalid_request"
    reason = "websocket_origin"
    default_description = "this origin may not open a websocket with the cookie"


@dataclass(frozen=True, kw_only=True)
class CookiePolicy:
    """Names and attributes of the three cookies, and the CSRF header.

    ``websocket_origins``: origins (``"https://app.example"``), besides the
    request's own, whose pages may open a websocket authenticated by the
    cookie. Exact origins only: no wildcards.
    """

    access_name: str = "access_token"
    refresh_name: str = "refresh_token"
    csrf_name: str = "csrf_token"
    csrf_header: str = "X-CSRF-Token"
    secure: bool = True
    samesite: str = "Lax"
    domain: str | None = None
    path: str = "/"
    refresh_path: str = "/auth"
    websocket_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.samesite not in ("Lax", "Strict", "None"):
            raise ConfigurationError('cookie samesite must be "Lax", "Strict" or "None"')
        if self.samesite == "None" and not self.secure:
            raise ConfigurationError("SameSite=None cookies must be Secure")
        names = (self.access_name, self.refresh_name, self.csrf_name)
        if len(set(names)) != 3 or not all(n.isidentifier() for n in names):
            raise ConfigurationError("the three cookie names must be distinct identifiers")
        if not self.path.startswith("/") or not self.refresh_path.startswith("/"):
            raise ConfigurationError("cookie paths start with '/'")
        origins = self.websocket_origins
        if isinstance(origins, str):
            raise ConfigurationError("websocket_origins is a tuple of origins, not a string")
        normalized = []
        for origin in origins:
            found = normalize_origin(origin) if isinstance(origin, str) else None
            if found is None:
                raise ConfigurationError(
                    f"websocket_origins: {origin!r} is not an origin: write "
                    "scheme://host[:port] (http or https), without a path or wildcard"
                )
            normalized.append(found)
        object.__setattr__(self, "websocket_origins", tuple(dict.fromkeys(normalized)))

    @cached_property
    def csrf_environ_key(self) -> str:
        """The CSRF header's WSGI environ key (``HTTP_X_CSRF_TOKEN``), computed once."""
        return "HTTP_" + self.csrf_header.upper().replace("-", "_")

    def check_routes_at(self, path: str, setting: str = "refresh_path") -> None:
        """At start-up: the refresh cookie's path must cover the token routes mounted at
        ``path``, or the browser never sends it to refresh and logout. ``setting`` is the
        name the message tells the user to change (``JWT_REFRESH_PATH`` from settings)."""
        if not (path.rstrip("/") + "/").startswith(self.refresh_path.rstrip("/") + "/"):
            raise ConfigurationError(
                f"the token routes are under {path!r} but the refresh cookie's path is "
                f"{self.refresh_path!r}: the browser would not send it there (set {setting} "
                "or mount the routes under it)"
            )

    # --- reading ------------------------------------------------------------------

    @staticmethod
    def parse(cookie_header: str | None) -> dict[str, str]:
        """A ``Cookie`` header as a dict (a malformed header counts as no cookies)."""
        if not cookie_header:
            return {}
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in jar.items()}

    def check_csrf(self, principal: Principal, method: str, header: str | None) -> None:
        """Refuse an unsafe cookie-authenticated request without the matching header."""
        if method in SAFE_METHODS:
            return
        expected = principal.claims.get(CSRF_CLAIM)
        if not header:
            raise CSRFError(f"missing CSRF header {self.csrf_header}")
        if not isinstance(expected, str) or not hmac.compare_digest(
            header.encode(), expected.encode()
        ):
            raise CSRFError(f"the CSRF header {self.csrf_header} does not match")

    # --- writing ------------------------------------------------------------------

    @staticmethod
    def new_csrf() -> str:
        return secrets.token_urlsafe(24)

    def _cookie(self, name: str, value: str, max_age: int, path: str, http_only: bool) -> str:
        parts = [
            f"{name}={value}",
            f"Path={path}",
            f"Max-Age={max_age}",
            f"SameSite={self.samesite}",
        ]
        if http_only:
            parts.append("HttpOnly")
        if self.secure:
            parts.append("Secure")
        if self.domain:
            parts.append(f"Domain={self.domain}")
        return "; ".join(parts)

    def set_cookies(
        self, access: str, refresh: str, csrf: str, access_ttl: int, refresh_ttl: int
    ) -> list[str]:
        """``Set-Cookie`` values for a login or a refresh."""
        return [
            self._cookie(self.access_name, access, access_ttl, self.path, True),
            self._cookie(self.refresh_name, refresh, refresh_ttl, self.refresh_path, True),
            self._cookie(self.csrf_name, csrf, refresh_ttl, self.path, False),
        ]

    def clear_cookies(self) -> list[str]:
        """``Set-Cookie`` values that delete the three cookies (logout)."""
        return [
            self._cookie(self.access_name, "", 0, self.path, True),
            self._cookie(self.refresh_name, "", 0, self.refresh_path, True),
            self._cookie(self.csrf_name, "", 0, self.path, False),
        ]
