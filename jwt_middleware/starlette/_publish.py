"""Routes other services and load balancers call: the JWKS, discovery and readiness.

``GET /.well-known/jwks.json`` (and, with an issuer, the discovery documents)
from a :class:`~jwt_middleware.KeySet` or :class:`~jwt_middleware.KeyRing`, and
``GET /health/ready`` from the configuration the middleware verifies with. Both
render a sans-I/O :class:`Document` (status, headers, body).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._core.errors import ConfigurationError
from .._keysources.publish import DEFAULT_MAX_AGE as _DEFAULT_MAX_AGE
from .._keysources.publish import WELL_KNOWN_PATHS, Document, JWKSPublisher, JWKSSource
from .._sansio.health import DEFAULT_RETRY_AFTER as _DEFAULT_RETRY_AFTER
from .._sansio.health import READINESS_PATH, Readiness, ReadinessSource, readiness_for


def publisher_for(
    source: JWKSSource | JWKSPublisher,
    *,
    issuer: str | None = None,
    jwks_uri: str | None = None,
    max_age: int = _DEFAULT_MAX_AGE,
    metadata: Mapping[str, Any] | None = None,
) -> JWKSPublisher:
    """``source`` itself when it is a :class:`JWKSPublisher`, else a new one for it."""
    if isinstance(source, JWKSPublisher):
        return source
    return JWKSPublisher(
        source, issuer=issuer, jwks_uri=jwks_uri, max_age=max_age, metadata=metadata
    )


def document_response(document: Document) -> Response:
    """A publisher's :class:`Document` as a Starlette response."""
    headers = {k: v for k, v in document.headers if k.lower() != "content-type"}
    return Response(
        document.body,
        status_code=document.status,
        headers=headers,
        media_type=dict(document.headers).get("Content-Type", "application/json"),
    )


def jwks_routes(
    source: JWKSSource | JWKSPublisher,
    *,
    issuer: str | None = None,
    jwks_uri: str | None = None,
    max_age: int = _DEFAULT_MAX_AGE,
    metadata: Mapping[str, Any] | None = None,
) -> list[Route]:
    """``GET /.well-known/jwks.json`` for ``source`` (a :class:`~jwt_middleware.KeySet`
    or :class:`~jwt_middleware.KeyRing`) and, with ``issuer=``, the discovery documents
    at ``/.well-known/openid-configuration`` and ``/.well-known/oauth-authorization-server``.

    Answers carry ``Cache-Control: public, max-age={max_age}``. Put the routes at the
    app's root and list :data:`WELL_KNOWN_PATHS` in the middleware's ``public_paths``
    (or mount them outside the middleware).
    """
    publisher = publisher_for(
        source, issuer=issuer, jwks_uri=jwks_uri, max_age=max_age, metadata=metadata
    )

    async def jwks(request: Request) -> Response:
        return document_response(publisher.jwks())

    async def discovery(request: Request) -> Response:
        return document_response(publisher.discovery())

    jwks_path, *discovery_paths = WELL_KNOWN_PATHS
    routes = [Route(jwks_path, jwks, methods=["GET"], name="jwks")]
    if publisher.issuer is not None:
        routes += [
            Route(path, discovery, methods=["GET"], name=f"discovery_{index}")
            for index, path in enumerate(discovery_paths)
        ]
    return routes


def readiness_routes(
    source: Readiness | ReadinessSource | Iterable[ReadinessSource],
    *,
    path: str = READINESS_PATH,
    retry_after: int = _DEFAULT_RETRY_AFTER,
) -> list[Route]:
    """``GET {path}`` (``/health/ready``): 200 when the store answers and the key source
    holds a usable key, else 503 with ``Retry-After``; the JSON body names each check
    (``{"status": ..., "checks": {"store": ..., "keys": ...}}``) and never a secret.

    ``source``: the :class:`~jwt_middleware.Config` the middleware verifies with (or a
    :class:`~jwt_middleware.Verifier`, a :class:`~jwt_middleware.MultiIssuerVerifier`,
    several of them, or a ready :class:`~jwt_middleware.Readiness`). The checks run
    async (:meth:`Readiness.acheck`). List ``path`` (:data:`READINESS_PATH`) in the
    middleware's ``public_paths``: the middleware runs before any route.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError("path starts with '/', such as '/health/ready'")
    readiness = readiness_for(source, retry_after=retry_after)

    async def ready(request: Request) -> Response:
        return document_response(await readiness.acheck())

    return [Route(path, ready, methods=["GET"], name="readiness")]
