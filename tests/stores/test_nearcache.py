"""The revocation near-cache: Redis (``stores/_nearcache.py``) and SQLite's async check.

* Across real processes sharing one ``redis-server`` and one SQLite file: a
  revocation made in this process is seen by a checker process within the bound
  (Redis: 100 ms; SQLite: the next check), measured over 100 revocations per
  case; the median and maximum delays are printed (``pytest -s``). What is
  asserted is the guarantee itself, which no scheduling delay can fake: no
  check that *started* later than the bound after the revocation was
  acknowledged answered "not revoked".
* In one process: hits, invalidation by any writer, read-your-writes, the memory
  bound, long keys, ``FLUSHDB``, turning it off, clients it cannot serve, fork.
* The store contract, re-run on a Redis store whose near-cache is trusted from the
  start and whose every check is asked twice (the second answer from memory).
* SQLite: an unchanged ``PRAGMA data_version`` skips the worker thread; any commit
  (this process or another) is seen on the next check; the cache is bounded and
  honours expiry times.

Faults (a killed tracking connection, a restarted, frozen or black-holed server, a
server that refuses tracking) are in ``tests/faults/test_nearcache_faults.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import secrets
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from jwt_middleware.stores import StoreError
from jwt_middleware.stores._nearcache import (
    MAX_KEY_CHARS,
    NearCache,
    connection_factory,
    tracking_prefixes,
)
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_server import RedisServer
from tests.stores import test_contract
from tests.stores.conftest import Ops

ROOT = Path(__file__).resolve().parents[2]
HANG = 30.0  # generous bound on anything that must not hang
BOUND = 0.1  # the near-cache's default bound (seconds)
REVOCATIONS = 100
LATER = time.time() + 3600


def _prefix() -> str:
    return f"near-{secrets.token_hex(4)}:"


def _warm(store: RedisStore) -> None:
    assert store.near_cache.wait_trusted(HANG), "the listener never answered a PING"


def _check(store: RedisStore, jti: str) -> bool:
    return store.is_revoked(jti, "alice", time.time(), "fam", time.time())


# --- a checker in another process ---------------------------------------------------

CHECKER = textwrap.dedent(r"""
    import asyncio, logging, sys, time
    from jwt_middleware.stores import StoreError

    logging.getLogger("jwt_middleware.stores.redis").setLevel(logging.ERROR)  # no persistence

    backend, mode, target, prefix = sys.argv[1:5]
    if backend == "redis":
        from jwt_middleware.stores.redis import RedisStore
        store = RedisStore(target, prefix=prefix, socket_timeout=0.5, breaker_open_for=0.2)
        near = store.near_cache
    else:
        from jwt_middleware.stores.sqlite import SQLiteStore
        store = SQLiteStore(target)
        near = None
    hops = [0]  # SQLite's worker-thread hops
    real_to_thread = asyncio.to_thread

    async def counting_to_thread(*args, **kwargs):
        hops[0] += 1
        return await real_to_thread(*args, **kwargs)

    asyncio.to_thread = counting_to_thread

    async def check(jti):
        now = time.time()
        if mode == "sync":
            return store.is_revoked(jti, "alice", now, "fam", now)
        return await store.ais_revoked(jti, "alice", now, "fam", now)

    def kept(jti):
        # Whether the last check was answered from memory.
        if near is not None:
            return near.hits
        return (jti, "alice", "fam") in store._checks[1]

    async def watch(jti):
        # Until the answer comes from memory; then check until it says revoked.
        deadline = time.monotonic() + 30
        while True:
            if near is not None:
                assert near.wait_trusted(30)
            assert await check(jti) is False
            before = kept(jti)
            assert await check(jti) is False
            if mode == "sync" and near is None:
                break  # SQLite's sync check has no cache: every check reads the file
            if (near is not None and near.hits > before) or (near is None and kept(jti)):
                break
            assert time.monotonic() < deadline, "never answered from memory"
        print("ready", jti, flush=True)
        last_false = first_true = float("nan")
        checks = errors = 0
        hits, hopped = (near.hits if near is not None else 0), hops[0]
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                revoked = await check(jti)
            except StoreError:
                errors += 1
                await asyncio.sleep(0.001)
                continue
            checks += 1
            if revoked:
                first_true = time.monotonic()
                break
            last_false = start
        if near is not None:
            hits = near.hits - hits
        else:
            hits = checks - (hops[0] - hopped) if mode == "async" else 0
        print("seen", jti, repr(last_false), repr(first_true), checks, errors, hits, flush=True)

    async def main():
        print("up", flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words or words[0] == "quit":
                break
            await watch(words[1])
        if mode == "async":
            await store.aclose()
        store.close()

    asyncio.run(main())
""")


@dataclass
class Seen:
    """What the checker saw for one revocation acknowledged at ``acked`` (monotonic)."""

    jti: str
    acked: float
    started: float  # when the revoking call started
    last_false: float  # start of the last check that answered "not revoked" (nan: none)
    first_true: float  # end of the first check that answered "revoked"
    checks: int
    errors: int
    hits: int

    @property
    def stale_window(self) -> float:
        """How long after the acknowledgement a check could still start and say no."""
        return self.last_false - self.acked if self.last_false == self.last_false else -1.0

    @property
    def delay(self) -> float:
        """From the acknowledgement to the first answer "revoked"."""
        return self.first_true - self.acked


class Checker:
    """A checker process: ``watch(jti)`` makes it cache the answer, then check in a loop."""

    def __init__(self, backend: str, mode: str, target: str, prefix: str = "") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHECKER, backend, mode, target, prefix or "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True,
        )
        assert self._line() == ["up"]

    def _line(self) -> list[str]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the checker died (exit {self.process.poll()})"
        return line.split()

    def watch(self, jti: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"watch {jti}\n")
        self.process.stdin.flush()
        assert self._line() == ["ready", jti]

    def seen(self, jti: str, started: float, acked: float) -> Seen:
        words = self._line()
        assert words[:2] == ["seen", jti], words
        last_false, first_true = float(words[2]), float(words[3])
        assert first_true == first_true, f"{jti}: never seen revoked within 30 s"
        checks, errors, hits = (int(w) for w in words[4:7])
        return Seen(jti, acked, started, last_false, first_true, checks, errors, hits)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            try:
                self.process.wait(timeout=HANG)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def revoke_and_watch(checker: Checker, revoke: Callable[[str], None], jti: str) -> Seen:
    checker.watch(jti)
    started = time.monotonic()
    revoke(jti)
    acked = time.monotonic()
    return checker.seen(jti, started, acked)


def report(label: str, seen: list[Seen]) -> str:
    """One line: the delay distribution (from the revoking call's start, and from its
    acknowledgement, which the checker may beat), and the stale window."""
    from_start = [(s.first_true - s.started) * 1000 for s in seen]
    from_ack = [s.delay * 1000 for s in seen]
    windows = [s.stale_window * 1000 for s in seen]
    line = (f"{label}: {len(seen)} revocations; first 'revoked' after the revoking call "
            f"started: median {statistics.median(from_start):.3f} ms, max "
            f"{max(from_start):.3f} ms; after it returned: median "
            f"{statistics.median(from_ack):.3f} ms, max {max(from_ack):.3f} ms; latest start "
            f"of a 'not revoked' after it returned: {max(windows):.3f} ms; checks while "
            f"waiting: {sum(s.checks for s in seen)} ({sum(s.hits for s in seen)} from memory)")
    print(f"\n{line}")
    return line


@pytest.fixture
def checker_factory() -> Iterator[Callable[..., Checker]]:
    started: list[Checker] = []

    def make(*args: str) -> Checker:
        checker = Checker(*args)
        started.append(checker)
        return checker

    yield make
    for checker in started:
        checker.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_revocation_reaches_another_process_within_the_bound_redis(
    redis_server: RedisServer, checker_factory: Callable[..., Checker], mode: str,
    record_property: Callable[[str, object], None],
) -> None:
    prefix = _prefix()
    writer = RedisStore(redis_server.url, prefix=prefix, near_cache=False)
    checker = checker_factory("redis", mode, redis_server.url, prefix)
    seen = [revoke_and_watch(checker, lambda j: writer.revoke_token(j, LATER), f"jti-{i}")
            for i in range(REVOCATIONS)]
    record_property("delays", report(f"Redis near-cache, {mode}", seen))
    assert max(s.stale_window for s in seen) <= BOUND, "a stale 'not revoked' past the bound"
    assert all(s.errors == 0 for s in seen)
    assert max(s.delay for s in seen) < 1.0, "far slower than the bound: something is wrong"
    writer.close()


@pytest.mark.parametrize("kind", ["subject", "family"])
def test_watermarks_and_families_reach_another_process_too(
    redis_server: RedisServer, checker_factory: Callable[..., Checker], kind: str
) -> None:
    prefix = _prefix()
    writer = RedisStore(redis_server.url, prefix=prefix, near_cache=False)
    checker = checker_factory("redis", "sync", redis_server.url, prefix)
    seen = []
    for i in range(5):
        if kind == "subject":
            def revoke(jti: str) -> None:
                writer.revoke_subject("alice", time.time() + 5, LATER)
        else:
            def revoke(jti: str) -> None:
                writer.revoke_family("fam", LATER)
        seen.append(revoke_and_watch(checker, revoke, f"jti-{kind}-{i}"))
        writer._sync.delete(writer._k("sub", "alice"), writer._k("famrev", "fam"))
    assert max(s.stale_window for s in seen) <= BOUND
    writer.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_revocation_reaches_another_process_on_the_next_check_sqlite(
    tmp_path: Path, checker_factory: Callable[..., Checker], mode: str,
    record_property: Callable[[str, object], None],
) -> None:
    path = tmp_path / "tokens.db"
    writer = SQLiteStore(path)
    checker = checker_factory("sqlite", mode, str(path))
    seen = [revoke_and_watch(checker, lambda j: writer.revoke_token(j, LATER), f"jti-{i}")
            for i in range(REVOCATIONS)]
    record_property("delays", report(f"SQLite, {mode}", seen))
    assert max(s.stale_window for s in seen) <= 0.0, "a check after the commit said no"
    writer.close()


# --- one process -------------------------------------------------------------------------


def test_a_second_check_is_a_hit_and_any_writer_invalidates_it(
    redis_server: RedisServer,
) -> None:
    prefix = _prefix()
    store = RedisStore(redis_server.url, prefix=prefix)
    other = redis.Redis.from_url(redis_server.url)  # another client: no near-cache
    _warm(store)
    assert _check(store, "j1") is False
    hits = store.near_cache.hits
    deadline = time.monotonic() + HANG
    while store.near_cache.hits == hits:  # a PONG waiting on the socket refuses a hit
        assert _check(store, "j1") is False
        assert time.monotonic() < deadline, "never answered from memory"
    other.set(f"{prefix}jti:j1", "1")  # as redis-cli would
    assert _check(store, "j1") is True, "the very next check"
    other.close()
    store.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_read_your_writes_in_one_process(redis_server: RedisServer, mode: str) -> None:
    """A revocation through the store itself, then at once a check: always revoked.

    Redis pushes the invalidation to every tracking connection before it sends the
    writer its reply, and a hit is refused while bytes wait on the connection.
    """
    store = RedisStore(redis_server.url, prefix=_prefix())
    _warm(store)

    async def main() -> None:
        for i in range(200):
            jti = f"jti-{i}"
            hits = store.near_cache.hits
            while store.near_cache.hits == hits:  # until "not revoked" comes from memory
                if mode == "sync":
                    assert store.is_revoked(jti, None, None, None, time.time()) is False
                else:
                    assert await store.ais_revoked(jti, None, None, None, time.time()) is False
                await asyncio.sleep(0.0005)
            if mode == "sync":
                store.revoke_token(jti, LATER)
                assert store.is_revoked(jti, None, None, None, time.time()) is True, jti
            else:
                await store.arevoke_token(jti, LATER)
                assert await store.ais_revoked(jti, None, None, None, time.time()) is True, jti
        await store.aclose()

    asyncio.run(main())
    store.close()


def test_two_stores_in_one_process_see_each_others_revocations(
    redis_server: RedisServer,
) -> None:
    prefix = _prefix()
    reader, writer = RedisStore(redis_server.url, prefix=prefix), RedisStore(
        redis_server.url, prefix=prefix)
    _warm(reader)
    for i in range(100):
        assert _check(reader, f"j{i}") is False
        assert _check(reader, f"j{i}") is False
        writer.revoke_token(f"j{i}", LATER)
        assert _check(reader, f"j{i}") is True
    reader.close()
    writer.close()


def test_memory_is_bounded_and_long_keys_are_never_kept(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix=_prefix(), near_cache_entries=30)
    _warm(store)
    for i in range(200):
        assert _check(store, f"jti-{i}") is False
        assert store.near_cache.size <= 30
    assert store.near_cache.size == 30
    long_jti = "x" * MAX_KEY_CHARS
    hits = store.near_cache.hits
    for _ in range(3):
        assert _check(store, long_jti) is False
    assert store.near_cache.hits == hits, "a key over MAX_KEY_CHARS is read every time"
    store.close()


def test_flushdb_empties_the_cache(redis_server: RedisServer) -> None:
    prefix = _prefix()
    store = RedisStore(redis_server.url, prefix=prefix)
    _warm(store)
    assert _check(store, "j") is False
    assert store.near_cache.size == 3
    resets = store.near_cache.resets
    store._sync.flushdb()  # every key may have changed: Redis says "everything"
    deadline = time.monotonic() + HANG
    while store.near_cache.size and time.monotonic() < deadline:
        time.sleep(0.001)
    assert store.near_cache.size == 0
    assert store.near_cache.resets == resets + 1
    store.close()


def test_near_cache_false_reads_redis_every_time(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix=_prefix(), near_cache=False)
    assert not store.near_cache.enabled
    for _ in range(5):
        assert _check(store, "j") is False
    assert store.near_cache.hits == 0
    assert store.near_cache.ticket() is None
    names = [c.get("name") for c in store._sync.client_list()]
    assert "jwt-middleware-near-cache" not in names
    store.close()


def test_clients_it_cannot_serve_get_no_near_cache() -> None:
    assert connection_factory(object()) is None
    near = NearCache(None, [])
    assert not near.enabled
    assert near.get(["k"]) is None
    assert near.ticket() is None


def test_tracking_prefixes_follow_the_key_names() -> None:
    def plain(j: str, s: str, f: str) -> list[str]:
        return [f"jwtmw:jti:{j}", f"jwtmw:sub:{s}", f"jwtmw:famrev:{f}"]

    def tagged(j: str, s: str, f: str) -> list[str]:
        return [f"{{jwtmw}}jti:{j}", f"{{jwtmw}}sub:{s}", f"{{jwtmw}}famrev:{f}"]

    def overlapping(j: str, s: str, f: str) -> list[str]:
        return [f"p:{j}", f"p:s:{s}", f"p:{f}"]

    assert tracking_prefixes(plain) == ["jwtmw:famrev:", "jwtmw:jti:", "jwtmw:sub:"]
    assert tracking_prefixes(tagged) == ["{jwtmw}famrev:", "{jwtmw}jti:", "{jwtmw}sub:"]
    assert tracking_prefixes(overlapping) == ["p:"], "Redis refuses overlapping prefixes"


def test_bad_settings_are_refused(redis_server: RedisServer) -> None:
    with pytest.raises(StoreError):
        RedisStore(redis_server.url, near_cache_bound=0)
    with pytest.raises(StoreError):
        RedisStore(redis_server.url, near_cache_bound=61.0)
    with pytest.raises(StoreError):
        RedisStore(redis_server.url, near_cache_entries=0)


def test_close_stops_the_listener_and_a_later_check_starts_it_again(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url, prefix=_prefix())
    _warm(store)
    assert _check(store, "j") is False
    store.close()
    assert not store.near_cache.trusted
    assert store.near_cache.size == 0
    assert _check(store, "j") is False  # reads Redis, starts the listener
    _warm(store)
    store.close()


FORKED = textwrap.dedent(r"""
    import os, sys, time
    from jwt_middleware.stores.redis import RedisStore
    store = RedisStore(sys.argv[1], prefix=sys.argv[2])
    def check():
        return store.is_revoked("j", None, None, None, time.time())
    assert store.near_cache.wait_trusted(30)
    assert check() is False and check() is False  # kept, in the parent
    pid = os.fork()
    if pid == 0:  # gunicorn --preload: the child's own listener, nothing inherited
        ok = store.near_cache.size == 0 and not store.near_cache.trusted
        ok = ok and check() is False and store.near_cache.wait_trusted(30)
        hits = store.near_cache.hits
        deadline = time.monotonic() + 30
        while ok and store.near_cache.hits == hits and time.monotonic() < deadline:
            ok = check() is False  # until the answer comes from the child's own memory
        sys.stdout.write("child-ready\n"); sys.stdout.flush()
        while not check() and time.monotonic() < deadline:
            pass
        os._exit(0 if ok and store.near_cache.hits > hits and check() else 1)
    line = sys.stdin.readline()
    store.revoke_token("j", time.time() + 60)
    _, status = os.waitpid(pid, 0)
    print("child-exit", os.waitstatus_to_exitcode(status), flush=True)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_starts_its_own_listener(redis_server: RedisServer) -> None:
    proc = subprocess.Popen([sys.executable, "-c", FORKED, redis_server.url, _prefix()],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True)
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "child-ready"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out, _ = proc.communicate(timeout=HANG)
    assert out.strip() == "child-exit 0"


# --- the store contract with the near-cache trusted from the start --------------------


class TwiceOps(Ops):
    """Every check asked twice; the second must say the same (from memory when kept)."""

    async def __call__(self, name: str, *args: Any) -> Any:
        first = await super().__call__(name, *args)
        if name == "is_revoked":
            assert await super().__call__(name, *args) is first
        return first


CONTRACT = [getattr(test_contract, name) for name in dir(test_contract)
            if name.startswith("test_")
            and list(inspect.signature(getattr(test_contract, name)).parameters) == ["run"]]


@pytest.mark.parametrize("contract", CONTRACT, ids=lambda f: f.__name__.removeprefix("test_"))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_contract_with_a_trusted_near_cache(
    redis_server: RedisServer, contract: Callable[[Any], None], mode: str
) -> None:
    hits: list[int] = []

    def runner(body: Callable[[Ops], Awaitable[None]]) -> None:
        store = RedisStore(redis_server.url, prefix=_prefix())
        _warm(store)

        async def main() -> None:
            try:
                await body(TwiceOps(store, mode))
            finally:
                hits.append(store.near_cache.hits)
                await store.aclose()

        asyncio.run(main())
        store.close()

    contract(runner)
    assert hits, "the body ran"


# --- SQLite's async check --------------------------------------------------------------


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The worker-thread hops the SQLite store makes (``asyncio.to_thread`` calls)."""
    calls: list[str] = []
    real = asyncio.to_thread

    async def counting(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(func, "__name__", "?"))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr("jwt_middleware.stores.sqlite.asyncio.to_thread", counting)
    return calls


def _acheck(store: SQLiteStore, jti: str | None, subject: str | None = None,
            family: str | None = None, now: float | None = None) -> bool:
    moment = time.time() if now is None else now
    return asyncio.run(store.ais_revoked(jti, subject, moment - 60, family, moment))


def test_sqlite_unchanged_file_means_no_thread_hop(tmp_path: Path, hops: list[str]) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    assert _acheck(store, "j") is False  # opens the watch connection in the worker
    assert _acheck(store, "j") is False  # reads data_version, then the file once
    before = len(hops)
    for _ in range(20):
        assert _acheck(store, "j") is False
    assert len(hops) == before, "nothing committed: every check from memory"
    store.revoke_token("j", LATER)  # a commit (through the pool: another connection)
    assert _acheck(store, "j") is True, "the very next check"
    assert len(hops) == before + 1
    store.close()


def _scheck(store: SQLiteStore, jti: str | None, subject: str | None = None,
            family: str | None = None) -> bool:
    moment = time.time()
    return store.is_revoked(jti, subject, moment - 60, family, moment)


@pytest.mark.parametrize("check", [_acheck, _scheck], ids=["async", "sync"])
def test_sqlite_commit_by_another_process_is_seen_on_the_next_check(
    tmp_path: Path, check: Callable[..., bool]
) -> None:
    path = tmp_path / "t.db"
    store = SQLiteStore(path)
    for _ in range(3):
        assert check(store, "j", "alice", "fam") is False
    child = textwrap.dedent(f"""
        import time
        from jwt_middleware.stores.sqlite import SQLiteStore
        store = SQLiteStore({str(path)!r})
        store.revoke_subject("alice", time.time() + 5, time.time() + 3600)
        store.close()
    """)
    subprocess.run([sys.executable, "-c", child], check=True, cwd=ROOT, timeout=HANG)
    assert check(store, "j", "alice", "fam") is True
    store.close()


def test_sqlite_sync_check_is_served_from_the_change_watch_while_nothing_commits(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    assert _scheck(store, "j") is False  # opens the watch, reads the file
    assert _scheck(store, "j") is False  # reads data_version, then the file once
    _seen, cache = store._checks
    assert ("j", None, None) in cache, "the look-up is kept while nothing commits"
    store.revoke_token("j", LATER)
    assert _scheck(store, "j") is True, "a commit empties the cache: the very next check"
    store.close()


def test_sqlite_cache_is_bounded_and_honours_expiry(tmp_path: Path, hops: list[str]) -> None:
    store = SQLiteStore(tmp_path / "t.db", check_cache_size=8)
    now = time.time()
    store.revoke_token("short", now + 10)
    for i in range(50):
        _acheck(store, f"j{i}")
        assert len(store._checks[1]) <= 8
    assert _acheck(store, "short", now=now) is True
    assert _acheck(store, "short", now=now) is True  # from memory ...
    before = len(hops)
    assert _acheck(store, "short", now=now + 11) is False, "... with its expiry time"
    assert len(hops) == before
    store.close()


def test_sqlite_check_cache_size_zero_always_hops(tmp_path: Path, hops: list[str]) -> None:
    store = SQLiteStore(tmp_path / "t.db", check_cache_size=0)
    for _ in range(5):
        assert _acheck(store, "j") is False
    assert len(hops) == 5
    store.close()


def test_sqlite_a_busy_watch_never_blocks_the_loop(tmp_path: Path, hops: list[str]) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    for _ in range(3):
        _acheck(store, "j")
    before = len(hops)
    with store._watch_lock:  # another thread is using the watch: hop, do not wait
        assert _acheck(store, "j") is False
    assert len(hops) == before + 1
    store.close()
    assert _acheck(store, "j") is False, "usable after close, as before"
    store.close()


def test_sqlite_sync_check_unchanged(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    now = time.time()
    store.revoke_token("j", now + 10)
    store.revoke_subject("alice", now, now + 10)
    store.revoke_family("fam", now + 10)
    assert store.is_revoked("j", None, None, None, now) is True
    assert store.is_revoked("j", None, None, None, now + 11) is False
    assert store.is_revoked("x", "alice", now - 5, None, now) is True
    assert store.is_revoked("x", "alice", now - 5, None, now + 11) is False
    assert store.is_revoked("x", None, None, "fam", now) is True
    assert store.is_revoked("x", None, None, "fam", now + 11) is False
    store.close()
