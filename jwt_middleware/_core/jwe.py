"""Encrypted tokens: nested JWTs, signed then encrypted (RFC 7519 section 5.2, RFC 7516).

An issuer signs a token as usual and encrypts the result to the resource's public key
(``Issuer(config, encrypt_to=...)``); the resource decrypts it with its own private key
(``Config(decryption_keys=...)``) and then verifies the inner token exactly as a plain
one: every check of :mod:`.verify` applies to it. The client and anyone on the way see
five base64url segments and nothing of the claims.

Before any decryption, on attacker-controlled bytes and bounded like :mod:`.jws`:

1. size: the whole token within ``max_token_bytes``; exactly five segments; the
   protected header at most :data:`MAX_HEADER_BYTES`; strict base64url, strict JSON;
2. header: ``zip`` refused whatever its value (no decompression, so no decompression
   bomb: CVE-2024-28102 in jwcrypto, CVE-2024-33664 in python-jose); ``crit`` refused;
   ``jku`` and ``x5u`` refused (a key is never found through a URL in a token); ``alg``
   among the decryption keys' algorithms, ``enc`` among their content encryptions;
   ``cty`` must say ``JWT`` (case-insensitive, ``application/`` optional);
3. key chosen by ``kid`` only; the token's ``alg`` must equal the key's pinned
   algorithm and its ``enc`` be one the key accepts; the encrypted key, IV and tag must
   have the lengths the algorithms give them;
4. then the library decrypts (authenticated: a changed header, IV, ciphertext or tag
   fails here), and the plaintext must be a compact JWS.

Every refusal is a :class:`~jwt_middleware.TokenError` (401 ``invalid_token``) with a
fixed description; the library's own messages are never shown or logged.

Where encryption is required (``Config.require_encryption``; by default whenever
decryption keys are configured), a plain three-segment JWS is refused
(:class:`~jwt_middleware.EncryptionRequiredError`): nothing falls back to it.

The verified-token cache keys on the outer token (its last segment is the tag), so a
token seen again skips the decryption as well as the signature check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import (
    ConfigurationError,
    DecryptionError,
    EncryptionRequiredError,
    InvalidAlgorithmError,
    InvalidHeaderError,
    MalformedTokenError,
    TokenTooLargeError,
)
from .jwekeys import EncryptionKey
from .jwekeyset import DecryptionKeys
from .jws import b64url_decode, json_object, split

__all__ = [
    "MAX_HEADER_BYTES",
    "Decrypter",
    "issuer_sealers",
    "opener",
]

#: The longest protected header (base64url bytes) read: an ECDH-ES header on P-521 with
#: a 256-character ``kid`` is about 800.
MAX_HEADER_BYTES = 1024
_CTY = ("jwt", "application/jwt")
_URL_MEMBERS = ("jku", "x5u")
# Lengths in bytes: the IV and the tag per content encryption (RFC 7518 5.2.3, 5.3).
_IV = {"A256GCM": 12, "A128CBC-HS256": 16}
_TAG = {"A256GCM": 16, "A128CBC-HS256": 16}
_NO_ENCRYPTED_KEY = frozenset({"dir", "ECDH-ES"})


class Decrypter:
    """Opens the encrypted tokens of one :class:`~jwt_middleware.Config`.

    :meth:`open` has :func:`.jws.split`'s signature: the verifier calls it in its place
    and gets the three segments of the inner token (or of a plain token, where that is
    still allowed).
    """

    __slots__ = ("_source", "required")

    def __init__(self, source: Any, required: bool) -> None:
        # A DecryptionKeys, or a live source (KeyRing.decryption): read at each token.
        self._source = source
        #: Whether a plain (unencrypted) token is refused.
        self.required = required

    @classmethod
    def of(cls, config: Any) -> Decrypter | None:
        """The decrypter of ``config``; ``None`` when it has no decryption keys."""
        if not config.decryption_keys:
            return None
        required = config.require_encryption is not False
        return cls(config.decryption_keys, required)

    @property
    def key_version(self) -> Any:
        """The decryption keys' version (it grows when one leaves a live source)."""
        return self._source.key_version

    def open(self, token: str | bytes, max_bytes: int) -> tuple[bytes, bytes, bytes]:
        """The segments of the JWS inside ``token`` (decrypted first when it is a JWE)."""
        if type(token) is str and len(token) <= max_bytes and token.count(".") == 4:
            try:
                raw = token.encode("ascii")
            except UnicodeEncodeError:
                raise MalformedTokenError() from None
        elif type(token) is bytes and len(token) <= max_bytes and token.count(b".") == 4:
            raw = token
        else:
            parts = split(token, max_bytes)  # size, type and shape of anything else
            if self.required:
                raise EncryptionRequiredError()
            return parts
        return split(self._decrypt(raw), max_bytes)

    def _decrypt(self, raw: bytes) -> bytes:
        head, encrypted_key, iv, ciphertext, tag = raw.split(b".")
        if not head:
            raise MalformedTokenError()
        if len(head) > MAX_HEADER_BYTES:
            raise TokenTooLargeError()
        header = json_object(b64url_decode(head))
        if "zip" in header:
            raise InvalidHeaderError("compressed tokens are not accepted")
        if any(name in header for name in _URL_MEMBERS):
            raise InvalidHeaderError("the token names a key URL; keys are never fetched")
        if "crit" in header:
            raise InvalidHeaderError("the token uses a JWE extension that is not supported")
        alg, enc, cty = header.get("alg"), header.get("enc"), header.get("cty")
        source = self._source
        if type(alg) is not str or alg not in source.algorithms:
            raise InvalidAlgorithmError("the token encryption algorithm is not allowed")
        if type(enc) is not str or enc not in source.encryptions:
            raise InvalidAlgorithmError("the token content encryption is not allowed")
        if type(cty) is not str or cty.lower() not in _CTY:
            raise InvalidHeaderError("the encrypted token does not hold a JWT (cty)")
        kid = header.get("kid")
        if (kid is not None or "kid" in header) and (type(kid) is not str or len(kid) > 256):
            raise InvalidHeaderError("the kid header must be a short string")
        key = source.resolve(kid)
        if key.algorithm != alg:
            raise InvalidAlgorithmError("the token encryption algorithm does not match its key")
        if enc not in key.encryptions:
            raise InvalidAlgorithmError("the token content encryption is not allowed")
        if (alg in _NO_ENCRYPTED_KEY) != (not encrypted_key) or not ciphertext:
            raise MalformedTokenError()
        b64url_decode(encrypted_key)
        b64url_decode(ciphertext)
        if len(b64url_decode(iv)) != _IV[enc] or len(b64url_decode(tag)) != _TAG[enc]:
            raise MalformedTokenError()
        try:
            plaintext = key.decrypt(raw)
        except Exception:  # the library's errors, whatever they are: one fixed answer
            raise DecryptionError() from None
        if type(plaintext) is not bytes:  # pragma: no cover - the library returns bytes
            raise DecryptionError()
        return plaintext


class _Versions:
    """The signing key source's version and the decryption keys', as one (what the
    verified-token cache compares): ``None`` while either says "do not trust a hit"."""

    __slots__ = ("_decrypter", "_keys")

    def __init__(self, keys: Any, decrypter: Decrypter) -> None:
        self._keys = keys
        self._decrypter = decrypter

    @property
    def key_version(self) -> Any:
        signing = 0 if self._keys is None else self._keys.key_version
        if signing is None:
            return None
        return (signing, self._decrypter.key_version)


def opener(config: Any, versioned: Any) -> tuple[Callable[..., tuple[bytes, bytes, bytes]], Any]:
    """What a :class:`~jwt_middleware.Verifier` splits tokens with (:func:`.jws.split`, or
    a :class:`Decrypter`'s ``open`` when ``config`` has decryption keys), and the key
    versions its cache compares (``versioned``, or both sources' when the decryption
    keys can change)."""
    decrypter = Decrypter.of(config)
    if decrypter is None:
        return split, versioned
    if decrypter.key_version == 0 and isinstance(decrypter._source, DecryptionKeys):
        return decrypter.open, versioned  # a fixed set: nothing to compare
    return decrypter.open, _Versions(versioned, decrypter)


# --- the issuer's side ------------------------------------------------------------


def _can_open(config: Any, key: EncryptionKey) -> bool:
    """Whether ``config``'s decryption keys open tokens encrypted to ``key``."""
    source = config.decryption_keys
    if not source:
        return False
    try:
        mine = source.resolve(key.kid)
    except Exception:  # an unknown kid: not one of ours
        return False
    return (
        mine.algorithm == key.algorithm
        and key.encryption in mine.encryptions
        and mine.thumbprint() == key.thumbprint()
    )


def _plain(token: str) -> str:
    return token


def issuer_sealers(config: Any, encrypt_to: Any) -> tuple[Callable[[str], str], ...]:
    """The issuer's two sealing steps: ``(access, refresh)``.

    Access tokens are encrypted to ``encrypt_to`` (an :class:`EncryptionKey`, or a live
    source with ``encryption_key()`` such as ``KeyRing``). Refresh tokens go back only to
    the issuer, so they are encrypted too when the issuer's own ``config`` can decrypt
    them (its decryption keys hold the private half of ``encrypt_to``), else signed only.
    A ``config`` that requires encryption but could not read its own tokens is refused.
    """
    if encrypt_to is None:
        if Decrypter.of(config) is not None and config.require_encryption is not False:
            raise ConfigurationError(
                "this Config requires encrypted tokens (decryption_keys), so the issuer must "
                "encrypt its own: set encrypt_to (JWT_ENCRYPTION_KEY_FILE) to the public half "
                "of a decryption key, or require_encryption=False"
            )
        return _plain, _plain
    if isinstance(encrypt_to, EncryptionKey):
        seal: Callable[[str], str] = encrypt_to.encrypt
        own = _can_open(config, encrypt_to)
    elif callable(getattr(encrypt_to, "encryption_key", None)):

        def seal(token: str) -> str:  # the current key of a live source (a key ring)
            return str(encrypt_to.encryption_key().encrypt(token))

        own = encrypt_to is getattr(config.decryption_keys, "ring", None)
    else:
        raise ConfigurationError(
            "encrypt_to must be an EncryptionKey (EncryptionKey.from_pem, .from_jwk, "
            ".from_file) or a key ring"
        )
    if not own and Decrypter.of(config) is not None and config.require_encryption is not False:
        raise ConfigurationError(
            "this Config requires encrypted tokens but cannot decrypt tokens encrypted to "
            "encrypt_to: give it the matching decryption key, or require_encryption=False"
        )
    return seal, seal if own else _plain
