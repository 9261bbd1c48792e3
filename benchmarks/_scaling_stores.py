"""Scaling, part 3: the revocation check against the number of revoked entries per store.

Each store is filled with N revoked token ids and N subject watermarks (N from 0
to 1M), in bulk: the memory store through its methods, SQLite with one
``executemany`` transaction on its file (then a WAL checkpoint), Redis with a
Lua loop per chunk, each N in its own database of one redis-server started here.
How long filling takes is no part of any measurement.

Every store also holds the same *probes*: ``probes`` revoked token ids and
``probes`` watermarked subjects, so that each curve has a point at N = 0. A
check cycles through ``probes`` distinct tokens (many users, not one token
again, so that a store's caches are asked for more than one row):

* **not revoked**: a token id and a subject the store does not hold;
* **revoked (jti)**: a revoked token id;
* **revoked (subject)**: a token issued before its subject's watermark;

timed as the bare ``store.is_revoked`` (sync) and ``store.ais_revoked`` (async,
on one event loop), plus ``Verifier.verify`` of not-revoked tokens, uncached and with
the verified-token cache warm (a hit: the check is most of what is left). For the
memory store, a bare ``dict.get`` miss in a plain dictionary of each size is the
reference (what the hardware charges for a look-up in a table that large). Last,
SQLite's sync check today against two proposed changes, as subclasses here.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks import _harness
from jwt_middleware import Config, Verifier, encode, generate_key
from jwt_middleware.stores import Store
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore, _revoked
from tests.redis_server import RedisServer

ISS = "https://auth.bench"
AUD = "bench-api"
LIFETIME = 3600.0

#: Sets tokens ARGV[3..] (name, value pairs) with a TTL of ARGV[1] ms. One server only.
_FILL = """
for i = 2, #ARGV, 2 do redis.call('SET', ARGV[i], ARGV[i + 1], 'PX', ARGV[1]) end
return #ARGV
"""
_CHUNK = 20_000

Show = Callable[[str, dict[str, list[float]], str, Sequence[Any]], None]


class Probe(NamedTuple):
    jti: str
    subject: str
    iat: float


class Probes(NamedTuple):
    ok: list[Probe]
    jti: list[Probe]
    sub: list[Probe]


def make_probes(count: int, now: float) -> Probes:
    def some(tag: str) -> list[Probe]:
        return [Probe(secrets.token_urlsafe(16), f"probe-{tag}-{i}", now) for i in range(count)]

    return Probes(some("ok"), some("jti"), some("sub"))


# --- filling ------------------------------------------------------------------------


def fill_memory(store: MemoryStore, jtis: Sequence[str], subjects: Sequence[str],
                before: float, until: float) -> None:
    for jti in jtis:
        store.revoke_token(jti, until)
    for subject in subjects:
        store.revoke_subject(subject, before, until)


def fill_sqlite(path: Path, jtis: Sequence[str], subjects: Sequence[str],
                before: float, until: float) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        db.executemany("INSERT INTO jwt_revoked_tokens VALUES (?, ?)",
                       ((jti, until) for jti in jtis))
        db.executemany("INSERT INTO jwt_revoked_subjects VALUES (?, ?, ?)",
                       ((subject, before, until) for subject in subjects))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def fill_redis(store: RedisStore, jtis: Sequence[str], subjects: Sequence[str],
               before: float, until: float) -> None:
    """The keys and values the store's own calls write (``_k``; a watermark is a float)."""
    client: Any = store._sync
    script = client.register_script(_FILL)
    ttl = max(1000, int((until - time.time()) * 1000))
    pairs = itertools.chain(((store._k("jti", j), "1") for j in jtis),
                            ((store._k("sub", s), repr(float(before))) for s in subjects))
    while chunk := list(itertools.islice(pairs, _CHUNK)):
        script(args=[ttl, *itertools.chain.from_iterable(chunk)])


# --- variants -----------------------------------------------------------------------


def _checks(store: Store, probes: list[Probe], inner: int) -> Callable[[], object]:
    turn = itertools.cycle(probes).__next__
    is_revoked, clock = store.is_revoked, time.time

    def run() -> None:
        for _ in range(inner):
            p = turn()
            is_revoked(p.jti, p.subject, p.iat, None, clock())

    return run


def _achecks(store: Store, probes: list[Probe], inner: int,
             loop: asyncio.AbstractEventLoop) -> Callable[[], object]:
    turn = itertools.cycle(probes).__next__
    ais_revoked, clock = store.ais_revoked, time.time

    async def many() -> None:
        for _ in range(inner):
            p = turn()
            await ais_revoked(p.jti, p.subject, p.iat, None, clock())

    return lambda: loop.run_until_complete(many())


def _gets(table: dict[str, float], keys: list[str], inner: int) -> Callable[[], object]:
    turn = itertools.cycle(keys).__next__
    get = table.get

    def run() -> None:
        for _ in range(inner):
            get(turn())

    return run


def _verifies(verifier: Verifier, tokens: list[str], inner: int) -> Callable[[], object]:
    turn = itertools.cycle(tokens).__next__
    verify = verifier.verify

    def run() -> None:
        for _ in range(inner):
            verify(turn())

    return run


def _warm(store: Store, probes: list[Probe], loop: asyncio.AbstractEventLoop) -> None:
    """Every probe asked once, sync and async: the store's caches hold what they keep."""
    now = time.time()
    for p in probes:
        store.is_revoked(p.jti, p.subject, p.iat, None, now)
        loop.run_until_complete(store.ais_revoked(p.jti, p.subject, p.iat, None, now))


def _expect(store: Store, probes: Probes, now: float, name: str) -> None:
    for label, group, revoked in (("ok", probes.ok, False), ("jti", probes.jti, True),
                                  ("sub", probes.sub, True)):
        for p in group[:5]:
            if store.is_revoked(p.jti, p.subject, p.iat, None, now) is not revoked:
                raise RuntimeError(f"{name}: a {label} probe answered wrongly")


def _run_on_loop(loop: asyncio.AbstractEventLoop, work: Awaitable[Any]) -> Any:
    return loop.run_until_complete(work)


# --- the benchmark ------------------------------------------------------------------

#: Timed calls per sample, per store (scaled by ``scale``): each about 2 ms of work.
_BATCH = {"memory": 60, "SQLite": 10, "Redis (near-cache)": 30, "Redis (no near-cache)": 1}


def bench_revocation(counts: Sequence[int], rounds: int, *, probes: int, inner: int,
                     scale: float, show: Show) -> None:
    now = time.time()
    top = max(counts)
    gen = time.perf_counter()
    filler_jtis = [secrets.token_urlsafe(16) for _ in range(top)]
    filler_subjects = [f"user-{i:07d}" for i in range(top)]
    probe = make_probes(probes, now)
    revoked_jtis = [p.jti for p in probe.jti]
    marked = [p.subject for p in probe.sub]
    before, until = now + 60, now + LIFETIME  # probes issued at ``now``: before the mark
    key = generate_key("HS256", kid="scale")
    tokens = [encode({"sub": p.subject, "iss": ISS, "aud": AUD, "iat": int(now),
                      "nbf": int(now), "exp": int(now + LIFETIME), "jti": p.jti}, key)
              for p in probe.ok]
    print(f"Revocation: {probes:,} probes of each kind, checked in turn; fillers "
          f"generated in {time.perf_counter() - gen:.1f} s\n")
    # This benchmark's redis-server persists nothing on purpose: no warning per store.
    logging.getLogger("jwt_middleware.stores.redis").setLevel(logging.ERROR)
    server = RedisServer()
    loop = asyncio.new_event_loop()
    opened: list[Store] = []
    try:
        with tempfile.TemporaryDirectory(prefix="jwtmw-scale-") as tmp:
            stores: dict[str, dict[int, Store]] = {k: {} for k in _BATCH}
            fill_times = {"memory": 0.0, "SQLite": 0.0, "Redis": 0.0}
            plain: dict[int, dict[str, float]] = {}
            for db, n in enumerate(counts):
                jtis, subjects = filler_jtis[:n] + revoked_jtis, filler_subjects[:n] + marked
                t0 = time.perf_counter()
                memory = MemoryStore()
                fill_memory(memory, jtis, subjects, before, until)
                plain[n] = dict.fromkeys(jtis, until)  # the reference: a dict of that size
                t1 = time.perf_counter()
                path = Path(tmp, f"revoked-{n}.db")
                sqlite = SQLiteStore(path)
                fill_sqlite(path, jtis, subjects, before, until)
                t2 = time.perf_counter()
                url = f"redis://127.0.0.1:{server.port}/{db}"
                direct = RedisStore(url, prefix=f"scale{n}:", near_cache=False)
                fill_redis(direct, jtis, subjects, before, until)
                near = RedisStore(url, prefix=f"scale{n}:")  # after the fill: no pushes
                t3 = time.perf_counter()
                fill_times["memory"] += t1 - t0
                fill_times["SQLite"] += t2 - t1
                fill_times["Redis"] += t3 - t2
                for name, store in (("memory", memory), ("SQLite", sqlite),
                                    ("Redis (near-cache)", near),
                                    ("Redis (no near-cache)", direct)):
                    _expect(store, probe, now, f"{name} at {n}")
                    stores[name][n] = store
                    opened.append(store)
            gc.collect()
            gc.freeze()  # the filled stores: never scanned again by the rounds' collections
            print("Filling took (not measured, irrelevant to the results): "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in fill_times.items() if v) + "\n")
            for name, by_count in stores.items():
                _one_store(name, by_count, probe, tokens, key, rounds, inner,
                           max(1, round(_BATCH[name] * scale)), loop, show,
                           plain if name == "memory" else None)
            ends = (counts[0], counts[-1])
            sqlite_proposals({n: Path(tmp, f"revoked-{n}.db") for n in ends}, probe, rounds,
                             inner, max(1, round(_BATCH["SQLite"] * scale)), loop, show)
    finally:
        for each in opened:
            _run_on_loop(loop, each.aclose())
            each.close()
        loop.close()
        server.close()
        gc.unfreeze()


def _one_store(name: str, by_count: dict[int, Store], probe: Probes, tokens: list[str],
               key: Any, rounds: int, inner: int, batch: int,
               loop: asyncio.AbstractEventLoop, show: Show,
               plain: dict[int, dict[str, float]] | None = None) -> None:
    variants: dict[str, Callable[[], object]] = {}
    for n, table in (plain or {}).items():  # what a look-up costs by itself, by dict size
        variants[f"{n} dict"] = _gets(table, [p.jti for p in probe.ok], inner)
    for n, store in by_count.items():
        near = store.near_cache if isinstance(store, RedisStore) else None
        if near is not None and near.enabled and not near.wait_trusted(10.0):
            raise RuntimeError("the near-cache never became trusted")
        for kind in ("ok", "jti", "sub"):
            group: list[Probe] = getattr(probe, kind)
            _warm(store, group, loop)
            variants[f"{n} {kind}"] = _checks(store, group, inner)
            variants[f"{n} {kind} async"] = _achecks(store, group, inner, loop)
        for label, size in (("uncached", 0), ("hit", 10_000)):
            config = Config(keys=key, issuer=ISS, audience=AUD, store=store, cache_size=size)
            verifier = Verifier(config)
            for token in tokens:
                verifier.verify(token)
            variants[f"{n} verify {label}"] = _verifies(verifier, tokens, inner)
    nears = [s.near_cache for s in by_count.values()
             if isinstance(s, RedisStore) and s.near_cache.enabled]
    before = [(c.hits, c.misses) for c in nears]
    samples = _harness.run(variants, rounds=rounds, batch=batch, inner=inner)
    labels = {"ok": "not revoked", "jti": "revoked (jti)", "sub": "revoked (subject)"}
    curves = [(f"{'ais_revoked' if mode else 'is_revoked'}: {labels[kind]}",
               [(f"{n:,}", f"{n} {kind}{mode}") for n in by_count])
              for mode in ("", " async") for kind in labels]
    curves += [(f"verify {label}", [(f"{n:,}", f"{n} verify {label}")
                                                  for n in by_count])
               for label in ("uncached", "hit")]
    if plain:
        curves.append(("reference: dict.get miss", [(f"{n:,}", f"{n} dict") for n in plain]))
    show(f"{name}: the check, and verify of a not-revoked token", samples, "revoked entries",
         curves)
    if nears:
        hits = sum(c.hits - b[0] for c, b in zip(nears, before, strict=True))
        misses = sum(c.misses - b[1] for c, b in zip(nears, before, strict=True))
        print(f"(near-cache during the run: {hits:,} checks from memory, {misses:,} read "
              f"Redis)\n")


# --- SQLite: what would make its sync check flat (measured here, not in the store) ---

#: Bytes of the file the proposed pool connections map (``PRAGMA mmap_size``).
MMAP_BYTES = 1 << 30


class MappedSQLite(SQLiteStore):
    """Proposal 1: the pool's connections read the file through ``mmap``."""

    def _connect(self) -> sqlite3.Connection:
        db = super()._connect()
        db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        return db


class WatchedSQLite(SQLiteStore):
    """Proposal 2: the sync check answers from the async check's change watch (the
    rows read while ``PRAGMA data_version`` has not moved), as ``ais_revoked`` does."""

    def is_revoked(self, jti: str | None, subject: str | None, issued_at: float | None,
                   family: str | None, now: float) -> bool:
        version = self._data_version()
        key = (jti, subject, family)
        if version is not None:
            rows = self._checks[1].get(key)
            if rows is not None:
                return _revoked(rows, issued_at, now)
        rows = self._rows_and_watch(jti, subject, family)
        if version is not None:
            seen, cache = self._checks
            if seen == version:
                if len(cache) >= self.check_cache_size:
                    cache.clear()
                cache[key] = rows
        return _revoked(rows, issued_at, now)


def sqlite_proposals(paths: dict[int, Path], probe: Probes, rounds: int, inner: int,
                     batch: int, loop: asyncio.AbstractEventLoop, show: Show) -> None:
    """The sync check today and with each proposal, on the smallest and largest file."""
    kinds = {"ok": "not revoked", "jti": "revoked (jti)", "sub": "revoked (subject)"}
    classes: dict[str, type[SQLiteStore]] = {
        "today": SQLiteStore, "mmap": MappedSQLite, "change watch": WatchedSQLite}
    variants: dict[str, Callable[[], object]] = {}
    opened: list[SQLiteStore] = []
    for label, cls in classes.items():
        for n, path in paths.items():
            store = cls(path)
            opened.append(store)
            _expect(store, probe, time.time(), f"{label} at {n}")
            for kind in kinds:
                group: list[Probe] = getattr(probe, kind)
                _warm(store, group, loop)
                _warm(store, group, loop)  # the change watch opens on the first pass
                variants[f"{label} {n} {kind}"] = _checks(store, group, inner)
    try:
        samples = _harness.run(variants, rounds=rounds, batch=batch, inner=inner)
    finally:
        for store in opened:
            store.close()
    curves = [(f"{label}: {kinds[kind]}", [(f"{n:,}", f"{label} {n} {kind}") for n in paths])
              for label in classes for kind in kinds]
    show("SQLite sync is_revoked: today and two proposals", samples, "revoked entries",
         curves)
    first = min(paths)
    for label in classes:
        worst = max(_harness.paired_ratio(samples, f"{label} {n} {k}", f"today {first} {k}")
                    for n in paths for k in kinds)
        print(f"* {label}: at most {worst:.2f}× today's check at {first:,} entries")
    print()
