"""An app's settings from ``app.config`` under one prefix, and its issuer from them.

Everything is checked here, at ``init_app``: an unknown ``{prefix}*`` key, a bad value,
a token lifecycle without a store, one issuer or a signing key, the DPoP settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from .._core.config import Config
from .._core.dpop_policy import DPoPPolicy, dpop_policy_from_mapping
from .._core.errors import ConfigurationError
from .._core.settings import (
    DPOP_SETTINGS,
    KEY_SETTINGS,
    LIFECYCLE_SETTINGS,
    PARSERS,
    TRANSPORT_SETTINGS,
    settings_from_mapping,
    unknown_setting,
)
from .._lifecycle.cookies import CookiePolicy
from .._lifecycle.issue import Issuer
from .._lifecycle.settings import issuer_options_from_mapping
from .._sansio.enforce import transport_option
from .._sansio.transport import TransportPolicy, transport_policy_from_mapping

#: The integration's own keys, after the prefix: ``JWT_MODE``, ``JWT_PUBLIC_PATHS``, ...
EXTRA = ("MODE", "PUBLIC_PATHS", "PUBLIC_METHODS")


def paths(value: object, name: str) -> tuple[str, ...]:
    """A list of strings, or a comma-separated string, as a tuple."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigurationError(f"{name} must be a list of strings or a comma-separated string")


def app_settings(
    app: Flask, prefix: str, config: Config | None
) -> tuple[Config, dict[str, Any]]:
    """The :class:`Config` (``config`` when given, else ``app.config``'s) and the
    integration's own settings (``mode``, ``public_paths``, ``public_methods``)."""
    p = prefix
    mapping: Mapping[str, Any] = app.config
    if config is not None:
        extra = {n.lower(): mapping[p + n] for n in EXTRA if p + n in mapping}
        return config, extra
    known = set(PARSERS) | set(KEY_SETTINGS) | set(LIFECYCLE_SETTINGS) | set(EXTRA)
    known |= set(DPOP_SETTINGS) | set(TRANSPORT_SETTINGS)
    unknown = sorted(k for k in mapping if k.startswith(p) and k[len(p) :] not in known)
    if unknown:
        raise ConfigurationError(
            unknown_setting(unknown[0][len(p) :], p, known)
            + f" (jwt_middleware reads every {p}* key in app.config; if another extension, "
            f"Flask-JWT-Extended for one, owns {p}* keys, give jwt_middleware its own "
            "prefix: JWT(app, prefix='JWTM_'))"
        )
    # Relative *_FILE paths are read from the app's folder, not the working directory.
    values = settings_from_mapping(mapping, p, strict=True, extra=EXTRA, base_dir=app.root_path)
    extra = {n.lower(): values.pop(n.lower()) for n in EXTRA if n.lower() in values}
    return Config(**values), extra


def app_issuer(
    app: Flask,
    config: Config,
    prefix: str,
    options: Mapping[str, Any] | None,
    claims_loader: Callable[[str], Any],
) -> Issuer:
    """The app's issuer, from the same :class:`Config` the verifier uses; ``options``
    (else ``{prefix}ACCESS_TTL``, ...) are its lifetimes."""
    p = prefix
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
    if options is None:
        options = issuer_options_from_mapping(app.config, p, base_dir=app.root_path)
    try:
        return Issuer(config, claims_loader=claims_loader, **options)
    except TypeError:
        raise ConfigurationError(
            "issuer_options takes access_ttl, refresh_ttl and refresh_grace"
        ) from None


def app_dpop(app: Flask, config: Config, prefix: str) -> DPoPPolicy:
    """The app's DPoP policy from ``{prefix}DPOP`` (``off`` by default), ``{prefix}DPOP_*``;
    its replay cache is the app's store (every process sharing it refuses a proof once
    used), relative ``*_FILE`` paths are read from the app's folder."""
    return dpop_policy_from_mapping(app.config, prefix, store=config.store, base_dir=app.root_path)


def app_transport(
    app: Flask, prefix: str, transport: TransportPolicy | None, cookies: CookiePolicy | None
) -> TransportPolicy | None:
    """The app's transport policy: ``transport`` when given, else ``{prefix}REQUIRE_HTTPS``,
    ``{prefix}TRUSTED_PROXIES``, ``{prefix}HSTS_*`` and ``{prefix}ALLOW_LOOPBACK_HTTP``
    from ``app.config``; checked against the cookie policy (cookie mode with
    ``REQUIRE_HTTPS`` needs ``Secure`` cookies). ``None`` when it would do nothing."""
    if transport is None:
        transport = transport_policy_from_mapping(app.config, prefix, cookies=cookies)
    else:
        transport_option(transport, cookies)
    return transport if transport.active or transport.trusted_proxies else None
