"""The revocation check that plugs a store into the verifier.

One store look-up per verified token covers the token id, the subject's
watermark and the refresh family (access tokens carry their family in the
``fam`` claim). If the store cannot be asked, the request fails closed with
503 and ``Retry-After`` unless ``fail_open`` is chosen (then it is logged
and the token accepted, which is only right where availability matters
more than a logout taking effect).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..stores import Store, StoreError
from .errors import RevokedTokenError, ServiceUnavailableError
from .principal import Principal

__all__ = ["FAMILY_CLAIM", "StoreRevocation", "store_unavailable"]

logger = logging.getLogger("jwt_middleware")

#: The claim naming a token's refresh family.
FAMILY_CLAIM = "fam"


def _family(principal: Principal) -> str | None:
    family = principal.claims.get(FAMILY_CLAIM)
    return family if isinstance(family, str) else None


def store_unavailable(exc: StoreError) -> ServiceUnavailableError:
    """The 503 for a store failure; ``Retry-After`` is the store's own hint when
    it has one (an open circuit breaker's seconds left), else 5 s."""
    hint = exc.retry_after
    return ServiceUnavailableError(retry_after=max(1, hint) if hint is not None else 5)


class StoreRevocation:
    """A :class:`~jwt_middleware.RevocationCheck` backed by a :class:`Store`."""

    __slots__ = ("_clock", "_fail_open", "store")

    def __init__(self, store: Store, *, clock: Callable[[], float], fail_open: bool = False):
        self.store = store
        self._clock = clock
        self._fail_open = fail_open

    def _failed(self, exc: StoreError) -> None:
        if self._fail_open:
            logger.warning("revocation store unavailable (%s); token accepted (fail open)", exc)
            return
        logger.warning("revocation store unavailable (%s); request refused (fail closed)", exc)
        raise store_unavailable(exc) from None

    def check(self, principal: Principal) -> None:
        try:
            revoked = self.store.is_revoked(
                principal.token_id, principal.subject, principal.issued_at, _family(principal),
                self._clock(),
            )
        except StoreError as exc:
            self._failed(exc)
            return
        if revoked:
            raise RevokedTokenError()

    async def acheck(self, principal: Principal) -> None:
        try:
            revoked = await self.store.ais_revoked(
                principal.token_id, principal.subject, principal.issued_at, _family(principal),
                self._clock(),
            )
        except StoreError as exc:
            self._failed(exc)
            return
        if revoked:
            raise RevokedTokenError()
