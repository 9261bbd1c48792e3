"""Token and key policy: the limits an organisation sets, checked when the app starts.

A :class:`TokenPolicy` holds the limits; every one is optional (``None``: no limit
beyond the issuer's own lifetimes)::

    policy = TokenPolicy(
        max_access_ttl=900,              # the issuer's access_ttl may not exceed it
        max_refresh_ttl=14 * 86400,      # nor its refresh_ttl
        session_max_age=30 * 86400,      # absolute: a new login after 30 days
        session_idle_timeout=7 * 86400,  # a session not refreshed for 7 days ends
        key_rotation_period=90 * 86400,  # a signing key is due for rotation
    )
    issuer = Issuer(config, policy=policy)

The prefixed settings (``JWT_`` by default) are the field names in upper case:
``MAX_ACCESS_TTL``, ``MAX_REFRESH_TTL``, ``SESSION_MAX_AGE``, ``SESSION_IDLE_TIMEOUT``,
``KEY_ROTATION_PERIOD``, ``KEY_ACTIVATE_AFTER`` and ``KEY_RETIRE_AFTER``, whole seconds
like the TTL settings; :func:`token_policy_from_mapping` reads them (and
``issuer_options_from_mapping`` passes the policy on as ``policy=``).

A policy that contradicts itself is a :class:`ConfigurationError` when it is built, and
one that contradicts the issuer's lifetimes when the :class:`~jwt_middleware.Issuer` is
(:meth:`TokenPolicy.check_issuer`), or the key ring's when a rotation scheduler is
(:meth:`TokenPolicy.check_ring`). Each message names both clashing values, as settings
when the policy came from settings and as keywords otherwise. The clashes are listed in
``docs/policy.md``.

The session limits are checked at every refresh from the refresh token's own signed
claims (:meth:`TokenPolicy.session_ended`): the session's start is ``auth_time``, set at
login and copied into every token of the session, and the last refresh is the refresh
token's ``iat``. Neither comes from anywhere but the verified token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigurationError
from .settings import _found, _int

__all__ = ["AUTH_TIME", "POLICY_SETTINGS", "TokenPolicy", "token_policy_from_mapping"]

#: The claim that carries the session's start (OpenID Connect, RFC 9068 section 2.2.1).
AUTH_TIME = "auth_time"

#: :class:`TokenPolicy` field -> its setting, without the prefix.
POLICY_SETTINGS: dict[str, str] = {
    "max_access_ttl": "MAX_ACCESS_TTL",
    "max_refresh_ttl": "MAX_REFRESH_TTL",
    "session_max_age": "SESSION_MAX_AGE",
    "session_idle_timeout": "SESSION_IDLE_TIMEOUT",
    "key_rotation_period": "KEY_ROTATION_PERIOD",
    "key_activate_after": "KEY_ACTIVATE_AFTER",
    "key_retire_after": "KEY_RETIRE_AFTER",
}

#: What a key ring's ``rotate`` waits before a new key signs, unless told.
DEFAULT_ACTIVATE_AFTER = 3600
_LONGEST = 10 * 366 * 86400  # ten years: anything longer is a typo


def _amount(seconds: float) -> str:
    """``604800 (7 d)``: a number of seconds as the messages write it."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds:.10g} ({seconds / size:.3g} {unit})"
    return f"{seconds:.10g} s"


@dataclass(frozen=True)
class TokenPolicy:
    """Token lifetimes, session limits and signing-key rotation; seconds, ``None``: no limit.

    ``key_activate_after`` is how long a new key is published before it signs, and
    ``key_retire_after`` how long a replaced key keeps verifying (``None``: the longest
    token lifetime, which is also its minimum).
    """

    #: The longest ``access_ttl`` an issuer may have.
    max_access_ttl: float | None = None
    #: The longest ``refresh_ttl`` an issuer may have.
    max_refresh_ttl: float | None = None
    #: Absolute: a session (refresh family) this old needs a new login, however often
    #: it was refreshed. Counted from ``auth_time``.
    session_max_age: float | None = None
    #: A session not refreshed for this long needs a new login (from the refresh
    #: token's ``iat``).
    session_idle_timeout: float | None = None
    #: A signing key is due for rotation once it would otherwise sign longer than this.
    key_rotation_period: float | None = None
    #: A new signing key is published this long before it signs.
    key_activate_after: float = DEFAULT_ACTIVATE_AFTER
    #: A replaced key keeps verifying this long after the switch (``None``: the
    #: longest token lifetime).
    key_retire_after: float | None = None
    #: The settings prefix its messages name values with (``None``: keywords).
    _prefix: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for item in fields(self):
            if item.name != "_prefix":
                _check_amount(self, item.name)
        self._clashes()

    # --- naming ----------------------------------------------------------------------

    def _name(self, what: str) -> str:
        """A policy field or issuer keyword as the user wrote it: ``JWT_SESSION_MAX_AGE``
        from settings, ``session_max_age`` in code."""
        if self._prefix is None:
            return what
        return self._prefix + POLICY_SETTINGS.get(what, what.upper())

    def _clash(self, a: str, a_value: float, relation: str, b: str, b_value: float,
               why: str) -> ConfigurationError:
        lead = "the token policy contradicts itself"
        if a not in POLICY_SETTINGS or b not in POLICY_SETTINGS:  # access_ttl, refresh_ttl
            lead = "the issuer's lifetimes contradict the token policy"
        return ConfigurationError(
            f"{lead}: {self._name(a)}={_amount(a_value)} {relation} "
            f"{self._name(b)}={_amount(b_value)}: {why}"
        )

    # --- the checks --------------------------------------------------------------------

    def _clashes(self) -> None:
        idle, age = self.session_idle_timeout, self.session_max_age
        if idle is not None and age is not None and idle > age:
            raise self._clash(
                "session_idle_timeout", idle, "is longer than", "session_max_age", age,
                "a session ends at its absolute lifetime, so it can never be idle that "
                "long; lower the idle timeout or raise the absolute lifetime",
            )
        if idle is not None and self.max_refresh_ttl is not None and idle > self.max_refresh_ttl:
            raise self._idle_beyond_refresh("max_refresh_ttl", self.max_refresh_ttl)
        period = self.key_rotation_period
        if period is not None and period <= self.key_activate_after:
            raise self._clash(
                "key_rotation_period", period, "is not longer than", "key_activate_after",
                self.key_activate_after,
                "a new key is published that long before it signs, so a rotation would "
                "be due again before its key ever signed; lengthen the period or publish "
                "keys for less time before they sign",
            )
        for longest in ("max_refresh_ttl", "max_access_ttl"):
            self._check_retirement(longest, getattr(self, longest))

    def _idle_beyond_refresh(self, name: str, refresh: float) -> ConfigurationError:
        return self._clash(
            "session_idle_timeout", self.session_idle_timeout or 0.0, "is longer than", name,
            refresh, "a refresh token expires that long after the last refresh, so "
            "sessions would end idle sooner than the policy says; lower the idle timeout "
            "or raise the refresh lifetime",
        )

    def _check_retirement(self, name: str, lifetime: float | None) -> None:
        retire = self.key_retire_after
        if retire is not None and lifetime is not None and retire < lifetime:
            raise self._clash(
                "key_retire_after", retire, "is shorter than", name, lifetime,
                "tokens signed by a replaced key would stop verifying before they expire "
                "(users logged out early); keep replaced keys at least as long as the "
                "longest token lifetime, or leave key_retire_after out",
            )

    def check_issuer(self, access_ttl: float, refresh_ttl: float) -> None:
        """Refuse an issuer whose lifetimes break the policy (:class:`ConfigurationError`):
        a TTL above its maximum, an idle timeout the access or refresh lifetime defeats,
        an absolute lifetime shorter than one access token, a key retirement before the
        refresh lifetime."""
        for ttl, name, cap in (
            (access_ttl, "access_ttl", self.max_access_ttl),
            (refresh_ttl, "refresh_ttl", self.max_refresh_ttl),
        ):
            if cap is not None and ttl > cap:
                raise self._clash(
                    name, ttl, "is above", f"max_{name}", cap,
                    f"the issuer's {name.split('_')[0]} TTL may not exceed the policy's "
                    "maximum; lower the TTL or raise the maximum",
                )
        idle = self.session_idle_timeout
        if idle is not None and idle <= access_ttl:
            raise self._clash(
                "session_idle_timeout", idle, "is not longer than", "access_ttl", access_ttl,
                "a client refreshes when its access token expires, so every session in "
                "use would end as idle; give an idle timeout longer than the access TTL",
            )
        if idle is not None and idle > refresh_ttl:
            raise self._idle_beyond_refresh("refresh_ttl", refresh_ttl)
        age = self.session_max_age
        if age is not None and age <= access_ttl:
            raise self._clash(
                "session_max_age", age, "is not longer than", "access_ttl", access_ttl,
                "a session would end before its first access token expires; give an "
                "absolute lifetime longer than the access TTL",
            )
        self._check_retirement("refresh_ttl", refresh_ttl)
        self._check_retirement("access_ttl", access_ttl)

    def check_ring(self, max_token_lifetime: float) -> None:
        """Refuse a key ring (its ``max_token_lifetime``) this policy contradicts: one that
        assumes tokens die sooner than the policy lets them live, or that would refuse
        the policy's ``key_retire_after`` as too short."""
        for name in ("max_refresh_ttl", "max_access_ttl"):
            lifetime = getattr(self, name)
            if lifetime is not None and max_token_lifetime < lifetime:
                raise ConfigurationError(
                    f"the key ring's max_token_lifetime {_amount(max_token_lifetime)} is "
                    f"shorter than {self._name(name)} {_amount(lifetime)}: the ring would "
                    "retire keys while tokens they signed are still valid; load the ring "
                    "with max_token_lifetime at least the longest token lifetime"
                )
        retire = self.key_retire_after
        if retire is not None and retire < max_token_lifetime:
            raise ConfigurationError(
                f"{self._name('key_retire_after')} {_amount(retire)} is shorter than the "
                f"key ring's max_token_lifetime {_amount(max_token_lifetime)}: the ring "
                "never retires a key before every token it signed has expired; raise "
                "key_retire_after or leave it out"
            )

    def session_ended(self, claims: Mapping[str, Any], now: float) -> str | None:
        """Which limit a refresh token's session has passed at ``now``: ``"absolute"``
        (``auth_time`` + ``session_max_age``), ``"idle"`` (``iat`` +
        ``session_idle_timeout``), or ``None``. ``claims`` must be the verified token's;
        a token without the claim a limit needs has passed it."""
        if self.session_max_age is not None:
            start = _time(claims.get(AUTH_TIME))
            if start is None or now >= start + self.session_max_age:
                return "absolute"
        if self.session_idle_timeout is not None:
            last = _time(claims.get("iat"))
            if last is None or now >= last + self.session_idle_timeout:
                return "idle"
        return None

    @property
    def limits_sessions(self) -> bool:
        """Whether :meth:`session_ended` can ever answer other than ``None``."""
        return self.session_max_age is not None or self.session_idle_timeout is not None


def _time(value: object) -> float | None:
    """A claim's number of seconds, or ``None`` if it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _check_amount(policy: TokenPolicy, name: str) -> None:
    value = getattr(policy, name)
    if value is None and name != "key_activate_after":
        return
    least = 0 if name == "key_activate_after" else 1
    if _time(value) is None or not least <= value <= _LONGEST:
        raise ConfigurationError(
            f"{policy._name(name)} must be a number of seconds from {least} to {_LONGEST} "
            "(ten years)" + ("" if name == "key_activate_after" else ", or None for no limit")
        )


def token_policy_from_mapping(
    mapping: Mapping[str, Any], prefix: str = "JWT_"
) -> TokenPolicy | None:
    """The policy from the prefixed settings (whole seconds, like ``ACCESS_TTL``), or
    ``None`` when none of them is set. Messages name the settings."""
    found = _found(mapping, prefix)
    values: dict[str, Any] = {}
    for name, setting in POLICY_SETTINGS.items():
        raw = found.get(setting)
        if raw is None or raw == "":
            continue
        try:
            values[name] = _int(raw)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{prefix}{setting} has a value of the wrong form: give a whole number of "
                "seconds, e.g. 604800 for 7 days"
            ) from None
    if not values:
        return None
    return TokenPolicy(**values, _prefix=prefix)
