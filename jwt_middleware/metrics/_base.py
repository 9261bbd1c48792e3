"""What both exporters share: fixed labels, and each series looked up once.

An exporter names its instruments from :data:`~jwt_middleware._core.metrics.INSTRUMENTS`
and makes one *series* (an instrument with its label values bound) on demand
(:meth:`Exporter._series`); the methods of :class:`Metrics` turn their arguments into
fixed label values (anything unknown is ``"other"``) and keep the series by the
arguments they were called with, so the request path pays one dictionary look-up and
the record itself. At most :data:`MAX_SERIES` argument combinations are kept; past that
(never, with the package's own callers) labels are worked out at every call.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from .._core.metrics import (
    BREAKER_STATES,
    BREAKER_VALUES,
    INSTRUMENTS,
    JWKS_OUTCOMES,
    STORE_KINDS,
    STORE_OPERATIONS,
    TOKEN_EVENTS,
    VERIFY_OUTCOMES,
    Instrument,
    Metrics,
    label,
    reason_label,
)

__all__ = ["MAX_SERIES", "Exporter", "Series"]

MAX_SERIES = 4096


class Series(Protocol):
    """One instrument with its labels bound: a counter adds, a histogram observes, a
    gauge is set (each exporter's object has the one its kind needs)."""

    def inc(self, amount: float = 1) -> None: ...

    def observe(self, amount: float) -> None: ...

    def set(self, value: float) -> None: ...


class Exporter(Metrics):
    """A :class:`Metrics` that records: subclasses make the series (:meth:`_series`)."""

    def __init__(self) -> None:
        self._instruments = {i.name: i for i in INSTRUMENTS}
        self._cache: dict[Any, Any] = {}

    def _series(self, instrument: Instrument, values: tuple[str, ...]) -> Series:
        raise NotImplementedError

    def _get(self, key: Any, make: Any) -> Any:
        found = self._cache.get(key)
        if found is None:
            found = make()
            if len(self._cache) < MAX_SERIES:
                self._cache[key] = found
        return found

    def _one(self, name: str, values: tuple[str, ...]) -> Any:
        return self._series(self._instruments[name], values)

    # The two methods of every request: one look-up, no closure unless new; a try costs
    # nothing, a suppress() context would.

    def verification(self, outcome: str, reason: str | None, seconds: float | None) -> None:
        try:
            key = ("v", outcome, reason)
            pair = self._cache.get(key)
            if pair is None:
                pair = self._get(key, lambda: (
                    self._one("verifications", (label(outcome, VERIFY_OUTCOMES),
                                                reason_label(reason))),
                    self._one("verification_seconds", (label(outcome, VERIFY_OUTCOMES),)),
                ))
            pair[0].inc()
            if seconds is not None:
                pair[1].observe(seconds)
        except Exception:  # noqa: S110 - metrics never break a request
            pass

    def store_operation(self, store: str, operation: str, seconds: float, error: bool) -> None:
        try:
            key = ("s", store, operation)
            pair = self._cache.get(key)
            if pair is None:
                values = (label(store, STORE_KINDS), label(operation, STORE_OPERATIONS))
                pair = self._get(key, lambda: (
                    self._one("store_operation_seconds", values),
                    self._one("store_errors", values),
                ))
            pair[0].observe(seconds)
            if error:
                pair[1].inc()
        except Exception:  # noqa: S110 - metrics never break a request
            pass

    def breaker_state(self, store: str, state: str) -> None:
        with contextlib.suppress(Exception):  # metrics never break a request
            gauge = self._get(("b", store), lambda: self._one(
                "store_breaker_state", (label(store, STORE_KINDS),)))
            gauge.set(BREAKER_VALUES.get(label(state, BREAKER_STATES), -1))

    def jwks_fetch(self, outcome: str, seconds: float) -> None:
        with contextlib.suppress(Exception):  # metrics never break a request
            count, timing = self._get(("j", outcome), lambda: (
                self._one("jwks_fetches", values := (label(outcome, JWKS_OUTCOMES),)),
                self._one("jwks_fetch_seconds", values),
            ))
            count.inc()
            timing.observe(seconds)

    def token_event(self, event: str) -> None:
        with contextlib.suppress(Exception):  # metrics never break a request
            self._get(("t", event), lambda: self._one(
                "tokens", (label(event, TOKEN_EVENTS),))).inc()
