"""The claim checks of the verifier: token kind, dates, issuer and audience, required claims.

:class:`ClaimChecks` holds them as methods of the :class:`~jwt_middleware.Verifier`
(which it is a base of), reading the verifier's prepared settings; they are pure, and
each raises one of our errors with a fixed text (never a claim's value).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from .claims import (
    ACCESS,
    ACCESS_TYP,
    ID,
    REFRESH,
    REFRESH_TYP,
    Extractor,
    claim_kinds,
    header_kind,
    normalize_typ,
    token_kinds,
)
from .errors import (
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    MissingClaimError,
    TokenTooOldError,
    WrongTokenKindError,
)

__all__ = ["ClaimChecks", "as_set"]

logger = logging.getLogger("jwt_middleware")

_BIG = 1e15  # seconds; bounds numeric dates and rules out inf and nan
_INF = float("inf")
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


class ClaimChecks:
    """The claim checks, as methods of a verifier that holds these prepared settings."""

    __slots__ = ()

    _audiences: frozenset[str] | None
    _checks: tuple[tuple[str, Callable[[Any], bool]], ...]
    _clock: Callable[[], float]
    _issuers: frozenset[str] | None
    _leeway: float
    _max_age: float | None
    _require_exp: bool
    _require_sub: bool
    _required: tuple[str, ...]
    _roles: Extractor
    _scopes: Extractor
    _typ: str | None

    def _check_times(self, claims: Mapping[str, Any], data: bytes) -> tuple[Any, ...]:
        """Checks the dates; returns what a cache hit re-checks: (exp floor, not-before,
        iat, now, the claims' JSON)."""
        now = self._clock()
        leeway = self._leeway
        # Each date must be an int or a float, finite and bounded (so never inf or nan).
        floor: Any = _INF
        exp = claims.get("exp")
        if exp is not None or "exp" in claims:
            if (type(exp) is not int and type(exp) is not float) or not -_BIG < exp < _BIG:
                raise InvalidClaimError("the exp claim must be a number")
            floor = exp // 1  # a fractional exp expires at the start of its second
            if floor <= now - leeway:
                raise ExpiredTokenError()
        elif self._require_exp:
            raise MissingClaimError("the token has no expiry (exp)")
        not_before: Any = -_INF
        nbf = claims.get("nbf")
        if nbf is not None or "nbf" in claims:
            if (type(nbf) is not int and type(nbf) is not float) or not -_BIG < nbf < _BIG:
                raise InvalidClaimError("the nbf claim must be a number")
            if nbf > now + leeway:
                raise ImmatureTokenError()
            not_before = nbf
        iat = claims.get("iat")
        if iat is not None or "iat" in claims:
            if (type(iat) is not int and type(iat) is not float) or not -_BIG < iat < _BIG:
                raise InvalidClaimError("the iat claim must be a number")
            if iat > now + leeway:
                raise InvalidIssuedAtError("the token was issued in the future")
            if iat > not_before:
                not_before = iat
        if self._max_age is not None:
            if iat is None:
                raise MissingClaimError("the token has no issue time (iat)")
            if now - iat > self._max_age + leeway:
                raise TokenTooOldError()
        return floor, not_before, iat, now, data

    def _window(self, floor: Any, not_before: Any, iat: Any) -> tuple[float, float] | None:
        """``(since, until)``: at any ``now`` with ``since <= now < until`` the date checks
        above pass, and at any other they fail; exactly, floating-point rounding included,
        so that a cache hit needs two comparisons. ``None`` if it cannot be worked out."""
        leeway = self._leeway
        floor, not_before = float(floor), float(not_before)
        until: float | None = floor
        since: float | None = not_before
        if leeway and floor != _INF:  # refused once floor <= now - leeway
            until = _first(lambda t: floor <= t - leeway, floor + leeway)
        if leeway and not_before != -_INF:  # accepted once not_before <= now + leeway
            since = _first(lambda t: not_before <= t + leeway, not_before - leeway)
        if self._max_age is not None and until is not None:  # refused once too old
            limit = self._max_age + leeway
            old = _first(lambda t: t - iat > limit, iat + limit)
            until = None if old is None else min(until, old)
        if until is None or since is None:
            return None
        return since, until

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


def _first(holds: Callable[[float], bool], guess: float) -> float | None:
    """The least float at which ``holds`` (false below, true above) is true, searched from
    ``guess`` by single steps of one unit in the last place (rounding is off by one or two)."""
    at = guess
    if holds(at):
        for _ in range(64):
            below = math.nextafter(at, -_INF)
            if not holds(below):
                return at
            at = below
        return None
    for _ in range(64):
        at = math.nextafter(at, _INF)
        if holds(at):
            return at
    return None


def as_set(value: str | tuple[str, ...] | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset((value,) if isinstance(value, str) else value)
