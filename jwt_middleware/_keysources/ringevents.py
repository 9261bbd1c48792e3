"""What a key ring reports to the audit trail: keys published, activated, retired.

* ``key_published``: :meth:`KeyRing.rotate` wrote a new key (it is in the JWKS now);
* ``key_activated``: the key that signs (or that tokens are encrypted to) changed, as seen
  by this process when it read the ring (``refresh``, which ``rotate`` runs too): the
  first key of a ring at once, a later one once its ``activates_at`` has passed and the
  ring is read. Each process that reads the switch records it; the first reading of a
  ring only learns which key is active, and records nothing;
* ``key_retired``: the key's file was deleted (``prune``, which ``rotate`` runs), once,
  by the process that deleted it.

Key ids only, never key material.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .._core.audit import AuditKind
from .ringkey import RingKey

__all__ = ["RingEvents"]


class RingEvents:
    """The audit events of one ring (``audit`` is an :class:`~jwt_middleware.audit.Audit`)."""

    __slots__ = ("_active", "audit")

    def __init__(self, audit: Any) -> None:
        self.audit = audit
        self._active: dict[str, str | None] | None = None  # use -> active kid; None: unread

    def published(self, entry: RingKey[Any]) -> None:
        self.audit.emit(AuditKind.KEY_PUBLISHED, key_id=entry.kid)

    def read(self, keys: Sequence[RingKey[Any]], now: float) -> None:
        """The ring was read: record the uses whose active key changed since last time."""
        active: dict[str, str | None] = {"sig": None, "enc": None}
        for entry in keys:  # oldest first: the last active one of a use is the one in force
            if entry.state(now) == "active":
                active[entry.use] = entry.kid
        before, self._active = self._active, active
        if before is None:
            return
        for use, kid in active.items():
            if kid is not None and kid != before.get(use):
                self.audit.emit(AuditKind.KEY_ACTIVATED, key_id=kid)

    def retired(self, kids: Iterable[str]) -> None:
        for kid in kids:
            self.audit.emit(AuditKind.KEY_RETIRED, key_id=kid)
