"""Prometheus (``prometheus_client``, the ``prometheus`` extra).

:class:`PrometheusMetrics` registers the package's metrics in a registry of its own
(``metrics.registry``) unless given one (``registry=prometheus_client.REGISTRY`` joins
the process-wide default, which ``prometheus_client.start_http_server`` serves).
:func:`prometheus_exposition` is the body and content type of a ``/metrics`` answer,
for any framework's route. The library is imported when a :class:`PrometheusMetrics`
is built, not when :mod:`jwt_middleware.metrics` is.

Several processes (gunicorn workers) each count their own: use prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) and its ``MultiProcessCollector``
registry for one answer over all of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._core.metrics import BUCKETS, Instrument
from ._base import Exporter, Series

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["PrometheusMetrics", "prometheus_exposition"]

_OPENMETRICS = "application/openmetrics-text"


def _library() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise ImportError(
            "PrometheusMetrics needs prometheus_client: pip install 'jwt-middleware[prometheus]'",
            name="prometheus_client",
        ) from None
    return prometheus_client


class PrometheusMetrics(Exporter):
    """The package's metrics as Prometheus counters, histograms and a gauge.

    Names are ``<namespace>_<name>`` (``jwt_middleware_verifications_total``, ...: see
    ``docs/metrics.md``); ``buckets`` are the histograms' bounds in seconds.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        namespace: str = "jwt_middleware",
        buckets: Sequence[float] = BUCKETS,
    ) -> None:
        super().__init__()
        lib = _library()
        self.registry: CollectorRegistry = (
            registry if registry is not None else lib.CollectorRegistry(auto_describe=True)
        )
        self.namespace = namespace
        self._families: dict[str, Any] = {}
        for inst in self._instruments.values():
            common: dict[str, Any] = {
                "namespace": namespace, "registry": self.registry, "labelnames": inst.labels,
            }
            if inst.kind == "counter":
                family = lib.Counter(inst.name, inst.help, **common)
            elif inst.kind == "histogram":
                family = lib.Histogram(inst.name, inst.help, buckets=tuple(buckets), **common)
            else:
                family = lib.Gauge(inst.name, inst.help, **common)
            self._families[inst.name] = family

    def __repr__(self) -> str:
        return f"PrometheusMetrics(namespace={self.namespace!r})"

    def _series(self, instrument: Instrument, values: tuple[str, ...]) -> Series:
        series: Series = self._families[instrument.name].labels(*values)
        return series


def prometheus_exposition(
    source: PrometheusMetrics | CollectorRegistry, accept: str | None = None
) -> tuple[bytes, str]:
    """``(body, content type)`` of a ``/metrics`` answer for ``source`` (a
    :class:`PrometheusMetrics` or any registry). With an ``accept`` header asking for
    ``application/openmetrics-text``, the OpenMetrics format; else Prometheus text."""
    lib = _library()
    registry = source.registry if isinstance(source, PrometheusMetrics) else source
    if accept and _OPENMETRICS in accept:
        openmetrics: Any = importlib.import_module("prometheus_client.openmetrics.exposition")
        return openmetrics.generate_latest(registry), str(openmetrics.CONTENT_TYPE_LATEST)
    return lib.generate_latest(registry), str(lib.CONTENT_TYPE_LATEST)
