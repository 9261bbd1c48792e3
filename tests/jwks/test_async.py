"""The async path (httpx): the same behaviour as the sync path, without blocking the loop."""

from __future__ import annotations

import asyncio

import pytest

from jwt_middleware import Config, UnknownKeyError, Verifier
from jwt_middleware.jwks import KeyNotYetAvailableError, KeySourceUnavailableError

from .conftest import FakeClock, Keys, make_client, token
from .server import JWKSServer


def test_averify_and_rotation(server: JWKSServer, clock: FakeClock, keys: Keys) -> None:
    client = make_client(server, clock)
    verifier = Verifier(Config(keys=client))

    async def scenario() -> None:
        assert (await verifier.averify(token(keys.es1))).subject == "alice"
        server.publish([keys.es1, keys.es2])
        assert (await verifier.averify(token(keys.es2))).subject == "alice"

    asyncio.run(scenario())
    assert client.fetch_count == 2 == server.count()


def test_single_flight_many_tasks_one_fetch(server: JWKSServer, clock: FakeClock) -> None:
    server.hold = True
    server.hold_for = 0.3
    client = make_client(server, clock)

    async def scenario() -> list[str | None]:
        found = await asyncio.gather(*(client.aresolve("es-1") for _ in range(50)))
        return [key.kid for key in found]

    assert asyncio.run(scenario()) == ["es-1"] * 50
    assert client.fetch_count == 1 == server.count()


def test_the_loop_keeps_running_during_a_fetch(server: JWKSServer, clock: FakeClock) -> None:
    server.hold = True
    server.hold_for = 0.5
    client = make_client(server, clock)

    async def scenario() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await client.aresolve("es-1")
        task.cancel()
        return ticks

    assert asyncio.run(scenario()) >= 10  # ~0.5 s of fetch: the loop ran other work meanwhile


def test_flood_of_unknown_kids_bounded(server: JWKSServer, clock: FakeClock) -> None:
    client = make_client(server, clock, cooldown=30)

    async def scenario() -> list[int]:
        await client.aresolve("es-1")
        counts = []
        for window in range(3):
            results = await asyncio.gather(
                *(client.aresolve(f"r-{window}-{i}") for i in range(200)), return_exceptions=True
            )
            # The first one's refetch proved its kid unknown (401); the others were
            # inside the cooldown and may be keys published since: 503, retry in 30 s.
            assert type(results[0]) is UnknownKeyError
            assert all(isinstance(r, KeyNotYetAvailableError) for r in results[1:])
            assert {r.retry_after for r in results[1:]} == {30}  # type: ignore[union-attr]
            counts.append(client.fetch_count)
            clock.advance(30)
        return counts

    assert asyncio.run(scenario()) == [2, 3, 4]
    assert server.count() == 4


def test_stale_if_error_then_fail(server: JWKSServer, clock: FakeClock) -> None:
    server.cache_control = "max-age=60"
    client = make_client(server, clock, stale_for=600)

    async def scenario() -> None:
        await client.aresolve("es-1")
        server.mode = "error"
        clock.advance(60)
        assert (await client.aresolve("es-1")).kid == "es-1"
        clock.advance(599)
        assert (await client.aresolve("es-1")).kid == "es-1"
        clock.advance(1)
        with pytest.raises(KeySourceUnavailableError):
            await client.aresolve("es-1")

    asyncio.run(scenario())
    assert client.fetch_count == 3


def test_slow_server_times_out(server: JWKSServer, clock: FakeClock) -> None:
    server.hold = True
    client = make_client(server, clock, timeout=0.3)
    with pytest.raises(KeySourceUnavailableError):  # a hang would hit pytest-timeout
        asyncio.run(client.aresolve("es-1"))
    assert client.last_error == "timed out after 0.3 s"


def test_size_limit(server: JWKSServer, clock: FakeClock) -> None:
    server.mode = "endless"
    client = make_client(server, clock)
    with pytest.raises(KeySourceUnavailableError):
        asyncio.run(client.aresolve("es-1"))
    assert client.last_error == f"the document is larger than {256 * 1024} bytes"


def test_a_client_survives_several_event_loops(server: JWKSServer, clock: FakeClock) -> None:
    client = make_client(server, clock)
    for _ in range(3):
        asyncio.run(client.aresolve("es-1"))
        clock.advance(300)
    assert client.fetch_count == 3


def test_arefresh(server: JWKSServer, clock: FakeClock) -> None:
    client = make_client(server, clock)
    asyncio.run(client.arefresh())
    assert client.fetch_count == 1
    server.mode = "error"
    with pytest.raises(KeySourceUnavailableError):
        asyncio.run(client.arefresh())
