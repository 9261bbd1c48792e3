"""docs/configuration.md lists every setting the code reads, with its type and default.

The settings come from the code's own tables in ``jwt_middleware._core.settings``:
``KNOWN_SETTINGS`` (every name some part of the package reads), made of ``PARSERS`` (the
``Config`` fields read from ``JWT_*``), ``LIFECYCLE_SETTINGS`` (issuer and cookie mode),
``INTEGRATION_SETTINGS`` (read by the Flask extension) and the key settings; the
defaults from ``Config``'s fields, the ``Issuer`` and ``JWTMiddleware`` signatures and
``CookiePolicy``'s fields. A setting
added to any of them without a row in the reference fails here, as does a row whose
type or default no longer matches the code.

A row names its settings at the start of its environment (or Flask key) cell, as
`` `JWT_NAME` `` (several joined by `` / ``); its type cell, leaving out anything in
parentheses, is the type; its default cell starts with the default (`` `900` `` for
``900``, `` `None` ``, `` `()` ``, ``required``, or ``—`` for none).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import Config, CookiePolicy, Issuer, SessionPolicy, TokenPolicy
from jwt_middleware._core.dpop import DPoPVerifier
from jwt_middleware._core.dpop_policy import DPoPPolicy
from jwt_middleware._core.policy import POLICY_SETTINGS
from jwt_middleware._core.settings import (
    AUDIT_SETTINGS,
    DPOP_SETTINGS,
    INTEGRATION_SETTINGS,
    KNOWN_SETTINGS,
    LIFECYCLE_SETTINGS,
    PARSERS,
    TRANSPORT_SETTINGS,
)
from jwt_middleware._sansio.transport import TransportPolicy
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.audit import Audit

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
PREFIX = "JWT_"

#: The parsers of ``PARSERS``, by function name, and the type the reference gives them.
PARSER_TYPES = {
    "_bool": "boolean",
    "_int": "integer",
    "_list": "list",
    "_number": "number",
    "_one_or_list": "string or list",
    "_optional_number": "number or None",
    "_str": "string",
}

#: The key settings: the known ones no other table claims.
KEY_SETTINGS = KNOWN_SETTINGS - set(PARSERS) - set(LIFECYCLE_SETTINGS) - set(INTEGRATION_SETTINGS)
KEY_SETTINGS -= set(TRANSPORT_SETTINGS)
KEY_SETTINGS -= set(DPOP_SETTINGS)
KEY_SETTINGS -= set(AUDIT_SETTINGS)

#: Key settings: (type, default). Each key source is optional on its own; one is required.
KEY_TYPES = {
    "ALGORITHMS": ("list", "required"),
    "JWKS_FILE": ("path", "—"),
    "KID": ("string", "`None`"),
    "PRIVATE_KEY": ("PEM or JWK text", "—"),
    "PRIVATE_KEY_FILE": ("path", "—"),
    "PUBLIC_KEY": ("PEM or JWK text", "—"),
    "PUBLIC_KEY_FILE": ("path", "—"),
    "SECRET": ("string", "—"),
}

_ISSUER = inspect.signature(Issuer.__init__).parameters
_COOKIE = {f.name: f.default for f in dataclasses.fields(CookiePolicy)}
_TOKEN_POLICY = {f.name: f.default for f in dataclasses.fields(TokenPolicy)}
_POLICY_NAMES = POLICY_SETTINGS.items()
_SESSIONS = {f.name: f.default for f in dataclasses.fields(SessionPolicy)}
_MIDDLEWARE = inspect.signature(JWTMiddleware.__init__).parameters

#: Lifecycle settings: (keyword or field, type, default from the code).
LIFECYCLE_TYPES: dict[str, tuple[str, str, Any]] = {
    "ACCESS_TTL": ("access_ttl", "integer", _ISSUER["access_ttl"].default),
    "REFRESH_TTL": ("refresh_ttl", "integer", _ISSUER["refresh_ttl"].default),
    "REFRESH_GRACE": ("refresh_grace", "number", _ISSUER["refresh_grace"].default),
    "ENCRYPTION_KEY_FILE": ("encrypt_to", "path", _ISSUER["encrypt_to"].default),
    "COOKIES": ("cookies", "boolean", False),
    "COOKIE_SECURE": ("secure", "boolean", _COOKIE["secure"]),
    "COOKIE_SAMESITE": ("samesite", "string", _COOKIE["samesite"]),
    "COOKIE_DOMAIN": ("domain", "string", _COOKIE["domain"]),
    "REFRESH_PATH": ("refresh_path", "string", _COOKIE["refresh_path"]),
    "CSRF_HEADER": ("csrf_header", "string", _COOKIE["csrf_header"]),
    "COOKIE_WEBSOCKET_ORIGINS": ("websocket_origins", "list", _COOKIE["websocket_origins"]),
    # the token and key policy: TokenPolicy's fields (Issuer(policy=...), docs/policy.md)
    **{setting: (name, "integer", _TOKEN_POLICY[name]) for name, setting in _POLICY_NAMES},
    # sessions: SessionPolicy's fields (Issuer(sessions=...), docs/sessions.md)
    "SESSION_RECORD_ADDRESS": ("record_address", "boolean", _SESSIONS["record_address"]),
    "SESSION_ADMIN_ROLE": ("admin_role", "string", _SESSIONS["admin_role"]),
}

#: Flask-only settings: (argument, type, default of the middleware argument of that name).
INTEGRATION_TYPES: dict[str, tuple[str, str, Any]] = {
    "MODE": ("mode", "string", _MIDDLEWARE["mode"].default),
    "PUBLIC_PATHS": ("public_paths", "list", _MIDDLEWARE["public_paths"].default),
    "PUBLIC_METHODS": ("public_methods", "list", _MIDDLEWARE["public_methods"].default),
}


_TRANSPORT = inspect.signature(TransportPolicy.__init__).parameters

#: HTTPS and proxies: (keyword of TransportPolicy, type, default from the code).
TRANSPORT_TYPES: dict[str, tuple[str, str, Any]] = {
    "REQUIRE_HTTPS": ("require_https", "boolean", _TRANSPORT["require_https"].default),
    "TRUSTED_PROXIES": ("trusted_proxies", "list", _TRANSPORT["trusted_proxies"].default),
    "ALLOW_LOOPBACK_HTTP": (
        "allow_loopback_http", "boolean", _TRANSPORT["allow_loopback_http"].default
    ),
    "HSTS_MAX_AGE": ("hsts_max_age", "integer or None", _TRANSPORT["hsts_max_age"].default),
    "HSTS_INCLUDE_SUBDOMAINS": (
        "hsts_include_subdomains", "boolean", _TRANSPORT["hsts_include_subdomains"].default
    ),
}


_POLICY = inspect.signature(DPoPPolicy.__init__).parameters
_DPOP = inspect.signature(DPoPVerifier.__init__).parameters

#: DPoP: (keyword of DPoPPolicy / DPoPVerifier / DPoPNonces, type, default as written).
DPOP_TYPES: dict[str, tuple[str, str, str]] = {
    "DPOP": ("mode", "string", f"`{_POLICY['mode'].default}`"),
    "DPOP_ALGORITHMS": ("algorithms", "list", f"`{', '.join(_DPOP['algorithms'].default)}`"),
    "DPOP_IAT_WINDOW": ("iat_window", "number", f"`{_DPOP['iat_window'].default:g}`"),
    "DPOP_NONCE": ("nonces", "boolean", "`False`"),  # DPoPVerifier(nonces=None): off
    "DPOP_NONCE_SECRET": ("secret", "string", "—"),
    "DPOP_NONCE_SECRET_FILE": ("secret", "path", "—"),
}


_AUDIT = inspect.signature(Audit.__init__).parameters

#: The audit trail: (keyword of Audit, type, default as written).
AUDIT_TYPES: dict[str, tuple[str, str, str]] = {
    "AUDIT_URL": ("url", "string", f"`{_AUDIT['url'].default}`"),
    "AUDIT_REFUSAL_RATE": ("refusal_rate", "number", f"`{_AUDIT['refusal_rate'].default:g}`"),
}


def render(value: Any) -> str:
    """A code default as the reference writes it."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (tuple, list, dict)) and not value:
        return f"`{value!r}`"
    if callable(value):
        return f"`{value.__module__}.{value.__name__}`"
    return f"`{value}`"


@dataclasses.dataclass(frozen=True)
class Row:
    keyword: str
    type: str
    default: str
    line: int


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def rows() -> dict[str, Row]:
    """Every setting the reference has a row for, by name without the prefix."""
    lines = DOC.read_text().splitlines()
    found: dict[str, Row] = {}
    for at, line in enumerate(lines):
        if not (line.startswith("|") and at + 1 < len(lines) and lines[at + 1].startswith("|-")):
            continue
        header = [h.lower() for h in _cells(line)]
        names = next((i for i, h in enumerate(header) if "environment" in h or "flask" in h), None)
        if names is None:
            continue
        kind = header.index("type") if "type" in header else None
        default = header.index("default")
        for number in range(at + 2, len(lines)):
            if not lines[number].startswith("|"):
                break
            cells = _cells(lines[number])
            lead = re.match(r"(`JWT_[A-Z0-9_]+`(?: / `JWT_[A-Z0-9_]+`)*)", cells[names])
            if lead is None:
                continue
            for name in re.findall(r"`JWT_([A-Z0-9_]+)`", lead.group(1)):
                assert name not in found, f"{PREFIX}{name} has two rows (lines {number + 1})"
                found[name] = Row(
                    cells[0], "" if kind is None else cells[kind], cells[default], number + 1
                )
    return found


ROWS = rows()


def _type(row: Row) -> str:
    return re.sub(r"\s*\([^)]*\)", "", row.type).strip()


def _check(name: str, keyword: str | None, type_: str, default: str) -> None:
    row = ROWS.get(name)
    assert row is not None, f"docs/configuration.md has no row for {PREFIX}{name}"
    where = f"{PREFIX}{name} (docs/configuration.md line {row.line})"
    if keyword is not None:
        assert row.keyword.startswith(f"`{keyword}`"), f"{where}: keyword {row.keyword!r}"
    assert _type(row) == type_, f"{where}: type {row.type!r}, the code reads {type_!r}"
    assert row.default.startswith(default), f"{where}: default {row.default!r}, not {default}"


def _config_default(field_name: str) -> Any:
    (found,) = [f for f in dataclasses.fields(Config) if f.name == field_name]
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    return found.default


def test_every_table_of_the_code_is_covered_here() -> None:
    """A new key or lifecycle setting needs its type here before the doc can be checked."""
    assert set(KEY_TYPES) == set(KEY_SETTINGS)
    assert set(LIFECYCLE_TYPES) == set(LIFECYCLE_SETTINGS)
    assert set(INTEGRATION_TYPES) == set(INTEGRATION_SETTINGS)
    assert set(TRANSPORT_TYPES) == set(TRANSPORT_SETTINGS)
    assert set(DPOP_TYPES) == set(DPOP_SETTINGS)
    assert set(AUDIT_TYPES) == set(AUDIT_SETTINGS)
    unknown = {parse.__name__ for _, parse in PARSERS.values()} - set(PARSER_TYPES)
    assert not unknown, f"give the reference's name for the type parsed by {unknown}"


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_config_setting_documented(name: str) -> None:
    field_name, parse = PARSERS[name]
    _check(name, field_name, PARSER_TYPES[parse.__name__], render(_config_default(field_name)))


@pytest.mark.parametrize("name", sorted(KEY_SETTINGS))
def test_key_setting_documented(name: str) -> None:
    _check(name, None, *KEY_TYPES[name])


@pytest.mark.parametrize("name", sorted(LIFECYCLE_SETTINGS))
def test_lifecycle_setting_documented(name: str) -> None:
    keyword, type_, default = LIFECYCLE_TYPES[name]
    _check(name, keyword, type_, render(default))


@pytest.mark.parametrize("name", sorted(INTEGRATION_SETTINGS))
def test_integration_setting_documented(name: str) -> None:
    keyword, type_, default = INTEGRATION_TYPES[name]
    _check(name, keyword, type_, render(default))


@pytest.mark.parametrize("name", sorted(TRANSPORT_SETTINGS))
def test_transport_setting_documented(name: str) -> None:
    keyword, type_, default = TRANSPORT_TYPES[name]
    _check(name, keyword, type_, render(default))


@pytest.mark.parametrize("name", sorted(DPOP_SETTINGS))
def test_dpop_setting_documented(name: str) -> None:
    _check(name, *DPOP_TYPES[name])


@pytest.mark.parametrize("name", sorted(AUDIT_SETTINGS))
def test_audit_setting_documented(name: str) -> None:
    _check(name, *AUDIT_TYPES[name])


def test_no_row_for_a_setting_the_code_does_not_read() -> None:
    assert sorted(set(ROWS) - KNOWN_SETTINGS) == []


def _keyword_rows() -> dict[str, str]:
    """Default cell by the keyword of the first column, for rows of tables with a keyword."""
    found: dict[str, str] = {}
    lines = DOC.read_text().splitlines()
    for at, line in enumerate(lines):
        if line.startswith("|") and at + 1 < len(lines) and lines[at + 1].startswith("|-"):
            header = [h.lower() for h in _cells(line)]
            if header[0] != "keyword":
                continue
            default = header.index("default")
            for other in lines[at + 2 :]:
                if not other.startswith("|"):
                    break
                cells = _cells(other)
                keyword = re.match(r"`(\w+)`", cells[0])
                if keyword is not None:
                    found[keyword.group(1)] = cells[default]
    return found


@pytest.mark.parametrize("field_name", Config.field_names())
def test_every_config_keyword_documented(field_name: str) -> None:
    """Config's keyword-only settings too (``claim_checks``, ``clock``), with defaults."""
    documented = _keyword_rows()
    assert field_name in documented, f"docs/configuration.md has no row for `{field_name}`"
    (found,) = [f for f in dataclasses.fields(Config) if f.name == field_name]
    required = found.default is dataclasses.MISSING and found.default_factory is dataclasses.MISSING
    expected = "required" if required else render(_config_default(field_name))
    assert documented[field_name].startswith(expected), (field_name, documented[field_name])
