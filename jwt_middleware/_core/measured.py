"""A store that reports its latency, errors and circuit breaker: one wrapper for all.

``MeasuredStore(store, metrics)`` is a :class:`Store` that passes every call to
``store`` and reports it (``store_operation``: the store's kind, the operation, the
seconds, whether it raised :class:`StoreError`), so no backend needs code for metrics.
Every public method of the store protocol that the store implements is wrapped, sync and
async alike (the abstract ones written out, the others by a class made once per store
class, so a method added to the protocol is measured too, and one the store leaves to
the protocol's default stays that default: ``has_sessions(wrapped)`` answers as for the
store); the operation is the name without the ``a`` prefix (``ais_revoked`` is
``is_revoked``);
any other attribute (``near_cache``, ``url``, a backend's own methods) is the wrapped
store's. A store with a circuit breaker (the Redis store) has its state read after each
call and reported when it changes.

Use it where the store is configured: ``Config(store=MeasuredStore(store, metrics))``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..stores import RotateOutcome, Store, StoreError
from .metrics import Metrics, store_kind

__all__ = ["MeasuredStore"]

_perf = time.perf_counter
T = TypeVar("T")
#: The wrapper class made for each store class (see :func:`_measured_class`).
_CLASSES: dict[type[Store], type[MeasuredStore]] = {}


def _breaker_state(breaker: Any) -> str:
    if not getattr(breaker, "tripped", False):
        return "closed"
    return "half_open" if getattr(breaker, "_probing", False) else "open"


class MeasuredStore(Store):
    """``store`` with each call reported to ``metrics`` (see the module docstring)."""

    def __new__(cls, store: Store, metrics: Metrics) -> MeasuredStore:
        if not isinstance(store, Store):
            raise TypeError("MeasuredStore wraps a Store")
        made = _CLASSES.get(type(store))
        if made is None:
            made = _CLASSES[type(store)] = _measured_class(type(store))
        return super().__new__(made)

    def __init__(self, store: Store, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics
        #: The ``store`` label: ``memory``, ``sqlite``, ``redis`` or ``other``.
        self.kind = store_kind(store)
        self._breaker = getattr(store, "_breaker", None)
        self._state = "closed"
        if self._breaker is not None:
            metrics.breaker_state(self.kind, "closed")

    def __repr__(self) -> str:
        return f"MeasuredStore({self.store!r})"

    def __getattr__(self, name: str) -> Any:
        if name == "store":  # not set yet: never recurse
            raise AttributeError(name)
        return getattr(self.store, name)

    def _done(self, operation: str, started: float, error: bool) -> None:
        # On every request (is_revoked): a try costs nothing, a suppress() context would.
        try:
            self.metrics.store_operation(self.kind, operation, _perf() - started, error)
            if self._breaker is not None:
                state = _breaker_state(self._breaker)
                if state != self._state:
                    self._state = state
                    self.metrics.breaker_state(self.kind, state)
        except Exception:  # noqa: S110 - metrics never break a store call
            pass

    def _timed(self, operation: str, call: Callable[..., T], *args: Any) -> T:
        started = _perf()
        try:
            result = call(*args)
        except StoreError:
            self._done(operation, started, True)
            raise
        self._done(operation, started, False)
        return result

    # The protocol's abstract methods, written out (the others are wrapped below).

    def revoke_token(self, jti: str, expires_at: float) -> None:
        self._timed("revoke_token", self.store.revoke_token, jti, expires_at)

    def revoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        self._timed("revoke_subject", self.store.revoke_subject, subject, before, expires_at)

    def start_family(self, family: str, jti: str, expires_at: float) -> None:
        self._timed("start_family", self.store.start_family, family, jti, expires_at)

    def rotate(
        self, family: str, jti: str, next_jti: str, expires_at: float, now: float,
        grace: float = 0.0,
    ) -> RotateOutcome:
        return self._timed(
            "rotate", self.store.rotate, family, jti, next_jti, expires_at, now, grace
        )

    def revoke_family(self, family: str, expires_at: float) -> None:
        self._timed("revoke_family", self.store.revoke_family, family, expires_at)

    def is_revoked(
        self, jti: str | None, subject: str | None, issued_at: float | None,
        family: str | None, now: float,
    ) -> bool:
        started = _perf()  # the check of every request: written out, no argument tuples
        try:
            result = self.store.is_revoked(jti, subject, issued_at, family, now)
        except StoreError:
            self._done("is_revoked", started, True)
            raise
        self._done("is_revoked", started, False)
        return result

    async def ais_revoked(
        self, jti: str | None, subject: str | None, issued_at: float | None,
        family: str | None, now: float,
    ) -> bool:
        started = _perf()
        try:
            result = await self.store.ais_revoked(jti, subject, issued_at, family, now)
        except StoreError:
            self._done("is_revoked", started, True)
            raise
        self._done("is_revoked", started, False)
        return result

    def purge(self, now: float) -> int:
        return self._timed("purge", self.store.purge, now)

    def close(self) -> None:
        self.store.close()

    async def aclose(self) -> None:
        await self.store.aclose()


def _sync(name: str, operation: str) -> Callable[..., Any]:
    def method(self: MeasuredStore, *args: Any, **kwargs: Any) -> Any:
        return self._timed(operation, lambda: getattr(self.store, name)(*args, **kwargs))

    method.__name__ = name
    return method


def _async(name: str, operation: str) -> Callable[..., Any]:
    async def method(self: MeasuredStore, *args: Any, **kwargs: Any) -> Any:
        started = _perf()
        try:
            result = await getattr(self.store, name)(*args, **kwargs)
        except StoreError:
            self._done(operation, started, True)
            raise
        self._done(operation, started, False)
        return result

    method.__name__ = name
    return method


def _measured_class(inner: type[Store]) -> type[MeasuredStore]:
    """The wrapper class for stores of class ``inner``: each public method of the protocol
    that ``inner`` implements is wrapped; one it leaves to :class:`Store` stays the
    protocol's default, so ``has_claims``/``has_sessions`` answer as for the store itself."""
    namespace: dict[str, Any] = {"__slots__": ()}
    for name, value in inspect.getmembers(Store, callable):
        if name.startswith("_") or name in vars(MeasuredStore):
            continue
        if getattr(inner, name, value) is value:
            continue  # the protocol's default: it calls the (measured) methods it needs
        coroutine = inspect.iscoroutinefunction(value)
        operation = name[1:] if coroutine and name.startswith("a") else name
        namespace[name] = (_async if coroutine else _sync)(name, operation)
    # ABCMeta (Store's) makes it: the abstract methods are MeasuredStore's or wrapped here.
    return cast(
        "type[MeasuredStore]", type(f"Measured{inner.__name__}", (MeasuredStore,), namespace)
    )
