"""The audit trail: one :class:`Audit` fans each event out to its sinks.

* **Never in the way.** :meth:`Audit.emit` never raises and never waits for I/O. Sinks
  that do I/O (a store-backed log: SQLite, Redis) are written by one worker thread per
  process, in batches, from a bounded buffer (``queue_size``, 10,000 events); when it is
  full, new events are dropped and counted. The logging sink runs in the caller, like
  every other log line of the package (a slow handler is the app's to queue, with
  :class:`logging.handlers.QueueHandler`). An async app is therefore never blocked by
  the trail, and no ``a``-prefixed twin is needed.
* **A failing sink** is logged (logger ``jwt_middleware``, WARNING) at most once per
  minute per sink, with the sink's class, the error's type and the number of events it
  lost, never an event's ids (they are personal data and belong in the trail only).
  The other sinks still get every event.
* **Refusals are rate-limited.** ``refused`` and ``reuse_detected`` events pass a token
  bucket per (kind, reason): ``refusal_rate`` (10) records a second, bursts of up
  to ``refusal_burst`` (twice that). Every event left out is counted, and at most every
  ``summary_every`` seconds (60) one summary event per (kind, reason) says how many
  (``outcome="suppressed"``, ``count``): a flood of bad tokens writes a bounded number
  of records, and the counts add up exactly.

:meth:`Audit.on_event` takes the request policy's refusal events, so
``JWTMiddleware(..., on_event=audit.on_event)`` records every refused request.
:meth:`Audit.flush` waits until the worker has written what was emitted (tests,
shutdown); :meth:`Audit.close` flushes and stops it (also run at interpreter exit).
"""

from __future__ import annotations

import atexit
import collections
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..stores._audit_base import audit_log_from_url
from .audit import REFUSALS, AuditEvent, AuditKind, AuditSink, LoggingSink, LogSink, sink_name
from .errors import ConfigurationError
from .reasons import known_reason

__all__ = ["Audit"]

logger = logging.getLogger("jwt_middleware")

#: Kinds that pass the rate limit.
LIMITED = REFUSALS
_BATCH = 500
_WARN_EVERY = 60.0


class _Buckets:
    """Token buckets per key, and the count each left out since the last summary."""

    __slots__ = ("burst", "rate", "suppressed", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens: dict[Any, tuple[float, float]] = {}  # key -> (tokens, at)
        self.suppressed: dict[Any, int] = {}

    def admit(self, key: Any, now: float) -> bool:
        tokens, at = self.tokens.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
        if tokens >= 1.0:
            self.tokens[key] = (tokens - 1.0, now)
            return True
        self.tokens[key] = (tokens, now)
        self.suppressed[key] = self.suppressed.get(key, 0) + 1
        return False


class Audit:
    """Sends audit events to sinks (default: one JSON line each through ``logging``).

    ``sinks`` replaces the default :class:`LoggingSink`; ``url`` adds a store-backed
    log (``sqlite:///audit.db``, ``redis://...``). ``request_id`` is called for an event
    emitted without one (for example a function reading the app's context variable).
    ``clock`` gives event times and drives the rate limit (seconds).
    """

    def __init__(
        self,
        sinks: Iterable[AuditSink] | None = None,
        *,
        url: str | None = None,
        refusal_rate: float = 10.0,
        refusal_burst: float | None = None,
        summary_every: float = 60.0,
        queue_size: int = 10_000,
        request_id: Callable[[], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        chosen: list[AuditSink] = [LoggingSink()] if sinks is None else list(sinks)
        if url is not None:
            chosen.append(LogSink(audit_log_from_url(url)))
        for sink in chosen:
            if not isinstance(sink, AuditSink):
                raise ConfigurationError(f"an audit sink needs emit, write and blocking: {sink!r}")
        burst = 2 * refusal_rate if refusal_burst is None else refusal_burst
        if not (math.isfinite(refusal_rate) and refusal_rate > 0):
            raise ConfigurationError("refusal_rate must be a positive number")
        if not (math.isfinite(burst) and burst >= 1):
            raise ConfigurationError("refusal_burst must be at least 1")
        if not (math.isfinite(summary_every) and summary_every > 0):
            raise ConfigurationError("summary_every must be a positive number of seconds")
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ConfigurationError("queue_size must be a positive whole number")
        self.sinks: tuple[AuditSink, ...] = tuple(chosen)
        self._inline = tuple(s for s in chosen if not s.blocking)
        self._blocking = tuple(s for s in chosen if s.blocking)
        self.refusal_rate = float(refusal_rate)
        self.summary_every = float(summary_every)
        self.queue_size = queue_size
        self._request_id = request_id
        self._clock = clock
        self._buckets = _Buckets(float(refusal_rate), float(burst))
        self._limit_lock = threading.Lock()
        self._last_summary = clock()
        self._lost: dict[str, int] = {}
        self._lost_total = 0
        self._warned: dict[str, float] = {}
        self._closed = False
        self._reset_worker()
        self._exit_hook = _exit_hook(weakref.ref(self))
        atexit.register(self._exit_hook)

    def __repr__(self) -> str:
        return f"Audit(sinks={list(self.sinks)!r})"

    # --- emitting ---------------------------------------------------------------------

    def emit(
        self,
        kind: AuditKind | str,
        *,
        outcome: str | None = None,
        subject: str | None = None,
        session: str | None = None,
        token_id: str | None = None,
        key_id: str | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Record one event (never raises; refusals pass the rate limit)."""
        try:
            kind = AuditKind(kind)
            now = self._clock()
            if kind in LIMITED:
                reason = None if reason is None else known_reason(reason)
                with self._limit_lock:
                    admitted = self._buckets.admit((kind, reason), now)
                if not admitted:
                    self._start_worker()  # its tick writes the summary even if the flood stops
                    self._summarise(now)
                    return
            if request_id is None and self._request_id is not None:
                request_id = self._request_id()
            event = AuditEvent(
                now, kind, outcome or "",
                subject=subject, session=session, token_id=token_id, key_id=key_id,
                reason=reason, request_id=request_id,
            )
            self.record(event)
            if kind in LIMITED and self._buckets.suppressed:
                self._summarise(now)
        except Exception as exc:  # an audit hook never breaks the request
            self._failed("Audit", exc, 1)

    def record(self, event: AuditEvent) -> None:
        """Send a built event to every sink, as it is (no rate limit)."""
        for sink in self._inline:
            try:
                sink.emit(event)
            except Exception as exc:
                self._failed(sink_name(sink), exc, 1)
        if self._blocking and not self._closed:
            self._enqueue(event)

    def on_event(self, event: Any) -> None:
        """A refusal of the request policy (an ``AuthEvent``: ``reason``, ``subject``)."""
        self.emit(
            AuditKind.REFUSED, reason=getattr(event, "reason", None),
            subject=getattr(event, "subject", None),
        )

    def hook(self, other: Callable[[Any], None] | None = None) -> Callable[[Any], None]:
        """An ``on_event`` hook that calls ``other`` (the app's own, if any), then
        :meth:`on_event`."""
        if other is None:
            return self.on_event

        def both(event: Any) -> None:
            try:
                other(event)
            finally:
                self.on_event(event)

        return both

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], prefix: str = "JWT_") -> Audit:
        """An audit from prefixed settings: ``JWT_AUDIT_URL`` and ``JWT_AUDIT_REFUSAL_RATE``."""
        url = mapping.get(prefix + "AUDIT_URL") or None
        if url is not None and not isinstance(url, str):
            raise ConfigurationError(f"{prefix}AUDIT_URL has a value of the wrong form: give text")
        rate = mapping.get(prefix + "AUDIT_REFUSAL_RATE")
        try:
            per_second = 10.0 if rate in (None, "") else float(rate)
            if isinstance(rate, bool):
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{prefix}AUDIT_REFUSAL_RATE has a value of the wrong form: give a number of "
                "records a second, e.g. 10"
            ) from None
        return cls(url=url, refusal_rate=per_second)

    # --- the rate limit's summaries -----------------------------------------------------

    def _summarise(self, now: float, force: bool = False) -> None:
        with self._limit_lock:
            suppressed = self._buckets.suppressed
            if not suppressed or not (force or now - self._last_summary >= self.summary_every):
                return
            self._buckets.suppressed = {}
            self._last_summary = now
        for (kind, reason), count in sorted(suppressed.items(), key=lambda i: str(i[0])):
            self.record(AuditEvent(now, kind, "suppressed", reason=reason, count=count))

    # --- the worker -------------------------------------------------------------------

    def _reset_worker(self) -> None:
        self._pid = os.getpid()
        self._buffer: collections.deque[AuditEvent] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._pending = 0  # queued or being written
        self._thread: threading.Thread | None = None
        self._stop = False

    def _start_worker(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's thread is not here
            self._reset_worker()
        if self._thread is None and not self._closed:
            with self._cond:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="jwt_middleware-audit", daemon=True
                    )
                    self._thread.start()

    def _enqueue(self, event: AuditEvent) -> None:
        self._start_worker()
        with self._cond:
            if len(self._buffer) >= self.queue_size:
                full = True
            else:
                full = False
                self._buffer.append(event)
                self._pending += 1
                self._cond.notify()
        if full:
            self._failed("the audit queue", OverflowError("full"), 1)

    def _run(self) -> None:
        tick = min(self.summary_every, 1.0)
        while True:
            with self._cond:
                if not self._buffer and not self._stop:
                    self._cond.wait(tick)
                batch = [self._buffer.popleft() for _ in range(min(_BATCH, len(self._buffer)))]
                stop = self._stop and not self._buffer
            if batch:
                self._write(batch)
            self._summarise(self._clock())
            if stop:
                return

    def _write(self, batch: list[AuditEvent]) -> None:
        try:
            for sink in self._blocking:
                try:
                    sink.write(batch)
                except Exception as exc:
                    self._failed(sink_name(sink), exc, len(batch))
        finally:
            with self._cond:
                self._pending -= len(batch)
                self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Write the summary due now and wait until every emitted event reached its
        sinks (at most ``timeout`` seconds); ``True`` if it did."""
        self._summarise(self._clock(), force=True)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and self._pid == os.getpid():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Flush, stop the worker and close the store-backed logs."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        atexit.unregister(self._exit_hook)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and self._pid == os.getpid():
            thread.join(timeout)
        for sink in self.sinks:
            closer = getattr(sink, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception as exc:
                    self._failed(sink_name(sink), exc, 0)

    # --- failures -----------------------------------------------------------------------

    def _failed(self, where: str, exc: BaseException, lost: int) -> None:
        now = time.monotonic()
        with self._limit_lock:
            self._lost[where] = self._lost.get(where, 0) + lost
            self._lost_total += lost
            if now - self._warned.get(where, -math.inf) < _WARN_EVERY:
                return
            self._warned[where] = now
            count, self._lost[where] = self._lost[where], 0
        logger.warning(
            "audit: %s failed (%s); %d event%s not recorded since the last warning",
            where, type(exc).__name__, count, "" if count == 1 else "s",
        )

    @property
    def lost(self) -> int:
        """How many events a sink failed to record or the full queue dropped, in all."""
        return self._lost_total


def _exit_hook(ref: weakref.ref[Audit]) -> Callable[[], None]:
    def hook() -> None:
        audit = ref()
        if audit is not None:
            audit.close(timeout=2.0)

    return hook
