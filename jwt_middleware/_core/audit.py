"""The audit trail's model: what happened to which ids, never a token.

An :class:`AuditEvent` is immutable and holds only: the time, a kind from the fixed
:class:`AuditKind`, an outcome (``ok``, ``refused``, or ``suppressed`` for the summary
of refusals left out by the rate limit, with their ``count``), and ids: the subject,
the session (the refresh family), the token id (``jti``), the key id (``kid``), a reason
code from the fixed set of :class:`~jwt_middleware.AuthError` reasons, and the request
id when the app has one. Never a token, a signature, a secret, a password or any other
claim value: there is no field for one, and an id that looks like a token (a
base64url JSON header and a dot) or is longer than 256 characters is recorded as
``"<redacted>"``.

Sinks take events: :class:`LoggingSink` writes each as one JSON line through
``logging`` (logger ``jwt_middleware.audit``, level INFO; the record also carries the
fields as ``record.audit``); :class:`LogSink` appends them to a store-backed
:class:`~jwt_middleware.stores._audit_base.AuditLog` (SQLite table, Redis stream).
:class:`~jwt_middleware.audit.Audit` fans events out to them (``_core/audit_trail.py``).
"""

from __future__ import annotations

import enum
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..stores._audit_base import AuditLog, AuditRecord
from .reasons import known_reason

__all__ = [
    "OUTCOMES",
    "AuditEvent",
    "AuditKind",
    "AuditSink",
    "LogSink",
    "LoggingSink",
]

#: The logger of :class:`LoggingSink`.
AUDIT_LOGGER = "jwt_middleware.audit"
#: What replaces an id that looks like a token or is too long.
REDACTED = "<redacted>"
_MAX_ID = 256
# A JWT or JWE: a base64url JSON object ("eyJ" is '{"') followed by a dot.
_TOKENISH = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.")


class AuditKind(str, enum.Enum):
    """What an audit event records (the value is the ``kind`` written)."""

    ISSUED = "issued"
    REFRESHED = "refreshed"
    REUSE_DETECTED = "reuse_detected"
    LOGOUT = "logout"
    REVOKED_TOKEN = "revoked_token"
    REVOKED_SUBJECT = "revoked_subject"
    REVOKED_FAMILY = "revoked_family"
    REVOKED_SESSION = "revoked_session"
    KEY_PUBLISHED = "key_published"
    KEY_ACTIVATED = "key_activated"
    KEY_RETIRED = "key_retired"
    POLICY_LOADED = "policy_loaded"
    REFUSED = "refused"


#: The outcomes an event may have.
OUTCOMES = ("ok", "refused", "suppressed")
#: The kinds that record a refusal (``outcome="refused"`` by default; rate-limited).
REFUSALS = frozenset({AuditKind.REFUSED, AuditKind.REUSE_DETECTED})

_IDS = ("subject", "session", "token_id", "key_id", "request_id")


def _safe_id(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) > _MAX_ID or _TOKENISH.search(text) or not text.isprintable():
        return REDACTED
    try:  # a lone surrogate would fail every sink's encoding, and with it a whole batch
        text.encode("utf-8")
    except UnicodeEncodeError:
        return REDACTED
    return text


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record. Build it with keywords; ids are checked (see the module)."""

    time: float
    kind: AuditKind
    #: ``""`` (the default) becomes ``refused`` for ``refused`` and ``reuse_detected``,
    #: else ``ok``.
    outcome: str = ""
    subject: str | None = None
    session: str | None = None
    token_id: str | None = None
    key_id: str | None = None
    reason: str | None = None
    request_id: str | None = None
    #: Only on a summary (``outcome="suppressed"``): how many refusals it stands for.
    count: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kind", AuditKind(self.kind))
        if not self.outcome:
            set_(self, "outcome", "refused" if self.kind in REFUSALS else "ok")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        set_(self, "time", float(self.time))
        for name in _IDS:
            set_(self, name, _safe_id(getattr(self, name)))
        if self.reason is not None:
            set_(self, "reason", known_reason(self.reason))
        if self.count is not None and (isinstance(self.count, bool) or self.count < 0):
            raise ValueError("count must be a whole number of events")

    def to_record(self) -> AuditRecord:
        """The event as a flat mapping (``kind`` as its text value)."""
        return {
            "time": self.time, "kind": self.kind.value, "outcome": self.outcome,
            "subject": self.subject, "session": self.session, "token_id": self.token_id,
            "key_id": self.key_id, "reason": self.reason, "request_id": self.request_id,
            "count": self.count,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AuditEvent:
        """The event a store-backed log kept (unknown fields are ignored)."""
        count = record.get("count")
        return cls(
            time=float(record["time"]), kind=AuditKind(record["kind"]),
            outcome=str(record.get("outcome") or ""), subject=record.get("subject"),
            session=record.get("session"), token_id=record.get("token_id"),
            key_id=record.get("key_id"), reason=record.get("reason"),
            request_id=record.get("request_id"), count=None if count is None else int(count),
        )

    def to_json(self) -> str:
        """One JSON object on one line; fields that are ``None`` are left out."""
        data = {k: v for k, v in self.to_record().items() if v is not None}
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


@runtime_checkable
class AuditSink(Protocol):
    """Where events go. ``blocking`` sinks (that do I/O) are written from a worker
    thread in batches (``write``); the others get each event at once (``emit``)."""

    blocking: bool

    def emit(self, event: AuditEvent) -> None: ...

    def write(self, events: Sequence[AuditEvent]) -> None: ...


class LoggingSink:
    """One JSON line per event through ``logging`` (the default sink).

    ``logger`` is a name or a :class:`logging.Logger` (``jwt_middleware.audit``); each
    record's message is the JSON object, and ``record.audit`` the same fields as a dict
    for structured handlers.
    """

    blocking = False

    def __init__(self, logger: str | logging.Logger = AUDIT_LOGGER, level: int = logging.INFO):
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level

    def __repr__(self) -> str:
        return f"LoggingSink({self.logger.name!r})"

    def emit(self, event: AuditEvent) -> None:
        if self.logger.isEnabledFor(self.level):
            self.logger.log(self.level, "%s", event.to_json(), extra={"audit": event.to_record()})

    def write(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            self.emit(event)


class LogSink:
    """Appends events to a store-backed :class:`AuditLog` (written by the worker thread)."""

    blocking = True

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def __repr__(self) -> str:
        return f"LogSink({self.log!r})"

    def emit(self, event: AuditEvent) -> None:
        self.write((event,))

    def write(self, events: Sequence[AuditEvent]) -> None:
        self.log.append([event.to_record() for event in events])

    def close(self) -> None:
        self.log.close()


def sink_name(sink: object) -> str:
    """A sink's name for a log line: its class (never its URL, which may hold a password)."""
    return type(sink).__name__ + (
        f"({type(sink.log).__name__})" if isinstance(sink, LogSink) else ""
    )
