"""The extension: ``JWT(app)`` or ``JWT()`` then ``init_app(app)``.

``init_app`` reads and checks the app's settings, builds the app's authenticators (and,
with ``check_credentials=``, its issuer and token service) into ``app.extensions``, and
installs the authentication hook first in line. The extension object keeps no app.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from flask import Flask

from .._core.config import Config
from .._core.dpop_policy import DPoPPolicy
from .._core.errors import ConfigurationError
from .._core.principal import Principal
from .._core.verify import Verifier
from .._lifecycle.cookies import CookiePolicy
from .._lifecycle.endpoints import CredentialCheck, TokenService
from .._lifecycle.hooks import check_hook
from .._lifecycle.issue import Issuer
from .._lifecycle.observe import issuer_events
from .._lifecycle.settings import cookie_policy_from_mapping
from .._sansio.authenticator import AuthEvent
from .._sansio.enforce import TransportPolicy, transport_option
from .._sansio.measured import policy_factory
from ._hook import add_hsts, request_hook
from ._settings import app_dpop, app_issuer, app_settings, app_transport, paths
from ._state import (
    EXTENSION_KEY,
    NO_LIFECYCLE,
    ErrorHook,
    Hooks,
    State,
    app_or_current,
    check_hooks,
    state_of,
)

#: ``user_loader(principal) -> user | None`` and ``claims_loader(subject) -> claims``.
UserLoaderT = TypeVar("UserLoaderT", bound=Callable[[Principal], Any])
ClaimsLoaderT = TypeVar("ClaimsLoaderT", bound=Callable[[str], Mapping[str, Any]])


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
    ``transport`` (a :class:`~jwt_middleware.TransportPolicy`) overrides
    ``JWT_REQUIRE_HTTPS``, ``JWT_TRUSTED_PROXIES``, ``JWT_HSTS_*`` and
    ``JWT_ALLOW_LOOPBACK_HTTP``: a token (or a token route) over plain HTTP is refused
    with 400 before the token is read, HSTS is added over HTTPS. ``dpop`` (a
    :class:`~jwt_middleware.DPoPPolicy`) overrides ``JWT_DPOP`` and the ``JWT_DPOP_*`` keys:
    one policy for the token routes and every request (docs/dpop.md).

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
        metrics: Any = None,
        audit: Any = None,
        transport: TransportPolicy | None = None,
        dpop: DPoPPolicy | None = None,
    ) -> None:
        check_hooks(on_error, user_loader, claims_loader)
        self.transport = transport_option(transport)
        if dpop is not None and not isinstance(dpop, DPoPPolicy):
            raise ConfigurationError("dpop must be a jwt_middleware.DPoPPolicy")
        self.dpop = dpop
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
        self.public_paths = None if public_paths is None else paths(public_paths, "public_paths")
        self.public_methods = (
            None if public_methods is None else paths(public_methods, "public_methods")
        )
        self.on_event = on_event
        self.cookies = cookies
        self.check_credentials = check_credentials
        self.issuer_options = None if issuer_options is None else dict(issuer_options)
        self.on_error = on_error
        self._user_loader = user_loader
        self._claims_loader = claims_loader
        #: ``jwt_middleware.metrics``: verifications by outcome and reason (``None``: off).
        self.metrics = metrics
        #: ``jwt_middleware.audit.Audit``: the issuer's events and the refusals (``None``: off).
        self.audit = audit
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
        hooks = Hooks(self, on_error, user_loader, claims_loader)
        if (claims_loader or self._claims_loader) and self.check_credentials is None:
            raise ConfigurationError(
                "claims_loader adds claims at login: it needs the token lifecycle, "
                "JWT(..., check_credentials=...)"
            )
        config, extra = app_settings(app, self.prefix, self.config)
        p = self.prefix
        mode = self.mode if self.mode is not None else extra.get("mode", "required")
        if mode not in ("required", "optional"):
            raise ConfigurationError(f"{p}MODE must be 'required' or 'optional', not {mode!r}")
        public_paths = self.public_paths
        if public_paths is None:
            public_paths = paths(extra.get("public_paths", ()), f"{p}PUBLIC_PATHS")
        public_methods = self.public_methods
        if public_methods is None:
            public_methods = paths(extra.get("public_methods", ()), f"{p}PUBLIC_METHODS")
        cookies = self.cookies
        if cookies is None:
            cookies = cookie_policy_from_mapping(app.config, p)
        transport = app_transport(app, p, self.transport, cookies)
        issuer = service = None
        dpop = self.dpop if self.dpop is not None else app_dpop(app, config, p)
        if self.check_credentials is not None:
            issuer = app_issuer(app, config, p, self.issuer_options, hooks.load_claims)
            issuer.events = issuer_events(self.audit, self.metrics, issuer.key.kid)
            service = TokenService(issuer, self.check_credentials, cookies=cookies, dpop=dpop)
        verifier = Verifier(config)
        on_event = self.on_event if self.audit is None else self.audit.hook(self.on_event)
        policy = policy_factory(self.metrics)  # the plain policy, or one that reports
        state = State(
            default=policy(
                verifier,
                mode=mode,
                public_paths=public_paths,
                public_methods=public_methods,
                on_event=on_event,
                cookies=cookies,
                dpop=dpop,
            ),
            required=policy(verifier, mode="required", on_event=on_event, cookies=cookies,
                            dpop=dpop),
            optional=policy(verifier, mode="optional", on_event=on_event, cookies=cookies,
                            dpop=dpop),
            public=policy(verifier, mode="optional", public_paths=("/*",), on_event=on_event,
                          cookies=cookies, dpop=dpop),
            hooks=hooks,
            cookies=cookies,
            issuer=issuer,
            service=service,
            transport=transport,
        )
        app.extensions[EXTENSION_KEY] = state
        if transport is not None and transport.hsts is not None:
            app.after_request_funcs.setdefault(None, []).insert(0, add_hsts)  # runs last
        # First in line, so the app's own hooks can already use current_principal.
        app.before_request_funcs.setdefault(None, []).insert(0, request_hook(app, state))

    @staticmethod
    def token_service(app: Flask | None = None) -> TokenService:
        """The app's login, refresh and logout service (``current_app`` by default)."""
        service = state_of(app_or_current(app)).service
        if service is None:
            raise RuntimeError(NO_LIFECYCLE)
        return service

    @staticmethod
    def token_issuer(app: Flask | None = None) -> Issuer:
        """The app's :class:`~jwt_middleware.Issuer` (``current_app`` by default)."""
        issuer = state_of(app_or_current(app)).issuer
        if issuer is None:
            raise RuntimeError(NO_LIFECYCLE)
        return issuer

