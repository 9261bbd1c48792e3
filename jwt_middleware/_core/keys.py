"""Keys bound to one algorithm each (key sets chosen by ``kid`` are in ``keyset``).

A :class:`Key` is prepared once (the PEM or JWK is parsed when the key is
built, never per request) and pinned to exactly one algorithm: a token is
only ever checked with the algorithm its key was configured for.

Weak or mismatched keys are refused when they are built, with a message
that says what to change: ``none``, HMAC secrets shorter than the hash
output, RSA keys under 2048 bits, a key type that does not fit the
algorithm, and public keys (PEM, DER, SSH, JWK text) offered as HMAC
secrets.

Security: error messages here name algorithms, key types and sizes, never
key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.exceptions import PyJWTError

from .errors import ConfigurationError
from .jws import b64url_encode
from .signatures import SignatureCheck, signature_check

__all__ = ["ALGORITHMS", "Key", "generate_key"]

_HMAC_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
    "ES256K": ec.SECP256K1,
}
_CRV_NAMES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "ES256K": "secp256k1"}
_MIN_RSA_BITS = 2048


def _es256k_supported() -> bool:
    try:
        ec.generate_private_key(ec.SECP256K1())
    except UnsupportedAlgorithm:  # pragma: no cover - depends on the OpenSSL build
        return False
    return True


#: Every algorithm a key can be bound to, in a stable order.
ALGORITHMS: tuple[str, ...] = (
    *_HMAC_BYTES,
    *_RSA,
    "ES256",
    "ES384",
    "ES512",
    *(("ES256K",) if _es256k_supported() else ()),
    "EdDSA",
)
_ALG_OBJECTS: dict[str, Algorithm] = {
    name: obj for name, obj in get_default_algorithms().items() if name in ALGORITHMS
}

_PRIVATE_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


def _check_algorithm(algorithm: object) -> str:
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        if isinstance(algorithm, str) and algorithm.lower() == "none":
            raise ConfigurationError(
                "algorithm 'none' is never allowed: pick a signing algorithm such as ES256"
            )
        raise ConfigurationError(
            f"unsupported algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}"
        )
    return algorithm


def _check_asymmetric(algorithm: str, key_obj: Any) -> None:
    """Refuse a key whose type or strength does not fit ``algorithm``."""
    public = key_obj.public_key() if isinstance(key_obj, _PRIVATE_TYPES) else key_obj
    if algorithm in _RSA:
        if not isinstance(public, rsa.RSAPublicKey):
            raise ConfigurationError(f"{algorithm} needs an RSA key, got {_kind(public)}")
        if public.key_size < _MIN_RSA_BITS:
            raise ConfigurationError(
                f"RSA key of {public.key_size} bits is too weak for {algorithm}: "
                f"use at least {_MIN_RSA_BITS} bits"
            )
    elif algorithm in _EC_CURVES:
        curve = _EC_CURVES[algorithm]
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise ConfigurationError(f"{algorithm} needs an EC key, got {_kind(public)}")
        if not isinstance(public.curve, curve):
            raise ConfigurationError(
                f"{algorithm} needs a key on curve {_CRV_NAMES[algorithm]}, got {public.curve.name}"
            )
    elif algorithm == "EdDSA":
        if not isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            raise ConfigurationError(f"EdDSA needs an Ed25519 or Ed448 key, got {_kind(public)}")
    else:
        raise ConfigurationError(f"{algorithm} takes a shared secret, not {_kind(public)}")


def _kind(key_obj: Any) -> str:
    if isinstance(key_obj, rsa.RSAPublicKey):
        return "an RSA key"
    if isinstance(key_obj, ec.EllipticCurvePublicKey):
        return f"an EC key on {key_obj.curve.name}"
    if isinstance(key_obj, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return "an EdDSA key"
    return f"a {type(key_obj).__name__}"


def _check_secret(algorithm: str, secret: bytes) -> bytes:
    minimum = _HMAC_BYTES[algorithm]
    if len(secret) < minimum:
        raise ConfigurationError(
            f"the {algorithm} secret is {len(secret)} bytes: use at least {minimum} random bytes "
            f"(for example `python -c 'import secrets; print(secrets.token_urlsafe({minimum}))'`)"
        )
    try:
        # PyJWT refuses PEM, SSH, DER and JWK text as HMAC secrets (the
        # algorithm-confusion family of attacks); its message is not reused.
        _ALG_OBJECTS[algorithm].prepare_key(secret)
    except (PyJWTError, ValueError, TypeError):
        raise ConfigurationError(
            f"the {algorithm} secret looks like a public key, certificate or JWK: "
            "an HMAC secret must be random bytes, and a public key needs an RS, PS, ES or "
            "EdDSA algorithm"
        ) from None
    return secret


class Key:
    """One key, pinned to one algorithm, prepared once.

    Build it with :meth:`from_secret`, :meth:`from_pem`, :meth:`from_pem_file`,
    :meth:`from_jwk` or :func:`generate_key`. A key built from a private key
    can sign as well as verify.
    """

    __slots__ = ("_alg_obj", "_check", "_sign_key", "_verify_key", "algorithm", "kid")

    algorithm: str
    kid: str | None

    def __init__(
        self, algorithm: str, verify_key: Any, sign_key: Any = None, *, kid: str | None = None
    ) -> None:
        algorithm = _check_algorithm(algorithm)
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise ConfigurationError("a key id (kid) must be a non-empty string")
        if algorithm in _HMAC_BYTES:
            if not isinstance(verify_key, bytes):
                raise ConfigurationError(
                    f"{algorithm} takes a shared secret, not {_kind(verify_key)}"
                )
            verify_key = sign_key = _check_secret(algorithm, verify_key)
        else:
            _check_asymmetric(algorithm, verify_key)
            if isinstance(verify_key, _PRIVATE_TYPES):
                sign_key = verify_key
                verify_key = verify_key.public_key()
        self.algorithm = algorithm
        self.kid = kid
        self._alg_obj = _ALG_OBJECTS[algorithm]
        self._verify_key = verify_key
        self._sign_key = sign_key
        #: The prepared signature check the verifier calls: ``(signing_input, signature)``.
        self._check: SignatureCheck = signature_check(algorithm, verify_key)

    def __repr__(self) -> str:
        kind = "private" if self.can_sign and self.algorithm not in _HMAC_BYTES else "public"
        if self.algorithm in _HMAC_BYTES:
            kind = "secret"
        return f"<Key kid={self.kid!r} alg={self.algorithm} {kind}>"

    # --- construction -----------------------------------------------------

    @classmethod
    def from_secret(
        cls,
        secret: bytes | str,
        algorithm: str = "HS256",
        *,
        kid: str | None = None,
        encoding: str = "raw",
    ) -> Key:
        """An HMAC key. ``encoding`` is ``"raw"`` (text is UTF-8 encoded) or ``"base64"``
        (standard or URL-safe alphabet, padding optional)."""
        if encoding == "base64":
            text = secret.decode() if isinstance(secret, bytes) else secret
            text = text.strip().replace("-", "+").replace("_", "/")
            try:
                raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ConfigurationError("the secret is not valid base64") from None
        elif encoding == "raw":
            raw = secret.encode() if isinstance(secret, str) else secret
        else:
            raise ConfigurationError("encoding must be 'raw' or 'base64'")
        if _check_algorithm(algorithm) not in _HMAC_BYTES:
            raise ConfigurationError(
                f"{algorithm} needs a public or private key, not a shared secret"
            )
        return cls(algorithm, raw, kid=kid)

    @classmethod
    def from_pem(
        cls,
        pem: bytes | str,
        algorithm: str,
        *,
        kid: str | None = None,
        password: bytes | None = None,
    ) -> Key:
        """A key from PEM text: a public key, a certificate, or a private key."""
        _check_algorithm(algorithm)
        data = pem.encode() if isinstance(pem, str) else pem
        if algorithm in _HMAC_BYTES:
            raise ConfigurationError(
                f"{algorithm} takes a shared secret, not a PEM key: use an RS, PS, ES or "
                "EdDSA algorithm for this key"
            )
        return cls(algorithm, load_pem(data, password), kid=kid)

    @classmethod
    def from_pem_file(
        cls,
        path: str | os.PathLike[str],
        algorithm: str,
        *,
        kid: str | None = None,
        password: bytes | None = None,
    ) -> Key:
        """A key from a PEM file."""
        return cls.from_pem(_read(path), algorithm, kid=kid, password=password)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any] | str, algorithm: str | None = None) -> Key:
        """A key from a JWK (a dict or its JSON text).

        The algorithm is the JWK's ``alg``, or ``algorithm``; when both are
        given they must agree. Without either it is inferred where only one
        fits (EC curves, Ed25519/Ed448); RSA and ``oct`` keys need one said.
        """
        data = _json_object(jwk, "JWK") if isinstance(jwk, str) else dict(jwk)
        alg = _jwk_algorithm(data, algorithm)
        if data.get("use") not in (None, "sig"):
            raise ConfigurationError(f"the JWK is for use {data.get('use')!r}, not for signatures")
        ops = data.get("key_ops")
        if ops is not None and not ({"verify", "sign"} & set(ops if isinstance(ops, list) else [])):
            raise ConfigurationError("the JWK's key_ops allow neither verify nor sign")
        kid = data.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise ConfigurationError("the JWK's kid must be a string")
        try:
            key_obj = _ALG_OBJECTS[alg].from_jwk(data)
        except (PyJWTError, ValueError, TypeError, KeyError, UnsupportedAlgorithm):
            raise ConfigurationError(f"the JWK could not be read as an {alg} key") from None
        return cls(alg, key_obj, kid=kid or None)

    # --- use --------------------------------------------------------------

    @property
    def can_sign(self) -> bool:
        """Whether this key holds private (or secret) material."""
        return self._sign_key is not None

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Check a signature made with this key's algorithm."""
        return self._check(signing_input, signature)

    def sign(self, signing_input: bytes) -> bytes:
        """Sign with this key's algorithm. Needs a private key or a secret."""
        if self._sign_key is None:
            raise ConfigurationError(f"key {self.kid!r} is public only and cannot sign")
        return bytes(self._alg_obj.sign(signing_input, self._sign_key))

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK with ``kid``, ``alg`` and ``use``. HMAC keys have none."""
        if self.algorithm in _HMAC_BYTES:
            raise ConfigurationError("an HMAC key has no public form: never publish a secret")
        jwk: dict[str, Any] = self._alg_obj.to_jwk(self._verify_key, as_dict=True)
        jwk.update(alg=self.algorithm, use="sig")
        if self.kid:
            jwk["kid"] = self.kid
        return jwk

    def private_jwk(self) -> dict[str, Any]:
        """The private JWK (or ``oct`` JWK for HMAC). Handle with care."""
        if self._sign_key is None:
            raise ConfigurationError(f"key {self.kid!r} is public only")
        jwk: dict[str, Any] = self._alg_obj.to_jwk(self._sign_key, as_dict=True)
        jwk.update(alg=self.algorithm, use="sig")
        if self.kid:
            jwk["kid"] = self.kid
        return jwk

    def public_pem(self) -> bytes:
        """The public key as PEM (SubjectPublicKeyInfo)."""
        if self.algorithm in _HMAC_BYTES:
            raise ConfigurationError("an HMAC key has no public form")
        return bytes(
            self._verify_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS #8 PEM. Handle with care."""
        if self._sign_key is None or self.algorithm in _HMAC_BYTES:
            raise ConfigurationError("only an asymmetric private key has a private PEM")
        return bytes(
            self._sign_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def thumbprint(self) -> str:
        """The RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key."""
        jwk = self.public_jwk()
        members = {
            "RSA": ("e", "kty", "n"),
            "EC": ("crv", "kty", "x", "y"),
            "OKP": ("crv", "kty", "x"),
        }
        canonical = {m: jwk[m] for m in members[jwk["kty"]]}
        digest = hashlib.sha256(
            json.dumps(canonical, separators=(",", ":"), sort_keys=True).encode()
        )
        return b64url_encode(digest.digest()).decode()


def load_pem(data: bytes, password: bytes | None = None) -> Any:
    """The key object of PEM text: a private key, a public key or a certificate's key."""
    try:
        if b"PRIVATE KEY-----" in data:
            return serialization.load_pem_private_key(data, password=password)
        if b"CERTIFICATE-----" in data:
            from cryptography import x509

            return x509.load_pem_x509_certificate(data).public_key()
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError("the PEM data could not be read as a key") from None


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read key file {os.fspath(path)!r}: {exc.strerror}"
        ) from None


def _json_object(text: str | bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"the {what} is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ConfigurationError(f"the {what} must be a JSON object")
    return obj


def _jwk_algorithm(data: Mapping[str, Any], algorithm: str | None) -> str:
    declared = data.get("alg")
    if declared == "ES521":  # a historic alias some documents (RFC 7520's JWK) still use
        declared = "ES512"
    if declared is not None and algorithm is not None and declared != algorithm:
        raise ConfigurationError(f"the JWK says alg {declared!r} but {algorithm!r} was asked for")
    chosen = declared or algorithm
    if chosen is not None:
        return _check_algorithm(chosen)
    kty, crv = data.get("kty"), data.get("crv")
    if kty == "EC":
        for alg, name in _CRV_NAMES.items():
            if crv == name and alg in ALGORITHMS:
                return alg
    if kty == "OKP" and crv in ("Ed25519", "Ed448"):
        return "EdDSA"
    raise ConfigurationError(
        f'the JWK (kty {kty!r}) does not say its algorithm: add "alg" to it or pass algorithm='
    )


def generate_key(algorithm: str = "ES256", *, kid: str | None = None) -> Key:
    """A fresh private key (or secret) for ``algorithm``, for tests, examples and the CLI.

    ``kid`` defaults to the RFC 7638 thumbprint (random for HMAC).
    """
    alg = _check_algorithm(algorithm)
    if alg in _HMAC_BYTES:
        return Key(alg, secrets.token_bytes(_HMAC_BYTES[alg]), kid=kid or secrets.token_hex(8))
    key_obj: Any
    if alg in _RSA:
        key_obj = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg in _EC_CURVES:
        key_obj = ec.generate_private_key(_EC_CURVES[alg]())
    else:
        key_obj = ed25519.Ed25519PrivateKey.generate()
    key = Key(alg, key_obj, kid=kid)
    if kid is None:
        key = Key(alg, key_obj, kid=key.thumbprint())
    return key
