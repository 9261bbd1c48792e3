"""Lifecycle settings from a flat mapping: cookie mode and the issuer's lifetimes.

The same prefixed names as :func:`jwt_middleware.Config.from_env` reads (``JWT_`` by
default), for the parts above the core: ``COOKIES``, ``COOKIE_SECURE``,
``COOKIE_SAMESITE``, ``COOKIE_DOMAIN``, ``COOKIE_WEBSOCKET_ORIGINS``, ``REFRESH_PATH``,
``CSRF_HEADER`` for :class:`~jwt_middleware.CookiePolicy`, and ``ACCESS_TTL``,
``REFRESH_TTL``, ``REFRESH_GRACE`` and ``ENCRYPTION_KEY_FILE`` (the recipient's public
key, PEM or JWK, that access tokens are encrypted to) for :class:`~jwt_middleware.Issuer`,
and ``SESSION_RECORD_ADDRESS`` and ``SESSION_ADMIN_ROLE`` for its sessions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from .._core.errors import ConfigurationError
from .._core.jwekeyset import encryption_key_file
from .._core.policy import token_policy_from_mapping
from .._core.settings import _BOOL, _bool, _found, _int, _list, _number, _str, _wrong_form
from .cookies import CookiePolicy
from .sessions import SessionPolicy

__all__ = ["cookie_policy_from_mapping", "issuer_options_from_mapping"]


_COOKIE_TEXT = (
    ("COOKIE_SAMESITE", "samesite"),
    ("COOKIE_DOMAIN", "domain"),
    ("REFRESH_PATH", "refresh_path"),
    ("CSRF_HEADER", "csrf_header"),
)


def cookie_policy_from_mapping(
    mapping: Mapping[str, Any], prefix: str = "JWT_"
) -> CookiePolicy | None:
    """Cookie mode from ``COOKIES`` (off by default), ``COOKIE_SECURE`` (on),
    ``COOKIE_SAMESITE`` (Lax), ``COOKIE_DOMAIN``, ``REFRESH_PATH`` (/auth), ``CSRF_HEADER``,
    ``COOKIE_WEBSOCKET_ORIGINS`` (none besides the request's own)."""
    found = _found(mapping, prefix)
    parsed: dict[str, tuple[str, Any]] = {}  # field -> (setting, value)
    name, wanted = "COOKIES", _BOOL
    try:
        if not _bool(found.get(name, False)):
            return None
        if "COOKIE_SECURE" in found:
            name = "COOKIE_SECURE"
            parsed["secure"] = (name, _bool(found[name]))
        wanted = "text"
        for name, field_name in _COOKIE_TEXT:
            if found.get(name):
                parsed[field_name] = (name, _str(found[name]))
        if found.get("COOKIE_WEBSOCKET_ORIGINS"):  # comma-separated
            name, wanted = "COOKIE_WEBSOCKET_ORIGINS", "a comma-separated list of origins"
            parsed["websocket_origins"] = (name, _list(found[name]))
    except (TypeError, ValueError):
        raise _wrong_form(prefix + name, wanted) from None
    options = {field_name: value for field_name, (_, value) in parsed.items()}
    try:
        return CookiePolicy(**options)
    except ConfigurationError as exc:
        for field_name, (name, value) in parsed.items():  # which setting is it?
            try:
                CookiePolicy(**{field_name: value})
            except ConfigurationError as alone:
                text = str(alone).removeprefix(f"{field_name}: ")
                raise ConfigurationError(f"{prefix}{name}: {text}") from None
        raise ConfigurationError(
            f"{prefix}COOKIE_SAMESITE and {prefix}COOKIE_SECURE: {exc}"
        ) from None


#: Issuer option -> (setting, parser, what the message asks for). Issuer checks the ranges.
_TTL = "JWT_*_TTL settings take a whole number of seconds"
_LIFETIMES: tuple[tuple[str, str, Callable[[Any], Any], str], ...] = (
    ("access_ttl", "ACCESS_TTL", _int, f"{_TTL}, e.g. 900"),
    ("refresh_ttl", "REFRESH_TTL", _int, f"{_TTL}, e.g. 1209600"),
    ("refresh_grace", "REFRESH_GRACE", _number, "give a number of seconds from 0 to 60, e.g. 10"),
)


def issuer_options_from_mapping(
    mapping: Mapping[str, Any],
    prefix: str = "JWT_",
    *,
    base_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """``Issuer`` keyword arguments from ``ACCESS_TTL``, ``REFRESH_TTL``, ``REFRESH_GRACE``
    and ``ENCRYPTION_KEY_FILE`` (``encrypt_to``; a relative path is read from ``base_dir``,
    else the working directory), and ``policy`` (a ``TokenPolicy``) when a policy setting
    is set (``MAX_ACCESS_TTL``, ``SESSION_MAX_AGE``, ...: ``docs/policy.md``), and
    ``sessions`` (a ``SessionPolicy``) when a session setting is (``docs/sessions.md``)."""
    found = _found(mapping, prefix)
    options: dict[str, Any] = {}
    for field_name, name, parse, wanted in _LIFETIMES:
        if name in found:
            try:
                options[field_name] = parse(found[name])
            except (TypeError, ValueError):
                wanted = wanted.replace("JWT_", prefix)
                raise ConfigurationError(f"{prefix}{name} is not a number: {wanted}") from None
    if found.get("ENCRYPTION_KEY_FILE"):
        options["encrypt_to"] = encryption_key_file(found["ENCRYPTION_KEY_FILE"], prefix, base_dir)
    policy = token_policy_from_mapping(mapping, prefix)  # MAX_*_TTL, SESSION_*, KEY_*
    if policy is not None:
        options["policy"] = policy
    sessions = _session_policy(found, prefix)
    if sessions is not None:
        options["sessions"] = sessions
    return options


def _session_policy(found: Mapping[str, Any], prefix: str) -> SessionPolicy | None:
    """``sessions`` (a ``SessionPolicy``) from ``SESSION_RECORD_ADDRESS`` (off) and
    ``SESSION_ADMIN_ROLE`` (``admin``), when either is set."""
    if "SESSION_RECORD_ADDRESS" not in found and "SESSION_ADMIN_ROLE" not in found:
        return None
    name, wanted = "SESSION_RECORD_ADDRESS", _BOOL
    try:
        record = _bool(found.get(name, False))
        name, wanted = "SESSION_ADMIN_ROLE", "a role name, such as admin"
        role = _str(found.get(name, "admin")).strip()
        return SessionPolicy(record_address=record, admin_role=role)
    except (TypeError, ValueError):
        raise _wrong_form(prefix + name, wanted) from None
