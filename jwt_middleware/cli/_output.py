"""What the commands print: text or ``--json``, times for people, and errors.

An error is one line on stderr (``jwt-middleware: error: ...``), or, with
``--json``, one JSON object on stdout: ``{"error": ..., "reason": ..., "status": 2}``
plus ``"extra"`` when an optional library is missing. Either way it names its
cause and never a key, token or secret (see :func:`redact`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from .. import JWTMiddlewareError
from ..stores import StoreError

PROG = "jwt-middleware"
STATUS = 2  # the exit status of every error

#: Optional library (top-level module) -> the extra that installs it, and what needs it.
EXTRAS = {
    "redis": ("redis", "a redis:// store"),
    "requests": ("requests", "fetching a JWKS URL"),
    "httpx": ("httpx", "async HTTP"),
}
#: ``[client]`` installs both HTTP libraries.
_BOTH_CLIENTS = "client"

# Three base64url segments, the first a JSON object ("eyJ" is `{"`): a JWT.
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


class UsageError(Exception):
    """An error the user can fix: reported without a traceback, exit status 2.

    ``reason`` is a short code for scripts (``usage``, ``configuration``,
    ``store``, ``jwks``, ``missing_library``, ``os``, ``unexpected``); ``extra`` the
    ``jwt-middleware[...]`` extra that installs a missing library.
    """

    def __init__(self, message: str, *, reason: str = "usage", extra: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.extra = extra


# --- printing -----------------------------------------------------------------------


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)


def emit(args: argparse.Namespace, data: Mapping[str, Any], text: str) -> None:
    """``data`` as JSON with ``--json``, else ``text`` (nothing when empty)."""
    if args.json:
        print(dumps(data))
    elif text:
        print(text)


def relative(seconds: float) -> str:
    span = abs(seconds)
    if span < 1:
        return "now"
    if span < 90:
        amount = f"{span:.0f} s"
    elif span < 90 * 60:
        amount = f"{span / 60:.0f} min"
    elif span < 48 * 3600:
        amount = f"{span / 3600:.0f} h"
    else:
        amount = f"{span / 86400:.0f} d"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def when(ts: Any, now: float) -> str:
    """``2030-01-31 12:00:00 UTC  (in 3 h)``, or says the value is not a time."""
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not abs(ts) < 1e11:
        return f"{ts!r} (not a time)"
    return f"{utc(ts)}  ({relative(ts - now)})"


# --- errors -------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """``exc`` and what caused it, even when re-raised ``from None``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def missing_library(exc: BaseException, purpose: str | None = None) -> UsageError | None:
    """The install hint when ``exc`` (or its cause) is a library failing to import."""
    for link in _chain(exc):
        if not isinstance(link, ImportError):
            continue
        module = (link.name or "").partition(".")[0]
        if module not in EXTRAS:
            if link is not exc:
                continue  # an import that failed on the way, not what failed now
            return UsageError(
                f"a library jwt-middleware needs cannot be imported ({link}): "
                "reinstall jwt-middleware",
                reason="missing_library",
            )
        extra, needed_for = EXTRAS[module]
        hint = f"pip install 'jwt-middleware[{extra}]'"
        if extra in ("requests", "httpx"):
            hint += f" (or jwt-middleware[{_BOTH_CLIENTS}] for requests and httpx)"
        return UsageError(
            f"{purpose or needed_for} needs the {module} library, which is not installed: {hint}",
            reason="missing_library",
            extra=f"jwt-middleware[{extra}]",
        )
    return None


def cause(exc: BaseException) -> str:
    """What the library error hides: the first line of the exception underneath, if any.

    The stores name only the type of a driver's error (``OperationalError``);
    the driver's own message says what went wrong (``unable to open database file``).
    """
    for link in list(_chain(exc))[1:]:
        text = " ".join(str(link).split())
        if text and text not in str(exc):
            return text
    return ""


def as_usage_error(exc: BaseException) -> UsageError:
    """Any failure as the one-line error the user sees."""
    if isinstance(exc, UsageError):
        return exc
    missing = missing_library(exc)
    if missing is not None:
        return missing
    store_error = next((link for link in _chain(exc) if isinstance(link, StoreError)), None)
    if store_error is not None:  # raised as such, or under a 503 or a ConfigurationError
        detail = cause(store_error)
        text = str(exc) if store_error is not exc and str(store_error) in str(exc) else ""
        text = (text or f"store: {store_error}") + (f" ({detail})" if detail else "")
        return UsageError(text, reason="store")
    if isinstance(exc, JWTMiddlewareError):
        return UsageError(str(exc) or type(exc).__name__, reason="configuration")
    if isinstance(exc, OSError):
        text = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        return UsageError(text, reason="os")
    return UsageError(f"unexpected {type(exc).__name__}: {exc}", reason="unexpected")


def redact(message: str, secrets: Iterable[str]) -> str:
    """``message`` on one line, with tokens and the given secrets replaced."""
    text = " ".join(message.split()) or "failed"
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "<secret>")
    return _TOKEN.sub("<token>", text)


def fail(error: UsageError, *, json_mode: bool, secrets: Iterable[str] = ()) -> int:
    """Report ``error`` (one line on stderr, or a JSON object on stdout); the exit status."""
    message = redact(str(error), secrets)
    with contextlib.suppress(OSError, ValueError):
        if json_mode:
            data: dict[str, Any] = {"error": message, "reason": error.reason, "status": STATUS}
            if error.extra:
                data["extra"] = error.extra
            print(json.dumps(data, sort_keys=True))
            sys.stdout.flush()
        else:
            print(f"{PROG}: error: {message}", file=sys.stderr)
    return STATUS
