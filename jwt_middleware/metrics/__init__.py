"""Metrics: verifications, stores, JWKS downloads, the issuer; Prometheus or OpenTelemetry.

Build one exporter and hand it to the parts that measure::

    from jwt_middleware.metrics import MeasuredStore, PrometheusMetrics, prometheus_exposition

    metrics = PrometheusMetrics()                       # pip install 'jwt-middleware[prometheus]'
    config = Config(..., store=MeasuredStore(store, metrics))   # store latency, errors, breaker
    body, content_type = prometheus_exposition(metrics)  # what a /metrics route answers

:class:`OpenTelemetryMetrics` (``jwt-middleware[otel]``) records the same on an
OpenTelemetry meter. :class:`Metrics` records nothing: the base of both, for an
exporter of your own. Label values come from fixed sets only (outcomes, reason codes,
store kinds and operations, breaker states, issuer events), never from a token: see
``docs/metrics.md`` for every name and label. Importing this module imports neither
library; building an exporter imports its own.
"""

from __future__ import annotations

from .._core.measured import MeasuredStore
from .._core.metrics import Metrics
from ._otel import OpenTelemetryMetrics
from ._prometheus import PrometheusMetrics, prometheus_exposition

__all__ = [
    "MeasuredStore",
    "Metrics",
    "OpenTelemetryMetrics",
    "PrometheusMetrics",
    "prometheus_exposition",
]
