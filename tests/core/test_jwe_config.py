"""Encrypted tokens at start-up: keys refused, the settings, and the issuer's side."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jwt_middleware import (
    Config,
    ConfigurationError,
    DecryptionKey,
    DecryptionKeys,
    EncryptionKey,
    EncryptionRequiredError,
    Issuer,
    Verifier,
    issuer_options_from_mapping,
)
from jwt_middleware.stores.memory import MemoryStore

from .helpers import NOW, clock
from .jwe_helpers import (
    AUDIENCE,
    ISSUER,
    decryption_key,
    header_of,
    inner_token,
    resource_config,
    signing_key,
)


def pem(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def public_pem(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def refused(match: str, build: Any, *args: Any, **kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError, match=match) as caught:
        build(*args, **kwargs)
    return caught.value


# --- keys refused at start-up -----------------------------------------------------------


def test_weak_rsa_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    refused("1024 bits is too weak", DecryptionKey, "RSA-OAEP-256", rsa_1024)
    refused("1024 bits is too weak", DecryptionKey.from_pem, pem(rsa_1024))
    refused("1024 bits is too weak", EncryptionKey.from_pem, public_pem(rsa_1024))


@pytest.mark.parametrize(
    "alg", ["RSA1_5", "RSA-OAEP", "A128KW", "A256GCMKW", "PBES2-HS256+A128KW", "none", "", 3]
)
def test_unknown_or_unsafe_algorithm_refused(alg: Any) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    error = refused("unsupported key-management algorithm", DecryptionKey, alg, key)
    assert "RSA-OAEP-256, ECDH-ES, ECDH-ES+A256KW, dir" in str(error)


@pytest.mark.parametrize("encs", [(), ("A192GCM",), ("A256GCM", "A256CBC-HS512"), (1,)])
def test_unknown_content_encryption_refused(encs: tuple[Any, ...]) -> None:
    refused("content encryption must be", DecryptionKey.generate, "dir", encryptions=encs)


def test_key_type_must_fit_the_algorithm() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    refused("RSA-OAEP-256 needs an RSA key", DecryptionKey, "RSA-OAEP-256", ec_key)
    rsa_key = decryption_key("RSA-OAEP-256")._obj
    refused("ECDH-ES needs an EC key", DecryptionKey, "ECDH-ES", rsa_key)
    refused("P-256, P-384 or P-521", DecryptionKey, "ECDH-ES",
            ec.generate_private_key(ec.SECP256K1()))
    refused("dir takes a shared secret", DecryptionKey, "dir", ec_key)
    refused("exactly 32", DecryptionKey.from_secret, secrets.token_bytes(16))
    refused("exactly 32", EncryptionKey.from_secret, secrets.token_bytes(64))
    for curve in (ec.SECP384R1(), ec.SECP521R1()):
        assert DecryptionKey("ECDH-ES", ec.generate_private_key(curve)).algorithm == "ECDH-ES"


def test_a_public_key_cannot_decrypt() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    refused("needs the private key", DecryptionKey, "ECDH-ES", key.public_key())
    refused("needs the private key", DecryptionKey.from_pem, public_pem(key))
    refused("needs the private key", DecryptionKey.from_jwk, decryption_key("ECDH-ES").public_jwk())


def test_jwk_use_and_alg_are_respected() -> None:
    jwk = decryption_key("ECDH-ES+A256KW").private_jwk()
    assert DecryptionKey.from_jwk(jwk).algorithm == "ECDH-ES+A256KW"  # alg pins it
    refused("not for encryption", DecryptionKey.from_jwk, {**jwk, "use": "sig"})
    refused("differs", DecryptionKey.from_jwk, jwk, "ECDH-ES")
    refused("key_ops", DecryptionKey.from_jwk, {**jwk, "key_ops": ["sign", "verify"]})
    refused("could not be read", DecryptionKey.from_jwk, {"kty": "OKP", "crv": "X25519"})
    no_alg = {k: v for k, v in jwk.items() if k != "alg"}
    assert DecryptionKey.from_jwk(no_alg).algorithm == "ECDH-ES"  # the type's default
    assert DecryptionKey.from_jwk(json.dumps(jwk)).kid == jwk["kid"]


def test_key_sets_need_unique_kids() -> None:
    a = DecryptionKey.generate("dir", kid="same")
    b = DecryptionKey.generate("dir", kid="same")
    refused("share the kid", DecryptionKeys, [a, b])
    unnamed = DecryptionKey("dir", secrets.token_bytes(32))
    refused("each needs a kid", DecryptionKeys, [unnamed, a])
    refused("empty", DecryptionKeys, [])
    refused("DecryptionKey objects", DecryptionKeys, [signing_key()])


def test_config_refuses_what_cannot_be_decryption_keys() -> None:
    refused("decryption_keys must be", resource_config, "keys/private.pem")
    refused("decryption_keys must be", resource_config, 42)
    refused("DecryptionKey objects", resource_config, [object()])
    refused("needs decryption_keys", resource_config, (), require_encryption=True)
    refused("require_encryption must be", resource_config, (), require_encryption="yes")
    assert resource_config(()).decryption_keys == ()
    single = resource_config(decryption_key("dir")).decryption_keys
    assert isinstance(single, DecryptionKeys)
    assert len(single) == 1


# --- settings -------------------------------------------------------------------------


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(signing_key().public_pem())
    env = {"JWT_PUBLIC_KEY_FILE": str(key_file), "JWT_ALGORITHMS": "ES256",
           "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE}
    env.update({f"JWT_{k}": v for k, v in settings.items()})
    return env


def test_decryption_key_file_pem_jwk_and_jwks(tmp_path: Path) -> None:
    rsa_key = decryption_key("RSA-OAEP-256")
    (tmp_path / "enc.pem").write_bytes(pem(rsa_key._obj))
    (tmp_path / "enc.jwk").write_text(json.dumps(decryption_key("ECDH-ES+A256KW").private_jwk()))
    both = [decryption_key("ECDH-ES", kid="new").private_jwk(), rsa_key.private_jwk(),
            {**signing_key().private_jwk()}]  # a signing key in the file is skipped
    (tmp_path / "ring.jwks").write_text(json.dumps({"keys": both}))
    for name, algorithms in (("enc.pem", {"RSA-OAEP-256"}), ("enc.jwk", {"ECDH-ES+A256KW"}),
                             ("ring.jwks", {"ECDH-ES", "RSA-OAEP-256"})):
        env = _env(tmp_path, DECRYPTION_KEY_FILE=name)
        config = Config.from_env(environ=env, base_dir=tmp_path, clock=clock)
        assert isinstance(config.decryption_keys, DecryptionKeys)
        assert config.decryption_keys.algorithms == algorithms, name
        assert config.require_encryption is None
    token = rsa_key.encryption_key().encrypt(inner_token())
    assert Verifier(config).verify(token).subject == "alice"


def test_require_encryption_setting(tmp_path: Path) -> None:
    (tmp_path / "enc.jwk").write_text(json.dumps(decryption_key("dir").private_jwk()))
    env = _env(tmp_path, DECRYPTION_KEY_FILE="enc.jwk", REQUIRE_ENCRYPTION="0")
    v = Verifier(Config.from_env(environ=env, base_dir=tmp_path, clock=clock))
    assert v.verify(inner_token()).subject == "alice"
    strict = Verifier(Config.from_env(environ={**env, "JWT_REQUIRE_ENCRYPTION": "1"},
                                      base_dir=tmp_path, clock=clock))
    with pytest.raises(EncryptionRequiredError):
        strict.verify(inner_token())
    with pytest.raises(ConfigurationError, match="JWT_REQUIRE_ENCRYPTION has a value of"):
        Config.from_env(environ={**env, "JWT_REQUIRE_ENCRYPTION": "maybe"}, base_dir=tmp_path)
    without = {k: v for k, v in env.items() if k != "JWT_DECRYPTION_KEY_FILE"}
    with pytest.raises(ConfigurationError, match="needs decryption_keys"):
        Config.from_env(environ={**without, "JWT_REQUIRE_ENCRYPTION": "1"}, base_dir=tmp_path)


def test_decryption_key_file_errors_name_the_setting(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "public.pem").write_bytes(public_pem(key))
    cases = {"missing.pem": "cannot read key file", "public.pem": "needs the private key"}
    for name, match in cases.items():
        with pytest.raises(ConfigurationError, match=f"^JWT_DECRYPTION_KEY_FILE.*{match}") as e:
            Config.from_env(environ=_env(tmp_path, DECRYPTION_KEY_FILE=name), base_dir=tmp_path)
        assert "BEGIN" not in str(e.value)


def test_encryption_key_file(tmp_path: Path) -> None:
    key = decryption_key("ECDH-ES")
    (tmp_path / "recipient.jwk").write_text(json.dumps(key.public_jwk()))
    (tmp_path / "private.pem").write_bytes(pem(key._obj))
    found = issuer_options_from_mapping({"JWT_ENCRYPTION_KEY_FILE": "recipient.jwk",
                                         "JWT_ACCESS_TTL": "60"}, base_dir=tmp_path)
    assert found["access_ttl"] == 60
    to: EncryptionKey = found["encrypt_to"]
    assert (to.algorithm, to.encryption, to.kid) == ("ECDH-ES", "A256GCM", key.kid)
    with pytest.raises(ConfigurationError, match="JWT_ENCRYPTION_KEY_FILE holds a private key"):
        issuer_options_from_mapping({"JWT_ENCRYPTION_KEY_FILE": "private.pem"}, base_dir=tmp_path)
    with pytest.raises(ConfigurationError, match=r"APP_ENCRYPTION_KEY_FILE.*cannot read"):
        issuer_options_from_mapping({"APP_ENCRYPTION_KEY_FILE": "nope.pem"}, "APP_")


# --- the issuer -----------------------------------------------------------------------


def issuer_config(**options: Any) -> Config:
    return Config(keys=signing_key(), issuer=ISSUER, audience=AUDIENCE, clock=clock,
                  store=MemoryStore(), **options)


def test_issuer_encrypts_access_tokens_for_another_recipient() -> None:
    resource_key = decryption_key("RSA-OAEP-256")
    issuer = Issuer(issuer_config(), encrypt_to=resource_key.encryption_key())
    pair = issuer.issue("alice", roles=["reader"])
    assert pair.access_token.count(".") == 4
    assert header_of(pair.access_token)["kid"] == resource_key.kid
    assert pair.refresh_token.count(".") == 2  # the issuer cannot read it: signed only
    principal = Verifier(resource_config(resource_key)).verify(pair.access_token)
    assert (principal.subject, principal.roles) == ("alice", frozenset({"reader"}))
    assert issuer.refresh(pair.refresh_token).access_token.count(".") == 4


def test_issuer_that_can_decrypt_encrypts_refresh_tokens_too() -> None:
    own = decryption_key("ECDH-ES")
    issuer = Issuer(issuer_config(decryption_keys=own), encrypt_to=own.encryption_key())
    pair = issuer.issue("alice", claims={"salary": 1})
    assert pair.access_token.count(".") == 4
    assert pair.refresh_token.count(".") == 4
    renewed = issuer.refresh(pair.refresh_token)
    assert issuer.verifier.verify(renewed.access_token).claims["salary"] == 1
    with pytest.raises(EncryptionRequiredError):
        issuer.refresh(inner_token())


def test_issuer_refuses_a_config_it_would_break() -> None:
    own = decryption_key("ECDH-ES")
    config = issuer_config(decryption_keys=own)
    with pytest.raises(ConfigurationError, match="set encrypt_to"):
        Issuer(config)
    with pytest.raises(ConfigurationError, match="cannot decrypt tokens encrypted to"):
        Issuer(config, encrypt_to=decryption_key("ECDH-ES", kid="theirs").encryption_key())
    with pytest.raises(ConfigurationError, match="encrypt_to must be"):
        Issuer(issuer_config(), encrypt_to="recipient.pem")
    relaxed = Issuer(issuer_config(decryption_keys=own, require_encryption=False))
    assert relaxed.issue("alice").access_token.count(".") == 2


def test_dir_issuer_and_resource_share_one_secret() -> None:
    secret = secrets.token_bytes(32)
    issuer = Issuer(issuer_config(), encrypt_to=EncryptionKey.from_secret(secret, kid="s"))
    token = issuer.access_token("bob", claims={"iat_seen": NOW})
    resource = Verifier(resource_config(DecryptionKey.from_secret(secret, kid="s")))
    assert resource.verify(token).subject == "bob"
