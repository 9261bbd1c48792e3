"""The verifier: one token in, an immutable :class:`Principal` or one of our errors out.

Checks run cheapest first, and nothing from the token is trusted before
the signature is checked:

1. size (``max_token_bytes``) and shape (three base64url segments);
2. header: strict JSON; ``alg`` among the configured keys' algorithms;
   ``kid`` a short string; ``crit`` and ``b64`` refused (no extension is
   understood here); ``jku``, ``x5u``, ``jwk`` and ``x5c`` are ignored,
   never used to find a key;
3. key chosen by ``kid`` only; the token's ``alg`` must equal the key's
   pinned algorithm; signature;
4. token kind (access vs refresh vs ID, from every marker the token carries)
   and ``typ``, first among the claims, so that a token of the wrong kind is
   told so rather than given an audience or expiry error;
5. claims: ``exp`` (required by default), ``nbf``, ``iat`` not in the future,
   ``max_age``, ``iss`` exact, ``aud``, ``sub`` (required by default) and
   ``jti`` are strings, roles and scopes well-formed, required claims, custom
   checks;
6. revocation, when a check is plugged in.

An encrypted token (``Config.decryption_keys``) is decrypted first, by :mod:`.jwe`.

``verify`` and ``averify`` share every pure step; only key resolution and
revocation differ (sync vs async).

An access token that verified is kept in the verifier's :class:`TokenCache`
(``Config.cache_size``): seen again, it is answered from there after checking
only what can change since (``exp``, ``nbf``, ``iat`` and ``max_age`` against
the clock, with the leeway; that the key source has lost no key; the
``claim_checks``), and revocation is asked on every request, hit or miss. A
hit that no longer holds is forgotten and the token verified in full, so it
is refused with the same error as without a cache. Headers that verified are
kept too (:class:`HeaderCache`), parsed, by their exact segment.
"""

from __future__ import annotations

import binascii
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..stores import Store
from .cache import Entry, HeaderCache, Slot, TokenCache, entry_cost
from .checks import ClaimChecks, as_set
from .claims import ACCESS, extractor, normalize_typ
from .config import Config
from .errors import (
    InvalidAlgorithmError,
    InvalidHeaderError,
    InvalidSignatureError,
    MalformedTokenError,
    TokenError,
)
from .jwe import opener
from .jws import b64url_decode as _strict_decode
from .jws import json_object, split
from .keys import Key
from .keyset import KeySet
from .principal import Principal, _build, _new
from .protocols import KeyResolver, RevocationCheck
from .revocation import StoreRevocation

__all__ = ["Verifier"]

_MAX_KID = 256

# ``jws.b64url_decode`` in one translation: ``+``, ``/`` and ``=`` become a character that
# the strict decoder refuses, so one pass replaces three searches (the same answers, as
# tests/core/test_cache.py checks). Same name, so that a test can patch either.
_STRICT_STD = bytes.maketrans(b"-_+/=", b"+/!!!")
_PAD = (b"", b"", b"==", b"=")
_CANONICAL_LAST = (b"", b"", frozenset(b"AQgw"), frozenset(b"AEIMQUYcgkosw048"))
_a2b = binascii.a2b_base64


if sys.version_info >= (3, 11):

    def b64url_decode(segment: bytes) -> bytes:
        rest = len(segment) & 3
        if rest == 1 or (rest and segment[-1] not in _CANONICAL_LAST[rest]):
            raise MalformedTokenError()
        try:
            return _a2b(segment.translate(_STRICT_STD) + _PAD[rest], strict_mode=True)
        except binascii.Error:
            raise MalformedTokenError() from None

else:  # pragma: no cover - no strict mode before 3.11
    b64url_decode = _strict_decode


class Verifier(ClaimChecks):
    """Verifies tokens against one :class:`Config`.

    ``keys`` replaces the configured key set as the source of keys (for a
    remote JWKS client); ``revocation`` plugs in a revocation check. ``cache``
    is a :class:`TokenCache` to use instead of one of ``config.cache_size``
    entries (``MultiIssuerVerifier`` shares one among its issuers). A key
    source other than a :class:`KeySet` takes part in the cache only if it
    says when a key left it (a ``key_version`` attribute, as ``JWKSClient``
    and ``KeyRing`` have); with any other, every token is verified in full.
    """

    __slots__ = (
        "_algorithms",
        "_audiences",
        "_cache",
        "_cache_get",
        "_checks",
        "_clock",
        "_hasher",
        "_headers",
        "_issuers",
        "_leeway",
        "_local",
        "_max",
        "_max_age",
        "_plain",
        "_require_exp",
        "_require_sub",
        "_required",
        "_resolver",
        "_revocation",
        "_roles",
        "_scopes",
        "_split",
        "_typ",
        "_versioned",
        "config",
    )

    def __init__(
        self,
        config: Config,
        *,
        keys: KeyResolver | None = None,
        revocation: RevocationCheck | None = None,
        cache: TokenCache | None = None,
    ) -> None:
        self.config = config
        self._resolver: KeyResolver = keys if keys is not None else config.resolver
        store = config.store
        if revocation is None and isinstance(store, Store) and config.revocation:
            revocation = StoreRevocation(
                store, clock=config.clock, fail_open=config.store_failure == "open"
            )
        self._revocation = revocation
        self._local = isinstance(self._resolver, KeySet)
        # Where the cache learns that a key left (None: a KeySet, which never changes).
        self._versioned: Any = None if self._local else self._resolver
        self._split, self._versioned = opener(config, self._versioned)
        if not self._local and not hasattr(self._resolver, "key_version"):
            cache = None  # cannot know when a key leaves: no cache
        elif cache is None and config.cache_size:
            cache = TokenCache(config.cache_size)
        self._cache = cache
        # The hit path's two calls, bound once (see verify).
        self._hasher: Any = None if cache is None else cache._hasher
        self._cache_get: Any = None if cache is None else cache.get
        self._headers = HeaderCache()
        self._algorithms = frozenset(self._resolver.algorithms)
        self._max = config.max_token_bytes
        self._clock: Callable[[], float] = config.clock
        self._leeway = float(config.leeway)
        self._require_exp = config.require_exp
        self._require_sub = config.require_subject
        self._max_age = config.max_age
        self._issuers = as_set(config.issuer)
        self._audiences = as_set(config.audience)
        self._required = config.required_claims
        self._typ = normalize_typ(config.token_type) if config.token_type else None
        self._roles = extractor(config.roles_paths)
        self._scopes = extractor(config.scopes_paths)
        self._checks = tuple(config.claim_checks.items())
        # A hit then checks only its window of time (else see _holds).
        self._plain = self._versioned is None and not self._checks

    # --- public -----------------------------------------------------------

    @property
    def cache(self) -> TokenCache | None:
        """The verified-token cache (``None``: off, or a key source that cannot say when
        a key leaves it)."""
        return self._cache

    @property
    def revocation(self) -> RevocationCheck | None:
        """The revocation check asked for every token, cached or not (``None``: none)."""
        return self._revocation

    def verify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify a token (sync). Raises a :class:`~jwt_middleware.TokenError` subclass."""
        cache = self._cache
        slot = None
        if cache is not None and kind == ACCESS:
            # The cache hit, written out (TokenCache.slot and _lookup inlined): on a hit
            # this is all of the request's verify.
            try:
                data = token.encode() if type(token) is str else token
            except UnicodeEncodeError:  # a lone surrogate: not a token (refused below)
                data = None
            if type(data) is bytes and len(data) <= self._max:
                signed, _, signature = data.rpartition(b".")
                hasher = self._hasher()
                hasher.update(signature)
                digest = hasher.digest()
                entry = self._cache_get(digest)
                if entry is not None and entry[4] is self and entry[6] == signed:
                    if entry[2] <= self._clock() < entry[1] and (
                        self._plain or self._holds(entry)
                    ):
                        if self._revocation is not None:
                            self._revocation.check(entry[0])
                        return entry[0]  # type: ignore[no-any-return]
                    cache.discard(digest, entry)
                slot = (digest, signed)
        return self._verify(token, kind, slot, None)

    async def averify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify a token (async): key lookup and revocation never block the loop."""
        slot = None
        if self._cache is not None and kind == ACCESS:
            slot, principal = self._lookup(token)
            if principal is not None:
                if self._revocation is not None:
                    await self._revocation.acheck(principal)
                return principal
        return await self._averify(token, kind, slot, None)

    def cached(self, token: str | bytes) -> Principal | None:
        """The principal of an access token in the cache that still holds, else ``None``.

        For an adapter's fast path. It checks what :meth:`verify` checks on a hit (times,
        key source, ``claim_checks``) **except revocation**: after a principal, the caller
        must still run :attr:`revocation` (``check`` or ``acheck``) when it is not
        ``None``; after ``None``, call :meth:`verify` or :meth:`averify`.
        """
        return None if self._cache is None else self._lookup(token)[1]

    def verify_signature(self, token: str | bytes) -> tuple[dict[str, Any], bytes]:
        """Only the JWS stages (size, shape, header, key, signature).

        Returns the header and the raw payload bytes; no claim is checked.
        Security: the payload is authentic but not validated; use
        :meth:`verify` for tokens.
        """
        known, _, head, payload, signature = self._parse(self._split(token, self._max))
        self._check_signature(known[0], self._resolver.resolve(known[1]), head, payload, signature)
        return dict(known[0]), b64url_decode(payload)  # a copy: the parsed header is shared

    # --- the cache --------------------------------------------------------

    def _lookup(self, token: str | bytes) -> tuple[Slot | None, Principal | None]:
        """The token's slot, and its principal if a cache entry for it still holds."""
        cache: TokenCache = self._cache  # type: ignore[assignment]
        slot = cache.slot(token, self._max)
        if slot is None:
            return None, None
        entry = cache.get(slot[0])
        if entry is None or entry[4] is not self or entry[6] != slot[1]:
            return slot, None
        return slot, self._take(slot[0], entry)

    def _take(self, digest: bytes, entry: Entry) -> Principal | None:
        """The principal of this verifier's ``entry`` (for the token whose signing input
        it holds) if it still holds, else forget it."""
        if entry[2] <= self._clock() < entry[1] and (self._plain or self._holds(entry)):
            principal: Principal = entry[0]
            return principal
        self._cache.discard(digest, entry)  # type: ignore[union-attr]
        return None

    def _holds(self, entry: Entry) -> bool:
        """The rest of what a hit re-checks, past the dates (``exp``, ``nbf``, ``iat`` and
        ``max_age``, in the entry's window): that no key left the key source since it was
        verified, and the claim checks (predicates may depend on more than the claims)."""
        if self._versioned is not None and self._versioned.key_version != entry[3]:
            return False  # a key left the source since (or it is due for a refresh)
        if self._checks:
            try:
                self._check_required(entry[0].claims)
            except TokenError:
                return False
        return True

    def _key_version(self, slot: Slot | None) -> Any:
        """The key source's version, read *before* the key is resolved (so a key that
        leaves meanwhile makes the entry stale); ``None``: do not cache this one."""
        if slot is None:
            return None
        if self._versioned is None:
            return 0
        return self._versioned.key_version

    def _remember(
        self, slot: Slot, version: Any, principal: Principal, times: tuple[Any, ...]
    ) -> None:
        floor, not_before, iat, now, data = times
        if self._leeway or self._max_age is not None:
            window = self._window(floor, not_before, iat)
            if window is None:
                return
            since, until = window
        else:  # the checks are floor > now and not_before <= now: the window itself
            since, until = float(not_before), float(floor)
        digest, signed = slot
        cost = entry_cost(data, len(principal.roles) + len(principal.scopes), len(signed))
        entry: Entry = (principal, until, since, version, self, cost, signed)
        self._cache.put(digest, entry, now)  # type: ignore[union-attr]

    # --- the full verify --------------------------------------------------

    def _verify(self, token: str | bytes, kind: str, slot: Slot | None, pre: Any) -> Principal:
        version = self._key_version(slot)
        known, fresh, head, payload, signature = self._parse(
            self._split(token, self._max) if pre is None or self._split is not split else pre[0]
        )
        key = self._resolver.resolve(known[1])
        principal, times = self._finish(known, key, head, payload, signature, kind, pre)
        if self._revocation is not None:
            self._revocation.check(principal)
        if fresh:
            self._headers.put(head, known)
        if version is not None:
            self._remember(slot, version, principal, times)  # type: ignore[arg-type]
        return principal

    async def _averify(
        self, token: str | bytes, kind: str, slot: Slot | None, pre: Any
    ) -> Principal:
        version = self._key_version(slot)
        known, fresh, head, payload, signature = self._parse(
            self._split(token, self._max) if pre is None or self._split is not split else pre[0]
        )
        if self._local:  # a local key set: a dict look-up, no need for a coroutine
            key = self._resolver.resolve(known[1])
        else:
            key = await self._resolver.aresolve(known[1])
        principal, times = self._finish(known, key, head, payload, signature, kind, pre)
        if self._revocation is not None:
            await self._revocation.acheck(principal)
        if fresh:
            self._headers.put(head, known)
        if version is not None:
            self._remember(slot, version, principal, times)  # type: ignore[arg-type]
        return principal

    # --- pure steps -------------------------------------------------------

    def _parse(self, parts: tuple[bytes, bytes, bytes]) -> tuple[Any, bool, bytes, bytes, bytes]:
        """(header, kid, read-only header), whether it was parsed now, and the segments."""
        head, payload, sig = parts
        known = self._headers.get(head)
        if known is not None:
            return known, False, head, payload, b64url_decode(sig)
        header = json_object(b64url_decode(head))
        alg = header.get("alg")
        if type(alg) is not str or alg not in self._algorithms:
            raise InvalidAlgorithmError()
        kid = header.get("kid")
        # ``"kid": null`` is not a string either: refused, never taken as "no kid".
        if (kid is not None or "kid" in header) and (type(kid) is not str or len(kid) > _MAX_KID):
            raise InvalidHeaderError("the kid header must be a short string")
        if "crit" in header or ("b64" in header and header["b64"] is not True):
            raise InvalidHeaderError("the token uses a JWS extension that is not supported")
        return (header, kid, MappingProxyType(header)), True, head, payload, b64url_decode(sig)

    @staticmethod
    def _check_signature(
        header: Mapping[str, Any], key: Key, head: bytes, payload: bytes, signature: bytes
    ) -> None:
        if header["alg"] != key.algorithm:
            raise InvalidAlgorithmError("the token algorithm does not match its key")
        if not key._check(head + b"." + payload, signature):
            raise InvalidSignatureError()

    def _finish(
        self,
        known: Any,
        key: Key,
        head: bytes,
        payload: bytes,
        signature: bytes,
        kind: str,
        pre: Any,
    ) -> tuple[Principal, tuple[Any, ...]]:
        header = known[0]
        if header["alg"] != key.algorithm:  # _check_signature, written out
            raise InvalidAlgorithmError("the token algorithm does not match its key")
        if not key._check(head + b"." + payload, signature):
            raise InvalidSignatureError()
        if pre is None:
            data = b64url_decode(payload)
            claims = json_object(data)
        else:  # MultiIssuerVerifier read them to choose this verifier
            data, claims = pre[1], pre[2]
        # The kind first: a refresh token on an access route is told so, not
        # given an audience error (its aud is the issuer, by design).
        self._check_kind(header, claims, kind)
        times = self._check_times(claims, data)
        self._check_parties(claims)
        if self._required or self._checks:
            self._check_required(claims)
        principal = _build(
            _new(Principal),
            MappingProxyType(claims),
            known[2],
            self._roles(claims),
            self._scopes(claims),
            kind,
        )
        return principal, times
