"""Signing keys on a schedule: when a rotation is due, one rotation however many processes
check a shared ring at once, and the in-process scheduler. Every clock is injected: the
rings run on a fixed or hand-moved time, and nothing waits for a time to pass.

The race: several separate Python processes (``spawn``) load the same ring directory at
the same due instant, meet at a barrier, and check at once; exactly one rotates. That is
done for one check each (``RotationScheduler.check``), for schedulers running in their
threads, over several rounds, and for the command line (``jwks rotate --if-due``).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import ConfigurationError, KeyRing, RotationScheduler, TokenPolicy
from tests.policy.conftest import Clock

DAY = 86400
PERIOD = 30 * DAY
ACTIVATE = 3600.0
LIFETIME = 14 * DAY
PROCESSES = 4


def load(directory: Path, clock: Any) -> KeyRing:
    return KeyRing.load(directory, clock=clock, max_token_lifetime=LIFETIME)


def signing_kids(directory: Path, clock: Any) -> list[str]:
    return [k.kid for k in load(directory, clock).entries(use="sig")]


# --- when it is due ---------------------------------------------------------------------


def test_rotation_is_due_the_activation_delay_before_the_key_reaches_the_period(
    tmp_path: Path, clock: Clock
) -> None:
    ring = load(tmp_path / "ring", clock)
    assert ring.rotation_due(period=PERIOD)  # an empty ring needs its first key
    first = ring.rotate()
    assert first.activates_at == clock.now  # the first key signs at once
    assert not ring.rotation_due(period=PERIOD)
    due = first.activates_at + PERIOD - ACTIVATE
    assert not ring.rotation_due(due - 1, period=PERIOD)
    assert ring.rotation_due(due, period=PERIOD)
    clock.now = due
    second = ring.rotate_if_due(period=PERIOD)
    assert second is not None
    assert second.activates_at == first.activates_at + PERIOD
    # The successor takes over exactly when the first key has signed for the period.
    assert ring.signing_key(first.activates_at + PERIOD).kid == second.kid
    assert ring.signing_key(first.activates_at + PERIOD - 1).kid == first.kid
    # While it is pending, nothing is due, however late one looks.
    assert not ring.rotation_due(second.activates_at - 1, period=PERIOD)
    assert ring.rotate_if_due(second.activates_at - 1, period=PERIOD) is None
    assert ring.rotation_due(second.activates_at + PERIOD - ACTIVATE, period=PERIOD)


def test_rotation_due_refuses_a_period_not_longer_than_the_activation_delay(
    tmp_path: Path, clock: Clock
) -> None:
    ring = load(tmp_path / "ring", clock)
    with pytest.raises(ConfigurationError, match="must be longer than activate_after"):
        ring.rotation_due(period=3600)
    with pytest.raises(ConfigurationError, match="must be longer than activate_after"):
        ring.rotate_if_due(period=60, activate_after=120)
    assert ring.rotation_due(period=60, activate_after=0)


def test_a_stale_ring_rechecks_under_the_lock(tmp_path: Path, clock: Clock) -> None:
    """Two instances on one directory, both last read before the due time: the second to
    ask re-reads under the lock, finds the first's new key and does not rotate again."""
    load(tmp_path / "ring", clock).rotate()
    a, b = load(tmp_path / "ring", clock), load(tmp_path / "ring", clock)
    clock.advance(PERIOD)
    assert a.rotation_due(period=PERIOD)
    assert b.rotation_due(period=PERIOD)
    made = a.rotate_if_due(period=PERIOD)
    assert made is not None
    assert b.rotation_due(period=PERIOD)  # b's view is stale until it reads again ...
    assert b.rotate_if_due(period=PERIOD) is None  # ... which rotate_if_due does, locked
    assert [k.kid for k in b.entries(use="sig")][-1] == made.kid
    assert len(signing_kids(tmp_path / "ring", clock)) == 2


def test_threads_sharing_one_ring_rotate_once(tmp_path: Path, clock: Clock) -> None:
    load(tmp_path / "ring", clock).rotate()
    clock.advance(PERIOD)
    shared = load(tmp_path / "ring", clock)
    rings = [shared, shared, load(tmp_path / "ring", clock), load(tmp_path / "ring", clock)]
    start = threading.Barrier(len(rings))
    made: list[Any] = []

    def check(ring: KeyRing) -> None:
        start.wait(timeout=30)
        made.append(ring.rotate_if_due(period=PERIOD))

    threads = [threading.Thread(target=check, args=(ring,)) for ring in rings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(entry is not None for entry in made) == 1
    assert len(signing_kids(tmp_path / "ring", clock)) == 2


# --- several processes --------------------------------------------------------------


def _racer(directory: str, now: float, mode: str, barrier: Barrier, results: Any) -> None:
    """One process: a scheduler on the shared ring at ``now``, checking once."""
    ring = KeyRing.load(directory, clock=lambda: now, max_token_lifetime=LIFETIME)
    scheduler = RotationScheduler(ring, TokenPolicy(key_rotation_period=PERIOD),
                                  check_every=60)  # fmt: skip
    barrier.wait(timeout=60)
    if mode == "check":
        entry = scheduler.check()
    else:  # its thread: the first check runs at start
        scheduler.start()
        assert scheduler.wait_for_checks(1, timeout=60)
        scheduler.stop()
        entry = None
    results.put((scheduler.rotations, None if entry is None else entry.kid))


@pytest.mark.parametrize("mode", ["check", "thread"])
def test_schedulers_in_several_processes_rotate_once(tmp_path: Path, mode: str) -> None:
    directory = tmp_path / "ring"
    now = 1_900_000_000.0
    load(directory, lambda: now).rotate()
    context = multiprocessing.get_context("spawn")
    for round_ in range(3):
        now += PERIOD  # due again: the newest key has signed long enough
        barrier = context.Barrier(PROCESSES)
        results = context.Queue()
        racers = [
            context.Process(target=_racer, args=(str(directory), now, mode, barrier, results))
            for _ in range(PROCESSES)
        ]
        for racer in racers:
            racer.start()
        outcomes = [results.get(timeout=120) for _ in racers]
        for racer in racers:
            racer.join(60)
            assert racer.exitcode == 0
        assert sorted(rotations for rotations, _ in outcomes) == [0] * (PROCESSES - 1) + [1]
        keys = load(directory, lambda at=now: at).entries(use="sig")
        created = [k.kid for k in keys if k.created_at == now]  # this round's keys
        assert len(created) == 1, f"round {round_}: {len(created)} new keys"
        assert keys[-1].kid == created[0]
        if mode == "check":
            assert [kid for _, kid in outcomes if kid is not None] == created


# --- the scheduler in this process ----------------------------------------------------


def test_the_scheduler_thread_rotates_on_schedule(tmp_path: Path, clock: Clock) -> None:
    ring = load(tmp_path / "ring", clock)
    rotated: list[str] = []
    scheduler = RotationScheduler(ring, period=PERIOD, check_every=0.01,
                                  on_rotate=lambda entry: rotated.append(entry.kid))  # fmt: skip
    with scheduler:
        assert scheduler.running
        assert scheduler.wait_for_checks(1, timeout=30)
        assert len(rotated) == 1  # the ring's first key
        seen = scheduler.checks
        assert scheduler.wait_for_checks(seen + 3, timeout=30)
        assert len(rotated) == 1  # not due: checks do nothing
        clock.advance(PERIOD - ACTIVATE)
        seen = scheduler.checks
        assert scheduler.wait_for_checks(seen + 2, timeout=30)
        assert len(rotated) == 2
        with pytest.raises(RuntimeError, match="already running"):
            scheduler.start()
    assert not scheduler.running
    assert [k.kid for k in ring.entries(use="sig")] == rotated
    assert ring.entries(use="sig")[-1].state(clock.now) == "pending"


def test_a_failed_check_is_logged_and_the_schedule_goes_on(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "ring"
    blocker.write_text("not a directory")
    ring = KeyRing(blocker, clock=clock, max_token_lifetime=LIFETIME)
    scheduler = RotationScheduler(ring, period=PERIOD, check_every=0.01)
    with caplog.at_level(logging.WARNING, logger="jwt_middleware.rotation"), scheduler:
        assert scheduler.wait_for_checks(2, timeout=30)
        assert scheduler.running  # the thread survived the failures
    assert scheduler.rotations == 0
    failures = [r.getMessage() for r in caplog.records if r.name == "jwt_middleware.rotation"]
    assert failures
    assert all(m.startswith("key rotation check failed") for m in failures)


def test_the_scheduler_takes_its_schedule_from_the_policy(tmp_path: Path, clock: Clock) -> None:
    ring = load(tmp_path / "ring", clock)
    policy = TokenPolicy(key_rotation_period=90 * DAY, key_activate_after=600,
                         key_retire_after=20 * DAY)  # fmt: skip
    scheduler = RotationScheduler(ring, policy)
    assert (scheduler.period, scheduler.activate_after, scheduler.retire_after) == (
        90 * DAY, 600, 20 * DAY)  # fmt: skip
    assert scheduler.check_every == 300
    assert scheduler.due()  # an empty ring
    assert scheduler.check() is not None  # the first key
    assert not scheduler.due()
    assert scheduler.due(clock.now + 90 * DAY - 600)
    clock.advance(90 * DAY - 600)
    second = scheduler.check()
    assert second is not None
    assert second.activates_at == clock.now + 600
    [old] = [k for k in ring.entries(use="sig") if k.kid != second.kid]
    assert old.retires_at == second.activates_at + 20 * DAY
    assert RotationScheduler(ring, policy, period=7 * DAY).period == 7 * DAY  # keywords win


@pytest.mark.parametrize(
    ("policy", "options", "message"),
    [
        pytest.param(None, {}, "a rotation scheduler needs a period", id="no-period"),
        pytest.param(TokenPolicy(), {}, "a rotation scheduler needs a period",
                     id="no-period-policy"),
        pytest.param(
            TokenPolicy(max_refresh_ttl=30 * DAY, key_rotation_period=90 * DAY), {},
            r"the key ring's max_token_lifetime 1209600 \(14 d\) is shorter than "
            r"max_refresh_ttl 2592000 \(30 d\)",
            id="ring-shorter-than-the-policy",
        ),
        pytest.param(
            TokenPolicy(key_rotation_period=90 * DAY, key_retire_after=7 * DAY), {},
            r"key_retire_after 604800 \(7 d\) is shorter than the key ring's max_token_lifetime",
            id="retirement-before-the-ring-lifetime",
        ),
        pytest.param(None, {"period": DAY, "retire_after": DAY},
                     "retire_after .* is shorter than the ring's max_token_lifetime",
                     id="retire-after-keyword"),
        pytest.param(None, {"period": 600}, "must be longer than activate_after",
                     id="period-within-activation"),
        pytest.param(None, {"period": DAY, "check_every": 0}, "check_every must be",
                     id="check-every-zero"),
        pytest.param(None, {"period": DAY, "check_every": 2 * DAY}, "check_every must be",
                     id="check-every-above-period"),
    ],
)
def test_the_scheduler_refuses_a_contradictory_schedule(
    tmp_path: Path, clock: Clock, policy: TokenPolicy | None, options: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RotationScheduler(load(tmp_path / "ring", clock), policy, **options)
