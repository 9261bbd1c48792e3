"""A key ring on disk: one active signing key, earlier keys kept for verification.

Rotation is three-phase, so that no verifier ever sees a token signed with a
key it has not learnt yet, and no token is cut short by its key vanishing:

1. **pending**: :meth:`KeyRing.rotate` generates a key and *publishes* it
   (it appears in :meth:`KeyRing.public_jwks` at once) but does not sign
   with it yet, so verifiers that cache the JWKS pick it up;
2. **active**: ``activate_after`` seconds later it becomes the signing key;
   the key it replaces keeps verifying;
3. **retired**: the replaced key is dropped ``retire_after`` seconds after
   the switch: every token it signed has expired by then. The ring knows the
   longest lifetime of any token its keys sign (``max_token_lifetime``, by
   default the issuer's default refresh TTL, 14 days); ``retire_after``
   defaults to it and a shorter one is refused, since it would cut those
   tokens short.

The ring is a directory with one JSON file per key (``<kid>.json``: the
``kid``, ``alg``, ``created_at``, ``activates_at``, ``retires_at`` and the
private JWK). Files are written to a temporary name and moved into place
with :func:`os.replace`, mode 0600, in a 0700 directory; a rotation holds an
advisory lock (``.lock``), so several issuer processes sharing the directory
agree on one key. A process picks up a rotation made by another with
:meth:`KeyRing.refresh`.

Use with the issuer (pass its longest token lifetime, the refresh TTL)::

    ring = KeyRing.load("/etc/myapp/keys", max_token_lifetime=REFRESH_TTL)
    config = Config(keys=ring.key_set(), issuer=..., store=...)
    issuer = Issuer(config)  # signs with ring.signing_key(): it is first in the set

Security: key files hold private keys. Nothing here logs or prints key
material; error messages name files and key ids only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .._core.errors import ConfigurationError, UnknownKeyError
from .._core.keys import Key, generate_key
from .._core.keyset import KeySet

try:  # POSIX advisory locks; elsewhere rotations are not serialised across processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DEFAULT_MAX_TOKEN_LIFETIME", "KeyRing", "RingKey"]

#: The longest token lifetime a ring assumes unless told: the default refresh TTL
#: of :class:`~jwt_middleware.Issuer` (14 days).
DEFAULT_MAX_TOKEN_LIFETIME = 14 * 24 * 3600.0

_SUFFIX = ".json"
_LOCK = ".lock"
_KID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class RingKey:
    """One key of the ring with its schedule (seconds since the epoch)."""

    key: Key
    created_at: float
    activates_at: float
    #: ``None`` until a newer key replaces this one.
    retires_at: float | None = None
    #: Rotation number: orders keys that activate at the same instant.
    seq: int = 0

    @property
    def kid(self) -> str:
        return self.key.kid or ""

    def state(self, now: float) -> str:
        """``"pending"``, ``"active"`` (may sign or verify) or ``"retired"``."""
        if self.retires_at is not None and now >= self.retires_at:
            return "retired"
        if now < self.activates_at:
            return "pending"
        return "active"

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": self.key.algorithm,
            "created_at": self.created_at,
            "activates_at": self.activates_at,
            "retires_at": self.retires_at,
            "seq": self.seq,
            "jwk": self.key.private_jwk(),
        }

    @classmethod
    def from_json(cls, data: Any, name: str) -> RingKey:
        if not isinstance(data, dict) or not isinstance(data.get("jwk"), dict):
            raise ConfigurationError(f"key ring file {name!r} is not a ring key")
        try:
            key = Key.from_jwk(data["jwk"], data.get("alg"))
            created = _time(data["created_at"])
            activates = _time(data["activates_at"])
            retires = None if data.get("retires_at") is None else _time(data["retires_at"])
            seq = data.get("seq", 0)
            if isinstance(seq, bool) or not isinstance(seq, int):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError(f"key ring file {name!r} is not a ring key") from None
        if not key.can_sign or key.kid is None or key.kid != data.get("kid"):
            raise ConfigurationError(f"key ring file {name!r} needs a private key and its kid")
        return cls(key, created, activates, retires, seq)


def _time(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError
    return float(value)


def _span(seconds: float) -> str:
    days = f" ({seconds / 86400:.4g} d)" if seconds >= 86400 else ""
    return f"{seconds:.10g} s{days}"


def _same_key(entry: RingKey) -> tuple[str, str, str]:
    """What makes a ring key the same key: kid, algorithm and public JWK (for a secret,
    which has none, the object itself: it is then never the same after a re-read)."""
    try:
        public = json.dumps(entry.key.public_jwk(), sort_keys=True)
    except ConfigurationError:
        public = str(id(entry.key))
    return entry.kid, entry.key.algorithm, public


def _check_kid(kid: str) -> str:
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


class KeyRing:
    """A directory of signing keys with a rotation schedule.

    ``clock`` (seconds since the epoch) is used wherever ``now`` is not given.
    ``max_token_lifetime`` is the longest lifetime, in seconds, of any token
    signed with the ring's keys (refresh tokens included): a replaced key
    retires that long after the switch unless :meth:`rotate` is given longer.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
    ) -> None:
        if not (math.isfinite(max_token_lifetime) and max_token_lifetime > 0):
            raise ConfigurationError(
                "max_token_lifetime must be a positive number of seconds: the longest "
                "lifetime of any token the ring's keys sign (the refresh TTL)"
            )
        self.directory = Path(directory)
        self.clock = clock
        self.max_token_lifetime = float(max_token_lifetime)
        self._keys: tuple[RingKey, ...] = ()
        self._version = 0  # grows when a key leaves (see key_version)
        self._next_retirement = math.inf

    def __repr__(self) -> str:
        return f"<KeyRing {os.fspath(self.directory)!r} kids={[k.kid for k in self._keys]!r}>"

    # --- persistence ------------------------------------------------------------

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
    ) -> KeyRing:
        """The ring in ``directory`` (empty if the directory does not exist yet)."""
        ring = cls(directory, clock=clock, max_token_lifetime=max_token_lifetime)
        ring.refresh()
        return ring

    def refresh(self) -> KeyRing:
        """Re-read the directory (picks up a rotation made by another process)."""
        before = {_same_key(k) for k in self._keys}
        self._keys = self._read()
        now = self.clock()
        if now >= self._next_retirement or not before <= {_same_key(k) for k in self._keys}:
            self._version += 1  # a key retired since it was last asked, or is gone from disk
        self._next_retirement = self._retirement_after(now)
        return self

    def _retirement_after(self, now: float) -> float:
        return min(
            (k.retires_at for k in self._keys if k.retires_at is not None and k.retires_at > now),
            default=math.inf,
        )

    def _read(self) -> tuple[RingKey, ...]:
        if not self.directory.exists():
            return ()
        if not self.directory.is_dir():
            raise ConfigurationError(f"key ring {os.fspath(self.directory)!r} is not a directory")
        keys = []
        for path in sorted(self.directory.glob("*" + _SUFFIX)):
            if path.name.startswith("."):
                continue
            try:
                text = path.read_text("utf-8")
            except FileNotFoundError:  # retired and removed by another process meanwhile
                continue
            except OSError as exc:
                raise ConfigurationError(f"cannot read {path.name!r}: {exc.strerror}") from None
            try:
                data = json.loads(text)
            except ValueError:
                raise ConfigurationError(f"key ring file {path.name!r} is not JSON") from None
            keys.append(RingKey.from_json(data, path.name))
        return tuple(sorted(keys, key=lambda k: (k.activates_at, k.seq, k.created_at, k.kid)))

    def _write(self, entry: RingKey) -> None:
        body = json.dumps(entry.to_json(), indent=2, sort_keys=True).encode() + b"\n"
        write_private(self.directory / (_check_kid(entry.kid) + _SUFFIX), body)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # --- rotation ---------------------------------------------------------------

    def rotate(
        self,
        now: float | None = None,
        *,
        algorithm: str | None = None,
        activate_after: float = 3600.0,
        retire_after: float | None = None,
        kid: str | None = None,
    ) -> RingKey:
        """Generate and publish a new key; it signs from ``now + activate_after``.

        Keys it replaces retire ``retire_after`` seconds after that switch: by
        default, and at least, :attr:`max_token_lifetime`, so every token they
        signed expires first. The first key of an empty ring is active at once.
        ``algorithm`` defaults to the newest key's, or ES256. Retired key files
        are removed.
        """
        if not (math.isfinite(activate_after) and activate_after >= 0):
            raise ConfigurationError("activate_after must be zero or more seconds")
        if retire_after is None:
            retire_after = self.max_token_lifetime
        if not math.isfinite(retire_after):
            raise ConfigurationError("retire_after must be a finite number of seconds")
        if retire_after < self.max_token_lifetime:
            raise ConfigurationError(
                f"retire_after {_span(retire_after)} is shorter than the longest token "
                f"lifetime, max_token_lifetime {_span(self.max_token_lifetime)}: tokens the "
                "replaced key signed would stop verifying before they expire; give "
                f"retire_after={self.max_token_lifetime:.10g} or more (or leave it out), or "
                "lower max_token_lifetime if no token lives that long"
            )
        with self._locked():
            self.refresh()  # another process may have rotated since we last looked
            now = self.clock() if now is None else float(now)
            live = [k for k in self._keys if k.state(now) != "retired"]
            if algorithm is None:
                algorithm = live[-1].key.algorithm if live else "ES256"
            if algorithm.upper().startswith("HS"):
                raise ConfigurationError(
                    "a key ring publishes its keys: use an asymmetric algorithm such as ES256, "
                    "not an HMAC secret"
                )
            key = generate_key(algorithm, kid=None if kid is None else _check_kid(kid))
            if any(k.kid == key.kid for k in self._keys):
                raise ConfigurationError(f"the ring already holds a key with kid {key.kid!r}")
            activates = now + activate_after if live else now
            seq = max((k.seq for k in self._keys), default=0) + 1
            new = RingKey(key, created_at=now, activates_at=activates, seq=seq)
            self._write(new)
            for old in live:
                if old.retires_at is None:
                    self._write(replace(old, retires_at=activates + retire_after))
            self.prune(now, _locked=True)
            self.refresh()
        return new

    def prune(self, now: float | None = None, *, _locked: bool = False) -> list[str]:
        """Delete the files of retired keys; returns their kids."""
        if not _locked:
            with self._locked():
                return self.prune(now, _locked=True)
        now = self.clock() if now is None else now
        gone = []
        for entry in self._read():
            if entry.state(now) == "retired":
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / (entry.kid + _SUFFIX)).unlink()
                gone.append(entry.kid)
        return gone

    # --- reading ------------------------------------------------------------------

    def entries(self, now: float | None = None) -> list[RingKey]:
        """Every key not retired at ``now`` (pending ones too), oldest first."""
        now = self.clock() if now is None else now
        return [k for k in self._keys if k.state(now) != "retired"]

    def signing_key(self, now: float | None = None) -> Key:
        """The key that signs at ``now``: the most recently activated, unretired one."""
        now = self.clock() if now is None else now
        active = [k for k in self._keys if k.state(now) == "active"]
        if not active:
            raise ConfigurationError(
                f"the key ring {os.fspath(self.directory)!r} has no active key: "
                "run `jwt-middleware jwks rotate --ring DIR` to create one"
            )
        return active[-1].key

    def key_set(self, now: float | None = None) -> KeySet:
        """A :class:`KeySet` of every published key, the signing key first.

        Pass it as ``Config(keys=...)``: verifiers accept tokens of every
        published key, and an :class:`~jwt_middleware.Issuer` signs with the
        first key that can sign, which is :meth:`signing_key`.
        """
        now = self.clock() if now is None else now
        signer = self.signing_key(now)
        others = [k.key for k in self.entries(now) if k.key is not signer]
        return KeySet([signer, *reversed(others)])

    def public_jwks(self, now: float | None = None) -> dict[str, Any]:
        """The JWKS to publish: pending, active and not yet retired keys, newest first."""
        entries = self.entries(now)
        return {"keys": [k.key.public_jwk() for k in reversed(entries)]}

    # --- KeyResolver: Verifier(config, keys=ring) -------------------------------------

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(k.key.algorithm for k in self.entries())

    @property
    def key_version(self) -> int:
        """A number that grows whenever a key leaves the ring: it retires (on
        :attr:`clock`) or is gone when the directory is read again. A verifier's token
        cache drops the tokens it verified with an older number."""
        now = self.clock()
        if now >= self._next_retirement:
            self._version += 1
            self._next_retirement = self._retirement_after(now)
        return self._version

    def resolve(self, kid: str | None) -> Key:
        """The published key named ``kid``. Raises :class:`UnknownKeyError`."""
        for entry in self.entries():
            if kid is not None and entry.kid == kid:
                return entry.key
        raise UnknownKeyError()

    async def aresolve(self, kid: str | None) -> Key:
        return self.resolve(kid)
