"""Readiness under real faults: a real redis-server killed, frozen and restarted, and a
real JWKS server that is down, each behind the Flask, Starlette and FastAPI apps.

The apps are the ones of ``tests/integrations/test_readiness.py`` (``JWT(app)`` plus
``readiness_blueprint()``; the ASGI middleware with the readiness route in its public
paths), served by real servers in this process (Werkzeug with a pool of worker
threads, uvicorn) and called over real HTTP with ``requests``:

* Redis up: 200 ``{"status": "ready", "checks": {"store": "ok", "keys": "ok"}}``;
* Redis killed: 503 naming ``store`` (never a 500), with ``Retry-After``; the Redis
  URL holds a password, and neither the body, the headers nor the log ever shows it;
* Redis frozen (``SIGSTOP``): 503 within the socket timeout (a hang bound only);
* Redis back: 200 again;
* a ``JWKSClient`` that never fetched, its server down: 503 naming ``keys``, one
  fetch per ``cooldown`` however often the balancer probes; the server back: 200;
* probes arriving together while the first fetch is in flight share that fetch.

No sleep stands in for synchronisation: waits are bounded polls or events.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import requests

from jwt_middleware import READINESS_PATH, Config, Key, KeySet, encode, generate_key
from jwt_middleware.jwks import JWKSClient
from jwt_middleware.stores import Store
from tests.integrations.test_readiness import BUILDERS
from tests.jwks.apps import serve_asgi, serve_wsgi
from tests.jwks.server import JWKSServer
from tests.redis_server import RedisServer

FRAMEWORKS = ("flask", "starlette", "fastapi")
PASSWORD = "pw-Readiness-7c1e9b"  # in the Redis URL: must never reach a body or a log
HANG = 30.0  # generous bound on anything that must not hang
SOCKET_TIMEOUT = 1.0
READY_CHECKS = {"store": "ok", "keys": "ok"}
READY = {"status": "ready", "checks": READY_CHECKS}
WORKERS = 8


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def _get(url: str, bearer: str | None = None) -> Answer:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    answer = requests.get(url, headers=headers, timeout=HANG)
    lowered = {name.lower(): value for name, value in answer.headers.items()}
    return Answer(answer.status_code, lowered, answer.text)


def _until(url: str, status: int, seconds: float = HANG) -> Answer:
    """Probe until the answer has ``status`` (bounded: the last answer after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = _get(url)
        if answer.status == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def _require_password(server: RedisServer) -> None:
    """``requirepass`` set at run time (the fixture's own start-up ping sends no AUTH)."""
    client = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    try:
        client.config_set("requirepass", PASSWORD)
    finally:
        client.close()


@pytest.fixture
def server() -> Iterator[RedisServer]:
    redis_server = RedisServer()
    _require_password(redis_server)
    yield redis_server
    if redis_server.process is not None:
        redis_server.thaw()  # never leave a stopped process behind
    redis_server.close()


def _store_url(server: RedisServer) -> str:
    return (
        f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
        f"?socket_timeout={SOCKET_TIMEOUT}&socket_connect_timeout={SOCKET_TIMEOUT}"
    )


@pytest.fixture(scope="module")
def key() -> Key:
    return generate_key("ES256", kid="faults-ready-1")


def _token(key: Key) -> str:
    now = int(time.time())
    return encode({"sub": "alice", "iat": now, "exp": now + 300}, key)


@contextmanager
def serve(framework: str, config: Config) -> Iterator[str]:
    """The app of ``framework`` for ``config`` under a real server: its base URL."""
    app = BUILDERS[framework](config)
    try:
        if framework == "flask":
            with serve_wsgi(app, workers=WORKERS) as base:
                yield base
        else:
            with serve_asgi(app) as base:
                yield base
    finally:
        if isinstance(config.store, Store):
            config.store.close()


def _no_secret(answer: Answer, caplog: pytest.LogCaptureFixture) -> None:
    shown = answer.text + repr(answer.headers)
    for secret in (PASSWORD, "redis://", "127.0.0.1"):
        assert secret not in shown
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()


def _unavailable(answer: Answer, **checks: str) -> None:
    assert answer.status == 503, answer.text
    assert answer.json() == {"status": "unavailable", "checks": {**READY_CHECKS, **checks}}
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.headers["cache-control"] == "no-store"


# --- the store: killed, frozen, back ------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_redis_killed_then_back(
    framework: str, server: RedisServer, key: Key, caplog: pytest.LogCaptureFixture
) -> None:
    config = Config(keys=KeySet([key]), store=_store_url(server))
    with caplog.at_level(logging.DEBUG), serve(framework, config) as base:
        probe = base + READINESS_PATH
        ready = _get(probe)
        assert (ready.status, ready.json()) == (200, READY)
        assert ready.headers["cache-control"] == "no-store"
        assert _get(base + "/me", _token(key)).status == 200  # the store is in use

        server.stop()  # SIGKILL
        for _ in range(5):  # past the breaker's threshold: still a 503 naming the store
            answer = _get(probe)
            _unavailable(answer, store="unreachable")
            _no_secret(answer, caplog)
        assert _get(base + "/me", _token(key)).status == 503  # fails closed, as readiness says

        server.start()
        _require_password(server)
        back = _until(probe, 200)
        assert (back.status, back.json()) == (200, READY)
    _no_secret(back, caplog)
    failing = [r.getMessage() for r in caplog.records if r.name == "jwt_middleware.health"]
    assert any("the store check is failing (unreachable)" in m for m in failing), failing
    assert any("the store check recovered" in m for m in failing), failing


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_redis_frozen_answers_503_without_hanging(
    framework: str, server: RedisServer, key: Key, caplog: pytest.LogCaptureFixture
) -> None:
    config = Config(keys=KeySet([key]), store=_store_url(server))
    with serve(framework, config) as base:
        probe = base + READINESS_PATH
        assert _get(probe).status == 200
        server.freeze()
        try:
            started = time.monotonic()
            answer = _get(probe)
            assert time.monotonic() - started < HANG  # a hang bound, not a timing claim
            _unavailable(answer, store="unreachable")
            _no_secret(answer, caplog)
        finally:
            server.thaw()
        assert _until(probe, 200).status == 200


# --- the key source: a JWKS client that never fetched ----------------------------------------


@pytest.fixture
def jwks(key: Key) -> Iterator[JWKSServer]:
    jwks_server = JWKSServer().start()
    jwks_server.publish([key])
    try:
        yield jwks_server
    finally:
        jwks_server.stop()


def _client(jwks: JWKSServer, **options: Any) -> JWKSClient:
    return JWKSClient(jwks.jwks_uri, algorithms=["ES256"], allow_http=True, **options)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_jwks_server_that_answers_500_is_named_and_asked_once_per_cooldown(
    framework: str, server: RedisServer, jwks: JWKSServer
) -> None:
    jwks.mode = "error"
    client = _client(jwks, timeout=2.0, cooldown=30.0)
    config = Config(keys=client, store=_store_url(server))
    with serve(framework, config) as base:
        for _ in range(4):  # a balancer probing every few seconds
            _unavailable(_get(base + READINESS_PATH), keys="unavailable")
        assert jwks.count() == 1  # one fetch; the others wait out the cooldown


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_jwks_server_that_is_not_listening_is_named(
    framework: str, server: RedisServer, key: Key
) -> None:
    gone = JWKSServer().start()
    uri = gone.jwks_uri
    gone.stop()  # nothing listens there any more: the connection is refused
    client = JWKSClient(uri, algorithms=["ES256"], allow_http=True, timeout=2.0)
    config = Config(keys=client, store=_store_url(server))
    with serve(framework, config) as base:
        answer = _get(base + READINESS_PATH)
    _unavailable(answer, keys="unavailable")
    assert uri not in answer.text
    assert client.fetch_count == 1
    assert client.last_error is not None


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_jwks_server_that_is_down_then_back(
    framework: str, server: RedisServer, jwks: JWKSServer
) -> None:
    jwks.mode = "drop"  # the connection closes without an answer
    client = _client(jwks, timeout=2.0, cooldown=0.0)
    config = Config(keys=client, store=_store_url(server))
    with serve(framework, config) as base:
        probe = base + READINESS_PATH
        _unavailable(_get(probe), keys="unavailable")
        assert jwks.count() == 1
        jwks.mode = "ok"
        answer = _get(probe)
        assert (answer.status, answer.json()) == (200, READY)
        for _ in range(3):
            assert _get(probe).status == 200
        assert jwks.count() == 2  # keys held within their stale bound: no fetch per probe


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_static_key_set_is_always_ok(framework: str, server: RedisServer, key: Key) -> None:
    config = Config(keys=KeySet([key]), store=_store_url(server))
    with serve(framework, config) as base:
        answer = _get(base + READINESS_PATH)
    assert answer.json()["checks"]["keys"] == "ok"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_probes_arriving_together_share_the_first_fetch(
    framework: str, server: RedisServer, jwks: JWKSServer
) -> None:
    jwks.hold = True
    jwks.hold_for = HANG
    client = _client(jwks, timeout=10.0)
    config = Config(keys=client, store=_store_url(server))
    answers: list[Answer] = []
    with serve(framework, config) as base:
        threads = [
            threading.Thread(target=lambda: answers.append(_get(base + READINESS_PATH)))
            for _ in range(WORKERS)
        ]
        for thread in threads:
            thread.start()
        assert jwks.arrived.wait(HANG)
        jwks.release.set()
        for thread in threads:
            thread.join(HANG)
    assert [a.status for a in answers] == [200] * WORKERS
    assert jwks.count() == 1
