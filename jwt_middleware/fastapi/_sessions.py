"""The session router: the session routes for a token service, behind a ``JWTBearer``.

Every route depends on the bearer (the administrator's on ``bearer.roles_required`` with
the policy's admin role), so each carries the bearer's security scheme in OpenAPI and, once
``bearer.init_app(app)`` ran, its 401 (and 403) answers; the 200, 404 and 503 answers are
declared here with their JSON shapes. The answers are the
:class:`~jwt_middleware.SessionEndpoints` ones, as in Flask and Starlette.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from .._core.errors import ConfigurationError
from .._core.principal import Principal
from .._lifecycle.endpoints import TokenService
from ..starlette import reply_response, session_endpoints
from ._bearer import JWTBearer

__all__ = ["sessions_router"]

_SESSION = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "the session (refresh family) id"},
        "subject": {"type": "string"},
        "created_at": {"type": "integer", "description": "the login, seconds since the epoch"},
        "last_used_at": {"type": "integer", "description": "the last refresh"},
        "expires_at": {"type": "integer", "description": "unless refreshed before"},
        "device": {"type": "string", "nullable": True, "description": "the login's label"},
        "user_agent": {"type": "string", "nullable": True},
        "address": {"type": "string", "nullable": True,
                    "description": "only when JWT_SESSION_RECORD_ADDRESS is on"},
        "dpop_bound": {"type": "boolean"},
        "jkt": {"type": "string", "nullable": True,
                "description": "the DPoP key's RFC 7638 thumbprint"},
        "current": {"type": "boolean", "description": "the session of this access token"},
    },
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"},
                                           "error_description": {"type": "string"}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


_LIST = _json("the sessions, newest first", _object(
    sessions={"type": "array", "items": _SESSION}, subject={"type": "string"}))
_REVOKED = _json("the session is revoked, and every token minted in it", _object(
    status={"type": "string", "enum": ["revoked"]}, session={"type": "string"}))
_OTHERS = _json("every other session is revoked", _object(
    status={"type": "string", "enum": ["revoked"]},
    revoked={"type": "array", "items": {"type": "string"}},
    kept={"type": "string", "nullable": True}))
#: The path parameters, declared here and read from the request: a string path parameter
#: cannot fail validation, so the operations declare no 422 that could never come.
_SESSION_ID = {"name": "session_id", "in": "path", "required": True,
               "schema": {"type": "string"}, "description": "a session id (from the listing)"}
_SUBJECT = {"name": "subject", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "the user's subject (sub)"}
_NOT_FOUND = _json("no such session (another user's is the same: never revealed)", _ERROR)
_UNAVAILABLE = _json("the store cannot be reached (Retry-After)", _ERROR)


def sessions_router(
    service: TokenService,
    bearer: JWTBearer,
    *,
    prefix: str = "/auth",
    tags: list[str] | None = None,
    include_in_schema: bool = True,
) -> APIRouter:
    """An ``APIRouter`` with ``GET {prefix}/sessions``, ``DELETE {prefix}/sessions/{id}``,
    ``POST {prefix}/sessions/revoke-others``, and for the admin role ``GET
    {prefix}/users/{subject}/sessions`` and ``DELETE {prefix}/users/{subject}/sessions/{id}``.
    Keep ``{prefix}/sessions`` and ``{prefix}/users`` out of the middleware's ``public_paths``."""
    endpoints = session_endpoints(service)
    if not isinstance(bearer, JWTBearer):
        raise ConfigurationError("sessions_router takes the app's JWTBearer")
    if not prefix.startswith("/") or prefix == "/":
        raise ConfigurationError("put the session routes under a prefix such as '/auth'")
    router = APIRouter(prefix=prefix.rstrip("/"), tags=list(tags) if tags is not None
                       else ["sessions"], include_in_schema=include_in_schema)
    Me = Annotated[Principal, Depends(bearer)]
    Admin = Annotated[Principal, Depends(bearer.roles_required(endpoints.admin_role))]
    common: dict[int | str, dict[str, Any]] = {503: _UNAVAILABLE}

    @router.get("/sessions", summary="My sessions (the current one marked)",
                responses={200: _LIST, **common}, name="sessions")
    async def sessions(principal: Me) -> Response:
        return reply_response(await endpoints.amine(principal))

    @router.post("/sessions/revoke-others", summary="Log out my other devices",
                 responses={200: _OTHERS, **common}, name="revoke_others")
    async def revoke_others(principal: Me) -> Response:
        return reply_response(await endpoints.arevoke_others(principal))

    @router.delete("/sessions/{session_id}", summary="Revoke one of my sessions",
                   responses={200: _REVOKED, 404: _NOT_FOUND, **common}, name="revoke_session",
                   openapi_extra={"parameters": [_SESSION_ID]})
    async def revoke_session(request: Request, principal: Me) -> Response:
        session_id = str(request.path_params["session_id"])
        return reply_response(await endpoints.arevoke(principal, session_id))

    @router.get("/users/{subject:path}/sessions", summary="A user's sessions (admin)",
                responses={200: _LIST, **common}, name="user_sessions",
                openapi_extra={"parameters": [_SUBJECT]})
    async def user_sessions(request: Request, principal: Admin) -> Response:
        subject = str(request.path_params["subject"])
        return reply_response(await endpoints.aof_user(principal, subject))

    @router.delete("/users/{subject:path}/sessions/{session_id}",
                   summary="Revoke a user's session (admin)",
                   responses={200: _REVOKED, 404: _NOT_FOUND, **common},
                   name="revoke_user_session",
                   openapi_extra={"parameters": [_SUBJECT, _SESSION_ID]})
    async def revoke_user_session(request: Request, principal: Admin) -> Response:
        subject, session_id = (str(request.path_params[n]) for n in ("subject", "session_id"))
        return reply_response(await endpoints.arevoke_of_user(principal, subject, session_id))

    return router
