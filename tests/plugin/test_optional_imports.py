"""``jwt_middleware.testing`` outside pytest: in a fresh interpreter that cannot import pytest."""

from __future__ import annotations

import jwt_middleware.testing
from tests.client.isolated import run_without

FIXTURES = ["jwks_server", "jwt_config", "jwt_keys", "make_token"]


def test_jwks_server_and_tokens_without_pytest() -> None:
    got = run_without(
        ["pytest", "_pytest"],
        f"FIXTURES = {FIXTURES!r}\n"
        """
import urllib.request
import jwt_middleware.testing as testing
from jwt_middleware import Verifier
from jwt_middleware.testing import OMIT, TEST_AUDIENCE, TEST_ISSUER, JWKSServer, sign_token
from jwt_middleware.testing import *  # every name in __all__ is there

with JWKSServer() as server:
    with urllib.request.urlopen(server.jwks_uri, timeout=5) as answer:
        jwks = json.loads(answer.read())
    token = server.make_token("carol", claims={"jti": OMIT})
    principal = Verifier(server.config()).verify(token)
    kid = server.signing_key.kid
report({
    "kids": [k["kid"] for k in jwks["keys"]],
    "private": [k for k in jwks["keys"] if "d" in k],
    "kid": kid,
    "subject": principal.subject,
    "no_jti": "jti" not in principal.claims,
    "signed": sign_token(server.signing_key).count("."),
    "all": testing.__all__,
    "fixtures": [name for name in dir(testing) if name in FIXTURES],
    "attempted": sorted(set(ATTEMPTED)),
    "loaded": [m for m in ("pytest", "_pytest") if m in sys.modules],
})
""",
    )
    assert got["kids"] == [got["kid"]]
    assert got["private"] == []
    assert got["subject"] == "carol"
    assert got["no_jti"] is True
    assert got["signed"] == 2
    assert got["all"] == [
        "JWKSServer",
        "OMIT",
        "TEST_AUDIENCE",
        "TEST_ISSUER",
        "TokenFactory",
        "sign_token",
    ]
    assert got["fixtures"] == [], "no fixtures without pytest"
    assert got["attempted"] == ["pytest"], "only the fixtures module asked for pytest"
    assert got["loaded"] == []


def test_with_pytest_the_fixtures_are_public() -> None:
    assert set(FIXTURES) <= set(jwt_middleware.testing.__all__)
    for name in jwt_middleware.testing.__all__:
        assert hasattr(jwt_middleware.testing, name), name
