"""The one frozen, validated configuration object.

Build it once at start-up and pass it explicitly. Everything that can be
wrong with a setting is found here, with a message that says what to
change; nothing is checked lazily on the first request.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, cast

from ..stores import Store, StoreError, store_from_url
from .cache import DEFAULT_CACHE_SIZE
from .claims import PRESETS, preset_paths
from .errors import ConfigurationError
from .jwekeys import DecryptionKey
from .jwekeyset import DecryptionKeys, decryption_source
from .keys import Key
from .keyset import KeySet
from .protocols import KeyResolver

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


# Each check takes (value, label, setting): ``label`` is the name to put in a message (the
# keyword, or the setting as the user wrote it, ``JWT_ISSUER``), ``setting`` says which.
# It returns the normalised value. Config runs them all; the settings reader runs the ones
# for the settings it read, so that their messages name the setting.
Check = Callable[[Any, str, bool], Any]


def _accepted(what: str, unset: str) -> Check:
    def check(value: Any, label: str, setting: bool) -> Any:
        if value is None:
            return None
        items = _names(value, label)
        if not items and setting:
            raise ConfigurationError(
                f"{label} is empty: give the accepted {what} (comma-separated for several), "
                f"or unset {label} {unset}"
            )
        if not items:
            raise ConfigurationError(f"{label} is an empty list: give a value or None")
        return items[0] if len(items) == 1 else items

    return check


def _leeway(value: Any, label: str, setting: bool) -> Any:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not (
        0 <= value <= MAX_LEEWAY
    ):
        raise ConfigurationError(f"{label} must be a number of seconds from 0 to {MAX_LEEWAY:g}")
    return value


def _max_token_bytes(value: Any, label: str, setting: bool) -> Any:
    if not isinstance(value, int) or isinstance(value, bool) or not 256 <= value <= 1 << 16:
        raise ConfigurationError(f"{label} must be an integer from 256 to 65536")
    return value


def _max_age(value: Any, label: str, setting: bool) -> Any:
    if value is not None and (
        not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
    ):
        none = "leave it unset (or none)" if setting else "None"
        raise ConfigurationError(f"{label} must be a positive number of seconds, or {none}")
    return value


def _optional_text(value: Any, label: str, setting: bool) -> Any:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigurationError(
            f"{label} must be a non-empty string, or " + ("unset" if setting else "None")
        )
    return value


def _text(value: Any, label: str, setting: bool) -> Any:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{label} must be a non-empty string")
    return value


def _paths(value: Any, label: str, setting: bool) -> Any:
    return None if value is None else _names(value, label)


def _preset(value: Any, label: str, setting: bool) -> Any:
    if not isinstance(value, str) or value not in PRESETS:
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise ConfigurationError(
            f"{label} {shown} is not a claims preset: use one of {', '.join(sorted(PRESETS))}"
        )
    return value


def _store(value: Any, label: str, setting: bool) -> Any:
    if isinstance(value, str):
        try:
            return store_from_url(value)
        except StoreError as exc:
            raise ConfigurationError(f"{label}: {exc}") from None
    if value is not None and not isinstance(value, Store):
        raise ConfigurationError(f"{label} must be a Store, a store URL, or None")
    return value


#: The most entries a verifier's token cache may be given (``cache_size``).
MAX_CACHE_SIZE = 1_000_000


def _cache_size(value: Any, label: str, setting: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CACHE_SIZE:
        raise ConfigurationError(
            f"{label} must be a whole number of tokens from 0 (no cache) to {MAX_CACHE_SIZE}"
        )
    return value


def _require_encryption(value: Any, label: str, setting: bool) -> Any:
    if value is not None and not isinstance(value, bool):
        raise ConfigurationError(f"{label} must be true, false or None (by the decryption keys)")
    return value


def _store_failure(value: Any, label: str, setting: bool) -> Any:
    if value not in ("closed", "open"):
        raise ConfigurationError(f'{label} must be "closed" or "open"')
    return value


#: Field name -> check. ``keys``, ``claim_checks`` and ``clock`` are checked in Config.
CHECKS: dict[str, Check] = {
    "issuer": _accepted("issuer", "to skip the iss check"),
    "audience": _accepted("audience", "to accept only tokens without aud"),
    "leeway": _leeway,
    "max_token_bytes": _max_token_bytes,
    "max_age": _max_age,
    "required_claims": lambda value, label, setting: _names(value, label),
    "token_type": _optional_text,
    "claims_preset": _preset,
    "client_id": _optional_text,
    "roles_claim": _paths,
    "scopes_claim": _paths,
    "realm": _text,
    "store": _store,
    "store_failure": _store_failure,
    "cache_size": _cache_size,
    "require_encryption": _require_encryption,
}

_BUILD_KEYS = (
    'build one with Key.from_secret(secret, "HS256"), Key.from_pem(pem, "RS256"), '
    'Key.from_pem_file(path, "RS256") or KeySet.from_jwks_file(path), or use '
    "Config.from_env() to read JWT_SECRET, JWT_PUBLIC_KEY_FILE, ..."
)


def _keys(keys: Any) -> Any:
    if isinstance(keys, Key):
        return KeySet([keys])
    if isinstance(keys, (KeySet, KeyResolver)):
        return keys  # a KeySet, or a remote key source (verify-only, resolved per token)
    if keys is None:
        raise ConfigurationError(
            f"keys is required: a Key, a KeySet or a key resolver; {_BUILD_KEYS}"
        )
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
        raise ConfigurationError(
            f"keys must be a Key, a KeySet or a key resolver (such as jwks.JWKSClient), not "
            f"{_a(type(keys).__name__)}: {_BUILD_KEYS}"
        )
    items = tuple(keys)
    for item in items:
        if not isinstance(item, Key):
            raise ConfigurationError(
                f"keys must hold Key objects, not {_a(type(item).__name__)}: {_BUILD_KEYS}"
            )
    return KeySet(items)


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


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
    #: How many verified access tokens each :class:`Verifier` keeps, so that a token seen
    #: again skips parsing and the signature (times, keys and revocation are still checked
    #: on every request; see ``docs/security.md``); at most this many times 4 KiB of them.
    #: ``0`` turns the cache off.
    cache_size: int = DEFAULT_CACHE_SIZE
    #: The resource's own keys for encrypted tokens (nested JWTs, signed then encrypted:
    #: see ``docs/security.md``): a :class:`DecryptionKey`, several, or
    #: :class:`DecryptionKeys`, each pinned to one key-management algorithm. A token is
    #: decrypted, then its inner token verified as any other. ``()``: tokens are not
    #: encrypted (a five-segment token is malformed).
    decryption_keys: DecryptionKey | Iterable[DecryptionKey] | DecryptionKeys | Any = ()
    #: Refuse plain (unencrypted) tokens. ``None``: required whenever ``decryption_keys``
    #: are configured; ``False`` accepts both, for a migration only.
    require_encryption: bool | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "keys", _keys(self.keys))
        put(self, "decryption_keys", decryption_source(self.decryption_keys))
        for name, check in CHECKS.items():
            put(self, name, check(getattr(self, name), name, False))
        for claim, predicate in self.claim_checks.items():
            if not isinstance(claim, str) or not callable(predicate):
                raise ConfigurationError("claim_checks maps claim names to callables")
        put(self, "claim_checks", MappingProxyType(dict(self.claim_checks)))
        if not callable(self.clock):
            raise ConfigurationError("clock must be a callable returning seconds")
        if self.require_encryption and not self.decryption_keys:
            raise ConfigurationError(
                "require_encryption (JWT_REQUIRE_ENCRYPTION) needs decryption_keys "
                "(JWT_DECRYPTION_KEY_FILE): the private key that encrypted tokens are opened with"
            )
        roles, scopes = preset_paths(self.claims_preset, self.client_id)
        put(self, "_paths", (self.roles_claim or roles, self.scopes_claim or scopes))

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
        cls,
        prefix: str = "JWT_",
        environ: Mapping[str, str] | None = None,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> Config:
        """Build from environment variables (``JWT_ALGORITHMS``, ``JWT_SECRET``, ...).

        Keyword arguments override what the environment says. Relative ``*_FILE``
        paths are read from ``base_dir`` (default: the working directory). A
        ``{prefix}*`` name that no part of the package reads is reported with
        :func:`warnings.warn` (a ``UserWarning``, once per name and call, naming
        the closest known setting): the environment is shared with other tools,
        so it is not an error.
        """
        from .settings import settings_from_mapping, warn_unknown_settings

        mapping = os.environ if environ is None else environ
        warn_unknown_settings(mapping, prefix, stacklevel=2)
        values = settings_from_mapping(mapping, prefix, base_dir=base_dir)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of all settings."""
        return tuple(f.name for f in fields(cls))
