"""One key of a :class:`~jwt_middleware.KeyRing`: its schedule, its use, its file.

A ring key is a signing key (``use: sig``, a :class:`~jwt_middleware.Key`) or an
encryption key (``use: enc``, a :class:`~jwt_middleware.DecryptionKey`: the ring holds
the private half, publishes the public one, and issuers encrypt to it). Both follow the
same schedule (pending, active, retired) and live in the same kind of file:
``<kid>.json`` with the ``kid``, ``use``, ``alg``, ``created_at``, ``activates_at``,
``retires_at``, ``seq`` and the private JWK (and, for ``enc``, the content encryptions
it accepts), written atomically with mode 0600.

Security: these files hold private keys. Messages name files and key ids only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from .._core.errors import ConfigurationError
from .._core.jwekeys import DecryptionKey
from .._core.keys import Key

__all__ = ["RingKey", "check_kid", "same_key", "span", "write_private"]

#: A signing key (``use: sig``) or a decryption key (``use: enc``).
K = TypeVar("K", Key, DecryptionKey)
_KID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class RingKey(Generic[K]):
    """One key of the ring with its schedule (seconds since the epoch)."""

    key: K
    created_at: float
    activates_at: float
    #: ``None`` until a newer key of the same use replaces this one.
    retires_at: float | None = None
    #: Rotation number: orders keys that activate at the same instant.
    seq: int = 0

    @property
    def kid(self) -> str:
        return self.key.kid or ""

    @property
    def use(self) -> str:
        """``"sig"`` (a signing key) or ``"enc"`` (a decryption key)."""
        return "enc" if isinstance(self.key, DecryptionKey) else "sig"

    def state(self, now: float) -> str:
        """``"pending"``, ``"active"`` (may sign or verify) or ``"retired"``."""
        if self.retires_at is not None and now >= self.retires_at:
            return "retired"
        if now < self.activates_at:
            return "pending"
        return "active"

    def to_json(self) -> dict[str, Any]:
        data = {
            "kid": self.kid,
            "use": self.use,
            "alg": self.key.algorithm,
            "created_at": self.created_at,
            "activates_at": self.activates_at,
            "retires_at": self.retires_at,
            "seq": self.seq,
            "jwk": self.key.private_jwk(),
        }
        if isinstance(self.key, DecryptionKey):
            data["encryptions"] = list(self.key.encryptions)
        return data

    @classmethod
    def from_json(cls, data: Any, name: str) -> RingKey[Any]:
        if not isinstance(data, dict) or not isinstance(data.get("jwk"), dict):
            raise ConfigurationError(f"key ring file {name!r} is not a ring key")
        use = data.get("use", "sig")  # files written before encryption keys have no use
        try:
            key: Key | DecryptionKey
            if use == "enc":
                encryptions = data.get("encryptions", ["A256GCM"])
                key = DecryptionKey.from_jwk(data["jwk"], data.get("alg"), encryptions=encryptions)
            elif use == "sig":
                key = Key.from_jwk(data["jwk"], data.get("alg"))
            else:
                raise ValueError
            created = _time(data["created_at"])
            activates = _time(data["activates_at"])
            retires = None if data.get("retires_at") is None else _time(data["retires_at"])
            seq = data.get("seq", 0)
            if isinstance(seq, bool) or not isinstance(seq, int):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError(f"key ring file {name!r} is not a ring key") from None
        private = isinstance(key, DecryptionKey) or key.can_sign
        if not private or key.kid is None or key.kid != data.get("kid"):
            raise ConfigurationError(f"key ring file {name!r} needs a private key and its kid")
        found: RingKey[Any] = RingKey(key, created, activates, retires, seq)
        return found


def _time(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError
    return float(value)


def span(seconds: float) -> str:
    """``1209600 s (14 d)``: a duration for a message."""
    days = f" ({seconds / 86400:.4g} d)" if seconds >= 86400 else ""
    return f"{seconds:.10g} s{days}"


def same_key(entry: RingKey[Any]) -> tuple[str, str, str]:
    """What makes a ring key the same key: kid, algorithm and public JWK (for a secret,
    which has none, the object itself: it is then never the same after a re-read)."""
    try:
        public = json.dumps(entry.key.public_jwk(), sort_keys=True)
    except ConfigurationError:
        public = str(id(entry.key))
    return entry.kid, entry.key.algorithm, public


def check_kid(kid: str) -> str:
    """``kid`` if it is safe as a file name (else a :class:`ConfigurationError`)."""
    if not kid or len(kid) > 128 or not set(kid) <= _KID_CHARS or kid.startswith("."):
        raise ConfigurationError(
            "a ring key id must be 1-128 characters from A-Z, a-z, 0-9, '-', '_' and '.'"
        )
    return kid


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 (temporary file + ``os.replace``)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
