"""``audit``: read a store-backed audit log (SQLite table or Redis stream).

``jwt-middleware audit [--store URL] [--sub S] [--kind K ...] [--since T] [--until T]
[--limit N]`` prints the newest ``N`` (100) records that match, oldest first, one line
each; with ``--json``, one document ``{"events": [...]}`` (each record with every field,
``null`` when empty). ``--store`` defaults to ``JWT_AUDIT_URL``. ``--since`` and
``--until`` take a duration back from now (``15m``, ``2h``, ``7d``) or a time (seconds
since the epoch, or ISO 8601, UTC when no zone is given); ``--until`` is exclusive.
Exit status 0 (also when nothing matched), 2 for any error, as every command.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

from .._core.audit import AuditEvent, AuditKind
from ..stores import StoreError
from ..stores._audit_base import MAX_LIMIT, AuditLog, AuditRecord, audit_log_from_url
from . import _defaults
from ._output import UsageError, emit, utc

__all__ = ["add_audit_command", "cmd_audit", "record_revocation"]

_UNITS = "smhd"
#: Text columns after the time, kind and outcome: (field, label).
_COLUMNS = (
    ("subject", "sub"), ("session", "session"), ("token_id", "jti"), ("key_id", "kid"),
    ("reason", "reason"), ("request_id", "request"), ("count", "count"),
)


def add_audit_command(
    sub: argparse._SubParsersAction[Any],
    common: argparse.ArgumentParser,
    duration: Callable[[str], float],
    timestamp: Callable[[str], float],
) -> None:
    """Register ``audit`` (the CLI's duration and time parsers are passed in)."""

    def moment(text: str) -> float:
        tail = text.strip()[-1:].lower()
        if tail and tail in _UNITS:  # 2h: that long ago
            return time.time() - duration(text)
        return timestamp(text)

    p = sub.add_parser("audit", parents=[common], help="show audit records from a log")
    p.add_argument("--store", metavar="URL",
                   help="the audit log: sqlite:///audit.db or redis://... "
                   "(default: JWT_AUDIT_URL)")  # fmt: skip
    p.add_argument("--sub", help="only this subject's records")
    p.add_argument("--kind", action="append", default=[], choices=[k.value for k in AuditKind],
                   metavar="KIND", help="only this kind (repeatable): "
                   + ", ".join(k.value for k in AuditKind))  # fmt: skip
    p.add_argument("--since", type=moment, metavar="TIME|DURATION",
                   help="from this time, or this long ago (2h, 7d)")  # fmt: skip
    p.add_argument("--until", type=moment, metavar="TIME|DURATION",
                   help="before this time, or before this long ago")  # fmt: skip
    p.add_argument("--limit", type=int, default=100,
                   help=f"at most this many records, the newest (default 100, "
                   f"at most {MAX_LIMIT})")  # fmt: skip
    p.set_defaults(func=cmd_audit)


def open_audit_log(args: argparse.Namespace) -> AuditLog:
    """``--store URL``, else ``JWT_AUDIT_URL``."""
    url = args.store or os.environ.get(_defaults.PREFIX + "AUDIT_URL")
    if not url:
        raise UsageError("give --store URL (or set JWT_AUDIT_URL): the app's audit log")
    from ._store import check_sqlite_folder  # _store records its revocations here

    check_sqlite_folder(url)
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        raise UsageError(f"audit log: no such SQLite file: {url[len('sqlite:///'):]}",
                         reason="store")  # fmt: skip
    return audit_log_from_url(url)


def _line(record: AuditRecord) -> str:
    moment = record.get("time")
    parts = [utc(moment) if isinstance(moment, (int, float)) else "?",
             str(record.get("kind")), str(record.get("outcome"))]  # fmt: skip
    parts += [f"{label}={record[field]}" for field, label in _COLUMNS
              if record.get(field) is not None]  # fmt: skip
    return "  ".join(parts)


def cmd_audit(args: argparse.Namespace) -> int:
    if not 0 < args.limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be 1 to {MAX_LIMIT}")
    if args.since is not None and args.until is not None and args.until <= args.since:
        raise UsageError("--until must be later than --since")
    log = open_audit_log(args)
    try:
        records = log.query(
            subject=args.sub, kind=args.kind or None, since=args.since, until=args.until,
            limit=args.limit,
        )
    finally:
        log.close()
    text = "\n".join(_line(r) for r in records) if records else "no audit records match"
    emit(args, {"events": records}, text)
    return 0


def record_revocation(kind: AuditKind, *, subject: str | None = None,
                      token_id: str | None = None) -> None:  # fmt: skip
    """``revoke`` done: with ``JWT_AUDIT_URL`` set, it is recorded in that audit log too
    (a log that fails is a warning: the revocation itself stands)."""
    url = os.environ.get(_defaults.PREFIX + "AUDIT_URL")
    if not url:
        return
    try:
        log = audit_log_from_url(url)
        try:
            log.append([AuditEvent(time.time(), kind, subject=subject,
                                   token_id=token_id).to_record()])  # fmt: skip
        finally:
            log.close()
    except StoreError as exc:
        warnings.warn(f"the revocation is done but not in the audit log ({exc})", stacklevel=2)
