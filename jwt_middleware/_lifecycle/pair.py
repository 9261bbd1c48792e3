"""The token response of a login or a refresh: an access and a refresh token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TokenPair"]


@dataclass(frozen=True)
class TokenPair:
    """An access and a refresh token, as an OAuth 2 token response (RFC 6749 §5.1).

    ``token_type`` is ``"DPoP"`` for a pair bound to the client's key (RFC 9449 §5),
    else ``"Bearer"``.
    """

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"

    def to_dict(self) -> dict[str, Any]:
        """``access_token``, ``token_type``, ``expires_in``, ``refresh_token``."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }
