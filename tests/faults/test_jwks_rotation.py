"""Key rotation under load: new keys are picked up, never refused, with one fetch.

The issuer is the JWKS test server (real HTTP on 127.0.0.1), which counts
every request it gets; the verifications run on real threads and real
asyncio tasks, and the forged-``kid`` scenario goes through apps served by
real servers, called with ``requests``.

Before the fix, only the caller that started a refetch was answered from
it: the callers that found it in flight got 401 "unknown key" at once (7 of
8 in a measurement with a JWKS answering in 1 s); and one forged ``kid``
used up the cooldown, so a genuine rotation right after was 401 for 30 s.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
import requests

from jwt_middleware import AuthError, Config, Key, KeyResolver, Verifier, generate_key
from jwt_middleware.jwks import JWKSClient, KeyNotYetAvailableError
from tests.jwks.apps import asgi_app, serve_asgi, serve_wsgi, wsgi_app
from tests.jwks.conftest import FakeClock, token
from tests.jwks.server import JWKSServer

CALLERS = 200


class Keys:
    def __init__(self) -> None:
        self.old = generate_key("ES256", kid="2024-old")
        self.new = generate_key("ES256", kid="2025-new")
        self.attacker = generate_key("ES256", kid="forged-7f3a")  # never published


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def server(keys: Keys) -> Iterator[JWKSServer]:
    srv = JWKSServer().start()
    srv.publish([keys.old])
    try:
        yield srv
    finally:
        srv.stop()


def _rotating(server: JWKSServer, keys: Keys) -> None:
    """The issuer publishes a new key; its JWKS now answers only when released."""
    server.publish([keys.old, keys.new])
    server.hold = True
    server.hold_for = 30.0  # a bound: the test releases it


def _outcome(verify: Callable[[], str]) -> str:
    try:
        return verify()
    except AuthError as exc:
        return f"{exc.status} {exc.reason}"


def test_threads_with_a_new_kid_during_a_rotation_are_all_accepted_with_one_fetch(
    server: JWKSServer, keys: Keys
) -> None:
    client = JWKSClient(server.jwks_uri, algorithms=["ES256"], allow_http=True, timeout=30)
    verifier = Verifier(Config(keys=client))
    assert verifier.verify(token(keys.old)).subject == "alice"
    _rotating(server, keys)
    bearer = token(keys.new)
    results: list[str] = []

    def check() -> None:
        results.append(_outcome(lambda: str(verifier.verify(bearer).subject)))

    first = threading.Thread(target=check)
    first.start()
    assert server.arrived.wait(10)  # its refetch is in flight
    calling = threading.Barrier(CALLERS)  # the other callers, and this thread

    def late() -> None:
        calling.wait()
        check()

    threads = [threading.Thread(target=late) for _ in range(CALLERS - 1)]
    for thread in threads:
        thread.start()
    calling.wait()  # every caller is on its way in while the fetch is still held
    server.release.set()
    for thread in [first, *threads]:
        thread.join(timeout=30)
    assert results == ["alice"] * CALLERS
    assert server.count() == 2 == client.fetch_count  # the first fetch, and one refetch


def test_tasks_with_a_new_kid_during_a_rotation_are_all_accepted_with_one_fetch(
    server: JWKSServer, keys: Keys
) -> None:
    client = JWKSClient(server.jwks_uri, algorithms=["ES256"], allow_http=True, timeout=30)
    verifier = Verifier(Config(keys=client))

    async def check(bearer: str) -> str:
        try:
            return str((await verifier.averify(bearer)).subject)
        except AuthError as exc:
            return f"{exc.status} {exc.reason}"

    async def scenario() -> list[str]:
        assert (await verifier.averify(token(keys.old))).subject == "alice"
        _rotating(server, keys)
        bearer = token(keys.new)
        first = asyncio.ensure_future(check(bearer))
        assert await asyncio.to_thread(server.arrived.wait, 10)  # its refetch is in flight
        entered = 0
        all_in = asyncio.Event()

        async def late() -> str:
            nonlocal entered
            entered += 1
            if entered == CALLERS - 1:
                all_in.set()
            return await check(bearer)  # runs up to its wait for the shared fetch

        tasks = [asyncio.ensure_future(late()) for _ in range(CALLERS - 1)]
        await all_in.wait()  # every task now waits for the one fetch in flight
        server.release.set()
        return list(await asyncio.gather(first, *tasks))

    assert asyncio.run(scenario()) == ["alice"] * CALLERS
    assert server.count() == 2 == client.fetch_count


def test_a_genuine_token_waits_for_the_refetch_a_forged_kid_started(
    server: JWKSServer, keys: Keys
) -> None:
    client = JWKSClient(server.jwks_uri, algorithms=["ES256"], allow_http=True, timeout=30)
    verifier = Verifier(Config(keys=client))
    verifier.verify(token(keys.old))
    _rotating(server, keys)  # published before the forged token's refetch starts
    forged: list[str] = []
    attacker = threading.Thread(
        target=lambda: forged.append(
            _outcome(lambda: str(verifier.verify(token(keys.attacker)).subject))
        )
    )
    attacker.start()
    assert server.arrived.wait(10)
    genuine: list[str] = []
    user = threading.Thread(
        target=lambda: genuine.append(
            _outcome(lambda: str(verifier.verify(token(keys.new)).subject))
        )
    )
    user.start()
    server.release.set()
    attacker.join(timeout=30)
    user.join(timeout=30)
    assert forged == ["401 unknown_key"]  # the fetch made for it proves it unknown
    assert genuine == ["alice"]  # it waited for that fetch, which has its key
    assert server.count() == 2


def _wsgi(keys: KeyResolver) -> AbstractContextManager[str]:
    return serve_wsgi(wsgi_app(keys), workers=4)


def _asgi(keys: KeyResolver) -> AbstractContextManager[str]:
    return serve_asgi(asgi_app(keys))


def _me(base: str, key: Key) -> requests.Response:
    return requests.get(base + "/me", headers={"Authorization": f"Bearer {token(key)}"}, timeout=30)


@pytest.mark.parametrize("serve", [_wsgi, _asgi], ids=["wsgi-threads", "asgi-uvicorn"])
def test_a_forged_kid_then_a_genuine_rotation_never_gives_the_genuine_token_a_401(
    server: JWKSServer, keys: Keys, serve: Callable[[KeyResolver], AbstractContextManager[str]]
) -> None:
    clock = FakeClock()
    client = JWKSClient(
        server.jwks_uri, algorithms=["ES256"], allow_http=True, clock=clock, cooldown=30
    )
    with serve(client) as base:
        assert _me(base, keys.old).status_code == 200  # fetch 1
        assert _me(base, keys.attacker).status_code == 401  # fetch 2, made for it: unknown
        server.publish([keys.old, keys.new])  # a genuine rotation, right after
        for second in range(30):  # the whole cooldown the forged kid used up
            answer = _me(base, keys.new)
            assert answer.status_code == 503, answer.status_code
            assert answer.headers["Retry-After"] == str(30 - second)
            assert answer.json()["error"] == "temporarily_unavailable"
            assert _me(base, keys.old).status_code == 200  # the known key never stops
            clock.advance(1)
        answer = _me(base, keys.new)  # the cooldown allows the refetch now
        assert (answer.status_code, answer.text) == (200, "alice")
    assert client.fetch_count == 3 == server.count()


def test_a_kid_refused_by_the_fetch_made_for_it_stays_401(server: JWKSServer, keys: Keys) -> None:
    clock = FakeClock()
    client = JWKSClient(
        server.jwks_uri, algorithms=["ES256"], allow_http=True, clock=clock, cooldown=30
    )
    verifier = Verifier(Config(keys=client))
    verifier.verify(token(keys.old))
    assert _outcome(lambda: str(verifier.verify(token(keys.attacker)).subject)) == (
        "401 unknown_key"
    )
    clock.advance(5)  # the same kid again, inside the cooldown: no fetch has looked since
    with pytest.raises(KeyNotYetAvailableError) as info:
        verifier.verify(token(keys.attacker))
    assert info.value.retry_after == 25
    clock.advance(25)  # then a refetch is allowed, made for it, and proves it unknown again
    assert _outcome(lambda: str(verifier.verify(token(keys.attacker)).subject)) == (
        "401 unknown_key"
    )
    assert client.fetch_count == 3 == server.count()
