"""Garbage in, only our errors out; and no refusal ever repeats the proof, the token or
the key."""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jwt_middleware import DPoPVerifier, InvalidDPoPProofError
from jwt_middleware.stores.sqlite import SQLiteStore

from .dpop_support import DROP, TOKEN, URL, b64, dpop_key, proof, public_jwk, sign

VERIFIER = DPoPVerifier(algorithms=["ES256", "EdDSA"])
_FOLDER = tempfile.TemporaryDirectory(prefix="jwtmw-dpop-fuzz-")
SQLITE_VERIFIER = DPoPVerifier(store=SQLiteStore(Path(_FOLDER.name) / "replay.db"))

# Text with what JSON allows and Python keeps but no store takes: lone surrogates, NUL.
texts = st.text(max_size=20) | st.sampled_from(["\ud800", "\udfff", "a\x00b", "é", "x" * 300])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)


def only_our_error(value: Any, **request: Any) -> None:
    with contextlib.suppress(InvalidDPoPProofError):
        VERIFIER.check(value, method="GET", url=URL, access_token=TOKEN, **request)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_as_text(data: bytes) -> None:
    only_our_error(data.decode("latin-1"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="abcAB019-_.=,~ ", max_size=60), min_size=1, max_size=5)
       .map(".".join))
def test_random_jws_shapes(text: str) -> None:
    only_our_error(text)


@settings(max_examples=300, deadline=None)
@given(header=st.dictionaries(st.sampled_from(["typ", "alg", "jwk", "crit", "kid", "jku"]),
                              json_values, max_size=4),
       claims=st.dictionaries(st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]),
                              json_values, max_size=6))
def test_random_headers_and_claims_signed_for_real(header: dict[str, Any],
                                                   claims: dict[str, Any]) -> None:
    only_our_error(sign(header, claims, dpop_key("ES256")))


@settings(max_examples=300, deadline=None)
@given(jwk=st.dictionaries(st.sampled_from(["kty", "crv", "x", "y", "n", "e", "alg", "d"]),
                           json_values | st.sampled_from(["EC", "OKP", "RSA", "P-256",
                                                          "Ed25519", "AQAB"]), max_size=6),
       alg=st.sampled_from(["ES256", "EdDSA", "RS256"]))
def test_random_jwks(jwk: dict[str, Any], alg: str) -> None:
    value = proof(dpop_key("ES256"), header={"jwk": jwk, "alg": alg})
    only_our_error(value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=3),
                 st.binary(max_size=10)))
def test_other_python_values(value: Any) -> None:
    only_our_error(value)


def test_no_refusal_repeats_the_proof_the_token_or_the_key() -> None:
    key = dpop_key("ES256")
    jwk = public_jwk(key)
    secrets_ = [TOKEN, jwk["x"], jwk["y"], key.private_jwk()["d"], "secret-jti-value"]
    bad = [
        proof(key, claims={"jti": "secret-jti-value", "htm": "POST"}),
        proof(key, claims={"jti": "secret-jti-value", "ath": "wrong"}),
        proof(key, header={"jwk": key.private_jwk()}),
        proof(key, claims={"jti": "secret-jti-value", "iat": int(time.time()) - 9999}),
        proof(key, claims={"jti": "secret-jti-value", "htu": "https://x.example/" + TOKEN}),
        proof(key, header={"typ": DROP}),
        sign({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}, b"{" + TOKEN.encode(), key),
        "x" * 9000 + TOKEN,
        b64(json.dumps({"typ": TOKEN}).encode()) + ".e30.",
    ]
    for value in bad:
        try:
            VERIFIER.check(value, method="GET", url=URL, access_token=TOKEN)
        except InvalidDPoPProofError as error:
            rendered = [str(error), error.www_authenticate(), error.json_body().decode(),
                        repr(error), *(v for _, v in error.headers())]
            for text in rendered:
                for secret in secrets_:
                    assert secret not in text
                assert value[:40] not in text
        else:
            raise AssertionError("a bad proof was accepted")


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce", "extra"]),
       value=texts | json_values)
def test_one_random_claim_in_a_good_proof_through_a_real_store(name: str, value: Any) -> None:
    """Each example passes every check but one claim's, so the replay store sees it."""
    value = time.time() if name == "iat" and value is None else value
    with contextlib.suppress(InvalidDPoPProofError):
        SQLITE_VERIFIER.check(proof(dpop_key("EdDSA"), claims={name: value}), method="GET",
                              url=URL, access_token=TOKEN)
