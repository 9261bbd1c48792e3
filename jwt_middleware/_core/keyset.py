"""Key sets chosen by ``kid``, JWKS documents, and what a piece of key material is.

:class:`KeySet` holds keys built by :mod:`._keys`; :meth:`KeySet.from_jwks`
reads a JWKS document (or one JWK, as ``jwt-middleware keygen`` writes it).
:func:`key_form` names the form of key material (PEM private key, JWKS, a
file path, ...) so that a setting holding the wrong form can say what it
found.

Security: error messages here name forms, algorithms and key ids, never key
material.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from .errors import ConfigurationError, UnknownKeyError
from .keys import (
    _CRV_NAMES,
    _EC_CURVES,
    _HMAC_BYTES,
    _PRIVATE_TYPES,
    _RSA,
    ALGORITHMS,
    Key,
    _check_algorithm,
    _json_object,
    _read,
)

__all__ = ["FORMS", "KeySet", "fitting_algorithms", "key_form"]


class KeySet:
    """Keys chosen by ``kid``; never by anything else the token says.

    A token without ``kid`` is accepted only by a set of exactly one key.
    A set of exactly one key without a ``kid`` of its own takes tokens with
    any ``kid`` (the key was configured explicitly; the ``kid`` is a hint).
    """

    __slots__ = ("_by_kid", "_keys", "_single", "algorithms")

    #: A key set never changes, so its version never does (what a verifier's token cache
    #: asks a key source, to learn that a key left it: see ``JWKSClient.key_version``).
    key_version = 0

    def __init__(self, keys: Iterable[Key]) -> None:
        self._keys: tuple[Key, ...] = tuple(keys)
        if not self._keys:
            raise ConfigurationError("the key set is empty: configure at least one key")
        by_kid: dict[str, Key] = {}
        unnamed = 0
        for key in self._keys:
            if not isinstance(key, Key):
                raise ConfigurationError(
                    f"a key set holds Key objects, not {_article(type(key).__name__)}: build them "
                    "with Key.from_secret, Key.from_pem or Key.from_jwk"
                )
            if key.kid is None:
                unnamed += 1
            elif key.kid in by_kid:
                raise ConfigurationError(f"two keys share the kid {key.kid!r}: kids must be unique")
            else:
                by_kid[key.kid] = key
        if unnamed and len(self._keys) > 1:
            raise ConfigurationError("in a set of several keys every key needs a kid")
        self._by_kid = by_kid
        self._single: Key | None = self._keys[0] if len(self._keys) == 1 else None
        #: The algorithms of the keys in this set.
        self.algorithms: frozenset[str] = frozenset(k.algorithm for k in self._keys)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"<KeySet {list(self._keys)!r}>"

    def resolve(self, kid: str | None) -> Key:
        """The key for a token's ``kid``. Raises :class:`UnknownKeyError`."""
        if kid is not None:
            key = self._by_kid.get(kid)
            if key is not None:
                return key
            single = self._single
            if single is not None and single.kid is None:
                return single
            raise UnknownKeyError()
        if self._single is not None:
            return self._single
        raise UnknownKeyError("the token does not name its key (kid)")

    async def aresolve(self, kid: str | None) -> Key:
        """Async form of :meth:`resolve` (the seam remote key sources fill)."""
        return self.resolve(kid)

    def signing_key(self) -> Key:
        """The first key that can sign."""
        for key in self._keys:
            if key.can_sign:
                return key
        raise ConfigurationError("no key in the set can sign: configure a private key or secret")

    def public_jwks(self) -> dict[str, Any]:
        """The public keys as a JWKS document (HMAC keys are left out)."""
        return {"keys": [k.public_jwk() for k in self._keys if k.algorithm not in _HMAC_BYTES]}

    @classmethod
    def from_jwks(
        cls, jwks: Mapping[str, Any] | str | bytes, algorithms: Iterable[str] | None = None
    ) -> KeySet:
        """A set from a JWKS document (dict or JSON text), or from one JWK.

        Keys for encryption (``use: enc``), keys whose ``key_ops`` exclude
        verification and keys whose algorithm is not in ``algorithms`` are
        skipped. A key without ``alg`` takes the one algorithm of
        ``algorithms`` that fits its type, if exactly one does.
        """
        doc = _json_object(jwks, "JWKS") if isinstance(jwks, (str, bytes)) else jwks
        entries = doc.get("keys")
        if entries is None and "kty" in doc:
            entries = [doc]  # one JWK, as ``jwt-middleware keygen`` writes it
        if not isinstance(entries, list):
            raise ConfigurationError(
                'a JWKS document needs a "keys" list (or is one JWK, with "kty")'
            )
        allowed = None if algorithms is None else {_check_algorithm(a) for a in algorithms}
        keys = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            ops = entry.get("key_ops")
            if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
                continue
            alg = _infer_for_set(entry, allowed)
            if alg is None:
                continue
            keys.append(Key.from_jwk(entry, alg))
        if not keys:
            raise ConfigurationError("the JWKS document has no usable signing key")
        return cls(keys)

    @classmethod
    def from_jwks_file(
        cls, path: str | os.PathLike[str], algorithms: Iterable[str] | None = None
    ) -> KeySet:
        """A set from a JWKS file (or a file holding one JWK)."""
        return cls.from_jwks(_read(path), algorithms)


_FAMILY = {"oct": set(_HMAC_BYTES), "RSA": set(_RSA), "EC": set(_EC_CURVES), "OKP": {"EdDSA"}}


def _infer_for_set(entry: Mapping[str, Any], allowed: set[str] | None) -> str | None:
    declared = entry.get("alg")
    if declared == "ES521":
        declared = "ES512"
    if declared is not None:
        return declared if allowed is None or declared in allowed else None
    fitting = _FAMILY.get(entry.get("kty", ""), set())
    if entry.get("kty") == "EC":
        fitting = {a for a, c in _CRV_NAMES.items() if c == entry.get("crv") and a in ALGORITHMS}
    if allowed is not None:
        fitting = fitting & allowed  # a new set: never narrow the shared _FAMILY table
    return next(iter(fitting)) if len(fitting) == 1 else None


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


#: What :func:`key_form` returns, and how messages name it.
FORMS: dict[str, str] = {
    "pem-private": "a PEM private key",
    "pem-encrypted": "an encrypted PEM private key",
    "pem-public": "a PEM public key",
    "pem-certificate": "a PEM certificate",
    "ssh": "an OpenSSH key",
    "jwks": "a JWKS",
    "jwk-public": "a public JWK",
    "jwk-private": "a private JWK",
    "jwk-secret": "a secret (oct) JWK",
    "json": "JSON that is neither a JWK nor a JWKS",
    "path": "what looks like a file path",
    "unknown": "neither a PEM key nor a JWK",
}
_PATH_SUFFIXES = (".pem", ".jwk", ".json", ".key", ".crt", ".cer", ".pub", ".der")


def key_form(data: str | bytes) -> str:
    """The form of key material, one of :data:`FORMS`; never raises, never keeps the data."""
    raw = data.encode(errors="replace") if isinstance(data, str) else data
    text = raw.strip()
    if b"-----BEGIN " in text:
        if b"ENCRYPTED PRIVATE KEY-----" in text or b"Proc-Type: 4,ENCRYPTED" in text:
            return "pem-encrypted"
        if b"OPENSSH PRIVATE KEY-----" in text:
            return "ssh"
        if b"PRIVATE KEY-----" in text:
            return "pem-private"
        return "pem-certificate" if b"CERTIFICATE-----" in text else "pem-public"
    if text.startswith((b"ssh-", b"ecdsa-sha2-")):
        return "ssh"
    if text.startswith(b"{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return "unknown"
        if isinstance(obj, dict) and isinstance(obj.get("keys"), list):
            return "jwks"
        if isinstance(obj, dict) and "kty" in obj:
            if obj["kty"] == "oct":
                return "jwk-secret"
            return "jwk-private" if "d" in obj else "jwk-public"
        return "json"
    return "path" if _looks_like_path(text) else "unknown"


def _looks_like_path(text: bytes) -> bool:
    if not text or len(text) > 4096 or b"\n" in text:
        return False
    name = text.decode(errors="replace")
    if name.lower().endswith(_PATH_SUFFIXES):
        return True
    if ("/" in name or "\\" in name) and "." in name:
        return True
    try:
        return Path(name).is_file()
    except (OSError, ValueError):
        return False


def fitting_algorithms(key_obj: Any) -> tuple[str, ...]:
    """The algorithms a key object's type fits (for messages that suggest one)."""
    public = key_obj.public_key() if isinstance(key_obj, _PRIVATE_TYPES) else key_obj
    if isinstance(public, rsa.RSAPublicKey):
        return _RSA
    if isinstance(public, ec.EllipticCurvePublicKey):
        return tuple(a for a, c in _EC_CURVES.items() if isinstance(public.curve, c))
    if isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return ("EdDSA",)
    return ()
