"""What the OpenAPI document says about the bearer: its security scheme, and the
401 and 403 answers of every route that depends on it.

The scheme is an HTTP bearer scheme (``bearerFormat: JWT``), or with a login
route an OAuth 2 password flow, each with a description that tells Swagger UI
users to paste the token alone. A dependency states the statuses it may refuse
with in an attribute (:data:`REFUSES`, set by :func:`refuses_with`);
:func:`document_refusals` wraps ``app.openapi`` once to declare them, with the
RFC 6750 body schema, on each operation whose dependencies carry one.

DPoP: a dependency of a bearer whose policy is ``allowed`` or ``required`` (or a
``dpop_required`` one) is marked with :func:`uses_dpop`; its operations then list the
``DPoP`` HTTP scheme (``{"type": "http", "scheme": "DPoP"}``) among their security
requirements (beside the bearer's with ``allowed``, alone with ``required``), and their
401 answer names the DPoP errors (``invalid_dpop_proof``, ``use_dpop_nonce``) and the
``DPoP-Nonce`` header.
"""

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowPassword, OAuthFlows
from fastapi.routing import APIRoute

__all__ = ["DPOP_SCHEME", "REFUSES", "document_refusals", "refuses_with", "security_model",
           "uses_dpop"]

#: The attribute of a dependency that holds the statuses it may refuse with.
REFUSES = "_REFUSES_WITH"
#: Marks an ``app.openapi`` that already declares them.
_DOCUMENTED = "_jwt_middleware_refusals"
#: The attribute of a dependency that takes DPoP: ``"allowed"`` or ``"required"``.
_DPOP = "_USES_DPOP"
#: The name of the DPoP security scheme in ``components.securitySchemes``.
DPOP_SCHEME = "DPoP"
_DPOP_DESCRIPTION = (
    "A DPoP-bound access token (RFC 9449): `Authorization: DPoP <token>` and a `DPoP` "
    "header holding a fresh proof signed by the client's key for this method and URL "
    "(Swagger UI cannot sign proofs: use a client such as jwt_middleware.client.DPoPAuth)."
)
_BEARER_DESCRIPTION = (
    "A JWT access token. Paste the token alone, without `Bearer `: Swagger UI adds "
    "the prefix itself. Missing or bad: 401; a token without the rights a route "
    "needs: 403."
)
_PASSWORD_DESCRIPTION = (
    "Log in with a username and password (the form is posted to {}); the access "
    "token is then sent as `Authorization: Bearer <token>`."
)


# --- the security scheme -----------------------------------------------------------


def security_model(token_url: str | None, description: str | None) -> HTTPBearerModel | OAuth2Model:
    """An HTTP bearer scheme, or with ``token_url`` an OAuth 2 password flow posting
    there; ``description`` replaces the default one."""
    if token_url is None:
        return HTTPBearerModel(bearerFormat="JWT", description=description or _BEARER_DESCRIPTION)
    flows = OAuthFlows(password=OAuthFlowPassword(tokenUrl=token_url))
    return OAuth2Model(
        flows=flows, description=description or _PASSWORD_DESCRIPTION.format(token_url)
    )


# --- the 401 and 403 answers ---------------------------------------------------------


def refuses_with(dependency: Callable[..., Any], statuses: tuple[int, ...]) -> None:
    """Mark ``dependency`` as one that may refuse with ``statuses``."""
    setattr(dependency, REFUSES, statuses)


def uses_dpop(dependency: Callable[..., Any], mode: str) -> None:
    """Mark ``dependency`` as one that takes DPoP (``"allowed"`` or ``"required"``)."""
    setattr(dependency, _DPOP, mode)


def _error_response(
    description: str, codes: list[str], *, dpop: bool = False
) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "error": {"type": "string", "enum": codes, "description": "the RFC 6750 error code"},
            "error_description": {"type": "string", "description": "a short, fixed text"},
        },
        "required": ["error", "error_description"],
    }
    header = {
        "description": 'Bearer realm="...", error="...", error_description="..." (RFC 6750)',
        "schema": {"type": "string"},
    }
    headers: dict[str, Any] = {"WWW-Authenticate": header}
    if dpop:
        header["description"] = (
            'The challenge of the scheme the request used, with the error, and with DPoP '
            'allowed the other one: Bearer realm="...", error="...", DPoP algs="ES256 ...", '
            'realm="..." (RFC 6750, RFC 9449 section 7.1)'
        )
        headers["DPoP-Nonce"] = {
            "description": "With use_dpop_nonce: the server nonce to sign the retry's proof with",
            "schema": {"type": "string"},
        }
    return {
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": schema}},
    }


_REFUSAL_RESPONSES: dict[int, dict[str, Any]] = {
    400: _error_response(
        "Bad request: a token over plain HTTP while HTTPS is required (JWT_REQUIRE_HTTPS), "
        "or malformed forwarding headers from a trusted proxy (invalid_request)",
        ["invalid_request"],
    ),
    401: _error_response(
        "Not authenticated: the bearer token is missing or malformed (invalid_request), "
        "bad, expired or revoked, or its user is gone (invalid_token), or not fresh "
        "enough (insufficient_user_authentication)",
        ["invalid_request", "invalid_token", "insufficient_user_authentication"],
    ),
    403: _error_response(
        "Forbidden: the token lacks a required role, scope or claim (insufficient_scope)",
        ["insufficient_scope"],
    ),
}


_DPOP_401 = _error_response(
    "Not authenticated: the token is missing or malformed (invalid_request), bad, expired, "
    "revoked, bound to a key but sent as Bearer, or its user is gone (invalid_token), the "
    "DPoP proof is missing, bad or replayed (invalid_dpop_proof), the proof lacks the "
    "server's nonce (use_dpop_nonce, with DPoP-Nonce), or not fresh enough "
    "(insufficient_user_authentication)",
    ["invalid_request", "invalid_token", "invalid_dpop_proof", "use_dpop_nonce",
     "insufficient_user_authentication"],
    dpop=True,
)


def _api_routes(app: FastAPI) -> Iterable[Any]:
    """The app's path operations, included routers' among them. Recent FastAPI nests an
    included router (``iter_route_contexts`` gives each route with the router's prefix
    and dependencies); older versions copy its routes into ``app.routes``."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:
        return [route for route in app.routes if isinstance(route, APIRoute)]
    return [c for c in contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def _refusals(route: Any) -> tuple[set[int], str | None]:
    """The statuses the route's dependencies (this package's) may refuse with, and how
    they take DPoP (``"required"`` wins over ``"allowed"``; ``None``: not at all)."""
    statuses: set[int] = set()
    modes: set[str] = set()
    stack = [route.dependant]
    seen: set[int] = set()
    while stack:
        dependant = stack.pop()
        if id(dependant) in seen:
            continue
        seen.add(id(dependant))
        statuses.update(getattr(dependant.call, REFUSES, ()))
        mode = getattr(dependant.call, _DPOP, None)
        if isinstance(mode, str):
            modes.add(mode)
        stack.extend(dependant.dependencies)
    return statuses, ("required" if "required" in modes else next(iter(modes), None))


def _document_dpop(schema: dict[str, Any], operation: dict[str, Any], mode: str) -> None:
    """The DPoP scheme in the components, and in the operation's security requirements."""
    components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    components.setdefault(
        DPOP_SCHEME, {"type": "http", "scheme": "DPoP", "description": _DPOP_DESCRIPTION}
    )
    security = operation.get("security", [])
    if mode == "required":
        security = []  # the bearer scheme does not take this route's tokens
    if {DPOP_SCHEME: []} not in security:
        security.append({DPOP_SCHEME: []})
    operation["security"] = security


def _declare_refusals(app: FastAPI, schema: dict[str, Any]) -> None:
    paths = schema.get("paths", {})
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        statuses, dpop = _refusals(route)
        if not statuses:
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                answer = _DPOP_401 if dpop and status == 401 else _REFUSAL_RESPONSES[status]
                responses.setdefault(str(status), answer)
            if dpop is not None:
                _document_dpop(schema, operation, dpop)


def document_refusals(app: FastAPI) -> None:
    """Wrap ``app.openapi`` (FastAPI's extension point) once to add the 401/403 answers."""
    if getattr(app.openapi, _DOCUMENTED, False):
        return
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = generate()
        if fresh:
            _declare_refusals(app, schema)
        return schema

    setattr(openapi, _DOCUMENTED, True)
    app.openapi = openapi  # type: ignore[method-assign]
    app.openapi_schema = None
