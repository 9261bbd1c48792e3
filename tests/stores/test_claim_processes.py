"""Two processes, one replay cache: of two separate Python processes (``spawn``) racing to
claim the same keys in one SQLite file or one Redis, exactly one wins each key; and of
two processes checking the same DPoP proofs, exactly one accepts each proof.

The processes start together at a barrier and claim in the same order, so that every
key is contended; one uses the sync method, the other its async twin.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware.stores import Store

KEYS = 400
PROOFS = 120


def _store(kind: str, where: str) -> Store:
    if kind == "sqlite":
        from jwt_middleware.stores.sqlite import SQLiteStore

        return SQLiteStore(where)
    from jwt_middleware.stores.redis import RedisStore

    return RedisStore(where, prefix="race:", near_cache=False)


def _claims(kind: str, where: str, run_id: str, mode: str, barrier: Barrier,
            results: Any) -> None:
    """One racer: claim every key, report the indexes it won."""
    store = _store(kind, where)
    later = time.time() + 120
    keys = [f"dpop:{run_id}:{n}" for n in range(KEYS)]
    barrier.wait(timeout=60)
    if mode == "sync":
        won = [n for n, key in enumerate(keys) if store.claim_once(key, later)]
    else:
        async def claim_all() -> list[int]:
            return [n for n, key in enumerate(keys) if await store.aclaim_once(key, later)]

        won = asyncio.run(claim_all())
    results.put((mode, won))
    store.close()


def _checks(kind: str, where: str, proofs: list[str], mode: str, barrier: Barrier,
            results: Any) -> None:
    """One racer: check every proof with a DPoPVerifier, report the indexes it accepted."""
    from jwt_middleware import DPoPVerifier, InvalidDPoPProofError
    from tests.core.dpop_support import TOKEN, URL

    verifier = DPoPVerifier(store=_store(kind, where))
    barrier.wait(timeout=60)

    async def check_all() -> list[int]:
        accepted = []
        for n, value in enumerate(proofs):
            try:
                if mode == "sync":
                    verifier.check(value, method="GET", url=URL, access_token=TOKEN)
                else:
                    await verifier.acheck(value, method="GET", url=URL, access_token=TOKEN)
            except InvalidDPoPProofError as error:
                if error.description != "the DPoP proof was already used":
                    raise
                continue
            accepted.append(n)
        await verifier.store.aclose()
        return accepted

    results.put((mode, asyncio.run(check_all())))


def _race(target: Any, *args: Any) -> list[list[int]]:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    racers = [context.Process(target=target, args=(*args, mode, barrier, results))
              for mode in ("sync", "async")]
    for racer in racers:
        racer.start()
    outcomes = dict(results.get(timeout=120) for _ in racers)
    for racer in racers:
        racer.join(timeout=30)
        assert racer.exitcode == 0
    return [outcomes["sync"], outcomes["async"]]


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A replay cache two processes share: a SQLite file, a Redis server, a cluster."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "shared.db")
    fixture = "redis_server" if request.param == "redis" else "redis_cluster"
    return "redis", str(request.getfixturevalue(fixture).url)


def test_two_processes_claiming_the_same_keys_exactly_one_wins_each(
    shared: tuple[str, str],
) -> None:
    kind, where = shared
    sync, async_ = _race(_claims, kind, where, f"run-{time.time_ns()}")
    assert not set(sync) & set(async_), "a key was claimed twice"
    assert sorted(sync + async_) == list(range(KEYS)), "a key was claimed by neither"


def test_two_processes_checking_the_same_proofs_accept_each_once(
    shared: tuple[str, str],
) -> None:
    from tests.core.dpop_support import dpop_key, proof

    kind, where = shared
    key = dpop_key("ES256")
    proofs = [proof(key) for _ in range(PROOFS)]
    sync, async_ = _race(_checks, kind, where, proofs)
    assert not set(sync) & set(async_), "a proof was accepted by both processes"
    assert sorted(sync + async_) == list(range(PROOFS))
