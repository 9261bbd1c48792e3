"""Keys for encrypted tokens (RFC 7516): each pinned to one key-management algorithm.

A :class:`DecryptionKey` is the resource's own private key (or a shared secret for
``dir``); an :class:`EncryptionKey` is what an issuer encrypts to (the recipient's
public key, or the same shared secret). Each is bound to exactly one key-management
algorithm when it is built, as signing keys are (:class:`~jwt_middleware.Key`):

* ``RSA-OAEP-256``: an RSA key of at least 2048 bits;
* ``ECDH-ES`` and ``ECDH-ES+A256KW``: an EC key on P-256, P-384 or P-521;
* ``dir``: a shared 256-bit secret, used directly as the content key.

Content encryption is ``A256GCM`` (the default) or ``A128CBC-HS256``; a decryption key
lists the ones it accepts, an encryption key names the one it writes. A key whose
algorithm is not given takes the one its type fits (RSA: ``RSA-OAEP-256``, EC:
``ECDH-ES``, a secret: ``dir``); a JWK's ``alg`` pins it.

The JWE library (joserfc, the ``jwe`` extra) is imported when the first such key is
built, never by ``import jwt_middleware``.

Security: nothing here logs; messages name algorithms, key types and sizes, never key
material. No other algorithm is accepted (no ``RSA1_5``, no ``PBES2``: see security.md).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import PyJWTError

from .errors import ConfigurationError, MalformedTokenError
from .jws import b64url_decode, b64url_encode
from .keys import _MIN_RSA_BITS, _json_object, _read, load_pem
from .keyset import key_form
from .thumbprint import jwk_thumbprint

__all__ = [
    "CONTENT_ENCRYPTIONS",
    "KEY_MANAGEMENT",
    "DecryptionKey",
    "EncryptionKey",
]

#: The key-management algorithms a key can be pinned to.
KEY_MANAGEMENT = ("RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A256KW", "dir")
#: The content encryptions accepted (RFC 7518 section 5).
CONTENT_ENCRYPTIONS = ("A256GCM", "A128CBC-HS256")
_DEFAULT_ENC = "A256GCM"
_CURVE_NAMES = frozenset({"secp256r1", "secp384r1", "secp521r1"})  # P-256, P-384, P-521
_SECRET_BYTES = 32  # the content key of A256GCM and of A128CBC-HS256 alike
_BY_KTY = {"RSA": "RSA-OAEP-256", "EC": "ECDH-ES", "oct": "dir"}
_OPS = frozenset({"encrypt", "decrypt", "wrapKey", "unwrapKey", "deriveKey", "deriveBits"})
_INSTALL = "encrypted tokens need the JWE library: pip install 'jwt-middleware[jwe]'"


def _library() -> Any:
    """``joserfc.jwe`` and ``joserfc.jwk``, imported on first use."""
    try:
        from joserfc import jwe, jwk
    except ImportError:  # pragma: no cover - the jwe extra is installed in the suite
        raise ConfigurationError(_INSTALL) from None
    return jwe, jwk


def _algorithm(algorithm: object) -> str:
    if not isinstance(algorithm, str) or algorithm not in KEY_MANAGEMENT:
        shown = repr(algorithm) if isinstance(algorithm, str) else type(algorithm).__name__
        raise ConfigurationError(
            f"unsupported key-management algorithm {shown[:40]}: use one of "
            f"{', '.join(KEY_MANAGEMENT)}"
        )
    return algorithm


def _encryptions(values: object) -> tuple[str, ...]:
    items = (values,) if isinstance(values, str) else values
    if not isinstance(items, Iterable):
        raise ConfigurationError("encryptions must be content-encryption names")
    found = tuple(items)
    if not found or any(not isinstance(e, str) or e not in CONTENT_ENCRYPTIONS for e in found):
        raise ConfigurationError(
            f"content encryption must be one or more of {', '.join(CONTENT_ENCRYPTIONS)}"
        )
    return tuple(dict.fromkeys(found))


def _material(algorithm: str, key: Any, private: bool) -> Any:
    """The key object checked for ``algorithm``: a private one (or a secret) for
    decryption, the public half for encryption."""
    if algorithm == "dir":
        if not isinstance(key, bytes):
            raise ConfigurationError("dir takes a shared secret (bytes), not a key pair")
        if len(key) != _SECRET_BYTES:
            raise ConfigurationError(
                f"the dir secret is {len(key)} bytes: it must be exactly {_SECRET_BYTES} "
                "random bytes (256 bits)"
            )
        return key
    is_private = isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
    if private and not is_private:
        raise ConfigurationError(
            f"a decryption key needs the private key ({algorithm}), not a public one"
        )
    public = key.public_key() if is_private else key
    if algorithm == "RSA-OAEP-256":
        if not isinstance(public, rsa.RSAPublicKey):
            raise ConfigurationError(f"RSA-OAEP-256 needs an RSA key, got {_kind(public)}")
        if public.key_size < _MIN_RSA_BITS:
            raise ConfigurationError(
                f"RSA key of {public.key_size} bits is too weak for RSA-OAEP-256: "
                f"use at least {_MIN_RSA_BITS} bits"
            )
    elif not isinstance(public, ec.EllipticCurvePublicKey):
        raise ConfigurationError(f"{algorithm} needs an EC key, got {_kind(public)}")
    elif public.curve.name not in _CURVE_NAMES:
        raise ConfigurationError(
            f"{algorithm} needs a key on P-256, P-384 or P-521, got {public.curve.name}"
        )
    return key if private else public


def _kind(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "an RSA key"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an EC key on {key.curve.name}"
    return f"a {type(key).__name__}"


def _inferred(key: Any) -> str:
    if isinstance(key, bytes):
        return "dir"
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RSA-OAEP-256"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ECDH-ES"
    raise ConfigurationError(f"an encrypted-token key is RSA, EC or a secret, not {_kind(key)}")


def _from_jwk(data: Mapping[str, Any]) -> Any:
    """The key object of a JWK (RSA, EC or oct)."""
    kty = data.get("kty")
    try:
        if kty == "RSA":
            return RSAAlgorithm.from_jwk(dict(data))
        if kty == "EC":
            return ECAlgorithm.from_jwk(dict(data))
        if kty == "oct" and isinstance(data.get("k"), str):
            return b64url_decode(data["k"].encode("ascii"))
    except (PyJWTError, ValueError, TypeError, KeyError, MalformedTokenError):
        pass
    raise ConfigurationError(f"the JWK (kty {str(kty)[:10]!r}) could not be read as a JWE key")


class _JWEKey:
    """What both sides share: the pinned algorithm, the kid and the library's key."""

    __slots__ = ("_jwe", "_lib_key", "_obj", "_registry", "algorithm", "kid")

    _private: bool = False
    algorithm: str
    kid: str | None

    def __init__(self, algorithm: str, key: Any, encs: tuple[str, ...], kid: str | None) -> None:
        if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > 256):
            raise ConfigurationError("a key id (kid) must be a non-empty string (256 at most)")
        self.algorithm = _algorithm(algorithm)
        self.kid = kid
        self._obj = _material(self.algorithm, key, self._private)
        jwe, jwk = _library()
        self._jwe = jwe  # joserfc.jwe, kept: no import look-up per token
        if self.algorithm == "dir":
            self._lib_key = jwk.OctKey.import_key(self._obj)
        elif self.algorithm == "RSA-OAEP-256":
            self._lib_key = jwk.RSAKey.import_key(self._obj)
        else:
            self._lib_key = jwk.ECKey.import_key(self._obj)
        # One registry per key: only its algorithm and its content encryptions; header
        # members it does not know are ignored (RFC 7516 4), ``crit`` is refused before.
        self._registry = jwe.JWERegistry(
            algorithms=[self.algorithm, *encs], strict_check_header=False
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kid={self.kid!r} alg={self.algorithm}>"

    # --- construction (both sides) ------------------------------------------------

    @classmethod
    def _make(cls, algorithm: str | None, key: Any, kid: str | None, **options: Any) -> Any:
        return cls(algorithm or _inferred(key), key, kid=kid, **options)

    @classmethod
    def from_pem(
        cls,
        pem: bytes | str,
        algorithm: str | None = None,
        *,
        kid: str | None = None,
        password: bytes | None = None,
        **options: Any,
    ) -> Any:
        """A key from PEM text (``algorithm``: by default, the one the key type fits)."""
        data = pem.encode() if isinstance(pem, str) else pem
        return cls._make(algorithm, load_pem(data, password), kid, **options)

    @classmethod
    def from_jwk(
        cls, jwk: Mapping[str, Any] | str, algorithm: str | None = None, **options: Any
    ) -> Any:
        """A key from a JWK (a dict or its JSON text): its ``alg`` pins the algorithm,
        its ``use`` must be ``enc`` (or absent), its ``kid`` names the key."""
        data = _json_object(jwk, "JWK") if isinstance(jwk, str) else dict(jwk)
        declared = data.get("alg")
        if declared is not None and algorithm is not None and declared != algorithm:
            raise ConfigurationError("the JWK's alg differs from the algorithm asked for")
        if data.get("use") not in (None, "enc"):
            raise ConfigurationError("the JWK is not for encryption (its use is not enc)")
        ops = data.get("key_ops")
        if ops is not None and not (isinstance(ops, list) and _OPS & set(map(str, ops))):
            raise ConfigurationError("the JWK's key_ops allow no encryption operation")
        kid = data.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise ConfigurationError("the JWK's kid must be a string")
        key = _from_jwk(data)
        chosen = declared or algorithm or _BY_KTY.get(str(data.get("kty")), "")
        return cls(chosen, key, kid=kid or None, **options)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], algorithm: str | None = None, **options: Any
    ) -> Any:
        """A key from a file holding PEM or one JWK."""
        return cls.from_bytes(_read(path), algorithm, **options)

    @classmethod
    def from_bytes(
        cls, data: bytes, algorithm: str | None = None, *, kid: str | None = None, **options: Any
    ) -> Any:
        """A key from PEM or JWK bytes (what a key file holds); ``kid`` names a PEM key
        (a JWK names its own: a different one is refused)."""
        if not key_form(data).startswith("jwk"):
            return cls.from_pem(data, algorithm, kid=kid, **options)
        jwk = _json_object(data, "JWK")
        if kid is not None:
            if jwk.get("kid") not in (None, kid):
                raise ConfigurationError("the kid given differs from the JWK's kid")
            jwk["kid"] = kid
        return cls.from_jwk(jwk, algorithm, **options)

    # --- use ----------------------------------------------------------------------

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK with ``kid``, ``alg`` and ``use: enc`` (none for ``dir``)."""
        if self.algorithm == "dir":
            raise ConfigurationError("a dir key is a shared secret: it has no public form")
        jwk: dict[str, Any] = self._lib_key.as_dict(private=False)
        jwk.update(alg=self.algorithm, use="enc")
        if self.kid:
            jwk["kid"] = self.kid
        return jwk

    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint of the public key (of the ``oct`` JWK for ``dir``)."""
        if self.algorithm == "dir":
            return jwk_thumbprint({"kty": "oct", "k": b64url_encode(self._obj).decode()})
        return jwk_thumbprint(self.public_jwk())


class EncryptionKey(_JWEKey):
    """What an issuer encrypts tokens to: the recipient's public key (a private key is
    taken for its public half) or, for ``dir``, the shared secret.

    ``encryption`` is the content encryption it writes (``A256GCM`` by default).
    """

    __slots__ = ("encryption",)

    def __init__(
        self,
        algorithm: str,
        key: Any,
        *,
        encryption: str = _DEFAULT_ENC,
        kid: str | None = None,
    ) -> None:
        if not isinstance(encryption, str) or encryption not in CONTENT_ENCRYPTIONS:
            raise ConfigurationError(
                f"encryption must be one of {', '.join(CONTENT_ENCRYPTIONS)}"
            )
        self.encryption = encryption
        super().__init__(algorithm, key, (self.encryption,), kid)

    @classmethod
    def from_secret(
        cls, secret: bytes, *, kid: str | None = None, encryption: str = _DEFAULT_ENC
    ) -> EncryptionKey:
        """A ``dir`` key: the 32-byte secret the recipient decrypts with."""
        return cls("dir", secret, kid=kid, encryption=encryption)

    def encrypt(self, token: str | bytes) -> str:
        """The compact JWE of a signed token (``cty: JWT``, the key's ``kid``)."""
        data = token.encode("ascii") if isinstance(token, str) else token
        header: dict[str, Any] = {"alg": self.algorithm, "enc": self.encryption, "cty": "JWT"}
        if self.kid:
            header["kid"] = self.kid
        return str(self._jwe.encrypt_compact(header, data, self._lib_key, registry=self._registry))


class DecryptionKey(_JWEKey):
    """A private key (or a ``dir`` secret) that opens encrypted tokens.

    Pinned to one key-management ``algorithm``; ``encryptions`` lists the content
    encryptions it accepts (``("A256GCM",)`` by default). Build it with
    :meth:`from_pem`, :meth:`from_jwk`, :meth:`from_file`, :meth:`from_secret` or
    :meth:`generate`; :meth:`encryption_key` is the public half an issuer encrypts to.
    """

    __slots__ = ("_public", "encryptions")

    _private = True

    def __init__(
        self,
        algorithm: str,
        key: Any,
        *,
        encryptions: Iterable[str] | str = (_DEFAULT_ENC,),
        kid: str | None = None,
    ) -> None:
        self.encryptions = _encryptions(encryptions)
        super().__init__(algorithm, key, self.encryptions, kid)
        self._public: dict[str, EncryptionKey] = {}  # encryption_key(), made once each

    @classmethod
    def from_secret(
        cls,
        secret: bytes,
        *,
        kid: str | None = None,
        encryptions: Iterable[str] | str = (_DEFAULT_ENC,),
    ) -> DecryptionKey:
        """A ``dir`` key: a shared 32-byte secret."""
        return cls("dir", secret, kid=kid, encryptions=encryptions)

    @classmethod
    def generate(
        cls,
        algorithm: str = "ECDH-ES",
        *,
        kid: str | None = None,
        encryptions: Iterable[str] | str = (_DEFAULT_ENC,),
    ) -> DecryptionKey:
        """A fresh key (P-256 for ECDH, RSA 2048, or 32 random bytes); ``kid`` defaults
        to its RFC 7638 thumbprint (random for ``dir``)."""
        algorithm = _algorithm(algorithm)
        obj: Any
        if algorithm == "dir":
            obj = secrets.token_bytes(_SECRET_BYTES)
        elif algorithm == "RSA-OAEP-256":
            obj = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            obj = ec.generate_private_key(ec.SECP256R1())
        if kid is None and algorithm == "dir":
            kid = secrets.token_hex(8)  # never a digest of the secret in a token header
        key = cls(algorithm, obj, kid=kid, encryptions=encryptions)
        return key if kid else cls(algorithm, obj, kid=key.thumbprint(), encryptions=encryptions)

    def encryption_key(self, encryption: str | None = None) -> EncryptionKey:
        """The key an issuer encrypts to for this key (its public half; the secret for
        ``dir``), writing ``encryption`` (default: the first accepted)."""
        enc = self.encryptions[0] if encryption is None else encryption
        found = self._public.get(enc)
        if found is None:
            if enc not in self.encryptions:
                raise ConfigurationError("this key does not accept that content encryption")
            found = EncryptionKey(self.algorithm, self._obj, encryption=enc, kid=self.kid)
            self._public[enc] = found
        return found

    def private_jwk(self) -> dict[str, Any]:
        """The private JWK (or ``oct`` JWK for ``dir``), with ``alg`` and ``use: enc``.
        Handle with care."""
        jwk: dict[str, Any] = self._lib_key.as_dict(private=True)
        jwk.update(alg=self.algorithm, use="enc")
        if self.kid:
            jwk["kid"] = self.kid
        return jwk

    def decrypt(self, token: bytes) -> bytes:
        """The plaintext of a compact JWE made for this key (the library's exceptions
        pass through: ``jwe.Decrypter`` checks everything before and turns them into
        one fixed error)."""
        found = self._jwe.decrypt_compact(token, self._lib_key, registry=self._registry)
        plaintext: bytes = found.plaintext
        return plaintext
