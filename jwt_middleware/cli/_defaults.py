"""Defaults from the environment, read as the app reads it.

The app builds its settings with ``Config.from_env()`` (``_settings.settings_from_mapping``)
and its token lifetimes with ``issuer_options_from_mapping``. The commands read the
same ``JWT_*`` names through the same parsers, so the token ``issue`` prints is one
the app accepts and ``verify`` answers what the app would answer. An option given
on the command line wins over the environment; a malformed setting is an error
that names it, as at the app's start-up.
"""

from __future__ import annotations

import inspect
import os
import secrets
from typing import Any

from .. import Config, Issuer
from .._core.keysettings import _algorithms
from .._core.settings import (
    PARSERS,
    settings_from_mapping,
    warn_unknown_settings,
)
from .._keysources.keyring import DEFAULT_MAX_TOKEN_LIFETIME
from .._lifecycle.settings import issuer_options_from_mapping
from ._output import UsageError

PREFIX = "JWT_"

#: The access-token lifetime the app's issuer uses without ``JWT_ACCESS_TTL``.
DEFAULT_ACCESS_TTL = float(inspect.signature(Issuer).parameters["access_ttl"].default)


def warn_unknown() -> None:
    """A warning for each ``JWT_*`` name no part of the package reads (``JWT_ISSUR``...)."""
    warn_unknown_settings(os.environ, PREFIX)


def app_config(**overrides: Any) -> Config:
    """The app's whole configuration, key included: ``Config.from_env()``."""
    return Config.from_env(PREFIX, **overrides)


def settings(*names: str) -> dict[str, Any]:
    """The environment's :class:`Config` keyword arguments other than the key.

    ``JWT_ISSUER``, ``JWT_AUDIENCE``, ``JWT_LEEWAY``, ``JWT_REQUIRED_CLAIMS``,
    ``JWT_STORE_URL`` (opened)...: for a command whose key is on the command line;
    only ``names`` (``"ISSUER"``...) when given. They go through
    ``settings_from_mapping`` itself, so every check and message is the app's; it
    needs a key source, and is given a throwaway secret in place of the
    environment's key settings (the command line's key replaces them anyway).
    """
    wanted = set(names or PARSERS)
    mapping = {
        k: v for k, v in os.environ.items() if k.startswith(PREFIX) and k[len(PREFIX) :] in wanted
    }
    mapping[PREFIX + "SECRET"] = secrets.token_urlsafe(32)
    mapping[PREFIX + "ALGORITHMS"] = "HS256"
    values = settings_from_mapping(mapping, PREFIX)
    del values["keys"]
    return values


def algorithms() -> tuple[str, ...]:
    """``JWT_ALGORITHMS``, parsed and checked as the app's key settings do (empty when unset)."""
    value = os.environ.get(PREFIX + "ALGORITHMS")
    return () if value is None else _algorithms({"ALGORITHMS": value}, PREFIX)


def algorithm() -> str | None:
    """The one algorithm ``JWT_ALGORITHMS`` names (a secret's or PEM key's), else ``None``."""
    names = algorithms()
    return names[0] if len(names) == 1 else None


def kid() -> str | None:
    """``JWT_KID``: the key id the app gives its secret or PEM key."""
    return os.environ.get(PREFIX + "KID") or None


def access_ttl() -> tuple[float, str]:
    """The access-token lifetime (``JWT_ACCESS_TTL``, else the issuer's default), and its source."""
    ttls = issuer_options_from_mapping(os.environ, PREFIX)
    if "access_ttl" not in ttls:
        return DEFAULT_ACCESS_TTL, "the default access TTL"
    if ttls["access_ttl"] <= 0:
        raise UsageError(f"{PREFIX}ACCESS_TTL must be a positive number of seconds")
    return float(ttls["access_ttl"]), f"{PREFIX}ACCESS_TTL"


def longest_lifetime() -> tuple[float, str]:
    """The longest token lifetime, from the TTL settings the app reads, and its source.

    ``JWT_REFRESH_TTL`` (else the default refresh TTL, 14 d) or ``JWT_ACCESS_TTL``,
    whichever is longer: how long a revocation or a retired key must be kept.
    """
    ttls = issuer_options_from_mapping(os.environ, PREFIX)
    refresh = ttls.get("refresh_ttl", DEFAULT_MAX_TOKEN_LIFETIME)
    longest, name = max(
        (refresh, f"{PREFIX}REFRESH_TTL"), (ttls.get("access_ttl", 0), f"{PREFIX}ACCESS_TTL")
    )
    if longest <= 0:
        raise UsageError(f"{name} must be a positive number of seconds")
    return float(longest), name if name in os.environ else "the default refresh TTL"
