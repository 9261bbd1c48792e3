"""Signing keys rotated on a schedule: when a rotation is due, and a scheduler that does it.

**When it is due.** With a rotation period ``P`` and keys published ``A``
(``activate_after``) before they sign, a rotation is due ``A`` before the signing key has
signed for ``P``: its successor, published then, takes over when it has, so no key
signs for longer than the period (plus however late the check runs). While a new key is
pending, no rotation is due; an empty ring is due at once (its first key). ``P`` must be
longer than ``A``.

**Exactly one rotation.** :meth:`KeyRing.rotate_if_due` takes the ring's lock (an
advisory ``flock`` on ``.lock`` in the ring's directory), re-reads the directory and
asks again whether a rotation is due before it rotates. Of any number of processes (or
cron hosts on one local directory) checking the same ring at the same moment, the first
to take the lock rotates; the others find the new key, pending, and do nothing. Every
file the ring writes is written to a temporary name and moved into place
(``os.replace``), so a reader never sees half a key.

**The scheduler.** :class:`RotationScheduler` runs those checks in a daemon thread of
the issuer's process, started and stopped explicitly (from the app factory, or an ASGI
lifespan); each check also re-reads the ring, so the process sees rotations made by
the others. Its clock is the ring's.

An :class:`~jwt_middleware.Issuer` signs with the key it was built with: after the
signing key changes, build a new one from ``ring.key_set()`` (``on_rotate`` tells when
this process rotated; ``ring.signing_key()`` which key signs now).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._core.errors import ConfigurationError, JWTMiddlewareError
from .._core.policy import DEFAULT_ACTIVATE_AFTER, TokenPolicy
from .ringkey import RingKey

if TYPE_CHECKING:
    from .._core.keys import Key
    from .keyring import KeyRing

__all__ = ["RotationScheduler", "next_rotation", "rotate_if_due"]

_log = logging.getLogger("jwt_middleware.rotation")


def _check_schedule(period: float, activate_after: float) -> None:
    if not (math.isfinite(activate_after) and activate_after >= 0):
        raise ConfigurationError("activate_after must be zero or more seconds")
    if not (math.isfinite(period) and period > activate_after):
        raise ConfigurationError(
            f"the rotation period ({period:.10g} s) must be longer than activate_after "
            f"({activate_after:.10g} s): a new key is published that long before it signs"
        )


def next_rotation(keys: Sequence[RingKey[Any]], period: float, activate_after: float) -> float:
    """When the next rotation is due, for the ring's unretired ``keys`` (``-inf``: now,
    the ring has no signing key)."""
    _check_schedule(period, activate_after)
    signing = [k for k in keys if k.use == "sig"]
    if not signing:
        return -math.inf
    newest = max(signing, key=lambda k: (k.activates_at, k.seq))
    return newest.activates_at + period - activate_after


def rotate_if_due(
    ring: KeyRing,
    now: float | None,
    *,
    period: float,
    activate_after: float,
    retire_after: float | None,
    algorithm: str | None,
) -> RingKey[Key] | None:
    """The new key if a rotation was due (decided under the ring's lock), else ``None``."""
    _check_schedule(period, activate_after)
    with ring._locked():  # the same lock rotate() takes: it is reentrant
        ring.refresh()  # another process may have rotated since this one last looked
        at = ring.clock() if now is None else float(now)
        if at < next_rotation(ring.entries(at), period, activate_after):
            return None
        return ring.rotate(
            at, algorithm=algorithm, activate_after=activate_after, retire_after=retire_after
        )


class RotationScheduler:
    """Rotates ``ring``'s signing key on schedule, in a thread of this process.

    The schedule comes from ``policy`` (a :class:`~jwt_middleware.TokenPolicy`: its
    ``key_rotation_period``, ``key_activate_after`` and ``key_retire_after``) or from the
    keywords, which win. It checks every ``check_every`` seconds (default: a tenth of the
    period, at most 5 minutes); ``on_rotate(entry)`` is called after each rotation this
    process made. Several processes may run one each on the same ring directory: each
    due rotation happens once (see the module).

    ``start()`` checks at once and then on schedule; ``stop()`` ends the thread. It also
    works as a context manager. A failed check (a directory that cannot be written) is
    logged, without key material, and tried again at the next one.
    """

    def __init__(
        self,
        ring: KeyRing,
        policy: TokenPolicy | None = None,
        *,
        period: float | None = None,
        check_every: float | None = None,
        activate_after: float | None = None,
        retire_after: float | None = None,
        algorithm: str | None = None,
        on_rotate: Callable[[RingKey[Key]], object] | None = None,
    ) -> None:
        if policy is not None and not isinstance(policy, TokenPolicy):
            raise ConfigurationError("policy must be a jwt_middleware TokenPolicy (or None)")
        if policy is not None:
            policy.check_ring(ring.max_token_lifetime)
        period = period if period is not None else getattr(policy, "key_rotation_period", None)
        if period is None:
            raise ConfigurationError(
                "a rotation scheduler needs a period: RotationScheduler(ring, period=...) or "
                "a TokenPolicy with key_rotation_period (JWT_KEY_ROTATION_PERIOD)"
            )
        if activate_after is None:
            activate_after = getattr(policy, "key_activate_after", DEFAULT_ACTIVATE_AFTER)
        if retire_after is None and policy is not None:
            retire_after = policy.key_retire_after
        _check_schedule(float(period), float(activate_after))
        if retire_after is not None and not retire_after >= ring.max_token_lifetime:
            raise ConfigurationError(
                f"retire_after ({retire_after:.10g} s) is shorter than the ring's "
                f"max_token_lifetime ({ring.max_token_lifetime:.10g} s): replaced keys "
                "must verify until every token they signed has expired"
            )
        if check_every is None:
            check_every = min(float(period) / 10, 300.0)
        if not (math.isfinite(check_every) and 0 < check_every <= period):
            raise ConfigurationError("check_every must be more than 0 s and at most the period")
        self.ring = ring
        self.period = float(period)
        self.activate_after = float(activate_after)
        self.retire_after = retire_after
        self.algorithm = algorithm
        self.check_every = float(check_every)
        self.on_rotate = on_rotate
        #: Checks done, and rotations made, by this scheduler.
        self.checks = 0
        self.rotations = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = threading.Condition()

    def __repr__(self) -> str:
        return f"<RotationScheduler period={self.period:.10g} s running={self.running}>"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def due(self, now: float | None = None) -> bool:
        """Whether a rotation is due at ``now`` (the ring's clock by default)."""
        at = self.ring.clock() if now is None else now
        return at >= next_rotation(self.ring.refresh().entries(at), self.period,
                                   self.activate_after)  # fmt: skip

    def check(self, now: float | None = None) -> RingKey[Key] | None:
        """One check: rotate if due (exactly once across processes); the new key or ``None``."""
        try:
            entry = rotate_if_due(
                self.ring, now, period=self.period, activate_after=self.activate_after,
                retire_after=self.retire_after, algorithm=self.algorithm,
            )  # fmt: skip
            if entry is not None:
                self.rotations += 1
                _log.info("rotated the signing key: new key %s published", entry.kid)
                if self.on_rotate is not None:
                    self.on_rotate(entry)
            return entry
        finally:
            with self._done:
                self.checks += 1
                self._done.notify_all()

    def wait_for_checks(self, count: int, timeout: float | None = None) -> bool:
        """Wait until this scheduler has made ``count`` checks (failed ones too); ``False``
        if ``timeout`` seconds passed first. An app may wait for the first one at start-up."""
        with self._done:
            return self._done.wait_for(lambda: self.checks >= count, timeout)

    def _run(self) -> None:
        while True:
            try:
                self.check()
            except Exception as exc:  # keep the schedule; the next check tries again
                said = str(exc) if isinstance(exc, (JWTMiddlewareError, OSError)) else ""
                _log.warning("key rotation check failed: %s %s", type(exc).__name__, said)
            if self._stop.wait(self.check_every):
                return

    def start(self) -> RotationScheduler:
        """Start the thread (a first check runs at once). Starting twice is refused."""
        if self.running:
            raise RuntimeError("the rotation scheduler is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="jwt-key-rotation", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the thread and wait for it (a check under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> RotationScheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
