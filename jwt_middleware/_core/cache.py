"""The verified-token cache and the parsed-header cache, each bounded, one per verifier.

:class:`TokenCache` keeps the principals of tokens that verified, so that a token seen
again is answered without parsing it or checking its signature. Only successes enter; an
entry is charged an estimate of the memory it holds, and the oldest entries leave first
when either bound (entries, bytes) would be passed. What a hit must still check (the
times, the key source, revocation) is the verifier's job (``verify.py``): this module only
stores, bounds and forgets.

:class:`HeaderCache` maps the exact bytes of a header segment (the same for every token a
key signs) to the header it parsed into, so that the uncached verify skips the header's
base64 and JSON. It too holds only headers of tokens that verified.

Threads and asyncio: a look-up is one ``dict.get``, atomic under the GIL, with no lock;
inserting, evicting and forgetting take the cache's lock.

Security: the token cache never holds a token. An entry is found by SHA-256 over a
64-byte secret drawn when the cache is made (:func:`secrets.token_bytes`) followed by the
token's signature segment, and holds the signing input (the header and payload segments,
what the principal holds parsed) to compare exactly: never the signature, so neither a
memory dump nor a log of the cache shows anything a client could present, and a digest
cannot be checked against a guessed token without the secret. ``docs/security.md`` says
why this construction ("Verified-token cache").
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import weakref
from collections import OrderedDict
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "BYTES_PER_ENTRY",
    "DEFAULT_CACHE_SIZE",
    "Entry",
    "HeaderCache",
    "Slot",
    "TokenCache",
    "entry_cost",
]

#: Entries a verifier's token cache holds by default (``Config.cache_size``).
DEFAULT_CACHE_SIZE = 10_000
#: The byte bound is ``cache_size`` times this (a typical token's entry is about 2.4 KiB).
BYTES_PER_ENTRY = 4096

# The estimate of an entry's memory (see entry_cost), checked against tracemalloc by
# tests/core/test_cache.py for typical, wide, densely nested and non-ASCII tokens: it
# never falls below what the entry holds.
_BASE = 1024  # the principal, its views, two sets, the entry, the digest, the slot
_SIGNED = 40  # the signing input's bytes object, besides its length
_PER_ITEM = 56  # each JSON member or element: its object and its slot (its key is one)
_PER_NAME = 160  # each role or scope name: a string of its own and a set slot
# Deleting every other byte leaves the separators that may each start a value (",", ":",
# "[", "{") and the backslashes of escapes: one pass over the claims' JSON.
_NOT_SEPARATORS = bytes(range(256)).translate(None, b",:[{\\")


def entry_cost(claims_json: bytes, names: int, signed: int) -> int:
    """Bytes charged for an entry whose claims parsed from ``claims_json`` (the decoded
    payload), whose roles and scopes hold ``names`` names and whose signing input is
    ``signed`` bytes long. An upper estimate: every separator may start a value of its
    own, and text outside ASCII (or escaped) may take four bytes a character once parsed."""
    separators = claims_json.translate(None, _NOT_SEPARATORS)
    wide = b"\\" in separators or not claims_json.isascii()
    return (
        _BASE
        + _SIGNED
        + signed
        + (4 if wide else 1) * len(claims_json)
        + _PER_ITEM * (1 + len(separators))
        + _PER_NAME * names
    )


#: An entry: (principal, valid until, valid since, key version, verifier, cost, signing
#: input). The verifier holds it between ``since <= now < until`` (``ClaimChecks._window``),
#: for a token whose signing input is that one.
Entry = tuple[Any, float, float, Any, Any, int, bytes]
#: Where a token goes in the cache: (digest of its signature, its signing input).
Slot = tuple[bytes, bytes]


class TokenCache:
    """Verified tokens by a keyed digest: at most ``max_entries`` and ``max_bytes``.

    Eviction is first in, first out. An entry larger than ``max_bytes`` on its own is
    not kept. ``get`` (the hot path) is the dictionary's own ``get``: no lock.
    """

    __slots__ = (
        "__weakref__",
        "_bytes",
        "_entries",
        "_hasher",
        "_lock",
        "get",
        "max_bytes",
        "max_entries",
    )

    def __init__(self, max_entries: int = DEFAULT_CACHE_SIZE, max_bytes: int | None = None):
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("a token cache holds at least one entry")
        if max_bytes is None:
            max_bytes = max_entries * BYTES_PER_ENTRY
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigurationError("a token cache's byte bound must be a positive integer")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.get = self._entries.get
        self._bytes = 0
        self._lock = threading.Lock()
        _LOCKED.add(self)
        # One block of secret: SHA-256 absorbs it here, each digest copies that state.
        self._hasher = hashlib.sha256(secrets.token_bytes(64)).copy

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"<TokenCache {len(self._entries)}/{self.max_entries} entries, "
            f"{self._bytes}/{self.max_bytes} bytes>"
        )

    @property
    def nbytes(self) -> int:
        """The bytes charged for the entries held now (an estimate of their memory)."""
        return self._bytes

    def slot(self, token: str | bytes, limit: int) -> Slot | None:
        """Where ``token`` goes: the keyed digest of its signature segment and its signing
        input; ``None`` for what is not a token of at most ``limit`` bytes (never hashed:
        the verifier refuses it before any other work)."""
        if type(token) is str:
            try:
                data = token.encode()
            except UnicodeEncodeError:  # a lone surrogate: not a token, never cached
                return None
        elif type(token) is bytes:
            data = token
        else:
            return None
        if len(data) > limit:
            return None
        signed, _, signature = data.rpartition(b".")
        hasher = self._hasher()
        hasher.update(signature)
        return hasher.digest(), signed

    def put(self, digest: bytes, entry: Entry, now: float) -> None:
        """Keep ``entry``, evicting the oldest past either bound; while neither is reached,
        the oldest entry leaves if its window ended at ``now`` or before."""
        cost = entry[5]
        if cost > self.max_bytes:
            return
        entries = self._entries
        with self._lock:
            old = entries.get(digest)
            if old is not None:  # the same token, verified again (it had stopped holding)
                del entries[digest]
                self._bytes -= old[5]
            entries[digest] = entry
            self._bytes += cost
            if len(entries) > self.max_entries or self._bytes > self.max_bytes:
                while len(entries) > self.max_entries or self._bytes > self.max_bytes:
                    self._bytes -= entries.popitem(last=False)[1][5]
            else:
                first = next(iter(entries))
                if entries[first][1] <= now:
                    self._bytes -= entries.pop(first)[5]

    def discard(self, digest: bytes, entry: Entry) -> None:
        """Forget ``entry`` (if it is still the one held for ``digest``)."""
        with self._lock:
            if self._entries.get(digest) is entry:
                del self._entries[digest]
                self._bytes -= entry[5]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


class HeaderCache:
    """Parsed headers by the exact bytes of their segment: at most ``size`` of them, each
    segment at most ``longest`` bytes; when full, it starts again from empty."""

    __slots__ = ("__weakref__", "_items", "_lock", "get", "longest", "size")

    def __init__(self, size: int = 32, longest: int = 512) -> None:
        self.size = size
        self.longest = longest
        self._items: dict[bytes, Any] = {}
        self.get = self._items.get
        self._lock = threading.Lock()
        _LOCKED.add(self)

    def __len__(self) -> int:
        return len(self._items)

    def put(self, segment: bytes, parsed: Any) -> None:
        if len(segment) > self.longest:
            return
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[segment] = parsed


#: Every cache with a lock, so that a forked child gets fresh ones: a fork taken while
#: another thread held one would otherwise leave it held for ever in the child.
_LOCKED: weakref.WeakSet[TokenCache | HeaderCache] = weakref.WeakSet()


def _after_fork() -> None:  # pragma: no cover - runs in a forked child
    for cache in list(_LOCKED):
        cache._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
