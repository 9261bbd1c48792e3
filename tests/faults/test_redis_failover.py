"""A master killed under load: Redis Cluster and Sentinel fail over, the store follows.

Threads verify tokens through a :class:`Verifier` with the store (sync, and asyncio tasks
in a thread of their own) while another revokes tokens; then the master that holds the
store's keys gets ``SIGKILL``. Throughout, every check must either answer correctly or
fail closed:

* a token revoked before its check started is never accepted (no unchecked 2xx); with
  the near-cache (on one server and behind Sentinel) the store promises this for checks
  that start more than its bound (100 ms) after the revocation, and the few checks in
  that window are counted apart (in practice: none is accepted);
* a token never revoked is never called revoked;
* a check that cannot be answered raises :class:`ServiceUnavailableError` (503), a
  revocation that cannot be written :class:`StoreError`; nothing else (no 500);
* checks recover after the failover, sync and async, and every revocation acknowledged
  before or during it is still there afterwards.

The seconds from the kill to the first successful check are measured and printed (run
with ``-s`` to see them); the only timing assert is a generous bound. The store runs with
its defaults (2 s timeouts, breaker of 3 failures and 3 s), so the figure includes the
breaker's window: the first probe after the failover closes it. A second store without a
breaker (``breaker_failures=0``) polls the same slot every 20 ms to time the failover
itself. Acknowledged revocations survive the failover here because replication
on loopback delivers a write to the replica before its writer can act on the answer; over
a network Redis replicates asynchronously and may lose the last acknowledged writes in a
failover (``docs/stores.md``).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from jwt_middleware import (
    Config,
    RevokedTokenError,
    ServiceUnavailableError,
    Verifier,
    encode,
    generate_key,
)
from jwt_middleware.stores import StoreError
from jwt_middleware.stores.redis import RedisStore
from tests.redis_cluster import (
    LocalCluster,
    LocalSentinel,
)

ISS = "https://auth.failover"
RECOVERY_BOUND = 30.0  # generous: measured recoveries take a few seconds
STEADY = 0.5  # seconds of load after every worker has recovered
TOKENS = 240
SUBJECTS = 24


# Each failover test kills a master for good, so it gets a cluster (or a sentinel set-up)
# of its own: the shared ones that the contract suite uses must stay whole.
@pytest.fixture
def redis_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster()
    try:
        cluster.wait_healthy()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def redis_sentinel() -> Iterator[LocalSentinel]:
    sentinel = LocalSentinel()
    try:
        sentinel.wait_healthy()
        yield sentinel
    finally:
        sentinel.close()


@dataclass
class Ledger:
    """What happened, by whom and when (every field under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Token ids whose revocation was acknowledged (with the acknowledgement time).
    revoked: dict[str, float] = field(default_factory=dict)
    #: Token ids whose revocation was sent but not acknowledged: revoked or not.
    maybe: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    #: Revoked tokens accepted by a check that started within the near-cache's bound.
    within_bound: int = 0
    ok: int = 0
    refused_503: int = 0
    store_errors: int = 0
    #: Per worker kind ("sync", "async"): completion time of the first check that
    #: started after the kill and succeeded.
    recovered: dict[str, float] = field(default_factory=dict)
    kill_at: float | None = None
    #: The breaker-less poller's first answer after the kill.
    redis_back: float | None = None


class Load:
    """Verifiers and a revoker against one store, until ``stop``."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.key = generate_key("HS256")
        self.verifier = Verifier(Config(keys=self.key, issuer=ISS, store=store))
        now = int(time.time())
        self.tokens = {
            f"jti-{i}": encode({"sub": f"user-{i % SUBJECTS}", "iss": ISS, "jti": f"jti-{i}",
                                "iat": now - 10, "exp": now + 3600}, self.key)
            for i in range(TOKENS)
        }
        self.subject_of = {f"jti-{i}": f"user-{i % SUBJECTS}" for i in range(TOKENS)}
        self.ledger = Ledger()
        self.stop = threading.Event()
        near_cache = getattr(store, "near_cache", None)
        #: Seconds after a revocation during which a check may still miss it (the
        #: near-cache's bound; none on a cluster, where every check reads Redis).
        self.bound = (float(getattr(near_cache, "bound", 0.0))
                      if near_cache is not None and store._topology.kind != "cluster" else 0.0)
        # Before the load: a quarter of the tokens and every token of user-0.
        for i in range(0, TOKENS, 4):
            store.revoke_token(f"jti-{i}", now + 3600)
            self.ledger.revoked[f"jti-{i}"] = time.monotonic()
        store.revoke_subject("user-0", now, now + 3600)
        for jti, subject in self.subject_of.items():
            if subject == "user-0":
                self.ledger.revoked[jti] = time.monotonic()
        # During the load: another quarter; the other half is never revoked.
        self.to_revoke = [f"jti-{i}" for i in range(1, TOKENS, 4)
                          if f"jti-{i}" not in self.ledger.revoked]
        random.Random(9).shuffle(self.to_revoke)

    # --- one check, judged -------------------------------------------------------------

    def _before(self, jti: str) -> tuple[float | None, float]:
        """When ``jti``'s revocation was acknowledged (``None``: not yet), and now."""
        with self.ledger.lock:
            return self.ledger.revoked.get(jti), time.monotonic()

    def _judge(self, kind: str, jti: str, revoked_at: float | None, started: float,
               outcome: BaseException | None) -> None:
        ledger = self.ledger
        with ledger.lock:
            if outcome is None:
                ledger.ok += 1
                if revoked_at is not None and started - revoked_at > self.bound:
                    ledger.violations.append(f"{kind}: revoked {jti} accepted")
                elif revoked_at is not None:
                    ledger.within_bound += 1
                if ledger.kill_at is not None and started > ledger.kill_at:
                    ledger.recovered.setdefault(kind, time.monotonic())
            elif isinstance(outcome, RevokedTokenError):
                if jti not in ledger.revoked and jti not in ledger.maybe:
                    ledger.violations.append(f"{kind}: {jti} called revoked, never was")
            elif isinstance(outcome, ServiceUnavailableError) and outcome.status == 503:
                ledger.refused_503 += 1
            else:
                ledger.violations.append(f"{kind}: {type(outcome).__name__}: {outcome}")

    # --- the workers ---------------------------------------------------------------------

    def verify_forever(self, seed: int) -> None:
        rng = random.Random(seed)
        jtis = list(self.tokens)
        while not self.stop.is_set():
            jti = rng.choice(jtis)
            revoked_at, started = self._before(jti)
            outcome: BaseException | None = None
            try:
                self.verifier.verify(self.tokens[jti])
            except Exception as exc:  # judged: only 401 revoked and 503 are right
                outcome = exc
            self._judge("sync", jti, revoked_at, started, outcome)
            time.sleep(0.002)  # a modest load: the nodes need the CPU to fail over

    async def _averify_forever(self, seed: int) -> None:
        rng = random.Random(seed)
        jtis = list(self.tokens)
        while not self.stop.is_set():
            jti = rng.choice(jtis)
            revoked_at, started = self._before(jti)
            outcome: BaseException | None = None
            try:
                await self.verifier.averify(self.tokens[jti])
            except Exception as exc:
                outcome = exc
            self._judge("async", jti, revoked_at, started, outcome)
            await asyncio.sleep(0.002)

    def async_workers(self) -> None:
        async def main() -> None:
            try:
                await asyncio.gather(*(self._averify_forever(100 + i) for i in range(3)))
            finally:
                await self.store.aclose()

        asyncio.run(main())

    def poll_without_breaker(self, url: str) -> None:
        store = RedisStore(url, prefix=self.store.prefix, breaker_failures=0)
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    store.is_revoked("poll", "poll", None, None, time.time())
                except StoreError:
                    pass
                else:
                    with self.ledger.lock:
                        kill_at = self.ledger.kill_at
                        if kill_at is not None and started > kill_at:
                            self.ledger.redis_back = self.ledger.redis_back or time.monotonic()
                time.sleep(0.02)
        finally:
            store.close()

    def revoke_forever(self) -> None:
        expires = time.time() + 3600
        for jti in self.to_revoke:
            if self.stop.is_set():
                return
            with self.ledger.lock:
                self.ledger.maybe.add(jti)
            try:
                self.store.revoke_token(jti, expires)
            except StoreError:
                with self.ledger.lock:
                    self.ledger.store_errors += 1
            except Exception as exc:
                with self.ledger.lock:
                    self.ledger.violations.append(f"revoke: {type(exc).__name__}: {exc}")
            else:
                with self.ledger.lock:
                    self.ledger.revoked[jti] = time.monotonic()
                    self.ledger.maybe.discard(jti)
            time.sleep(0.1)  # spread over the run: before, during and after the failover


def _run_failover(store: RedisStore, kill_master: Callable[[], None], name: str) -> None:
    load = Load(store)
    workers = [threading.Thread(target=load.verify_forever, args=(i,)) for i in range(3)]
    workers += [threading.Thread(target=load.async_workers),
                threading.Thread(target=load.revoke_forever),
                threading.Thread(target=load.poll_without_breaker, args=(store.url,))]
    for worker in workers:
        worker.start()
    ledger = load.ledger
    try:
        time.sleep(0.3)
        with ledger.lock:
            assert ledger.ok > 0, "healthy before the kill"
            assert ledger.refused_503 == 0, "healthy before the kill"
        kill_master()
        with ledger.lock:
            ledger.kill_at = killed = time.monotonic()
        deadline = killed + RECOVERY_BOUND
        while time.monotonic() < deadline:
            with ledger.lock:
                if len(ledger.recovered) == 2:
                    break
            time.sleep(0.02)
        time.sleep(STEADY)
    finally:
        load.stop.set()
        for worker in workers:
            worker.join(timeout=RECOVERY_BOUND)
    assert not any(worker.is_alive() for worker in workers), "a worker hung"
    def since(at: float | None) -> str:
        return "never" if at is None else f"{at - killed:.2f} s"

    first = min(ledger.recovered.values(), default=None)
    print(f"\n{name}: kill -> first successful check {since(first)} ("
          + ", ".join(f"{kind} {since(at)}" for kind, at in sorted(ledger.recovered.items()))
          + f"); without a breaker {since(ledger.redis_back)}; {ledger.ok} accepted, "
          f"{ledger.refused_503} answered 503, {ledger.store_errors} revocations refused, "
          f"{len(ledger.revoked)} revoked, {ledger.within_bound} accepted within the "
          f"near-cache bound of a revocation")
    assert ledger.violations == []
    assert set(ledger.recovered) == {"sync", "async"}, "checks recovered after the failover"
    assert max(ledger.recovered.values()) - killed < RECOVERY_BOUND
    # Every acknowledged revocation outlived the failover.
    now = time.time()
    lost = [j for j in ledger.revoked
            if not store.is_revoked(j, load.subject_of[j], now - 10, None, now)]
    assert lost == []
    store.close()


def test_cluster_master_killed_under_load(redis_cluster: LocalCluster) -> None:
    store = RedisStore(redis_cluster.url, prefix="failover:")
    redis_cluster.wait_healthy()

    def kill_master() -> None:
        redis_cluster.wait_replicated()
        redis_cluster.kill(redis_cluster.master_of(store._k("jti", "x")))

    _run_failover(store, kill_master, "cluster")


def test_sentinel_master_killed_under_load(redis_sentinel: LocalSentinel) -> None:
    store = RedisStore(redis_sentinel.url, prefix="failover:")
    redis_sentinel.wait_healthy()

    def kill_master() -> None:
        redis_sentinel.wait_replicated()
        redis_sentinel.kill(redis_sentinel.master())

    _run_failover(store, kill_master, "sentinel")
