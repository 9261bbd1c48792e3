"""Several trusted issuers, each with its own keys, audiences and algorithms.

The token's ``iss`` is read from the *unverified* payload for one purpose
only: to choose the entry. The chosen entry's :class:`Verifier` then does the
full verification, which checks ``iss`` again, exactly, after the signature,
on the payload already parsed (it is decoded once). A token from an issuer
that is not listed is refused before any key is looked up (so before any fetch).
The entries share one verified-token cache, looked up before the payload is
read, so a hit costs what it costs a plain :class:`Verifier`.

Security: ``iss`` is never turned into a URL, and the ``jku`` and ``x5u``
headers are never fetched: every key source is configured here, up front.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._core.cache import DEFAULT_CACHE_SIZE, Slot, TokenCache
from .._core.claims import ACCESS
from .._core.config import CHECKS, Config
from .._core.errors import (
    ConfigurationError,
    InvalidIssuerError,
    MissingClaimError,
    UnknownKeyError,
)
from .._core.jws import json_object, split
from .._core.keys import Key
from .._core.keyset import KeySet
from .._core.principal import Principal
from .._core.protocols import KeyResolver, RevocationCheck
from .._core.verify import Verifier, b64url_decode

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

    @property
    def key_version(self) -> Any:
        """The inner source's (``AttributeError`` if it has none: then no cache)."""
        return self._inner.key_version  # type: ignore[attr-defined]


class MultiIssuerVerifier:
    """Verifies tokens from any of several :class:`TrustedIssuer` entries.

    ``settings`` are the other :class:`Config` settings (``leeway``,
    ``clock``, ``required_claims``, ``token_type``, ``cache_size``...), shared
    by every entry; the entries share one cache of ``cache_size`` tokens.
    """

    __slots__ = ("_by_issuer", "_cache", "_limit")

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
        size = settings.get("cache_size", DEFAULT_CACHE_SIZE)
        size = CHECKS["cache_size"](size, "cache_size", False)
        shared = TokenCache(size) if size else None
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
            by_issuer[entry.issuer] = Verifier(config, revocation=revocation, cache=shared)
        if not by_issuer:
            raise ConfigurationError("no trusted issuer: list at least one TrustedIssuer")
        self._by_issuer = by_issuer
        self._limit = min(v.config.max_token_bytes for v in by_issuer.values())
        # None when no entry uses it (each entry's key source must say when a key leaves).
        used = any(v.cache is shared for v in by_issuer.values())
        self._cache = shared if used else None

    @property
    def issuers(self) -> tuple[str, ...]:
        """The trusted ``iss`` values."""
        return tuple(self._by_issuer)

    def verifier_for(self, issuer: str) -> Verifier:
        """The verifier of one trusted issuer (``KeyError`` if it is not listed)."""
        return self._by_issuer[issuer]

    @property
    def cache(self) -> TokenCache | None:
        """The verified-token cache the entries share (``None``: off)."""
        return self._cache

    def verify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify (sync) with the verifier of the token's issuer."""
        cache = self._cache
        slot = None
        if cache is not None and kind == ACCESS:
            # The hit path, as in Verifier.verify (the entry names the issuer's verifier).
            try:
                data = token.encode() if type(token) is str else token
            except UnicodeEncodeError:  # a lone surrogate: not a token (refused below)
                data = None
            if type(data) is bytes and len(data) <= self._limit:
                signed, _, signature = data.rpartition(b".")
                hasher = cache._hasher()
                hasher.update(signature)
                digest = hasher.digest()
                entry = cache.get(digest)
                if entry is not None and entry[6] == signed:
                    owner: Verifier = entry[4]
                    if entry[2] <= owner._clock() < entry[1] and (
                        owner._plain or owner._holds(entry)
                    ):
                        if owner._revocation is not None:
                            owner._revocation.check(entry[0])
                        return entry[0]  # type: ignore[no-any-return]
                    cache.discard(digest, entry)
                slot = (digest, signed)
        verifier, pre = self._select(token)
        return verifier._verify(token, kind, slot if verifier._cache is cache else None, pre)

    async def averify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify (async) with the verifier of the token's issuer."""
        slot = None
        if self._cache is not None and kind == ACCESS:
            slot, verifier, principal = self._lookup(token)
            if principal is not None:
                if verifier.revocation is not None:
                    await verifier.revocation.acheck(principal)
                return principal
        verifier, pre = self._select(token)
        return await verifier._averify(token, kind, self._own(verifier, slot), pre)

    def _lookup(self, token: str | bytes) -> tuple[Slot | None, Any, Principal | None]:
        """The slot, and the verifier and principal of a cache entry that still holds."""
        cache: TokenCache = self._cache  # type: ignore[assignment]
        slot = cache.slot(token, self._limit)
        entry = None if slot is None else cache.get(slot[0])
        if slot is None or entry is None or entry[6] != slot[1]:
            return slot, None, None
        verifier: Verifier = entry[4]
        return slot, verifier, verifier._take(slot[0], entry)

    def _own(self, verifier: Verifier, slot: Slot | None) -> Slot | None:
        """``slot`` if ``verifier`` keeps its tokens in the shared cache."""
        return slot if verifier.cache is self._cache else None

    def _select(self, token: str | bytes) -> tuple[Verifier, Any]:
        # Size and shape first; the payload is decoded once, to read ``iss`` and then
        # handed on to the chosen verifier, which checks everything after the signature.
        parts = split(token, self._limit)
        data = b64url_decode(parts[1])
        claims = json_object(data)
        iss = claims.get("iss")
        if iss is None:
            raise MissingClaimError("the token has no issuer (iss)")
        if type(iss) is not str:
            raise InvalidIssuerError()
        verifier = self._by_issuer.get(iss)
        if verifier is None:
            raise InvalidIssuerError()
        return verifier, (parts, data, claims)
