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
``@claims_required(predicate, description=...)`` and ``@fresh_required()`` (a
token from a login, not a refresh: 401 ``insufficient_user_authentication``).
Put them under ``@app.route``. Their arguments are checked when the module is
imported.

Token lifecycle
---------------
``JWT(app, check_credentials=users.check)`` (a sync ``(username, password) ->
Identity | None``) also builds, per app, an :class:`~jwt_middleware.Issuer` from
the same config (it needs ``JWT_STORE_URL``, one ``JWT_ISSUER`` and a signing
key; ``JWT_ACCESS_TTL``, ``JWT_REFRESH_TTL``, ``JWT_REFRESH_GRACE``) and a
:class:`~jwt_middleware.TokenService`. ``app.register_blueprint(auth_blueprint())``
serves ``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout``; these
routes need no access token (logout uses a valid one, and ignores a missing or
bad one). ``revoke_subject(subject)`` revokes every token of a user (password
change); ``JWT.token_service(app)`` and ``JWT.token_issuer(app)`` give the parts.

Cookie mode (``JWT_COOKIES=True`` or ``cookies=CookiePolicy(...)``): login and
refresh set HttpOnly cookies instead of returning the tokens; the access token
is also read from its cookie (``Authorization`` wins), and a cookie-authenticated
unsafe request needs the CSRF header (403 otherwise).

Answers
-------
No or malformed token: 401 ``invalid_request``; bad token: 401
``invalid_token``; a failed guard: 403 ``insufficient_scope`` (401
``insufficient_user_authentication`` for ``fresh_required``). Each with the
RFC 6750 JSON body ``{"error": ..., "error_description": ...}`` and a
``WWW-Authenticate: Bearer ...`` header. ``JWT(app, on_error=shape)`` (or
``init_app(app, on_error=shape)``) shapes them: ``shape(request, error)``
returns a response, or ``None`` for the default, as the ASGI middleware's
``on_error`` does. The answers are returned as responses, not raised, so the
app's error handlers do not see them (a catch-all ``errorhandler(Exception)``
would otherwise turn refusals into 500s); call yours from ``on_error``. Rejections,
guard failures included, are logged on the ``jwt_middleware`` logger and
passed to ``on_event`` (an :class:`AuthEvent`); neither ever holds the token.

Accessors
---------
``current_principal`` (a :class:`~jwt_middleware.Principal` proxy),
``get_jwt()`` (the claims) and ``get_principal()`` (the principal or ``None``).
The first two raise :class:`RuntimeError` outside a request that carries a
verified token.

The app's user: ``@jwt.user_loader`` (or ``JWT(app, user_loader=load)``) loads it
from the principal once per request that carries a verified token, before the
view, as flask-jwt-extended's ``user_lookup_loader`` does; ``current_user`` is
that object and ``get_current_user()`` gives it or ``None``. A loader returning
``None`` (the user is gone) refuses with 401 ``invalid_token``, reason
``unknown_user``; on public paths the request goes on without a user instead.
The auth, JWKS and readiness routes never call it. ``@jwt.claims_loader`` adds
claims to every login (flask-jwt-extended's ``additional_claims_loader``).
"""

from __future__ import annotations

import functools
import inspect
import json
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, ParamSpec, Protocol, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    current_app,
    has_request_context,
    request,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.local import LocalProxy
from werkzeug.wrappers import Response as WerkzeugResponse

from ._core.config import Config
from ._core.errors import AuthError, ConfigurationError, MissingTokenError
from ._core.guards import Guard
from ._core.guards import claims_required as _claims_guard
from ._core.guards import fresh_required as _fresh_guard
from ._core.guards import roles_accepted as _roles_accepted_guard
from ._core.guards import roles_required as _roles_required_guard
from ._core.guards import scopes_required as _scopes_guard
from ._core.principal import Principal
from ._core.settings import (
    KEY_SETTINGS,
    LIFECYCLE_SETTINGS,
    PARSERS,
    settings_from_mapping,
    unknown_setting,
)
from ._core.verify import Verifier
from ._keysources.publish import DEFAULT_MAX_AGE as _DEFAULT_MAX_AGE
from ._keysources.publish import WELL_KNOWN_PATHS, JWKSPublisher, JWKSSource
from ._lifecycle.cookies import CookiePolicy
from ._lifecycle.endpoints import CredentialCheck, Identity, Reply, TokenService, body_reply
from ._lifecycle.forms import BodyError
from ._lifecycle.hooks import USER_KEY, call_hook, check_hook, load_user
from ._lifecycle.issue import Issuer
from ._lifecycle.settings import cookie_policy_from_mapping, issuer_options_from_mapping
from ._sansio.authenticator import PRINCIPAL_KEY, Authenticator, AuthEvent, RequestInfo
from ._sansio.health import DEFAULT_RETRY_AFTER as _DEFAULT_RETRY_AFTER
from ._sansio.health import READINESS_PATH, Readiness, ReadinessSource, readiness_for

__all__ = [
    "EXTENSION_KEY",
    "JWT",
    "PRINCIPAL_KEY",
    "READINESS_PATH",
    "AuthEvent",
    "CookiePolicy",
    "Identity",
    "WELL_KNOWN_PATHS",
    "ViewDecorator",
    "auth_blueprint",
    "claims_required",
    "current_principal",
    "current_user",
    "fresh_required",
    "get_current_user",
    "get_jwt",
    "get_principal",
    "jwks_blueprint",
    "jwt_required",
    "readiness_blueprint",
    "revoke_subject",
    "roles_accepted",
    "roles_required",
    "scopes_required",
]

P = ParamSpec("P")
R = TypeVar("R")
#: ``user_loader(principal) -> user | None`` and ``claims_loader(subject) -> claims``.
UserLoaderT = TypeVar("UserLoaderT", bound=Callable[[Principal], Any])
ClaimsLoaderT = TypeVar("ClaimsLoaderT", bound=Callable[[str], Mapping[str, Any]])
#: ``on_error(request, error)``: a response (any view return value) or ``None``.
ErrorHook = Callable[[Request, AuthError], "ResponseReturnValue | None"]


class ViewDecorator(Protocol):
    """What the decorators return: it keeps the view's parameters and return type."""

    def __call__(self, view: Callable[P, R], /) -> Callable[P, R]: ...


#: The key of the per-app state in ``app.extensions``.
EXTENSION_KEY = "jwt_middleware"
#: Attribute a decorated view carries: ``"required"`` or ``"optional"``.
_POLICY_ATTR = "__jwt_middleware_mode__"
_EXTRA = ("MODE", "PUBLIC_PATHS", "PUBLIC_METHODS")
_NO_LIFECYCLE = (
    "the token lifecycle is not set up on this Flask app: pass check_credentials= to "
    "JWT(...), with a store (JWT_STORE_URL), one issuer (JWT_ISSUER) and a signing key"
)
_NOT_SET_UP = (
    "jwt_middleware is not set up on this Flask app: call JWT(app) or jwt.init_app(app) "
    "before serving requests"
)


@dataclass(frozen=True)
class _State:
    """One app's authenticators (the app policy, the ones a view decorator or the auth
    routes pick) and, when the token lifecycle is on, its cookie policy, issuer and service."""

    default: Authenticator
    required: Authenticator
    optional: Authenticator
    #: The auth routes: a valid token is attached, a missing or bad one is ignored.
    public: Authenticator
    hooks: _Hooks
    cookies: CookiePolicy | None = None
    issuer: Issuer | None = None
    service: TokenService | None = None
    #: (endpoint, method) -> the mode its decorators set (filled on first use; routes
    #: cannot change once an app serves requests).
    modes: dict[tuple[str, str], str | None] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.default.realm


class _Hooks:
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
        _check_hooks(on_error, user_loader, claims_loader)
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


def _check_hooks(
    on_error: object, user_loader: object, claims_loader: object
) -> None:
    if on_error is not None:
        check_hook(on_error, "on_error", "(request, error)", sync_only=True, arity=2)
    if user_loader is not None:
        check_hook(user_loader, "user_loader", "the Principal", sync_only=True)
    if claims_loader is not None:
        check_hook(claims_loader, "claims_loader", "the subject (a str)", sync_only=True)


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

    Token lifecycle: ``check_credentials`` (a sync ``(username, password) ->
    Identity | None``) turns on the issuer and the login, refresh and logout
    service for the app (see :func:`auth_blueprint`); it needs a store
    (``JWT_STORE_URL``), one ``JWT_ISSUER`` and a signing key. ``issuer_options``
    (``access_ttl``, ``refresh_ttl``, ``refresh_grace``) override ``JWT_ACCESS_TTL``,
    ``JWT_REFRESH_TTL`` and ``JWT_REFRESH_GRACE``; ``cookies`` (a
    :class:`CookiePolicy`) overrides ``JWT_COOKIES`` and the ``JWT_COOKIE_*`` keys.

    Hooks (sync, as everything Flask calls; ``init_app`` takes the same three, for
    that app only):

    * ``on_error(request, error)``: shapes every refusal (the hook's and the
      decorators', an :class:`~jwt_middleware.AuthError`): return a response (any
      view return value; a bare body keeps ``error.status``) or ``None`` for the
      default RFC 6750 answer, as the ASGI middleware's ``on_error`` does;
    * ``user_loader(principal)`` (or ``@jwt.user_loader``): the app's user, loaded
      once per request that carries a verified token, read with ``current_user``;
    * ``claims_loader(subject)`` (or ``@jwt.claims_loader``): extra claims for every
      login of the token lifecycle.
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
        cookies: CookiePolicy | None = None,
        check_credentials: CredentialCheck | None = None,
        issuer_options: Mapping[str, Any] | None = None,
        on_error: ErrorHook | None = None,
        user_loader: Callable[[Principal], Any] | None = None,
        claims_loader: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        _check_hooks(on_error, user_loader, claims_loader)
        if cookies is not None and not isinstance(cookies, CookiePolicy):
            raise ConfigurationError("cookies must be a jwt_middleware.CookiePolicy")
        if check_credentials is not None and (
            not callable(check_credentials) or inspect.iscoroutinefunction(check_credentials)
        ):
            raise ConfigurationError(
                "check_credentials must be a sync callable (username, password) returning an "
                "Identity or None: Flask views call it synchronously"
            )
        if issuer_options is not None and not isinstance(issuer_options, Mapping):
            raise ConfigurationError(
                "issuer_options must be a mapping (access_ttl, refresh_ttl, refresh_grace)"
            )
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
        self.cookies = cookies
        self.check_credentials = check_credentials
        self.issuer_options = None if issuer_options is None else dict(issuer_options)
        self.on_error = on_error
        self._user_loader = user_loader
        self._claims_loader = claims_loader
        if app is not None:
            self.init_app(app)

    def user_loader(self, func: UserLoaderT) -> UserLoaderT:
        """Decorator: ``func(principal)`` returns the app's user, or ``None`` when the
        user is gone (401 ``invalid_token``). Read the user with ``current_user``."""
        check_hook(func, "user_loader", "the Principal", sync_only=True)
        self._user_loader = func
        return func

    def claims_loader(self, func: ClaimsLoaderT) -> ClaimsLoaderT:
        """Decorator: ``func(subject)`` returns extra claims for every login (flask-jwt-
        extended's ``additional_claims_loader``); see :class:`~jwt_middleware.Issuer`."""
        check_hook(func, "claims_loader", "the subject (a str)", sync_only=True)
        self._claims_loader = func
        return func

    def init_app(
        self,
        app: Flask,
        *,
        on_error: ErrorHook | None = None,
        user_loader: Callable[[Principal], Any] | None = None,
        claims_loader: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        """Validate the settings for ``app`` and install the authentication hook
        (the hooks given here apply to this app, instead of the extension's)."""
        if EXTENSION_KEY in app.extensions:
            raise ConfigurationError(f"jwt_middleware is already set up on app {app.name!r}")
        hooks = _Hooks(self, on_error, user_loader, claims_loader)
        if (claims_loader or self._claims_loader) and self.check_credentials is None:
            raise ConfigurationError(
                "claims_loader adds claims at login: it needs the token lifecycle, "
                "JWT(..., check_credentials=...)"
            )
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
        cookies = self.cookies
        if cookies is None:
            cookies = cookie_policy_from_mapping(app.config, p)
        issuer = service = None
        if self.check_credentials is not None:
            issuer = self._issuer(app, config, hooks)
            service = TokenService(issuer, self.check_credentials, cookies=cookies)
        verifier = Verifier(config)
        on_event = self.on_event
        state = _State(
            default=Authenticator(
                verifier,
                mode=mode,
                public_paths=public_paths,
                public_methods=public_methods,
                on_event=on_event,
                cookies=cookies,
            ),
            required=Authenticator(verifier, mode="required", on_event=on_event, cookies=cookies),
            optional=Authenticator(verifier, mode="optional", on_event=on_event, cookies=cookies),
            public=Authenticator(
                verifier, mode="optional", public_paths=("/*",), on_event=on_event, cookies=cookies
            ),
            hooks=hooks,
            cookies=cookies,
            issuer=issuer,
            service=service,
        )
        app.extensions[EXTENSION_KEY] = state
        # First in line, so the app's own hooks can already use current_principal.
        app.before_request_funcs.setdefault(None, []).insert(0, _authenticate_request)

    def _issuer(self, app: Flask, config: Config, hooks: _Hooks) -> Issuer:
        """The app's issuer, from the same :class:`Config` the verifier uses."""
        p = self.prefix
        if config.store is None:
            raise ConfigurationError(
                "the token lifecycle (check_credentials=) needs a store for refresh families "
                f"and revocations: set {p}STORE_URL (for example 'sqlite:///tokens.db', or "
                "'memory://' for one process) or Config(store=...)"
            )
        if not config.revocation:
            raise ConfigurationError(
                f"the token lifecycle needs the revocation check: with {p}REVOCATION off, "
                "logout and refresh-token reuse would not stop the access tokens"
            )
        if not isinstance(config.issuer, str):
            raise ConfigurationError(
                f"the token lifecycle needs exactly one {p}ISSUER: the identifier this app "
                "signs its tokens with"
            )
        try:
            config.key_set.signing_key()
        except ConfigurationError:
            raise ConfigurationError(
                f"the token lifecycle needs a signing key: set {p}SECRET, {p}PRIVATE_KEY or "
                f"{p}PRIVATE_KEY_FILE (a public key or JWKS can only verify)"
            ) from None
        options = self.issuer_options
        if options is None:
            options = issuer_options_from_mapping(app.config, p)
        try:
            return Issuer(config, claims_loader=hooks.load_claims, **options)
        except TypeError:
            raise ConfigurationError(
                "issuer_options takes access_ttl, refresh_ttl and refresh_grace"
            ) from None

    @staticmethod
    def token_service(app: Flask | None = None) -> TokenService:
        """The app's login, refresh and logout service (``current_app`` by default)."""
        service = _state(_app(app)).service
        if service is None:
            raise RuntimeError(_NO_LIFECYCLE)
        return service

    @staticmethod
    def token_issuer(app: Flask | None = None) -> Issuer:
        """The app's :class:`~jwt_middleware.Issuer` (``current_app`` by default)."""
        issuer = _state(_app(app)).issuer
        if issuer is None:
            raise RuntimeError(_NO_LIFECYCLE)
        return issuer

    def _settings(self, app: Flask) -> tuple[Config, dict[str, Any]]:
        p = self.prefix
        mapping: Mapping[str, Any] = app.config
        if self.config is not None:
            extra = {n.lower(): mapping[p + n] for n in _EXTRA if p + n in mapping}
            return self.config, extra
        known = set(PARSERS) | set(KEY_SETTINGS) | set(LIFECYCLE_SETTINGS) | set(_EXTRA)
        unknown = sorted(k for k in mapping if k.startswith(p) and k[len(p) :] not in known)
        if unknown:
            raise ConfigurationError(
                unknown_setting(unknown[0][len(p) :], p, known)
                + f" (jwt_middleware reads every {p}* key in app.config; if another extension, "
                f"Flask-JWT-Extended for one, owns {p}* keys, give jwt_middleware its own "
                "prefix: JWT(app, prefix='JWTM_'))"
            )
        # Relative *_FILE paths are read from the app's folder, not the working directory.
        values = settings_from_mapping(
            mapping, p, strict=True, extra=_EXTRA, base_dir=app.root_path
        )
        extra = {n.lower(): values.pop(n.lower()) for n in _EXTRA if n.lower() in values}
        return Config(**values), extra


def _app(app: Flask | None) -> Flask:
    if app is not None:
        return app
    return cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]


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


def _answer(app: Flask, state: _State, exc: AuthError) -> Response:
    """The app's ``on_error`` answer when it gives one, else the RFC 6750 answer.

    Flask's error handlers are not asked: a catch-all ``errorhandler(Exception)`` would
    turn every refusal into its 500 page. ``on_error`` is the one hook (it may call them).
    """
    hook = state.hooks.on_error
    if hook is not None:
        answer = hook(request._get_current_object(), exc)  # type: ignore[attr-defined]
        if isinstance(answer, (tuple, WerkzeugResponse)) or callable(answer):
            return app.make_response(answer)
        if answer is not None:  # a bare body (str, dict, ...): the refusal's status
            return app.make_response((answer, exc.status))
    return _error_response(exc, state.realm)


def _view_mode(app: Flask, state: _State, endpoint: str, method: str) -> str | None:
    """The mode a decorator set on the view (or the ``MethodView`` method), if any."""
    cache_key = (endpoint, method)
    try:
        return state.modes[cache_key]
    except KeyError:
        pass
    view = app.view_functions.get(endpoint)
    mode: str | None = getattr(view, _POLICY_ATTR, None)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        mode = getattr(handler, _POLICY_ATTR, mode)
    state.modes[cache_key] = mode
    return mode


def _cookie_parts(
    cookies: CookiePolicy | None, environ: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """The raw ``Cookie`` header and the CSRF header, in cookie mode."""
    if cookies is None:
        return None, None
    return environ.get("HTTP_COOKIE"), environ.get(cookies.csrf_environ_key)


def _is_preflight(environ: Mapping[str, Any]) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "OPTIONS"
        and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
    )


def _authenticate_request() -> Response | None:
    """The ``before_request`` hook: authenticate per the view's or the app's policy."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    endpoint = req.endpoint
    if endpoint is None:  # no route matched: Flask answers 404 / 405
        return None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = _state(app)
    environ = req.environ
    method = req.method
    mode = _view_mode(app, state, endpoint, method)
    authenticator = state.default if mode is None else getattr(state, mode)
    cookie, csrf = _cookie_parts(state.cookies, environ)
    info = RequestInfo(
        method, req.path, environ.get("HTTP_AUTHORIZATION"), _is_preflight(environ), None,
        cookie, csrf,
    )
    try:
        principal = environ[PRINCIPAL_KEY] = authenticator.authenticate(info)
    except AuthError as exc:
        return _answer(app, state, exc)
    loader = state.hooks.user_loader
    if principal is not None and loader is not None and mode != _PUBLIC:
        try:
            environ[USER_KEY] = load_user(loader, principal)
        except AuthError as exc:  # the user is gone (or the loader refused)
            if authenticator.is_public(method, req.path):
                environ[USER_KEY] = None  # as a bad token there: the request goes on
            else:
                authenticator.report(exc, method, req.path, principal.subject)
                return _answer(app, state, exc)
    return None


# --- decorators -----------------------------------------------------------------------------


def _enforce(guard: Guard | None, optional: bool) -> None:
    """At call time: the hook ran, a token is there if needed, and the guard holds."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    if PRINCIPAL_KEY not in environ:
        _state(current_app._get_current_object())  # type: ignore[attr-defined]
        raise RuntimeError(_NOT_SET_UP)
    principal = environ[PRINCIPAL_KEY]
    if principal is None:
        if (optional and guard is None) or _is_preflight(environ):
            return
        _refuse(MissingTokenError(), req, None)
    if guard is not None:
        try:
            guard.check(principal)
        except AuthError as denied:  # 403, or 401 for fresh_required
            _refuse(denied, req, principal.subject)


def _refuse(exc: AuthError, req: Any, subject: str | None) -> NoReturn:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = _state(app)
    state.default.report(exc, req.method, req.path, subject)
    abort(_answer(app, state, exc))


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


def fresh_required() -> ViewDecorator:
    """A valid token minted by a login, not by a refresh (401
    ``insufficient_user_authentication`` otherwise): for password changes, payments."""
    return _guard_decorator(_fresh_guard())


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


def get_current_user() -> Any:
    """The app's user that ``user_loader`` loaded for this request, or ``None`` (no
    verified token, no loader, or a public path whose token's user is gone)."""
    if not has_request_context():
        raise RuntimeError(
            "jwt_middleware.flask: no request is being handled. Use current_user and "
            "get_current_user() inside a view or a request hook"
        )
    return request.environ.get(USER_KEY)


def _require_user() -> Any:
    user = get_current_user()
    if user is None:
        if _state(_app(None)).hooks.user_loader is None:
            raise RuntimeError(
                "jwt_middleware.flask: current_user needs a user loader: decorate one with "
                "@jwt.user_loader or pass JWT(app, user_loader=...)"
            )
        raise RuntimeError(
            "jwt_middleware.flask: this request has no user (no verified token). Protect "
            "the view with @jwt_required() or a guard, or call get_current_user(), which "
            "returns None, on optional or public routes"
        )
    return user


#: The app's user object for this request (``user_loader(principal)``, loaded once
#: per request). Raises :class:`RuntimeError` where there is none.
current_user: Any = LocalProxy(_require_user)


# --- token lifecycle: auth routes ------------------------------------------------------------

#: The policy of the auth routes: a valid token is attached, a missing or bad one ignored
#: (logging out with an expired access token must work; logging in must not trip over one).
_PUBLIC = "public"


def _render(reply: Reply) -> Response:
    """A :class:`Reply` as a Flask response: JSON body, headers, one ``Set-Cookie`` each."""
    response = Response(
        json.dumps(reply.body), status=reply.status, content_type="application/json"
    )
    for name, value in reply.headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    for cookie in reply.cookies:
        response.headers.add("Set-Cookie", cookie)
    return response


def _fields(service: TokenService, route: str) -> dict[str, str] | Response:
    """The route's string fields, or the 400 / 413 answer (the rules are in ``_forms``)."""
    try:
        reader = service.reader(
            request.headers.get("Content-Type"), request.environ.get("CONTENT_LENGTH")
        )
        try:  # Werkzeug stops at Content-Length; a chunked body one byte past the limit
            stream = request.stream
            while chunk := stream.read(reader.wanted):
                reader.feed(chunk)
        except HTTPException as exc:  # ClientDisconnected, or 413 for MAX_CONTENT_LENGTH
            if exc.code == 413:
                limit = min(reader.limit, request.max_content_length or reader.limit)
                raise BodyError.too_large(limit) from None
            raise BodyError.unreadable() from None
        except (OSError, ValueError):
            raise BodyError.unreadable() from None
        return reader.fields(route)
    except BodyError as exc:
        return _render(body_reply(exc))


def _service() -> TokenService:
    return JWT.token_service(_app(None))


def _login() -> Response:
    service = _service()
    data = _fields(service, "login")
    if isinstance(data, Response):
        return data
    return _render(service.login(data.get("username"), data.get("password")))


def _refresh() -> Response:
    service = _service()
    data = _fields(service, "refresh")
    if isinstance(data, Response):
        return data
    cookie, csrf = _cookie_parts(service.cookies, request.environ)
    return _render(service.refresh(data.get("refresh_token") or None, cookie, csrf))


def _logout() -> Response:
    service = _service()
    data = _fields(service, "logout")
    if isinstance(data, Response):
        return data
    cookie, csrf = _cookie_parts(service.cookies, request.environ)
    return _render(service.logout(get_principal(), data.get("refresh_token") or None, cookie, csrf))


for _view in (_login, _refresh, _logout):
    setattr(_view, _POLICY_ATTR, _PUBLIC)


def auth_blueprint(*, name: str = "jwt_auth", url_prefix: str = "/auth") -> Blueprint:
    """``POST {url_prefix}/login``, ``/refresh`` and ``/logout`` for the app's token service.

    Register it on an app whose ``JWT`` has ``check_credentials=``. The routes need no
    access token (a valid one is used by logout, a missing or bad one ignored), whatever
    the app's mode and public paths. In cookie mode the refresh cookie's path
    (``JWT_REFRESH_PATH``, ``/auth`` by default) must cover ``url_prefix``.
    """
    if not url_prefix.startswith("/"):
        raise ConfigurationError("url_prefix starts with '/', such as '/auth'")
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix.rstrip("/") or None)
    blueprint.add_url_rule("/login", "login", _login, methods=["POST"])
    blueprint.add_url_rule("/refresh", "refresh", _refresh, methods=["POST"])
    blueprint.add_url_rule("/logout", "logout", _logout, methods=["POST"])

    def check(setup: Any) -> None:
        state = setup.app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, _State):
            return  # JWT(app) may come later; the views check again when called
        if state.service is None:
            raise ConfigurationError(_NO_LIFECYCLE)
        prefix = (setup.url_prefix or "").rstrip("/") + "/"
        if state.cookies is not None and not prefix.startswith(
            state.cookies.refresh_path.rstrip("/") + "/"
        ):
            raise ConfigurationError(
                f"the refresh cookie's path {state.cookies.refresh_path!r} does not cover the "
                f"auth routes at {prefix!r}: set JWT_REFRESH_PATH or the url_prefix to match"
            )

    blueprint.record(check)
    return blueprint


def revoke_subject(subject: str) -> None:
    """Revoke every token of ``subject`` issued before the current second, through the
    current app's issuer (password change, compromise). Needs an app context."""
    JWT.token_issuer(_app(None)).revoke_subject(subject)


# --- publishing keys: /.well-known/jwks.json and discovery ----------------------------------


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
        setattr(view, _POLICY_ATTR, _PUBLIC)
    jwks_path, *discovery_paths = WELL_KNOWN_PATHS
    blueprint.add_url_rule(jwks_path, "jwks", jwks, methods=["GET"])
    if publisher.issuer is not None:
        for index, path in enumerate(discovery_paths):
            blueprint.add_url_rule(path, f"discovery_{index}", discovery, methods=["GET"])
    return blueprint


# --- readiness: the probe a load balancer calls ----------------------------------------------


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
            app = _app(None)
            readiness = per_app.get(app)
            if readiness is None:
                verifier = _state(app).default.verifier
                readiness = per_app.setdefault(app, Readiness(verifier, retry_after=retry_after))
        document = readiness.check()
        return Response(document.body, status=document.status, headers=list(document.headers))

    setattr(ready, _POLICY_ATTR, _PUBLIC)
    blueprint = Blueprint(name, __name__)
    blueprint.add_url_rule(path, "ready", ready, methods=["GET"])
    return blueprint
