"""A small circuit breaker for a store behind the network (used by the Redis store).

Without it, a frozen server (``SIGSTOP``, a stalled VM, a black-holed route)
holds every request for the whole socket timeout, and a thread-per-request
server runs out of threads. With it:

* **closed** (normal): every call goes to the server; failures in a row are
  counted and any answer resets the count;
* **open**: after ``failures`` in a row, calls raise :class:`StoreError` at
  once, without touching the network, for ``open_for`` seconds; the error's
  ``retry_after`` is the whole seconds left (at least 1);
* **half-open**: when the window has passed, one call (the probe) goes
  through while the others still fail fast; an answer closes the breaker, a
  failure opens it for another window.

Only failures to reach the server count (connection refused or reset,
timeouts); an error the server answered with (a refused command) shows that it
is there. Safe for threads and asyncio tasks alike: state changes happen under
a lock that is never held across I/O. On the hot path, a closed breaker costs
one attribute read before the call (:attr:`tripped`) and one after
(:attr:`count`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ._base import StoreError

__all__ = ["Breaker"]


class Breaker:
    """Counts consecutive failures; opens, probes, closes. See the module docstring."""

    __slots__ = ("_clock", "_lock", "_open_until", "_probing", "count", "failures", "open_for",
                 "tripped")

    def __init__(
        self,
        failures: int = 3,
        open_for: float = 3.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 0:
            raise StoreError("breaker_failures must be 0 (no breaker) or more")
        if not open_for > 0 or math.isinf(open_for):
            raise StoreError("breaker_open_for must be a positive number of seconds")
        #: Failures in a row that open the breaker (0: never opens).
        self.failures = failures
        #: Seconds the breaker stays open before it lets a probe through.
        self.open_for = float(open_for)
        #: Failures in a row so far.
        self.count = 0
        #: True while open or half-open: the only thing a call reads first.
        self.tripped = False
        self._open_until = 0.0
        self._probing = False
        self._clock = clock
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "closed" if not self.tripped else "open"
        return f"Breaker({state}, failures={self.failures}, open_for={self.open_for:g})"

    def admit(self) -> bool:
        """Call only when :attr:`tripped`: ``True`` for the probe, else :class:`StoreError`."""
        now = self._clock()
        with self._lock:
            if not self.tripped:  # closed meanwhile by another caller's answer
                return False
            left = self._open_until - now
            if left <= 0 and not self._probing:
                self._probing = True
                return True
        raise StoreError(
            "the store did not answer recently (circuit open); not asked",
            retry_after=max(1, math.ceil(left)),
        )

    def succeeded(self) -> None:
        """The server answered: close, and forget earlier failures."""
        with self._lock:
            self.count = 0
            self.tripped = False
            self._probing = False

    def failed(self, probe: bool) -> None:
        """The server could not be reached (a failed probe opens a new window)."""
        now = self._clock()
        with self._lock:
            self.count += 1
            if probe:
                self._probing = False
            if probe or (self.failures and self.count >= self.failures):
                self._open_until = now + self.open_for
                self.tripped = True

    def abandoned(self, probe: bool) -> None:
        """The call ended with no verdict (cancelled): the next caller may probe."""
        if probe:
            with self._lock:
                self._probing = False

    def remaining(self) -> float:
        """Seconds until a probe may go through (0 when closed or half-open)."""
        if not self.tripped:
            return 0.0
        return max(0.0, self._open_until - self._clock())
