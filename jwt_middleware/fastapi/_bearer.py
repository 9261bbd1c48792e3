"""``JWTBearer``: the security dependency, its guards and the app's user.

The dependency reads the principal the ASGI middleware attached, else verifies
the ``Authorization`` header with ``averify``; each guard is a dependency on it
that checks the principal with the core's guard (``_core.guards``). Refusals are
raised through ``_errors`` and reported to the bearer's ``on_event`` hook, or else
the middleware's.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from .._core import guards as _guards
from .._core.config import Config
from .._core.dpop_policy import DPoPPolicy
from .._core.errors import AuthError, ConfigurationError, MissingTokenError
from .._core.principal import Principal
from .._core.verify import Verifier
from .._lifecycle.hooks import USER_KEY, UnknownUserError, aload_user, check_hook
from .._sansio.authenticator import (
    PRINCIPAL_KEY,
    Authenticator,
    AuthEvent,
    RequestInfo,
    build_authenticator,
)
from .._sansio.dpop import (
    DPoPRequiredError,
    ResourceDPoP,
    route_refusal,
    scope_proofs,
    scope_public_url,
)
from .._sansio.dpop import dpop_required as _dpop_guard
from .._sansio.enforce import TransportPolicy, scope_transport, transport_option
from .._sansio.fastpath import fast_authenticate, fast_header
from .._sansio.measured import policy_factory
from ..asgi import AUTHENTICATOR_KEY, authorization_header
from ._errors import refuse, use_rfc6750_errors
from ._openapi import REFUSES, document_refusals, refuses_with, security_model, uses_dpop

__all__ = ["GuardDependency", "JWTBearer"]

GuardDependency = Callable[..., Awaitable[Principal]]


def _request_info(conn: HTTPConnection) -> RequestInfo:
    scope = conn.scope
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    return RequestInfo(method, scope["path"], authorization_header(scope),
                       dpop=scope_proofs(scope["headers"]), url=lambda: scope_public_url(scope))


def _mark_dpop(dependency: Callable[..., Any], dpop: ResourceDPoP) -> None:
    """Document the DPoP scheme on the routes of a bearer whose policy is on."""
    if dpop.mode != "off":
        uses_dpop(dependency, dpop.mode)


def reused(
    bearer: "JWTBearer | _OptionalBearer", conn: HTTPConnection, principal: Principal
) -> Principal:
    """The principal an ASGI middleware in front verified, held to this bearer's own
    policies too: its ``require_https`` and its DPoP ``required`` (a middleware with weaker
    ones must not weaken the route). A bound principal came with a valid proof: the
    middleware refuses a bound token sent as ``Bearer`` in every mode."""
    try:
        if bearer.transport is not None:
            scope_transport(bearer.transport, conn.scope, bearer.authenticator)
        dpop = bearer.authenticator.dpop
        if dpop.required and principal.jkt is None:
            raise dpop.challenge(DPoPRequiredError(), bearer.realm, "bearer")
    except AuthError as exc:
        raise refuse(conn, exc, bearer.realm) from None
    return principal


class JWTBearer(SecurityBase):
    """A FastAPI security dependency: ``Depends(auth)`` gives the verified principal.

    Build it once from ``config=`` (a :class:`~jwt_middleware.Config`) or
    ``verifier=`` (a :class:`~jwt_middleware.Verifier`). ``scheme_name`` is
    the name in the OpenAPI document (default ``"JWTBearer"``). With
    ``token_url`` (the login route, such as ``"/auth/login"``) the scheme is
    documented as an OAuth 2 password flow instead of an HTTP bearer scheme.
    ``description`` replaces the scheme's default one (which tells Swagger UI
    users to paste the token alone, without ``Bearer``). ``user_loader``
    (``principal -> user | None``, sync or async) backs :attr:`current_user`.
    ``dpop`` (a :class:`~jwt_middleware.DPoPPolicy`) takes ``Authorization: DPoP`` with its
    proof, refuses a bound token sent as ``Bearer`` and documents the ``DPoP`` scheme; give
    the ASGI middleware in front the same policy (the bearer then reads its principal, and
    still refuses an unbound one where its own mode is ``required``).
    ``transport`` (a :class:`~jwt_middleware.TransportPolicy`) refuses a token over plain
    HTTP (400, documented in OpenAPI) before it is read, behind a middleware too (one with
    weaker policies never weakens the route); ``Strict-Transport-Security`` and the token
    routes need the middleware's policy.
    """

    def __init__(
        self,
        *,
        config: Config | None = None,
        verifier: Verifier | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        on_event: Callable[[AuthEvent], None] | None = None,
        token_url: str | None = None,
        user_loader: Callable[[Principal], Any] | None = None,
        metrics: Any = None,
        dpop: DPoPPolicy | None = None,
        transport: TransportPolicy | None = None,
    ) -> None:
        if user_loader is not None:
            check_hook(user_loader, "user_loader", "the Principal")
        self.transport = transport_option(transport)
        self.model: HTTPBearerModel | OAuth2Model = security_model(token_url, description)
        self.scheme_name = scheme_name or type(self).__name__
        self.authenticator = build_authenticator(
            config, verifier, mode="required", public_paths=(), public_methods=(),
            on_event=on_event, metrics=metrics, dpop=dpop,
        )
        refuses_with(self, (400, 401) if transport and transport.require_https else (401,))
        _mark_dpop(self, self.authenticator.dpop)
        self._has_hook = on_event is not None
        self._optional = _OptionalBearer(self, on_event, metrics)
        self.user_loader = user_loader
        self._current_user = None if user_loader is None else self._user_dependency(user_loader)

    @property
    def realm(self) -> str:
        return self.authenticator.realm

    async def __call__(self, conn: HTTPConnection) -> Principal:
        scope = conn.scope
        principal = scope.get(PRINCIPAL_KEY)
        if isinstance(principal, Principal):
            return reused(self, conn, principal)
        authenticator = self.authenticator
        try:
            if self.transport is not None:  # HTTPS first, before any token is read
                scope_transport(self.transport, scope, authenticator)
            header = fast_header(authenticator, scope)  # the fast path (see _sansio)
            if header is not None:
                method, path = scope["method"], scope["path"]
                fast = (
                    authenticator.fast(method, path, header)
                    if authenticator.sync_safe
                    else await authenticator.afast(method, path, header)
                )
                if isinstance(fast, Principal):
                    return fast
            verified = await authenticator.aauthenticate(_request_info(conn))
        except AuthError as exc:
            raise refuse(conn, exc, self.realm) from None
        assert verified is not None  # required mode: a principal or an error
        return verified

    def init_app(self, app: FastAPI) -> None:
        """Set ``app`` up for the bearers' refusals (once is enough for several bearers).

        Refusals get the RFC 6750 body ``{"error": ..., "error_description": ...}``, the
        one the ASGI middleware and the token routes send (a handler for
        :class:`JWTHTTPException` only), and the OpenAPI document declares the 401 (and,
        behind a guard, 403) answer of every route that depends on a bearer.
        """
        if not isinstance(app, FastAPI):
            raise ConfigurationError("init_app takes the FastAPI app")
        use_rfc6750_errors(app)
        document_refusals(app)

    # --- the app's user --------------------------------------------------------

    @property
    def current_user(self) -> Callable[..., Awaitable[Any]]:
        """A dependency: the app's user, ``user_loader(principal)``, loaded once per request.

        ``None`` from the loader is 401 ``invalid_token`` (reason ``unknown_user``); an
        :class:`~jwt_middleware.AuthError` it raises refuses with that error. When the ASGI
        middleware in front already loaded the user, that one is used.
        """
        if self._current_user is None:
            raise ConfigurationError(
                "auth.current_user needs a user loader: JWTBearer(config=..., user_loader=load)"
            )
        return self._current_user

    def _user_dependency(self, loader: Callable[[Principal], Any]) -> Callable[..., Awaitable[Any]]:
        async def current_user(
            conn: HTTPConnection, principal: Annotated[Principal, Depends(self)]
        ) -> Any:
            scope = conn.scope
            try:
                if USER_KEY in scope:  # the middleware's loader ran, or an earlier dependency
                    user = scope[USER_KEY]
                    if user is None:
                        raise UnknownUserError()
                    return user
                user = scope[USER_KEY] = await aload_user(loader, principal)
                return user
            except AuthError as exc:
                self._refused(conn, exc, principal, None)
                raise refuse(conn, exc, self.realm) from None

        refuses_with(current_user, (401,))
        return current_user

    # --- guards -------------------------------------------------------------

    def jwt_required(self, optional: bool = False) -> Callable[..., Awaitable[Principal | None]]:
        """The principal (``optional=True``: or ``None`` when no token was sent)."""
        return self._optional if optional else self

    def roles_required(self, *roles: str) -> GuardDependency:
        """All of ``roles``; 403 ``insufficient_scope`` otherwise."""
        return self._guard(_guards.roles_required(*roles))

    def roles_accepted(self, *roles: str) -> GuardDependency:
        """At least one of ``roles``; 403 ``insufficient_scope`` otherwise."""
        return self._guard(_guards.roles_accepted(*roles))

    def scopes_required(self, *scopes: str) -> GuardDependency:
        """All of ``scopes``; the 403 names them in ``WWW-Authenticate``."""
        return self._guard(_guards.scopes_required(*scopes))

    def claims_required(
        self, predicate: Callable[[Mapping[str, Any]], bool], description: str = "claims_required"
    ) -> GuardDependency:
        """``predicate(principal.claims)`` must be true (raising counts as false)."""
        return self._guard(_guards.claims_required(predicate, description))

    def fresh_required(self) -> GuardDependency:
        """A token minted by a login; 401 ``insufficient_user_authentication`` otherwise."""
        return self._guard(_guards.fresh_required(), (401,))

    def dpop_required(self) -> GuardDependency:
        """A DPoP-bound token with a valid proof by its key (401 ``invalid_token`` with the
        ``DPoP`` challenge for a bearer token, 401 ``invalid_request`` with it for none).
        Needs the policy ``allowed`` or ``required``; documented as the ``DPoP`` scheme."""
        guard = _dpop_guard()

        async def dpop_required(
            conn: HTTPConnection, principal: Annotated[Principal | None, Depends(self._optional)]
        ) -> Principal:
            try:
                if principal is None:
                    raise MissingTokenError()
                guard.check(principal)
            except AuthError as exc:
                self._refused(conn, exc, principal, guard)
                raise refuse(conn, exc, self.realm) from None
            return principal

        refuses_with(dpop_required, (401,))
        uses_dpop(dpop_required, "required")
        return dpop_required

    def _refused(
        self, conn: HTTPConnection, exc: AuthError, principal: Principal | None,
        guard: _guards.Guard | None,
    ) -> None:
        """Report a dependency's refusal and give it the challenge the route needs."""
        info, reporter = _request_info(conn), self._reporter(conn)
        reporter.report(exc, info.method, info.path, principal.subject if principal else None)
        route_refusal(reporter.dpop, exc, self.realm, principal, guard)

    def _reporter(self, conn: HTTPConnection) -> Authenticator:
        if not self._has_hook:
            front = conn.scope.get(AUTHENTICATOR_KEY)
            if isinstance(front, Authenticator):
                return front
        return self.authenticator

    def _guard(
        self, guard: _guards.Guard, statuses: tuple[int, ...] = (401, 403)
    ) -> GuardDependency:
        async def dependency(
            conn: HTTPConnection, principal: Annotated[Principal, Depends(self)]
        ) -> Principal:
            try:
                guard.check(principal)
            except AuthError as exc:  # 403, or 401 for fresh_required
                self._refused(conn, exc, principal, guard)
                raise refuse(conn, exc, self.realm) from None
            return principal

        dependency.__name__ = dependency.__qualname__ = guard.name.split("(")[0]
        refuses_with(dependency, statuses)
        return dependency


class _OptionalBearer(SecurityBase):
    """``auth.jwt_required(optional=True)``: the same OpenAPI scheme, ``None`` without a token."""

    def __init__(
        self, bearer: JWTBearer, on_event: Callable[[AuthEvent], None] | None, metrics: Any = None
    ) -> None:
        self.model = bearer.model
        self.scheme_name = bearer.scheme_name
        self.realm = bearer.realm
        self.authenticator = policy_factory(metrics)(
            bearer.authenticator.verifier, mode="optional", on_event=on_event,
            dpop=bearer.authenticator.dpop.policy,
        )
        self.transport = bearer.transport
        refuses_with(self, getattr(bearer, REFUSES))
        _mark_dpop(self, self.authenticator.dpop)

    async def __call__(self, conn: HTTPConnection) -> Principal | None:
        scope = conn.scope
        principal = scope.get(PRINCIPAL_KEY)
        if isinstance(principal, Principal):
            return reused(self, conn, principal)
        try:
            if self.transport is not None:  # HTTPS first, before any token is read
                scope_transport(self.transport, scope, self.authenticator)
            verified = await fast_authenticate(self.authenticator, scope)
            if isinstance(verified, Principal):
                return verified
            return await self.authenticator.aauthenticate(_request_info(conn))
        except AuthError as exc:
            raise refuse(conn, exc, self.realm) from None
