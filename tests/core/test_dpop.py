"""DPoP proof checks (RFC 9449 section 4.3): one named test per step and per refusal.

Proofs are built by ``tests/core/dpop_support.py``, independently of the package's client
helpers, and by hand where a proof must be wrong in one precise way. RFC 9449's own two
example proofs are checked as they stand in the RFC (with the clock at their ``iat``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from jwt_middleware import (
    DPoPProof,
    DPoPVerifier,
    InvalidDPoPProofError,
    Key,
    generate_key,
)
from jwt_middleware._core import dpop as messages
from jwt_middleware._core import dpop_jws as jws_messages
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.sqlite import SQLiteStore

from .dpop_support import DROP, TOKEN, URL, ath, b64, dpop_key, proof, public_jwk, sign

# RFC 9449 section 4.1 (a token request) and section 7.1 (a resource request with ath),
# as printed in the RFC; both signed by the same P-256 key, thumbprint from section 6.1.
RFC_TOKEN_REQUEST_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0"
    "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10"
    "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoi"
    "UE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-"
    "GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
)
RFC_RESOURCE_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0"
    "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10"
    "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoi"
    "R0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6"
    "MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9"
    "RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
)
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"


def check(verifier: DPoPVerifier, value: Any, **request: Any) -> DPoPProof:
    options: dict[str, Any] = {"method": "GET", "url": URL, "access_token": TOKEN}
    options.update(request)
    return verifier.check(value, **options)


def refused(verifier: DPoPVerifier, value: Any, description: str, **request: Any) -> None:
    with pytest.raises(InvalidDPoPProofError) as info:
        check(verifier, value, **request)
    assert info.value.description == description
    assert (info.value.status, info.value.error) == (401, "invalid_dpop_proof")


@pytest.fixture
def verifier() -> DPoPVerifier:
    return DPoPVerifier()


# --- accepted ----------------------------------------------------------------------


def test_a_good_proof_says_what_it_proves(verifier: DPoPVerifier) -> None:
    key = dpop_key("ES256")
    value = proof(key, method="POST", claims={"jti": "one-jti", "iat": int(time.time())})
    result = check(verifier, value, method="POST", jkt=key.thumbprint())
    assert result.jkt == key.thumbprint()
    assert (result.jti, result.htm, result.htu, result.algorithm) == ("one-jti", "POST", URL,
                                                                       "ES256")
    assert result.nonce is None
    assert abs(result.iat - time.time()) < 5


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "PS256", "RS256"])
def test_every_default_algorithm_is_accepted(verifier: DPoPVerifier, algorithm: str) -> None:
    assert check(verifier, proof(dpop_key(algorithm))).algorithm == algorithm


@pytest.mark.parametrize("algorithm", ["ES384", "ES512", "PS512", "RS384"])
def test_other_asymmetric_algorithms_when_configured(algorithm: str) -> None:
    verifier = DPoPVerifier(algorithms=[algorithm])
    assert check(verifier, proof(dpop_key(algorithm))).algorithm == algorithm
    refused(verifier, proof(dpop_key("ES256")), jws_messages.ALG)


def test_rfc_9449_token_request_example_proof() -> None:
    verifier = DPoPVerifier(clock=lambda: 1562262616)
    result = verifier.check(RFC_TOKEN_REQUEST_PROOF, method="POST",
                            url="https://server.example.com/token")
    assert (result.jkt, result.jti, result.iat) == (RFC_JKT, "-BwC3ESc6acc2lTc", 1562262616)
    with pytest.raises(InvalidDPoPProofError, match="already used"):
        verifier.check(RFC_TOKEN_REQUEST_PROOF, method="POST",
                       url="https://server.example.com/token")


def test_rfc_9449_resource_request_example_proof_with_ath_and_jkt() -> None:
    verifier = DPoPVerifier(clock=lambda: 1562262618)
    result = verifier.check(
        RFC_RESOURCE_PROOF, method="GET", url="https://resource.example.org/protectedresource",
        access_token=RFC_ACCESS_TOKEN, jkt=RFC_JKT,
    )
    assert result.jti == "e1j3V_bKic8-LAEB"
    with pytest.raises(InvalidDPoPProofError, match=r"\(ath\)"):
        DPoPVerifier(clock=lambda: 1562262618).check(
            RFC_RESOURCE_PROOF, method="GET",
            url="https://resource.example.org/protectedresource", access_token=TOKEN,
        )


# --- step 1: one header value, a JWS of bounded size ----------------------------------


def test_two_proof_values_are_refused(verifier: DPoPVerifier) -> None:
    key = dpop_key()
    first, second = proof(key), proof(key)
    refused(verifier, [first, second], jws_messages.ONE)
    refused(verifier, f"{first}, {second}", jws_messages.ONE)  # repeated headers, joined
    assert check(verifier, [first]).jti  # one value in a list is fine


@pytest.mark.parametrize("value", ["", "  ", []])
def test_a_missing_proof_is_refused(verifier: DPoPVerifier, value: Any) -> None:
    refused(verifier, value, jws_messages.REQUIRED)


def test_an_oversize_proof_is_refused_before_parsing() -> None:
    verifier = DPoPVerifier(max_proof_bytes=1024)
    big = proof(dpop_key(), claims={"pad": "x" * 2000})
    refused(verifier, big, jws_messages.TOO_LARGE)
    refused(DPoPVerifier(), "a" * 9000, jws_messages.TOO_LARGE)


@pytest.mark.parametrize(
    "value",
    ["abc", "a.b", "a.b.c.d", ".e30.c2ln", "e30.e30.c2ln=", "e30.e30.%%%", "ｅ30.e30.c2ln",
     "W10.e30.c2ln", b64(b'{"a":1,"a":2}') + ".e30.c2ln", b64(b"\xff") + ".e30.c2ln"],
)
def test_a_proof_that_is_not_a_compact_jws_is_malformed(verifier: DPoPVerifier,
                                                         value: str) -> None:
    refused(verifier, value, jws_messages.MALFORMED)


def test_a_payload_that_is_not_strict_json_is_malformed(verifier: DPoPVerifier) -> None:
    key = dpop_key()
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(key)}
    refused(verifier, sign(header, b'{"jti":"a","jti":"b"}', key), jws_messages.MALFORMED)
    refused(verifier, sign(header, b"[1]", key), jws_messages.MALFORMED)
    refused(verifier, sign(header, b'{"iat":NaN}', key), jws_messages.MALFORMED)


def test_bytes_and_other_types_are_malformed(verifier: DPoPVerifier) -> None:
    refused(verifier, proof(dpop_key()).encode(), jws_messages.MALFORMED)
    refused(verifier, 12, jws_messages.MALFORMED)
    refused(verifier, [b"x"], jws_messages.MALFORMED)


# --- step 3: required claims -----------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "description"),
    [("jti", messages.JTI), ("htm", messages.HTM), ("htu", messages.HTU), ("iat", messages.IAT)],
)
def test_a_missing_required_claim_is_refused(verifier: DPoPVerifier, claim: str,
                                             description: str) -> None:
    refused(verifier, proof(dpop_key(), claims={claim: DROP}), description)


@pytest.mark.parametrize("jti", ["", "x" * 257, 12, None, ["a"]])
def test_a_jti_that_is_not_a_short_string_is_refused(verifier: DPoPVerifier, jti: Any) -> None:
    refused(verifier, proof(dpop_key(), claims={"jti": jti}), messages.JTI)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_jti_no_store_can_hold_is_refused(store: str, tmp_path: Path) -> None:
    replay = MemoryStore() if store == "memory" else SQLiteStore(tmp_path / "replay.db")
    verifier = DPoPVerifier(store=replay)
    refused(verifier, proof(dpop_key(), claims={"jti": "\ud800"}), messages.JTI)
    assert check(verifier, proof(dpop_key(), claims={"jti": "jtï\x00✓"})).jti == "jtï\x00✓"


def test_a_jti_of_256_characters_is_accepted(verifier: DPoPVerifier) -> None:
    assert check(verifier, proof(dpop_key(), claims={"jti": "j" * 256})).jti == "j" * 256


# --- step 4: typ -------------------------------------------------------------------------


@pytest.mark.parametrize("typ", [DROP, "JWT", "at+jwt", "DPOP+JWT", "application/dpop+jwt",
                                 None, ["dpop+jwt"]])
def test_typ_must_be_exactly_dpop_jwt(verifier: DPoPVerifier, typ: Any) -> None:
    refused(verifier, proof(dpop_key(), header={"typ": typ}), jws_messages.TYP)


# --- step 5: alg ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(verifier: DPoPVerifier, alg: str) -> None:
    key = dpop_key()
    good = proof(key)
    head = b64(f'{{"typ":"dpop+jwt","alg":"{alg}","jwk":{_json(public_jwk(key))}}}'.encode())
    unsigned = f"{head}.{good.split('.')[1]}."
    refused(verifier, unsigned, jws_messages.ALG)


def test_alg_hs256_is_refused_even_with_a_symmetric_jwk(verifier: DPoPVerifier) -> None:
    secret = Key.from_secret(b"s" * 32, "HS256")
    jwk = {"kty": "oct", "k": b64(b"s" * 32)}
    value = sign({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk},
                 {"jti": "a", "htm": "GET", "htu": URL, "iat": int(time.time()),
                  "ath": ath(TOKEN)}, secret)
    refused(verifier, value, jws_messages.ALG)


def test_an_algorithm_outside_the_configured_list_is_refused() -> None:
    verifier = DPoPVerifier(algorithms=["ES256"])
    refused(verifier, proof(dpop_key("EdDSA")), jws_messages.ALG)
    refused(verifier, proof(dpop_key("ES256"), header={"alg": 256}), jws_messages.ALG)


def test_a_crit_header_is_refused(verifier: DPoPVerifier) -> None:
    refused(verifier, proof(dpop_key(), header={"crit": ["exp"], "exp": 1}), jws_messages.CRIT)


# --- jwk: present, public, of the algorithm's type ------------------------------------------


@pytest.mark.parametrize("jwk", [DROP, None, "a key", ["kty", "EC"], 1])
def test_a_missing_or_non_object_jwk_is_refused(verifier: DPoPVerifier, jwk: Any) -> None:
    refused(verifier, proof(dpop_key(), header={"jwk": jwk}), jws_messages.NO_JWK)


@pytest.mark.parametrize(
    ("algorithm", "member"),
    [("ES256", "d"), ("EdDSA", "d"), ("RS256", "d"), ("RS256", "p"), ("RS256", "q"),
     ("RS256", "dp"), ("RS256", "dq"), ("RS256", "qi"), ("ES256", "k"), ("RS256", "oth")],
)
def test_a_private_jwk_is_refused(verifier: DPoPVerifier, algorithm: str, member: str) -> None:
    key = dpop_key(algorithm)
    jwk = public_jwk(key)
    private = key.private_jwk()
    jwk[member] = private.get(member, "AQAB")
    refused(verifier, proof(key, header={"jwk": jwk}), jws_messages.PRIVATE)


def test_the_whole_private_jwk_is_refused(verifier: DPoPVerifier) -> None:
    key = dpop_key("ES256")
    refused(verifier, proof(key, header={"jwk": key.private_jwk()}), jws_messages.PRIVATE)


@pytest.mark.parametrize(
    ("header_alg", "key_alg"),
    [("RS256", "ES256"), ("ES256", "RS256"), ("ES256", "EdDSA"), ("EdDSA", "ES256"),
     ("PS256", "EdDSA"), ("ES256", "ES384")],
)
def test_a_key_type_that_does_not_fit_the_algorithm_is_refused(header_alg: str,
                                                               key_alg: str) -> None:
    verifier = DPoPVerifier(algorithms=["ES256", "EdDSA", "PS256", "RS256", "ES384"])
    signer = dpop_key(header_alg)
    value = proof(signer, header={"jwk": public_jwk(dpop_key(key_alg))})
    refused(verifier, value, jws_messages.KEY_TYPE)


def test_a_jwk_naming_another_algorithm_is_refused(verifier: DPoPVerifier) -> None:
    key = dpop_key("RS256")
    refused(verifier, proof(key, header={"jwk": {**public_jwk(key), "alg": "PS256"}}),
            jws_messages.KEY_TYPE)


def test_a_weak_rsa_proof_key_is_refused(verifier: DPoPVerifier) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    claims = {"jti": "a", "htm": "GET", "htu": URL, "iat": int(time.time()), "ath": ath(TOKEN)}
    signer = RSAAlgorithm(RSAAlgorithm.SHA256)
    value = sign({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}, claims,
                 lambda data: bytes(signer.sign(data, private)))
    refused(verifier, value, jws_messages.KEY_TYPE)


def test_an_ec_point_off_the_curve_is_refused(verifier: DPoPVerifier) -> None:
    key = dpop_key("ES256")
    jwk = public_jwk(key)
    jwk["y"] = b64(bytes(32))  # (x, 0) is not on P-256 for this x
    refused(verifier, proof(key, header={"jwk": jwk}), jws_messages.KEY_TYPE)


@pytest.mark.parametrize("broken", [{"x": 5}, {"x": DROP}, {"crv": "P-999"}, {"kty": DROP}])
def test_an_incomplete_jwk_is_refused(verifier: DPoPVerifier, broken: dict[str, Any]) -> None:
    key = dpop_key("ES256")
    jwk = public_jwk(key)
    for name, value in broken.items():
        if value is DROP:
            jwk.pop(name)
        else:
            jwk[name] = value
    refused(verifier, proof(key, header={"jwk": jwk}), jws_messages.KEY_TYPE)


def test_jku_and_x5u_are_never_fetched(verifier: DPoPVerifier) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        where = f"http://127.0.0.1:{listener.getsockname()[1]}/keys"
        key = dpop_key()
        assert check(verifier, proof(key, header={"jku": where, "x5u": where})).jkt
        refused(verifier, proof(key, header={"jwk": DROP, "jku": where}), jws_messages.NO_JWK)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected


# --- step 6: signature ------------------------------------------------------------------------


def test_a_bad_signature_is_refused(verifier: DPoPVerifier) -> None:
    key = dpop_key()
    head, _, sig = proof(key).split(".")
    other_body = proof(key).split(".")[1]
    refused(verifier, f"{head}.{other_body}.{sig}", jws_messages.SIGNATURE)


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(verifier: DPoPVerifier) -> None:
    victim, attacker = dpop_key("ES256"), generate_key("ES256")
    refused(verifier, proof(attacker, header={"jwk": public_jwk(victim)}), jws_messages.SIGNATURE)


def test_a_cached_header_still_has_its_signature_checked(verifier: DPoPVerifier) -> None:
    key = dpop_key()
    check(verifier, proof(key))  # the header is now cached
    head, _, sig = proof(key).split(".")
    refused(verifier, f"{head}.{proof(key).split('.')[1]}.{sig}", jws_messages.SIGNATURE)


def test_the_header_cache_is_bounded(verifier: DPoPVerifier) -> None:
    for _ in range(jws_messages.HEADER_CACHE + 20):
        check(verifier, proof(generate_key("EdDSA")))
    assert len(verifier._reader._headers) <= jws_messages.HEADER_CACHE


# --- step 8: htm -----------------------------------------------------------------------------


@pytest.mark.parametrize(("htm", "method"), [("POST", "GET"), ("get", "GET"), ("GET", "HEAD")])
def test_htm_must_equal_the_request_method(verifier: DPoPVerifier, htm: str,
                                           method: str) -> None:
    refused(verifier, proof(dpop_key(), method=htm), messages.HTM, method=method)


# --- step 9: htu (normalisation cases in test_dpop_htu.py) ----------------------------------


@pytest.mark.parametrize(
    "htu",
    ["https://api.example.com/other", "http://api.example.com/orders",
     "https://evil.example.com/orders", "https://api.example.com:8443/orders",
     "https://api.example.com/Orders", "https://api.example.com/orders/", "/orders",
     "https://user@api.example.com/orders", "https://api.example.com:99999/orders", ""],
)
def test_htu_must_be_the_request_url(verifier: DPoPVerifier, htu: str) -> None:
    refused(verifier, proof(dpop_key(), url=htu), messages.HTU)


def test_htu_that_is_not_a_string_is_refused(verifier: DPoPVerifier) -> None:
    refused(verifier, proof(dpop_key(), claims={"htu": ["https://api.example.com/orders"]}),
            messages.HTU)


@pytest.mark.parametrize(
    ("htu", "url"),
    [("https://api.example.com/orders", "https://api.example.com/orders?page=2"),
     ("https://api.example.com/orders?page=2", "https://api.example.com/orders"),
     ("https://api.example.com/orders#top", "https://api.example.com/orders"),
     ("HTTPS://API.Example.COM/orders", "https://api.example.com/orders"),
     ("https://api.example.com:443/orders", "https://api.example.com/orders"),
     ("http://api.example.com:80/orders", "http://api.example.com/orders"),
     ("https://api.example.com/%6Frders", "https://api.example.com/orders"),
     ("https://api.example.com/a/../orders", "https://api.example.com/orders"),
     ("https://api.example.com", "https://api.example.com/")],
)
def test_htu_is_compared_normalised(verifier: DPoPVerifier, htu: str, url: str) -> None:
    assert check(verifier, proof(dpop_key(), url=htu), url=url).htu == url.split("?")[0]


# --- step 11: iat ------------------------------------------------------------------------------


def test_iat_too_old_is_refused() -> None:
    now = time.time()
    verifier = DPoPVerifier(iat_window=60, clock=lambda: now)
    refused(verifier, proof(dpop_key(), now=now - 61), messages.OLD)
    assert check(verifier, proof(dpop_key(), now=now - 59)).jti


def test_iat_in_the_future_is_refused() -> None:
    now = time.time()
    verifier = DPoPVerifier(iat_window=60, clock=lambda: now)
    refused(verifier, proof(dpop_key(), now=now + 62), messages.FUTURE)
    assert check(verifier, proof(dpop_key(), now=now + 59)).jti


@pytest.mark.parametrize("iat", ["1700000000", True, None, [1]])
def test_iat_that_is_not_a_number_is_refused(verifier: DPoPVerifier, iat: Any) -> None:
    refused(verifier, proof(dpop_key(), claims={"iat": iat}), messages.IAT)


def test_a_fractional_iat_is_accepted_and_floored(verifier: DPoPVerifier) -> None:
    now = time.time()
    assert check(verifier, proof(dpop_key(), claims={"iat": now})).iat == int(now)


# --- step 12: ath and the token's key -----------------------------------------------------------


def test_ath_is_required_with_an_access_token(verifier: DPoPVerifier) -> None:
    refused(verifier, proof(dpop_key(), access_token=None), messages.ATH)


@pytest.mark.parametrize("wrong", [ath("another.token.value"), ath(TOKEN) + "A", 5, ""])
def test_a_wrong_ath_is_refused(verifier: DPoPVerifier, wrong: Any) -> None:
    refused(verifier, proof(dpop_key(), claims={"ath": wrong}), messages.ATH)


def test_a_token_that_is_not_ascii_never_matches(verifier: DPoPVerifier) -> None:
    refused(verifier, proof(dpop_key()), messages.ATH, access_token="tökén")


def test_without_an_access_token_ath_is_not_checked(verifier: DPoPVerifier) -> None:
    assert check(verifier, proof(dpop_key(), access_token=None), access_token=None).jti


def test_jkt_must_be_the_thumbprint_of_the_proof_key(verifier: DPoPVerifier) -> None:
    key, other = dpop_key("ES256"), dpop_key("EdDSA")
    refused(verifier, proof(key), messages.JKT, jkt=other.thumbprint())
    refused(verifier, proof(key), messages.JKT, jkt=key.thumbprint()[:-1] + "é")
    refused(verifier, proof(key), messages.JKT, jkt="")
    assert check(verifier, proof(key), jkt=key.thumbprint()).jkt == key.thumbprint()


# --- replay -----------------------------------------------------------------------------------


def test_a_replayed_proof_is_refused(verifier: DPoPVerifier) -> None:
    value = proof(dpop_key())
    check(verifier, value)
    refused(verifier, value, messages.REPLAYED)


def test_a_replayed_proof_is_refused_async(verifier: DPoPVerifier) -> None:
    value = proof(dpop_key())

    async def twice() -> None:
        await verifier.acheck(value, method="GET", url=URL, access_token=TOKEN)
        with pytest.raises(InvalidDPoPProofError) as info:
            await verifier.acheck(value, method="GET", url=URL, access_token=TOKEN)
        assert info.value.description == messages.REPLAYED

    asyncio.run(twice())


def test_replay_is_checked_across_sync_and_async(verifier: DPoPVerifier) -> None:
    value = proof(dpop_key())
    asyncio.run(verifier.acheck(value, method="GET", url=URL, access_token=TOKEN))
    refused(verifier, value, messages.REPLAYED)


def test_a_jti_is_scoped_to_its_key(verifier: DPoPVerifier) -> None:
    check(verifier, proof(dpop_key("ES256"), claims={"jti": "same"}))
    assert check(verifier, proof(dpop_key("EdDSA"), claims={"jti": "same"})).jti == "same"
    refused(verifier, proof(dpop_key("ES256"), claims={"jti": "same"}), messages.REPLAYED)


def test_a_refused_proof_is_not_recorded(verifier: DPoPVerifier) -> None:
    fixed = {"jti": "not-burnt"}
    refused(verifier, proof(dpop_key(), claims=fixed), messages.HTM, method="POST")
    assert check(verifier, proof(dpop_key(), claims=fixed)).jti == "not-burnt"


def test_the_claim_lasts_until_iat_plus_the_window() -> None:
    now = time.time()
    store = MemoryStore()
    verifier = DPoPVerifier(iat_window=120, store=store, clock=lambda: now)
    result = check(verifier, proof(dpop_key(), now=now - 20))
    until = store._claims[f"dpop:{result.jkt}:{result.jti}"]
    assert until == pytest.approx(int(now - 20) + 120, abs=1.0)


def test_claims_expire_on_wall_time_whatever_the_verifier_clock() -> None:
    store = MemoryStore()
    verifier = DPoPVerifier(store=store, clock=lambda: 1_000_000_000.0)
    value = proof(dpop_key(), now=1_000_000_000.0)
    check(verifier, value)
    until = next(iter(store._claims.values()))
    assert until == pytest.approx(time.time() + 300, abs=5.0)
    refused(verifier, value, messages.REPLAYED)


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
