"""Several trusted issuers, each with its own keys, audiences and algorithms.

The token's ``iss`` is read from the *unverified* payload for one purpose
only: to choose the entry. The chosen entry's :class:`Verifier` then does the
full verification, which checks ``iss`` again, exactly, after the signature.
A token from an issuer that is not listed is refused before any key is
looked up (so before any fetch).

Security: ``iss`` is never turned into a URL, and the ``jku`` and ``x5u``
headers are never fetched: every key source is configured here, up front.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._core.claims import ACCESS
from .._core.config import Config
from .._core.errors import (
    ConfigurationError,
    InvalidIssuerError,
    MissingClaimError,
    UnknownKeyError,
)
from .._core.jws import b64url_decode, json_object, split
from .._core.keys import Key
from .._core.keyset import KeySet
from .._core.principal import Principal
from .._core.protocols import KeyResolver, RevocationCheck
from .._core.verify import Verifier

__all__ = ["MultiIssuerVerifier", "TrustedIssuer"]


@dataclass(frozen=True)
class TrustedIssuer:
    """One trusted issuer: its exact ``iss``, where its keys come from, what it may say.

    ``keys`` is a :class:`KeySet`, a :class:`Key`, or a remote key source such
    as ``jwt_middleware.jwks.JWKSClient``. ``algorithms`` narrows the
    algorithms of ``keys`` (``None``: all of them). ``audience``: as in
    :class:`Config`.
    """

    issuer: str
    keys: KeyResolver | Key
    audience: str | tuple[str, ...] | None = None
    algorithms: tuple[str, ...] | None = None


class _Narrowed:
    """A key source limited to some algorithms."""

    __slots__ = ("_inner", "algorithms")

    def __init__(self, inner: KeyResolver, algorithms: frozenset[str]) -> None:
        self._inner = inner
        self.algorithms = algorithms

    def resolve(self, kid: str | None) -> Key:
        return self._check(self._inner.resolve(kid))

    async def aresolve(self, kid: str | None) -> Key:
        return self._check(await self._inner.aresolve(kid))

    def _check(self, key: Key) -> Key:
        if key.algorithm not in self.algorithms:
            raise UnknownKeyError()
        return key


class MultiIssuerVerifier:
    """Verifies tokens from any of several :class:`TrustedIssuer` entries.

    ``settings`` are the other :class:`Config` settings (``leeway``,
    ``clock``, ``required_claims``, ``token_type``...), shared by every entry.
    """

    __slots__ = ("_by_issuer", "_limit")

    def __init__(
        self,
        entries: Iterable[TrustedIssuer],
        *,
        revocation: RevocationCheck | None = None,
        **settings: Any,
    ) -> None:
        clash = {"keys", "issuer", "audience"} & settings.keys()
        if clash:
            raise ConfigurationError(
                f"{', '.join(sorted(clash))} are set per TrustedIssuer, not for all"
            )
        by_issuer: dict[str, Verifier] = {}
        for entry in entries:
            if not isinstance(entry, TrustedIssuer):
                raise ConfigurationError("MultiIssuerVerifier takes TrustedIssuer entries")
            if not isinstance(entry.issuer, str) or not entry.issuer:
                raise ConfigurationError("a TrustedIssuer needs a non-empty issuer string")
            if entry.issuer in by_issuer:
                raise ConfigurationError(f"the issuer {entry.issuer!r} is listed twice")
            source: KeyResolver = (
                KeySet([entry.keys]) if isinstance(entry.keys, Key) else entry.keys
            )
            if not isinstance(source, KeyResolver):
                raise ConfigurationError(
                    "TrustedIssuer.keys must be a KeySet, a Key or a key source (JWKSClient)"
                )
            if entry.algorithms is not None:
                allowed = frozenset(source.algorithms) & frozenset(entry.algorithms)
                if not allowed:
                    raise ConfigurationError(
                        f"issuer {entry.issuer!r}: none of its keys fits algorithms "
                        f"{list(entry.algorithms)}"
                    )
                source = _Narrowed(source, allowed)
            config = Config(keys=source, issuer=entry.issuer, audience=entry.audience, **settings)
            by_issuer[entry.issuer] = Verifier(config, revocation=revocation)
        if not by_issuer:
            raise ConfigurationError("no trusted issuer: list at least one TrustedIssuer")
        self._by_issuer = by_issuer
        self._limit = min(v.config.max_token_bytes for v in by_issuer.values())

    @property
    def issuers(self) -> tuple[str, ...]:
        """The trusted ``iss`` values."""
        return tuple(self._by_issuer)

    def verifier_for(self, issuer: str) -> Verifier:
        """The verifier of one trusted issuer (``KeyError`` if it is not listed)."""
        return self._by_issuer[issuer]

    def verify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify (sync) with the verifier of the token's issuer."""
        return self._select(token).verify(token, kind=kind)

    async def averify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify (async) with the verifier of the token's issuer."""
        return await self._select(token).averify(token, kind=kind)

    def _select(self, token: str | bytes) -> Verifier:
        # Size and shape first; the payload is decoded only to read ``iss``.
        _, payload, _ = split(token, self._limit)
        claims = json_object(b64url_decode(payload))
        iss = claims.get("iss")
        if iss is None:
            raise MissingClaimError("the token has no issuer (iss)")
        if type(iss) is not str:
            raise InvalidIssuerError()
        verifier = self._by_issuer.get(iss)
        if verifier is None:
            raise InvalidIssuerError()
        return verifier
