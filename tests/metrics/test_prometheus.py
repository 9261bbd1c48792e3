"""Prometheus: the exposition names the expected metrics, with fixed labels only."""

from __future__ import annotations

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jwt_middleware._core.metrics import (
    JWKS_OUTCOMES,
    STORE_KINDS,
    STORE_OPERATIONS,
    TOKEN_EVENTS,
    VERIFY_OUTCOMES,
)
from jwt_middleware._core.reasons import reason_codes
from jwt_middleware.metrics import PrometheusMetrics, prometheus_exposition

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

#: Label name -> the values it may take.
ALLOWED = {
    "outcome": set(VERIFY_OUTCOMES) | set(JWKS_OUTCOMES),
    "reason": reason_codes() | {"none", "other"},
    "store": set(STORE_KINDS) | {"other"},
    "operation": set(STORE_OPERATIONS) | {"other"},
    "event": set(TOKEN_EVENTS) | {"other"},
}

NAMES = {
    "jwt_middleware_verifications", "jwt_middleware_verification_seconds",
    "jwt_middleware_store_operation_seconds", "jwt_middleware_store_errors",
    "jwt_middleware_store_breaker_state", "jwt_middleware_jwks_fetches",
    "jwt_middleware_jwks_fetch_seconds", "jwt_middleware_tokens",
}


def _record_one_of_each(metrics: PrometheusMetrics) -> None:
    metrics.verification("ok", None, 0.0002)
    metrics.verification("refused", "bad_signature", 0.0004)
    metrics.verification("unavailable", "store_unavailable", 2.0)
    metrics.store_operation("redis", "is_revoked", 0.001, False)
    metrics.store_operation("sqlite", "rotate", 0.01, True)
    metrics.breaker_state("redis", "open")
    metrics.jwks_fetch("ok", 0.2)
    metrics.jwks_fetch("timeout", 5.0)
    for event in TOKEN_EVENTS:
        metrics.token_event(event)


def test_the_exposition_has_every_metric_with_fixed_labels() -> None:
    metrics = PrometheusMetrics()
    _record_one_of_each(metrics)
    body, content_type = prometheus_exposition(metrics)
    assert content_type == prometheus_client.CONTENT_TYPE_LATEST
    assert content_type.startswith("text/plain; version=")
    text = body.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) >= NAMES
    refused = 'jwt_middleware_verifications_total{outcome="refused",reason="bad_signature"} 1.0'
    assert refused in text
    assert 'jwt_middleware_store_errors_total{operation="rotate",store="sqlite"} 1.0' in text
    assert 'jwt_middleware_store_breaker_state{store="redis"} 2.0' in text
    assert 'jwt_middleware_tokens_total{event="reuse_detected"} 1.0' in text
    assert 'jwt_middleware_jwks_fetches_total{outcome="timeout"} 1.0' in text
    assert families["jwt_middleware_verification_seconds"].type == "histogram"
    for family in families.values():
        for sample in family.samples:
            for name, value in sample.labels.items():
                if name == "le":
                    continue
                assert value in ALLOWED[name], (family.name, name, value)


def test_label_values_never_carry_token_content() -> None:
    """Security: whatever a caller passes (a token, a claim), a label is a fixed value."""
    metrics = PrometheusMetrics()
    metrics.verification(TOKEN, TOKEN, 0.1)
    metrics.verification("refused", "alice@example.com", None)
    metrics.store_operation(TOKEN, TOKEN, 0.1, True)
    metrics.breaker_state(TOKEN, TOKEN)
    metrics.jwks_fetch(TOKEN, 0.1)
    metrics.token_event(TOKEN)
    text = prometheus_exposition(metrics)[0].decode()
    for content in ("eyJ", "c2ln", "alice"):
        assert content not in text
    assert 'jwt_middleware_verifications_total{outcome="other",reason="other"} 1.0' in text
    assert 'jwt_middleware_store_errors_total{operation="other",store="other"} 1.0' in text
    assert 'jwt_middleware_tokens_total{event="other"} 1.0' in text


def test_openmetrics_when_asked_and_a_registry_of_the_caller_s() -> None:
    registry = prometheus_client.CollectorRegistry()
    metrics = PrometheusMetrics(registry, namespace="auth")
    metrics.token_event("issued")
    body, content_type = prometheus_exposition(registry, accept="application/openmetrics-text")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    assert b'auth_tokens_total{event="issued"} 1.0' in body


def test_two_exporters_do_not_collide_in_their_own_registries() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()
    first.token_event("issued")
    assert b'event="issued"' not in prometheus_exposition(second)[0]
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        PrometheusMetrics(first.registry)
