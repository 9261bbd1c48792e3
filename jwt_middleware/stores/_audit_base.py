"""Store-backed audit logs: the append-only protocol, its record and its URL form.

The audit trail's own model (:class:`~jwt_middleware.audit.AuditEvent`) lives in the
core; a log below it keeps *records*: flat mappings with the fields of
:data:`FIELDS` and nothing else (times in seconds since the epoch, ids as text, a
``count`` only on a summary of suppressed refusals). A log can only be appended to and
queried: no record is ever changed or removed through it (the SQLite table refuses
``UPDATE`` and ``DELETE`` by trigger; a Redis stream is trimmed only from its old end,
by ``MAXLEN ~``).

:meth:`AuditLog.query` filters by subject, kind (one or several), a time range and a
limit: the newest ``limit`` records that match, listed oldest first (as ``tail`` would).

URLs (:func:`audit_log_from_url`): ``sqlite:///path.db`` (the table ``jwtmw_audit``, in
the store's file or its own) and every Redis URL the store takes (``redis://``,
``rediss://``, ``unix://``, ``redis+cluster://``, ``redis+sentinel://``): one stream,
``jwtmw:audit`` (``{jwtmw}audit`` on a cluster, one slot). Building a log never connects.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ._base import StoreError

__all__ = ["FIELDS", "AuditLog", "AuditRecord", "audit_log_from_url", "check_query"]

#: The fields of a record, in the order a table or a stream entry keeps them.
FIELDS = (
    "time", "kind", "outcome", "subject", "session", "token_id", "key_id", "reason",
    "request_id", "count",
)

#: One record: ``time`` (float), ``count`` (int or ``None``), the rest text or ``None``.
AuditRecord = dict[str, Any]

#: The largest ``limit`` a query takes.
MAX_LIMIT = 100_000

_REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster",
                  "redis+sentinel", "rediss+sentinel")


def check_query(limit: int, kinds: Iterable[str] | str | None) -> tuple[str, ...]:
    """The kinds to match (``()``: all), after checking ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    if kinds is None:
        return ()
    if isinstance(kinds, str):
        return (kinds,)
    return tuple(str(k) for k in kinds)


def matches(
    record: Mapping[str, Any],
    subject: str | None,
    kinds: Sequence[str],
    since: float | None,
    until: float | None,
) -> bool:
    """Whether ``record`` passes the filters of a query (``until`` is exclusive)."""
    if subject is not None and record.get("subject") != subject:
        return False
    if kinds and record.get("kind") not in kinds:
        return False
    moment = record.get("time")
    if not isinstance(moment, (int, float)):
        return False
    if since is not None and moment < since:
        return False
    return until is None or moment < until


class AuditLog(ABC):
    """An append-only log of audit records, shared by processes."""

    #: What the log is kept in (``"sqlite"``, ``"redis"``), for messages and metrics.
    kind = "log"

    @abstractmethod
    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append records (in order). Raises :class:`StoreError` when it cannot."""

    @abstractmethod
    def query(
        self,
        *,
        subject: str | None = None,
        kind: Iterable[str] | str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """The newest ``limit`` records that match, oldest first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def audit_log_from_url(url: str, **options: Any) -> AuditLog:
    """The audit log a URL names (``sqlite:///path.db`` or a Redis URL).

    ``options`` go to the backend (``max_entries=`` for a Redis stream). Raises
    :class:`StoreError` for another scheme.
    """
    if not isinstance(url, str):
        raise StoreError("an audit log URL is text: sqlite:///audit.db or redis://host:6379/0")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from ._audit_sqlite import SQLiteAuditLog

        rest = url[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise StoreError("a SQLite audit URL looks like sqlite:///path/to/audit.db")
        return SQLiteAuditLog(rest[1:], **options)
    if scheme in _REDIS_SCHEMES:
        # By name, as store_from_url does: nothing imports the Redis client unless chosen.
        backend = importlib.import_module("jwt_middleware.stores._audit_redis")
        log: AuditLog = backend.RedisAuditLog(url, **options)
        return log
    raise StoreError(
        f"unknown audit log URL scheme {scheme!r}: use sqlite:///path.db or redis://"
    )
