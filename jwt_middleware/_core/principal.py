"""The verified identity attached to a request."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NoReturn

__all__ = ["Principal"]


class Principal:
    """Who made the request, as a verified token says. Immutable.

    ``claims`` and ``header`` are read-only views of the verified token;
    the other attributes are read from them. ``roles`` and ``scopes`` come
    from the configured claim paths (see ``claims_preset``).
    """

    __slots__ = ("_claims", "_header", "kind", "roles", "scopes")

    _claims: Mapping[str, Any]
    _header: Mapping[str, Any]
    #: The token kind: ``"access"`` or ``"refresh"``.
    kind: str
    #: Role names, from the configured roles claim path(s).
    roles: frozenset[str]
    #: Scope names, from the configured scopes claim path(s).
    scopes: frozenset[str]

    def __init__(
        self,
        claims: Mapping[str, Any],
        header: Mapping[str, Any] | None = None,
        *,
        roles: frozenset[str] = frozenset(),
        scopes: frozenset[str] = frozenset(),
        kind: str = "access",
    ) -> None:
        _build(
            self,
            MappingProxyType(dict(claims)),
            MappingProxyType(dict(header or {})),
            frozenset(roles),
            frozenset(scopes),
            kind,
        )

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Principal is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("a Principal is immutable")

    def __repr__(self) -> str:
        return (
            f"<Principal subject={self.subject!r} roles={sorted(self.roles)!r} "
            f"scopes={sorted(self.scopes)!r}>"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Principal):
            return NotImplemented
        return (self._claims, self._header, self.kind) == (other._claims, other._header, other.kind)

    def __hash__(self) -> int:
        return hash((self.token_id, self.subject, self.issued_at))

    @property
    def claims(self) -> Mapping[str, Any]:
        """All claims, read-only."""
        return self._claims

    @property
    def header(self) -> Mapping[str, Any]:
        """The JOSE header, read-only."""
        return self._header

    @property
    def subject(self) -> str | None:
        """``sub``: always a non-empty string for a verified token, unless the
        configuration turned ``require_subject`` off (machine tokens)."""
        return self._claims.get("sub")

    @property
    def token_id(self) -> str | None:
        """``jti``."""
        return self._claims.get("jti")

    @property
    def issuer(self) -> str | None:
        """``iss``."""
        return self._claims.get("iss")

    @property
    def audience(self) -> tuple[str, ...]:
        """``aud`` as a tuple (empty when absent)."""
        aud = self._claims.get("aud")
        if aud is None:
            return ()
        return (aud,) if isinstance(aud, str) else tuple(aud)

    @property
    def issued_at(self) -> float | None:
        """``iat``, seconds since the epoch."""
        return self._claims.get("iat")

    @property
    def expires_at(self) -> float | None:
        """``exp``, seconds since the epoch."""
        return self._claims.get("exp")

    @property
    def jkt(self) -> str | None:
        """The key the token is bound to (RFC 9449 ``cnf.jkt``: the RFC 7638 thumbprint
        of the client's DPoP key), or ``None`` for a bearer token."""
        cnf = self._claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
        return jkt if isinstance(jkt, str) else None

    @property
    def key_id(self) -> str | None:
        """The header's ``kid``."""
        return self._header.get("kid")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: subject, roles, scopes, token id, times, issuer, audience."""
        return {
            "subject": self.subject,
            "roles": sorted(self.roles),
            "scopes": sorted(self.scopes),
            "token_id": self.token_id,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "issuer": self.issuer,
            "audience": list(self.audience),
        }


_new = object.__new__
_slot: Any = vars(Principal)
_set_claims = _slot["_claims"].__set__
_set_header = _slot["_header"].__set__
_set_roles = _slot["roles"].__set__
_set_scopes = _slot["scopes"].__set__
_set_kind = _slot["kind"].__set__


def _build(
    obj: Principal,
    claims: Mapping[str, Any],
    header: Mapping[str, Any],
    roles: frozenset[str],
    scopes: frozenset[str],
    kind: str,
) -> Principal:
    _set_claims(obj, claims)
    _set_header(obj, header)
    _set_roles(obj, roles)
    _set_scopes(obj, scopes)
    _set_kind(obj, kind)
    return obj


def make_principal(
    claims: dict[str, Any],
    header: dict[str, Any],
    roles: frozenset[str],
    scopes: frozenset[str],
    kind: str,
) -> Principal:
    """Build a principal from already-verified parts without copying them (hot path)."""
    return _build(
        _new(Principal), MappingProxyType(claims), MappingProxyType(header), roles, scopes, kind
    )
