"""Sessions: what a store keeps about each refresh family besides its current token.

A *session* is one refresh family: it starts at a login and lives as long as its family
does (the family's TTL, which every rotation extends). Its id is the family id, the ``fam``
claim of every token minted in it. What a store keeps about it (:class:`SessionInfo`):

* ``subject``, ``created_at`` (the login), ``last_used_at`` (the last rotation: a retry
  inside the refresh grace window does not move it), ``expires_at`` (the family's);
* what the client said at login: ``device`` (a label it chose, ``"phone"``) and
  ``user_agent`` (its ``User-Agent``, cleaned and cut to :data:`MAX_USER_AGENT`);
* ``address``: the client's address, only when the app records it (off by default);
* ``jkt``: the thumbprint of the DPoP key the family is bound to, ``None`` for bearer.

Never a token, a password or a secret. A session is listed while its family lives and is
not revoked; a revoked or expired family's session is gone with it (the stores drop the
record when the family goes, or on ``purge``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "MAX_ADDRESS",
    "MAX_DEVICE",
    "MAX_USER_AGENT",
    "SessionInfo",
    "clean_text",
    "from_fields",
    "to_fields",
]

#: The longest ``User-Agent`` kept, in characters (the rest is cut).
MAX_USER_AGENT = 256
#: The longest device label a login may give, in characters.
MAX_DEVICE = 64
#: The longest client address kept (an IPv6 address with a zone fits).
MAX_ADDRESS = 64


def clean_text(value: object, limit: int) -> str | None:
    """``value`` without control, format or unassigned characters (newlines, escapes,
    bidi overrides), its runs of spaces made one, cut to ``limit``; ``None`` if nothing is
    left or it is not text."""
    if not isinstance(value, str):
        return None
    kept = "".join(" " if c.isspace() else c for c in value
                   if c.isspace() or unicodedata.category(c)[0] != "C")
    text = " ".join(kept.split())[:limit].rstrip()
    return text or None


@dataclass(frozen=True)
class SessionInfo:
    """One session (a refresh family) as a store keeps it. Times in seconds since the epoch."""

    #: The family id (the tokens' ``fam`` claim).
    id: str
    subject: str
    created_at: float
    #: The family's last rotation (``created_at`` until the first refresh).
    last_used_at: float = 0.0
    #: When the family expires unless it is refreshed (0: not known yet: at login).
    expires_at: float = 0.0
    device: str | None = None
    user_agent: str | None = None
    address: str | None = None
    #: The DPoP key thumbprint the family is bound to (RFC 9449), ``None`` for bearer.
    jkt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The session as JSON: times as whole seconds, ``dpop_bound`` beside ``jkt``."""
        return {
            "id": self.id,
            "subject": self.subject,
            "created_at": int(self.created_at),
            "last_used_at": int(self.last_used_at or self.created_at),
            "expires_at": int(self.expires_at),
            "device": self.device,
            "user_agent": self.user_agent,
            "address": self.address,
            "dpop_bound": self.jkt is not None,
            "jkt": self.jkt,
        }

    def live(self, rotated_at: float, expires_at: float) -> SessionInfo:
        """This record with the family's times (a store's family row holds them)."""
        return replace(self, last_used_at=rotated_at or self.created_at, expires_at=expires_at)


#: SessionInfo field -> the short name a store keeps it under (a Redis hash field).
_FIELDS = {"subject": "sub", "created_at": "t0", "device": "dev", "user_agent": "ua",
           "address": "addr", "jkt": "jkt"}


def to_fields(info: SessionInfo) -> dict[str, str]:
    """The fields a store keeps (text, the ones that are set); the id is the key."""
    found: dict[str, str] = {}
    for name, short in _FIELDS.items():
        value = getattr(info, name)
        if value is not None:
            found[short] = repr(float(value)) if name == "created_at" else str(value)
    return found


def from_fields(
    family: str, fields: Mapping[str, str | None], rotated_at: float, expires_at: float
) -> SessionInfo | None:
    """The :class:`SessionInfo` :func:`to_fields` kept (``None`` without a subject: a
    family started without one)."""
    subject = fields.get("sub")
    if not subject:
        return None
    created = float(fields.get("t0") or 0.0)
    return SessionInfo(
        family, subject, created, device=fields.get("dev") or None,
        user_agent=fields.get("ua") or None, address=fields.get("addr") or None,
        jkt=fields.get("jkt") or None,
    ).live(rotated_at, expires_at)
