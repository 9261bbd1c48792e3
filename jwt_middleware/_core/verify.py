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

``verify`` and ``averify`` share every pure step; only key resolution and
revocation differ (sync vs async).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..stores import Store
from .claims import (
    ACCESS,
    ACCESS_TYP,
    ID,
    REFRESH,
    REFRESH_TYP,
    claim_kinds,
    extractor,
    header_kind,
    normalize_typ,
    token_kinds,
)
from .config import Config
from .errors import (
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingClaimError,
    TokenTooOldError,
    WrongTokenKindError,
)
from .jws import b64url_decode, json_object, split
from .keys import Key
from .keyset import KeySet
from .principal import Principal, make_principal
from .protocols import KeyResolver, RevocationCheck
from .revocation import StoreRevocation

__all__ = ["Verifier"]

logger = logging.getLogger("jwt_middleware")

_BIG = 1e15  # seconds; bounds numeric dates and rules out inf and nan
_MAX_KID = 256
_KINDS = (ACCESS, REFRESH)
# Fixed texts (never a claim value): why a token of another kind is refused.
_NOT_ACCESS = {
    REFRESH: "a refresh token cannot be used here",
    ID: "an ID token cannot be used here",
}
_NOT_REFRESH = {
    ACCESS: "an access token cannot be used to refresh",
    ID: "an ID token cannot be used to refresh",
}
_OTHER_KIND = "this kind of token cannot be used here"
_ONLY_REFRESH = "only a refresh token is accepted here"


def _date(value: Any, name: str) -> Any:
    """A NumericDate claim value, checked strictly: int or float, finite, bounded."""
    kind = type(value)
    if (kind is not int and kind is not float) or not -_BIG < value < _BIG:
        raise InvalidClaimError(f"the {name} claim must be a number")
    return value


class Verifier:
    """Verifies tokens against one :class:`Config`.

    ``keys`` replaces the configured key set as the source of keys (for a
    remote JWKS client); ``revocation`` plugs in a revocation check.
    """

    __slots__ = (
        "_algorithms",
        "_audiences",
        "_checks",
        "_clock",
        "_issuers",
        "_leeway",
        "_local",
        "_max",
        "_max_age",
        "_require_exp",
        "_require_sub",
        "_required",
        "_resolver",
        "_revocation",
        "_roles",
        "_scopes",
        "_typ",
        "config",
    )

    def __init__(
        self,
        config: Config,
        *,
        keys: KeyResolver | None = None,
        revocation: RevocationCheck | None = None,
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
        self._algorithms = frozenset(self._resolver.algorithms)
        self._max = config.max_token_bytes
        self._clock: Callable[[], float] = config.clock
        self._leeway = float(config.leeway)
        self._require_exp = config.require_exp
        self._require_sub = config.require_subject
        self._max_age = config.max_age
        self._issuers = _set(config.issuer)
        self._audiences = _set(config.audience)
        self._required = config.required_claims
        self._typ = normalize_typ(config.token_type) if config.token_type else None
        self._roles = extractor(config.roles_paths)
        self._scopes = extractor(config.scopes_paths)
        self._checks = tuple(config.claim_checks.items())

    # --- public -----------------------------------------------------------

    def verify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify a token (sync). Raises a :class:`~jwt_middleware.TokenError` subclass."""
        header, kid, signing_input, payload, signature = self._parse(token)
        key = self._resolver.resolve(kid)
        principal = self._finish(header, key, signing_input, payload, signature, kind)
        if self._revocation is not None:
            self._revocation.check(principal)
        return principal

    async def averify(self, token: str | bytes, *, kind: str = ACCESS) -> Principal:
        """Verify a token (async): key lookup and revocation never block the loop."""
        header, kid, signing_input, payload, signature = self._parse(token)
        if self._local:  # a local key set: a dict look-up, no need for a coroutine
            key = self._resolver.resolve(kid)
        else:
            key = await self._resolver.aresolve(kid)
        principal = self._finish(header, key, signing_input, payload, signature, kind)
        if self._revocation is not None:
            await self._revocation.acheck(principal)
        return principal

    def verify_signature(self, token: str | bytes) -> tuple[dict[str, Any], bytes]:
        """Only the JWS stages (size, shape, header, key, signature).

        Returns the header and the raw payload bytes; no claim is checked.
        Security: the payload is authentic but not validated; use
        :meth:`verify` for tokens.
        """
        header, kid, signing_input, payload, signature = self._parse(token)
        self._check_signature(header, self._resolver.resolve(kid), signing_input, signature)
        return header, b64url_decode(payload)

    # --- pure steps -------------------------------------------------------

    def _parse(self, token: str | bytes) -> tuple[dict[str, Any], str | None, bytes, bytes, bytes]:
        head, payload, sig = split(token, self._max)
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
        return header, kid, head + b"." + payload, payload, b64url_decode(sig)

    @staticmethod
    def _check_signature(
        header: dict[str, Any], key: Key, signing_input: bytes, signature: bytes
    ) -> None:
        if header["alg"] != key.algorithm:
            raise InvalidAlgorithmError("the token algorithm does not match its key")
        if not key._alg_obj.verify(signing_input, key._verify_key, signature):
            raise InvalidSignatureError()

    def _finish(
        self,
        header: dict[str, Any],
        key: Key,
        signing_input: bytes,
        payload: bytes,
        signature: bytes,
        kind: str,
    ) -> Principal:
        self._check_signature(header, key, signing_input, signature)
        claims = json_object(b64url_decode(payload))
        # The kind first: a refresh token on an access route is told so, not
        # given an audience error (its aud is the issuer, by design).
        self._check_kind(header, claims, kind)
        self._check_times(claims)
        self._check_parties(claims)
        if self._required or self._checks:
            self._check_required(claims)
        return make_principal(claims, header, self._roles(claims), self._scopes(claims), kind)

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        leeway = self._leeway
        exp = claims.get("exp")
        if exp is not None or "exp" in claims:
            exp = _date(exp, "exp")
            if exp // 1 <= now - leeway:  # a fractional exp expires at the start of its second
                raise ExpiredTokenError()
        elif self._require_exp:
            raise MissingClaimError("the token has no expiry (exp)")
        nbf = claims.get("nbf")
        if (nbf is not None or "nbf" in claims) and _date(nbf, "nbf") > now + leeway:
            raise ImmatureTokenError()
        iat = claims.get("iat")
        if iat is not None or "iat" in claims:
            iat = _date(iat, "iat")
            if iat > now + leeway:
                raise InvalidIssuedAtError("the token was issued in the future")
        if self._max_age is not None:
            if iat is None:
                raise MissingClaimError("the token has no issue time (iat)")
            if now - iat > self._max_age + leeway:
                raise TokenTooOldError()

    def _check_parties(self, claims: Mapping[str, Any]) -> None:
        issuers = self._issuers
        if issuers is not None:
            iss = claims.get("iss")
            if iss is None:
                raise MissingClaimError("the token has no issuer (iss)")
            if type(iss) is not str or iss not in issuers:
                raise InvalidIssuerError()
        audiences = self._audiences
        aud = claims.get("aud")
        if audiences is not None:
            if aud is None:
                raise MissingClaimError("the token has no audience (aud)")
            if type(aud) is str:
                if aud not in audiences:
                    raise InvalidAudienceError()
            elif type(aud) is list:
                if not all(type(a) is str for a in aud) or audiences.isdisjoint(aud):
                    raise InvalidAudienceError()
            else:
                raise InvalidAudienceError()
        elif "aud" in claims:
            raise InvalidAudienceError("the token names an audience but none is configured")
        # Present means a string: ``null`` is refused like any other non-string.
        sub = claims.get("sub")
        if type(sub) is not str:
            if "sub" in claims:
                raise InvalidClaimError("the sub claim must be a string")
            if self._require_sub:  # RFC 9068 section 2.2
                raise MissingClaimError("the token has no subject (sub)")
        elif not sub and self._require_sub:
            raise MissingClaimError("the token has no subject (sub)")
        jti = claims.get("jti")
        if type(jti) is not str and "jti" in claims:
            raise InvalidClaimError("the jti claim must be a string")

    def _check_kind(self, header: Mapping[str, Any], claims: Mapping[str, Any], kind: str) -> None:
        typ = header.get("typ")
        if kind == ACCESS:
            if (typ is None or typ == "JWT" or typ == ACCESS_TYP) and (
                "token_use" not in claims and "typ" not in claims
            ):
                pass  # the common case: nothing marks the token as another kind
            else:
                # Every marker counts, wherever it stands: none overrides another.
                for found in token_kinds(header, claims):
                    if found != ACCESS:
                        raise WrongTokenKindError(_NOT_ACCESS.get(found, _OTHER_KIND))
            if self._typ is not None and (type(typ) is not str or normalize_typ(typ) != self._typ):
                raise InvalidHeaderError("the token type (typ) is not accepted")
        elif kind == REFRESH:
            marked = [k for k in claim_kinds(claims) if k != REFRESH]
            if type(typ) is not str or normalize_typ(typ) != REFRESH_TYP:
                # Name what the token is when it says so (header first), else say what is needed.
                other = header_kind(header) or (marked[0] if marked else None)
                raise WrongTokenKindError(_NOT_REFRESH.get(other or "", _ONLY_REFRESH))
            if marked:  # a refresh+jwt header does not override an access or ID claim
                raise WrongTokenKindError(_NOT_REFRESH.get(marked[0], _ONLY_REFRESH))
        else:
            raise ValueError(f"kind must be one of {_KINDS}")

    def _check_required(self, claims: Mapping[str, Any]) -> None:
        for name in self._required:
            if claims.get(name) is None:
                raise MissingClaimError(f"the token lacks the {name} claim")
        for name, check in self._checks:
            if name not in claims:
                raise MissingClaimError(f"the token lacks the {name} claim")
            try:
                ok = check(claims[name])
            except Exception as exc:  # a predicate bug must not become a 500
                # Only the exception type is logged: its text may quote the claim.
                logger.warning(
                    "claim check for %r raised %s; token refused", name, type(exc).__name__
                )
                ok = False
            if not ok:
                raise InvalidClaimError(f"the {name} claim is not accepted")


def _set(value: str | tuple[str, ...] | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset((value,) if isinstance(value, str) else value)
