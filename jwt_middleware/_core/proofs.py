"""DPoP proofs (RFC 9449): the client's side, pure.

A :class:`DPoPKey` is a private key a client keeps for itself. For each
request it signs a *proof*, a short JWT that says "the holder of this key
sends this method to this URL, now"::

    key = DPoPKey.generate()                       # ES256
    proof = key.proof("GET", "https://api.example/orders?page=2",
                      access_token=token)          # the DPoP header's value

The proof's header carries the public key (``jwk``, the public members only)
and ``typ: dpop+jwt``; its claims are a random ``jti``, ``htm`` (the method),
``htu`` (the URL without query, fragment or user info), ``iat`` and, when an
access token goes with it, ``ath`` (the base64url SHA-256 of the token), and
the server's ``nonce`` when it asked for one. A server binds tokens to
:attr:`DPoPKey.thumbprint` (``cnf.jkt``, RFC 7638).

Security: the private key never leaves the object: its ``repr`` shows the
algorithm and the thumbprint only, the proof header holds public members
only, and error messages never hold key material or tokens. Keep one key per
client installation and never share it; a key that leaks lets whoever holds
it use the tokens bound to it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .encode import encode
from .errors import ConfigurationError
from .jws import b64url_encode
from .keys import ALGORITHMS, Key, generate_key, load_pem
from .thumbprint import REQUIRED_MEMBERS, jwk_thumbprint

__all__ = ["DPOP_KEY_ALGORITHMS", "DPoPKey", "access_token_hash"]

#: The algorithms a DPoP key can sign with: every asymmetric one (servers accept
#: ES256, EdDSA, PS256 and RS256 by default).
DPOP_KEY_ALGORITHMS: tuple[str, ...] = tuple(a for a in ALGORITHMS if not a.startswith("HS"))

#: JWK members that hold private material (RFC 7518 section 6, RFC 8037).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
#: An HTTP method is an RFC 9110 token; in practice letters.
_DEFAULT_PORTS = {"http": 80, "https": 443}
_METHOD = re.compile(r"[A-Za-z]{1,20}").fullmatch


def access_token_hash(access_token: str) -> str:
    """``ath``: the base64url (unpadded) SHA-256 of the token's ASCII bytes (RFC 9449 §4.2)."""
    try:
        raw = access_token.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("an access token is ASCII text") from None
    return b64url_encode(hashlib.sha256(raw).digest()).decode("ascii")


def _htu(url: str) -> str:
    """The URL as a proof's ``htu``: no query, fragment or user info; scheme and host
    lowercased, the default port left out (RFC 9449 §4.3, RFC 3986 §6.2.2 and §6.2.3)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("the URL of a DPoP proof must be an absolute http(s) URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError("the URL of a DPoP proof must be an absolute http(s) URL")
    netloc = f"[{host}]" if ":" in host else host  # hostname is lowercased already
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


class DPoPKey:
    """A client's DPoP key: a private key pinned to one asymmetric algorithm.

    Build it with :meth:`generate` or :meth:`from_pem` (or from a private
    :class:`~jwt_middleware.Key`). ``algorithm``, ``public_jwk`` (a copy each
    time) and ``thumbprint`` are public; the private key is not.
    """

    __slots__ = ("_jwk", "_key", "algorithm", "thumbprint")

    algorithm: str
    thumbprint: str

    def __init__(self, key: Key) -> None:
        if not isinstance(key, Key) or key.algorithm not in DPOP_KEY_ALGORITHMS:
            raise ConfigurationError(
                "a DPoP key needs an asymmetric algorithm: one of "
                + ", ".join(DPOP_KEY_ALGORITHMS)
            )
        if not key.can_sign:
            raise ConfigurationError("a DPoP key must be a private key: a public key cannot sign")
        full = key.public_jwk()
        jwk = {name: full[name] for name in REQUIRED_MEMBERS[full["kty"]]}
        if _PRIVATE_MEMBERS & jwk.keys():  # pragma: no cover - a public JWK never has them
            raise ConfigurationError("refusing to put a private key member into a proof")
        # Without a kid: a proof names its key by the jwk header alone.
        self._key = key if key.kid is None else Key(key.algorithm, load_pem(key.private_pem()))
        self._jwk = jwk
        self.algorithm = key.algorithm
        self.thumbprint = jwk_thumbprint(jwk)

    def __repr__(self) -> str:
        return f"<DPoPKey alg={self.algorithm} jkt={self.thumbprint}>"  # never the key

    # --- construction -----------------------------------------------------

    @classmethod
    def generate(cls, algorithm: str = "ES256") -> DPoPKey:
        """A fresh private key: ES256 (the default), EdDSA (Ed25519), PS256 or RS256
        (RSA 2048 bits), or another asymmetric algorithm a server accepts."""
        if algorithm not in DPOP_KEY_ALGORITHMS:
            raise ConfigurationError(
                f"a DPoP key needs an asymmetric algorithm, not {algorithm!r}: use one of "
                + ", ".join(DPOP_KEY_ALGORITHMS)
            )
        return cls(generate_key(algorithm, kid="dpop"))

    @classmethod
    def from_pem(
        cls, pem: bytes | str, algorithm: str | None = None, *, password: bytes | None = None
    ) -> DPoPKey:
        """A key from a private key's PEM text (PKCS #8, or the traditional forms).

        ``algorithm`` is inferred for EC keys (the curve says it) and Ed25519
        or Ed448 keys (``EdDSA``); an RSA key needs it said (``PS256`` or
        ``RS256``). RSA keys under 2048 bits are refused.
        """
        data = pem.encode() if isinstance(pem, str) else pem
        if b"PRIVATE KEY-----" not in data:
            raise ConfigurationError("a DPoP key must be a private key (PEM 'PRIVATE KEY')")
        key_obj = load_pem(data, password)
        if algorithm is None:
            algorithm = _infer(key_obj)
        if algorithm not in DPOP_KEY_ALGORITHMS:
            raise ConfigurationError(
                f"a DPoP key needs an asymmetric algorithm, not {algorithm!r}: use one of "
                + ", ".join(DPOP_KEY_ALGORITHMS)
            )
        return cls(Key(algorithm, key_obj))

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS #8 PEM, to keep it between runs.

        Handle with care: store it where only this client can read it (a file
        with mode 0600, the platform keystore). A native app should rather
        create its key inside the keystore and never export it.
        """
        return self._key.private_pem()

    # --- use --------------------------------------------------------------

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public key as the proof's ``jwk`` header carries it (required members only)."""
        return dict(self._jwk)

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        iat: int | None = None,
        jti: str | None = None,
    ) -> str:
        """A fresh proof (a compact JWS) for one request: the ``DPoP`` header's value.

        ``url`` is the request's full URL; its query, fragment and user info
        are left out of ``htu``. Give ``access_token`` when the request
        carries one (``Authorization: DPoP <token>``): the proof then holds
        its hash (``ath``). ``nonce`` is the server's latest ``DPoP-Nonce``.
        ``iat`` (now) and ``jti`` (128 random bits) are for tests.
        """
        if not isinstance(method, str) or not _METHOD(method):
            raise ValueError("the method of a DPoP proof must be an HTTP method such as GET")
        claims: dict[str, Any] = {
            "jti": jti if jti is not None else b64url_encode(secrets.token_bytes(16)).decode(),
            "htm": method.upper(),
            "htu": _htu(url),
            "iat": int(time.time()) if iat is None else int(iat),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        return encode(claims, self._key, headers={"typ": "dpop+jwt", "jwk": self._jwk})


def _infer(key_obj: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

    if isinstance(key_obj, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        algorithm = by_curve.get(key_obj.curve.name)
        if algorithm is None:
            raise ConfigurationError(f"the EC curve {key_obj.curve.name} is not for DPoP keys")
        return algorithm
    if isinstance(key_obj, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return "EdDSA"
    raise ConfigurationError(
        "this key's algorithm cannot be inferred: pass algorithm= (PS256 or RS256 for RSA)"
    )
