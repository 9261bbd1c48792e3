"""The sessions part of the store contract: every backend (memory, SQLite, Redis on one
server, a Cluster and behind Sentinel), sync and async, through the ``run`` fixture of
``conftest.py`` like ``test_contract.py``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from jwt_middleware.stores import RotateOutcome, SessionInfo
from tests.stores.conftest import Ops, Runner

NOW = time.time()
LATER = NOW + 3600
MUCH_LATER = NOW + 7200


def _info(family: str, subject: str = "alice", created: float = NOW, **extra: str) -> SessionInfo:
    return SessionInfo(family, subject, created, **extra)  # type: ignore[arg-type]


def test_a_login_s_session_is_listed_with_what_it_said(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        info = _info("fam-1", device="laptop", user_agent="Firefox/140 ✓", address="192.0.2.7")
        await ops("start_session", info, "r1", LATER)
        (listed,) = await ops("sessions", "alice", NOW)
        assert (listed.id, listed.subject, listed.device) == ("fam-1", "alice", "laptop")
        assert (listed.user_agent, listed.address, listed.jkt) == ("Firefox/140 ✓",
                                                                   "192.0.2.7", None)
        assert abs(listed.created_at - NOW) < 1e-3
        assert listed.last_used_at == listed.created_at, "not refreshed yet"
        assert LATER - 5 < listed.expires_at <= LATER + 1
        found = await ops("session", "fam-1", NOW)
        assert replace(found, expires_at=0) == replace(listed, expires_at=0)
        assert abs(found.expires_at - listed.expires_at) < 1, "Redis: from the key's PTTL"
        assert await ops("sessions", "bob", NOW) == []
        assert await ops("session", "no-such-family", NOW) is None

    run(body)


def test_sessions_are_listed_newest_first_and_only_the_subject_s(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_session", _info("old", created=NOW - 100), "r1", LATER)
        await ops("start_session", _info("new", created=NOW), "r2", LATER)
        await ops("start_session", _info("bobs", subject="bob"), "r3", LATER)
        assert [s.id for s in await ops("sessions", "alice", NOW)] == ["new", "old"]
        assert [s.id for s in await ops("sessions", "bob", NOW)] == ["bobs"]

    run(body)


def test_a_rotation_is_the_session_s_last_use_and_extends_it(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_session", _info("fam"), "r1", LATER)
        used = NOW + 30
        outcome = await ops("rotate_session", "fam", "alice", "r1", "r2", MUCH_LATER, used, 0.0)
        assert outcome is RotateOutcome.ROTATED
        (listed,) = await ops("sessions", "alice", used)
        assert abs(listed.last_used_at - used) < 1e-3
        assert listed.expires_at > LATER + 60, "the family's new expiry"
        assert abs(listed.created_at - NOW) < 1e-3

    run(body)


def test_a_revoked_family_s_session_is_gone(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_session", _info("kept"), "r1", LATER)
        await ops("start_session", _info("revoked"), "r2", LATER)
        await ops("revoke_family", "revoked", LATER)
        assert [s.id for s in await ops("sessions", "alice", NOW)] == ["kept"]
        assert await ops("session", "revoked", NOW) is None
        assert await ops("is_revoked", None, None, None, "revoked", NOW) is True

    run(body)


def test_reuse_ends_the_session_too(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_session", _info("fam"), "r1", LATER)
        assert await ops("rotate_session", "fam", "alice", "r1", "r2", LATER, NOW, 0.0) is (
            RotateOutcome.ROTATED)
        assert await ops("rotate_session", "fam", "alice", "r1", "r3", LATER, NOW, 0.0) is (
            RotateOutcome.REUSED)
        assert await ops("sessions", "alice", NOW) == []

    run(body)


def test_record_session_after_start_family_is_the_same_session(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_family", "fam", "r1", LATER)
        assert await ops("sessions", "alice", NOW) == [], "a family alone is no session"
        await ops("record_session", _info("fam", device="phone"), LATER)
        (listed,) = await ops("sessions", "alice", NOW)
        assert (listed.id, listed.device) == ("fam", "phone")
        assert await ops("rotate", "fam", "r1", "r2", LATER, NOW, 0.0) is RotateOutcome.ROTATED

    run(body)


def test_a_session_records_the_dpop_key_it_becomes_bound_to(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_session", _info("bound", jkt="jkt-at-login"), "r1", LATER)
        await ops("start_session", _info("upgraded"), "r2", LATER)
        assert (await ops("session", "bound", NOW)).jkt == "jkt-at-login"
        assert await ops("rotate_session", "upgraded", "alice", "r2", "r3", LATER, NOW, 0.0,
                         "jkt-at-refresh") is RotateOutcome.ROTATED
        assert (await ops("session", "upgraded", NOW)).jkt == "jkt-at-refresh"
        await ops("touch_session", "bound", "alice", NOW, LATER, None)
        assert (await ops("session", "bound", NOW)).jkt == "jkt-at-login", "None: unchanged"

    run(body)


def test_a_new_login_under_the_same_family_id_replaces_its_session(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_session", _info("fam", device="first"), "r1", LATER)
        await ops("start_session", _info("fam", device="second"), "r2", LATER)
        (listed,) = await ops("sessions", "alice", NOW)
        assert listed.device == "second"

    run(body)


def test_concurrent_logins_each_get_their_session(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await asyncio.gather(
            *(ops("start_session", _info(f"fam-{i}", created=NOW + i), f"r{i}", LATER)
              for i in range(10))
        )
        listed = await ops("sessions", "alice", NOW)
        assert [s.id for s in listed] == [f"fam-{i}" for i in reversed(range(10))]

    run(body)


def test_sessions_never_hold_a_token_id(run: Runner) -> None:
    async def body(ops: Ops) -> None:
        await ops("start_session", _info("fam"), "refresh-jti-secret", LATER)
        (listed,) = await ops("sessions", "alice", NOW)
        assert "refresh-jti-secret" not in repr(listed)
        assert "refresh-jti-secret" not in repr(listed.to_dict())

    run(body)
