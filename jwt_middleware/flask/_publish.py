"""Routes that publish: the app's keys (``/.well-known/jwks.json`` and discovery) and its
readiness (``/health/ready``, the probe a load balancer calls).

Both answer from a ready document (``_keysources.publish``, ``_sansio.health``) and need
no token, whatever the app's mode and public paths.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response

from .._core.errors import ConfigurationError
from .._keysources.publish import DEFAULT_MAX_AGE as _DEFAULT_MAX_AGE
from .._keysources.publish import WELL_KNOWN_PATHS, JWKSPublisher, JWKSSource
from .._sansio.health import DEFAULT_RETRY_AFTER as _DEFAULT_RETRY_AFTER
from .._sansio.health import READINESS_PATH, Readiness, ReadinessSource, readiness_for
from ._state import POLICY_ATTR, PUBLIC, app_or_current, state_of


def jwks_blueprint(
    source: JWKSSource | JWKSPublisher,
    *,
    issuer: str | None = None,
    jwks_uri: str | None = None,
    max_age: int = _DEFAULT_MAX_AGE,
    metadata: Mapping[str, Any] | None = None,
    name: str = "jwt_jwks",
) -> Blueprint:
    """``GET /.well-known/jwks.json`` for ``source`` (a :class:`~jwt_middleware.KeySet`
    or :class:`~jwt_middleware.KeyRing`), and with ``issuer=`` the discovery documents
    ``/.well-known/openid-configuration`` and ``/.well-known/oauth-authorization-server``.

    Answers carry ``Cache-Control: public, max-age={max_age}``. The views need no
    token whatever the app's mode and public paths (:data:`WELL_KNOWN_PATHS`).
    Register it without a ``url_prefix``. A ready
    :class:`~jwt_middleware._keysources.publish.JWKSPublisher` may be passed instead of a source.
    """
    publisher = (
        source
        if isinstance(source, JWKSPublisher)
        else JWKSPublisher(
            source, issuer=issuer, jwks_uri=jwks_uri, max_age=max_age, metadata=metadata
        )
    )
    blueprint = Blueprint(name, __name__)

    def jwks() -> Response:
        document = publisher.jwks()
        return Response(document.body, status=document.status, headers=list(document.headers))

    def discovery() -> Response:
        document = publisher.discovery()
        return Response(document.body, status=document.status, headers=list(document.headers))

    for view in (jwks, discovery):
        setattr(view, POLICY_ATTR, PUBLIC)
    jwks_path, *discovery_paths = WELL_KNOWN_PATHS
    blueprint.add_url_rule(jwks_path, "jwks", jwks, methods=["GET"])
    if publisher.issuer is not None:
        for index, path in enumerate(discovery_paths):
            blueprint.add_url_rule(path, f"discovery_{index}", discovery, methods=["GET"])
    return blueprint


def readiness_blueprint(
    source: Readiness | ReadinessSource | Iterable[ReadinessSource] | None = None,
    *,
    path: str = READINESS_PATH,
    retry_after: int = _DEFAULT_RETRY_AFTER,
    name: str = "jwt_readiness",
) -> Blueprint:
    """``GET {path}`` (``/health/ready``): 200 when the store answers and the key source
    holds a usable key, else 503 with ``Retry-After``; the JSON body names each check
    (``{"status": ..., "checks": {"store": ..., "keys": ...}}``) and never a secret.

    ``source`` (default: the app's own ``JWT`` configuration) is a
    :class:`~jwt_middleware.Config`, a :class:`~jwt_middleware.Verifier`, a
    :class:`~jwt_middleware.MultiIssuerVerifier`, several of them, or a ready
    :class:`~jwt_middleware.Readiness`. The view needs no token whatever the app's
    mode and public paths. The checks are in :mod:`jwt_middleware._sansio.health`.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError("path starts with '/', such as '/health/ready'")
    fixed = None if source is None else readiness_for(source, retry_after=retry_after)
    per_app: weakref.WeakKeyDictionary[Flask, Readiness] = weakref.WeakKeyDictionary()

    def ready() -> Response:
        readiness = fixed
        if readiness is None:
            app = app_or_current(None)
            readiness = per_app.get(app)
            if readiness is None:
                verifier = state_of(app).default.verifier
                readiness = per_app.setdefault(app, Readiness(verifier, retry_after=retry_after))
        document = readiness.check()
        return Response(document.body, status=document.status, headers=list(document.headers))

    setattr(ready, POLICY_ATTR, PUBLIC)
    blueprint = Blueprint(name, __name__)
    blueprint.add_url_rule(path, "ready", ready, methods=["GET"])
    return blueprint
