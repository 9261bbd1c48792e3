"""Binding tokens to the client's DPoP key at login, refresh and logout (RFC 9449 §5).

A login that carries a checked DPoP proof gets an access token and a refresh token that
both say ``cnf: {"jkt": <thumbprint of the proof's key>}``, and the token response says
``"token_type": "DPoP"``. The refresh family is then bound to that key:

* a refresh of a bound refresh token needs a valid proof whose key has that thumbprint;
  without one, or with another key's, it is refused (401 ``invalid_dpop_proof``) *before*
  the store is touched: it does not count as reuse, so a thief who holds the refresh token
  but not the key can neither use the family nor end it;
* a bearer (unbound) family refreshed with a proof becomes bound to the proof's key from
  that refresh on (upgrading is safe: only the key holder can use the new pair);
* logout of a bound refresh token needs a proof by its key too (or an access token of the
  same key that the request authenticated with), so a stolen refresh token cannot end the
  victim's session either. With DPoP ``off`` the server checks no proofs: a bound family
  cannot be refreshed (log in again), and logout revokes it as before.

``cnf`` comes from a proof only: claims passed at login and the ``claims_loader`` cannot
set it. A refresh token whose ``cnf`` has no string ``jkt`` (a binding this server cannot
check) is refused, never treated as unbound.

The token routes' refusals: a bad, replayed or missing-but-required proof answers 401
``invalid_dpop_proof`` (with ``WWW-Authenticate: DPoP ...``); a proof without the current
server nonce answers 400 ``use_dpop_nonce`` with the nonce in ``DPoP-Nonce`` (RFC 9449 §8:
the token endpoint answers 400), and a successful answer carries the current nonce too.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

from .._core.dpop import DPoPProof
from .._core.dpop_policy import DPoPPolicy
from .._core.errors import ConfigurationError, InvalidDPoPProofError, UseDPoPNonceError
from .._core.principal import Principal

__all__ = [
    "CNF_CLAIM",
    "DPoPRequest",
    "TRUSTED_PROXIES_KEY",
    "alogout_binding",
    "atoken_proof",
    "bind",
    "bound_jkt",
    "check_binding",
    "check_policy",
    "dpop_refusal",
    "dpop_request",
    "logout_binding",
    "nonce_headers",
    "proof_jkt",
    "proven_jkt",
    "rebind",
    "token_proof",
    "token_type",
]

#: The confirmation claim (RFC 7800) that carries ``jkt``.
CNF_CLAIM = "cnf"
#: Where an adapter that knows the app's trusted proxies (its transport policy) puts
#: them in the ASGI scope or WSGI environ, so that the token routes work out a proof's
#: ``htu`` by the same rule (without it: the request as the server gives it).
TRUSTED_PROXIES_KEY = "jwt_middleware.trusted_proxies"

_NO_STORE = [("cache-control", "no-store"), ("pragma", "no-cache")]
UNREADABLE = "the token is bound in a way this server cannot check"
NONCE_NEEDED = "a DPoP nonce is required: sign a new proof with the nonce in DPoP-Nonce"


class DPoPRequest(TypedDict):
    """What a token route passes on for DPoP: every ``DPoP`` header value, the method,
    the URL the client used (``**`` it into the :class:`TokenService` call)."""

    proofs: Sequence[str]
    method: str
    url: str | None


class _Unreadable(Exception):
    """A ``cnf`` without a string ``jkt``."""


def _jkt(claims: Mapping[str, Any]) -> str | None:
    cnf = claims.get(CNF_CLAIM)
    if cnf is None:
        return None
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    if not isinstance(jkt, str) or not jkt:
        raise _Unreadable
    return jkt


def bound_jkt(claims: Mapping[str, Any]) -> str | None:
    """The ``cnf.jkt`` a token's claims bind it to, ``None`` for a bearer token; a
    ``cnf`` without a string ``jkt`` raises :class:`InvalidDPoPProofError` (fail closed)."""
    try:
        return _jkt(claims)
    except _Unreadable:
        raise InvalidDPoPProofError(UNREADABLE) from None


def bind(claims: Mapping[str, Any] | None, jkt: str | None) -> Mapping[str, Any] | None:
    """A login's claims with ``cnf.jkt`` when a proof came with it; a ``cnf`` set by the
    caller (``claims=`` or the ``claims_loader``) is refused."""
    if claims and CNF_CLAIM in claims:
        raise ConfigurationError(
            "claims cannot set cnf: the key binding comes from the login's DPoP proof"
        )
    if jkt is None:
        return claims
    return {**(claims or {}), CNF_CLAIM: {"jkt": jkt}}


def check_binding(principal: Principal, jkt: str | None) -> None:
    """Refuse a refresh token bound to another key than ``jkt`` (the proof's), or bound
    while no proof came (401 ``invalid_dpop_proof``; nothing is written to the store)."""
    bound = bound_jkt(principal.claims)
    if bound is None:
        return
    if jkt is None:
        raise InvalidDPoPProofError(
            "this refresh token is bound to a key: send a DPoP proof made with that key"
        )
    if not hmac.compare_digest(bound.encode(), jkt.encode()):
        raise InvalidDPoPProofError("the DPoP proof was made with another key than the token's")


def rebind(extra: dict[str, Any], jkt: str | None) -> dict[str, Any]:
    """A refresh's carried claims, bound to ``jkt`` when a proof came (after
    :func:`check_binding`: the same key, or a bearer family that now becomes bound)."""
    if jkt is not None:
        extra[CNF_CLAIM] = {"jkt": jkt}
    return extra


def token_type(claims: Mapping[str, Any] | None) -> str:
    """``"DPoP"`` for a pair whose claims carry ``cnf``, else ``"Bearer"``."""
    return "DPoP" if claims and CNF_CLAIM in claims else "Bearer"


def proof_jkt(proof: DPoPProof | None) -> str | None:
    """The thumbprint a checked proof binds to (``None`` without a proof)."""
    return None if proof is None else proof.jkt


def proven_jkt(principal: Principal | None, authorization: str | None) -> str | None:
    """The key a request proved with its access token: a bound ``principal`` that came
    as ``Authorization: DPoP`` (a middleware that knows no DPoP ignores that scheme; one
    that does accepts a bound token only with a proof by its key)."""
    scheme = authorization.split(None, 1)[:1] if authorization else []
    if principal is None or [s.lower() for s in scheme] != ["dpop"]:
        return None
    try:
        return _jkt(principal.claims)
    except _Unreadable:
        return None


# --- the token service's side -------------------------------------------------------------


def check_policy(dpop: DPoPPolicy | None, cookies: object | None) -> DPoPPolicy | None:
    """The service's policy (``None`` when off). DPoP and cookie mode do not combine:
    the browser sends cookies by itself, while a bound token must come with a proof
    by the client's key, so a bound cookie would be refused by every resource."""
    if dpop is None:
        return None
    if not isinstance(dpop, DPoPPolicy):
        raise ConfigurationError("dpop must be a jwt_middleware DPoPPolicy")
    if not dpop.enabled:
        return None
    if cookies is not None:
        raise ConfigurationError(
            "DPoP and cookie mode do not combine: cookies go with every request by "
            "themselves while DPoP-bound tokens need a proof by the client's key; turn one "
            "off (JWT_DPOP=off or JWT_COOKIES=0)"
        )
    return dpop


def dpop_refusal(
    exc: InvalidDPoPProofError, realm: str, dpop: DPoPPolicy | None
) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """Status, body and headers of a token route's DPoP refusal: 400 ``use_dpop_nonce``
    with ``DPoP-Nonce`` (RFC 9449 §8), else 401 with the ``DPoP`` challenge naming the
    algorithms the server takes."""
    if dpop is not None and dpop.verifier is not None:
        exc.algs = dpop.verifier.algorithms
    if isinstance(exc, UseDPoPNonceError):
        body = {"error": exc.error, "error_description": NONCE_NEEDED}
        return 400, body, [("dpop-nonce", exc.nonce), *_NO_STORE]
    headers = [h for h in exc.headers(realm) if h[0] != "content-type"]
    return exc.status, exc.body(), [*headers, ("pragma", "no-cache")]


def dpop_request(
    dpop: DPoPPolicy | None, proofs: Sequence[str], method: str, public_url: Callable[[], str]
) -> DPoPRequest:
    """What a token route passes on; ``public_url()`` is called only when there is a
    proof to check (it may raise an ``AuthError``, 400 for a bad ``Host``: the route
    answers it)."""
    url = public_url() if proofs and dpop is not None else None
    return DPoPRequest(proofs=tuple(proofs), method=method, url=url)


def token_proof(
    dpop: DPoPPolicy | None, proofs: Sequence[str], method: str, url: str | None
) -> DPoPProof | None:
    """The checked proof of a token request (``None``: none, or DPoP off)."""
    if dpop is None:
        return None
    return dpop.check_token_request(proofs, method=method, url=url)


async def atoken_proof(
    dpop: DPoPPolicy | None, proofs: Sequence[str], method: str, url: str | None
) -> DPoPProof | None:
    """Async form of :func:`token_proof` (the replay cache is awaited)."""
    if dpop is None:
        return None
    return await dpop.acheck_token_request(proofs, method=method, url=url)


def _logout_bound(
    refresh: Principal | None, principal: Principal | None, authorization: str | None
) -> bool:
    """Logout: a bound refresh token needs a proof by its key, unless the request's
    access token (accepted by the middleware with a proof) is bound to that key."""
    bound = None if refresh is None else bound_jkt(refresh.claims)
    return bound is not None and proven_jkt(principal, authorization) != bound


def logout_binding(
    dpop: DPoPPolicy | None,
    refresh: Principal | None,
    principal: Principal | None,
    request: DPoPRequest,
    authorization: str | None,
) -> None:
    """Refuse the logout of a bound refresh token without a proof by its key."""
    proofs, method, url = request["proofs"], request["method"], request["url"]
    if refresh is not None and _logout_bound(refresh, principal, authorization):
        check_binding(refresh, proof_jkt(token_proof(dpop, proofs, method, url)))


async def alogout_binding(
    dpop: DPoPPolicy | None,
    refresh: Principal | None,
    principal: Principal | None,
    request: DPoPRequest,
    authorization: str | None,
) -> None:
    """Async form of :func:`logout_binding`."""
    proofs, method, url = request["proofs"], request["method"], request["url"]
    if refresh is not None and _logout_bound(refresh, principal, authorization):
        check_binding(refresh, proof_jkt(await atoken_proof(dpop, proofs, method, url)))


def nonce_headers(dpop: DPoPPolicy | None) -> list[tuple[str, str]]:
    """``DPoP-Nonce`` with the current nonce for a successful answer (nonces on)."""
    nonce = None if dpop is None else dpop.fresh_nonce()
    return [] if nonce is None else [("dpop-nonce", nonce)]
