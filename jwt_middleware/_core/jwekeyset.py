"""Sets of decryption keys, and the key settings of encrypted tokens.

:class:`DecryptionKeys` chooses a :class:`~jwt_middleware.DecryptionKey` by ``kid``, as
:class:`~jwt_middleware.KeySet` chooses a signing key, never by anything else the token
says. ``JWT_DECRYPTION_KEY_FILE`` (the resource's private key or keys) and
``JWT_ENCRYPTION_KEY_FILE`` (the recipient's public key an issuer encrypts to) are read
here, with messages that name the setting and never the key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import ConfigurationError, UnknownKeyError
from .jwekeys import DecryptionKey, EncryptionKey
from .keys import _json_object
from .keyset import key_form
from .keysettings import _read_file

__all__ = [
    "DecryptionKeys",
    "LiveDecryptionKeys",
    "decryption_keys_file",
    "decryption_source",
    "encryption_key_file",
]


class DecryptionKeys:
    """Decryption keys chosen by ``kid`` (the same rules as :class:`KeySet`): a token
    without ``kid`` only for a set of one key; a single key without a ``kid`` of its own
    takes any ``kid``. Never chosen by a URL in the token."""

    __slots__ = ("_by_kid", "_keys", "_single", "algorithms", "encryptions")

    #: A fixed set never changes (what a verifier's token cache asks, see ``KeyRing``).
    key_version = 0

    def __init__(self, keys: Iterable[DecryptionKey]) -> None:
        self._keys = tuple(keys)
        if not self._keys:
            raise ConfigurationError("the decryption key set is empty")
        by_kid: dict[str, DecryptionKey] = {}
        for key in self._keys:
            if not isinstance(key, DecryptionKey):
                raise ConfigurationError(
                    "decryption_keys holds DecryptionKey objects (DecryptionKey.from_pem, "
                    f".from_jwk, .from_file, .from_secret), not {type(key).__name__}"
                )
            if key.kid is None and len(self._keys) > 1:
                raise ConfigurationError("in a set of several decryption keys each needs a kid")
            if key.kid is not None and by_kid.setdefault(key.kid, key) is not key:
                raise ConfigurationError(f"two decryption keys share the kid {key.kid!r}")
        self._by_kid = by_kid
        self._single = self._keys[0] if len(self._keys) == 1 else None
        self.algorithms = frozenset(k.algorithm for k in self._keys)
        self.encryptions = frozenset(e for k in self._keys for e in k.encryptions)

    def __iter__(self) -> Iterator[DecryptionKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"<DecryptionKeys {list(self._keys)!r}>"

    def resolve(self, kid: str | None) -> DecryptionKey:
        """The key for a token's ``kid``. Raises :class:`UnknownKeyError`."""
        if kid is not None:
            key = self._by_kid.get(kid)
            if key is not None:
                return key
        single = self._single
        if single is not None and (kid is None or single.kid is None):
            return single
        raise UnknownKeyError("the token was encrypted to an unknown key")

    def public_jwks(self) -> dict[str, Any]:
        """The public keys (``use: enc``) as a JWKS document (``dir`` keys left out)."""
        return {"keys": [k.public_jwk() for k in self._keys if k.algorithm != "dir"]}

    @classmethod
    def from_bytes(cls, data: bytes, **options: Any) -> DecryptionKeys:
        """The keys of a key file: PEM, one private JWK, or a JWKS of private JWKs
        (``use: sig`` keys in it are skipped)."""
        if key_form(data) != "jwks":
            return cls([DecryptionKey.from_bytes(data, **options)])
        doc = _json_object(data, "JWKS")
        found = [e for e in doc["keys"] if isinstance(e, dict) and e.get("use", "enc") == "enc"]
        return cls(DecryptionKey.from_jwk(entry, **options) for entry in found)


class LiveDecryptionKeys:
    """Decryption keys read again at each token from a source that changes (what
    :class:`DecryptionKeys` is for a fixed set): ``KeyRing.decryption``. ``keys`` gives
    the current keys; ``ring.key_version`` grows when one leaves."""

    __slots__ = ("_keys", "ring")

    def __init__(self, ring: Any, keys: Callable[[], list[DecryptionKey]]) -> None:
        #: Where the keys come from (``Issuer(encrypt_to=ring)`` knows its own tokens by it).
        self.ring = ring
        self._keys = keys

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(k.algorithm for k in self._keys())

    @property
    def encryptions(self) -> frozenset[str]:
        return frozenset(e for k in self._keys() for e in k.encryptions)

    @property
    def key_version(self) -> Any:
        return self.ring.key_version

    def __bool__(self) -> bool:
        return True  # configured, even while the source holds no key yet

    def resolve(self, kid: str | None) -> DecryptionKey:
        """The current key named ``kid`` (without one: the only key). Raises
        :class:`UnknownKeyError`."""
        keys = self._keys()
        for key in keys:
            if kid is not None and key.kid == kid:
                return key
        if kid is None and len(keys) == 1:
            return keys[0]
        raise UnknownKeyError("the token was encrypted to an unknown key")


def decryption_source(value: Any) -> Any:
    """What ``Config(decryption_keys=...)`` holds once checked: ``()`` (none), a
    :class:`DecryptionKeys`, or a live source (:class:`LiveDecryptionKeys`) with
    ``resolve``, ``algorithms``, ``encryptions`` and ``key_version``."""
    if value is None or (isinstance(value, (tuple, list)) and not value):
        return ()
    if isinstance(value, DecryptionKey):
        return DecryptionKeys([value])
    if all(hasattr(value, n) for n in ("resolve", "algorithms", "encryptions", "key_version")):
        return value  # DecryptionKeys, or a live source such as KeyRing.decryption
    if isinstance(value, (str, bytes, os.PathLike)) or not isinstance(value, Iterable):
        raise ConfigurationError(
            "decryption_keys must be a DecryptionKey, several, or DecryptionKeys "
            "(build one with DecryptionKey.from_pem, .from_jwk or .from_file; or set "
            "JWT_DECRYPTION_KEY_FILE)"
        )
    return DecryptionKeys(value)


def decryption_keys_file(
    path: str, prefix: str, base_dir: str | os.PathLike[str] | None
) -> DecryptionKeys:
    """``{prefix}DECRYPTION_KEY_FILE``: the resource's private key(s): PEM, one JWK or a
    JWKS (several keys, for a rotation's overlap)."""
    label = prefix + "DECRYPTION_KEY_FILE"
    data = _read_file(path, label, base_dir)
    try:
        return DecryptionKeys.from_bytes(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{label}: {exc}") from None


def encryption_key_file(
    path: Any, prefix: str, base_dir: str | os.PathLike[str] | None = None
) -> EncryptionKey:
    """``{prefix}ENCRYPTION_KEY_FILE``: the recipient's public key, PEM or JWK."""
    label = prefix + "ENCRYPTION_KEY_FILE"
    data = _read_file(path, label, base_dir)
    if key_form(data) in ("pem-private", "pem-encrypted", "jwk-private"):
        raise ConfigurationError(
            f"{label} holds a private key: give the recipient's public key (the issuer "
            f"never needs its private half, which belongs in {prefix}DECRYPTION_KEY_FILE)"
        )
    try:
        key: EncryptionKey = EncryptionKey.from_bytes(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{label}: {exc}") from None
    return key
