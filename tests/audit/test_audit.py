"""The fan-out: sinks in the caller and in the worker, failures, a full queue, closing."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from jwt_middleware import ConfigurationError
from jwt_middleware.audit import Audit, AuditEvent, AuditKind, LoggingSink, SQLiteAuditLog
from tests.audit.support import Collect


class Gate(Collect):
    """A blocking sink whose writes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(blocking=True)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def write(self, events: Sequence[AuditEvent]) -> None:
        self.entered.set()
        assert self.gate.wait(10)
        super().write(events)


class Broken(Collect):
    def emit(self, event: AuditEvent) -> None:
        raise RuntimeError(f"down while writing {event.subject}")

    write = Collect.write


def test_the_default_sink_is_one_json_line_through_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    audit = Audit()
    assert [type(s) for s in audit.sinks] == [LoggingSink]
    with caplog.at_level(logging.INFO, logger="jwt_middleware.audit"):
        audit.emit(AuditKind.ISSUED, subject="alice", session="fam-1", token_id="j1",
                   key_id="k1")  # fmt: skip
    (record,) = [r for r in caplog.records if r.name == "jwt_middleware.audit"]
    assert json.loads(record.getMessage()) == {
        "kind": "issued", "outcome": "ok", "subject": "alice", "session": "fam-1",
        "token_id": "j1", "key_id": "k1", "time": record.audit["time"],  # type: ignore[attr-defined]
    }
    assert record.audit["subject"] == "alice"  # type: ignore[attr-defined]
    audit.close()


def test_emit_in_an_event_loop_never_waits_for_a_blocking_sink() -> None:
    gate = Gate()
    audit = Audit([gate])

    async def main() -> int:
        for n in range(50):
            audit.emit("issued", subject=f"user{n}")
        return len(gate.events)

    written_while_blocked = asyncio.run(main())
    assert gate.entered.wait(10)  # the worker is inside write(), held at the gate
    assert written_while_blocked == 0  # every emit returned while the sink was stuck
    gate.gate.set()
    assert audit.flush(10)
    assert [e.subject for e in gate.events] == [f"user{n}" for n in range(50)]
    audit.close()


def test_a_failing_sink_is_logged_once_without_ids_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = Collect()
    audit = Audit([Broken(), good])
    with caplog.at_level(logging.WARNING, logger="jwt_middleware"):
        for n in range(5):
            audit.emit("logout", subject=f"secret-subject-{n}", session="fam-secret")
    assert len(good.events) == 5
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["audit: Broken failed (RuntimeError); 1 event not recorded since the "
                        "last warning"]  # fmt: skip
    assert "secret" not in caplog.text
    assert audit.lost == 5
    audit.close()


def test_a_full_queue_drops_and_counts() -> None:
    gate = Gate()
    audit = Audit([gate], queue_size=3)
    audit.emit("issued", subject="first")
    assert gate.entered.wait(10)  # the worker holds "first"; the buffer is empty again
    for n in range(10):
        audit.emit("issued", subject=f"n{n}")
    assert audit.lost == 7
    gate.gate.set()
    assert audit.flush(10)
    assert [e.subject for e in gate.events] == ["first", "n0", "n1", "n2"]
    audit.close()


def test_emit_never_raises_even_for_a_wrong_kind(caplog: pytest.LogCaptureFixture) -> None:
    sink = Collect()
    audit = Audit([sink])
    with caplog.at_level(logging.WARNING, logger="jwt_middleware"):
        audit.emit("exported", subject="alice")
    assert sink.events == []
    assert "audit: Audit failed (ValueError)" in caplog.text
    audit.close()


def test_on_event_records_a_refusal_of_the_request_policy() -> None:
    from jwt_middleware._sansio.authenticator import AuthEvent

    sink = Collect()
    audit = Audit([sink], request_id=lambda: "req-7")
    audit.on_event(AuthEvent("bad_signature", 401, "GET", "/api", "alice"))
    (event,) = sink.events
    assert (event.kind, event.outcome, event.reason, event.subject, event.request_id) == (
        AuditKind.REFUSED, "refused", "bad_signature", "alice", "req-7",
    )
    audit.close()


def test_closing_writes_what_is_queued_and_stops(tmp_path: Path) -> None:
    audit = Audit([], url=f"sqlite:///{tmp_path / 'audit.db'}")
    for n in range(20):
        audit.emit("issued", subject=f"u{n}")
    audit.close()
    assert audit._thread is not None
    assert not audit._thread.is_alive()
    log = SQLiteAuditLog(tmp_path / "audit.db")
    assert len(log.query(limit=100)) == 20
    audit.emit("issued", subject="after close")  # ignored by the closed log, no error
    assert len(log.query(limit=100)) == 20
    log.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"refusal_rate": 0}, "refusal_rate"),
        ({"refusal_burst": 0.5}, "refusal_burst"),
        ({"summary_every": float("inf")}, "summary_every"),
        ({"queue_size": 0}, "queue_size"),
        ({"sinks": [object()]}, "emit, write and blocking"),
    ],
)
def test_bad_options_are_refused_at_start_up(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Audit(**options)  # type: ignore[arg-type]


def test_from_mapping_reads_the_audit_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    audit = Audit.from_mapping({"JWT_AUDIT_URL": url, "JWT_AUDIT_REFUSAL_RATE": "2.5"})
    assert audit.refusal_rate == 2.5
    assert [type(s).__name__ for s in audit.sinks] == ["LoggingSink", "LogSink"]
    audit.close()
    with pytest.raises(ConfigurationError, match="JWT_AUDIT_REFUSAL_RATE"):
        Audit.from_mapping({"JWT_AUDIT_REFUSAL_RATE": "fast"})
    assert len(Audit.from_mapping({}).sinks) == 1
