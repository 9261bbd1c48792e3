"""What the examples share: configuration from the environment and a runner.

Every example reads its settings through the core's loader
(``Config.from_env``), so ``JWT_ALGORITHMS=RS256 JWT_PUBLIC_KEY_FILE=...
JWT_ISSUER=... JWT_AUDIENCE=...`` switches it to another issuer.

HTTPS (:func:`transport_from_env`, ``transport_policy_from_mapping``): ``JWT_REQUIRE_HTTPS=1``
refuses a token, and a login, refresh or logout, over plain HTTP (400 ``invalid_request``),
except from loopback unless ``JWT_ALLOW_LOOPBACK_HTTP=0``; ``JWT_TRUSTED_PROXIES``
(addresses or networks, comma-separated, such as ``10.0.0.0/8, ::1``) are the proxies whose
``Forwarded`` / ``X-Forwarded-Proto`` headers say the client used HTTPS (and give DPoP
its public URL); ``JWT_HSTS_MAX_AGE`` (seconds) adds ``Strict-Transport-Security`` over
HTTPS, ``JWT_HSTS_INCLUDE_SUBDOMAINS=1`` its ``includeSubDomains``. With cookie mode,
``JWT_REQUIRE_HTTPS=1`` and ``JWT_COOKIE_SECURE=0`` refuse to start.

Metrics (:func:`metrics_from_env`): ``EXAMPLE_METRICS=prometheus`` (the examples' own
switch, not a package setting, so it has no ``JWT_`` prefix: the package reads none of
it) builds a :class:`~jwt_middleware.metrics.PrometheusMetrics` with a registry of its
own (never ``prometheus_client``'s global one), wraps the store in a
:class:`~jwt_middleware.metrics.MeasuredStore` and hands it to the middleware, the
bearer and the issuer (``metrics=``); ``GET /metrics`` then answers Prometheus text
(OpenMetrics when ``Accept`` asks for it). ``/metrics`` is a public path, without a
token: a Prometheus scraper has none. Its numbers say how the service is doing, never
who uses it (labels come from fixed sets), but keep it off the public internet (the
ingress's allow-list, or another port). Unset or ``off``: no metrics, no route (404).

Audit (:func:`audit_from_env`): ``JWT_AUDIT_URL`` (``sqlite:///audit.db`` or a Redis
URL; ``JWT_AUDIT_REFUSAL_RATE``, see ``docs/audit.md``) gives the issuer
(``Issuer(audit=...)``) and the request refusals (``on_event=audit.on_event``) an
:class:`~jwt_middleware.audit.Audit`: JSON lines on the ``jwt_middleware.audit`` logger
and the append-only log at that URL, read with ``jwt-middleware audit``. Unset: no
audit trail.

Encrypted tokens (``docs/security.md``): ``JWT_DECRYPTION_KEY_FILE`` (the resource's
private key, PEM or JWK, or a JWKS of several) opens encrypted tokens, and then only
encrypted tokens are accepted (``JWT_REQUIRE_ENCRYPTION=0`` takes plain ones too);
``JWT_ENCRYPTION_KEY_FILE`` (the recipient's public key, PEM or JWK) is the key the
example's issuer encrypts its access tokens to.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence

from jwt_middleware import (
    Config,
    ConfigurationError,
    CookiePolicy,
    TransportPolicy,
    transport_policy_from_mapping,
)
from jwt_middleware.audit import Audit
from jwt_middleware.metrics import MeasuredStore, PrometheusMetrics

#: Where the examples serve Prometheus text when ``EXAMPLE_METRICS=prometheus``.
METRICS_PATH = "/metrics"
#: Paths every example serves without a token (``/metrics`` answers 404 with metrics off).
PUBLIC_PATHS = ("/public", METRICS_PATH)


def config_from_env() -> Config:
    """The example's :class:`Config`, from ``JWT_*`` environment variables."""
    return Config.from_env(environ=os.environ)


def transport_from_env(
    cookies: CookiePolicy | None = None, environ: Mapping[str, str] | None = None
) -> TransportPolicy:
    """The example's HTTPS policy from ``JWT_REQUIRE_HTTPS``, ``JWT_TRUSTED_PROXIES``,
    ``JWT_HSTS_*`` and ``JWT_ALLOW_LOOPBACK_HTTP``, checked against its cookie policy."""
    return transport_policy_from_mapping(os.environ if environ is None else environ,
                                         cookies=cookies)


def metrics_from_env(environ: Mapping[str, str] | None = None) -> PrometheusMetrics | None:
    """``EXAMPLE_METRICS``: ``prometheus`` builds an exporter with a registry of its own;
    unset, empty or ``off``: ``None`` (nothing measured)."""
    env = os.environ if environ is None else environ
    wanted = env.get("EXAMPLE_METRICS", "").strip().lower()
    if wanted in ("", "off"):
        return None
    if wanted != "prometheus":
        raise ConfigurationError(f"EXAMPLE_METRICS must be 'prometheus' or 'off', not {wanted!r}")
    return PrometheusMetrics()


def measured(config: Config, metrics: PrometheusMetrics | None) -> Config:
    """``config`` with its store in a :class:`MeasuredStore` (latency, errors) when
    ``metrics`` is on; else ``config`` itself."""
    if metrics is None or config.store is None or isinstance(config.store, str):
        return config
    return dataclasses.replace(config, store=MeasuredStore(config.store, metrics))


def audit_from_env(environ: Mapping[str, str] | None = None) -> Audit | None:
    """``JWT_AUDIT_URL`` set: the example's :class:`Audit` (``Audit.from_mapping``, which
    reads ``JWT_AUDIT_REFUSAL_RATE`` too); unset: ``None``."""
    env = os.environ if environ is None else environ
    return Audit.from_mapping(env) if env.get("JWT_AUDIT_URL") else None


def parse_port(argv: Sequence[str] | None = None, default: int = 8000) -> tuple[str, int]:
    """``--host`` (default 127.0.0.1) and ``--port`` from the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default)
    args = parser.parse_args(argv)
    return args.host, args.port
