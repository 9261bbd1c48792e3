"""The transport policy in the adapters and integrations: where each one applies it.

Every adapter that reads a token (the ASGI and WSGI middleware, the Flask hook, the
Starlette backend, FastAPI's ``JWTBearer``) takes ``transport=`` (a
:class:`~jwt_middleware.TransportPolicy`; Flask reads ``JWT_REQUIRE_HTTPS``, ... from
``app.config`` without one) and, at the very start of a request, before the fast path and
before any token is read or verified:

* puts the policy in the scope / environ (:data:`TRANSPORT_KEY`) and, when it has any, the
  trusted proxies (:data:`TRUSTED_PROXIES_KEY`), the seams DPoP reads to work out a
  proof's ``htu`` (the public URL) and the token routes the client's address;
* refuses a token over plain HTTP (:class:`HTTPSRequiredError`, 400 ``invalid_request``)
  and malformed forwarding headers from a trusted proxy (400);
* over HTTPS, adds ``Strict-Transport-Security`` to the response when configured (the
  middleware wrap ``send`` / ``start_response``; Flask adds it in an ``after_request``
  hook from :data:`HSTS_KEY`).

The token routes (login, refresh, logout) carry a password or a refresh token in their
body, so over plain HTTP they are refused whatever the request's headers
(:func:`check_route_scope`, :func:`check_route_environ`), by the policy the adapter in
front put in the scope / environ. At start-up, :func:`transport_option` checks the policy
against the cookie policy where both meet (cookie mode with ``require_https`` needs
``Secure`` cookies).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

from .._core.errors import AuthError, ConfigurationError
from .._lifecycle.binding import TRUSTED_PROXIES_KEY
from .._lifecycle.cookies import CookiePolicy
from .authenticator import Authenticator
from .transport import (
    TRANSPORT_KEY,
    HTTPSRequiredError,
    Send,
    TransportPolicy,
    check_environ,
    check_scope,
    hsts_start_response,
    info_from_environ,
    info_from_scope,
    with_hsts,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse

__all__ = [
    "HSTS_KEY",
    "HTTPSRequiredError",
    "TRANSPORT_KEY",
    "TRUSTED_PROXIES_KEY",
    "TransportPolicy",
    "check_route_environ",
    "check_route_scope",
    "environ_transport",
    "mark",
    "scope_transport",
    "transport_gate",
    "transport_option",
    "wsgi_transport",
]

#: Flask: the ``Strict-Transport-Security`` value for this request's response (environ).
HSTS_KEY = "jwt_middleware.hsts"
_SECURE = frozenset(("https", "wss"))


def transport_option(
    transport: object, cookies: CookiePolicy | None = None
) -> TransportPolicy | None:
    """A ``transport=`` keyword checked at start-up: a :class:`TransportPolicy` or
    ``None``; with cookie mode, ``require_https`` needs ``Secure`` cookies."""
    if transport is None:
        return None
    if not isinstance(transport, TransportPolicy):
        raise ConfigurationError(
            "transport must be a jwt_middleware.TransportPolicy (or None), such as "
            "TransportPolicy(require_https=True) or transport_policy_from_mapping(os.environ)"
        )
    transport.check_cookies(cookies)
    return transport


def mark(policy: TransportPolicy, request: MutableMapping[str, Any]) -> None:
    """Put ``policy`` (and its trusted proxies, when it has any) in a scope or environ."""
    request[TRANSPORT_KEY] = policy
    if policy.trusted_proxies:
        request[TRUSTED_PROXIES_KEY] = policy.trusted_proxies


def _tls_direct(policy: TransportPolicy, scheme: object, peer: str | None) -> bool:
    """The common case, decided without reading the headers: the connection is TLS and its
    peer is no trusted proxy, so forwarding headers are ignored and the client used HTTPS
    (what :meth:`TransportPolicy.check` would find, at a fraction of the cost)."""
    if scheme not in _SECURE:
        return False
    proxies = policy.trusted_proxies
    return not proxies or peer not in proxies


def scope_transport(
    policy: TransportPolicy,
    scope: MutableMapping[str, Any],
    authenticator: Authenticator,
    query_param: str | None = None,
) -> str | None:
    """ASGI, first thing: mark the scope, refuse a token over plain HTTP (raises, after
    reporting it to ``authenticator``); the HSTS value over HTTPS, else ``None``."""
    mark(policy, scope)
    if not policy.active:
        return None
    client = scope.get("client")
    if _tls_direct(policy, scope.get("scheme"), client[0] if client else None):
        return policy.hsts
    try:
        return check_scope(policy, scope, cookies=authenticator.cookies, query_param=query_param)
    except AuthError as exc:
        authenticator.report(exc, scope.get("method", "GET"), scope["path"])
        raise


class _Gated(Protocol):
    """What :func:`transport_gate` needs of the ASGI middleware."""

    authenticator: Authenticator
    query_param: str | None
    transport: TransportPolicy | None

    def _refuse(
        self, scope: Any, receive: Any, send: Any, exc: AuthError, /
    ) -> Awaitable[None]: ...


async def transport_gate(
    middleware: _Gated, scope: MutableMapping[str, Any], receive: Any, send: Send
) -> Send | None:
    """The ASGI middleware's first step: :func:`scope_transport`, and ``send`` (adding
    HSTS over HTTPS when configured); or the refusal, sent, and ``None``."""
    policy = middleware.transport
    if policy is None:
        return send
    try:
        hsts = scope_transport(policy, scope, middleware.authenticator, middleware.query_param)
    except AuthError as exc:
        await middleware._refuse(scope, receive, send, exc)
        return None
    return send if hsts is None else with_hsts(send, hsts)


def environ_transport(
    policy: TransportPolicy, environ: MutableMapping[str, Any], authenticator: Authenticator
) -> str | None:
    """WSGI, first thing: mark the environ, refuse a token over plain HTTP (raises, after
    reporting it to ``authenticator``); the HSTS value over HTTPS, else ``None``."""
    mark(policy, environ)
    if not policy.active:
        return None
    if _tls_direct(policy, environ.get("wsgi.url_scheme"), environ.get("REMOTE_ADDR")):
        return policy.hsts
    try:
        return check_environ(policy, environ, cookies=authenticator.cookies)
    except AuthError as exc:
        authenticator.report(
            exc, environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "") or "/"
        )
        raise


def wsgi_transport(
    policy: TransportPolicy,
    environ: MutableMapping[str, Any],
    start_response: StartResponse,
    authenticator: Authenticator,
) -> StartResponse:
    """:func:`environ_transport`, and ``start_response`` adding HSTS when it applies."""
    hsts = environ_transport(policy, environ, authenticator)
    return start_response if hsts is None else hsts_start_response(start_response, hsts)


def _route_policy(request: Mapping[str, Any]) -> TransportPolicy | None:
    policy = request.get(TRANSPORT_KEY)
    if isinstance(policy, TransportPolicy) and policy.require_https:
        return policy
    return None


def check_route_scope(scope: Mapping[str, Any]) -> None:
    """A token route (its body holds a password or a refresh token) over plain HTTP:
    :class:`HTTPSRequiredError`, by the policy in the scope (none: nothing to check)."""
    policy = _route_policy(scope)
    if policy is not None:
        policy.check(info_from_scope(scope), carries_token=True)


def check_route_environ(environ: Mapping[str, Any]) -> None:
    """:func:`check_route_scope` for a WSGI environ."""
    policy = _route_policy(environ)
    if policy is not None:
        policy.check(info_from_environ(environ), carries_token=True)
