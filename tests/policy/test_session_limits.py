"""The absolute session lifetime and the idle timeout, enforced at refresh through the
Issuer, for the memory, SQLite and a real Redis store, sync and async, with an injected
clock; and the session's start is only ever read from the signed refresh token."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from jwt_middleware import (
    Config,
    InvalidSignatureError,
    Issuer,
    Key,
    RevokedTokenError,
    SessionExpiredError,
    TokenPair,
    TokenPolicy,
    Verifier,
    encode,
)
from jwt_middleware._core.claims import REFRESH, REFRESH_TYP
from jwt_middleware.stores import Store
from tests.policy.conftest import Clock

DAY = 86400
SECRET = "s" * 48
ISSUER = "https://issuer.test"
#: Sessions end 7 days after login, or after 3 days without a refresh.
POLICY = TokenPolicy(session_max_age=7 * DAY, session_idle_timeout=3 * DAY)
REFRESH_TTL = 4 * DAY


def make_issuer(store: Store, clock: Clock, policy: TokenPolicy | None = POLICY) -> Issuer:
    config = Config(keys=Key.from_secret(SECRET, "HS256"), issuer=ISSUER, audience="api",
                    store=store, clock=clock)  # fmt: skip
    return Issuer(config, refresh_ttl=REFRESH_TTL, policy=policy)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


class Ops:
    """The issuer's sync methods, or their async twins, behind one awaitable signature."""

    def __init__(self, issuer: Issuer, mode: str) -> None:
        self.issuer, self.mode = issuer, mode

    async def issue(self, subject: str) -> TokenPair:
        if self.mode == "sync":
            return self.issuer.issue(subject)
        return await self.issuer.aissue(subject)

    async def refresh(self, token: str) -> TokenPair:
        if self.mode == "sync":
            return self.issuer.refresh(token)
        return await self.issuer.arefresh(token)


Body = Callable[[Ops, Clock], Awaitable[None]]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, store: Store, clock: Clock) -> Callable[[Body], None]:
    def runner(body: Body) -> None:
        async def main() -> None:
            try:
                await body(Ops(make_issuer(store, clock), request.param), clock)
            finally:
                await store.aclose()

        asyncio.run(main())

    return runner


def refresh_verifier(issuer: Issuer) -> Verifier:
    return Verifier(dataclasses.replace(issuer.config, audience=ISSUER))


# --- the absolute lifetime ---------------------------------------------------------


def test_the_absolute_lifetime_ends_a_session_however_often_it_is_refreshed(
    run: Callable[[Body], None],
) -> None:
    async def body(ops: Ops, clock: Clock) -> None:
        login = clock.now
        pair = await ops.issue("alice")
        for _ in range(3):  # days 2, 4 and 6: every refresh well within the idle timeout
            clock.advance(2 * DAY)
            pair = await ops.refresh(pair.refresh_token)
        clock.now = login + 7 * DAY - 600  # the last refresh the session gets
        pair = await ops.refresh(pair.refresh_token)
        for token in (pair.access_token, pair.refresh_token):
            assert claims(token)["auth_time"] == login  # copied across every rotation
        assert claims(pair.refresh_token)["iat"] == clock.now
        clock.now = login + 7 * DAY
        with pytest.raises(SessionExpiredError) as refused:
            await ops.refresh(pair.refresh_token)
        assert refused.value.reason == "session_expired"
        assert refused.value.status == 401
        assert refused.value.error == "invalid_token"
        assert refused.value.description == (
            "the session has reached its maximum lifetime: log in again"
        )
        # The session is revoked: its access token (5 minutes left) no longer verifies.
        assert claims(pair.access_token)["exp"] > clock.now
        with pytest.raises(RevokedTokenError):
            ops.issuer.verifier.verify(pair.access_token)
        with pytest.raises(RevokedTokenError):
            refresh_verifier(ops.issuer).verify(pair.refresh_token, kind=REFRESH)
        # A new login is a new session, with its own start.
        fresh = await ops.issue("alice")
        assert claims(fresh.refresh_token)["auth_time"] == clock.now
        assert (await ops.refresh(fresh.refresh_token)).access_token

    run(body)


# --- the idle timeout -------------------------------------------------------------


def test_the_idle_timeout_ends_a_session_not_refreshed_for_that_long(
    run: Callable[[Body], None],
) -> None:
    async def body(ops: Ops, clock: Clock) -> None:
        pair = await ops.issue("alice")
        clock.advance(3 * DAY - 1)  # one second inside the idle timeout
        pair = await ops.refresh(pair.refresh_token)
        clock.advance(3 * DAY)  # the refresh token has a day left, the session none
        assert claims(pair.refresh_token)["exp"] > clock.now
        with pytest.raises(SessionExpiredError) as refused:
            await ops.refresh(pair.refresh_token)
        assert refused.value.description == "the session was idle too long: log in again"
        with pytest.raises(RevokedTokenError):  # the family is revoked in the store
            refresh_verifier(ops.issuer).verify(pair.refresh_token, kind=REFRESH)
        with pytest.raises(RevokedTokenError):  # and stays refused, now as revoked
            await ops.refresh(pair.refresh_token)

    run(body)


def test_without_a_policy_a_refreshed_session_lasts(store: Store, clock: Clock) -> None:
    """The control: the same schedule with no policy keeps the session alive."""
    issuer = make_issuer(store, clock, policy=None)
    pair = issuer.issue("alice")
    for _ in range(10):
        clock.advance(3 * DAY + 600)
        pair = issuer.refresh(pair.refresh_token)
    assert issuer.verifier.verify(pair.access_token).subject == "alice"
    store.close()


# --- the session's start is signed --------------------------------------------------


def _tampered(token: str, **changes: Any) -> str:
    header, _, signature = token.split(".")
    body = {**claims(token), **changes}
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def test_a_changed_session_start_breaks_the_signature(clock: Clock) -> None:
    """Security: moving auth_time forward (to stretch the session) is a bad signature, and
    the real session is untouched by the attempt."""
    issuer = make_issuer(_memory(), clock)
    pair = issuer.issue("alice")
    for step in (2.5 * DAY, 2.5 * DAY):
        clock.advance(step)
        pair = issuer.refresh(pair.refresh_token)
    clock.advance(2 * DAY)  # day 7: the end of the session
    with pytest.raises(InvalidSignatureError):
        issuer.refresh(_tampered(pair.refresh_token, auth_time=clock.now))
    with pytest.raises(SessionExpiredError):
        issuer.refresh(pair.refresh_token)


def _memory() -> Store:
    from jwt_middleware.stores.memory import MemoryStore

    return MemoryStore()


def _signed_refresh(issuer: Issuer, clock: Clock, **extra: Any) -> str:
    """A refresh token of a live family, signed with the issuer's key, but not minted by
    ``issue``: what other code holding the key could make."""
    family, jti, now = "fam-handmade", "jti-handmade", int(clock.now)
    issuer.store.start_family(family, jti, now + REFRESH_TTL)
    body = {"iss": ISSUER, "sub": "alice", "aud": ISSUER, "iat": now, "nbf": now,
            "exp": now + REFRESH_TTL, "jti": jti, "fam": family, **extra}  # fmt: skip
    return encode(body, issuer.key, headers={"typ": REFRESH_TYP})


@pytest.mark.parametrize("auth_time", [None, "yesterday", True, [0]])
def test_a_refresh_token_without_a_signed_start_has_no_session_left(
    clock: Clock, auth_time: Any
) -> None:
    """With an absolute lifetime, a missing or unreadable auth_time is never taken as
    "started now": the session has ended."""
    issuer = make_issuer(_memory(), clock)
    extra = {} if auth_time is None else {"auth_time": auth_time}
    with pytest.raises(SessionExpiredError, match="maximum lifetime"):
        issuer.refresh(_signed_refresh(issuer, clock, **extra))
    idle_only = make_issuer(_memory(), clock, TokenPolicy(session_idle_timeout=3 * DAY))
    assert idle_only.refresh(_signed_refresh(idle_only, clock, **extra)).refresh_token


def test_a_signed_start_in_range_is_honoured(clock: Clock) -> None:
    issuer = make_issuer(_memory(), clock)
    token = _signed_refresh(issuer, clock, auth_time=int(clock.now) - 7 * DAY + 60)
    pair = issuer.refresh(token)
    assert claims(pair.refresh_token)["auth_time"] == int(clock.now) - 7 * DAY + 60
    clock.advance(60)
    with pytest.raises(SessionExpiredError):
        issuer.refresh(pair.refresh_token)
