"""RFC 7638 thumbprints: the RFC's own example, member order, and refusals."""

from __future__ import annotations

import pytest

from jwt_middleware._core.thumbprint import jwk_thumbprint

# RFC 7638 section 3.1: the example RSA key and its thumbprint.
RFC_KEY = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
        "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
        "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vM"
        "QFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_rfc_7638_example() -> None:
    assert jwk_thumbprint(RFC_KEY) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_optional_members_and_order_do_not_change_it() -> None:
    reordered = {"e": RFC_KEY["e"], "n": RFC_KEY["n"], "kty": "RSA", "use": "sig"}
    assert jwk_thumbprint(reordered) == jwk_thumbprint(RFC_KEY)


@pytest.mark.parametrize(
    "jwk",
    [{"kty": "RSA", "e": "AQAB"}, {"kty": "EC", "crv": "P-256", "x": "a"}, {"kty": "XYZ"}, {}],
)
def test_incomplete_or_unknown_keys_are_refused(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"key type|lacks its"):
        jwk_thumbprint(jwk)


def test_a_private_member_does_not_enter_the_thumbprint() -> None:
    public = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint({**public, "d": "secret"}) == jwk_thumbprint(public)
