"""The circuit breaker's states, on a clock the test moves (no sleeping, no server)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jwt_middleware.stores import StoreError
from jwt_middleware.stores._breaker import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _trip(breaker: Breaker) -> None:
    for _ in range(breaker.failures):
        assert breaker.tripped is False
        breaker.failed(False)


def test_opens_after_consecutive_failures_only(clock: Clock) -> None:
    breaker = Breaker(3, 2.0, clock=clock)
    breaker.failed(False)
    breaker.failed(False)
    breaker.succeeded()  # an answer resets the count
    breaker.failed(False)
    breaker.failed(False)
    assert breaker.tripped is False
    breaker.failed(False)
    assert breaker.tripped is True


def test_open_fails_at_once_with_the_seconds_left(clock: Clock) -> None:
    breaker = Breaker(3, 5.0, clock=clock)
    _trip(breaker)
    with pytest.raises(StoreError, match="circuit open") as caught:
        breaker.admit()
    assert caught.value.retry_after == 5
    clock.now += 3.5
    with pytest.raises(StoreError) as caught:
        breaker.admit()
    assert caught.value.retry_after == 2, "ceil of 1.5 s"
    assert breaker.remaining() == pytest.approx(1.5)


def test_half_open_lets_exactly_one_probe_through(clock: Clock) -> None:
    breaker = Breaker(2, 1.0, clock=clock)
    _trip(breaker)
    clock.now += 1.0
    assert breaker.admit() is True, "the probe"
    with pytest.raises(StoreError) as caught:
        breaker.admit()
    assert caught.value.retry_after == 1, "a probe is in flight"
    breaker.succeeded()
    assert breaker.tripped is False
    assert breaker.count == 0
    assert breaker.admit() is False, "closed: no probe needed"


def test_a_failed_probe_opens_a_new_window(clock: Clock) -> None:
    breaker = Breaker(2, 1.0, clock=clock)
    _trip(breaker)
    clock.now += 1.5
    assert breaker.admit() is True
    breaker.failed(True)
    assert breaker.tripped is True
    with pytest.raises(StoreError) as caught:
        breaker.admit()
    assert caught.value.retry_after == 1
    clock.now += 1.0
    assert breaker.admit() is True, "next window, next probe"


def test_an_abandoned_probe_lets_the_next_caller_probe(clock: Clock) -> None:
    breaker = Breaker(1, 1.0, clock=clock)
    breaker.failed(False)
    clock.now += 1.0
    assert breaker.admit() is True
    breaker.abandoned(True)  # cancelled: no verdict
    assert breaker.admit() is True


def test_zero_failures_never_opens(clock: Clock) -> None:
    breaker = Breaker(0, 1.0, clock=clock)
    for _ in range(100):
        breaker.failed(False)
    assert breaker.tripped is False


@pytest.mark.parametrize(("failures", "open_for"), [(-1, 1.0), (3, 0.0), (3, -2.0),
                                                     (3, float("inf")), (3, float("nan"))])
def test_bad_settings_are_refused(failures: int, open_for: float) -> None:
    with pytest.raises(StoreError):
        Breaker(failures, open_for)


def test_many_threads_one_probe(clock: Clock) -> None:
    breaker = Breaker(1, 1.0, clock=clock)
    breaker.failed(False)
    clock.now += 1.0
    barrier = threading.Barrier(16)
    probes: list[bool] = []
    refused: list[int | None] = []
    lock = threading.Lock()

    def caller() -> None:
        barrier.wait(timeout=30)
        try:
            probe = breaker.admit()
        except StoreError as exc:
            with lock:
                refused.append(exc.retry_after)
            return
        with lock:
            probes.append(probe)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert probes == [True]
    assert refused == [1] * 15


def test_many_tasks_one_probe(clock: Clock) -> None:
    breaker = Breaker(1, 1.0, clock=clock)
    breaker.failed(False)
    clock.now += 1.0

    async def caller() -> bool | None:
        await asyncio.sleep(0)
        try:
            return breaker.admit()
        except StoreError:
            return None

    async def main() -> list[bool | None]:
        return await asyncio.gather(*(caller() for _ in range(16)))

    outcomes = asyncio.run(main())
    assert outcomes.count(True) == 1
    assert outcomes.count(None) == 15
