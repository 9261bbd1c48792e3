"""JWK SHA-256 thumbprints (RFC 7638), as DPoP's ``cnf.jkt`` uses them.

The thumbprint hashes only a key type's required public members, in
lexicographic order, as compact JSON with no whitespace: the same key
gives the same thumbprint whatever else its JWK carries (``kid``, ``use``,
``alg``) and in whatever order its members were written.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["REQUIRED_MEMBERS", "jwk_thumbprint"]

#: The members RFC 7638 section 3.2 (and RFC 8037 for OKP) hashes, per ``kty``.
REQUIRED_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
    "oct": ("k", "kty"),
}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The base64url (unpadded) SHA-256 thumbprint of ``jwk``.

    Raises :class:`ValueError` (never naming key material) when the key type is
    not one of ``EC``, ``OKP``, ``RSA``, ``oct`` or a required member is missing
    or is not a string.
    """
    kty = jwk.get("kty")
    members = REQUIRED_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError("unsupported JWK key type for a thumbprint")
    picked: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"the JWK lacks its {name!r} member")
        picked[name] = value
    canonical = json.dumps(picked, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
