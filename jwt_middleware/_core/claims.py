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
first. A value may be a list of strings or one space-delimited string; a
present value of any other shape, ``null`` included, makes the token invalid.

The kind of a token is read from every marker it carries (see
:func:`token_kinds`); no marker overrides another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigurationError, InvalidClaimError

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
    # ``null`` included: a present claim of the wrong shape is never "no roles".
    raise InvalidClaimError("a roles or scopes claim must be a list or a string")


#: Stands for "no such claim", so that a claim that is present and ``null`` is not.
_ABSENT: Any = object()


def _lookup(claims: Mapping[str, Any], path: str, parts: tuple[str, ...]) -> Any:
    """The value at ``path``, or :data:`_ABSENT` when the path leads nowhere."""
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in parts:
        if type(node) is not dict or part not in node:
            return _ABSENT
        node = node[part]
    return node


def extractor(paths: tuple[str, ...]) -> Extractor:
    """Compile claim paths into one function from claims to a set of names.

    An absent claim (or a dotted path that leads nowhere) gives no names; a
    present one must be a list of strings or a string, ``null`` included.
    """
    if not paths:
        return lambda claims: _EMPTY
    if len(paths) == 1 and "." not in paths[0]:
        (name,) = paths

        def single(claims: Mapping[str, Any]) -> frozenset[str]:
            value = claims.get(name, _ABSENT)
            return _EMPTY if value is _ABSENT else _values(value)

        return single
    if not any("." in p for p in paths):
        names = paths

        def flat(claims: Mapping[str, Any]) -> frozenset[str]:
            found: frozenset[str] = _EMPTY
            for name in names:
                value = claims.get(name, _ABSENT)
                if value is not _ABSENT:
                    found = found | _values(value) if found else _values(value)
            return found

        return flat
    split = tuple((p, tuple(p.split("."))) for p in paths)

    def several(claims: Mapping[str, Any]) -> frozenset[str]:
        found: frozenset[str] = _EMPTY
        for path, parts in split:
            value = _lookup(claims, path, parts)
            if value is not _ABSENT:
                found = found | _values(value)
        return found

    return several


ACCESS = "access"
REFRESH = "refresh"
ID = "id"
#: A token marked as something that is neither an access, a refresh nor an ID token.
OTHER = "other"
REFRESH_TYP = "refresh+jwt"
ACCESS_TYP = "at+jwt"

#: Header ``typ`` media types (normalized) that say what a token is. Any other
#: value (``JWT``, ``application/jwt``, an unknown type) says nothing.
HEADER_KINDS: Mapping[str, str] = {
    ACCESS_TYP: ACCESS,  # RFC 9068
    REFRESH_TYP: REFRESH,  # this package's refresh tokens
    "logout+jwt": OTHER,  # OpenID Connect Back-Channel Logout 1.0, section 2.4
    "secevent+jwt": OTHER,  # RFC 8417, security event tokens
    "token-introspection+jwt": OTHER,  # RFC 9701, signed introspection responses
}
#: Cognito's ``token_use`` claim, lower-cased; any other string marks another kind.
TOKEN_USE_KINDS: Mapping[str, str] = {"access": ACCESS, "refresh": REFRESH, "id": ID}
#: Keycloak's ``typ`` claim, lower-cased (``DPoP`` is a DPoP-bound access token);
#: any other value says nothing.
CLAIM_TYP_KINDS: Mapping[str, str] = {
    "bearer": ACCESS,
    "dpop": ACCESS,
    "refresh": REFRESH,
    "offline": REFRESH,
    "id": ID,
    "serialized-id": ID,
    "logout": OTHER,
}


def normalize_typ(typ: str) -> str:
    """RFC 7515 section 4.1.9: compare media types case-insensitively, with or
    without the ``application/`` prefix."""
    typ = typ.lower()
    return typ[12:] if typ.startswith("application/") else typ


def header_kind(header: Mapping[str, Any]) -> str | None:
    """What the header ``typ`` says the token is, or ``None`` when it says nothing."""
    typ = header.get("typ")
    return HEADER_KINDS.get(normalize_typ(typ)) if type(typ) is str else None


def claim_kinds(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """What the claims say the token is: Cognito's ``token_use``, then Keycloak's ``typ``.

    Non-string values are no marker. The result names only the fixed kinds
    above, never a claim value.
    """
    found: tuple[str, ...] = ()
    use = claims.get("token_use")
    if type(use) is str:
        found = (TOKEN_USE_KINDS.get(use.lower(), OTHER),)
    typ = claims.get("typ")
    if type(typ) is str:
        kind = CLAIM_TYP_KINDS.get(typ.lower())
        if kind is not None:
            found += (kind,)
    return found


def token_kinds(header: Mapping[str, Any], claims: Mapping[str, Any]) -> tuple[str, ...]:
    """Every kind a token is marked with, wherever the marker stands: the header
    ``typ`` first, then the claims. Empty when nothing marks it.

    No marker overrides another: a token marked as two different kinds is
    refused wherever it is used.
    """
    kind = header_kind(header)
    claimed = claim_kinds(claims)
    return claimed if kind is None else (kind, *claimed)
