"""Settings from a flat mapping: environment variables or Flask's ``app.config``.

One prefix (``JWT_`` by default); names are the :class:`Config` fields in
upper case, plus the key sources below. Values may be strings (as in the
environment) or already-typed Python values (as in ``app.config``).

Key sources, one of:

* ``SECRET``: an HMAC secret (prefix it with ``base64:`` for base64 text);
* ``PUBLIC_KEY`` / ``PUBLIC_KEY_FILE``: a PEM public key or certificate;
* ``PRIVATE_KEY`` / ``PRIVATE_KEY_FILE``: a PEM private key (can also sign);
* ``JWKS_FILE``: a JWKS document (verify only);

with ``ALGORITHMS`` (required; one algorithm for a secret or PEM key, an
allow-list for a JWKS) and ``KID`` (optional, for a secret or PEM key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._cookies import CookiePolicy
from ._errors import ConfigurationError
from ._keys import Key, KeySet

#: Settings read by the token lifecycle (issuer and cookie mode), not by Config.
LIFECYCLE_SETTINGS = (
    "ACCESS_TTL",
    "COOKIES",
    "COOKIE_DOMAIN",
    "COOKIE_SAMESITE",
    "COOKIE_SECURE",
    "COOKIE_WEBSOCKET_ORIGINS",
    "CSRF_HEADER",
    "REFRESH_GRACE",
    "REFRESH_PATH",
    "REFRESH_TTL",
)

KEY_SETTINGS = (
    "ALGORITHMS",
    "JWKS_FILE",
    "KID",
    "PRIVATE_KEY",
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY",
    "PUBLIC_KEY_FILE",
    "SECRET",
)


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
    "CLAIMS_PRESET": ("claims_preset", _str),
    "CLIENT_ID": ("client_id", _str),
    "ISSUER": ("issuer", _one_or_list),
    "LEEWAY": ("leeway", _number),
    "MAX_AGE": ("max_age", _optional_number),
    "MAX_TOKEN_BYTES": ("max_token_bytes", _int),
    "REALM": ("realm", _str),
    "REQUIRED_CLAIMS": ("required_claims", _list),
    "REQUIRE_EXP": ("require_exp", _bool),
    "REQUIRE_SUBJECT": ("require_subject", _bool),
    "ROLES_CLAIM": ("roles_claim", _list),
    "SCOPES_CLAIM": ("scopes_claim", _list),
    "STORE_URL": ("store", _str),
    "REVOCATION": ("revocation", _bool),
    "STORE_FAILURE": ("store_failure", _str),
    "TOKEN_TYPE": ("token_type", _str),
}


def _keys(found: Mapping[str, Any], prefix: str) -> KeySet:
    sources = [
        n
        for n in (
            "SECRET",
            "PUBLIC_KEY",
            "PUBLIC_KEY_FILE",
            "PRIVATE_KEY",
            "PRIVATE_KEY_FILE",
            "JWKS_FILE",
        )
        if found.get(n)
    ]
    if not sources:
        raise ConfigurationError(
            f"no key configured: set {prefix}SECRET, {prefix}PUBLIC_KEY_FILE, "
            f"{prefix}PRIVATE_KEY_FILE or {prefix}JWKS_FILE"
        )
    if len(sources) > 1:
        raise ConfigurationError(
            f"set only one key source, not {', '.join(prefix + s for s in sources)}"
        )
    source = sources[0]
    try:
        algorithms = _list(found.get("ALGORITHMS", ""))
    except TypeError:
        raise ConfigurationError(f"{prefix}ALGORITHMS must be a comma-separated list") from None
    if source == "JWKS_FILE":
        return KeySet.from_jwks_file(found[source], algorithms or None)
    if len(algorithms) != 1:
        raise ConfigurationError(
            f"{prefix}ALGORITHMS must name exactly one algorithm for {prefix}{source} "
            "(each key is pinned to one algorithm), for example RS256"
        )
    (alg,) = algorithms
    kid = found.get("KID") or None
    value = found[source]
    if source == "SECRET":
        text = value if isinstance(value, (str, bytes)) else ""
        if isinstance(text, str) and text.startswith("base64:"):
            return KeySet([Key.from_secret(text[7:], alg, kid=kid, encoding="base64")])
        return KeySet([Key.from_secret(text, alg, kid=kid)])
    if source.endswith("_FILE"):
        return KeySet([Key.from_pem_file(value, alg, kid=kid)])
    return KeySet([Key.from_pem(value, alg, kid=kid)])


def settings_from_mapping(
    mapping: Mapping[str, Any],
    prefix: str = "JWT_",
    *,
    strict: bool = False,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Turn prefixed settings into :class:`Config` keyword arguments.

    With ``strict`` (Flask's ``app.config``), an unknown prefixed name is an
    error; the environment is not strict because other tools share ``JWT_``.
    Names in ``extra`` are accepted and returned lower-cased for the caller.
    """
    found = {k[len(prefix) :]: v for k, v in mapping.items() if k.startswith(prefix)}
    known = set(PARSERS) | set(KEY_SETTINGS) | set(LIFECYCLE_SETTINGS) | set(extra)
    unknown = sorted(set(found) - known)
    if strict and unknown:
        raise ConfigurationError(
            f"unknown setting {prefix}{unknown[0]}: known settings are "
            + ", ".join(prefix + n for n in sorted(known))
        )
    values: dict[str, Any] = {"keys": _keys(found, prefix)}
    for name, (field_name, parse) in PARSERS.items():
        if name in found:
            try:
                values[field_name] = parse(found[name])
            except (TypeError, ValueError):
                raise ConfigurationError(f"{prefix}{name} has a value of the wrong form") from None
    for name in extra:
        if name in found:
            values[name.lower()] = found[name]
    return values


def _found(mapping: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in mapping.items() if k.startswith(prefix)}


def cookie_policy_from_mapping(
    mapping: Mapping[str, Any], prefix: str = "JWT_"
) -> CookiePolicy | None:
    """Cookie mode from ``COOKIES`` (off by default), ``COOKIE_SECURE`` (on),
    ``COOKIE_SAMESITE`` (Lax), ``COOKIE_DOMAIN``, ``REFRESH_PATH`` (/auth), ``CSRF_HEADER``,
    ``COOKIE_WEBSOCKET_ORIGINS`` (none besides the request's own)."""
    found = _found(mapping, prefix)
    try:
        if not _bool(found.get("COOKIES", False)):
            return None
        options: dict[str, Any] = {}
        if "COOKIE_SECURE" in found:
            options["secure"] = _bool(found["COOKIE_SECURE"])
        for name, field_name in (
            ("COOKIE_SAMESITE", "samesite"),
            ("COOKIE_DOMAIN", "domain"),
            ("REFRESH_PATH", "refresh_path"),
            ("CSRF_HEADER", "csrf_header"),
        ):
            if found.get(name):
                options[field_name] = _str(found[name])
        if found.get("COOKIE_WEBSOCKET_ORIGINS"):  # comma-separated
            options["websocket_origins"] = _list(found["COOKIE_WEBSOCKET_ORIGINS"])
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"a {prefix}COOKIE* setting has a value of the wrong form"
        ) from None
    return CookiePolicy(**options)


def issuer_options_from_mapping(mapping: Mapping[str, Any], prefix: str = "JWT_") -> dict[str, Any]:
    """``Issuer`` keyword arguments from ``ACCESS_TTL``, ``REFRESH_TTL``, ``REFRESH_GRACE``."""
    found = _found(mapping, prefix)
    options: dict[str, Any] = {}
    try:
        for name, field_name, parse in (
            ("ACCESS_TTL", "access_ttl", _int),
            ("REFRESH_TTL", "refresh_ttl", _int),
            ("REFRESH_GRACE", "refresh_grace", _number),
        ):
            if name in found:
                options[field_name] = parse(found[name])
    except (TypeError, ValueError):
        raise ConfigurationError(f"a {prefix}*_TTL or GRACE setting is not a number") from None
    return options
