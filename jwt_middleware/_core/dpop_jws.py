"""A DPoP proof as a JWS (RFC 9449 sections 4.2 and 4.3): one header value, its shape,
its header, the public key it carries and the signature by that key.

:class:`ProofReader` does these steps for :class:`~jwt_middleware._core.dpop.DPoPVerifier`
and hands back the claims unchecked. The header must say ``typ: dpop+jwt`` exactly and
an ``alg`` of the configured list; ``crit`` is refused; ``jwk`` must be a public key (no
``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth`` or ``k``) of the key type the
algorithm needs, and is read from its thumbprint's members only, so the same thumbprint
always means the same key. ``jku``, ``x5u`` and ``x5c`` are never read.

A header whose proof was accepted is kept with its key (at most 256, by its exact
bytes): a client reuses its key, and its next proof then costs the signature check
alone, not a JSON parse, a thumbprint and a key import.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError, InvalidDPoPProofError, TokenError
from .jws import b64url_decode, json_object, split
from .keys import ALGORITHMS, Key
from .thumbprint import REQUIRED_MEMBERS, jwk_thumbprint

__all__ = ["ProofKey", "ProofReader", "checked_algorithms", "checked_number"]

_TYP = "dpop+jwt"
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KTY = {"ES": "EC", "Ed": "OKP", "RS": "RSA", "PS": "RSA"}
#: Headers kept at most, and the longest kept (an RSA 4096 key's header is ~800 bytes).
HEADER_CACHE = 256
MAX_CACHED_HEADER = 2048

# The fixed descriptions, one per refusal.
REQUIRED = "a DPoP proof is required"
ONE = "send exactly one DPoP proof"
TOO_LARGE = "the DPoP proof is too large"
MALFORMED = "the DPoP proof is malformed"
TYP = "the DPoP proof type must be dpop+jwt"
ALG = "the DPoP proof algorithm is not allowed"
CRIT = "the DPoP proof header has an extension that is not understood"
NO_JWK = "the DPoP proof carries no public key (jwk)"
PRIVATE = "the DPoP proof key must be a public key"
KEY_TYPE = "the DPoP proof key does not fit its algorithm"
SIGNATURE = "the DPoP proof signature is invalid"


def checked_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """The configured proof algorithms: known and asymmetric, or :class:`ConfigurationError`."""
    names = (algorithms,) if isinstance(algorithms, str) else tuple(algorithms)
    if not names:
        raise ConfigurationError("DPoP needs at least one proof algorithm, such as ES256")
    for name in names:
        if not isinstance(name, str) or name.lower() == "none":
            raise ConfigurationError("algorithm 'none' is never allowed for DPoP proofs")
        if name.startswith("HS"):
            raise ConfigurationError(
                f"DPoP proofs need an asymmetric algorithm: {name} is a shared-secret one"
            )
        if name not in ALGORITHMS:
            raise ConfigurationError(
                f"unsupported DPoP proof algorithm {name!r}: use one of "
                f"{', '.join(a for a in ALGORITHMS if not a.startswith('HS'))}"
            )
    return tuple(dict.fromkeys(names))


def checked_number(value: object, what: str, low: float, high: float) -> float:
    """A setting that must be a finite number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{what} must be a number")
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigurationError(f"{what} must be between {low:g} and {high:g}")
    return value


@dataclass(frozen=True, slots=True)
class ProofKey:
    """What a proof header says: its algorithm, its key's thumbprint, the key itself."""

    algorithm: str
    jkt: str
    key: Key


class ProofReader:
    """Steps 1 to 7 of RFC 9449 section 4.3 for one verifier's algorithms and size cap."""

    __slots__ = ("_headers", "_max", "algorithms")

    def __init__(self, algorithms: tuple[str, ...], max_bytes: int) -> None:
        self.algorithms = algorithms
        self._max = max_bytes
        self._headers: dict[bytes, ProofKey] = {}

    def refuse(self, description: str) -> InvalidDPoPProofError:
        return InvalidDPoPProofError(description, algs=self.algorithms)

    def one(self, proof: str | Sequence[str]) -> str:
        """The one ``DPoP`` header value (all the values may be given)."""
        if isinstance(proof, (bytes, bytearray)):
            raise self.refuse(MALFORMED)
        if not isinstance(proof, str):
            try:
                values = list(proof)
            except TypeError:
                raise self.refuse(MALFORMED) from None
            if len(values) > 1:
                raise self.refuse(ONE)
            proof = values[0] if values else ""
            if not isinstance(proof, str):
                raise self.refuse(MALFORMED)
        if len(proof) > self._max:
            raise self.refuse(TOO_LARGE)
        proof = proof.strip(" \t")
        if not proof:
            raise self.refuse(REQUIRED)
        if "," in proof:  # repeated headers joined by a server: two proofs
            raise self.refuse(ONE)
        return proof

    def _key(self, segment: bytes) -> ProofKey:
        try:
            header = json_object(b64url_decode(segment))
        except TokenError:
            raise self.refuse(MALFORMED) from None
        if header.get("typ") != _TYP:
            raise self.refuse(TYP)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise self.refuse(ALG)
        if "crit" in header:
            raise self.refuse(CRIT)
        jwk = header.get("jwk")
        if type(jwk) is not dict:
            raise self.refuse(NO_JWK)
        if not _PRIVATE_MEMBERS.isdisjoint(jwk):
            raise self.refuse(PRIVATE)
        kty = jwk.get("kty")
        if kty != _KTY[alg[:2]] or jwk.get("alg", alg) != alg:
            raise self.refuse(KEY_TYPE)
        try:
            jkt = jwk_thumbprint(jwk)
            key = Key.from_jwk({m: jwk[m] for m in REQUIRED_MEMBERS[kty]}, alg)
        except (ValueError, KeyError):  # ConfigurationError is a ValueError
            raise self.refuse(KEY_TYPE) from None
        return ProofKey(alg, jkt, key)

    def verified(self, proof: str) -> tuple[ProofKey, dict[str, Any], bytes]:
        """Shape, header, key and signature: the key, the claims (unchecked) and the
        header segment (for :meth:`remember`)."""
        try:
            head, payload, signature = split(proof, self._max)
            sig = b64url_decode(signature)
        except TokenError:
            raise self.refuse(MALFORMED) from None
        known = self._headers.get(head)
        proof_key = known if known is not None else self._key(head)
        if not proof_key.key.verify(head + b"." + payload, sig):
            raise self.refuse(SIGNATURE)
        try:
            claims = json_object(b64url_decode(payload))
        except TokenError:
            raise self.refuse(MALFORMED) from None
        return proof_key, claims, head

    def remember(self, head: bytes, proof_key: ProofKey) -> None:
        """Keep the header of an accepted proof (first in, first out)."""
        headers = self._headers
        if head not in headers and len(head) <= MAX_CACHED_HEADER:
            if len(headers) >= HEADER_CACHE:
                with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                    del headers[next(iter(headers))]  # unless another thread was first
            headers[head] = proof_key
