"""One app's state in ``app.extensions``, the hooks it calls, and how the parts find it.

Nothing here is global: every app gets its own :class:`State` at ``init_app``, and each
request reads it from ``current_app``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, Request, current_app
from flask.typing import ResponseReturnValue

from .._core.errors import AuthError
from .._core.principal import Principal
from .._lifecycle.cookies import CookiePolicy
from .._lifecycle.endpoints import TokenService
from .._lifecycle.hooks import call_hook, check_hook
from .._lifecycle.issue import Issuer
from .._sansio.authenticator import Authenticator
from .._sansio.transport import TransportPolicy

if TYPE_CHECKING:
    from ._extension import JWT

#: ``on_error(request, error)``: a response (any view return value) or ``None``.
ErrorHook = Callable[[Request, AuthError], "ResponseReturnValue | None"]

#: The key of the per-app state in ``app.extensions``.
EXTENSION_KEY = "jwt_middleware"
#: Attribute a decorated view carries: ``"required"`` or ``"optional"`` (or :data:`PUBLIC`).
POLICY_ATTR = "__jwt_middleware_mode__"
#: The policy of the package's own routes (auth, JWKS, readiness): a valid token is
#: attached, a missing or bad one ignored (logging out with an expired access token must
#: work; logging in must not trip over one).
PUBLIC = "public"
NO_LIFECYCLE = (
    "the token lifecycle is not set up on this Flask app: pass check_credentials= to "
    "JWT(...), with a store (JWT_STORE_URL), one issuer (JWT_ISSUER) and a signing key"
)
NOT_SET_UP = (
    "jwt_middleware is not set up on this Flask app: call JWT(app) or jwt.init_app(app) "
    "before serving requests"
)


@dataclass(frozen=True)
class State:
    """One app's authenticators (the app policy, the ones a view decorator or the auth
    routes pick) and, when the token lifecycle is on, its cookie policy, issuer and service."""

    default: Authenticator
    required: Authenticator
    optional: Authenticator
    #: The auth routes: a valid token is attached, a missing or bad one is ignored.
    public: Authenticator
    hooks: Hooks
    cookies: CookiePolicy | None = None
    issuer: Issuer | None = None
    service: TokenService | None = None
    #: HTTPS, HSTS and trusted proxies (``None``: nothing of it configured).
    transport: TransportPolicy | None = None
    #: (endpoint, method) -> the mode its decorators set (filled on first use; routes
    #: cannot change once an app serves requests).
    modes: dict[tuple[str, str], str | None] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.default.realm


class Hooks:
    """One app's ``on_error``, ``user_loader`` and ``claims_loader``: those given to
    ``init_app``, else the extension's, read at call time (so ``@jwt.user_loader`` may
    come after ``init_app``)."""

    __slots__ = ("_claims_loader", "_extension", "_on_error", "_user_loader")

    def __init__(
        self,
        extension: JWT,
        on_error: ErrorHook | None,
        user_loader: Callable[[Principal], Any] | None,
        claims_loader: Callable[[str], Mapping[str, Any]] | None,
    ) -> None:
        check_hooks(on_error, user_loader, claims_loader)
        self._extension = extension
        self._on_error = on_error
        self._user_loader = user_loader
        self._claims_loader = claims_loader

    @property
    def on_error(self) -> ErrorHook | None:
        return self._on_error or self._extension.on_error

    @property
    def user_loader(self) -> Callable[[Principal], Any] | None:
        return self._user_loader or self._extension._user_loader

    def load_claims(self, subject: str) -> Any:
        """The issuer's ``claims_loader``: the app's hook, or no claims without one."""
        loader = self._claims_loader or self._extension._claims_loader
        return {} if loader is None else call_hook(loader, subject, "claims_loader")


def check_hooks(on_error: object, user_loader: object, claims_loader: object) -> None:
    if on_error is not None:
        check_hook(on_error, "on_error", "(request, error)", sync_only=True, arity=2)
    if user_loader is not None:
        check_hook(user_loader, "user_loader", "the Principal", sync_only=True)
    if claims_loader is not None:
        check_hook(claims_loader, "claims_loader", "the subject (a str)", sync_only=True)


def app_or_current(app: Flask | None) -> Flask:
    if app is not None:
        return app
    return cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]


def state_of(app: Flask) -> State:
    state = app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, State):
        raise RuntimeError(NOT_SET_UP)
    return state
