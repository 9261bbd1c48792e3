"""HTTPS enforcement and HSTS: :class:`TransportPolicy`, and reading a request's transport.

::

    policy = TransportPolicy(require_https=True, trusted_proxies="10.0.0.0/8, ::1",
                             hsts_max_age=31536000)
    hsts = policy.check(info_from_scope(scope), carries_token=True)  # raises, or the HSTS value
    url = public_url(info_from_environ(environ), policy.trusted_proxies)  # DPoP's htu

The scheme is the one the client used, as :mod:`._sansio.proxies` decides it: forwarding
headers count only from a trusted proxy.

**require_https.** A request that carries a token (an ``Authorization`` header, a
websocket token or the access cookie) over plain HTTP is refused with 400
``invalid_request`` (:class:`HTTPSRequiredError`, naming ``JWT_REQUIRE_HTTPS``) before the
token is verified. 400 because RFC 6750 makes TLS part of the bearer protocol (§5.3) and
``invalid_request`` is its code for a request not made the way the protocol says, with
status 400 (§3.1); not 401, which would send the client for another token to leak the
same way, nor 403, which here means "valid token, not enough rights". Development on
one machine keeps working: a peer on loopback (127.0.0.0/8, ``::1``) may use HTTP
(``allow_loopback_http``), unless it is a trusted proxy or sends forwarding headers (a
proxy on the same machine): a request forwarded by a local proxy is judged on the
forwarded scheme, never on the proxy's loopback address.

**HSTS.** ``hsts_max_age`` (seconds; ``0`` tells browsers to forget) adds
``Strict-Transport-Security`` to responses sent over HTTPS, never over HTTP
(RFC 6797 §7.2).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from .._core.errors import ConfigurationError
from .._core.settings import _BOOL, _bool, _found, _int, _wrong_form
from .._lifecycle.cookies import CookiePolicy
from .proxies import (
    Effective,
    ForwardedHeaderError,
    HostHeaderError,
    TransportError,
    TransportInfo,
    TrustedProxies,
    is_loopback,
    public_url,
    resolve,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

__all__ = [
    "Effective",
    "ForwardedHeaderError",
    "HTTPSRequiredError",
    "HostHeaderError",
    "TRANSPORT_KEY",
    "TransportError",
    "TransportInfo",
    "TransportPolicy",
    "TrustedProxies",
    "check_environ",
    "check_scope",
    "environ_url",
    "hsts_start_response",
    "info_from_environ",
    "info_from_scope",
    "public_url",
    "resolve",
    "scope_url",
    "transport_policy_from_mapping",
    "with_hsts",
]


class HTTPSRequiredError(TransportError):
    """400: a token over plain HTTP while ``require_https`` (``JWT_REQUIRE_HTTPS``) is on."""

    reason = "https_required"
    default_description = "HTTPS is required (JWT_REQUIRE_HTTPS): send tokens over https only"


# --- the policy --------------------------------------------------------------------------


class TransportPolicy:
    """HTTPS enforcement, trusted proxies and HSTS, checked once at start-up.

    ``require_https``: refuse a token over plain HTTP (400). ``trusted_proxies``:
    :class:`TrustedProxies` or what it takes. ``allow_loopback_http``: let a direct
    loopback peer use HTTP (development). ``hsts_max_age``: seconds of
    ``Strict-Transport-Security`` on HTTPS responses (``None``: no header);
    ``hsts_include_subdomains`` adds ``includeSubDomains``.
    """

    __slots__ = (
        "allow_loopback_http",
        "hsts",
        "hsts_include_subdomains",
        "hsts_max_age",
        "require_https",
        "trusted_proxies",
    )

    def __init__(
        self,
        *,
        require_https: bool = False,
        trusted_proxies: TrustedProxies | str | Iterable[Any] = (),
        allow_loopback_http: bool = True,
        hsts_max_age: int | None = None,
        hsts_include_subdomains: bool = False,
    ) -> None:
        for name, value in (
            ("require_https", require_https),
            ("allow_loopback_http", allow_loopback_http),
            ("hsts_include_subdomains", hsts_include_subdomains),
        ):
            if not isinstance(value, bool):
                raise ConfigurationError(f"{name} must be true or false")
        if hsts_max_age is not None and (
            isinstance(hsts_max_age, bool) or not isinstance(hsts_max_age, int) or hsts_max_age < 0
        ):
            raise ConfigurationError(
                "hsts_max_age must be a whole number of seconds (e.g. 31536000), "
                "0 to tell browsers to forget, or None"
            )
        if hsts_include_subdomains and hsts_max_age is None:
            raise ConfigurationError("hsts_include_subdomains needs hsts_max_age")
        self.require_https = require_https
        self.trusted_proxies = TrustedProxies(trusted_proxies)
        self.allow_loopback_http = allow_loopback_http
        self.hsts_max_age = hsts_max_age
        self.hsts_include_subdomains = hsts_include_subdomains
        #: The ``Strict-Transport-Security`` value, or ``None``.
        self.hsts: str | None = None
        if hsts_max_age is not None:
            self.hsts = f"max-age={hsts_max_age}" + (
                "; includeSubDomains" if hsts_include_subdomains else ""
            )

    @property
    def active(self) -> bool:
        """Whether :meth:`check` can do anything (else adapters skip it entirely)."""
        return self.require_https or self.hsts is not None

    def __repr__(self) -> str:
        return (
            f"TransportPolicy(require_https={self.require_https}, "
            f"trusted_proxies={self.trusted_proxies!r}, hsts={self.hsts!r})"
        )

    def check(self, info: TransportInfo, *, carries_token: bool) -> str | None:
        """Raise :class:`HTTPSRequiredError` for a token over plain HTTP, or
        :class:`ForwardedHeaderError`; return the HSTS value for the response, or ``None``."""
        if not (self.require_https and carries_token) and self.hsts is None:
            return None
        seen = resolve(info, self.trusted_proxies)
        if seen.scheme == "https":
            return self.hsts
        if self.require_https and carries_token and not self._loopback_exempt(info):
            raise HTTPSRequiredError()
        return None

    def _loopback_exempt(self, info: TransportInfo) -> bool:
        return (
            self.allow_loopback_http
            and not info.has_forwarding
            and is_loopback(info.peer)
            and info.peer not in self.trusted_proxies
        )

    def check_cookies(self, cookies: CookiePolicy | None) -> None:
        """At start-up: cookie mode with ``require_https`` needs ``Secure`` cookies."""
        if cookies is not None and self.require_https and not cookies.secure:
            raise ConfigurationError(
                "require_https (JWT_REQUIRE_HTTPS) is on but the cookies are not Secure "
                "(JWT_COOKIE_SECURE / CookiePolicy(secure=False)): turn JWT_COOKIE_SECURE on, "
                "or JWT_REQUIRE_HTTPS off"
            )


_POLICY_SETTINGS = (
    ("REQUIRE_HTTPS", "require_https", _bool, _BOOL),
    ("ALLOW_LOOPBACK_HTTP", "allow_loopback_http", _bool, _BOOL),
    ("HSTS_MAX_AGE", "hsts_max_age", _int, "a whole number of seconds, e.g. 31536000"),
    ("HSTS_INCLUDE_SUBDOMAINS", "hsts_include_subdomains", _bool, _BOOL),
)


def transport_policy_from_mapping(
    mapping: Mapping[str, Any], prefix: str = "JWT_", *, cookies: CookiePolicy | None = None
) -> TransportPolicy:
    """``REQUIRE_HTTPS``, ``TRUSTED_PROXIES``, ``ALLOW_LOOPBACK_HTTP``, ``HSTS_MAX_AGE`` and
    ``HSTS_INCLUDE_SUBDOMAINS``; with ``cookies``, also checked against the cookie policy."""
    found = _found(mapping, prefix)
    options: dict[str, Any] = {}
    for name, keyword, parse, wanted in _POLICY_SETTINGS:
        value = found.get(name)
        if value is None or value == "":
            continue
        try:
            options[keyword] = parse(value)
        except (TypeError, ValueError):
            raise _wrong_form(prefix + name, wanted) from None
    options["trusted_proxies"] = TrustedProxies(
        found.get("TRUSTED_PROXIES") or (), label=prefix + "TRUSTED_PROXIES"
    )
    try:
        policy = TransportPolicy(**options)
    except ConfigurationError as exc:  # name the settings, not the keywords
        text = str(exc)
        for name, keyword, _, _ in _POLICY_SETTINGS:
            text = re.sub(rf"\b{keyword}\b", prefix + name, text)
        raise ConfigurationError(text) from None
    policy.check_cookies(cookies)
    return policy


# --- reading ASGI scopes and WSGI environs ---------------------------------------------

#: Where the adapters put their :class:`TransportPolicy` (ASGI scope, WSGI environ).
TRANSPORT_KEY = "jwt_middleware.transport"
_NO_PROXIES = TrustedProxies()
_PCHAR = "/:@!$&'()*+,;=~"  # kept as they are in a path (RFC 3986 pchar)
_ASGI_HEADERS = {
    b"host": "host",
    b"forwarded": "forwarded",
    b"x-forwarded-for": "x_forwarded_for",
    b"x-forwarded-proto": "x_forwarded_proto",
    b"x-forwarded-host": "x_forwarded_host",
}


def _scope_parts(
    scope: Mapping[str, Any], cookies: CookiePolicy | None, query_param: str | None
) -> tuple[TransportInfo, bool]:
    """One pass over the headers: the :class:`TransportInfo`, and whether a token came
    (``Authorization``, the access or refresh cookie, a websocket token)."""
    found: dict[str, str] = {}
    token = False
    jar: list[str] = []
    for name, value in scope["headers"]:
        field = _ASGI_HEADERS.get(name)
        if field is not None:
            text = value.decode("latin-1")
            found[field] = f"{found[field]}, {text}" if field in found else text
        elif name == b"authorization":
            token = True
        elif name == b"cookie" and cookies is not None:
            jar.append(value.decode("latin-1"))
        elif name == b"sec-websocket-protocol" and scope["type"] == "websocket":
            token = token or "bearer" in (p.strip() for p in value.decode("latin-1").split(","))
    if jar and cookies is not None:
        token = token or _has_token_cookie(cookies, "; ".join(jar))
    if query_param and scope["type"] == "websocket":
        query = scope.get("query_string", b"").decode("latin-1")
        token = token or query_param in dict(parse_qsl(query))
    client, server = scope.get("client"), scope.get("server")
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope.get("path") or "/", safe=_PCHAR)
    info = TransportInfo(
        client[0] if client else None,
        scope.get("scheme", "http"),
        server=f"{server[0]}:{server[1]}" if server and server[1] else None,
        path=path.partition("?")[0],
        **found,
    )
    return info, token


def _has_token_cookie(cookies: CookiePolicy, header: str | None) -> bool:
    jar = cookies.parse(header)
    return bool(jar.get(cookies.access_name) or jar.get(cookies.refresh_name))


def info_from_scope(scope: Mapping[str, Any]) -> TransportInfo:
    """The :class:`TransportInfo` of an ASGI ``http`` or ``websocket`` scope."""
    return _scope_parts(scope, None, None)[0]


def info_from_environ(environ: Mapping[str, Any]) -> TransportInfo:
    """The :class:`TransportInfo` of a WSGI environ (PEP 3333; the path as sent from
    ``RAW_URI`` or ``REQUEST_URI`` when the server gives one, as gunicorn and Werkzeug do)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if raw.startswith("/"):
        path = raw.partition("?")[0]
    else:
        path = quote(
            (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1"),
            safe=_PCHAR,
        )
    name, port = environ.get("SERVER_NAME"), environ.get("SERVER_PORT")
    return TransportInfo(
        environ.get("REMOTE_ADDR"),
        environ.get("wsgi.url_scheme", "http"),
        environ.get("HTTP_HOST"),
        environ.get("HTTP_FORWARDED"),
        environ.get("HTTP_X_FORWARDED_FOR"),
        environ.get("HTTP_X_FORWARDED_PROTO"),
        environ.get("HTTP_X_FORWARDED_HOST"),
        f"{name}:{port}" if name and port else name,
        path or "/",
    )


def _proxies(request: Mapping[str, Any], proxies: TrustedProxies | None) -> TrustedProxies:
    if proxies is not None:
        return proxies
    policy = request.get(TRANSPORT_KEY)
    return policy.trusted_proxies if isinstance(policy, TransportPolicy) else _NO_PROXIES


def scope_url(scope: Mapping[str, Any], proxies: TrustedProxies | None = None) -> str:
    """DPoP's ``htu`` for an ASGI scope: :func:`public_url` of :func:`info_from_scope`, with
    ``proxies`` or else the trusted proxies of the middleware's policy in the scope."""
    return public_url(info_from_scope(scope), _proxies(scope, proxies))


def environ_url(environ: Mapping[str, Any], proxies: TrustedProxies | None = None) -> str:
    """DPoP's ``htu`` for a WSGI environ, as :func:`scope_url` (the policy in the environ)."""
    return public_url(info_from_environ(environ), _proxies(environ, proxies))


# --- in the adapters -----------------------------------------------------------------------


def check_scope(
    policy: TransportPolicy,
    scope: Mapping[str, Any],
    *,
    cookies: CookiePolicy | None = None,
    query_param: str | None = None,
) -> str | None:
    """:meth:`TransportPolicy.check` for an ASGI scope (its tokens found in the same pass)."""
    info, token = _scope_parts(scope, cookies, query_param)
    return policy.check(info, carries_token=token)


def check_environ(
    policy: TransportPolicy, environ: Mapping[str, Any], *, cookies: CookiePolicy | None = None
) -> str | None:
    """:meth:`TransportPolicy.check` for a WSGI environ."""
    token = "HTTP_AUTHORIZATION" in environ or (
        cookies is not None and _has_token_cookie(cookies, environ.get("HTTP_COOKIE"))
    )
    return policy.check(info_from_environ(environ), carries_token=token)


_HSTS = b"strict-transport-security"
_STARTS = ("http.response.start", "websocket.http.response.start")


def with_hsts(send: Send, value: str) -> Send:
    """An ASGI ``send`` that adds ``Strict-Transport-Security`` to the response (unless the
    app set one)."""
    header = (_HSTS, value.encode("latin-1"))

    async def sending(message: MutableMapping[str, Any]) -> None:
        if message["type"] in _STARTS:
            headers = message.get("headers", ())
            for name, _ in headers:
                if name.lower() == _HSTS:
                    break
            else:
                message = {**message, "headers": [*headers, header]}
        await send(message)

    return sending


def hsts_start_response(start_response: StartResponse, value: str) -> StartResponse:
    """A WSGI ``start_response`` that adds ``Strict-Transport-Security`` (unless set)."""

    def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not any(name.lower() == "strict-transport-security" for name, _ in headers):
            headers = [*headers, ("Strict-Transport-Security", value)]
        return start_response(status, headers, exc_info)

    return starting
