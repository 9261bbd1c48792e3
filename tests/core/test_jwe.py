"""Encrypted tokens (nested JWTs): round trips, interop with jwcrypto, every refusal.

Each refusal named in ``_core/jwe.py`` has a test here, and each asserts the error class
and its fixed description: a regression that let one through, or that let the library's
message (or anything of the token) reach the client, fails by name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from jwt_middleware import (
    DecryptionError,
    DecryptionKey,
    DecryptionKeys,
    EncryptionRequiredError,
    ExpiredTokenError,
    InvalidAlgorithmError,
    InvalidHeaderError,
    InvalidSignatureError,
    MalformedTokenError,
    MultiIssuerVerifier,
    TokenError,
    TokenTooLargeError,
    TrustedIssuer,
    UnknownKeyError,
    Verifier,
    encode,
    generate_key,
)
from jwt_middleware._core.jwe import MAX_HEADER_BYTES

from .helpers import HOUR, NOW, clock
from .jwe_helpers import (
    AUDIENCE,
    BOTH,
    ISSUER,
    PAIRS,
    b64url,
    decryption_key,
    flip,
    header_of,
    inner_token,
    jwcrypto_decrypt,
    jwcrypto_encrypt,
    resource_config,
    signing_key,
    with_header,
)


def verifier(*keys: DecryptionKey, **options: Any) -> Verifier:
    return Verifier(resource_config(keys if len(keys) > 1 else keys[0], **options))


def refused(v: Verifier, token: str, error: type[TokenError], description: str) -> None:
    """``token`` is refused with exactly ``error`` and its fixed ``description``."""
    with pytest.raises(TokenError) as caught:
        v.verify(token)
    assert type(caught.value) is error, type(caught.value).__name__
    assert caught.value.description == description
    assert caught.value.status == 401
    assert caught.value.error == "invalid_token"


def jwcrypto_token(key: DecryptionKey, **header: Any) -> str:
    fields = {"alg": key.algorithm, "enc": "A256GCM", "cty": "JWT", "kid": key.kid}
    fields.update(header)
    return jwcrypto_encrypt(key, inner_token(), {k: v for k, v in fields.items() if v is not None})


# --- round trips and interop ---------------------------------------------------------


@pytest.mark.parametrize(("alg", "enc"), PAIRS)
def test_round_trip(alg: str, enc: str) -> None:
    key = decryption_key(alg)
    token = key.encryption_key(enc).encrypt(inner_token())
    assert token.count(".") == 4
    header = header_of(token)
    assert header.pop("epk", None) is not None or not alg.startswith("ECDH")
    assert header == {"alg": alg, "enc": enc, "cty": "JWT", "kid": key.kid}  # no zip, ever
    principal = verifier(key).verify(token)
    assert principal.subject == "alice"
    assert principal.claims["email"] == "alice@example.com"
    assert principal.roles == frozenset({"reader"})
    assert principal.header["alg"] == "ES256"  # the inner token's header


@pytest.mark.parametrize(("alg", "enc"), PAIRS)
def test_tokens_encrypted_by_jwcrypto_decrypt_here(alg: str, enc: str) -> None:
    key = decryption_key(alg)
    token = jwcrypto_token(key, enc=enc)
    assert verifier(key).verify(token).claims["email"] == "alice@example.com"


@pytest.mark.parametrize(("alg", "enc"), PAIRS)
def test_our_tokens_decrypt_with_jwcrypto(alg: str, enc: str) -> None:
    key = decryption_key(alg)
    inner = inner_token()
    assert jwcrypto_decrypt(key, key.encryption_key(enc).encrypt(inner)) == inner.encode()


@pytest.mark.parametrize("cty", ["JWT", "jwt", "Jwt", "application/jwt", "APPLICATION/JWT"])
def test_cty_is_case_insensitive(cty: str) -> None:
    key = decryption_key("ECDH-ES")
    assert verifier(key).verify(jwcrypto_token(key, cty=cty)).subject == "alice"


def test_the_key_is_chosen_by_kid() -> None:
    ec, rsa = decryption_key("ECDH-ES"), decryption_key("RSA-OAEP-256")
    v = verifier(ec, rsa)
    for key in (ec, rsa):
        assert v.verify(key.encryption_key().encrypt(inner_token())).subject == "alice"


def test_inner_token_gets_every_check() -> None:
    key = decryption_key("dir")
    v = verifier(key)
    expired = inner_token(exp=NOW - 1, iat=NOW - HOUR)
    refused(v, key.encryption_key().encrypt(expired), ExpiredTokenError, "the token has expired")
    impostor = generate_key("ES256", kid="sig-1")  # our kid, another key
    forged = encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": NOW + 60}, impostor)
    refused(v, key.encryption_key().encrypt(forged), InvalidSignatureError,
            "the token signature is invalid")


# --- refusals before any decryption ------------------------------------------------------


def test_zip_deflate_refused_from_jwcrypto() -> None:
    key = decryption_key("ECDH-ES")
    token = jwcrypto_token(key, zip="DEF")
    assert header_of(token)["zip"] == "DEF"  # really compressed, by jwcrypto
    refused(verifier(key), token, InvalidHeaderError, "compressed tokens are not accepted")


@pytest.mark.parametrize("value", ["DEF", "def", "", None, 0, {"alg": "DEF"}])
def test_zip_with_any_value_refused(value: Any) -> None:
    key = decryption_key("dir")
    token = key.encryption_key().encrypt(inner_token())
    tampered = with_header(token, {**header_of(token), "zip": value})
    refused(verifier(key), tampered, InvalidHeaderError, "compressed tokens are not accepted")


def test_algorithm_not_pinned_for_the_key_refused() -> None:
    # The same EC key, but the token says ECDH-ES+A256KW: the key is pinned to ECDH-ES.
    direct = decryption_key("ECDH-ES", kid="k")
    wrapped = DecryptionKey("ECDH-ES+A256KW", _ec_private(direct), kid="k")
    token = wrapped.encryption_key().encrypt(inner_token())
    refused(verifier(direct), token, InvalidAlgorithmError,
            "the token encryption algorithm is not allowed")
    # In a set where ECDH-ES+A256KW is allowed for another key, the chosen key says no.
    other = decryption_key("ECDH-ES+A256KW", kid="other")
    refused(verifier(direct, other), token, InvalidAlgorithmError,
            "the token encryption algorithm does not match its key")


def _ec_private(key: DecryptionKey) -> Any:
    return key._obj


@pytest.mark.parametrize("alg", ["RSA1_5", "A128KW", "A256KW", "RSA-OAEP", "none", "dir "])
def test_algorithms_never_accepted(alg: str) -> None:
    key = decryption_key("dir")
    token = with_header(key.encryption_key().encrypt(inner_token()), {
        "alg": alg, "enc": "A256GCM", "cty": "JWT", "kid": key.kid
    })
    refused(verifier(key), token, InvalidAlgorithmError,
            "the token encryption algorithm is not allowed")


def test_pbes2_with_a_huge_count_is_refused_before_any_work() -> None:
    key = decryption_key("RSA-OAEP-256")
    token = jwcrypto_token(key)
    bomb = with_header(token, {"alg": "PBES2-HS256+A128KW", "p2c": 2**31, "p2s": "c2FsdA",
                               "enc": "A256GCM", "cty": "JWT"})
    refused(verifier(key), bomb, InvalidAlgorithmError,
            "the token encryption algorithm is not allowed")


def test_content_encryption_not_accepted_by_the_key_refused() -> None:
    strict = DecryptionKey("ECDH-ES", _ec_private(decryption_key("ECDH-ES")), kid="gcm-only")
    assert strict.encryptions == ("A256GCM",)
    token = jwcrypto_token(strict, enc="A128CBC-HS256")
    refused(verifier(strict), token, InvalidAlgorithmError,
            "the token content encryption is not allowed")
    # Allowed for another key of the set, still not for this one.
    other = decryption_key("RSA-OAEP-256")
    refused(verifier(strict, other), token, InvalidAlgorithmError,
            "the token content encryption is not allowed")
    refused(verifier(strict), jwcrypto_token(strict, enc="A192GCM"), InvalidAlgorithmError,
            "the token content encryption is not allowed")


def test_dir_with_the_wrong_key_refused() -> None:
    ours = decryption_key("dir", kid="one-secret")
    theirs = DecryptionKey.generate("dir", kid="one-secret")
    token = theirs.encryption_key().encrypt(inner_token())
    refused(verifier(ours), token, DecryptionError, "the token could not be decrypted")


def test_oversize_token_refused_before_parsing() -> None:
    key = decryption_key("dir")
    token = key.encryption_key().encrypt(inner_token(pad="x" * 5000))
    assert len(token) > 8192
    refused(verifier(key), token, TokenTooLargeError, "the token is too large")
    assert verifier(key, max_token_bytes=16384).verify(token).subject == "alice"


def test_oversize_header_refused_before_parsing() -> None:
    key = decryption_key("dir")
    token = key.encryption_key().encrypt(inner_token())
    big = with_header(token, {**header_of(token), "x": "y" * MAX_HEADER_BYTES})
    refused(verifier(key), big, TokenTooLargeError, "the token is too large")


@pytest.mark.parametrize("cty", [None, "JWS", "json", "application/jose", 1, ["JWT"]])
def test_missing_or_wrong_cty_refused(cty: Any) -> None:
    key = decryption_key("ECDH-ES")
    token = jwcrypto_token(key)  # refused before decryption: the header alone decides
    header = {k: v for k, v in header_of(token).items() if k != "cty"}
    token = with_header(token, header if cty is None else {**header, "cty": cty})
    refused(verifier(key), token, InvalidHeaderError,
            "the encrypted token does not hold a JWT (cty)")


def test_plain_jws_refused_where_encryption_is_required() -> None:
    v = verifier(decryption_key("dir"))
    refused(v, inner_token(), EncryptionRequiredError, "an encrypted token is required")
    refused(v, inner_token(), EncryptionRequiredError, "an encrypted token is required")
    assert v.cache is not None
    assert len(v.cache) == 0


def test_plain_jws_accepted_only_with_require_encryption_off() -> None:
    key = decryption_key("dir")
    v = verifier(key, require_encryption=False)
    assert v.verify(inner_token()).subject == "alice"
    assert v.verify(key.encryption_key().encrypt(inner_token())).subject == "alice"


@pytest.mark.parametrize("member", ["jku", "x5u"])
def test_key_urls_refused(member: str) -> None:
    key = decryption_key("RSA-OAEP-256")
    token = jwcrypto_token(key, **{member: "https://attacker.test/keys"})
    refused(verifier(key), token, InvalidHeaderError,
            "the token names a key URL; keys are never fetched")


def test_crit_refused() -> None:
    key = decryption_key("dir")
    token = key.encryption_key().encrypt(inner_token())
    crit = with_header(token, {**header_of(token), "crit": ["exp"], "exp": 1})
    refused(verifier(key), crit, InvalidHeaderError,
            "the token uses a JWE extension that is not supported")


def test_unknown_kid_refused() -> None:
    mine, stranger = decryption_key("ECDH-ES", kid="mine"), decryption_key("ECDH-ES", kid="x")
    other = decryption_key("RSA-OAEP-256")
    token = stranger.encryption_key().encrypt(inner_token())
    refused(verifier(mine, other), token, UnknownKeyError,
            "the token was encrypted to an unknown key")
    no_kid = with_header(token, {k: v for k, v in header_of(token).items() if k != "kid"})
    refused(verifier(mine, other), no_kid, UnknownKeyError,
            "the token was encrypted to an unknown key")


@pytest.mark.parametrize("kid", [None, 7, ["a"], "k" * 257])
def test_bad_kid_refused(kid: Any) -> None:
    key = decryption_key("dir")
    token = key.encryption_key().encrypt(inner_token())
    refused(verifier(key), with_header(token, {**header_of(token), "kid": kid}),
            InvalidHeaderError, "the kid header must be a short string")


# --- refusals by the decryption itself ----------------------------------------------------


@pytest.mark.parametrize(("alg", "enc"), PAIRS)
@pytest.mark.parametrize("segment", [1, 2, 3, 4], ids=["encrypted-key", "iv", "ciphertext",
                                                      "tag"])
def test_tampered_segment_refused(alg: str, enc: str, segment: int) -> None:
    key = decryption_key(alg)
    token = key.encryption_key(enc).encrypt(inner_token())
    if not token.split(".")[segment]:  # dir and ECDH-ES carry no encrypted key
        refused(verifier(key), token.replace("..", ".AAAA.", 1), MalformedTokenError,
                "the token is malformed")
        return
    refused(verifier(key), flip(token, segment), DecryptionError,
            "the token could not be decrypted")


@pytest.mark.parametrize(("alg", "enc"), PAIRS)
def test_tampered_header_refused(alg: str, enc: str) -> None:
    # The protected header is the AAD: one changed member and the tag no longer matches.
    key = decryption_key(alg)
    token = key.encryption_key(enc).encrypt(inner_token())
    tampered = with_header(token, {**header_of(token), "typ": "JWT"})
    refused(verifier(key), tampered, DecryptionError, "the token could not be decrypted")


@pytest.mark.parametrize(("iv", "tag"), [(11, 16), (16, 16), (12, 15), (12, 32), (0, 16)])
def test_wrong_iv_or_tag_length_refused(iv: int, tag: int) -> None:
    key = decryption_key("dir")
    head, _, _, ciphertext, _ = key.encryption_key().encrypt(inner_token()).split(".")
    token = ".".join([head, "", b64url(b"\0" * iv), ciphertext, b64url(b"\0" * tag)])
    refused(verifier(key), token, MalformedTokenError, "the token is malformed")


def test_plaintext_must_be_a_jws() -> None:
    key = decryption_key("dir")
    v = verifier(key)
    for plaintext in ("hello", "a.b", key.encryption_key().encrypt(inner_token()), "...."):
        token = jwcrypto_encrypt(key, plaintext, {"alg": "dir", "enc": "A256GCM", "cty": "JWT"})
        refused(v, token, MalformedTokenError, "the token is malformed")


def test_no_fallback_to_plain_when_decryption_fails() -> None:
    # A valid inner token put in the ciphertext's place: never read as a plain token.
    key = decryption_key("dir")
    v = verifier(key, require_encryption=False)
    head, ek, iv, _, tag = key.encryption_key().encrypt(inner_token()).split(".")
    smuggled = ".".join([head, ek, iv, b64url(inner_token().encode()), tag])
    refused(v, smuggled, DecryptionError, "the token could not be decrypted")


def test_five_segments_without_decryption_keys_are_malformed() -> None:
    key = decryption_key("dir")
    token = key.encryption_key().encrypt(inner_token())
    v = Verifier(resource_config(()))
    refused(v, token, MalformedTokenError, "the token is malformed")


# --- the cache ------------------------------------------------------------------------


def test_cache_hit_skips_decryption(monkeypatch: pytest.MonkeyPatch) -> None:
    key = decryption_key("RSA-OAEP-256")
    v = verifier(key)
    calls: list[bytes] = []
    real = DecryptionKey.decrypt

    def counting(self: DecryptionKey, token: bytes) -> bytes:
        calls.append(token)
        return real(self, token)

    monkeypatch.setattr(DecryptionKey, "decrypt", counting)
    inner = inner_token()
    first = key.encryption_key().encrypt(inner)
    second = key.encryption_key().encrypt(inner)  # same inner token, another JWE
    assert first != second
    p1 = v.verify(first)
    assert v.verify(first) is p1
    assert len(calls) == 1
    assert v.verify(second).subject == "alice"
    assert len(calls) == 2
    assert v.cached(first) is p1
    refused(v, flip(first, 4), DecryptionError, "the token could not be decrypted")


def test_averify_decrypts_and_caches() -> None:
    key = decryption_key("ECDH-ES+A256KW")
    v = verifier(key)
    token = key.encryption_key().encrypt(inner_token())
    principal = asyncio.run(v.averify(token))
    assert asyncio.run(v.averify(token)) is principal
    with pytest.raises(EncryptionRequiredError):
        asyncio.run(v.averify(inner_token()))


# --- garbage, messages, logs, imports -----------------------------------------------------


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
_FUZZ: dict[str, Any] = {}  # the verifier and token, made once for every example


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_garbage_raises_only_our_errors(data: st.DataObject) -> None:
    key = decryption_key("ECDH-ES")
    v = _FUZZ.setdefault("v", verifier(key))
    token = _FUZZ.setdefault("t", key.encryption_key().encrypt(inner_token()))
    assert isinstance(token, str)
    chars = list(token)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(chars) - 1))
        chars[at] = data.draw(st.sampled_from(_ALPHABET + "\x00é{}\""))
    mutated = "".join(chars)
    try:
        v.verify(mutated)
    except TokenError:
        return
    assert mutated == token or v.verify(mutated).subject == "alice"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET[:-2], max_size=80), min_size=5, max_size=5))
def test_random_five_segments_raise_only_our_errors(parts: list[str]) -> None:
    v = _FUZZ.setdefault("v2", verifier(decryption_key("dir")))
    with pytest.raises(TokenError):
        v.verify(".".join(parts))


def test_messages_and_logs_hold_nothing_of_the_token(caplog: pytest.LogCaptureFixture) -> None:
    key = decryption_key("RSA-OAEP-256")
    v = verifier(key)
    inner = inner_token()
    good = key.encryption_key().encrypt(inner)
    bad = [flip(good, 3), flip(good, 1), jwcrypto_token(key, zip="DEF"), inner,
           with_header(good, {**header_of(good), "kid": "nope"})]
    caplog.set_level(logging.DEBUG)
    for token in bad:
        with pytest.raises(TokenError) as caught:
            v.verify(token)
        shown = json.dumps([str(caught.value), caught.value.description, caught.value.body()])
        for secret in ("alice", key.private_jwk()["d"], inner.split(".")[1][:20],
                       token.split(".")[-2][:16]):
            assert secret not in shown
        # No library exception rides along (a traceback in a log would show its message).
        error = caught.value
        assert error.__cause__ is None
        assert (error.__context__ is None or error.__suppress_context__)
    assert not [r for r in caplog.records if "alice" in r.getMessage()]


def test_importing_the_package_loads_no_jwe_library() -> None:
    code = (
        "import sys, jwt_middleware\n"
        "print(','.join(m for m in ('joserfc', 'jwcrypto') if m in sys.modules))\n"
        "jwt_middleware.DecryptionKey.generate('dir')\n"
        "print(','.join(m for m in ('joserfc', 'jwcrypto') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["", "joserfc"]


def test_decryption_keys_publish_their_public_half() -> None:
    keys = DecryptionKeys([decryption_key("ECDH-ES"), decryption_key("RSA-OAEP-256"),
                           decryption_key("dir")])
    published = keys.public_jwks()["keys"]
    assert [(k["kty"], k["use"], k["alg"]) for k in published] == [
        ("EC", "enc", "ECDH-ES"), ("RSA", "enc", "RSA-OAEP-256")
    ]
    assert not any("d" in k or "k" in k for k in published)
    assert set(BOTH) == keys.encryptions


def test_multi_issuer_verifier_fails_closed_with_decryption_keys() -> None:
    # It reads ``iss`` before verifying, which an encrypted token hides: not supported
    # yet, and never a way around the requirement (a plain token is still refused).
    key = decryption_key("dir")
    multi = MultiIssuerVerifier(
        [TrustedIssuer(ISSUER, signing_key(), audience=AUDIENCE)],
        decryption_keys=key, clock=clock,
    )
    with pytest.raises(EncryptionRequiredError):
        multi.verify(inner_token())
    with pytest.raises(MalformedTokenError):
        multi.verify(key.encryption_key().encrypt(inner_token()))


@pytest.mark.parametrize("alg", ["ECDH-ES", "ECDH-ES+A256KW"])
def test_ephemeral_key_replaced_or_off_the_curve_refused(alg: str) -> None:
    # Another sender's key, a key on another curve (the invalid-curve attack), a point on
    # no curve, a broken or missing epk: one fixed refusal, never an exception of ours.
    key = decryption_key(alg)
    token = key.encryption_key().encrypt(inner_token())
    header = header_of(token)
    other = DecryptionKey.generate(alg).public_jwk()  # P-256 too, but not the sender's
    p384 = DecryptionKey(alg, ec.generate_private_key(ec.SECP384R1())).public_jwk()
    off_curve = {**header["epk"], "y": header["epk"]["x"]}
    for epk in (other, p384, off_curve, {"kty": "EC", "crv": "P-256"}, "key", None):
        tampered = with_header(token, {**header, "epk": epk})
        refused(verifier(key), tampered, DecryptionError, "the token could not be decrypted")
