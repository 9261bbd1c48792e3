"""The configuration object: validated once at start-up, frozen, also built from the environment."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import warnings
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
from jwt_middleware._core.keyset import key_form
from jwt_middleware._core.settings import (
    INTEGRATION_SETTINGS,
    KNOWN_SETTINGS,
    warn_unknown_settings,
)
from jwt_middleware._lifecycle.settings import (
    cookie_policy_from_mapping,
    issuer_options_from_mapping,
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
            "claims_preset 'okta' is not a claims preset: use one of auth0",
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


BUILD_KEYS = (
    'build one with Key.from_secret(secret, "HS256"), Key.from_pem(pem, "RS256"), '
    'Key.from_pem_file(path, "RS256") or KeySet.from_jwks_file(path), or use '
    "Config.from_env() to read JWT_SECRET, JWT_PUBLIC_KEY_FILE, ..."
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            None, f"keys is required: a Key, a KeySet or a key resolver; {BUILD_KEYS}", id="none"
        ),
        pytest.param(
            "a-secret-string-0123456789abcdef",
            "keys must be a Key, a KeySet or a key resolver (such as jwks.JWKSClient), not a "
            f"str: {BUILD_KEYS}",
            id="str",
        ),
        pytest.param(
            b"a-secret-bytes-0123456789abcdef",
            "keys must be a Key, a KeySet or a key resolver (such as jwks.JWKSClient), not a "
            f"bytes: {BUILD_KEYS}",
            id="bytes",
        ),
        pytest.param(
            5,
            "keys must be a Key, a KeySet or a key resolver (such as jwks.JWKSClient), not an "
            f"int: {BUILD_KEYS}",
            id="int",
        ),
        pytest.param(
            ["a-secret-string-0123456789abcdef"],
            f"keys must hold Key objects, not a str: {BUILD_KEYS}",
            id="list-of-str",
        ),
    ],
)
def test_keys_must_be_keys_and_the_message_says_how_to_build_one(value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Config(keys=value)
    assert str(info.value) == message
    assert "a-secret-" not in str(info.value)  # never the value itself


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
    with pytest.warns(UserWarning, match="unknown setting JWT_UNRELATED_TOOL_SETTING"):
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
            "JWT_LEEWAY must be a number of seconds from 0 to 300",
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


# --- the files keygen writes, and key settings of the wrong form ------------------

ROOT = Path(__file__).resolve().parents[2]


def keygen(out: Path, alg: str, kid: str = "k") -> Path:
    """Run ``jwt-middleware keygen --out`` as a user would; the folder it wrote."""
    from jwt_middleware.cli import main

    assert main(["keygen", "--alg", alg, "--kid", kid, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def es256_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return keygen(tmp_path_factory.mktemp("es256"), "ES256")


def signs_and_verifies(config: Config) -> None:
    key = config.key_set.signing_key()
    assert Verifier(config).verify(make_token(key, claims_with())).subject == "alice"


@pytest.mark.parametrize(
    ("setting", "name", "algorithms"),
    [
        pytest.param("JWT_JWKS_FILE", "k.public.jwk", None, id="jwks-file-one-jwk"),
        pytest.param("JWT_PUBLIC_KEY_FILE", "k.public.jwk", None, id="public-key-file-jwk"),
        pytest.param("JWT_PUBLIC_KEY_FILE", "k.public.pem", "ES256", id="public-key-file-pem"),
        pytest.param("JWT_PUBLIC_KEY_FILE", "k.public.jwk", "ES256", id="jwk-alg-agrees"),
    ],
)
def test_keygen_public_files_fit_the_verify_settings(
    es256_files: Path, setting: str, name: str, algorithms: str | None
) -> None:
    env = {setting: str(es256_files / name)}
    if algorithms:
        env["JWT_ALGORITHMS"] = algorithms
    c = Config.from_env(environ=env, clock=clock)
    (key,) = c.key_set
    kid = None if name.endswith(".pem") else "k"  # a PEM file names no kid (JWT_KID may)
    assert (key.algorithm, key.kid, key.can_sign) == ("ES256", kid, False)
    signer = Config.from_env(environ={"JWT_PRIVATE_KEY_FILE": str(es256_files / "k.private.jwk")})
    token = make_token(signer.key_set.signing_key(), claims_with())
    assert Verifier(c).verify(token).subject == "alice"


@pytest.mark.parametrize("name", ["k.private.jwk", "k.private.pem"])
def test_keygen_private_files_fit_the_private_key_setting(es256_files: Path, name: str) -> None:
    env = {"JWT_PRIVATE_KEY_FILE": str(es256_files / name), "JWT_ALGORITHMS": "ES256"}
    c = Config.from_env(environ=env, clock=clock)
    assert c.key_set.signing_key().can_sign
    signs_and_verifies(c)


def test_keygen_hmac_file_fits_the_private_key_setting(tmp_path: Path) -> None:
    keygen(tmp_path, "HS256")
    env = {"JWT_PRIVATE_KEY_FILE": str(tmp_path / "k.private.jwk")}
    c = Config.from_env(environ=env, clock=clock)
    (key,) = c.key_set
    assert (key.algorithm, key.kid) == ("HS256", "k")
    signs_and_verifies(c)


def test_jwk_kid_from_the_settings(es256_files: Path, tmp_path: Path) -> None:
    jwk = json.loads((es256_files / "k.public.jwk").read_text())
    del jwk["kid"]
    (tmp_path / "nokid.jwk").write_text(json.dumps(jwk))
    env = {"JWT_PUBLIC_KEY_FILE": str(tmp_path / "nokid.jwk"), "JWT_KID": "mine"}
    assert [k.kid for k in Config.from_env(environ=env).key_set] == ["mine"]
    env = {"JWT_PUBLIC_KEY_FILE": str(es256_files / "k.public.jwk"), "JWT_KID": "k"}
    assert [k.kid for k in Config.from_env(environ=env).key_set] == ["k"]


#: A secret-looking marker put into every wrong-form value: it must never reach a message.
MARK = "Zq9SECRETxw7"


def _write(tmp_path: Path, name: str, body: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return str(path)


def _private_pem(keys: KeyRing) -> str:
    return keys.es256_private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _encrypted_pem(keys: KeyRing) -> str:
    return keys.es256_private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()


PRIVATE_WHERE_PUBLIC = (
    "found a private key where a public key was expected; put it in JWT_PRIVATE_KEY_FILE to "
    "sign as well, or give the public key (keygen writes <kid>.public.pem and <kid>.public.jwk)"
)
PUBLIC_WHERE_PRIVATE = (
    "found a public key where a private key was expected; a public key can only verify: "
    "put it in JWT_PUBLIC_KEY_FILE"
)


def wrong_form_cases(keys: KeyRing, tmp_path: Path, es256_files: Path) -> list[Any]:
    """(settings, exact message, material that must not be echoed)."""
    public_pem = keys.es256.public_pem().decode()
    private_pem = _private_pem(keys)
    private_jwk = (es256_files / "k.private.jwk").read_text()
    oct_jwk = json.dumps({"kty": "oct", "k": MARK, "alg": "HS256"})
    jwks = json.dumps(KeySet([keys.es256]).public_jwks())
    es = {"JWT_ALGORITHMS": "ES256"}
    return [
        pytest.param(
            {"JWT_PUBLIC_KEY": "public.pem", **es},
            "JWT_PUBLIC_KEY holds what looks like a file path; put the path in "
            "JWT_PUBLIC_KEY_FILE",
            "",
            id="path-in-public-key",
        ),
        pytest.param(
            {"JWT_PRIVATE_KEY": "keys/demo.private.pem", **es},
            "JWT_PRIVATE_KEY holds what looks like a file path; put the path in "
            "JWT_PRIVATE_KEY_FILE",
            "",
            id="path-in-private-key",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": _write(tmp_path, "p.pem", private_pem), **es},
            f"JWT_PUBLIC_KEY_FILE holds a PEM private key: {PRIVATE_WHERE_PUBLIC}",
            private_pem,
            id="private-pem-in-public-key-file",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY": private_pem, **es},
            f"JWT_PUBLIC_KEY holds a PEM private key: {PRIVATE_WHERE_PUBLIC}",
            private_pem,
            id="private-pem-inline-in-public-key",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": str(es256_files / "k.private.jwk")},
            f"JWT_PUBLIC_KEY_FILE holds a private JWK: {PRIVATE_WHERE_PUBLIC}",
            json.loads(private_jwk)["d"],
            id="private-jwk-in-public-key-file",
        ),
        pytest.param(
            {"JWT_JWKS_FILE": str(es256_files / "k.private.jwk")},
            f"JWT_JWKS_FILE holds a private JWK: {PRIVATE_WHERE_PUBLIC}",
            json.loads(private_jwk)["d"],
            id="private-jwk-in-jwks-file",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": _write(tmp_path, "oct.jwk", oct_jwk)},
            "JWT_PUBLIC_KEY_FILE holds a secret (oct) JWK: "
            + PRIVATE_WHERE_PUBLIC.replace("found a private key", "found a secret"),
            MARK,
            id="secret-jwk-in-public-key-file",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": _write(tmp_path, "enc.pem", _encrypted_pem(keys)), **es},
            f"JWT_PUBLIC_KEY_FILE holds an encrypted PEM private key: {PRIVATE_WHERE_PUBLIC}",
            "",
            id="encrypted-pem-in-public-key-file",
        ),
        pytest.param(
            {"JWT_PRIVATE_KEY_FILE": _write(tmp_path, "enc2.pem", _encrypted_pem(keys)), **es},
            "JWT_PRIVATE_KEY_FILE holds an encrypted PEM private key; the settings take an "
            "unencrypted key (openssl pkey -in in.pem -out out.pem), or build it with "
            'Key.from_pem_file(path, alg, password=b"...")',
            "",
            id="encrypted-pem-in-private-key-file",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": _write(tmp_path, "jwks.json", jwks)},
            "JWT_PUBLIC_KEY_FILE holds a JWKS where a PEM key or one JWK was expected; put the "
            "path in JWT_JWKS_FILE",
            "",
            id="jwks-in-public-key-file",
        ),
        pytest.param(
            {"JWT_PRIVATE_KEY_FILE": str(es256_files / "k.public.pem"), **es},
            f"JWT_PRIVATE_KEY_FILE holds a PEM public key: {PUBLIC_WHERE_PRIVATE}",
            "",
            id="public-pem-in-private-key-file",
        ),
        pytest.param(
            {"JWT_PRIVATE_KEY_FILE": str(es256_files / "k.public.jwk")},
            f"JWT_PRIVATE_KEY_FILE holds a public JWK: {PUBLIC_WHERE_PRIVATE}",
            "",
            id="public-jwk-in-private-key-file",
        ),
        pytest.param(
            {"JWT_JWKS_FILE": str(es256_files / "k.public.pem")},
            "JWT_JWKS_FILE holds a PEM public key where a JWKS or JWK was expected; put the "
            "path in JWT_PUBLIC_KEY_FILE (with JWT_ALGORITHMS)",
            "",
            id="pem-in-jwks-file",
        ),
        pytest.param(
            {"JWT_JWKS_FILE": _write(tmp_path, "other.json", '{"issuer": "x"}')},
            "JWT_JWKS_FILE holds JSON that is neither a JWK nor a JWKS; give a JWKS or a JWK",
            "",
            id="other-json-in-jwks-file",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": _write(tmp_path, "junk.pem", f"not a key {MARK}"), **es},
            "JWT_PUBLIC_KEY_FILE holds neither a PEM key nor a JWK; give a PEM public key or "
            "a JWK",
            MARK,
            id="junk-in-public-key-file",
        ),
        pytest.param(
            {"JWT_SECRET": private_pem, "JWT_ALGORITHMS": "HS256"},
            "JWT_SECRET holds a PEM private key, not an HMAC secret: a private key goes in "
            "JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE",
            private_pem,
            id="private-pem-in-secret",
        ),
        pytest.param(
            {"JWT_SECRET": public_pem},
            "JWT_SECRET holds a PEM public key, not an HMAC secret: a public key goes in "
            "JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE",
            public_pem,
            id="public-pem-in-secret",
        ),
        pytest.param(
            {"JWT_SECRET": MARK * 4, "JWT_ALGORITHMS": "RS256"},
            "JWT_ALGORITHMS=RS256 needs a public or private key, but JWT_SECRET is a shared "
            "secret: use HS256, HS384 or HS512 (or give the key in JWT_PUBLIC_KEY_FILE)",
            MARK,
            id="secret-with-an-rsa-algorithm",
        ),
        pytest.param(
            {"JWT_SECRET": MARK},
            "JWT_ALGORITHMS must name exactly one algorithm for JWT_SECRET (each key is pinned "
            "to one algorithm), for example HS256",
            MARK,
            id="secret-without-algorithm-suggests-hs256",
        ),
        pytest.param(
            {"JWT_SECRET": MARK, "JWT_ALGORITHMS": "HS256"},
            "JWT_SECRET: the HS256 secret is 12 bytes: use at least 32 random bytes (for "
            "example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
            MARK,
            id="short-secret-names-the-setting",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": str(es256_files / "k.public.pem")},
            "JWT_ALGORITHMS must name exactly one algorithm for JWT_PUBLIC_KEY_FILE (each key "
            "is pinned to one algorithm), for example ES256",
            "",
            id="pem-without-algorithm-suggests-its-own",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": str(es256_files / "k.public.pem"), "JWT_ALGORITHMS": "RS256"},
            "JWT_ALGORITHMS=RS256 does not fit the key in JWT_PUBLIC_KEY_FILE: use ES256",
            "",
            id="pem-with-an-algorithm-that-does-not-fit",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": str(es256_files / "k.public.pem"), "JWT_ALGORITHMS": "none"},
            "JWT_ALGORITHMS: algorithm 'none' is never allowed: pick a signing algorithm such "
            "as ES256",
            "",
            id="alg-none-names-the-setting",
        ),
        pytest.param(
            {"JWT_JWKS_FILE": str(es256_files / "k.public.jwk"), "JWT_KID": "k"},
            "JWT_KID does not apply to JWT_JWKS_FILE: a JWKS (or JWK) names its own keys",
            "",
            id="kid-with-a-jwks",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": str(es256_files / "k.public.jwk"), "JWT_KID": "other"},
            "JWT_KID 'other' differs from the kid of the JWK in JWT_PUBLIC_KEY_FILE ('k'): "
            "leave JWT_KID unset, or make them agree",
            "",
            id="kid-differs-from-the-jwk",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY_FILE": str(es256_files / "k.public.jwk"), "JWT_ALGORITHMS": "ES384"},
            "JWT_PUBLIC_KEY_FILE: the JWK says alg 'ES256' but 'ES384' was asked for",
            "",
            id="jwk-alg-disagrees",
        ),
    ]


WRONG_FORMS = [
    "path-in-public-key",
    "path-in-private-key",
    "private-pem-in-public-key-file",
    "private-pem-inline-in-public-key",
    "private-jwk-in-public-key-file",
    "private-jwk-in-jwks-file",
    "secret-jwk-in-public-key-file",
    "encrypted-pem-in-public-key-file",
    "encrypted-pem-in-private-key-file",
    "jwks-in-public-key-file",
    "public-pem-in-private-key-file",
    "public-jwk-in-private-key-file",
    "pem-in-jwks-file",
    "other-json-in-jwks-file",
    "junk-in-public-key-file",
    "private-pem-in-secret",
    "public-pem-in-secret",
    "secret-with-an-rsa-algorithm",
    "secret-without-algorithm-suggests-hs256",
    "short-secret-names-the-setting",
    "pem-without-algorithm-suggests-its-own",
    "pem-with-an-algorithm-that-does-not-fit",
    "alg-none-names-the-setting",
    "kid-with-a-jwks",
    "kid-differs-from-the-jwk",
    "jwk-alg-disagrees",
]


def test_every_wrong_form_case_runs(keys: KeyRing, tmp_path: Path, es256_files: Path) -> None:
    assert [p.id for p in wrong_form_cases(keys, tmp_path, es256_files)] == WRONG_FORMS


@pytest.mark.parametrize("case", WRONG_FORMS)
def test_key_setting_of_the_wrong_form_says_what_it_found(
    case: str, keys: KeyRing, tmp_path: Path, es256_files: Path
) -> None:
    cases = {p.id: p.values for p in wrong_form_cases(keys, tmp_path, es256_files)}
    env, message, material = cases[case]
    with pytest.raises(ConfigurationError) as info:
        Config.from_env(environ=env)
    assert str(info.value) == message
    for line in str(material).splitlines():
        if len(line) > 8 and "-----" not in line:
            assert line not in str(info.value)  # no key material, ever


# --- messages name the knob the user turned -----------------------------------------

HS = {"JWT_SECRET": SECRET.decode(), "JWT_ALGORITHMS": "HS256"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"JWT_ISSUER": ""},
            "JWT_ISSUER is empty: give the accepted issuer (comma-separated for several), or "
            "unset JWT_ISSUER to skip the iss check",
            id="issuer-empty",
        ),
        pytest.param(
            {"JWT_AUDIENCE": " , "},
            "JWT_AUDIENCE is empty: give the accepted audience (comma-separated for several), "
            "or unset JWT_AUDIENCE to accept only tokens without aud",
            id="audience-only-commas",
        ),
        pytest.param(
            {"JWT_LEEWAY": "abc"},
            "JWT_LEEWAY has a value of the wrong form: give a number of seconds, e.g. 30",
            id="leeway-not-a-number",
        ),
        pytest.param(
            {"JWT_LEEWAY": "nan"},
            "JWT_LEEWAY must be a number of seconds from 0 to 300",
            id="leeway-nan",
        ),
        pytest.param(
            {"JWT_MAX_TOKEN_BYTES": "lots"},
            "JWT_MAX_TOKEN_BYTES has a value of the wrong form: give a whole number of bytes, "
            "e.g. 8192",
            id="max-bytes-not-a-number",
        ),
        pytest.param(
            {"JWT_MAX_TOKEN_BYTES": "100"},
            "JWT_MAX_TOKEN_BYTES must be an integer from 256 to 65536",
            id="max-bytes-too-small",
        ),
        pytest.param(
            {"JWT_MAX_AGE": "0"},
            "JWT_MAX_AGE must be a positive number of seconds, or leave it unset (or none)",
            id="max-age-zero",
        ),
        pytest.param(
            {"JWT_MAX_AGE": "soon"},
            "JWT_MAX_AGE has a value of the wrong form: give a number of seconds, e.g. 3600, "
            "or none",
            id="max-age-not-a-number",
        ),
        pytest.param(
            {"JWT_REQUIRE_EXP": "maybe"},
            "JWT_REQUIRE_EXP has a value of the wrong form: give true or false (or 1/0, "
            "yes/no, on/off)",
            id="bool",
        ),
        pytest.param(
            {"JWT_CLAIMS_PRESET": "okta"},
            "JWT_CLAIMS_PRESET 'okta' is not a claims preset: use one of auth0, azure, "
            "cognito, default, keycloak, oauth2",
            id="preset",
        ),
        pytest.param(
            {"JWT_REQUIRED_CLAIMS": " ,"},
            None,
            id="required-claims-empty-is-none",
        ),
        pytest.param(
            {"JWT_STORE_URL": "ftp://x"},
            "JWT_STORE_URL: unknown store URL scheme 'ftp': use memory://, sqlite:///path.db "
            "or redis://",
            id="store-url",
        ),
        pytest.param(
            {"JWT_STORE_FAILURE": "maybe"},
            'JWT_STORE_FAILURE must be "closed" or "open"',
            id="store-failure",
        ),
        pytest.param(
            {"JWT_TOKEN_TYPE": ""},
            "JWT_TOKEN_TYPE must be a non-empty string, or unset",
            id="token-type-empty",
        ),
        pytest.param({"JWT_REALM": ""}, "JWT_REALM must be a non-empty string", id="realm-empty"),
        pytest.param(
            {"JWT_CLIENT_ID": ""},
            "JWT_CLIENT_ID must be a non-empty string, or unset",
            id="client-id-empty",
        ),
    ],
)
def test_setting_errors_name_the_setting(env: dict[str, str], message: str | None) -> None:
    if message is None:  # an empty value for a text setting leaves the default
        Config.from_env(environ={**HS, **env})
        return
    with pytest.raises(ConfigurationError) as info:
        Config.from_env(environ={**HS, **env})
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({"issuer": []}, "issuer is an empty list: give a value or None"),
        pytest.param({"leeway": 301}, "leeway must be a number of seconds from 0 to 300"),
        pytest.param({"max_age": 0}, "max_age must be a positive number of seconds, or None"),
        pytest.param({"token_type": ""}, "token_type must be a non-empty string, or None"),
        pytest.param({"client_id": 5}, "client_id must be a non-empty string, or None"),
        pytest.param({"store_failure": "x"}, 'store_failure must be "closed" or "open"'),
        pytest.param(
            {"store": "ftp://x"},
            "store: unknown store URL scheme 'ftp': use memory://, sqlite:///path.db or redis://",
        ),
    ],
)
def test_keyword_errors_name_the_keyword(
    keys: KeyRing, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        config(keys, **settings)
    assert str(info.value) == message


def test_an_override_is_named_as_a_keyword_even_from_env() -> None:
    with pytest.raises(ConfigurationError) as info:
        Config.from_env(environ=HS, leeway=301)
    assert str(info.value) == "leeway must be a number of seconds from 0 to 300"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"JWT_COOKIES": "maybe"},
            "JWT_COOKIES has a value of the wrong form: give true or false (or 1/0, yes/no, "
            "on/off)",
            id="cookies",
        ),
        pytest.param(
            {"JWT_COOKIES": "1", "JWT_COOKIE_SECURE": "maybe"},
            "JWT_COOKIE_SECURE has a value of the wrong form: give true or false (or 1/0, "
            "yes/no, on/off)",
            id="secure",
        ),
        pytest.param(
            {"JWT_COOKIES": "1", "JWT_COOKIE_SAMESITE": "sideways"},
            'JWT_COOKIE_SAMESITE: cookie samesite must be "Lax", "Strict" or "None"',
            id="samesite",
        ),
        pytest.param(
            {"JWT_COOKIES": "1", "JWT_COOKIE_SAMESITE": "None", "JWT_COOKIE_SECURE": "0"},
            "JWT_COOKIE_SAMESITE and JWT_COOKIE_SECURE: SameSite=None cookies must be Secure",
            id="samesite-none-needs-secure",
        ),
        pytest.param(
            {"JWT_COOKIES": "1", "JWT_REFRESH_PATH": "auth"},
            "JWT_REFRESH_PATH: cookie paths start with '/'",
            id="refresh-path",
        ),
        pytest.param(
            {"JWT_COOKIES": "1", "JWT_COOKIE_WEBSOCKET_ORIGINS": "app.example"},
            "JWT_COOKIE_WEBSOCKET_ORIGINS: 'app.example' is not an origin: write "
            "scheme://host[:port] (http or https), without a path or wildcard",
            id="websocket-origins",
        ),
    ],
)
def test_cookie_setting_errors_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        cookie_policy_from_mapping(env)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"JWT_ACCESS_TTL": "soon"},
            "JWT_ACCESS_TTL is not a number: JWT_*_TTL settings take a whole number of seconds, "
            "e.g. 900",
            id="access",
        ),
        pytest.param(
            {"JWT_REFRESH_TTL": "1.5"},
            "JWT_REFRESH_TTL is not a number: JWT_*_TTL settings take a whole number of "
            "seconds, e.g. 1209600",
            id="refresh",
        ),
        pytest.param(
            {"JWT_REFRESH_GRACE": "abc"},
            "JWT_REFRESH_GRACE is not a number: give a number of seconds from 0 to 60, e.g. 10",
            id="grace",
        ),
    ],
)
def test_lifetime_setting_errors_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        issuer_options_from_mapping(env)
    assert str(info.value) == message
    assert "a JWT_*_TTL or GRACE setting" not in str(info.value)  # the old, vague message


@pytest.mark.parametrize(
    "env",
    [
        {"JWT_SECRET": "short-but-secret-value", "JWT_ALGORITHMS": "HS256"},
        {"JWT_SECRET": "short-but-secret-value"},
        {"JWT_SECRET": "short-but-secret-value", "JWT_ALGORITHMS": "RS256"},
        {**HS, "JWT_LEEWAY": "short-but-secret-value"},
        {"JWT_SECERT": "short-but-secret-value"},
        {"JWT_PUBLIC_KEY": "short-but-secret-value", "JWT_ALGORITHMS": "ES256"},
        {"JWT_PRIVATE_KEY": "short-but-secret-value", "JWT_ALGORITHMS": "ES256"},
    ],
)
def test_a_secret_value_never_appears_in_a_message(env: dict[str, str]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigurationError) as info:
            Config.from_env(environ=env)
    assert "short-but-secret-value" not in str(info.value)
    for warning in caught:
        assert "short-but-secret-value" not in str(warning.message)


# --- unknown JWT_* names in the environment ------------------------------------------


def unknown_warnings(env: dict[str, str], prefix: str = "JWT_") -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Config.from_env(prefix, environ=env)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_a_typo_in_the_environment_is_warned_about_with_the_closest_name() -> None:
    env = {**HS, "JWT_ISSUR": "https://auth.example"}
    with pytest.warns(UserWarning, match="unknown setting") as record:
        c = Config.from_env(environ=env)
    assert [str(w.message) for w in record] == [
        "unknown setting JWT_ISSUR: did you mean JWT_ISSUER? (JWT_ISSUR is ignored)"
    ]
    assert record[0].filename == __file__  # blames the caller of from_env
    assert c.issuer is None  # still unchecked, but no longer silently


def test_one_warning_per_unknown_name_and_per_call() -> None:
    env = {**HS, "JWT_ISSUR": "x", "JWT_AUDEINCE": "y", "JWT_TOTALLY_ELSE": "z"}
    expected = [
        "unknown setting JWT_AUDEINCE: did you mean JWT_AUDIENCE? (JWT_AUDEINCE is ignored)",
        "unknown setting JWT_ISSUR: did you mean JWT_ISSUER? (JWT_ISSUR is ignored)",
        "unknown setting JWT_TOTALLY_ELSE: no jwt_middleware setting has a similar name "
        "(JWT_TOTALLY_ELSE is ignored)",
    ]
    assert unknown_warnings(env) == expected
    assert unknown_warnings(env) == expected  # again on the next call


def test_the_suggestion_uses_the_prefix() -> None:
    env = {"APP_SECRET": SECRET.decode(), "APP_ALGORITHMS": "HS256", "APP_LEWAY": "5"}
    assert unknown_warnings(env, "APP_") == [
        "unknown setting APP_LEWAY: did you mean APP_LEEWAY? (APP_LEWAY is ignored)"
    ]


def test_known_and_reserved_names_are_not_warned_about() -> None:
    env = {f"JWT_{name}": "" for name in KNOWN_SETTINGS}
    env.update(JWT_MIDDLEWARE_REQUIRE_REDIS="1", OTHER_ISSUR="x", JWTX_ISSUR="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unknown_settings(env, "JWT_")


_NAME_PATTERNS = (
    r"[\"']JWT_([A-Z][A-Z0-9_]*)\b",  # "JWT_STORE_URL"
    r"\{(?:prefix|p|PREFIX)\}([A-Z][A-Z0-9_]*)",  # f"{p}STORE_URL", in reads and messages
    r"(?:prefix|\bp|PREFIX) \+ [\"']([A-Z][A-Z0-9_]*)[\"']",  # PREFIX + "SECRET"
)


def _environ_names(folder: Path) -> set[str]:
    """``JWT_*`` names a folder's code reads or names in a message, wildcards aside."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        text = path.read_text()
        for pattern in _NAME_PATTERNS:
            for name in re.findall(pattern, text):
                if not name.startswith("MIDDLEWARE_") and not name.endswith("_"):
                    names.add(name)
    return names


def test_every_name_the_package_and_the_examples_read_is_known() -> None:
    """The examples read no JWT_* name of their own (they use MS_*, SSO_*); every setting a
    message of the package names exists."""
    from jwt_middleware.flask._settings import EXTRA

    assert set(EXTRA) <= set(INTEGRATION_SETTINGS)
    read = _environ_names(ROOT / "jwt_middleware") | _environ_names(ROOT / "examples")
    assert read - KNOWN_SETTINGS == set()
    assert {"ISSUER", "STORE_URL", "ACCESS_TTL", "MODE", "PUBLIC_KEY_FILE"} <= read  # it scans


# --- relative key paths ----------------------------------------------------------------


def test_relative_key_paths_resolve_against_base_dir(
    keys: KeyRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app" / "keys").mkdir(parents=True)
    (tmp_path / "app" / "keys" / "public.pem").write_bytes(keys.es256.public_pem())
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    env = {"JWT_PUBLIC_KEY_FILE": "keys/public.pem", "JWT_ALGORITHMS": "ES256"}
    c = Config.from_env(environ=env, base_dir=tmp_path / "app", clock=clock)
    assert accepts(c, keys.es256)
    with pytest.raises(ConfigurationError) as info:
        Config.from_env(environ=env)  # the working directory, by default
    assert str(info.value) == (
        "JWT_PUBLIC_KEY_FILE: cannot read key file 'keys/public.pem' (relative to "
        f"{str(tmp_path / 'elsewhere')!r}): No such file or directory"
    )
    absolute = {**env, "JWT_PUBLIC_KEY_FILE": str(tmp_path / "app" / "keys" / "public.pem")}
    c = Config.from_env(environ=absolute, base_dir="/nonexistent", clock=clock)
    assert accepts(c, keys.es256)


def test_key_form_never_mistakes_a_key_for_a_path(keys: KeyRing) -> None:
    assert key_form(keys.es256.public_pem()) == "pem-public"
    assert key_form("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAv/x+y") == "unknown"
