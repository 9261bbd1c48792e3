"""Keys: every way to load one, every algorithm, and every key refused at start-up."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from jwt_middleware import (
    ALGORITHMS,
    ConfigurationError,
    InvalidSignatureError,
    Key,
    KeySet,
    UnknownKeyError,
    encode,
    generate_key,
)
from jwt_middleware._core.keyset import FORMS, fitting_algorithms, key_form

from .helpers import KeyRing, claims_with, make_token, verifier

SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
PEM = serialization.Encoding.PEM


def public_pem(private: Any) -> bytes:
    return bytes(private.public_key().public_bytes(PEM, SPKI))


def private_pem(private: Any) -> bytes:
    return bytes(
        private.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def self_signed_certificate(private: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example")])
    start = datetime.datetime(2023, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(PEM)


def accepts(key: Key, token: str) -> bool:
    """Whether a verifier holding only ``key`` accepts ``token``."""
    try:
        verifier(key).verify(token)
    except InvalidSignatureError:
        return False
    return True


# --- HMAC secrets -----------------------------------------------------------

SECRET = bytes(range(200, 232))


@pytest.mark.parametrize(
    "load",
    [
        pytest.param(lambda: Key.from_secret(SECRET), id="bytes"),
        pytest.param(
            lambda: Key.from_secret(base64.b64encode(SECRET).decode(), encoding="base64"),
            id="base64-standard",
        ),
        pytest.param(
            lambda: Key.from_secret(base64.urlsafe_b64encode(SECRET), encoding="base64"),
            id="base64-url-safe-bytes",
        ),
        pytest.param(
            lambda: Key.from_secret(
                base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode(), encoding="base64"
            ),
            id="base64-url-safe-unpadded",
        ),
        pytest.param(
            lambda: Key.from_secret(
                " " + base64.b64encode(SECRET).decode() + "\n", encoding="base64"
            ),
            id="base64-surrounding-whitespace",
        ),
    ],
)
def test_hmac_secret_forms(load: Callable[[], Key]) -> None:
    key = load()
    assert key.algorithm == "HS256"
    assert key.can_sign
    assert accepts(key, make_token(Key.from_secret(SECRET), claims_with()))
    assert not accepts(key, make_token(Key.from_secret(SECRET[::-1]), claims_with()))


def test_hmac_text_secret_is_utf8_encoded() -> None:
    text = "pässwörd-" + "x" * 30
    token = make_token(Key.from_secret(text.encode("utf-8")), claims_with())
    assert accepts(Key.from_secret(text), token)
    assert not accepts(Key.from_secret(text.encode("latin-1")), token)


def test_base64_secret_equals_raw_secret() -> None:
    token = make_token(Key.from_secret(SECRET), claims_with())
    for text in (
        base64.b64encode(SECRET).decode(),
        base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode(),
    ):
        assert accepts(Key.from_secret(text, encoding="base64"), token)
    # The same text taken raw is a different secret.
    raw_text = base64.b64encode(SECRET).decode()
    assert not accepts(Key.from_secret(raw_text), token)


@pytest.mark.parametrize(
    ("secret", "encoding", "message"),
    [
        pytest.param("not base64!" * 5, "base64", "not valid base64", id="bad-base64"),
        pytest.param(SECRET, "hex", "encoding must be", id="unknown-encoding"),
    ],
)
def test_hmac_secret_encoding_errors(secret: Any, encoding: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Key.from_secret(secret, encoding=encoding)


@pytest.mark.parametrize(
    ("algorithm", "size"),
    [("HS256", 32), ("HS384", 48), ("HS512", 64)],
)
def test_hmac_secret_of_hash_size_accepted(algorithm: str, size: int) -> None:
    key = Key.from_secret(bytes(range(size)), algorithm)
    assert key.algorithm == algorithm
    assert accepts(key, encode(claims_with(), key))


@pytest.mark.parametrize(
    ("algorithm", "size"),
    [("HS256", 31), ("HS384", 47), ("HS512", 63), ("HS256", 0), ("HS512", 32)],
)
def test_hmac_secret_shorter_than_hash_refused(algorithm: str, size: int) -> None:
    minimum = {"HS256": 32, "HS384": 48, "HS512": 64}[algorithm]
    with pytest.raises(ConfigurationError) as info:
        Key.from_secret(bytes(range(size)), algorithm)
    message = str(info.value)
    assert f"{size} bytes" in message
    assert f"at least {minimum}" in message
    assert "secrets.token_urlsafe" in message


def test_hmac_secret_refused_for_asymmetric_algorithm() -> None:
    with pytest.raises(ConfigurationError, match="RS256 needs a public or private key"):
        Key.from_secret(SECRET, "RS256")


# --- PEM --------------------------------------------------------------------


def test_pem_public_private_and_certificate(keys: KeyRing, tmp_path: Path) -> None:
    private = keys.rsa_private
    token = make_token(keys.rs256, claims_with())
    pub = public_pem(private)
    cert = self_signed_certificate(private)
    priv = private_pem(private)
    loaded = {
        "public-bytes": Key.from_pem(pub, "RS256"),
        "public-str": Key.from_pem(pub.decode(), "RS256"),
        "certificate-bytes": Key.from_pem(cert, "RS256"),
        "certificate-str": Key.from_pem(cert.decode(), "RS256"),
        "private-bytes": Key.from_pem(priv, "RS256"),
        "private-str": Key.from_pem(priv.decode(), "RS256", kid="rs-1"),
    }
    for name, data in (("pub.pem", pub), ("cert.pem", cert), ("key.pem", priv)):
        (tmp_path / name).write_bytes(data)
        loaded[f"file-{name}"] = Key.from_pem_file(tmp_path / name, "RS256")
        loaded[f"file-str-path-{name}"] = Key.from_pem_file(str(tmp_path / name), "RS256")
    for name, key in loaded.items():
        assert key.algorithm == "RS256", name
        assert accepts(key, token), name
        assert key.can_sign is ("key.pem" in name or name.startswith("private")), name
    assert loaded["private-str"].kid == "rs-1"
    # A key loaded from a private PEM signs tokens a public-only key accepts.
    assert accepts(loaded["public-bytes"], encode(claims_with(), loaded["private-bytes"]))


def test_encrypted_private_pem_needs_its_password(keys: KeyRing) -> None:
    encrypted = keys.rsa_private.private_bytes(
        PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"open sesame"),
    )
    key = Key.from_pem(encrypted, "PS256", password=b"open sesame")
    assert key.can_sign
    with pytest.raises(ConfigurationError, match="could not be read"):
        Key.from_pem(encrypted, "PS256")
    with pytest.raises(ConfigurationError, match="could not be read"):
        Key.from_pem(encrypted, "PS256", password=b"wrong")


def test_pem_errors(tmp_path: Path, keys: KeyRing) -> None:
    with pytest.raises(ConfigurationError, match="could not be read as a key"):
        Key.from_pem("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----", "RS256")
    with pytest.raises(ConfigurationError, match="cannot read key file") as info:
        Key.from_pem_file(tmp_path / "missing.pem", "RS256")
    assert "missing.pem" in str(info.value)
    with pytest.raises(ConfigurationError, match="takes a shared secret, not a PEM key"):
        Key.from_pem(public_pem(keys.rsa_private), "HS256")


# --- JWK and JWKS -----------------------------------------------------------


def test_jwk_dict_and_json(keys: KeyRing) -> None:
    for key in (keys.rs256, keys.es256, keys.ed25519):
        token = make_token(key, claims_with())
        public = key.public_jwk()
        assert "d" not in public
        for form in (public, json.dumps(public)):
            loaded = Key.from_jwk(form)
            assert (loaded.algorithm, loaded.kid) == (key.algorithm, key.kid)
            assert not loaded.can_sign
            assert accepts(loaded, token)
        private = Key.from_jwk(key.private_jwk())
        assert private.can_sign
        assert accepts(key, make_token(private, claims_with()))
    oct_jwk = keys.hs256.private_jwk()
    assert oct_jwk["kty"] == "oct"
    assert accepts(Key.from_jwk(json.dumps(oct_jwk)), make_token(keys.hs256, claims_with()))


def test_jwk_algorithm_inference(algorithm_keys: dict[str, Key]) -> None:
    es384 = algorithm_keys["ES384"].public_jwk()
    del es384["alg"]
    assert Key.from_jwk(es384).algorithm == "ES384"
    okp = algorithm_keys["EdDSA"].public_jwk()
    del okp["alg"]
    assert Key.from_jwk(okp).algorithm == "EdDSA"
    es512 = algorithm_keys["ES512"].public_jwk()
    es512["alg"] = "ES521"  # the historic alias of RFC 7520
    assert Key.from_jwk(es512).algorithm == "ES512"


@pytest.mark.parametrize(
    ("change", "algorithm", "message"),
    [
        pytest.param({"alg": None}, None, "does not say its algorithm", id="rsa-without-alg"),
        pytest.param({}, "PS256", "says alg 'RS256' but 'PS256'", id="alg-disagrees"),
        pytest.param({"use": "enc"}, None, "not for signatures", id="use-enc"),
        pytest.param(
            {"key_ops": ["encrypt"]}, None, "neither verify nor sign", id="key-ops-encrypt"
        ),
        pytest.param(
            {"key_ops": "verify"}, None, "neither verify nor sign", id="key-ops-not-a-list"
        ),
        pytest.param({"kid": 7}, None, "kid must be a string", id="kid-number"),
        pytest.param({"n": "AQAB"}, None, "could not be read", id="tiny-modulus"),
        pytest.param({"kty": "EC"}, None, "could not be read as an RS256 key", id="wrong-kty"),
    ],
)
def test_jwk_refused(
    keys: KeyRing, change: dict[str, Any], algorithm: str | None, message: str
) -> None:
    jwk = keys.rs256.public_jwk()
    for name, value in change.items():
        if value is None:
            jwk.pop(name)
        else:
            jwk[name] = value
    with pytest.raises(ConfigurationError, match=message):
        Key.from_jwk(jwk, algorithm)


def test_rsa_jwk_with_algorithm_given(algorithm_keys: dict[str, Key]) -> None:
    jwk = algorithm_keys["PS384"].public_jwk()
    del jwk["alg"]
    assert Key.from_jwk(jwk, "PS384").algorithm == "PS384"


@pytest.fixture(scope="module")
def jwks_document(keys: KeyRing) -> dict[str, Any]:
    enc_rsa = {**keys.rs256.public_jwk(), "use": "enc", "kid": "rsa-enc"}
    encrypt_only = {**keys.es256.public_jwk(), "key_ops": ["encrypt"], "kid": "ec-encrypt"}
    sign_only = {**keys.es256.public_jwk(), "key_ops": ["sign"], "kid": "ec-sign-only"}
    verify_ops = {**keys.rs256.public_jwk(), "key_ops": ["verify"], "kid": "rsa-verify"}
    rsa_no_alg = {k: v for k, v in keys.rs256.public_jwk().items() if k != "alg"}
    rsa_no_alg["kid"] = "rsa-no-alg"
    return {
        "keys": [
            keys.es256.public_jwk(),
            keys.ed25519.public_jwk(),
            enc_rsa,
            encrypt_only,
            sign_only,
            verify_ops,
            rsa_no_alg,
            "not an object",
        ]
    }


def test_jwks_skips_keys_not_for_verifying(jwks_document: dict[str, Any], keys: KeyRing) -> None:
    key_set = KeySet.from_jwks(jwks_document)
    assert sorted(k.kid or "" for k in key_set) == ["ed-1", "es-1", "rsa-verify"]
    with pytest.raises(UnknownKeyError):
        key_set.resolve("rsa-enc")
    with pytest.raises(UnknownKeyError):
        key_set.resolve("ec-encrypt")
    v = verifier(key_set)
    assert v.verify(make_token(keys.es256, claims_with())).subject == "alice"
    assert v.verify(make_token(keys.ed25519, claims_with())).subject == "alice"
    rs_token = make_token(keys.rs256, claims_with(), {"kid": "rsa-verify"})
    assert v.verify(rs_token).key_id == "rsa-verify"


def test_jwks_allow_list_and_inference(jwks_document: dict[str, Any]) -> None:
    only_rs = KeySet.from_jwks(jwks_document, algorithms=["RS256"])
    # The RSA key without "alg" takes the one allowed algorithm that fits it.
    assert sorted(k.kid or "" for k in only_rs) == ["rsa-no-alg", "rsa-verify"]
    assert only_rs.algorithms == frozenset({"RS256"})
    with pytest.raises(ConfigurationError, match="no usable signing key"):
        KeySet.from_jwks(jwks_document, algorithms=["HS256"])


def test_jwks_json_bytes_and_file(jwks_document: dict[str, Any], tmp_path: Path) -> None:
    text = json.dumps(jwks_document)
    path = tmp_path / "jwks.json"
    path.write_text(text)
    kids = {"ed-1", "es-1", "rsa-verify"}
    for key_set in (
        KeySet.from_jwks(text),
        KeySet.from_jwks(text.encode()),
        KeySet.from_jwks_file(path),
        KeySet.from_jwks_file(str(path)),
    ):
        assert {k.kid for k in key_set} == kids


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param("{not json", "not valid JSON", id="not-json"),
        pytest.param("[1, 2]", "must be a JSON object", id="not-an-object"),
        pytest.param({"keys": {}}, 'needs a "keys" list', id="keys-not-a-list"),
        pytest.param({}, 'needs a "keys" list \\(or is one JWK, with "kty"\\)', id="no-keys"),
        pytest.param({"keys": []}, "no usable signing key", id="empty"),
        pytest.param(
            {"keys": [{"kty": "RSA", "use": "enc"}]}, "no usable signing key", id="only-enc"
        ),
    ],
)
def test_jwks_refused(document: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        KeySet.from_jwks(document)


def test_key_set_rules(keys: KeyRing) -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        KeySet([])
    with pytest.raises(ConfigurationError, match="share the kid"):
        KeySet([keys.es256, keys.attacker_es256])
    with pytest.raises(ConfigurationError, match="every key needs a kid"):
        KeySet([Key.from_secret(SECRET), keys.es256])
    with pytest.raises(ConfigurationError, match="Key objects"):
        KeySet([keys.es256, "secret"])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="non-empty string"):
        Key.from_secret(SECRET, kid="")
    key_set = KeySet([keys.es256, keys.hs256])
    assert key_set.signing_key() is keys.es256
    assert key_set.public_jwks() == {"keys": [keys.es256.public_jwk()]}
    with pytest.raises(ConfigurationError, match="no key in the set can sign"):
        KeySet([keys.rs256_public]).signing_key()


# --- every algorithm round-trips ---------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_round_trips(
    algorithm: str, algorithm_keys: dict[str, Key], other_algorithm_keys: dict[str, Key]
) -> None:
    key = algorithm_keys[algorithm]
    assert key.algorithm == algorithm
    token = encode(claims_with(), key)
    header, _ = verifier(key).verify_signature(token)
    assert header["alg"] == algorithm
    assert header["kid"] == key.kid
    assert verifier(key).verify(token).subject == "alice"
    if algorithm.startswith("HS"):
        public_forms = [Key.from_jwk(key.private_jwk())]
    else:
        public_forms = [
            Key.from_jwk(key.public_jwk()),
            Key.from_pem(key.public_pem(), algorithm, kid=key.kid),
        ]
    for public in public_forms:
        assert verifier(public).verify(token).subject == "alice"
    # Another key of the same algorithm (and kid) does not accept it.
    with pytest.raises(InvalidSignatureError):
        verifier(other_algorithm_keys[algorithm]).verify(token)


def test_algorithms_are_the_supported_set() -> None:
    assert set(ALGORITHMS) >= {
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    }  # fmt: skip
    assert not any(a.lower() == "none" for a in ALGORITHMS)


def test_generated_kid_is_the_thumbprint(algorithm_keys: dict[str, Key]) -> None:
    key = algorithm_keys["ES256"]
    assert key.kid == key.thumbprint()
    assert len(key.thumbprint()) == 43  # base64url of a SHA-256 digest


def test_public_only_key_cannot_sign_and_hmac_has_no_public_form(keys: KeyRing) -> None:
    with pytest.raises(ConfigurationError, match="public only"):
        keys.rs256_public.sign(b"x")
    with pytest.raises(ConfigurationError, match="never publish a secret"):
        keys.hs256.public_jwk()
    with pytest.raises(ConfigurationError, match="no public form"):
        keys.hs256.public_pem()


# --- refused at start-up ------------------------------------------------------

NONE_SPELLINGS = ["none", "None", "NONE", "nOnE"]


@pytest.mark.parametrize("spelling", NONE_SPELLINGS)
def test_alg_none_refused_everywhere(spelling: str, keys: KeyRing) -> None:
    attempts: list[Callable[[], object]] = [
        lambda: Key.from_secret(SECRET, spelling),
        lambda: Key.from_pem(public_pem(keys.rsa_private), spelling),
        lambda: Key.from_jwk({**keys.hs256.private_jwk(), "alg": spelling}),
        lambda: Key(spelling, SECRET),
        lambda: generate_key(spelling),
        lambda: KeySet.from_jwks({"keys": [keys.es256.public_jwk()]}, algorithms=[spelling]),
    ]
    for attempt in attempts:
        with pytest.raises(ConfigurationError, match="'none' is never allowed"):
            attempt()


def test_unsupported_algorithm_names_the_supported_ones() -> None:
    with pytest.raises(ConfigurationError, match="unsupported algorithm 'RS1': use one of HS256"):
        Key.from_secret(SECRET, "RS1")


def test_rsa_under_2048_bits_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    attempts: list[Callable[[], object]] = [
        lambda: Key.from_pem(public_pem(rsa_1024), "RS256"),
        lambda: Key.from_pem(private_pem(rsa_1024), "PS512"),
        lambda: Key("RS384", rsa_1024),
        lambda: Key("RS256", rsa_1024.public_key()),
        lambda: Key.from_jwk(RSAAlgorithm.to_jwk(rsa_1024.public_key(), as_dict=True), "RS256"),
    ]
    for attempt in attempts:
        with pytest.raises(ConfigurationError, match="1024 bits is too weak") as info:
            attempt()
        assert "at least 2048 bits" in str(info.value)


@pytest.mark.parametrize(
    ("make", "algorithm", "message"),
    [
        pytest.param(
            lambda k: k.es256_private,
            "RS256",
            "RS256 needs an RSA key, got an EC key",
            id="ec-for-rs256",
        ),
        pytest.param(
            lambda k: k.es384_private,
            "ES256",
            "ES256 needs a key on curve P-256, got secp384r1",
            id="p384-for-es256",
        ),
        pytest.param(
            lambda k: k.rsa_private,
            "EdDSA",
            "EdDSA needs an Ed25519 or Ed448 key, got an RSA key",
            id="rsa-for-eddsa",
        ),
        pytest.param(
            lambda k: ed25519.Ed25519PrivateKey.generate(),
            "ES256",
            "ES256 needs an EC key, got an EdDSA key",
            id="ed25519-for-es256",
        ),
        pytest.param(lambda k: k.rsa_private, "PS256", None, id="rsa-for-ps256-is-fine"),
    ],
)
def test_algorithm_must_fit_the_key_type(
    keys: KeyRing, make: Callable[[KeyRing], Any], algorithm: str, message: str | None
) -> None:
    private = make(keys)
    loaders: list[Callable[[], Key]] = [
        lambda: Key.from_pem(public_pem(private), algorithm),
        lambda: Key.from_pem(private_pem(private), algorithm),
        lambda: Key(algorithm, private),
    ]
    for load in loaders:
        if message is None:
            assert load().algorithm == algorithm
        else:
            with pytest.raises(ConfigurationError, match=message):
                load()


def test_ec_jwk_on_the_wrong_curve(keys: KeyRing) -> None:
    jwk = Key("ES384", keys.es384_private).public_jwk()
    with pytest.raises(ConfigurationError):
        Key.from_jwk(jwk, "ES256")
    jwk["alg"] = "ES256"
    with pytest.raises(ConfigurationError):
        Key.from_jwk(jwk)


def public_key_texts(keys: KeyRing) -> Iterator[tuple[str, bytes]]:
    """Public keys in every form an attacker could hope to see used as an HMAC secret."""
    public = keys.rsa_private.public_key()
    yield "rsa-spki-pem", public.public_bytes(PEM, SPKI)
    yield "rsa-pkcs1-pem", public.public_bytes(PEM, serialization.PublicFormat.PKCS1)
    yield "rsa-certificate-pem", self_signed_certificate(keys.rsa_private)
    yield "rsa-der", public.public_bytes(serialization.Encoding.DER, SPKI)
    yield (
        "rsa-openssh",
        public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
    )
    yield "rsa-jwk-json", json.dumps(keys.rs256.public_jwk()).encode()
    yield "ec-spki-pem", public_pem(keys.es256_private)
    yield (
        "ec-openssh",
        keys.es256_private.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    )


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_public_key_offered_as_hmac_secret_refused(keys: KeyRing, algorithm: str) -> None:
    for name, text in public_key_texts(keys):
        forms: list[bytes | str] = [text]
        if text.isascii():  # the text forms are also tried as str
            forms.append(text.decode())
        for form in forms:
            with pytest.raises(ConfigurationError, match="looks like a public key") as info:
                Key.from_secret(form, algorithm)
            assert "needs an RS, PS, ES or EdDSA algorithm" in str(info.value), name


def test_no_configuration_error_reveals_key_material(
    keys: KeyRing, rsa_1024: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    short_secret = b"hunter2-hunter2-hunter2"
    pem_public = public_pem(keys.rsa_private).decode()
    pem_private = private_pem(keys.es384_private).decode()
    weak_pem = private_pem(rsa_1024).decode()
    oct_jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(short_secret).decode().rstrip("=")}
    secret_file = tmp_path / "secret.pem"
    secret_file.write_text(weak_pem)
    attempts: list[Callable[[], object]] = [
        lambda: Key.from_secret(short_secret),
        lambda: Key.from_secret(short_secret.decode(), "HS512"),
        lambda: Key.from_secret(base64.b64encode(short_secret), encoding="base64"),
        lambda: Key.from_secret(short_secret.decode() + "!", encoding="base64"),
        lambda: Key.from_secret(pem_public, "HS256"),
        lambda: Key.from_secret(pem_private, "HS512"),
        lambda: Key.from_pem(pem_private, "ES256"),
        lambda: Key.from_pem(pem_public, "HS256"),
        lambda: Key.from_pem(pem_public.replace("A", "!", 3), "RS256"),
        lambda: Key.from_pem(weak_pem, "RS256"),
        lambda: Key.from_pem_file(secret_file, "RS256"),
        lambda: Key.from_jwk({**oct_jwk, "alg": "HS256"}),
        lambda: Key.from_jwk(oct_jwk),
        lambda: Key.from_jwk(json.dumps({**oct_jwk, "alg": "none"})),
        lambda: KeySet.from_jwks({"keys": [{**oct_jwk, "alg": "HS256"}]}),
        lambda: KeySet([Key.from_secret(SECRET, kid="a"), Key.from_secret(SECRET, kid="a")]),
    ]
    secrets_seen = [
        short_secret.decode(),
        base64.b64encode(short_secret).decode(),
        oct_jwk["k"],
        SECRET.decode("latin-1"),
    ]
    pem_lines = [
        line
        for pem in (pem_public, pem_private, weak_pem)
        for line in pem.splitlines()
        if line and not line.startswith("-----")
    ]
    for attempt in attempts:
        with pytest.raises(ConfigurationError) as info:
            attempt()
        rendered = f"{info.value} {info.value!r} {info.value.args!r}"
        for secret in secrets_seen:
            assert secret not in rendered
        for line in pem_lines:
            assert line[:16] not in rendered
        assert info.value.__cause__ is None
        assert info.value.__context__ is None or info.value.__suppress_context__


def test_key_repr_shows_no_material(keys: KeyRing) -> None:
    assert repr(keys.hs256) == "<Key kid='hs-1' alg=HS256 secret>"
    assert repr(keys.rs256) == "<Key kid='rs-1' alg=RS256 private>"
    assert repr(keys.rs256_public) == "<Key kid='rs-1' alg=RS256 public>"
    assert SECRET.hex() not in repr(KeySet([keys.hs256]))



# --- one JWK where a JWKS is expected, and what key material looks like -------------


def test_a_single_jwk_is_a_set_of_one(keys: KeyRing, tmp_path: Path) -> None:
    jwk = keys.es256.public_jwk()
    path = tmp_path / "es-1.public.jwk"  # as ``jwt-middleware keygen`` writes it
    path.write_text(json.dumps(jwk))
    for key_set in (KeySet.from_jwks(jwk), KeySet.from_jwks(json.dumps(jwk)),
                    KeySet.from_jwks_file(path)):  # fmt: skip
        (key,) = key_set
        assert (key.kid, key.algorithm, key.can_sign) == ("es-1", "ES256", False)
    with pytest.raises(ConfigurationError, match="no usable signing key"):
        KeySet.from_jwks(jwk, algorithms=["RS256"])  # the allow-list still applies


def test_a_key_set_of_something_else_says_how_to_build_keys() -> None:
    with pytest.raises(ConfigurationError) as info:
        KeySet(["a-secret-value-0123456789abcdef"])  # type: ignore[list-item]
    assert str(info.value) == (
        "a key set holds Key objects, not a str: build them with Key.from_secret, "
        "Key.from_pem or Key.from_jwk"
    )


def test_key_form(keys: KeyRing, tmp_path: Path) -> None:
    private = keys.es256_private
    encrypted = private.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    existing = tmp_path / "no-suffix"
    existing.write_text("x")
    ssh = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    cases: dict[str | bytes, str] = {
        private_pem(private): "pem-private",
        encrypted: "pem-encrypted",
        public_pem(private): "pem-public",
        self_signed_certificate(keys.rsa_private): "pem-certificate",
        ssh: "ssh",
        json.dumps(KeySet([keys.es256]).public_jwks()): "jwks",
        json.dumps(keys.es256.public_jwk()): "jwk-public",
        json.dumps(keys.es256.private_jwk()): "jwk-private",
        json.dumps(keys.hs256.private_jwk()): "jwk-secret",
        '{"issuer": "x"}': "json",
        "{not json": "unknown",
        "public.pem": "path",
        "keys/demo.private.jwk": "path",
        "/run/secrets/jwt.key": "path",
        str(existing): "path",
        "a-random-secret-without-slashes": "unknown",
        "": "unknown",
    }
    for material, form in cases.items():
        assert key_form(material) == form, material
        assert form in FORMS


def test_fitting_algorithms(keys: KeyRing) -> None:
    assert fitting_algorithms(keys.rsa_private)[0] == "RS256"
    assert fitting_algorithms(keys.es256_private.public_key()) == ("ES256",)
    assert fitting_algorithms(keys.es384_private) == ("ES384",)
    assert fitting_algorithms(ed25519.Ed25519PrivateKey.generate()) == ("EdDSA",)
    assert fitting_algorithms(b"secret") == ()


def test_key_set_lives_in_its_own_module_and_keeps_its_import_paths() -> None:
    import jwt_middleware
    from jwt_middleware._core import keys as _keys
    from jwt_middleware._core import keyset as _keyset

    assert jwt_middleware.KeySet is _keyset.KeySet
    assert jwt_middleware.Key is _keys.Key
    assert jwt_middleware.generate_key is _keys.generate_key
    for module in (_keys, _keyset):
        assert module.__file__ is not None
        assert len(Path(module.__file__).read_text().splitlines()) <= 430
