"""A slow issuer: a JWKS that drips its answer must not hang any request.

The issuer here is :class:`~tests.jwks.drip.DripServer`: a raw socket server
that sends its headers, then the body one byte every 0.5 s (a valid JWKS that
would take minutes to arrive). The apps are served by real servers with a
fixed number of worker threads (WSGI) or one event loop (ASGI), configured
with ``JWKSClient(timeout=1)``, and called over real HTTP with ``requests``.

Every protected request must answer 503 with ``Retry-After`` within
``timeout`` plus a generous margin (``BOUND`` is a hang bound, not a timing
claim), and the public route must keep answering meanwhile. Before the fix,
the sync fetch read the body until it ended, and every worker hung with it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import requests

from jwt_middleware import Key, KeyResolver, generate_key
from jwt_middleware.jwks import JWKSClient, KeySourceUnavailableError
from tests.jwks.apps import asgi_app, serve_asgi, serve_wsgi, wsgi_app
from tests.jwks.conftest import token
from tests.jwks.drip import DripServer

TIMEOUT = 1.0
BOUND = TIMEOUT + 3.0  # generous: only a hang (or a wait for the whole drip) exceeds it
CLIENTS = 8  # protected requests at once: twice the WSGI server's 4 worker threads

Serve = Callable[[KeyResolver], AbstractContextManager[str]]


def _wsgi(keys: KeyResolver) -> AbstractContextManager[str]:
    return serve_wsgi(wsgi_app(keys), workers=4)


def _asgi(keys: KeyResolver) -> AbstractContextManager[str]:
    return serve_asgi(asgi_app(keys))


@pytest.fixture(scope="module")
def key() -> Key:
    return generate_key("ES256", kid="drip-1")


@pytest.fixture
def drip(key: Key) -> Iterator[DripServer]:
    body = json.dumps({"keys": [key.public_jwk()]}).encode()  # ~190 bytes: ~95 s of drip
    server = DripServer(body, pause=0.5, lifetime=60).start()
    try:
        yield server
    finally:
        server.stop()


def _client(drip: DripServer) -> JWKSClient:
    return JWKSClient(drip.url, algorithms=["ES256"], allow_http=True, timeout=TIMEOUT)


def _get(url: str, bearer: str | None = None) -> tuple[int, dict[str, str], float]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    started = time.monotonic()
    answer = requests.get(url, headers=headers, timeout=BOUND + 5)
    lowered = {name.lower(): value for name, value in answer.headers.items()}
    return answer.status_code, lowered, time.monotonic() - started


def _wave(base: str, bearer: str, drip: DripServer) -> tuple[list[Any], list[Any]]:
    """``CLIENTS`` protected requests at once, and public ones while they are pending."""
    protected: list[Any] = []
    public: list[Any] = []
    barrier = threading.Barrier(CLIENTS)
    done = threading.Event()

    def call() -> None:
        barrier.wait()
        try:
            protected.append(_get(base + "/me", bearer))
        except requests.RequestException as exc:  # a hang past BOUND + 5 s
            protected.append(exc)
        if len(protected) == CLIENTS:
            done.set()

    def browse() -> None:
        drip.answering.wait(BOUND)  # the fetch is in flight (or none was needed)
        while True:
            try:
                public.append(_get(base + "/public"))
            except requests.RequestException as exc:
                public.append(exc)
                return
            if done.is_set():
                return

    threads = [threading.Thread(target=call) for _ in range(CLIENTS)]
    threads.append(threading.Thread(target=browse))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * BOUND + 10)
    return protected, public


def _check(protected: list[Any], public: list[Any]) -> None:
    assert len(protected) == CLIENTS
    for answer in protected:
        assert isinstance(answer, tuple), f"no answer: {answer!r}"
        status, headers, seconds = answer
        assert status == 503
        assert int(headers["retry-after"]) >= 1
        assert seconds < BOUND
    assert public, "the public route was never answered"
    for answer in public:
        assert isinstance(answer, tuple), f"the public route did not answer: {answer!r}"
        assert answer[0] == 200
        assert answer[2] < BOUND


@pytest.mark.parametrize("serve", [_wsgi, _asgi], ids=["wsgi-threads", "asgi-uvicorn"])
def test_a_dripping_jwks_answers_503_in_bounded_time_and_public_routes_answer(
    drip: DripServer, key: Key, serve: Serve
) -> None:
    client = _client(drip)
    bearer = token(key)
    with serve(client) as base:
        _check(*_wave(base, bearer, drip))
        assert drip.connections == 1  # single flight: one download for every request
        body = requests.get(base + "/me", headers={"Authorization": f"Bearer {bearer}"}).json()
        assert body["error"] == "temporarily_unavailable"
        # Inside the cooldown nothing is fetched again: the answer is 503 at once.
        _check(*_wave(base, bearer, drip))
        assert drip.connections == 1
    assert client.last_error == "timed out after 1 s"


def test_dripped_headers_are_bounded_too(key: Key) -> None:
    body = json.dumps({"keys": [key.public_jwk()]}).encode()
    server = DripServer(body, pause=0.5, lifetime=60, slow_headers=True).start()
    try:
        client = JWKSClient(server.url, algorithms=["ES256"], allow_http=True, timeout=TIMEOUT)
        results: list[BaseException | float] = []  # seconds to the 503, or what went wrong
        barrier = threading.Barrier(4)

        def call() -> None:
            barrier.wait()
            started = time.monotonic()
            try:
                client.resolve("drip-1")
            except KeySourceUnavailableError:
                results.append(time.monotonic() - started)
            except BaseException as exc:  # pragma: no cover - reported below
                results.append(exc)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=BOUND + 10)
        assert len(results) == 4
        assert all(isinstance(r, float) and r < BOUND for r in results), results
        assert server.connections == 1
    finally:
        server.stop()


def test_async_waiters_give_up_by_the_same_deadline(drip: DripServer, key: Key) -> None:
    import asyncio

    client = _client(drip)

    async def scenario() -> list[BaseException | Key]:
        return await asyncio.gather(
            *(client.aresolve("drip-1") for _ in range(50)), return_exceptions=True
        )

    started = time.monotonic()
    results = asyncio.run(asyncio.wait_for(scenario(), BOUND + 5))
    assert time.monotonic() - started < BOUND
    assert all(isinstance(r, KeySourceUnavailableError) for r in results)
    assert drip.connections == 1
