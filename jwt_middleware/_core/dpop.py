"""DPoP proofs on the resource side (RFC 9449): one proof in, what it proves or our error out.

A DPoP proof is a small JWS the client signs for each request with a key it never
shares; its header carries the public half. :class:`DPoPVerifier` checks it
completely, in the order of RFC 9449 section 4.3:

1. one ``DPoP`` header value, at most ``max_proof_bytes``, a compact JWS parsed
   strictly (the same parser as tokens: base64url, JSON, depth);
2. header: ``typ`` exactly ``dpop+jwt``; ``alg`` one of the configured asymmetric
   algorithms; ``crit`` refused; ``jwk`` a public key (a private member such as ``d``
   refuses it) of the type the algorithm needs. ``jku``, ``x5u`` and ``x5c`` are never
   read: the key is the one in the proof, nothing is fetched;
3. the signature, with that key;
4. claims: ``jti`` a string of at most 256 characters; ``htm`` the request's method;
   ``htu`` the request's URL, both sides normalised by :func:`normalise_htu`; ``iat`` a
   number within ``iat_window`` seconds of now, either way; ``ath`` the base64url
   SHA-256 of the access token when one is given; ``nonce`` one of the server's
   (:class:`DPoPNonces`) when nonces are on, else :class:`UseDPoPNonceError` with a
   fresh one;
5. ``jkt`` (the token's ``cnf.jkt``), when given, equal to the RFC 7638 thumbprint of
   the proof's key, compared in constant time;
6. replay: the store claims ``dpop:<thumbprint>:<jti>`` until the proof's ``iat`` plus
   the window, once, atomically across processes; a second use is refused.

:meth:`DPoPVerifier.check` and :meth:`DPoPVerifier.acheck` share every step but the
store call. Every refusal is :class:`InvalidDPoPProofError` (401) with a fixed
description; a replay cache that cannot be reached is 503 with ``Retry-After``, as
for revocation.

Steps 1 to 3 (the proof as a JWS) are ``dpop_jws.py``'s, the ``htu`` normalisation
``dpop_url.py``'s, the nonces ``dpop_nonce.py``'s.

Security: messages never hold the proof, the token, a claim value or key material.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..stores import Store, StoreError
from ..stores._base import has_claims
from .dpop_jws import REQUIRED as REQUIRED  # "a DPoP proof is required", for the callers
from .dpop_jws import ProofKey, ProofReader, checked_algorithms, checked_number
from .dpop_nonce import DPoPNonces
from .dpop_url import normalise_htu
from .errors import (
    DPOP_ALGORITHMS,
    ConfigurationError,
    DPoPBindingError,
    InvalidDPoPProofError,
    ServiceUnavailableError,
    UseDPoPNonceError,
)
from .jws import b64url_encode
from .revocation import store_unavailable

__all__ = [
    "DEFAULT_DPOP_ALGORITHMS",
    "DPoPNonces",
    "DPoPProof",
    "DPoPVerifier",
    "normalise_htu",
    "require_binding",
]

logger = logging.getLogger("jwt_middleware")

#: The proof algorithms accepted unless configured otherwise (asymmetric only).
DEFAULT_DPOP_ALGORITHMS: tuple[str, ...] = DPOP_ALGORITHMS

#: ``jti`` values longer than this are refused (RFC 9449 section 11.1: bound what is kept).
MAX_JTI = 256
#: The widest ``iat_window`` a verifier takes (the replay cache keeps each proof that long).
MAX_IAT_WINDOW = 3600.0

_REPLAY_DOWN = "the DPoP replay cache cannot be checked right now; retry shortly"

# The fixed descriptions of the claim checks (the JWS steps' are in dpop_jws.py).
JTI = "the DPoP proof needs a jti of at most 256 characters"
HTM = "the DPoP proof is for another HTTP method"
HTU = "the DPoP proof is for another URL"
IAT = "the DPoP proof needs an iat"
OLD = "the DPoP proof is too old"
FUTURE = "the DPoP proof is issued in the future"
ATH = "the DPoP proof does not match the access token (ath)"
JKT = "the DPoP proof key is not the key the token is bound to"
REPLAYED = "the DPoP proof was already used"
UNBOUND = "this token is not bound to a key, so it cannot be presented with DPoP"


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """What a checked proof proves: the key (``jkt``, its RFC 7638 thumbprint) signed a
    proof for this method and URL at ``iat``, once (``jti``)."""

    jkt: str
    jti: str
    iat: int
    htm: str
    htu: str
    nonce: str | None
    algorithm: str


def _ath(access_token: str) -> bytes:
    try:
        raw = access_token.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raw = b"\xff"  # no proof's ath matches a token that is not ASCII
    return b64url_encode(hashlib.sha256(raw).digest())


def _unicode(text: str) -> bool:
    """Whether ``text`` can be stored (JSON may hold lone surrogates; no store takes them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # JSON may hold lone surrogates


def require_binding(principal_jkt: str | None, scheme: str) -> None:
    """Refuse a downgrade: a token bound to a key (``principal_jkt``, its ``cnf.jkt``)
    presented with any scheme but ``DPoP``, or an unbound token presented as ``DPoP``
    (there is no key to match the proof's with). Raises :class:`DPoPBindingError`."""
    dpop = scheme.lower() == "dpop"
    if principal_jkt is not None and not dpop:
        raise DPoPBindingError()
    if principal_jkt is None and dpop:
        raise DPoPBindingError(UNBOUND)


class DPoPVerifier:
    """Checks DPoP proofs (module docstring). One per app; thread-safe.

    ``algorithms``: the proof algorithms taken (asymmetric only: ``none`` and ``HS*``
    are refused here, at start-up). ``iat_window``: how far ``iat`` may be from now, in
    seconds, either way (at most an hour); it is also how long each proof is kept in
    the replay cache. ``store``: the replay cache (any store of this package; ``None``:
    a bounded in-memory one, right for one process only). ``nonces``: server nonces
    (off when ``None``). ``clock``: seconds since the epoch.
    """

    __slots__ = ("_clock", "_reader", "algorithms", "iat_window", "max_proof_bytes", "nonces",
                 "store")

    def __init__(
        self,
        *,
        algorithms: Iterable[str] = DEFAULT_DPOP_ALGORITHMS,
        iat_window: float = 300.0,
        store: Store | None = None,
        nonces: DPoPNonces | None = None,
        max_proof_bytes: int = 8192,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.algorithms = checked_algorithms(algorithms)
        self.iat_window = float(checked_number(iat_window, "iat_window", 1.0, MAX_IAT_WINDOW))
        if isinstance(max_proof_bytes, bool) or not isinstance(max_proof_bytes, int):
            raise ConfigurationError("max_proof_bytes must be a whole number of bytes")
        self.max_proof_bytes = int(checked_number(max_proof_bytes, "max_proof_bytes", 512, 65536))
        if store is None:
            from ..stores.memory import MemoryStore

            store = MemoryStore()
        if not isinstance(store, Store) or not has_claims(store):
            raise ConfigurationError(
                "the DPoP replay cache needs a store with claim_once (memory, SQLite, Redis)"
            )
        if nonces is not None and not isinstance(nonces, DPoPNonces):
            raise ConfigurationError("nonces must be a DPoPNonces or None")
        self.store = store
        self.nonces = nonces
        self._clock = clock
        self._reader = ProofReader(self.algorithms, self.max_proof_bytes)

    def __repr__(self) -> str:
        return (f"DPoPVerifier(algorithms={self.algorithms!r}, iat_window={self.iat_window:g}, "
                f"store={self.store!r}, nonces={self.nonces!r})")

    # --- the pure steps ----------------------------------------------------------

    def _refuse(self, description: str) -> InvalidDPoPProofError:
        return InvalidDPoPProofError(description, algs=self.algorithms)

    def _prepare(
        self, proof: str | Sequence[str], method: str, url: str,
        access_token: str | None, jkt: str | None,
    ) -> tuple[DPoPProof, bytes, ProofKey, float]:
        """Every check but the replay cache's; the result, and what to claim until when."""
        reader = self._reader
        proof_key, claims, head = reader.verified(reader.one(proof))
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI or not _unicode(jti):
            raise self._refuse(JTI)
        if claims.get("htm") != method:
            raise self._refuse(HTM)
        htu = claims.get("htu")
        if not isinstance(htu, str):
            raise self._refuse(HTU)
        try:
            normal = normalise_htu(htu)
            if htu != url and normal != normalise_htu(url):
                raise self._refuse(HTU)
        except ValueError:
            raise self._refuse(HTU) from None
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, (int, float)) or not math.isfinite(iat):
            raise self._refuse(IAT)
        now = self._clock()
        if iat < now - self.iat_window:
            raise self._refuse(OLD)
        if iat > now + self.iat_window:
            raise self._refuse(FUTURE)
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str) or not hmac.compare_digest(_utf8(ath), _ath(access_token)):
                raise self._refuse(ATH)
        nonce = claims.get("nonce")
        if self.nonces is not None and not self.nonces.valid(nonce):
            raise UseDPoPNonceError(nonce=self.nonces.current(), algs=self.algorithms)
        if jkt is not None and not (
            isinstance(jkt, str) and hmac.compare_digest(_utf8(jkt), _utf8(proof_key.jkt))
        ):
            raise self._refuse(JKT)
        result = DPoPProof(
            jkt=proof_key.jkt, jti=jti, iat=math.floor(iat), htm=method, htu=normal,
            nonce=nonce if isinstance(nonce, str) else None, algorithm=proof_key.algorithm,
        )
        # Kept while the proof could still be accepted, on the store's clock (wall time).
        expires_at = time.time() + (iat + self.iat_window - now)
        return result, head, proof_key, expires_at

    def _claimed(self, won: bool, head: bytes, proof_key: ProofKey) -> None:
        if not won:
            raise self._refuse(REPLAYED)
        self._reader.remember(head, proof_key)

    def _unavailable(self, exc: StoreError) -> ServiceUnavailableError:
        logger.warning("DPoP replay cache unavailable (%s); request refused (fail closed)", exc)
        return ServiceUnavailableError(_REPLAY_DOWN, retry_after=store_unavailable(exc).retry_after)

    # --- sync and async ------------------------------------------------------------

    def check(
        self, proof: str | Sequence[str], *, method: str, url: str,
        access_token: str | None = None, jkt: str | None = None,
    ) -> DPoPProof:
        """Check ``proof`` (the ``DPoP`` header's value, or all its values) for a request
        of ``method`` to ``url`` (the public URL, as the client saw it). ``access_token``
        (None at a token endpoint) must then match the proof's ``ath``; ``jkt`` (the
        token's ``cnf.jkt``) its key. Raises :class:`InvalidDPoPProofError`,
        :class:`UseDPoPNonceError` or :class:`ServiceUnavailableError`."""
        result, head, proof_key, expires_at = self._prepare(proof, method, url, access_token, jkt)
        try:
            won = self.store.claim_once(f"dpop:{result.jkt}:{result.jti}", expires_at)
        except StoreError as exc:
            raise self._unavailable(exc) from None
        self._claimed(won, head, proof_key)
        return result

    async def acheck(
        self, proof: str | Sequence[str], *, method: str, url: str,
        access_token: str | None = None, jkt: str | None = None,
    ) -> DPoPProof:
        """:meth:`check`, asking the replay cache without blocking the event loop."""
        result, head, proof_key, expires_at = self._prepare(proof, method, url, access_token, jkt)
        try:
            won = await self.store.aclaim_once(f"dpop:{result.jkt}:{result.jti}", expires_at)
        except StoreError as exc:
            raise self._unavailable(exc) from None
        self._claimed(won, head, proof_key)
        return result
