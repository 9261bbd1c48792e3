"""The key ring: rotation phases, persistence, several processes on one directory."""

from __future__ import annotations

import inspect
import json
import math
import os
import stat
import threading
from pathlib import Path

import pytest

from jwt_middleware import (
    Config,
    ConfigurationError,
    ExpiredTokenError,
    Issuer,
    KeyRing,
    UnknownKeyError,
    Verifier,
    encode,
)
from jwt_middleware._keysources.keyring import DEFAULT_MAX_TOKEN_LIFETIME, RingKey
from jwt_middleware.stores import store_from_url

T0 = 1_700_000_000.0
ACTIVATE = 600.0
RETIRE = 3600.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ring(tmp_path: Path, clock: FakeClock) -> KeyRing:
    # The tokens these tests sign live at most RETIRE seconds (except where said).
    return KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=RETIRE)


def kids(ring: KeyRing, now: float) -> list[str]:
    return [k["kid"] for k in ring.public_jwks(now)["keys"]]


def token(ring: KeyRing, now: float, ttl: float = 300) -> str:
    claims = {"sub": "alice", "iat": int(now), "exp": int(now + ttl)}
    return encode(claims, ring.signing_key(now))


def verify(ring: KeyRing, clock: FakeClock, tok: str) -> str | None:
    config = Config(keys=ring.key_set(clock.now), clock=clock)
    return Verifier(config).verify(tok).subject


def test_an_empty_ring_has_no_signing_key(ring: KeyRing) -> None:
    assert ring.public_jwks(T0) == {"keys": []}
    assert ring.entries() == []
    with pytest.raises(ConfigurationError, match="no active key"):
        ring.signing_key(T0)


def test_the_first_key_signs_at_once(ring: KeyRing) -> None:
    first = ring.rotate(T0, activate_after=ACTIVATE, retire_after=RETIRE)
    assert first.activates_at == T0
    assert ring.signing_key(T0).kid == first.kid
    assert kids(ring, T0) == [first.kid]
    assert first.key.algorithm == "ES256"


def test_rotation_lifecycle(ring: KeyRing, clock: FakeClock) -> None:
    old = ring.rotate(T0, activate_after=ACTIVATE, retire_after=RETIRE)
    t1 = T0 + 1000
    clock.now = t1
    before = token(ring, t1)  # signed with the old key, before the rotation
    long_lived = token(ring, t1, ttl=10 * RETIRE)  # outlives its key (a misconfiguration)
    new = ring.rotate(t1, activate_after=ACTIVATE, retire_after=RETIRE)

    # Phase 1, pending: published first, old key still signs.
    assert new.state(t1) == "pending"
    assert kids(ring, t1) == [new.kid, old.kid]
    assert ring.signing_key(t1).kid == old.kid
    assert [k.kid for k in ring.key_set(t1)] == [old.kid, new.kid]
    assert verify(ring, clock, before) == "alice"

    # Phase 2, active: the new key signs; the old one still verifies.
    switch = t1 + ACTIVATE
    clock.now = switch
    assert ring.signing_key(switch).kid == new.kid
    assert [k.kid for k in ring.key_set(switch)] == [new.kid, old.kid]
    assert kids(ring, switch) == [new.kid, old.kid]
    after = token(ring, switch)
    assert verify(ring, clock, after) == "alice"
    assert verify(ring, clock, long_lived) == "alice"
    entry = {e.kid: e for e in ring.entries(switch)}[old.kid]
    assert entry.retires_at == switch + RETIRE

    # A token the old key signed expires long before the key retires.
    clock.now = switch + RETIRE - 1
    assert verify(ring, clock, long_lived) == "alice"
    with pytest.raises(ExpiredTokenError):
        verify(ring, clock, before)

    # Phase 3, retired: unpublished; its tokens no longer verify.
    clock.now = switch + RETIRE
    assert kids(ring, clock.now) == [new.kid]
    assert ring.signing_key(clock.now).kid == new.kid
    with pytest.raises(UnknownKeyError):
        verify(ring, clock, long_lived)


def test_rotation_removes_retired_key_files(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "ring", max_token_lifetime=10)
    old = ring.rotate(T0, activate_after=0, retire_after=10)
    ring.rotate(T0 + 1, activate_after=0, retire_after=10)
    assert (ring.directory / f"{old.kid}.json").exists()
    ring.rotate(T0 + 100, activate_after=0, retire_after=10)
    assert not (ring.directory / f"{old.kid}.json").exists()
    assert len(ring.entries(T0 + 100)) == 2


def test_two_pending_rotations_chain(ring: KeyRing) -> None:
    a = ring.rotate(T0, activate_after=ACTIVATE, retire_after=RETIRE)
    b = ring.rotate(T0 + 10, activate_after=ACTIVATE, retire_after=RETIRE)
    c = ring.rotate(T0 + 20, activate_after=ACTIVATE, retire_after=RETIRE)
    assert ring.signing_key(T0 + 10 + ACTIVATE).kid == b.kid
    assert ring.signing_key(T0 + 20 + ACTIVATE).kid == c.kid
    schedule = {e.kid: e.retires_at for e in ring.entries(T0 + 20)}
    assert schedule == {
        a.kid: T0 + 10 + ACTIVATE + RETIRE,
        b.kid: T0 + 20 + ACTIVATE + RETIRE,
        c.kid: None,
    }


def test_persistence_and_file_format(ring: KeyRing, tmp_path: Path) -> None:
    entry = ring.rotate(T0, kid="key-1", algorithm="EdDSA")
    path = tmp_path / "ring" / "key-1.json"
    data = json.loads(path.read_text())
    assert data["kid"] == "key-1"
    assert data["alg"] == "EdDSA"
    assert data["created_at"] == data["activates_at"] == T0
    assert data["retires_at"] is None
    assert data["seq"] == 1
    assert "d" in data["jwk"]  # the private JWK
    again = KeyRing.load(tmp_path / "ring")
    assert again.signing_key(T0).public_jwk() == entry.key.public_jwk()


def test_file_modes(ring: KeyRing) -> None:
    ring.rotate(T0)
    ring.rotate(T0 + 1)
    assert stat.S_IMODE(ring.directory.stat().st_mode) == 0o700
    files = list(ring.directory.glob("*.json"))
    assert len(files) == 2
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_two_instances_agree(tmp_path: Path, clock: FakeClock) -> None:
    a = KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=RETIRE)
    b = KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=RETIRE)
    first = a.rotate(activate_after=ACTIVATE, retire_after=RETIRE)
    assert b.entries() == []  # not seen until refreshed
    assert b.refresh().signing_key().kid == first.kid
    clock.now += 100
    # b rotates on the directory: it re-reads under the lock, so a's key gets retired too.
    second = b.rotate(activate_after=ACTIVATE, retire_after=RETIRE)
    a.refresh()
    for now in (clock.now, clock.now + ACTIVATE, clock.now + ACTIVATE + RETIRE):
        assert a.public_jwks(now) == b.public_jwks(now)
        assert a.signing_key(now).kid == b.signing_key(now).kid
    assert a.signing_key(clock.now + ACTIVATE).kid == second.kid


def test_concurrent_rotations_are_serialised(tmp_path: Path, clock: FakeClock) -> None:
    KeyRing.load(tmp_path / "ring", clock=clock).rotate()
    rings = [KeyRing.load(tmp_path / "ring", clock=clock) for _ in range(4)]
    threads = [
        threading.Thread(target=r.rotate, kwargs={"activate_after": ACTIVATE}) for r in rings
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = KeyRing.load(tmp_path / "ring", clock=clock)
    entries = final.entries()
    assert len(entries) == 5
    # Every key but the newest was superseded: each rotation saw all the others.
    assert [e.retires_at is None for e in entries].count(True) == 1
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[-1].retires_at is None
    assert final.signing_key(clock.now + ACTIVATE).kid == entries[-1].kid


def test_writes_are_atomic(ring: KeyRing, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ring.rotate(T0)
    path = ring.directory / f"{first.kid}.json"
    before = path.read_bytes()

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space"):
        ring.rotate(T0 + 1)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert {p.name for p in ring.directory.iterdir()} == {".lock", path.name}
    assert KeyRing.load(ring.directory).signing_key(T0 + 1).kid == first.kid


def test_leftover_temporary_files_are_ignored(ring: KeyRing) -> None:
    ring.rotate(T0)
    (ring.directory / ".tmp-abc.part").write_text("{")
    (ring.directory / ".hidden.json").write_text("{")
    assert len(ring.refresh().entries(T0)) == 1


def test_a_corrupt_file_is_a_configuration_error(ring: KeyRing) -> None:
    ring.rotate(T0)
    (ring.directory / "bad.json").write_text("not json")
    with pytest.raises(ConfigurationError, match=r"bad\.json"):
        ring.refresh()
    (ring.directory / "bad.json").write_text('{"jwk": {"kty": "EC"}}')
    with pytest.raises(ConfigurationError, match="not a ring key"):
        ring.refresh()


def test_public_only_keys_are_refused(ring: KeyRing) -> None:
    entry = ring.rotate(T0)
    data = json.loads((ring.directory / f"{entry.kid}.json").read_text())
    data["jwk"] = entry.key.public_jwk()
    with pytest.raises(ConfigurationError, match="private key"):
        RingKey.from_json(data, "x.json")


def test_hmac_and_bad_options_are_refused(ring: KeyRing) -> None:
    with pytest.raises(ConfigurationError, match="asymmetric"):
        ring.rotate(T0, algorithm="HS256")
    with pytest.raises(ConfigurationError, match="activate_after"):
        ring.rotate(T0, activate_after=-1)
    with pytest.raises(ConfigurationError, match="key id"):
        ring.rotate(T0, kid="../escape")


def test_the_ring_is_a_key_resolver(ring: KeyRing, clock: FakeClock) -> None:
    ring.rotate(activate_after=0)
    tok = token(ring, clock.now)
    config = Config(keys=ring.key_set(), clock=clock)
    assert Verifier(config, keys=ring).verify(tok).subject == "alice"
    with pytest.raises(UnknownKeyError):
        ring.resolve("nope")


def test_the_issuer_signs_with_the_active_key(ring: KeyRing, clock: FakeClock) -> None:
    old = ring.rotate(activate_after=ACTIVATE)
    new = ring.rotate(activate_after=ACTIVATE)

    def issuer() -> Issuer:
        config = Config(
            keys=ring.key_set(), issuer="https://issuer.test", store="memory://", clock=clock
        )
        return Issuer(config)

    assert issuer().key.kid == old.kid
    clock.now += ACTIVATE
    fresh = issuer()
    assert fresh.key.kid == new.kid
    pair = fresh.issue("alice")
    assert fresh.verifier.verify(pair.access_token).header["kid"] == new.kid


# --- retirement waits for the longest token lifetime (issue 8) ----------------------


def test_default_max_token_lifetime_is_the_issuers_default_refresh_ttl() -> None:
    default = inspect.signature(Issuer).parameters["refresh_ttl"].default
    assert DEFAULT_MAX_TOKEN_LIFETIME == default == 14 * 86400
    assert KeyRing("unused").max_token_lifetime == default


def test_regression_defaults_keep_old_refresh_tokens_valid_until_they_expire(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Issue 8: with every default, a rotation used to retire the old key a day after
    the switch, so the refresh tokens it signed (14 days) stopped verifying 13 days early."""
    ring = KeyRing.load(tmp_path / "ring", clock=clock)  # every default
    ring.rotate()
    store = store_from_url("memory://")

    def issuer() -> Issuer:  # as an app builds it: the ring's key set, Issuer defaults
        config = Config(keys=ring.key_set(), issuer="https://issuer.test", store=store, clock=clock)
        return Issuer(config)

    new = ring.rotate()  # every default: activate_after 1 h, retire_after not given
    clock.now = new.activates_at - 1  # the old key's last second of signing
    old_issuer = issuer()
    assert old_issuer.key.kid != new.kid
    pair = old_issuer.issue("alice")
    expires = clock.now + old_issuer.refresh_ttl

    # The old key stays published, and its refresh token renews, up to its own expiry.
    clock.now = expires - 1
    assert old_issuer.refresh_ttl == 14 * 86400
    assert old_issuer.key.kid in kids(ring, clock.now)
    renewed = issuer().refresh(pair.refresh_token)
    assert issuer().verifier.verify(renewed.access_token).header["kid"] == new.kid
    # Only after every token it signed has expired does the old key go.
    retires_at = {e.kid: e.retires_at for e in ring.entries(clock.now)}[old_issuer.key.kid]
    assert retires_at == new.activates_at + DEFAULT_MAX_TOKEN_LIFETIME >= expires
    assert kids(ring, retires_at) == [new.kid]


def test_a_retire_after_below_the_longest_lifetime_is_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    ring = KeyRing.load(tmp_path / "ring", clock=clock)
    first = ring.rotate()
    before = sorted(p.name for p in ring.directory.iterdir())
    with pytest.raises(ConfigurationError) as refused:
        ring.rotate(retire_after=86400)
    message = str(refused.value)
    assert "86400 s" in message
    assert "1209600 s" in message
    assert "max_token_lifetime" in message
    assert "retire_after=1209600 or more" in message
    assert "\n" not in message
    assert sorted(p.name for p in ring.directory.iterdir()) == before  # nothing written
    assert ring.entries()[-1].retires_at is None
    with pytest.raises(ConfigurationError, match="finite"):
        ring.rotate(retire_after=math.inf)
    # Longer is allowed; a ring told its tokens live less may retire sooner.
    ring.rotate(retire_after=30 * 86400)
    assert ring.entries()[0].kid == first.kid
    short = KeyRing.load(tmp_path / "short", clock=clock, max_token_lifetime=RETIRE)
    short.rotate()
    short.rotate(activate_after=0)
    assert short.entries()[0].retires_at == clock.now + RETIRE
    with pytest.raises(ConfigurationError, match="shorter than the longest token lifetime"):
        short.rotate(retire_after=RETIRE - 1)


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf])
def test_max_token_lifetime_must_be_positive(tmp_path: Path, bad: float) -> None:
    with pytest.raises(ConfigurationError, match="max_token_lifetime"):
        KeyRing(tmp_path, max_token_lifetime=bad)
    with pytest.raises(ConfigurationError, match="max_token_lifetime"):
        KeyRing.load(tmp_path, max_token_lifetime=bad)
