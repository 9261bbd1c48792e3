"""DPoP server nonces (RFC 9449 sections 8 and 9), stateless across processes.

A nonce is the HMAC-SHA256 of the number of the current period (``time // period``)
under a secret, cut to 128 bits and base64url-encoded (22 characters). Nothing is
stored: every process given the same secret computes the same nonce, so a load
balancer may send the retry to any of them. A nonce is accepted during its own period
and the next one, so it lives between one and two periods; the server hands out the
current one in ``DPoP-Nonce`` when it refuses a proof with ``use_dpop_nonce``.

The processes' clocks must agree to well within a period (NTP does): a process
still in the previous period refuses a nonce of the next one, and its client then
retries with the nonce that process gave it.

Security: the secret is never logged or shown in a message; a nonce reveals nothing
of it, and comparing runs in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable

from .errors import ConfigurationError
from .jws import b64url_encode

__all__ = ["DPoPNonces"]

_MIN_SECRET = 32
_LABEL = b"jwt_middleware dpop nonce\0"


class DPoPNonces:
    """Server nonces: :meth:`current` to hand one out, :meth:`valid` to check one.

    ``secret`` (at least 32 random bytes) must be the same in every process that
    checks proofs for one API; ``period`` (seconds, at least 1) is how often the
    nonce changes.
    """

    __slots__ = ("_clock", "_last", "_secret", "period")

    def __init__(
        self, secret: bytes, *, period: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET:
            raise ConfigurationError(
                f"the DPoP nonce secret must be at least {_MIN_SECRET} random bytes "
                "(for example `python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        if isinstance(period, bool) or not isinstance(period, (int, float)) or not (
            math.isfinite(period) and period >= 1
        ):
            raise ConfigurationError("the DPoP nonce period must be a number of seconds >= 1")
        self._secret = secret
        self.period = float(period)
        self._clock = clock
        # The last two periods' nonces: (period number, nonce as bytes), newest first.
        self._last: tuple[tuple[int, bytes], ...] = ()

    def __repr__(self) -> str:
        return f"DPoPNonces(period={self.period:g})"

    def _nonce(self, number: int) -> bytes:
        for known, nonce in self._last:
            if known == number:
                return nonce
        mac = hmac.new(self._secret, _LABEL + number.to_bytes(8, "big", signed=True),
                       hashlib.sha256)
        nonce = b64url_encode(mac.digest()[:16])
        if not self._last or number > self._last[0][0]:
            self._last = ((number, nonce), *self._last[:1])
        return nonce

    def _number(self) -> int:
        return math.floor(self._clock() / self.period)

    def current(self) -> str:
        """The nonce of the current period."""
        return self._nonce(self._number()).decode("ascii")

    def valid(self, nonce: object) -> bool:
        """Whether ``nonce`` is the current period's nonce or the previous one's."""
        if not isinstance(nonce, str) or len(nonce) != 22 or not nonce.isascii():
            return False
        given = nonce.encode("ascii")
        number = self._number()
        current = hmac.compare_digest(given, self._nonce(number))
        previous = hmac.compare_digest(given, self._nonce(number - 1))
        return current | previous
