"""Prepared signature checks: one per key, built once, called on every uncached verify.

``cryptography`` is called directly, with its padding, hash and ECDSA objects made once
(PyJWT's algorithm objects build them on every call, and convert ECDSA signatures in
Python); HMAC hashes the two padded-key blocks once, when the key is built, so that a
check hashes only the message. Each check accepts exactly what PyJWT's ``verify`` of
the same algorithm accepts (``tests/core/test_cache.py`` compares them); PyJWT stays in
use for signing and for reading and writing JWKs.

Security: a check never raises for a bad signature (it returns ``False``) and compares
HMAC tags in constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["SignatureCheck", "signature_check"]

#: ``check(signing_input, signature) -> bool``: one key's prepared signature check.
SignatureCheck = Callable[[bytes, bytes], bool]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def signature_check(algorithm: str, verify_key: Any) -> SignatureCheck:
    """The check for ``algorithm`` with a prepared key (a secret, or a public key object)."""
    if algorithm.startswith("HS"):
        return _hmac_check(algorithm, verify_key)
    if algorithm == "EdDSA":
        return _eddsa_check(verify_key)
    if algorithm.startswith("ES"):
        return _ecdsa_check(algorithm, verify_key)
    return _rsa_check(algorithm, verify_key)


def _hmac_check(algorithm: str, secret: bytes) -> SignatureCheck:
    """RFC 2104 HMAC: the inner and outer padded keys are hashed here, once."""
    name = "sha" + algorithm[2:]
    block = hashlib.new(name).block_size
    if len(secret) > block:
        secret = hashlib.new(name, secret).digest()
    padded = secret.ljust(block, b"\0")
    inner = hashlib.new(name, padded.translate(_IPAD)).copy
    outer = hashlib.new(name, padded.translate(_OPAD)).copy
    compare = hmac.compare_digest

    def check(signing_input: bytes, signature: bytes) -> bool:
        first = inner()
        first.update(signing_input)
        second = outer()
        second.update(first.digest())
        return compare(second.digest(), signature)

    return check


def _eddsa_check(public: Any) -> SignatureCheck:
    verify = public.verify

    def check(signing_input: bytes, signature: bytes) -> bool:
        try:
            verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True

    return check


def _ecdsa_check(algorithm: str, public: Any) -> SignatureCheck:
    verify = public.verify
    half = (public.curve.key_size + 7) // 8
    ecdsa = ec.ECDSA(_HASHES[algorithm[2:5]]())
    number = int.from_bytes

    def check(signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != 2 * half:  # R || S, each as long as the curve's order
            return False
        der = encode_dss_signature(number(signature[:half], "big"), number(signature[half:], "big"))
        try:
            verify(der, signing_input, ecdsa)
        except InvalidSignature:
            return False
        return True

    return check


def _rsa_check(algorithm: str, public: Any) -> SignatureCheck:
    verify = public.verify
    digest = _HASHES[algorithm[2:5]]()
    pad: padding.AsymmetricPadding = padding.PKCS1v15()
    if algorithm.startswith("PS"):  # the salt as long as the hash, as PyJWT signs and checks
        pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)

    def check(signing_input: bytes, signature: bytes) -> bool:
        try:
            verify(signature, signing_input, pad, digest)
        except InvalidSignature:
            return False
        return True

    return check
