"""A flood of bad tokens writes a bounded number of audit records, with exact counts."""

from __future__ import annotations

from collections.abc import Sequence

from jwt_middleware.audit import Audit, AuditEvent, AuditKind
from tests.audit.support import Collect


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _counts(events: list[AuditEvent], reason: str) -> tuple[int, int, int]:
    """(records kept, summary records, refusals the summaries stand for)."""
    kept = [e for e in events if e.reason == reason and e.outcome == "refused"]
    summaries = [e for e in events if e.reason == reason and e.outcome == "suppressed"]
    return len(kept), len(summaries), sum(e.count or 0 for e in summaries)


def test_100000_refusals_in_one_instant_give_the_burst_and_one_exact_summary() -> None:
    sink, clock = Collect(), Clock()
    audit = Audit([sink], refusal_rate=10, clock=clock)
    for _ in range(100_000):
        audit.emit(AuditKind.REFUSED, reason="bad_signature")
    assert audit.flush(10)
    kept, summaries, suppressed = _counts(sink.events, "bad_signature")
    assert kept == 20  # the burst: twice the rate
    assert summaries == 1
    assert kept + suppressed == 100_000
    assert len(sink.events) == 21
    audit.close()


def test_a_flood_over_time_stays_within_rate_times_time_plus_summaries() -> None:
    sink, clock = Collect(), Clock()
    audit = Audit([sink], refusal_rate=5, refusal_burst=5, summary_every=10, clock=clock)
    for n in range(100_000):  # 100,000 refusals over 100 s: 1,000 a second
        clock.now += 0.001
        audit.emit(AuditKind.REFUSED, reason="revoked" if n % 2 else "expired")
    assert audit.flush(10)
    for reason in ("revoked", "expired"):
        kept, summaries, suppressed = _counts(sink.events, reason)
        assert kept + suppressed == 50_000  # every refusal kept or counted, exactly
        assert kept <= 5 + 5 * 100  # the burst, then the rate over 100 s
        assert summaries <= 100 // 10 + 1  # one per interval, and the last at flush
    assert len(sink.events) <= 2 * (5 + 500 + 11)
    audit.close()


def test_a_summary_is_written_at_the_first_refusal_after_the_interval() -> None:
    sink, clock = Collect(), Clock()
    audit = Audit([sink], refusal_rate=1, refusal_burst=1, summary_every=60, clock=clock)
    for _ in range(5):
        audit.emit("refused", reason="unknown_key")
    assert [e.outcome for e in sink.events] == ["refused"]
    clock.now += 61
    audit.emit("refused", reason="unknown_key")
    assert [(e.outcome, e.count) for e in sink.events] == [
        ("refused", None), ("refused", None), ("suppressed", 4),
    ]
    audit.close()


def test_the_summary_reaches_the_log_when_the_flood_stops() -> None:
    """The worker's tick writes a pending summary once it is due, without another event."""
    import threading

    sink, clock = Collect(), Clock()
    seen = threading.Event()

    class Watch(Collect):
        def write(self, events: Sequence[AuditEvent]) -> None:
            super().write(events)
            if any(e.outcome == "suppressed" for e in events):
                seen.set()

    watch = Watch(blocking=True)
    audit = Audit([sink, watch], refusal_rate=1, refusal_burst=1, summary_every=1, clock=clock)
    for _ in range(3):
        audit.emit("refused", reason="expired")
    clock.now += 2  # due; no further refusal comes
    assert seen.wait(10)
    assert [e.count for e in watch.events if e.outcome == "suppressed"] == [2]
    audit.close()


def test_other_kinds_are_never_rate_limited() -> None:
    sink = Collect()
    audit = Audit([sink], refusal_rate=1, refusal_burst=1, clock=Clock())
    for n in range(1000):
        audit.emit("issued", subject=f"u{n}")
    assert len(sink.events) == 1000
    audit.close()
