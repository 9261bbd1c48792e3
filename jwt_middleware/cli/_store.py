"""The store: ``revoke`` a token id or a subject, ``purge`` expired records."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .._core.audit import AuditKind
from ..stores import Store, store_from_url
from . import _defaults
from ._audit import record_revocation
from ._output import UsageError, emit, utc, when


def check_sqlite_folder(url: str) -> None:
    """A SQLite file can be created, not its folder: say so before the driver fails."""
    if not url.startswith("sqlite:///"):
        return  # store_from_url explains a malformed URL
    folder = Path(url[len("sqlite:///") :]).parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        where = "" if folder.is_absolute() else f" (under {os.getcwd()})"
        raise UsageError(
            f"store: the SQLite file's folder {str(folder)!r}{where} {what}: create it, "
            "or give another sqlite:///path.db",
            reason="store",
        )


def open_store(args: argparse.Namespace) -> Store:
    """``--store URL``, else ``JWT_STORE_URL`` (the store the app uses)."""
    url = args.store or os.environ.get(_defaults.PREFIX + "STORE_URL")
    if not url:
        raise UsageError("give --store URL (or set JWT_STORE_URL)")
    check_sqlite_folder(url)
    return store_from_url(url)


def cmd_revoke(args: argparse.Namespace) -> int:
    if (args.jti is None) == (args.sub is None):
        raise UsageError("give either --jti (with --exp) or --sub")
    if args.jti is not None and args.exp is None:
        raise UsageError("--jti needs --exp: the token's expiry (its exp claim)")
    if args.sub is not None and not args.sub.strip():
        raise UsageError("--sub must name the subject")
    keep = 0.0
    if args.sub is not None:
        # As long as the longest token can live: JWT_REFRESH_TTL (or JWT_ACCESS_TTL), else 14 d.
        keep = args.max_lifetime
        if keep is None:
            keep = _defaults.longest_lifetime()[0]
        elif keep <= 0:
            raise UsageError("--max-lifetime must be a positive duration")
    now = time.time()
    store = open_store(args)
    try:
        if args.jti is not None:
            store.revoke_token(args.jti, args.exp)
            data = {"revoked": "token", "jti": args.jti, "until": args.exp}
            text = f"revoked token {args.jti} until {when(args.exp, now)}"
        else:
            until = now + keep
            store.revoke_subject(args.sub, now, until)
            data = {"revoked": "subject", "sub": args.sub, "before": now, "until": until}
            text = f"revoked every token of {args.sub} issued before {utc(now)}"
    finally:
        store.close()
    if args.jti is not None:
        record_revocation(AuditKind.REVOKED_TOKEN, token_id=args.jti)
    else:
        record_revocation(AuditKind.REVOKED_SUBJECT, subject=args.sub)
    emit(args, data, text)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        count = store.purge(time.time())
    finally:
        store.close()
    emit(args, {"purged": count}, f"purged {count} expired record{'s' * (count != 1)}")
    return 0
