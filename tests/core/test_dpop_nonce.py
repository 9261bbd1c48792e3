"""DPoP server nonces (RFC 9449 sections 8 and 9): required, stale, the previous one
accepted, rotation across periods, and several processes agreeing without a store."""

from __future__ import annotations

import time

import pytest

from jwt_middleware import (
    ConfigurationError,
    DPoPNonces,
    DPoPVerifier,
    InvalidDPoPProofError,
    UseDPoPNonceError,
)

from .dpop_support import TOKEN, URL, dpop_key, proof

SECRET = b"n" * 32


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


def verifier_with(nonces: DPoPNonces, clock: Clock) -> DPoPVerifier:
    return DPoPVerifier(nonces=nonces, clock=clock, iat_window=3600)


def check(verifier: DPoPVerifier, nonce: object) -> str | None:
    claims = {} if nonce is None else {"nonce": nonce}
    value = proof(dpop_key(), claims=claims, now=verifier._clock())
    return verifier.check(value, method="GET", url=URL, access_token=TOKEN).nonce


def test_a_nonce_is_required_when_nonces_are_on(clock: Clock) -> None:
    nonces = DPoPNonces(SECRET, period=60, clock=clock)
    with pytest.raises(UseDPoPNonceError) as info:
        check(verifier_with(nonces, clock), None)
    error = info.value
    assert isinstance(error, InvalidDPoPProofError)
    assert (error.status, error.error, error.reason) == (401, "use_dpop_nonce", "use_dpop_nonce")
    assert error.nonce == nonces.current()
    assert ("dpop-nonce", nonces.current()) in error.headers()
    assert error.www_authenticate().startswith('DPoP error="use_dpop_nonce"')


def test_the_current_nonce_is_accepted(clock: Clock) -> None:
    nonces = DPoPNonces(SECRET, period=60, clock=clock)
    assert check(verifier_with(nonces, clock), nonces.current()) == nonces.current()


def test_the_previous_periods_nonce_is_accepted(clock: Clock) -> None:
    nonces = DPoPNonces(SECRET, period=60, clock=clock)
    issued = nonces.current()
    clock.now += 60
    assert nonces.current() != issued
    assert check(verifier_with(nonces, clock), issued) == issued


def test_a_stale_nonce_is_refused_with_a_fresh_one(clock: Clock) -> None:
    nonces = DPoPNonces(SECRET, period=60, clock=clock)
    issued = nonces.current()
    clock.now += 120  # two periods on: neither current nor previous
    with pytest.raises(UseDPoPNonceError) as info:
        check(verifier_with(nonces, clock), issued)
    assert info.value.nonce == nonces.current() != issued


@pytest.mark.parametrize("nonce", ["", "x" * 22, 22, ["a"], "é" * 22, "\ud800" * 22])
def test_a_nonce_that_is_not_ours_is_refused(clock: Clock, nonce: object) -> None:
    nonces = DPoPNonces(SECRET, period=60, clock=clock)
    with pytest.raises(UseDPoPNonceError):
        check(verifier_with(nonces, clock), nonce)


def test_nonces_rotate_period_by_period(clock: Clock) -> None:
    nonces = DPoPNonces(SECRET, period=10, clock=clock)
    clock.now = 1_000_000_000.0
    seen = []
    for _ in range(5):
        seen.append(nonces.current())
        assert nonces.valid(seen[-1])
        if len(seen) > 1:
            assert nonces.valid(seen[-2])
        if len(seen) > 2:
            assert not nonces.valid(seen[-3])
        clock.now += 10
    assert len(set(seen)) == 5
    clock.now = 1_000_000_009.999  # back in the first period: its nonce again
    assert nonces.current() == seen[0]


def test_processes_with_the_same_secret_agree_without_a_store(clock: Clock) -> None:
    one = DPoPNonces(SECRET, period=60, clock=clock)
    two = DPoPNonces(bytes(SECRET), period=60, clock=clock)
    other = DPoPNonces(b"o" * 32, period=60, clock=clock)
    assert one.current() == two.current()
    assert two.valid(one.current())
    assert not other.valid(one.current())


def test_a_refused_nonce_does_not_use_up_the_proof_jti(clock: Clock) -> None:
    nonces = DPoPNonces(SECRET, period=60, clock=clock)
    verifier = verifier_with(nonces, clock)
    key = dpop_key()
    with pytest.raises(UseDPoPNonceError) as info:
        verifier.check(proof(key, claims={"jti": "retry"}), method="GET", url=URL,
                       access_token=TOKEN)
    retried = proof(key, claims={"jti": "retry", "nonce": info.value.nonce})
    assert verifier.check(retried, method="GET", url=URL, access_token=TOKEN).jti == "retry"


def test_a_nonce_reveals_nothing_of_the_secret() -> None:
    nonces = DPoPNonces(SECRET)
    assert SECRET.decode() not in repr(nonces)
    assert len(nonces.current()) == 22


@pytest.mark.parametrize("secret", [b"", b"short", "x" * 40])
def test_a_weak_secret_is_refused(secret: object) -> None:
    with pytest.raises(ConfigurationError, match="32 random bytes"):
        DPoPNonces(secret)  # type: ignore[arg-type]


@pytest.mark.parametrize("period", [0, -5, 0.5, float("nan"), True, "60"])
def test_a_bad_period_is_refused(period: object) -> None:
    with pytest.raises(ConfigurationError, match="period"):
        DPoPNonces(SECRET, period=period)  # type: ignore[arg-type]
