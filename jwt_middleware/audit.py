"""The audit trail: who was issued what, what was refused, when keys changed.

One :class:`Audit` per app sends structured events to sinks::

    from jwt_middleware import Issuer
    from jwt_middleware.audit import Audit

    audit = Audit(url="sqlite:///audit.db")  # JSON lines through logging, and a table
    issuer = Issuer(config, audit=audit)     # issued, refreshed, reuse_detected, logout...
    app = JWTMiddleware(app, config=config, on_event=audit.on_event)  # refusals

Each :class:`AuditEvent` holds the time, its :class:`AuditKind` (``issued``,
``refreshed``, ``reuse_detected``, ``logout``, ``revoked_token``, ``revoked_subject``,
``revoked_family``, ``revoked_session``, ``key_published``, ``key_activated``,
``key_retired``, ``policy_loaded``, ``refused``), an outcome, and ids only: subject,
session (refresh family), token id, key id, a reason code, the request id. Never a
token, a secret, a password or another claim's value.

Sinks: :class:`LoggingSink` (the default: logger ``jwt_middleware.audit``, one JSON
object per line) and store-backed, append-only logs, queryable by subject, kind and
time (:meth:`AuditLog.query`, and ``jwt-middleware audit`` on the command line):
:class:`SQLiteAuditLog` (``sqlite:///audit.db``) and :class:`RedisAuditLog` (a stream
bounded by ``MAXLEN ~``; any Redis URL the store takes). :func:`audit_log_from_url`
picks one. ``Audit.from_mapping(os.environ)`` reads ``JWT_AUDIT_URL`` and
``JWT_AUDIT_REFUSAL_RATE``.

Emitting never raises and never waits for I/O (store-backed logs are written by a
worker thread), and refusals are rate-limited per reason with exact summaries of what
was left out: see ``docs/audit.md``.
"""

from __future__ import annotations

from ._core.audit import AuditEvent, AuditKind, AuditSink, LoggingSink, LogSink
from ._core.audit_trail import Audit
from .stores._audit_base import AuditLog, audit_log_from_url
from .stores._audit_redis import RedisAuditLog
from .stores._audit_sqlite import SQLiteAuditLog

__all__ = [
    "Audit",
    "AuditEvent",
    "AuditKind",
    "AuditLog",
    "AuditSink",
    "LogSink",
    "LoggingSink",
    "RedisAuditLog",
    "SQLiteAuditLog",
    "audit_log_from_url",
]
