"""Where roles and scopes live in a token, and what kind of token it is.

Presets (``claims_preset=``):

============  ===========================================  ==================
preset        roles from                                   scopes from
============  ===========================================  ==================
``default``   ``roles``                                    ``scope``, ``scp``
``oauth2``    (none)                                       ``scope``
``keycloak``  ``realm_access.roles``,                      ``scope``
              ``resource_access.<client_id>.roles``
``auth0``     ``permissions``                              ``scope``
``azure``     ``roles``                                    ``scp``
``cognito``   ``cognito:groups``                           ``scope``
============  ===========================================  ==================

A path is a claim name, or dotted names into nested objects; a name that
itself contains dots (``https://example.com/roles``) is found as a whole
first. A value may be a list of strings or one space-delimited string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._errors import ConfigurationError, InvalidClaimError

Extractor = Callable[[Mapping[str, Any]], frozenset[str]]

PRESETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "default": (("roles",), ("scope", "scp")),
    "oauth2": ((), ("scope",)),
    "keycloak": (("realm_access.roles", "resource_access.{client_id}.roles"), ("scope",)),
    "auth0": (("permissions",), ("scope",)),
    "azure": (("roles",), ("scp",)),
    "cognito": (("cognito:groups",), ("scope",)),
}

_EMPTY: frozenset[str] = frozenset()


def preset_paths(preset: str, client_id: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (roles, scopes) paths of a preset, with ``{client_id}`` filled in."""
    if preset not in PRESETS:
        raise ConfigurationError(
            f"unknown claims preset {preset!r}: use one of {', '.join(sorted(PRESETS))}"
        )
    roles, scopes = PRESETS[preset]
    if any("{client_id}" in p for p in roles) and not client_id:
        roles = tuple(p for p in roles if "{client_id}" not in p)
    roles = tuple(p.replace("{client_id}", client_id or "") for p in roles)
    return roles, scopes


def _values(value: Any) -> frozenset[str]:
    if type(value) is list:
        for item in value:
            if type(item) is not str:
                raise InvalidClaimError("a roles or scopes claim must hold strings")
        return frozenset(value)
    if type(value) is str:
        return frozenset(value.split())
    raise InvalidClaimError("a roles or scopes claim must be a list or a string")


def _lookup(claims: Mapping[str, Any], path: str, parts: tuple[str, ...]) -> Any:
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in parts:
        if type(node) is not dict or part not in node:
            return None
        node = node[part]
    return node


def extractor(paths: tuple[str, ...]) -> Extractor:
    """Compile claim paths into one function from claims to a set of names."""
    if not paths:
        return lambda claims: _EMPTY
    if len(paths) == 1 and "." not in paths[0]:
        (name,) = paths

        def single(claims: Mapping[str, Any]) -> frozenset[str]:
            value = claims.get(name)
            return _EMPTY if value is None else _values(value)

        return single
    if not any("." in p for p in paths):
        names = paths

        def flat(claims: Mapping[str, Any]) -> frozenset[str]:
            found: frozenset[str] = _EMPTY
            for name in names:
                value = claims.get(name)
                if value is not None:
                    found = found | _values(value) if found else _values(value)
            return found

        return flat
    split = tuple((p, tuple(p.split("."))) for p in paths)

    def several(claims: Mapping[str, Any]) -> frozenset[str]:
        found: frozenset[str] = _EMPTY
        for path, parts in split:
            value = _lookup(claims, path, parts)
            if value is not None:
                found = found | _values(value)
        return found

    return several


ACCESS = "access"
REFRESH = "refresh"
REFRESH_TYP = "refresh+jwt"
ACCESS_TYP = "at+jwt"


def normalize_typ(typ: str) -> str:
    """RFC 7515 section 4.1.9: compare media types case-insensitively, with or
    without the ``application/`` prefix."""
    typ = typ.lower()
    return typ[12:] if typ.startswith("application/") else typ


def token_kind(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str | None:
    """What a token says it is: ``"access"``, ``"refresh"``, ``"id"`` or ``None``.

    Read from the header ``typ`` (``at+jwt``, ``refresh+jwt``), Cognito's
    ``token_use`` claim and Keycloak's ``typ`` claim.
    """
    typ = header.get("typ")
    if type(typ) is str:
        norm = normalize_typ(typ)
        if norm == REFRESH_TYP:
            return REFRESH
        if norm == ACCESS_TYP:
            return ACCESS
    use = claims.get("token_use")
    if type(use) is str:
        return use.lower()
    ktyp = claims.get("typ")
    if type(ktyp) is str:
        lowered = ktyp.lower()
        if lowered == "bearer":
            return ACCESS
        if lowered in ("refresh", "offline"):
            return REFRESH
        if lowered == "id":
            return "id"
    return None
