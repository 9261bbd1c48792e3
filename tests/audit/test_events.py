"""The audit event: fixed kinds, outcomes and reasons; ids only; JSON lines."""

from __future__ import annotations

import json

import pytest

from jwt_middleware import AuthError
from jwt_middleware._core.reasons import reason_codes
from jwt_middleware.audit import AuditEvent, AuditKind

TOKENISH = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


def test_the_kinds_are_the_issue_s_fixed_set() -> None:
    assert [k.value for k in AuditKind] == [
        "issued", "refreshed", "reuse_detected", "logout", "revoked_token",
        "revoked_subject", "revoked_family", "revoked_session", "key_published",
        "key_activated", "key_retired", "policy_loaded", "refused",
    ]


def test_an_event_is_immutable_and_checked() -> None:
    event = AuditEvent(1.5, "issued", subject="alice", session="fam", token_id="j1")  # type: ignore[arg-type]
    assert event.kind is AuditKind.ISSUED
    with pytest.raises(AttributeError):
        event.subject = "mallory"  # type: ignore[misc]
    with pytest.raises(ValueError, match="outcome"):
        AuditEvent(1.0, AuditKind.ISSUED, outcome="great")
    with pytest.raises(ValueError, match="'exported' is not a valid AuditKind"):
        AuditEvent(1.0, "exported")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        AuditEvent(1.0, AuditKind.REFUSED, outcome="suppressed", count=-1)


def test_reasons_come_only_from_the_auth_error_codes() -> None:
    codes = reason_codes()
    assert {"bad_signature", "revoked", "expired", "unknown_key"} <= codes
    assert codes == {c.reason for c in _all(AuthError)}
    assert AuditEvent(1.0, AuditKind.REFUSED, reason="bad_signature").reason == "bad_signature"
    assert AuditEvent(1.0, AuditKind.REFUSED, reason="the signature of eve").reason == "other"


def _all(cls: type[AuthError]) -> list[type[AuthError]]:
    return [cls, *[c for sub in cls.__subclasses__() for c in _all(sub)]]


@pytest.mark.parametrize("field", ["subject", "session", "token_id", "key_id", "request_id"])
def test_an_id_that_looks_like_a_token_is_redacted(field: str) -> None:
    event = AuditEvent(1.0, AuditKind.ISSUED, **{field: TOKENISH})  # type: ignore[arg-type]
    assert getattr(event, field) == "<redacted>"
    assert TOKENISH not in event.to_json()
    long = AuditEvent(1.0, AuditKind.ISSUED, **{field: "x" * 257})  # type: ignore[arg-type]
    assert getattr(long, field) == "<redacted>"
    email = AuditEvent(1.0, AuditKind.ISSUED, **{field: "jane.doe@example.com"})  # type: ignore[arg-type]
    assert getattr(email, field) == "jane.doe@example.com"


@pytest.mark.parametrize("odd", ["\udc80", "alice\nkind=issued", "bob\x00"])
def test_an_id_no_sink_can_write_safely_is_redacted(odd: str) -> None:
    event = AuditEvent(1.0, AuditKind.ISSUED, subject=odd)
    assert event.subject == "<redacted>"
    event.to_json().encode("utf-8")  # every sink can encode it


def test_json_line_and_record_round_trip() -> None:
    event = AuditEvent(
        1700000000.25, AuditKind.REFUSED, "suppressed", reason="expired", count=42,
        request_id="req-1",
    )
    line = event.to_json()
    assert "\n" not in line
    assert json.loads(line) == {
        "time": 1700000000.25, "kind": "refused", "outcome": "suppressed",
        "reason": "expired", "count": 42, "request_id": "req-1",
    }
    assert AuditEvent.from_record(event.to_record()) == event
