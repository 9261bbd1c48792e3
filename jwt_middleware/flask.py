"""Flask integration: deny-by-default JWT protection with per-view decorators.

Install with ``pip install "jwt-middleware[flask]"``. Quickstart::

    from flask import Flask
    from jwt_middleware.flask import JWT, current_principal, roles_required

    app = Flask(__name__)
    app.config.update(JWT_ALGORITHMS="RS256", JWT_PUBLIC_KEY_FILE="public.pem")
    JWT(app)  # from here on, every route needs a valid token
    @app.get("/admin")
    @roles_required("admin")
    def admin():
        return {"hello": current_principal.subject}

Setup
-----
``JWT(app)`` or, with an app factory, ``jwt = JWT()`` then ``jwt.init_app(app)``.
The extension object keeps no app; everything per app lives in
``app.extensions["jwt_middleware"]``, so several apps with different settings
run in one process. Settings come from ``config=`` (a
:class:`~jwt_middleware.Config`) or else from ``app.config`` under one prefix
(``JWT_`` by default): the core keys (``JWT_ALGORITHMS``, ``JWT_SECRET``,
``JWT_PUBLIC_KEY_FILE``, ``JWT_ISSUER``, ``JWT_AUDIENCE``, ...) plus
``JWT_MODE``, ``JWT_PUBLIC_PATHS`` and ``JWT_PUBLIC_METHODS``. An unknown
``JWT_*`` key is an error at ``init_app`` (another extension using ``JWT_``,
such as Flask-JWT-Extended, needs ``prefix=`` here). Everything is validated at
``init_app``, never on the first request.

Deny by default
---------------
A ``before_request`` hook (the first one the app runs) authenticates every
request that matched a route. A view without a decorator follows the app's
policy: ``JWT_MODE`` (``"required"``, the default, or ``"optional"``) and the
public paths (``"/health"`` exact, ``"/static/*"`` prefix) and methods. A
decorated view decides for itself and the app-wide public paths and methods
do not apply to it: ``@jwt_required()`` needs a valid token,
``@jwt_required(optional=True)`` lets a request without a token through (a bad
token is still 401), and a guard decorator needs a valid token. CORS
preflight requests always pass. Requests that match no route are left to
Flask (404, 405). The principal is stored at
``request.environ["jwt_middleware.principal"]``.

Decorators (sync and async views, and ``MethodView`` methods)
-------------------------------------------------------------
``@jwt_required()``, ``@jwt_required(optional=True)``,
``@roles_required(*roles)`` (all of them), ``@roles_accepted(*roles)`` (any
one), ``@scopes_required(*scopes)`` and
``@claims_required(predicate, description=...)``. Put them under
``@app.route``. Their arguments are checked when the module is imported.

Answers
-------
No or malformed token: 401 ``invalid_request``; bad token: 401
``invalid_token``; a failed guard: 403 ``insufficient_scope``. Each with the
RFC 6750 JSON body ``{"error": ..., "error_description": ...}`` and a
``WWW-Authenticate: Bearer ...`` header. The answers are returned as
responses, so the app's own error handlers are not touched. Rejections,
guard failures included, are logged on the ``jwt_middleware`` logger and
passed to ``on_event`` (an :class:`AuthEvent`); neither ever holds the token.

Accessors
---------
``current_principal`` (a :class:`~jwt_middleware.Principal` proxy),
``get_jwt()`` (the claims) and ``get_principal()`` (the principal or ``None``).
The first two raise :class:`RuntimeError` outside a request that carries a
verified token.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, cast

from flask import Flask, Response, abort, current_app, has_request_context, request
from werkzeug.local import LocalProxy

from ._authenticator import PRINCIPAL_KEY, Authenticator, AuthEvent, RequestInfo
from ._config import Config
from ._errors import AuthError, AuthorizationError, ConfigurationError, MissingTokenError
from ._guards import Guard
from ._guards import claims_required as _claims_guard
from ._guards import roles_accepted as _roles_accepted_guard
from ._guards import roles_required as _roles_required_guard
from ._guards import scopes_required as _scopes_guard
from ._principal import Principal
from ._settings import KEY_SETTINGS, PARSERS, settings_from_mapping
from ._verify import Verifier

__all__ = [
    "EXTENSION_KEY",
    "JWT",
    "PRINCIPAL_KEY",
    "AuthEvent",
    "ViewDecorator",
    "claims_required",
    "current_principal",
    "get_jwt",
    "get_principal",
    "jwt_required",
    "roles_accepted",
    "roles_required",
    "scopes_required",
]

P = ParamSpec("P")
R = TypeVar("R")


class ViewDecorator(Protocol):
    """What the decorators return: it keeps the view's parameters and return type."""

    def __call__(self, view: Callable[P, R], /) -> Callable[P, R]: ...


#: The key of the per-app state in ``app.extensions``.
EXTENSION_KEY = "jwt_middleware"
#: Attribute a decorated view carries: ``"required"`` or ``"optional"``.
_POLICY_ATTR = "__jwt_middleware_mode__"
_EXTRA = ("MODE", "PUBLIC_PATHS", "PUBLIC_METHODS")
_NOT_SET_UP = (
    "jwt_middleware is not set up on this Flask app: call JWT(app) or jwt.init_app(app) "
    "before serving requests"
)


@dataclass(frozen=True)
class _State:
    """One app's authenticators: the app policy, and the two a view decorator picks."""

    default: Authenticator
    required: Authenticator
    optional: Authenticator

    @property
    def realm(self) -> str:
        return self.default.realm


def _paths(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigurationError(f"{name} must be a list of strings or a comma-separated string")


class JWT:
    """The Flask extension. ``JWT(app)`` or ``JWT()`` and later ``init_app(app)``.

    ``config`` replaces the key and claim settings of ``app.config``;
    ``mode``, ``public_paths`` and ``public_methods`` override ``JWT_MODE``,
    ``JWT_PUBLIC_PATHS`` and ``JWT_PUBLIC_METHODS``; ``on_event`` receives an
    :class:`AuthEvent` for every rejection.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        config: Config | None = None,
        prefix: str = "JWT_",
        mode: str | None = None,
        public_paths: Iterable[str] | None = None,
        public_methods: Iterable[str] | None = None,
        on_event: Callable[[AuthEvent], None] | None = None,
    ) -> None:
        if config is not None and not isinstance(config, Config):
            raise ConfigurationError("config must be a jwt_middleware.Config")
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError("prefix must be a non-empty string such as 'JWT_'")
        if on_event is not None and not callable(on_event):
            raise ConfigurationError("on_event must be a callable taking an AuthEvent")
        self.config = config
        self.prefix = prefix
        self.mode = mode
        self.public_paths = None if public_paths is None else _paths(public_paths, "public_paths")
        self.public_methods = (
            None if public_methods is None else _paths(public_methods, "public_methods")
        )
        self.on_event = on_event
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Validate the settings for ``app`` and install the authentication hook."""
        if EXTENSION_KEY in app.extensions:
            raise ConfigurationError(f"jwt_middleware is already set up on app {app.name!r}")
        config, extra = self._settings(app)
        p = self.prefix
        mode = self.mode if self.mode is not None else extra.get("mode", "required")
        if mode not in ("required", "optional"):
            raise ConfigurationError(f"{p}MODE must be 'required' or 'optional', not {mode!r}")
        public_paths = self.public_paths
        if public_paths is None:
            public_paths = _paths(extra.get("public_paths", ()), f"{p}PUBLIC_PATHS")
        public_methods = self.public_methods
        if public_methods is None:
            public_methods = _paths(extra.get("public_methods", ()), f"{p}PUBLIC_METHODS")
        verifier = Verifier(config)
        state = _State(
            default=Authenticator(
                verifier,
                mode=mode,
                public_paths=public_paths,
                public_methods=public_methods,
                on_event=self.on_event,
            ),
            required=Authenticator(verifier, mode="required", on_event=self.on_event),
            optional=Authenticator(verifier, mode="optional", on_event=self.on_event),
        )
        app.extensions[EXTENSION_KEY] = state
        # First in line, so the app's own hooks can already use current_principal.
        app.before_request_funcs.setdefault(None, []).insert(0, _authenticate_request)

    def _settings(self, app: Flask) -> tuple[Config, dict[str, Any]]:
        p = self.prefix
        mapping: Mapping[str, Any] = app.config
        if self.config is not None:
            extra = {n.lower(): mapping[p + n] for n in _EXTRA if p + n in mapping}
            return self.config, extra
        known = set(PARSERS) | set(KEY_SETTINGS) | set(_EXTRA)
        unknown = sorted(k for k in mapping if k.startswith(p) and k[len(p) :] not in known)
        if unknown:
            raise ConfigurationError(
                f"unknown setting {unknown[0]} in app.config: jwt_middleware reads every "
                f"{p}* key. Fix the name, or if another extension (Flask-JWT-Extended, for "
                f"one) owns {p}* keys, give jwt_middleware its own prefix: "
                f"JWT(app, prefix='JWTM_'). Known settings: "
                + ", ".join(p + n for n in sorted(known))
            )
        values = settings_from_mapping(mapping, p, strict=True, extra=_EXTRA)
        extra = {n.lower(): values.pop(n.lower()) for n in _EXTRA if n.lower() in values}
        return Config(**values), extra


def _state(app: Flask) -> _State:
    state = app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, _State):
        raise RuntimeError(_NOT_SET_UP)
    return state


def _error_response(exc: AuthError, realm: str) -> Response:
    headers = [(k, v) for k, v in exc.headers(realm) if k != "content-type"]
    return Response(
        exc.json_body(), status=exc.status, headers=headers, content_type="application/json"
    )


def _view_mode(app: Flask, endpoint: str) -> str | None:
    """The mode a decorator set on the view (or the ``MethodView`` method), if any."""
    view = app.view_functions.get(endpoint)
    mode: str | None = getattr(view, _POLICY_ATTR, None)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = getattr(view_class, request.method.lower(), None)
        if method is None and request.method == "HEAD":
            method = getattr(view_class, "get", None)
        mode = getattr(method, _POLICY_ATTR, mode)
    return mode


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.environ


def _authenticate_request() -> Response | None:
    """The ``before_request`` hook: authenticate per the view's or the app's policy."""
    if request.endpoint is None:  # no route matched: Flask answers 404 / 405
        return None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = _state(app)
    mode = _view_mode(app, request.endpoint)
    authenticator = state.default if mode is None else getattr(state, mode)
    info = RequestInfo(
        request.method,
        request.path,
        request.environ.get("HTTP_AUTHORIZATION"),
        _is_preflight(),
    )
    try:
        request.environ[PRINCIPAL_KEY] = authenticator.authenticate(info)
    except AuthError as exc:
        return _error_response(exc, state.realm)
    return None


# --- decorators -----------------------------------------------------------------------------


def _enforce(guard: Guard | None, optional: bool) -> None:
    """At call time: the hook ran, a token is there if needed, and the guard holds."""
    state = _state(current_app._get_current_object())  # type: ignore[attr-defined]
    if PRINCIPAL_KEY not in request.environ:
        raise RuntimeError(_NOT_SET_UP)
    principal = request.environ[PRINCIPAL_KEY]
    if principal is None:
        if (optional and guard is None) or _is_preflight():
            return
        exc: AuthError = MissingTokenError()
        state.default.report(exc, request.method, request.path)
        abort(_error_response(exc, state.realm))
    if guard is not None:
        try:
            guard.check(principal)
        except AuthorizationError as denied:
            state.default.report(denied, request.method, request.path, principal.subject)
            abort(_error_response(denied, state.realm))


def _wrap(
    view: Callable[P, R], guard: Guard | None, mode: Literal["required", "optional"] | None
) -> Callable[P, R]:
    if not callable(view):
        raise ConfigurationError("decorate a view function")
    # An explicit @jwt_required wins over the "required" a guard implies, in any order.
    chosen = mode or getattr(view, _POLICY_ATTR, None) or "required"
    optional = chosen == "optional"
    wrapped: Callable[P, R]
    if inspect.iscoroutinefunction(view):
        async_view = cast(Callable[P, Awaitable[Any]], view)

        @functools.wraps(view)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            _enforce(guard, optional)
            return await async_view(*args, **kwargs)

        wrapped = cast(Callable[P, R], async_wrapper)
    else:

        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            _enforce(guard, optional)
            return view(*args, **kwargs)

        wrapped = wrapper
    setattr(wrapped, _POLICY_ATTR, chosen)
    return wrapped


def _guard_decorator(guard: Guard) -> ViewDecorator:
    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        return _wrap(view, guard, None)

    return decorate


def _names(values: tuple[object, ...], what: str) -> tuple[str, ...]:
    if len(values) == 1 and callable(values[0]):
        raise ConfigurationError(f"{what} takes names: write @{what}('admin'), with arguments")
    return cast(tuple[str, ...], values)


def jwt_required(*, optional: bool = False) -> ViewDecorator:
    """The view needs a valid token; with ``optional=True`` none is fine, a bad one is not."""
    if not isinstance(optional, bool):
        raise ConfigurationError(
            "write @jwt_required() or @jwt_required(optional=True), with the parentheses"
        )
    mode: Literal["required", "optional"] = "optional" if optional else "required"

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        return _wrap(view, None, mode)

    return decorate


def roles_required(*roles: str) -> ViewDecorator:
    """A valid token holding every one of ``roles`` (403 otherwise)."""
    return _guard_decorator(_roles_required_guard(*_names(roles, "roles_required")))


def roles_accepted(*roles: str) -> ViewDecorator:
    """A valid token holding at least one of ``roles`` (403 otherwise)."""
    return _guard_decorator(_roles_accepted_guard(*_names(roles, "roles_accepted")))


def scopes_required(*scopes: str) -> ViewDecorator:
    """A valid token holding every one of ``scopes`` (403 naming them otherwise)."""
    return _guard_decorator(_scopes_guard(*_names(scopes, "scopes_required")))


def claims_required(
    predicate: Callable[[Mapping[str, Any]], bool], description: str = "claims_required"
) -> ViewDecorator:
    """A valid token whose claims satisfy ``predicate`` (a predicate that raises fails)."""
    return _guard_decorator(_claims_guard(predicate, description))


# --- accessors ------------------------------------------------------------------------------


def get_principal() -> Principal | None:
    """The request's principal, or ``None`` when it carries none (optional or public routes)."""
    if not has_request_context():
        raise RuntimeError(
            "jwt_middleware.flask: no request is being handled. Use current_principal, "
            "get_jwt() and get_principal() inside a view or a request hook "
            "(in tests, inside app.test_request_context() or a test client request)"
        )
    principal = request.environ.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def _require_principal() -> Principal:
    principal = get_principal()
    if principal is None:
        raise RuntimeError(
            "jwt_middleware.flask: this request carries no verified token. Protect the view "
            "with @jwt_required() or a guard, or call get_principal(), which returns None, "
            "on optional or public routes"
        )
    return principal


def get_jwt() -> Mapping[str, Any]:
    """The verified token's claims (read-only). Raises :class:`RuntimeError` without one."""
    return _require_principal().claims


#: The request's :class:`~jwt_middleware.Principal`. Raises :class:`RuntimeError`
#: outside a request that carries a verified token.
current_principal: Principal = LocalProxy(_require_principal)  # type: ignore[assignment]
