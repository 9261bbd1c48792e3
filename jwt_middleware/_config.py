"""The one frozen, validated configuration object.

Build it once at start-up and pass it explicitly. Everything that can be
wrong with a setting is found here, with a message that says what to
change; nothing is checked lazily on the first request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, cast

from ._claims import preset_paths
from ._errors import ConfigurationError
from ._keys import Key, KeySet
from ._protocols import KeyResolver
from .stores import Store, StoreError, store_from_url

__all__ = ["Config"]

MAX_LEEWAY = 300.0


def _names(value: str | Iterable[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else tuple(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(f"{what} must be non-empty strings")
    return items


@dataclass(frozen=True, kw_only=True)
class Config:
    """Verification settings. All keyword-only; see ``docs/configuration.md``.

    Security: ``keys`` pins the algorithm of every key, and nothing in a
    token can change that. Leave ``require_exp`` on: a token without an
    expiry is valid for ever once leaked. ``require_subject`` off lets tokens
    that name no user through (``Principal.subject`` is then ``None``).
    """

    #: The keys tokens may be signed with (a :class:`KeySet`, a :class:`Key`, or keys);
    #: always a :class:`KeySet` once built (see :attr:`key_set`), unless it is a remote
    #: key source (a :class:`KeyResolver` such as ``jwt_middleware.jwks.JWKSClient``).
    keys: KeySet | Key | Iterable[Key] | KeyResolver
    #: Accepted ``iss`` values, matched exactly. ``None``: not checked.
    issuer: str | tuple[str, ...] | None = None
    #: Accepted ``aud`` values; a token must name one. ``None``: tokens must carry no ``aud``.
    audience: str | tuple[str, ...] | None = None
    #: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (0 to 300).
    leeway: float = 0.0
    #: Tokens longer than this many bytes are refused before any parsing.
    max_token_bytes: int = 8192
    #: Refuse tokens without ``exp``.
    require_exp: bool = True
    #: Refuse tokens without a ``sub`` (a non-empty string), as RFC 9068 section 2.2 asks of
    #: access tokens. Turn off only for machine tokens (client credentials) that name no one.
    require_subject: bool = True
    #: Claims that must be present (and not null).
    required_claims: tuple[str, ...] = ()
    #: Refuse tokens whose ``iat`` is more than this many seconds ago (needs ``iat``).
    max_age: float | None = None
    #: The header ``typ`` access tokens must carry, such as ``"at+jwt"``. ``None``: any.
    token_type: str | None = None
    #: Where roles and scopes are read from: a preset name (see ``_claims.PRESETS``).
    claims_preset: str = "default"
    #: Claim path(s) for roles, overriding the preset.
    roles_claim: tuple[str, ...] | None = None
    #: Claim path(s) for scopes, overriding the preset.
    scopes_claim: tuple[str, ...] | None = None
    #: The client id for Keycloak's ``resource_access.<client_id>.roles``.
    client_id: str | None = None
    #: Per-claim predicates: the claim must be present and the predicate true.
    claim_checks: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)
    #: The ``realm`` of ``WWW-Authenticate`` headers.
    realm: str = "api"
    #: The clock, seconds since the epoch (tests pass a fixed one).
    clock: Callable[[], float] = time.time
    #: Where revocations and refresh families live: a Store or a URL
    #: (``memory://``, ``sqlite:///path.db``, ``redis://host:6379/0``). ``None``: no store.
    store: Store | str | None = None
    #: Consult the store on every verify (when there is one).
    revocation: bool = True
    #: When the store cannot be reached: ``"closed"`` (503) or ``"open"`` (accept, log).
    store_failure: str = "closed"

    def __post_init__(self) -> None:
        put = object.__setattr__
        keys: Any = self.keys
        if isinstance(keys, Key):
            keys = KeySet([keys])
        elif isinstance(keys, KeyResolver) and not isinstance(keys, KeySet):
            pass  # a remote key source: verify-only, resolved per token
        elif not isinstance(keys, KeySet):
            if keys is None or isinstance(keys, (str, bytes)):
                raise ConfigurationError(
                    "keys is required: a KeySet, a Key, or keys (see Key.from_secret, "
                    "Key.from_pem_file, KeySet.from_jwks_file)"
                )
            keys = KeySet(keys)
        put(self, "keys", keys)
        for name in ("issuer", "audience"):
            value = getattr(self, name)
            if value is not None:
                items = _names(value, name)
                if not items:
                    raise ConfigurationError(f"{name} is an empty list: give a value or None")
                put(self, name, items[0] if len(items) == 1 else items)
        if (
            not isinstance(self.leeway, (int, float))
            or isinstance(self.leeway, bool)
            or not (0 <= self.leeway <= MAX_LEEWAY)
        ):
            raise ConfigurationError(f"leeway must be a number of seconds from 0 to {MAX_LEEWAY:g}")
        if (
            not isinstance(self.max_token_bytes, int)
            or isinstance(self.max_token_bytes, bool)
            or not 256 <= self.max_token_bytes <= 1 << 16
        ):
            raise ConfigurationError("max_token_bytes must be an integer from 256 to 65536")
        if self.max_age is not None and (
            not isinstance(self.max_age, (int, float))
            or not math.isfinite(self.max_age)
            or self.max_age <= 0
        ):
            raise ConfigurationError("max_age must be a positive number of seconds or None")
        put(self, "required_claims", _names(self.required_claims, "required_claims"))
        if self.token_type is not None and (
            not isinstance(self.token_type, str) or not self.token_type
        ):
            raise ConfigurationError("token_type must be a non-empty string or None")
        roles, scopes = preset_paths(self.claims_preset, self.client_id)
        if self.roles_claim is not None:
            put(self, "roles_claim", _names(self.roles_claim, "roles_claim"))
        if self.scopes_claim is not None:
            put(self, "scopes_claim", _names(self.scopes_claim, "scopes_claim"))
        for claim, check in self.claim_checks.items():
            if not isinstance(claim, str) or not callable(check):
                raise ConfigurationError("claim_checks maps claim names to callables")
        put(self, "claim_checks", MappingProxyType(dict(self.claim_checks)))
        if not isinstance(self.realm, str) or not self.realm:
            raise ConfigurationError("realm must be a non-empty string")
        if not callable(self.clock):
            raise ConfigurationError("clock must be a callable returning seconds")
        put(self, "_paths", (self.roles_claim or roles, self.scopes_claim or scopes))
        if isinstance(self.store, str):
            try:
                put(self, "store", store_from_url(self.store))
            except StoreError as exc:
                raise ConfigurationError(str(exc)) from None
        elif self.store is not None and not isinstance(self.store, Store):
            raise ConfigurationError("store must be a Store, a store URL, or None")
        if self.store_failure not in ("closed", "open"):
            raise ConfigurationError('store_failure must be "closed" or "open"')

    @property
    def key_set(self) -> KeySet:
        """The keys as a :class:`KeySet` (what ``keys`` is once built, unless remote)."""
        if not isinstance(self.keys, KeySet):
            raise ConfigurationError(
                "keys is a remote key source: it can only verify, there is no local key set "
                "(configure a private key or secret to sign)"
            )
        return self.keys

    @property
    def resolver(self) -> KeyResolver:
        """Where the verifier finds keys: the :class:`KeySet` or the remote key source."""
        return cast(KeyResolver, self.keys)

    @property
    def roles_paths(self) -> tuple[str, ...]:
        """The effective roles claim paths."""
        return self._paths[0]  # type: ignore[attr-defined,no-any-return]

    @property
    def scopes_paths(self) -> tuple[str, ...]:
        """The effective scopes claim paths."""
        return self._paths[1]  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def from_env(
        cls, prefix: str = "JWT_", environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Config:
        """Build from environment variables (``JWT_ALGORITHMS``, ``JWT_SECRET``, ...).

        Keyword arguments override what the environment says.
        """
        import os

        from ._settings import settings_from_mapping

        values = settings_from_mapping(os.environ if environ is None else environ, prefix)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of all settings."""
        return tuple(f.name for f in fields(cls))
