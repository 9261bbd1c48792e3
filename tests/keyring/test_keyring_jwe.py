"""Encryption keys in the key ring: ``use: enc``, their own kids, rotation with overlap.

The resource decrypts with every unretired encryption key of its ring, issuers encrypt
to the newest active one; a replaced key keeps decrypting until the longest token
lifetime has passed after the switch, and then tokens encrypted to it are refused (and
leave the verified-token cache).
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from jwt_middleware import (
    Config,
    ConfigurationError,
    DecryptionKeys,
    InvalidAlgorithmError,
    Issuer,
    KeyRing,
    KeySet,
    UnknownKeyError,
    Verifier,
    encode,
)
from jwt_middleware.stores import store_from_url

from .test_keyring import ACTIVATE, RETIRE, T0, FakeClock

ISSUER = "https://issuer.test"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ring(tmp_path: Path, clock: FakeClock) -> KeyRing:
    ring = KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=RETIRE)
    ring.rotate(T0, kid="sig-1")
    return ring


def signed(ring: KeyRing, now: float) -> str:
    # Valid for longer than the tests run: only the keys decide.
    claims = {"iss": ISSUER, "sub": "alice", "iat": int(now), "exp": int(now + 10 * RETIRE)}
    return encode(claims, ring.signing_key(now))


def resource(ring: KeyRing, clock: FakeClock) -> Verifier:
    """The resource verifies with the ring's signing keys and decrypts with its
    encryption keys, both followed live."""
    config = Config(keys=ring.key_set(T0), issuer=ISSUER, clock=clock,
                    decryption_keys=ring.decryption)
    return Verifier(config, keys=ring)


def test_encryption_keys_are_published_with_use_enc(ring: KeyRing) -> None:
    enc = ring.rotate_encryption(T0, kid="enc-1")
    assert enc.use == "enc"
    assert enc.key.algorithm == "ECDH-ES"
    published = ring.public_jwks(T0)["keys"]
    assert [(k["kid"], k["use"]) for k in published] == [("enc-1", "enc"), ("sig-1", "sig")]
    assert not any("d" in k for k in published)
    # Verifiers never take an encryption key for a signing key, nor the ring for them.
    assert [k.kid for k in KeySet.from_jwks(ring.public_jwks(T0))] == ["sig-1"]
    assert [k.kid for k in ring.key_set(T0)] == ["sig-1"]
    assert ring.algorithms == frozenset({"ES256"})
    with pytest.raises(UnknownKeyError):
        ring.resolve("enc-1")
    assert ring.signing_key(T0).kid == "sig-1"
    assert ring.encryption_key(T0).kid == "enc-1"


def test_signing_and_encryption_keys_rotate_independently(ring: KeyRing) -> None:
    ring.rotate_encryption(T0, kid="enc-1")
    ring.rotate(T0 + 10, kid="sig-2", activate_after=ACTIVATE)
    assert [(k.kid, k.retires_at) for k in ring.entries(T0 + 10, use="enc")] == [("enc-1", None)]
    ring.rotate_encryption(T0 + 20, kid="enc-2", activate_after=ACTIVATE)
    assert ring.signing_key(T0 + 20).kid == "sig-1"  # sig-2 not active yet either
    retiring = {k.kid: k.retires_at for k in ring.entries(T0 + 20)}
    assert retiring == {"sig-1": T0 + 10 + ACTIVATE + RETIRE, "sig-2": None,
                        "enc-1": T0 + 20 + ACTIVATE + RETIRE, "enc-2": None}


def test_rotation_with_overlap(ring: KeyRing, clock: FakeClock) -> None:
    ring.rotate_encryption(T0, kid="enc-1")
    v = resource(ring, clock)
    old = ring.encryption_key(T0).encrypt(signed(ring, T0))
    assert v.verify(old).subject == "alice"

    clock.now = T0 + 100  # enc-2 published, pending: issuers still encrypt to enc-1
    ring.rotate_encryption(kid="enc-2", activate_after=ACTIVATE)
    assert ring.encryption_key().kid == "enc-1"
    early = ring.decryption_keys().resolve("enc-2").encryption_key().encrypt(signed(ring, T0))
    assert v.verify(early).subject == "alice"  # a pending key already decrypts

    clock.now = T0 + 100 + ACTIVATE  # enc-2 active: the one to encrypt to
    assert ring.encryption_key().kid == "enc-2"
    assert v.verify(old).subject == "alice"  # enc-1 kept: its tokens are still valid

    clock.now = T0 + 100 + ACTIVATE + RETIRE  # enc-1 retired
    fresh = ring.encryption_key().encrypt(signed(ring, clock.now))
    assert v.verify(fresh).subject == "alice"
    with pytest.raises(UnknownKeyError, match="encrypted to an unknown key"):
        v.verify(ring.decryption_keys(T0).resolve("enc-1").encryption_key().encrypt(
            signed(ring, T0)))


def test_a_retired_encryption_key_leaves_the_cache(ring: KeyRing, clock: FakeClock) -> None:
    ring.rotate_encryption(T0, kid="enc-1")
    v = resource(ring, clock)
    inner = encode({"iss": ISSUER, "sub": "alice", "iat": int(T0), "exp": int(T0 + 10 * RETIRE)},
                   ring.signing_key(T0))
    tok = ring.encryption_key(T0).encrypt(inner)
    first = v.verify(tok)
    assert v.verify(tok) is first  # cached
    ring.rotate_encryption(T0 + 1, kid="enc-2", activate_after=0)
    clock.now = T0 + 1 + RETIRE
    with pytest.raises(UnknownKeyError):
        v.verify(tok)  # not answered from the cache once enc-1 retired
    assert v.cached(tok) is None


def test_encryption_keys_persist(ring: KeyRing, tmp_path: Path, clock: FakeClock) -> None:
    ring.rotate_encryption(T0, kid="enc-1", algorithm="RSA-OAEP-256")
    path = tmp_path / "ring" / "enc-1.json"
    data = json.loads(path.read_text())
    assert (data["use"], data["alg"], data["encryptions"]) == ("enc", "RSA-OAEP-256", ["A256GCM"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=RETIRE)
    token = ring.encryption_key(T0).encrypt(signed(ring, T0))
    assert isinstance(again.decryption_keys(T0), DecryptionKeys)
    assert resource(again, clock).verify(token).subject == "alice"


def test_the_issuer_encrypts_to_the_current_key(ring: KeyRing, clock: FakeClock) -> None:
    ring.rotate_encryption(T0, kid="enc-1")
    config = Config(keys=ring.key_set(T0), issuer=ISSUER, clock=clock,
                    store=store_from_url("memory://"), decryption_keys=ring.decryption)
    issuer = Issuer(config, encrypt_to=ring)
    pair = issuer.issue("alice")
    assert pair.access_token.count(".") == 4
    assert pair.refresh_token.count(".") == 4
    ring.rotate_encryption(T0 + 1, kid="enc-2", activate_after=0)
    clock.now = T0 + 1
    renewed = issuer.refresh(pair.refresh_token)  # encrypted to enc-1, still decrypts
    head = renewed.access_token.split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"] == "enc-2"
    assert issuer.verifier.verify(renewed.access_token).subject == "alice"


@pytest.mark.parametrize(
    ("algorithm", "match"),
    [
        ("dir", "not a shared secret"),
        ("RS256", "unsupported key-management algorithm"),
        ("RSA1_5", "unsupported key-management algorithm"),
    ],
)
def test_bad_encryption_rotations_refused(ring: KeyRing, algorithm: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        ring.rotate_encryption(T0, algorithm=algorithm)
    with pytest.raises(ConfigurationError, match="unsupported algorithm"):
        ring.rotate(T0, algorithm="ECDH-ES")  # a signing rotation takes no encryption alg


def test_no_encryption_key_yet(ring: KeyRing, clock: FakeClock) -> None:
    with pytest.raises(ConfigurationError, match="no active encryption key"):
        ring.encryption_key(T0)
    with pytest.raises(ConfigurationError, match="empty"):
        ring.decryption_keys(T0)
    v = resource(ring, clock)  # a live source may start empty: every token is refused
    with pytest.raises(InvalidAlgorithmError):
        v.verify("eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSIsImN0eSI6IkpXVCJ9..AAAAAAAAAAAAAAAA"
                 ".AAAA.AAAAAAAAAAAAAAAAAAAAAA")
