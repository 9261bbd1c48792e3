"""DPoP proofs made by DPoPKey (RFC 9449 §4.2), each checked independently with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from jwt_middleware import (
    ConfigurationError,
    DPoPNonces,
    DPoPVerifier,
    Key,
    UseDPoPNonceError,
    generate_key,
)
from jwt_middleware.client import DPoPKey

ALGORITHMS = ["ES256", "EdDSA", "PS256", "RS256"]
KEYS = {alg: DPoPKey.generate(alg) for alg in ALGORITHMS}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
URL = "https://api.example.test/orders/7"


def _verified(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, the signature checked by PyJWT with the key from the jwk header."""
    header = jwt.get_unverified_header(proof)
    key = get_default_algorithms()[header["alg"]].from_jwk(header["jwk"])
    claims = jwt.decode(proof, key=key, algorithms=[header["alg"]])
    return header, claims


def _pem(key_obj: Any) -> bytes:
    return bytes(key_obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_header_and_claims(algorithm: str) -> None:
    key = KEYS[algorithm]
    before = int(time.time())
    header, claims = _verified(key.proof("post", URL))
    assert header == {"alg": algorithm, "typ": "dpop+jwt", "jwk": key.public_jwk}
    assert set(claims) == {"jti", "htm", "htu", "iat"}
    assert claims["htm"] == "POST"
    assert claims["htu"] == URL
    assert before <= claims["iat"] <= int(time.time())
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", claims["jti"]), "128 random bits, base64url"
    assert key.algorithm == algorithm


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_proof_header_never_carries_a_private_member(algorithm: str) -> None:
    key = KEYS[algorithm]
    header, _ = _verified(key.proof("GET", URL))
    assert not PRIVATE_MEMBERS & header["jwk"].keys()
    expected = {"EC": {"kty", "crv", "x", "y"}, "OKP": {"kty", "crv", "x"},
                "RSA": {"kty", "n", "e"}}
    assert set(header["jwk"]) == expected[header["jwk"]["kty"]]


@pytest.mark.parametrize(
    ("url", "htu"),
    [
        ("https://api.example.test/a/b?page=2&sort=x#frag", "https://api.example.test/a/b"),
        ("https://API.Example.TEST:443/a", "https://api.example.test/a"),
        ("HTTP://api.example.test:80/", "http://api.example.test/"),
        ("http://127.0.0.1:8080/x?y", "http://127.0.0.1:8080/x"),
        ("https://user:password@api.example.test/a", "https://api.example.test/a"),
        ("https://[::1]:8443/v6#f", "https://[::1]:8443/v6"),
        ("https://api.example.test", "https://api.example.test/"),
        ("https://api.example.test/A/%7Euser", "https://api.example.test/A/%7Euser"),
    ],
)
def test_htu_leaves_out_query_fragment_and_user_info(url: str, htu: str) -> None:
    _, claims = _verified(KEYS["ES256"].proof("GET", url))
    assert claims["htu"] == htu


@pytest.mark.parametrize("url", ["/relative", "ftp://host/x", "https://", "https://h:99999/",
                                 "not a url"])
def test_a_url_that_is_not_absolute_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="absolute http"):
        KEYS["ES256"].proof("GET", url)


@pytest.mark.parametrize("method", ["", "GET /", "G\r\nET", "x" * 21])
def test_a_bad_method_is_refused(method: str) -> None:
    with pytest.raises(ValueError, match="HTTP method"):
        KEYS["ES256"].proof(method, URL)


def test_ath_is_the_base64url_sha256_of_the_access_token() -> None:
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
    _, claims = _verified(KEYS["ES256"].proof("GET", URL, access_token=token))
    digest = hashlib.sha256(token.encode("ascii")).digest()
    assert claims["ath"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    # RFC 9449 §7.1's example token and its ath (Figure 13).
    rfc_token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    _, claims = _verified(KEYS["ES256"].proof("GET", URL, access_token=rfc_token))
    assert claims["ath"] == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    with pytest.raises(ValueError, match="ASCII"):
        KEYS["ES256"].proof("GET", URL, access_token="tökén")


def test_nonce_iat_and_jti_when_given() -> None:
    _, claims = _verified(KEYS["EdDSA"].proof("GET", URL, nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v",
                                              iat=1_700_000_000, jti="fixed"))
    assert claims["nonce"] == "eyJ7S_zG.eyJH0-Z.HX4w-7v"
    assert claims["iat"] == 1_700_000_000
    assert claims["jti"] == "fixed"


def test_each_proof_is_fresh() -> None:
    jtis = {_verified(KEYS["ES256"].proof("GET", URL))[1]["jti"] for _ in range(50)}
    assert len(jtis) == 50


def test_thumbprint_is_rfc_7638_of_the_public_key() -> None:
    for algorithm, key in KEYS.items():
        independent = Key.from_pem(key.private_pem(), algorithm).thumbprint()
        assert key.thumbprint == independent


def test_public_jwk_is_a_copy() -> None:
    key = KEYS["ES256"]
    key.public_jwk["x"] = "tampered"
    header, _ = _verified(key.proof("GET", URL))
    assert header["jwk"]["x"] != "tampered"


def test_repr_never_shows_key_material() -> None:
    for key in KEYS.values():
        text = repr(key)
        assert key.algorithm in text
        assert key.thumbprint in text
        private = Key.from_pem(key.private_pem(), key.algorithm).private_jwk()
        for member in PRIVATE_MEMBERS & private.keys():
            assert private[member] not in text
        assert "PRIVATE" not in text


def test_from_pem_infers_ec_and_eddsa_and_round_trips() -> None:
    ec_key = DPoPKey.from_pem(_pem(ec.generate_private_key(ec.SECP256R1())))
    assert ec_key.algorithm == "ES256"
    p384 = DPoPKey.from_pem(_pem(ec.generate_private_key(ec.SECP384R1())).decode())
    assert p384.algorithm == "ES384"
    ed = DPoPKey.from_pem(_pem(ed25519.Ed25519PrivateKey.generate()))
    assert ed.algorithm == "EdDSA"
    again = DPoPKey.from_pem(KEYS["PS256"].private_pem(), "PS256")
    assert again.thumbprint == KEYS["PS256"].thumbprint
    _verified(again.proof("GET", URL))


def test_from_pem_needs_the_algorithm_for_rsa() -> None:
    pem = KEYS["RS256"].private_pem()
    with pytest.raises(ConfigurationError, match="PS256 or RS256"):
        DPoPKey.from_pem(pem)
    assert DPoPKey.from_pem(pem, "RS256").algorithm == "RS256"


def test_weak_public_and_symmetric_keys_are_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ConfigurationError, match="at least 2048"):
        DPoPKey.from_pem(_pem(weak), "RS256")
    public = KEYS["ES256"]
    public_pem = Key.from_pem(public.private_pem(), "ES256").public_pem()
    with pytest.raises(ConfigurationError, match="private key"):
        DPoPKey.from_pem(public_pem)
    with pytest.raises(ConfigurationError, match="private key"):
        DPoPKey(Key.from_pem(public_pem, "ES256"))
    with pytest.raises(ConfigurationError, match="asymmetric"):
        DPoPKey(generate_key("HS256"))
    for algorithm in ("HS256", "none", "ES257"):
        with pytest.raises(ConfigurationError, match="asymmetric"):
            DPoPKey.generate(algorithm)
    with pytest.raises(ConfigurationError, match="curve"):
        DPoPKey.from_pem(_pem(ec.generate_private_key(ec.SECP224R1())))
    with pytest.raises(ConfigurationError, match="RSA key"):
        DPoPKey.from_pem(_pem(ec.generate_private_key(ec.SECP256R1())), "RS256")


def test_a_key_with_a_kid_signs_proofs_without_one() -> None:
    key = DPoPKey(generate_key("ES256", kid="my-key"))
    header, _ = _verified(key.proof("GET", URL))
    assert "kid" not in header


# --- round trip: the package's own verifier takes these proofs --------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_proofs_pass_the_dpop_verifier(algorithm: str) -> None:
    key = KEYS[algorithm]
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
    verifier = DPoPVerifier()
    url = "https://API.example.test:443/orders/7?page=2#top"
    proof = key.proof("GET", url, access_token=token)
    checked = verifier.check(proof, method="GET", url="https://api.example.test/orders/7?page=2",
                             access_token=token, jkt=key.thumbprint)
    assert checked.jkt == key.thumbprint
    assert checked.algorithm == algorithm
    assert checked.htu == "https://api.example.test/orders/7"
    at_login = key.proof("POST", "https://api.example.test/auth/login")
    assert verifier.check(at_login, method="POST",
                          url="https://api.example.test/auth/login").jkt == key.thumbprint


def test_the_verifiers_nonce_goes_into_the_next_proof() -> None:
    key = KEYS["ES256"]
    verifier = DPoPVerifier(nonces=DPoPNonces(b"n" * 32))
    with pytest.raises(UseDPoPNonceError) as refused:
        verifier.check(key.proof("GET", URL), method="GET", url=URL)
    nonce = refused.value.nonce
    assert verifier.check(key.proof("GET", URL, nonce=nonce), method="GET", url=URL).nonce == nonce


def test_dpop_key_is_public_at_the_top_level_too() -> None:
    import jwt_middleware

    assert jwt_middleware.DPoPKey is DPoPKey
    assert "DPoPKey" in jwt_middleware.__all__
