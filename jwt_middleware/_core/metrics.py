"""The metrics seam: what the package measures, with label values from fixed sets.

The parts that measure (the request policy, the issuer, the JWKS client, a store
wrapped in :class:`~jwt_middleware.metrics.MeasuredStore`) hold a :class:`Metrics` or
``None``; off, a hook costs one ``None`` check. :class:`Metrics` itself records
nothing: the exporters in :mod:`jwt_middleware.metrics` (Prometheus, OpenTelemetry)
override its methods.

Every label value comes from a fixed set (the tuples below): outcomes, reason codes (the
:class:`AuthError` classes' ``reason``), store kinds, store operations, breaker states,
token events. :func:`label` turns anything else into ``"other"``, so no label ever
carries token content and the number of series stays bounded whatever clients send.

:data:`INSTRUMENTS` is the one table of metric names, kinds, labels and help texts that
every exporter builds from (names get the exporter's namespace, ``jwt_middleware_``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .reasons import OTHER, known_reason

__all__ = [
    "INSTRUMENTS",
    "Instrument",
    "Metrics",
    "jwks_outcome",
    "label",
    "reason_label",
    "store_kind",
]

#: A verification: ``ok``, ``refused`` (401/403), ``unavailable`` (503: a store or key
#: source that could not be asked).
VERIFY_OUTCOMES = ("ok", "refused", "unavailable")
#: The reason label of a verification that passed.
NO_REASON = "none"
STORE_KINDS = ("memory", "sqlite", "redis")
STORE_OPERATIONS = (
    "revoke_token", "revoke_subject", "start_family", "rotate", "revoke_family",
    "is_revoked", "purge", "claim_once", "ping", "start_session", "rotate_session",
    "record_session", "touch_session", "session", "sessions",
)
BREAKER_STATES = ("closed", "half_open", "open")
#: A JWKS download: ``ok``, ``timeout``, ``invalid`` (not a usable JWKS), ``error``.
JWKS_OUTCOMES = ("ok", "timeout", "invalid", "error")
#: What the issuer did: a login pair, a rotation, a detected reuse, a logout, a revocation.
TOKEN_EVENTS = ("issued", "refreshed", "reuse_detected", "logout", "revoked")

#: The breaker gauge's values.
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


class Instrument(NamedTuple):
    """One metric: its name (without namespace or unit suffixes), kind, labels, help."""

    name: str
    kind: str  # "counter", "histogram" or "gauge"
    labels: tuple[str, ...]
    help: str
    unit: str = ""


INSTRUMENTS = (
    Instrument("verifications", "counter", ("outcome", "reason"),
               "Token verifications on the request path, by outcome and reason code"),
    Instrument("verification_seconds", "histogram", ("outcome",),
               "Time to verify a request's token (revocation check included)", "s"),
    Instrument("store_operation_seconds", "histogram", ("store", "operation"),
               "Time of store operations, by store kind and operation", "s"),
    Instrument("store_errors", "counter", ("store", "operation"),
               "Store operations that failed (StoreError), by store kind and operation"),
    Instrument("store_breaker_state", "gauge", ("store",),
               "The store's circuit breaker: 0 closed, 1 half-open, 2 open"),
    Instrument("jwks_fetches", "counter", ("outcome",),
               "JWKS downloads, by outcome (ok, timeout, invalid, error)"),
    Instrument("jwks_fetch_seconds", "histogram", ("outcome",),
               "Time of JWKS downloads", "s"),
    Instrument("tokens", "counter", ("event",),
               "Issuer events: issued (login), refreshed, reuse_detected, logout, revoked"),
)

#: Histogram buckets (seconds): from a cache hit to a slow store or download.
BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
           0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def label(value: object, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``, else ``"other"``."""
    return value if isinstance(value, str) and value in allowed else OTHER


def reason_label(reason: object) -> str:
    """A reason code, ``"none"`` for no reason, else ``"other"``."""
    if reason is None or reason == NO_REASON:
        return NO_REASON
    return known_reason(reason)


def jwks_outcome(error: str | None) -> str:
    """A JWKS download's outcome from the key cache's ``last_error`` after it settled."""
    if error is None:
        return "ok"
    if error.startswith("timed out"):
        return "timeout"
    if error.startswith("the document "):  # not JSON, no usable key, too large
        return "invalid"
    return "error"


def store_kind(store: object) -> str:
    """``memory``, ``sqlite``, ``redis`` (from the class name), else ``other``."""
    name = type(store).__name__.lower()
    for kind in STORE_KINDS:
        if name.startswith(kind):
            return kind
    return OTHER


class Metrics:
    """Records nothing: the base of the exporters, and what "no metrics" means.

    Every method takes label values from the fixed sets above (others are recorded as
    ``"other"`` by the exporters) and never raises into the caller.
    """

    def verification(self, outcome: str, reason: str | None, seconds: float | None) -> None:
        """One verification on the request path (``seconds``: ``None`` when not timed)."""

    def store_operation(self, store: str, operation: str, seconds: float, error: bool) -> None:
        """One store call and whether it raised :class:`StoreError`."""

    def breaker_state(self, store: str, state: str) -> None:
        """The state of a store's circuit breaker, when it changed."""

    def jwks_fetch(self, outcome: str, seconds: float) -> None:
        """One JWKS download."""

    def token_event(self, event: str) -> None:
        """One issuer event (``issued``, ``refreshed``, ``reuse_detected``, ...)."""
