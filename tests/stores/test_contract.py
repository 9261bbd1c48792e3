"""The store contract: every backend (memory, SQLite, Redis), sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from jwt_middleware.stores import RotateOutcome
from tests.stores.conftest import Ops, Runner

NOW = time.time()
LATER = NOW + 3600


def test_revoked_token_is_revoked_and_others_are_not(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("revoke_token", "jti-1", LATER)
        assert await ops("is_revoked", "jti-1", None, None, None, NOW) is True
        assert await ops("is_revoked", "jti-2", None, None, None, NOW) is False
        assert await ops("is_revoked", None, None, None, None, NOW) is False

    run(body)


def test_subject_watermark_revokes_older_tokens_only(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        mark = 1_800_000_000.5
        await ops("revoke_subject", "alice", mark, LATER)
        assert await ops("is_revoked", "a", "alice", 1_799_999_999, None, NOW) is True
        assert await ops("is_revoked", "b", "alice", 1_800_000_000, None, NOW) is False
        assert await ops("is_revoked", "c", "alice", 1_800_000_001, None, NOW) is False
        assert await ops("is_revoked", "d", "alice", None, None, NOW) is True, "no iat: revoked"
        assert await ops("is_revoked", "e", "bob", 1_700_000_000, None, NOW) is False

    run(body)


def test_subject_watermark_only_moves_forward(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("revoke_subject", "alice", 1_800_000_100, LATER)
        await ops("revoke_subject", "alice", 1_800_000_000, LATER)
        assert await ops("is_revoked", "a", "alice", 1_800_000_050, None, NOW) is True

    run(body)


def test_rotation_retires_the_presented_token(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        assert await ops("rotate", "fam", "r1", "r2", LATER, NOW, 0.0) is RotateOutcome.ROTATED
        assert await ops("rotate", "fam", "r2", "r3", LATER, NOW, 0.0) is RotateOutcome.ROTATED
        assert await ops("is_revoked", None, None, None, "fam", NOW) is False

    run(body)


def test_reuse_revokes_the_whole_family(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        assert await ops("rotate", "fam", "r1", "r2", LATER, NOW, 0.0) is RotateOutcome.ROTATED
        assert await ops("rotate", "fam", "r1", "rX", LATER, NOW, 0.0) is RotateOutcome.REUSED
        assert await ops("is_revoked", None, None, None, "fam", NOW) is True
        assert await ops("rotate", "fam", "r2", "r3", LATER, NOW, 0.0) is RotateOutcome.REVOKED

    run(body)


def test_unknown_family(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        outcome = await ops("rotate", "nope", "r1", "r2", LATER, NOW, 0.0)
        assert outcome is RotateOutcome.UNKNOWN

    run(body)


def test_grace_window_lets_a_retry_through_then_closes(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        assert await ops("rotate", "fam", "r1", "r2", LATER, NOW, 10.0) is RotateOutcome.ROTATED
        retry = await ops("rotate", "fam", "r1", "r2b", LATER, NOW + 5, 10.0)
        assert retry is RotateOutcome.ROTATED
        late = await ops("rotate", "fam", "r1", "r2c", LATER, NOW + 60, 10.0)
        assert late is RotateOutcome.REUSED

    run(body)


def test_grace_off_by_default_means_an_immediate_retry_is_reuse(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        await ops("rotate", "fam", "r1", "r2", LATER, NOW, 0.0)
        assert await ops("rotate", "fam", "r1", "r2b", LATER, NOW, 0.0) is RotateOutcome.REUSED

    run(body)


def test_revoke_family(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        await ops("revoke_family", "fam", LATER)
        assert await ops("is_revoked", "any", "alice", NOW, "fam", NOW) is True
        assert await ops("rotate", "fam", "r1", "r2", LATER, NOW, 0.0) is RotateOutcome.REVOKED
        await ops("revoke_family", "never-started", LATER)
        assert await ops("is_revoked", None, None, None, "never-started", NOW) is True

    run(body)


def test_concurrent_async_rotations_exactly_one_wins(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        outcomes = await asyncio.gather(
            *(ops("rotate", "fam", "r1", f"next-{i}", LATER, NOW, 0.0) for i in range(8))
        )
        assert outcomes.count(RotateOutcome.ROTATED) == 1
        assert outcomes.count(RotateOutcome.REUSED) >= 1

    run(body)


def test_concurrent_threaded_rotations_exactly_one_wins(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        barrier = threading.Barrier(8)

        def attempt(i: int) -> RotateOutcome:
            barrier.wait()
            return ops.store.rotate("fam", "r1", f"next-{i}", LATER, NOW, 0.0)

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(attempt, range(8)))
        assert outcomes.count(RotateOutcome.ROTATED) == 1
        assert set(outcomes) <= {RotateOutcome.ROTATED, RotateOutcome.REUSED,
                                 RotateOutcome.REVOKED}

    run(body)


def test_ping_answers_and_changes_nothing(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        assert await ops("ping") is None
        await ops("revoke_token", "jti-1", LATER)
        assert await ops("ping") is None
        assert await ops("is_revoked", "jti-1", None, None, None, NOW) is True
        assert await ops("is_revoked", None, None, None, None, NOW) is False

    run(body)


# --- the DPoP replay cache: claim_once ---------------------------------------------------


def test_a_key_is_claimed_once(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        later = time.time() + 60
        assert await ops("claim_once", "dpop:k1:jti-1", later) is True
        assert await ops("claim_once", "dpop:k1:jti-1", later) is False
        assert await ops("claim_once", "dpop:k1:jti-1", later + 60) is False
        assert await ops("claim_once", "dpop:k1:jti-2", later) is True
        assert await ops("claim_once", "dpop:k2:jti-1", later) is True

    run(body)


def test_a_claim_is_independent_of_revocations(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        later = time.time() + 60
        await ops("revoke_token", "jti-1", LATER)
        assert await ops("claim_once", "jti-1", later) is True
        assert await ops("is_revoked", "dpop:jti-2", None, None, None, NOW) is False
        assert await ops("claim_once", "dpop:jti-2", later) is True
        assert await ops("is_revoked", "dpop:jti-2", None, None, None, NOW) is False

    run(body)


def test_an_expired_claim_can_be_claimed_again(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        soon = time.time() + 0.25
        assert await ops("claim_once", "dpop:k:short", soon) is True
        assert await ops("claim_once", "dpop:k:short", soon) is False
        while time.time() < soon:  # the clock must pass the expiry: nothing else to wait for
            await asyncio.sleep(0.02)
        # Redis counts a TTL from when the command arrives, so a claim may outlive its
        # expiry by the call's latency (never the other way): ask until it has gone.
        deadline, again = soon + 5, False
        while not again and time.time() < deadline:
            again = await ops("claim_once", "dpop:k:short", time.time() + 60)
            await asyncio.sleep(0 if again else 0.02)
        assert again is True
        assert await ops("claim_once", "dpop:k:short", time.time() + 60) is False

    run(body)


def test_a_claim_that_has_expired_already_keeps_nothing_but_is_refused_while_one_holds(
    run: Runner,
) -> None:
    async def body(ops: Ops) -> None:
        now = time.time()
        assert await ops("claim_once", "dpop:k:live", now + 60) is True
        assert await ops("claim_once", "dpop:k:live", now - 10) is False
        assert await ops("claim_once", "dpop:k:past", now - 10) is True

    run(body)


def test_concurrent_async_claims_exactly_one_wins(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        later = time.time() + 60
        for i in range(5):
            outcomes = await asyncio.gather(
                *(ops("claim_once", f"dpop:k:race-{i}", later) for _ in range(8)))
            assert outcomes.count(True) == 1, outcomes

    run(body)


def test_concurrent_threaded_claims_exactly_one_wins(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        later = time.time() + 60
        barrier = threading.Barrier(8)

        def attempt(i: int) -> list[bool]:
            barrier.wait()
            return [ops.store.claim_once(f"dpop:k:thread-{n}", later) for n in range(20)]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(attempt, range(8)))
        for n in range(20):
            assert [r[n] for r in results].count(True) == 1

    run(body)
