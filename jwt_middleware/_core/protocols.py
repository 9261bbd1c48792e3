"""The seams where I/O plugs into the pure verify path.

The verifier itself is pure CPU. Two steps may need I/O, and each has a
sync and an async form so that the ASGI path never blocks the event loop:

* choosing the key for a ``kid`` (:class:`KeyResolver`: a local
  :class:`~jwt_middleware.KeySet`, later a remote JWKS client);
* asking whether a verified token was revoked (:class:`RevocationCheck`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .keys import Key
    from .principal import Principal

__all__ = ["KeyResolver", "RevocationCheck"]


@runtime_checkable
class KeyResolver(Protocol):
    """Finds the key for a token's ``kid``; raises ``UnknownKeyError`` when there is none.

    Security: the ``kid`` is attacker-controlled text. It may only be used
    as a lookup key, never as a path, URL or query.
    """

    @property
    def algorithms(self) -> frozenset[str]:
        """Every algorithm some key may be bound to (checked before any lookup)."""

    def resolve(self, kid: str | None) -> Key:
        """Sync lookup."""

    async def aresolve(self, kid: str | None) -> Key:
        """Async lookup."""


@runtime_checkable
class RevocationCheck(Protocol):
    """Raises ``RevokedTokenError`` for a revoked token; returns ``None`` otherwise."""

    def check(self, principal: Principal) -> None:
        """Sync check."""

    async def acheck(self, principal: Principal) -> None:
        """Async check."""
