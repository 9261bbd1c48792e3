"""The configuration object: validated once at start-up, frozen, also built from the environment."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from jwt_middleware import (
    Config,
    ConfigurationError,
    InvalidSignatureError,
    Key,
    KeySet,
    Verifier,
)

from .helpers import NOW, KeyRing, claims_with, clock, make_token

# --- validation ---------------------------------------------------------------


def config(keys: KeyRing, **settings: Any) -> Config:
    return Config(keys=KeySet([keys.hs256]), **settings)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"leeway": -1}, "leeway must be a number of seconds from 0 to 300", id="leeway-negative"
        ),
        pytest.param({"leeway": 300.5}, "leeway must be", id="leeway-over-300"),
        pytest.param({"leeway": float("nan")}, "leeway must be", id="leeway-nan"),
        pytest.param({"leeway": "5"}, "leeway must be", id="leeway-string"),
        pytest.param({"leeway": True}, "leeway must be", id="leeway-boolean"),
        pytest.param({"max_token_bytes": 255}, "from 256 to 65536", id="max-bytes-too-small"),
        pytest.param({"max_token_bytes": 65537}, "from 256 to 65536", id="max-bytes-too-large"),
        pytest.param({"max_token_bytes": 4096.0}, "must be an integer", id="max-bytes-float"),
        pytest.param({"max_token_bytes": True}, "must be an integer", id="max-bytes-boolean"),
        pytest.param({"max_token_bytes": "8192"}, "must be an integer", id="max-bytes-string"),
        pytest.param({"issuer": []}, "issuer is an empty list", id="issuer-empty-list"),
        pytest.param({"issuer": ()}, "issuer is an empty list", id="issuer-empty-tuple"),
        pytest.param({"issuer": ""}, "issuer must be non-empty strings", id="issuer-empty-string"),
        pytest.param(
            {"issuer": ["a", 1]}, "issuer must be non-empty strings", id="issuer-non-string"
        ),
        pytest.param({"audience": []}, "audience is an empty list", id="audience-empty-list"),
        pytest.param(
            {"claims_preset": "okta"},
            "unknown claims preset 'okta': use one of auth0",
            id="preset-unknown",
        ),
        pytest.param(
            {"claim_checks": {"tenant": "acme"}},
            "maps claim names to callables",
            id="claim-check-not-callable",
        ),
        pytest.param(
            {"claim_checks": {1: callable}},
            "maps claim names to callables",
            id="claim-check-name-not-string",
        ),
        pytest.param({"max_age": 0}, "max_age must be a positive number", id="max-age-zero"),
        pytest.param({"max_age": -5}, "max_age must be", id="max-age-negative"),
        pytest.param({"max_age": float("inf")}, "max_age must be", id="max-age-infinite"),
        pytest.param(
            {"required_claims": [""]}, "required_claims must be", id="required-empty-name"
        ),
        pytest.param({"token_type": ""}, "token_type must be", id="token-type-empty"),
        pytest.param({"realm": ""}, "realm must be", id="realm-empty"),
        pytest.param({"clock": 5}, "clock must be a callable", id="clock-not-callable"),
        pytest.param({"roles_claim": [3]}, "roles_claim must be", id="roles-claim-not-string"),
    ],
)
def test_invalid_settings_refused(keys: KeyRing, settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        config(keys, **settings)


@pytest.mark.parametrize(
    ("settings", "field", "value"),
    [
        pytest.param({"leeway": 0}, "leeway", 0, id="leeway-zero"),
        pytest.param({"leeway": 300}, "leeway", 300, id="leeway-300"),
        pytest.param({"leeway": 2.5}, "leeway", 2.5, id="leeway-float"),
        pytest.param({"max_token_bytes": 256}, "max_token_bytes", 256, id="max-bytes-256"),
        pytest.param({"max_token_bytes": 65536}, "max_token_bytes", 65536, id="max-bytes-65536"),
        pytest.param({"issuer": ["a"]}, "issuer", "a", id="issuer-list-of-one"),
        pytest.param({"issuer": ["a", "b"]}, "issuer", ("a", "b"), id="issuer-list"),
        pytest.param({"audience": ("x", "y")}, "audience", ("x", "y"), id="audience-tuple"),
        pytest.param(
            {"required_claims": ["a", "b"]}, "required_claims", ("a", "b"), id="required-list"
        ),
        pytest.param(
            {"required_claims": "tenant"}, "required_claims", ("tenant",), id="required-one-string"
        ),
        pytest.param(
            {"roles_claim": "groups"}, "roles_paths", ("groups",), id="roles-claim-string"
        ),
        pytest.param({"claims_preset": "azure"}, "scopes_paths", ("scp",), id="preset-scopes"),
    ],
)
def test_settings_normalised(
    keys: KeyRing, settings: dict[str, Any], field: str, value: object
) -> None:
    assert getattr(config(keys, **settings), field) == value


def test_defaults(keys: KeyRing) -> None:
    c = config(keys)
    assert (c.leeway, c.max_token_bytes, c.require_exp) == (0, 8192, True)
    assert c.require_subject is True
    assert (c.issuer, c.audience, c.max_age, c.token_type) == (None, None, None, None)
    assert c.roles_paths == ("roles",)
    assert c.scopes_paths == ("scope", "scp")
    assert c.realm == "api"
    assert "keys" in Config.field_names()
    assert "clock" in Config.field_names()


@pytest.mark.parametrize(
    "value",
    [None, "a-secret-string", b"a-secret-bytes"],
    ids=["none", "str", "bytes"],
)
def test_keys_are_required(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="keys is required: a KeySet, a Key"):
        Config(keys=value)


def test_keys_may_be_a_key_or_an_iterable_of_keys(keys: KeyRing) -> None:
    single: Any = keys.hs256
    assert list(Config(keys=single).key_set) == [keys.hs256]
    several: Any = [keys.hs256, keys.es256]
    assert len(Config(keys=several).key_set) == 2


def test_config_is_frozen(keys: KeyRing) -> None:
    c = config(keys, claim_checks={"tenant": callable})
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.leeway = 10  # type: ignore[misc]
    checks: Any = c.claim_checks
    with pytest.raises(TypeError):
        checks["other"] = callable
    assert list(c.claim_checks) == ["tenant"]


def test_claim_checks_are_copied(keys: KeyRing) -> None:
    checks: dict[str, Any] = {"tenant": callable}
    c = config(keys, claim_checks=checks)
    checks["later"] = callable
    assert list(c.claim_checks) == ["tenant"]


# --- from the environment ---------------------------------------------------

SECRET = bytes(range(40, 104))  # 64 printable ASCII bytes: enough for HS512


def accepts(config: Config, key: Key) -> bool:
    return Verifier(config).verify(make_token(key, claims_with())).subject == "alice"


def test_env_secret(keys: KeyRing) -> None:
    env = {"JWT_SECRET": SECRET.decode("ascii"), "JWT_ALGORITHMS": "HS384", "JWT_KID": "env-1"}
    c = Config.from_env(environ=env, clock=clock)
    (key,) = c.key_set
    assert (key.algorithm, key.kid) == ("HS384", "env-1")
    assert accepts(c, Key.from_secret(SECRET, "HS384", kid="env-1"))


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(SECRET).decode(),
        base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode(),
    ],
    ids=["standard", "url-safe-unpadded"],
)
def test_env_base64_secret(encoded: str) -> None:
    env = {"JWT_SECRET": "base64:" + encoded, "JWT_ALGORITHMS": "HS256"}
    c = Config.from_env(environ=env, clock=clock)
    assert accepts(c, Key.from_secret(SECRET))


def test_env_base64_prefix_is_not_part_of_the_secret() -> None:
    text = "base64:" + base64.b64encode(SECRET).decode()
    c = Config.from_env(environ={"JWT_SECRET": text, "JWT_ALGORITHMS": "HS256"}, clock=clock)
    with pytest.raises(InvalidSignatureError):
        accepts(c, Key.from_secret(text))


def test_env_pem_files(keys: KeyRing, tmp_path: Path) -> None:
    public = tmp_path / "public.pem"
    public.write_bytes(keys.rs256.public_pem())
    private = tmp_path / "private.pem"
    private.write_bytes(keys.rs256.private_pem())
    c = Config.from_env(
        environ={"JWT_PUBLIC_KEY_FILE": str(public), "JWT_ALGORITHMS": "RS256"}, clock=clock
    )
    (key,) = c.key_set
    assert not key.can_sign
    assert accepts(c, keys.rs256)
    c = Config.from_env(
        environ={"APP_PRIVATE_KEY_FILE": str(private), "APP_ALGORITHMS": "RS256", "APP_KID": "k"},
        prefix="APP_",
        clock=clock,
    )
    assert c.key_set.signing_key().kid == "k"
    assert accepts(c, Key.from_pem(keys.rs256.private_pem(), "RS256", kid="k"))


def test_env_inline_pem(keys: KeyRing) -> None:
    pem = keys.es256.public_pem().decode()
    c = Config.from_env(environ={"JWT_PUBLIC_KEY": pem, "JWT_ALGORITHMS": "ES256"}, clock=clock)
    assert accepts(c, keys.es256)
    private = keys.es256_private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    c = Config.from_env(environ={"JWT_PRIVATE_KEY": private, "JWT_ALGORITHMS": "ES256"})
    assert c.key_set.signing_key().can_sign


def test_env_jwks_file(keys: KeyRing, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeySet([keys.es256, keys.rs256, keys.ed25519]).public_jwks()))
    c = Config.from_env(environ={"JWT_JWKS_FILE": str(jwks)}, clock=clock)
    assert {k.kid for k in c.key_set} == {"es-1", "rs-1", "ed-1"}
    assert accepts(c, keys.rs256)
    c = Config.from_env(
        environ={"JWT_JWKS_FILE": str(jwks), "JWT_ALGORITHMS": "ES256, EdDSA"}, clock=clock
    )
    assert c.key_set.algorithms == frozenset({"ES256", "EdDSA"})


def test_env_values_are_parsed() -> None:
    env = {
        "JWT_SECRET": SECRET.decode(),
        "JWT_ALGORITHMS": "HS256",
        "JWT_ISSUER": "https://a.example, https://b.example",
        "JWT_AUDIENCE": "api",
        "JWT_LEEWAY": "2.5",
        "JWT_MAX_TOKEN_BYTES": "4096",
        "JWT_MAX_AGE": "600",
        "JWT_REQUIRE_EXP": "false",
        "JWT_REQUIRE_SUBJECT": "false",
        "JWT_REQUIRED_CLAIMS": "tenant,,sub ",
        "JWT_TOKEN_TYPE": "at+jwt",
        "JWT_CLAIMS_PRESET": "keycloak",
        "JWT_CLIENT_ID": "api",
        "JWT_ROLES_CLAIM": "groups,realm_access.roles",
        "JWT_SCOPES_CLAIM": "scp",
        "JWT_REALM": "orders",
        "JWT_UNRELATED_TOOL_SETTING": "ignored",
        "OTHER_LEEWAY": "9000",
    }
    c = Config.from_env(environ=env)
    assert c.issuer == ("https://a.example", "https://b.example")
    assert c.audience == "api"
    assert c.leeway == 2.5
    assert c.max_token_bytes == 4096
    assert c.max_age == 600
    assert c.require_exp is False
    assert c.require_subject is False
    assert c.required_claims == ("tenant", "sub")
    assert c.token_type == "at+jwt"
    assert c.claims_preset == "keycloak"
    assert c.client_id == "api"
    assert c.roles_paths == ("groups", "realm_access.roles")
    assert c.scopes_paths == ("scp",)
    assert c.realm == "orders"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        (" on ", True),
        ("0", False),
        ("FALSE", False),
        ("no", False),
        ("off", False),
    ],
)
def test_env_booleans(text: str, value: bool) -> None:
    env = {"JWT_SECRET": SECRET.decode(), "JWT_ALGORITHMS": "HS256", "JWT_REQUIRE_EXP": text}
    assert Config.from_env(environ=env).require_exp is value


def test_env_max_age_none() -> None:
    env = {"JWT_SECRET": SECRET.decode(), "JWT_ALGORITHMS": "HS256", "JWT_MAX_AGE": "none"}
    assert Config.from_env(environ=env).max_age is None


def test_env_overrides_win() -> None:
    env = {"JWT_SECRET": SECRET.decode(), "JWT_ALGORITHMS": "HS256", "JWT_LEEWAY": "5"}
    c = Config.from_env(environ=env, leeway=1, clock=clock)
    assert c.leeway == 1
    assert c.clock() == NOW


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"JWT_ALGORITHMS": "HS256"},
            "no key configured: set JWT_SECRET, JWT_PUBLIC_KEY_FILE",
            id="no-key",
        ),
        pytest.param({}, "no key configured", id="nothing"),
        pytest.param(
            {"JWT_SECRET": "x" * 40, "JWT_PUBLIC_KEY_FILE": "/k.pem", "JWT_ALGORITHMS": "HS256"},
            "set only one key source, not JWT_SECRET, JWT_PUBLIC_KEY_FILE",
            id="two-key-sources",
        ),
        pytest.param(
            {"JWT_JWKS_FILE": "/jwks.json", "JWT_PRIVATE_KEY": "pem"},
            "set only one key source",
            id="jwks-and-private-key",
        ),
        pytest.param(
            {"JWT_SECRET": "x" * 40, "JWT_ALGORITHMS": "HS256,HS384"},
            "must name exactly one algorithm for JWT_SECRET",
            id="two-algorithms-for-a-secret",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": "/k.pem", "JWT_ALGORITHMS": "RS256,ES256"},
            "must name exactly one algorithm for JWT_PUBLIC_KEY_FILE",
            id="two-algorithms-for-a-pem",
        ),
        pytest.param(
            {"JWT_SECRET": "x" * 40},
            "must name exactly one algorithm",
            id="no-algorithm-for-a-secret",
        ),
        pytest.param(
            {"JWT_SECRET": "x" * 40, "JWT_ALGORITHMS": "none"},
            "'none' is never allowed",
            id="alg-none",
        ),
        pytest.param(
            {"JWT_SECRET": "x" * 40, "JWT_ALGORITHMS": "HS256", "JWT_LEEWAY": "soon"},
            "JWT_LEEWAY has a value of the wrong form",
            id="leeway-not-a-number",
        ),
        pytest.param(
            {"JWT_SECRET": "x" * 40, "JWT_ALGORITHMS": "HS256", "JWT_MAX_TOKEN_BYTES": "4096.5"},
            "JWT_MAX_TOKEN_BYTES has a value of the wrong form",
            id="max-bytes-fraction",
        ),
        pytest.param(
            {"JWT_SECRET": "x" * 40, "JWT_ALGORITHMS": "HS256", "JWT_REQUIRE_EXP": "maybe"},
            "JWT_REQUIRE_EXP has a value of the wrong form",
            id="bool-not-a-bool",
        ),
        pytest.param(
            {"JWT_SECRET": "x" * 40, "JWT_ALGORITHMS": "HS256", "JWT_LEEWAY": "301"},
            "leeway must be a number of seconds from 0 to 300",
            id="leeway-out-of-range",
        ),
        pytest.param(
            {"JWT_SECRET": "base64:%%%", "JWT_ALGORITHMS": "HS256"},
            "not valid base64",
            id="bad-base64-secret",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": "/nonexistent/key.pem", "JWT_ALGORITHMS": "RS256"},
            "cannot read key file '/nonexistent/key.pem'",
            id="missing-pem-file",
        ),
        pytest.param(
            {"JWT_JWKS_FILE": "/nonexistent/jwks.json"},
            "cannot read key file",
            id="missing-jwks-file",
        ),
    ],
)
def test_env_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Config.from_env(environ=env)


def test_env_error_does_not_echo_the_secret() -> None:
    secret = "short-but-secret-value"
    with pytest.raises(ConfigurationError) as info:
        Config.from_env(environ={"JWT_SECRET": secret, "JWT_ALGORITHMS": "HS256"})
    assert "at least 32" in str(info.value)
    assert secret not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        Config.from_env(
            environ={"JWT_SECRET": secret, "JWT_ALGORITHMS": "HS256", "JWT_LEEWAY": secret}
        )
    assert secret not in str(info.value)


def test_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTTEST_SECRET", SECRET[:40].decode())
    monkeypatch.setenv("JWTTEST_ALGORITHMS", "HS512")
    monkeypatch.setenv("JWTTEST_AUDIENCE", "a,b")
    with pytest.raises(ConfigurationError, match="HS512 secret is 40 bytes"):
        Config.from_env(prefix="JWTTEST_")
    monkeypatch.setenv("JWTTEST_ALGORITHMS", "HS256")
    assert Config.from_env(prefix="JWTTEST_").audience == ("a", "b")
