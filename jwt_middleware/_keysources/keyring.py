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
:meth:`KeyRing.refresh`. On a schedule: :meth:`KeyRing.rotate_if_due` (one rotation across
processes) and ``RotationScheduler`` (``_keysources.rotation``).

Use with the issuer (pass its longest token lifetime, the refresh TTL)::

    ring = KeyRing.load("/etc/myapp/keys", max_token_lifetime=REFRESH_TTL)
    config = Config(keys=ring.key_set(), issuer=..., store=...)
    issuer = Issuer(config)  # signs with ring.signing_key(): it is first in the set

Encryption keys (:meth:`KeyRing.rotate_encryption`, ``ECDH-ES`` by default) follow the same three
phases beside the signing keys, with their own ``kid``: published with ``use: enc`` when
pending (issuers learn the new key), the one to encrypt to once active
(:meth:`KeyRing.encryption_key`), and kept for decryption until ``retire_after`` (the
longest token lifetime) after the next one takes over. The resource decrypts with all of
them: ``Config(decryption_keys=ring.decryption)`` follows the ring as it rotates
(``ring.decryption_keys()`` is a fixed snapshot).

Security: key files hold private keys. Nothing here logs or prints key
material; error messages name files and key ids only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from .._core.errors import ConfigurationError, UnknownKeyError
from .._core.jwekeys import DecryptionKey, EncryptionKey
from .._core.jwekeyset import DecryptionKeys, LiveDecryptionKeys
from .._core.keys import Key, generate_key
from .._core.keyset import KeySet
from . import rotation
from .ringevents import RingEvents
from .ringkey import RingKey, check_kid, same_key, span
from .ringkey import write_private as write_private  # re-exported: its old home

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
        audit: Any = None,
    ) -> None:
        if not (math.isfinite(max_token_lifetime) and max_token_lifetime > 0):
            raise ConfigurationError(
                "max_token_lifetime must be a positive number of seconds: the longest "
                "lifetime of any token the ring's keys sign (the refresh TTL)"
            )
        self.directory = Path(directory)
        self.clock = clock
        self.max_token_lifetime = float(max_token_lifetime)
        self._keys: tuple[RingKey[Any], ...] = ()
        self._version = 0  # grows when a key leaves (see key_version)
        self._next_retirement = math.inf
        #: key_published, key_activated, key_retired to an Audit (ringevents.py); None: off.
        self._events = None if audit is None else RingEvents(audit)
        self._mutex = threading.RLock()  # with _held: the file lock, reentrant per thread
        self._held = False

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
        audit: Any = None,
    ) -> KeyRing:
        """The ring in ``directory`` (empty if the directory does not exist yet)."""
        ring = cls(directory, clock=clock, max_token_lifetime=max_token_lifetime, audit=audit)
        ring.refresh()
        return ring

    def refresh(self) -> KeyRing:
        """Re-read the directory (picks up a rotation made by another process)."""
        before = {same_key(k) for k in self._keys}
        self._keys = self._read()
        now = self.clock()
        if now >= self._next_retirement or not before <= {same_key(k) for k in self._keys}:
            self._version += 1  # a key retired since it was last asked, or is gone from disk
        self._next_retirement = self._retirement_after(now)
        if self._events is not None:
            self._events.read(self._keys, now)
        return self

    def _retirement_after(self, now: float) -> float:
        return min(
            (k.retires_at for k in self._keys if k.retires_at is not None and k.retires_at > now),
            default=math.inf,
        )

    def _read(self) -> tuple[RingKey[Any], ...]:
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

    def _write(self, entry: RingKey[Any]) -> None:
        body = json.dumps(entry.to_json(), indent=2, sort_keys=True).encode() + b"\n"
        write_private(self.directory / (check_kid(entry.kid) + _SUFFIX), body)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._mutex:
            if self._held:  # rotate_if_due holds it while it rotates
                yield
                return
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                self._held = True
                yield
            finally:
                self._held = False
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
    ) -> RingKey[Key]:
        """Generate and publish a new key; it signs from ``now + activate_after``.

        Keys it replaces retire ``retire_after`` seconds after that switch: by
        default, and at least, :attr:`max_token_lifetime`, so every token they
        signed expires first. The first key of an empty ring is active at once.
        ``algorithm`` defaults to the newest key's, or ES256. Retired key files
        are removed.
        """
        entry = self._rotate("sig", now, algorithm, activate_after, retire_after, kid)
        return cast("RingKey[Key]", entry)

    def rotation_due(
        self, now: float | None = None, *, period: float, activate_after: float = 3600.0
    ) -> bool:
        """Whether a new signing key is due at ``now``: ``activate_after`` before the signing
        key has signed for ``period`` (seconds); never while one is pending (``rotation``)."""
        now = self.clock() if now is None else now
        return now >= rotation.next_rotation(self.entries(now), period, activate_after)

    def rotate_if_due(
        self,
        now: float | None = None,
        *,
        period: float,
        activate_after: float = 3600.0,
        retire_after: float | None = None,
        algorithm: str | None = None,
    ) -> RingKey[Key] | None:
        """:meth:`rotate` if :meth:`rotation_due`, decided under the lock after re-reading
        the directory: of several processes sharing it, one rotates. ``None``: not due."""
        return rotation.rotate_if_due(self, now, period=period, activate_after=activate_after,
                                      retire_after=retire_after, algorithm=algorithm)  # fmt: skip

    def rotate_encryption(
        self,
        now: float | None = None,
        *,
        algorithm: str | None = None,
        activate_after: float = 3600.0,
        retire_after: float | None = None,
        kid: str | None = None,
    ) -> RingKey[DecryptionKey]:
        """:meth:`rotate` for the encryption keys (``use: enc``; ``algorithm``: the newest
        one's, or ``ECDH-ES``): published now, encrypted to from ``now + activate_after``,
        the key it replaces decrypting until ``retire_after`` after that."""
        entry = self._rotate("enc", now, algorithm, activate_after, retire_after, kid)
        return cast("RingKey[DecryptionKey]", entry)

    def _rotate(
        self,
        use: str,
        now: float | None,
        algorithm: str | None,
        activate_after: float,
        retire_after: float | None,
        kid: str | None,
    ) -> Any:
        if not (math.isfinite(activate_after) and activate_after >= 0):
            raise ConfigurationError("activate_after must be zero or more seconds")
        if retire_after is None:
            retire_after = self.max_token_lifetime
        if not math.isfinite(retire_after):
            raise ConfigurationError("retire_after must be a finite number of seconds")
        if retire_after < self.max_token_lifetime:
            raise ConfigurationError(
                f"retire_after {span(retire_after)} is shorter than the longest token "
                f"lifetime, max_token_lifetime {span(self.max_token_lifetime)}: tokens the "
                "replaced key signed would stop verifying before they expire; give "
                f"retire_after={self.max_token_lifetime:.10g} or more (or leave it out), or "
                "lower max_token_lifetime if no token lives that long"
            )
        with self._locked():
            self.refresh()  # another process may have rotated since we last looked
            now = self.clock() if now is None else float(now)
            live = [k for k in self._keys if k.state(now) != "retired" and k.use == use]
            if algorithm is None:
                algorithm = live[-1].key.algorithm if live else _FIRST[use]
            if algorithm.upper().startswith("HS") or algorithm == "dir":
                raise ConfigurationError(
                    "a key ring publishes its keys: use an asymmetric algorithm such as ES256 "
                    "(or ECDH-ES to encrypt), not a shared secret"
                )
            wanted = None if kid is None else check_kid(kid)
            key: Key | DecryptionKey = (
                generate_key(algorithm, kid=wanted)
                if use == "sig"
                else DecryptionKey.generate(algorithm, kid=wanted)
            )
            if any(k.kid == key.kid for k in self._keys):
                raise ConfigurationError(f"the ring already holds a key with kid {key.kid!r}")
            activates = now + activate_after if live else now
            seq = max((k.seq for k in self._keys), default=0) + 1
            new: RingKey[Any] = RingKey(key, created_at=now, activates_at=activates, seq=seq)
            self._write(new)
            if self._events is not None:
                self._events.published(new)
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
        if self._events is not None:
            self._events.retired(gone)
        return gone

    # --- reading ------------------------------------------------------------------

    def entries(self, now: float | None = None, *, use: str | None = None) -> list[RingKey[Any]]:
        """Every key not retired at ``now`` (pending ones too), oldest first; only those of
        ``use`` (``"sig"`` or ``"enc"``) when given."""
        now = self.clock() if now is None else now
        return [
            k for k in self._keys if k.state(now) != "retired" and use in (None, k.use)
        ]

    def _active(self, now: float | None, use: str) -> Key | DecryptionKey:
        now = self.clock() if now is None else now
        active = [k for k in self._keys if k.state(now) == "active" and k.use == use]
        if not active:
            what = "" if use == "sig" else " encryption"
            raise ConfigurationError(
                f"the key ring {os.fspath(self.directory)!r} has no active{what} key: "
                f"run `jwt-middleware jwks rotate --ring DIR` (or ring.{_ROTATE[use]}())"
            )
        return cast("Key | DecryptionKey", active[-1].key)

    def signing_key(self, now: float | None = None) -> Key:
        """The key that signs at ``now``: the most recently activated, unretired one."""
        return cast(Key, self._active(now, "sig"))

    def encryption_key(self, now: float | None = None) -> EncryptionKey:
        """The key issuers encrypt to at ``now`` (the public half of the most recently
        activated encryption key). ``Issuer(config, encrypt_to=ring)`` asks it per token."""
        return cast(DecryptionKey, self._active(now, "enc")).encryption_key()

    def decryption_keys(self, now: float | None = None) -> DecryptionKeys:
        """Every unretired encryption key (pending ones too), newest first: a fixed set."""
        found = reversed(self.entries(now, use="enc"))
        return DecryptionKeys(cast(DecryptionKey, k.key) for k in found)

    @property
    def decryption(self) -> LiveDecryptionKeys:
        """The ring's encryption keys as a live source for ``Config(decryption_keys=...)``:
        a key is found among the unretired ones at each token, and ``key_version`` tells
        the verified-token cache when one retired."""
        return LiveDecryptionKeys(self, lambda: [k.key for k in self.entries(use="enc")])

    def key_set(self, now: float | None = None) -> KeySet:
        """A :class:`KeySet` of every published key, the signing key first.

        Pass it as ``Config(keys=...)``: verifiers accept tokens of every
        published key, and an :class:`~jwt_middleware.Issuer` signs with the
        first key that can sign, which is :meth:`signing_key`.
        """
        now = self.clock() if now is None else now
        signer = self.signing_key(now)
        others = [k.key for k in self.entries(now, use="sig") if k.key is not signer]
        return KeySet([signer, *reversed(cast("list[Key]", others))])

    def public_jwks(self, now: float | None = None) -> dict[str, Any]:
        """The JWKS to publish: pending, active and not yet retired keys, newest first
        (encryption keys with ``use: enc``, which verifiers skip)."""
        entries = self.entries(now)
        return {"keys": [k.key.public_jwk() for k in reversed(entries)]}

    # --- KeyResolver: Verifier(config, keys=ring) -------------------------------------

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(k.key.algorithm for k in self.entries(use="sig"))

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
        """The published signing key named ``kid``. Raises :class:`UnknownKeyError`."""
        for entry in self.entries(use="sig"):
            if kid is not None and entry.kid == kid:
                return cast(Key, entry.key)
        raise UnknownKeyError()

    async def aresolve(self, kid: str | None) -> Key:
        return self.resolve(kid)


#: The algorithm of a use's first key, and the method that rotates that use.
_FIRST = {"sig": "ES256", "enc": "ECDH-ES"}
_ROTATE = {"sig": "rotate", "enc": "rotate_encryption"}
