"""The routers: the token lifecycle, the published keys, the readiness probe.

Each is an ``APIRouter`` around the shared parts: the token routes read their
body and answer through the Starlette integration's handlers (a FastAPI request
is a Starlette one), the key documents come from a
:class:`~jwt_middleware.JWKSPublisher`, the probe from a
:class:`~jwt_middleware.Readiness`. None depends on a ``JWTBearer``.
"""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .._core.errors import ConfigurationError
from .._keysources.publish import DEFAULT_MAX_AGE as _DEFAULT_MAX_AGE
from .._keysources.publish import WELL_KNOWN_PATHS, JWKSPublisher, JWKSSource
from .._lifecycle.endpoints import Reply, TokenService
from .._sansio.health import DEFAULT_RETRY_AFTER as _DEFAULT_RETRY_AFTER
from .._sansio.health import READINESS_PATH, Readiness, ReadinessSource, readiness_for
from ..starlette import (
    check_refresh_path,
    document_response,
    login_reply,
    logout_reply,
    refresh_reply,
    reply_response,
)
from ._bearer import JWTBearer

__all__ = ["jwks_router", "readiness_router", "token_router"]


# --- token lifecycle: login, refresh, logout --------------------------------


def _body_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {name: {"type": "string", **extra} for name, extra in properties.items()},
        "required": required,
    }
    content = {"application/json": {"schema": schema}}
    content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"requestBody": {"required": bool(required), "content": content}}


_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "a token response (in cookie mode: tokens in cookies)"},
    400: {"description": "a body that is not a JSON object or form, or another grant_type"},
    401: {"description": "wrong credentials, or a bad, reused or revoked refresh token"},
    413: {"description": "a body over the service's max_body (16 KiB by default)"},
}

_NONCE_HEADER = {"DPoP-Nonce": {"description": "the nonce to sign the next proof with",
                                "schema": {"type": "string"}}}


def _dpop_docs(service: TokenService) -> tuple[dict[str, Any], dict[int | str, dict[str, Any]]]:
    """The ``DPoP`` header parameter and the DPoP answers, when the service binds tokens."""
    if service.dpop is None:
        return {}, _TOKEN_RESPONSES
    required = service.dpop.required
    header = {
        "name": "DPoP",
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": "a DPoP proof (RFC 9449) for this request: the tokens are then bound "
        "to its key (token_type DPoP), and a bound refresh token needs one by that key"
        + ("" if required else "; without one, bearer tokens"),
    }
    responses = {
        **_TOKEN_RESPONSES,
        200: {**_TOKEN_RESPONSES[200], "headers": _NONCE_HEADER},
        400: {"description": f"{_TOKEN_RESPONSES[400]['description']}, or use_dpop_nonce: "
              "sign a new proof with the nonce in DPoP-Nonce", "headers": _NONCE_HEADER},
        401: {"description": f"{_TOKEN_RESPONSES[401]['description']}, or invalid_dpop_proof"},
    }
    return {"parameters": [header]}, responses


def token_router(
    service: TokenService,
    *,
    prefix: str = "/auth",
    tags: list[str] | None = None,
    include_in_schema: bool = True,
) -> APIRouter:
    """An ``APIRouter`` with ``POST {prefix}/login``, ``/refresh`` and ``/logout``.

    List those three paths in the middleware's ``public_paths`` (see
    :func:`jwt_middleware.starlette.auth_public_paths`). In cookie mode
    ``prefix`` must lie under the policy's ``refresh_path``. With the service's DPoP
    policy on, the schema documents the ``DPoP`` header and its answers.
    """
    if not isinstance(service, TokenService):
        raise ConfigurationError("token_router takes a TokenService")
    if not prefix.startswith("/") or prefix == "/":
        raise ConfigurationError("put the token routes under a prefix such as '/auth'")
    check_refresh_path(service, prefix)
    router = APIRouter(
        prefix=prefix.rstrip("/"),
        tags=list(tags) if tags is not None else ["auth"],
        include_in_schema=include_in_schema,
    )
    token_field = {"refresh_token": {"description": "omit in cookie mode"}}
    dpop_extra, responses = _dpop_docs(service)

    def route(
        name: str,
        handler: Callable[[TokenService, Request], Awaitable[Reply]],
        summary: str,
        body: dict[str, Any],
    ) -> None:
        async def endpoint(request: Request) -> Response:
            return reply_response(await handler(service, request))

        endpoint.__name__ = name
        router.add_api_route(
            f"/{name}",
            endpoint,
            methods=["POST"],
            summary=summary,
            name=name,
            openapi_extra={**body, **dpop_extra},
            responses=responses,
        )

    route(
        "login",
        login_reply,
        "Log in with a username and password (JSON or OAuth 2 form)",
        _body_schema(
            {"username": {}, "password": {"format": "password"}}, ["username", "password"]
        ),
    )
    route("refresh", refresh_reply, "Rotate the refresh token", _body_schema(token_field, []))
    route(
        "logout",
        logout_reply,
        "Revoke the access token and the session",
        _body_schema(token_field, []),
    )
    return router


# --- publishing keys: /.well-known/jwks.json and discovery --------------------


def jwks_router(
    source: JWKSSource | JWKSPublisher,
    *,
    issuer: str | None = None,
    jwks_uri: str | None = None,
    max_age: int = _DEFAULT_MAX_AGE,
    metadata: Mapping[str, Any] | None = None,
    include_in_schema: bool = False,
) -> APIRouter:
    """An ``APIRouter`` with ``GET /.well-known/jwks.json`` for ``source`` (a
    :class:`~jwt_middleware.KeySet` or :class:`~jwt_middleware.KeyRing`) and, with
    ``issuer=``, ``/.well-known/openid-configuration`` and
    ``/.well-known/oauth-authorization-server``.

    Answers carry ``Cache-Control: public, max-age={max_age}``. Include it without a
    prefix and list :data:`WELL_KNOWN_PATHS` in the middleware's ``public_paths``
    (the routes depend on no ``JWTBearer``, so they need no token without a middleware).
    A ready :class:`~jwt_middleware.JWKSPublisher` is used as it is (the other
    arguments are then ignored).
    """
    publisher = (
        source
        if isinstance(source, JWKSPublisher)
        else JWKSPublisher(
            source, issuer=issuer, jwks_uri=jwks_uri, max_age=max_age, metadata=metadata
        )
    )
    router = APIRouter(include_in_schema=include_in_schema)

    async def jwks() -> Response:
        return document_response(publisher.jwks())

    async def discovery() -> Response:
        return document_response(publisher.discovery())

    jwks_path, *discovery_paths = WELL_KNOWN_PATHS
    router.add_api_route(jwks_path, jwks, methods=["GET"], name="jwks")
    if publisher.issuer is not None:
        for index, path in enumerate(discovery_paths):
            router.add_api_route(path, discovery, methods=["GET"], name=f"discovery_{index}")
    return router


# --- readiness: the probe a load balancer calls -----------------------------


def readiness_router(
    source: Readiness | JWTBearer | ReadinessSource | Iterable[ReadinessSource],
    *,
    path: str = READINESS_PATH,
    retry_after: int = _DEFAULT_RETRY_AFTER,
    include_in_schema: bool = False,
) -> APIRouter:
    """An ``APIRouter`` with ``GET {path}`` (``/health/ready``): 200 when the store
    answers and the key source holds a usable key, else 503 with ``Retry-After``; the
    JSON body names each check (``{"status": ..., "checks": {"store": ..., "keys": ...}}``)
    and never a secret.

    ``source``: a :class:`JWTBearer` (its verifier), a :class:`~jwt_middleware.Config`,
    a :class:`~jwt_middleware.Verifier`, a :class:`~jwt_middleware.MultiIssuerVerifier`,
    several of them, or a ready :class:`~jwt_middleware.Readiness`. The route depends
    on no ``JWTBearer``; behind the ASGI middleware list ``path``
    (:data:`READINESS_PATH`) in its ``public_paths``.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError("path starts with '/', such as '/health/ready'")
    if isinstance(source, JWTBearer):
        source = source.authenticator.verifier
    readiness = readiness_for(source, retry_after=retry_after)
    router = APIRouter(include_in_schema=include_in_schema)

    async def ready() -> Response:
        return document_response(await readiness.acheck())

    router.add_api_route(path, ready, methods=["GET", "HEAD"], name="readiness")
    return router
