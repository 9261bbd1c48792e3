"""OpenTelemetry (``opentelemetry-api``, the ``otel`` extra).

:class:`OpenTelemetryMetrics` creates the package's instruments on a meter
(``jwt_middleware``) of the given ``meter_provider``, or of the global one that the
app's OpenTelemetry SDK set up; exporting (OTLP, Prometheus, the console) is the
SDK's. Names are ``jwt_middleware.<name>`` (``jwt_middleware.verifications``, ...),
attributes the same fixed labels as Prometheus'. Histograms advise the SDK of the
same bucket bounds (seconds). The library is imported when one is built.
"""

from __future__ import annotations

from typing import Any

from .._core.metrics import BUCKETS, Instrument
from .._version import __version__
from ._base import Exporter, Series

__all__ = ["OpenTelemetryMetrics"]


class _Bound:
    """An OpenTelemetry instrument with its attributes bound (a :class:`Series`)."""

    __slots__ = ("_attributes", "_instrument")

    def __init__(self, instrument: Any, attributes: dict[str, str]) -> None:
        self._instrument = instrument
        self._attributes = attributes

    def inc(self, amount: float = 1) -> None:
        self._instrument.add(amount, self._attributes)

    def observe(self, amount: float) -> None:
        self._instrument.record(amount, self._attributes)

    def set(self, value: float) -> None:
        self._instrument.set(value, self._attributes)


class OpenTelemetryMetrics(Exporter):
    """The package's metrics as OpenTelemetry counters, histograms and a gauge."""

    def __init__(
        self,
        meter_provider: Any = None,
        *,
        meter: Any = None,
        namespace: str = "jwt_middleware",
    ) -> None:
        super().__init__()
        try:
            from opentelemetry import metrics as otel
        except ImportError:
            raise ImportError(
                "OpenTelemetryMetrics needs opentelemetry-api: "
                "pip install 'jwt-middleware[otel]'",
                name="opentelemetry",
            ) from None
        self.meter = meter if meter is not None else otel.get_meter(
            "jwt_middleware", __version__, meter_provider=meter_provider
        )
        self.namespace = namespace
        self._made: dict[str, Any] = {}
        for inst in self._instruments.values():
            name = f"{namespace}.{inst.name}"
            unit = inst.unit or "1"
            if inst.kind == "counter":
                made = self.meter.create_counter(name, unit=unit, description=inst.help)
            elif inst.kind == "histogram":
                made = self.meter.create_histogram(
                    name, unit=unit, description=inst.help,
                    explicit_bucket_boundaries_advisory=list(BUCKETS),
                )
            else:
                made = self.meter.create_gauge(name, unit=unit, description=inst.help)
            self._made[inst.name] = made

    def __repr__(self) -> str:
        return f"OpenTelemetryMetrics(namespace={self.namespace!r})"

    def _series(self, instrument: Instrument, values: tuple[str, ...]) -> Series:
        attributes = dict(zip(instrument.labels, values, strict=True))
        return _Bound(self._made[instrument.name], attributes)
