"""The pytest plugin: fixtures used directly, and by a user's test files under ``pytester``."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest

from jwt_middleware import (
    Config,
    ExpiredTokenError,
    InvalidAudienceError,
    KeySet,
    MissingClaimError,
    Verifier,
    WrongTokenKindError,
)
from jwt_middleware.testing import (
    OMIT,
    TEST_AUDIENCE,
    TEST_ISSUER,
    JWKSServer,
    TokenFactory,
    sign_token,
)

# Here, not in a conftest: pytest refuses ``pytest_plugins`` in a non-root conftest.
pytest_plugins = ["pytester"]


def get(url: str) -> tuple[int, dict[str, Any], str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read()), response.headers["Cache-Control"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), ""


# --- direct use -----------------------------------------------------------------------


def test_the_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("jwt_middleware")


def test_jwt_keys_is_one_signing_key_per_session(jwt_keys: KeySet) -> None:
    (key,) = list(jwt_keys)
    assert key.can_sign
    assert key.kid == "test-key"
    assert key.algorithm == "ES256"


def test_make_token_defaults(make_token: TokenFactory, jwt_config: Config) -> None:
    principal = Verifier(jwt_config).verify(make_token())
    assert principal.subject == "alice"
    assert principal.claims["iss"] == TEST_ISSUER
    assert principal.claims["aud"] == TEST_AUDIENCE
    assert principal.header["typ"] == "at+jwt"
    assert principal.roles == frozenset()
    assert principal.scopes == frozenset()


def test_make_token_options(make_token: TokenFactory, jwt_config: Config) -> None:
    token = make_token("bob", roles=["admin"], scopes=["read", "write"], claims={"tenant": "acme"})
    principal = Verifier(jwt_config).verify(token)
    assert principal.subject == "bob"
    assert principal.roles == {"admin"}
    assert principal.scopes == {"read", "write"}
    assert principal.claims["tenant"] == "acme"


def test_make_token_bad_tokens(make_token: TokenFactory, jwt_config: Config) -> None:
    verifier = Verifier(jwt_config)
    with pytest.raises(ExpiredTokenError):
        verifier.verify(make_token(expires_in=-10))
    with pytest.raises(MissingClaimError):
        verifier.verify(make_token(claims={"exp": OMIT}))
    with pytest.raises(InvalidAudienceError):
        verifier.verify(make_token(claims={"aud": "other"}))
    with pytest.raises(WrongTokenKindError):  # the kind is checked before the audience
        verifier.verify(make_token(kind="refresh"))
    with pytest.raises(InvalidAudienceError):  # a refresh token names the issuer as audience
        verifier.verify(make_token(kind="refresh", headers={"typ": "JWT"}))
    refresh = make_token(kind="refresh")
    own = Verifier(Config(keys=jwt_config.keys, issuer=TEST_ISSUER, audience=TEST_ISSUER))
    assert own.verify(refresh, kind="refresh").subject == "alice"
    with pytest.raises(WrongTokenKindError):
        own.verify(refresh)
    with pytest.raises(ValueError, match="kind"):
        make_token(kind="id")


def test_omit_a_header_member(jwt_keys: KeySet) -> None:
    token = sign_token(jwt_keys.signing_key(), headers={"kid": OMIT, "typ": OMIT})
    header = json.loads(_b64(token.split(".")[0]))
    assert header == {"alg": "ES256"}


def _b64(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.fixture
def custom_config(jwt_keys: KeySet) -> Config:
    return Config(
        keys=jwt_keys,
        issuer=("https://a.test", "https://b.test"),
        audience="svc",
        claims_preset="cognito",
        clock=lambda: 1_700_000_000,
    )


def test_make_token_follows_an_overridden_config(
    jwt_keys: KeySet, custom_config: Config, request: pytest.FixtureRequest
) -> None:
    from jwt_middleware.testing import _factory

    make = _factory(jwt_keys.signing_key(), custom_config)
    principal = Verifier(custom_config).verify(make(roles=["ops"]))
    assert principal.claims["iss"] == "https://a.test"
    assert principal.claims["cognito:groups"] == ["ops"]
    assert principal.roles == {"ops"}
    assert principal.claims["iat"] == 1_700_000_000


def test_jwks_server(jwks_server: JWKSServer) -> None:
    status, jwks, cache = get(jwks_server.jwks_uri)
    assert status == 200
    assert cache == "public, max-age=300"
    assert [k["kid"] for k in jwks["keys"]] == [jwks_server.signing_key.kid]
    assert all("d" not in k for k in jwks["keys"])
    status, discovery, _ = get(jwks_server.url + "/.well-known/openid-configuration")
    assert discovery["issuer"] == jwks_server.issuer == jwks_server.url
    assert discovery["jwks_uri"] == jwks_server.jwks_uri
    assert jwks_server.url.startswith("http://127.0.0.1:")
    assert get(jwks_server.url + "/nope")[0] == 404
    assert jwks_server.requests == [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/nope",
    ]


def test_jwks_server_rotation(jwks_server: JWKSServer) -> None:
    before = jwks_server.make_token("carol")
    old_config = jwks_server.config()
    assert Verifier(old_config).verify(before).subject == "carol"
    new = jwks_server.rotate()
    after = jwks_server.make_token("carol")
    assert [k["kid"] for k in get(jwks_server.jwks_uri)[1]["keys"]] == [
        new.kid,
        next(iter(old_config.key_set)).kid,
    ]
    verifier = Verifier(jwks_server.config())
    assert verifier.verify(before).subject == verifier.verify(after).subject == "carol"
    jwks_server.rotate(keep=False)
    assert len(get(jwks_server.jwks_uri)[1]["keys"]) == 1


def test_jwks_server_failure_mode(jwks_server: JWKSServer) -> None:
    jwks_server.status = 503
    assert get(jwks_server.jwks_uri)[0] == 503


def test_jwks_server_stops() -> None:
    with JWKSServer("EdDSA") as server:
        assert get(server.jwks_uri)[1]["keys"][0]["crv"] == "Ed25519"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.jwks_uri, timeout=2)


def test_the_plugin_imports_no_framework() -> None:
    code = (
        "import sys, jwt_middleware.testing\n"
        "bad = [m for m in ('flask', 'werkzeug', 'starlette', 'fastapi', 'redis', 'requests',"
        " 'httpx') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- a user's test files --------------------------------------------------------------

USER_TESTS = """
import json
import urllib.request

import pytest

from jwt_middleware import Config, ExpiredTokenError, Verifier


def test_admin_token(make_token, jwt_config):
    principal = Verifier(jwt_config).verify(make_token(roles=["admin"], scopes=["read"]))
    assert principal.subject == "alice"
    assert "admin" in principal.roles and "read" in principal.scopes


def test_expired_token(make_token, jwt_config):
    with pytest.raises(ExpiredTokenError):
        Verifier(jwt_config).verify(make_token(expires_in=-1))


def test_session_keys_are_shared(jwt_keys, make_token, jwt_config):
    assert jwt_config.key_set is jwt_keys


def test_remote_keys(jwks_server):
    with urllib.request.urlopen(jwks_server.jwks_uri) as response:
        document = json.load(response)
    config = Config(
        keys=__import__("jwt_middleware").KeySet.from_jwks(document),
        issuer=jwks_server.issuer,
        audience=jwks_server.audience,
    )
    assert Verifier(config).verify(jwks_server.make_token("bob")).subject == "bob"
    jwks_server.rotate()
    assert len(jwks_server.jwks["keys"]) == 2
"""


def test_a_user_test_file_runs_green(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_a_user_conftest_can_override_the_config(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from jwt_middleware import Config

        @pytest.fixture
        def jwt_config(jwt_keys):
            return Config(keys=jwt_keys, issuer="https://mine.test", audience="mine",
                          claims_preset="auth0")
        """
    )
    pytester.makepyfile(
        test_mine="""
        from jwt_middleware import Verifier

        def test_follows(make_token, jwt_config):
            principal = Verifier(jwt_config).verify(make_token(roles=["write:all"]))
            assert principal.claims["iss"] == "https://mine.test"
            assert principal.claims["permissions"] == ["write:all"]
            assert principal.roles == {"write:all"}
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_fixtures_are_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["*jwt_keys*session*", "*jwt_config*", "*make_token*", "*jwks_server*"]
    )


def test_the_plugin_works_in_a_subprocess(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_a_jwks_client_follows_the_servers_rotation(jwks_server: JWKSServer) -> None:
    """The example of docs/testing.md."""
    jwks = pytest.importorskip("jwt_middleware.jwks")
    keys = jwks.JWKSClient(jwks_server.jwks_uri, algorithms=["ES256"], allow_http=True)
    verifier = Verifier(Config(keys=keys, issuer=jwks_server.issuer, audience=TEST_AUDIENCE))
    assert verifier.verify(jwks_server.make_token()).subject == "alice"
    jwks_server.rotate()
    assert verifier.verify(jwks_server.make_token("bob")).subject == "bob"
    assert jwks_server.requests.count("/.well-known/jwks.json") == 2
