"""Publishing verification keys: ``/.well-known/jwks.json`` and a discovery document.

An issuer that signs with asymmetric keys lets other services verify its
tokens by publishing the public keys (RFC 7517 JWKS) and, optionally, a
minimal metadata document naming its ``issuer`` and ``jwks_uri`` (OpenID
Connect Discovery 1.0 and RFC 8414 both read those two members)::

    ring = KeyRing.load("/etc/auth/keys")
    publisher = JWKSPublisher(ring, issuer="https://auth.example.com")
    publisher.jwks()       # -> Document(200, body, headers), the public keys
    publisher.discovery()  # -> {"issuer": ..., "jwks_uri": ...} as a Document

This module is framework-free; the ready routes are
``jwt_middleware.flask.jwks_blueprint``, ``jwt_middleware.starlette.jwks_routes``
and ``jwt_middleware.fastapi.jwks_router``.

Caching: the JWKS is sent with ``Cache-Control: public, max-age=N`` (300 s
by default). A verifier may keep it that long, so give a key ring's
rotations an ``activate_after`` longer than ``max_age``: the new key is
published at once but signs only once every cache has had time to learn it.
Verifiers using :class:`~jwt_middleware.jwks.JWKSClient` also refetch at once
when a token names a ``kid`` they do not know (at most once per cooldown), so
with them even ``activate_after=0`` works.

The paths must be public: list :data:`WELL_KNOWN_PATHS` in the middleware's
``public_paths`` (Starlette, FastAPI) or mount the routes outside the
middleware. The Flask blueprint marks its views public itself.

Security: only public key members are ever served. Whatever the source
returns, symmetric keys (``kty: oct``) are left out and the private members
(``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth``, ``k``) are removed.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from .._core.errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_AGE",
    "DISCOVERY_PATHS",
    "JWKS_PATH",
    "PRIVATE_MEMBERS",
    "WELL_KNOWN_PATHS",
    "Document",
    "JWKSPublisher",
    "JWKSSource",
    "public_only",
]

#: Where the key set is served.
JWKS_PATH = "/.well-known/jwks.json"
#: Where the discovery document is served (OpenID Connect Discovery, then RFC 8414).
DISCOVERY_PATHS = (
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
)
#: Every path the publishing routes serve: list them in the middleware's ``public_paths``.
WELL_KNOWN_PATHS = (JWKS_PATH, *DISCOVERY_PATHS)
#: Seconds a verifier may cache the JWKS (``Cache-Control: max-age``).
DEFAULT_MAX_AGE = 300
#: JWK members that hold private or secret material: never published.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

_MAX_AGE_LIMIT = 7 * 24 * 3600


@runtime_checkable
class JWKSSource(Protocol):
    """Anything with ``public_jwks()``: a :class:`~jwt_middleware.KeySet` or a
    :class:`~jwt_middleware.KeyRing`."""

    def public_jwks(self) -> Mapping[str, Any]:
        """The JWKS document to publish."""


@dataclass(frozen=True)
class Document:
    """A ready HTTP answer: status, JSON body bytes and headers (content type included)."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def json(self) -> Any:
        """The body, parsed (for tests and logs)."""
        return json.loads(self.body)


def public_only(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """``jwks`` with only public keys and public members (a defensive copy).

    Keys that are not JSON objects, have no ``kty`` or are symmetric
    (``oct``) are dropped; private members are removed from the others.
    """
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, (list, tuple)):
        raise ConfigurationError("the key source's public_jwks() has no 'keys' list")
    published = []
    for key in keys:
        if not isinstance(key, Mapping) or not isinstance(key.get("kty"), str):
            continue
        if key["kty"] == "oct":
            continue
        published.append({k: v for k, v in key.items() if k not in PRIVATE_MEMBERS})
    return {"keys": published}


def _check_max_age(max_age: object) -> int:
    if (
        isinstance(max_age, bool)
        or not isinstance(max_age, int)
        or not 0 <= max_age <= _MAX_AGE_LIMIT
    ):
        raise ConfigurationError(f"max_age must be whole seconds from 0 to {_MAX_AGE_LIMIT}")
    return max_age


def _check_issuer(issuer: object) -> str:
    if not isinstance(issuer, str) or not issuer:
        raise ConfigurationError("issuer must be the issuer's identifier, an https:// URL")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"issuer {issuer!r} must be an https:// URL with a host")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"issuer {issuer!r} must have no query or #fragment")
    return issuer


class JWKSPublisher:
    """What to serve for one key source, and optionally one issuer.

    ``source``: a :class:`~jwt_middleware.KeySet`, a :class:`~jwt_middleware.KeyRing`,
    or anything with ``public_jwks()``; it is asked on every request, so a
    ring's rotations show at once. ``issuer`` (optional): enables
    :meth:`discovery`; ``jwks_uri`` defaults to ``issuer`` + ``/.well-known/jwks.json``.
    ``metadata``: further discovery members (such as ``token_endpoint``).
    ``reload_every`` (seconds, for a ring): re-read its directory at most
    this often, to show a rotation made by another process (the CLI).
    """

    def __init__(
        self,
        source: JWKSSource,
        *,
        issuer: str | None = None,
        jwks_uri: str | None = None,
        max_age: int = DEFAULT_MAX_AGE,
        metadata: Mapping[str, Any] | None = None,
        reload_every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not callable(getattr(source, "public_jwks", None)):
            raise ConfigurationError(
                "publish a KeySet or a KeyRing (anything with public_jwks()), "
                f"not {type(source).__name__}"
            )
        self.source = source
        self.max_age = _check_max_age(max_age)
        self.issuer = None if issuer is None else _check_issuer(issuer)
        if jwks_uri is None and self.issuer is not None:
            jwks_uri = self.issuer.rstrip("/") + JWKS_PATH
        if jwks_uri is not None and urlsplit(jwks_uri).scheme not in ("https", "http"):
            raise ConfigurationError("jwks_uri must be an https:// URL")
        self.jwks_uri = jwks_uri
        extra = dict(metadata or {})
        clash = {"issuer", "jwks_uri"} & extra.keys()
        if clash:
            raise ConfigurationError(
                f"metadata cannot set {', '.join(sorted(clash))}: pass issuer= / jwks_uri="
            )
        self.metadata = extra
        if reload_every is not None and not (
            isinstance(reload_every, (int, float))
            and math.isfinite(reload_every)
            and reload_every >= 0
        ):
            raise ConfigurationError("reload_every must be zero or more seconds, or None")
        if reload_every is not None and not callable(getattr(source, "refresh", None)):
            raise ConfigurationError("reload_every needs a source with refresh(), a KeyRing")
        self.reload_every = reload_every
        self._clock = clock
        self._loaded_at = clock()
        self._lock = threading.Lock()
        # Fail at start-up, not on the first request, if the source cannot publish.
        public_only(source.public_jwks())

    def __repr__(self) -> str:
        return f"<JWKSPublisher issuer={self.issuer!r} max_age={self.max_age}>"

    def _maybe_reload(self) -> None:
        if self.reload_every is None:
            return
        now = self._clock()
        if now - self._loaded_at < self.reload_every:
            return
        with self._lock:
            if now - self._loaded_at >= self.reload_every:
                self.source.refresh()  # type: ignore[attr-defined]
                self._loaded_at = now

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS document served (public members only)."""
        self._maybe_reload()
        return public_only(self.source.public_jwks())

    def jwks(self) -> Document:
        """The ``/.well-known/jwks.json`` answer."""
        body = json.dumps(self.public_jwks(), separators=(",", ":")).encode()
        return Document(200, body, self._headers(self.max_age))

    def discovery_document(self) -> dict[str, Any]:
        """``{"issuer", "jwks_uri", ...metadata}``. Needs ``issuer=``."""
        if self.issuer is None or self.jwks_uri is None:
            raise ConfigurationError("the discovery document needs issuer=")
        return {"issuer": self.issuer, "jwks_uri": self.jwks_uri, **self.metadata}

    def discovery(self) -> Document:
        """The ``/.well-known/openid-configuration`` (and RFC 8414) answer."""
        body = json.dumps(self.discovery_document(), separators=(",", ":")).encode()
        return Document(200, body, self._headers(self.max_age))

    @staticmethod
    def _headers(max_age: int) -> tuple[tuple[str, str], ...]:
        return (
            ("Content-Type", "application/json"),
            ("Cache-Control", f"public, max-age={max_age}"),
        )
