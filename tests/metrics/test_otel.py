"""OpenTelemetry: the same instruments, read back with the SDK's in-memory reader."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from jwt_middleware.metrics import OpenTelemetryMetrics

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "jwt_middleware"
            for metric in scope.metrics:
                found[metric.name] = list(metric.data.data_points)
    return found


def test_the_instruments_record_with_fixed_attributes() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics = OpenTelemetryMetrics(provider)
    metrics.verification("ok", None, 0.0003)
    metrics.verification("ok", None, 0.0005)
    metrics.verification("refused", "expired", 0.001)
    metrics.verification(TOKEN, TOKEN, 0.001)
    metrics.store_operation("sqlite", "is_revoked", 0.002, True)
    metrics.breaker_state("redis", "half_open")
    metrics.jwks_fetch("invalid", 0.3)
    metrics.token_event("refreshed")
    points = _points(reader)
    assert set(points) == {
        "jwt_middleware.verifications", "jwt_middleware.verification_seconds",
        "jwt_middleware.store_operation_seconds", "jwt_middleware.store_errors",
        "jwt_middleware.store_breaker_state", "jwt_middleware.jwks_fetches",
        "jwt_middleware.jwks_fetch_seconds", "jwt_middleware.tokens",
    }
    counts = {tuple(sorted(p.attributes.items())): p.value
              for p in points["jwt_middleware.verifications"]}  # fmt: skip
    assert counts == {
        (("outcome", "ok"), ("reason", "none")): 2,
        (("outcome", "refused"), ("reason", "expired")): 1,
        (("outcome", "other"), ("reason", "other")): 1,
    }
    (ok,) = [p for p in points["jwt_middleware.verification_seconds"]
             if p.attributes == {"outcome": "ok"}]  # fmt: skip
    assert ok.count == 2
    assert abs(ok.sum - 0.0008) < 1e-12
    assert 0.00025 in ok.explicit_bounds  # the package's buckets, not the SDK's defaults
    (gauge,) = points["jwt_middleware.store_breaker_state"]
    assert (gauge.value, dict(gauge.attributes)) == (1, {"store": "redis"})
    (errors,) = points["jwt_middleware.store_errors"]
    assert dict(errors.attributes) == {"store": "sqlite", "operation": "is_revoked"}
    everything = repr(points)
    assert "eyJ" not in everything
    assert "c2ln" not in everything
    provider.shutdown()
