"""A sink that keeps what it gets, for the audit tests."""

from __future__ import annotations

from collections.abc import Sequence

from jwt_middleware.audit import AuditEvent


class Collect:
    """Keeps every event: at once (``blocking=False``) or through the worker."""

    def __init__(self, blocking: bool = False) -> None:
        self.blocking = blocking
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)

    def write(self, events: Sequence[AuditEvent]) -> None:
        self.events.extend(events)
