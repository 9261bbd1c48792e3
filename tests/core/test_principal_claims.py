"""The principal a verified token becomes, and where its roles and scopes come from."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import PRESETS, InvalidClaimError, Principal, TokenError

from .helpers import NOW, KeyRing, assert_token_error, claims_with, make_token, verifier

# --- the principal ----------------------------------------------------------


@pytest.fixture(scope="module")
def principal(keys: KeyRing) -> Principal:
    claims = claims_with(
        iss="https://issuer.example",
        aud=["api", "web"],
        roles=["admin", "editor"],
        scope="read write",
        nbf=NOW - 10,
        tenant={"id": "acme"},
    )
    v = verifier(keys.es256, issuer="https://issuer.example", audience="api")
    return v.verify(make_token(keys.es256, claims, {"typ": "at+jwt"}))


def test_principal_exposes_the_verified_token(principal: Principal) -> None:
    assert principal.subject == "alice"
    assert principal.roles == frozenset({"admin", "editor"})
    assert principal.scopes == frozenset({"read", "write"})
    assert principal.token_id == "token-1"
    assert principal.issued_at == NOW - 60
    assert principal.expires_at == NOW + 3600
    assert principal.issuer == "https://issuer.example"
    assert principal.audience == ("api", "web")
    assert principal.kind == "access"
    assert principal.key_id == "es-1"
    assert dict(principal.header) == {"alg": "ES256", "typ": "at+jwt", "kid": "es-1"}
    assert principal.claims["tenant"] == {"id": "acme"}
    assert principal.claims["nbf"] == NOW - 10


def test_principal_to_dict(principal: Principal) -> None:
    assert principal.to_dict() == {
        "subject": "alice",
        "roles": ["admin", "editor"],
        "scopes": ["read", "write"],
        "token_id": "token-1",
        "issued_at": NOW - 60,
        "expires_at": NOW + 3600,
        "issuer": "https://issuer.example",
        "audience": ["api", "web"],
    }


@pytest.mark.parametrize(
    "attribute",
    ["subject", "roles", "scopes", "kind", "claims", "header", "token_id", "custom"],
)
def test_principal_attributes_cannot_be_assigned(principal: Principal, attribute: str) -> None:
    before = principal.to_dict()
    with pytest.raises(AttributeError):
        setattr(principal, attribute, "mallory")
    with pytest.raises(AttributeError):
        delattr(principal, attribute)
    assert principal.to_dict() == before


def test_principal_claims_and_header_are_read_only(principal: Principal) -> None:
    claims: Any = principal.claims
    header: Any = principal.header
    with pytest.raises(TypeError):
        claims["sub"] = "mallory"
    with pytest.raises(TypeError):
        del claims["sub"]
    with pytest.raises(AttributeError):
        claims.update(sub="mallory")
    with pytest.raises(TypeError):
        header["alg"] = "none"
    with pytest.raises(AttributeError):
        header.pop("alg")
    assert principal.subject == "alice"
    assert principal.header["alg"] == "ES256"
    assert isinstance(principal.roles, frozenset)
    assert isinstance(principal.scopes, frozenset)


def test_principal_built_directly_copies_its_input() -> None:
    claims: dict[str, Any] = {"sub": "bob", "aud": "api", "iat": 5, "exp": 9}
    p = Principal(claims, {"alg": "HS256"}, roles=frozenset({"r"}), scopes=frozenset({"s"}))
    claims["sub"] = "mallory"
    assert p.subject == "bob"
    assert p.audience == ("api",)
    assert p.key_id is None
    assert (p.issued_at, p.expires_at) == (5, 9)
    assert p.roles == {"r"}
    assert p.scopes == {"s"}


def test_principal_without_optional_claims() -> None:
    p = Principal({})
    assert (p.subject, p.token_id, p.issuer, p.issued_at, p.expires_at) == (None,) * 5
    assert p.audience == ()
    assert p.roles == frozenset()
    assert p.kind == "access"


def test_principals_compare_by_token(keys: KeyRing) -> None:
    v = verifier(keys.hs256)
    token = make_token(keys.hs256, claims_with())
    first, second = v.verify(token), v.verify(token)
    other = v.verify(make_token(keys.hs256, claims_with(jti="token-2")))
    assert first == second
    assert hash(first) == hash(second)
    assert first != other
    assert len({first, second, other}) == 2
    assert "alice" in repr(first)


# --- roles and scopes: presets ----------------------------------------------

KEYCLOAK_CLAIMS = {
    "realm_access": {"roles": ["realm-admin"]},
    "resource_access": {"api": {"roles": ["api-writer"]}, "other": {"roles": ["other-role"]}},
    "scope": "openid profile",
}

PRESET_CASES = [
    pytest.param(
        "default",
        {},
        {"roles": ["admin"], "scope": "read write", "scp": ["extra"]},
        {"admin"},
        {"read", "write", "extra"},
        id="default-roles-scope-and-scp",
    ),
    pytest.param(
        "default",
        {},
        {"roles": "admin  editor"},
        {"admin", "editor"},
        set(),
        id="default-space-delimited-roles",
    ),
    pytest.param(
        "default",
        {},
        {},
        set(),
        set(),
        id="default-absent-claims-are-empty",
    ),
    pytest.param(
        "oauth2",
        {},
        {"roles": ["admin"], "scope": "read", "scp": ["ignored"]},
        set(),
        {"read"},
        id="oauth2-scope-only",
    ),
    pytest.param(
        "keycloak",
        {"client_id": "api"},
        KEYCLOAK_CLAIMS,
        {"realm-admin", "api-writer"},
        {"openid", "profile"},
        id="keycloak-realm-and-client-roles",
    ),
    pytest.param(
        "keycloak",
        {},
        KEYCLOAK_CLAIMS,
        {"realm-admin"},
        {"openid", "profile"},
        id="keycloak-without-client-id-realm-roles-only",
    ),
    pytest.param(
        "keycloak",
        {"client_id": "missing"},
        {"realm_access": "not-an-object"},
        set(),
        set(),
        id="keycloak-absent-paths-are-empty",
    ),
    pytest.param(
        "keycloak",
        {"client_id": "api"},
        {"realm_access": None, "resource_access": {"api": None}},
        set(),
        set(),
        id="keycloak-null-parent-means-the-path-leads-nowhere",
    ),
    pytest.param(
        "auth0",
        {},
        {"permissions": ["read:users", "write:users"], "scope": "openid"},
        {"read:users", "write:users"},
        {"openid"},
        id="auth0-permissions-are-roles",
    ),
    pytest.param(
        "azure",
        {},
        {"roles": ["Task.Write"], "scp": "User.Read Mail.Send", "scope": "ignored"},
        {"Task.Write"},
        {"User.Read", "Mail.Send"},
        id="azure-roles-and-scp",
    ),
    pytest.param(
        "cognito",
        {},
        {"cognito:groups": ["admins"], "scope": "aws.cognito.signin.user.admin"},
        {"admins"},
        {"aws.cognito.signin.user.admin"},
        id="cognito-groups",
    ),
    pytest.param(
        "default",
        {"roles_claim": ["app.meta.roles"], "scopes_claim": ["perms"]},
        {"app": {"meta": {"roles": ["deep"]}}, "roles": ["top"], "perms": "p q"},
        {"deep"},
        {"p", "q"},
        id="custom-dotted-path",
    ),
    pytest.param(
        "default",
        {"roles_claim": ["https://example.com/roles"]},
        {"https://example.com/roles": ["namespaced"]},
        {"namespaced"},
        set(),
        id="custom-claim-name-containing-dots",
    ),
    pytest.param(
        "default",
        {"roles_claim": ["a.b"]},
        {"a.b": ["whole-name"], "a": {"b": ["nested"]}},
        {"whole-name"},
        set(),
        id="dotted-name-found-whole-first",
    ),
    pytest.param(
        "default",
        {"roles_claim": ["groups", "realm_access.roles"]},
        {"groups": ["g"], "realm_access": {"roles": ["r"]}},
        {"g", "r"},
        set(),
        id="custom-several-paths-united",
    ),
]


@pytest.mark.parametrize(("preset", "settings", "claims", "roles", "scopes"), PRESET_CASES)
def test_roles_and_scopes(
    keys: KeyRing,
    preset: str,
    settings: dict[str, Any],
    claims: dict[str, Any],
    roles: set[str],
    scopes: set[str],
) -> None:
    v = verifier(keys.hs256, claims_preset=preset, **settings)
    principal = v.verify(make_token(keys.hs256, claims_with(**claims)))
    assert principal.roles == roles
    assert principal.scopes == scopes


def test_every_preset_is_covered() -> None:
    covered = {param.values[0] for param in PRESET_CASES}
    assert covered == set(PRESETS)


WRONG_TYPES = [
    pytest.param("default", {}, {"roles": 5}, id="roles-number"),
    pytest.param("default", {}, {"roles": True}, id="roles-boolean"),
    pytest.param("default", {}, {"roles": ["admin", 1]}, id="roles-list-with-number"),
    pytest.param("default", {}, {"roles": [["admin"]]}, id="roles-nested-list"),
    pytest.param("default", {}, {"roles": {"admin": True}}, id="roles-object"),
    pytest.param("default", {}, {"scope": ["read", None]}, id="scope-list-with-null"),
    pytest.param("default", {}, {"scp": 1.5}, id="scp-number"),
    # Present and null is not "no roles": the issuer and the app disagree on the shape.
    pytest.param("default", {}, {"roles": None}, id="roles-null"),
    pytest.param("default", {}, {"scope": None}, id="scope-null"),
    pytest.param("default", {}, {"scp": None}, id="scp-null"),
    pytest.param("default", {}, {"roles": ["admin"], "scp": None}, id="scp-null-beside-roles"),
    pytest.param("azure", {}, {"roles": None}, id="azure-roles-null"),
    pytest.param("azure", {}, {"scp": None}, id="azure-scp-null"),
    pytest.param("oauth2", {}, {"scope": None}, id="oauth2-scope-null"),
    pytest.param("keycloak", {}, {"realm_access": {"roles": None}}, id="keycloak-realm-roles-null"),
    pytest.param(
        "keycloak",
        {"client_id": "api"},
        {"resource_access": {"api": {"roles": None}}},
        id="keycloak-client-roles-null",
    ),
    pytest.param("auth0", {}, {"permissions": None}, id="auth0-permissions-null"),
    pytest.param("cognito", {}, {"cognito:groups": None}, id="cognito-groups-null"),
    pytest.param("keycloak", {}, {"realm_access": {"roles": 5}}, id="keycloak-realm-roles-number"),
    pytest.param(
        "keycloak",
        {"client_id": "api"},
        {"resource_access": {"api": {"roles": {"x": 1}}}},
        id="keycloak-client-roles-object",
    ),
    pytest.param("auth0", {}, {"permissions": 7}, id="auth0-permissions-number"),
    pytest.param("cognito", {}, {"cognito:groups": [1]}, id="cognito-groups-numbers"),
    pytest.param(
        "default",
        {"roles_claim": ["https://example.com/roles"]},
        {"https://example.com/roles": 3},
        id="custom-claim-number",
    ),
    pytest.param(
        "default",
        {"roles_claim": ["https://example.com/roles"]},
        {"https://example.com/roles": None},
        id="custom-claim-null",
    ),
    pytest.param("default", {"roles_claim": ["groups"]}, {"groups": None}, id="custom-single-null"),
    pytest.param(
        "default",
        {"roles_claim": ["groups", "teams"]},
        {"groups": ["g"], "teams": None},
        id="custom-flat-paths-one-null",
    ),
    pytest.param(
        "default",
        {"roles_claim": ["app.meta.roles"]},
        {"app": {"meta": {"roles": None}}},
        id="custom-dotted-path-null",
    ),
    pytest.param(
        "default",
        {"roles_claim": ["a.b"]},
        {"a.b": None, "a": {"b": ["nested"]}},
        id="custom-dotted-name-whole-null",
    ),
    pytest.param("default", {"scopes_claim": ["perms"]}, {"perms": None}, id="custom-scopes-null"),
    pytest.param(
        "default",
        {"scopes_claim": ["perms", "extra.perms"]},
        {"perms": "p", "extra": {"perms": None}},
        id="custom-several-scopes-one-null",
    ),
]


@pytest.mark.parametrize(("preset", "settings", "claims"), WRONG_TYPES)
def test_wrong_typed_roles_or_scopes_are_refused(
    keys: KeyRing, preset: str, settings: dict[str, Any], claims: dict[str, Any]
) -> None:
    v = verifier(keys.hs256, claims_preset=preset, **settings)
    with pytest.raises(TokenError) as info:
        v.verify(make_token(keys.hs256, claims_with(**claims)))
    assert_token_error(info.value, InvalidClaimError)
