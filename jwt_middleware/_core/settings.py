"""Settings from a flat mapping: environment variables or Flask's ``app.config``.

One prefix (``JWT_`` by default); names are the :class:`Config` fields in
upper case, the key sources (read by ``_keysettings``: ``SECRET``,
``PUBLIC_KEY[_FILE]``, ``PRIVATE_KEY[_FILE]``, ``JWKS_FILE``, with
``ALGORITHMS`` and ``KID``), and the token lifecycle's settings. Values may be
strings (as in the environment) or already-typed Python values (as in
``app.config``).

Every message names the setting as the user wrote it (``JWT_ISSUER``, with the
prefix), says which form it wants, and never repeats a value (it could be a
secret). Relative ``*_FILE`` paths are read from ``base_dir`` when given (Flask
passes ``app.root_path``), else from the working directory. An unknown
``{prefix}*`` name is an error in strict mode (Flask) and a warning in the
environment (:func:`warn_unknown_settings`), naming the closest known setting.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .config import CHECKS
from .errors import ConfigurationError
from .jwekeyset import decryption_keys_file
from .keysettings import KEY_SETTINGS as KEY_SETTINGS  # re-exported: its old home
from .keysettings import keys_from_settings

#: Settings read by the token lifecycle (issuer and cookie mode), not by Config.
LIFECYCLE_SETTINGS = (
    "ACCESS_TTL",
    "COOKIES",
    "COOKIE_DOMAIN",
    "COOKIE_SAMESITE",
    "COOKIE_SECURE",
    "COOKIE_WEBSOCKET_ORIGINS",
    "CSRF_HEADER",
    "ENCRYPTION_KEY_FILE",
    "REFRESH_GRACE",
    "REFRESH_PATH",
    "REFRESH_TTL",
    # the token and key policy, read by ``_core.policy.token_policy_from_mapping``
    "KEY_ACTIVATE_AFTER",
    "KEY_RETIRE_AFTER",
    "KEY_ROTATION_PERIOD",
    "MAX_ACCESS_TTL",
    "MAX_REFRESH_TTL",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_MAX_AGE",
    # sessions and devices, read by ``_lifecycle.settings.issuer_options_from_mapping``
    "SESSION_ADMIN_ROLE",
    "SESSION_RECORD_ADDRESS",
)

#: Read by the Flask extension from ``app.config`` (``jwt_middleware.flask``'s ``_EXTRA``).
INTEGRATION_SETTINGS = ("MODE", "PUBLIC_METHODS", "PUBLIC_PATHS")

#: DPoP (RFC 9449), read by ``_core.dpop_policy.dpop_policy_from_mapping``.
DPOP_SETTINGS = (
    "DPOP",
    "DPOP_ALGORITHMS",
    "DPOP_IAT_WINDOW",
    "DPOP_NONCE",
    "DPOP_NONCE_SECRET",
    "DPOP_NONCE_SECRET_FILE",
)

#: HTTPS and proxies, read by ``_sansio.transport.transport_policy_from_mapping``.
TRANSPORT_SETTINGS = (
    "ALLOW_LOOPBACK_HTTP",
    "HSTS_INCLUDE_SUBDOMAINS",
    "HSTS_MAX_AGE",
    "REQUIRE_HTTPS",
    "TRUSTED_PROXIES",
)

#: The audit trail, read by ``Audit.from_mapping`` (``_core/audit_trail.py``).
AUDIT_SETTINGS = ("AUDIT_REFUSAL_RATE", "AUDIT_URL")

#: ``JWT_MIDDLEWARE_*`` names are this package's own test switches, never settings.
_RESERVED = "MIDDLEWARE_"


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError


def _one_or_list(value: Any) -> str | tuple[str, ...]:
    items = _list(value)
    return items[0] if len(items) == 1 else items


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError
    return float(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise TypeError
    return int(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError


def _optional_number(value: Any) -> float | None:
    return None if value in (None, "", "none", "None") else _number(value)


#: Setting name (without prefix) -> (Config field, parser).
PARSERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "AUDIENCE": ("audience", _one_or_list),
    "CACHE_SIZE": ("cache_size", _int),
    "CLAIMS_PRESET": ("claims_preset", _str),
    "CLIENT_ID": ("client_id", _str),
    "DECRYPTION_KEY_FILE": ("decryption_keys", _str),  # a path: read below, like key files
    "ISSUER": ("issuer", _one_or_list),
    "LEEWAY": ("leeway", _number),
    "MAX_AGE": ("max_age", _optional_number),
    "MAX_TOKEN_BYTES": ("max_token_bytes", _int),
    "REALM": ("realm", _str),
    "REQUIRED_CLAIMS": ("required_claims", _list),
    "REQUIRE_ENCRYPTION": ("require_encryption", _bool),
    "REQUIRE_EXP": ("require_exp", _bool),
    "REQUIRE_SUBJECT": ("require_subject", _bool),
    "ROLES_CLAIM": ("roles_claim", _list),
    "SCOPES_CLAIM": ("scopes_claim", _list),
    "STORE_URL": ("store", _str),
    "REVOCATION": ("revocation", _bool),
    "STORE_FAILURE": ("store_failure", _str),
    "TOKEN_TYPE": ("token_type", _str),
}

#: Every name (without prefix) that some part of the package reads.
KNOWN_SETTINGS = frozenset(PARSERS) | frozenset(KEY_SETTINGS) | frozenset(LIFECYCLE_SETTINGS)
KNOWN_SETTINGS |= frozenset(INTEGRATION_SETTINGS)
KNOWN_SETTINGS |= frozenset(TRANSPORT_SETTINGS)
KNOWN_SETTINGS |= frozenset(DPOP_SETTINGS)
KNOWN_SETTINGS |= frozenset(AUDIT_SETTINGS)

_BOOL = "true or false (or 1/0, yes/no, on/off)"
_FORMS_WANTED: dict[Callable[[Any], Any], str] = {
    _str: "text",
    _list: "a comma-separated list of names",
    _one_or_list: "a value, or a comma-separated list of values",
    _number: "a number of seconds, e.g. 30",
    _optional_number: "a number of seconds, e.g. 3600, or none",
    _int: "a whole number, e.g. 8192",
    _bool: _BOOL,
}


def _wrong_form(label: str, wanted: str) -> ConfigurationError:
    return ConfigurationError(f"{label} has a value of the wrong form: give {wanted}")


# --- unknown names --------------------------------------------------------------


def unknown_setting(name: str, prefix: str, known: Iterable[str] = KNOWN_SETTINGS) -> str:
    """``unknown setting JWT_ISSUR: did you mean JWT_ISSUER?`` (``name`` without prefix);
    the known names are listed only when none is close."""
    close = difflib.get_close_matches(name.upper(), sorted(known), n=1)
    if close:
        return f"unknown setting {prefix}{name}: did you mean {prefix}{close[0]}?"
    listed = ", ".join(prefix + n for n in sorted(known))
    return f"unknown setting {prefix}{name}: known settings are {listed}"


def warn_unknown_settings(mapping: Mapping[str, Any], prefix: str, *, stacklevel: int = 1) -> None:
    """One ``UserWarning`` per ``{prefix}*`` name no part of the package reads, with the
    closest known name. ``stacklevel`` 1 blames the caller, 2 the caller's caller."""
    for key in sorted(k for k in mapping if k.startswith(prefix)):
        name = key[len(prefix) :]
        if name in KNOWN_SETTINGS or (prefix == "JWT_" and name.startswith(_RESERVED)):
            continue
        message = unknown_setting(name, prefix)
        if "did you mean" not in message:
            message = f"unknown setting {key}: no jwt_middleware setting has a similar name"
        warnings.warn(f"{message} ({key} is ignored)", UserWarning, stacklevel=stacklevel + 1)


# --- the Config keyword arguments ------------------------------------------------


def settings_from_mapping(
    mapping: Mapping[str, Any],
    prefix: str = "JWT_",
    *,
    strict: bool = False,
    extra: tuple[str, ...] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Turn prefixed settings into :class:`Config` keyword arguments, each checked.

    With ``strict`` (Flask's ``app.config``), an unknown prefixed name is an
    error; the environment is not strict because other tools share ``JWT_``.
    Names in ``extra`` are accepted and returned lower-cased for the caller.
    Relative ``*_FILE`` paths are read from ``base_dir`` (default: the working
    directory).
    """
    found = _found(mapping, prefix)
    known = KNOWN_SETTINGS | set(extra)
    unknown = sorted(set(found) - known)
    if strict and unknown:
        raise ConfigurationError(unknown_setting(unknown[0], prefix, known))
    values: dict[str, Any] = {"keys": keys_from_settings(found, prefix, base_dir)}
    for name, (field_name, parse) in PARSERS.items():
        if name in found:
            label = prefix + name
            try:
                parsed = parse(found[name])
            except (TypeError, ValueError):
                wanted = _FORMS_WANTED[parse]
                if name == "MAX_TOKEN_BYTES":
                    wanted = "a whole number of bytes, e.g. 8192"
                elif name == "CACHE_SIZE":
                    wanted = "a whole number of tokens, e.g. 10000, or 0 to turn the cache off"
                raise _wrong_form(label, wanted) from None
            check = CHECKS.get(field_name)
            values[field_name] = parsed if check is None else check(parsed, label, True)
    if "decryption_keys" in values:
        path = values["decryption_keys"]
        values["decryption_keys"] = decryption_keys_file(path, prefix, base_dir)
    for name in extra:
        if name in found:
            values[name.lower()] = found[name]
    return values


def _found(mapping: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in mapping.items() if k.startswith(prefix)}


# --- the token lifecycle -----------------------------------------------------------
