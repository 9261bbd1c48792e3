"""The fixed set of refusal reasons: every ``reason`` code of an :class:`AuthError` class.

Audit records and metric labels take a reason only from this set, so neither can carry
anything a client chose. The set is read from the exception classes themselves
(subclasses defined outside the core, such as the cookie mode's websocket refusal,
count once they are imported); a code that is not among them becomes ``"other"``.
"""

from __future__ import annotations

from .errors import AuthError

__all__ = ["OTHER", "known_reason", "reason_codes"]

#: What an unknown reason code is recorded as.
OTHER = "other"

_codes: frozenset[str] = frozenset()


def _walk(cls: type[AuthError]) -> set[str]:
    found = {cls.reason}
    for sub in cls.__subclasses__():
        found |= _walk(sub)
    return found


def reason_codes() -> frozenset[str]:
    """Every reason code of the :class:`AuthError` classes defined so far."""
    global _codes
    _codes = frozenset(_walk(AuthError))
    return _codes


def known_reason(reason: object) -> str:
    """``reason`` if it is a reason code, else :data:`OTHER` (never raises)."""
    if isinstance(reason, str):
        if reason in _codes:
            return reason
        if reason in reason_codes():  # a class defined since the set was last read
            return reason
    return OTHER
